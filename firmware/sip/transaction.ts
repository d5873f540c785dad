// SIP transactions (RFC 3261 17, with RFC 6026's Accepted state): a fixed table of client and
// server transactions, each holding the one message it may have to send again. Over UDP they
// retransmit on timers A, E and G and wait out D, I, J, K; over a reliable transport they never
// retransmit and those waits are zero (17.1.1.2). The transaction user (the user agent) starts
// client transactions, answers server ones, and reads timeouts from `events`.
//
// Extension of RFC 6026 used here: a server INVITE transaction in Accepted retransmits its 2xx
// (13.3.1.4's job of the UAS core, with the same T1..T2 schedule) until the user agent reports
// the ACK, so every SIP timer lives in this one table.

import { SipMessage, elementEnd } from "./message";
import { H_VIA, H_CSEQ, H_TO, H_FROM, H_CALL_ID, H_ROUTE, H_MAX_FORWARDS } from "./headers";
import { SipWriter } from "./writer";
import { Via, CSeq, spanIs, spansEqual } from "./uri";
import { SipOutbox } from "./outbox";
import { SOCKADDR_BYTES } from "../lib/inet";

export const CLIENT_INVITE: i32 = 1;
export const CLIENT_NON_INVITE: i32 = 2;
export const SERVER_INVITE: i32 = 3;
export const SERVER_NON_INVITE: i32 = 4;

export const S_FREE: i32 = 0;
export const S_CALLING: i32 = 1;     // client INVITE, also "Trying" of the others
export const S_PROCEEDING: i32 = 2;
export const S_COMPLETED: i32 = 3;
export const S_CONFIRMED: i32 = 4;   // server INVITE after the ACK of a non-2xx
export const S_ACCEPTED: i32 = 5;    // INVITE after a 2xx (RFC 6026)

// What receiveRequest / receiveResponse tell the caller to do with the message.
export const RX_NEW: i32 = 0;            // a new server transaction (index in `lastIndex`): the TU answers it
export const RX_RESPONSE: i32 = 1;       // a response for the client transaction `lastIndex`: the TU acts on it
export const RX_ABSORBED: i32 = 2;       // a retransmission the transaction handled
export const RX_ACK: i32 = 3;            // an ACK no transaction takes: the ACK of a 2xx, for the dialog
export const RX_NO_MATCH: i32 = 4;       // a response for no transaction (or a stray 2xx): dropped
export const RX_FULL: i32 = 5;           // no free transaction: answer 503 statelessly
export const RX_BAD: i32 = 6;            // no usable Via or CSeq: answer 400 statelessly (requests)

// Events for the TU, raised by timers.
export const EV_TIMEOUT: i32 = 1;        // client: B or F fired (a 408 for the TU); server INVITE: no ACK (H or L)

const BRANCH_MAX: i32 = 64;
const METHOD_MAX: i32 = 16;
const SENT_BY_MAX: i32 = 64;
const EVENT_SLOTS: i32 = 16;

export class SipTransaction {
  kind: i32 = 0;
  state: i32 = S_FREE;
  serial: u32 = 0;                 // new for every use of the slot: handles of old uses go stale
  reliable: bool = false;
  connection: i32 = -1;
  status: i32 = 0;                 // last status received (client) or sent (server)
  cseq: u32 = 0;
  readonly branch: StaticArray<u8> = new StaticArray<u8>(BRANCH_MAX);
  branchLen: i32 = 0;
  readonly method: StaticArray<u8> = new StaticArray<u8>(METHOD_MAX);
  methodLen: i32 = 0;
  readonly sentBy: StaticArray<u8> = new StaticArray<u8>(SENT_BY_MAX);
  sentByLen: i32 = 0;
  readonly peer: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  readonly data: StaticArray<u8>;  // the request (client) or the last response (server)
  length: i32 = 0;
  retransmitAt: i64 = -1;
  interval: i64 = 0;
  timeoutAt: i64 = -1;             // B, F, H or L
  endAt: i64 = -1;                 // D, I, J, K, M: the transaction is freed

  constructor(capacity: i32) { this.data = new StaticArray<u8>(capacity); }

