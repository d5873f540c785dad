// SDP parsing (RFC 8866) for an audio call, into fixed storage: nothing is allocated per body,
// every count is bounded, every string is a bounded copy. Lines end with CRLF or a lone LF.
// Every m-line is recorded (type, port, proto, formats) so an answer can reject what we do not
// carry; the details (rtpmap, fmtp, ptime, direction, rtcp-mux, rtcp, SDES crypto) are kept for
// one audio stream: the first audio m-line with a non-zero port and an RTP/AVP or RTP/SAVP proto,
// else the first with a non-zero port (the negotiator then refuses its proto). Unknown lines and
// attributes are ignored; the ones we rely on are refused when malformed.
//
// API:
//   SdpSession.parse(p, len): i32     SDP_OK or a negative SDP_ERR_* (then mediaCount is 0 and
//     audioIndex -1: nothing half-parsed can be negotiated); after SDP_OK, on the session:
//     originUser/originUserLength, sessionId/sessionIdLength (text), sessionVersion (u64),
//     originAddress (SOCKADDR, family 0 unless a literal); mediaCount, media[i] (SdpMediaLine);
//     audioIndex (-1: none) and the audio stream: formatCount, formatPt(i), formatIndex(pt),
//     encodingIs(i, name), clockRate(i) (0: no rtpmap), channels(i), events(i) (telephone-event
//     mask of events 0..31), ptime / maxPtime (0: absent), direction (DIR_*, session default
//     applied), rtcpMux, rtcpPort (-1: absent), rtcpAddress (SOCKADDR; family 0: the RTP
//     address), audioAddress (SOCKADDR of RTP, port set; family 0: no usable unicast literal),
//     cryptoCount, crypto[i] (SdpCrypto: tag, suite, status CRYPTO_*, key||salt);
//     ice (IceDescription, net/ice-sdp.ts: credentials, lite, candidates of the audio stream).
//   suiteFromName(p, len) / suiteName(suite)   SDES suite names <-> srtp-defs ids (0 / "": unknown)
//   suiteKeySaltLength(suite)                   bytes of master key + master salt
//   addressUnspecified(sa)                      0.0.0.0 or :: (RFC 2543 hold)

import { parseDecimal } from "./message";
import { parseIpv4, parseIpv6, SOCKADDR_BYTES, FAMILY_IPV4, FAMILY_IPV6, setSockaddrPort } from "../lib/inet";
import { base64Decode, BASE64_BAD_INPUT } from "../lib/base64";
import {
  AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32, AEAD_AES_128_GCM, AEAD_AES_256_GCM, suiteKeyLength, suiteSaltLength,
} from "../media/srtp-defs";
import { IceDescription, iceAttribute, ICE_ATTR_OK } from "../net/ice-sdp";

export const SDP_OK: i32 = 0;
export const SDP_ERR_VERSION: i32 = -1;        // empty, or the first line is not v=0 (or v= again)
export const SDP_ERR_LINE: i32 = -2;           // a line is not <letter>=..., or holds NUL / a bare CR
export const SDP_ERR_ORIGIN: i32 = -3;         // o= missing, repeated, in a media section, or malformed
export const SDP_ERR_CONNECTION: i32 = -4;     // c= malformed, or the audio stream has no c= at all
export const SDP_ERR_MEDIA: i32 = -5;          // m= malformed (fields, port, payload types)
export const SDP_ERR_TOO_MANY_MEDIA: i32 = -6; // more than MAX_MEDIA m-lines: we could not answer them all
export const SDP_ERR_ATTRIBUTE: i32 = -7;      // a malformed rtpmap / fmtp / ptime / maxptime / rtcp
export const SDP_ERR_ICE: i32 = -8;            // a malformed ice-ufrag / ice-pwd (candidate lines never fail)

// Directions as two bits, so an answer is a mask: send = 1, receive = 2.
export const DIR_INACTIVE: i32 = 0;
export const DIR_SENDONLY: i32 = 1;
export const DIR_RECVONLY: i32 = 2;
export const DIR_SENDRECV: i32 = 3;

export const PROTO_OTHER: i32 = 0;      // not RTP: formats are not payload types
export const PROTO_RTP_AVP: i32 = 1;
export const PROTO_RTP_SAVP: i32 = 2;
export const PROTO_RTP_AVPF: i32 = 3;   // RTP-based: recorded, not supported
export const PROTO_RTP_SAVPF: i32 = 4;
export const PROTO_DTLS_SRTP: i32 = 5;  // UDP/TLS/RTP/SAVP and UDP/TLS/RTP/SAVPF

