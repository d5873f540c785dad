// One call's signalling (RFC 3261 13-15, RFC 3264 for where the SDP goes): INVITE out and in,
// 180 Ringing and auto-answer, the ACK of a 2xx, CANCEL, BYE and re-INVITE (hold, a new media
// address). The SDP itself is the SessionHandler's business; this file only carries it.

import { SipStack, SIP_MESSAGE_BYTES } from "./stack";
import { SipWriter } from "./writer";
import { SipMessage } from "./message";
import { Dialog, Bytes } from "./dialog";
import { SessionHandler, END_LOCAL_HANGUP, END_REMOTE_HANGUP, END_REJECTED, END_TIMEOUT, END_MEDIA, END_AUTH, END_NETWORK } from "./session";
import { DigestChallenge, DigestClient } from "./digest";
import {
  H_CALL_ID, H_CSEQ, H_TO, H_VIA, H_ROUTE, H_CONTENT_TYPE, H_WWW_AUTHENTICATE, H_PROXY_AUTHENTICATE, H_AUTHORIZATION,
  H_PROXY_AUTHORIZATION, H_CALL_INFO, H_ALERT_INFO, H_FROM, H_MAX_FORWARDS,
} from "./headers";
import { SipUri, Span, Via, CSeq, addressUri, findParam, spanIs } from "./uri";
import { elementEnd, parseDecimal } from "./message";
import { SOCKADDR_BYTES } from "../lib/inet";

export const CS_IDLE: i32 = 0;
export const CS_OUTGOING: i32 = 1;   // our INVITE is out, no final response yet
export const CS_INCOMING: i32 = 2;   // an INVITE is ringing here
export const CS_ACTIVE: i32 = 3;     // confirmed dialog
export const CS_ENDING: i32 = 4;     // our BYE or CANCEL is out

export const ANSWER_OFF: i32 = 0;      // ring until someone answers
export const ANSWER_ALWAYS: i32 = 1;   // answer every call after the configured delay
export const ANSWER_INTERCOM: i32 = 2; // answer when the caller asks (Call-Info answer-after, Alert-Info auto answer)

const BODY_BYTES: i32 = 2048;
const ANSWER_POLL_US: i64 = 10_000; // while the media side gathers candidates before a 2xx
const SDP_TYPE = "application/sdp";

export class InviteSession {
  state: i32 = CS_IDLE;
  readonly dialog: Dialog = new Dialog();
  readonly auth: DigestClient = new DigestClient();
  private readonly challenge: DigestChallenge = new DigestChallenge();
  private readonly authValue: StaticArray<u8> = new StaticArray<u8>(1024);
  private authLen: i32 = 0;
  private authHeader: i32 = 0;
  private readonly target: Bytes = new Bytes(256);          // Request-URI of our INVITE
  private readonly firstHop: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  readonly outboundProxy: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  useOutboundProxy: bool = false;
  private readonly offer: Bytes = new Bytes(BODY_BYTES);    // our offer, kept for an authenticated retry
  private readonly body: Bytes = new Bytes(BODY_BYTES);
  private readonly ackMessage: Bytes = new Bytes(2048);
  private readonly ackTo: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  private readonly request: StaticArray<u8> = new StaticArray<u8>(SIP_MESSAGE_BYTES); // the INVITE we answer
  private readonly invite: SipMessage = new SipMessage();
  private readonly uri: SipUri = new SipUri();
  private readonly span: Span = new Span();
  private readonly via: Via = new Via();
  private readonly cseq: CSeq = new CSeq();
  private inviteTx: i32 = -1;       // client or server transaction of the INVITE
  private inviteCSeq: u32 = 0;
  private byeTx: i32 = -1;
  private cancelTx: i32 = -1;
  private reinviteTx: i32 = -1;     // our re-INVITE
  private reinviteServerTx: i32 = -1;
  private cancelPending: bool = false;
  private ringingReported: bool = false;
  private giveUpAt: i64 = -1;       // a CANCELled INVITE still without a final response
  /** How long a call may ring, either way, before it is given up (480 in, CANCEL out). */
  ringLimitUs: i64 = 120_000_000;
  private ringEndsAt: i64 = -1;
  private inviteRemoteCSeq: u32 = 0; // CSeq of the INVITE we answer (its ACK has the same number)
  private offerless: bool = false;  // the INVITE had no SDP: our offer is in the 2xx, the answer in the ACK
  answerMode: i32 = ANSWER_OFF;
  answerAfterMs: i32 = 0;
  answerAt: i64 = -1;
  held: bool = false;
  lastStatus: i32 = 0;
  setupStartUs: i64 = -1;           // INVITE sent or received
  setupDoneUs: i64 = -1;            // ACK sent or received
  busyRejected: u32 = 0;
  private endReason: i32 = 0;       // hangupFor's reason, reported when the call ends
  private reoffering: bool = false; // the re-INVITE out is reoffer()'s, not hold()'s

