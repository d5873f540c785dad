// AES (FIPS 197), encryption direction only: CTR (SRTP's AES-CM) and GCM never run the
// inverse cipher. AES-128 and AES-256; AES-192 is refused (no SRTP or STUN profile uses it).
//
// Two implementations behind the same API (docs/crypto.md has the figures and the trade-off):
//   Aes    T-tables: 4 x 256 u32 (4 KiB) indexed by state bytes. Fast, but the indices are
//          secret, so on a part with a data cache the cache lines it touches leak key bits
//          (Bernstein 2005). The SRTP default, because of the per-packet budget.
//   AesCt  bitsliced, two blocks per pass: no table, no secret-dependent branch or address;
//          about 5x slower per block than Aes in CTR (docs/crypto.md).
// Both expand keys with the bitsliced S-box, so setKey itself never indexes by key bytes.
// Module-level scratch (planes, staging) is shared: not reentrant, like every core here.
//
// Aes state layout: each 32-bit word is one column of the state, loaded little-endian, so the
// column's row-0 byte is the word's low byte and loads/stores need no byte swap.

import { wipe } from "./ct";

// ---------------------------------------------------------------------------------------------
// The S-box as a circuit (FIPS 197 5.1.1: inverse in GF(2^8) mod x^8+x^4+x^3+x+1, then the
// affine map). Bitsliced: plane i holds bit i of up to 32 bytes, one byte per bit position,
// so one pass substitutes 32 bytes with AND/XOR only, in about 230 gates.
//
// The inverse is taken in a tower field, GF(2^8) as GF(16)[Y]/(Y^2 + Y + 14) over
// GF(16) = GF(2)[z]/(z^4 + z + 1) (Rijmen's and Canright's idea, our own derivation): with
// x = hY + l, x^-1 = (h d^-1) Y + (h + l) d^-1 where d = 14 h^2 + h l + l^2 is in GF(16), so one
// inversion in GF(2^8) costs five GF(16) products (16 ANDs each) and linear maps. The change
// of basis maps x^i to beta^i, beta = 0x39 (h = 3, l = 9), a root of the AES polynomial in the
// tower field; the way back is folded into the affine map. lambda = 14 and beta were chosen
// (by a search over all irreducible Y^2 + Y + lambda and all 8 roots) for the fewest XORs in
// the three linear maps; the derivation checked the circuit against FIPS 197's table on all
// 256 inputs, and so does test/firmware/crypto-aes.spec.ts.

const P_X: usize = memory.data(32, 16); // input and output planes of sboxPlanes

// A GF(16) product leaves through these (a function cannot return four values).
let G0: u32 = 0, G1: u32 = 0, G2: u32 = 0, G3: u32 = 0;

/** G = a * b in GF(16) mod z^4 + z + 1, on bit-planes (bit i of each nibble in a_i, b_i). */
@inline function mul16(a0: u32, a1: u32, a2: u32, a3: u32, b0: u32, b1: u32, b2: u32, b3: u32): void {
  const c4 = (a1 & b3) ^ (a2 & b2) ^ (a3 & b1);
  const c5 = (a2 & b3) ^ (a3 & b2);
  const c6 = a3 & b3;
  G0 = (a0 & b0) ^ c4;                                              // z^4 = z + 1
  G1 = (a0 & b1) ^ (a1 & b0) ^ c4 ^ c5;                             // z^5 = z^2 + z
  G2 = (a0 & b2) ^ (a1 & b1) ^ (a2 & b0) ^ c5 ^ c6;                 // z^6 = z^3 + z^2
  G3 = (a0 & b3) ^ (a1 & b2) ^ (a2 & b1) ^ (a3 & b0) ^ c6;
}

