// STUN request transactions over UDP (RFC 8489 6.2.1): each request is kept and re-sent at
// RTO, 3 RTO, 7 RTO... (the interval doubles) until Rc copies are out, then given up Rm * RTO
// after the last. A response counts only with the request's transaction id and from the
// address the request went to (6.3.1; ICE 7.2.5.2.1 wants the same symmetry). Sans-IO: what
// is due goes into an outbox; the table and the message copies are made in the constructor.

import { SipOutbox } from "../sip/outbox";
import { StunReader } from "./stun";
import { STUN_HEADER_BYTES, CLASS_SUCCESS, CLASS_ERROR } from "./stun-attrs";
import { SOCKADDR_BYTES, sockaddrEquals } from "../lib/inet";

export const STUN_RTO_US: i64 = 500_000;
export const STUN_RC: i32 = 7;
export const STUN_RM: i32 = 16;

const SLOT_FREE: u8 = 0;
const SLOT_WAITING: u8 = 1;    // sent, no answer yet
const SLOT_ANSWERED: u8 = 2;   // matched: held until release()
const SLOT_TIMED_OUT: u8 = 3;  // gave up: held until release()

export class StunClient {
  retransmissions: u32 = 0;
  timeouts: u32 = 0;
  unmatched: u32 = 0;          // responses with no transaction, or from elsewhere
  private readonly states: StaticArray<u8>;
  private readonly owners: StaticArray<i32>;
  private readonly routes: StaticArray<i32>;
  private readonly lengths: StaticArray<i32>;
  private readonly sends: StaticArray<i32>;     // copies sent so far
  private readonly limits: StaticArray<i32>;    // Rc
  private readonly waits: StaticArray<i32>;     // Rm
  private readonly intervals: StaticArray<i64>; // the current RTO
  private readonly dueAt: StaticArray<i64>;     // next send, or the give-up instant after the last
  private readonly messages: StaticArray<u8>;
  private readonly destinations: StaticArray<u8>;

  constructor(readonly slots: i32, readonly messageBytes: i32, readonly outbox: SipOutbox) {
    this.states = new StaticArray<u8>(slots);
    this.owners = new StaticArray<i32>(slots);
    this.routes = new StaticArray<i32>(slots);
    this.lengths = new StaticArray<i32>(slots);
    this.sends = new StaticArray<i32>(slots);
    this.limits = new StaticArray<i32>(slots);
    this.waits = new StaticArray<i32>(slots);
    this.intervals = new StaticArray<i64>(slots);
    this.dueAt = new StaticArray<i64>(slots);
    this.messages = new StaticArray<u8>(slots * messageBytes);
    this.destinations = new StaticArray<u8>(slots * SOCKADDR_BYTES);
  }

  @inline private message(slot: i32): usize { return changetype<usize>(this.messages) + <usize>(slot * this.messageBytes); }
  @inline destination(slot: i32): usize { return changetype<usize>(this.destinations) + <usize>(slot * SOCKADDR_BYTES); }

  /** Sends the request at p to dest now and keeps it for retransmission: its slot, or -1. */
  send(p: usize, len: i32, dest: usize, route: i32, owner: i32, now: i64, rtoUs: i64 = STUN_RTO_US, rc: i32 = STUN_RC, rm: i32 = STUN_RM): i32 {
    if (len < STUN_HEADER_BYTES || len > this.messageBytes || rtoUs <= 0 || rc < 1) return -1;
    let slot = -1;
    for (let i = 0; i < this.slots; i++) if (unchecked(this.states[i]) == SLOT_FREE) { slot = i; break; }
    if (slot < 0) return -1;
    memory.copy(this.message(slot), p, <usize>len);
    memory.copy(this.destination(slot), dest, <usize>SOCKADDR_BYTES);
    unchecked(this.states[slot] = SLOT_WAITING);
    unchecked(this.owners[slot] = owner);
    unchecked(this.routes[slot] = route);
    unchecked(this.lengths[slot] = len);
    unchecked(this.sends[slot] = 0);
    unchecked(this.limits[slot] = rc);
    unchecked(this.waits[slot] = max(rm, 1));
    unchecked(this.intervals[slot] = rtoUs);
    this.transmit(slot, now);
    return slot;
  }

