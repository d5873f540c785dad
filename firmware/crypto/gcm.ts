// AES-GCM (NIST SP 800-38D; McGrew and Viega's GCM specification), for SRTP's AEAD_AES_128_GCM
// and AEAD_AES_256_GCM (RFC 7714). 12-byte IVs only, which is all RFC 7714 uses.
//
// GHASH is constant time: no table at all. The 128 x 128-bit carry-less product is Karatsuba
// over 32-bit limbs (9 products of 32 x 32 bits); each of those is done with ordinary integer
// multiplies on operands masked to every fourth bit (bits i = k mod 4), so that the carries of
// a product fall into the bit positions the mask throws away: a 32-bit operand has at most 8
// bits of a class, so no column sums to 16 and no carry reaches the next kept bit. Integer
// multiply is constant time on both boards' cores (and in the WASM runtimes' code for them).
// The key's side of the 9 products (split by the 4 masks) is precomputed at setKey.
//
// Bit order (SP 800-38D 6.3): a block is read as a 128-bit big-endian integer whose most
// significant bit is the coefficient of x^0. The integer carry-less product of two such blocks
// holds the coefficient of x^k at bit 254 - k; shifted left once, its high 128 bits are the
// low half of the product and its low 128 bits the high half, both in the same reflected
// order, and the high half is folded back with x^128 = x^7 + x^2 + x + 1 (a right shift is a
// multiplication by x here).

import { Aes } from "./aes";
import { aesCtrXor } from "./ctr";
import { ctEqual, wipe } from "./ct";

const M0: u64 = 0x1111111111111111;
const M1: u64 = 0x2222222222222222;
const M2: u64 = 0x4444444444444444;
const M3: u64 = 0x8888888888888888;

const BLOCK: usize = memory.data(16, 16); // a zero-padded partial block, or the lengths block

/** Carry-less 32 x 32 -> 64-bit product of a and the operand whose four masked parts are at k. */
@inline function clmul32(a: u32, k: usize): u64 {
  const a0 = <u64>(a & 0x11111111), a1 = <u64>(a & 0x22222222);
  const a2 = <u64>(a & 0x44444444), a3 = <u64>(a & 0x88888888);
  const b0 = load<u64>(k), b1 = load<u64>(k, 8), b2 = load<u64>(k, 16), b3 = load<u64>(k, 24);
  const z0 = (a0 * b0) ^ (a1 * b3) ^ (a2 * b2) ^ (a3 * b1);
  const z1 = (a0 * b1) ^ (a1 * b0) ^ (a2 * b3) ^ (a3 * b2);
  const z2 = (a0 * b2) ^ (a1 * b1) ^ (a2 * b0) ^ (a3 * b3);
  const z3 = (a0 * b3) ^ (a1 * b2) ^ (a2 * b1) ^ (a3 * b0);
  return (z0 & M0) | (z1 & M1) | (z2 & M2) | (z3 & M3);
}

/** Stores the four masked parts of v at p (32 bytes). */
function putParts(p: usize, v: u32): void {
  store<u64>(p, <u64>(v & 0x11111111)); store<u64>(p, <u64>(v & 0x22222222), 8);
  store<u64>(p, <u64>(v & 0x44444444), 16); store<u64>(p, <u64>(v & 0x88888888), 24);
}

/** GHASH with one hash key H: y = (y ^ block) * H per 16-byte block. */
export class Ghash {
  // Parts of H's 9 Karatsuba operands, 32 bytes each: lo half (l0, l1, l0^l1), hi half
  // (h0, h1, h0^h1), lo^hi (m0, m1, m0^m1); limb 0 is the less significant 32 bits.
  private readonly key: StaticArray<u64> = new StaticArray<u64>(36);
  yh: u64 = 0; // the accumulator, most significant 64 bits first (bytes 0..7 big-endian)
  yl: u64 = 0;

