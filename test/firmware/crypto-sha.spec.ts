// SHA-1 and SHA-256 (firmware/crypto/sha1.ts, sha256.ts). Expected values: the FIPS 180-4 /
// NIST examples ("abc", the 448-bit and 896-bit messages, one million 'a', the empty string);
// the padding-boundary lengths were computed with Node 20's crypto.createHash before writing
// this spec, over bytes (i * 31 + 7) & 0xff.
import { Sha1 } from "../../firmware/crypto/sha1";
import { Sha256 } from "../../firmware/crypto/sha256";

const MSG = memory.data(1200);
const OUT = memory.data(64);

function toHex(p: usize, n: i32): string {
  let s = "";
  for (let i = 0; i < n; i++) {
    const b = load<u8>(p + <usize>i);
    s += (b < 16 ? "0" : "") + b.toString(16);
  }
  return s;
}

function ascii(s: string): i32 {
  for (let i = 0; i < s.length; i++) store<u8>(MSG + <usize>i, <u8>s.charCodeAt(i));
  return s.length;
}

function pattern(n: i32): void {
  for (let i = 0; i < n; i++) store<u8>(MSG + <usize>i, <u8>((i * 31 + 7) & 0xff));
}

const M448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
const M896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
const LENS: StaticArray<i32> = [55, 56, 63, 64, 65, 119, 120, 1000];
const SHA1_PAT: StaticArray<string> = [
  "749bbefb28edc4638b28b2b9a9e03ab9a4032b90", "a5b6e9c29d201c774753ff8e7fb64931656f5e63",
  "d1a454409359fc372b4d22b3cea6488d6ba1be00", "39a0d8b645ad85f1f976731ed112ac9455e28b78",
  "d0c96e18890114a14716e9686528d2e3fdba8d9e", "562ecf8a430f8e1056e3619bae33628e9a1d0a4e",
  "353f6d2bf0e91aa91b74a2e0b3f297510f7d825f", "414475341017ec91703435a6f290324818f983e9",
];
const SHA256_PAT: StaticArray<string> = [
  "8aa994584139d128848eeebc4e815639ba5ab6e6e39574195a63ac4f14f7c43b",
  "ad574708f75c044c9b85de64cb568ee7711ff4f36448c6242f053ba8f6cc2b63",
  "280ed3e8ff1df845b2e7dfe6ac6cee817bef20e783cc65abc41b818b4d2fe076",
  "c6ab9724ade5b6a7a1edfffb12f3aa9181351355af8fd08c919952ad211339dd",
  "788367c73c7ddf4c53f65e68cc0d943e6227ab55b0e78ba63ace822b1c6301c0",
  "3d610547d68216dedf7435a4fb6260353911f6b3fd3f18805ddb8be285d726fe",
  "1f80156a804cb7862ad113e8200e9d74499723e7c7854d5f48776d3148e09656",
  "5097e7d587352f5097062ae679f37bda5802d9f875aba14c8cb4d1a188ada179",
];

