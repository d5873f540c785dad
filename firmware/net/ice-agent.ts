// A full ICE agent (RFC 8445) for one stream with one component (RTP and RTCP multiplexed):
// connectivity checks paced at Ta, triggered checks, peer-reflexive candidates, role conflicts
// (487), regular nomination, then consent freshness on the selected pair (RFC 7675) and
// keepalives (8445 11). Sans-IO: it is handed the local candidates (ice-gather.ts) and the
// peer's SDP description, is given the STUN datagrams of the media port, and queues what it
// sends in its outbox with a route: ROUTE_DIRECT from the port itself, ROUTE_RELAY through the
// TURN allocation (the media transport wraps those). Nothing is allocated after construction.

import { SipOutbox } from "../sip/outbox";
import { EntropyPool } from "../sip/entropy";
import { StunReader } from "./stun";
import { StunWriter } from "./stun-writer";
import { StunClient } from "./stun-client";
import {
  STUN_OK, CLASS_REQUEST, CLASS_INDICATION, CLASS_SUCCESS, CLASS_ERROR, METHOD_BINDING, ATTR_USERNAME,
  ATTR_PRIORITY, ATTR_USE_CANDIDATE, ATTR_ICE_CONTROLLING, ATTR_ICE_CONTROLLED, ATTR_XOR_MAPPED_ADDRESS,
  ERROR_BAD_REQUEST, ERROR_UNAUTHENTICATED, ERROR_UNKNOWN_ATTRIBUTE, ERROR_ROLE_CONFLICT,
} from "./stun-attrs";
import { IceCandidate, CAND_HOST, CAND_PRFLX, CAND_RELAY, candidatePriority } from "./ice-candidate";
import { IceDescription } from "./ice-sdp";
import { IceChecklist, PAIR_WAITING, PAIR_IN_PROGRESS, PAIR_SUCCEEDED, PAIR_FAILED } from "./ice-checklist";
import { SOCKADDR_BYTES, sockaddrEquals } from "../lib/inet";

export const ICE_OFF: i32 = 0;        // no ICE this call (the peer's SDP has none)
export const ICE_CHECKING: i32 = 1;
export const ICE_CONNECTED: i32 = 2;  // a pair is selected: media flows on it
export const ICE_FAILED: i32 = 3;     // every pair failed, or consent was lost

export const ROUTE_DIRECT: i32 = -1;
export const ROUTE_RELAY: i32 = 1;

export const MAX_LOCAL: i32 = 3;    // bases checks go from: the host, the relay (and room for a restart's)
export const MAX_REMOTE: i32 = 10;
export const UFRAG_CHARS: i32 = 4;    // 24 bits (8445 5.3), short: consent checks carry it every 5 s
export const PWD_CHARS: i32 = 22;     // 128 bits
const MAX_CREDENTIAL: i32 = 256;
const MESSAGE_BYTES: i32 = 384; // a check with a 256-character remote ufrag fits
const OWNER_CHECK: i32 = 0x10000;     // StunClient owner: OWNER_CHECK | pair
const OWNER_CONSENT: i32 = 0x20000;
const LOCAL_PREFERENCE: u32 = 65535;
const ICE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

