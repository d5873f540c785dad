// The SIP user agent (firmware/sip/ua.ts, invite.ts, registration.ts, dialog.ts): two agents
// wired back to back through their outboxes, and hand-written peers for what an agent cannot
// play against itself (a registrar's challenge, malformed and hostile requests).
import { UserAgent } from "../../firmware/sip/ua";
import { SessionHandler, END_LOCAL_HANGUP, END_REMOTE_HANGUP, END_REJECTED } from "../../firmware/sip/session";
import { CS_IDLE, CS_OUTGOING, CS_INCOMING, CS_ACTIVE, ANSWER_ALWAYS, ANSWER_INTERCOM } from "../../firmware/sip/invite";
import { REG_OK, REG_SENT, REG_FAILED, REG_IDLE, REG_STATUS_NETWORK } from "../../firmware/sip/registration";
import { CONN_WANTED, CONN_FREE } from "../../firmware/sip/connections";
import { sockaddrFromText, sockaddrEquals, sockaddrPort } from "../../firmware/lib/inet";
import { SipMessage } from "../../firmware/sip/message";
import { Bytes } from "../../firmware/sip/dialog";
import { EntropyPool } from "../../firmware/sip/entropy";

class TestSession extends SessionHandler {
  offers: i32 = 0;
  answers: i32 = 0;
  answeredCount: i32 = 0;
  incomingCalls: i32 = 0;
  autoAnswerMs: i32 = -2;
  ringings: i32 = 0;
  establishedCount: i32 = 0;
  endedReason: i32 = 0;
  endedStatus: i32 = -1;
  endedCount: i32 = 0;
  refuse: bool = false;
  lastHold: bool = false;
  lastOffer: string = "";
  constructor(readonly address: string) { super(); }

  sdp(hold: bool): string {
    return "v=0\r\no=- 1 1 IN IP4 " + this.address + "\r\ns=-\r\nc=IN IP4 " + this.address + "\r\nt=0 0\r\nm=audio 4000 RTP/AVP 9\r\n" + (hold ? "a=sendonly\r\n" : "a=sendrecv\r\n");
  }
  offer(out: usize, cap: i32, hold: bool): i32 { this.offers++; this.lastHold = hold; return write(out, cap, this.sdp(hold)); }
  answer(offer: usize, len: i32, out: usize, cap: i32): i32 {
    this.answers++;
    this.lastOffer = read(offer, len);
    if (this.refuse) return -488;
    return write(out, cap, this.sdp(false));
  }
  answered(answer: usize, len: i32): i32 { this.answeredCount++; return 0; }
  incoming(autoAnswerMs: i32): void { this.incomingCalls++; this.autoAnswerMs = autoAnswerMs; }
  ringing(): void { this.ringings++; }
  established(): void { this.establishedCount++; }
  ended(reason: i32, status: i32): void { this.endedCount++; this.endedReason = reason; this.endedStatus = status; }
}

function write(out: usize, cap: i32, s: string): i32 {
  if (s.length > cap) return -1;
  for (let i = 0; i < s.length; i++) store<u8>(out + <usize>i, <u8>s.charCodeAt(i));
  return s.length;
}

function read(p: usize, len: i32): string {
  let s = "";
  for (let i = 0; i < len; i++) s += String.fromCharCode(load<u8>(p + <usize>i));
  return s;
}

function sockaddr(ip: string, port: i32): StaticArray<u8> {
  const sa = new StaticArray<u8>(20);
  const b = String.UTF8.encode(ip);
  sockaddrFromText(changetype<usize>(sa), changetype<usize>(b), b.byteLength, port);
  return sa;
}

function setString(into: Bytes, s: string): void {
  const b = String.UTF8.encode(s);
  into.set(changetype<usize>(b), b.byteLength);
}

function agent(session: TestSession, ip: string, user: string): UserAgent {
  const ua = new UserAgent(session, new EntropyPool(256));
  const sa = sockaddr(ip, 5060);
  ua.stack.setLocal(changetype<usize>(sa));
  setString(ua.stack.aor, "sip:" + user + "@" + ip);
  refill(ua);
  return ua;
}

let seed: u32 = 12345;
function rnd(): u32 { seed = seed * 1103515245 + 12345; return seed >> 8; }

