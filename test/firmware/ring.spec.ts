import { ByteRing } from "../../firmware/lib/ring";

describe("ByteRing", () => {
  it("keeps bytes in order across the wrap", () => {
    const r = new ByteRing(8);
    const src = memory.data(16);
    for (let i = 0; i < 16; i++) store<u8>(src + <usize>i, <u8>i);
    expect(r.push(src, 6)).toBe(true);
    r.consume(5);
    expect(r.push(src + 6, 7)).toBe(true);
    expect(r.length).toBe(8);
    expect(r.push(src, 1)).toBe(false);
  });
});
