// STUN (RFC 8489) numbers and the attribute values that need more than a copy: message types,
// the attribute registry this codec understands, (XOR-)MAPPED-ADDRESS <-> SOCKADDR, ERROR-CODE,
// the per-type length rules the reader checks, the MESSAGE-INTEGRITY input and the long-term
// key. Shared by the reader and writer in stun.ts.

import { readU16BE, writeU16BE } from "../lib/bytes";
import { FAMILY_IPV4, FAMILY_IPV6 } from "../lib/inet";
import { Hmac } from "../crypto/hmac";
import { Md5 } from "../crypto/md5";

// Results. Parse refusals are -1..-12; the rest come from integrity checks, look-ups and the writer.
export const STUN_OK: i32 = 0;
export const STUN_ERR_TOO_SHORT: i32 = -1;          // fewer than the 20 header bytes
export const STUN_ERR_NOT_STUN: i32 = -2;           // the first two bits are not zero
export const STUN_ERR_BAD_COOKIE: i32 = -3;         // no magic cookie (an RFC 3489 peer, or not STUN)
export const STUN_ERR_LENGTH_UNALIGNED: i32 = -4;   // header length not a multiple of 4 (a missing pad)
export const STUN_ERR_LENGTH_MISMATCH: i32 = -5;    // header length != datagram length - 20 (truncated)
export const STUN_ERR_ATTR_OVERRUN: i32 = -6;       // an attribute's value runs past the end
export const STUN_ERR_TOO_MANY_ATTRS: i32 = -7;     // more than MAX_ATTRIBUTES to record
export const STUN_ERR_FINGERPRINT_NOT_LAST: i32 = -8;
export const STUN_ERR_BAD_FINGERPRINT: i32 = -9;    // CRC-32 does not match
export const STUN_ERR_BAD_ATTR_LENGTH: i32 = -10;   // a known attribute with a length its type forbids
export const STUN_ERR_BAD_ADDRESS: i32 = -11;       // address family unknown, or not matching the length
export const STUN_ERR_BAD_ERROR_CODE: i32 = -12;    // ERROR-CODE class outside 3..6 or number above 99
export const STUN_ERR_NO_INTEGRITY: i32 = -13;      // checkIntegrity on a message without one
export const STUN_ERR_BAD_INTEGRITY: i32 = -14;     // the HMAC does not match
export const STUN_ERR_MISSING: i32 = -15;           // the attribute asked for is not in the message
export const STUN_ERR_NO_ROOM: i32 = -16;           // writer: the output buffer is full
export const STUN_ERR_SEALED: i32 = -17;            // writer: attribute after MESSAGE-INTEGRITY/FINGERPRINT
export const STUN_ERR_BAD_VALUE: i32 = -18;         // writer: a value it cannot encode

export const STUN_HEADER_BYTES: i32 = 20;
export const STUN_MAGIC_COOKIE: u32 = 0x2112a442;
export const STUN_FINGERPRINT_XOR: u32 = 0x5354554e;
export const STUN_TRANSACTION_ID_BYTES: i32 = 12;

// Classes (the C1 C0 bits) and methods.
export const CLASS_REQUEST: u32 = 0;
export const CLASS_INDICATION: u32 = 1;
export const CLASS_SUCCESS: u32 = 2;
export const CLASS_ERROR: u32 = 3;
export const METHOD_BINDING: u32 = 0x001;

// Attribute types (RFC 8489 18.3, RFC 8445 16.1). Below 0x8000: comprehension-required.
export const ATTR_MAPPED_ADDRESS: u32 = 0x0001;
export const ATTR_USERNAME: u32 = 0x0006;
export const ATTR_MESSAGE_INTEGRITY: u32 = 0x0008;
export const ATTR_ERROR_CODE: u32 = 0x0009;
export const ATTR_UNKNOWN_ATTRIBUTES: u32 = 0x000a;
export const ATTR_REALM: u32 = 0x0014;
export const ATTR_NONCE: u32 = 0x0015;
export const ATTR_MESSAGE_INTEGRITY_SHA256: u32 = 0x001c;
export const ATTR_PASSWORD_ALGORITHM: u32 = 0x001d;  // not understood: named for callers and tests
export const ATTR_USERHASH: u32 = 0x001e;            // not understood
export const ATTR_XOR_MAPPED_ADDRESS: u32 = 0x0020;
export const ATTR_PRIORITY: u32 = 0x0024;
export const ATTR_USE_CANDIDATE: u32 = 0x0025;
export const ATTR_SOFTWARE: u32 = 0x8022;
export const ATTR_ALTERNATE_SERVER: u32 = 0x8023;
export const ATTR_FINGERPRINT: u32 = 0x8028;
export const ATTR_ICE_CONTROLLED: u32 = 0x8029;
export const ATTR_ICE_CONTROLLING: u32 = 0x802a;

