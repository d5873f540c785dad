// STUN messages, the writing half (stun.ts reads): builds one message in the caller's buffer,
// sealed with MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT. Nothing is allocated per message.

import { writeU16BE, writeU32BE, writeU64BE, writeAscii } from "../lib/bytes";
import { HmacSha1, HmacSha256, Hmac } from "../crypto/hmac";
import { crc32 } from "../crypto/crc32";
import { wipe } from "../crypto/ct";
import {
  STUN_OK, STUN_ERR_NO_ROOM, STUN_ERR_SEALED, STUN_ERR_BAD_VALUE, STUN_HEADER_BYTES, STUN_MAGIC_COOKIE,
  STUN_FINGERPRINT_XOR, ATTR_MESSAGE_INTEGRITY, ATTR_MESSAGE_INTEGRITY_SHA256, ATTR_FINGERPRINT,
  ATTR_ERROR_CODE, ATTR_UNKNOWN_ATTRIBUTES, stunType, encodeAddress, reasonPhrase, macPrefix, MAX_TEXT_BYTES,
} from "./stun-attrs";
import { StunReader } from "./stun";

const STAGE_OPEN = 0, STAGE_INTEGRITY = 1, STAGE_INTEGRITY_SHA256 = 2, STAGE_FINGERPRINT = 3;

/**
 * Builds one message into the caller's buffer: begin, add attributes, optionally seal
 * (addMessageIntegrity, addMessageIntegritySha256, addFingerprint, in that order), finish.
 * The header length is kept current after every attribute. The first error sticks: later
 * calls return it and finish() reports it.
 */
export class StunWriter {
  private out: usize = 0;
  private cap: i32 = 0;
  length: i32 = 0;
  error: i32 = STUN_ERR_NO_ROOM; // until begin()
  private stage: i32 = STAGE_OPEN;
  private readonly hmac1: HmacSha1 = new HmacSha1();
  private readonly hmac256: HmacSha256 = new HmacSha256();
  private readonly scratch: StaticArray<u8> = new StaticArray<u8>(32);

  /** Starts a message of method and class with the 12-byte transaction id at tid (which may not overlap out). */
  begin(out: usize, cap: i32, method: u32, cls: u32, tid: usize): i32 {
    this.out = out; this.cap = cap; this.length = 0; this.stage = STAGE_OPEN;
    if (cap < STUN_HEADER_BYTES) return this.error = STUN_ERR_NO_ROOM;
    writeU16BE(out, stunType(method, cls));
    writeU16BE(out + 2, 0);
    writeU32BE(out + 4, STUN_MAGIC_COOKIE);
    memory.copy(out + 8, tid, 12);
    this.length = STUN_HEADER_BYTES;
    return this.error = STUN_OK;
  }

  /** Starts the response (class CLASS_SUCCESS or CLASS_ERROR) to a parsed request: its method and transaction id. */
  beginResponse(out: usize, cap: i32, request: StunReader, cls: u32): i32 {
    return this.begin(out, cap, request.method, cls, request.transactionId);
  }

  /** Appends an attribute header for len value bytes with zeroed padding; the value's address, or 0 on error. */
  private reserve(type: u32, len: i32, stage: i32): usize {
    if (this.error != STUN_OK) return 0;
    // Plain attributes only before any seal; each seal only after the ones before it in order.
    if (stage == STAGE_OPEN ? this.stage != STAGE_OPEN : this.stage >= stage) { this.error = STUN_ERR_SEALED; return 0; }
    if (len < 0 || len > 0xffff) { this.error = STUN_ERR_BAD_VALUE; return 0; }
    const padded = (len + 3) & ~3;
    if (padded + 4 > this.cap - this.length) { this.error = STUN_ERR_NO_ROOM; return 0; }
    const at = this.out + <usize>this.length;
    writeU16BE(at, type);
    writeU16BE(at + 2, <u32>len);
    if (padded > len) memory.fill(at + 4 + <usize>len, 0, <usize>(padded - len));
    this.length += 4 + padded;
    writeU16BE(this.out + 2, <u32>(this.length - STUN_HEADER_BYTES));
    if (stage != STAGE_OPEN) this.stage = stage;
    return at + 4;
  }

  @inline private open(type: u32, len: i32): usize { return this.reserve(type, len, STAGE_OPEN); }

  /** Any attribute from len bytes at value. */
  add(type: u32, value: usize, len: i32): i32 {
    const v = this.open(type, len);
    if (v != 0 && len > 0) memory.copy(v, value, <usize>len);
    return this.error;
  }

  /** An attribute from an ASCII string (USERNAME, SOFTWARE, REALM...); non-ASCII becomes '?'. */
  addString(type: u32, s: string): i32 {
    const v = this.open(type, s.length);
    if (v != 0) writeAscii(v, s.length, s);
    return this.error;
  }

