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
//
// Ghash4 is the 4-bit table method (Shoup's table), the default for AesGcm (docs/crypto.md says
// what it leaks): a per-key table of the 16 products n * H (256 bytes; the nibble's most
// significant bit is the coefficient of x^0). Nibble k of the block (k = 0 the least
// significant, the highest degrees) contributes T[nibble] * x^(4 (31 - k)); each of the 32
// lookups is shifted to its place in a 256-bit unreduced product held in four i64 locals (the
// shifts are constants, fully unrolled), and the product is folded once at the end like Ghash's.
// That replaces Shoup's per-nibble reduction (a 16-entry table R[Z & 15] after each 4-bit shift
// of the accumulator) and its serial dependency chain: 20 % faster in V8, and one table fewer.
// The lookups are indexed by nibbles of y ^ block, which depend on H and the data.

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

/** What both GHASH variants share: XOR each 16-byte block into the accumulator, multiply by H
 *  (the variant's own mulH, resolved at compile time), the last partial block zero-padded. */
@inline function absorb<G>(g: G, p: usize, len: i32): void {
  let off = 0;
  for (; off + 16 <= len; off += 16) {
    g.yh ^= bswap<u64>(load<u64>(p + <usize>off));
    g.yl ^= bswap<u64>(load<u64>(p + <usize>off, 8));
    g.mulH();
  }
  if (off < len) {
    memory.fill(BLOCK, 0, 16);
    memory.copy(BLOCK, p + <usize>off, <usize>(len - off));
    g.yh ^= bswap<u64>(load<u64>(BLOCK));
    g.yl ^= bswap<u64>(load<u64>(BLOCK, 8));
    g.mulH();
    wipe(BLOCK, 16);
  }
}

/** The lengths block: the 64-bit bit lengths of the AAD and of the ciphertext. */
@inline function absorbLengths<G>(g: G, aadLen: i32, len: i32): void {
  g.yh ^= <u64>aadLen << 3;
  g.yl ^= <u64>len << 3;
  g.mulH();
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
  update(p: usize, len: i32): void { absorb<Ghash>(this, p, len); }

  /** Absorbs the lengths block: 64-bit bit lengths of the AAD and of the ciphertext. */
  lengths(aadLen: i32, len: i32): void { absorbLengths<Ghash>(this, aadLen, len); }
}

const SINK4: usize = memory.data(8, 8); // where Ghash4.warm() leaves its XOR

/**
 * GHASH with one hash key H and a 4-bit table of its multiples: the same results and API as
 * Ghash, about twice as fast in V8, but table lookups at addresses that depend on H and the data.
 */
export class Ghash4 {
  // Entry n (16 bytes at 16 n): n * H, the high 64 bits first, then the low 64.
  private readonly table: StaticArray<u64> = new StaticArray<u64>(32);
  yh: u64 = 0; // the accumulator, as in Ghash
  yl: u64 = 0;

  /** H from its 16 bytes at h. */
  setKey(h: usize): void {
    const t = changetype<usize>(this.table);
    let vh = bswap<u64>(load<u64>(h)), vl = bswap<u64>(load<u64>(h, 8));
    store<u64>(t, 0); store<u64>(t, 0, 8);
    store<u64>(t + 128, vh); store<u64>(t + 128, vl, 8); // entry 8 (binary 1000) is H * x^0
    for (let i: usize = 4; i > 0; i >>= 1) {             // entries 4, 2, 1: H * x, x^2, x^3
      const m = (0 - (vl & 1)) & 0xe100000000000000;      // branch-free: bits of H decide nothing
      vl = (vh << 63) | (vl >>> 1);
      vh = (vh >>> 1) ^ m;
      store<u64>(t + (i << 4), vh); store<u64>(t + (i << 4), vl, 8);
    }
    for (let i: usize = 2; i <= 8; i <<= 1) {             // the rest by linearity: T[i + j] = T[i] ^ T[j]
      const ih = load<u64>(t + (i << 4)), il = load<u64>(t + (i << 4), 8);
      for (let j: usize = 1; j < i; j++) {
        store<u64>(t + ((i + j) << 4), ih ^ load<u64>(t + (j << 4)));
        store<u64>(t + ((i + j) << 4), il ^ load<u64>(t + (j << 4), 8), 8);
      }
    }
    this.yh = 0; this.yl = 0;
  }

  clear(): void { wipe(changetype<usize>(this.table), 32 * 8); this.yh = 0; this.yl = 0; }

