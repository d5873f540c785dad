// SIP over TCP (firmware/sip/connections.ts): connections by destination, stream framing by
// Content-Length across arbitrary segment boundaries, CRLF keepalives, and overflow refused.
import { SipConnections, CONN_WANTED, CONN_OPEN, CONN_FREE, CONN_STALE, KEEPALIVE_US, PONG_WAIT_US } from "../../firmware/sip/connections";
import { sockaddrFromText } from "../../firmware/lib/inet";

const seg = new StaticArray<u8>(9000);

function sa(ip: string, port: i32): StaticArray<u8> {
  const out = new StaticArray<u8>(20);
  const b = String.UTF8.encode(ip);
  sockaddrFromText(changetype<usize>(out), changetype<usize>(b), b.byteLength, port);
  return out;
}

function feed(c: SipConnections, i: i32, s: string): bool {
  for (let k = 0; k < s.length; k++) seg[k] = <u8>s.charCodeAt(k);
  return c.received(i, changetype<usize>(seg), s.length);
}

const MSG = "OPTIONS sip:a@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.2;branch=z9hG4bK1\r\nFrom: <sip:b@c>;tag=1\r\nTo: <sip:a@d>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 4\r\n\r\nbody";

describe("SIP connections", () => {
  it("reuses the connection to a destination and opens a new one for another", () => {
    const c = new SipConnections();
    const a = sa("192.0.2.1", 5060), b = sa("192.0.2.1", 5070);
    const i = c.toward(changetype<usize>(a), 0);
    expect(c.at(i).state).toBe(CONN_WANTED);
    expect(c.toward(changetype<usize>(a), 1)).toBe(i);
    expect(c.toward(changetype<usize>(b), 2)).not.toBe(i);
    for (let k = 0; k < 2; k++) c.toward(changetype<usize>(sa("192.0.2." + (10 + k).toString(), 5060)), 3);
    expect(c.toward(changetype<usize>(sa("192.0.2.99", 5060)), 4)).toBe(-1, "all four in use");
    c.closed(i);
    expect(c.at(i).state).toBe(CONN_FREE);
  });

  it("frames messages whatever the segment boundaries", () => {
    const c = new SipConnections();
    const i = c.accepted(7, changetype<usize>(sa("192.0.2.1", 40000)), 0);
    expect(c.at(i).state).toBe(CONN_OPEN);
    expect(c.byHandle(7)).toBe(i);
    const two = MSG + MSG;
    for (let cut = 1; cut < two.length; cut += 13) {
      feed(c, i, two.substring(0, cut));
      let got = 0;
      for (;;) { const r = c.extract(i); if (r != 1) { expect(r).toBe(0); break; } expect(c.messageLength).toBe(MSG.length); c.consume(i); got++; }
      feed(c, i, two.substring(cut));
      for (;;) { const r = c.extract(i); if (r != 1) break; c.consume(i); got++; }
      expect(got).toBe(2, "cut at " + cut.toString());
    }
  });

  it("answers a CRLFCRLF ping and ignores a CRLF pong", () => {
    const c = new SipConnections();
    const i = c.accepted(1, changetype<usize>(sa("192.0.2.1", 40000)), 0);
    feed(c, i, "\r\n\r\n");
    expect(c.extract(i)).toBe(0);
    expect(c.pingSeen).toBe(true);
    feed(c, i, "\r\n");
    expect(c.extract(i)).toBe(0);
    expect(c.pingSeen).toBe(false);
    feed(c, i, "\r\n" + MSG);
    expect(c.extract(i)).toBe(1);
  });

  it("closes a stream that cannot be framed, and refuses what overflows", () => {
    const c = new SipConnections();
    const i = c.accepted(1, changetype<usize>(sa("192.0.2.1", 40000)), 0);
    feed(c, i, "OPTIONS sip:a SIP/2.0\r\nContent-Length: 99999999\r\n\r\n");
    expect(c.extract(i)).toBe(-1);
    const j = c.accepted(2, changetype<usize>(sa("192.0.2.1", 40001)), 0);
    let big = "";
    for (let k = 0; k < 9000; k++) big += "x";
    expect(feed(c, j, big)).toBe(false, "more than a message's worth without a frame");
    expect(c.queue(j, changetype<usize>(seg), 13000)).toBe(false);
    expect(c.queue(j, changetype<usize>(seg), 100)).toBe(true);
    c.sent(j, 40);
    expect(c.at(j).txFill).toBe(60);
  });

  it("keeps TLS and TCP connections to one address apart, and remembers the TLS server name", () => {
    const c = new SipConnections();
    const a = sa("192.0.2.1", 5061);
    const name = String.UTF8.encode("pbx.example.org");
    const t = c.toward(changetype<usize>(a), 0, true, changetype<usize>(name), name.byteLength);
    const p = c.toward(changetype<usize>(a), 0);
    expect(t).not.toBe(p);
    expect(c.at(t).secure).toBe(true);
    expect(c.at(t).nameLength).toBe(15);
    expect(c.at(p).secure).toBe(false);
    expect(c.toward(changetype<usize>(a), 1, true)).toBe(t, "the TLS one again");
    c.closed(t);
    expect(c.at(t).secure).toBe(false, "a freed slot forgets");
    expect(c.at(t).nameLength).toBe(0);
  });

  it("pings a flow it opened every keepalive period, and gives it up when nothing comes back", () => {
    const c = new SipConnections();
    const i = c.toward(changetype<usize>(sa("192.0.2.1", 5061)), 0, true);
    c.opened(i, 1000);
    expect(c.at(i).state).toBe(CONN_OPEN);
    expect(c.timeout()).toBe(1000 + KEEPALIVE_US);
    c.tick(1000 + KEEPALIVE_US - 1);
    expect(c.at(i).txFill).toBe(0, "not yet");
    c.tick(1000 + KEEPALIVE_US);
    expect(c.at(i).txFill).toBe(4);
    expect(c.pingsSent).toBe(1);
    c.sent(i, 4);
    feed(c, i, "\r\n"); // the pong
    expect(c.extract(i)).toBe(0);
    expect(c.pingSeen).toBe(false);
    c.tick(1000 + KEEPALIVE_US + PONG_WAIT_US);
    expect(c.at(i).state).toBe(CONN_OPEN, "the pong came");
    c.tick(1000 + 2 * KEEPALIVE_US);
    expect(c.pingsSent).toBe(2);
    expect(c.timeout()).toBe(1000 + 2 * KEEPALIVE_US + PONG_WAIT_US);
    c.tick(1000 + 2 * KEEPALIVE_US + PONG_WAIT_US);
    expect(c.at(i).state).toBe(CONN_STALE, "no pong: dead flow");
    expect(c.timeout()).toBe(0, "close it now");
    expect(c.toward(changetype<usize>(sa("192.0.2.1", 5061)), 2, true)).not.toBe(i, "a stale flow is not reused");
    // A connection a peer opened to us is not pinged by us.
    const j = c.accepted(9, changetype<usize>(sa("192.0.2.7", 40000)), 0);
    c.tick(10 * KEEPALIVE_US);
    expect(c.at(j).txFill).toBe(0);
  });
});
