// SDP parsing (RFC 8866) for an audio call, into fixed storage: nothing is allocated per body,
// every count is bounded, every string is a bounded copy. Lines end with CRLF or a lone LF.
// Every m-line is recorded (type, port, proto, formats) so an answer can reject what we do not
// carry; the details (rtpmap, fmtp, ptime, direction, rtcp-mux, rtcp, SDES crypto) are kept
// for one audio stream: the first audio m-line with a non-zero port and an RTP/AVP or RTP/SAVP
// proto, else the first with a non-zero port (the negotiator then refuses its proto).
// Unknown lines and attributes are ignored; malformed ones we rely on are refused.
//
// API:
//   SdpSession.parse(p, len): i32      SDP_OK or a negative SDP_ERR_*; the fields below then hold
//     originUser/originUserLength, sessionId/sessionIdLength (text), sessionVersion (u64),
//     originAddress (SOCKADDR, family 0 unless a literal), mediaCount, media[i] (SdpMediaLine),
//     audioIndex (-1: none), formatCount, formatPt(i), encodingIs(i, name), clockRate(i) (0: no
//     rtpmap), channels(i), events(i) (telephone-event bit mask 0..31), ptime, maxPtime (0: absent),
//     direction (DIR_*), rtcpMux, rtcpPort (-1: absent), rtcpAddress (SOCKADDR, family 0: same as
//     RTP), audioAddress (SOCKADDR of the RTP destination; family 0: not a usable unicast literal),
//     cryptoCount, crypto[i] (SdpCrypto: tag, suite, status CRYPTO_*, key||salt).
//   suiteFromName(p, len) / suiteName(suite)   RFC 4568 / RFC 7714 suite names <-> srtp-defs ids

import { parseIpv4, parseIpv6, SOCKADDR_BYTES, FAMILY_IPV4, FAMILY_IPV6, setSockaddrPort } from "../lib/inet";
import { base64Decode } from "../lib/base64";
import {
  AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32, AEAD_AES_128_GCM, AEAD_AES_256_GCM, suiteKeyLength, suiteSaltLength,
} from "../media/srtp-defs";
import { parseMediaLine, parseCrypto, parseRtpmap, parseFmtp, parseRtcp, parsePtime, fieldEnd, skipSpaces, spanIs } from "./sdp-lines";

export const SDP_OK: i32 = 0;
export const SDP_ERR_VERSION: i32 = -1;        // empty, or the first line is not v=0
export const SDP_ERR_LINE: i32 = -2;           // a line is not <letter>=..., or holds NUL / a bare CR
export const SDP_ERR_ORIGIN: i32 = -3;         // o= missing, repeated, in a media section, or malformed
export const SDP_ERR_CONNECTION: i32 = -4;     // c= malformed, or the audio stream has no c= at all
export const SDP_ERR_MEDIA: i32 = -5;          // m= malformed (port, proto, payload types)
export const SDP_ERR_TOO_MANY_MEDIA: i32 = -6; // more than MAX_MEDIA m-lines: we could not answer them all
export const SDP_ERR_ATTRIBUTE: i32 = -7;      // a malformed rtpmap / fmtp / ptime / maxptime / rtcp

// Directions as two bits, so an answer is a mask: send = 1, receive = 2.
export const DIR_INACTIVE: i32 = 0;
export const DIR_SENDONLY: i32 = 1;
export const DIR_RECVONLY: i32 = 2;
export const DIR_SENDRECV: i32 = 3;

export const PROTO_OTHER: i32 = 0;
export const PROTO_RTP_AVP: i32 = 1;
export const PROTO_RTP_SAVP: i32 = 2;
export const PROTO_RTP_AVPF: i32 = 3;   // RTP-based, recorded, not supported
export const PROTO_RTP_SAVPF: i32 = 4;
export const PROTO_DTLS_SRTP: i32 = 5;  // UDP/TLS/RTP/SAVP and UDP/TLS/RTP/SAVPF

export const MEDIA_OTHER: i32 = 0;
export const MEDIA_AUDIO: i32 = 1;
export const MEDIA_VIDEO: i32 = 2;

