// Writes SDP lines (RFC 8866) into a caller's buffer, CRLF-terminated, without allocating. The
// negotiator (sdp-negotiate.ts) composes offers and answers from these lines; a body that does
// not fit sets `overflow` (as SipWriter does) and finish() then refuses it rather than let half
// an SDP go out.
//
// API (each returns the writer, for chaining):
//   begin(out, cap)                      starts a body at out, at most cap bytes
//   session(sessionId, version, local)   v=0, o=- id version IN IP4|IP6 addr, s=-, c=, t=0 0 (local: SOCKADDR)
//   audio(port, secure)                  "m=audio <port> RTP/AVP|RTP/SAVP"; then format(pt)..., endLine()
//   rejected(m)                          "m=<type> 0 <proto> <formats>" echoing an offered m-line
//   rtpmap(pt, name, clock) / fmtp(pt, params) / ptime(ms) / rtcpMux() / direction(DIR_*)
//   crypto(tag, suite, keySalt)          a=crypto:<tag> <suite> inline:<base64 key||salt>
//   finish(): i32                        the body's length, or -1 on overflow

import { FAMILY_IPV4, FAMILY_IPV6, formatAddress, sockaddrFamily } from "../lib/inet";
import { base64Encode, base64EncodedLength } from "../lib/base64";
import { SdpMediaLine, DIR_SENDONLY, DIR_RECVONLY, DIR_INACTIVE, suiteName, suiteKeySaltLength } from "./sdp";

const ADDRESS_TEXT: i32 = 46; // formatAddress needs this much room

export class SdpWriter {
  base: usize = 0;
  capacity: i32 = 0;
  length: i32 = 0;
  overflow: bool = false;
  private readonly addressText: StaticArray<u8> = new StaticArray<u8>(ADDRESS_TEXT);

  begin(out: usize, cap: i32): SdpWriter {
    this.base = out;
    this.capacity = max(cap, 0);
    this.length = 0;
    this.overflow = false;
    return this;
  }

  finish(): i32 { return this.overflow ? -1 : this.length; }

  session(sessionId: u64, version: u64, local: usize): SdpWriter {
    this.ascii("v=0\r\no=- ").decimal(sessionId).byte(0x20).decimal(version).byte(0x20).address(local).ascii("\r\n");
    return this.ascii("s=-\r\nc=").address(local).ascii("\r\nt=0 0\r\n");
  }

  audio(port: i32, secure: bool): SdpWriter {
    return this.ascii("m=audio ").decimal(<u64>port).ascii(secure ? " RTP/SAVP" : " RTP/AVP");
  }

  format(pt: i32): SdpWriter { return this.byte(0x20).decimal(<u64>pt); }

  endLine(): SdpWriter { return this.ascii("\r\n"); }

  rejected(m: SdpMediaLine): SdpWriter {
    this.ascii("m=").bytes(changetype<usize>(m.typeText), m.typeLength).ascii(" 0 ");
    return this.bytes(changetype<usize>(m.protoText), m.protoLength).byte(0x20).bytes(changetype<usize>(m.formatText), m.formatLength).endLine();
  }

  rtpmap(pt: i32, name: string, clock: i32): SdpWriter {
    return this.ascii("a=rtpmap:").decimal(<u64>pt).byte(0x20).ascii(name).byte(0x2f).decimal(<u64>clock).endLine();
  }

  fmtp(pt: i32, params: string): SdpWriter { return this.ascii("a=fmtp:").decimal(<u64>pt).byte(0x20).ascii(params).endLine(); }

  ptime(ms: i32): SdpWriter { return this.ascii("a=ptime:").decimal(<u64>ms).endLine(); }

  rtcpMux(): SdpWriter { return this.ascii("a=rtcp-mux\r\n"); }

  /** RFC 3605: where our RTCP goes. We always take it on the RTP port (there is no socket at
   *  port + 1), so peers without rtcp-mux still send it where we listen (RFC 5761 5.1.3). */
  rtcpPort(port: i32): SdpWriter { return this.ascii("a=rtcp:").decimal(<u64>port).endLine(); }

  direction(dir: i32): SdpWriter {
    if (dir == DIR_SENDONLY) return this.ascii("a=sendonly\r\n");
    if (dir == DIR_RECVONLY) return this.ascii("a=recvonly\r\n");
    return this.ascii(dir == DIR_INACTIVE ? "a=inactive\r\n" : "a=sendrecv\r\n");
  }

  /** keySalt: the suite's master key followed by its master salt. */
  crypto(tag: i32, suite: i32, keySalt: usize): SdpWriter {
    const name = suiteName(suite);
    if (name.length == 0) { this.overflow = true; return this; }
    this.ascii("a=crypto:").decimal(<u64>tag).byte(0x20).ascii(name).ascii(" inline:");
    const n = suiteKeySaltLength(suite);
    const chars = base64EncodedLength(n);
    if (this.overflow || this.length + chars > this.capacity) { this.overflow = true; return this; }
    this.length += base64Encode(keySalt, n, this.base + <usize>this.length, chars);
    return this.endLine();
  }

  /** "IN IP4 a.b.c.d" or "IN IP6 x::y" from a SOCKADDR; an unknown family is an error. */
  address(sa: usize): SdpWriter {
    const family = sockaddrFamily(sa);
    if (family != FAMILY_IPV4 && family != FAMILY_IPV6) { this.overflow = true; return this; }
    const n = formatAddress(sa, changetype<usize>(this.addressText), ADDRESS_TEXT);
    return this.ascii(family == FAMILY_IPV4 ? "IN IP4 " : "IN IP6 ").bytes(changetype<usize>(this.addressText), n);
  }

  ascii(s: string): SdpWriter {
    const n = s.length;
    if (this.length + n > this.capacity) { this.overflow = true; return this; }
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      store<u8>(this.base + <usize>(this.length + i), c < 0x80 ? <u8>c : 0x3f);
    }
    this.length += n;
    return this;
  }

  bytes(p: usize, n: i32): SdpWriter {
    if (n < 0 || this.length + n > this.capacity) { this.overflow = true; return this; }
    memory.copy(this.base + <usize>this.length, p, <usize>n);
    this.length += n;
    return this;
  }

  byte(c: u32): SdpWriter {
    if (this.length + 1 > this.capacity) { this.overflow = true; return this; }
    store<u8>(this.base + <usize>(this.length++), <u8>c);
    return this;
  }

  decimal(v: u64): SdpWriter {
    let digits = 1;
    for (let t = v; t >= 10; t /= 10) digits++;
    if (this.length + digits > this.capacity) { this.overflow = true; return this; }
    for (let i = digits - 1; i >= 0; i--) {
      store<u8>(this.base + <usize>(this.length + i), <u8>(0x30 + <i32>(v % 10)));
      v /= 10;
    }
    this.length += digits;
    return this;
  }
}