export class IceAgent {
  readonly locals: StaticArray<IceCandidate> = new StaticArray<IceCandidate>(MAX_LOCAL);
  localCount: i32 = 0;
  readonly remotes: StaticArray<IceCandidate> = new StaticArray<IceCandidate>(MAX_REMOTE);
  remoteCount: i32 = 0;
  readonly checklist: IceChecklist = new IceChecklist(MAX_LOCAL * MAX_REMOTE);
  readonly outbox: SipOutbox = new SipOutbox(3072, 12);
  readonly client: StunClient = new StunClient(8, MESSAGE_BYTES, this.outbox);
  readonly localUfrag: StaticArray<u8> = new StaticArray<u8>(UFRAG_CHARS);
  readonly localPwd: StaticArray<u8> = new StaticArray<u8>(PWD_CHARS);
  private readonly remoteUfrag: StaticArray<u8> = new StaticArray<u8>(MAX_CREDENTIAL);
  private remoteUfragLength: i32 = 0;
  private readonly remotePwd: StaticArray<u8> = new StaticArray<u8>(MAX_CREDENTIAL);
  private remotePwdLength: i32 = 0;
  private readonly username: StaticArray<u8> = new StaticArray<u8>(MAX_CREDENTIAL + 1 + UFRAG_CHARS);
  readonly reader: StunReader = new StunReader();   // shared with the gatherer: one message at a time
  readonly writer: StunWriter = new StunWriter();
  private readonly message: StaticArray<u8> = new StaticArray<u8>(MESSAGE_BYTES);
  private readonly mapped: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  /** Where media goes: the selected pair's remote address and route (kept across an ICE restart). */
  readonly selectedRemote: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  selectedRoute: i32 = ROUTE_DIRECT;
  selectedLocalType: i32 = -1;
  selectedRemoteType: i32 = -1;
  state: i32 = ICE_OFF;
  pathKnown: bool = false;            // selectedRemote holds a path (also while a restart checks)
  controlling: bool = false;
  remoteLite: bool = false;
  tieBreaker: u64 = 0;
  private selected: i32 = -1;
  private nextCheckAt: i64 = -1;
  private firstValidAt: i64 = -1;
  // Timers, in microseconds (configurable: Intercom sets them from nat.*).
  taUs: i64 = 50_000;
  nominationWaitUs: i64 = 100_000;    // how long a valid pair waits for a better one (about one Internet RTT)
  consentIntervalUs: i64 = 5_000_000; // RFC 7675 5.1, randomised 0.8 .. 1.2
  consentLifetimeUs: i64 = 30_000_000;
  keepaliveUs: i64 = 15_000_000;      // 8445 11: a Binding indication when nothing else went out
  private nextConsentAt: i64 = -1;
  private consentUntil: i64 = -1;
  private lastSentAt: i64 = 0;
  startedAt: i64 = -1;
  connectedAt: i64 = -1;
  consentLost: bool = false;
  // Counters.
  checksSent: u32 = 0;
  requestsReceived: u32 = 0;
  unauthenticated: u32 = 0;   // requests refused or dropped: no or bad credentials
  roleConflicts: u32 = 0;
  consentChecks: u32 = 0;
  consentBytes: u64 = 0;      // of stunBytesSent: the consent checks
  keepalivesSent: u32 = 0;
  stunBytesSent: u64 = 0;     // everything this agent queued (checks, answers, consent, keepalives)
  dropped: u32 = 0;           // STUN on the media port that was not for us, or malformed

  constructor(private entropy: EntropyPool) {
    for (let i = 0; i < MAX_LOCAL; i++) unchecked(this.locals[i] = new IceCandidate());
    for (let i = 0; i < MAX_REMOTE; i++) unchecked(this.remotes[i] = new IceCandidate());
  }

  /** Fresh ufrag and password (a new call, or an ICE restart): the peer sees new ones in our SDP. */
  newCredentials(): void {
    randomIceChars(this.entropy, changetype<usize>(this.localUfrag), UFRAG_CHARS);
    randomIceChars(this.entropy, changetype<usize>(this.localPwd), PWD_CHARS);
    this.tieBreaker = (<u64>this.entropy.u32() << 32) | <u64>this.entropy.u32();
  }

  clearLocals(): void { this.localCount = 0; }

  /** A gathered candidate; host and relay ones are also bases checks are sent from. */
  addLocal(c: IceCandidate): bool {
    if (this.localCount == MAX_LOCAL) return false;
    unchecked(this.locals[this.localCount++]).copyFrom(c);
    return true;
  }

