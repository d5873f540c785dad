// SIP transactions (firmware/sip/transaction.ts): the four state machines of RFC 3261 17 with
// RFC 6026's Accepted state, their timers over UDP and over a reliable transport, and matching.
import {
  SipTransactions, RX_NEW, RX_RESPONSE, RX_ABSORBED, RX_ACK, RX_NO_MATCH, RX_BAD, RX_FULL, EV_TIMEOUT,
  S_PROCEEDING, S_COMPLETED, S_CONFIRMED, S_ACCEPTED, S_FREE, CLIENT_INVITE, SERVER_INVITE,
} from "../../firmware/sip/transaction";
import { SipOutbox } from "../../firmware/sip/outbox";
import { SipMessage } from "../../firmware/sip/message";
import { sockaddrFromText } from "../../firmware/lib/inet";

const T1: i64 = 500_000;
const T2: i64 = 4_000_000;
const T4: i64 = 5_000_000;

const outbox = new SipOutbox(32768, 32);
const txs = new SipTransactions(outbox, 4, 2048);
const msg = new SipMessage();
const buf = new StaticArray<u8>(4096);
const base = changetype<usize>(buf);
const peer = new StaticArray<u8>(20);
const peerAddr = changetype<usize>(peer);
sockaddrFromText(peerAddr, changetype<usize>(String.UTF8.encode("192.0.2.9")), 9, 5060);

function put(s: string): i32 {
  for (let i = 0; i < s.length; i++) buf[i] = <u8>s.charCodeAt(i);
  return s.length;
}

function outText(): string {
  let s = "";
  const p = outbox.peekData();
  for (let i = 0; i < outbox.peekLength(); i++) s += String.fromCharCode(load<u8>(p + <usize>i));
  return s;
}

function drain(): i32 { const n = outbox.length; outbox.clear(); return n; }

function reset(): void {
  for (let i = 0; i < 4; i++) txs.at(i).free();
  while (txs.pendingEvents > 0) txs.popEvent();
  outbox.clear();
}

function request(method: string, branch: string, cseq: string = "1"): string {
  return method + " sip:door@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=" + branch + ";rport\r\n" +
    "Max-Forwards: 70\r\nFrom: <sip:hall@192.0.2.1>;tag=a1\r\nTo: <sip:door@192.0.2.2>\r\nCall-ID: c1@192.0.2.1\r\n" +
    "CSeq: " + cseq + " " + method + "\r\nRoute: <sip:192.0.2.5;lr>\r\nContent-Length: 0\r\n\r\n";
}

function response(code: string, branch: string, method: string): string {
  return "SIP/2.0 " + code + " Whatever\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=" + branch + ";rport=5060\r\n" +
    "From: <sip:hall@192.0.2.1>;tag=a1\r\nTo: <sip:door@192.0.2.2>;tag=b2\r\nCall-ID: c1@192.0.2.1\r\nCSeq: 1 " + method + "\r\nContent-Length: 0\r\n\r\n";
}

function startClient(method: string, branch: string, reliable: bool = false): i32 {
  const n = put(request(method, branch));
  return txs.startClient(base, n, peerAddr, reliable, -1, 0);
}

function deliverResponse(s: string, now: i64): i32 {
  const n = put(s);
  expect(msg.parse(base, n, true)).toBe(0);
  return txs.receiveResponse(msg, now);
}

function deliverRequest(s: string, now: i64): i32 {
  const n = put(s);
  expect(msg.parse(base, n, true)).toBe(0);
  return txs.receiveRequest(msg, peerAddr, false, -1, now);
}