/** Substitutes the (up to) 32 bytes held in the planes at P_X, in place. */
function sboxPlanes(): void {
  const x0 = load<u32>(P_X), x1 = load<u32>(P_X, 4), x2 = load<u32>(P_X, 8), x3 = load<u32>(P_X, 12);
  const x4 = load<u32>(P_X, 16), x5 = load<u32>(P_X, 20), x6 = load<u32>(P_X, 24), x7 = load<u32>(P_X, 28);
  // Into the tower basis: x = hY + l.
  const l0 = x0 ^ x1 ^ x6, l1 = x2 ^ x3 ^ x6 ^ x7, l2 = x2 ^ x4 ^ x7, l3 = x1 ^ x2 ^ x6 ^ x7;
  const h0 = x1 ^ x2 ^ x3 ^ x5 ^ x7, h1 = x1 ^ x4 ^ x5 ^ x6, h2 = x2 ^ x3, h3 = x5 ^ x7;
  // d = 14 h^2 + h l + l^2 (squaring is linear: a^2 = (a0^a2, a2, a1^a3, a3)).
  mul16(h0, h1, h2, h3, l0, l1, l2, l3);
  const d0 = h1 ^ h2 ^ G0 ^ l0 ^ l2, d1 = h0 ^ G1 ^ l2;
  const d2 = h0 ^ h1 ^ h3 ^ G2 ^ l1 ^ l3, d3 = h0 ^ h1 ^ G3 ^ l3;
  // d^-1 = d^14 = (d^3)^4 * d^2 (0 stays 0, so x = 0 maps to 0 as the S-box needs).
  const e0 = d0 ^ d2, e1 = d2, e2 = d1 ^ d3, e3 = d3;                       // d^2
  mul16(e0, e1, e2, e3, d0, d1, d2, d3);                                      // d^3
  const f0 = G0 ^ G1 ^ G2 ^ G3, f1 = G1 ^ G3, f2 = G2 ^ G3, f3 = G3;          // d^12
  mul16(f0, f1, f2, f3, e0, e1, e2, e3);                                      // d^14
  const i0 = G0, i1 = G1, i2 = G2, i3 = G3;
  // x^-1 = (h d^-1) Y + (h + l) d^-1.
  mul16(h0, h1, h2, h3, i0, i1, i2, i3);
  const o4 = G0, o5 = G1, o6 = G2, o7 = G3;
  mul16(h0 ^ l0, h1 ^ l1, h2 ^ l2, h3 ^ l3, i0, i1, i2, i3);
  const o0 = G0, o1 = G1, o2 = G2, o3 = G3;
  // Back to the polynomial basis with the affine map folded in; ^0x63 (bits 0, 1, 5, 6) as NOT.
  store<u32>(P_X, ~(o0 ^ o1 ^ o5 ^ o6));
  store<u32>(P_X, ~(o0 ^ o7), 4);
  store<u32>(P_X, o0 ^ o1 ^ o2 ^ o4 ^ o5, 8);
  store<u32>(P_X, o0 ^ o1, 12);
  store<u32>(P_X, o0 ^ o2 ^ o3 ^ o4 ^ o7, 16);
  store<u32>(P_X, ~(o1 ^ o2 ^ o3 ^ o7), 20);
  store<u32>(P_X, ~(o4 ^ o5 ^ o7), 24);
  store<u32>(P_X, o1 ^ o2 ^ o7, 28);
}