  @inline get address(): usize { return changetype<usize>(this.data); }
  @inline get peerAddress(): usize { return changetype<usize>(this.peer); }
  get isInvite(): bool { return this.kind == CLIENT_INVITE || this.kind == SERVER_INVITE; }
  get isClient(): bool { return this.kind == CLIENT_INVITE || this.kind == CLIENT_NON_INVITE; }

  methodIs(name: string): bool { return spanIs(changetype<usize>(this.method), 0, this.methodLen, name); }

  free(): void {
    this.state = S_FREE;
    this.retransmitAt = -1;
    this.timeoutAt = -1;
    this.endAt = -1;
    this.length = 0;
    this.connection = -1;
  }
}

export class SipTransactions {
  readonly table: StaticArray<SipTransaction>;
  private readonly via: Via = new Via();
  private readonly cseqScratch: CSeq = new CSeq();
  private readonly own: SipMessage = new SipMessage();
  private readonly eventKinds: StaticArray<i32> = new StaticArray<i32>(EVENT_SLOTS);
  private readonly eventIndexes: StaticArray<i32> = new StaticArray<i32>(EVENT_SLOTS);
  private eventHead: i32 = 0;
  private eventCount: i32 = 0;
  lastIndex: i32 = -1;
  private serials: u32 = 0;
  t1: i64 = 500_000;
  t2: i64 = 4_000_000;
  t4: i64 = 5_000_000;
  retransmissions: u32 = 0;
  timeouts: u32 = 0;
  full: u32 = 0;
  evicted: u32 = 0;   // lingering transactions freed early for new ones (freeSlot)

  private readonly writer: SipWriter;

  constructor(readonly outbox: SipOutbox, count: i32, messageBytes: i32) {
    this.writer = new SipWriter(messageBytes);
    this.table = new StaticArray<SipTransaction>(count);
    for (let i = 0; i < count; i++) unchecked(this.table[i] = new SipTransaction(messageBytes));
  }

  @inline at(i: i32): SipTransaction { return unchecked(this.table[i]); }

  /**
   * A handle names one use of a slot (serial and index), so that a user agent holding on to a
   * finished transaction never mistakes the slot's next transaction for it.
   */
  handle(i: i32): i32 { return i < 0 ? -1 : <i32>((this.at(i).serial & 0x7fffff) << 8) | i; }
  /** The slot of a live transaction by handle, or -1 when it is gone. */
  index(h: i32): i32 {
    if (h < 0) return -1;
    const i = h & 0xff;
    return i < this.table.length && this.at(i).state != S_FREE && this.handle(i) == h ? i : -1;
  }
  get lastHandle(): i32 { return this.handle(this.lastIndex); }

  private claim(i: i32): SipTransaction {
    const t = this.at(i);
    t.serial = ++this.serials;
    return t;
  }

  /** Timer events, oldest first: kind and transaction handle. */
  get pendingEvents(): i32 { return this.eventCount; }
  eventKind(): i32 { return unchecked(this.eventKinds[this.eventHead]); }
  eventHandle(): i32 { return unchecked(this.eventIndexes[this.eventHead]); }
  popEvent(): void { if (this.eventCount > 0) { this.eventHead = (this.eventHead + 1) % EVENT_SLOTS; this.eventCount--; } }

  /**
   * Starts a client transaction for the request in p[0..len) (built by the TU, with a fresh
   * z9hG4bK branch in its top Via) towards the SOCKADDR at dest, and sends it. Returns its
   * handle, or -1 when the table is full or the request is unusable.
   */
  startClient(p: usize, len: i32, dest: usize, reliable: bool, connection: i32, now: i64): i32 {
    const i = this.freeSlot();
    if (i < 0) { this.full++; return -1; }
    const t = this.claim(i);
    if (len > t.data.length) return -1;
    memory.copy(t.address, p, <usize>len);
    t.length = len;
    // Learn branch and method from our own request (parsed in the copy; parsing may unfold in place).
    const m = this.own;
    if (m.parse(t.address, len, true) != 0 || !m.isRequest || !this.readVia(m, t) || !this.readCSeq(m, t)) return -1;
    if (m.isMethod("ACK")) return -1;
    t.kind = m.isMethod("INVITE") ? CLIENT_INVITE : CLIENT_NON_INVITE;
    t.state = S_CALLING;
    t.reliable = reliable;
    t.connection = connection;
    t.status = 0;
    memory.copy(t.peerAddress, dest, <usize>SOCKADDR_BYTES);
    t.interval = this.t1;
    t.retransmitAt = reliable ? -1 : now + this.t1;
    t.timeoutAt = now + 64 * this.t1;
    t.endAt = -1;
    this.send(t);
    return this.handle(i);
  }

