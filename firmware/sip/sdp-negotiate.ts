// SDP offer/answer (RFC 3264) for one audio stream: G.722 / PCMU / PCMA in a configured order,
// telephone-event (RFC 4733), rtcp-mux (RFC 5761) and SDES-SRTP (RFC 4568). It writes our offers
// and answers, checks the peer's, and yields MediaParams: what the call core configures RTP and
// SRTP with. It never draws randomness: the caller passes fresh random bytes for the keys.
//
// SRTP policies (after baresip's mediaenc=srtp / srtp-mand):
//   POLICY_MANDATORY  offer RTP/SAVP with a=crypto; accept only offers and answers with a usable crypto
//   POLICY_PREFERRED  offer RTP/AVP with a=crypto ("best effort"); SRTP when the peer's SDP has a
//                     matching crypto, plain RTP otherwise (an RTP/SAVP offer still needs one)
//   POLICY_OFF        offer RTP/AVP without crypto; an RTP/SAVP offer is refused
//
// API:
//   new SdpNegotiator(codecs, suites, policy)   codecs: CODEC_* ids by preference; suites: srtp-defs ids
//   setLocal(sockaddr)                          our RTP address and port (a SOCKADDR, IPv4 or IPv6)
//   startSession(sessionId)                     a new call: o= session id, version restarts
//   randomBytesNeeded(): i32                    random bytes makeOffer / answerOffer need (0 if POLICY_OFF)
//   makeOffer(out, cap, direction, random, n)   our offer (DIR_SENDONLY: hold; DIR_SENDRECV: resume):
//                                               its length, or NEG_NO_RANDOM / NEG_OVERFLOW
//   answerOffer(offer, direction, random, n, out, cap, params)   our answer's length, or a NEG_* reason
//   acceptAnswer(answer, params): i32           NEG_OK, or a NEG_* reason, after our offer
//   cancelOffer()                               our offer was refused (488, 491...): forget it
//   negotiationStatus(code): i32                the SIP status to refuse an offer with (488, or 500)
//   fields: eventPt (101; -1: no telephone-event), ptime (20), offerRtcpMux (true), version
//   MediaParams                                 the result (fields below); copyFrom(o), clear()
// `params` is written only on success. Every SDP we write bumps the o= version (RFC 3264 §8),
// and carries fresh keys from `random`. An offer whose SDP does not parse: refuse it with 488.

import { CODECS, CodecInfo, codecByPayloadType } from "../audio/codecs";
import { suiteValid } from "../media/srtp-defs";
import { SOCKADDR_BYTES, sockaddrPort, setSockaddrPort } from "../lib/inet";
import {
  SdpSession, SdpCrypto, DIR_SENDRECV, DIR_SENDONLY, DIR_RECVONLY, PROTO_RTP_AVP, PROTO_RTP_SAVP,
  MEDIA_AUDIO, CRYPTO_OK, MAX_CRYPTO, MAX_KEY_SALT, suiteKeySaltLength, addressUnspecified,
} from "./sdp";
import { SdpWriter } from "./sdp-writer";

export const POLICY_OFF: i32 = 0;
export const POLICY_PREFERRED: i32 = 1;
export const POLICY_MANDATORY: i32 = 2;