// Error codes (RFC 8489 14.8, RFC 8445 7.3.1.1 for 487).
export const ERROR_TRY_ALTERNATE: i32 = 300;
export const ERROR_BAD_REQUEST: i32 = 400;
export const ERROR_UNAUTHENTICATED: i32 = 401;
export const ERROR_UNKNOWN_ATTRIBUTE: i32 = 420;
export const ERROR_STALE_NONCE: i32 = 438;
export const ERROR_ROLE_CONFLICT: i32 = 487;
export const ERROR_SERVER_ERROR: i32 = 500;

// What a receiver must accept (RFC 8489 14.3, 14.8, 14.9, 14.10, 14.14): USERNAME, REALM, NONCE,
// SOFTWARE and the ERROR-CODE reason up to 763 bytes (senders keep under 509).
export const MAX_TEXT_BYTES: i32 = 763;

const ADDRESS_FAMILY_IPV4: u32 = 0x01;
const ADDRESS_FAMILY_IPV6: u32 = 0x02;

/** The 14-bit message type of a method (12 bits) and class (2 bits): the class bits sit at 4 and 8. */
export function stunType(method: u32, cls: u32): u32 {
  return ((method & 0xf80) << 2) | ((method & 0x070) << 1) | (method & 0x00f) | ((cls & 2) << 7) | ((cls & 1) << 4);
}
export function stunMethod(type: u32): u32 { return ((type >> 2) & 0xf80) | ((type >> 1) & 0x070) | (type & 0x00f); }
export function stunClass(type: u32): u32 { return ((type >> 7) & 2) | ((type >> 4) & 1); }

/** Comprehension-required types (< 0x8000) this codec understands; others are reported for a 420. */
export function isUnderstoodRequired(type: u32): bool {
  switch (type) {
    case ATTR_MAPPED_ADDRESS: case ATTR_USERNAME: case ATTR_MESSAGE_INTEGRITY: case ATTR_ERROR_CODE:
    case ATTR_UNKNOWN_ATTRIBUTES: case ATTR_REALM: case ATTR_NONCE: case ATTR_MESSAGE_INTEGRITY_SHA256:
    case ATTR_XOR_MAPPED_ADDRESS: case ATTR_PRIORITY: case ATTR_USE_CANDIDATE:
      return true;
  }
  return false;
}

/**
 * Reads an address attribute value (len bytes at value) into a SOCKADDR (lib/inet.ts) at out.
 * xorKey points at the message's bytes 4..20 (cookie, then transaction id): the XOR forms mask
 * the port with the cookie's top 16 bits and the address with the first 4 or all 16 key bytes.
 * The first value byte is reserved and ignored (RFC 8489 14.1).
 */
export function decodeAddress(value: usize, len: i32, xor: bool, xorKey: usize, out: usize): i32 {
  if (len < 4) return STUN_ERR_BAD_ADDRESS;
  const family = <u32>load<u8>(value, 1);
  const bytes = family == ADDRESS_FAMILY_IPV4 ? 4 : family == ADDRESS_FAMILY_IPV6 ? 16 : 0;
  if (bytes == 0 || len != 4 + bytes) return STUN_ERR_BAD_ADDRESS;
  memory.fill(out, 0, 20);
  store<u8>(out, bytes == 4 ? FAMILY_IPV4 : FAMILY_IPV6);
  const port = readU16BE(value + 2);
  writeU16BE(out + 2, xor ? port ^ (STUN_MAGIC_COOKIE >> 16) : port);
  for (let i = 0; i < bytes; i++) {
    const b = load<u8>(value + 4 + <usize>i);
    store<u8>(out + 4 + <usize>i, xor ? b ^ load<u8>(xorKey + <usize>i) : b);
  }
  return STUN_OK;
}

/** Writes the value of an address attribute for the SOCKADDR at sa; its length (8 or 20), or STUN_ERR_BAD_VALUE. */
export function encodeAddress(value: usize, sa: usize, xor: bool, xorKey: usize): i32 {
  const family = load<u8>(sa);
  const bytes = family == FAMILY_IPV4 ? 4 : family == FAMILY_IPV6 ? 16 : 0;
  if (bytes == 0) return STUN_ERR_BAD_VALUE;
  store<u8>(value, 0);
  store<u8>(value, bytes == 4 ? ADDRESS_FAMILY_IPV4 : ADDRESS_FAMILY_IPV6, 1);
  const port = readU16BE(sa + 2);
  writeU16BE(value + 2, xor ? port ^ (STUN_MAGIC_COOKIE >> 16) : port);
  for (let i = 0; i < bytes; i++) {
    const b = load<u8>(sa + 4 + <usize>i);
    store<u8>(value + 4 + <usize>i, xor ? b ^ load<u8>(xorKey + <usize>i) : b);
  }
  return 4 + bytes;
}

