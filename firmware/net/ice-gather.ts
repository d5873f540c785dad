// Candidate gathering for one call (RFC 8445 5.1.1): the host candidate (the media port's own
// address), a server-reflexive one from a STUN Binding to the configured server, and a relayed
// one from a TURN allocation (whose XOR-MAPPED-ADDRESS doubles as server-reflexive when no STUN
// server is set). Gathering ends when every server answered or gave up, or at the deadline, so
// an offer or answer never waits long for a server that is down; there is no trickle.

import { IceAgent } from "./ice-agent";
import { EntropyPool } from "../sip/entropy";
import { StunReader } from "./stun";
import { StunWriter } from "./stun-writer";
import { StunClient } from "./stun-client";
import { STUN_OK, METHOD_BINDING, CLASS_REQUEST, CLASS_SUCCESS } from "./stun-attrs";
import { TurnClient } from "./turn";
import { TURN_READY, TURN_FAILED, TURN_IDLE, TURN_RELEASING } from "./turn-attrs";
import { IceCandidate, CAND_HOST, CAND_SRFLX, CAND_RELAY, candidatePriority, setFoundation } from "./ice-candidate";
import { SOCKADDR_BYTES, sockaddrEquals } from "../lib/inet";

const LOCAL_PREFERENCE: u32 = 65535;
const GATHER_RTO_US: i64 = 100_000; // a LAN or nearby server answers in milliseconds
const GATHER_RC: i32 = 4;

export class IceGatherer {
  readonly host: IceCandidate = new IceCandidate();
  readonly srflx: IceCandidate = new IceCandidate();
  readonly relay: IceCandidate = new IceCandidate();
  srflxKnown: bool = false;
  relayKnown: bool = false;
  readonly stunServer: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  hasStunServer: bool = false;
  readonly client: StunClient;
  running: bool = false;
  startedAt: i64 = -1;
  finishedAt: i64 = -1;
  deadlineUs: i64 = 2_000_000;
  private stunSlot: i32 = -1;
  private readonly reader: StunReader;
  private readonly writer: StunWriter;
  private readonly message: StaticArray<u8> = new StaticArray<u8>(64);
  private readonly scratch: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);

  /** Sends through the agent's outbox and borrows its STUN reader and writer (never in use at once). */
  constructor(private entropy: EntropyPool, agent: IceAgent, readonly turn: TurnClient) {
    this.client = new StunClient(2, 64, agent.outbox);
    this.reader = agent.reader;
    this.writer = agent.writer;
  }

  setStunServer(sa: usize, on: bool): void {
    this.hasStunServer = on;
    if (on) memory.copy(changetype<usize>(this.stunServer), sa, SOCKADDR_BYTES);
  }

  isStunServer(sa: usize): bool { return this.hasStunServer && sockaddrEquals(changetype<usize>(this.stunServer), sa); }

  /** Starts gathering from the media port's address `host`. */
  start(host: usize, now: i64): void {
    const h = this.host;
    h.clear();
    h.type = CAND_HOST;
    h.component = 1;
    memory.copy(h.addressPtr, host, SOCKADDR_BYTES);
    h.priority = candidatePriority(CAND_HOST, LOCAL_PREFERENCE, 1);
    setFoundation(h, CAND_HOST, host, 0);
    this.srflxKnown = false;
    this.relayKnown = false;
    this.running = true;
    this.startedAt = now;
    this.finishedAt = -1;
    this.client.cancelOwner(1);
    this.stunSlot = -1;
    if (this.hasStunServer) {
      const w = this.writer;
      w.begin(changetype<usize>(this.message), 64, METHOD_BINDING, CLASS_REQUEST, this.entropy.take(12));
      w.addFingerprint();
      const n = w.finish();
      if (n > 0) this.stunSlot = this.client.send(changetype<usize>(this.message), n, changetype<usize>(this.stunServer), -1, 1, now, GATHER_RTO_US, GATHER_RC, 4);
    }
    if (this.turn.isConfigured) {
      // The last call's deallocation may still be out: a new call does not wait for it.
      if (this.turn.state == TURN_RELEASING) this.turn.forget();
      this.turn.allocate(now);
    }
    this.check(now);
  }

  /** A STUN message from the STUN server. */
  receive(p: usize, len: i32, src: usize, now: i64): void {
    const r = this.reader;
    if (r.parse(p, len) != STUN_OK) return;
    const slot = this.client.match(r, src);
    if (slot < 0) return;
    this.client.release(slot);
    this.stunSlot = -1;
    if (r.messageClass == CLASS_SUCCESS && r.xorMappedAddress(changetype<usize>(this.scratch)) == STUN_OK) {
      this.setSrflx(changetype<usize>(this.scratch), changetype<usize>(this.stunServer));
    }
    this.check(now);
  }

  private setSrflx(mapped: usize, server: usize): void {
    const c = this.srflx;
    c.clear();
    c.type = CAND_SRFLX;
    c.component = 1;
    memory.copy(c.addressPtr, mapped, SOCKADDR_BYTES);
    memory.copy(c.relatedPtr, this.host.addressPtr, SOCKADDR_BYTES);
    c.hasRelated = true;
    c.priority = candidatePriority(CAND_SRFLX, LOCAL_PREFERENCE, 1);
    setFoundation(c, CAND_SRFLX, this.host.addressPtr, server);
    this.srflxKnown = true;
  }

  tick(now: i64): void {
    this.client.tick(now);
    for (let s = this.client.nextTimedOut(); s >= 0; s = this.client.nextTimedOut()) { this.client.release(s); this.stunSlot = -1; }
    this.check(now);
  }

  /** Gathering is over when nothing is outstanding, or at the deadline. */
  private check(now: i64): void {
    if (!this.running) return;
    const t = this.turn;
    if (!this.relayKnown && t.state == TURN_READY) {
      const c = this.relay;
      c.clear();
      c.type = CAND_RELAY;
      c.component = 1;
      memory.copy(c.addressPtr, t.relayed, SOCKADDR_BYTES);
      memory.copy(c.relatedPtr, t.mapped, SOCKADDR_BYTES);
      c.hasRelated = true;
      c.priority = candidatePriority(CAND_RELAY, LOCAL_PREFERENCE, 1);
      setFoundation(c, CAND_RELAY, t.relayed, t.server);
      this.relayKnown = true;
      if (!this.srflxKnown && !this.hasStunServer && !sockaddrEquals(t.mapped, this.host.addressPtr)) this.setSrflx(t.mapped, t.server);
    }
    const turnBusy = t.isConfigured && t.state != TURN_READY && t.state != TURN_FAILED && t.state != TURN_IDLE;
    if ((this.stunSlot < 0 && !turnBusy) || now - this.startedAt >= this.deadlineUs) {
      this.running = false;
      this.finishedAt = now;
    }
  }

  get done(): bool { return !this.running && this.startedAt >= 0; }

  /** The address for c= and m= (8839 4.2.1.2): server-reflexive when known (a peer without ICE
   *  can reach it through an endpoint-independent NAT), else the host. */
  get defaultAddress(): usize { return this.srflxKnown ? this.srflx.addressPtr : this.host.addressPtr; }

  timeout(): i64 {
    if (!this.running) return -1;
    const t = this.client.timeout();
    const d = this.startedAt + this.deadlineUs;
    return t < 0 || d < t ? d : t;
  }
}