export const MEDIA_OTHER: i32 = 0;
export const MEDIA_AUDIO: i32 = 1;
export const MEDIA_VIDEO: i32 = 2;

// Why a crypto line cannot be used (SdpCrypto.status).
export const CRYPTO_OK: i32 = 0;
export const CRYPTO_MALFORMED: i32 = 1;     // tag, fields or lifetime do not parse
export const CRYPTO_UNKNOWN_SUITE: i32 = 2;
export const CRYPTO_BAD_KEY: i32 = 3;       // not "inline:", or the key is not valid base64
export const CRYPTO_KEY_LENGTH: i32 = 4;    // key||salt is not the suite's length
export const CRYPTO_MKI: i32 = 5;           // an MKI, or several keys (which need MKIs): not supported
export const CRYPTO_SESSION_PARAM: i32 = 6; // a session parameter other than WSH

export const MAX_MEDIA: i32 = 8;
export const MAX_FORMATS: i32 = 16;       // payload types kept for the audio stream; more are dropped
export const MAX_CRYPTO: i32 = 8;         // crypto lines kept; later ones are ignored
export const MAX_KEY_SALT: i32 = 46;      // the largest key||salt stored (32 + 14)
export const MAX_ENCODING: i32 = 24;      // longer encoding names match nothing
export const MAX_MEDIA_TYPE: i32 = 16;
export const MAX_PROTO: i32 = 32;
export const MAX_FORMAT_TEXT: i32 = 64;   // whole formats kept to echo in a rejecting answer
export const MAX_ORIGIN_FIELD: i32 = 32;

const LF: u32 = 10, CR: u32 = 13, SP: u32 = 32, HT: u32 = 9;

@inline function at(p: usize, i: i32): u32 { return load<u8>(p + <usize>i); }
@inline function isBlank(c: u32): bool { return c == SP || c == HT; }
@inline function lower(c: u32): u32 { return c >= 0x41 && c <= 0x5a ? c | 0x20 : c; }

function skipSpaces(p: usize, i: i32, end: i32): i32 { while (i < end && isBlank(at(p, i))) i++; return i; }
function fieldEnd(p: usize, i: i32, end: i32): i32 { while (i < end && !isBlank(at(p, i))) i++; return i; }
function scanTo(p: usize, i: i32, end: i32, c: u32): i32 { while (i < end && at(p, i) != c) i++; return i; }

/** Whether [i, end) is the ASCII string s. */
function spanIs(p: usize, i: i32, end: i32, s: string, caseless: bool): bool {
  if (end - i != s.length) return false;
  for (let k = 0; k < s.length; k++) {
    const c = at(p, i + k), d = <u32>s.charCodeAt(k);
    if (caseless ? lower(c) != lower(d) : c != d) return false;
  }
  return true;
}

/** One m-line as written: enough to reject it in an answer (RFC 3264 §6: port 0, same proto and formats). */
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

/** One a=crypto line of the audio stream (RFC 4568 §9.1). */
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

export function suiteKeySaltLength(suite: i32): i32 { return suiteKeyLength(suite) + suiteSaltLength(suite); }

/** Whether a SOCKADDR holds the unspecified address (0.0.0.0 or ::): RFC 2543 hold. */
export function addressUnspecified(sa: usize): bool {
  for (let i = 4; i < SOCKADDR_BYTES; i++) if (load<u8>(sa + <usize>i) != 0) return false;
  return load<u8>(sa) != 0;
}

/**
 * Fills the SOCKADDR sa (port 0) from "nettype addrtype address" in [i, end). Returns 1 for a
 * unicast IN IP4/IP6 literal; 0 when well-formed but unusable (multicast, "/ttl", a host name,
 * another network type), sa's family then 0; -1 when it is not three fields.
 */
