// STUN messages (RFC 8489; RFC 5389 peers speak the same format): a reader that validates one
// datagram in place and indexes its attributes (the writer is stun-writer.ts). Sans-IO, and nothing is
// allocated per message: the index, the HMACs and the scratch are made in the constructors.
//
// Credentials (RFC 8489 9): the short-term key is the password itself; the long-term key is
// longTermKey's (stun-attrs.ts). The codec does no OpaqueString/SASLprep: callers pass bytes.

import { readU16BE, readU32BE, readU64BE } from "../lib/bytes";
import { SOCKADDR_BYTES } from "../lib/inet";
import { HmacSha1, HmacSha256, Hmac } from "../crypto/hmac";
import { crc32 } from "../crypto/crc32";
import { ctEqual, wipe } from "../crypto/ct";
import {
  STUN_OK, STUN_ERR_TOO_SHORT, STUN_ERR_NOT_STUN, STUN_ERR_BAD_COOKIE, STUN_ERR_LENGTH_UNALIGNED,
  STUN_ERR_LENGTH_MISMATCH, STUN_ERR_ATTR_OVERRUN, STUN_ERR_TOO_MANY_ATTRS, STUN_ERR_FINGERPRINT_NOT_LAST,
  STUN_ERR_BAD_FINGERPRINT, STUN_ERR_NO_INTEGRITY, STUN_ERR_BAD_INTEGRITY, STUN_ERR_MISSING,
  STUN_HEADER_BYTES, STUN_MAGIC_COOKIE, STUN_FINGERPRINT_XOR, ATTR_MESSAGE_INTEGRITY,
  ATTR_MESSAGE_INTEGRITY_SHA256, ATTR_FINGERPRINT, ATTR_ERROR_CODE, ATTR_UNKNOWN_ATTRIBUTES,
  ATTR_XOR_MAPPED_ADDRESS, ATTR_MAPPED_ADDRESS, ATTR_PRIORITY, ATTR_ICE_CONTROLLING, ATTR_ICE_CONTROLLED,
  stunMethod, stunClass, isUnderstoodRequired, checkAttribute, decodeAddress, decodeErrorCode, macPrefix,
} from "./stun-attrs";

export const MAX_ATTRIBUTES: i32 = 32;   // recorded per message; legitimate ones carry about ten
export const MAX_EXTRA_UNDERSTOOD: i32 = 16;

/** One parsed message: offsets into the caller's datagram, valid while that buffer is unchanged. */
export class StunReader {
  base: usize = 0;
  length: i32 = 0;
  messageType: u32 = 0;
  method: u32 = 0;
  messageClass: u32 = 0;
  count: i32 = 0;                // attributes recorded (not those ignored after an integrity attribute)
  readonly types: StaticArray<u16> = new StaticArray<u16>(MAX_ATTRIBUTES);
  readonly valueAt: StaticArray<i32> = new StaticArray<i32>(MAX_ATTRIBUTES);
  readonly valueLength: StaticArray<i32> = new StaticArray<i32>(MAX_ATTRIBUTES);
  unrecognisedCount: i32 = 0;    // comprehension-required types not understood: answer a request with 420
  readonly unrecognised: StaticArray<u16> = new StaticArray<u16>(MAX_ATTRIBUTES);
  integrityAt: i32 = -1;         // offset of the MESSAGE-INTEGRITY attribute, or -1
  integritySha256At: i32 = -1;
  fingerprintAt: i32 = -1;
  private readonly extra: StaticArray<u16> = new StaticArray<u16>(MAX_EXTRA_UNDERSTOOD);
  private extraCount: i32 = 0;
  private readonly hmac1: HmacSha1 = new HmacSha1();
  private readonly hmac256: HmacSha256 = new HmacSha256();
  private readonly scratch: StaticArray<u8> = new StaticArray<u8>(32 + SOCKADDR_BYTES);

  /** Counts a comprehension-required type (another layer's, e.g. TURN's) as understood. False when full. */
  understand(type: u32): bool {
    if (this.extraCount == MAX_EXTRA_UNDERSTOOD) return false;
    unchecked(this.extra[this.extraCount++] = <u16>type);
    return true;
  }

  understands(type: u32): bool {
    if (type >= 0x8000 || isUnderstoodRequired(type)) return true;
    for (let i = 0; i < this.extraCount; i++) if (<u32>unchecked(this.extra[i]) == type) return true;
    return false;
  }

  /**
   * Validates len bytes at p as one STUN message and indexes it. STUN_OK or a negative
   * STUN_ERR_ code; after a refusal the reader holds no attributes.
   */
  parse(p: usize, len: i32): i32 {
    this.base = p;
    const r = this.walk(p, len);
    if (r != STUN_OK) this.clear();
    return r;
  }

