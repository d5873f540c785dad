// The registrar flow keepalive (firmware/sip/flow-keepalive.ts). Where the answers come from:
//   KAMAILIO_ANSWER is what Debian's kamailio 5.6.3 (stun.so loaded, listening on
//   udp:127.0.0.1:25060) sent back to a bare Binding request from 127.0.0.1:49809, captured with
//   a Node dgram socket: XOR-MAPPED-ADDRESS 127.0.0.1:49809 and SOFTWARE "Server: kamailio ...".
//   RFC5769_IPV4 is RFC 5769 2.2 (XOR-MAPPED-ADDRESS 192.0.2.1:32853, with MESSAGE-INTEGRITY and
//   FINGERPRINT), as test/firmware/stun.spec.ts holds it.
import { FlowKeepalive, KEEPALIVE_REQUEST_BYTES, KEEPALIVE_MAX_S } from "../../firmware/sip/flow-keepalive";
import { SipOutbox } from "../../firmware/sip/outbox";
import { EntropyPool } from "../../firmware/sip/entropy";
import { StunReader } from "../../firmware/net/stun";
import { StunWriter } from "../../firmware/net/stun-writer";
import { STUN_OK, CLASS_REQUEST, CLASS_ERROR, CLASS_SUCCESS, METHOD_BINDING, ATTR_MAPPED_ADDRESS } from "../../firmware/net/stun-attrs";
import { STUN_RC } from "../../firmware/net/stun-client";
import { sockaddrFromText, sockaddrEquals, formatAddress, sockaddrPort } from "../../firmware/lib/inet";

const KAMAILIO_TID = "ad0c53845c4a4fc460656a54";
const KAMAILIO_ANSWER = "010100382112a442" + KAMAILIO_TID + "002000080001e3835e12a443802200275365727665723a206b616d61696c696f2028352e362e3320287838365f36342f6c696e7578292900";
const RFC5769_TID = "b7e7a701bc34d686fa87dfae";
const RFC5769_IPV4 = "0101003c2112a442" + RFC5769_TID + "8022000b7465737420766563746f7220002000080001a147e112a643000800142b91f599fd9e90c38c7489f92af9ba53f06be7d780280004c07d4c96";
const SECOND = 1_000_000;

const MSG = memory.data(512);
const REGISTRAR = memory.data(20);
const OTHER = memory.data(20);
const SA = memory.data(20);
const ARG = memory.data(64);
const TID = memory.data(12);
const TEXT = memory.data(64);

function hexDigit(c: i32): i32 { return c <= 57 ? c - 48 : (c | 32) - 87; }
function putHex(p: usize, s: string): i32 {
  for (let i = 0; i < s.length / 2; i++) store<u8>(p + <usize>i, <u8>((hexDigit(s.charCodeAt(2 * i)) << 4) | hexDigit(s.charCodeAt(2 * i + 1))));
  return s.length / 2;
}
function toHex(p: usize, n: i32): string {
  let s = "";
  for (let i = 0; i < n; i++) { const b = load<u8>(p + <usize>i); s += (b < 16 ? "0" : "") + b.toString(16); }
  return s;
}
function put(p: usize, s: string): i32 { for (let i = 0; i < s.length; i++) store<u8>(p + <usize>i, <u8>s.charCodeAt(i)); return s.length; }
function setAddr(sa: usize, ip: string, port: i32): void { expect(sockaddrFromText(sa, ARG, put(ARG, ip), port)).toBe(true); }
function addr(sa: usize): string { const n = formatAddress(sa, TEXT, 64); return String.UTF8.decodeUnsafe(TEXT, n) + ":" + sockaddrPort(sa).toString(); }
function heapTop(): usize { const p = heap.alloc(0); heap.free(p); return p; }

const outbox = new SipOutbox(4096, 16);
const entropy = new EntropyPool(64);
const keepalive = new FlowKeepalive(outbox, entropy);
const reader = new StunReader();
const writer = new StunWriter();

/** Fresh "randomness": the next 12 bytes taken are tidHex (the request's transaction id), the rest a counter. */
let counter: u8 = 0;
function refill(tidHex: string): void {
  const p = entropy.address;
  for (let i = 0; i < entropy.capacity; i++) store<u8>(p + <usize>i, counter++);
  putHex(p, tidHex);
  entropy.refilled();
}

/** Runs the keepalive to its next request with the id tidHex; that request's send time. */
function runToRequest(tidHex: string): i64 {
  const at = keepalive.timeout();
  refill(tidHex);
  keepalive.tick(at);
  return at;
}