function parseAddressFields(p: usize, i: i32, end: i32, sa: usize): i32 {
  memory.fill(sa, 0, SOCKADDR_BYTES);
  const n0 = skipSpaces(p, i, end), n1 = fieldEnd(p, n0, end);
  const t0 = skipSpaces(p, n1, end), t1 = fieldEnd(p, t0, end);
  const a0 = skipSpaces(p, t1, end), a1 = fieldEnd(p, a0, end);
  if (n1 == n0 || t1 == t0 || a1 == a0 || skipSpaces(p, a1, end) != end) return -1;
  if (!spanIs(p, n0, n1, "IN", true)) return 0;
  const out = sa + 4;
  const ipv4 = spanIs(p, t0, t1, "IP4", true);
  if (!ipv4 && !spanIs(p, t0, t1, "IP6", true)) return 0;
  const ok = ipv4 ? parseIpv4(p + <usize>a0, a1 - a0, out) && (load<u8>(out) & 0xf0) != 0xe0
                  : parseIpv6(p + <usize>a0, a1 - a0, out) && load<u8>(out) != 0xff;
  if (!ok) { memory.fill(out, 0, 16); return 0; }
  store<u8>(sa, ipv4 ? FAMILY_IPV4 : FAMILY_IPV6);
  return 1;
}

function directionOf(p: usize, i: i32, end: i32): i32 {
  if (spanIs(p, i, end, "sendrecv", true)) return DIR_SENDRECV;
  if (spanIs(p, i, end, "sendonly", true)) return DIR_SENDONLY;
  if (spanIs(p, i, end, "recvonly", true)) return DIR_RECVONLY;
  if (spanIs(p, i, end, "inactive", true)) return DIR_INACTIVE;
  return -1;
}

function protoOf(p: usize, i: i32, end: i32): i32 {
  if (spanIs(p, i, end, "RTP/AVP", true)) return PROTO_RTP_AVP;
  if (spanIs(p, i, end, "RTP/SAVP", true)) return PROTO_RTP_SAVP;
  if (spanIs(p, i, end, "RTP/AVPF", true)) return PROTO_RTP_AVPF;
  if (spanIs(p, i, end, "RTP/SAVPF", true)) return PROTO_RTP_SAVPF;
  if (spanIs(p, i, end, "UDP/TLS/RTP/SAVP", true) || spanIs(p, i, end, "UDP/TLS/RTP/SAVPF", true)) return PROTO_DTLS_SRTP;
  return PROTO_OTHER;
}

/** ptime / maxptime: milliseconds, an integer or a real (RFC 8866 §6.4); the whole part, or -1. */
function parseMilliseconds(p: usize, i: i32, end: i32): i32 {
  const dot = scanTo(p, i, end, 0x2e);
  if (dot < end && parseDecimal(p, dot + 1, end, 999999) < 0) return -1;
  const v = parseDecimal(p, i, dot, 10000);
  return v > 0 ? <i32>v : -1;
}

/** RFC 4733 §2.4.1 event list ("0-15,66"): a mask of events 0..31, or 0 when it is not such a list. */
function eventMask(p: usize, i: i32, end: i32): u32 {
  if (i >= end) return 0;
  let mask: u32 = 0;
  while (i <= end) {
    const k = scanTo(p, i, end, 0x2c);
    const dash = scanTo(p, i, k, 0x2d);
    const lo = parseDecimal(p, i, dash, 255);
    const hi = dash < k ? parseDecimal(p, dash + 1, k, 255) : lo;
    if (lo < 0 || hi < lo) return 0;
    for (let e = <i32>lo; e <= <i32>min(hi, 31); e++) mask |= (<u32>1) << <u32>e;
    if (k == end) break;
    i = k + 1;
  }
  return mask;
}

/** RFC 4568 lifetime: ["2^"] 1*DIGIT. */
function lifetimeValid(p: usize, i: i32, end: i32): bool {
  if (end - i > 2 && at(p, i) == 0x32 && at(p, i + 1) == 0x5e) i += 2;
  return parseDecimal(p, i, end, (<i64>1) << 62) >= 0;
}