  /** A response arrived: matched by the top Via branch and the CSeq method (17.1.3). */
  receiveResponse(m: SipMessage, now: i64): i32 {
    this.lastIndex = -1;
    const vh = m.find(H_VIA, 0);
    const ch = m.find(H_CSEQ, 0);
    if (vh < 0 || ch < 0) return RX_NO_MATCH;
    const v = this.via;
    if (v.parse(m.base, m.valueAt[vh], m.valueAt[vh] + m.valueLen[vh]) != 0 || !v.branch.present) return RX_NO_MATCH;
    const c = this.cseqScratch;
    if (c.parse(m.base, m.valueAt[ch], m.valueAt[ch] + m.valueLen[ch]) != 0) return RX_NO_MATCH;
    for (let i = 0; i < this.table.length; i++) {
      const t = this.at(i);
      if (t.state == S_FREE || !t.isClient) continue;
      if (!spansEqual(changetype<usize>(t.branch), t.branchLen, m.base + <usize>v.branch.at, v.branch.len)) continue;
      if (!spansEqual(changetype<usize>(t.method), t.methodLen, m.base + <usize>c.method.at, c.method.len)) continue;
      this.lastIndex = i;
      return this.clientResponse(t, m, now);
    }
    return RX_NO_MATCH;
  }

  private clientResponse(t: SipTransaction, m: SipMessage, now: i64): i32 {
    const status = m.status;
    if (t.kind == CLIENT_INVITE) {
      if (t.state == S_CALLING || t.state == S_PROCEEDING) {
        t.status = status;
        if (status < 200) {
          t.state = S_PROCEEDING;
          t.retransmitAt = -1;
          t.timeoutAt = -1; // the TU gives up with CANCEL, not timer B (17.1.1.2)
        } else if (status < 300) {
          t.state = S_ACCEPTED;
          t.retransmitAt = -1;
          t.timeoutAt = -1;
          t.endAt = now + 64 * this.t1; // timer M
        } else {
          t.state = S_COMPLETED;
          t.retransmitAt = -1;
          t.timeoutAt = -1;
          t.endAt = t.reliable ? now : now + 32_000_000; // timer D
          this.ackNonSuccess(t, m);
        }
        return RX_RESPONSE;
      }
      if (t.state == S_ACCEPTED) return status >= 200 && status < 300 ? RX_RESPONSE : RX_ABSORBED; // the TU re-ACKs
      if (t.state == S_COMPLETED) { if (status >= 300) this.send(t); return RX_ABSORBED; } // resend the ACK
      return RX_ABSORBED;
    }
    if (t.state == S_CALLING || t.state == S_PROCEEDING) {
      t.status = status;
      if (status < 200) {
        t.state = S_PROCEEDING;
        if (t.retransmitAt >= 0) { t.interval = this.t2; }
      } else {
        t.state = S_COMPLETED;
        t.retransmitAt = -1;
        t.timeoutAt = -1;
        t.endAt = t.reliable ? now : now + this.t4; // timer K
      }
      return RX_RESPONSE;
    }
    return RX_ABSORBED;
  }

