// ICE candidates and their SDP (firmware/net/ice-candidate.ts, ice-sdp.ts, the hook in sip/sdp.ts).
// Where the numbers and bodies come from:
//   - priorities: RFC 8445 5.1.2.1 with the recommended type preferences; 2130706431 and
//     1694498815 are the host and srflx priorities of RFC 8839's (and RFC 5245's) examples,
//     2122260223 / 1686052607 Chrome's (local preference 32542), and the baresip values below;
//     pair priorities and their order were computed with Python's integers from 6.1.2.3's formula.
//   - BARESIP_NAT and BARESIP_V6: captured from baresip 1.0.0 (Debian, medianat=ice) for this
//     spec: the first behind a kernel NAT of test/peers/netns.ts with coturn as its STUN server
//     (srflx 203.0.113.11), the second in a namespace with an IPv4 and an IPv6 address.
//   - CHROME and PION are written from those stacks' formats (libwebrtc's generation/network-id
//     extensions, TCP and mDNS candidates; pion's lowercase udp, trickle placeholder c=/port 9).
//   - RFC_EXAMPLE is RFC 5245 17's offer (kept by RFC 8839) with its placeholders filled in.
import {
  IceCandidate, CAND_HOST, CAND_SRFLX, CAND_PRFLX, CAND_RELAY, MAX_FOUNDATION,
  typePreference, candidatePriority, pairPriority, setFoundation,
} from "../../firmware/net/ice-candidate";
import {
  IceDescription, MAX_CANDIDATES, iceAttribute, ICE_ATTR_OK, ICE_ATTR_NOT_ICE, ICE_ATTR_ERR_UFRAG, ICE_ATTR_ERR_PWD,
  writeIceCredentials, writeCandidate, defaultMatchesCandidate,
} from "../../firmware/net/ice-sdp";
import { SdpSession, SDP_OK, SDP_ERR_ICE } from "../../firmware/sip/sdp";
import { SdpWriter } from "../../firmware/sip/sdp-writer";
import { sockaddrFromText, sockaddrPort, formatAddress, SOCKADDR_BYTES } from "../../firmware/lib/inet";

const buf = new StaticArray<u8>(8192);
const base = changetype<usize>(buf);
const out = new StaticArray<u8>(4096);
const outp = changetype<usize>(out);
const sdp = new SdpSession();
const w = new SdpWriter();

function put(s: string): i32 { for (let i = 0; i < s.length; i++) buf[i] = <u8>s.charCodeAt(i); return s.length; }
function parse(s: string): i32 { return sdp.parse(base, put(s)); }
function str(p: usize, n: i32): string { return String.UTF8.decodeUnsafe(p, <usize>n); }
function addr(sa: usize): string { const t = new StaticArray<u8>(64); return str(changetype<usize>(t), formatAddress(sa, changetype<usize>(t), 64)) + ":" + sockaddrPort(sa).toString(); }
function sockaddr(text: string, port: i32): usize {
  const sa = new StaticArray<u8>(SOCKADDR_BYTES);
  const t = String.UTF8.encode(text);
  sockaddrFromText(changetype<usize>(sa), changetype<usize>(t), t.byteLength, port);
  return changetype<usize>(sa);
}
function ice(): IceDescription { return sdp.ice; }
function cand(i: i32): IceCandidate { return sdp.ice.candidates[i]; }
function foundation(c: IceCandidate): string { return str(changetype<usize>(c.foundation), c.foundationLength); }
function ufrag(): string { return str(changetype<usize>(sdp.ice.ufrag), sdp.ice.ufragLength); }
function pwd(): string { return str(changetype<usize>(sdp.ice.pwd), sdp.ice.pwdLength); }

const HEAD = "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n";
const CREDS = "a=ice-ufrag:8hhY\r\na=ice-pwd:asd88fgpdd777uzjYhagZg\r\n";
const AUDIO = "m=audio 5000 RTP/AVP 0\r\n";
const GOOD = "a=candidate:1 1 UDP 2130706431 192.0.2.1 5000 typ host";
/** A body with one audio m-line and the given lines in it. */
function withLines(lines: string): i32 { return parse(HEAD + CREDS + AUDIO + lines); }

const BARESIP_NAT = "v=0\r\no=- 3908795698 1733109307 IN IP4 192.0.2.2\r\ns=-\r\nc=IN IP4 192.0.2.2\r\nt=0 0\r\n" +
  "a=tool:baresip 1.0.0\r\na=ice-ufrag:djDMcs8\r\na=ice-pwd:0L9gZmJ8w0vA8RGHDcxyV9ou6jPf9JO\r\n" +
  "m=audio 32184 RTP/AVP 0 8 9 101\r\nc=IN IP4 203.0.113.11\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n" +
  "a=rtpmap:9 G722/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=rtcp:32185 IN IP4 203.0.113.11\r\n" +
  "a=sendrecv\r\na=label:1\r\na=rtcp-rsize\r\na=ssrc:3797071292 cname:sip:door@192.0.2.2:5071\r\na=minptime:20\r\na=ptime:20\r\n" +
  "a=candidate:c0000202 1 UDP 2113929471 192.0.2.2 32184 typ host\r\n" +
  "a=candidate:c0000202 2 UDP 2113929470 192.0.2.2 32185 typ host\r\n" +
  "a=candidate:cb00710a 1 UDP 1677721855 203.0.113.11 32184 typ srflx raddr 192.0.2.2 rport 32184\r\n" +
  "a=candidate:cb00710a 2 UDP 1677721854 203.0.113.11 32185 typ srflx raddr 192.0.2.2 rport 32185\r\n";
