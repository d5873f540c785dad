// Keeps the registrar flow of a board behind a NAT open on UDP, the way RFC 5626 4.4.2 keeps
// a flow: a STUN Binding request to the registrar's SIP address (kamailio's stun module answers
// on its SIP port) every 80-100% of the interval, randomised so boards that booted together do
// not ping together. Twenty bytes, no SIP transaction, and the answer's XOR-MAPPED-ADDRESS is
// the address the registrar sees us at: when it changes (the NAT rebooted or lost the mapping,
// the board moved to another network) `mappedChanged` says so, and the caller registers again.
// No answer after the STUN retransmissions, or an error answer, sets `flowFailed`: register
// again too. Sans-IO: requests go into the SIP outbox (out of the SIP socket, so through the
// very mapping the registrar reaches us by); everything is made in the constructor.

import { SipOutbox } from "./outbox";
import { EntropyPool } from "./entropy";
import { StunReader } from "../net/stun";
import { StunWriter } from "../net/stun-writer";
import { StunClient } from "../net/stun-client";
import { STUN_OK, STUN_HEADER_BYTES, STUN_MAGIC_COOKIE, CLASS_REQUEST, CLASS_ERROR, METHOD_BINDING } from "../net/stun-attrs";
import { readU32BE } from "../lib/bytes";
import { SOCKADDR_BYTES, FAMILY_IPV4, FAMILY_IPV6, sockaddrEquals } from "../lib/inet";

/** The keepalive interval when the configuration says nothing, seconds (under the 30 s many NATs keep an idle UDP mapping). */
export const KEEPALIVE_DEFAULT_S: i32 = 25;
export const KEEPALIVE_MAX_S: i32 = 3600;
/** A keepalive request on the wire: a bare Binding request header. */
export const KEEPALIVE_REQUEST_BYTES: i32 = STUN_HEADER_BYTES;

const OWNER: i32 = 1; // the StunClient's tag for our one transaction

