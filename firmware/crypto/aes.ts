// AES (FIPS 197), encryption direction only: CTR (SRTP's AES-CM) and GCM never run the
// inverse cipher. AES-128 and AES-256; AES-192 is refused (no SRTP or STUN profile uses it).
//
// Two implementations behind the same API (docs/crypto.md has the figures and the trade-off):
//   Aes    T-tables: 4 x 256 u32 (4 KiB) indexed by state bytes. Fast, but the indices are
//          secret, so on a part with a data cache the cache lines it touches leak key bits
//          (Bernstein 2005). The SRTP default, because of the per-packet budget.
//   AesCt  bitsliced: no table, no secret-dependent branch or address; several times slower.
// Both expand keys with the bitsliced S-box, so setKey itself never indexes by key bytes.
//
// Aes state layout: each 32-bit word is one column of the state, loaded little-endian, so the
// column's row-0 byte is the word's low byte and loads/stores need no byte swap.

import { wipe } from "./ct";

// ---------------------------------------------------------------------------------------------
// The S-box as a circuit (FIPS 197 5.1.1: inverse in GF(2^8) mod x^8+x^4+x^3+x+1, then the
// affine map). Bitsliced: plane i holds bit i of up to 32 bytes, one byte per bit position,
// so one pass substitutes 32 bytes with AND/XOR only. The inverse is x^254 by the chain
// x^2, x^3, x^12, x^15, x^240 (one linear map: x^16 is the Frobenius), x^252, x^254.

const P_X: usize = memory.data(32, 16);  // input and output planes of sboxPlanes
const P_2: usize = memory.data(32, 16);
const P_3: usize = memory.data(32, 16);
const P_12: usize = memory.data(32, 16);
const P_T: usize = memory.data(32, 16);

/** out = a * b in GF(2^8), on 8 bit-planes of u32 at each address (out may alias a or b). */
function gfMul(out: usize, a: usize, b: usize): void {
  const a0 = load<u32>(a), a1 = load<u32>(a, 4), a2 = load<u32>(a, 8), a3 = load<u32>(a, 12);
  const a4 = load<u32>(a, 16), a5 = load<u32>(a, 20), a6 = load<u32>(a, 24), a7 = load<u32>(a, 28);
  const b0 = load<u32>(b), b1 = load<u32>(b, 4), b2 = load<u32>(b, 8), b3 = load<u32>(b, 12);
  const b4 = load<u32>(b, 16), b5 = load<u32>(b, 20), b6 = load<u32>(b, 24), b7 = load<u32>(b, 28);
  // Carry-less product: c_k = XOR of a_i & b_j over i + j = k.
  let c0 = (a0 & b0);
  let c1 = (a0 & b1) ^ (a1 & b0);
  let c2 = (a0 & b2) ^ (a1 & b1) ^ (a2 & b0);
  let c3 = (a0 & b3) ^ (a1 & b2) ^ (a2 & b1) ^ (a3 & b0);
  let c4 = (a0 & b4) ^ (a1 & b3) ^ (a2 & b2) ^ (a3 & b1) ^ (a4 & b0);
  let c5 = (a0 & b5) ^ (a1 & b4) ^ (a2 & b3) ^ (a3 & b2) ^ (a4 & b1) ^ (a5 & b0);
  let c6 = (a0 & b6) ^ (a1 & b5) ^ (a2 & b4) ^ (a3 & b3) ^ (a4 & b2) ^ (a5 & b1) ^ (a6 & b0);
  let c7 = (a0 & b7) ^ (a1 & b6) ^ (a2 & b5) ^ (a3 & b4) ^ (a4 & b3) ^ (a5 & b2) ^ (a6 & b1) ^ (a7 & b0);
  let c8 = (a1 & b7) ^ (a2 & b6) ^ (a3 & b5) ^ (a4 & b4) ^ (a5 & b3) ^ (a6 & b2) ^ (a7 & b1);
  let c9 = (a2 & b7) ^ (a3 & b6) ^ (a4 & b5) ^ (a5 & b4) ^ (a6 & b3) ^ (a7 & b2);
  let c10 = (a3 & b7) ^ (a4 & b6) ^ (a5 & b5) ^ (a6 & b4) ^ (a7 & b3);
  const c11 = (a4 & b7) ^ (a5 & b6) ^ (a6 & b5) ^ (a7 & b4);
  const c12 = (a5 & b7) ^ (a6 & b6) ^ (a7 & b5);
  const c13 = (a6 & b7) ^ (a7 & b6);
  const c14 = (a7 & b7);
  // Reduce from the top term down with x^k = x^(k-8) (x^4 + x^3 + x + 1); folds from x^14..x^12
  // land on x^10..x^8, which are reduced after they have received them.
  c10 ^= c14; c9 ^= c14; c7 ^= c14; c6 ^= c14;
  c9 ^= c13; c8 ^= c13; c6 ^= c13; c5 ^= c13;
  c8 ^= c12; c7 ^= c12; c5 ^= c12; c4 ^= c12;
  c7 ^= c11; c6 ^= c11; c4 ^= c11; c3 ^= c11;
  c6 ^= c10; c5 ^= c10; c3 ^= c10; c2 ^= c10;
  c5 ^= c9; c4 ^= c9; c2 ^= c9; c1 ^= c9;
  c4 ^= c8; c3 ^= c8; c1 ^= c8; c0 ^= c8;
  store<u32>(out, c0); store<u32>(out, c1, 4); store<u32>(out, c2, 8); store<u32>(out, c3, 12);
  store<u32>(out, c4, 16); store<u32>(out, c5, 20); store<u32>(out, c6, 24); store<u32>(out, c7, 28);
}

