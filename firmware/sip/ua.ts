// The SIP user agent's front door: every datagram for the SIP port comes in here, is parsed in
// place, checked (RFC 3261 8.2: method, Max-Forwards, Require, size), matched to a transaction
// and handed to the registration or the call. Requests nobody handles get the status the RFC
// names; malformed ones a 400 when they can be answered at all, and every drop is counted.

import { SipStack, SIP_MESSAGE_BYTES, ALLOW, hasTag } from "./stack";
import { SipMessage, SIP_OK, SIP_TOO_LARGE, parseDecimal } from "./message";
import { H_MAX_FORWARDS, H_REQUIRE, H_VIA, H_FROM, H_TO, H_CALL_ID, H_CSEQ, H_CONTENT_TYPE } from "./headers";
import { Registration } from "./registration";
import { InviteSession } from "./invite";
import { SessionHandler } from "./session";
import { RX_NEW, RX_RESPONSE, RX_ACK, RX_FULL, RX_BAD, RX_ABSORBED, EV_TIMEOUT, S_CALLING, S_PROCEEDING } from "./transaction";
import { sockaddrEquals } from "../lib/inet";
import { Via, Span } from "./uri";
import { EntropyPool } from "./entropy";

export class SipCounters {
  received: u32 = 0;
  malformed: u32 = 0;        // could not be parsed at all: dropped
  badRequests: u32 = 0;      // answered 400
  tooLarge: u32 = 0;         // answered 513
  unknownMethods: u32 = 0;   // answered 501
  notAllowed: u32 = 0;       // answered 405
  tooManyHops: u32 = 0;      // answered 483
  badExtensions: u32 = 0;    // answered 420
  strayResponses: u32 = 0;
  retransmissionsAbsorbed: u32 = 0;
  messages: u32 = 0;         // MESSAGE requests taken
  unanswerable: u32 = 0;     // requests whose response did not fit: their transaction freed
}

export class UserAgent {
  readonly stack: SipStack;
  readonly registration: Registration;
  readonly call: InviteSession;
  readonly counters: SipCounters = new SipCounters();
  private readonly message: SipMessage = new SipMessage();
  private readonly via: Via = new Via();
  private readonly span: Span = new Span();

  constructor(handler: SessionHandler, entropy: EntropyPool) {
    const stack = new SipStack(entropy);
    this.stack = stack;
    this.registration = new Registration(stack);
    this.call = new InviteSession(stack, handler);
  }

  /** One datagram (or one framed stream message) from the SOCKADDR at src. */
  receive(p: usize, len: i32, src: usize, reliable: bool, now: i64, connection: i32 = -1): void {
    this.counters.received++;
    this.stack.now = now;
    this.stack.connection = connection;
    const m = this.message;
    // Keepalives (RFC 5626 4.4.1: CRLF ping, CRLF pong) are not messages.
    if (len <= 4 && allBlank(p, len)) return;
    const r = m.parse(p, len, !reliable);
    if (r != SIP_OK) {
      this.refuse(m, r, src);
      return;
    }
    if (!m.isRequest) { this.response(m, now); return; }
    if (m.length > SIP_MESSAGE_BYTES) {
      this.counters.tooLarge++;
      if (!m.isMethod("ACK")) this.stack.replyStateless(m, src, 513, "Message Too Large");
      return;
    }
    this.request(m, src, reliable, connection, now);
  }

  private refuse(m: SipMessage, code: i32, src: usize): void {
    // A request whose headers parsed far enough to be answered gets a status; anything else is dropped.
    if (!m.isRequest || m.isMethod("ACK") || m.find(H_VIA, 0) < 0 || m.find(H_FROM, 0) < 0 || m.find(H_TO, 0) < 0
      || m.find(H_CALL_ID, 0) < 0 || m.find(H_CSEQ, 0) < 0 || this.via.parse(m.base, m.valueAt[m.find(H_VIA, 0)], m.valueAt[m.find(H_VIA, 0)] + m.valueLen[m.find(H_VIA, 0)]) != 0) {
      this.counters.malformed++;
      return;
    }
    if (code == SIP_TOO_LARGE) { this.counters.tooLarge++; this.stack.replyStateless(m, src, 513, "Message Too Large"); return; }
    this.counters.badRequests++;
    this.stack.replyStateless(m, src, 400, "Bad Request");
  }

