// SIP over TCP (firmware/sip/connections.ts): connections by destination, stream framing by
// Content-Length across arbitrary segment boundaries, CRLF keepalives, and overflow refused.
import { SipConnections, CONN_WANTED, CONN_OPEN, CONN_FREE } from "../../firmware/sip/connections";
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
});
