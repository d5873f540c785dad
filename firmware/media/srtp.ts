// SRTP and SRTCP for one stream in one direction (RFC 3711; RFC 7714 for AES-GCM): the
// crypto context of one SSRC — master key, session keys, rollover counter, replay windows,
// key lifetime and drop counters. Sans-IO: the caller hands in a packet in a buffer, it is
// transformed in place, and the new length (or a negative ERR_*) comes back.
//
//   SRTP:  RTP header (incl. CSRCs, extension) | payload, encrypted | tag (10, 4 or 16 bytes)
//   AES-CM tag = HMAC-SHA1(k_a, header || encrypted payload || ROC) truncated;
//   GCM: AAD = the RTP header, the tag is GCM's own. No MKI.
//
// State moves only after a packet authenticates: a forged or damaged packet can never advance
// the ROC, s_l or the replay window. Sending refuses an index it already used, since reusing an
// index reuses the keystream (and, for GCM, would leak the authentication key).

import { Aes } from "../crypto/aes";
import { aesCtrXor } from "../crypto/ctr";
import { ctEqual } from "../crypto/ct";
import { readU16BE, readU32BE } from "../lib/bytes";
import { SrtpTransform } from "./srtp-transform";
import { srtcpSeal, srtcpOpen, srtcpIndexOffset } from "./srtcp";
import { ReplayWindow, estimateIndex, REPLAY_MIN } from "./srtp-replay";
import { LABEL_SRTP_ENCRYPTION, LABEL_SRTCP_ENCRYPTION } from "./srtp-kdf";
import {
  ERR_MALFORMED, ERR_VERSION, ERR_AUTH, ERR_TOO_OLD, ERR_REPLAY, ERR_NO_KEY, ERR_EXHAUSTED, ERR_NO_ROOM,
  DROP_REASONS, MAX_SRTP_INDEX, MAX_SRTCP_INDEX, SRTCP_HEADER,
  suiteValid, suiteIsAead, suiteKeyLength, suiteSaltLength, srtpTagLength, srtcpTagLength,
} from "./srtp-defs";

export {
  AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32, AEAD_AES_128_GCM, AEAD_AES_256_GCM,
  ERR_MALFORMED, ERR_VERSION, ERR_AUTH, ERR_REPLAY, ERR_TOO_OLD, ERR_NO_KEY, ERR_EXHAUSTED, ERR_NO_ROOM,
  DROP_REASONS,
} from "./srtp-defs";
export { REPLAY_MIN, REPLAY_MAX } from "./srtp-replay";

const RTP_HEADER: i32 = 12;

/** Length of the RTP header at p within len bytes (fixed part, CSRCs, extension), or an error. */
export function rtpHeaderLength(p: usize, len: i32): i32 {
  if (len < RTP_HEADER) return ERR_MALFORMED;
  const b0 = load<u8>(p);
  if ((b0 >> 6) != 2) return ERR_VERSION;
  let n = RTP_HEADER + 4 * <i32>(b0 & 0x0f);
  if (b0 & 0x10) {
    if (n + 4 > len) return ERR_MALFORMED;
    n += 4 + 4 * <i32>readU16BE(p + <usize>(n + 2));
  }
  return n > len ? ERR_MALFORMED : n;
}

export class SrtpSession {
  private prf: Aes = new Aes();
  private rtp: SrtpTransform = new SrtpTransform();
  private rtcp: SrtpTransform = new SrtpTransform();
  private rxWindow: ReplayWindow;
  private rtcpWindow: ReplayWindow;
  private dropCounts: StaticArray<u32> = new StaticArray<u32>(DROP_REASONS);
  private suiteId: i32 = 0;
  private tagLen: i32 = 0;
  private rtcpTagLen: i32 = 0;
  private txStarted: bool = false;
  private txTop: u64 = 0;
  private txRtcpIndex: u32 = 0;
  private rekey: bool = false;

  /** replayWindow: packets remembered behind the newest, REPLAY_MIN (128) .. REPLAY_MAX (1024); clamped. */
  constructor(replayWindow: i32 = REPLAY_MIN) {
    this.rxWindow = new ReplayWindow(replayWindow);
    this.rtcpWindow = new ReplayWindow(replayWindow);
  }

  /**
   * Keys the session from a master key and salt (suite AES_CM_*: 16 + 14 bytes; AEAD_AES_128_GCM
   * 16 + 12; AEAD_AES_256_GCM 32 + 12) and starts it afresh: ROC 0, windows empty, SRTCP index 0.
   * Returns 0, or ERR_NO_KEY for a bad suite or length, which also leaves the session keyless.
   */
  setKey(suite: i32, masterKey: usize, keyLen: i32, masterSalt: usize, saltLen: i32): i32 {
    this.clearKey();
    if (!suiteValid(suite) || keyLen != suiteKeyLength(suite) || saltLen != suiteSaltLength(suite)) return ERR_NO_KEY;
    const aead = suiteIsAead(suite);
    if (!this.prf.setKey(masterKey, keyLen)) return ERR_NO_KEY;
    const ok = this.rtp.derive(this.prf, masterSalt, saltLen, LABEL_SRTP_ENCRYPTION, keyLen, aead)
      && this.rtcp.derive(this.prf, masterSalt, saltLen, LABEL_SRTCP_ENCRYPTION, keyLen, aead);
    this.forgetMasterKey();
    if (!ok) { this.clearKey(); return ERR_NO_KEY; }
    this.start(suite);
    return 0;
  }

