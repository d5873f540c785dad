// Base64 (RFC 4648 §4: the standard alphabet, "=" padding) between memory pointers, without
// allocating. SDES keys (RFC 4568 "inline:") are what it is for. Decoding is strict: a length
// that is not a multiple of four, a character outside the alphabet, padding anywhere but the
// end, or non-zero pad bits (§3.5) are refused, so a key has exactly one accepted text.
//
// API:
//   base64EncodedLength(n)               characters that n bytes encode to
//   base64Encode(src, len, out, cap)     characters written, or BASE64_NO_ROOM
//   base64Decode(text, len, out, cap)    bytes written, or BASE64_BAD_INPUT / BASE64_NO_ROOM

export const BASE64_BAD_INPUT: i32 = -1;
export const BASE64_NO_ROOM: i32 = -2;

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const PAD: u32 = 0x3d;

@inline function symbol(v: u32): u8 { return <u8>ALPHABET.charCodeAt(<i32>(v & 63)); }

/** The 6-bit value of one base64 character, or -1 (padding included). */
function sextet(c: u32): i32 {
  if (c >= 0x41 && c <= 0x5a) return <i32>c - 0x41;
  if (c >= 0x61 && c <= 0x7a) return <i32>c - 0x61 + 26;
  if (c >= 0x30 && c <= 0x39) return <i32>c - 0x30 + 52;
  if (c == 0x2b) return 62;
  if (c == 0x2f) return 63;
  return -1;
}

export function base64EncodedLength(n: i32): i32 { return n <= 0 ? 0 : ((n + 2) / 3) * 4; }

/** Encodes len bytes at src into out (cap bytes of room). Returns the characters written. */
export function base64Encode(src: usize, len: i32, out: usize, cap: i32): i32 {
  if (len < 0) return BASE64_BAD_INPUT;
  const need = base64EncodedLength(len);
  if (need > cap) return BASE64_NO_ROOM;
  let o: usize = out;
  for (let i = 0; i < len; i += 3) {
    const rest = len - i;
    const b0 = <u32>load<u8>(src + <usize>i);
    const b1 = rest > 1 ? <u32>load<u8>(src + <usize>(i + 1)) : 0;
    const b2 = rest > 2 ? <u32>load<u8>(src + <usize>(i + 2)) : 0;
    const v = (b0 << 16) | (b1 << 8) | b2;
    store<u8>(o, symbol(v >> 18));
    store<u8>(o + 1, symbol(v >> 12));
    store<u8>(o + 2, rest > 1 ? symbol(v >> 6) : <u8>PAD);
    store<u8>(o + 3, rest > 2 ? symbol(v) : <u8>PAD);
    o += 4;
  }
  return need;
}

/**
 * Decodes len characters at text into out (cap bytes of room). Returns the bytes written;
 * on an error, out may hold part of the result.
 */
export function base64Decode(text: usize, len: i32, out: usize, cap: i32): i32 {
  if (len < 0 || (len & 3) != 0) return BASE64_BAD_INPUT;
  if (len == 0) return 0;
  let pad = 0;
  if (load<u8>(text + <usize>(len - 1)) == PAD) pad = load<u8>(text + <usize>(len - 2)) == PAD ? 2 : 1;
  const n = (len >> 2) * 3 - pad;
  if (n > cap) return BASE64_NO_ROOM;
  let o: usize = out;
  for (let i = 0; i < len; i += 4) {
    const tail = i + 4 == len ? pad : 0; // padding characters in this quantum
    const a = sextet(load<u8>(text + <usize>i));
    const b = sextet(load<u8>(text + <usize>(i + 1)));
    const c = tail == 2 ? 0 : sextet(load<u8>(text + <usize>(i + 2)));
    const d = tail >= 1 ? 0 : sextet(load<u8>(text + <usize>(i + 3)));
    if ((a | b | c | d) < 0) return BASE64_BAD_INPUT;
    if ((tail == 2 && (b & 15) != 0) || (tail == 1 && (c & 3) != 0)) return BASE64_BAD_INPUT;
    const v = (<u32>a << 18) | (<u32>b << 12) | (<u32>c << 6) | <u32>d;
    store<u8>(o++, <u8>(v >> 16));
    if (tail < 2) store<u8>(o++, <u8>(v >> 8));
    if (tail < 1) store<u8>(o++, <u8>v);
  }
  return n;
}