describe("SHA-1", () => {
  it("FIPS 180 examples: \"abc\", the 448-bit and the 896-bit message", () => {
    Sha1.digest(MSG, ascii("abc"), OUT);
    expect(toHex(OUT, 20)).toBe("a9993e364706816aba3e25717850c26c9cd0d89d");
    Sha1.digest(MSG, ascii(M448), OUT);
    expect(toHex(OUT, 20)).toBe("84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    Sha1.digest(MSG, ascii(M896), OUT);
    expect(toHex(OUT, 20)).toBe("a49b2446a02c645bf419f995b67091253a04a259");
  });
  it("the empty message", () => {
    Sha1.digest(MSG, 0, OUT);
    expect(toHex(OUT, 20)).toBe("da39a3ee5e6b4b0d3255bfef95601890afd80709");
  });
  it("one million 'a' in 1000-byte updates, and in uneven ones", () => {
    memory.fill(MSG, 0x61, 1000);
    const h = new Sha1();
    for (let i = 0; i < 1000; i++) h.update(MSG, 1000);
    h.finish(OUT);
    expect(toHex(OUT, 20)).toBe("34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    let left = 1000000;
    let step = 1;
    while (left > 0) {
      const n = min(step, min(left, 1000));
      h.update(MSG, n);
      left -= n;
      step = step * 7 % 997 + 1; // 1, 8, 57, 402, ... wandering over 1..997
    }
    h.finish(OUT);
    expect(toHex(OUT, 20)).toBe("34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  });
  it("the 448-bit message split at every point", () => {
    const n = ascii(M448);
    const h = new Sha1();
    for (let split = 0; split <= n; split++) {
      h.update(MSG, split);
      h.update(MSG + <usize>split, n - split);
      h.finish(OUT);
      expect(toHex(OUT, 20)).toBe("84983e441c3bd26ebaae4aa1f95129e5e54670f1", "split " + split.toString());
    }
  });
  it("lengths around the padding boundaries (55, 56, 63, 64, 65, 119, 120, 1000)", () => {
    pattern(1000);
    for (let i = 0; i < LENS.length; i++) {
      Sha1.digest(MSG, LENS[i], OUT);
      expect(toHex(OUT, 20)).toBe(SHA1_PAT[i], "len " + LENS[i].toString());
    }
  });
  it("byte-at-a-time updates and reset() drop what came before", () => {
    pattern(1000);
    const h = new Sha1();
    h.update(MSG, 77); // then thrown away
    h.reset();
    for (let i = 0; i < 120; i++) h.update(MSG + <usize>i, 1);
    h.finish(OUT);
    expect(toHex(OUT, 20)).toBe(SHA1_PAT[6]);
    h.update(MSG, 0); // finish left it reset: a fresh message
    h.update(MSG, -3);
    h.finish(OUT);
    expect(toHex(OUT, 20)).toBe("da39a3ee5e6b4b0d3255bfef95601890afd80709");
  });
});

describe("SHA-256", () => {
  it("FIPS 180 examples: \"abc\", the 448-bit and the 896-bit message", () => {
    Sha256.digest(MSG, ascii("abc"), OUT);
    expect(toHex(OUT, 32)).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    Sha256.digest(MSG, ascii(M448), OUT);
    expect(toHex(OUT, 32)).toBe("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    Sha256.digest(MSG, ascii(M896), OUT);
    expect(toHex(OUT, 32)).toBe("cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  });
  it("the empty message", () => {
    Sha256.digest(MSG, 0, OUT);
    expect(toHex(OUT, 32)).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });
  it("one million 'a' in 1000-byte updates, and in uneven ones", () => {
    memory.fill(MSG, 0x61, 1000);
    const h = new Sha256();
    for (let i = 0; i < 1000; i++) h.update(MSG, 1000);
    h.finish(OUT);
    expect(toHex(OUT, 32)).toBe("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    let left = 1000000;
    let step = 1;
    while (left > 0) {
      const n = min(step, min(left, 1000));
      h.update(MSG, n);
      left -= n;
      step = step * 7 % 997 + 1;
    }
    h.finish(OUT);
    expect(toHex(OUT, 32)).toBe("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  });
  it("the 448-bit message split at every point", () => {
    const n = ascii(M448);
    const h = new Sha256();
    for (let split = 0; split <= n; split++) {
      h.update(MSG, split);
      h.update(MSG + <usize>split, n - split);
      h.finish(OUT);
      expect(toHex(OUT, 32)).toBe("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "split " + split.toString());
    }
  });
  it("lengths around the padding boundaries (55, 56, 63, 64, 65, 119, 120, 1000)", () => {
    pattern(1000);
    for (let i = 0; i < LENS.length; i++) {
      Sha256.digest(MSG, LENS[i], OUT);
      expect(toHex(OUT, 32)).toBe(SHA256_PAT[i], "len " + LENS[i].toString());
    }
  });
  it("byte-at-a-time updates and reset() drop what came before", () => {
    pattern(1000);
    const h = new Sha256();
    h.update(MSG, 77);
    h.reset();
    for (let i = 0; i < 120; i++) h.update(MSG + <usize>i, 1);
    h.finish(OUT);
    expect(toHex(OUT, 32)).toBe(SHA256_PAT[6]);
    h.finish(OUT);
    expect(toHex(OUT, 32)).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });
});