  /** Drops the key and every index: protect and unprotect answer ERR_NO_KEY until setKey. */
  clearKey(): void {
    this.rtp.clear();
    this.rtcp.clear();
    this.suiteId = 0;
    this.resetIndexes();
  }

  /**
   * Changes the replay window (REPLAY_MIN .. the size given to the constructor). It forgets the
   * windows and the receive ROC, so call it before the first packet (srtp_open does).
   */
  setReplayWindow(window: i32): i32 {
    if (!this.rxWindow.setSize(window) || !this.rtcpWindow.setSize(window)) return ERR_MALFORMED;
    return 0;
  }

  get replayWindow(): i32 { return this.rxWindow.size; }
  get suite(): i32 { return this.suiteId; }
  /** True once a key limit (2^48 SRTP / 2^31 SRTCP packets) was reached: call setKey with a new master key. */
  get needsRekey(): bool { return this.rekey; }

  /** Receiving: the rollover counter and s_l, the highest sequence number authenticated (0 before any). */
  get rolloverCounter(): u32 { return <u32>(this.rxWindow.top >>> 16); }
  get highestSequence(): u32 { return <u32>(this.rxWindow.top & 0xffff); }
  /** Receiving: the highest SRTP index authenticated, -1 before the first packet. */
  get receivedIndex(): i64 { return this.rxWindow.started ? <i64>this.rxWindow.top : -1; }
  /** Sending: the last SRTP index used, -1 before the first packet. */
  get sentIndex(): i64 { return this.txStarted ? <i64>this.txTop : -1; }
  /** Sending: the SRTCP index the next protectRtcp will use. */
  get srtcpIndex(): u32 { return this.txRtcpIndex; }

  /** Packets refused for a reason (1..8 = -ERR_*; negative codes accepted too); 0 = all reasons. */
  drops(reason: i32): u32 {
    const r = reason < 0 ? -reason : reason;
    if (r >= DROP_REASONS) return 0;
    if (r > 0) return unchecked(this.dropCounts[r]);
    let total: u32 = 0;
    for (let i = 1; i < DROP_REASONS; i++) total += unchecked(this.dropCounts[i]);
    return total;
  }

  resetCounters(): void { memory.fill(changetype<usize>(this.dropCounts), 0, <usize>(DROP_REASONS << 2)); }

  /** Encrypts and authenticates the RTP packet at p (len bytes, cap bytes of room); returns the SRTP length. */
  protect(p: usize, len: i32, cap: i32): i32 {
    if (this.suiteId == 0) return this.fail(ERR_NO_KEY);
    const hdr = rtpHeaderLength(p, len);
    if (hdr < 0) return this.fail(hdr);
    const tagLen = this.tagLen;
    if (cap < len || cap - len < tagLen) return this.fail(ERR_NO_ROOM);
    const guess = estimateIndex(this.txStarted, this.txTop, readU16BE(p + 2));
    if (guess > MAX_SRTP_INDEX) { this.rekey = true; return this.fail(ERR_EXHAUSTED); }
    if (this.txStarted && guess <= <i64>this.txTop) return this.fail(ERR_REPLAY);
    const index = <u64>guess;
    const t = this.rtp;
    const iv = t.iv(readU32BE(p + 8), index);
    const payload = p + <usize>hdr;
    if (t.aead) {
      // seal refuses only what we never pass (no key, IV not 12, bad tag size), leaving the
      // payload in the clear: never send that.
      if (!t.gcm.seal(iv, 12, p, hdr, payload, len - hdr, p + <usize>len, tagLen)) return this.fail(ERR_NO_KEY);
    } else {
      aesCtrXor(t.aes, iv, payload, len - hdr);
      memory.copy(p + <usize>len, t.mac(p, len, <u32>(index >>> 16), true), <usize>tagLen);
    }
    this.txTop = index;
    this.txStarted = true;
    return len + tagLen;
  }

  /** Authenticates, replay-checks and decrypts the SRTP packet at p; returns the RTP length. */
  unprotect(p: usize, len: i32): i32 {
    if (this.suiteId == 0) return this.fail(ERR_NO_KEY);
    const tagLen = this.tagLen;
    if (len < RTP_HEADER + tagLen) return this.fail(ERR_MALFORMED);
    const body = len - tagLen;
    const hdr = rtpHeaderLength(p, body);
    if (hdr < 0) return this.fail(hdr);
    const w = this.rxWindow;
    const guess = estimateIndex(w.started, w.top, readU16BE(p + 2));
    if (guess < 0) return this.fail(ERR_TOO_OLD);
    if (guess > MAX_SRTP_INDEX) { this.rekey = true; return this.fail(ERR_EXHAUSTED); }
    const index = <u64>guess;
    const seen = w.check(index);
    if (seen < 0) return this.fail(seen);
    const t = this.rtp;
    const iv = t.iv(readU32BE(p + 8), index);
    const payload = p + <usize>hdr;
    if (t.aead) {
      if (!t.gcm.open(iv, 12, p, hdr, payload, body - hdr, p + <usize>body, tagLen)) return this.fail(ERR_AUTH);
    } else {
      if (!ctEqual(t.mac(p, body, <u32>(index >>> 16), true), p + <usize>body, tagLen)) return this.fail(ERR_AUTH);
      aesCtrXor(t.aes, iv, payload, body - hdr);
    }
    w.accept(index);
    return body;
  }