  constructor(private stack: SipStack, private handler: SessionHandler) {}

  get busy(): bool { return this.state != CS_IDLE; }

  // ---- calling out -------------------------------------------------------------------------

  /** Calls a SIP URI (its host an IP literal, or via the outbound proxy). False when it cannot start. */
  call(uri: usize, len: i32, now: i64): bool {
    if (this.state != CS_IDLE || !this.target.set(uri, len) || this.uri.parse(this.target.address, 0, len) != 0) return false;
    const hop = changetype<usize>(this.firstHop);
    if (this.useOutboundProxy) memory.copy(hop, changetype<usize>(this.outboundProxy), <usize>SOCKADDR_BYTES);
    else if (!this.uri.destination(this.target.address, hop)) return false;
    const n = this.handler.offer(this.offer.address, this.offer.data.length, false);
    if (n <= 0) return false;
    this.offer.length = n;
    const s = this.stack;
    this.dialog.clear();
    this.dialog.callId.set(s.freshToken(24), 24);
    this.dialog.localTag.set(s.freshToken(10), 10);
    this.dialog.localCSeq = 1 + (s.entropy.u32() & 0xffff);
    this.dialog.remoteTarget.set(this.target.address, this.target.length);
    memory.copy(changetype<usize>(this.dialog.peer), hop, <usize>SOCKADDR_BYTES);
    this.authLen = 0;
    this.auth.newRequest();
    this.cancelPending = false;
    this.ringingReported = false;
    this.held = false;
    this.setupStartUs = now;
    this.setupDoneUs = -1;
    if (!this.sendInvite(now)) { this.state = CS_IDLE; return false; }
    this.state = CS_OUTGOING;
    this.ringEndsAt = now + this.ringLimitUs;
    return true;
  }

  private sendInvite(now: i64): bool {
    const s = this.stack;
    const d = this.dialog;
    const w = s.beginRequest("INVITE", this.target.address, this.target.length);
    s.writeFrom(w, d.localTag.address, d.localTag.length, d.localValue);
    w.ascii("To: <").bytes(this.target.address, this.target.length).ascii(">\r\n");
    w.headerBytes(H_CALL_ID, d.callId.address, d.callId.length);
    this.inviteCSeq = d.localCSeq;
    w.ascii("CSeq: ").decimal(d.localCSeq).ascii(" INVITE\r\n");
    s.writeContact(w);
    if (this.authLen > 0) w.headerBytes(this.authHeader, changetype<usize>(this.authValue), this.authLen);
    s.writeIdentification(w);
    w.header(H_CONTENT_TYPE, SDP_TYPE);
    const n = w.finish(this.offer.address, this.offer.length);
    if (n < 0) return false;
    this.inviteTx = s.transactions.startClient(w.address, n, changetype<usize>(this.firstHop), s.reliable, s.route(changetype<usize>(this.firstHop)), now);
    return this.inviteTx >= 0;
  }

  /** Hangs up as hangup() does, the call's end then reported with `reason` (consent lost, ICE failed). */
  hangupFor(reason: i32, now: i64): void {
    this.endReason = reason;
    this.hangup(now);
  }

