// The SRTP key derivation function (RFC 3711 §4.3.1), AES-CM as the PRF, key_derivation_rate 0:
//   x = (label << 48) XOR master_salt        (master_salt as a 112-bit number)
//   session key = first n bytes of AES-CM(master_key, IV = x * 2^16)
// With rate 0 the "index DIV rate" term is 0, so the label is the only thing that varies.
// The GCM suites use the same PRF (RFC 7714 §11) with a 96-bit master salt, which erratum 4938
// multiplies by 2^16 to make the 112-bit one: the salt fills the first 12 bytes, two zero bytes
// follow. AES-256 master keys (RFC 6188 §7.2) only change the Aes key size.

import { Aes } from "../crypto/aes";
import { aesCtrKeystream } from "../crypto/ctr";
import { wipe } from "../crypto/ct";

// Labels (RFC 3711 §4.3.2 and §4.3.3).
export const LABEL_SRTP_ENCRYPTION: i32 = 0;
export const LABEL_SRTP_AUTH: i32 = 1;
export const LABEL_SRTP_SALT: i32 = 2;
export const LABEL_SRTCP_ENCRYPTION: i32 = 3;
export const LABEL_SRTCP_AUTH: i32 = 4;
export const LABEL_SRTCP_SALT: i32 = 5;

/**
 * Writes outLen bytes of the session key for `label` to out. prf holds the master key; the
 * master salt is saltLen (12 or 14, checked by the caller) bytes; block is 16 bytes of scratch.
 */
export function srtpKdf(prf: Aes, masterSalt: usize, saltLen: i32, label: i32, block: usize, out: usize, outLen: i32): void {
  memory.fill(block, 0, 16);
  memory.copy(block, masterSalt, <usize>saltLen);
  // The label sits 48 bits above the bottom of the 112-bit value: byte 7 of the 14.
  store<u8>(block + 7, load<u8>(block + 7) ^ <u8>label);
  aesCtrKeystream(prf, block, out, outLen);
  wipe(block, 16);
}