const BARESIP_V6 = "v=0\r\no=- 2147523763 479348593 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\n" +
  "a=tool:baresip 1.0.0\r\na=ice-ufrag:VpywfNO\r\na=ice-pwd:FuUU9pzPEUo0hRzPqtUtLOcAiqWBONr\r\n" +
  "m=audio 1944 RTP/AVP 0 8 9 101\r\nc=IN IP4 10.0.0.2\r\na=rtpmap:0 PCMU/8000\r\na=rtcp:1945 IN IP4 10.0.0.2\r\na=ptime:20\r\n" +
  "a=candidate:0a000002 1 UDP 2113929471 10.0.0.2 1944 typ host\r\na=candidate:0a000002 2 UDP 2113929470 10.0.0.2 1945 typ host\r\n" +
  "a=candidate:ba0d0120 1 UDP 2113929471 2001:db8::2 1944 typ host\r\na=candidate:ba0d0120 2 UDP 2113929470 2001:db8::2 1945 typ host\r\n";
const CHROME = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\n" +
  "a=msid-semantic: WMS\r\nm=audio 54321 UDP/TLS/RTP/SAVPF 111 0 8\r\nc=IN IP4 203.0.113.5\r\na=rtcp:9 IN IP4 0.0.0.0\r\n" +
  "a=candidate:3098175849 1 udp 2122260223 192.168.1.2 54321 typ host generation 0 network-id 1 network-cost 10\r\n" +
  "a=candidate:4025534265 1 tcp 1518280447 192.168.1.2 9 typ host tcptype active generation 0 network-id 1 network-cost 10\r\n" +
  "a=candidate:2157334355 1 udp 2122262783 2001:db8:1::5 54322 typ host generation 0 network-id 2 network-cost 10\r\n" +
  "a=candidate:1510613869 1 udp 2122194687 9b36eaac-bb2e-49bb-bb78-21c41c499900.local 54323 typ host generation 0 network-id 3\r\n" +
  "a=candidate:842163049 1 udp 1686052607 203.0.113.5 54321 typ srflx raddr 192.168.1.2 rport 54321 generation 0 network-id 1 network-cost 10\r\n" +
  "a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\na=ice-options:trickle\r\n" +
  "a=fingerprint:sha-256 49:66:12:17:0D:1C:91:AE:57:4C:C6:36:DD:D5:97:D2:7D:62:C9:9A:7F:B9:A3:F4:70:03:E7:43:91:73:23:5E\r\n" +
  "a=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n";
const PION = "v=0\r\no=- 6834929424428376355 1700000000 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n" +
  "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\nc=IN IP4 0.0.0.0\r\na=setup:actpass\r\na=mid:0\r\n" +
  "a=ice-ufrag:hnDbxqNQCXEaRDkC\r\na=ice-pwd:bpQxNgsYTuxcvnnTtIUPTkhKIwJqOQKA\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n" +
  "a=sendrecv\r\na=candidate:1966762133 1 udp 2130706431 192.168.1.5 52813 typ host\r\n" +
  "a=candidate:2939213291 1 udp 1694498815 203.0.113.10 52813 typ srflx raddr 0.0.0.0 rport 52813\r\n" +
  "a=candidate:3456813327 1 udp 16777215 198.51.100.7 61000 typ relay raddr 203.0.113.10 rport 52813\r\na=end-of-candidates\r\n";
const RFC_EXAMPLE = "v=0\r\no=jdoe 2890844526 2890842807 IN IP4 10.0.1.1\r\ns=\r\nc=IN IP4 192.0.2.3\r\nt=0 0\r\n" +
  "a=ice-options:ice2\r\na=ice-pacing:50\r\na=ice-pwd:asd88fgpdd777uzjYhagZg\r\na=ice-ufrag:8hhY\r\n" +
  "m=audio 45664 RTP/AVP 0\r\nb=RS:0\r\nb=RR:0\r\na=rtpmap:0 PCMU/8000\r\n" +
  "a=candidate:1 1 UDP 2130706431 10.0.1.1 8998 typ host\r\n" +
  "a=candidate:2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 10.0.1.1 rport 8998\r\n";