  reset(): void { this.yh = 0; this.yl = 0; }

  /** Reads one word of every 16-byte line of the table (as Aes.warm does for AES's). */
  warm(): void {
    const t = changetype<usize>(this.table);
    let x: u64 = 0;
    for (let p: usize = t; p < t + 256; p += 64) {
      x ^= load<u64>(p) ^ load<u64>(p, 16) ^ load<u64>(p, 32) ^ load<u64>(p, 48);
    }
    store<u64>(SINK4, x);
  }

  /** y = y * H in GF(2^128): 32 lookups, shifted into an unreduced 256-bit product, one fold. */
  mulH(): void {
    const t = changetype<usize>(this.table);
    const a0 = <u32>this.yl, a1 = <u32>(this.yl >>> 32), a2 = <u32>this.yh, a3 = <u32>(this.yh >>> 32);
    let p0: u64, p1: u64, p2: u64, p3: u64, h: u64, l: u64, e: usize;
    e = t + <usize>((a0 << 4) & 0xf0); h = load<u64>(e); l = load<u64>(e, 8);
    p1 = h >>> 60;
    p2 = (h << 4) | (l >>> 60);
    p3 = l << 4;
    e = t + <usize>(a0 & 0xf0); h = load<u64>(e); l = load<u64>(e, 8);
    p1 ^= h >>> 56;
    p2 ^= (h << 8) | (l >>> 56);
    p3 ^= l << 8;
    e = t + <usize>((a0 >>> 4) & 0xf0); h = load<u64>(e); l = load<u64>(e, 8);
    p1 ^= h >>> 52;
    p2 ^= (h << 12) | (l >>> 52);
    p3 ^= l << 12;
    e = t + <usize>((a0 >>> 8) & 0xf0); h = load<u64>(e); l = load<u64>(e, 8);
    p1 ^= h >>> 48;
    p2 ^= (h << 16) | (l >>> 48);
    p3 ^= l << 16;
    e = t + <usize>((a0 >>> 12) & 0xf0); h = load<u64>(e); l = load<u64>(e, 8);
    p1 ^= h >>> 44;
    p2 ^= (h << 20) | (l >>> 44);
    p3 ^= l << 20;
    e = t + <usize>((a0 >>> 16) & 0xf0); h = load<u64>(e); l = load<u64>(e, 8);
    p1 ^= h >>> 40;
    p2 ^= (h << 24) | (l >>> 40);
    p3 ^= l << 24;
    e = t + <usize>((a0 >>> 20) & 0xf0); h = load<u64>(e); l = load<u64>(e, 8);
    p1 ^= h >>> 36;
    p2 ^= (h << 28) | (l >>> 36);
    p3 ^= l << 28;
    e = t + <usize>((a0 >>> 24) & 0xf0); h = load<u64>(e); l = load<u64>(e, 8);
    p1 ^= h >>> 32;
    p2 ^= (h << 32) | (l >>> 32);
    p3 ^= l << 32;
    e = t + <usize>((a1 << 4) & 0xf0); h = load<u64>(e); l = load<u64>(e, 8);
    p1 ^= h >>> 28;
    p2 ^= (h << 36) | (l >>> 28);
    p3 ^= l << 36;
    e = t + <usize>(a1 & 0xf0); h = load<u64>(e); l = load<u64>(e, 8);
    p1 ^= h >>> 24;
    p2 ^= (h << 40) | (l >>> 24);
    p3 ^= l << 40;
    e = t + <usize>((a1 >>> 4) & 0xf0); h = load<u64>(e); l = load<u64>(e, 8);
    p1 ^= h >>> 20;
    p2 ^= (h << 44) | (l >>> 20);
    p3 ^= l << 44;
    e = t + <usize>((a1 >>> 8) & 0xf0); h = load<u64>(e); l = load<u64>(e, 8);
    p1 ^= h >>> 16;
    p2 ^= (h << 48) | (l >>> 16);
    p3 ^= l << 48;
    e = t + <usize>((a1 >>> 12) & 0xf0); h = load<u64>(e); l = load<u64>(e, 8);
    p1 ^= h >>> 12;
    p2 ^= (h << 52) | (l >>> 12);
    p3 ^= l << 52;
    e = t + <usize>((a1 >>> 16) & 0xf0); h = load<u64>(e); l = load<u64>(e, 8);
    p1 ^= h >>> 8;
    p2 ^= (h << 56) | (l >>> 8);
    p3 ^= l << 56;
    e = t + <usize>((a1 >>> 20) & 0xf0); h = load<u64>(e); l = load<u64>(e, 8);
    p1 ^= h >>> 4;
    p2 ^= (h << 60) | (l >>> 4);
    p3 ^= l << 60;
    e = t + <usize>((a1 >>> 24) & 0xf0); h = load<u64>(e); l = load<u64>(e, 8);
    p1 ^= h;
    p2 ^= l;
    e = t + <usize>((a2 << 4) & 0xf0); h = load<u64>(e); l = load<u64>(e, 8);
    p0 = h >>> 60;
    p1 ^= (h << 4) | (l >>> 60);
    p2 ^= l << 4;
    e = t + <usize>(a2 & 0xf0); h = load<u64>(e); l = load<u64>(e, 8);
    p0 ^= h >>> 56;
    p1 ^= (h << 8) | (l >>> 56);
    p2 ^= l << 8;
    e = t + <usize>((a2 >>> 4) & 0xf0); h = load<u64>(e); l = load<u64>(e, 8);
    p0 ^= h >>> 52;
    p1 ^= (h << 12) | (l >>> 52);
    p2 ^= l << 12;
    e = t + <usize>((a2 >>> 8) & 0xf0); h = load<u64>(e); l = load<u64>(e, 8);
    p0 ^= h >>> 48;
    p1 ^= (h << 16) | (l >>> 48);
    p2 ^= l << 16;
    e = t + <usize>((a2 >>> 12) & 0xf0); h = load<u64>(e); l = load<u64>(e, 8);
    p0 ^= h >>> 44;
    p1 ^= (h << 20) | (l >>> 44);
    p2 ^= l << 20;
    e = t + <usize>((a2 >>> 16) & 0xf0); h = load<u64>(e); l = load<u64>(e, 8);
    p0 ^= h >>> 40;
    p1 ^= (h << 24) | (l >>> 40);
    p2 ^= l << 24;
    e = t + <usize>((a2 >>> 20) & 0xf0); h = load<u64>(e); l = load<u64>(e, 8);
    p0 ^= h >>> 36;
    p1 ^= (h << 28) | (l >>> 36);
    p2 ^= l << 28;
    e = t + <usize>((a2 >>> 24) & 0xf0); h = load<u64>(e); l = load<u64>(e, 8);
    p0 ^= h >>> 32;
    p1 ^= (h << 32) | (l >>> 32);
    p2 ^= l << 32;
    e = t + <usize>((a3 << 4) & 0xf0); h = load<u64>(e); l = load<u64>(e, 8);
    p0 ^= h >>> 28;
    p1 ^= (h << 36) | (l >>> 28);
    p2 ^= l << 36;
    e = t + <usize>(a3 & 0xf0); h = load<u64>(e); l = load<u64>(e, 8);
    p0 ^= h >>> 24;
    p1 ^= (h << 40) | (l >>> 24);
    p2 ^= l << 40;
    e = t + <usize>((a3 >>> 4) & 0xf0); h = load<u64>(e); l = load<u64>(e, 8);
    p0 ^= h >>> 20;
    p1 ^= (h << 44) | (l >>> 20);
    p2 ^= l << 44;
    e = t + <usize>((a3 >>> 8) & 0xf0); h = load<u64>(e); l = load<u64>(e, 8);
    p0 ^= h >>> 16;
    p1 ^= (h << 48) | (l >>> 16);
    p2 ^= l << 48;
    e = t + <usize>((a3 >>> 12) & 0xf0); h = load<u64>(e); l = load<u64>(e, 8);
    p0 ^= h >>> 12;
    p1 ^= (h << 52) | (l >>> 12);
    p2 ^= l << 52;
    e = t + <usize>((a3 >>> 16) & 0xf0); h = load<u64>(e); l = load<u64>(e, 8);
    p0 ^= h >>> 8;
    p1 ^= (h << 56) | (l >>> 8);
    p2 ^= l << 56;
    e = t + <usize>((a3 >>> 20) & 0xf0); h = load<u64>(e); l = load<u64>(e, 8);
    p0 ^= h >>> 4;
    p1 ^= (h << 60) | (l >>> 4);
    p2 ^= l << 60;
    e = t + <usize>((a3 >>> 24) & 0xf0); h = load<u64>(e); l = load<u64>(e, 8);
    p0 ^= h;
    p1 ^= l;
    // Fold the high half p2:p3 (x^128..x^255) back with x^128 = 1 + x + x^2 + x^7, as Ghash does.
    const c = (p3 << 63) ^ (p3 << 62) ^ (p3 << 57);
    this.yh = p0 ^ p2 ^ (p2 >>> 1) ^ (p2 >>> 2) ^ (p2 >>> 7) ^ c ^ (c >>> 1) ^ (c >>> 2) ^ (c >>> 7);
    this.yl = p1 ^ p3 ^ ((p3 >>> 1) | (p2 << 63)) ^ ((p3 >>> 2) | (p2 << 62)) ^ ((p3 >>> 7) | (p2 << 57));
  }