// Why a crypto line cannot be used (its status).
export const CRYPTO_OK: i32 = 0;
export const CRYPTO_MALFORMED: i32 = 1;     // tag, fields or lifetime do not parse
export const CRYPTO_UNKNOWN_SUITE: i32 = 2;
export const CRYPTO_BAD_KEY: i32 = 3;       // not "inline:", or the key is not valid base64
export const CRYPTO_KEY_LENGTH: i32 = 4;    // key||salt is not the suite's length
export const CRYPTO_MKI: i32 = 5;           // an MKI, or several keys (which need MKIs): not supported
export const CRYPTO_SESSION_PARAM: i32 = 6; // a session parameter other than WSH

export const MAX_MEDIA: i32 = 8;
export const MAX_FORMATS: i32 = 16;       // payload types kept for the audio stream
export const MAX_CRYPTO: i32 = 8;         // crypto lines kept; later ones are ignored
export const MAX_KEY_SALT: i32 = 46;      // the largest key||salt we store (32 + 14)
export const MAX_ENCODING: i32 = 24;      // encoding names longer than this match nothing
export const MAX_MEDIA_TYPE: i32 = 16;
export const MAX_PROTO: i32 = 32;
export const MAX_FORMAT_TEXT: i32 = 64;   // whole formats kept to echo in a rejecting answer
export const MAX_ORIGIN_FIELD: i32 = 32;

const LF: u32 = 10, CR: u32 = 13;

/** One m-line as written: enough to reject it in an answer (RFC 3264 §6: port 0, same proto/formats). */
export class SdpMediaLine {
  kind: i32 = MEDIA_OTHER;
  port: i32 = 0;
  proto: i32 = PROTO_OTHER;
  readonly typeText: StaticArray<u8> = new StaticArray<u8>(MAX_MEDIA_TYPE);
  typeLength: i32 = 0;
  readonly protoText: StaticArray<u8> = new StaticArray<u8>(MAX_PROTO);
  protoLength: i32 = 0;
  readonly formatText: StaticArray<u8> = new StaticArray<u8>(MAX_FORMAT_TEXT);
  formatLength: i32 = 0;
}

/** One a=crypto line of the audio stream. */
export class SdpCrypto {
  tag: i32 = -1;
  suite: i32 = 0;
  status: i32 = CRYPTO_MALFORMED;
  readonly key: StaticArray<u8> = new StaticArray<u8>(MAX_KEY_SALT); // master key || master salt
  keyLength: i32 = 0;
  @inline get keyAddress(): usize { return changetype<usize>(this.key); }
}

const SUITE_80 = "AES_CM_128_HMAC_SHA1_80";
const SUITE_32 = "AES_CM_128_HMAC_SHA1_32";
const SUITE_GCM_128 = "AEAD_AES_128_GCM";
const SUITE_GCM_256 = "AEAD_AES_256_GCM";

export function suiteFromName(p: usize, len: i32): i32 {
  if (spanIs(p, 0, len, SUITE_80, false)) return AES_CM_128_HMAC_SHA1_80;
  if (spanIs(p, 0, len, SUITE_32, false)) return AES_CM_128_HMAC_SHA1_32;
  if (spanIs(p, 0, len, SUITE_GCM_128, false)) return AEAD_AES_128_GCM;
  if (spanIs(p, 0, len, SUITE_GCM_256, false)) return AEAD_AES_256_GCM;
  return 0;
}

export function suiteName(suite: i32): string {
  if (suite == AES_CM_128_HMAC_SHA1_80) return SUITE_80;
  if (suite == AES_CM_128_HMAC_SHA1_32) return SUITE_32;
  if (suite == AEAD_AES_128_GCM) return SUITE_GCM_128;
  return suite == AEAD_AES_256_GCM ? SUITE_GCM_256 : "";
}

@inline export function suiteKeySaltLength(suite: i32): i32 { return suiteKeyLength(suite) + suiteSaltLength(suite); }

/** Whether the address part of a SOCKADDR is all zero (0.0.0.0 or ::): RFC 2543 hold. */
export function addressUnspecified(sa: usize): bool {
  for (let i = 4; i < SOCKADDR_BYTES; i++) if (load<u8>(sa + <usize>i) != 0) return false;
  return load<u8>(sa) != 0;
}