  /** H from its 16 bytes at h. */
  setKey(h: usize): void {
    const hh = bswap<u64>(load<u64>(h)), hl = bswap<u64>(load<u64>(h, 8)), m = hh ^ hl;
    const k = changetype<usize>(this.key);
    const l0 = <u32>hl, l1 = <u32>(hl >>> 32), h0 = <u32>hh, h1 = <u32>(hh >>> 32);
    const m0 = <u32>m, m1 = <u32>(m >>> 32);
    putParts(k, l0); putParts(k + 32, l1); putParts(k + 64, l0 ^ l1);
    putParts(k + 96, h0); putParts(k + 128, h1); putParts(k + 160, h0 ^ h1);
    putParts(k + 192, m0); putParts(k + 224, m1); putParts(k + 256, m0 ^ m1);
    this.yh = 0; this.yl = 0;
  }

  clear(): void { wipe(changetype<usize>(this.key), 36 * 8); this.yh = 0; this.yl = 0; }

  reset(): void { this.yh = 0; this.yl = 0; }

  /** y = y * H in GF(2^128). */
  mulH(): void {
    const k = changetype<usize>(this.key);
    const yh = this.yh, yl = this.yl;
    const a0 = <u32>yl, a1 = <u32>(yl >>> 32), a2 = <u32>yh, a3 = <u32>(yh >>> 32);
    // lo * Hlo
    let lo = clmul32(a0, k), hi = clmul32(a1, k + 32);
    let mid = clmul32(a0 ^ a1, k + 64) ^ lo ^ hi;
    const ll = lo ^ (mid << 32), lh = hi ^ (mid >>> 32);
    // hi * Hhi
    lo = clmul32(a2, k + 96); hi = clmul32(a3, k + 128);
    mid = clmul32(a2 ^ a3, k + 160) ^ lo ^ hi;
    const hl = lo ^ (mid << 32), hh = hi ^ (mid >>> 32);
    // (lo ^ hi) * (Hlo ^ Hhi), minus the two above: the middle 128 bits
    const b0 = a0 ^ a2, b1 = a1 ^ a3;
    lo = clmul32(b0, k + 192); hi = clmul32(b1, k + 224);
    mid = clmul32(b0 ^ b1, k + 256) ^ lo ^ hi;
    const ml = lo ^ (mid << 32) ^ ll ^ hl, mh = hi ^ (mid >>> 32) ^ lh ^ hh;
    // The 256-bit product p3:p2:p1:p0, shifted left by one.
    let p3 = hh, p2 = hl ^ mh, p1 = ml ^ lh, p0 = ll;
    p3 = (p3 << 1) | (p2 >>> 63); p2 = (p2 << 1) | (p1 >>> 63);
    p1 = (p1 << 1) | (p0 >>> 63); p0 <<= 1;
    // Fold the high half b = p1:p0: b * (1 + x + x^2 + x^7) is b ^ b>>1 ^ b>>2 ^ b>>7; the bits
    // shifted out (degrees 128..134) come back as c = b<<127 ^ b<<126 ^ b<<121 (top 7 bits only),
    // times the same polynomial, which stays inside 128 bits.
    const c = (p0 << 63) ^ (p0 << 62) ^ (p0 << 57);
    this.yh = p3 ^ p1 ^ (p1 >>> 1) ^ (p1 >>> 2) ^ (p1 >>> 7) ^ c ^ (c >>> 1) ^ (c >>> 2) ^ (c >>> 7);
    this.yl = p2 ^ p0 ^ ((p0 >>> 1) | (p1 << 63)) ^ ((p0 >>> 2) | (p1 << 62)) ^ ((p0 >>> 7) | (p1 << 57));
  }

  /** Absorbs len bytes at p, the last partial block zero-padded (SP 800-38D 7.1 step 5). */
  update(p: usize, len: i32): void {
    let off = 0;
    for (; off + 16 <= len; off += 16) {
      this.yh ^= bswap<u64>(load<u64>(p + <usize>off));
      this.yl ^= bswap<u64>(load<u64>(p + <usize>off, 8));
      this.mulH();
    }
    if (off < len) {
      memory.fill(BLOCK, 0, 16);
      memory.copy(BLOCK, p + <usize>off, <usize>(len - off));
      this.yh ^= bswap<u64>(load<u64>(BLOCK));
      this.yl ^= bswap<u64>(load<u64>(BLOCK, 8));
      this.mulH();
      wipe(BLOCK, 16);
    }
  }

  /** Absorbs the lengths block: 64-bit bit lengths of the AAD and of the ciphertext. */
  lengths(aadLen: i32, len: i32): void {
    this.yh ^= <u64>aadLen << 3;
    this.yl ^= <u64>len << 3;
    this.mulH();
  }
}