  /** Whether the peer's description is a restart of the one in force (new ufrag/pwd, 8839 4.4.1.1.1). */
  isRestart(d: IceDescription): bool {
    return this.state != ICE_OFF && (d.ufragLength != this.remoteUfragLength
      || memory.compare(changetype<usize>(d.ufrag), changetype<usize>(this.remoteUfrag), <usize>d.ufragLength) != 0);
  }

  /**
   * Starts checks against the peer's description (after the offer/answer). The media path of
   * a previous run stays in force until this one selects a pair (8445 9: restarts keep media).
   */
  start(d: IceDescription, controlling: bool, now: i64): void {
    for (let i = 0; i < this.client.slots; i++) this.client.release(i);
    this.checklist.clear();
    this.remoteCount = 0;
    this.remoteLite = d.lite;
    // A lite peer never checks: the full agent controls (8445 6.1.1).
    this.controlling = controlling || d.lite;
    this.remoteUfragLength = min(d.ufragLength, MAX_CREDENTIAL);
    memory.copy(changetype<usize>(this.remoteUfrag), changetype<usize>(d.ufrag), <usize>this.remoteUfragLength);
    this.remotePwdLength = min(d.pwdLength, MAX_CREDENTIAL);
    memory.copy(changetype<usize>(this.remotePwd), changetype<usize>(d.pwd), <usize>this.remotePwdLength);
    for (let i = 0; i < d.count && this.remoteCount < MAX_REMOTE; i++) {
      const c = unchecked(d.candidates[i]);
      if (c.component != 1) continue;
      unchecked(this.remotes[this.remoteCount++]).copyFrom(c);
    }
    for (let l = 0; l < this.localCount; l++) for (let r = 0; r < this.remoteCount; r++) this.checklist.add(this.locals, l, this.remotes, r, this.controlling);
    this.checklist.unfreezeInitial(this.locals, this.remotes);
    this.selected = -1;
    this.firstValidAt = -1;
    this.startedAt = now;
    this.connectedAt = -1;
    this.consentLost = false;
    this.state = ICE_CHECKING;
    this.nextCheckAt = now;
  }

  /** No ICE on this call, or the call is over: forget the checks, keep the credentials. */
  stop(): void {
    for (let i = 0; i < this.client.slots; i++) this.client.release(i);
    this.checklist.clear();
    this.remoteCount = 0;
    this.selected = -1;
    this.state = ICE_OFF;
    this.nextCheckAt = -1;
    this.nextConsentAt = -1;
    this.consentUntil = -1;
    this.selectedLocalType = -1;
    this.selectedRemoteType = -1;
    this.pathKnown = false;
    memory.fill(changetype<usize>(this.selectedRemote), 0, SOCKADDR_BYTES);
    this.outbox.clear();
  }

  /** Media went out on the selected path at `now` (no keepalive is needed while it does). */
  noteSent(now: i64): void { this.lastSentAt = now; }

  /** The remote addresses of the peer (host or relay base) each check goes to: for TURN permissions. */
  remoteAddress(i: i32): usize { return unchecked(this.remotes[i]).addressPtr; }
  remoteType(i: i32): i32 { return unchecked(this.remotes[i]).type; }

  // ---- receiving ---------------------------------------------------------------------------

  /** A STUN datagram on the media port from src, straight (ROUTE_DIRECT) or out of the relay. */
  receive(p: usize, len: i32, src: usize, route: i32, now: i64): void {
    const r = this.reader;
    if (r.parse(p, len) != STUN_OK || r.method != METHOD_BINDING || r.fingerprintAt < 0) { this.dropped++; return; }
    if (r.messageClass == CLASS_REQUEST) this.request(len, src, route, now);
    else if (r.messageClass == CLASS_SUCCESS || r.messageClass == CLASS_ERROR) this.response(src, route, now);
    else if (r.messageClass != CLASS_INDICATION) this.dropped++; // indications are keepalives: nothing to do
  }