export const NEG_OK: i32 = 0;
// An offer we refuse with 488 Not Acceptable Here (or an answer we cannot use):
export const NEG_NO_AUDIO: i32 = -1;          // no audio m-line with a non-zero port
export const NEG_UNSUPPORTED_PROTO: i32 = -2; // AVPF, SAVPF, DTLS-SRTP, not RTP
export const NEG_NO_CODEC: i32 = -3;          // no codec in common
export const NEG_SRTP_REQUIRED: i32 = -4;     // POLICY_MANDATORY and no usable crypto
export const NEG_SRTP_REFUSED: i32 = -5;      // POLICY_OFF and RTP/SAVP offered
export const NEG_CRYPTO_UNUSABLE: i32 = -6;   // RTP/SAVP (or a crypto answer) but no crypto line we can use
export const NEG_NO_ADDRESS: i32 = -7;        // no unicast IP literal to send media to
// Only after our offer (the call is then ended):
export const NEG_ANSWER_MISMATCH: i32 = -8;   // not an answer to our offer: m-lines, proto, crypto tag/suite
export const NEG_REJECTED: i32 = -9;          // the answer rejected our audio stream (port 0)
export const NEG_NO_OFFER: i32 = -10;         // an answer, but no offer of ours is pending
// Our side:
export const NEG_NO_RANDOM: i32 = -11;        // fewer random bytes than randomBytesNeeded()
export const NEG_OVERFLOW: i32 = -12;         // the SDP does not fit the buffer

export function negotiationStatus(code: i32): i32 {
  if (code >= 0) return 200;
  return code >= NEG_NO_ADDRESS ? 488 : 500;
}

const EVENT_NAME = "telephone-event";
const MAX_CODECS: i32 = 8;
const EVENT_CLOCK: i32 = 8000;  // RFC 4733 §2.3: the audio codec's RTP clock, 8000 for all of ours
const EVENTS_OFFERED = "0-15";  // DTMF digits, * # A-D (RFC 4733 §3.2)

/** More lines for the audio section of our offers and answers (ICE's, from the call core). */
export abstract class SdpExtension {
  /** Whether this SDP carries the lines (an answer only when the offer had them). */
  abstract wanted(answering: bool, offer: SdpSession | null): bool;
  abstract writeMedia(w: SdpWriter): void;
}

/** What the call core sets RTP and SRTP up with. Payload types are per direction (RFC 3264 §5.1). */
export class MediaParams {
  codec: i32 = -1;              // CODEC_* id
  sendPt: i32 = -1;             // payload type we send with (the peer's number)
  receivePt: i32 = -1;          // payload type we receive (our number)
  sendEventPt: i32 = -1;        // telephone-event, the peer's number; -1: none
  receiveEventPt: i32 = -1;
  ptime: i32 = 20;              // ms per packet we should send (the peer's a=ptime, else ours)
  maxPtime: i32 = 0;            // the peer's a=maxptime; 0: none
  direction: i32 = DIR_SENDRECV; // what we do: DIR_SENDONLY means we send and do not receive
  remoteHold: bool = false;     // the peer does not want media (sendonly / inactive / c=0.0.0.0)
  readonly remoteRtp: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  readonly remoteRtcp: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  rtcpMux: bool = false;        // RTCP on the RTP port both ways (RFC 5761)
  srtp: bool = false;
  suite: i32 = 0;               // srtp-defs id
  cryptoTag: i32 = -1;
  readonly sendKey: StaticArray<u8> = new StaticArray<u8>(MAX_KEY_SALT);    // ours: master key || salt
  readonly receiveKey: StaticArray<u8> = new StaticArray<u8>(MAX_KEY_SALT); // the peer's

  copyFrom(o: MediaParams): void {
    this.codec = o.codec; this.sendPt = o.sendPt; this.receivePt = o.receivePt;
    this.sendEventPt = o.sendEventPt; this.receiveEventPt = o.receiveEventPt;
    this.ptime = o.ptime; this.maxPtime = o.maxPtime; this.direction = o.direction; this.remoteHold = o.remoteHold;
    memory.copy(changetype<usize>(this.remoteRtp), changetype<usize>(o.remoteRtp), SOCKADDR_BYTES);
    memory.copy(changetype<usize>(this.remoteRtcp), changetype<usize>(o.remoteRtcp), SOCKADDR_BYTES);
    this.rtcpMux = o.rtcpMux; this.srtp = o.srtp; this.suite = o.suite; this.cryptoTag = o.cryptoTag;
    memory.copy(changetype<usize>(this.sendKey), changetype<usize>(o.sendKey), MAX_KEY_SALT);
    memory.copy(changetype<usize>(this.receiveKey), changetype<usize>(o.receiveKey), MAX_KEY_SALT);
  }

