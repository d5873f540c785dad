// HMAC-SHA1 and HMAC-SHA256 (firmware/crypto/hmac.ts). Expected values: RFC 2202 section 3
// (test cases 1-7) and RFC 4231 section 4 (test cases 1-7); the 64-, 65-byte and empty keys were
// computed with Node 20's crypto.createHmac before writing this spec.
import { HmacSha1, HmacSha256 } from "../../firmware/crypto/hmac";

const KEY = memory.data(160);
const MSG = memory.data(200);
const OUT = memory.data(64);

function toHex(p: usize, n: i32): string {
  let s = "";
  for (let i = 0; i < n; i++) {
    const b = load<u8>(p + <usize>i);
    s += (b < 16 ? "0" : "") + b.toString(16);
  }
  return s;
}

function ascii(p: usize, s: string): i32 {
  for (let i = 0; i < s.length; i++) store<u8>(p + <usize>i, <u8>s.charCodeAt(i));
  return s.length;
}

function bytes(p: usize, b: u8, n: i32): i32 { memory.fill(p, b, <usize>n); return n; }

function seq(p: usize, n: i32): i32 { // 0x01, 0x02, ... (RFC 2202/4231 case 4 key)
  for (let i = 0; i < n; i++) store<u8>(p + <usize>i, <u8>(i + 1));
  return n;
}

const T6 = "Test Using Larger Than Block-Size Key - Hash Key First";
const T7_2202 = "Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data";
const T7_4231 = "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.";

function mac1(keyLen: i32, msgLen: i32): string {
  const h = new HmacSha1();
  h.setKey(KEY, keyLen);
  h.begin();
  h.update(MSG, msgLen);
  h.finish(OUT);
  return toHex(OUT, 20);
}

function mac256(keyLen: i32, msgLen: i32): string {
  const h = new HmacSha256();
  h.setKey(KEY, keyLen);
  h.begin();
  h.update(MSG, msgLen);
  h.finish(OUT);
  return toHex(OUT, 32);
}

describe("HMAC-SHA1, RFC 2202", () => {
  it("case 1", () => expect(mac1(bytes(KEY, 0x0b, 20), ascii(MSG, "Hi There"))).toBe("b617318655057264e28bc0b6fb378c8ef146be00"));
  it("case 2", () => expect(mac1(ascii(KEY, "Jefe"), ascii(MSG, "what do ya want for nothing?"))).toBe("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"));
  it("case 3", () => expect(mac1(bytes(KEY, 0xaa, 20), bytes(MSG, 0xdd, 50))).toBe("125d7342b9ac11cd91a39af48aa17b4f63f175d3"));
  it("case 4", () => expect(mac1(seq(KEY, 25), bytes(MSG, 0xcd, 50))).toBe("4c9007f4026250c6bc8414f9bf50c86c2d7235da"));
  it("case 5 (the 96-bit truncation is the first 12 bytes)", () => {
    expect(mac1(bytes(KEY, 0x0c, 20), ascii(MSG, "Test With Truncation"))).toBe("4c1a03424b55e07fe7f27be1d58bb9324a9a5a04");
    expect(toHex(OUT, 12)).toBe("4c1a03424b55e07fe7f27be1");
  });
  it("case 6: an 80-byte key (hashed first)", () => expect(mac1(bytes(KEY, 0xaa, 80), ascii(MSG, T6))).toBe("aa4ae5e15272d00e95705637ce8a3b55ed402112"));
  it("case 7: an 80-byte key and 73 bytes of data", () => expect(mac1(bytes(KEY, 0xaa, 80), ascii(MSG, T7_2202))).toBe("e8e99d0f45237d786d6bbaa7965c7808bbff1a91"));
});