function refill(ua: UserAgent): void {
  for (let i = 0; i < ua.stack.entropy.capacity; i++) store<u8>(ua.stack.entropy.address + <usize>i, <u8>rnd());
  ua.stack.entropy.refilled();
}

const rx = new StaticArray<u8>(8192);
const rxBase = changetype<usize>(rx);
let lossPercent: u32 = 0;
let delivered: i32 = 0;
let dropped: i32 = 0;
const captured: string[] = [];

/** Moves every queued datagram of `from` to whichever of the agents has its destination address. */
function pump(from: UserAgent, to: UserAgent, other: UserAgent | null, now: i64): i32 {
  let n = 0;
  const o = from.stack.outbox;
  while (o.length > 0) {
    const len = o.peekLength();
    memory.copy(rxBase, o.peekData(), <usize>len);
    const dest = o.peekAddress();
    o.pop();
    captured.push(read(rxBase, len));
    if (lossPercent > 0 && rnd() % 100 < lossPercent) { dropped++; continue; }
    let target: UserAgent | null = null;
    if (sockaddrEquals(dest, changetype<usize>(to.stack.local))) target = to;
    else if (other !== null && sockaddrEquals(dest, changetype<usize>(other.stack.local))) target = other;
    if (target === null) continue;
    refill(target);
    target.receive(rxBase, len, changetype<usize>(from.stack.local), false, now);
    delivered++;
    n++;
  }
  return n;
}

function settle(a: UserAgent, b: UserAgent, now: i64): void {
  for (let k = 0; k < 20; k++) if (pump(a, b, null, now) + pump(b, a, null, now) == 0) break;
}

function run(a: UserAgent, b: UserAgent, from: i64, to: i64, step: i64): void {
  for (let t = from; t <= to; t += step) {
    a.tick(t); b.tick(t);
    settle(a, b, t);
  }
}

function dial(a: UserAgent, target: string, now: i64): bool {
  const b = String.UTF8.encode(target);
  return a.call.call(changetype<usize>(b), b.byteLength, now);
}