  /** A new offer in a re-INVITE, the hold state unchanged (an ICE restart after an address change). */
  reoffer(now: i64): bool {
    this.reoffering = true;
    const ok = this.hold(this.held, now);
    if (!ok) this.reoffering = false;
    return ok;
  }

  /** Hangs up: CANCEL while ringing out, 486/603 while ringing in, BYE once connected. */
  hangup(now: i64): void {
    if (this.state == CS_OUTGOING) {
      // 9.1: a CANCEL only after a provisional response; until then remember to send it.
      const i = this.stack.transactions.index(this.inviteTx);
      if (i >= 0 && this.stack.transactions.at(i).status >= 100 && this.stack.transactions.at(i).status < 200) this.sendCancel(now);
      else this.cancelPending = true;
      return;
    }
    if (this.state == CS_INCOMING) { this.reject(603, "Decline", now); return; }
    if (this.state == CS_ACTIVE) this.sendBye(now);
  }

  private sendCancel(now: i64): void {
    // 9.1: the INVITE's Request-URI, Call-ID, From, To, CSeq number and top Via (same branch), Route.
    const s = this.stack;
    const i = s.transactions.index(this.inviteTx);
    if (i < 0) return;
    const t = s.transactions.at(i);
    const m = this.invite;
    if (m.parse(t.address, t.length, true) != 0) return;
    const w = s.writer.requestTo("CANCEL", m.base + <usize>m.uriAt, m.uriLen);
    const vh = m.find(H_VIA, 0);
    w.headerBytes(H_VIA, m.valuePtr(vh), m.valueLen[vh]);
    w.header(H_MAX_FORWARDS, "70");
    copyFrom(w, m, H_FROM);
    copyFrom(w, m, H_TO);
    copyFrom(w, m, H_CALL_ID);
    w.ascii("CSeq: ").decimal(this.inviteCSeq).ascii(" CANCEL\r\n");
    for (let h = m.find(H_ROUTE, 0); h >= 0; h = m.find(H_ROUTE, h + 1)) w.headerBytes(H_ROUTE, m.valuePtr(h), m.valueLen[h]);
    const n = w.finish(0, 0);
    if (n > 0) this.cancelTx = s.transactions.startClient(w.address, n, changetype<usize>(this.firstHop), s.reliable, s.route(changetype<usize>(this.firstHop)), now);
    this.cancelPending = false;
    this.state = CS_ENDING;
    // 9.1: if no final response to the INVITE comes within 64*T1 of the CANCEL, give up on it.
    this.giveUpAt = now + 64 * s.transactions.t1;
  }

  /** A response to one of our requests; false when no transaction of this call owns it. */
  response(m: SipMessage, tx: i32, now: i64): bool {
    if (tx < 0) return false;
    if (tx == this.inviteTx) { this.inviteResponse(m, now); return true; }
    if (tx == this.byeTx) { if (m.status >= 200) this.finish(END_LOCAL_HANGUP, m.status); return true; }
    if (tx == this.cancelTx) { this.cancelTx = m.status >= 200 ? -1 : this.cancelTx; return true; }
    if (tx == this.reinviteTx) { this.reinviteResponse(m, now); return true; }
    return false;
  }