/** Pops the one queued datagram and checks it is a bare Binding request to the registrar with id tidHex. */
function expectRequest(tidHex: string): void {
  expect(outbox.length).toBe(1);
  expect(outbox.peekLength()).toBe(KEEPALIVE_REQUEST_BYTES);
  expect(toHex(outbox.peekData(), outbox.peekLength())).toBe("000100002112a442" + tidHex);
  expect(reader.parse(outbox.peekData(), outbox.peekLength())).toBe(STUN_OK);
  expect(reader.method).toBe(METHOD_BINDING);
  expect(reader.messageClass).toBe(CLASS_REQUEST);
  expect(sockaddrEquals(outbox.peekAddress(), REGISTRAR)).toBe(true);
  expect(outbox.peekConnection()).toBe(-1, "straight out of the SIP socket");
  outbox.pop();
}

function answer(hex: string, from: usize): bool { return keepalive.receive(MSG, putHex(MSG, hex), from, 0); }

function start(intervalS: i32, now: i64): void {
  outbox.clear();
  refill("000000000000000000000000");
  setAddr(REGISTRAR, "127.0.0.1", 25060);
  expect(keepalive.configure(REGISTRAR, intervalS, now)).toBe(true);
}

describe("schedule", () => {
  it("sends the first request 80-100% of the interval after configure, nothing before", () => {
    start(25, SECOND);
    const at = keepalive.timeout();
    expect(at).toBeGreaterThanOrEqual(SECOND + 20 * SECOND);
    expect(at).toBeLessThanOrEqual(SECOND + 25 * SECOND);
    keepalive.tick(at - 1);
    expect(outbox.length).toBe(0);
    runToRequest(KAMAILIO_TID);
    expectRequest(KAMAILIO_TID);
    expect(keepalive.sent).toBe(1, "the first request of this run");
  });

  it("spreads the intervals over 80-100% of intervalS, answered or not", () => {
    start(10, 0);
    let last: i64 = 0;
    let shortest: i64 = 1_000_000_000_000;
    let longest: i64 = 0;
    for (let i = 0; i < 200; i++) {
      // Answer every request at once, so each cycle has its own gap.
      const at = runToRequest(KAMAILIO_TID);
      outbox.clear();
      expect(answer(KAMAILIO_ANSWER, REGISTRAR)).toBe(true);
      const gap = at - last;
      if (gap < shortest) shortest = gap;
      if (gap > longest) longest = gap;
      last = at;
    }
    expect(shortest).toBeGreaterThanOrEqual(8 * SECOND);
    expect(longest).toBeLessThanOrEqual(10 * SECOND);
    expect(longest - shortest).toBeGreaterThan(SECOND, "randomised, not a fixed period");
    expect(keepalive.answered).toBe(200, "every answer counted");
  });

  it("intervalS 0 is off; a bad interval or address is refused and off", () => {
    start(0, 0);
    expect(keepalive.timeout()).toBe(-1);
    keepalive.tick(1000 * SECOND);
    expect(outbox.length).toBe(0);
    expect(keepalive.configure(REGISTRAR, -1, 0)).toBe(false);
    expect(keepalive.configure(REGISTRAR, KEEPALIVE_MAX_S + 1, 0)).toBe(false);
    memory.fill(OTHER, 0, 20);
    expect(keepalive.configure(OTHER, 25, 0)).toBe(false);
    expect(keepalive.running).toBe(false);
    expect(keepalive.timeout()).toBe(-1);
  });
});

describe("the mapped address", () => {
  it("learns kamailio's XOR-MAPPED-ADDRESS and reports a change only when a later answer differs", () => {
    start(25, 0);
    runToRequest(KAMAILIO_TID);
    expectRequest(KAMAILIO_TID);
    expect(answer(KAMAILIO_ANSWER, REGISTRAR)).toBe(true);
    expect(keepalive.mappedKnown).toBe(true);
    expect(addr(changetype<usize>(keepalive.lastMapped))).toBe("127.0.0.1:49809");
    expect(keepalive.mappedChanged).toBe(false, "the first answer is what the REGISTER saw");
    runToRequest(KAMAILIO_TID);
    expectRequest(KAMAILIO_TID);
    expect(answer(KAMAILIO_ANSWER, REGISTRAR)).toBe(true);
    expect(keepalive.mappedChanged).toBe(false, "the same mapping");
    runToRequest(RFC5769_TID);
    expectRequest(RFC5769_TID);
    expect(answer(RFC5769_IPV4, REGISTRAR)).toBe(true);
    expect(keepalive.mappedChanged).toBe(true);
    expect(keepalive.changes).toBe(1);
    expect(addr(changetype<usize>(keepalive.lastMapped))).toBe("192.0.2.1:32853");
  });

  it("compares the first answer with a seeded mapping (the REGISTER's Via received/rport)", () => {
    start(25, 0);
    setAddr(SA, "203.0.113.11", 5060);
    keepalive.seed(SA);
    runToRequest(KAMAILIO_TID);
    outbox.clear();
    expect(answer(KAMAILIO_ANSWER, REGISTRAR)).toBe(true);
    expect(keepalive.mappedChanged).toBe(true);
  });

  it("reads MAPPED-ADDRESS from a server that sends only that (RFC 3489 style)", () => {
    start(25, 0);
    runToRequest(KAMAILIO_TID);
    outbox.clear();
    setAddr(SA, "198.51.100.7", 4242);
    putHex(TID, KAMAILIO_TID);
    writer.begin(MSG, 512, METHOD_BINDING, CLASS_SUCCESS, TID);
    writer.addAddress(ATTR_MAPPED_ADDRESS, SA, false);
    expect(keepalive.receive(MSG, writer.finish(), REGISTRAR, 0)).toBe(true);
    expect(addr(changetype<usize>(keepalive.lastMapped))).toBe("198.51.100.7:4242");
  });
});

