// SHA-256 (FIPS 180-4 6.2), for STUN's MESSAGE-INTEGRITY-SHA256 (RFC 8489 14.6) and the
// device identity. No secret-dependent branches or addresses.

import { MdHash } from "./md-hash";

@inline function S0(x: u32): u32 { return rotr<u32>(x, 2) ^ rotr<u32>(x, 13) ^ rotr<u32>(x, 22); }
@inline function S1(x: u32): u32 { return rotr<u32>(x, 6) ^ rotr<u32>(x, 11) ^ rotr<u32>(x, 25); }
@inline function s0(x: u32): u32 { return rotr<u32>(x, 7) ^ rotr<u32>(x, 18) ^ (x >>> 3); }
@inline function s1(x: u32): u32 { return rotr<u32>(x, 17) ^ rotr<u32>(x, 19) ^ (x >>> 10); }

/**
 * One compression of the 64 bytes at p into the 8 state words at h. Fully unrolled, with the
 * 16-word message schedule in locals (constant indices) and the roles of a..h rotating instead
 * of eight moves per round (each round updates d and h in place). Generated text, two lines per
 * round; the constants are FIPS 180-4 4.2.2's K (first 32 bits of the fractional parts of the
 * cube roots of the first 64 primes, computed with exact integer cube roots; the test vectors
 * check them). From round 16 on, W_t = s1(W_t-2) + W_t-7 + s0(W_t-15) + W_t-16 replaces W_t-16.
 */