  /** Encrypts (E = 1) and authenticates the RTCP packet at p, appending E||index and the tag. */
  protectRtcp(p: usize, len: i32, cap: i32): i32 {
    if (this.suiteId == 0) return this.fail(ERR_NO_KEY);
    if (len < SRTCP_HEADER) return this.fail(ERR_MALFORMED);
    if ((load<u8>(p) >> 6) != 2) return this.fail(ERR_VERSION);
    const extra = 4 + this.rtcpTagLen;
    if (cap < len || cap - len < extra) return this.fail(ERR_NO_ROOM);
    if (this.txRtcpIndex > MAX_SRTCP_INDEX) { this.rekey = true; return this.fail(ERR_EXHAUSTED); }
    const n = srtcpSeal(this.rtcp, this.txRtcpIndex, p, len, this.rtcpTagLen);
    if (n < 0) return this.fail(n);
    this.txRtcpIndex++;
    return n;
  }

  /** Authenticates, replay-checks and (if E = 1) decrypts the SRTCP packet at p; returns the RTCP length. */
  unprotectRtcp(p: usize, len: i32): i32 {
    if (this.suiteId == 0) return this.fail(ERR_NO_KEY);
    const tagLen = this.rtcpTagLen;
    if (len < SRTCP_HEADER + 4 + tagLen) return this.fail(ERR_MALFORMED);
    if ((load<u8>(p) >> 6) != 2) return this.fail(ERR_VERSION);
    const t = this.rtcp;
    const index = <u64>(readU32BE(p + <usize>srtcpIndexOffset(t, len, tagLen)) & MAX_SRTCP_INDEX);
    const seen = this.rtcpWindow.check(index);
    if (seen < 0) return this.fail(seen);
    const n = srtcpOpen(t, p, len, tagLen);
    if (n < 0) return this.fail(n);
    this.rtcpWindow.accept(index);
    return n;
  }

  // ---- test only: reach states that take 2^48 packets, and the RFC 7714 vectors' session keys ----

  /** Test only: as if SRTP index srtpIndex (-1: none yet) was the last sent, and srtcpNext is next. */
  testSetSendIndex(srtpIndex: i64, srtcpNext: u32): void {
    this.txStarted = srtpIndex >= 0;
    this.txTop = srtpIndex >= 0 ? <u64>srtpIndex : 0;
    this.txRtcpIndex = srtcpNext;
  }

  /** Test only: as if SRTP index srtpIndex (-1: none yet) was the highest received. */
  testSetReceiveIndex(srtpIndex: i64): void {
    if (srtpIndex < 0) this.rxWindow.reset();
    else this.rxWindow.force(<u64>srtpIndex);
  }

  /** Test only: installs session keys directly (the same for SRTP and SRTCP), skipping the KDF. */
  testInstallSessionKeys(suite: i32, encKey: usize, authKey: usize, salt: usize): i32 {
    this.clearKey();
    if (!suiteValid(suite)) return ERR_NO_KEY;
    const aead = suiteIsAead(suite);
    const keyLen = suiteKeyLength(suite);
    const saltLen = suiteSaltLength(suite);
    if (!this.rtp.install(encKey, keyLen, authKey, salt, saltLen, aead) || !this.rtcp.install(encKey, keyLen, authKey, salt, saltLen, aead)) {
      this.clearKey();
      return ERR_NO_KEY;
    }
    this.start(suite);
    return 0;
  }

  private start(suite: i32): void {
    this.suiteId = suite;
    this.tagLen = srtpTagLength(suite);
    this.rtcpTagLen = srtcpTagLength(suite);
  }

  private resetIndexes(): void {
    this.rxWindow.reset();
    this.rtcpWindow.reset();
    this.txStarted = false;
    this.txTop = 0;
    this.txRtcpIndex = 0;
    this.rekey = false;
  }

  // The master key is needed only while deriving: overwrite its key schedule right after.
  private forgetMasterKey(): void {
    const zero = this.rtp.save; // scratch, zero after derive
    memory.fill(zero, 0, 16);
    this.prf.setKey(zero, 16);
  }

  /** Counts a refusal the caller made itself (the media module's buffer checks); returns code. */
  recordDrop(code: i32): i32 { return code < 0 && -code < DROP_REASONS ? this.fail(code) : code; }

  private fail(code: i32): i32 {
    const slot = changetype<usize>(this.dropCounts) + <usize>((-code) << 2);
    store<u32>(slot, load<u32>(slot) + 1);
    return code;
  }
}
