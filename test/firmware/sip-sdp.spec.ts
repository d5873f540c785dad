// SDP (firmware/sip/sdp.ts, sdp-writer.ts, sdp-negotiate.ts): real offers parsed field by field,
// IPv6, SDES crypto lines good and bad, every truncation and corruption of valid bodies survived,
// offer/answer under each SRTP policy, direction mapping, hold, the answer-to-offer checks, and
// that what we write parses back (one negotiator answering another).
import {
  SdpSession, SdpCrypto, SDP_OK, SDP_ERR_VERSION, SDP_ERR_LINE, SDP_ERR_ORIGIN, SDP_ERR_CONNECTION, SDP_ERR_MEDIA,
  SDP_ERR_TOO_MANY_MEDIA, SDP_ERR_ATTRIBUTE, DIR_SENDRECV, DIR_SENDONLY, DIR_RECVONLY, DIR_INACTIVE,
  PROTO_RTP_AVP, PROTO_RTP_SAVP, PROTO_DTLS_SRTP, MEDIA_AUDIO, MEDIA_VIDEO, CRYPTO_OK, CRYPTO_MALFORMED,
  CRYPTO_UNKNOWN_SUITE, CRYPTO_BAD_KEY, CRYPTO_KEY_LENGTH, CRYPTO_MKI, CRYPTO_SESSION_PARAM, MAX_CRYPTO,
} from "../../firmware/sip/sdp";
import { SdpWriter } from "../../firmware/sip/sdp-writer";
import {
  SdpNegotiator, MediaParams, POLICY_OFF, POLICY_PREFERRED, POLICY_MANDATORY, NEG_OK, NEG_NO_AUDIO,
  NEG_UNSUPPORTED_PROTO, NEG_NO_CODEC, NEG_SRTP_REQUIRED, NEG_SRTP_REFUSED, NEG_CRYPTO_UNUSABLE, NEG_NO_ADDRESS,
  NEG_ANSWER_MISMATCH, NEG_REJECTED, NEG_NO_OFFER, NEG_NO_RANDOM, NEG_OVERFLOW, negotiationStatus,
} from "../../firmware/sip/sdp-negotiate";
import { CODEC_G722, CODEC_PCMU, CODEC_PCMA } from "../../firmware/audio/codecs";
import { AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32, AEAD_AES_256_GCM } from "../../firmware/media/srtp-defs";
import { sockaddrFromText, sockaddrPort, formatAddress, FAMILY_IPV4, FAMILY_IPV6, SOCKADDR_BYTES } from "../../firmware/lib/inet";

const buf = new StaticArray<u8>(4096);
const base = changetype<usize>(buf);
const out = new StaticArray<u8>(2048);
const outp = changetype<usize>(out);
const random = new StaticArray<u8>(256);
for (let i = 0; i < 256; i++) random[i] = <u8>i;
const rnd = changetype<usize>(random);
const sdp = new SdpSession();
const params = new MediaParams();

function put(s: string): i32 { for (let i = 0; i < s.length; i++) buf[i] = <u8>s.charCodeAt(i); return s.length; }
function parse(s: string): i32 { return sdp.parse(base, put(s)); }
function str(p: usize, n: i32): string { return String.UTF8.decodeUnsafe(p, <usize>n); }
function written(n: i32): string { return str(outp, n); }
function addr(sa: usize): string { const t = new StaticArray<u8>(64); return str(changetype<usize>(t), formatAddress(sa, changetype<usize>(t), 64)) + ":" + sockaddrPort(sa).toString(); }
function sockaddr(text: string, port: i32): StaticArray<u8> {
  const sa = new StaticArray<u8>(SOCKADDR_BYTES);
  const t = String.UTF8.encode(text);
  sockaddrFromText(changetype<usize>(sa), changetype<usize>(t), t.byteLength, port);
  return sa;
}
function negotiator(policy: i32, codecs: StaticArray<i32> = [CODEC_G722, CODEC_PCMU, CODEC_PCMA], suites: StaticArray<i32> = [AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32]): SdpNegotiator {
  const n = new SdpNegotiator(codecs, suites, policy);
  n.setLocal(changetype<usize>(sockaddr("192.0.2.10", 4000)));
  n.startSession(42);
  return n;
}
/** Parses s as an offer and answers it; the answer's length, or the NEG_ code. */
function answer(n: SdpNegotiator, s: string, direction: i32 = DIR_SENDRECV): i32 {
  expect(parse(s)).toBe(SDP_OK);
  return n.answerOffer(sdp, direction, rnd, 256, outp, 2048, params);
}

const KEY1 = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"; // RFC 4568 §9's key (30 bytes)
const KEY2 = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";
const HEAD = "v=0\r\no=- 1842339612 3061234512 IN IP4 192.168.10.20\r\ns=-\r\nc=IN IP4 192.168.10.20\r\nt=0 0\r\n";
const RTPMAPS = "a=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n";
// Like baresip 1.0 with mediaenc=srtp-mand.
const BARESIP = HEAD + "a=tool:baresip 1.0.0\r\nm=audio 10000 RTP/SAVP 9 0 8 101\r\nb=AS:64\r\n" + RTPMAPS +
  "a=sendrecv\r\na=label:1\r\na=rtcp-rsize\r\na=ssrc:2841432931 cname:sip:door@192.168.10.20\r\n" +
  "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + KEY1 + "\r\na=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:" + KEY2 + "\r\na=ptime:20\r\n";
// A softphone with Opus, IPv6, a media-level c=, a=rtcp and a video stream.
const PHONE6 = "v=0\r\no=door 3001 3002 IN IP6 2001:db8::10\r\ns=Talk\r\nc=IN IP6 2001:db8::10\r\nt=0 0\r\n" +
  "m=audio 7078 RTP/AVP 96 9 8 0 101\r\nc=IN IP6 2001:DB8:0:0:1::2\r\na=rtpmap:96 opus/48000/2\r\na=rtpmap:101 telephone-event/8000\r\n" +
  "a=fmtp:101 0-11\r\na=rtcp:7079\r\nm=video 9078 RTP/AVP 96 97\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:97 H264/90000\r\na=recvonly\r\n";
// Captured from baresip 1.0.0 (Debian) on loopback: its offers with mediaenc=srtp-mand and with
// mediaenc=srtp (best effort, rtcp_mux yes), and its answers to our mandatory and preferred offers.
const CAPTURED_MAND_OFFER = "v=0\r\no=- 2002990802 1528753810 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
  "a=tool:baresip 1.0.0\r\nm=audio 47336 RTP/SAVP 9 0 8 101\r\na=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\n" +
  "a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\na=label:1\r\n" +
  "a=rtcp-rsize\r\na=ssrc:2609788707 cname:sip:door@127.0.0.1:47310\r\n" +
  "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:DZrWrpNMb8lNL8ID8dv7amZGQlKCzoBG4FyRcMR5\r\na=minptime:20\r\n" +
  "a=ptime:20\r\n";