  /**
   * A request arrived from the SOCKADDR at src: a retransmission is answered from the
   * transaction, an ACK of a non-2xx confirms one, anything new opens a server transaction.
   */
  receiveRequest(m: SipMessage, src: usize, reliable: bool, connection: i32, now: i64): i32 {
    this.lastIndex = -1;
    const vh = m.find(H_VIA, 0);
    const ch = m.find(H_CSEQ, 0);
    if (vh < 0 || ch < 0) return RX_BAD;
    const v = this.via;
    if (v.parse(m.base, m.valueAt[vh], m.valueAt[vh] + m.valueLen[vh]) != 0) return RX_BAD;
    const c = this.cseqScratch;
    if (c.parse(m.base, m.valueAt[ch], m.valueAt[ch] + m.valueLen[ch]) != 0) return RX_BAD;
    if (!spansEqual(m.base + <usize>m.methodAt, m.methodLen, m.base + <usize>c.method.at, c.method.len)) return RX_BAD;
    if (!v.hasMagicCookie(m.base) || v.branch.len > BRANCH_MAX || v.sentBy.len > SENT_BY_MAX || m.methodLen > METHOD_MAX) {
      // RFC 2543 peers (no magic cookie) are not supported: 17.2.3's older matching is not implemented.
      return m.isMethod("ACK") ? RX_ACK : RX_BAD;
    }
    const ack = m.isMethod("ACK");
    const branch = m.base + <usize>v.branch.at;
    const sentBy = m.base + <usize>v.sentBy.at;
    for (let i = 0; i < this.table.length; i++) {
      const t = this.at(i);
      if (t.state == S_FREE || t.isClient) continue;
      if (!spansEqual(changetype<usize>(t.branch), t.branchLen, branch, v.branch.len)) continue;
      if (!spansEqual(changetype<usize>(t.sentBy), t.sentByLen, sentBy, v.sentBy.len)) continue;
      if (ack) {
        if (t.kind != SERVER_INVITE) continue;
        this.lastIndex = i;
        if (t.state == S_COMPLETED) {
          t.state = S_CONFIRMED;
          t.retransmitAt = -1;
          t.timeoutAt = -1;
          t.endAt = t.reliable ? now : now + this.t4; // timer I
          return RX_ABSORBED;
        }
        if (t.state == S_ACCEPTED) return RX_ACK; // a 2xx ACK reusing the INVITE's branch: for the dialog
        return RX_ABSORBED;
      }
      if (!spansEqual(changetype<usize>(t.method), t.methodLen, m.base + <usize>m.methodAt, m.methodLen)) continue;
      // A retransmitted request: send the last response again, if there is one (17.2.1, 17.2.2).
      this.lastIndex = i;
      if (t.length > 0 && t.state != S_CONFIRMED) { this.send(t); this.retransmissions++; }
      return RX_ABSORBED;
    }
    if (ack) return RX_ACK;
    const i = this.freeSlot();
    if (i < 0) { this.full++; return RX_FULL; }
    const t = this.claim(i);
    t.kind = m.isMethod("INVITE") ? SERVER_INVITE : SERVER_NON_INVITE;
    t.state = t.kind == SERVER_INVITE ? S_PROCEEDING : S_CALLING;
    t.reliable = reliable;
    t.connection = connection;
    t.status = 0;
    t.cseq = c.number;
    memory.copy(changetype<usize>(t.branch), branch, <usize>v.branch.len);
    t.branchLen = v.branch.len;
    memory.copy(changetype<usize>(t.sentBy), sentBy, <usize>v.sentBy.len);
    t.sentByLen = v.sentBy.len;
    memory.copy(changetype<usize>(t.method), m.base + <usize>m.methodAt, <usize>m.methodLen);
    t.methodLen = m.methodLen;
    memory.copy(t.peerAddress, src, <usize>SOCKADDR_BYTES); // responses go to the source (RFC 3581)
    t.length = 0;
    t.retransmitAt = -1;
    t.timeoutAt = -1;
    t.endAt = -1;
    this.lastIndex = i;
    return RX_NEW;
  }