describe("ICE priorities (RFC 8445 5.1.2, 6.1.2.3)", () => {
  it("gives the recommended type preferences and the worked priorities", () => {
    expect(typePreference(CAND_HOST)).toBe(126);
    expect(typePreference(CAND_PRFLX)).toBe(110);
    expect(typePreference(CAND_SRFLX)).toBe(100);
    expect(typePreference(CAND_RELAY)).toBe(0);
    expect(candidatePriority(CAND_HOST, 65535, 1)).toBe(2130706431, "RFC 8839's host example");
    expect(candidatePriority(CAND_SRFLX, 65535, 1)).toBe(1694498815, "RFC 8839's srflx example");
    expect(candidatePriority(CAND_PRFLX, 65535, 1)).toBe(1862270975);
    expect(candidatePriority(CAND_RELAY, 65535, 1)).toBe(16777215);
    expect(candidatePriority(CAND_HOST, 65535, 2)).toBe(2130706430, "RTCP is one less");
    expect(candidatePriority(CAND_HOST, 32542, 1)).toBe(2122260223, "Chrome's host");
    expect(candidatePriority(CAND_SRFLX, 32542, 1)).toBe(1686052607, "Chrome's srflx");
    expect(candidatePriority(CAND_HOST, 0, 1)).toBe(2113929471, "baresip's host");
    expect(candidatePriority(CAND_SRFLX, 0, 2)).toBe(1677721854, "baresip's RTCP srflx");
    expect(candidatePriority(CAND_RELAY, 0, 256)).toBe(0, "the one corner of the formula that is no priority (1..2^31-1)");
  });

  it("refuses arguments outside the formula's fields with 0", () => {
    expect(candidatePriority(CAND_HOST, 65536, 1)).toBe(0);
    expect(candidatePriority(CAND_HOST, 1, 0)).toBe(0);
    expect(candidatePriority(CAND_HOST, 1, 257)).toBe(0);
    expect(candidatePriority(4, 1, 1)).toBe(0);
    expect(candidatePriority(-1, 1, 1)).toBe(0);
  });

  it("computes pair priorities, the same number and order on both agents", () => {
    expect(pairPriority(2130706431, 1694498815)).toBe(7277816997797167103);
    expect(pairPriority(1694498815, 2130706431)).toBe(7277816997797167102, "the roles swapped: only the tie-breaker moves");
    expect(pairPriority(2130706431, 2130706431)).toBe(9151314442783293438);
    expect(pairPriority(0x7fffffff, 0x7fffffff)).toBe(9223372036854775806, "the largest fits a u64");
    // L (controlling) has host + srflx, R (controlled) host + relay. L computes pairPriority(local,
    // remote), R pairPriority(remote, local): each side's list must come out the same, in the same order.
    const l: u32[] = [2130706431, 1694498815], r: u32[] = [2113929471, 16777215];
    const expected: u64[] = [9079257948256993279, 7277816997763613182, 72057594004373503, 72057593131958271];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) {
      const atL = pairPriority(l[i], r[j]), atR = pairPriority(l[i], r[j]);
      expect(atL).toBe(atR);
      expect(expected.indexOf(atL)).toBe(j * 2 + i, "the pair's place in the order");
    }
  });
});

describe("ICE foundations (RFC 8445 5.1.1.3)", () => {
  it("are equal exactly when type, base IP and server IP are", () => {
    const a = new IceCandidate(), b = new IceCandidate();
    const stun1 = sockaddr("203.0.113.1", 3478), stun2 = sockaddr("203.0.113.2", 3478);
    setFoundation(a, CAND_SRFLX, sockaddr("192.0.2.2", 4000), stun1);
    setFoundation(b, CAND_SRFLX, sockaddr("192.0.2.2", 4002), sockaddr("203.0.113.1", 19302));
    expect(a.sameFoundation(b)).toBe(true, "ports never count");
    setFoundation(b, CAND_SRFLX, sockaddr("192.0.2.2", 4000), stun2);
    expect(a.sameFoundation(b)).toBe(false, "another STUN server");
    setFoundation(b, CAND_RELAY, sockaddr("192.0.2.2", 4000), stun1);
    expect(a.sameFoundation(b)).toBe(false, "another type");
    setFoundation(b, CAND_SRFLX, sockaddr("192.0.2.3", 4000), stun1);
    expect(a.sameFoundation(b)).toBe(false, "another base");
    setFoundation(a, CAND_HOST, sockaddr("2001:db8::2", 1), 0);
    setFoundation(b, CAND_HOST, sockaddr("2001:DB8:0:0::2", 2), stun1);
    expect(a.sameFoundation(b)).toBe(true, "same IPv6 bytes; a host candidate has no server");
    setFoundation(b, CAND_HOST, sockaddr("::ffff:192.0.2.2", 1), 0);
    setFoundation(a, CAND_HOST, sockaddr("192.0.2.2", 1), 0);
    expect(a.sameFoundation(b)).toBe(false, "IPv4 and its IPv6-mapped form are different bases");
    expect(foundation(a).length).toBeLessThanOrEqual(MAX_FOUNDATION);
    expect(foundation(a).charAt(0)).toBe("h");
  });

  it("do not collide across 64 bases x 4 types x 2 servers", () => {
    const all = new Array<IceCandidate>();
    for (let i = 0; i < 64; i++) for (let t = 0; t < 4; t++) for (let s = 0; s < (t == CAND_HOST ? 1 : 2); s++) {
      const c = new IceCandidate();
      setFoundation(c, t, sockaddr(i < 32 ? "10.0.0." + i.toString() : "2001:db8::" + i.toString(), 5000), sockaddr("203.0.113." + (s + 1).toString(), 3478));
      all.push(c);
    }
    let same = 0;
    for (let i = 0; i < all.length; i++) for (let j = i + 1; j < all.length; j++) if (all[i].sameFoundation(all[j])) same++;
    expect(all.length).toBe(448);
    expect(same).toBe(0);
  });
});