const CAPTURED_BEST_EFFORT_OFFER = "v=0\r\no=- 3237633841 524955741 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
  "a=tool:baresip 1.0.0\r\nm=audio 47322 RTP/AVP 9 0 8 101\r\na=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\n" +
  "a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\na=label:1\r\n" +
  "a=rtcp-rsize\r\na=ssrc:3624638330 cname:sip:door@127.0.0.1:47310\r\na=rtcp-mux\r\n" +
  "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:ux66OQWOsl7vlcX1MLwRmeFRyrp5PmLYVjwhU56w\r\na=minptime:20\r\n" +
  "a=ptime:20\r\n";
const CAPTURED_ANSWER_MAND = "v=0\r\no=- 2111357349 1236786790 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
  "a=tool:baresip 1.0.0\r\nm=audio 47324 RTP/SAVP 9 0 8 101\r\na=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\n" +
  "a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\na=label:1\r\n" +
  "a=ssrc:1345481135 cname:sip:door@127.0.0.1:47310\r\na=minptime:20\r\na=ptime:20\r\na=rtcp-mux\r\n" +
  "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:SLregv4lVVBdTXhDeHFiqbMY0gVUi/m51lJwEFTc\r\n";
const CAPTURED_ANSWER_PREFERRED = "v=0\r\no=- 2921100057 306329937 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
  "a=tool:baresip 1.0.0\r\nm=audio 47330 RTP/AVP 9 0 8 101\r\na=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\n" +
  "a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\na=label:1\r\n" +
  "a=ssrc:3228224902 cname:sip:door@127.0.0.1:47310\r\na=minptime:20\r\na=ptime:20\r\na=rtcp-mux\r\n" +
  "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:eSIcZH7xAQO6vGt9L/G3MfFdiIairdQdIzNflfzk\r\n";
function audioOffer(proto: string, extra: string): string { return HEAD + "m=audio 10000 " + proto + " 9 0 8 101\r\n" + RTPMAPS + extra; }
function crypto(line: string): SdpCrypto { expect(parse(audioOffer("RTP/SAVP", line + "\r\n"))).toBe(SDP_OK); return sdp.crypto[0]; }