/** Fills c from "tag suite inline:key[|lifetime][|mki:len] [params]"; a line we cannot use gets its reason in status. */
function parseCrypto(p: usize, i: i32, end: i32, c: SdpCrypto): void {
  c.tag = -1; c.suite = 0; c.keyLength = 0; c.status = CRYPTO_MALFORMED;
  const t0 = skipSpaces(p, i, end), t1 = fieldEnd(p, t0, end);
  const s0 = skipSpaces(p, t1, end), s1 = fieldEnd(p, s0, end);
  const k0 = skipSpaces(p, s1, end), k1 = fieldEnd(p, k0, end);
  const tag = parseDecimal(p, t0, t1, 999999999);
  if (tag < 0 || k1 == k0) return;
  c.tag = <i32>tag;
  c.suite = suiteFromName(p + <usize>s0, s1 - s0);
  if (c.suite == 0) { c.status = CRYPTO_UNKNOWN_SUITE; return; }
  if (k1 - k0 < 7 || !spanIs(p, k0, k0 + 7, "inline:", true)) { c.status = CRYPTO_BAD_KEY; return; }
  if (scanTo(p, k0, k1, 0x3b) < k1) { c.status = CRYPTO_MKI; return; } // ";": several keys
  const keyEnd = scanTo(p, k0 + 7, k1, 0x7c);
  for (let f = keyEnd; f < k1;) {
    const f1 = scanTo(p, f + 1, k1, 0x7c);
    if (scanTo(p, f + 1, f1, 0x3a) < f1) { c.status = CRYPTO_MKI; return; }
    if (!lifetimeValid(p, f + 1, f1)) return;
    f = f1;
  }
  const n = base64Decode(p + <usize>(k0 + 7), keyEnd - k0 - 7, c.keyAddress, MAX_KEY_SALT);
  if (n == BASE64_BAD_INPUT) { c.status = CRYPTO_BAD_KEY; return; }
  if (n != suiteKeySaltLength(c.suite)) { c.status = CRYPTO_KEY_LENGTH; return; }
  c.keyLength = n;
  for (let j = skipSpaces(p, k1, end); j < end;) {
    const e = fieldEnd(p, j, end);
    // WSH (a window size hint) changes nothing for us; anything else changes the transform.
    if (e - j < 5 || !spanIs(p, j, j + 4, "WSH=", false) || parseDecimal(p, j + 4, e, 1073741824) < 0) { c.status = CRYPTO_SESSION_PARAM; return; }
    j = skipSpaces(p, e, end);
  }
  c.status = CRYPTO_OK;
}

export class SdpSession {
  readonly originUser: StaticArray<u8> = new StaticArray<u8>(MAX_ORIGIN_FIELD); // cut to MAX_ORIGIN_FIELD
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
  private readonly pts: StaticArray<i32> = new StaticArray<i32>(MAX_FORMATS);
  private readonly clocks: StaticArray<i32> = new StaticArray<i32>(MAX_FORMATS);
  private readonly channelCounts: StaticArray<i32> = new StaticArray<i32>(MAX_FORMATS);
  private readonly eventMasks: StaticArray<u32> = new StaticArray<u32>(MAX_FORMATS);
  private readonly encodings: StaticArray<u8> = new StaticArray<u8>(MAX_FORMATS * MAX_ENCODING);
  private readonly encodingLengths: StaticArray<i32> = new StaticArray<i32>(MAX_FORMATS);
  ptime: i32 = 0;
  maxPtime: i32 = 0;
  direction: i32 = DIR_SENDRECV;
  rtcpMux: bool = false;
  rtcpPort: i32 = -1;
  readonly rtcpAddress: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  readonly audioAddress: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  readonly crypto: StaticArray<SdpCrypto> = new StaticArray<SdpCrypto>(MAX_CRYPTO);
  cryptoCount: i32 = 0;
  readonly ice: IceDescription = new IceDescription();