describe("ICE in SDP: real bodies", () => {
  it("reads baresip behind a NAT: session credentials, host and srflx for RTP and RTCP", () => {
    expect(parse(BARESIP_NAT)).toBe(SDP_OK);
    expect(ice().present).toBe(true);
    expect(ufrag()).toBe("djDMcs8");
    expect(pwd()).toBe("0L9gZmJ8w0vA8RGHDcxyV9ou6jPf9JO");
    expect(ice().lite).toBe(false);
    expect(ice().trickle).toBe(false);
    expect(ice().count).toBe(4);
    expect(ice().dropped).toBe(0);
    expect(foundation(cand(0))).toBe("c0000202");
    expect(cand(0).type).toBe(CAND_HOST);
    expect(cand(0).component).toBe(1);
    expect(cand(0).priority).toBe(2113929471);
    expect(addr(cand(0).addressPtr)).toBe("192.0.2.2:32184");
    expect(cand(0).hasRelated).toBe(false);
    expect(cand(1).component).toBe(2);
    expect(cand(2).type).toBe(CAND_SRFLX);
    expect(addr(cand(2).addressPtr)).toBe("203.0.113.11:32184");
    expect(cand(2).hasRelated).toBe(true);
    expect(addr(cand(2).relatedPtr)).toBe("192.0.2.2:32184");
    expect(addr(cand(3).relatedPtr)).toBe("192.0.2.2:32185");
    expect(defaultMatchesCandidate(ice(), sdp.audioAddressPtr)).toBe(true, "c= and m= name the srflx candidate");
    expect(sdp.formatCount).toBe(4, "the audio stream is parsed as before");
  });

  it("reads baresip's IPv6 host candidates", () => {
    expect(parse(BARESIP_V6)).toBe(SDP_OK);
    expect(ice().count).toBe(4);
    expect(addr(cand(2).addressPtr)).toBe("2001:db8::2:1944");
    expect(foundation(cand(3))).toBe("ba0d0120");
    expect(defaultMatchesCandidate(ice(), sdp.audioAddressPtr)).toBe(true);
  });

  it("reads Chrome: media-level credentials, trickle, extensions ignored, TCP and mDNS dropped", () => {
    expect(parse(CHROME)).toBe(SDP_OK);
    expect(ufrag()).toBe("EsAw");
    expect(pwd()).toBe("P2uYro0UCOQ4zxjKXaWCBui1");
    expect(ice().trickle).toBe(true);
    expect(ice().count).toBe(3);
    expect(ice().dropped).toBe(2);
    expect(ice().malformed).toBe(0, "TCP and mDNS are well-formed, just unusable");
    expect(cand(0).priority).toBe(2122260223);
    expect(addr(cand(1).addressPtr)).toBe("2001:db8:1::5:54322");
    expect(cand(2).type).toBe(CAND_SRFLX);
    expect(addr(cand(2).relatedPtr)).toBe("192.168.1.2:54321");
    expect(defaultMatchesCandidate(ice(), sdp.audioAddressPtr)).toBe(true);
  });

  it("reads pion: lowercase udp, raddr 0.0.0.0, relay, and the trickle placeholder default", () => {
    expect(parse(PION)).toBe(SDP_OK);
    expect(ufrag()).toBe("hnDbxqNQCXEaRDkC");
    expect(ice().count).toBe(3);
    expect(addr(cand(1).relatedPtr)).toBe("0.0.0.0:52813");
    expect(cand(2).type).toBe(CAND_RELAY);
    expect(cand(2).priority).toBe(16777215);
    expect(addr(sdp.audioAddressPtr)).toBe("0.0.0.0:9");
    expect(defaultMatchesCandidate(ice(), sdp.audioAddressPtr)).toBe(true, "0.0.0.0 port 9 is no mismatch");
  });

  it("reads RFC 8839's example: ice2 is not trickle, ice-pacing is passed over", () => {
    expect(parse(RFC_EXAMPLE)).toBe(SDP_OK);
    expect(ice().trickle).toBe(false);
    expect(ufrag()).toBe("8hhY");
    expect(ice().count).toBe(2);
    expect(cand(1).priority).toBe(candidatePriority(CAND_SRFLX, 65535, 1));
    expect(addr(cand(1).relatedPtr)).toBe("10.0.1.1:8998");
    expect(defaultMatchesCandidate(ice(), sdp.audioAddressPtr)).toBe(true);
    expect(iceAttribute(changetype<usize>(String.UTF8.encode("ice-pacing")), 0, 10, 10, 10, true, ice())).toBe(ICE_ATTR_NOT_ICE);
  });
});