describe("answers that are not ours", () => {
  it("hands SIP to the SIP stack and swallows every other STUN datagram, counted", () => {
    start(25, 0);
    const ignored = keepalive.ignored;
    const answered = keepalive.answered;
    runToRequest(KAMAILIO_TID);
    outbox.clear();
    const n = put(MSG, "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.2:5060;rport=5060;received=203.0.113.11\r\n\r\n");
    expect(keepalive.receive(MSG, n, REGISTRAR, 0)).toBe(false);
    expect(keepalive.receive(MSG, 4, REGISTRAR, 0)).toBe(false, "too short for STUN");
    setAddr(OTHER, "127.0.0.1", 3478);
    expect(answer(KAMAILIO_ANSWER, OTHER)).toBe(true, "the right id from another address");
    expect(answer(RFC5769_IPV4, REGISTRAR)).toBe(true, "another transaction id");
    expect(keepalive.receive(MSG, putHex(MSG, KAMAILIO_ANSWER) - 4, REGISTRAR, 0)).toBe(true, "truncated");
    expect(keepalive.ignored - ignored).toBe(3);
    expect(keepalive.mappedKnown).toBe(false);
    expect(answer(KAMAILIO_ANSWER, REGISTRAR)).toBe(true);
    expect(keepalive.answered - answered).toBe(1);
    expect(answer(KAMAILIO_ANSWER, REGISTRAR)).toBe(true, "a duplicate of the answer");
    expect(keepalive.ignored - ignored).toBe(4);
  });
});

describe("a lost flow", () => {
  it("retransmits as STUN does, then gives up and sets flowFailed; no second request beside the first", () => {
    start(25, 0);
    const sent = keepalive.sent;
    const failures = keepalive.failures;
    const first = runToRequest(KAMAILIO_TID);
    let copies = 0;
    for (let guard = 0; guard < 100 && !keepalive.flowFailed; guard++) {
      const t = keepalive.timeout();
      keepalive.tick(t);
      while (outbox.length > 0) {
        expect(toHex(outbox.peekData(), outbox.peekLength())).toBe("000100002112a442" + KAMAILIO_TID);
        outbox.pop();
        copies++;
      }
    }
    expect(copies).toBe(STUN_RC, "Rc copies (the interval passed meanwhile: no new request)");
    expect(keepalive.flowFailed).toBe(true);
    expect(keepalive.failures - failures).toBe(1);
    expect(keepalive.sent - sent).toBe(1);
    // 39.5 s with RFC 8489's defaults (RTO 500 ms, Rc 7, Rm 16).
    expect(keepalive.client.timeouts).toBe(1, "one transaction gave up");
    expect(keepalive.timeout()).toBeGreaterThan(first + 39 * SECOND);
    keepalive.flowFailed = false;
    runToRequest(RFC5769_TID);
    expectRequest(RFC5769_TID);
  });

  it("an error answer fails the flow", () => {
    start(25, 0);
    runToRequest(KAMAILIO_TID);
    outbox.clear();
    putHex(TID, KAMAILIO_TID);
    writer.begin(MSG, 512, METHOD_BINDING, CLASS_ERROR, TID);
    writer.addError(400);
    expect(keepalive.receive(MSG, writer.finish(), REGISTRAR, 0)).toBe(true);
    expect(keepalive.flowFailed).toBe(true);
    expect(keepalive.mappedKnown).toBe(false);
  });

  it("stop() forgets the request in flight", () => {
    start(25, 0);
    const answered = keepalive.answered;
    runToRequest(KAMAILIO_TID);
    outbox.clear();
    keepalive.stop();
    expect(keepalive.timeout()).toBe(-1);
    expect(answer(KAMAILIO_ANSWER, REGISTRAR)).toBe(true);
    expect(keepalive.answered - answered).toBe(0);
  });
});

describe("allocation", () => {
  it("a thousand keepalive cycles leave the heap alone", () => {
    start(25, 0);
    const before = heapTop();
    for (let i = 0; i < 1000; i++) {
      runToRequest(KAMAILIO_TID);
      outbox.clear();
      answer(i % 2 == 0 ? KAMAILIO_ANSWER : RFC5769_IPV4, REGISTRAR);
      keepalive.mappedChanged = false;
    }
    expect(heapTop()).toBe(before);
  });
});
