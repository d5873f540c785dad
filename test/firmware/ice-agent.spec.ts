// ICE agent (firmware/net/ice-agent.ts + ice-checklist.ts): two agents joined by an in-memory
// network that delivers each datagram to whoever holds its destination address (nothing else
// arrives), with the source the sender's base. Checks, nomination, role conflict repair,
// peer-reflexive candidates, refused credentials and consent expiry (RFC 8445, RFC 7675).
import { IceAgent, ICE_CHECKING, ICE_CONNECTED, ICE_FAILED, ICE_OFF, ROUTE_DIRECT, UFRAG_CHARS, PWD_CHARS } from "../../firmware/net/ice-agent";
import { IceCandidate, CAND_HOST, candidatePriority, setFoundation } from "../../firmware/net/ice-candidate";
import { IceDescription } from "../../firmware/net/ice-sdp";
import { EntropyPool } from "../../firmware/sip/entropy";
import { StunReader } from "../../firmware/net/stun";
import { StunWriter } from "../../firmware/net/stun-writer";
import { CLASS_REQUEST, CLASS_ERROR, CLASS_SUCCESS, METHOD_BINDING, ATTR_USERNAME, ATTR_PRIORITY, ATTR_ICE_CONTROLLING, ATTR_USE_CANDIDATE, ATTR_XOR_MAPPED_ADDRESS, STUN_OK } from "../../firmware/net/stun-attrs";
import { sockaddrFromText, sockaddrEquals } from "../../firmware/lib/inet";

let seed: u32 = 12345;
function pool(): EntropyPool {
  const p = new EntropyPool(512);
  for (let i = 0; i < 512; i++) { seed = seed * 1103515245 + 12345; store<u8>(p.address + <usize>i, <u8>(seed >> 16)); }
  p.refilled();
  return p;
}

function refill(p: EntropyPool): void {
  if (!p.low) return;
  for (let i = 0; i < p.capacity; i++) { seed = seed * 1103515245 + 12345; store<u8>(p.address + <usize>i, <u8>(seed >> 16)); }
  p.refilled();
}

function address(sa: usize, text: string, port: i32): void {
  const b = String.UTF8.encode(text);
  sockaddrFromText(sa, changetype<usize>(b), b.byteLength, port);
}

function host(text: string, port: i32): IceCandidate {
  const c = new IceCandidate();
  c.type = CAND_HOST;
  c.component = 1;
  address(c.addressPtr, text, port);
  c.priority = candidatePriority(CAND_HOST, 65535, 1);
  setFoundation(c, CAND_HOST, c.addressPtr, 0);
  return c;
}

/** What agent `a`'s SDP would say: its credentials and these candidates. */
function describe_(a: IceAgent, cands: IceCandidate[]): IceDescription {
  const d = new IceDescription();
  memory.copy(changetype<usize>(d.ufrag), changetype<usize>(a.localUfrag), UFRAG_CHARS);
  d.ufragLength = UFRAG_CHARS;
  memory.copy(changetype<usize>(d.pwd), changetype<usize>(a.localPwd), PWD_CHARS);
  d.pwdLength = PWD_CHARS;
  for (let i = 0; i < cands.length; i++) unchecked(d.candidates[d.count++]).copyFrom(cands[i]);
  return d;
}

class Net {
  dropAtoB: bool = false;
  dropBtoA: bool = false;
  delivered: i32 = 0;
  constructor(public a: IceAgent, public aAddr: usize, public b: IceAgent, public bAddr: usize, public ea: EntropyPool, public eb: EntropyPool) {}

  /** Runs both agents for `ms` milliseconds in 1 ms steps from `from`; returns the end time. */
  run(from: i64, ms: i64): i64 {
    let now = from;
    for (let t: i64 = 0; t < ms; t++) {
      now = from + t * 1000;
      refill(this.ea); refill(this.eb);
      this.a.tick(now);
      this.b.tick(now);
      this.move(this.a, this.aAddr, this.b, this.bAddr, this.dropAtoB, now);
      this.move(this.b, this.bAddr, this.a, this.aAddr, this.dropBtoA, now);
    }
    return now;
  }

  private move(from: IceAgent, src: usize, to: IceAgent, dest: usize, drop: bool, now: i64): void {
    const o = from.outbox;
    while (o.length > 0) {
      if (!drop && sockaddrEquals(o.peekAddress(), dest)) {
        to.receive(o.peekData(), o.peekLength(), src, ROUTE_DIRECT, now);
        this.delivered++;
      }
      o.pop();
    }
  }
}

