// CRC-32 (firmware/crypto/crc32.ts), the console frames' check. Expected values come from
// references outside this repository, computed in Node 20 before writing this spec:
//   zlib.crc32(Buffer.from("123456789"))                            -> 0xCBF43926 (the catalogue check value)
//   zlib.crc32(b) with b[i] = (i * 31 + 7) & 0xff, i = 0..1023       -> 0x7C321B5D
//   zlib.crc32(Buffer.alloc(1024))                                   -> 0xEFB5AF2E
// and the same numbers from a bitwise JS implementation (poly 0xEDB88320, no table).
import { crc32, crc32Update } from "../../firmware/crypto/crc32";

const buf = memory.data(1024);

function putAscii(p: usize, s: string): i32 {
  for (let i = 0; i < s.length; i++) store<u8>(p + <usize>i, <u8>s.charCodeAt(i));
  return s.length;
}

function fillPattern(): void {
  for (let i = 0; i < 1024; i++) store<u8>(buf + <usize>i, <u8>((i * 31 + 7) & 0xff));
}

describe("crc32", () => {
  it("gives the check value 0xCBF43926 for \"123456789\"", () => {
    const n = putAscii(buf, "123456789");
    expect(crc32(buf, n)).toBe(0xcbf43926);
  });

  it("is 0 over empty input", () => {
    expect(crc32(buf, 0)).toBe(0);
  });

  it("crc32Update over zero bytes returns the running value unchanged", () => {
    expect(crc32Update(0xcbf43926, buf, 0)).toBe(0xcbf43926);
    expect(crc32Update(0x12345678, buf, 0)).toBe(0x12345678);
  });

  it("gives 0x7C321B5D over the 1 KiB pattern (i * 31 + 7) & 0xff", () => {
    fillPattern();
    expect(crc32(buf, 1024)).toBe(0x7c321b5d);
  });

  it("gives 0xEFB5AF2E over 1 KiB of zeros", () => {
    memory.fill(buf, 0, 1024);
    expect(crc32(buf, 1024)).toBe(0xefb5af2e);
  });

  it("one byte changed changes the value", () => {
    fillPattern();
    store<u8>(buf + 512, load<u8>(buf + 512) ^ 0x01);
    const v = crc32(buf, 1024);
    expect(v).not.toBe(0x7c321b5d);
  });

  it("crc32Update over \"123456789\" split at every point equals the one-shot value", () => {
    const n = putAscii(buf, "123456789");
    for (let split = 0; split <= n; split++) {
      const a = crc32Update(0, buf, split);
      expect(crc32Update(a, buf + <usize>split, n - split)).toBe(0xcbf43926);
    }
  });

  it("crc32Update over the 1 KiB pattern in uneven chunks equals the one-shot value", () => {
    fillPattern();
    let c: u32 = 0;
    let at = 0;
    let step = 1;
    while (at < 1024) {
      const n = min(step, 1024 - at);
      c = crc32Update(c, buf + <usize>at, n);
      at += n;
      step = step * 3 + 1; // 1, 4, 13, 40, 121, 364, ...
    }
    expect(c).toBe(0x7c321b5d);
    // and one byte at a time
    c = 0;
    for (let i = 0; i < 1024; i++) c = crc32Update(c, buf + <usize>i, 1);
    expect(c).toBe(0x7c321b5d);
  });
});