describe("ICE in SDP: levels and flags", () => {
  it("lets media-level credentials and options override the session's, one by one", () => {
    const session = "a=ice-lite\r\na=ice-ufrag:SeSs\r\na=ice-pwd:sessionPasswordSession1\r\na=ice-options:trickle\r\n";
    expect(parse(HEAD + session + AUDIO + "a=ice-ufrag:MeDi\r\na=ice-options:ice2 renomination\r\n")).toBe(SDP_OK);
    expect(ice().lite).toBe(true);
    expect(ufrag()).toBe("MeDi");
    expect(pwd()).toBe("sessionPasswordSession1", "pwd not given at media level");
    expect(ice().trickle).toBe(false);
    // A better audio m-line replaces a DTLS one: its ICE lines go, the session's come back.
    const dtls = "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:Dtls\r\na=ice-pwd:dtlsPasswordDtlsPassword\r\na=ice-mismatch\r\n" + GOOD + "\r\n";
    expect(parse(HEAD + session + dtls + AUDIO)).toBe(SDP_OK);
    expect(sdp.audioIndex).toBe(1);
    expect(ufrag()).toBe("SeSs");
    expect(pwd()).toBe("sessionPasswordSession1");
    expect(ice().trickle).toBe(true);
    expect(ice().mismatch).toBe(false);
    expect(ice().count).toBe(0);
  });

  it("keeps nothing from the last body, and reads only the kept audio section", () => {
    expect(parse(HEAD + AUDIO)).toBe(SDP_OK);
    expect(ice().present).toBe(false);
    expect(ice().lite).toBe(false);
    expect(ice().count).toBe(0);
    const video = "m=video 6000 RTP/AVP 96\r\na=ice-ufrag:XXXXXX\r\na=ice-pwd:" + "v".repeat(2) + "\r\n" + GOOD + "\r\n";
    expect(parse(HEAD + CREDS + GOOD + "\r\n" + AUDIO + video)).toBe(SDP_OK, "a bad pwd in the video section is not ours");
    expect(ice().count).toBe(0, "no candidate above the m-lines nor in the video");
    expect(ufrag()).toBe("8hhY");
  });

  it("reads ice-mismatch at media level only, and ice-lite only as a flag", () => {
    expect(withLines("a=ice-mismatch\r\n")).toBe(SDP_OK);
    expect(ice().mismatch).toBe(true);
    expect(parse(HEAD + "a=ice-mismatch\r\n" + CREDS + AUDIO)).toBe(SDP_OK);
    expect(ice().mismatch).toBe(false);
    expect(parse(HEAD + "a=ice-lite\r\n" + CREDS + AUDIO)).toBe(SDP_OK);
    expect(ice().lite).toBe(true);
  });

  it("refuses bad credentials with SDP_ERR_ICE, leaving nothing behind", () => {
    expect(parse(HEAD + CREDS + AUDIO + GOOD + "\r\na=ice-ufrag:abc\r\n")).toBe(SDP_ERR_ICE, "3 chars");
    expect(ice().present).toBe(false, "the session's credentials went with the failed body");
    expect(ice().count).toBe(0);
    expect(sdp.mediaCount).toBe(0);
    expect(parse(HEAD + "a=ice-ufrag:abc\r\n" + AUDIO)).toBe(SDP_ERR_ICE, "at session level too");
    expect(withLines("a=ice-ufrag:ab-c\r\n")).toBe(SDP_ERR_ICE, "not ice-char");
    expect(withLines("a=ice-ufrag:\r\n")).toBe(SDP_ERR_ICE);
    expect(withLines("a=ice-ufrag\r\n")).toBe(SDP_ERR_ICE);
    expect(withLines("a=ice-ufrag:" + "u".repeat(257) + "\r\n")).toBe(SDP_ERR_ICE);
    expect(withLines("a=ice-ufrag:" + "u".repeat(256) + "\r\n")).toBe(SDP_OK);
    expect(ice().ufragLength).toBe(256);
    expect(withLines("a=ice-ufrag:a+/Z\r\n")).toBe(SDP_OK);
    expect(withLines("a=ice-pwd:" + "p".repeat(21) + "\r\n")).toBe(SDP_ERR_ICE);
    expect(withLines("a=ice-pwd:" + "p".repeat(22) + "\r\n")).toBe(SDP_OK);
    expect(withLines("a=ice-pwd:" + "p".repeat(257) + "\r\n")).toBe(SDP_ERR_ICE);
    expect(withLines("a=ice-pwd:" + "p".repeat(21) + "=\r\n")).toBe(SDP_ERR_ICE);
    const d = new IceDescription();
    const t = String.UTF8.encode("ice-pwd:short");
    expect(iceAttribute(changetype<usize>(t), 0, 7, 8, 13, false, d)).toBe(ICE_ATTR_ERR_PWD);
    expect(iceAttribute(changetype<usize>(t), 0, 3, 4, 13, false, d)).toBe(ICE_ATTR_NOT_ICE, "\"ice\" is no attribute of ours");
    const lite = String.UTF8.encode("ice-lite");
    expect(iceAttribute(changetype<usize>(lite), 0, 8, 8, 8, true, d)).toBe(ICE_ATTR_OK);
    expect(d.lite).toBe(true);
    const u = String.UTF8.encode("ice-ufrag:a b");
    expect(iceAttribute(changetype<usize>(u), 0, 9, 10, 13, true, d)).toBe(ICE_ATTR_ERR_UFRAG);
  });
});

/** Parses a body whose audio section holds just this candidate line; whether it was kept. */
function one(line: string): bool {
  expect(withLines(line + "\r\n")).toBe(SDP_OK, line);
  expect(ice().count + ice().dropped).toBe(1, line);
  return ice().count == 1;
}
function malformed(line: string): void { expect(one(line)).toBe(false, line); expect(ice().malformed).toBe(1, line); }
function unusable(line: string): void { expect(one(line)).toBe(false, line); expect(ice().malformed).toBe(0, line); }