function pairUp(aControlling: bool, bControlling: bool, hideB: bool = false): Net {
  const ea = pool(), eb = pool();
  const a = new IceAgent(ea), b = new IceAgent(eb);
  a.newCredentials(); b.newCredentials();
  const ha = host("192.0.2.10", 4000), hb = host("198.51.100.20", 5000);
  a.addLocal(ha); b.addLocal(hb);
  // hideB: A is told of an address B does not have; B's real one is learnt from its checks.
  const told = hideB ? host("198.51.100.99", 5999) : hb;
  a.start(describe_(b, [told]), aControlling, 0);
  b.start(describe_(a, [ha]), bControlling, 0);
  return new Net(a, ha.addressPtr, b, hb.addressPtr, ea, eb);
}

describe("IceAgent", () => {
  it("host to host: checks, regular nomination by the controlling side, both select the pair", () => {
    const n = pairUp(true, false);
    expect(n.a.state).toBe(ICE_CHECKING);
    n.run(0, 200);
    expect(n.a.state).toBe(ICE_CONNECTED);
    expect(n.b.state).toBe(ICE_CONNECTED);
    expect(sockaddrEquals(changetype<usize>(n.a.selectedRemote), n.bAddr)).toBe(true);
    expect(sockaddrEquals(changetype<usize>(n.b.selectedRemote), n.aAddr)).toBe(true);
    expect(n.a.connectedAt).toBeLessThan(50_000, "one round trip on a zero-delay link");
    expect(n.a.canSend).toBe(true);
    expect(n.b.unauthenticated).toBe(0);
    expect(n.a.roleConflicts + n.b.roleConflicts).toBe(0);
  });

  it("both controlling: the 487 repair leaves one controlling, and they connect", () => {
    const n = pairUp(true, true);
    n.run(0, 3000);
    expect(n.a.state).toBe(ICE_CONNECTED);
    expect(n.b.state).toBe(ICE_CONNECTED);
    expect(n.a.controlling != n.b.controlling).toBe(true);
    expect(n.a.roleConflicts + n.b.roleConflicts).toBeGreaterThan(0);
  });

  it("both controlled: the conflict is repaired the other way", () => {
    const n = pairUp(false, false);
    n.run(0, 3000);
    expect(n.a.state).toBe(ICE_CONNECTED);
    expect(n.b.state).toBe(ICE_CONNECTED);
    expect(n.a.controlling != n.b.controlling).toBe(true);
  });

  it("learns a peer-reflexive candidate from a check and connects on it", () => {
    const n = pairUp(true, false, true);
    n.run(0, 3000);
    expect(n.a.state).toBe(ICE_CONNECTED);
    expect(sockaddrEquals(changetype<usize>(n.a.selectedRemote), n.bAddr)).toBe(true);
    expect(n.a.remoteCount).toBe(2, "the one it was told and the one it learnt");
  });

  it("consent: checks every 4-6 s keep the pair; 30 s without answers stop media", () => {
    const n = pairUp(true, false);
    let now = n.run(0, 200);
    const before = n.a.consentChecks;
    now = n.run(now, 20_000);
    const made = n.a.consentChecks - before;
    expect(made).toBeGreaterThanOrEqual(3);
    expect(made).toBeLessThanOrEqual(5);
    expect(n.a.state).toBe(ICE_CONNECTED);
    n.dropBtoA = true;
    now = n.run(now, 20_000);
    expect(n.a.state).toBe(ICE_CONNECTED, "still inside 30 s of the last answer");
    now = n.run(now, 15_000);
    expect(n.a.state).toBe(ICE_FAILED);
    expect(n.a.consentLost).toBe(true);
    expect(n.a.canSend).toBe(false);
  });

  it("a request with a wrong password is refused with 401 no bigger than itself, and counted", () => {
    const n = pairUp(true, false);
    const w = new StunWriter();
    const buf = memory.data(256);
    const tid = memory.data(12);
    w.begin(buf, 256, METHOD_BINDING, CLASS_REQUEST, tid);
    const user = memory.data(16);
    memory.copy(user, changetype<usize>(n.b.localUfrag), UFRAG_CHARS);
    store<u8>(user + UFRAG_CHARS, 0x3a);
    memory.copy(user + UFRAG_CHARS + 1, changetype<usize>(n.a.localUfrag), UFRAG_CHARS);
    w.add(ATTR_USERNAME, user, 2 * UFRAG_CHARS + 1);
    w.addU32(ATTR_PRIORITY, 1);
    w.addU64(ATTR_ICE_CONTROLLING, 1);
    const key = memory.data(22);
    memory.fill(key, 0x41, 22);
    w.addMessageIntegrity(key, 22);
    w.addFingerprint();
    const len = w.finish();
    n.b.outbox.clear();
    n.b.receive(buf, len, n.aAddr, ROUTE_DIRECT, 0);
    expect(n.b.unauthenticated).toBe(1);
    expect(n.b.outbox.length).toBe(1);
    expect(n.b.outbox.peekLength()).toBeLessThanOrEqual(len);
    const r = new StunReader();
    expect(r.parse(n.b.outbox.peekData(), n.b.outbox.peekLength())).toBe(STUN_OK);
    expect(r.messageClass).toBe(CLASS_ERROR);
    expect(r.errorCode).toBe(401);
  });

  it("garbage and truncations on the port never trap and are counted", () => {
    const n = pairUp(true, false);
    n.run(0, 200);
    const buf = memory.data(600);
    let s: u32 = 99;
    for (let k = 0; k < 20000; k++) {
      // Start from a real check some of the time, then damage it.
      const len = <i32>(s % 300) + 1;
      for (let i = 0; i < len; i++) { s = s * 1664525 + 1013904223; store<u8>(buf + <usize>i, <u8>(s >> 24)); }
      store<u8>(buf, <u8>(s & 1)); // STUN's first bits
      n.b.receive(buf, len, n.aAddr, ROUTE_DIRECT, 300_000);
    }
    expect(n.b.dropped).toBeGreaterThan(19000);
    expect(n.b.state).toBe(ICE_CONNECTED);
  });

  it("an ICE-lite peer: the full agent controls whatever it was told, checks and nominates; the lite side only answers", () => {
    const ea = pool();
    const a = new IceAgent(ea);
    a.newCredentials();
    const ha = host("192.0.2.10", 4000), hl = host("198.51.100.30", 6000);
    a.addLocal(ha);
    // The lite peer: its credentials, one host candidate, a=ice-lite.
    const litePwd = "liteliteliteliteliteli";
    const d = new IceDescription();
    for (let i = 0; i < 4; i++) d.ufrag[i] = <u8>0x4c; // "LLLL"
    d.ufragLength = 4;
    for (let i = 0; i < 22; i++) d.pwd[i] = <u8>litePwd.charCodeAt(i);
    d.pwdLength = 22;
    d.lite = true;
    unchecked(d.candidates[d.count++]).copyFrom(hl);
    a.start(d, false, 0); // told "controlled", as an answerer would be
    expect(a.controlling).toBe(true, "8445 6.1.1: the full agent controls a lite one");
    const r = new StunReader();
    const w = new StunWriter();
    const out = memory.data(256);
    const key = memory.data(22);
    for (let i = 0; i < 22; i++) store<u8>(key + <usize>i, <u8>litePwd.charCodeAt(i));
    let nominations = 0;
    for (let t: i64 = 0; t < 500 && a.state != ICE_CONNECTED; t++) {
      refill(ea);
      a.tick(t * 1000);
      const o = a.outbox;
      while (o.length > 0) {
        // The lite side: answer each authenticated check, send none of its own.
        expect(r.parse(o.peekData(), o.peekLength())).toBe(STUN_OK);
        expect(r.messageClass).toBe(CLASS_REQUEST);
        expect(r.checkMessageIntegrity(key, 22)).toBe(STUN_OK, "the check is keyed with the lite peer's password");
        if (r.has(ATTR_USE_CANDIDATE)) nominations++;
        w.beginResponse(out, 256, r, CLASS_SUCCESS);
        w.addAddress(ATTR_XOR_MAPPED_ADDRESS, ha.addressPtr, true);
        w.addMessageIntegrity(key, 22);
        w.addFingerprint();
        const n = w.finish();
        o.pop();
        a.receive(out, n, hl.addressPtr, ROUTE_DIRECT, t * 1000);
      }
    }
    expect(a.state).toBe(ICE_CONNECTED);
    expect(nominations).toBeGreaterThanOrEqual(1, "the full agent sent USE-CANDIDATE");
    expect(sockaddrEquals(changetype<usize>(a.selectedRemote), hl.addressPtr)).toBe(true);
  });

  it("stop() ends checks and sends nothing more", () => {
    const n = pairUp(true, false);
    n.a.stop();
    n.run(0, 1000);
    expect(n.a.state).toBe(ICE_OFF);
    expect(n.a.checksSent).toBe(0);
  });
});
