// AES in counter mode (NIST SP 800-38A 6.5), which is also SRTP's AES-CM (RFC 3711 4.1.1).
//
// The counter block is a 128-bit big-endian number, and block i of the keystream is
// E(counter + i) with a full 128-bit add. SP 800-38A CTR as usually implemented increments the
// whole block; SRTP's AES-CM defines the increment on the low 16 bits only. SRTP's IV has
// those 16 bits zero and a packet is far below 2^16 blocks (1 MiB), so the carry never leaves
// them and both definitions give the same keystream. GCM's inc32 (low 32 bits only) agrees too
// for its 12-byte IVs: J0's low word starts at 1 and an i32 length is < 2^27 blocks.
// The increment is branch-free (eqz as 0/1), since SRTP's counter is derived from the salt.

import { Aes, AesCt } from "./aes";
import { wipe } from "./ct";

const CTR: usize = memory.data(32, 16); // counter blocks being encrypted (two for AesCt)
const KS: usize = memory.data(32, 16);  // their keystream; wiped before returning

/** Writes the 16-byte block for the counter (c0 most significant word) at p. */
@inline function putCounter(p: usize, c0: u32, c1: u32, c2: u32, c3: u32): void {
  store<u32>(p, bswap<u32>(c0)); store<u32>(p, bswap<u32>(c1), 4);
  store<u32>(p, bswap<u32>(c2), 8); store<u32>(p, bswap<u32>(c3), 12);
}

/** dst[0..n) ^= KS[0..n), n <= 32 (words while 4 bytes remain: dst may be unaligned). */
@inline function xorKeystream(dst: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) store<u32>(dst + <usize>i, load<u32>(dst + <usize>i) ^ load<u32>(KS + <usize>i));
  for (; i < n; i++) store<u8>(dst + <usize>i, load<u8>(dst + <usize>i) ^ load<u8>(KS + <usize>i));
}

/**
 * XORs len bytes at data (in place) with the AES-CTR keystream that starts at the 16-byte
 * counterBlock (read, not modified). Encryption and decryption are the same call.
 */
export function aesCtrXor(aes: Aes, counterBlock: usize, data: usize, len: i32): void {
  let c0 = bswap<u32>(load<u32>(counterBlock)), c1 = bswap<u32>(load<u32>(counterBlock, 4));
  let c2 = bswap<u32>(load<u32>(counterBlock, 8)), c3 = bswap<u32>(load<u32>(counterBlock, 12));
  if (len > 0) aes.warm();
  for (let off = 0; off < len; off += 16) {
    putCounter(CTR, c0, c1, c2, c3);
    aes.encryptBlock(CTR, KS);
    xorKeystream(data + <usize>off, min(16, len - off));
    c3 += 1;
    const k3 = <u32>(c3 == 0); c2 += k3;
    const k2 = k3 & <u32>(c2 == 0); c1 += k2;
    c0 += k2 & <u32>(c1 == 0);
  }
  wipe(KS, 16);
}

/** Writes len bytes of AES-CTR keystream at out (SRTP key derivation, RFC 3711 4.3). */
export function aesCtrKeystream(aes: Aes, counterBlock: usize, out: usize, len: i32): void {
  if (len > 0) memory.fill(out, 0, <usize>len);
  aesCtrXor(aes, counterBlock, out, len);
}

/** aesCtrXor with the constant-time cipher: two counter blocks per bitsliced pass. */
export function aesCtCtrXor(aes: AesCt, counterBlock: usize, data: usize, len: i32): void {
  let c0 = bswap<u32>(load<u32>(counterBlock)), c1 = bswap<u32>(load<u32>(counterBlock, 4));
  let c2 = bswap<u32>(load<u32>(counterBlock, 8)), c3 = bswap<u32>(load<u32>(counterBlock, 12));
  for (let off = 0; off < len; off += 32) {
    for (let half: usize = 0; half < 32; half += 16) {
      putCounter(CTR + half, c0, c1, c2, c3);
      c3 += 1;
      const k3 = <u32>(c3 == 0); c2 += k3;
      const k2 = k3 & <u32>(c2 == 0); c1 += k2;
      c0 += k2 & <u32>(c1 == 0);
    }
    aes.encrypt2(CTR, KS);
    xorKeystream(data + <usize>off, min(32, len - off));
  }
  wipe(KS, 32);
}
