// AES (firmware/crypto/aes.ts) and CTR (firmware/crypto/ctr.ts). Expected values: FIPS 197
// Appendix B and C.1/C.3, NIST SP 800-38A F.5.1/F.5.5; the others were computed with Node 20's
// crypto (OpenSSL) before writing this spec: a 128-bit carry (aes-128-ctr, key 2b7e..., counter
// 00ff..ff, 48 zero bytes) and 1000 bytes of SRTP-shaped keystream (key 00..0f, counter
// f0f1..fd0000). The S-box table below is FIPS 197 Figure 7.
import { Aes, AesCt, subWordCt } from "../../firmware/crypto/aes";
import { aesCtrXor, aesCtrKeystream, aesCtCtrXor } from "../../firmware/crypto/ctr";

const KEY = memory.data(32);
const IV = memory.data(16);
const IV_COPY = memory.data(16);
const BUF = memory.data(1024);
const BUF2 = memory.data(1024);

function hex(p: usize, s: string): i32 {
  const n = s.length >> 1;
  for (let i = 0; i < n; i++) store<u8>(p + <usize>i, <u8>I32.parseInt(s.substr(i * 2, 2), 16));
  return n;
}

function toHex(p: usize, n: i32): string {
  let s = "";
  for (let i = 0; i < n; i++) {
    const b = load<u8>(p + <usize>i);
    s += (b < 16 ? "0" : "") + b.toString(16);
  }
  return s;
}

const SBOX = "637c777bf26b6fc53001672bfed7ab76ca82c97dfa5947f0add4a2af9ca472c0"
  + "b7fd9326363ff7cc34a5e5f171d8311504c723c31896059a071280e2eb27b275"
  + "09832c1a1b6e5aa0523bd6b329e32f8453d100ed20fcb15b6acbbe394a4c58cf"
  + "d0efaafb434d338545f9027f503c9fa851a3408f929d38f5bcb6da2110fff3d2"
  + "cd0c13ec5f974417c4a77e3d645d197360814fdc222a908846eeb814de5e0bdb"
  + "e0323a0a4906245cc2d3ac629195e479e7c8376d8dd54ea96c56f4ea657aae08"
  + "ba78252e1ca6b4c6e8dd741f4bbd8b8a703eb5664803f60e613557b986c11d9e"
  + "e1f8981169d98e949b1e87e9ce5528df8ca1890dbfe6426841992d0fb054bb16";

const K128 = "000102030405060708090a0b0c0d0e0f";
const K256 = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const PT_C = "00112233445566778899aabbccddeeff";

const F5_KEY128 = "2b7e151628aed2a6abf7158809cf4f3c";
const F5_KEY256 = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";
const F5_CTR = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
const F5_PT = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
  + "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";
const F51_CT = "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"
  + "5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee";
const F55_CT = "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5"
  + "2b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6";

function encHex(keyHex: string, ptHex: string, ct: bool): string {
  const kl = hex(KEY, keyHex);
  hex(BUF, ptHex);
  if (ct) {
    const a = new AesCt();
    expect(a.setKey(KEY, kl)).toBe(true);
    a.encryptBlock(BUF, BUF2);
  } else {
    const a = new Aes();
    expect(a.setKey(KEY, kl)).toBe(true);
    a.encryptBlock(BUF, BUF2);
  }
  return toHex(BUF2, 16);
}

describe("AES S-box circuit", () => {
  it("matches FIPS 197 Figure 7 on all 256 inputs", () => {
    hex(BUF, SBOX);
    for (let x: u32 = 0; x < 256; x += 4) {
      const w = x | ((x + 1) << 8) | ((x + 2) << 16) | ((x + 3) << 24);
      const s = subWordCt(w);
      for (let j: u32 = 0; j < 4; j++) {
        expect((s >>> (8 * j)) & 0xff).toBe(<u32>load<u8>(BUF + <usize>(x + j)), "S[" + (x + j).toString() + "]");
      }
    }
  });
});

