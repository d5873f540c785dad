// One call: the signalling state (idle, calling, ringing, active, ending) tied to its media
// session. It is the SessionHandler of the SIP user agent: it writes and reads the SDP through
// the offer/answer negotiator, starts, re-targets and stops the media, and turns received
// DTMF into the door relay's pulse.

import { SessionHandler, END_MEDIA, END_CONSENT, END_ICE_FAILED } from "../sip/session";
import { UserAgent } from "../sip/ua";
import { CS_IDLE, CS_OUTGOING, CS_INCOMING, CS_ACTIVE, CS_ENDING } from "../sip/invite";
import { SdpSession, DIR_SENDRECV, DIR_SENDONLY, DIR_RECVONLY } from "../sip/sdp";
import { SdpNegotiator, MediaParams, negotiationStatus } from "../sip/sdp-negotiate";
import { MediaSession } from "./media";
import { EntropyPool } from "../sip/entropy";
import { DoorCode, DOOR_OPEN, dtmfEvent } from "../media/dtmf";
import { suiteKeyLength, suiteSaltLength } from "../media/srtp-defs";
import { SOCKADDR_BYTES } from "../lib/inet";
import { CallNat } from "./nat";

export const CALL_IDLE: i32 = 0;
export const CALL_CALLING: i32 = 1;   // our INVITE is out (the far end may be ringing)
export const CALL_RINGING: i32 = 2;   // a call is ringing here
export const CALL_ACTIVE: i32 = 3;
export const CALL_ENDING: i32 = 4;

const RANDOM_BYTES: i32 = 256;

