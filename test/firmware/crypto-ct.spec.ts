// Constant-time compare and wipe (firmware/crypto/ct.ts).
import { ctEqual, wipe } from "../../firmware/crypto/ct";

const A = memory.data(64);
const B = memory.data(64);

function fill(p: usize, n: i32, seed: i32): void {
  for (let i = 0; i < n; i++) store<u8>(p + <usize>i, <u8>(i * 37 + seed));
}

describe("ctEqual", () => {
  it("is true for equal buffers of every length 0..40", () => {
    for (let n = 0; n <= 40; n++) {
      fill(A, n, 5); fill(B, n, 5);
      expect(ctEqual(A, B, n)).toBe(true, "len " + n.toString());
    }
  });
  it("is false for any single differing bit at any position, with any length", () => {
    for (let n = 1; n <= 20; n++) {
      for (let i = 0; i < n; i++) {
        for (let bit = 0; bit < 8; bit++) {
          fill(A, n, 9); fill(B, n, 9);
          store<u8>(B + <usize>i, <u8>(<i32>load<u8>(B + <usize>i) ^ (1 << bit)));
          expect(ctEqual(A, B, n)).toBe(false, "len " + n.toString() + " at " + i.toString() + " bit " + bit.toString());
        }
      }
    }
  });
  it("compares only len bytes, at unaligned addresses too", () => {
    fill(A, 64, 1); fill(B, 64, 1);
    store<u8>(B + 13, 0);
    store<u8>(A + 13, 1);
    expect(ctEqual(A + 3, B + 3, 10)).toBe(true);  // bytes 3..12
    expect(ctEqual(A + 3, B + 3, 11)).toBe(false); // reaches byte 13
  });
  it("len 0 and negative lengths compare nothing (true)", () => {
    fill(A, 4, 1); fill(B, 4, 2);
    expect(ctEqual(A, B, 0)).toBe(true);
    expect(ctEqual(A, B, -4)).toBe(true);
    expect(ctEqual(A, B, 1)).toBe(false);
  });
});

describe("wipe", () => {
  it("zeroes exactly len bytes", () => {
    memory.fill(A, 0xaa, 64);
    wipe(A + 5, 17);
    for (let i = 0; i < 64; i++) {
      expect(load<u8>(A + <usize>i)).toBe(i >= 5 && i < 22 ? 0 : 0xaa, "byte " + i.toString());
    }
  });
  it("len 0 and negative lengths write nothing", () => {
    memory.fill(A, 0xaa, 8);
    wipe(A, 0);
    wipe(A, -3);
    for (let i = 0; i < 8; i++) expect(load<u8>(A + <usize>i)).toBe(0xaa);
  });
});