export class FlowKeepalive {
  /** The registrar's SIP address, where the requests go and the answers must come from. */
  readonly registrar: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  /** Our address as the registrar last saw it; valid when mappedKnown. */
  readonly lastMapped: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  mappedKnown: bool = false;
  /** An answer showed another mapped address than the one before: register again, then clear this. */
  mappedChanged: bool = false;
  /** A keepalive got no answer, or an error answer: the flow is gone; register again, then clear this. */
  flowFailed: bool = false;
  intervalS: i32 = 0;
  sent: u32 = 0;       // keepalive requests (first copies; the client counts retransmissions)
  answered: u32 = 0;
  changes: u32 = 0;
  failures: u32 = 0;
  ignored: u32 = 0;    // STUN datagrams that were not the answer we wait for
  private nextAt: i64 = -1;
  private slot: i32 = -1;
  readonly client: StunClient;
  private readonly reader: StunReader;
  private readonly writer: StunWriter;
  private readonly request: StaticArray<u8> = new StaticArray<u8>(KEEPALIVE_REQUEST_BYTES);
  private readonly mapped: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);

  /** reader and writer may be another core's (the firmware lends the ICE agent's: RAM is short). */
  constructor(outbox: SipOutbox, private readonly entropy: EntropyPool, reader: StunReader | null = null, writer: StunWriter | null = null) {
    this.reader = reader !== null ? reader : new StunReader();
    this.writer = writer !== null ? writer : new StunWriter();
    this.client = new StunClient(1, KEEPALIVE_REQUEST_BYTES, outbox);
  }

  /**
   * Keeps the flow to the registrar at the SOCKADDR `registrar` open, the first request one
   * interval from now (the REGISTER just sent opened the mapping). intervalS 0 turns it off.
   * False, and off, for an interval outside 0..KEEPALIVE_MAX_S or an address that is not IP.
   */
  configure(registrar: usize, intervalS: i32, now: i64): bool {
    this.stop();
    const family = load<u8>(registrar);
    if (intervalS < 0 || intervalS > KEEPALIVE_MAX_S || (family != FAMILY_IPV4 && family != FAMILY_IPV6)) return false;
    memory.copy(changetype<usize>(this.registrar), registrar, <usize>SOCKADDR_BYTES);
    this.intervalS = intervalS;
    this.mappedKnown = false;
    this.mappedChanged = false;
    this.flowFailed = false;
    if (intervalS > 0) this.schedule(now);
    return true;
  }

  /** No more keepalives (unregistered); a request in flight is forgotten. */
  stop(): void {
    this.client.cancelOwner(OWNER);
    this.slot = -1;
    this.nextAt = -1;
    this.intervalS = 0;
  }

  get running(): bool { return this.intervalS > 0; }

  /** What the registrar saw in a REGISTER's Via (received/rport): the mapping a later answer is compared with. */
  seed(mapped: usize): void {
    memory.copy(changetype<usize>(this.lastMapped), mapped, <usize>SOCKADDR_BYTES);
    this.mappedKnown = true;
  }

  tick(now: i64): void {
    this.client.tick(now);
    const gone = this.client.nextTimedOut();
    if (gone >= 0) {
      this.client.release(gone);
      this.slot = -1;
      this.failures++;
      this.flowFailed = true;
    }
    if (this.nextAt < 0 || now < this.nextAt) return;
    // A request still retransmitting keeps the mapping busy already: no second one beside it.
    if (this.slot < 0) this.send(now);
    this.schedule(now);
  }

  /** The next instant tick() has work, or -1. */
  timeout(): i64 {
    const c = this.client.timeout();
    const n = this.nextAt;
    return c < 0 ? n : n < 0 || c < n ? c : n;
  }

  /**
   * A datagram on the SIP socket from src. True when it is STUN (which SIP never is; an
   * answer that is not ours is counted and dropped), false when it is for the SIP stack.
   */
  receive(p: usize, len: i32, src: usize, now: i64): bool {
    // RFC 7983: STUN starts with 0..3; the magic cookie tells RFC 5389+ STUN from anything else.
    if (len < STUN_HEADER_BYTES || load<u8>(p) > 3 || readU32BE(p + 4) != STUN_MAGIC_COOKIE) return false;
    const r = this.reader;
    if (r.parse(p, len) != STUN_OK || r.method != METHOD_BINDING) { this.ignored++; return true; }
    const slot = this.client.match(r, src);
    if (slot < 0 || slot != this.slot) { this.ignored++; return true; }
    this.client.release(slot);
    this.slot = -1;
    if (r.messageClass == CLASS_ERROR) {
      this.failures++;
      this.flowFailed = true;
      return true;
    }
    const m = changetype<usize>(this.mapped);
    // An RFC 3489 server answers with MAPPED-ADDRESS only.
    if (r.xorMappedAddress(m) != STUN_OK && r.mappedAddress(m) != STUN_OK) { this.ignored++; return true; }
    this.answered++;
    if (this.mappedKnown && !sockaddrEquals(changetype<usize>(this.lastMapped), m)) {
      this.mappedChanged = true;
      this.changes++;
    }
    this.seed(m);
    return true;
  }

  private send(now: i64): void {
    const w = this.writer;
    const out = changetype<usize>(this.request);
    w.begin(out, KEEPALIVE_REQUEST_BYTES, METHOD_BINDING, CLASS_REQUEST, this.entropy.take(12));
    const n = w.finish();
    if (n < 0) return;
    this.slot = this.client.send(out, n, changetype<usize>(this.registrar), -1, OWNER, now);
    if (this.slot >= 0) this.sent++;
  }

  /** The next request between 80% and 100% of the interval from now. */
  private schedule(now: i64): void {
    const interval = <i64>this.intervalS * 1_000_000;
    const fraction = <i64>(this.entropy.u32() & 0xffff);
    this.nextAt = now + interval - (interval / 5) * fraction / 0x10000;
  }
}