  private inviteResponse(m: SipMessage, now: i64): void {
    const status = m.status;
    this.lastStatus = status;
    if (status < 200) {
      if (status > 100) {
        if (!this.ringingReported) { this.ringingReported = true; this.handler.ringing(); }
      }
      if (this.cancelPending) this.sendCancel(now);
      return;
    }
    if (status < 300) {
      const d = this.dialog;
      if (this.setupDoneUs >= 0) { this.resendAck(); return; } // a retransmitted 2xx (13.2.2.4)
      if (!d.fromResponse(m)) { this.finish(END_NETWORK, status); return; }
      d.confirmed = true;
      this.sendAck(now, this.inviteCSeq);
      this.setupDoneUs = now;
      if (this.state == CS_ENDING || this.cancelPending) {
        // Our CANCEL lost the race with the 2xx: end the call properly with a BYE (15).
        this.state = CS_ACTIVE;
        this.sendBye(now);
        return;
      }
      const r = m.bodyLen > 0 ? this.handler.answered(m.base + <usize>m.bodyAt, m.bodyLen) : -488;
      this.state = CS_ACTIVE;
      this.ringEndsAt = -1;
      if (r < 0) { this.sendBye(now); return; }
      this.handler.established();
      return;
    }
    if ((status == 401 || status == 407) && this.state == CS_OUTGOING) {
      const h = m.find(status == 401 ? H_WWW_AUTHENTICATE : H_PROXY_AUTHENTICATE, 0);
      if (h >= 0 && this.challenge.parse(m.valuePtr(h), m.valueLen[h]) == 0 && this.auth.shouldRetry(this.challenge)) {
        const n = this.auth.respond(this.challenge, "INVITE", this.target.address, this.target.length,
          this.stack.entropy.take(12), 12, changetype<usize>(this.authValue), this.authValue.length);
        if (n > 0) {
          this.authLen = n;
          this.authHeader = status == 401 ? H_AUTHORIZATION : H_PROXY_AUTHORIZATION;
          this.dialog.localCSeq++;
          if (this.sendInvite(now)) return;
        }
      }
      this.finish(END_AUTH, status);
      return;
    }
    this.finish(this.state == CS_ENDING ? END_LOCAL_HANGUP : (status == 408 ? END_TIMEOUT : END_REJECTED), status);
  }

  private sendAck(now: i64, cseq: u32): void {
    // 13.2.2.4: the ACK of a 2xx is a request of the dialog, sent end to end, resent per 2xx.
    const s = this.stack;
    const d = this.dialog;
    const w = s.beginRequest("ACK", d.remoteTarget.address, d.remoteTarget.length);
    this.writeDialogHeaders(w, cseq, "ACK");
    if (this.offerless) w.header(H_CONTENT_TYPE, SDP_TYPE);
    const n = w.finish(this.body.address, this.offerless ? this.body.length : 0);
    if (n < 0) return;
    this.ackMessage.set(w.address, n);
    d.nextHop(changetype<usize>(this.ackTo));
    this.resendAck();
  }

  private resendAck(): void {
    const to = changetype<usize>(this.ackTo);
    if (this.ackMessage.length > 0) this.stack.outbox.push(this.ackMessage.address, this.ackMessage.length, to, this.stack.route(to));
  }

  private writeDialogHeaders(w: SipWriter, cseq: u32, method: string): void {
    const d = this.dialog;
    d.writeRoutes(w);
    w.headerBytes(H_FROM, d.localValue.address, d.localValue.length);
    w.headerBytes(H_TO, d.remoteValue.address, d.remoteValue.length);
    w.headerBytes(H_CALL_ID, d.callId.address, d.callId.length);
    w.ascii("CSeq: ").decimal(cseq).byte(0x20).ascii(method).ascii("\r\n");
  }

  private sendBye(now: i64): void {
    const s = this.stack;
    const d = this.dialog;
    d.localCSeq++;
    const w = s.beginRequest("BYE", d.remoteTarget.address, d.remoteTarget.length);
    this.writeDialogHeaders(w, d.localCSeq, "BYE");
    s.writeIdentification(w);
    const n = w.finish(0, 0);
    const hop = changetype<usize>(this.ackTo);
    d.nextHop(hop);
    this.byeTx = n > 0 ? s.transactions.startClient(w.address, n, hop, s.reliable, s.route(hop), now) : -1;
    this.state = CS_ENDING;
    if (this.byeTx < 0) this.finish(END_LOCAL_HANGUP, 0);
  }

