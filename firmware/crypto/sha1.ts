// SHA-1 (FIPS 180-4 6.1). Broken for collisions, still sound inside HMAC, which is where
// Tincan uses it: SRTP's HMAC-SHA1-80 and STUN's MESSAGE-INTEGRITY (RFC 8489 14.5).
// No secret-dependent branches or addresses: only adds, rotations and logic on the data.

import { MdHash } from "./md-hash";

/**
 * One compression of the 64 bytes at p into the 5 state words at h. Fully unrolled, with the
 * 16-word message schedule in locals: every index is then a constant, and instead of moving
 * a..e each round the roles of the five variables rotate (the round updates e and b in place).
 * Generated text, one line per round; t is the round number, W_t the word in slot t mod 16.
 */
export function sha1Compress(h: usize, p: usize): void {
  let a = load<u32>(h), b = load<u32>(h, 4), c = load<u32>(h, 8), d = load<u32>(h, 12), e = load<u32>(h, 16);
  let w0 = bswap<u32>(load<u32>(p)), w1 = bswap<u32>(load<u32>(p, 4)), w2 = bswap<u32>(load<u32>(p, 8)), w3 = bswap<u32>(load<u32>(p, 12));
  let w4 = bswap<u32>(load<u32>(p, 16)), w5 = bswap<u32>(load<u32>(p, 20)), w6 = bswap<u32>(load<u32>(p, 24)), w7 = bswap<u32>(load<u32>(p, 28));
  let w8 = bswap<u32>(load<u32>(p, 32)), w9 = bswap<u32>(load<u32>(p, 36)), w10 = bswap<u32>(load<u32>(p, 40)), w11 = bswap<u32>(load<u32>(p, 44));
  let w12 = bswap<u32>(load<u32>(p, 48)), w13 = bswap<u32>(load<u32>(p, 52)), w14 = bswap<u32>(load<u32>(p, 56)), w15 = bswap<u32>(load<u32>(p, 60));
  // Rounds 0-19: Ch, rounds 20-39: Parity, 40-59: Maj, 60-79: Parity. From round 16 on,
  // W_t = ROTL1(W_t-3 ^ W_t-8 ^ W_t-14 ^ W_t-16) replaces W_t-16 in its slot.
  e += rotl<u32>(a, 5) + (d ^ (b & (c ^ d))) + 0x5a827999 + w0; b = rotl<u32>(b, 30);
  d += rotl<u32>(e, 5) + (c ^ (a & (b ^ c))) + 0x5a827999 + w1; a = rotl<u32>(a, 30);
  c += rotl<u32>(d, 5) + (b ^ (e & (a ^ b))) + 0x5a827999 + w2; e = rotl<u32>(e, 30);
  b += rotl<u32>(c, 5) + (a ^ (d & (e ^ a))) + 0x5a827999 + w3; d = rotl<u32>(d, 30);
  a += rotl<u32>(b, 5) + (e ^ (c & (d ^ e))) + 0x5a827999 + w4; c = rotl<u32>(c, 30);
  e += rotl<u32>(a, 5) + (d ^ (b & (c ^ d))) + 0x5a827999 + w5; b = rotl<u32>(b, 30);
  d += rotl<u32>(e, 5) + (c ^ (a & (b ^ c))) + 0x5a827999 + w6; a = rotl<u32>(a, 30);
  c += rotl<u32>(d, 5) + (b ^ (e & (a ^ b))) + 0x5a827999 + w7; e = rotl<u32>(e, 30);
  b += rotl<u32>(c, 5) + (a ^ (d & (e ^ a))) + 0x5a827999 + w8; d = rotl<u32>(d, 30);
  a += rotl<u32>(b, 5) + (e ^ (c & (d ^ e))) + 0x5a827999 + w9; c = rotl<u32>(c, 30);
  e += rotl<u32>(a, 5) + (d ^ (b & (c ^ d))) + 0x5a827999 + w10; b = rotl<u32>(b, 30);
  d += rotl<u32>(e, 5) + (c ^ (a & (b ^ c))) + 0x5a827999 + w11; a = rotl<u32>(a, 30);
  c += rotl<u32>(d, 5) + (b ^ (e & (a ^ b))) + 0x5a827999 + w12; e = rotl<u32>(e, 30);
  b += rotl<u32>(c, 5) + (a ^ (d & (e ^ a))) + 0x5a827999 + w13; d = rotl<u32>(d, 30);
  a += rotl<u32>(b, 5) + (e ^ (c & (d ^ e))) + 0x5a827999 + w14; c = rotl<u32>(c, 30);
  e += rotl<u32>(a, 5) + (d ^ (b & (c ^ d))) + 0x5a827999 + w15; b = rotl<u32>(b, 30);
  w0 = rotl<u32>(w13 ^ w8 ^ w2 ^ w0, 1);
  d += rotl<u32>(e, 5) + (c ^ (a & (b ^ c))) + 0x5a827999 + w0; a = rotl<u32>(a, 30);
  w1 = rotl<u32>(w14 ^ w9 ^ w3 ^ w1, 1);
  c += rotl<u32>(d, 5) + (b ^ (e & (a ^ b))) + 0x5a827999 + w1; e = rotl<u32>(e, 30);
  w2 = rotl<u32>(w15 ^ w10 ^ w4 ^ w2, 1);
  b += rotl<u32>(c, 5) + (a ^ (d & (e ^ a))) + 0x5a827999 + w2; d = rotl<u32>(d, 30);
  w3 = rotl<u32>(w0 ^ w11 ^ w5 ^ w3, 1);
  a += rotl<u32>(b, 5) + (e ^ (c & (d ^ e))) + 0x5a827999 + w3; c = rotl<u32>(c, 30);

  w4 = rotl<u32>(w1 ^ w12 ^ w6 ^ w4, 1);
  e += rotl<u32>(a, 5) + (b ^ c ^ d) + 0x6ed9eba1 + w4; b = rotl<u32>(b, 30);
  w5 = rotl<u32>(w2 ^ w13 ^ w7 ^ w5, 1);
  d += rotl<u32>(e, 5) + (a ^ b ^ c) + 0x6ed9eba1 + w5; a = rotl<u32>(a, 30);
  w6 = rotl<u32>(w3 ^ w14 ^ w8 ^ w6, 1);
  c += rotl<u32>(d, 5) + (e ^ a ^ b) + 0x6ed9eba1 + w6; e = rotl<u32>(e, 30);
  w7 = rotl<u32>(w4 ^ w15 ^ w9 ^ w7, 1);
  b += rotl<u32>(c, 5) + (d ^ e ^ a) + 0x6ed9eba1 + w7; d = rotl<u32>(d, 30);
  w8 = rotl<u32>(w5 ^ w0 ^ w10 ^ w8, 1);
  a += rotl<u32>(b, 5) + (c ^ d ^ e) + 0x6ed9eba1 + w8; c = rotl<u32>(c, 30);
  w9 = rotl<u32>(w6 ^ w1 ^ w11 ^ w9, 1);
  e += rotl<u32>(a, 5) + (b ^ c ^ d) + 0x6ed9eba1 + w9; b = rotl<u32>(b, 30);
  w10 = rotl<u32>(w7 ^ w2 ^ w12 ^ w10, 1);
  d += rotl<u32>(e, 5) + (a ^ b ^ c) + 0x6ed9eba1 + w10; a = rotl<u32>(a, 30);
  w11 = rotl<u32>(w8 ^ w3 ^ w13 ^ w11, 1);
  c += rotl<u32>(d, 5) + (e ^ a ^ b) + 0x6ed9eba1 + w11; e = rotl<u32>(e, 30);
  w12 = rotl<u32>(w9 ^ w4 ^ w14 ^ w12, 1);
  b += rotl<u32>(c, 5) + (d ^ e ^ a) + 0x6ed9eba1 + w12; d = rotl<u32>(d, 30);
  w13 = rotl<u32>(w10 ^ w5 ^ w15 ^ w13, 1);
  a += rotl<u32>(b, 5) + (c ^ d ^ e) + 0x6ed9eba1 + w13; c = rotl<u32>(c, 30);
  w14 = rotl<u32>(w11 ^ w6 ^ w0 ^ w14, 1);
  e += rotl<u32>(a, 5) + (b ^ c ^ d) + 0x6ed9eba1 + w14; b = rotl<u32>(b, 30);
  w15 = rotl<u32>(w12 ^ w7 ^ w1 ^ w15, 1);
  d += rotl<u32>(e, 5) + (a ^ b ^ c) + 0x6ed9eba1 + w15; a = rotl<u32>(a, 30);
  w0 = rotl<u32>(w13 ^ w8 ^ w2 ^ w0, 1);
  c += rotl<u32>(d, 5) + (e ^ a ^ b) + 0x6ed9eba1 + w0; e = rotl<u32>(e, 30);
  w1 = rotl<u32>(w14 ^ w9 ^ w3 ^ w1, 1);
  b += rotl<u32>(c, 5) + (d ^ e ^ a) + 0x6ed9eba1 + w1; d = rotl<u32>(d, 30);
  w2 = rotl<u32>(w15 ^ w10 ^ w4 ^ w2, 1);
  a += rotl<u32>(b, 5) + (c ^ d ^ e) + 0x6ed9eba1 + w2; c = rotl<u32>(c, 30);
  w3 = rotl<u32>(w0 ^ w11 ^ w5 ^ w3, 1);
  e += rotl<u32>(a, 5) + (b ^ c ^ d) + 0x6ed9eba1 + w3; b = rotl<u32>(b, 30);
  w4 = rotl<u32>(w1 ^ w12 ^ w6 ^ w4, 1);
  d += rotl<u32>(e, 5) + (a ^ b ^ c) + 0x6ed9eba1 + w4; a = rotl<u32>(a, 30);
  w5 = rotl<u32>(w2 ^ w13 ^ w7 ^ w5, 1);
  c += rotl<u32>(d, 5) + (e ^ a ^ b) + 0x6ed9eba1 + w5; e = rotl<u32>(e, 30);
  w6 = rotl<u32>(w3 ^ w14 ^ w8 ^ w6, 1);
  b += rotl<u32>(c, 5) + (d ^ e ^ a) + 0x6ed9eba1 + w6; d = rotl<u32>(d, 30);
  w7 = rotl<u32>(w4 ^ w15 ^ w9 ^ w7, 1);
  a += rotl<u32>(b, 5) + (c ^ d ^ e) + 0x6ed9eba1 + w7; c = rotl<u32>(c, 30);

  w8 = rotl<u32>(w5 ^ w0 ^ w10 ^ w8, 1);
  e += rotl<u32>(a, 5) + ((b & c) | (d & (b | c))) + 0x8f1bbcdc + w8; b = rotl<u32>(b, 30);
  w9 = rotl<u32>(w6 ^ w1 ^ w11 ^ w9, 1);
  d += rotl<u32>(e, 5) + ((a & b) | (c & (a | b))) + 0x8f1bbcdc + w9; a = rotl<u32>(a, 30);
  w10 = rotl<u32>(w7 ^ w2 ^ w12 ^ w10, 1);
  c += rotl<u32>(d, 5) + ((e & a) | (b & (e | a))) + 0x8f1bbcdc + w10; e = rotl<u32>(e, 30);
  w11 = rotl<u32>(w8 ^ w3 ^ w13 ^ w11, 1);
  b += rotl<u32>(c, 5) + ((d & e) | (a & (d | e))) + 0x8f1bbcdc + w11; d = rotl<u32>(d, 30);
  w12 = rotl<u32>(w9 ^ w4 ^ w14 ^ w12, 1);
  a += rotl<u32>(b, 5) + ((c & d) | (e & (c | d))) + 0x8f1bbcdc + w12; c = rotl<u32>(c, 30);
  w13 = rotl<u32>(w10 ^ w5 ^ w15 ^ w13, 1);
  e += rotl<u32>(a, 5) + ((b & c) | (d & (b | c))) + 0x8f1bbcdc + w13; b = rotl<u32>(b, 30);
  w14 = rotl<u32>(w11 ^ w6 ^ w0 ^ w14, 1);
  d += rotl<u32>(e, 5) + ((a & b) | (c & (a | b))) + 0x8f1bbcdc + w14; a = rotl<u32>(a, 30);
  w15 = rotl<u32>(w12 ^ w7 ^ w1 ^ w15, 1);
  c += rotl<u32>(d, 5) + ((e & a) | (b & (e | a))) + 0x8f1bbcdc + w15; e = rotl<u32>(e, 30);
  w0 = rotl<u32>(w13 ^ w8 ^ w2 ^ w0, 1);
  b += rotl<u32>(c, 5) + ((d & e) | (a & (d | e))) + 0x8f1bbcdc + w0; d = rotl<u32>(d, 30);
  w1 = rotl<u32>(w14 ^ w9 ^ w3 ^ w1, 1);
  a += rotl<u32>(b, 5) + ((c & d) | (e & (c | d))) + 0x8f1bbcdc + w1; c = rotl<u32>(c, 30);
  w2 = rotl<u32>(w15 ^ w10 ^ w4 ^ w2, 1);
  e += rotl<u32>(a, 5) + ((b & c) | (d & (b | c))) + 0x8f1bbcdc + w2; b = rotl<u32>(b, 30);
  w3 = rotl<u32>(w0 ^ w11 ^ w5 ^ w3, 1);
  d += rotl<u32>(e, 5) + ((a & b) | (c & (a | b))) + 0x8f1bbcdc + w3; a = rotl<u32>(a, 30);
  w4 = rotl<u32>(w1 ^ w12 ^ w6 ^ w4, 1);
  c += rotl<u32>(d, 5) + ((e & a) | (b & (e | a))) + 0x8f1bbcdc + w4; e = rotl<u32>(e, 30);
  w5 = rotl<u32>(w2 ^ w13 ^ w7 ^ w5, 1);
  b += rotl<u32>(c, 5) + ((d & e) | (a & (d | e))) + 0x8f1bbcdc + w5; d = rotl<u32>(d, 30);
  w6 = rotl<u32>(w3 ^ w14 ^ w8 ^ w6, 1);
  a += rotl<u32>(b, 5) + ((c & d) | (e & (c | d))) + 0x8f1bbcdc + w6; c = rotl<u32>(c, 30);
  w7 = rotl<u32>(w4 ^ w15 ^ w9 ^ w7, 1);
  e += rotl<u32>(a, 5) + ((b & c) | (d & (b | c))) + 0x8f1bbcdc + w7; b = rotl<u32>(b, 30);
  w8 = rotl<u32>(w5 ^ w0 ^ w10 ^ w8, 1);
  d += rotl<u32>(e, 5) + ((a & b) | (c & (a | b))) + 0x8f1bbcdc + w8; a = rotl<u32>(a, 30);
  w9 = rotl<u32>(w6 ^ w1 ^ w11 ^ w9, 1);
  c += rotl<u32>(d, 5) + ((e & a) | (b & (e | a))) + 0x8f1bbcdc + w9; e = rotl<u32>(e, 30);
  w10 = rotl<u32>(w7 ^ w2 ^ w12 ^ w10, 1);
  b += rotl<u32>(c, 5) + ((d & e) | (a & (d | e))) + 0x8f1bbcdc + w10; d = rotl<u32>(d, 30);
  w11 = rotl<u32>(w8 ^ w3 ^ w13 ^ w11, 1);
  a += rotl<u32>(b, 5) + ((c & d) | (e & (c | d))) + 0x8f1bbcdc + w11; c = rotl<u32>(c, 30);

  w12 = rotl<u32>(w9 ^ w4 ^ w14 ^ w12, 1);
  e += rotl<u32>(a, 5) + (b ^ c ^ d) + 0xca62c1d6 + w12; b = rotl<u32>(b, 30);
  w13 = rotl<u32>(w10 ^ w5 ^ w15 ^ w13, 1);
  d += rotl<u32>(e, 5) + (a ^ b ^ c) + 0xca62c1d6 + w13; a = rotl<u32>(a, 30);
  w14 = rotl<u32>(w11 ^ w6 ^ w0 ^ w14, 1);
  c += rotl<u32>(d, 5) + (e ^ a ^ b) + 0xca62c1d6 + w14; e = rotl<u32>(e, 30);
  w15 = rotl<u32>(w12 ^ w7 ^ w1 ^ w15, 1);
  b += rotl<u32>(c, 5) + (d ^ e ^ a) + 0xca62c1d6 + w15; d = rotl<u32>(d, 30);
  w0 = rotl<u32>(w13 ^ w8 ^ w2 ^ w0, 1);
  a += rotl<u32>(b, 5) + (c ^ d ^ e) + 0xca62c1d6 + w0; c = rotl<u32>(c, 30);
  w1 = rotl<u32>(w14 ^ w9 ^ w3 ^ w1, 1);
  e += rotl<u32>(a, 5) + (b ^ c ^ d) + 0xca62c1d6 + w1; b = rotl<u32>(b, 30);
  w2 = rotl<u32>(w15 ^ w10 ^ w4 ^ w2, 1);
  d += rotl<u32>(e, 5) + (a ^ b ^ c) + 0xca62c1d6 + w2; a = rotl<u32>(a, 30);
  w3 = rotl<u32>(w0 ^ w11 ^ w5 ^ w3, 1);
  c += rotl<u32>(d, 5) + (e ^ a ^ b) + 0xca62c1d6 + w3; e = rotl<u32>(e, 30);
  w4 = rotl<u32>(w1 ^ w12 ^ w6 ^ w4, 1);
  b += rotl<u32>(c, 5) + (d ^ e ^ a) + 0xca62c1d6 + w4; d = rotl<u32>(d, 30);
  w5 = rotl<u32>(w2 ^ w13 ^ w7 ^ w5, 1);
  a += rotl<u32>(b, 5) + (c ^ d ^ e) + 0xca62c1d6 + w5; c = rotl<u32>(c, 30);
  w6 = rotl<u32>(w3 ^ w14 ^ w8 ^ w6, 1);
  e += rotl<u32>(a, 5) + (b ^ c ^ d) + 0xca62c1d6 + w6; b = rotl<u32>(b, 30);
  w7 = rotl<u32>(w4 ^ w15 ^ w9 ^ w7, 1);
  d += rotl<u32>(e, 5) + (a ^ b ^ c) + 0xca62c1d6 + w7; a = rotl<u32>(a, 30);
  w8 = rotl<u32>(w5 ^ w0 ^ w10 ^ w8, 1);
  c += rotl<u32>(d, 5) + (e ^ a ^ b) + 0xca62c1d6 + w8; e = rotl<u32>(e, 30);
  w9 = rotl<u32>(w6 ^ w1 ^ w11 ^ w9, 1);
  b += rotl<u32>(c, 5) + (d ^ e ^ a) + 0xca62c1d6 + w9; d = rotl<u32>(d, 30);
  w10 = rotl<u32>(w7 ^ w2 ^ w12 ^ w10, 1);
  a += rotl<u32>(b, 5) + (c ^ d ^ e) + 0xca62c1d6 + w10; c = rotl<u32>(c, 30);
  w11 = rotl<u32>(w8 ^ w3 ^ w13 ^ w11, 1);
  e += rotl<u32>(a, 5) + (b ^ c ^ d) + 0xca62c1d6 + w11; b = rotl<u32>(b, 30);
  w12 = rotl<u32>(w9 ^ w4 ^ w14 ^ w12, 1);
  d += rotl<u32>(e, 5) + (a ^ b ^ c) + 0xca62c1d6 + w12; a = rotl<u32>(a, 30);
  w13 = rotl<u32>(w10 ^ w5 ^ w15 ^ w13, 1);
  c += rotl<u32>(d, 5) + (e ^ a ^ b) + 0xca62c1d6 + w13; e = rotl<u32>(e, 30);
  w14 = rotl<u32>(w11 ^ w6 ^ w0 ^ w14, 1);
  b += rotl<u32>(c, 5) + (d ^ e ^ a) + 0xca62c1d6 + w14; d = rotl<u32>(d, 30);
  w15 = rotl<u32>(w12 ^ w7 ^ w1 ^ w15, 1);
  a += rotl<u32>(b, 5) + (c ^ d ^ e) + 0xca62c1d6 + w15; c = rotl<u32>(c, 30);
  store<u32>(h, load<u32>(h) + a); store<u32>(h, load<u32>(h, 4) + b, 4);
  store<u32>(h, load<u32>(h, 8) + c, 8); store<u32>(h, load<u32>(h, 12) + d, 12);
  store<u32>(h, load<u32>(h, 16) + e, 16);
}

/** Incremental SHA-1: reset(), update() any number of times, finish() (20-byte digest). */
export class Sha1 extends MdHash {
  constructor() { super(5); this.reset(); }

  protected initialise(h: usize): void {
    store<u32>(h, 0x67452301); store<u32>(h, 0xefcdab89, 4); store<u32>(h, 0x98badcfe, 8);
    store<u32>(h, 0x10325476, 12); store<u32>(h, 0xc3d2e1f0, 16);
  }

  protected compress(h: usize, block: usize): void { sha1Compress(h, block); }

  /** One-shot digest of len bytes at p into 20 bytes at out. */
  static digest(p: usize, len: i32, out: usize): void {
    ONE_SHOT.update(p, len);
    ONE_SHOT.finish(out);
  }
}

const ONE_SHOT = new Sha1(); // made at start-up: digest() allocates nothing