/** The code (class * 100 + number) of an ERROR-CODE value, or STUN_ERR_BAD_ERROR_CODE. */
export function decodeErrorCode(value: usize, len: i32): i32 {
  if (len < 4) return STUN_ERR_BAD_ERROR_CODE;
  const cls = <i32>(load<u8>(value, 2) & 7); // the 21 bits before the class are reserved
  const number = <i32>load<u8>(value, 3);
  if (cls < 3 || cls > 6 || number > 99) return STUN_ERR_BAD_ERROR_CODE;
  return cls * 100 + number;
}

/** The recommended reason phrase of a code (RFC 8489 14.8; 487 from RFC 8445), or "". */
export function reasonPhrase(code: i32): string {
  switch (code) {
    case ERROR_TRY_ALTERNATE: return "Try Alternate";
    case ERROR_BAD_REQUEST: return "Bad Request";
    case ERROR_UNAUTHENTICATED: return "Unauthenticated";
    case ERROR_UNKNOWN_ATTRIBUTE: return "Unknown Attribute";
    case ERROR_STALE_NONCE: return "Stale Nonce";
    case ERROR_ROLE_CONFLICT: return "Role Conflict";
    case ERROR_SERVER_ERROR: return "Server Error";
  }
  return "";
}

/**
 * Checks a received attribute of a type this codec knows against its type's rules; STUN_OK for
 * types it does not know. scratch: 20 bytes for a trial address decode.
 */
export function checkAttribute(type: u32, value: usize, len: i32, xorKey: usize, scratch: usize): i32 {
  switch (type) {
    case ATTR_MAPPED_ADDRESS: case ATTR_ALTERNATE_SERVER:
      return decodeAddress(value, len, false, xorKey, scratch);
    case ATTR_XOR_MAPPED_ADDRESS:
      return decodeAddress(value, len, true, xorKey, scratch);
    case ATTR_ERROR_CODE: {
      if (len < 4 || len > 4 + MAX_TEXT_BYTES) return STUN_ERR_BAD_ATTR_LENGTH;
      const code = decodeErrorCode(value, len);
      return code < 0 ? code : STUN_OK;
    }
    case ATTR_USERNAME: case ATTR_REALM: case ATTR_NONCE: case ATTR_SOFTWARE: return lengthIf(len <= MAX_TEXT_BYTES);
    case ATTR_MESSAGE_INTEGRITY: return lengthIf(len == 20);
    case ATTR_MESSAGE_INTEGRITY_SHA256: return lengthIf(len >= 16 && len <= 32 && (len & 3) == 0); // 14.6: truncation
    case ATTR_FINGERPRINT: case ATTR_PRIORITY: return lengthIf(len == 4);
    case ATTR_USE_CANDIDATE: return lengthIf(len == 0);
    case ATTR_ICE_CONTROLLED: case ATTR_ICE_CONTROLLING: return lengthIf(len == 8);
    case ATTR_UNKNOWN_ATTRIBUTES: return lengthIf((len & 1) == 0);
  }
  return STUN_OK;
}

@inline function lengthIf(ok: bool): i32 { return ok ? STUN_OK : STUN_ERR_BAD_ATTR_LENGTH; }

const MD5 = new Md5(); // made at start-up: longTermKey allocates nothing

/** The long-term key MD5(user ":" realm ":" password) (RFC 8489 9.2.2), 16 bytes at out. */
export function longTermKey(user: usize, userLen: i32, realm: usize, realmLen: i32, password: usize, passwordLen: i32, out: usize): void {
  const colon = memory.data<u8>([0x3a]);
  MD5.reset();
  MD5.update(user, userLen); MD5.update(colon, 1);
  MD5.update(realm, realmLen); MD5.update(colon, 1);
  MD5.update(password, passwordLen);
  MD5.finish(out);
}

/**
 * The MAC of a MESSAGE-INTEGRITY(-SHA256) attribute at offset `at` with valueLen MAC bytes
 * (RFC 8489 14.5): HMAC, keyed by the caller, over the message [0, at) with the header length
 * taken as ending right after that attribute. scratch: 2 bytes, and may be out.
 */
export function macPrefix(hmac: Hmac, base: usize, at: i32, valueLen: i32, scratch: usize, out: usize): void {
  writeU16BE(scratch, <u32>(at - STUN_HEADER_BYTES + 4 + valueLen));
  hmac.update(base, 2);
  hmac.update(scratch, 2); // copied in at once, so scratch may double as out
  hmac.update(base + 4, at - 4);
  hmac.finish(out);
}