describe("HMAC-SHA256, RFC 4231", () => {
  it("case 1", () => expect(mac256(bytes(KEY, 0x0b, 20), ascii(MSG, "Hi There"))).toBe("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"));
  it("case 2", () => expect(mac256(ascii(KEY, "Jefe"), ascii(MSG, "what do ya want for nothing?"))).toBe("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));
  it("case 3", () => expect(mac256(bytes(KEY, 0xaa, 20), bytes(MSG, 0xdd, 50))).toBe("773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"));
  it("case 4", () => expect(mac256(seq(KEY, 25), bytes(MSG, 0xcd, 50))).toBe("82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"));
  it("case 5 (truncated to 128 bits)", () => {
    mac256(bytes(KEY, 0x0c, 20), ascii(MSG, "Test With Truncation"));
    expect(toHex(OUT, 16)).toBe("a3b6167473100ee06e0c796c2955552b");
  });
  it("case 6: a 131-byte key (hashed first)", () => expect(mac256(bytes(KEY, 0xaa, 131), ascii(MSG, T6))).toBe("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"));
  it("case 7: a 131-byte key and 152 bytes of data", () => expect(mac256(bytes(KEY, 0xaa, 131), ascii(MSG, T7_4231))).toBe("9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"));
});

describe("HMAC key lengths and reuse", () => {
  it("a key of exactly one block (64) is used as is, one of 65 is hashed; the empty key works", () => {
    expect(mac1(bytes(KEY, 0x5a, 64), ascii(MSG, "x"))).toBe("4396ae60a773513734b7a1f948759fe67608f486");
    expect(mac256(bytes(KEY, 0x5a, 64), ascii(MSG, "x"))).toBe("e553639f908d1998ec8866141860cd3cf2a90cd9d095a98bd4358fb148de1d54");
    expect(mac1(bytes(KEY, 0x5a, 65), ascii(MSG, "x"))).toBe("9a63c93035e35b51fe10a6e208d7452183f2afa3");
    expect(mac256(bytes(KEY, 0x5a, 65), ascii(MSG, "x"))).toBe("b516707387f0ead335bb5898996024339fb4a75bb525a2c7c144aefc6e0ad479");
    expect(mac1(0, 0)).toBe("fbdb1d1b18aa6c08324b7d64b71fb76370690e1d");
    expect(mac256(0, 0)).toBe("b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  });
  it("a fresh object MACs with the empty key", () => {
    const h = new HmacSha1();
    h.finish(OUT);
    expect(toHex(OUT, 20)).toBe("fbdb1d1b18aa6c08324b7d64b71fb76370690e1d");
  });
  it("one key, many MACs: each MAC independent of the one before; begin() drops a partial MAC", () => {
    const h = new HmacSha1();
    h.setKey(KEY, bytes(KEY, 0x0b, 20));
    const n = ascii(MSG, "Hi There");
    for (let i = 0; i < 3; i++) {
      h.update(MSG, n); // no begin(): setKey and finish leave it begun
      h.finish(OUT);
      expect(toHex(OUT, 20)).toBe("b617318655057264e28bc0b6fb378c8ef146be00");
    }
    h.update(MSG, 5);
    h.begin();
    h.update(MSG, n);
    h.finish(OUT);
    expect(toHex(OUT, 20)).toBe("b617318655057264e28bc0b6fb378c8ef146be00");
    const g = new HmacSha256();
    g.setKey(KEY, 20);
    g.update(MSG, 3);
    g.begin();
    g.update(MSG, n);
    g.finish(OUT);
    expect(toHex(OUT, 32)).toBe("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  });
  it("updates split anywhere give the same MAC (RFC 4231 case 7 in pieces)", () => {
    const n = ascii(MSG, T7_4231);
    const g = new HmacSha256();
    g.setKey(KEY, bytes(KEY, 0xaa, 131));
    for (let split = 0; split <= n; split += 7) {
      g.begin();
      g.update(MSG, split);
      g.update(MSG + <usize>split, n - split);
      g.finish(OUT);
      expect(toHex(OUT, 32)).toBe("9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2", "split " + split.toString());
    }
  });
  it("rekeying replaces the key entirely (long key, then short)", () => {
    const h = new HmacSha1();
    h.setKey(KEY, bytes(KEY, 0xaa, 80));
    h.setKey(KEY, ascii(KEY, "Jefe"));
    h.update(MSG, ascii(MSG, "what do ya want for nothing?"));
    h.finish(OUT);
    expect(toHex(OUT, 20)).toBe("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  });
});