  private response(m: SipMessage, now: i64): void {
    const t = this.stack.transactions;
    const r = t.receiveResponse(m, now);
    if (r == RX_ABSORBED) { this.counters.retransmissionsAbsorbed++; return; }
    if (r != RX_RESPONSE) { this.counters.strayResponses++; return; }
    const i = t.lastHandle;
    if (this.registration.owns(i)) { this.registration.response(m, now); return; }
    if (!this.call.response(m, i, now)) this.counters.strayResponses++;
  }

  private request(m: SipMessage, src: usize, reliable: bool, connection: i32, now: i64): void {
    const s = this.stack;
    const known = isKnownMethod(m);
    if (!known && !m.isMethod("ACK")) {
      // Unknown methods are answered before any transaction state (8.2.1).
      this.counters.unknownMethods++;
      s.replyStateless(m, src, 501, "Not Implemented", "Allow", ALLOW);
      return;
    }
    const mf = m.find(H_MAX_FORWARDS, 0);
    if (mf >= 0) {
      const hops = parseDecimal(m.base, m.valueAt[mf], m.valueAt[mf] + m.valueLen[mf], 255);
      if (hops < 0) { this.counters.badRequests++; if (!m.isMethod("ACK")) s.replyStateless(m, src, 400, "Bad Max-Forwards"); return; }
      if (hops == 0 && !m.isMethod("ACK") && !m.isMethod("OPTIONS")) { this.counters.tooManyHops++; s.replyStateless(m, src, 483, "Too Many Hops"); return; }
    }
    const t = s.transactions;
    const r = t.receiveRequest(m, src, reliable, connection, now);
    if (r == RX_ABSORBED) { this.counters.retransmissionsAbsorbed++; return; }
    if (r == RX_ACK) { this.call.ack(m, now); return; }
    if (r == RX_BAD) {
      this.counters.badRequests++;
      if (!m.isMethod("ACK")) s.replyStateless(m, src, 400, "Bad Request"); // never answer an ACK (17)
      return;
    }
    if (r == RX_FULL) { s.replyStateless(m, src, 503, "Service Unavailable", "Retry-After", "5"); return; }
    if (r != RX_NEW) return;
    const tx = t.lastHandle;
    // 8.2.2.3: an extension we do not support, required by the peer.
    if (m.find(H_REQUIRE, 0) >= 0 && !m.isMethod("CANCEL")) {
      this.counters.badExtensions++;
      const s2 = this.stack;
      const w = s2.beginResponse(m, 420, "Bad Extension", s2.freshToken(8), 8, false);
      for (let h = m.find(H_REQUIRE, 0); h >= 0; h = m.find(H_REQUIRE, h + 1)) w.ascii("Unsupported: ").bytes(m.valuePtr(h), m.valueLen[h]).ascii("\r\n");
      const n = w.finish(0, 0);
      if (n < 0 || !t.respond(tx, w.address, n, 420, now)) { t.abandon(tx); this.counters.unanswerable++; }
      return;
    }
    if (m.isMethod("CANCEL")) {
      this.via.parse(m.base, m.valueAt[m.find(H_VIA, 0)], m.valueAt[m.find(H_VIA, 0)] + m.valueLen[m.find(H_VIA, 0)]);
      const inv = t.findServerInvite(m.base + <usize>this.via.branch.at, this.via.branch.len);
      this.call.cancel(m, tx, inv, now);
      return;
    }
    const to = m.find(H_TO, 0);
    if (to >= 0 && hasTag(m, to, this.span)) {
      // Inside a dialog: ours, or 481 (12.2.2).
      if (this.call.inDialog(m, tx, now)) return;
      if (this.call.dialog.matches(m, true)) { this.answerOther(m, tx, now); return; }
      this.respond(m, tx, 481, "Call/Transaction Does Not Exist", now);
      return;
    }
    if (m.isMethod("INVITE")) { this.call.incoming(m, tx, src, now); return; }
    this.answerOther(m, tx, now);
  }