describe("client non-INVITE transaction", () => {
  it("retransmits on timer E, doubling up to T2, until a final response", () => {
    reset();
    const h = startClient("REGISTER", "z9hG4bKreg1");
    expect(h).toBeGreaterThanOrEqual(0);
    const i = txs.index(h);
    expect(drain()).toBe(1, "sent at once");
    const times: i64[] = [T1, 3 * T1, 7 * T1, 15 * T1, 15 * T1 + T2, 15 * T1 + 2 * T2];
    for (let k = 0; k < times.length; k++) {
      expect(txs.timeout()).toBe(times[k]);
      txs.tick(times[k] - 1);
      expect(outbox.length).toBe(0, "nothing before the timer");
      txs.tick(times[k]);
      expect(drain()).toBe(1);
    }
    expect(deliverResponse(response("200", "z9hG4bKreg1", "REGISTER"), 16 * T1)).toBe(RX_RESPONSE);
    expect(txs.lastIndex).toBe(i);
    expect(txs.at(i).state).toBe(S_COMPLETED);
    expect(deliverResponse(response("200", "z9hG4bKreg1", "REGISTER"), 16 * T1)).toBe(RX_ABSORBED, "a retransmitted final is absorbed");
    txs.tick(16 * T1 + T4 - 1);
    expect(txs.at(i).state).toBe(S_COMPLETED);
    txs.tick(16 * T1 + T4);
    expect(txs.at(i).state).toBe(S_FREE, "freed after timer K");
    expect(outbox.length).toBe(0);
  });

  it("after a provisional response retransmits every T2", () => {
    reset();
    const i = txs.index(startClient("OPTIONS", "z9hG4bKopt1"));
    drain();
    expect(deliverResponse(response("100", "z9hG4bKopt1", "OPTIONS"), 100_000)).toBe(RX_RESPONSE);
    expect(txs.at(i).state).toBe(S_PROCEEDING);
    txs.tick(T1);
    expect(drain()).toBe(1);
    expect(txs.timeout()).toBe(T1 + T2);
  });

  it("times out on timer F with an event", () => {
    reset();
    const h = startClient("REGISTER", "z9hG4bKreg2");
    const i = txs.index(h);
    for (let t: i64 = 0; t <= 64 * T1; t += 100_000) txs.tick(t);
    expect(txs.pendingEvents).toBe(1);
    expect(txs.eventKind()).toBe(EV_TIMEOUT);
    expect(txs.eventHandle()).toBe(h);
    expect(txs.index(h)).toBe(-1, "gone");
    expect(txs.at(i).state).toBe(S_FREE);
  });

  it("never retransmits on a reliable transport, and frees at once after the final", () => {
    reset();
    const i = txs.index(startClient("REGISTER", "z9hG4bKreg3", true));
    drain();
    for (let t: i64 = 0; t < 10 * T1; t += 100_000) txs.tick(t);
    expect(outbox.length).toBe(0);
    expect(deliverResponse(response("401", "z9hG4bKreg3", "REGISTER"), 10 * T1)).toBe(RX_RESPONSE);
    txs.tick(10 * T1);
    expect(txs.at(i).state).toBe(S_FREE);
  });
});

describe("client INVITE transaction", () => {
  it("retransmits on timer A without the T2 cap, stops on a provisional", () => {
    reset();
    const i = txs.index(startClient("INVITE", "z9hG4bKinv1"));
    expect(txs.at(i).kind).toBe(CLIENT_INVITE);
    drain();
    txs.tick(T1); txs.tick(3 * T1); txs.tick(7 * T1); txs.tick(15 * T1);
    expect(drain()).toBe(4);
    expect(txs.timeout()).toBe(31 * T1, "16 T1 after the last: A doubles past T2");
    expect(deliverResponse(response("180", "z9hG4bKinv1", "INVITE"), 16 * T1)).toBe(RX_RESPONSE);
    expect(txs.at(i).state).toBe(S_PROCEEDING);
    for (let t: i64 = 16 * T1; t < 200 * T1; t += T1) txs.tick(t);
    expect(outbox.length).toBe(0, "no retransmission and no timer B in Proceeding");
    expect(txs.pendingEvents).toBe(0);
  });

  it("acknowledges a non-2xx final response itself, again for each retransmission", () => {
    reset();
    const i = txs.index(startClient("INVITE", "z9hG4bKinv2"));
    drain();
    expect(deliverResponse(response("486", "z9hG4bKinv2", "INVITE"), 1000)).toBe(RX_RESPONSE);
    expect(txs.at(i).state).toBe(S_COMPLETED);
    expect(outbox.length).toBe(1);
    const ack = outText();
    drain();
    expect(ack.startsWith("ACK sip:door@192.0.2.2 SIP/2.0\r\n")).toBe(true, ack);
    expect(ack.includes("Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKinv2;rport\r\n")).toBe(true, "the INVITE's branch");
    expect(ack.includes("To: <sip:door@192.0.2.2>;tag=b2\r\n")).toBe(true, "the response's To tag");
    expect(ack.includes("CSeq: 1 ACK\r\n")).toBe(true);
    expect(ack.includes("Route: <sip:192.0.2.5;lr>\r\n")).toBe(true, "the INVITE's route");
    const n = put(ack);
    expect(msg.parse(base, n, true)).toBe(0, "the ACK parses");
    expect(deliverResponse(response("486", "z9hG4bKinv2", "INVITE"), 2000)).toBe(RX_ABSORBED);
    expect(drain()).toBe(1, "the ACK again");
    txs.tick(32_000_000 + 999);
    expect(txs.at(i).state).toBe(S_COMPLETED);
    txs.tick(32_001_000);
    expect(txs.at(i).state).toBe(S_FREE, "timer D");
  });

  it("passes a 2xx and its retransmissions to the TU in Accepted, until timer M", () => {
    reset();
    const i = txs.index(startClient("INVITE", "z9hG4bKinv3"));
    drain();
    expect(deliverResponse(response("200", "z9hG4bKinv3", "INVITE"), 1000)).toBe(RX_RESPONSE);
    expect(txs.at(i).state).toBe(S_ACCEPTED);
    expect(outbox.length).toBe(0, "the TU sends the ACK of a 2xx");
    expect(deliverResponse(response("200", "z9hG4bKinv3", "INVITE"), 2000)).toBe(RX_RESPONSE);
    txs.tick(1000 + 64 * T1);
    expect(txs.at(i).state).toBe(S_FREE);
    expect(txs.pendingEvents).toBe(0);
  });

  it("times out on timer B without any response", () => {
    reset();
    startClient("INVITE", "z9hG4bKinv4");
    for (let t: i64 = 0; t <= 64 * T1; t += T1 / 2) txs.tick(t);
    expect(txs.pendingEvents).toBe(1);
    expect(txs.eventKind()).toBe(EV_TIMEOUT);
    expect(drain()).toBe(7, "the INVITE and 6 retransmissions: 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s");
  });

  it("matches responses by branch and CSeq method", () => {
    reset();
    startClient("INVITE", "z9hG4bKinv5");
    expect(deliverResponse(response("200", "z9hG4bKother", "INVITE"), 0)).toBe(RX_NO_MATCH);
    expect(deliverResponse(response("200", "z9hG4bKinv5", "CANCEL"), 0)).toBe(RX_NO_MATCH, "a CANCEL's response is not the INVITE's");
    expect(deliverResponse(response("200", "z9hG4bKinv5", "INVITE"), 0)).toBe(RX_RESPONSE);
  });
});