describe("SDP parser", () => {
  it("parses a baresip offer field by field", () => {
    expect(parse(BARESIP)).toBe(SDP_OK);
    expect(str(changetype<usize>(sdp.originUser), sdp.originUserLength)).toBe("-");
    expect(str(changetype<usize>(sdp.sessionId), sdp.sessionIdLength)).toBe("1842339612");
    expect(sdp.sessionVersion).toBe(3061234512);
    expect(addr(changetype<usize>(sdp.originAddress))).toBe("192.168.10.20:0");
    expect(sdp.mediaCount).toBe(1);
    expect(sdp.audioIndex).toBe(0);
    expect(sdp.media[0].proto).toBe(PROTO_RTP_SAVP);
    expect(sdp.formatCount).toBe(4);
    expect(sdp.formatPt(0)).toBe(9);
    expect(sdp.formatPt(3)).toBe(101);
    expect(sdp.encodingIs(0, "g722")).toBe(true);
    expect(sdp.encodingIs(3, "telephone-event")).toBe(true);
    expect(sdp.clockRate(0)).toBe(8000);
    expect(sdp.events(3)).toBe(0xffff);
    expect(sdp.ptime).toBe(20);
    expect(sdp.direction).toBe(DIR_SENDRECV);
    expect(sdp.rtcpMux).toBe(false);
    expect(addr(sdp.audioAddressPtr)).toBe("192.168.10.20:10000");
    expect(sdp.cryptoCount).toBe(2);
    expect(sdp.crypto[0].tag).toBe(1);
    expect(sdp.crypto[0].suite).toBe(AES_CM_128_HMAC_SHA1_80);
    expect(sdp.crypto[0].status).toBe(CRYPTO_OK);
    expect(sdp.crypto[0].keyLength).toBe(30);
    expect(sdp.crypto[0].key[0]).toBe(61);
    expect(sdp.crypto[0].key[29]).toBe(81);
    expect(sdp.crypto[1].suite).toBe(AES_CM_128_HMAC_SHA1_32);
    expect(sdp.crypto[1].key[0]).toBe(89);
    expect(sdp.crypto[1].key[29]).toBe(115);
  });

  it("takes LF-only lines, trailing blanks, empty lines and a last line without a break", () => {
    let lf = BARESIP.replaceAll("\r\n", "\n");
    lf = lf.substring(0, lf.length - 1).replace("s=-\n", "s=- \n\n");
    expect(parse(lf)).toBe(SDP_OK);
    expect(sdp.ptime).toBe(20);
    expect(sdp.crypto[1].status).toBe(CRYPTO_OK);
  });

  it("parses IPv6, prefers the media c=, and records a video stream to reject", () => {
    expect(parse(PHONE6)).toBe(SDP_OK);
    expect(addr(changetype<usize>(sdp.originAddress))).toBe("2001:db8::10:0");
    expect(load<u8>(sdp.audioAddressPtr)).toBe(FAMILY_IPV6);
    expect(addr(sdp.audioAddressPtr)).toBe("2001:db8::1:0:0:2:7078");
    expect(sdp.rtcpPort).toBe(7079);
    expect(sdp.formatCount).toBe(5);
    expect(sdp.channels(0)).toBe(2);
    expect(sdp.clockRate(0)).toBe(48000);
    expect(sdp.clockRate(1)).toBe(0, "static 9 without rtpmap");
    expect(sdp.events(4)).toBe(0xfff);
    expect(sdp.direction).toBe(DIR_SENDRECV, "the video's recvonly is not ours");
    expect(sdp.mediaCount).toBe(2);
    const v = sdp.media[1];
    expect(v.kind).toBe(MEDIA_VIDEO);
    expect(v.port).toBe(9078);
    expect(str(changetype<usize>(v.protoText), v.protoLength)).toBe("RTP/AVP");
    expect(str(changetype<usize>(v.formatText), v.formatLength)).toBe("96 97");
  });

  it("keeps the first usable audio m-line", () => {
    const dtls = HEAD + "m=audio 0 RTP/AVP 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendonly\r\nm=audio 5004 RTP/AVP 8\r\na=ptime:30\r\n";
    expect(parse(dtls)).toBe(SDP_OK);
    expect(sdp.mediaCount).toBe(3);
    expect(sdp.audioIndex).toBe(2);
    expect(sdp.formatPt(0)).toBe(8);
    expect(sdp.ptime).toBe(30);
    expect(sdp.direction).toBe(DIR_SENDRECV, "the DTLS line's sendonly was forgotten");
    expect(parse(HEAD + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nm=audio 0 RTP/AVP 0\r\n")).toBe(SDP_OK);
    expect(sdp.audioIndex).toBe(0);
    expect(sdp.media[0].proto).toBe(PROTO_DTLS_SRTP);
  });

  it("applies the session direction unless the media says otherwise", () => {
    expect(parse(HEAD.replace("t=0 0\r\n", "t=0 0\r\na=sendonly\r\n") + "m=audio 5004 RTP/AVP 0\r\n")).toBe(SDP_OK);
    expect(sdp.direction).toBe(DIR_SENDONLY);
    expect(parse(HEAD + "a=inactive\r\nm=audio 5004 RTP/AVP 0\r\na=recvonly\r\n")).toBe(SDP_OK);
    expect(sdp.direction).toBe(DIR_RECVONLY);
  });

  it("reads rtcp-mux, a=rtcp with an address, maxptime, fmtp event lists", () => {
    expect(parse(audioOffer("RTP/AVP", "a=rtcp-mux\r\na=rtcp:9999 IN IP4 198.51.100.7\r\na=maxptime:40\r\na=ptime:20.0\r\n").replace("0-15", "0-15,66"))).toBe(SDP_OK);
    expect(sdp.rtcpMux).toBe(true);
    expect(addr(sdp.rtcpAddressPtr)).toBe("198.51.100.7:0");
    expect(sdp.rtcpPort).toBe(9999);
    expect(sdp.maxPtime).toBe(40);
    expect(sdp.ptime).toBe(20);
    expect(sdp.events(3)).toBe(0xffff);
    expect(parse(audioOffer("RTP/AVP", "").replace("0-15", "annexb=no"))).toBe(SDP_OK);
    expect(sdp.events(3)).toBe(0);
  });

  it("marks multicast, TTL and host names unusable, without failing", () => {
    expect(parse(audioOffer("RTP/AVP", "").replace("c=IN IP4 192.168.10.20", "c=IN IP4 224.2.1.1/127"))).toBe(SDP_OK);
    expect(load<u8>(sdp.audioAddressPtr)).toBe(0);
    expect(parse(audioOffer("RTP/AVP", "").replace("c=IN IP4 192.168.10.20", "c=IN IP4 239.1.1.1"))).toBe(SDP_OK);
    expect(load<u8>(sdp.audioAddressPtr)).toBe(0);
    expect(parse(audioOffer("RTP/AVP", "").replace("c=IN IP4 192.168.10.20", "c=IN IP4 pbx.example.com"))).toBe(SDP_OK);
    expect(load<u8>(sdp.audioAddressPtr)).toBe(0);
    expect(parse(audioOffer("RTP/AVP", "").replace("c=IN IP4 192.168.10.20", "c=IN IP6 ff02::1"))).toBe(SDP_OK);
    expect(load<u8>(sdp.audioAddressPtr)).toBe(0);
  });
});

describe("SDP crypto lines (RFC 4568)", () => {
  it("accepts a lifetime, WSH, and the GCM suites' lengths", () => {
    let c = crypto("a=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:" + KEY1 + "|2^31 WSH=128");
    expect(c.status).toBe(CRYPTO_OK);
    expect(c.tag).toBe(7);
    c = crypto("a=crypto:1 AEAD_AES_256_GCM inline:ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoOEhYaHiImKi4yNjo8=");
    expect(c.status).toBe(CRYPTO_OK);
    expect(c.keyLength).toBe(44);
    expect(c.key[0]).toBe(100);
    expect(crypto("a=crypto:1 AEAD_AES_128_GCM inline:yMnKy8zNzs/Q0dLT1NXW19jZ2tvc3d7f4OHi4w==").status).toBe(CRYPTO_OK);
  });

  it("records why a line cannot be used", () => {
    expect(crypto("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + KEY1 + "|2^20|1:4").status).toBe(CRYPTO_MKI); // RFC 4568 §9
    expect(crypto("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + KEY1 + "|1:4").status).toBe(CRYPTO_MKI);
    expect(crypto("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + KEY1 + "|2^20|1:4;inline:" + KEY2 + "|2^20|2:4").status).toBe(CRYPTO_MKI);
    expect(crypto("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + KEY1 + " UNENCRYPTED_SRTP").status).toBe(CRYPTO_SESSION_PARAM);
    expect(crypto("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + KEY1 + " FEC_ORDER=FEC_SRTP").status).toBe(CRYPTO_SESSION_PARAM);
    expect(crypto("a=crypto:1 F8_128_HMAC_SHA1_80 inline:" + KEY1).status).toBe(CRYPTO_UNKNOWN_SUITE);
    expect(crypto("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVB*").status).toBe(CRYPTO_BAD_KEY);
    expect(crypto("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVB").status).toBe(CRYPTO_BAD_KEY);
    expect(crypto("a=crypto:1 AES_CM_128_HMAC_SHA1_80 uri:" + KEY1).status).toBe(CRYPTO_BAD_KEY);
    expect(crypto("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + KEY1 + "AAAA").status).toBe(CRYPTO_KEY_LENGTH);
    expect(crypto("a=crypto:1 AEAD_AES_256_GCM inline:" + KEY1).status).toBe(CRYPTO_KEY_LENGTH);
    expect(crypto("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + KEY1 + KEY1 + KEY1).status).toBe(CRYPTO_KEY_LENGTH);
    expect(crypto("a=crypto:x AES_CM_128_HMAC_SHA1_80 inline:" + KEY1).status).toBe(CRYPTO_MALFORMED);
    expect(crypto("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + KEY1 + "|2^x").status).toBe(CRYPTO_MALFORMED);
    expect(crypto("a=crypto:1 AES_CM_128_HMAC_SHA1_80").status).toBe(CRYPTO_MALFORMED);
  });

  it("keeps at most MAX_CRYPTO lines", () => {
    let lines = "";
    for (let i = 1; i <= 12; i++) lines += "a=crypto:" + i.toString() + " AES_CM_128_HMAC_SHA1_80 inline:" + KEY1 + "\r\n";
    expect(parse(audioOffer("RTP/SAVP", lines))).toBe(SDP_OK);
    expect(sdp.cryptoCount).toBe(MAX_CRYPTO);
    expect(sdp.crypto[MAX_CRYPTO - 1].tag).toBe(MAX_CRYPTO);
  });
});

describe("SDP parser refuses", () => {
  it("garbage and bodies that do not start with v=0", () => {
    expect(parse("")).toBe(SDP_ERR_VERSION);
    expect(parse("\r\n\r\n")).toBe(SDP_ERR_VERSION);
    expect(parse("hello world")).toBe(SDP_ERR_VERSION);
    expect(parse("v=1\r\n")).toBe(SDP_ERR_VERSION);
    expect(parse("o=- 1 1 IN IP4 192.0.2.1\r\nv=0\r\n")).toBe(SDP_ERR_VERSION);
    expect(parse(HEAD + "v=0\r\n")).toBe(SDP_ERR_VERSION);
    expect(parse(HEAD + "junk\r\n")).toBe(SDP_ERR_LINE);
    expect(parse(HEAD + "A=x\r\n")).toBe(SDP_ERR_LINE);
    expect(parse(HEAD + "a=x\0y\r\n")).toBe(SDP_ERR_LINE);
    expect(parse(HEAD + "a=x\ry\r\n")).toBe(SDP_ERR_LINE);
  });

  it("a missing, repeated or malformed origin", () => {
    expect(parse("v=0\r\ns=-\r\nt=0 0\r\n")).toBe(SDP_ERR_ORIGIN);
    expect(parse(HEAD + "o=- 1 1 IN IP4 192.0.2.1\r\n")).toBe(SDP_ERR_ORIGIN);
    expect(parse("v=0\r\no=- 1 x IN IP4 192.0.2.1\r\n")).toBe(SDP_ERR_ORIGIN);
    expect(parse("v=0\r\no=- 1 1 IN IP4\r\n")).toBe(SDP_ERR_ORIGIN);
    expect(parse("v=0\r\no=- 1 18446744073709551616 IN IP4 192.0.2.1\r\n")).toBe(SDP_ERR_ORIGIN);
    expect(parse("v=0\r\no=- 1 18446744073709551615 IN IP4 192.0.2.1\r\n")).toBe(SDP_OK);
    expect(sdp.sessionVersion).toBe(u64.MAX_VALUE);
  });

  it("malformed c= and m= lines, and an audio stream without c=", () => {
    expect(parse(HEAD + "c=IN IP4\r\n")).toBe(SDP_ERR_CONNECTION);
    expect(parse("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio 5004 RTP/AVP 0\r\n")).toBe(SDP_ERR_CONNECTION);
    expect(parse(HEAD + "m=audio 5004 RTP/AVP\r\n")).toBe(SDP_ERR_MEDIA);
    expect(parse(HEAD + "m=audio 65536 RTP/AVP 0\r\n")).toBe(SDP_ERR_MEDIA);
    expect(parse(HEAD + "m=audio 50x4 RTP/AVP 0\r\n")).toBe(SDP_ERR_MEDIA);
    expect(parse(HEAD + "m=audio 5004 RTP/AVP 128\r\n")).toBe(SDP_ERR_MEDIA);
    expect(parse(HEAD + "m=audio 5004 RTP/AVP PCMU\r\n")).toBe(SDP_ERR_MEDIA);
    expect(parse(HEAD + "m=audio 5004/2 RTP/AVP 0\r\n")).toBe(SDP_OK);
    let many = HEAD;
    for (let i = 0; i < 9; i++) many += "m=video 0 RTP/AVP 96\r\n";
    expect(parse(many)).toBe(SDP_ERR_TOO_MANY_MEDIA);
  });

  it("malformed attributes of the audio stream", () => {
    expect(parse(audioOffer("RTP/AVP", "a=rtpmap:9 G722\r\n"))).toBe(SDP_ERR_ATTRIBUTE);
    expect(parse(audioOffer("RTP/AVP", "a=rtpmap:9 G722/0\r\n"))).toBe(SDP_ERR_ATTRIBUTE);
    expect(parse(audioOffer("RTP/AVP", "a=rtpmap:300 G722/8000\r\n"))).toBe(SDP_ERR_ATTRIBUTE);
    expect(parse(audioOffer("RTP/AVP", "a=ptime:fast\r\n"))).toBe(SDP_ERR_ATTRIBUTE);
    expect(parse(audioOffer("RTP/AVP", "a=ptime:0\r\n"))).toBe(SDP_ERR_ATTRIBUTE);
    expect(parse(audioOffer("RTP/AVP", "a=rtcp:70000\r\n"))).toBe(SDP_ERR_ATTRIBUTE);
    expect(parse(audioOffer("RTP/AVP", "a=fmtp:x 0-15\r\n"))).toBe(SDP_ERR_ATTRIBUTE);
    expect(parse(audioOffer("RTP/AVP", "a=rtpmap:99 nothing-offered/8000\r\na=x-unknown:?\r\n"))).toBe(SDP_OK);
    expect(parse(audioOffer("RTP/AVP", "a=ptime:0\r\n"))).toBe(SDP_ERR_ATTRIBUTE);
    expect(sdp.mediaCount).toBe(0, "a failed parse leaves nothing to negotiate");
    expect(negotiator(POLICY_OFF).answerOffer(sdp, DIR_SENDRECV, rnd, 256, outp, 2048, params)).toBe(NEG_NO_AUDIO);
  });

  it("never traps on any truncation or single-byte corruption of valid bodies", () => {
    const samples: string[] = [BARESIP, PHONE6, CAPTURED_BEST_EFFORT_OFFER, CAPTURED_ANSWER_MAND, audioOffer("RTP/SAVP", "a=crypto:1 AEAD_AES_256_GCM inline:ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoOEhYaHiImKi4yNjo8=|2^31\r\n")];
    const bytes: u8[] = [0, 0x20, 0x3d, 0x3a, 0x0a, 0x0d, 0x39, 0x2f, 0x7c, 0xff];
    const n = negotiator(POLICY_PREFERRED);
    let ok = 0;
    for (let s = 0; s < samples.length; s++) {
      const len = put(samples[s]);
      for (let cut = 0; cut <= len; cut++) {
        const r = sdp.parse(base, cut);
        expect(r <= 0 && r >= SDP_ERR_ATTRIBUTE).toBe(true);
        if (r == SDP_OK) { ok++; n.answerOffer(sdp, DIR_SENDRECV, rnd, 256, outp, 2048, params); }
        // Nothing past len may be read: other bytes there must change nothing.
        const formats = sdp.formatCount, cryptos = sdp.cryptoCount, media = sdp.mediaCount;
        for (let j = cut; j < len; j++) buf[j] = 0x0a;
        expect(sdp.parse(base, cut)).toBe(r);
        expect(sdp.formatCount).toBe(formats);
        expect(sdp.cryptoCount).toBe(cryptos);
        expect(sdp.mediaCount).toBe(media);
        put(samples[s]);
      }
      for (let i = 0; i < len; i++) {
        const saved = buf[i];
        for (let b = 0; b < bytes.length; b++) {
          buf[i] = bytes[b];
          const r = sdp.parse(base, len);
          expect(r <= 0 && r >= SDP_ERR_ATTRIBUTE).toBe(true);
          if (r == SDP_OK) { ok++; n.answerOffer(sdp, DIR_SENDRECV, rnd, 256, outp, 2048, params); }
        }
        buf[i] = saved;
      }
    }
    expect(ok > 100).toBe(true, "many variants still parse");
  });
});

const OFFER_MANDATORY = "v=0\r\no=- 42 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 4000 RTP/SAVP 9 0 8 101\r\n" +
  "a=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n" +
  "a=ptime:20\r\na=rtcp:4000\r\na=rtcp-mux\r\na=sendrecv\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\r\n" +
  "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:Hh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7\r\n";

describe("SDP writer and offers", () => {
  it("writes a mandatory-SRTP offer byte for byte, and it parses back", () => {
    const n = negotiator(POLICY_MANDATORY);
    expect(n.randomBytesNeeded()).toBe(60);
    const len = n.makeOffer(outp, 2048, DIR_SENDRECV, rnd, 60);
    expect(written(len)).toBe(OFFER_MANDATORY);
    expect(sdp.parse(outp, len)).toBe(SDP_OK);
    expect(sdp.crypto[1].key[0]).toBe(30);
    expect(sdp.rtcpMux).toBe(true);
  });

  it("offers RTP/AVP with crypto when preferred, without when off", () => {
    let len = negotiator(POLICY_PREFERRED).makeOffer(outp, 2048, DIR_SENDRECV, rnd, 256);
    expect(sdp.parse(outp, len)).toBe(SDP_OK);
    expect(sdp.media[0].proto).toBe(PROTO_RTP_AVP);
    expect(sdp.cryptoCount).toBe(2);
    const off = negotiator(POLICY_OFF);
    expect(off.randomBytesNeeded()).toBe(0);
    len = off.makeOffer(outp, 2048, DIR_SENDRECV, 0, 0);
    expect(sdp.parse(outp, len)).toBe(SDP_OK);
    expect(sdp.media[0].proto).toBe(PROTO_RTP_AVP);
    expect(sdp.cryptoCount).toBe(0);
  });

  it("writes IPv6, bumps the o= version on each SDP, offers hold and resume", () => {
    const n = negotiator(POLICY_OFF, [CODEC_PCMA]);
    n.setLocal(changetype<usize>(sockaddr("2001:db8::5", 6000)));
    for (let v = 1; v <= 3; v++) {
      const len = n.makeOffer(outp, 2048, v == 2 ? DIR_SENDONLY : DIR_SENDRECV, 0, 0);
      expect(sdp.parse(outp, len)).toBe(SDP_OK);
      expect(sdp.sessionVersion).toBe(<u64>v);
      expect(sdp.direction).toBe(v == 2 ? DIR_SENDONLY : DIR_SENDRECV);
      expect(addr(sdp.audioAddressPtr)).toBe("2001:db8::5:6000");
      expect(written(len).includes("m=audio 6000 RTP/AVP 8 101\r\n")).toBe(true);
    }
  });

  it("refuses to write an SDP that does not fit, or keys without randomness", () => {
    const n = negotiator(POLICY_MANDATORY);
    out[100] = 0xee;
    expect(n.makeOffer(outp, 100, DIR_SENDRECV, rnd, 256)).toBe(NEG_OVERFLOW);
    expect(out[100]).toBe(0xee);
    expect(n.makeOffer(outp, 2048, DIR_SENDRECV, rnd, 59)).toBe(NEG_NO_RANDOM);
    expect(negotiationStatus(NEG_OVERFLOW)).toBe(500);
    const w = new SdpWriter();
    w.begin(outp, 8).ascii("v=0\r\n").ascii("s=-\r\n");
    expect(w.finish()).toBe(-1);
    expect(w.begin(outp, 8).ascii("v=0\r\n").finish()).toBe(5);
  });
});

describe("SDP answers (RFC 3264 §6)", () => {
  it("answers baresip's SRTP offer byte for byte", () => {
    const n = negotiator(POLICY_MANDATORY);
    const len = answer(n, BARESIP);
    expect(written(len)).toBe("v=0\r\no=- 42 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 4000 RTP/SAVP 9 101\r\n" +
      "a=rtpmap:9 G722/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=rtcp:4000\r\na=sendrecv\r\n" +
      "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\r\n");
    expect(params.codec).toBe(CODEC_G722);
    expect(params.sendPt).toBe(9);
    expect(params.sendEventPt).toBe(101);
    expect(params.srtp).toBe(true);
    expect(params.suite).toBe(AES_CM_128_HMAC_SHA1_80);
    expect(params.cryptoTag).toBe(1);
    expect(params.receiveKey[0]).toBe(61);
    expect(params.sendKey[29]).toBe(29);
    expect(addr(changetype<usize>(params.remoteRtp))).toBe("192.168.10.20:10000");
    expect(addr(changetype<usize>(params.remoteRtcp))).toBe("192.168.10.20:10001");
    expect(params.rtcpMux).toBe(false);
    expect(params.ptime).toBe(20);
    expect(params.direction).toBe(DIR_SENDRECV);
    expect(params.remoteHold).toBe(false);
  });

  it("picks by our codec order and our suites, using the peer's payload numbers", () => {
    const n = negotiator(POLICY_MANDATORY, [CODEC_PCMA, CODEC_G722], [AES_CM_128_HMAC_SHA1_80]);
    const offer = audioOffer("RTP/SAVP", "a=crypto:5 AES_CM_128_HMAC_SHA1_32 inline:" + KEY2 + "\r\na=crypto:6 AES_CM_128_HMAC_SHA1_80 inline:" + KEY1 + "\r\n")
      .replace(" 9 0 8 101", " 9 0 8 96").replace("101 telephone-event", "96 telephone-event").replace("fmtp:101", "fmtp:96");
    expect(answer(n, offer) > 0).toBe(true);
    expect(params.codec).toBe(CODEC_PCMA);
    expect(params.sendPt).toBe(8);
    expect(params.sendEventPt).toBe(96);
    expect(params.cryptoTag).toBe(6);
    expect(params.receiveKey[0]).toBe(61);
    const dynamic = audioOffer("RTP/AVP", "").replace(" 9 0 8 101", " 97 101").replace("a=rtpmap:9 G722", "a=rtpmap:97 G722");
    expect(answer(negotiator(POLICY_OFF), dynamic) > 0).toBe(true);
    expect(params.codec).toBe(CODEC_G722);
    expect(params.sendPt).toBe(97);
  });

  it("applies each SRTP policy to RTP/SAVP, RTP/AVP with crypto, and plain RTP/AVP", () => {
    const withCrypto = audioOffer("RTP/AVP", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + KEY1 + "\r\n");
    const plain = audioOffer("RTP/AVP", "");
    expect(answer(negotiator(POLICY_OFF), BARESIP)).toBe(NEG_SRTP_REFUSED);
    expect(negotiationStatus(NEG_SRTP_REFUSED)).toBe(488);
    expect(answer(negotiator(POLICY_PREFERRED), BARESIP) > 0).toBe(true);
    expect(params.srtp).toBe(true);
    expect(answer(negotiator(POLICY_MANDATORY), plain)).toBe(NEG_SRTP_REQUIRED);
    let len = answer(negotiator(POLICY_PREFERRED), plain);
    expect(params.srtp).toBe(false);
    expect(written(len).includes("a=crypto")).toBe(false);
    len = answer(negotiator(POLICY_PREFERRED), withCrypto);
    expect(params.srtp).toBe(true);
    expect(written(len).includes("m=audio 4000 RTP/AVP 9 101\r\n")).toBe(true);
    expect(written(len).includes("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:")).toBe(true);
    expect(answer(negotiator(POLICY_MANDATORY), withCrypto) > 0).toBe(true);
    expect(params.srtp).toBe(true);
    len = answer(negotiator(POLICY_OFF), withCrypto);
    expect(params.srtp).toBe(false);
    expect(written(len).includes("a=crypto")).toBe(false);
    const mki = audioOffer("RTP/SAVP", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + KEY1 + "|2^20|1:4\r\n");
    expect(answer(negotiator(POLICY_PREFERRED), mki)).toBe(NEG_CRYPTO_UNUSABLE);
    expect(answer(negotiator(POLICY_MANDATORY), mki)).toBe(NEG_SRTP_REQUIRED);
    const gcmOnly = audioOffer("RTP/SAVP", "a=crypto:1 AEAD_AES_256_GCM inline:ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoOEhYaHiImKi4yNjo8=\r\n");
    expect(answer(negotiator(POLICY_PREFERRED), gcmOnly)).toBe(NEG_CRYPTO_UNUSABLE);
    expect(answer(negotiator(POLICY_PREFERRED, [CODEC_G722], [AEAD_AES_256_GCM]), gcmOnly) > 0).toBe(true);
    expect(params.suite).toBe(AEAD_AES_256_GCM);
    expect(params.sendKey[43]).toBe(43);
  });

  it("refuses what it cannot carry, and leaves params alone then", () => {
    answer(negotiator(POLICY_OFF), audioOffer("RTP/AVP", ""));
    expect(params.codec).toBe(CODEC_G722);
    expect(answer(negotiator(POLICY_OFF), HEAD + "m=audio 5004 RTP/AVP 18 4\r\n")).toBe(NEG_NO_CODEC);
    expect(answer(negotiator(POLICY_OFF), HEAD + "m=audio 5004 RTP/AVP 0\r\na=rtpmap:0 G722/16000\r\n")).toBe(NEG_NO_CODEC);
    expect(answer(negotiator(POLICY_OFF), HEAD + "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\n")).toBe(NEG_UNSUPPORTED_PROTO);
    expect(answer(negotiator(POLICY_OFF), HEAD + "m=audio 5004 RTP/AVPF 0\r\n")).toBe(NEG_UNSUPPORTED_PROTO);
    expect(answer(negotiator(POLICY_OFF), HEAD + "m=video 5004 RTP/AVP 96\r\n")).toBe(NEG_NO_AUDIO);
    expect(answer(negotiator(POLICY_OFF), HEAD + "m=audio 0 RTP/AVP 0\r\n")).toBe(NEG_NO_AUDIO);
    expect(answer(negotiator(POLICY_OFF), HEAD.replace("c=IN IP4 192.168.10.20", "c=IN IP4 224.0.1.2/8") + "m=audio 5004 RTP/AVP 0\r\n")).toBe(NEG_NO_ADDRESS);
    expect(negotiationStatus(NEG_NO_CODEC)).toBe(488);
    expect(params.codec).toBe(CODEC_G722, "failed answers left the last good params");
    expect(parse(BARESIP)).toBe(SDP_OK);
    expect(negotiator(POLICY_MANDATORY).answerOffer(sdp, DIR_SENDRECV, rnd, 29, outp, 2048, params)).toBe(NEG_NO_RANDOM);
    expect(negotiator(POLICY_MANDATORY).answerOffer(sdp, DIR_SENDRECV, rnd, 256, outp, 200, params)).toBe(NEG_OVERFLOW);
  });

  it("rejects the video stream with port 0, same proto and formats, and answers IPv6", () => {
    const len = answer(negotiator(POLICY_OFF), PHONE6);
    expect(written(len).includes("m=audio 4000 RTP/AVP 9 101\r\na=rtpmap:9 G722/8000\r\n")).toBe(true);
    expect(written(len).includes("\r\nm=video 0 RTP/AVP 96 97\r\n")).toBe(true);
    expect(addr(changetype<usize>(params.remoteRtp))).toBe("2001:db8::1:0:0:2:7078");
    expect(addr(changetype<usize>(params.remoteRtcp))).toBe("2001:db8::1:0:0:2:7079");
    expect(sdp.parse(outp, len)).toBe(SDP_OK);
    expect(sdp.mediaCount).toBe(2);
    expect(sdp.media[1].port).toBe(0);
  });

  it("maps directions (§6.1), c=0.0.0.0 hold and our own hold", () => {
    const dirs: string[] = ["a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive"];
    const answers: i32[] = [DIR_SENDRECV, DIR_RECVONLY, DIR_SENDONLY, DIR_INACTIVE];
    const holds: bool[] = [false, true, false, true];
    const names: string[] = ["a=sendrecv", "a=recvonly", "a=sendonly", "a=inactive"];
    for (let i = 0; i < 4; i++) {
      const len = answer(negotiator(POLICY_OFF), audioOffer("RTP/AVP", dirs[i] + "\r\n"));
      expect(params.direction).toBe(answers[i]);
      expect(params.remoteHold).toBe(holds[i]);
      expect(written(len).includes(names[i] + "\r\n")).toBe(true);
    }
    answer(negotiator(POLICY_OFF), audioOffer("RTP/AVP", "").replace("c=IN IP4 192.168.10.20", "c=IN IP4 0.0.0.0"));
    expect(params.remoteHold).toBe(true);
    expect(params.direction).toBe(DIR_RECVONLY);
    answer(negotiator(POLICY_OFF), audioOffer("RTP/AVP", ""), DIR_SENDONLY);
    expect(params.direction).toBe(DIR_SENDONLY);
    answer(negotiator(POLICY_OFF), audioOffer("RTP/AVP", "a=sendonly\r\n"), DIR_SENDONLY);
    expect(params.direction).toBe(DIR_INACTIVE);
  });

  it("answers rtcp-mux only when offered, and follows a=rtcp", () => {
    let len = answer(negotiator(POLICY_OFF), audioOffer("RTP/AVP", "a=rtcp-mux\r\n"));
    expect(written(len).includes("a=rtcp-mux\r\n")).toBe(true);
    expect(params.rtcpMux).toBe(true);
    expect(addr(changetype<usize>(params.remoteRtcp))).toBe("192.168.10.20:10000");
    len = answer(negotiator(POLICY_OFF), audioOffer("RTP/AVP", "a=rtcp:20001 IN IP4 198.51.100.9\r\na=ptime:30\r\n"));
    expect(written(len).includes("a=rtcp-mux")).toBe(false);
    expect(addr(changetype<usize>(params.remoteRtcp))).toBe("198.51.100.9:20001");
    expect(params.ptime).toBe(30);
  });
});

const ANSWER_HEAD = "v=0\r\no=- 77 1 IN IP4 198.51.100.20\r\ns=-\r\nc=IN IP4 198.51.100.20\r\nt=0 0\r\n";

const SAVP_ANSWER = ANSWER_HEAD + "m=audio 30000 RTP/SAVP 0 18 100\r\na=rtpmap:100 telephone-event/8000\r\na=rtcp-mux\r\n" +
  "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:" + KEY2 + "\r\n";
function offered(policy: i32, direction: i32 = DIR_SENDRECV): SdpNegotiator {
  const n = negotiator(policy);
  expect(n.makeOffer(outp, 2048, direction, rnd, 256) > 0).toBe(true);
  return n;
}
function accept(n: SdpNegotiator, s: string): i32 { expect(parse(s)).toBe(SDP_OK); return n.acceptAnswer(sdp, params); }

describe("SDP answers to our offers (RFC 3264 §7)", () => {

  it("takes the answer's first offered codec, its event number, and our key for its tag", () => {
    const n = offered(POLICY_MANDATORY);
    expect(accept(n, SAVP_ANSWER)).toBe(NEG_OK);
    expect(params.codec).toBe(CODEC_PCMU);
    expect(params.sendPt).toBe(0);
    expect(params.receivePt).toBe(0);
    expect(params.sendEventPt).toBe(100);
    expect(params.receiveEventPt).toBe(101);
    expect(params.suite).toBe(AES_CM_128_HMAC_SHA1_32);
    expect(params.sendKey[0]).toBe(30, "our second key");
    expect(params.receiveKey[0]).toBe(89);
    expect(params.rtcpMux).toBe(true);
    expect(addr(changetype<usize>(params.remoteRtcp))).toBe("198.51.100.20:30000");
    expect(n.acceptAnswer(sdp, params)).toBe(NEG_NO_OFFER);
  });

  it("refuses answers that do not answer the offer", () => {
    expect(accept(offered(POLICY_MANDATORY), SAVP_ANSWER + "m=video 0 RTP/AVP 96\r\n")).toBe(NEG_ANSWER_MISMATCH);
    expect(accept(offered(POLICY_MANDATORY), SAVP_ANSWER.replace("RTP/SAVP", "RTP/AVP"))).toBe(NEG_ANSWER_MISMATCH);
    expect(accept(offered(POLICY_MANDATORY), SAVP_ANSWER.replace("crypto:2", "crypto:3"))).toBe(NEG_ANSWER_MISMATCH);
    expect(accept(offered(POLICY_MANDATORY), SAVP_ANSWER.replace("crypto:2", "crypto:1"))).toBe(NEG_ANSWER_MISMATCH);
    expect(accept(offered(POLICY_MANDATORY), SAVP_ANSWER.replace(KEY2, KEY2 + "|1:4"))).toBe(NEG_CRYPTO_UNUSABLE);
    expect(accept(offered(POLICY_MANDATORY), SAVP_ANSWER.replace("0 18 100", "18 100"))).toBe(NEG_NO_CODEC);
    expect(accept(offered(POLICY_MANDATORY), SAVP_ANSWER.replace("30000", "0"))).toBe(NEG_REJECTED);
    expect(accept(offered(POLICY_MANDATORY), ANSWER_HEAD + "m=audio 30000 RTP/SAVP 0\r\n")).toBe(NEG_SRTP_REQUIRED);
    expect(accept(offered(POLICY_OFF), ANSWER_HEAD + "m=audio 30000 RTP/AVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + KEY1 + "\r\n")).toBe(NEG_ANSWER_MISMATCH);
    expect(accept(offered(POLICY_PREFERRED), ANSWER_HEAD + "m=audio 30000 RTP/AVP 0\r\n")).toBe(NEG_OK);
    expect(params.srtp).toBe(false, "best effort fell back to RTP");
    expect(accept(negotiator(POLICY_OFF), ANSWER_HEAD + "m=audio 30000 RTP/AVP 0\r\n")).toBe(NEG_NO_OFFER);
    const pending = offered(POLICY_MANDATORY);
    expect(pending.makeOffer(outp, 100, DIR_SENDONLY, rnd + 64, 192)).toBe(NEG_OVERFLOW);
    expect(accept(pending, SAVP_ANSWER)).toBe(NEG_OK, "a re-offer that did not fit left the pending one intact");
    expect(params.sendKey[0]).toBe(30);
    const n = offered(POLICY_OFF);
    n.cancelOffer();
    expect(accept(n, ANSWER_HEAD + "m=audio 30000 RTP/AVP 0\r\n")).toBe(NEG_NO_OFFER);
  });

  it("holds and resumes: our sendonly, the peer's recvonly", () => {
    const n = offered(POLICY_OFF, DIR_SENDONLY);
    expect(accept(n, ANSWER_HEAD + "m=audio 30000 RTP/AVP 9\r\na=recvonly\r\n")).toBe(NEG_OK);
    expect(params.direction).toBe(DIR_SENDONLY);
    expect(params.remoteHold).toBe(false);
    expect(n.makeOffer(outp, 2048, DIR_SENDRECV, 0, 0) > 0).toBe(true);
    expect(n.version).toBe(2);
    expect(accept(n, ANSWER_HEAD + "m=audio 30000 RTP/AVP 9\r\na=sendrecv\r\n")).toBe(NEG_OK);
    expect(params.direction).toBe(DIR_SENDRECV);
  });

  it("one negotiator answers another: codecs agree, keys cross", () => {
    const a = negotiator(POLICY_MANDATORY, [CODEC_G722, CODEC_PCMA]);
    const b = negotiator(POLICY_PREFERRED, [CODEC_PCMA, CODEC_G722], [AES_CM_128_HMAC_SHA1_32, AES_CM_128_HMAC_SHA1_80]);
    b.setLocal(changetype<usize>(sockaddr("2001:db8::b", 5000)));
    const offer = new StaticArray<u8>(1024);
    const offerLength = a.makeOffer(changetype<usize>(offer), 1024, DIR_SENDRECV, rnd, 256);
    const bSide = new MediaParams();
    expect(sdp.parse(changetype<usize>(offer), offerLength)).toBe(SDP_OK);
    const answerLength = b.answerOffer(sdp, DIR_SENDRECV, rnd + 100, 156, outp, 2048, bSide);
    expect(answerLength > 0).toBe(true);
    expect(sdp.parse(outp, answerLength)).toBe(SDP_OK);
    expect(a.acceptAnswer(sdp, params)).toBe(NEG_OK);
    expect(bSide.codec).toBe(CODEC_PCMA);
    expect(params.codec).toBe(CODEC_PCMA);
    expect(params.sendPt).toBe(bSide.receivePt);
    expect(params.sendEventPt).toBe(bSide.receiveEventPt);
    expect(params.suite).toBe(bSide.suite);
    expect(params.suite).toBe(AES_CM_128_HMAC_SHA1_80, "the offerer's first suite b allows");
    expect(params.rtcpMux && bSide.rtcpMux).toBe(true);
    for (let i = 0; i < 30; i++) {
      expect(params.sendKey[i]).toBe(bSide.receiveKey[i]);
      expect(params.receiveKey[i]).toBe(bSide.sendKey[i]);
    }
    expect(params.receiveKey[0]).toBe(100);
    expect(addr(changetype<usize>(params.remoteRtp))).toBe("2001:db8::b:5000");
    expect(addr(changetype<usize>(bSide.remoteRtp))).toBe("192.0.2.10:4000");
  });
});

describe("SDP with captured baresip bodies", () => {
  it("answers baresip's srtp-mand offer: G.722, its tag 1 key, no rtcp-mux (not offered)", () => {
    const len = answer(negotiator(POLICY_MANDATORY), CAPTURED_MAND_OFFER);
    expect(len > 0).toBe(true);
    expect(sdp.cryptoCount).toBe(1);
    expect(params.codec).toBe(CODEC_G722);
    expect(params.suite).toBe(AES_CM_128_HMAC_SHA1_80);
    expect(params.cryptoTag).toBe(1);
    expect(params.rtcpMux).toBe(false);
    expect(addr(changetype<usize>(params.remoteRtp))).toBe("127.0.0.1:47336");
    expect(written(len).includes("m=audio 4000 RTP/SAVP 9 101\r\n")).toBe(true);
    expect(answer(negotiator(POLICY_OFF), CAPTURED_MAND_OFFER)).toBe(NEG_SRTP_REFUSED);
  });

  it("answers baresip's best-effort offer with crypto in RTP/AVP, or plain RTP when off", () => {
    let len = answer(negotiator(POLICY_PREFERRED), CAPTURED_BEST_EFFORT_OFFER);
    expect(params.srtp).toBe(true);
    expect(params.rtcpMux).toBe(true);
    expect(written(len).includes("m=audio 4000 RTP/AVP 9 101\r\n")).toBe(true);
    expect(written(len).includes("a=rtcp-mux\r\na=sendrecv\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:")).toBe(true);
    len = answer(negotiator(POLICY_OFF), CAPTURED_BEST_EFFORT_OFFER);
    expect(params.srtp).toBe(false);
    expect(written(len).includes("a=crypto")).toBe(false);
  });

  it("accepts baresip's answers to our offers", () => {
    expect(accept(offered(POLICY_MANDATORY), CAPTURED_ANSWER_MAND)).toBe(NEG_OK);
    expect(params.codec).toBe(CODEC_G722);
    expect(params.srtp).toBe(true);
    expect(params.cryptoTag).toBe(1);
    expect(params.sendKey[0]).toBe(0, "our first key");
    expect(params.rtcpMux).toBe(true);
    expect(params.sendEventPt).toBe(101);
    expect(addr(changetype<usize>(params.remoteRtcp))).toBe("127.0.0.1:47324");
    expect(accept(offered(POLICY_PREFERRED), CAPTURED_ANSWER_PREFERRED)).toBe(NEG_OK);
    expect(params.srtp).toBe(true);
    expect(accept(offered(POLICY_OFF), CAPTURED_ANSWER_PREFERRED)).toBe(NEG_ANSWER_MISMATCH, "crypto we never offered");
  });
});

function probe(): usize {
  const p = heap.alloc(16);
  heap.free(p);
  return p;
}

describe("SDP allocation", () => {
  it("allocates nothing per SDP: 2,000 parse / answer / offer / accept rounds", () => {
    const n = negotiator(POLICY_MANDATORY);
    const peer = negotiator(POLICY_PREFERRED);
    const offer = new StaticArray<u8>(1024);
    const answerParams = new MediaParams();
    const offerLength = put(BARESIP);
    const before = probe();
    let bad = 0;
    for (let i = 0; i < 2000; i++) {
      if (sdp.parse(base, offerLength) != SDP_OK) bad++;
      if (n.answerOffer(sdp, DIR_SENDRECV, rnd, 256, outp, 2048, params) <= 0) bad++;
      const len = n.makeOffer(changetype<usize>(offer), 1024, (i & 1) == 0 ? DIR_SENDONLY : DIR_SENDRECV, rnd, 256);
      if (sdp.parse(changetype<usize>(offer), len) != SDP_OK) bad++;
      const a = peer.answerOffer(sdp, DIR_SENDRECV, rnd, 256, outp, 2048, answerParams);
      if (sdp.parse(outp, a) != SDP_OK || n.acceptAnswer(sdp, params) != NEG_OK) bad++;
    }
    expect(probe()).toBe(before);
    expect(bad).toBe(0);
    expect(n.version).toBe(4000, "4,000 SDPs written, the first with version 1");
  });
});