  private answerOther(m: SipMessage, tx: i32, now: i64): void {
    if (m.isMethod("OPTIONS")) { this.respond(m, tx, 200, "OK", now, "Accept", "application/sdp"); return; }
    if (m.isMethod("MESSAGE")) { this.counters.messages++; this.respond(m, tx, 200, "OK", now); return; }
    if (m.isMethod("BYE")) { this.respond(m, tx, 481, "Call/Transaction Does Not Exist", now); return; }
    this.counters.notAllowed++;
    this.respond(m, tx, 405, "Method Not Allowed", now, "Allow", ALLOW);
  }

  private respond(m: SipMessage, tx: i32, status: i32, reason: string, now: i64, extraName: string = "", extraValue: string = ""): void {
    const s = this.stack;
    const w = s.beginResponse(m, status, reason, s.freshToken(8), 8, false);
    if (extraName.length > 0) w.named(extraName, extraValue);
    if (status == 200) s.writeIdentification(w);
    const n = w.finish(0, 0);
    // A response that cannot be built or kept (the request's Vias fill the writer): free the
    // transaction rather than leave it in Trying for ever; the peer's retransmissions time out.
    if (n < 0 || !s.transactions.respond(tx, w.address, n, status, now)) { s.transactions.abandon(tx); this.counters.unanswerable++; }
  }

  /**
   * Stream connection i is gone (before stack.connections forgets it): the client transactions
   * still waiting on it fail now, a transport error (RFC 3261 8.1.3.1), rather than at timer B
   * or F; the registration, if its flow it was, registers again.
   */
  connectionLost(i: i32, now: i64): void {
    const s = this.stack;
    if (i < 0 || i >= s.connections.table.length) return;
    s.now = now;
    const t = s.transactions;
    for (let k = 0; k < t.table.length; k++) {
      const x = t.at(k);
      if (!x.isClient || x.connection != i || (x.state != S_CALLING && x.state != S_PROCEEDING)) continue;
      const h = t.handle(k);
      t.abandon(h);
      if (this.registration.owns(h)) this.registration.transportFailed(now);
      else this.call.timedOut(h, now);
    }
    if (sockaddrEquals(s.connections.at(i).peerAddress, changetype<usize>(this.registration.registrarAddress))) this.registration.flowLost(now);
  }

  tick(now: i64): void {
    this.stack.now = now;
    this.stack.connection = -1;
    const t = this.stack.transactions;
    t.tick(now);
    this.stack.connections.tick(now);
    while (t.pendingEvents > 0) {
      const kind = t.eventKind();
      const i = t.eventHandle();
      t.popEvent();
      if (kind != EV_TIMEOUT) continue;
      if (this.registration.owns(i)) this.registration.timedOut(now);
      else this.call.timedOut(i, now);
    }
    this.registration.tick(now);
    this.call.tick(now);
  }

  timeout(): i64 {
    const streams = this.stack.connections.timeout();
    return earliest(earliest(earliest(this.stack.transactions.timeout(), this.registration.timeout()), this.call.timeout()), streams);
  }
}

const KNOWN: StaticArray<string> = ["INVITE", "CANCEL", "BYE", "OPTIONS", "MESSAGE", "REGISTER", "INFO", "UPDATE", "PRACK", "SUBSCRIBE", "NOTIFY", "REFER", "PUBLISH"];

function isKnownMethod(m: SipMessage): bool {
  for (let i = 0; i < KNOWN.length; i++) if (m.isMethod(unchecked(KNOWN[i]))) return true;
  return false;
}

function allBlank(p: usize, len: i32): bool {
  for (let i = 0; i < len; i++) { const c = load<u8>(p + <usize>i); if (c != 0x0d && c != 0x0a) return false; }
  return true;
}

@inline function earliest(a: i64, b: i64): i64 { return b < 0 ? a : (a < 0 || b < a ? b : a); }