  clear(): void {
    this.codec = -1; this.sendPt = -1; this.receivePt = -1; this.sendEventPt = -1; this.receiveEventPt = -1;
    this.ptime = 20; this.maxPtime = 0; this.direction = DIR_SENDRECV; this.remoteHold = false;
    this.rtcpMux = false; this.srtp = false; this.suite = 0; this.cryptoTag = -1;
    memory.fill(changetype<usize>(this.remoteRtp), 0, SOCKADDR_BYTES);
    memory.fill(changetype<usize>(this.remoteRtcp), 0, SOCKADDR_BYTES);
    memory.fill(changetype<usize>(this.sendKey), 0, MAX_KEY_SALT);
    memory.fill(changetype<usize>(this.receiveKey), 0, MAX_KEY_SALT);
  }
}

/** The other side's view of a direction: its sending is our receiving. */
@inline function mirror(d: i32): i32 { return ((d & DIR_SENDONLY) << 1) | ((d & DIR_RECVONLY) >> 1); }

function codecInfo(id: i32): CodecInfo | null {
  for (let i = 0; i < CODECS.length; i++) if (unchecked(CODECS[i]).id == id) return unchecked(CODECS[i]);
  return null;
}

/** The CODEC_* id of audio format i: by its rtpmap, or by its static payload type without one. */
function codecOfFormat(s: SdpSession, i: i32): i32 {
  if (s.clockRate(i) == 0) {
    const pt = s.formatPt(i);
    const info = pt < 96 ? codecByPayloadType(pt) : null;
    return info ? info.id : -1;
  }
  for (let k = 0; k < CODECS.length; k++) {
    const info = unchecked(CODECS[k]);
    if (s.encodingIs(i, info.name) && s.clockRate(i) == info.clockRate && s.channels(i) == 1) return info.id;
  }
  return -1;
}

/** Payload type of the peer's telephone-event format, or -1. */
function eventFormat(s: SdpSession): i32 {
  for (let i = 0; i < s.formatCount; i++) if (s.encodingIs(i, EVENT_NAME) && s.clockRate(i) == EVENT_CLOCK) return s.formatPt(i);
  return -1;
}

export class SdpNegotiator {
  eventPt: i32 = 101;     // our telephone-event payload type; -1: offer none
  ptime: i32 = 20;        // our a=ptime
  offerRtcpMux: bool = true;
  readonly local: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  sessionId: u64 = 0;
  version: u64 = 1;
  private readonly suites: StaticArray<i32>;
  private suiteCount: i32 = 0;
  private written: bool = false;     // an SDP went out with `version` already
  private offered: bool = false;     // an offer of ours awaits its answer
  private offerSecure: bool = false;
  private offerCrypto: i32 = 0;      // crypto lines in it, tags 1..offerCrypto
  private offerDirection: i32 = DIR_SENDRECV;
  private offerMux: bool = false;
  private readonly offerKeys: StaticArray<u8> = new StaticArray<u8>(MAX_CRYPTO * MAX_KEY_SALT);
  private readonly result: MediaParams = new MediaParams();
  private readonly writer: SdpWriter = new SdpWriter();

  readonly codecs: StaticArray<i32> = new StaticArray<i32>(MAX_CODECS);
  policy: i32;
  extension: SdpExtension | null = null;

  constructor(codecs: StaticArray<i32>, suites: StaticArray<i32>, policy: i32) {
    this.suites = new StaticArray<i32>(MAX_CRYPTO);
    this.policy = policy;
    this.configure(codecs, codecs.length, suites, suites.length, policy);
  }