  /** The TU answers server transaction h with the response in p[0..len). False if it cannot. */
  respond(h: i32, p: usize, len: i32, status: i32, now: i64): bool {
    const i = this.index(h);
    if (i < 0) return false;
    const t = this.at(i);
    if (t.state == S_FREE || t.isClient || len > t.data.length) return false;
    if (t.state != S_CALLING && t.state != S_PROCEEDING) return false; // a final response was sent already
    memory.copy(t.address, p, <usize>len);
    t.length = len;
    t.status = status;
    this.send(t);
    if (status < 200) { t.state = S_PROCEEDING; return true; }
    if (t.kind == SERVER_INVITE) {
      t.state = status < 300 ? S_ACCEPTED : S_COMPLETED;
      t.interval = this.t1;
      t.retransmitAt = t.reliable ? -1 : now + this.t1; // G, or the 2xx schedule
      t.timeoutAt = now + 64 * this.t1;                // H, or L
    } else {
      t.state = S_COMPLETED;
      t.endAt = t.reliable ? now : now + 64 * this.t1; // timer J
    }
    return true;
  }

  /** The dialog saw the ACK of the 2xx sent on server INVITE transaction i: stop resending it. */
  acknowledged(h: i32, now: i64): void {
    const i = this.index(h);
    if (i < 0) return;
    const t = this.at(i);
    if (t.kind != SERVER_INVITE || t.state != S_ACCEPTED) return;
    t.retransmitAt = -1;
    t.timeoutAt = -1;
    t.endAt = now + 64 * this.t1; // keep absorbing INVITE retransmissions (timer L)
  }

  /** The server INVITE transaction with this branch (for CANCEL, 9.2), or -1. */
  findServerInvite(branch: usize, branchLen: i32): i32 {
    for (let i = 0; i < this.table.length; i++) {
      const t = this.at(i);
      if (t.state != S_FREE && t.kind == SERVER_INVITE && spansEqual(changetype<usize>(t.branch), t.branchLen, branch, branchLen)) return this.handle(i);
    }
    return -1;
  }

  /** Ends a transaction at once (the TU gave up on it, or the call is gone). */
  abandon(h: i32): void { const i = this.index(h); if (i >= 0) this.at(i).free(); }

  tick(now: i64): void {
    for (let i = 0; i < this.table.length; i++) {
      const t = this.at(i);
      if (t.state == S_FREE) continue;
      if (t.endAt >= 0 && now >= t.endAt) { t.free(); continue; }
      if (t.timeoutAt >= 0 && now >= t.timeoutAt) {
        this.timeouts++;
        this.raise(EV_TIMEOUT, this.handle(i));
        t.free();
        continue;
      }
      if (t.retransmitAt >= 0 && now >= t.retransmitAt) {
        this.send(t);
        this.retransmissions++;
        // INVITE requests double without bound (timer A); the rest stop at T2 (E, G, 2xx).
        t.interval = t.kind == CLIENT_INVITE ? t.interval * 2 : min(t.interval * 2, this.t2);
        if (t.kind == CLIENT_NON_INVITE && t.state == S_PROCEEDING) t.interval = this.t2;
        t.retransmitAt = now + t.interval;
      }
    }
  }

  /** The earliest deadline of any transaction, or -1. */
  timeout(): i64 {
    let next: i64 = -1;
    for (let i = 0; i < this.table.length; i++) {
      const t = this.at(i);
      if (t.state == S_FREE) continue;
      next = earliest(next, t.retransmitAt);
      next = earliest(next, t.timeoutAt);
      next = earliest(next, t.endAt);
    }
    return next;
  }

  get active(): i32 {
    let n = 0;
    for (let i = 0; i < this.table.length; i++) if (this.at(i).state != S_FREE) n++;
    return n;
  }

  /**
   * A free slot; when there is none, the lingering transaction that ends soonest: one that only
   * absorbs retransmissions (Completed or Confirmed: Timers D, I, J, K) gives way to new work,
   * as a lost retransmission would. Repeated calls through a proxy that challenges every
   * INVITE leave three such transactions each for 32 s. Accepted ones (RFC 6026) are kept.
   */
  private freeSlot(): i32 {
    let linger = -1;
    for (let i = 0; i < this.table.length; i++) {
      const t = this.at(i);
      if (t.state == S_FREE) return i;
      if ((t.state == S_COMPLETED || t.state == S_CONFIRMED) && t.endAt >= 0 && (linger < 0 || t.endAt < this.at(linger).endAt)) linger = i;
    }
    if (linger >= 0) { this.at(linger).free(); this.evicted++; }
    return linger;
  }