describe("ICE in SDP: candidate lines", () => {
  it("drops and counts every malformed field in turn, never failing the body", () => {
    expect(one(GOOD)).toBe(true);
    expect(one("a=candidate:" + "f".repeat(32) + " 1 UDP 2130706431 192.0.2.1 5000 typ host")).toBe(true, "32-char foundation");
    expect(one("a=candidate:1 001 UDP 1 192.0.2.1 5000 typ host raddr 10.0.0.1")).toBe(true, "1*3DIGIT, priority 1, raddr alone");
    malformed("a=candidate:" + "f".repeat(33) + " 1 UDP 2130706431 192.0.2.1 5000 typ host");
    malformed("a=candidate:f-1 1 UDP 2130706431 192.0.2.1 5000 typ host");
    malformed("a=candidate:f=1 1 UDP 2130706431 192.0.2.1 5000 typ host");
    malformed("a=candidate:");
    malformed("a=candidate");
    malformed("a=candidate:1 0 UDP 2130706431 192.0.2.1 5000 typ host");
    malformed("a=candidate:1 257 UDP 2130706431 192.0.2.1 5000 typ host");
    malformed("a=candidate:1 0001 UDP 2130706431 192.0.2.1 5000 typ host");
    malformed("a=candidate:1 x UDP 2130706431 192.0.2.1 5000 typ host");
    malformed("a=candidate:1 1 2130706431 192.0.2.1 5000 typ host");
    malformed("a=candidate:1 1 UDP 0 192.0.2.1 5000 typ host");
    malformed("a=candidate:1 1 UDP 2147483648 192.0.2.1 5000 typ host");
    malformed("a=candidate:1 1 UDP 02130706431 192.0.2.1 5000 typ host");
    malformed("a=candidate:1 1 UDP -1 192.0.2.1 5000 typ host");
    malformed("a=candidate:1 1 UDP 2130706431 192.0.2 5000 typ host");
    malformed("a=candidate:1 1 UDP 2130706431 192.0.2.256 5000 typ host");
    malformed("a=candidate:1 1 UDP 2130706431 2001:db8::1::2 5000 typ host");
    malformed("a=candidate:1 1 UDP 2130706431 [2001:db8::1] 5000 typ host");
    malformed("a=candidate:1 1 UDP 2130706431 192.0.2.1 65536 typ host");
    malformed("a=candidate:1 1 UDP 2130706431 192.0.2.1 x typ host");
    malformed("a=candidate:1 1 UDP 2130706431 192.0.2.1 5000 host");
    malformed("a=candidate:1 1 UDP 2130706431 192.0.2.1 5000 tip host");
    malformed("a=candidate:1 1 UDP 2130706431 192.0.2.1 5000 typ");
    malformed("a=candidate:1 1 UDP 1694498815 203.0.113.1 5000 typ srflx raddr");
    malformed("a=candidate:1 1 UDP 1694498815 203.0.113.1 5000 typ srflx raddr 10.0.0 rport 1");
    malformed("a=candidate:1 1 UDP 1694498815 203.0.113.1 5000 typ srflx raddr 10.0.0.1 rport 70000");
    malformed("a=candidate:1 1 UDP 1694498815 203.0.113.1 5000 typ srflx raddr 10.0.0.1 rport x");
    for (let cut = 12; cut < GOOD.length; cut++) {
      expect(one(GOOD.substring(0, cut))).toBe(false, "cut at " + cut.toString());
    }
  });

  it("drops what is well-formed but unusable: TCP, FQDN, mDNS, unknown type, component 3, port 0, 0.0.0.0", () => {
    unusable("a=candidate:1 1 TCP 1518280447 192.0.2.1 9 typ host tcptype active");
    unusable("a=candidate:1 1 UDP 2130706431 pbx.example.com 5000 typ host");
    unusable("a=candidate:1 1 udp 2122194687 9b36eaac-bb2e-49bb-bb78-21c41c499900.local 54323 typ host");
    unusable("a=candidate:1 1 UDP 2130706431 192.0.2.1 5000 typ nat");
    unusable("a=candidate:1 3 UDP 2130706431 192.0.2.1 5000 typ host");
    unusable("a=candidate:1 1 UDP 2130706431 192.0.2.1 0 typ host");
    unusable("a=candidate:1 1 UDP 2130706431 0.0.0.0 5000 typ host");
    expect(one("a=candidate:1 1 UDP 1694498815 203.0.113.1 5000 typ srflx raddr host.local rport 0")).toBe(true, "an mDNS raddr hides the base; the candidate is fine");
    expect(cand(0).hasRelated).toBe(false);
    expect(one("a=candidate:1 1 UDP 2130706431 192.0.2.1 5000 TYP HOST foo")).toBe(true, "ABNF literals are caseless; a dangling extension name is passed over");
  });

  it("reads IPv6 candidates and related addresses", () => {
    expect(one("a=candidate:7 1 UDP 16777215 2001:DB8:0:0:1::7 3478 typ relay raddr 2001:db8::10 rport 40000")).toBe(true);
    expect(addr(cand(0).addressPtr)).toBe("2001:db8::1:0:0:7:3478");
    expect(addr(cand(0).relatedPtr)).toBe("2001:db8::10:40000");
    expect(load<u8>(cand(0).addressPtr)).toBe(6);
  });

  it("keeps MAX_CANDIDATES and counts the rest", () => {
    let lines = "";
    for (let i = 0; i < MAX_CANDIDATES + 2; i++) lines += "a=candidate:" + i.toString() + " 1 UDP 2130706431 192.0.2." + (i + 1).toString() + " 5000 typ host\r\n";
    expect(withLines(lines + "a=candidate:x 1 UDP 0 192.0.2.1 5000 typ host\r\n")).toBe(SDP_OK);
    expect(ice().count).toBe(MAX_CANDIDATES);
    expect(ice().dropped).toBe(3);
    expect(ice().overflowed).toBe(2);
    expect(ice().malformed).toBe(1, "a malformed line past the room is still called malformed");
    expect(addr(cand(MAX_CANDIDATES - 1).addressPtr)).toBe("192.0.2." + MAX_CANDIDATES.toString() + ":5000");
    // The default may be a dropped candidate: the benefit of the doubt.
    expect(defaultMatchesCandidate(ice(), sockaddr("192.0.2." + (MAX_CANDIDATES + 2).toString(), 5000))).toBe(true);
  });
});