  /** New preferences (the device configuration changed): codec ids, suite ids, SRTP policy. */
  configure(codecs: StaticArray<i32>, codecCount: i32, suites: StaticArray<i32>, suiteCount: i32, policy: i32): void {
    this.policy = policy;
    for (let i = 0; i < MAX_CODECS; i++) unchecked(this.codecs[i] = i < codecCount && i < codecs.length ? codecs[i] : -1);
    this.suiteCount = 0;
    for (let i = 0; i < suiteCount && i < suites.length && this.suiteCount < MAX_CRYPTO; i++) {
      if (suiteValid(suites[i])) unchecked(this.suites[this.suiteCount++] = suites[i]);
    }
  }

  setLocal(sockaddr: usize): void { memory.copy(changetype<usize>(this.local), sockaddr, SOCKADDR_BYTES); }

  startSession(sessionId: u64): void {
    this.sessionId = sessionId;
    this.version = 1;
    this.written = false;
    this.offered = false;
  }

  randomBytesNeeded(): i32 {
    if (this.policy == POLICY_OFF) return 0;
    let n = 0;
    for (let i = 0; i < this.suiteCount; i++) n += suiteKeySaltLength(unchecked(this.suites[i]));
    return n;
  }

  cancelOffer(): void { this.offered = false; }

  makeOffer(out: usize, cap: i32, direction: i32, random: usize, randomLength: i32): i32 {
    if (randomLength < this.randomBytesNeeded()) return NEG_NO_RANDOM;
    const cryptoCount = this.policy == POLICY_OFF ? 0 : this.suiteCount;
    const secure = this.policy == POLICY_MANDATORY;
    const version = this.nextVersion();
    const w = this.writer.begin(out, cap).session(this.sessionId, version, changetype<usize>(this.local));
    w.audio(sockaddrPort(changetype<usize>(this.local)), secure);
    for (let i = 0; i < this.codecs.length; i++) { const c = codecInfo(this.codecs[i]); if (c) w.format(c.payloadType); }
    if (this.eventPt >= 0) w.format(this.eventPt);
    w.endLine();
    for (let i = 0; i < this.codecs.length; i++) { const c = codecInfo(this.codecs[i]); if (c) w.rtpmap(c.payloadType, c.name, c.clockRate); }
    if (this.eventPt >= 0) w.rtpmap(this.eventPt, EVENT_NAME, EVENT_CLOCK).fmtp(this.eventPt, EVENTS_OFFERED);
    w.ptime(this.ptime);
    w.rtcpPort(sockaddrPort(changetype<usize>(this.local)));
    if (this.offerRtcpMux) w.rtcpMux();
    w.direction(direction);
    let key = random; // each suite's key||salt in turn
    for (let k = 0; k < cryptoCount; k++) {
      const suite = unchecked(this.suites[k]);
      w.crypto(k + 1, suite, key);
      key += <usize>suiteKeySaltLength(suite);
    }
    const x = this.extension;
    if (x !== null && x.wanted(false, null)) x.writeMedia(w);
    const length = w.finish();
    if (length < 0) return NEG_OVERFLOW; // the pending offer, if any, keeps its keys
    key = random;
    for (let k = 0; k < cryptoCount; k++) {
      const n = suiteKeySaltLength(unchecked(this.suites[k]));
      memory.copy(changetype<usize>(this.offerKeys) + <usize>(k * MAX_KEY_SALT), key, <usize>n);
      key += <usize>n;
    }
    this.commitVersion(version);
    this.offered = true;
    this.offerSecure = secure;
    this.offerCrypto = cryptoCount;
    this.offerDirection = direction;
    this.offerMux = this.offerRtcpMux;
    return length;
  }