  private send(t: SipTransaction): void {
    if (t.length > 0) this.outbox.push(t.address, t.length, t.peerAddress, t.connection);
  }

  private raise(kind: i32, index: i32): void {
    if (this.eventCount == EVENT_SLOTS) this.popEvent(); // the oldest is the least useful
    const slot = (this.eventHead + this.eventCount) % EVENT_SLOTS;
    unchecked(this.eventKinds[slot] = kind);
    unchecked(this.eventIndexes[slot] = index);
    this.eventCount++;
  }

  private readVia(m: SipMessage, t: SipTransaction): bool {
    const vh = m.find(H_VIA, 0);
    const v = this.via;
    if (vh < 0 || v.parse(m.base, m.valueAt[vh], m.valueAt[vh] + m.valueLen[vh]) != 0) return false;
    if (!v.hasMagicCookie(m.base) || v.branch.len > BRANCH_MAX || v.sentBy.len > SENT_BY_MAX) return false;
    memory.copy(changetype<usize>(t.branch), m.base + <usize>v.branch.at, <usize>v.branch.len);
    t.branchLen = v.branch.len;
    memory.copy(changetype<usize>(t.sentBy), m.base + <usize>v.sentBy.at, <usize>v.sentBy.len);
    t.sentByLen = v.sentBy.len;
    return true;
  }

  private readCSeq(m: SipMessage, t: SipTransaction): bool {
    const ch = m.find(H_CSEQ, 0);
    const c = this.cseqScratch;
    if (ch < 0 || c.parse(m.base, m.valueAt[ch], m.valueAt[ch] + m.valueLen[ch]) != 0 || c.method.len > METHOD_MAX) return false;
    memory.copy(changetype<usize>(t.method), m.base + <usize>c.method.at, <usize>c.method.len);
    t.methodLen = c.method.len;
    t.cseq = c.number;
    return true;
  }

  /**
   * 17.1.1.3: the ACK of a non-2xx final response, from the INVITE held in the transaction
   * (Request-URI, top Via, From, Call-ID, CSeq number, Route) and the response's To (its tag).
   * It replaces the INVITE in the buffer: the INVITE is never sent again.
   */
  private ackNonSuccess(t: SipTransaction, response: SipMessage): void {
    const inv = this.own;
    const w = this.writer;
    const inviteLength = t.length;
    t.length = 0;
    if (inv.parse(t.address, inviteLength, true) != 0) return;
    const to = response.find(H_TO, 0);
    if (to < 0) return;
    w.requestTo("ACK", inv.base + <usize>inv.uriAt, inv.uriLen);
    const vh = inv.find(H_VIA, 0);
    w.headerBytes(H_VIA, inv.valuePtr(vh), elementEnd(inv.base, inv.valueAt[vh], inv.valueAt[vh] + inv.valueLen[vh]) - inv.valueAt[vh]);
    w.header(H_MAX_FORWARDS, "70");
    copyHeader(w, inv, H_FROM);
    w.headerBytes(H_TO, response.valuePtr(to), response.valueLen[to]);
    copyHeader(w, inv, H_CALL_ID);
    w.ascii("CSeq: ").decimal(t.cseq).ascii(" ACK\r\n");
    for (let h = inv.find(H_ROUTE, 0); h >= 0; h = inv.find(H_ROUTE, h + 1)) w.headerBytes(H_ROUTE, inv.valuePtr(h), inv.valueLen[h]);
    const n = w.finish(0, 0);
    if (n < 0 || n > t.data.length) return;
    memory.copy(t.address, w.address, <usize>n);
    t.length = n;
    this.send(t);
  }
}

function copyHeader(w: SipWriter, m: SipMessage, id: i32): void {
  const h = m.find(id, 0);
  if (h >= 0) w.headerBytes(id, m.valuePtr(h), m.valueLen[h]);
}

@inline function earliest(a: i64, b: i64): i64 { return b < 0 ? a : (a < 0 || b < a ? b : a); }