  addU32(type: u32, value: u32): i32 { const v = this.open(type, 4); if (v != 0) writeU32BE(v, value); return this.error; }
  addU64(type: u32, value: u64): i32 { const v = this.open(type, 8); if (v != 0) writeU64BE(v, value); return this.error; }
  /** A zero-length attribute (USE-CANDIDATE). */
  addFlag(type: u32): i32 { this.open(type, 0); return this.error; }

  /** An address attribute from the SOCKADDR at sa; xor for the XOR- forms (XOR-MAPPED-ADDRESS). */
  addAddress(type: u32, sa: usize, xor: bool): i32 {
    const family = load<u8>(sa);
    if (this.error == STUN_OK && family != 4 && family != 6) return this.error = STUN_ERR_BAD_VALUE;
    const v = this.open(type, family == 4 ? 8 : 20);
    if (v != 0) encodeAddress(v, sa, xor, this.out + 4);
    return this.error;
  }

  /** ERROR-CODE with a reason of reasonLen bytes at reason; code 300..699. */
  addErrorCode(code: i32, reason: usize, reasonLen: i32): i32 {
    const v = this.errorValue(code, reasonLen);
    if (v != 0 && reasonLen > 0) memory.copy(v + 4, reason, <usize>reasonLen);
    return this.error;
  }

  /** ERROR-CODE with the recommended reason phrase. */
  addError(code: i32): i32 {
    const phrase = reasonPhrase(code);
    const v = this.errorValue(code, phrase.length);
    if (v != 0) writeAscii(v + 4, phrase.length, phrase);
    return this.error;
  }

  private errorValue(code: i32, reasonLen: i32): usize {
    if (this.error == STUN_OK && (code < 300 || code > 699 || reasonLen < 0 || reasonLen > MAX_TEXT_BYTES)) { this.error = STUN_ERR_BAD_VALUE; return 0; }
    const v = this.open(ATTR_ERROR_CODE, 4 + reasonLen);
    if (v != 0) writeU32BE(v, <u32>(((code / 100) << 8) | (code % 100)));
    return v;
  }

  /** UNKNOWN-ATTRIBUTES listing the request's comprehension-required types not understood (for a 420). */
  addUnknownAttributes(request: StunReader): i32 {
    const n = request.unrecognisedCount;
    const v = this.open(ATTR_UNKNOWN_ATTRIBUTES, n * 2);
    if (v != 0) for (let i = 0; i < n; i++) writeU16BE(v + (<usize>i << 1), <u32>unchecked(request.unrecognised[i]));
    return this.error;
  }

  /** MESSAGE-INTEGRITY (HMAC-SHA1) over everything so far, the length counting the attribute (RFC 8489 14.5). */
  addMessageIntegrity(key: usize, keyLen: i32): i32 { return this.seal(this.hmac1, ATTR_MESSAGE_INTEGRITY, 20, STAGE_INTEGRITY, key, keyLen); }

  /** MESSAGE-INTEGRITY-SHA256, macLen 16..32 (a multiple of 4; 32 unless truncation was agreed). */
  addMessageIntegritySha256(key: usize, keyLen: i32, macLen: i32 = 32): i32 {
    if (this.error == STUN_OK && (macLen < 16 || macLen > 32 || (macLen & 3) != 0)) return this.error = STUN_ERR_BAD_VALUE;
    return this.seal(this.hmac256, ATTR_MESSAGE_INTEGRITY_SHA256, macLen, STAGE_INTEGRITY_SHA256, key, keyLen);
  }

  private seal(hmac: Hmac, type: u32, macLen: i32, stage: i32, key: usize, keyLen: i32): i32 {
    const at = this.length;
    const v = this.reserve(type, macLen, stage);
    if (v == 0) return this.error;
    const mac = changetype<usize>(this.scratch);
    hmac.setKey(key, keyLen);
    macPrefix(hmac, this.out, at, macLen, mac, mac); // the header already carries this length
    memory.copy(v, mac, <usize>macLen);
    wipe(mac, 32);
    return this.error;
  }

  /** FINGERPRINT, last: CRC-32 of everything before it, XOR 0x5354554e (RFC 8489 14.7). */
  addFingerprint(): i32 {
    const at = this.length;
    const v = this.reserve(ATTR_FINGERPRINT, 4, STAGE_FINGERPRINT);
    if (v != 0) writeU32BE(v, crc32(this.out, at) ^ STUN_FINGERPRINT_XOR);
    return this.error;
  }

  /** The message's length in bytes, or the first error. */
  finish(): i32 { return this.error == STUN_OK ? this.length : this.error; }
}