  /** Puts the call on hold (sendonly offer) or resumes it, by re-INVITE (RFC 3264 8.4). */
  hold(on: bool, now: i64): bool {
    if (this.state != CS_ACTIVE || this.reinviteTx >= 0 || this.reinviteServerTx >= 0) return false;
    const n = this.handler.offer(this.offer.address, this.offer.data.length, on);
    if (n <= 0) return false;
    this.offer.length = n;
    const s = this.stack;
    const d = this.dialog;
    d.localCSeq++;
    const w = s.beginRequest("INVITE", d.remoteTarget.address, d.remoteTarget.length);
    this.writeDialogHeaders(w, d.localCSeq, "INVITE");
    s.writeContact(w);
    s.writeIdentification(w);
    w.header(H_CONTENT_TYPE, SDP_TYPE);
    const len = w.finish(this.offer.address, this.offer.length);
    const hop = changetype<usize>(this.ackTo);
    d.nextHop(hop);
    this.reinviteTx = len > 0 ? s.transactions.startClient(w.address, len, hop, s.reliable, s.route(hop), now) : -1;
    if (this.reinviteTx >= 0) { this.held = on; this.inviteCSeq = d.localCSeq; }
    return this.reinviteTx >= 0;
  }

  private reinviteResponse(m: SipMessage, now: i64): void {
    if (m.status < 200) return;
    this.reinviteTx = -1;
    if (m.status < 300) {
      this.reoffering = false;
      this.sendAck(now, this.inviteCSeq);
      if (m.bodyLen > 0 && this.handler.answered(m.base + <usize>m.bodyAt, m.bodyLen) < 0) this.sendBye(now);
      return;
    }
    // 14.1: a failed re-INVITE leaves the session as it was; 481/408 end the dialog (12.2.1.2).
    if (!this.reoffering) this.held = !this.held;
    this.reoffering = false;
    if (m.status == 481 || m.status == 408) this.sendBye(now);
  }

  // ---- being called ------------------------------------------------------------------------

  /** A new INVITE outside any dialog, on server transaction tx. */
  incoming(m: SipMessage, tx: i32, src: usize, now: i64): void {
    const s = this.stack;
    if (this.state != CS_IDLE) {
      // One call at a time: 486 Busy Here (an intercom has one speaker).
      this.busyRejected++;
      this.respondOn(m, tx, 486, "Busy Here", false, 0, now);
      return;
    }
    if (m.length > this.request.length) { this.respondOn(m, tx, 513, "Message Too Large", false, 0, now); return; }
    // Keep the INVITE: ringing may last, and every response to it copies its headers.
    memory.copy(changetype<usize>(this.request), m.base, <usize>m.length);
    if (this.invite.parse(changetype<usize>(this.request), m.length, true) != 0) { this.respondOn(m, tx, 400, "Bad Request", false, 0, now); return; }
    const inv = this.invite;
    const tag = s.freshToken(10);
    if (!this.dialog.fromRequest(inv, tag, 10, src)) { this.respondOn(inv, tx, 400, "Bad Request", false, 0, now); return; }
    this.dialog.localCSeq = 1 + (s.entropy.u32() & 0xffff);
    this.inviteTx = tx;
    this.inviteRemoteCSeq = this.dialog.remoteCSeq;
    this.offerless = inv.bodyLen == 0;
    if (!this.offerless) {
      const n = this.handler.answer(inv.base + <usize>inv.bodyAt, inv.bodyLen, this.body.address, this.body.data.length);
      if (n < 0) {
        this.respondOn(inv, tx, -n, -n == 488 ? "Not Acceptable Here" : "Unsupported Media Type", false, 0, now);
        this.dialog.clear();
        return;
      }
      this.body.length = n;
    }
    this.state = CS_INCOMING;
    this.setupStartUs = now;
    this.setupDoneUs = -1;
    this.held = false;
    this.ringEndsAt = now + this.ringLimitUs;
    const after = this.autoAnswerDelay(inv);
    this.answerAt = after >= 0 ? now + <i64>after * 1000 : -1;
    this.respondOn(inv, tx, 180, "Ringing", true, 0, now);
    this.handler.incoming(after);
    if (after == 0) this.answer(now);
  }