/** AES-GCM with 12-byte IVs and tags of 8 to 16 bytes. */
export class AesGcm {
  private readonly aes: Aes = new Aes();
  private readonly ghash: Ghash = new Ghash();
  private readonly j0: StaticArray<u8> = new StaticArray<u8>(16);  // IV || 0^31 || 1
  private readonly ctr: StaticArray<u8> = new StaticArray<u8>(16); // J0 + 1: the first data block
  private readonly tagBuf: StaticArray<u8> = new StaticArray<u8>(16);
  private keyed: bool = false;

  /** 16 or 32 bytes (AES-128-GCM, AES-256-GCM); any other length returns false, key unchanged. */
  setKey(key: usize, keyLen: i32): bool {
    if (!this.aes.setKey(key, keyLen)) return false;
    const t = changetype<usize>(this.tagBuf);
    memory.fill(t, 0, 16);
    this.aes.encryptBlock(t, t); // H = E(K, 0^128)
    this.ghash.setKey(t);
    wipe(t, 16);
    this.keyed = true;
    return true;
  }

  get keyLength(): i32 { return this.aes.keyLength; }

  private valid(ivLen: i32, aadLen: i32, len: i32, tagLen: i32): bool {
    return this.keyed && ivLen == 12 && aadLen >= 0 && len >= 0 && tagLen >= 8 && tagLen <= 16;
  }

  /** J0 = IV || 0^31 || 1 (the tag's counter block) and J0 + 1 (the first data block's). */
  private start(iv: usize): void {
    const j0 = changetype<usize>(this.j0), ctr = changetype<usize>(this.ctr);
    memory.copy(j0, iv, 12);
    store<u32>(j0, bswap<u32>(1), 12);
    memory.copy(ctr, iv, 12);
    store<u32>(ctr, bswap<u32>(2), 12);
  }

  /** The full 16-byte tag over aad and the ciphertext at data, into tagBuf. */
  private computeTag(aad: usize, aadLen: i32, data: usize, len: i32): void {
    const g = this.ghash;
    g.reset();
    g.update(aad, aadLen);
    g.update(data, len);
    g.lengths(aadLen, len);
    const t = changetype<usize>(this.tagBuf);
    this.aes.warm();
    this.aes.encryptBlock(changetype<usize>(this.j0), t); // T = E(K, J0) ^ S
    store<u64>(t, load<u64>(t) ^ bswap<u64>(g.yh));
    store<u64>(t, load<u64>(t, 8) ^ bswap<u64>(g.yl), 8);
    g.reset();
  }

  /**
   * Encrypts `len` bytes at `data` in place and writes the tag (tagLen 8..16, typically 16).
   * Returns false and does nothing (data and tag untouched) when the request is refused: no
   * key set, ivLen other than 12, tagLen outside 8..16, or a negative length. A caller that
   * ignores false would send plaintext: check it.
   */
  seal(iv: usize, ivLen: i32, aad: usize, aadLen: i32, data: usize, len: i32, tag: usize, tagLen: i32): bool {
    if (!this.valid(ivLen, aadLen, len, tagLen)) return false;
    this.start(iv);
    aesCtrXor(this.aes, changetype<usize>(this.ctr), data, len);
    this.computeTag(aad, aadLen, data, len);
    memory.copy(tag, changetype<usize>(this.tagBuf), <usize>tagLen);
    wipe(changetype<usize>(this.tagBuf), 16);
    return true;
  }

  /**
   * Verifies the tag first (constant-time compare) and only then decrypts in place; returns
   * false and leaves data untouched on a bad tag, or on a request seal would refuse.
   */
  open(iv: usize, ivLen: i32, aad: usize, aadLen: i32, data: usize, len: i32, tag: usize, tagLen: i32): bool {
    if (!this.valid(ivLen, aadLen, len, tagLen)) return false;
    this.start(iv);
    this.computeTag(aad, aadLen, data, len);
    const ok = ctEqual(changetype<usize>(this.tagBuf), tag, tagLen);
    wipe(changetype<usize>(this.tagBuf), 16);
    if (!ok) return false;
    aesCtrXor(this.aes, changetype<usize>(this.ctr), data, len);
    return true;
  }
}