  private clear(): void {
    this.length = 0; this.count = 0; this.unrecognisedCount = 0;
    this.integrityAt = -1; this.integritySha256At = -1; this.fingerprintAt = -1;
  }

  private walk(p: usize, len: i32): i32 {
    this.clear();
    if (len < STUN_HEADER_BYTES) return STUN_ERR_TOO_SHORT;
    const type = readU16BE(p);
    if (type & 0xc000) return STUN_ERR_NOT_STUN;
    if (readU32BE(p + 4) != STUN_MAGIC_COOKIE) return STUN_ERR_BAD_COOKIE;
    const bodyLen = <i32>readU16BE(p + 2);
    if (bodyLen & 3) return STUN_ERR_LENGTH_UNALIGNED;
    if (bodyLen != len - STUN_HEADER_BYTES) return STUN_ERR_LENGTH_MISMATCH;
    const scratch = changetype<usize>(this.scratch);
    // Every attribute starts 4-aligned and the body is a multiple of 4: a header always fits.
    for (let off = STUN_HEADER_BYTES; off < len;) {
      if (this.fingerprintAt >= 0) return STUN_ERR_FINGERPRINT_NOT_LAST;
      const t = readU16BE(p + <usize>off);
      const l = <i32>readU16BE(p + <usize>off + 2);
      const v = off + 4;
      if (l > len - v) return STUN_ERR_ATTR_OVERRUN;
      // After MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT count; after
      // MESSAGE-INTEGRITY-SHA256 only FINGERPRINT (RFC 8489 9.1.2): the rest is skipped unchecked.
      const ignored = t != ATTR_FINGERPRINT &&
        (this.integritySha256At >= 0 || (this.integrityAt >= 0 && t != ATTR_MESSAGE_INTEGRITY_SHA256));
      if (!ignored) {
        const r = checkAttribute(t, p + <usize>v, l, p + 4, scratch);
        if (r != STUN_OK) return r;
        if (this.count == MAX_ATTRIBUTES) return STUN_ERR_TOO_MANY_ATTRS;
        unchecked(this.types[this.count] = <u16>t);
        unchecked(this.valueAt[this.count] = v);
        unchecked(this.valueLength[this.count] = l);
        this.count++;
        if (t == ATTR_MESSAGE_INTEGRITY) this.integrityAt = off;
        else if (t == ATTR_MESSAGE_INTEGRITY_SHA256) this.integritySha256At = off;
        else if (t == ATTR_FINGERPRINT) this.fingerprintAt = off;
        else if (!this.understands(t)) this.noteUnrecognised(t);
      }
      off = v + ((l + 3) & ~3);
    }
    const fp = this.fingerprintAt;
    // FINGERPRINT is last, so the header length already counts it: the CRC runs over the bytes as they are.
    if (fp >= 0 && (crc32(p, fp) ^ STUN_FINGERPRINT_XOR) != readU32BE(p + <usize>fp + 4)) return STUN_ERR_BAD_FINGERPRINT;
    this.length = len;
    this.messageType = type;
    this.method = stunMethod(type);
    this.messageClass = stunClass(type);
    return STUN_OK;
  }

  private noteUnrecognised(t: u32): void {
    for (let i = 0; i < this.unrecognisedCount; i++) if (<u32>unchecked(this.unrecognised[i]) == t) return;
    unchecked(this.unrecognised[this.unrecognisedCount++] = <u16>t);
  }

  /** Address of the 12-byte transaction id. */
  @inline get transactionId(): usize { return this.base + 8; }

  /** Index of the first recorded attribute of this type (RFC 8489 14: only the first counts), or -1. */
  find(type: u32): i32 {
    for (let i = 0; i < this.count; i++) if (<u32>unchecked(this.types[i]) == type) return i;
    return -1;
  }

  has(type: u32): bool { return this.find(type) >= 0; }
  typeOf(i: i32): u32 { return i >= 0 && i < this.count ? <u32>unchecked(this.types[i]) : 0; }
  valuePtr(i: i32): usize { return i >= 0 && i < this.count ? this.base + <usize>unchecked(this.valueAt[i]) : 0; }
  valueLen(i: i32): i32 { return i >= 0 && i < this.count ? unchecked(this.valueLength[i]) : 0; }

  /** True when the attribute's value is exactly the len bytes at p (usernames; not constant time). */
  valueEquals(type: u32, p: usize, len: i32): bool {
    const i = this.find(type);
    return i >= 0 && this.valueLen(i) == len && memory.compare(this.valuePtr(i), p, <usize>max(len, 0)) == 0;
  }