  private request(len: i32, src: usize, route: i32, now: i64): void {
    const r = this.reader;
    this.requestsReceived++;
    if (this.state == ICE_OFF) { this.dropped++; return; }
    // USERNAME must be "ourUfrag:theirUfrag" and the integrity ours (8445 7.3, 8489 9.1.3).
    const u = r.find(ATTR_USERNAME);
    if (u < 0 || r.integrityAt < 0) { this.unauthenticated++; this.refuse(ERROR_BAD_REQUEST, len, src, route); return; }
    const uv = r.valuePtr(u);
    if (r.valueLen(u) <= UFRAG_CHARS || memory.compare(uv, changetype<usize>(this.localUfrag), UFRAG_CHARS) != 0
      || load<u8>(uv + UFRAG_CHARS) != 0x3a || r.checkMessageIntegrity(changetype<usize>(this.localPwd), PWD_CHARS) != STUN_OK) {
      this.unauthenticated++;
      this.refuse(ERROR_UNAUTHENTICATED, len, src, route);
      return;
    }
    if (r.unrecognisedCount > 0) { this.answer(ERROR_UNKNOWN_ATTRIBUTE, src, route); return; }
    if (!r.has(ATTR_PRIORITY)) { this.answer(ERROR_BAD_REQUEST, src, route); return; }
    // Role conflict (7.3.1.1): the larger tie-breaker keeps controlling.
    const theirs = r.tieBreaker;
    if (this.controlling && r.has(ATTR_ICE_CONTROLLING)) {
      this.roleConflicts++;
      if (this.tieBreaker >= theirs) { this.answer(ERROR_ROLE_CONFLICT, src, route); return; }
      this.switchRole(false);
    } else if (!this.controlling && r.has(ATTR_ICE_CONTROLLED)) {
      this.roleConflicts++;
      if (this.tieBreaker >= theirs) this.switchRole(true);
      else { this.answer(ERROR_ROLE_CONFLICT, src, route); return; }
    }
    this.answer(0, src, route);
    const local = this.localFor(route);
    if (local < 0) return;
    let remote = this.remoteAt(src);
    if (remote < 0) remote = this.addPeerReflexive(src, <u32>r.u32Value(ATTR_PRIORITY));
    if (remote < 0) return;
    const pi = this.checklist.add(this.locals, local, this.remotes, remote, this.controlling);
    if (pi < 0) return;
    const pair = this.checklist.at(pi);
    if (!this.controlling && r.has(ATTR_USE_CANDIDATE)) {
      pair.useCandidateSeen = true;
      if (pair.valid) this.nominate(pi, now); // 7.3.1.5
    }
    // A triggered check (7.3.1.4), paced by Ta like the others. An earlier check still in
    // flight stays open: its answer counts for the pair as much as the new one's.
    if (pair.state != PAIR_SUCCEEDED) this.checklist.trigger(pi);
    if (this.nextCheckAt < 0) this.nextCheckAt = now;
  }

  private response(src: usize, route: i32, now: i64): void {
    const r = this.reader;
    // A forged answer (right id and source, wrong integrity) is ignored: the transaction goes on
    // and the genuine answer still counts (RFC 8489 6.3).
    if (r.checkMessageIntegrity(changetype<usize>(this.remotePwd), this.remotePwdLength) != STUN_OK) { this.dropped++; return; }
    const slot = this.client.match(r, src);
    if (slot < 0) { this.dropped++; return; }
    const owner = this.client.owner(slot);
    const sentRoute = this.client.route(slot);
    this.client.release(slot);
    if (owner == OWNER_CONSENT) {
      if (r.messageClass == CLASS_SUCCESS && sentRoute == route) this.consentUntil = now + this.consentLifetimeUs;
      return;
    }
    const pi = owner - OWNER_CHECK;
    if (pi < 0 || pi >= this.checklist.count) return;
    const pair = this.checklist.at(pi);
    pair.transaction = -1;
    if (r.messageClass == CLASS_ERROR) {
      if (r.errorCode == ERROR_ROLE_CONFLICT) {
        // 7.2.5.1: take the other role and check the pair again.
        this.roleConflicts++;
        this.switchRole(!this.controlling);
        this.checklist.trigger(pi);
      } else pair.state = PAIR_FAILED;
      return;
    }
    // Symmetric: it must come back the way it went (7.2.5.2.1); the source StunClient checked.
    if (sentRoute != route || r.xorMappedAddress(changetype<usize>(this.mapped)) < 0) { pair.state = PAIR_FAILED; return; }
    pair.state = PAIR_SUCCEEDED;
    pair.valid = true;
    if (this.firstValidAt < 0) this.firstValidAt = now;
    this.checklist.unfreezeLike(pi, this.locals, this.remotes);
    if (pair.nominating || (!this.controlling && pair.useCandidateSeen)) this.nominate(pi, now);
  }