/**
 * Fills sa with a c=-style "nettype addrtype address" found in [i, end). Returns 1 when it is a
 * unicast IN IP4/IP6 literal, 0 when it is well-formed but unusable (multicast, TTL, a host
 * name, another network type: sa's family is then 0), -1 when it is not three fields.
 */
export function parseAddressFields(p: usize, i: i32, end: i32, sa: usize): i32 {
  memory.fill(sa, 0, SOCKADDR_BYTES);
  const n0 = skipSpaces(p, i, end), n1 = fieldEnd(p, n0, end);
  const t0 = skipSpaces(p, n1, end), t1 = fieldEnd(p, t0, end);
  const a0 = skipSpaces(p, t1, end), a1 = fieldEnd(p, a0, end);
  if (n1 == n0 || t1 == t0 || a1 == a0 || skipSpaces(p, a1, end) != end) return -1;
  if (!spanIs(p, n0, n1, "IN", true)) return 0;
  const out = sa + 4;
  const addr = p + <usize>a0;
  if (spanIs(p, t0, t1, "IP4", true)) {
    if (!parseIpv4(addr, a1 - a0, out) || (load<u8>(out) & 0xf0) == 0xe0) { memory.fill(out, 0, 16); return 0; }
    store<u8>(sa, FAMILY_IPV4);
    return 1;
  }
  if (spanIs(p, t0, t1, "IP6", true)) {
    if (!parseIpv6(addr, a1 - a0, out) || load<u8>(out) == 0xff) { memory.fill(out, 0, 16); return 0; }
    store<u8>(sa, FAMILY_IPV6);
    return 1;
  }
  return 0;
}

export class SdpSession {
  readonly originUser: StaticArray<u8> = new StaticArray<u8>(MAX_ORIGIN_FIELD);
  originUserLength: i32 = 0;
  readonly sessionId: StaticArray<u8> = new StaticArray<u8>(MAX_ORIGIN_FIELD);
  sessionIdLength: i32 = 0;
  sessionVersion: u64 = 0;
  readonly originAddress: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  hasOrigin: bool = false;

  readonly media: StaticArray<SdpMediaLine> = new StaticArray<SdpMediaLine>(MAX_MEDIA);
  mediaCount: i32 = 0;
  audioIndex: i32 = -1;

  // The audio stream.
  formatCount: i32 = 0;
  readonly pts: StaticArray<i32> = new StaticArray<i32>(MAX_FORMATS);
  readonly clocks: StaticArray<i32> = new StaticArray<i32>(MAX_FORMATS);
  readonly channelCounts: StaticArray<i32> = new StaticArray<i32>(MAX_FORMATS);
  readonly eventMasks: StaticArray<u32> = new StaticArray<u32>(MAX_FORMATS);
  readonly encodings: StaticArray<u8> = new StaticArray<u8>(MAX_FORMATS * MAX_ENCODING);
  readonly encodingLengths: StaticArray<i32> = new StaticArray<i32>(MAX_FORMATS);
  ptime: i32 = 0;
  maxPtime: i32 = 0;
  direction: i32 = DIR_SENDRECV;
  rtcpMux: bool = false;
  rtcpPort: i32 = -1;
  readonly rtcpAddress: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  readonly audioAddress: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  readonly crypto: StaticArray<SdpCrypto> = new StaticArray<SdpCrypto>(MAX_CRYPTO);
  cryptoCount: i32 = 0;

  // Parse state: connections seen and direction attributes, per level (-1: none).
  private readonly sessionAddress: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  private readonly mediaAddress: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  private hasSessionAddress: bool = false;
  private hasMediaAddress: bool = false;
  private sessionDirection: i32 = -1;
  private mediaDirection: i32 = -1;

  constructor() {
    for (let i = 0; i < MAX_MEDIA; i++) unchecked(this.media[i] = new SdpMediaLine());
    for (let i = 0; i < MAX_CRYPTO; i++) unchecked(this.crypto[i] = new SdpCrypto());
  }

  @inline formatPt(i: i32): i32 { return unchecked(this.pts[i]); }
  @inline clockRate(i: i32): i32 { return unchecked(this.clocks[i]); }
  @inline channels(i: i32): i32 { return unchecked(this.channelCounts[i]); }
  @inline events(i: i32): u32 { return unchecked(this.eventMasks[i]); }
  @inline get audioAddressPtr(): usize { return changetype<usize>(this.audioAddress); }
  @inline get rtcpAddressPtr(): usize { return changetype<usize>(this.rtcpAddress); }