  /** The local side picks up (button, or auto-answer). */
  answer(now: i64): bool {
    if (this.state != CS_INCOMING) return false;
    this.answerAt = -1;
    // The media side may still be gathering its candidates: answer as soon as it has them.
    if (!this.handler.mediaReady()) { this.answerAt = now + ANSWER_POLL_US; return true; }
    if (!this.offerless) {
      // The answer is written now, with what the media side knows now (its candidates).
      const inv = this.invite;
      const n = this.handler.answer(inv.base + <usize>inv.bodyAt, inv.bodyLen, this.body.address, this.body.data.length);
      if (n < 0) { this.reject(-n, -n == 488 ? "Not Acceptable Here" : "Server Internal Error", now); return false; }
      this.body.length = n;
    }
    if (this.offerless) {
      const n = this.handler.offer(this.body.address, this.body.data.length, false);
      if (n <= 0) { this.reject(500, "Server Internal Error", now); return false; }
      this.body.length = n;
    }
    if (!this.respondOn(this.invite, this.inviteTx, 200, "OK", true, this.body.length, now)) {
      // The 200 does not fit (the INVITE's headers are too big to echo): refuse instead.
      this.body.length = 0;
      this.respondOn(this.invite, this.inviteTx, 500, "Server Internal Error", false, 0, now);
      this.finish(END_NETWORK, 500);
      return false;
    }
    this.state = CS_ACTIVE; // confirmed by the ACK; media may start now (the peer has our answer)
    this.ringEndsAt = -1;
    if (!this.offerless) this.handler.established();
    return true;
  }

  /** Refuses the ringing call with a final status. */
  reject(status: i32, reason: string, now: i64): void {
    if (this.state != CS_INCOMING) return;
    this.respondOn(this.invite, this.inviteTx, status, reason, false, 0, now);
    this.finish(END_LOCAL_HANGUP, status);
  }

  /** An ACK that no transaction took: the ACK of our 2xx (or a stray one). */
  ack(m: SipMessage, now: i64): void {
    if (!this.dialog.matches(m, true)) return;
    // Which 2xx it acknowledges: the INVITE's or a re-INVITE's, by the CSeq number (13.2.2.4).
    const cs = m.find(H_CSEQ, 0);
    if (cs < 0 || this.cseq.parse(m.base, m.valueAt[cs], m.valueAt[cs] + m.valueLen[cs]) != 0) return;
    if (this.cseq.number != this.inviteRemoteCSeq) {
      if (this.reinviteServerTx >= 0) { this.stack.transactions.acknowledged(this.reinviteServerTx, now); this.reinviteServerTx = -1; }
      return;
    }
    if (this.state != CS_ACTIVE) return; // no 2xx was sent: a stray ACK
    this.stack.transactions.acknowledged(this.inviteTx, now);
    if (this.setupDoneUs < 0) {
      this.setupDoneUs = now;
      this.dialog.confirmed = true;
      if (this.offerless) {
        const r = m.bodyLen > 0 ? this.handler.answered(m.base + <usize>m.bodyAt, m.bodyLen) : -488;
        if (r < 0) { this.sendBye(now); return; }
        this.handler.established();
      }
    }
  }

  /** CANCEL of the INVITE on server transaction inviteTx (9.2): 200 to the CANCEL, 487 to the INVITE. */
  cancel(m: SipMessage, tx: i32, inviteTx: i32, now: i64): void {
    if (inviteTx < 0 || inviteTx != this.inviteTx || this.state != CS_INCOMING) {
      this.respondOn(m, tx, 481, "Call/Transaction Does Not Exist", false, 0, now);
      return;
    }
    this.respondOn(m, tx, 200, "OK", false, 0, now);
    this.respondOn(this.invite, this.inviteTx, 487, "Request Terminated", false, 0, now);
    this.finish(END_REMOTE_HANGUP, 487);
  }