describe("Aes (T-tables)", () => {
  it("FIPS 197 Appendix B (AES-128)", () => {
    expect(encHex(F5_KEY128, "3243f6a8885a308d313198a2e0370734", false)).toBe("3925841d02dc09fbdc118597196a0b32");
  });
  it("FIPS 197 Appendix C.1 (AES-128)", () => {
    expect(encHex(K128, PT_C, false)).toBe("69c4e0d86a7b0430d8cdb78070b4c55a");
  });
  it("FIPS 197 Appendix C.3 (AES-256)", () => {
    expect(encHex(K256, PT_C, false)).toBe("8ea2b7ca516745bfeafc49904b496089");
  });
  it("encrypts in place (input and output aliased)", () => {
    const a = new Aes();
    a.setKey(KEY, hex(KEY, K256));
    hex(BUF, PT_C);
    a.encryptBlock(BUF, BUF);
    expect(toHex(BUF, 16)).toBe("8ea2b7ca516745bfeafc49904b496089");
  });
  it("refuses 24-byte (AES-192) and other lengths, keeping the key it had", () => {
    const a = new Aes();
    expect(a.keyLength).toBe(0);
    expect(a.setKey(KEY, hex(KEY, K128))).toBe(true);
    expect(a.keyLength).toBe(16);
    expect(a.setKey(KEY, 24)).toBe(false);
    expect(a.setKey(KEY, 0)).toBe(false);
    expect(a.setKey(KEY, -16)).toBe(false);
    expect(a.setKey(KEY, 17)).toBe(false);
    expect(a.keyLength).toBe(16);
    hex(BUF, PT_C);
    a.encryptBlock(BUF, BUF2);
    expect(toHex(BUF2, 16)).toBe("69c4e0d86a7b0430d8cdb78070b4c55a");
    expect(a.setKey(KEY, hex(KEY, K256))).toBe(true);
    expect(a.keyLength).toBe(32);
  });
  it("rekeys from 256 to 128 bits cleanly", () => {
    const a = new Aes();
    a.setKey(KEY, hex(KEY, K256));
    a.setKey(KEY, hex(KEY, K128));
    hex(BUF, PT_C);
    a.encryptBlock(BUF, BUF2);
    expect(toHex(BUF2, 16)).toBe("69c4e0d86a7b0430d8cdb78070b4c55a");
  });
  it("clear() forgets the key", () => {
    const a = new Aes();
    a.setKey(KEY, hex(KEY, K128));
    a.clear();
    expect(a.keyLength).toBe(0);
    hex(BUF, PT_C);
    a.encryptBlock(BUF, BUF2);
    expect(toHex(BUF2, 16)).not.toBe("69c4e0d86a7b0430d8cdb78070b4c55a");
  });
});

describe("AesCt (bitsliced)", () => {
  it("FIPS 197 Appendix B (AES-128)", () => {
    expect(encHex(F5_KEY128, "3243f6a8885a308d313198a2e0370734", true)).toBe("3925841d02dc09fbdc118597196a0b32");
  });
  it("FIPS 197 Appendix C.1 (AES-128)", () => {
    expect(encHex(K128, PT_C, true)).toBe("69c4e0d86a7b0430d8cdb78070b4c55a");
  });
  it("FIPS 197 Appendix C.3 (AES-256)", () => {
    expect(encHex(K256, PT_C, true)).toBe("8ea2b7ca516745bfeafc49904b496089");
  });
  it("encrypt2 equals two encryptBlock calls, in place", () => {
    const t = new Aes();
    const c = new AesCt();
    const kl = hex(KEY, F5_KEY256);
    t.setKey(KEY, kl);
    c.setKey(KEY, kl);
    hex(BUF, F5_PT);
    t.encryptBlock(BUF, BUF2);
    t.encryptBlock(BUF + 16, BUF2 + 16);
    c.encrypt2(BUF, BUF);
    expect(toHex(BUF, 32)).toBe(toHex(BUF2, 32));
  });
  it("agrees with Aes over 200 chained blocks (AES-128 and AES-256)", () => {
    for (let kl = 16; kl <= 32; kl += 16) {
      for (let i = 0; i < kl; i++) store<u8>(KEY + <usize>i, <u8>(i * 73 + 11));
      const t = new Aes();
      const c = new AesCt();
      t.setKey(KEY, kl);
      c.setKey(KEY, kl);
      memory.fill(BUF, 0x5a, 16);
      memory.fill(BUF2, 0x5a, 16);
      for (let i = 0; i < 200; i++) { t.encryptBlock(BUF, BUF); c.encryptBlock(BUF2, BUF2); }
      expect(toHex(BUF2, 16)).toBe(toHex(BUF, 16));
    }
  });
  it("refuses AES-192 keys, keeping the key it had", () => {
    const c = new AesCt();
    c.setKey(KEY, hex(KEY, K128));
    expect(c.setKey(KEY, 24)).toBe(false);
    expect(c.keyLength).toBe(16);
    hex(BUF, PT_C);
    c.encryptBlock(BUF, BUF2);
    expect(toHex(BUF2, 16)).toBe("69c4e0d86a7b0430d8cdb78070b4c55a");
  });
});