  private transmit(slot: i32, now: i64): void {
    // A full outbox loses this copy as the network would; the schedule goes on.
    this.outbox.push(this.message(slot), unchecked(this.lengths[slot]), this.destination(slot), unchecked(this.routes[slot]));
    const n = unchecked(this.sends[slot]) + 1;
    unchecked(this.sends[slot] = n);
    const rto = unchecked(this.intervals[slot]);
    if (n < unchecked(this.limits[slot])) {
      unchecked(this.dueAt[slot] = now + rto);
      unchecked(this.intervals[slot] = rto * 2);
    } else {
      // The last copy: wait Rm times the initial RTO (RFC 8489 6.2.1's 39.5 s with the defaults).
      const initial = rto >> <i64>(n - 1);
      unchecked(this.dueAt[slot] = now + initial * <i64>unchecked(this.waits[slot]));
    }
  }

  /** The slot of the request this success or error response answers (same id, from where it went), or -1. */
  match(r: StunReader, src: usize): i32 {
    if (r.length < STUN_HEADER_BYTES || (r.messageClass != CLASS_SUCCESS && r.messageClass != CLASS_ERROR)) { this.unmatched++; return -1; }
    for (let i = 0; i < this.slots; i++) {
      if (unchecked(this.states[i]) != SLOT_WAITING) continue;
      if (memory.compare(this.message(i) + 8, r.base + 8, 12) != 0) continue;
      if (!sockaddrEquals(this.destination(i), src)) break;
      unchecked(this.states[i] = SLOT_ANSWERED);
      return i;
    }
    this.unmatched++;
    return -1;
  }

  owner(slot: i32): i32 { return slot >= 0 && slot < this.slots ? unchecked(this.owners[slot]) : -1; }
  route(slot: i32): i32 { return slot >= 0 && slot < this.slots ? unchecked(this.routes[slot]) : -1; }
  /** The transaction id (12 bytes) of the request in slot. */
  transactionId(slot: i32): usize { return this.message(slot) + 8; }
  waiting(slot: i32): bool { return slot >= 0 && slot < this.slots && unchecked(this.states[slot]) == SLOT_WAITING; }

  release(slot: i32): void { if (slot >= 0 && slot < this.slots) unchecked(this.states[slot] = SLOT_FREE); }

  /** Forgets every transaction of this owner, answered or not. */
  cancelOwner(owner: i32): void {
    for (let i = 0; i < this.slots; i++) if (unchecked(this.owners[i]) == owner) unchecked(this.states[i] = SLOT_FREE);
  }

  /** How many requests are out unanswered (ICE paces its checks by this). */
  get pending(): i32 {
    let n = 0;
    for (let i = 0; i < this.slots; i++) if (unchecked(this.states[i]) == SLOT_WAITING) n++;
    return n;
  }

  tick(now: i64): void {
    for (let i = 0; i < this.slots; i++) {
      if (unchecked(this.states[i]) != SLOT_WAITING || now < unchecked(this.dueAt[i])) continue;
      if (unchecked(this.sends[i]) >= unchecked(this.limits[i])) {
        unchecked(this.states[i] = SLOT_TIMED_OUT);
        this.timeouts++;
      } else {
        this.retransmissions++;
        this.transmit(i, now);
      }
    }
  }

  /** A slot that gave up, or -1; the caller release()s it. */
  nextTimedOut(): i32 {
    for (let i = 0; i < this.slots; i++) if (unchecked(this.states[i]) == SLOT_TIMED_OUT) return i;
    return -1;
  }

  timeout(): i64 {
    let next: i64 = -1;
    for (let i = 0; i < this.slots; i++) {
      const s = unchecked(this.states[i]);
      if (s == SLOT_TIMED_OUT) return 0; // to be collected now
      if (s != SLOT_WAITING) continue;
      const t = unchecked(this.dueAt[i]);
      if (next < 0 || t < next) next = t;
    }
    return next;
  }
}