describe("server transactions", () => {
  it("non-INVITE: absorbs retransmissions, resends the final, frees after J", () => {
    reset();
    expect(deliverRequest(request("OPTIONS", "z9hG4bKsrv1"), 0)).toBe(RX_NEW);
    const i = txs.lastIndex;
    expect(deliverRequest(request("OPTIONS", "z9hG4bKsrv1"), 10)).toBe(RX_ABSORBED);
    expect(outbox.length).toBe(0, "nothing to resend before the TU answered");
    const n = put(response("200", "z9hG4bKsrv1", "OPTIONS"));
    expect(txs.respond(txs.handle(i), base, n, 200, 20)).toBe(true);
    expect(drain()).toBe(1);
    expect(txs.respond(txs.handle(i), base, n, 200, 20)).toBe(false, "one final response only");
    expect(deliverRequest(request("OPTIONS", "z9hG4bKsrv1"), 30)).toBe(RX_ABSORBED);
    expect(drain()).toBe(1, "the final again");
    txs.tick(20 + 64 * T1);
    expect(txs.at(i).state).toBe(S_FREE);
  });

  it("INVITE with a failure: timer G until the ACK, then Confirmed and timer I", () => {
    reset();
    expect(deliverRequest(request("INVITE", "z9hG4bKsrv2"), 0)).toBe(RX_NEW);
    const i = txs.lastIndex;
    expect(txs.at(i).kind).toBe(SERVER_INVITE);
    const n = put(response("486", "z9hG4bKsrv2", "INVITE"));
    txs.respond(txs.handle(i), base, n, 486, 0);
    expect(drain()).toBe(1);
    txs.tick(T1); txs.tick(3 * T1); txs.tick(7 * T1); txs.tick(15 * T1); txs.tick(15 * T1 + T2);
    expect(drain()).toBe(5, "G doubles to T2");
    expect(deliverRequest(request("ACK", "z9hG4bKsrv2"), 16 * T1)).toBe(RX_ABSORBED);
    expect(txs.at(i).state).toBe(S_CONFIRMED);
    txs.tick(16 * T1 + T2);
    expect(outbox.length).toBe(0);
    txs.tick(16 * T1 + T4);
    expect(txs.at(i).state).toBe(S_FREE);
  });

  it("INVITE with a failure and no ACK: timer H raises a timeout", () => {
    reset();
    deliverRequest(request("INVITE", "z9hG4bKsrv3"), 0);
    const i = txs.lastIndex;
    const n = put(response("603", "z9hG4bKsrv3", "INVITE"));
    txs.respond(txs.handle(i), base, n, 603, 0);
    for (let t: i64 = 0; t <= 64 * T1; t += T1 / 2) txs.tick(t);
    expect(txs.pendingEvents).toBe(1);
    expect(txs.eventHandle()).toBe(txs.handle(i));
  });

  it("INVITE accepted: resends the 2xx until the dialog reports the ACK", () => {
    reset();
    deliverRequest(request("INVITE", "z9hG4bKsrv4"), 0);
    const i = txs.lastIndex;
    const n = put(response("200", "z9hG4bKsrv4", "INVITE"));
    txs.respond(txs.handle(i), base, n, 200, 0);
    drain();
    txs.tick(T1); txs.tick(3 * T1);
    expect(drain()).toBe(2);
    expect(deliverRequest(request("ACK", "z9hG4bKnewbranch"), 3 * T1)).toBe(RX_ACK, "a 2xx ACK is its own transaction, for the dialog");
    txs.acknowledged(txs.handle(i), 3 * T1);
    txs.tick(7 * T1);
    expect(outbox.length).toBe(0);
    expect(deliverRequest(request("INVITE", "z9hG4bKsrv4"), 8 * T1)).toBe(RX_ABSORBED, "a late INVITE retransmission is absorbed");
    txs.tick(3 * T1 + 64 * T1);
    expect(txs.at(i).state).toBe(S_FREE);
    expect(txs.pendingEvents).toBe(0);
  });

  it("finds the INVITE a CANCEL is for, as a separate transaction", () => {
    reset();
    deliverRequest(request("INVITE", "z9hG4bKsrv5"), 0);
    const inv = txs.lastIndex;
    expect(deliverRequest(request("CANCEL", "z9hG4bKsrv5"), 10)).toBe(RX_NEW);
    expect(txs.lastIndex).not.toBe(inv);
    const b = String.UTF8.encode("z9hG4bKsrv5");
    expect(txs.findServerInvite(changetype<usize>(b), b.byteLength)).toBe(txs.handle(inv));
  });

  it("refuses a request without a usable Via or with a mismatched CSeq, and says when the table is full", () => {
    reset();
    expect(deliverRequest("OPTIONS sip:a@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP\r\nFrom: <sip:b@c>;tag=1\r\nTo: <sip:a@d>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n", 0)).toBe(RX_BAD);
    expect(deliverRequest("OPTIONS sip:a@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:b@c>;tag=1\r\nTo: <sip:a@d>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n", 0)).toBe(RX_BAD);
    for (let k = 0; k < 4; k++) expect(deliverRequest(request("OPTIONS", "z9hG4bKfill" + k.toString()), 0)).toBe(RX_NEW);
    expect(deliverRequest(request("OPTIONS", "z9hG4bKfill9"), 0)).toBe(RX_FULL);
    expect(txs.full).toBeGreaterThan(0);
  });

  it("a full table gives the lingering transaction that ends first to new work; live ones are kept", () => {
    reset();
    // Three completed client transactions (Timer K) and one still waiting for its answer.
    for (let k = 0; k < 3; k++) {
      startClient("OPTIONS", "z9hG4bKdone" + k.toString());
      expect(deliverResponse(response("200", "z9hG4bKdone" + k.toString(), "OPTIONS"), <i64>k * 1000)).toBe(RX_RESPONSE);
    }
    const live = startClient("OPTIONS", "z9hG4bKlive");
    const evicted = txs.evicted;
    const fresh = startClient("OPTIONS", "z9hG4bKnew");
    expect(fresh).toBeGreaterThanOrEqual(0, "a slot was found");
    expect(txs.evicted).toBe(evicted + 1);
    expect(deliverResponse(response("200", "z9hG4bKdone0", "OPTIONS"), 5000)).toBe(RX_NO_MATCH, "the one that ended first went");
    expect(deliverResponse(response("200", "z9hG4bKdone1", "OPTIONS"), 5000)).toBe(RX_ABSORBED, "the others still absorb");
    expect(deliverResponse(response("200", "z9hG4bKlive", "OPTIONS"), 5000)).toBe(RX_RESPONSE, "the live one was kept");
    expect(live).toBeGreaterThanOrEqual(0);
  });
});