describe("calls between two agents", () => {
  it("INVITE, 180, answer, 200, ACK, BYE: both sides agree at every step, nothing retransmitted", () => {
    const sa = new TestSession("192.0.2.1"), sb = new TestSession("192.0.2.2");
    const a = agent(sa, "192.0.2.1", "hall"), b = agent(sb, "192.0.2.2", "door");
    expect(dial(a, "sip:door@192.0.2.2", 0)).toBe(true);
    expect(a.call.state).toBe(CS_OUTGOING);
    settle(a, b, 0);
    expect(b.call.state).toBe(CS_INCOMING);
    expect(sb.incomingCalls).toBe(1);
    expect(sb.autoAnswerMs).toBe(-1, "rings: no auto-answer configured");
    expect(sb.lastOffer.includes("m=audio 4000 RTP/AVP 9")).toBe(true, "the offer travels in the INVITE");
    expect(sa.ringings).toBe(1, "ringing");
    expect(b.call.answer(1000)).toBe(true);
    settle(a, b, 1000);
    expect(a.call.state).toBe(CS_ACTIVE);
    expect(b.call.state).toBe(CS_ACTIVE);
    expect(sa.answeredCount).toBe(1, "the answer in the 2xx reaches the caller's session");
    expect(sa.establishedCount).toBe(1, "caller established");
    expect(sb.establishedCount).toBe(1, "callee established");
    expect(b.call.setupDoneUs).toBe(1000, "the ACK arrived");
    run(a, b, 1000, 40_000_000, 250_000);
    expect(a.stack.transactions.retransmissions + b.stack.transactions.retransmissions).toBe(0, "a clean link retransmits nothing");
    a.call.hangup(40_000_000);
    settle(a, b, 40_000_000);
    expect(sa.endedReason).toBe(END_LOCAL_HANGUP);
    expect(sb.endedReason).toBe(END_REMOTE_HANGUP);
    expect(a.call.state).toBe(CS_IDLE);
    expect(b.call.state).toBe(CS_IDLE);
  });

  it("auto-answers when configured, and the callee can hang up", () => {
    const sa = new TestSession("192.0.2.1"), sb = new TestSession("192.0.2.2");
    const a = agent(sa, "192.0.2.1", "hall"), b = agent(sb, "192.0.2.2", "door");
    b.call.answerMode = ANSWER_ALWAYS;
    b.call.answerAfterMs = 2000;
    dial(a, "sip:door@192.0.2.2", 0);
    settle(a, b, 0);
    expect(sb.autoAnswerMs).toBe(2000);
    run(a, b, 0, 1_900_000, 100_000);
    expect(b.call.state).toBe(CS_INCOMING);
    run(a, b, 2_000_000, 2_100_000, 100_000);
    expect(a.call.state).toBe(CS_ACTIVE);
    b.call.hangup(3_000_000);
    settle(a, b, 3_000_000);
    expect(sa.endedReason).toBe(END_REMOTE_HANGUP);
    expect(sb.endedReason).toBe(END_LOCAL_HANGUP);
  });

  it("answers busy while in a call, and 488 when the session refuses the offer", () => {
    const sa = new TestSession("192.0.2.1"), sb = new TestSession("192.0.2.2"), sc = new TestSession("192.0.2.3");
    const a = agent(sa, "192.0.2.1", "hall"), b = agent(sb, "192.0.2.2", "door"), c = agent(sc, "192.0.2.3", "gate");
    b.call.answerMode = ANSWER_ALWAYS;
    dial(a, "sip:door@192.0.2.2", 0);
    settle(a, b, 0);
    expect(a.call.state).toBe(CS_ACTIVE);
    dial(c, "sip:door@192.0.2.2", 10);
    for (let k = 0; k < 5; k++) { pump(c, b, null, 10); pump(b, c, a, 10); }
    expect(sc.endedReason).toBe(END_REJECTED);
    expect(sc.endedStatus).toBe(486);
    expect(b.call.busyRejected).toBe(1);
    expect(a.call.state).toBe(CS_ACTIVE, "the call in progress is untouched");
    const sd = new TestSession("192.0.2.4");
    sd.refuse = true;
    const d = agent(sd, "192.0.2.4", "lift");
    dial(c, "sip:lift@192.0.2.4", 20);
    for (let k = 0; k < 5; k++) { pump(c, d, null, 20); pump(d, c, null, 20); }
    expect(sc.endedStatus).toBe(488);
  });

  it("CANCELs a ringing call: 200 to the CANCEL, 487 to the INVITE, ACKed", () => {
    const sa = new TestSession("192.0.2.1"), sb = new TestSession("192.0.2.2");
    const a = agent(sa, "192.0.2.1", "hall"), b = agent(sb, "192.0.2.2", "door");
    dial(a, "sip:door@192.0.2.2", 0);
    settle(a, b, 0);
    captured.length = 0;
    a.call.hangup(500_000);
    settle(a, b, 500_000);
    expect(captured.length).toBe(4, "CANCEL, 200, 487, ACK");
    expect(captured[0].startsWith("CANCEL sip:door@192.0.2.2 SIP/2.0")).toBe(true);
    expect(captured[2].startsWith("SIP/2.0 487")).toBe(true);
    expect(captured[3].startsWith("ACK ")).toBe(true);
    expect(sb.endedReason).toBe(END_REMOTE_HANGUP);
    expect(sa.endedReason).toBe(END_LOCAL_HANGUP);
    expect(sa.endedStatus).toBe(487);
    expect(a.call.state).toBe(CS_IDLE);
    expect(b.call.state).toBe(CS_IDLE);
  });

  it("holds and resumes by re-INVITE", () => {
    const sa = new TestSession("192.0.2.1"), sb = new TestSession("192.0.2.2");
    const a = agent(sa, "192.0.2.1", "hall"), b = agent(sb, "192.0.2.2", "door");
    b.call.answerMode = ANSWER_ALWAYS;
    dial(a, "sip:door@192.0.2.2", 0);
    settle(a, b, 0);
    expect(a.call.hold(true, 1000)).toBe(true);
    settle(a, b, 1000);
    expect(sb.lastOffer.includes("a=sendonly")).toBe(true);
    expect(sa.answeredCount).toBe(2);
    expect(a.call.held).toBe(true);
    expect(a.call.hold(false, 2000)).toBe(true);
    settle(a, b, 2000);
    expect(sb.lastOffer.includes("a=sendrecv")).toBe(true);
    expect(a.call.state).toBe(CS_ACTIVE);
    expect(b.call.state).toBe(CS_ACTIVE);
    a.call.hangup(3000);
    settle(a, b, 3000);
    expect(sb.endedReason).toBe(END_REMOTE_HANGUP, "the dialog's CSeq stayed in order through the re-INVITEs");
  });

  it("gives up a call nobody answers: 480 to the caller after the ring limit", () => {
    const sa = new TestSession("192.0.2.1"), sb = new TestSession("192.0.2.2");
    const a = agent(sa, "192.0.2.1", "hall"), b = agent(sb, "192.0.2.2", "door");
    a.call.ringLimitUs = 200_000_000; // the caller would wait longer than the callee rings
    b.call.ringLimitUs = 30_000_000;
    dial(a, "sip:door@192.0.2.2", 0);
    run(a, b, 0, 29_000_000, 500_000);
    expect(b.call.state).toBe(CS_INCOMING);
    run(a, b, 29_500_000, 31_000_000, 500_000);
    expect(sa.endedStatus).toBe(480);
    expect(sb.endedStatus).toBe(480);
    expect(a.call.state).toBe(CS_IDLE);
    expect(b.call.state).toBe(CS_IDLE);
  });

  it("cancels its own call when the far end rings past the limit", () => {
    const sa = new TestSession("192.0.2.1"), sb = new TestSession("192.0.2.2");
    const a = agent(sa, "192.0.2.1", "hall"), b = agent(sb, "192.0.2.2", "door");
    a.call.ringLimitUs = 20_000_000;
    dial(a, "sip:door@192.0.2.2", 0);
    run(a, b, 0, 21_000_000, 500_000);
    expect(sa.endedStatus).toBe(487, "CANCEL, then 487 Request Terminated");
    expect(sb.endedReason).toBe(END_REMOTE_HANGUP);
  });

  it("sets up and tears down with 30% of datagrams lost, by retransmission", () => {
    let completed = 0;
    for (let trial = 0; trial < 20; trial++) {
      const sa = new TestSession("192.0.2.1"), sb = new TestSession("192.0.2.2");
      const a = agent(sa, "192.0.2.1", "hall"), b = agent(sb, "192.0.2.2", "door");
      b.call.answerMode = ANSWER_ALWAYS;
      lossPercent = 30;
      dial(a, "sip:door@192.0.2.2", 0);
      run(a, b, 0, 20_000_000, 50_000);
      const up = a.call.state == CS_ACTIVE && b.call.state == CS_ACTIVE && b.call.setupDoneUs >= 0;
      a.call.hangup(20_000_000);
      run(a, b, 20_000_000, 60_000_000, 50_000);
      if (up && sa.endedCount == 1 && sb.endedCount == 1 && a.call.state == CS_IDLE && b.call.state == CS_IDLE) completed++;
    }
    lossPercent = 0;
    expect(dropped).toBeGreaterThan(20);
    expect(completed).toBe(20, "every trial: set up within 20 s and torn down");
  });
});