  /** Whether format i has an a=rtpmap naming this encoding (case-insensitive, RFC 4855). */
  encodingIs(i: i32, name: string): bool {
    if (i < 0 || i >= this.formatCount) return false;
    return spanIs(changetype<usize>(this.encodings) + <usize>(i * MAX_ENCODING), 0, unchecked(this.encodingLengths[i]), name, true);
  }

  /** Index of the audio format with payload type pt, or -1. */
  formatIndex(pt: i32): i32 {
    for (let i = 0; i < this.formatCount; i++) if (unchecked(this.pts[i]) == pt) return i;
    return -1;
  }

  parse(p: usize, len: i32): i32 {
    this.clear();
    if (len <= 0) return SDP_ERR_VERSION;
    let first = true;
    let section = -1; // -1: session level, else the m-line index
    let i = 0;
    while (i < len) {
      let e = i;
      while (e < len && load<u8>(p + <usize>e) != LF) e++;
      const next = e + 1;
      if (e > i && load<u8>(p + <usize>(e - 1)) == CR) e--;
      while (e > i && isBlank(load<u8>(p + <usize>(e - 1)))) e--; // trailing blanks are a common slip
      if (e == i) { i = next; continue; } // empty lines too
      for (let j = i; j < e; j++) { const c = load<u8>(p + <usize>j); if (c == 0 || c == CR) return SDP_ERR_LINE; }
      const type = load<u8>(p + <usize>i);
      if (e - i < 2 || load<u8>(p + <usize>(i + 1)) != 0x3d || type < 0x61 || type > 0x7a) return first ? SDP_ERR_VERSION : SDP_ERR_LINE;
      const v = i + 2;
      if (first) {
        if (type != 0x76 || e - v != 1 || load<u8>(p + <usize>v) != 0x30) return SDP_ERR_VERSION;
        first = false;
      } else {
        let r = SDP_OK;
        if (type == 0x76) r = SDP_ERR_VERSION;
        else if (type == 0x6f) r = this.origin(p, v, e, section);
        else if (type == 0x63) r = this.connection(p, v, e, section);
        else if (type == 0x6d) { r = this.mediaLine(p, v, e); section = this.mediaCount - 1; }
        else if (type == 0x61) r = this.attribute(p, v, e, section);
        if (r != SDP_OK) return r;
      }
      i = next;
    }
    if (first) return SDP_ERR_VERSION;
    if (!this.hasOrigin) return SDP_ERR_ORIGIN;
    if (this.audioIndex < 0) return SDP_OK;
    // c= of the media section wins over the session's (RFC 8866 §5.7).
    if (this.hasMediaAddress) memory.copy(this.audioAddressPtr, changetype<usize>(this.mediaAddress), SOCKADDR_BYTES);
    else if (this.hasSessionAddress) memory.copy(this.audioAddressPtr, changetype<usize>(this.sessionAddress), SOCKADDR_BYTES);
    else return SDP_ERR_CONNECTION;
    setSockaddrPort(this.audioAddressPtr, unchecked(this.media[this.audioIndex]).port);
    this.direction = this.mediaDirection >= 0 ? this.mediaDirection : this.sessionDirection >= 0 ? this.sessionDirection : DIR_SENDRECV;
    return SDP_OK;
  }

  private clear(): void {
    this.hasOrigin = false;
    this.originUserLength = 0;
    this.sessionIdLength = 0;
    this.sessionVersion = 0;
    memory.fill(changetype<usize>(this.originAddress), 0, SOCKADDR_BYTES);
    this.mediaCount = 0;
    this.audioIndex = -1;
    this.hasSessionAddress = false;
    this.sessionDirection = -1;
    this.clearAudio();
  }