  /** A 32-bit value (PRIORITY), or STUN_ERR_MISSING. */
  u32Value(type: u32): i64 {
    const i = this.find(type);
    return i >= 0 && this.valueLen(i) >= 4 ? <i64>readU32BE(this.valuePtr(i)) : <i64>STUN_ERR_MISSING;
  }

  /** A 64-bit value (the ICE tie breaker), 0 when absent (check has() first). */
  u64Value(type: u32): u64 {
    const i = this.find(type);
    return i >= 0 && this.valueLen(i) >= 8 ? readU64BE(this.valuePtr(i)) : 0;
  }

  @inline get priority(): i64 { return this.u32Value(ATTR_PRIORITY); }
  @inline get iceControlling(): bool { return this.has(ATTR_ICE_CONTROLLING); }
  @inline get iceControlled(): bool { return this.has(ATTR_ICE_CONTROLLED); }
  get tieBreaker(): u64 { return this.u64Value(this.iceControlling ? ATTR_ICE_CONTROLLING : ATTR_ICE_CONTROLLED); }

  /** An address attribute as a SOCKADDR (lib/inet.ts) at out; STUN_OK, STUN_ERR_MISSING or STUN_ERR_BAD_ADDRESS. */
  address(type: u32, xor: bool, out: usize): i32 {
    const i = this.find(type);
    if (i < 0) return STUN_ERR_MISSING;
    return decodeAddress(this.valuePtr(i), this.valueLen(i), xor, this.base + 4, out);
  }

  xorMappedAddress(out: usize): i32 { return this.address(ATTR_XOR_MAPPED_ADDRESS, true, out); }
  mappedAddress(out: usize): i32 { return this.address(ATTR_MAPPED_ADDRESS, false, out); }

  /** ERROR-CODE as class * 100 + number (300..699), or STUN_ERR_MISSING. */
  get errorCode(): i32 {
    const i = this.find(ATTR_ERROR_CODE);
    return i < 0 ? STUN_ERR_MISSING : decodeErrorCode(this.valuePtr(i), this.valueLen(i));
  }
  get errorReasonPtr(): usize { const i = this.find(ATTR_ERROR_CODE); return i < 0 ? 0 : this.valuePtr(i) + 4; }
  get errorReasonLen(): i32 { const i = this.find(ATTR_ERROR_CODE); return i < 0 ? 0 : this.valueLen(i) - 4; }

  /** Types listed in a received UNKNOWN-ATTRIBUTES (a 420 from the peer). */
  get listedUnknownCount(): i32 { const i = this.find(ATTR_UNKNOWN_ATTRIBUTES); return i < 0 ? 0 : this.valueLen(i) >> 1; }
  listedUnknown(k: i32): u32 {
    const i = this.find(ATTR_UNKNOWN_ATTRIBUTES);
    return i < 0 || k < 0 || k >= this.valueLen(i) >> 1 ? 0 : readU16BE(this.valuePtr(i) + (<usize>k << 1));
  }

  /**
   * Verifies the message's integrity with the key (short-term: the password; long-term:
   * longTermKey): MESSAGE-INTEGRITY-SHA256 when present, the stronger MAC, else
   * MESSAGE-INTEGRITY. The MAC comparison is constant time.
   */
  checkIntegrity(key: usize, keyLen: i32): i32 {
    if (this.integritySha256At >= 0) return this.checkMac(this.hmac256, this.integritySha256At, key, keyLen);
    if (this.integrityAt >= 0) return this.checkMac(this.hmac1, this.integrityAt, key, keyLen);
    return STUN_ERR_NO_INTEGRITY;
  }

  /** MESSAGE-INTEGRITY (HMAC-SHA1) only, whatever else the message holds. */
  checkMessageIntegrity(key: usize, keyLen: i32): i32 {
    return this.integrityAt < 0 ? STUN_ERR_NO_INTEGRITY : this.checkMac(this.hmac1, this.integrityAt, key, keyLen);
  }

  private checkMac(hmac: Hmac, at: i32, key: usize, keyLen: i32): i32 {
    const macLen = <i32>readU16BE(this.base + <usize>at + 2);
    const scratch = changetype<usize>(this.scratch);
    hmac.setKey(key, keyLen);
    macPrefix(hmac, this.base, at, macLen, scratch, scratch);
    const ok = ctEqual(scratch, this.base + <usize>at + 4, macLen);
    wipe(scratch, 32);
    return ok ? STUN_OK : STUN_ERR_BAD_INTEGRITY;
  }
}