  answerOffer(offer: SdpSession, direction: i32, random: usize, randomLength: i32, out: usize, cap: i32, params: MediaParams): i32 {
    const a = offer.audioIndex;
    if (a < 0) return NEG_NO_AUDIO;
    const proto = unchecked(offer.media[a]).proto;
    if (proto != PROTO_RTP_AVP && proto != PROTO_RTP_SAVP) return NEG_UNSUPPORTED_PROTO;
    const secure = proto == PROTO_RTP_SAVP;
    if (secure && this.policy == POLICY_OFF) return NEG_SRTP_REFUSED;
    const chosen = this.policy == POLICY_OFF ? -1 : this.usableCrypto(offer);
    if (chosen < 0 && this.policy == POLICY_MANDATORY) return NEG_SRTP_REQUIRED;
    if (chosen < 0 && secure) return NEG_CRYPTO_UNUSABLE;
    const s = this.result;
    s.clear();
    for (let k = 0; k < this.codecs.length && s.codec < 0; k++) {
      for (let i = 0; i < offer.formatCount; i++) {
        if (codecOfFormat(offer, i) != this.codecs[k]) continue;
        s.codec = this.codecs[k];
        s.sendPt = s.receivePt = offer.formatPt(i); // the answer echoes the offer's number
        break;
      }
    }
    if (s.codec < 0) return NEG_NO_CODEC;
    if (load<u8>(offer.audioAddressPtr) == 0) return NEG_NO_ADDRESS;
    s.sendEventPt = s.receiveEventPt = this.eventPt >= 0 ? eventFormat(offer) : -1;
    this.peerMedia(offer, s, offer.rtcpMux && this.offerRtcpMux);
    s.direction = mirror(s.direction) & direction; // RFC 3264 §6.1: sendonly <-> recvonly, inactive stays
    if (chosen >= 0) {
      const c = unchecked(offer.crypto[chosen]);
      const n = suiteKeySaltLength(c.suite);
      if (randomLength < n) return NEG_NO_RANDOM;
      s.srtp = true;
      s.suite = c.suite;
      s.cryptoTag = c.tag;
      memory.copy(changetype<usize>(s.receiveKey), c.keyAddress, <usize>n);
      memory.copy(changetype<usize>(s.sendKey), random, <usize>n);
    }
    const version = this.nextVersion();
    const w = this.writer.begin(out, cap).session(this.sessionId, version, changetype<usize>(this.local));
    for (let i = 0; i < offer.mediaCount; i++) {
      if (i != a) { w.rejected(unchecked(offer.media[i])); continue; }
      const info = codecInfo(s.codec)!;
      w.audio(sockaddrPort(changetype<usize>(this.local)), secure).format(s.receivePt);
      if (s.receiveEventPt >= 0) w.format(s.receiveEventPt);
      w.endLine().rtpmap(s.receivePt, info.name, info.clockRate);
      if (s.receiveEventPt >= 0) w.rtpmap(s.receiveEventPt, EVENT_NAME, EVENT_CLOCK).fmtp(s.receiveEventPt, EVENTS_OFFERED);
      w.ptime(this.ptime);
      w.rtcpPort(sockaddrPort(changetype<usize>(this.local)));
      if (s.rtcpMux) w.rtcpMux();
      w.direction(s.direction);
      if (s.srtp) w.crypto(s.cryptoTag, s.suite, changetype<usize>(s.sendKey));
      const x = this.extension;
      if (x !== null && x.wanted(true, offer)) x.writeMedia(w);
    }
    const length = w.finish();
    if (length < 0) return NEG_OVERFLOW;
    this.commitVersion(version);
    params.copyFrom(s);
    return length;
  }