  // ---- sending -----------------------------------------------------------------------------

  tick(now: i64): void {
    this.client.tick(now);
    for (let s = this.client.nextTimedOut(); s >= 0; s = this.client.nextTimedOut()) {
      const owner = this.client.owner(s);
      this.client.release(s);
      const pi = owner - OWNER_CHECK;
      if (pi >= 0 && pi < this.checklist.count) { const p = this.checklist.at(pi); p.transaction = -1; if (!p.valid) p.state = PAIR_FAILED; }
    }
    if (this.state == ICE_OFF) return;
    if (this.state == ICE_CHECKING || this.selected < 0) this.runChecks(now);
    if (this.state == ICE_CONNECTED) this.keepConsent(now);
  }

  private runChecks(now: i64): void {
    const list = this.checklist;
    if (this.nextCheckAt >= 0 && now >= this.nextCheckAt) {
      const pi = list.next(this.locals, this.remotes);
      if (pi >= 0) this.sendCheck(pi, false, now);
      this.nextCheckAt = now + this.taUs;
    }
    if (this.controlling && this.selected < 0) {
      const best = list.bestValid();
      if (best >= 0 && !list.at(best).nominating
        && (!list.betterPending(best) || now - this.firstValidAt >= this.nominationWaitUs)) this.sendCheck(best, true, now);
    }
    if (this.state == ICE_CHECKING && this.selected < 0 && list.count > 0 && list.finished && list.bestValid() < 0 && this.client.pending == 0) {
      this.state = ICE_FAILED;
    }
  }

  private sendCheck(pi: i32, nominate: bool, now: i64): void {
    const pair = this.checklist.at(pi);
    const local = unchecked(this.locals[pair.local]);
    const remote = unchecked(this.remotes[pair.remote]);
    const route = local.type == CAND_RELAY ? ROUTE_RELAY : ROUTE_DIRECT;
    const n = this.writeRequest(candidatePriority(CAND_PRFLX, LOCAL_PREFERENCE, 1), nominate);
    if (n < 0) return;
    const slot = this.client.send(changetype<usize>(this.message), n, remote.addressPtr, route, OWNER_CHECK + pi, now);
    if (slot < 0) return; // full: the pair stays where it is and is picked again
    pair.transaction = slot;
    if (pair.state != PAIR_SUCCEEDED) pair.state = PAIR_IN_PROGRESS;
    if (nominate) pair.nominating = true;
    this.checksSent++;
    this.stunBytesSent += <u64>n;
  }