const peerAddr = sockaddr("192.0.2.9", 5060);

function inject(ua: UserAgent, s: string, now: i64): string {
  for (let i = 0; i < s.length; i++) rx[i] = <u8>s.charCodeAt(i);
  ua.receive(rxBase, s.length, changetype<usize>(peerAddr), false, now);
  const o = ua.stack.outbox;
  if (o.length == 0) return "";
  const r = read(o.peekData(), o.peekLength());
  o.clear();
  return r;
}

function req(method: string, extra: string, toTag: string = ""): string {
  return method + " sip:door@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK" + (rnd() % 100000).toString() + "\r\n" +
    "From: <sip:x@192.0.2.9>;tag=f1\r\nTo: <sip:door@192.0.2.2>" + toTag + "\r\nCall-ID: q" + (rnd() % 100000).toString() + "\r\nCSeq: 1 " + method + "\r\n" + extra + "Content-Length: 0\r\n\r\n";
}

describe("requests the agent refuses", () => {
  it("answers with the status RFC 3261 names", () => {
    const s = new TestSession("192.0.2.2");
    const ua = agent(s, "192.0.2.2", "door");
    expect(inject(ua, req("FOO", ""), 0).startsWith("SIP/2.0 501 ")).toBe(true, "unknown method");
    expect(inject(ua, req("SUBSCRIBE", ""), 0).startsWith("SIP/2.0 405 ")).toBe(true, "known, not allowed");
    expect(inject(ua, req("OPTIONS", ""), 0).startsWith("SIP/2.0 200 ")).toBe(true, "OPTIONS answered");
    expect(inject(ua, req("INVITE", "Max-Forwards: 0\r\n"), 0).startsWith("SIP/2.0 483 ")).toBe(true, "too many hops");
    expect(inject(ua, req("INVITE", "Max-Forwards: x\r\n"), 0).startsWith("SIP/2.0 400 ")).toBe(true);
    const r420 = inject(ua, req("INVITE", "Require: 100rel, timer\r\n"), 0);
    expect(r420.startsWith("SIP/2.0 420 ")).toBe(true);
    expect(r420.includes("Unsupported: 100rel, timer\r\n")).toBe(true);
    expect(inject(ua, req("BYE", "", ";tag=nope"), 0).startsWith("SIP/2.0 481 ")).toBe(true, "no such dialog");
    expect(inject(ua, req("INVITE", "Content-Length: 99\r\n"), 0).startsWith("SIP/2.0 400 ")).toBe(true, "a Content-Length longer than the datagram");
    let big = "";
    for (let i = 0; i < 90; i++) big += "X-Padding-" + i.toString() + ": " + "0123456789012345678901234567890123456789" + "\r\n";
    expect(inject(ua, req("INVITE", big), 0).startsWith("SIP/2.0 ")).toBe(true);
    let huge = "";
    for (let i = 0; i < 50; i++) huge += "X-Pad: " + "0123456789".repeat(9) + "\r\n";
    expect(inject(ua, req("OPTIONS", huge), 0).startsWith("SIP/2.0 513 ")).toBe(true, "larger than the agent keeps");
    expect(inject(ua, "garbage\r\n\r\n", 0)).toBe("", "unanswerable: dropped");
    expect(inject(ua, "\r\n\r\n", 0)).toBe("", "a keepalive");
    expect(ua.counters.malformed).toBe(1);
    expect(ua.counters.unknownMethods).toBe(1);
    expect(ua.counters.tooManyHops).toBe(1);
  });
});