describe("ICE in SDP: the default-destination check (RFC 8839 4.2.5)", () => {
  it("matches only an RTP candidate at the c= address and m= port", () => {
    expect(parse(BARESIP_NAT.replace("c=IN IP4 203.0.113.11\r\na=rtpmap", "c=IN IP4 198.51.100.99\r\na=rtpmap"))).toBe(SDP_OK);
    expect(defaultMatchesCandidate(ice(), sdp.audioAddressPtr)).toBe(false, "an ALG rewrote c=");
    expect(parse(BARESIP_NAT.replace("m=audio 32184", "m=audio 32186"))).toBe(SDP_OK);
    expect(defaultMatchesCandidate(ice(), sdp.audioAddressPtr)).toBe(false, "or the port");
    expect(defaultMatchesCandidate(ice(), sockaddr("203.0.113.11", 32185))).toBe(false, "the RTCP candidate is not the RTP default");
    expect(defaultMatchesCandidate(ice(), sockaddr("203.0.113.11", 32184))).toBe(true);
    expect(defaultMatchesCandidate(ice(), sockaddr("::", 9))).toBe(true);
    expect(defaultMatchesCandidate(ice(), sockaddr("0.0.0.0", 10))).toBe(false);
    expect(parse(BARESIP_NAT.replace("c=IN IP4 203.0.113.11\r\na=rtpmap", "c=IN IP4 pbx.example.com\r\na=rtpmap"))).toBe(SDP_OK);
    expect(defaultMatchesCandidate(ice(), sdp.audioAddressPtr)).toBe(false, "no literal default at all");
  });
});

describe("ICE in SDP: writing", () => {
  it("writes the RFC example's lines exactly", () => {
    const c = new IceCandidate();
    c.type = CAND_SRFLX; c.component = 1; c.priority = 1694498815;
    memory.copy(c.addressPtr, sockaddr("192.0.2.3", 45664), SOCKADDR_BYTES);
    memory.copy(c.relatedPtr, sockaddr("10.0.1.1", 8998), SOCKADDR_BYTES);
    c.hasRelated = true;
    store<u8>(changetype<usize>(c.foundation), 0x32); c.foundationLength = 1;
    w.begin(outp, 4096);
    const u = String.UTF8.encode("8hhY"), p = String.UTF8.encode("asd88fgpdd777uzjYhagZg");
    writeIceCredentials(w, changetype<usize>(u), 4, changetype<usize>(p), 22);
    writeCandidate(w, c);
    const n = w.finish();
    expect(str(outp, n)).toBe(CREDS + "a=candidate:2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 10.0.1.1 rport 8998\r\n");
  });

  it("round-trips every type, IPv4 and IPv6, with and without a related address", () => {
    const made = new Array<IceCandidate>();
    const bases = ["192.0.2.2", "2001:db8::2"], servers = ["203.0.113.1", "2001:db8:f::1"];
    for (let t = 0; t < 4; t++) for (let f = 0; f < 2; f++) {
      const c = new IceCandidate();
      c.type = t; c.component = 1 + f;
      c.priority = candidatePriority(t, 65535 - <u32>(t * 2 + f), c.component);
      memory.copy(c.addressPtr, sockaddr(t == CAND_HOST ? bases[f] : servers[f], 40000 + t * 10 + f), SOCKADDR_BYTES);
      c.hasRelated = t != CAND_HOST;
      if (c.hasRelated) memory.copy(c.relatedPtr, sockaddr(bases[f], 4000 + f), SOCKADDR_BYTES);
      setFoundation(c, t, sockaddr(bases[f], 4000), t == CAND_HOST ? 0 : sockaddr(servers[f], 3478));
      made.push(c);
    }
    w.begin(outp, 4096).session(7, 1, sockaddr("192.0.2.2", 0)).audio(40000, false).format(0).endLine();
    const u = String.UTF8.encode("r0uNdTrIp"), p = String.UTF8.encode("0123456789+/abcdefghijKLMN");
    writeIceCredentials(w, changetype<usize>(u), u.byteLength, changetype<usize>(p), p.byteLength);
    for (let i = 0; i < made.length; i++) writeCandidate(w, made[i]);
    const n = w.finish();
    expect(n).toBeGreaterThan(0);
    expect(sdp.parse(outp, n)).toBe(SDP_OK);
    expect(ufrag()).toBe("r0uNdTrIp");
    expect(pwd()).toBe("0123456789+/abcdefghijKLMN");
    expect(ice().count).toBe(made.length);
    expect(ice().dropped).toBe(0);
    for (let i = 0; i < made.length; i++) {
      const a = made[i], b = cand(i);
      expect(b.type).toBe(a.type);
      expect(b.component).toBe(a.component);
      expect(b.priority).toBe(a.priority);
      expect(memory.compare(b.addressPtr, a.addressPtr, SOCKADDR_BYTES)).toBe(0, addr(b.addressPtr));
      expect(b.hasRelated).toBe(a.hasRelated);
      if (a.hasRelated) expect(memory.compare(b.relatedPtr, a.relatedPtr, SOCKADDR_BYTES)).toBe(0);
      expect(b.sameFoundation(a)).toBe(true);
      const copy = new IceCandidate();
      copy.copyFrom(b);
      expect(copy.sameFoundation(a) && copy.priority == a.priority && memory.compare(copy.addressPtr, a.addressPtr, SOCKADDR_BYTES) == 0).toBe(true);
      copy.clear();
      expect(copy.foundationLength + <i32>copy.priority + <i32>load<u8>(copy.addressPtr)).toBe(0);
    }
  });

  it("refuses to write what could not be parsed back, and a body that does not fit", () => {
    const u = String.UTF8.encode("8hhY"), p = String.UTF8.encode("asd88fgpdd777uzjYhagZg");
    writeIceCredentials(w.begin(outp, 4096), changetype<usize>(u), 3, changetype<usize>(p), 22);
    expect(w.finish()).toBe(-1, "ufrag of 3");
    writeIceCredentials(w.begin(outp, 4096), changetype<usize>(u), 4, changetype<usize>(p), 21);
    expect(w.finish()).toBe(-1, "pwd of 21");
    const bad = String.UTF8.encode("8h-Y");
    writeIceCredentials(w.begin(outp, 4096), changetype<usize>(bad), 4, changetype<usize>(p), 22);
    expect(w.finish()).toBe(-1, "not ice-char");
    writeIceCredentials(w.begin(outp, 30), changetype<usize>(u), 4, changetype<usize>(p), 22);
    expect(w.finish()).toBe(-1, "no room");
    const c = new IceCandidate();
    const reset = (c: IceCandidate): void => {
      c.clear(); c.priority = 1; memory.copy(c.addressPtr, sockaddr("192.0.2.1", 1), SOCKADDR_BYTES);
      store<u8>(changetype<usize>(c.foundation), 0x61); c.foundationLength = 1;
    };
    reset(c); writeCandidate(w.begin(outp, 4096), c);
    expect(str(outp, w.finish())).toBe("a=candidate:a 1 UDP 1 192.0.2.1 1 typ host\r\n");
    reset(c); c.foundationLength = 0; writeCandidate(w.begin(outp, 4096), c); expect(w.finish()).toBe(-1, "no foundation");
    reset(c); store<u8>(changetype<usize>(c.foundation), 0x2d); writeCandidate(w.begin(outp, 4096), c); expect(w.finish()).toBe(-1, "'-' in it");
    reset(c); c.priority = 0; writeCandidate(w.begin(outp, 4096), c); expect(w.finish()).toBe(-1, "priority 0");
    reset(c); c.priority = 0x80000000; writeCandidate(w.begin(outp, 4096), c); expect(w.finish()).toBe(-1, "priority 2^31");
    reset(c); c.component = 0; writeCandidate(w.begin(outp, 4096), c); expect(w.finish()).toBe(-1, "component 0");
    reset(c); c.type = 4; writeCandidate(w.begin(outp, 4096), c); expect(w.finish()).toBe(-1, "type 4");
    reset(c); store<u8>(c.addressPtr, 0); writeCandidate(w.begin(outp, 4096), c); expect(w.finish()).toBe(-1, "no address");
    reset(c); c.hasRelated = true; writeCandidate(w.begin(outp, 4096), c); expect(w.finish()).toBe(-1, "related without an address");
    reset(c); writeCandidate(w.begin(outp, 40), c); expect(w.finish()).toBe(-1, "no room");
  });
});