  /** A Binding request with our credentials: USERNAME, PRIORITY, role, [USE-CANDIDATE], MI, FINGERPRINT. */
  private writeRequest(priority: u32, useCandidate: bool): i32 {
    const w = this.writer;
    w.begin(changetype<usize>(this.message), MESSAGE_BYTES, METHOD_BINDING, CLASS_REQUEST, this.entropy.take(12));
    const u = changetype<usize>(this.username);
    memory.copy(u, changetype<usize>(this.remoteUfrag), <usize>this.remoteUfragLength);
    store<u8>(u + <usize>this.remoteUfragLength, 0x3a);
    memory.copy(u + <usize>this.remoteUfragLength + 1, changetype<usize>(this.localUfrag), UFRAG_CHARS);
    w.add(ATTR_USERNAME, u, this.remoteUfragLength + 1 + UFRAG_CHARS);
    w.addU32(ATTR_PRIORITY, priority);
    w.addU64(this.controlling ? ATTR_ICE_CONTROLLING : ATTR_ICE_CONTROLLED, this.tieBreaker);
    if (useCandidate) w.addFlag(ATTR_USE_CANDIDATE);
    w.addMessageIntegrity(changetype<usize>(this.remotePwd), this.remotePwdLength);
    w.addFingerprint();
    return w.finish();
  }

  /** Answers the request in the reader: success (code 0, with XOR-MAPPED-ADDRESS) or an error. */
  private answer(code: i32, src: usize, route: i32): void {
    const w = this.writer;
    const r = this.reader;
    w.beginResponse(changetype<usize>(this.message), MESSAGE_BYTES, r, code == 0 ? CLASS_SUCCESS : CLASS_ERROR);
    if (code == 0) w.addAddress(ATTR_XOR_MAPPED_ADDRESS, src, true);
    else {
      w.addError(code);
      if (code == ERROR_UNKNOWN_ATTRIBUTE) w.addUnknownAttributes(r);
    }
    w.addMessageIntegrity(changetype<usize>(this.localPwd), PWD_CHARS);
    w.addFingerprint();
    const n = w.finish();
    if (n > 0) this.queue(n, src, route);
  }

  /** An unauthenticated request: an error without integrity, only if it is no bigger than the request. */
  private refuse(code: i32, requestLength: i32, src: usize, route: i32): void {
    const w = this.writer;
    w.beginResponse(changetype<usize>(this.message), MESSAGE_BYTES, this.reader, CLASS_ERROR);
    w.addError(code);
    w.addFingerprint();
    const n = w.finish();
    if (n > 0 && n <= requestLength) this.queue(n, src, route); // never amplify
  }

  private queue(n: i32, dest: usize, route: i32): void {
    if (this.outbox.push(changetype<usize>(this.message), n, dest, route)) this.stunBytesSent += <u64>n;
  }

  // ---- nomination, consent, keepalives -------------------------------------------------------

  private nominate(pi: i32, now: i64): void {
    const pair = this.checklist.at(pi);
    pair.nominated = true;
    if (this.selected >= 0 && this.state == ICE_CONNECTED) return; // the first nominated pair stays
    this.selected = pi;
    const local = unchecked(this.locals[pair.local]);
    const remote = unchecked(this.remotes[pair.remote]);
    memory.copy(changetype<usize>(this.selectedRemote), remote.addressPtr, SOCKADDR_BYTES);
    this.selectedRoute = local.type == CAND_RELAY ? ROUTE_RELAY : ROUTE_DIRECT;
    this.selectedLocalType = local.type;
    this.selectedRemoteType = remote.type;
    this.state = ICE_CONNECTED;
    this.pathKnown = true;
    this.connectedAt = now;
    this.consentUntil = now + this.consentLifetimeUs; // the check that nominated it was consent
    this.nextConsentAt = now + this.consentDelay();
    this.lastSentAt = now;
  }

  private consentDelay(): i64 {
    // Uniform in 0.8 .. 1.2 of the interval (RFC 7675 5.1), from 16 random bits.
    const r = <i64>(this.entropy.u32() & 0xffff);
    return this.consentIntervalUs * 8 / 10 + this.consentIntervalUs * 4 / 10 * r / 65536;
  }