  /** Absorbs len bytes at p, the last partial block zero-padded (SP 800-38D 7.1 step 5). */
  update(p: usize, len: i32): void { absorb<Ghash4>(this, p, len); }

  /** Absorbs the lengths block: 64-bit bit lengths of the AAD and of the ciphertext. */
  lengths(aadLen: i32, len: i32): void { absorbLengths<Ghash4>(this, aadLen, len); }
}

/** S = GHASH(aad, data, lengths) with g, left in g.yh / g.yl. */
@inline function ghashAll<G>(g: G, aad: usize, aadLen: i32, data: usize, len: i32): void {
  g.reset();
  g.update(aad, aadLen);
  g.update(data, len);
  g.lengths(aadLen, len);
}

/** AES-GCM with 12-byte IVs and tags of 8 to 16 bytes. */
export class AesGcm {
  private readonly aes: Aes = new Aes();
  // Exactly one of the two exists: the table GHASH by default, the constant-time one on request.
  private readonly ghash: Ghash | null;
  private readonly ghash4: Ghash4 | null;
  private readonly j0: StaticArray<u8> = new StaticArray<u8>(16);  // IV || 0^31 || 1
  private readonly ctr: StaticArray<u8> = new StaticArray<u8>(16); // J0 + 1: the first data block
  private readonly tagBuf: StaticArray<u8> = new StaticArray<u8>(16);
  private keyed: bool = false;
  /** True when GHASH is the constant-time Ghash (no table); fixed at construction. */
  readonly constantTime: bool;