  /** Forgets the audio stream's details (a better audio m-line was found). */
  clearAudio(): void {
    this.formatCount = 0;
    this.ptime = 0;
    this.maxPtime = 0;
    this.direction = DIR_SENDRECV;
    this.mediaDirection = -1;
    this.rtcpMux = false;
    this.rtcpPort = -1;
    this.cryptoCount = 0;
    this.hasMediaAddress = false;
    memory.fill(this.rtcpAddressPtr, 0, SOCKADDR_BYTES);
    memory.fill(this.audioAddressPtr, 0, SOCKADDR_BYTES);
  }

  /** Records the rtpmap of payload type pt (ignored when pt is not in the m-line). */
  setRtpmap(pt: i32, name: usize, nameLength: i32, clock: i32, channels: i32): void {
    const f = this.formatIndex(pt);
    if (f < 0) return;
    const n = nameLength <= MAX_ENCODING ? nameLength : 0;
    memory.copy(changetype<usize>(this.encodings) + <usize>(f * MAX_ENCODING), name, <usize>n);
    unchecked(this.encodingLengths[f] = n);
    unchecked(this.clocks[f] = clock);
    unchecked(this.channelCounts[f] = channels);
  }

  setEvents(pt: i32, mask: u32): void {
    const f = this.formatIndex(pt);
    if (f >= 0) unchecked(this.eventMasks[f] = mask);
  }

  /** Appends a payload type of the audio m-line (beyond MAX_FORMATS they are dropped). */
  addFormat(pt: i32): void {
    if (this.formatCount >= MAX_FORMATS) return;
    const f = this.formatCount++;
    unchecked(this.pts[f] = pt);
    unchecked(this.clocks[f] = 0);
    unchecked(this.channelCounts[f] = 1);
    unchecked(this.eventMasks[f] = 0xffff); // RFC 4733 §2.4.1: no fmtp means events 0-15
    unchecked(this.encodingLengths[f] = 0);
  }

  /** The next free crypto slot, or null when MAX_CRYPTO are kept already. */
  nextCrypto(): SdpCrypto | null {
    if (this.cryptoCount >= MAX_CRYPTO) return null;
    return unchecked(this.crypto[this.cryptoCount++]);
  }

  private origin(p: usize, i: i32, end: i32, section: i32): i32 {
    if (section >= 0 || this.hasOrigin) return SDP_ERR_ORIGIN;
    // username sess-id sess-version nettype addrtype unicast-address
    const u0 = skipSpaces(p, i, end), u1 = fieldEnd(p, u0, end);
    const s0 = skipSpaces(p, u1, end), s1 = fieldEnd(p, s0, end);
    const v0 = skipSpaces(p, s1, end), v1 = fieldEnd(p, v0, end);
    if (u1 == u0 || s1 == s0 || s1 - s0 > MAX_ORIGIN_FIELD || v1 == v0 || v1 - v0 > 20) return SDP_ERR_ORIGIN;
    let version: u64 = 0;
    for (let j = s0; j < v1; j++) {
      const c = <u32>load<u8>(p + <usize>j);
      if (j >= s1 && j < v0) continue;
      if (c < 0x30 || c > 0x39) return SDP_ERR_ORIGIN;
      if (j >= v0) {
        const next = version * 10 + <u64>(c - 0x30);
        if (next / 10 != version) return SDP_ERR_ORIGIN; // overflow
        version = next;
      }
    }
    const sa = changetype<usize>(this.originAddress);
    if (parseAddressFields(p, v1, end, sa) < 0) return SDP_ERR_ORIGIN;
    this.originUserLength = min(u1 - u0, MAX_ORIGIN_FIELD);
    memory.copy(changetype<usize>(this.originUser), p + <usize>u0, <usize>this.originUserLength);
    this.sessionIdLength = s1 - s0;
    memory.copy(changetype<usize>(this.sessionId), p + <usize>s0, <usize>this.sessionIdLength);
    this.sessionVersion = version;
    this.hasOrigin = true;
    return SDP_OK;
  }

  private connection(p: usize, i: i32, end: i32, section: i32): i32 {
    let target = changetype<usize>(this.sessionAddress);
    if (section >= 0) target = section == this.audioIndex ? changetype<usize>(this.mediaAddress) : changetype<usize>(this.rtcpScratch);
    if (parseAddressFields(p, i, end, target) < 0) return SDP_ERR_CONNECTION;
    if (section < 0) this.hasSessionAddress = true;
    else if (section == this.audioIndex) this.hasMediaAddress = true;
    return SDP_OK;
  }

