// Big-endian readers/writers and writeAscii (firmware/lib/bytes.ts).
import { readU8, readU16BE, readU32BE, readU64BE, writeU8, writeU16BE, writeU32BE, writeU64BE, writeAscii, addressOf } from "../../firmware/lib/bytes";

const buf = memory.data(32);

describe("bytes", () => {
  it("writes big-endian: most significant byte first", () => {
    memory.fill(buf, 0xee, 32);
    writeU8(buf, 0x1ab); // low 8 bits only
    writeU16BE(buf + 1, 0xa1b2);
    writeU32BE(buf + 3, 0x01020304);
    writeU64BE(buf + 7, 0x1122334455667788);
    const expected: StaticArray<u8> = [0xab, 0xa1, 0xb2, 0x01, 0x02, 0x03, 0x04,
      0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0xee];
    for (let i = 0; i < 16; i++) expect(load<u8>(buf + <usize>i)).toBe(expected[i], "byte " + i.toString());
  });

  it("reads back what it wrote, at unaligned addresses", () => {
    writeU16BE(buf + 1, 0xfffe);
    writeU32BE(buf + 3, 0xdeadbeef);
    writeU64BE(buf + 7, 0x8000000000000001);
    expect(readU8(buf + 1)).toBe(0xff);
    expect(readU16BE(buf + 1)).toBe(0xfffe);
    expect(readU32BE(buf + 3)).toBe(0xdeadbeef);
    expect(readU64BE(buf + 7)).toBe(0x8000000000000001);
    expect(readU16BE(buf + 2)).toBe(0xfede); // straddling two fields
  });

  it("writeAscii copies at most cap bytes and replaces non-ASCII by ?", () => {
    memory.fill(buf, 0xee, 32);
    expect(writeAscii(buf, 16, "ab\u00e9c")).toBe(4);
    expect(load<u8>(buf)).toBe(0x61);
    expect(load<u8>(buf + 2)).toBe(0x3f);
    expect(load<u8>(buf + 3)).toBe(0x63);
    expect(load<u8>(buf + 4)).toBe(0xee);
    expect(writeAscii(buf, 2, "xyz")).toBe(2);
    expect(load<u8>(buf + 1)).toBe(0x79);
    expect(load<u8>(buf + 2)).toBe(0x3f, "third byte untouched");
  });

  it("addressOf is the address of element 0", () => {
    const a = new StaticArray<u8>(4);
    a[0] = 0x42;
    expect(load<u8>(addressOf(a))).toBe(0x42);
  });
});
