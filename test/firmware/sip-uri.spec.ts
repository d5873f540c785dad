// Address literals and SOCKADDRs (firmware/lib/inet.ts) and the pieces of SIP header values
// (firmware/sip/uri.ts): name-addr URIs, parameters, SIP URIs, Via, CSeq.
import { parseIpv4, parseIpv6, sockaddrFromText, formatAddress, sockaddrPort, FAMILY_IPV6 } from "../../firmware/lib/inet";
import { addressUri, findParam, Span, SipUri, Via, CSeq, URI_OK, URI_BAD, URI_NOT_SIP } from "../../firmware/sip/uri";

const buf = new StaticArray<u8>(512);
const base = changetype<usize>(buf);
const out = new StaticArray<u8>(64);
const sa = new StaticArray<u8>(20);

function put(s: string): i32 {
  for (let i = 0; i < s.length; i++) buf[i] = <u8>s.charCodeAt(i);
  return s.length;
}

function text(at: i32, len: i32): string {
  let s = "";
  for (let i = 0; i < len; i++) s += String.fromCharCode(buf[at + i]);
  return s;
}

function roundTrip6(s: string): string {
  const n = put(s);
  if (!sockaddrFromText(changetype<usize>(sa), base, n, 5060)) return "refused";
  const m = formatAddress(changetype<usize>(sa), changetype<usize>(out), out.length);
  let r = "";
  for (let i = 0; i < m; i++) r += String.fromCharCode(out[i]);
  return r;
}

describe("address literals", () => {
  it("parses dotted quads and refuses near misses", () => {
    const ok = ["192.0.2.1", "0.0.0.0", "255.255.255.255"];
    for (let i = 0; i < ok.length; i++) expect(parseIpv4(base, put(ok[i]), changetype<usize>(out))).toBe(true, ok[i]);
    const bad = ["192.0.2", "192.0.2.1.5", "256.1.1.1", "01.2.3.4", "1..2.3", "a.b.c.d", "", "1.2.3.4 "];
    for (let i = 0; i < bad.length; i++) expect(parseIpv4(base, put(bad[i]), changetype<usize>(out))).toBe(false, bad[i]);
  });

  it("parses IPv6 in all its forms and writes it back as RFC 5952 text", () => {
    expect(roundTrip6("2001:db8:0:0:0:0:0:1")).toBe("2001:db8::1");
    expect(roundTrip6("[2001:DB8::1]")).toBe("2001:db8::1");
    expect(roundTrip6("::1")).toBe("::1");
    expect(roundTrip6("::")).toBe("::");
    expect(roundTrip6("fe80::")).toBe("fe80::");
    expect(roundTrip6("2001:db8:1:0:0:1:0:0")).toBe("2001:db8:1::1:0:0", "the first of equal runs");
    expect(roundTrip6("2001:db8:0:1:1:1:1:1")).toBe("2001:db8:0:1:1:1:1:1", "a single zero group stays");
    expect(roundTrip6("::ffff:192.0.2.1")).toBe("::ffff:c000:201");
    expect(roundTrip6("192.0.2.7")).toBe("192.0.2.7");
    expect(sockaddrPort(changetype<usize>(sa))).toBe(5060);
    const bad = ["1::2::3", ":::", "1:2:3:4:5:6:7:8:9", "12345::", "1:2:3:4:5:6:7", "g::1", "1:", ":1", "[::1", "1:2:3:4:5:6:7::8:9"];
    for (let i = 0; i < bad.length; i++) expect(roundTrip6(bad[i])).toBe("refused", bad[i]);
  });

  it("never reads past the input (every truncation)", () => {
    const s = "2001:db8:85a3::8a2e:370:7334";
    for (let n = 0; n <= s.length; n++) { put(s); parseIpv6(base, n, changetype<usize>(out)); }
    const t = "[::ffff:192.0.2.1]";
    for (let n = 0; n <= t.length; n++) { put(t); sockaddrFromText(changetype<usize>(sa), base, n, 1); }
    expect(load<u8>(changetype<usize>(sa))).toBe(FAMILY_IPV6);
  });
});