  private readonly rtcpScratch: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES); // c= of streams we do not keep

  private mediaLine(p: usize, i: i32, end: i32): i32 {
    if (this.mediaCount >= MAX_MEDIA) return SDP_ERR_TOO_MANY_MEDIA;
    const m = unchecked(this.media[this.mediaCount]);
    const r = parseMediaLine(p, i, end, m);
    if (r != SDP_OK) return r;
    const index = this.mediaCount++;
    if (m.kind != MEDIA_AUDIO || m.port == 0) return SDP_OK;
    const supported = m.proto == PROTO_RTP_AVP || m.proto == PROTO_RTP_SAVP;
    if (this.audioIndex >= 0) {
      const chosen = unchecked(this.media[this.audioIndex]).proto;
      if (!supported || chosen == PROTO_RTP_AVP || chosen == PROTO_RTP_SAVP) return SDP_OK;
    }
    this.clearAudio();
    this.audioIndex = index;
    if (m.proto == PROTO_OTHER) return SDP_OK; // formats are not payload types
    // Payload types, from the line itself (the copy in m may be cut short).
    let j = skipSpaces(p, fieldEnd(p, skipSpaces(p, fieldEnd(p, skipSpaces(p, fieldEnd(p, i, end), end), end), end), end), end);
    while (j < end) {
      const f = fieldEnd(p, j, end);
      let pt = 0;
      for (let k = j; k < f; k++) {
        const c = <i32>load<u8>(p + <usize>k);
        if (c < 0x30 || c > 0x39 || f - j > 3) return SDP_ERR_MEDIA;
        pt = pt * 10 + c - 0x30;
      }
      if (pt > 127) return SDP_ERR_MEDIA;
      this.addFormat(pt);
      j = skipSpaces(p, f, end);
    }
    return SDP_OK;
  }

  private attribute(p: usize, i: i32, end: i32, section: i32): i32 {
    let colon = i;
    while (colon < end && load<u8>(p + <usize>colon) != 0x3a) colon++;
    const value = colon < end ? colon + 1 : end;
    const dir = directionOf(p, i, colon);
    if (section < 0) {
      if (dir >= 0) this.sessionDirection = dir;
      return SDP_OK;
    }
    if (section != this.audioIndex) return SDP_OK;
    if (dir >= 0) { this.mediaDirection = dir; return SDP_OK; }
    if (spanIs(p, i, colon, "rtpmap", true)) return parseRtpmap(p, value, end, this);
    if (spanIs(p, i, colon, "fmtp", true)) return parseFmtp(p, value, end, this);
    if (spanIs(p, i, colon, "ptime", true)) { this.ptime = parsePtime(p, value, end); return this.ptime > 0 ? SDP_OK : SDP_ERR_ATTRIBUTE; }
    if (spanIs(p, i, colon, "maxptime", true)) { this.maxPtime = parsePtime(p, value, end); return this.maxPtime > 0 ? SDP_OK : SDP_ERR_ATTRIBUTE; }
    if (spanIs(p, i, colon, "rtcp-mux", true)) { this.rtcpMux = true; return SDP_OK; }
    if (spanIs(p, i, colon, "rtcp", true)) return parseRtcp(p, value, end, this);
    if (spanIs(p, i, colon, "crypto", true)) { const c = this.nextCrypto(); if (c) parseCrypto(p, value, end, c); }
    return SDP_OK;
  }
}

@inline function isBlank(c: u32): bool { return c == 0x20 || c == 0x09; }

function directionOf(p: usize, i: i32, end: i32): i32 {
  if (spanIs(p, i, end, "sendrecv", true)) return DIR_SENDRECV;
  if (spanIs(p, i, end, "sendonly", true)) return DIR_SENDONLY;
  if (spanIs(p, i, end, "recvonly", true)) return DIR_RECVONLY;
  if (spanIs(p, i, end, "inactive", true)) return DIR_INACTIVE;
  return -1;
}

/** Checks a decoded key against its suite; used by the crypto line parser. */
export function keyFits(suite: i32, length: i32): bool { return length == suiteKeySaltLength(suite); }

export { base64Decode };
