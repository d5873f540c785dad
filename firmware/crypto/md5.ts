// MD5 (RFC 1321), only because SIP digest authentication (RFC 3261 22.4) still defaults to it.
// The framing is md-hash.ts's (64-byte blocks, the 0x80 pad) with its little-endian option:
// MD5 writes the bit length and the digest low byte first.
// No secret-dependent branches or addresses: the round logic branches on the round index only.

import { MdHash } from "./md-hash";

// RFC 1321 3.4: T[i] = floor(2^32 * |sin(i)|), i = 1..64; the A.5 vectors check them.
const T: StaticArray<u32> = [
  0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
  0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
  0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
  0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
  0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
  0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
  0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
  0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
];

// Left-rotation amounts: four per round, each repeated over the round's 16 steps.
const S: StaticArray<u32> = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];

/** One compression of the 64 bytes at block into the 4 state words at h. */
function md5Compress(h: usize, block: usize): void {
  let a = load<u32>(h), b = load<u32>(h, 4), c = load<u32>(h, 8), d = load<u32>(h, 12);
  for (let i = 0; i < 64; i++) {
    let f: u32, word: i32;
    if (i < 16) { f = d ^ (b & (c ^ d)); word = i; }              // F = (b & c) | (~b & d)
    else if (i < 32) { f = c ^ (d & (b ^ c)); word = (5 * i + 1) & 15; } // G = (b & d) | (c & ~d)
    else if (i < 48) { f = b ^ c ^ d; word = (3 * i + 5) & 15; }   // H
    else { f = c ^ (b | ~d); word = (7 * i) & 15; }                // I
    // The message words are little-endian, as WebAssembly's loads are.
    const sum = a + f + unchecked(T[i]) + load<u32>(block + (<usize>word << 2));
    a = d; d = c; c = b;
    b += rotl<u32>(sum, unchecked(S[((i >> 4) << 2) | (i & 3)]));
  }
  store<u32>(h, load<u32>(h) + a); store<u32>(h, load<u32>(h, 4) + b, 4);
  store<u32>(h, load<u32>(h, 8) + c, 8); store<u32>(h, load<u32>(h, 12) + d, 12);
}

/** Incremental MD5: reset(), update() any number of times, finish() (16-byte digest). */
export class Md5 extends MdHash {
  constructor() { super(4, true); this.reset(); }

  protected initialise(h: usize): void {
    store<u32>(h, 0x67452301); store<u32>(h, 0xefcdab89, 4); store<u32>(h, 0x98badcfe, 8); store<u32>(h, 0x10325476, 12);
  }

  protected compress(h: usize, block: usize): void { md5Compress(h, block); }

  /** One-shot digest of len bytes at p into 16 bytes at out. */
  static digest(p: usize, len: i32, out: usize): void {
    ONE_SHOT.update(p, len);
    ONE_SHOT.finish(out);
  }
}

const ONE_SHOT = new Md5(); // made at start-up: digest() allocates nothing