export function sha256Compress(h: usize, p: usize): void {
  let a = load<u32>(h), b = load<u32>(h, 4), c = load<u32>(h, 8), d = load<u32>(h, 12);
  let e = load<u32>(h, 16), f = load<u32>(h, 20), g = load<u32>(h, 24), hh = load<u32>(h, 28);
  let w0 = bswap<u32>(load<u32>(p)), w1 = bswap<u32>(load<u32>(p, 4)), w2 = bswap<u32>(load<u32>(p, 8)), w3 = bswap<u32>(load<u32>(p, 12));
  let w4 = bswap<u32>(load<u32>(p, 16)), w5 = bswap<u32>(load<u32>(p, 20)), w6 = bswap<u32>(load<u32>(p, 24)), w7 = bswap<u32>(load<u32>(p, 28));
  let w8 = bswap<u32>(load<u32>(p, 32)), w9 = bswap<u32>(load<u32>(p, 36)), w10 = bswap<u32>(load<u32>(p, 40)), w11 = bswap<u32>(load<u32>(p, 44));
  let w12 = bswap<u32>(load<u32>(p, 48)), w13 = bswap<u32>(load<u32>(p, 52)), w14 = bswap<u32>(load<u32>(p, 56)), w15 = bswap<u32>(load<u32>(p, 60));
  let t1: u32;
  t1 = hh + S1(e) + (g ^ (e & (f ^ g))) + 0x428a2f98 + w0;
  d += t1; hh = t1 + S0(a) + ((a & b) | (c & (a | b)));
  t1 = g + S1(d) + (f ^ (d & (e ^ f))) + 0x71374491 + w1;
  c += t1; g = t1 + S0(hh) + ((hh & a) | (b & (hh | a)));
  t1 = f + S1(c) + (e ^ (c & (d ^ e))) + 0xb5c0fbcf + w2;
  b += t1; f = t1 + S0(g) + ((g & hh) | (a & (g | hh)));
  t1 = e + S1(b) + (d ^ (b & (c ^ d))) + 0xe9b5dba5 + w3;
  a += t1; e = t1 + S0(f) + ((f & g) | (hh & (f | g)));
  t1 = d + S1(a) + (c ^ (a & (b ^ c))) + 0x3956c25b + w4;
  hh += t1; d = t1 + S0(e) + ((e & f) | (g & (e | f)));
  t1 = c + S1(hh) + (b ^ (hh & (a ^ b))) + 0x59f111f1 + w5;
  g += t1; c = t1 + S0(d) + ((d & e) | (f & (d | e)));
  t1 = b + S1(g) + (a ^ (g & (hh ^ a))) + 0x923f82a4 + w6;
  f += t1; b = t1 + S0(c) + ((c & d) | (e & (c | d)));
  t1 = a + S1(f) + (hh ^ (f & (g ^ hh))) + 0xab1c5ed5 + w7;
  e += t1; a = t1 + S0(b) + ((b & c) | (d & (b | c)));
  t1 = hh + S1(e) + (g ^ (e & (f ^ g))) + 0xd807aa98 + w8;
  d += t1; hh = t1 + S0(a) + ((a & b) | (c & (a | b)));
  t1 = g + S1(d) + (f ^ (d & (e ^ f))) + 0x12835b01 + w9;
  c += t1; g = t1 + S0(hh) + ((hh & a) | (b & (hh | a)));
  t1 = f + S1(c) + (e ^ (c & (d ^ e))) + 0x243185be + w10;
  b += t1; f = t1 + S0(g) + ((g & hh) | (a & (g | hh)));
  t1 = e + S1(b) + (d ^ (b & (c ^ d))) + 0x550c7dc3 + w11;
  a += t1; e = t1 + S0(f) + ((f & g) | (hh & (f | g)));
  t1 = d + S1(a) + (c ^ (a & (b ^ c))) + 0x72be5d74 + w12;
  hh += t1; d = t1 + S0(e) + ((e & f) | (g & (e | f)));
  t1 = c + S1(hh) + (b ^ (hh & (a ^ b))) + 0x80deb1fe + w13;
  g += t1; c = t1 + S0(d) + ((d & e) | (f & (d | e)));
  t1 = b + S1(g) + (a ^ (g & (hh ^ a))) + 0x9bdc06a7 + w14;
  f += t1; b = t1 + S0(c) + ((c & d) | (e & (c | d)));
  t1 = a + S1(f) + (hh ^ (f & (g ^ hh))) + 0xc19bf174 + w15;
  e += t1; a = t1 + S0(b) + ((b & c) | (d & (b | c)));
  w0 += s0(w1) + w9 + s1(w14);
  t1 = hh + S1(e) + (g ^ (e & (f ^ g))) + 0xe49b69c1 + w0;
  d += t1; hh = t1 + S0(a) + ((a & b) | (c & (a | b)));
  w1 += s0(w2) + w10 + s1(w15);
  t1 = g + S1(d) + (f ^ (d & (e ^ f))) + 0xefbe4786 + w1;
  c += t1; g = t1 + S0(hh) + ((hh & a) | (b & (hh | a)));
  w2 += s0(w3) + w11 + s1(w0);
  t1 = f + S1(c) + (e ^ (c & (d ^ e))) + 0x0fc19dc6 + w2;
  b += t1; f = t1 + S0(g) + ((g & hh) | (a & (g | hh)));
  w3 += s0(w4) + w12 + s1(w1);
  t1 = e + S1(b) + (d ^ (b & (c ^ d))) + 0x240ca1cc + w3;
  a += t1; e = t1 + S0(f) + ((f & g) | (hh & (f | g)));
  w4 += s0(w5) + w13 + s1(w2);
  t1 = d + S1(a) + (c ^ (a & (b ^ c))) + 0x2de92c6f + w4;
  hh += t1; d = t1 + S0(e) + ((e & f) | (g & (e | f)));
  w5 += s0(w6) + w14 + s1(w3);
  t1 = c + S1(hh) + (b ^ (hh & (a ^ b))) + 0x4a7484aa + w5;
  g += t1; c = t1 + S0(d) + ((d & e) | (f & (d | e)));
  w6 += s0(w7) + w15 + s1(w4);
  t1 = b + S1(g) + (a ^ (g & (hh ^ a))) + 0x5cb0a9dc + w6;
  f += t1; b = t1 + S0(c) + ((c & d) | (e & (c | d)));
  w7 += s0(w8) + w0 + s1(w5);
  t1 = a + S1(f) + (hh ^ (f & (g ^ hh))) + 0x76f988da + w7;
  e += t1; a = t1 + S0(b) + ((b & c) | (d & (b | c)));
  w8 += s0(w9) + w1 + s1(w6);
  t1 = hh + S1(e) + (g ^ (e & (f ^ g))) + 0x983e5152 + w8;
  d += t1; hh = t1 + S0(a) + ((a & b) | (c & (a | b)));
  w9 += s0(w10) + w2 + s1(w7);
  t1 = g + S1(d) + (f ^ (d & (e ^ f))) + 0xa831c66d + w9;
  c += t1; g = t1 + S0(hh) + ((hh & a) | (b & (hh | a)));
  w10 += s0(w11) + w3 + s1(w8);
  t1 = f + S1(c) + (e ^ (c & (d ^ e))) + 0xb00327c8 + w10;
  b += t1; f = t1 + S0(g) + ((g & hh) | (a & (g | hh)));
  w11 += s0(w12) + w4 + s1(w9);
  t1 = e + S1(b) + (d ^ (b & (c ^ d))) + 0xbf597fc7 + w11;
  a += t1; e = t1 + S0(f) + ((f & g) | (hh & (f | g)));
  w12 += s0(w13) + w5 + s1(w10);
  t1 = d + S1(a) + (c ^ (a & (b ^ c))) + 0xc6e00bf3 + w12;
  hh += t1; d = t1 + S0(e) + ((e & f) | (g & (e | f)));
  w13 += s0(w14) + w6 + s1(w11);
  t1 = c + S1(hh) + (b ^ (hh & (a ^ b))) + 0xd5a79147 + w13;
  g += t1; c = t1 + S0(d) + ((d & e) | (f & (d | e)));
  w14 += s0(w15) + w7 + s1(w12);
  t1 = b + S1(g) + (a ^ (g & (hh ^ a))) + 0x06ca6351 + w14;
  f += t1; b = t1 + S0(c) + ((c & d) | (e & (c | d)));
  w15 += s0(w0) + w8 + s1(w13);
  t1 = a + S1(f) + (hh ^ (f & (g ^ hh))) + 0x14292967 + w15;
  e += t1; a = t1 + S0(b) + ((b & c) | (d & (b | c)));
  w0 += s0(w1) + w9 + s1(w14);
  t1 = hh + S1(e) + (g ^ (e & (f ^ g))) + 0x27b70a85 + w0;
  d += t1; hh = t1 + S0(a) + ((a & b) | (c & (a | b)));
  w1 += s0(w2) + w10 + s1(w15);
  t1 = g + S1(d) + (f ^ (d & (e ^ f))) + 0x2e1b2138 + w1;
  c += t1; g = t1 + S0(hh) + ((hh & a) | (b & (hh | a)));
  w2 += s0(w3) + w11 + s1(w0);
  t1 = f + S1(c) + (e ^ (c & (d ^ e))) + 0x4d2c6dfc + w2;
  b += t1; f = t1 + S0(g) + ((g & hh) | (a & (g | hh)));
  w3 += s0(w4) + w12 + s1(w1);
  t1 = e + S1(b) + (d ^ (b & (c ^ d))) + 0x53380d13 + w3;
  a += t1; e = t1 + S0(f) + ((f & g) | (hh & (f | g)));
  w4 += s0(w5) + w13 + s1(w2);
  t1 = d + S1(a) + (c ^ (a & (b ^ c))) + 0x650a7354 + w4;
  hh += t1; d = t1 + S0(e) + ((e & f) | (g & (e | f)));
  w5 += s0(w6) + w14 + s1(w3);
  t1 = c + S1(hh) + (b ^ (hh & (a ^ b))) + 0x766a0abb + w5;
  g += t1; c = t1 + S0(d) + ((d & e) | (f & (d | e)));
  w6 += s0(w7) + w15 + s1(w4);
  t1 = b + S1(g) + (a ^ (g & (hh ^ a))) + 0x81c2c92e + w6;
  f += t1; b = t1 + S0(c) + ((c & d) | (e & (c | d)));
  w7 += s0(w8) + w0 + s1(w5);
  t1 = a + S1(f) + (hh ^ (f & (g ^ hh))) + 0x92722c85 + w7;
  e += t1; a = t1 + S0(b) + ((b & c) | (d & (b | c)));
  w8 += s0(w9) + w1 + s1(w6);
  t1 = hh + S1(e) + (g ^ (e & (f ^ g))) + 0xa2bfe8a1 + w8;
  d += t1; hh = t1 + S0(a) + ((a & b) | (c & (a | b)));
  w9 += s0(w10) + w2 + s1(w7);
  t1 = g + S1(d) + (f ^ (d & (e ^ f))) + 0xa81a664b + w9;
  c += t1; g = t1 + S0(hh) + ((hh & a) | (b & (hh | a)));
  w10 += s0(w11) + w3 + s1(w8);
  t1 = f + S1(c) + (e ^ (c & (d ^ e))) + 0xc24b8b70 + w10;
  b += t1; f = t1 + S0(g) + ((g & hh) | (a & (g | hh)));
  w11 += s0(w12) + w4 + s1(w9);
  t1 = e + S1(b) + (d ^ (b & (c ^ d))) + 0xc76c51a3 + w11;
  a += t1; e = t1 + S0(f) + ((f & g) | (hh & (f | g)));
  w12 += s0(w13) + w5 + s1(w10);
  t1 = d + S1(a) + (c ^ (a & (b ^ c))) + 0xd192e819 + w12;
  hh += t1; d = t1 + S0(e) + ((e & f) | (g & (e | f)));
  w13 += s0(w14) + w6 + s1(w11);
  t1 = c + S1(hh) + (b ^ (hh & (a ^ b))) + 0xd6990624 + w13;
  g += t1; c = t1 + S0(d) + ((d & e) | (f & (d | e)));
  w14 += s0(w15) + w7 + s1(w12);
  t1 = b + S1(g) + (a ^ (g & (hh ^ a))) + 0xf40e3585 + w14;
  f += t1; b = t1 + S0(c) + ((c & d) | (e & (c | d)));
  w15 += s0(w0) + w8 + s1(w13);
  t1 = a + S1(f) + (hh ^ (f & (g ^ hh))) + 0x106aa070 + w15;
  e += t1; a = t1 + S0(b) + ((b & c) | (d & (b | c)));
  w0 += s0(w1) + w9 + s1(w14);
  t1 = hh + S1(e) + (g ^ (e & (f ^ g))) + 0x19a4c116 + w0;
  d += t1; hh = t1 + S0(a) + ((a & b) | (c & (a | b)));
  w1 += s0(w2) + w10 + s1(w15);
  t1 = g + S1(d) + (f ^ (d & (e ^ f))) + 0x1e376c08 + w1;
  c += t1; g = t1 + S0(hh) + ((hh & a) | (b & (hh | a)));
  w2 += s0(w3) + w11 + s1(w0);
  t1 = f + S1(c) + (e ^ (c & (d ^ e))) + 0x2748774c + w2;
  b += t1; f = t1 + S0(g) + ((g & hh) | (a & (g | hh)));
  w3 += s0(w4) + w12 + s1(w1);
  t1 = e + S1(b) + (d ^ (b & (c ^ d))) + 0x34b0bcb5 + w3;
  a += t1; e = t1 + S0(f) + ((f & g) | (hh & (f | g)));
  w4 += s0(w5) + w13 + s1(w2);
  t1 = d + S1(a) + (c ^ (a & (b ^ c))) + 0x391c0cb3 + w4;
  hh += t1; d = t1 + S0(e) + ((e & f) | (g & (e | f)));
  w5 += s0(w6) + w14 + s1(w3);
  t1 = c + S1(hh) + (b ^ (hh & (a ^ b))) + 0x4ed8aa4a + w5;
  g += t1; c = t1 + S0(d) + ((d & e) | (f & (d | e)));
  w6 += s0(w7) + w15 + s1(w4);
  t1 = b + S1(g) + (a ^ (g & (hh ^ a))) + 0x5b9cca4f + w6;
  f += t1; b = t1 + S0(c) + ((c & d) | (e & (c | d)));
  w7 += s0(w8) + w0 + s1(w5);
  t1 = a + S1(f) + (hh ^ (f & (g ^ hh))) + 0x682e6ff3 + w7;
  e += t1; a = t1 + S0(b) + ((b & c) | (d & (b | c)));
  w8 += s0(w9) + w1 + s1(w6);
  t1 = hh + S1(e) + (g ^ (e & (f ^ g))) + 0x748f82ee + w8;
  d += t1; hh = t1 + S0(a) + ((a & b) | (c & (a | b)));
  w9 += s0(w10) + w2 + s1(w7);
  t1 = g + S1(d) + (f ^ (d & (e ^ f))) + 0x78a5636f + w9;
  c += t1; g = t1 + S0(hh) + ((hh & a) | (b & (hh | a)));
  w10 += s0(w11) + w3 + s1(w8);
  t1 = f + S1(c) + (e ^ (c & (d ^ e))) + 0x84c87814 + w10;
  b += t1; f = t1 + S0(g) + ((g & hh) | (a & (g | hh)));
  w11 += s0(w12) + w4 + s1(w9);
  t1 = e + S1(b) + (d ^ (b & (c ^ d))) + 0x8cc70208 + w11;
  a += t1; e = t1 + S0(f) + ((f & g) | (hh & (f | g)));
  w12 += s0(w13) + w5 + s1(w10);
  t1 = d + S1(a) + (c ^ (a & (b ^ c))) + 0x90befffa + w12;
  hh += t1; d = t1 + S0(e) + ((e & f) | (g & (e | f)));
  w13 += s0(w14) + w6 + s1(w11);
  t1 = c + S1(hh) + (b ^ (hh & (a ^ b))) + 0xa4506ceb + w13;
  g += t1; c = t1 + S0(d) + ((d & e) | (f & (d | e)));
  w14 += s0(w15) + w7 + s1(w12);
  t1 = b + S1(g) + (a ^ (g & (hh ^ a))) + 0xbef9a3f7 + w14;
  f += t1; b = t1 + S0(c) + ((c & d) | (e & (c | d)));
  w15 += s0(w0) + w8 + s1(w13);
  t1 = a + S1(f) + (hh ^ (f & (g ^ hh))) + 0xc67178f2 + w15;
  e += t1; a = t1 + S0(b) + ((b & c) | (d & (b | c)));
  store<u32>(h, load<u32>(h) + a); store<u32>(h, load<u32>(h, 4) + b, 4);
  store<u32>(h, load<u32>(h, 8) + c, 8); store<u32>(h, load<u32>(h, 12) + d, 12);
  store<u32>(h, load<u32>(h, 16) + e, 16); store<u32>(h, load<u32>(h, 20) + f, 20);
  store<u32>(h, load<u32>(h, 24) + g, 24); store<u32>(h, load<u32>(h, 28) + hh, 28);
}

/** Incremental SHA-256: reset(), update() any number of times, finish() (32-byte digest). */
export class Sha256 extends MdHash {
  constructor() { super(8); this.reset(); }

  protected initialise(h: usize): void {
    // FIPS 180-4 5.3.3: fractional parts of the square roots of the first 8 primes.
    store<u32>(h, 0x6a09e667); store<u32>(h, 0xbb67ae85, 4); store<u32>(h, 0x3c6ef372, 8);
    store<u32>(h, 0xa54ff53a, 12); store<u32>(h, 0x510e527f, 16); store<u32>(h, 0x9b05688c, 20);
    store<u32>(h, 0x1f83d9ab, 24); store<u32>(h, 0x5be0cd19, 28);
  }

  protected compress(h: usize, block: usize): void { sha256Compress(h, block); }

  /** One-shot digest of len bytes at p into 32 bytes at out. */
  static digest(p: usize, len: i32, out: usize): void {
    ONE_SHOT.update(p, len);
    ONE_SHOT.finish(out);
  }
}

const ONE_SHOT = new Sha256(); // made at start-up: digest() allocates nothing