  /**
   * constantTime false (the default): GHASH by the 4-bit table (Ghash4), whose lookups
   * depend on H and the data (docs/crypto.md); true: the table-free constant-time Ghash.
   */
  constructor(constantTime: bool = false) {
    this.constantTime = constantTime;
    if (constantTime) { this.ghash = new Ghash(); this.ghash4 = null; }
    else { this.ghash = null; this.ghash4 = new Ghash4(); }
  }

  /** 16 or 32 bytes (AES-128-GCM, AES-256-GCM); any other length returns false, key unchanged. */
  setKey(key: usize, keyLen: i32): bool {
    if (!this.aes.setKey(key, keyLen)) return false;
    const t = changetype<usize>(this.tagBuf);
    memory.fill(t, 0, 16);
    this.aes.encryptBlock(t, t); // H = E(K, 0^128)
    if (this.constantTime) this.ghash!.setKey(t); else this.ghash4!.setKey(t);
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
  private computeTag(aad: usize, aadLen: i32, data: usize, len: i32, warmAes: bool): void {
    let sh: u64, sl: u64;
    if (this.constantTime) {
      const g = this.ghash!;
      ghashAll<Ghash>(g, aad, aadLen, data, len);
      sh = g.yh; sl = g.yl; g.reset();
    } else {
      const g = this.ghash4!;
      g.warm();
      ghashAll<Ghash4>(g, aad, aadLen, data, len);
      sh = g.yh; sl = g.yl; g.reset();
    }
    const t = changetype<usize>(this.tagBuf);
    if (warmAes) this.aes.warm(); // seal's aesCtrXor has just warmed them when len > 0
    this.aes.encryptBlock(changetype<usize>(this.j0), t); // T = E(K, J0) ^ S
    store<u64>(t, load<u64>(t) ^ bswap<u64>(sh));
    store<u64>(t, load<u64>(t, 8) ^ bswap<u64>(sl), 8);
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
    this.computeTag(aad, aadLen, data, len, len <= 0);
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
    this.computeTag(aad, aadLen, data, len, true);
    const ok = ctEqual(changetype<usize>(this.tagBuf), tag, tagLen);
    wipe(changetype<usize>(this.tagBuf), 16);
    if (!ok) return false;
    aesCtrXor(this.aes, changetype<usize>(this.ctr), data, len);
    return true;
  }
}