export class Call extends SessionHandler {
  readonly media: MediaSession;
  readonly nat: CallNat;
  negotiator: SdpNegotiator;
  readonly door: DoorCode = new DoorCode();
  private readonly remote: SdpSession = new SdpSession();
  private readonly params: MediaParams = new MediaParams();
  private readonly advertised: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  readonly localMedia: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES); // our RTP address and port
  private ua: UserAgent | null = null;
  now: i64 = 0;                 // main.ts sets it before every event
  jitterMs: i32 = 0;            // configured buffer depth; 0: from the measured jitter
  remoteRinging: bool = false;
  lastEndReason: i32 = 0;
  lastEndStatus: i32 = 0;
  calls: u32 = 0;
  mediaRefusals: u32 = 0;
  // The door relay: on for pulseUs after the code is entered.
  relayOn: bool = false;
  relayChanged: bool = false;
  pulseUs: i64 = 1_000_000;
  private relayOffAt: i64 = -1;

  constructor(private entropy: EntropyPool, negotiator: SdpNegotiator) {
    super();
    this.negotiator = negotiator;
    this.media = new MediaSession(entropy);
    this.nat = new CallNat(entropy);
    negotiator.extension = this.nat;
  }

  attach(ua: UserAgent): void { this.ua = ua; }

  get state(): i32 {
    const ua = this.ua;
    if (ua === null) return CALL_IDLE;
    const s = ua.call.state;
    if (s == CS_OUTGOING) return CALL_CALLING;
    if (s == CS_INCOMING) return CALL_RINGING;
    if (s == CS_ACTIVE) return CALL_ACTIVE;
    if (s == CS_ENDING) return CALL_ENDING;
    return CALL_IDLE;
  }

  setLocalMedia(sa: usize): void {
    memory.copy(changetype<usize>(this.localMedia), sa, <usize>SOCKADDR_BYTES);
    this.negotiator.setLocal(sa);
    this.nat.setHost(sa);
  }

  /** Our SDP names the default candidate (c=, m=): server-reflexive when gathered. */
  private advertise(): void {
    const a = changetype<usize>(this.advertised);
    this.nat.defaultAddress(a);
    this.negotiator.setLocal(a);
  }

  /** Starts gathering for a call we are about to place; ready() says when the INVITE can go. */
  prepareCall(now: i64): void { this.nat.begin(now); }

  mediaReady(): bool { return this.nat.ready; }

  // ---- SessionHandler --------------------------------------------------------------------

  offer(out: usize, cap: i32, hold: bool): i32 {
    const ua = this.ua;
    if (ua !== null && ua.call.state == CS_IDLE) this.negotiator.startSession(<u64>this.entropy.u32());
    this.advertise();
    const n = this.negotiator.randomBytesNeeded();
    return this.negotiator.makeOffer(out, cap, hold ? DIR_SENDONLY : DIR_SENDRECV, this.entropy.take(n), n);
  }

  answer(offer: usize, len: i32, out: usize, cap: i32): i32 {
    const ua = this.ua;
    const fresh = ua === null || ua.call.state == CS_IDLE;
    if (this.remote.parse(offer, len) != 0) { this.mediaRefusals++; return -488; }
    if (fresh) this.negotiator.startSession(<u64>this.entropy.u32());
    else if (ua !== null && ua.call.state != CS_INCOMING) this.nat.reoffered(this.remote);
    this.advertise();
    const n = this.negotiator.randomBytesNeeded();
    const r = this.negotiator.answerOffer(this.remote, DIR_SENDRECV, this.entropy.take(n), n, out, cap, this.params);
    if (r < 0) { this.mediaRefusals++; return -negotiationStatus(r); }
    // A re-INVITE re-targets the running media at once; a new call waits until it is answered.
    if (!fresh && this.media.running && !this.apply(true)) return -488;
    if (!fresh && ua !== null && ua.call.state == CS_ACTIVE) this.nat.agreed(this.remote, false, this.now);
    return r;
  }

  answered(answer: usize, len: i32): i32 {
    if (this.remote.parse(answer, len) != 0) { this.mediaRefusals++; return -488; }
    const r = this.negotiator.acceptAnswer(this.remote, this.params);
    if (r < 0) { this.mediaRefusals++; return -negotiationStatus(r); }
    if (!this.apply(this.media.running)) return -488;
    this.nat.agreed(this.remote, true, this.now);
    return 0;
  }

  incoming(autoAnswerMs: i32): void {
    this.calls++;
    this.remoteRinging = false;
    this.nat.begin(this.now); // gathering while it rings: the 2xx waits for it (mediaReady)
  }

  ringing(): void { this.remoteRinging = true; }

  established(): void {
    if (!this.media.running && !this.apply(false)) {
      const ua = this.ua;
      if (ua !== null) ua.call.hangup(this.now);
      return;
    }
    // We answered an offer: checks start now (the offerer will control them).
    if (!this.nat.active) this.nat.agreed(this.remote, false, this.now);
  }

  ended(reason: i32, status: i32): void {
    this.media.stop(this.now);
    this.nat.end(this.now);
    this.media.config.wipe();
    this.lastEndReason = reason;
    this.lastEndStatus = status;
    this.remoteRinging = false;
  }

  /** Copies the negotiated parameters into the media session and (re)starts it. */
  private apply(restart: bool): bool {
    const p = this.params;
    const c = this.media.config;
    c.codec = p.codec;
    c.sendPt = p.sendPt;
    c.receivePt = p.receivePt;
    c.sendEventPt = p.sendEventPt;
    c.receiveEventPt = p.receiveEventPt;
    c.ptimeMs = p.ptime;
    c.send = (p.direction & DIR_SENDONLY) != 0;
    c.receive = (p.direction & DIR_RECVONLY) != 0;
    memory.copy(c.remoteAddress, changetype<usize>(p.remoteRtp), <usize>SOCKADDR_BYTES);
    memory.copy(c.rtcpAddress, changetype<usize>(p.rtcpMux ? p.remoteRtp : p.remoteRtcp), <usize>SOCKADDR_BYTES);
    c.suite = p.srtp ? p.suite : 0;
    if (p.srtp) {
      c.keyLength = suiteKeyLength(p.suite);
      c.saltLength = suiteSaltLength(p.suite);
      memory.copy(c.txKeyAddress, changetype<usize>(p.sendKey), <usize>(c.keyLength + c.saltLength));
      memory.copy(c.rxKeyAddress, changetype<usize>(p.receiveKey), <usize>(c.keyLength + c.saltLength));
    }
    c.jitterFrames = this.jitterMs > 0 ? (this.jitterMs + 19) / 20 : 1;
    const ok = this.media.start(this.now, restart);
    if (!ok) this.mediaRefusals++;
    return ok;
  }

  // ---- the frame loop and timers -----------------------------------------------------------

  frame(capture: usize, playout: usize, samples: i32, now: i64): void {
    this.now = now;
    this.media.frame(capture, playout, samples, now);
    for (let d = this.media.takeDigit(); d >= 0; d = this.media.takeDigit()) {
      if (this.door.digit(d, now) == DOOR_OPEN) this.pulseRelay(now);
    }
  }

  /** Starts sending DTMF digits (ASCII 0-9 * # A-D) as telephone-events, 100 ms each. False
   *  when no call can carry them or a character is not a DTMF key (then nothing is sent). */
  sendDigitsAscii(p: usize, len: i32): bool {
    if (!this.media.running || this.media.config.sendEventPt < 0) return false;
    for (let i = 0; i < len; i++) if (dtmfEvent(<i32>load<u8>(p + <usize>i)) < 0) return false;
    for (let i = 0; i < len; i++) if (this.media.dtmfOut.start(dtmfEvent(<i32>load<u8>(p + <usize>i)), 100, 10) < 0) return false;
    return true;
  }

  private pulseRelay(now: i64): void {
    if (!this.relayOn) this.relayChanged = true;
    this.relayOn = true;
    this.relayOffAt = now + this.pulseUs;
  }

  tick(now: i64): void {
    this.now = now;
    this.media.tick(now);
    this.nat.tick(now);
    const ua = this.ua;
    if (ua !== null && ua.call.state == CS_ACTIVE) {
      if (this.nat.failed) ua.call.hangupFor(this.nat.transport.agent.consentLost ? END_CONSENT : END_ICE_FAILED, now);
      else if (this.nat.takeRestart()) ua.call.reoffer(now);
    }
    this.door.tick(now);
    if (this.relayOn && now >= this.relayOffAt) {
      this.relayOn = false;
      this.relayChanged = true;
      this.relayOffAt = -1;
    }
    // Fixed depth, chosen from what the link shows: the buffer holds what the measured jitter
    // needs, re-chosen at each RTCP interval rather than per packet.
    if (this.jitterMs == 0 && this.media.running) {
      const want = this.media.jitter.targetForJitter(this.media.received.jitter);
      if (want != this.media.jitter.targetFrames) this.media.jitter.setTarget(want);
    }
  }

  timeout(): i64 {
    let next = this.media.timeout();
    const n = this.nat.timeout();
    if (n >= 0 && (next < 0 || n < next)) next = n;
    if (this.relayOn && (next < 0 || this.relayOffAt < next)) next = this.relayOffAt;
    const d = this.door.timeout();
    if (d >= 0 && (next < 0 || d < next)) next = d;
    return next;
  }
}