  private keepConsent(now: i64): void {
    if (now >= this.consentUntil) {
      // Thirty seconds without an answer: stop sending (RFC 7675 5.1); the call core ends the call.
      this.consentLost = true;
      this.state = ICE_FAILED;
      return;
    }
    if (now >= this.nextConsentAt) {
      this.nextConsentAt = now + this.consentDelay();
      const n = this.writeRequest(candidatePriority(CAND_PRFLX, LOCAL_PREFERENCE, 1), false);
      if (n > 0 && this.client.send(changetype<usize>(this.message), n, changetype<usize>(this.selectedRemote), this.selectedRoute, OWNER_CONSENT, now, this.consentIntervalUs / 10, 1, 10) >= 0) {
        this.consentChecks++;
        this.consentBytes += <u64>n;
        this.stunBytesSent += <u64>n;
        this.lastSentAt = now;
      }
    }
    if (now - this.lastSentAt >= this.keepaliveUs) {
      const w = this.writer;
      w.begin(changetype<usize>(this.message), MESSAGE_BYTES, METHOD_BINDING, CLASS_INDICATION, this.entropy.take(12));
      w.addFingerprint();
      const n = w.finish();
      if (n > 0) { this.queue(n, changetype<usize>(this.selectedRemote), this.selectedRoute); this.keepalivesSent++; }
      this.lastSentAt = now;
    }
  }

  /** Media may go: a pair is selected (or was, and a restart is checking) and consent holds. */
  get canSend(): bool { return this.pathKnown && this.state != ICE_FAILED && this.state != ICE_OFF; }

  timeout(): i64 {
    let t = this.client.timeout();
    if (this.state == ICE_CHECKING || (this.state != ICE_OFF && this.selected < 0)) t = earliest(t, this.nextCheckAt);
    if (this.state == ICE_CONNECTED) {
      t = earliest(t, this.nextConsentAt);
      t = earliest(t, this.consentUntil);
      t = earliest(t, this.lastSentAt + this.keepaliveUs);
    }
    return t;
  }

  // ---- helpers -------------------------------------------------------------------------------

  private switchRole(controlling: bool): void {
    this.controlling = controlling;
    this.checklist.reprioritise(this.locals, this.remotes, controlling);
  }

  /** The local base a datagram arrived at: the relay for ROUTE_RELAY, else the (first) host. */
  private localFor(route: i32): i32 {
    const want = route == ROUTE_RELAY ? CAND_RELAY : CAND_HOST;
    for (let i = 0; i < this.localCount; i++) if (unchecked(this.locals[i]).type == want) return i;
    return -1;
  }

  private remoteAt(sa: usize): i32 {
    for (let i = 0; i < this.remoteCount; i++) if (sockaddrEquals(unchecked(this.remotes[i]).addressPtr, sa)) return i;
    return -1;
  }

  /** A check from an address the peer did not list: a peer-reflexive candidate (7.3.1.3). */
  private addPeerReflexive(sa: usize, priority: u32): i32 {
    if (this.remoteCount == MAX_REMOTE) return -1;
    const c = unchecked(this.remotes[this.remoteCount]);
    c.clear();
    c.type = CAND_PRFLX;
    c.component = 1;
    c.priority = priority;
    memory.copy(c.addressPtr, sa, SOCKADDR_BYTES);
    // Its own foundation: any token no other candidate has.
    store<u8>(changetype<usize>(c.foundation), 0x70); // 'p'
    store<u8>(changetype<usize>(c.foundation) + 1, <u8>(0x41 + this.remoteCount));
    c.foundationLength = 2;
    return this.remoteCount++;
  }

}

function randomIceChars(entropy: EntropyPool, out: usize, n: i32): void {
  const p = entropy.take(n);
  for (let i = 0; i < n; i++) store<u8>(out + <usize>i, <u8>ICE_CHARS.charCodeAt(<i32>load<u8>(p + <usize>i) & 63));
}

@inline function earliest(a: i64, b: i64): i64 { return b < 0 ? a : (a < 0 || b < a ? b : a); }
