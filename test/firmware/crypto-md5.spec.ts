// MD5 (firmware/crypto/md5.ts). Expected values: the RFC 1321 appendix A.5 test suite; the
// padding-boundary lengths and one million 'a' were computed with Node 20's
// crypto.createHash("md5") before writing this spec, over bytes (i * 31 + 7) & 0xff.
import { Md5 } from "../../firmware/crypto/md5";

const MSG = memory.data(1200);
const OUT = memory.data(32);

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

function md5Of(s: string): string {
  Md5.digest(MSG, ascii(s), OUT);
  return toHex(OUT, 16);
}

const A5_DIGITS = "12345678901234567890123456789012345678901234567890123456789012345678901234567890";
const LENS: StaticArray<i32> = [55, 56, 63, 64, 65, 119, 120, 1000];
const MD5_PAT: StaticArray<string> = [
  "c9e512626618c9980ef21a96597af94c", "ecde7caa08e9f5657c863df107cac60a",
  "2f0301069e1c40af7f6c8f843b1b13f2", "b6bf87c24b1bc334e2541387a92b981b",
  "f168246f08b6134d66bd2a10343fa9f1", "d5dc3d8264de3aa24dee105910ee27fe",
  "bcc139b3848923904860d1eefd6e5923", "2b1e78d5765de9e10495a01412a1cf22",
];

describe("MD5", () => {
  it("RFC 1321 A.5: all seven messages", () => {
    expect(md5Of("")).toBe("d41d8cd98f00b204e9800998ecf8427e");
    expect(md5Of("a")).toBe("0cc175b9c0f1b6a831c399e269772661");
    expect(md5Of("abc")).toBe("900150983cd24fb0d6963f7d28e17f72");
    expect(md5Of("message digest")).toBe("f96b697d7cb7938d525a2f31aaf161d0");
    expect(md5Of("abcdefghijklmnopqrstuvwxyz")).toBe("c3fcd3d76192e4007dfb496cca67e13b");
    expect(md5Of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")).toBe("d174ab98d277d9f5a5611c2c9f419d9f");
    expect(md5Of(A5_DIGITS)).toBe("57edf4a22be3c955ac49da2e2107b67a");
  });

  it("lengths around the padding boundaries (55, 56, 63, 64, 65, 119, 120) and 1000 bytes", () => {
    for (let k = 0; k < LENS.length; k++) {
      pattern(LENS[k]);
      Md5.digest(MSG, LENS[k], OUT);
      expect(toHex(OUT, 16)).toBe(MD5_PAT[k], "length " + LENS[k].toString());
    }
  });

  it("a message split at every point, and in many small updates, matches one shot", () => {
    const n = ascii(A5_DIGITS);
    const h = new Md5();
    for (let cut = 0; cut <= n; cut++) {
      h.update(MSG, cut);
      h.update(MSG + <usize>cut, n - cut);
      h.finish(OUT);
      expect(toHex(OUT, 16)).toBe("57edf4a22be3c955ac49da2e2107b67a", "cut at " + cut.toString());
    }
    pattern(1000);
    let off = 0;
    let step = 1;
    while (off < 1000) {
      const len = min(step, 1000 - off);
      h.update(MSG + <usize>off, len);
      off += len;
      step = step * 5 % 67 + 1; // uneven pieces, 1..67 bytes, straddling block edges
    }
    h.finish(OUT);
    expect(toHex(OUT, 16)).toBe("2b1e78d5765de9e10495a01412a1cf22");
  });

  it("one million 'a' in 1000-byte updates", () => {
    memory.fill(MSG, 0x61, 1000);
    const h = new Md5();
    for (let i = 0; i < 1000; i++) h.update(MSG, 1000);
    h.finish(OUT);
    expect(toHex(OUT, 16)).toBe("7707d6ae4e027c70eea2a935c2296f21");
  });

  it("finish() resets: the next message is hashed from scratch; empty and negative updates do nothing", () => {
    const h = new Md5();
    h.update(MSG, ascii("abc"));
    h.finish(OUT);
    h.update(MSG, 0);
    h.update(MSG, -5);
    h.update(MSG, ascii("abc"));
    h.finish(OUT);
    expect(toHex(OUT, 16)).toBe("900150983cd24fb0d6963f7d28e17f72");
    h.update(MSG, ascii("partial"));
    h.reset();
    h.finish(OUT);
    expect(toHex(OUT, 16)).toBe("d41d8cd98f00b204e9800998ecf8427e");
  });
});