  acceptAnswer(answer: SdpSession, params: MediaParams): i32 {
    if (!this.offered) return NEG_NO_OFFER;
    this.offered = false; // whatever it says, this exchange is over
    if (answer.mediaCount != 1) return NEG_ANSWER_MISMATCH;
    const m = unchecked(answer.media[0]);
    if (m.kind != MEDIA_AUDIO || m.proto != (this.offerSecure ? PROTO_RTP_SAVP : PROTO_RTP_AVP)) return NEG_ANSWER_MISMATCH;
    if (m.port == 0) return NEG_REJECTED;
    const s = this.result;
    s.clear();
    // RFC 3264 §7: send with the first format of the answer we offered; formats it adds are ignored.
    for (let i = 0; i < answer.formatCount && s.codec < 0; i++) {
      const id = codecOfFormat(answer, i);
      const info = this.offeredCodec(id);
      if (info == null) continue;
      s.codec = id;
      s.sendPt = answer.formatPt(i);
      s.receivePt = info.payloadType;
    }
    if (s.codec < 0) return NEG_NO_CODEC;
    if (load<u8>(answer.audioAddressPtr) == 0) return NEG_NO_ADDRESS;
    if (this.eventPt >= 0) {
      s.sendEventPt = eventFormat(answer);
      if (s.sendEventPt >= 0) s.receiveEventPt = this.eventPt;
    }
    if (answer.cryptoCount > 0) {
      if (this.offerCrypto == 0) return NEG_ANSWER_MISMATCH;
      const c = unchecked(answer.crypto[0]);
      if (c.status != CRYPTO_OK) return NEG_CRYPTO_UNUSABLE;
      const k = c.tag - 1;
      if (k < 0 || k >= this.offerCrypto || unchecked(this.suites[k]) != c.suite) return NEG_ANSWER_MISMATCH;
      s.srtp = true;
      s.suite = c.suite;
      s.cryptoTag = c.tag;
      memory.copy(changetype<usize>(s.receiveKey), c.keyAddress, <usize>c.keyLength);
      memory.copy(changetype<usize>(s.sendKey), changetype<usize>(this.offerKeys) + <usize>(k * MAX_KEY_SALT), <usize>c.keyLength);
    } else if (this.policy == POLICY_MANDATORY || this.offerSecure) return NEG_SRTP_REQUIRED;
    this.peerMedia(answer, s, answer.rtcpMux && this.offerMux);
    s.direction = this.offerDirection & mirror(s.direction);
    params.copyFrom(s);
    return NEG_OK;
  }

  /** Index of the first of the peer's crypto lines we can use with a suite we allow, or -1. */
  private usableCrypto(s: SdpSession): i32 {
    for (let j = 0; j < s.cryptoCount; j++) {
      const c: SdpCrypto = unchecked(s.crypto[j]);
      if (c.status != CRYPTO_OK) continue;
      for (let k = 0; k < this.suiteCount; k++) if (unchecked(this.suites[k]) == c.suite) return j;
    }
    return -1;
  }

  private offeredCodec(id: i32): CodecInfo | null {
    for (let k = 0; k < this.codecs.length; k++) if (this.codecs[k] == id) return codecInfo(id);
    return null;
  }

  /**
   * Where to send RTP and RTCP, ptime, and the peer's own direction in s.direction (c=0.0.0.0 is
   * RFC 2543 hold: it does not want to receive).
   */
  private peerMedia(peer: SdpSession, s: MediaParams, mux: bool): void {
    const rtp = changetype<usize>(s.remoteRtp), rtcp = changetype<usize>(s.remoteRtcp);
    memory.copy(rtp, peer.audioAddressPtr, SOCKADDR_BYTES);
    s.rtcpMux = mux;
    if (mux) memory.copy(rtcp, rtp, SOCKADDR_BYTES);
    else {
      memory.copy(rtcp, load<u8>(peer.rtcpAddressPtr) != 0 ? peer.rtcpAddressPtr : rtp, SOCKADDR_BYTES);
      setSockaddrPort(rtcp, peer.rtcpPort >= 0 ? peer.rtcpPort : (sockaddrPort(rtp) + 1) & 0xffff); // RFC 3550 §11
    }
    s.ptime = peer.ptime > 0 ? peer.ptime : this.ptime;
    s.maxPtime = peer.maxPtime;
    let d = peer.direction;
    if (addressUnspecified(rtp)) d &= DIR_SENDONLY;
    s.remoteHold = (d & DIR_RECVONLY) == 0;
    s.direction = d;
  }

  private nextVersion(): u64 { return this.written ? this.version + 1 : this.version; }
  private commitVersion(v: u64): void { this.version = v; this.written = true; }
}