  /** A request inside our dialog (BYE, re-INVITE, OPTIONS...). False when it is not for this dialog. */
  inDialog(m: SipMessage, tx: i32, now: i64): bool {
    if (!this.dialog.matches(m, true)) return false;
    const cs = m.find(H_CSEQ, 0);
    if (this.cseq.parse(m.base, m.valueAt[cs], m.valueAt[cs] + m.valueLen[cs]) != 0) return false;
    const d = this.dialog;
    if (d.remoteCSeq != 0 && this.cseq.number < d.remoteCSeq && !m.isMethod("ACK")) {
      this.respondOn(m, tx, 500, "Server Internal Error", false, 0, now); // 12.2.2: out of order
      return true;
    }
    d.remoteCSeq = this.cseq.number;
    if (m.isMethod("BYE")) {
      this.respondOn(m, tx, 200, "OK", false, 0, now);
      if (this.state == CS_INCOMING) this.respondOn(this.invite, this.inviteTx, 487, "Request Terminated", false, 0, now);
      this.finish(END_REMOTE_HANGUP, 0);
      return true;
    }
    if (m.isMethod("INVITE")) {
      // 14.2: a second INVITE before our final response to the first gets 500.
      if (this.state == CS_INCOMING) { this.respondOn(m, tx, 500, "Server Internal Error", false, 0, now); return true; }
      if (this.reinviteTx >= 0 || this.reinviteServerTx >= 0) { this.respondOn(m, tx, 491, "Request Pending", false, 0, now); return true; }
      if (m.bodyLen == 0) { this.respondOn(m, tx, 488, "Not Acceptable Here", false, 0, now); return true; }
      const n = this.handler.answer(m.base + <usize>m.bodyAt, m.bodyLen, this.body.address, this.body.data.length);
      if (n < 0) { this.respondOn(m, tx, -n, "Not Acceptable Here", false, 0, now); return true; }
      this.body.length = n;
      d.refreshTarget(m);
      this.reinviteServerTx = tx;
      this.respondOn(m, tx, 200, "OK", true, n, now);
      return true;
    }
    return false; // the user agent answers the rest (OPTIONS, MESSAGE, INFO...)
  }

  /** A transaction timed out (B, F, H or L). */
  timedOut(tx: i32, now: i64): void {
    if (tx == this.inviteTx) {
      if (this.state == CS_ACTIVE && this.setupDoneUs < 0) { this.inviteTx = -1; this.sendBye(now); return; } // no ACK for our 2xx
      if (this.state == CS_OUTGOING || this.state == CS_ENDING || this.state == CS_INCOMING) this.finish(END_TIMEOUT, 408);
      return;
    }
    if (tx == this.byeTx) { this.finish(END_LOCAL_HANGUP, 408); return; }
    if (tx == this.reinviteTx) { this.reinviteTx = -1; this.sendBye(now); return; }
    if (tx == this.reinviteServerTx) { this.reinviteServerTx = -1; this.sendBye(now); return; }
    if (tx == this.cancelTx) { this.cancelTx = -1; this.stack.transactions.abandon(this.inviteTx); this.finish(END_LOCAL_HANGUP, 408); }
  }

  tick(now: i64): void {
    if (this.answerAt >= 0 && now >= this.answerAt) this.answer(now);
    if (this.ringEndsAt >= 0 && now >= this.ringEndsAt) {
      this.ringEndsAt = -1;
      // Nobody answered in time: a ringing call gets 480, our own call is cancelled.
      if (this.state == CS_INCOMING) this.reject(480, "Temporarily Unavailable", now);
      else if (this.state == CS_OUTGOING) this.hangup(now);
    }
    if (this.giveUpAt >= 0 && now >= this.giveUpAt) {
      this.stack.transactions.abandon(this.inviteTx);
      this.finish(END_LOCAL_HANGUP, 408);
    }
  }

  timeout(): i64 {
    let next = this.answerAt;
    if (this.giveUpAt >= 0 && (next < 0 || this.giveUpAt < next)) next = this.giveUpAt;
    if (this.ringEndsAt >= 0 && (next < 0 || this.ringEndsAt < next)) next = this.ringEndsAt;
    return next;
  }