/** S-box on each byte of w, without tables: what key expansion uses, whichever cipher. */
export function subWordCt(w: u32): u32 {
  for (let i = 0; i < 8; i++) {
    const p = ((w >>> i) & 1) | (((w >>> (8 + i)) & 1) << 1) | (((w >>> (16 + i)) & 1) << 2) | (((w >>> (24 + i)) & 1) << 3);
    store<u32>(P_X + (<usize>i << 2), p);
  }
  sboxPlanes();
  let r: u32 = 0;
  for (let i = 0; i < 8; i++) {
    const p = load<u32>(P_X + (<usize>i << 2));
    r |= ((p & 1) << i) | (((p >>> 1) & 1) << (8 + i)) | (((p >>> 2) & 1) << (16 + i)) | (((p >>> 3) & 1) << (24 + i));
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Key expansion (FIPS 197 5.2) into little-endian column words. RotWord on a little-endian
// word is a right rotation by 8; Rcon sits in the low byte.

const RCON: StaticArray<u8> = [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1b, 0x36];

/** Expands a 16- or 32-byte key into 4 * (rounds + 1) words at w. */
function expandKey(w: usize, key: usize, keyLen: i32): void {
  const nk = keyLen >> 2;
  const total = 4 * (nk + 7); // 44 or 60
  for (let i = 0; i < nk; i++) store<u32>(w + (<usize>i << 2), load<u32>(key + (<usize>i << 2)));
  for (let i = nk; i < total; i++) {
    let t = load<u32>(w + (<usize>(i - 1) << 2));
    const r = i % nk;
    if (r == 0) t = subWordCt(rotr<u32>(t, 8)) ^ <u32>unchecked(RCON[i / nk - 1]);
    else if (nk == 8 && r == 4) t = subWordCt(t);
    store<u32>(w + (<usize>i << 2), load<u32>(w + (<usize>(i - nk) << 2)) ^ t);
  }
}

// ---------------------------------------------------------------------------------------------
// T-tables. TE0[x] is the MixColumns column of S[x] in row 0: bytes (2S, S, S, 3S) from the
// low byte up; TE1..TE3 are the same rotated for rows 1..3. 64-byte aligned: 16 tables rows
// per cache line on 32- and 64-byte-line caches, which is what docs/crypto.md counts.

const TE: usize = memory.data(4096, 64);
const TE0: usize = TE;
const TE1: usize = TE + 1024;
const TE2: usize = TE + 2048;
const TE3: usize = TE + 3072;
const SINK: usize = memory.data(4, 4); // where warm() leaves its XOR, so no optimizer drops the loads

{
  // The S-box from the circuit, 32 inputs per pass: plane i of input 32k + lane is bit i of it.
  for (let k: u32 = 0; k < 8; k++) {
    store<u32>(P_X, 0xaaaaaaaa); store<u32>(P_X, 0xcccccccc, 4); store<u32>(P_X, 0xf0f0f0f0, 8);
    store<u32>(P_X, 0xff00ff00, 12); store<u32>(P_X, 0xffff0000, 16);
    store<u32>(P_X, 0 - (k & 1), 20); store<u32>(P_X, 0 - ((k >>> 1) & 1), 24); store<u32>(P_X, 0 - (k >>> 2), 28);
    sboxPlanes();
    for (let lane: u32 = 0; lane < 32; lane++) {
      let s: u32 = 0;
      for (let i: u32 = 0; i < 8; i++) s |= ((load<u32>(P_X + (<usize>i << 2)) >>> lane) & 1) << i;
      const s2 = ((s << 1) ^ (0x11b & (0 - (s >>> 7)))) & 0xff;
      const t = s2 | (s << 8) | (s << 16) | ((s2 ^ s) << 24);
      const at = <usize>((k << 5) | lane) << 2;
      store<u32>(TE0 + at, t);
      store<u32>(TE1 + at, rotl<u32>(t, 8));
      store<u32>(TE2 + at, rotl<u32>(t, 16));
      store<u32>(TE3 + at, rotl<u32>(t, 24));
    }
  }
}

// Byte j of a column word, as a table offset (index * 4).
@inline function o0(x: u32): usize { return <usize>((x << 2) & 0x3fc); }
@inline function o1(x: u32): usize { return <usize>((x >>> 6) & 0x3fc); }
@inline function o2(x: u32): usize { return <usize>((x >>> 14) & 0x3fc); }
@inline function o3(x: u32): usize { return <usize>((x >>> 22) & 0x3fc); }

/** AES-128/256 encryption with T-tables. Not constant-time: see the top of this file. */
export class Aes {
  private readonly rk: StaticArray<u32> = new StaticArray<u32>(60);
  private rounds: i32 = 10; // before setKey: ten rounds of all-zero round keys (no trap)
  private len: i32 = 0;

  /** 16 or 32 bytes; any other length returns false and leaves the current key in place. */
  setKey(key: usize, keyLen: i32): bool {
    if (keyLen != 16 && keyLen != 32) return false;
    expandKey(changetype<usize>(this.rk), key, keyLen);
    this.rounds = keyLen == 16 ? 10 : 14;
    this.len = keyLen;
    return true;
  }

  /** 16, 32, or 0 before a key was set. */
  get keyLength(): i32 { return this.len; }

  /**
   * Touches every 16-byte line of the 4 KiB of tables (the smallest cache line of either board),
   * so that a packet starts with all of them cached instead of with whichever lines the last
   * packet's key-dependent indices left there. It narrows the cache-timing channel, it does not
   * close it (docs/crypto.md): an interrupt can still evict lines mid-packet. aesCtrXor and
   * AesGcm call it once per call; about 1,100 WASM instructions.
   */
  warm(): void {
    let x: u32 = 0;
    for (let p: usize = TE; p < TE + 4096; p += 128) {
      x ^= load<u32>(p) ^ load<u32>(p, 16) ^ load<u32>(p, 32) ^ load<u32>(p, 48)
        ^ load<u32>(p, 64) ^ load<u32>(p, 80) ^ load<u32>(p, 96) ^ load<u32>(p, 112);
    }
    store<u32>(SINK, x);
  }

  /** Clears the round keys (keyLength becomes 0). */
  clear(): void {
    wipe(changetype<usize>(this.rk), 60 * 4);
    this.rounds = 10;
    this.len = 0;
  }

  /** Encrypts the 16 bytes at input into output; the two may be the same or overlap. */
  encryptBlock(input: usize, output: usize): void {
    let k = changetype<usize>(this.rk);
    let s0 = load<u32>(input) ^ load<u32>(k);
    let s1 = load<u32>(input, 4) ^ load<u32>(k, 4);
    let s2 = load<u32>(input, 8) ^ load<u32>(k, 8);
    let s3 = load<u32>(input, 12) ^ load<u32>(k, 12);
    let t0: u32, t1: u32, t2: u32, t3: u32;
    // rounds - 1 full rounds (9 or 13): pairs in the loop, then one more.
    for (let pairs = (this.rounds >> 1) - 1; pairs > 0; pairs--) {
      // Column j of the result takes row r from column j + r (ShiftRows).
      t0 = load<u32>(o0(s0), TE0) ^ load<u32>(o1(s1), TE1) ^ load<u32>(o2(s2), TE2) ^ load<u32>(o3(s3), TE3) ^ load<u32>(k, 16);
      t1 = load<u32>(o0(s1), TE0) ^ load<u32>(o1(s2), TE1) ^ load<u32>(o2(s3), TE2) ^ load<u32>(o3(s0), TE3) ^ load<u32>(k, 20);
      t2 = load<u32>(o0(s2), TE0) ^ load<u32>(o1(s3), TE1) ^ load<u32>(o2(s0), TE2) ^ load<u32>(o3(s1), TE3) ^ load<u32>(k, 24);
      t3 = load<u32>(o0(s3), TE0) ^ load<u32>(o1(s0), TE1) ^ load<u32>(o2(s1), TE2) ^ load<u32>(o3(s2), TE3) ^ load<u32>(k, 28);
      s0 = load<u32>(o0(t0), TE0) ^ load<u32>(o1(t1), TE1) ^ load<u32>(o2(t2), TE2) ^ load<u32>(o3(t3), TE3) ^ load<u32>(k, 32);
      s1 = load<u32>(o0(t1), TE0) ^ load<u32>(o1(t2), TE1) ^ load<u32>(o2(t3), TE2) ^ load<u32>(o3(t0), TE3) ^ load<u32>(k, 36);
      s2 = load<u32>(o0(t2), TE0) ^ load<u32>(o1(t3), TE1) ^ load<u32>(o2(t0), TE2) ^ load<u32>(o3(t1), TE3) ^ load<u32>(k, 40);
      s3 = load<u32>(o0(t3), TE0) ^ load<u32>(o1(t0), TE1) ^ load<u32>(o2(t1), TE2) ^ load<u32>(o3(t2), TE3) ^ load<u32>(k, 44);
      k += 32;
    }
    t0 = load<u32>(o0(s0), TE0) ^ load<u32>(o1(s1), TE1) ^ load<u32>(o2(s2), TE2) ^ load<u32>(o3(s3), TE3) ^ load<u32>(k, 16);
    t1 = load<u32>(o0(s1), TE0) ^ load<u32>(o1(s2), TE1) ^ load<u32>(o2(s3), TE2) ^ load<u32>(o3(s0), TE3) ^ load<u32>(k, 20);
    t2 = load<u32>(o0(s2), TE0) ^ load<u32>(o1(s3), TE1) ^ load<u32>(o2(s0), TE2) ^ load<u32>(o3(s1), TE3) ^ load<u32>(k, 24);
    t3 = load<u32>(o0(s3), TE0) ^ load<u32>(o1(s0), TE1) ^ load<u32>(o2(s1), TE2) ^ load<u32>(o3(s2), TE3) ^ load<u32>(k, 28);
    // Last round, no MixColumns: S[x] is the byte of TEr[x] that sits in row r, so masking the
    // tables already loaded for the other rounds avoids a fifth table (and its cache lines).
    s0 = (load<u32>(o0(t0), TE2) & 0xff) | (load<u32>(o1(t1), TE3) & 0xff00) | (load<u32>(o2(t2), TE0) & 0xff0000) | (load<u32>(o3(t3), TE1) & 0xff000000);
    s1 = (load<u32>(o0(t1), TE2) & 0xff) | (load<u32>(o1(t2), TE3) & 0xff00) | (load<u32>(o2(t3), TE0) & 0xff0000) | (load<u32>(o3(t0), TE1) & 0xff000000);
    s2 = (load<u32>(o0(t2), TE2) & 0xff) | (load<u32>(o1(t3), TE3) & 0xff00) | (load<u32>(o2(t0), TE0) & 0xff0000) | (load<u32>(o3(t1), TE1) & 0xff000000);
    s3 = (load<u32>(o0(t3), TE2) & 0xff) | (load<u32>(o1(t0), TE3) & 0xff00) | (load<u32>(o2(t1), TE0) & 0xff0000) | (load<u32>(o3(t2), TE1) & 0xff000000);
    store<u32>(output, s0 ^ load<u32>(k, 32));
    store<u32>(output, s1 ^ load<u32>(k, 36), 4);
    store<u32>(output, s2 ^ load<u32>(k, 40), 8);
    store<u32>(output, s3 ^ load<u32>(k, 44), 12);
  }
}

// ---------------------------------------------------------------------------------------------
// AesCt: bitsliced, two blocks per pass. Plane i (u32) holds bit i of all 32 bytes; the byte at
// index n (= 4 * column + row) of block b is bit 16 * b + n. With that layout ShiftRows moves
// bits inside each 16-bit half and MixColumns rotates bits inside each 4-bit column nibble.

const CT: usize = memory.data(32, 16);     // 32 bytes in transit (one block padded, or two)
const WORDS: usize = memory.data(240, 16); // AesCt.setKey's key expansion, wiped after use

/** 8x8 bit-matrix transpose of the bytes of x (bit 8r + c <-> bit 8c + r); its own inverse. */
@inline function transpose8(x: u64): u64 {
  let t = (x ^ (x >>> 7)) & 0x00aa00aa00aa00aa; x ^= t ^ (t << 7);
  t = (x ^ (x >>> 14)) & 0x0000cccc0000cccc; x ^= t ^ (t << 14);
  t = (x ^ (x >>> 28)) & 0x00000000f0f0f0f0; x ^= t ^ (t << 28);
  return x;
}

/** 32 bytes at src into the 8 planes at P_X. */
function toPlanes(src: usize): void {
  const x0 = transpose8(load<u64>(src)), x1 = transpose8(load<u64>(src, 8));
  const x2 = transpose8(load<u64>(src, 16)), x3 = transpose8(load<u64>(src, 24));
  for (let i: u64 = 0; i < 8; i++) {
    const sh = i << 3;
    const p = ((x0 >>> sh) & 0xff) | (((x1 >>> sh) & 0xff) << 8) | (((x2 >>> sh) & 0xff) << 16) | (((x3 >>> sh) & 0xff) << 24);
    store<u32>(P_X + (<usize>i << 2), <u32>p);
  }
}

/** The 8 planes at P_X back into 32 bytes at dst. */
function fromPlanes(dst: usize): void {
  let x0: u64 = 0, x1: u64 = 0, x2: u64 = 0, x3: u64 = 0;
  for (let i: u64 = 0; i < 8; i++) {
    const p = <u64>load<u32>(P_X + (<usize>i << 2));
    const sh = i << 3;
    x0 |= (p & 0xff) << sh; x1 |= ((p >>> 8) & 0xff) << sh;
    x2 |= ((p >>> 16) & 0xff) << sh; x3 |= ((p >>> 24) & 0xff) << sh;
  }
  store<u64>(dst, transpose8(x0)); store<u64>(dst, transpose8(x1), 8);
  store<u64>(dst, transpose8(x2), 16); store<u64>(dst, transpose8(x3), 24);
}

/** ShiftRows on one plane: row r (bits r, r+4, r+8, r+12 of each half) rotates by r columns. */
@inline function shiftRowsPlane(x: u32): u32 {
  const r1 = x & 0x22222222, r2 = x & 0x44444444, r3 = x & 0x88888888;
  return (x & 0x11111111)
    | ((r1 >>> 4) & 0x02220222) | ((r1 << 12) & 0x20002000)
    | ((r2 >>> 8) & 0x00440044) | ((r2 << 8) & 0x44004400)
    | ((r3 >>> 12) & 0x00080008) | ((r3 << 4) & 0x88808880);
}

/** Row r of each column takes row r + 1 (mod 4). */
@inline function rot1(x: u32): u32 { return ((x >>> 1) & 0x77777777) | ((x << 3) & 0x88888888); }
/** Row r of each column takes row r + 2 (mod 4). */
@inline function rot2(x: u32): u32 { return ((x >>> 2) & 0x33333333) | ((x << 2) & 0xcccccccc); }

/** ShiftRows, then (unless last) MixColumns, then AddRoundKey with the 8 planes at rk. */
function roundPlanes(rk: usize, last: bool): void {
  let x0 = shiftRowsPlane(load<u32>(P_X)), x1 = shiftRowsPlane(load<u32>(P_X, 4));
  let x2 = shiftRowsPlane(load<u32>(P_X, 8)), x3 = shiftRowsPlane(load<u32>(P_X, 12));
  let x4 = shiftRowsPlane(load<u32>(P_X, 16)), x5 = shiftRowsPlane(load<u32>(P_X, 20));
  let x6 = shiftRowsPlane(load<u32>(P_X, 24)), x7 = shiftRowsPlane(load<u32>(P_X, 28));
  if (!last) { // public: the round number, never data
    // out_r = 2 a_r ^ 3 a_(r+1) ^ a_(r+2) ^ a_(r+3) = 2 b ^ a_(r+1) ^ rot2(b), b = a_r ^ a_(r+1).
    const r0 = rot1(x0), r1 = rot1(x1), r2 = rot1(x2), r3 = rot1(x3);
    const r4 = rot1(x4), r5 = rot1(x5), r6 = rot1(x6), r7 = rot1(x7);
    const b0 = x0 ^ r0, b1 = x1 ^ r1, b2 = x2 ^ r2, b3 = x3 ^ r3;
    const b4 = x4 ^ r4, b5 = x5 ^ r5, b6 = x6 ^ r6, b7 = x7 ^ r7;
    // 2 b: shift up one plane, the top plane folds into planes 0, 1, 3, 4 (0x1b).
    x0 = b7 ^ r0 ^ rot2(b0);
    x1 = b0 ^ b7 ^ r1 ^ rot2(b1);
    x2 = b1 ^ r2 ^ rot2(b2);
    x3 = b2 ^ b7 ^ r3 ^ rot2(b3);
    x4 = b3 ^ b7 ^ r4 ^ rot2(b4);
    x5 = b4 ^ r5 ^ rot2(b5);
    x6 = b5 ^ r6 ^ rot2(b6);
    x7 = b6 ^ r7 ^ rot2(b7);
  }
  store<u32>(P_X, x0 ^ load<u32>(rk)); store<u32>(P_X, x1 ^ load<u32>(rk, 4), 4);
  store<u32>(P_X, x2 ^ load<u32>(rk, 8), 8); store<u32>(P_X, x3 ^ load<u32>(rk, 12), 12);
  store<u32>(P_X, x4 ^ load<u32>(rk, 16), 16); store<u32>(P_X, x5 ^ load<u32>(rk, 20), 20);
  store<u32>(P_X, x6 ^ load<u32>(rk, 24), 24); store<u32>(P_X, x7 ^ load<u32>(rk, 28), 28);
}

/** AES-128/256 encryption, bitsliced: constant time (no secret-dependent branch or address). */
export class AesCt {
  // Round keys as planes, each key replicated in both 16-bit halves: 8 words per round.
  private readonly rk: StaticArray<u32> = new StaticArray<u32>(15 * 8);
  private rounds: i32 = 10;
  private len: i32 = 0;

  /** 16 or 32 bytes; any other length returns false and leaves the current key in place. */
  setKey(key: usize, keyLen: i32): bool {
    if (keyLen != 16 && keyLen != 32) return false;
    const w = WORDS;
    expandKey(w, key, keyLen);
    const rounds = keyLen == 16 ? 10 : 14;
    for (let r = 0; r <= rounds; r++) {
      const src = w + (<usize>r << 4);
      memory.copy(CT, src, 16);
      memory.copy(CT + 16, src, 16);
      toPlanes(CT);
      memory.copy(changetype<usize>(this.rk) + (<usize>r << 5), P_X, 32);
    }
    wipe(w, 60 * 4);
    wipe(CT, 32);
    wipe(P_X, 32);
    this.rounds = rounds;
    this.len = keyLen;
    return true;
  }

  get keyLength(): i32 { return this.len; }

  clear(): void {
    wipe(changetype<usize>(this.rk), 15 * 8 * 4);
    this.rounds = 10;
    this.len = 0;
  }

  /** Encrypts 16 bytes (input and output may alias). Costs as much as encrypt2. */
  encryptBlock(input: usize, output: usize): void {
    memory.copy(CT, input, 16);
    memory.copy(CT + 16, input, 16);
    this.encrypt2(CT, CT);
    memory.copy(output, CT, 16);
  }

  /** Encrypts two consecutive blocks (32 bytes) at input into output (may alias). */
  encrypt2(input: usize, output: usize): void {
    const rk = changetype<usize>(this.rk);
    toPlanes(input);
    for (let i = 0; i < 8; i++) {
      const at = P_X + (<usize>i << 2);
      store<u32>(at, load<u32>(at) ^ load<u32>(rk + (<usize>i << 2)));
    }
    const rounds = this.rounds;
    for (let r = 1; r <= rounds; r++) {
      sboxPlanes();
      roundPlanes(rk + (<usize>r << 5), r == rounds);
    }
    fromPlanes(output);
  }
}