describe("SIP header pieces", () => {
  it("finds the URI of a name-addr or an addr-spec, and header parameters", () => {
    const uri = new Span();
    const v = new Span();
    let n = put("\"Door, front\" <sip:door@192.0.2.2;transport=udp>;tag=abc;expires=60");
    let pe = addressUri(base, 0, n, uri);
    expect(text(uri.at, uri.len)).toBe("sip:door@192.0.2.2;transport=udp");
    expect(findParam(base, pe, n, "tag", v)).toBe(true);
    expect(text(v.at, v.len)).toBe("abc");
    expect(findParam(base, pe, n, "transport", v)).toBe(false, "URI parameters are not header parameters");
    expect(findParam(base, pe, n, "EXPIRES", v)).toBe(true);
    expect(text(v.at, v.len)).toBe("60");
    n = put("sip:hall@192.0.2.1;tag=77");
    pe = addressUri(base, 0, n, uri);
    expect(text(uri.at, uri.len)).toBe("sip:hall@192.0.2.1", "an addr-spec's parameters belong to the header (20.10)");
    expect(findParam(base, pe, n, "tag", v)).toBe(true);
    expect(text(v.at, v.len)).toBe("77");
    n = put("Bob <sip:bob@h");
    expect(addressUri(base, 0, n, uri)).toBe(-1);
    n = put("\"unterminated <sip:a@b>");
    expect(addressUri(base, 0, n, uri)).toBe(-1);
  });

  it("parses SIP URIs: user, host, port, transport, lr, maddr", () => {
    const u = new SipUri();
    let n = put("sip:alice:secret@[2001:db8::5]:5070;transport=TCP;lr;maddr=192.0.2.8?subject=x");
    expect(u.parse(base, 0, n)).toBe(URI_OK);
    expect(text(u.user.at, u.user.len)).toBe("alice");
    expect(text(u.host.at, u.host.len)).toBe("[2001:db8::5]");
    expect(u.port).toBe(5070);
    expect(u.isTcp(base)).toBe(true);
    expect(u.looseRoute).toBe(true);
    expect(u.destination(base, changetype<usize>(sa))).toBe(true);
    expect(sockaddrPort(changetype<usize>(sa))).toBe(5070, "maddr's address, the URI's port");
    n = put("sips:192.0.2.3");
    expect(u.parse(base, 0, n)).toBe(URI_OK);
    expect(u.secure).toBe(true);
    expect(u.user.present).toBe(false);
    u.destination(base, changetype<usize>(sa));
    expect(sockaddrPort(changetype<usize>(sa))).toBe(5061);
    n = put("sip:door@intercom.example");
    expect(u.parse(base, 0, n)).toBe(URI_OK);
    expect(u.destination(base, changetype<usize>(sa))).toBe(false, "no resolver: a host name has no address");
    expect(u.parse(base, 0, put("tel:+4930123"))).toBe(URI_NOT_SIP);
    const bad = ["sip:", "sip:@h", "sip:a@", "sip:h:0", "sip:h:70000", "sip:h:12a", "sip:[::1", "sip:a b@h"];
    for (let i = 0; i < bad.length; i++) expect(u.parse(base, 0, put(bad[i]))).toBe(URI_BAD, bad[i]);
  });

  it("parses Via and CSeq", () => {
    const v = new Via();
    let n = put("SIP / 2.0 / UDP 192.0.2.1:5062 ;branch=z9hG4bK74bf9;rport;received=192.0.2.99, SIP/2.0/TCP x");
    expect(v.parse(base, 0, n)).toBe(URI_OK);
    expect(text(v.transport.at, v.transport.len)).toBe("UDP");
    expect(text(v.sentBy.at, v.sentBy.len)).toBe("192.0.2.1:5062");
    expect(v.port).toBe(5062);
    expect(text(v.branch.at, v.branch.len)).toBe("z9hG4bK74bf9");
    expect(v.hasMagicCookie(base)).toBe(true);
    expect(v.rport.len).toBe(0, "a bare rport");
    expect(text(v.received.at, v.received.len)).toBe("192.0.2.99");
    const badVia = ["SIP/2.0 UDP h", "SIP/3.0/UDP h", "SIP/2.0/UDP", "SIP/2.0/UDP h:0", "SIP/2.0/UDP [::1"];
    for (let i = 0; i < badVia.length; i++) expect(v.parse(base, 0, put(badVia[i]))).toBe(URI_BAD, badVia[i]);
    const c = new CSeq();
    n = put("4711 INVITE");
    expect(c.parse(base, 0, n)).toBe(URI_OK);
    expect(c.number).toBe(4711);
    expect(text(c.method.at, c.method.len)).toBe("INVITE");
    const badCSeq = ["INVITE", "12", "99999999999 INVITE", "1x INVITE", "-1 INVITE"];
    for (let i = 0; i < badCSeq.length; i++) expect(c.parse(base, 0, put(badCSeq[i]))).toBe(URI_BAD, badCSeq[i]);
  });
});