  private autoAnswerDelay(m: SipMessage): i32 {
    if (this.answerMode == ANSWER_ALWAYS) return this.answerAfterMs;
    if (this.answerMode != ANSWER_INTERCOM) return -1;
    // Call-Info: <uri>;answer-after=N (the paging convention of SIP phones), in seconds.
    for (let h = m.find(H_CALL_INFO, 0); h >= 0; h = m.find(H_CALL_INFO, h + 1)) {
      const end = m.valueAt[h] + m.valueLen[h];
      const pe = addressUri(m.base, m.valueAt[h], end, this.span);
      if (pe >= 0 && findParam(m.base, pe, end, "answer-after", this.span)) {
        const v = parseDecimal(m.base, this.span.at, this.span.at + this.span.len, 3600);
        if (v >= 0) return <i32>v * 1000;
      }
    }
    // Alert-Info: <...>;info=alert-autoanswer, or the "Auto Answer" / "answer" tokens some PBXs send.
    for (let h = m.find(H_ALERT_INFO, 0); h >= 0; h = m.find(H_ALERT_INFO, h + 1)) {
      if (contains(m.base, m.valueAt[h], m.valueLen[h], "autoanswer") || contains(m.base, m.valueAt[h], m.valueLen[h], "auto answer")
        || contains(m.base, m.valueAt[h], m.valueLen[h], "intercom")) return this.answerAfterMs;
    }
    return -1;
  }

  /** Sends a response on server transaction tx; false when it could not be built (the transaction is then freed). */
  private respondOn(m: SipMessage, tx: i32, status: i32, reason: string, dialogResponse: bool, bodyLen: i32, now: i64): bool {
    const s = this.stack;
    const d = this.dialog;
    const w = s.beginResponse(m, status, reason, d.localTag.address, d.localTag.length, dialogResponse);
    if (status >= 200 && status < 300) s.writeIdentification(w);
    if (bodyLen > 0) w.header(H_CONTENT_TYPE, SDP_TYPE);
    const n = w.finish(this.body.address, bodyLen);
    if (n < 0) { s.transactions.abandon(tx); return false; }
    // Without a transaction (it was freed, or the table was full) the response goes out once.
    if (!s.transactions.respond(tx, w.address, n, status, now)) s.outbox.push(w.address, n, changetype<usize>(d.peer), s.connection);
    return true;
  }

  private finish(reason: i32, status: i32): void {
    const was = this.state;
    if (this.endReason != 0 && reason == END_LOCAL_HANGUP) reason = this.endReason;
    this.endReason = 0;
    this.reoffering = false;
    // A ringing call that ends any other way still owes its INVITE a final response.
    if (was == CS_INCOMING && this.stack.transactions.index(this.inviteTx) >= 0) {
      const i = this.stack.transactions.index(this.inviteTx);
      if (this.stack.transactions.at(i).status < 200) this.respondOn(this.invite, this.inviteTx, 487, "Request Terminated", false, 0, this.stack.now);
    }
    this.state = CS_IDLE;
    this.answerAt = -1;
    this.inviteTx = -1;
    this.byeTx = -1;
    this.reinviteTx = -1;
    this.reinviteServerTx = -1;
    this.cancelPending = false;
    this.giveUpAt = -1;
    this.ringEndsAt = -1;
    this.ackMessage.length = 0;
    this.lastStatus = status;
    this.dialog.active = false;
    if (was != CS_IDLE) this.handler.ended(reason, status);
  }
}

function copyFrom(w: SipWriter, m: SipMessage, id: i32): void {
  const h = m.find(id, 0);
  if (h >= 0) w.headerBytes(id, m.valuePtr(h), m.valueLen[h]);
}

function contains(p: usize, at: i32, len: i32, s: string): bool {
  const n = s.length;
  for (let i = 0; i + n <= len; i++) if (spanIs(p, at + i, n, s)) return true;
  return false;
}