describe("ICE in SDP: robustness", () => {
  it("never traps on any truncation or single-byte corruption of the real bodies", () => {
    const samples: string[] = [BARESIP_NAT, BARESIP_V6, CHROME, PION, RFC_EXAMPLE];
    const bytes: u8[] = [0, 0x20, 0x3a, 0x0a, 0x2d, 0x2e, 0x39, 0x2f, 0x78, 0xff];
    let ok = 0, kept = 0, bad = 0, outOfRange = 0;
    for (let s = 0; s < samples.length; s++) {
      const len = put(samples[s]);
      for (let cut = 0; cut <= len; cut++) {
        const r = sdp.parse(base, cut);
        if (r > SDP_OK || r < SDP_ERR_ICE) outOfRange++;
        if (r == SDP_OK) { ok++; const k = checkCandidates(); if (k < 0) bad++; else kept += k; }
      }
      for (let i = 0; i < len; i++) {
        const keep = buf[i];
        for (let b = 0; b < bytes.length; b++) {
          buf[i] = bytes[b];
          const r = sdp.parse(base, len);
          if (r > SDP_OK || r < SDP_ERR_ICE) outOfRange++;
          if (r == SDP_OK) { ok++; const k = checkCandidates(); if (k < 0) bad++; else kept += k; }
        }
        buf[i] = keep;
      }
    }
    expect(outOfRange).toBe(0);
    expect(ok).toBeGreaterThan(20000);
    expect(bad).toBe(0, "no unusable candidate was kept");
    expect(kept).toBeGreaterThan(50000);
  });

  it("allocates nothing per parse or write", () => {
    const c = new IceCandidate();
    expect(parse(CHROME)).toBe(SDP_OK);
    c.copyFrom(cand(2));
    const len = put(PION);
    const before = heapTop();
    for (let i = 0; i < 200; i++) {
      sdp.parse(base, len);
      w.begin(outp, 4096);
      writeIceCredentials(w, changetype<usize>(sdp.ice.ufrag), sdp.ice.ufragLength, changetype<usize>(sdp.ice.pwd), sdp.ice.pwdLength);
      for (let k = 0; k < sdp.ice.count; k++) writeCandidate(w, sdp.ice.candidates[k]);
      writeCandidate(w, c);
      setFoundation(c, CAND_SRFLX, c.relatedPtr, c.addressPtr);
      defaultMatchesCandidate(sdp.ice, sdp.audioAddressPtr);
    }
    expect(heapTop()).toBe(before);
    expect(w.finish()).toBeGreaterThan(0);
  });
});

/** How many candidates were kept, or -1 if one of them is not one we could use. */
function checkCandidates(): i32 {
  const d = sdp.ice;
  if (d.count > MAX_CANDIDATES || d.dropped < d.malformed + d.overflowed) return -1;
  for (let i = 0; i < d.count; i++) {
    const c = d.candidates[i];
    const family = load<u8>(c.addressPtr);
    const usable = c.priority >= 1 && c.priority <= 0x7fffffff && c.component >= 1 && c.component <= 2 && (family == 4 || family == 6) &&
      sockaddrPort(c.addressPtr) > 0 && c.foundationLength >= 1 && c.foundationLength <= MAX_FOUNDATION && c.type <= CAND_RELAY;
    if (!usable) return -1;
  }
  return d.count;
}

function heapTop(): usize { const p = heap.alloc(0); heap.free(p); return p; }