describe("registration", () => {
  it("registers, answers a 401 with digest credentials, refreshes before expiry, and does not loop on a wrong password", () => {
    const s = new TestSession("192.0.2.2");
    const ua = agent(s, "192.0.2.2", "door");
    const reg = ua.registration;
    const uri = String.UTF8.encode("sip:192.0.2.9");
    expect(reg.configure(changetype<usize>(uri), uri.byteLength, 600, 0)).toBe(true);
    const user = String.UTF8.encode("door"), pass = String.UTF8.encode("secret");
    reg.auth.setCredentials(changetype<usize>(user), user.byteLength, changetype<usize>(pass), pass.byteLength);
    ua.tick(0);
    const o = ua.stack.outbox;
    expect(o.length).toBe(1);
    const first = read(o.peekData(), o.peekLength());
    o.clear();
    expect(first.startsWith("REGISTER sip:192.0.2.9 SIP/2.0\r\n")).toBe(true);
    expect(first.includes("Contact: <sip:door@192.0.2.2:5060>\r\n")).toBe(true);
    expect(first.includes("Expires: 600\r\n")).toBe(true);
    expect(reg.state).toBe(REG_SENT);
    const m = new SipMessage();
    const buf = new StaticArray<u8>(4096);
    for (let i = 0; i < first.length; i++) buf[i] = <u8>first.charCodeAt(i);
    m.parse(changetype<usize>(buf), first.length, true);
    const via = read(m.valuePtr(m.find(1, 0)), m.valueLen[m.find(1, 0)]);
    const callId = read(m.valuePtr(m.find(4, 0)), m.valueLen[m.find(4, 0)]);
    const from = read(m.valuePtr(m.find(2, 0)), m.valueLen[m.find(2, 0)]);
    const challenge = "SIP/2.0 401 Unauthorized\r\nVia: " + via + "\r\nFrom: " + from + "\r\nTo: <sip:door@192.0.2.2>;tag=r1\r\nCall-ID: " + callId +
      "\r\nCSeq: 1 REGISTER\r\nWWW-Authenticate: Digest realm=\"tincan.test\", nonce=\"abc123\", qop=\"auth\"\r\nContent-Length: 0\r\n\r\n";
    // The CSeq of the first REGISTER is 1: the agent's counter starts there.
    const again = inject(ua, challenge, 1000);
    expect(again.startsWith("REGISTER ")).toBe(true, "resent with credentials");
    expect(again.includes("CSeq: 2 REGISTER")).toBe(true);
    expect(again.includes("Authorization: Digest username=\"door\", realm=\"tincan.test\", nonce=\"abc123\", uri=\"sip:192.0.2.9\"")).toBe(true, again);
    expect(again.includes("qop=auth, nc=00000001")).toBe(true);
    for (let i = 0; i < again.length; i++) buf[i] = <u8>again.charCodeAt(i);
    m.parse(changetype<usize>(buf), again.length, true);
    const via2 = read(m.valuePtr(m.find(1, 0)), m.valueLen[m.find(1, 0)]);
    const ok = "SIP/2.0 200 OK\r\nVia: " + via2 + "\r\nFrom: " + from + "\r\nTo: <sip:door@192.0.2.2>;tag=r1\r\nCall-ID: " + callId +
      "\r\nCSeq: 2 REGISTER\r\nContact: <sip:door@192.0.2.2:5060>;expires=60\r\nContent-Length: 0\r\n\r\n";
    expect(inject(ua, ok, 2000)).toBe("");
    expect(reg.state).toBe(REG_OK);
    expect(reg.granted).toBe(60);
    expect(reg.timeout()).toBe(2000 + 48_000_000, "refresh at 80% of the granted minute");
    ua.tick(48_002_000);
    const refresh = read(o.peekData(), o.peekLength());
    o.clear();
    expect(refresh.includes("CSeq: 3 REGISTER")).toBe(true, "the same Call-ID, the next CSeq");
    expect(refresh.includes("Call-ID: " + callId)).toBe(true);
    // A second challenge for the same realm, not stale: the password is wrong; one try only.
    for (let i = 0; i < refresh.length; i++) buf[i] = <u8>refresh.charCodeAt(i);
    m.parse(changetype<usize>(buf), refresh.length, true);
    const via3 = read(m.valuePtr(m.find(1, 0)), m.valueLen[m.find(1, 0)]);
    const r4 = inject(ua, deny("3", via3, from, callId), 48_003_000);
    expect(r4.includes("CSeq: 4 REGISTER")).toBe(true, "a new nonce is answered once");
    for (let i = 0; i < r4.length; i++) buf[i] = <u8>r4.charCodeAt(i);
    m.parse(changetype<usize>(buf), r4.length, true);
    const via4 = read(m.valuePtr(m.find(1, 0)), m.valueLen[m.find(1, 0)]);
    expect(inject(ua, deny("4", via4, from, callId), 48_004_000)).toBe("", "the same realm refuses again: give up");
    expect(reg.state).toBe(REG_FAILED);
    expect(reg.lastStatus).toBe(401);
  });
});