/** out = a^2 (linear over GF(2): the product's odd terms vanish, the even ones are reduced). */
function gfSquare(out: usize, a: usize): void {
  const a0 = load<u32>(a), a1 = load<u32>(a, 4), a2 = load<u32>(a, 8), a3 = load<u32>(a, 12);
  const a4 = load<u32>(a, 16), a5 = load<u32>(a, 20), a6 = load<u32>(a, 24), a7 = load<u32>(a, 28);
  store<u32>(out, a0 ^ a4 ^ a6);
  store<u32>(out, a4 ^ a6 ^ a7, 4);
  store<u32>(out, a1 ^ a5, 8);
  store<u32>(out, a4 ^ a5 ^ a6 ^ a7, 12);
  store<u32>(out, a2 ^ a4 ^ a7, 16);
  store<u32>(out, a5 ^ a6, 20);
  store<u32>(out, a3 ^ a5, 24);
  store<u32>(out, a6 ^ a7, 28);
}

/** out = a^16: four squarings folded into one linear map. */
function gfPow16(out: usize, a: usize): void {
  const a0 = load<u32>(a), a1 = load<u32>(a, 4), a2 = load<u32>(a, 8), a3 = load<u32>(a, 12);
  const a4 = load<u32>(a, 16), a5 = load<u32>(a, 20), a6 = load<u32>(a, 24), a7 = load<u32>(a, 28);
  store<u32>(out, a0 ^ a4 ^ a5 ^ a6);
  store<u32>(out, a1, 4);
  store<u32>(out, a1 ^ a2 ^ a4 ^ a6 ^ a7, 8);
  store<u32>(out, a1 ^ a3 ^ a4 ^ a6 ^ a7, 12);
  store<u32>(out, a1 ^ a5 ^ a6, 16);
  store<u32>(out, a2 ^ a3 ^ a7, 20);
  store<u32>(out, a1 ^ a2 ^ a3 ^ a4 ^ a7, 24);
  store<u32>(out, a2 ^ a3 ^ a5, 28);
}

/** Substitutes the (up to) 32 bytes held in the planes at P_X, in place. */
function sboxPlanes(): void {
  gfSquare(P_2, P_X);          // x^2
  gfMul(P_3, P_2, P_X);        // x^3
  gfSquare(P_T, P_3);          // x^6
  gfSquare(P_12, P_T);         // x^12
  gfMul(P_T, P_12, P_3);       // x^15
  gfPow16(P_T, P_T);           // x^240
  gfMul(P_T, P_T, P_12);       // x^252
  gfMul(P_T, P_T, P_2);        // x^254 = x^-1 (0 -> 0)
  // Affine map: s_i = b_i ^ b_(i+4) ^ b_(i+5) ^ b_(i+6) ^ b_(i+7) ^ c_i, c = 0x63 (bits 0, 1, 5, 6).
  const b0 = load<u32>(P_T), b1 = load<u32>(P_T, 4), b2 = load<u32>(P_T, 8), b3 = load<u32>(P_T, 12);
  const b4 = load<u32>(P_T, 16), b5 = load<u32>(P_T, 20), b6 = load<u32>(P_T, 24), b7 = load<u32>(P_T, 28);
  store<u32>(P_X, ~(b0 ^ b4 ^ b5 ^ b6 ^ b7));
  store<u32>(P_X, ~(b1 ^ b5 ^ b6 ^ b7 ^ b0), 4);
  store<u32>(P_X, b2 ^ b6 ^ b7 ^ b0 ^ b1, 8);
  store<u32>(P_X, b3 ^ b7 ^ b0 ^ b1 ^ b2, 12);
  store<u32>(P_X, b4 ^ b0 ^ b1 ^ b2 ^ b3, 16);
  store<u32>(P_X, ~(b5 ^ b1 ^ b2 ^ b3 ^ b4), 20);
  store<u32>(P_X, ~(b6 ^ b2 ^ b3 ^ b4 ^ b5), 24);
  store<u32>(P_X, b7 ^ b3 ^ b4 ^ b5 ^ b6, 28);
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

const CT: usize = memory.data(32, 16); // 32 bytes in transit (one block padded, or two)

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
  private readonly words: StaticArray<u32> = new StaticArray<u32>(60); // expansion scratch, wiped
  private rounds: i32 = 10;
  private len: i32 = 0;

  /** 16 or 32 bytes; any other length returns false and leaves the current key in place. */
  setKey(key: usize, keyLen: i32): bool {
    if (keyLen != 16 && keyLen != 32) return false;
    const w = changetype<usize>(this.words);
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
