// STUN request transactions (firmware/net/stun-client.ts): RFC 8489 6.2.1's schedule (with
// RTO 500 ms, Rc 7, Rm 16: sends at 0, 500, 1500, 3500, 7500, 15500, 31500 ms and failure at
// 39500 ms, the RFC's own example), matching by transaction id and source, table limits.
import { StunClient, STUN_RTO_US } from "../../firmware/net/stun-client";
import { StunReader } from "../../firmware/net/stun";
import { StunWriter } from "../../firmware/net/stun-writer";
import { CLASS_REQUEST, CLASS_SUCCESS, CLASS_INDICATION, METHOD_BINDING, STUN_OK } from "../../firmware/net/stun-attrs";
import { SipOutbox } from "../../firmware/sip/outbox";
import { sockaddrFromText } from "../../firmware/lib/inet";

const REQ = memory.data(128);
const RESP = memory.data(128);
const TID = memory.data(12);
const SERVER = memory.data(20);
const OTHER = memory.data(20);

function address(sa: usize, text: string, port: i32): void {
  const b = String.UTF8.encode(text);
  sockaddrFromText(sa, changetype<usize>(b), b.byteLength, port);
}

function request(w: StunWriter, seed: u8): i32 {
  for (let i = 0; i < 12; i++) store<u8>(TID + <usize>i, seed + <u8>i);
  w.begin(REQ, 128, METHOD_BINDING, CLASS_REQUEST, TID);
  w.addFingerprint();
  return w.finish();
}

/** A success response to the request in REQ (same transaction id), parsed into r. */
function response(w: StunWriter, r: StunReader, cls: u32 = CLASS_SUCCESS): void {
  const q = new StunReader();
  q.parse(REQ, 28);
  w.beginResponse(RESP, 128, q, cls);
  w.addFingerprint();
  const n = w.finish();
  expect(r.parse(RESP, n)).toBe(STUN_OK);
}

describe("StunClient", () => {
  address(SERVER, "203.0.113.1", 3478);
  address(OTHER, "203.0.113.2", 3478);

  it("retransmits at RTO, 3, 7 .. 63 RTO and gives up at 79 RTO (RFC 8489 6.2.1)", () => {
    const out = new SipOutbox(4096, 16);
    const c = new StunClient(2, 128, out);
    const w = new StunWriter();
    const n = request(w, 1);
    const slot = c.send(REQ, n, SERVER, -1, 7, 0);
    expect(slot).toBe(0);
    expect(out.length).toBe(1);
    out.pop();
    const sendsAt: i64[] = [0, 500, 1500, 3500, 7500, 15500, 31500];
    let sent = 1;
    for (let ms: i64 = 1; ms <= 40000; ms++) {
      c.tick(ms * 1000);
      if (out.length > 0) {
        expect(ms).toBe(sendsAt[sent], "send " + sent.toString());
        expect(out.peekLength()).toBe(n);
        expect(memory.compare(out.peekData(), REQ, n)).toBe(0);
        out.pop();
        sent++;
      }
      if (c.nextTimedOut() >= 0) {
        expect(ms).toBe(39500);
        break;
      }
    }
    expect(sent).toBe(7);
    expect(c.retransmissions).toBe(6);
    expect(c.timeouts).toBe(1);
    expect(c.owner(c.nextTimedOut())).toBe(7);
    c.release(c.nextTimedOut());
    expect(c.timeout()).toBe(-1);
  });

  it("matches a response by transaction id and source only", () => {
    const out = new SipOutbox(4096, 16);
    const c = new StunClient(4, 128, out);
    const w = new StunWriter();
    const r = new StunReader();
    const n = request(w, 40);
    const slot = c.send(REQ, n, SERVER, 3, 11, 0, STUN_RTO_US);
    expect(out.peekConnection()).toBe(3, "the route rides in the outbox entry");
    response(w, r);
    expect(c.match(r, OTHER)).toBe(-1, "the right id from another address is not an answer");
    expect(c.unmatched).toBe(1);
    expect(c.match(r, SERVER)).toBe(slot);
    expect(c.owner(slot)).toBe(11);
    expect(c.match(r, SERVER)).toBe(-1, "a duplicate answer finds nothing");
    c.release(slot);
    // A request (not a response) with the same id is not an answer either.
    const q = new StunReader();
    q.parse(REQ, n);
    expect(c.match(q, SERVER)).toBe(-1);
  });

  it("stops retransmitting once answered, and answered slots are not timed out", () => {
    const out = new SipOutbox(4096, 16);
    const c = new StunClient(1, 128, out);
    const w = new StunWriter();
    const r = new StunReader();
    c.send(REQ, request(w, 90), SERVER, -1, 1, 0);
    out.clear();
    response(w, r);
    expect(c.match(r, SERVER)).toBe(0);
    for (let ms: i64 = 0; ms < 50000; ms += 100) c.tick(ms * 1000);
    expect(out.length).toBe(0);
    expect(c.nextTimedOut()).toBe(-1);
  });

  it("refuses when the table is full or the message too big, and frees by owner", () => {
    const out = new SipOutbox(4096, 16);
    const c = new StunClient(2, 64, out);
    const w = new StunWriter();
    const n = request(w, 3);
    expect(c.send(REQ, n, SERVER, -1, 1, 0)).toBe(0);
    expect(c.send(REQ, n, SERVER, -1, 2, 0)).toBe(1);
    expect(c.send(REQ, n, SERVER, -1, 3, 0)).toBe(-1);
    expect(c.pending).toBe(2);
    c.cancelOwner(1);
    expect(c.pending).toBe(1);
    expect(c.send(REQ, 100, SERVER, -1, 4, 0)).toBe(-1, "larger than a slot");
    expect(c.send(REQ, 10, SERVER, -1, 4, 0)).toBe(-1, "shorter than a header");
  });

  it("honours a custom schedule: one copy, then a wait of Rm RTO", () => {
    const out = new SipOutbox(4096, 16);
    const c = new StunClient(1, 128, out);
    const w = new StunWriter();
    c.send(REQ, request(w, 5), SERVER, -1, 1, 0, 100_000, 1, 10);
    out.clear();
    c.tick(999_999);
    expect(c.nextTimedOut()).toBe(-1);
    c.tick(1_000_000);
    expect(c.nextTimedOut()).toBe(0);
    expect(out.length).toBe(0);
  });

  it("indications are never answers", () => {
    const out = new SipOutbox(4096, 16);
    const c = new StunClient(1, 128, out);
    const w = new StunWriter();
    const r = new StunReader();
    c.send(REQ, request(w, 7), SERVER, -1, 1, 0);
    w.begin(RESP, 128, METHOD_BINDING, CLASS_INDICATION, TID);
    const n = w.finish();
    r.parse(RESP, n);
    expect(c.match(r, SERVER)).toBe(-1);
  });
});