describe("AES-CTR", () => {
  it("SP 800-38A F.5.1 (CTR-AES128.Encrypt) and back", () => {
    const a = new Aes();
    a.setKey(KEY, hex(KEY, F5_KEY128));
    hex(IV, F5_CTR);
    const n = hex(BUF, F5_PT);
    aesCtrXor(a, IV, BUF, n);
    expect(toHex(BUF, n)).toBe(F51_CT);
    expect(toHex(IV, 16)).toBe(F5_CTR); // the counter block is not modified
    aesCtrXor(a, IV, BUF, n);
    expect(toHex(BUF, n)).toBe(F5_PT);
  });
  it("SP 800-38A F.5.5 (CTR-AES256.Encrypt)", () => {
    const a = new Aes();
    a.setKey(KEY, hex(KEY, F5_KEY256));
    hex(IV, F5_CTR);
    const n = hex(BUF, F5_PT);
    aesCtrXor(a, IV, BUF, n);
    expect(toHex(BUF, n)).toBe(F55_CT);
  });
  it("every length is a prefix of the full keystream (partial last block)", () => {
    const a = new Aes();
    a.setKey(KEY, hex(KEY, F5_KEY128));
    hex(IV, F5_CTR);
    for (let len = 0; len <= 64; len++) {
      hex(BUF, F5_PT);
      aesCtrXor(a, IV, BUF, len);
      expect(toHex(BUF, 64)).toBe(F51_CT.substr(0, len * 2) + F5_PT.substr(len * 2), "len " + len.toString());
    }
  });
  it("works at unaligned addresses", () => {
    const a = new Aes();
    a.setKey(KEY, hex(KEY, F5_KEY128));
    hex(IV_COPY + 0, F5_CTR);
    memory.copy(BUF2 + 3, IV_COPY, 16);
    const n = hex(BUF + 1, F5_PT);
    aesCtrXor(a, BUF2 + 3, BUF + 1, n);
    expect(toHex(BUF + 1, n)).toBe(F51_CT);
  });
  it("carries through all 128 bits of the counter", () => {
    const a = new Aes();
    a.setKey(KEY, hex(KEY, F5_KEY128));
    hex(IV, "00ffffffffffffffffffffffffffffff");
    memory.fill(BUF, 0, 48);
    aesCtrXor(a, IV, BUF, 48);
    expect(toHex(BUF, 48)).toBe("3a9bba28c8f6367107421b3a5acbb8b87e59379b5233969d25a5ad2ce335cb3e449c1505c748ae8a4e7fd36e540dc702");
  });
  it("aesCtrKeystream writes the keystream itself (SRTP key derivation shape)", () => {
    const a = new Aes();
    a.setKey(KEY, hex(KEY, K128));
    hex(IV, "f0f1f2f3f4f5f6f7f8f9fafbfcfd0000");
    memory.fill(BUF, 0xee, 1000);
    aesCtrKeystream(a, IV, BUF, 1000);
    expect(toHex(BUF + 960, 40)).toBe("5c87e1f5199d6d0507867a89406717acacaae64ccd46dae6a15334c571c62ee8c07d256faeb33b39");
    // and equals XOR into zeros
    memory.fill(BUF2, 0, 1000);
    aesCtrXor(a, IV, BUF2, 1000);
    expect(toHex(BUF2, 1000)).toBe(toHex(BUF, 1000));
  });
  it("len 0 and negative lengths touch nothing", () => {
    const a = new Aes();
    a.setKey(KEY, hex(KEY, K128));
    hex(IV, F5_CTR);
    memory.fill(BUF, 0xab, 16);
    aesCtrXor(a, IV, BUF, 0);
    aesCtrXor(a, IV, BUF, -5);
    aesCtrKeystream(a, IV, BUF, -1);
    expect(toHex(BUF, 16)).toBe("abababababababababababababababab");
  });
  it("aesCtCtrXor gives the same keystream as aesCtrXor (F.5.1, F.5.5, odd lengths)", () => {
    const c = new AesCt();
    c.setKey(KEY, hex(KEY, F5_KEY128));
    hex(IV, F5_CTR);
    let n = hex(BUF, F5_PT);
    aesCtCtrXor(c, IV, BUF, n);
    expect(toHex(BUF, n)).toBe(F51_CT);
    c.setKey(KEY, hex(KEY, F5_KEY256));
    n = hex(BUF, F5_PT);
    aesCtCtrXor(c, IV, BUF, n);
    expect(toHex(BUF, n)).toBe(F55_CT);
    for (let len = 0; len <= 64; len += 7) {
      hex(BUF, F5_PT);
      aesCtCtrXor(c, IV, BUF, len);
      expect(toHex(BUF, 64)).toBe(F55_CT.substr(0, len * 2) + F5_PT.substr(len * 2), "len " + len.toString());
    }
  });
});