function deny(cseq: string, v: string, from: string, callId: string): string {
  return "SIP/2.0 401 Unauthorized\r\nVia: " + v + "\r\nFrom: " + from + "\r\nTo: <sip:door@192.0.2.2>;tag=r1\r\nCall-ID: " + callId +
    "\r\nCSeq: " + cseq + " REGISTER\r\nWWW-Authenticate: Digest realm=\"tincan.test\", nonce=\"n2\", qop=\"auth\"\r\nContent-Length: 0\r\n\r\n";
}

describe("registration over TLS", () => {
  it("says TLS in Via and Contact, dials 5061 with the registrar's name, fails at once on a lost connection and registers again over a new flow", () => {
    const s = new TestSession("192.0.2.2");
    const ua = agent(s, "192.0.2.2", "TCS0AB1CD2EF3GH4");
    const st = ua.stack;
    st.reliable = true;
    st.secure = true;
    const reg = ua.registration;
    const uri = String.UTF8.encode("sip:192.0.2.9;transport=tls");
    expect(reg.configure(changetype<usize>(uri), uri.byteLength, 600, 0)).toBe(true);
    expect(sockaddrPort(changetype<usize>(reg.registrarAddress))).toBe(5061, "no port in the URI: TLS's 5061");
    st.setServerName(reg.registrar.address + <usize>reg.hostAt, reg.hostLength, changetype<usize>(reg.registrarAddress));
    ua.tick(0);
    const o = st.outbox;
    expect(o.length).toBe(1);
    const first = read(o.peekData(), o.peekLength());
    const c = o.peekConnection();
    o.clear();
    expect(first.includes("Via: SIP/2.0/TLS 192.0.2.2:5060;branch=z9hG4bK")).toBe(true, first);
    expect(first.includes("Contact: <sip:TCS0AB1CD2EF3GH4@192.0.2.2:5060;transport=tls>\r\n")).toBe(true, first);
    expect(first.includes("Authorization")).toBe(false, "no password: nothing to answer a challenge with");
    expect(c).toBeGreaterThanOrEqual(0);
    const conn = st.connections.at(c);
    expect(conn.state).toBe(CONN_WANTED);
    expect(conn.secure).toBe(true);
    expect(read(conn.nameAddress, conn.nameLength)).toBe("192.0.2.9", "the server must prove the URI's host");
    expect(sockaddrPort(conn.peerAddress)).toBe(5061);
    // The handshake fails (main.ts: on_tcp closed): the REGISTER fails now, not after timer F.
    ua.connectionLost(c, 200_000);
    st.connections.closed(c);
    expect(reg.state).toBe(REG_FAILED);
    expect(reg.lastStatus).toBe(REG_STATUS_NETWORK);
    expect(reg.timeout()).toBe(5_200_000, "retried after the backoff");
    expect(st.transactions.active).toBe(0);
    // The retry opens a new flow; it comes up and the registrar says 200.
    ua.tick(5_200_000);
    expect(o.length).toBe(1);
    const retry = read(o.peekData(), o.peekLength());
    const c2 = o.peekConnection();
    o.clear();
    st.connections.opened(c2, 5_300_000);
    const m = new SipMessage();
    const buf = new StaticArray<u8>(4096);
    for (let i = 0; i < retry.length; i++) buf[i] = <u8>retry.charCodeAt(i);
    m.parse(changetype<usize>(buf), retry.length, true);
    const via = read(m.valuePtr(m.find(1, 0)), m.valueLen[m.find(1, 0)]);
    const callId = read(m.valuePtr(m.find(4, 0)), m.valueLen[m.find(4, 0)]);
    const from = read(m.valuePtr(m.find(2, 0)), m.valueLen[m.find(2, 0)]);
    const ok = "SIP/2.0 200 OK\r\nVia: " + via + "\r\nFrom: " + from + "\r\nTo: <sip:TCS0AB1CD2EF3GH4@192.0.2.2>;tag=r1\r\nCall-ID: " + callId +
      "\r\nCSeq: 2 REGISTER\r\nContact: <sip:TCS0AB1CD2EF3GH4@192.0.2.2:5060;transport=tls>;expires=600\r\nContent-Length: 0\r\n\r\n";
    for (let i = 0; i < ok.length; i++) rx[i] = <u8>ok.charCodeAt(i);
    ua.receive(rxBase, ok.length, changetype<usize>(reg.registrarAddress), true, 5_400_000, c2);
    expect(reg.state).toBe(REG_OK);
    // Idle: the flow gets a CRLFCRLF keepalive before the proxy would drop it.
    ua.tick(5_300_000 + 90_000_000);
    const flow = st.connections.at(c2);
    expect(read(flow.txAddress + <usize>(flow.txFill - 4), 4)).toBe("\r\n\r\n");
    // The registered flow dies later: register again at once, over a new connection.
    ua.connectionLost(c2, 100_000_000);
    st.connections.closed(c2);
    expect(st.connections.at(c2).state).toBe(CONN_FREE);
    expect(reg.state).toBe(REG_IDLE);
    expect(reg.timeout()).toBe(100_000_000);
    ua.tick(100_000_000);
    expect(o.length).toBe(1);
    expect(st.connections.at(o.peekConnection()).state).toBe(CONN_WANTED);
  });
});