  // Parse state: c= per level, direction attributes per level (-1: none seen).
  private readonly sessionAddress: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  private readonly mediaAddress: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  private readonly otherAddress: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES); // streams we do not keep
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

  /** Whether audio format i has an a=rtpmap with this encoding name (case-insensitive). */
  encodingIs(i: i32, name: string): bool {
    if (i < 0 || i >= this.formatCount) return false;
    return spanIs(changetype<usize>(this.encodings) + <usize>(i * MAX_ENCODING), 0, unchecked(this.encodingLengths[i]), name, true);
  }

  /** Index of the audio format with payload type pt, or -1. */
  formatIndex(pt: i32): i32 {
    for (let i = 0; i < this.formatCount; i++) if (unchecked(this.pts[i]) == pt) return i;
    return -1;
  }

  /** On an error no media is left (mediaCount 0, audioIndex -1), so nothing half-parsed is negotiated. */
  parse(p: usize, len: i32): i32 {
    const r = this.parseLines(p, len);
    if (r != SDP_OK) { this.mediaCount = 0; this.audioIndex = -1; this.ice.clear(); }
    return r;
  }

  private parseLines(p: usize, len: i32): i32 {
    this.clear();
    if (len <= 0) return SDP_ERR_VERSION;
    let first = true;
    let section = -1; // -1: the session level, else the index of the current m-line
    for (let i = 0; i < len;) {
      let e = scanTo(p, i, len, LF);
      const next = e + 1;
      if (e > i && at(p, e - 1) == CR) e--;
      while (e > i && isBlank(at(p, e - 1))) e--; // trailing blanks are a common slip
      if (e == i) { i = next; continue; }        // so are empty lines
      for (let j = i; j < e; j++) { const c = at(p, j); if (c == 0 || c == CR) return SDP_ERR_LINE; }
      const type = at(p, i);
      if (e - i < 2 || at(p, i + 1) != 0x3d || type < 0x61 || type > 0x7a) return first ? SDP_ERR_VERSION : SDP_ERR_LINE;
      const v = i + 2;
      let r = SDP_OK;
      if (first) {
        if (type != 0x76 || e - v != 1 || at(p, v) != 0x30) return SDP_ERR_VERSION;
        first = false;
      } else if (type == 0x76) r = SDP_ERR_VERSION;
      else if (type == 0x6f) r = this.origin(p, v, e, section);
      else if (type == 0x63) r = this.connection(p, v, e, section);
      else if (type == 0x6d) { r = this.mediaLine(p, v, e); section = this.mediaCount - 1; }
      else if (type == 0x61) r = this.attribute(p, v, e, section);
      if (r != SDP_OK) return r;
      i = next;
    }
    if (first) return SDP_ERR_VERSION;
    if (!this.hasOrigin) return SDP_ERR_ORIGIN;
    if (this.audioIndex < 0) return SDP_OK;
    // The media section's c= wins over the session's (RFC 8866 §5.7).
    if (this.hasMediaAddress) memory.copy(this.audioAddressPtr, changetype<usize>(this.mediaAddress), SOCKADDR_BYTES);
    else if (this.hasSessionAddress) memory.copy(this.audioAddressPtr, changetype<usize>(this.sessionAddress), SOCKADDR_BYTES);
    else return SDP_ERR_CONNECTION;
    if (load<u8>(this.audioAddressPtr) != 0) setSockaddrPort(this.audioAddressPtr, unchecked(this.media[this.audioIndex]).port);
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
    this.ice.clear();
    this.clearAudio();
  }

  /** Forgets the audio stream (none yet, or a better audio m-line came along). */
  private clearAudio(): void {
    this.formatCount = 0;
    this.ptime = 0;
    this.maxPtime = 0;
    this.direction = DIR_SENDRECV;
    this.mediaDirection = -1;
    this.rtcpMux = false;
    this.rtcpPort = -1;
    this.cryptoCount = 0;
    this.ice.clearMedia(); // session-level ICE values survive
    this.hasMediaAddress = false;
    memory.fill(this.rtcpAddressPtr, 0, SOCKADDR_BYTES);
    memory.fill(this.audioAddressPtr, 0, SOCKADDR_BYTES);
  }

  private origin(p: usize, i: i32, end: i32, section: i32): i32 {
    if (section >= 0 || this.hasOrigin) return SDP_ERR_ORIGIN;
    // username sess-id sess-version nettype addrtype unicast-address
    const u0 = skipSpaces(p, i, end), u1 = fieldEnd(p, u0, end);
    const s0 = skipSpaces(p, u1, end), s1 = fieldEnd(p, s0, end);
    const v0 = skipSpaces(p, s1, end), v1 = fieldEnd(p, v0, end);
    if (u1 == u0 || s1 == s0 || s1 - s0 > MAX_ORIGIN_FIELD || v1 == v0 || v1 - v0 > 20) return SDP_ERR_ORIGIN;
    for (let j = s0; j < s1; j++) if (at(p, j) < 0x30 || at(p, j) > 0x39) return SDP_ERR_ORIGIN;
    let version: u64 = 0;
    for (let j = v0; j < v1; j++) {
      const c = at(p, j);
      if (c < 0x30 || c > 0x39) return SDP_ERR_ORIGIN;
      const next = version * 10 + <u64>(c - 0x30);
      if (next / 10 != version) return SDP_ERR_ORIGIN; // above 2^64 - 1
      version = next;
    }
    if (parseAddressFields(p, v1, end, changetype<usize>(this.originAddress)) < 0) return SDP_ERR_ORIGIN;
    this.originUserLength = min(u1 - u0, MAX_ORIGIN_FIELD);
    memory.copy(changetype<usize>(this.originUser), p + <usize>u0, <usize>this.originUserLength);
    this.sessionIdLength = s1 - s0;
    memory.copy(changetype<usize>(this.sessionId), p + <usize>s0, <usize>this.sessionIdLength);
    this.sessionVersion = version;
    this.hasOrigin = true;
    return SDP_OK;
  }

  private connection(p: usize, i: i32, end: i32, section: i32): i32 {
    const kept = section == this.audioIndex;
    const target = section < 0 ? this.sessionAddress : kept ? this.mediaAddress : this.otherAddress;
    if (parseAddressFields(p, i, end, changetype<usize>(target)) < 0) return SDP_ERR_CONNECTION;
    if (section < 0) this.hasSessionAddress = true;
    else if (kept) this.hasMediaAddress = true;
    return SDP_OK;
  }

  private mediaLine(p: usize, i: i32, end: i32): i32 {
    if (this.mediaCount >= MAX_MEDIA) return SDP_ERR_TOO_MANY_MEDIA;
    // media port[/count] proto fmt...
    const t0 = skipSpaces(p, i, end), t1 = fieldEnd(p, t0, end);
    const n0 = skipSpaces(p, t1, end), n1 = fieldEnd(p, n0, end);
    const r0 = skipSpaces(p, n1, end), r1 = fieldEnd(p, r0, end);
    const f0 = skipSpaces(p, r1, end);
    if (t1 == t0 || t1 - t0 > MAX_MEDIA_TYPE || r1 == r0 || r1 - r0 > MAX_PROTO || f0 >= end) return SDP_ERR_MEDIA;
    const slash = scanTo(p, n0, n1, 0x2f);
    const port = parseDecimal(p, n0, slash, 65535);
    if (port < 0 || (slash < n1 && parseDecimal(p, slash + 1, n1, 65535) < 1)) return SDP_ERR_MEDIA;
    const m = unchecked(this.media[this.mediaCount]);
    m.port = <i32>port;
    m.kind = spanIs(p, t0, t1, "audio", true) ? MEDIA_AUDIO : spanIs(p, t0, t1, "video", true) ? MEDIA_VIDEO : MEDIA_OTHER;
    m.proto = protoOf(p, r0, r1);
    m.typeLength = t1 - t0;
    memory.copy(changetype<usize>(m.typeText), p + <usize>t0, <usize>m.typeLength);
    m.protoLength = r1 - r0;
    memory.copy(changetype<usize>(m.protoText), p + <usize>r0, <usize>m.protoLength);
    m.formatLength = 0;
    for (let j = f0; j < end;) {
      const f = fieldEnd(p, j, end);
      const at0 = m.formatLength == 0 ? 0 : m.formatLength + 1;
      if (at0 + f - j > MAX_FORMAT_TEXT) break;
      if (at0 > 0) unchecked(m.formatText[m.formatLength] = <u8>SP);
      memory.copy(changetype<usize>(m.formatText) + <usize>at0, p + <usize>j, <usize>(f - j));
      m.formatLength = at0 + f - j;
      j = skipSpaces(p, f, end);
    }
    if (m.formatLength == 0) return SDP_ERR_MEDIA;
    const index = this.mediaCount++;
    if (m.kind != MEDIA_AUDIO || m.port == 0) return SDP_OK;
    if (this.audioIndex >= 0 && (!supported(m.proto) || supported(unchecked(this.media[this.audioIndex]).proto))) return SDP_OK;
    this.clearAudio();
    this.audioIndex = index;
    if (m.proto == PROTO_OTHER) return SDP_OK;
    for (let j = f0; j < end;) {
      const f = fieldEnd(p, j, end);
      const pt = parseDecimal(p, j, f, 127);
      if (pt < 0) return SDP_ERR_MEDIA;
      if (this.formatCount < MAX_FORMATS) {
        const k = this.formatCount++;
        unchecked(this.pts[k] = <i32>pt);
        unchecked(this.clocks[k] = 0);
        unchecked(this.channelCounts[k] = 1);
        unchecked(this.eventMasks[k] = 0xffff); // RFC 4733 §2.4.1: no fmtp means events 0-15
        unchecked(this.encodingLengths[k] = 0);
      }
      j = skipSpaces(p, f, end);
    }
    return SDP_OK;
  }

  private attribute(p: usize, i: i32, end: i32, section: i32): i32 {
    const colon = scanTo(p, i, end, 0x3a);
    const value = colon < end ? colon + 1 : end;
    const dir = directionOf(p, i, colon);
    if (section < 0) {
      if (iceAttribute(p, i, colon, value, end, true, this.ice) < 0) return SDP_ERR_ICE;
      if (dir >= 0) this.sessionDirection = dir;
      return SDP_OK;
    }
    if (section != this.audioIndex || unchecked(this.media[section]).proto == PROTO_OTHER) return SDP_OK;
    const ice = iceAttribute(p, i, colon, value, end, false, this.ice);
    if (ice < 0) return SDP_ERR_ICE;
    if (ice == ICE_ATTR_OK) return SDP_OK;
    if (dir >= 0) { this.mediaDirection = dir; return SDP_OK; }
    if (spanIs(p, i, colon, "rtpmap", true)) return this.rtpmap(p, value, end);
    if (spanIs(p, i, colon, "fmtp", true)) {
      const f = fieldEnd(p, value, end);
      const pt = parseDecimal(p, value, f, 127);
      if (pt < 0) return SDP_ERR_ATTRIBUTE;
      const k = this.formatIndex(<i32>pt);
      if (k >= 0) unchecked(this.eventMasks[k] = eventMask(p, skipSpaces(p, f, end), end));
      return SDP_OK;
    }
    if (spanIs(p, i, colon, "ptime", true)) { this.ptime = parseMilliseconds(p, value, end); return this.ptime > 0 ? SDP_OK : SDP_ERR_ATTRIBUTE; }
    if (spanIs(p, i, colon, "maxptime", true)) { this.maxPtime = parseMilliseconds(p, value, end); return this.maxPtime > 0 ? SDP_OK : SDP_ERR_ATTRIBUTE; }
    if (spanIs(p, i, colon, "rtcp-mux", true)) { this.rtcpMux = true; return SDP_OK; }
    if (spanIs(p, i, colon, "rtcp", true)) {
      // RFC 3605: port [nettype addrtype address]
      const f = fieldEnd(p, value, end);
      const port = parseDecimal(p, value, f, 65535);
      const rest = skipSpaces(p, f, end);
      if (port < 0 || (rest < end && parseAddressFields(p, rest, end, this.rtcpAddressPtr) < 0)) return SDP_ERR_ATTRIBUTE;
      if (rest == end) memory.fill(this.rtcpAddressPtr, 0, SOCKADDR_BYTES);
      this.rtcpPort = <i32>port;
      return SDP_OK;
    }
    if (spanIs(p, i, colon, "crypto", true) && this.cryptoCount < MAX_CRYPTO) parseCrypto(p, value, end, unchecked(this.crypto[this.cryptoCount++]));
    return SDP_OK;
  }

  /** a=rtpmap:pt name/clock[/channels]; ignored when pt is not in the m-line. */
  private rtpmap(p: usize, i: i32, end: i32): i32 {
    const f = fieldEnd(p, i, end);
    const pt = parseDecimal(p, i, f, 127);
    const n0 = skipSpaces(p, f, end), n1 = fieldEnd(p, n0, end);
    const s1 = scanTo(p, n0, n1, 0x2f);
    const s2 = scanTo(p, s1 + 1, n1, 0x2f);
    if (pt < 0 || s1 == n0 || s1 >= n1 || skipSpaces(p, n1, end) != end) return SDP_ERR_ATTRIBUTE;
    const clock = parseDecimal(p, s1 + 1, s2, 1000000000);
    const channels = s2 < n1 ? parseDecimal(p, s2 + 1, n1, 255) : 1;
    if (clock < 1 || channels < 1) return SDP_ERR_ATTRIBUTE;
    const k = this.formatIndex(<i32>pt);
    if (k < 0) return SDP_OK;
    const n = s1 - n0 <= MAX_ENCODING ? s1 - n0 : 0;
    memory.copy(changetype<usize>(this.encodings) + <usize>(k * MAX_ENCODING), p + <usize>n0, <usize>n);
    unchecked(this.encodingLengths[k] = n);
    unchecked(this.clocks[k] = <i32>clock);
    unchecked(this.channelCounts[k] = <i32>channels);
    return SDP_OK;
  }
}

@inline function supported(proto: i32): bool { return proto == PROTO_RTP_AVP || proto == PROTO_RTP_SAVP; }
