// What the SIP user agent's parts share: the outbox and transaction table, the message writer,
// the local identity (AOR, address, Contact), random tokens, and the builders of the headers
// every request and response carries (RFC 3261 8.1.1, 8.2.6).

import { SipOutbox } from "./outbox";
import { SipConnections } from "./connections";
import { SipTransactions } from "./transaction";
import { SipWriter } from "./writer";
import { SipMessage, elementEnd } from "./message";
import { EntropyPool } from "./entropy";
import { Bytes } from "./dialog";
import { SipUri, Span, addressUri, findParam } from "./uri";
import {
  H_VIA, H_FROM, H_TO, H_CALL_ID, H_CSEQ, H_MAX_FORWARDS, H_CONTACT, H_USER_AGENT, H_ALLOW, H_RECORD_ROUTE,
} from "./headers";
import { SOCKADDR_BYTES, formatAddress, sockaddrPort, sockaddrEquals, FAMILY_IPV6 } from "../lib/inet";
import { FIRMWARE_VERSION } from "../version";

export const SIP_MESSAGE_BYTES: i32 = 4096;   // what we build and keep; larger requests get 513
export const ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE";

export class SipStack {
  readonly outbox: SipOutbox;
  readonly transactions: SipTransactions;
  readonly writer: SipWriter = new SipWriter(SIP_MESSAGE_BYTES);
  readonly entropy: EntropyPool;
  readonly aor: Bytes = new Bytes(256);           // our address-of-record, sip:user@domain
  readonly displayName: Bytes = new Bytes(64);
  readonly local: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES); // our address and SIP port
  private readonly hostText: StaticArray<u8> = new StaticArray<u8>(64);  // local address as URI host
  private hostLen: i32 = 0;
  private readonly aorUri: SipUri = new SipUri();
  private readonly span: Span = new Span();
  private readonly token: StaticArray<u8> = new StaticArray<u8>(32);
  reliable: bool = false;   // requests go over a stream (sip.transport=tcp or tls), else UDP
  secure: bool = false;     // that stream is TLS (RFC 3261 26.2: sip: URIs, transport=tls)
  readonly connections: SipConnections = new SipConnections();
  // The name a TLS server at serverAddress must prove (the registrar URI's host, RFC 5922).
  private readonly serverName: Bytes = new Bytes(64);
  private readonly serverAddress: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  connection: i32 = -1;     // the stream the message being handled came on (-1: a datagram)
  now: i64 = 0;

  constructor(entropy: EntropyPool) {
    this.entropy = entropy;
    const outbox = new SipOutbox(16384, 24); // drained after every event: a burst of four 4 KiB messages
    this.outbox = outbox;
    this.transactions = new SipTransactions(outbox, 8, SIP_MESSAGE_BYTES);
  }

  /** Our address (SOCKADDR with the SIP port), as the HAL reported it. */
  setLocal(sa: usize): void {
    memory.copy(changetype<usize>(this.local), sa, <usize>SOCKADDR_BYTES);
    const h = changetype<usize>(this.hostText);
    let n = 0;
    const v6 = load<u8>(sa) == FAMILY_IPV6;
    if (v6) store<u8>(h, 0x5b);
    const m = formatAddress(sa, h + (v6 ? 1 : 0), 60);
    n = m < 0 ? 0 : m + (v6 ? 1 : 0);
    if (v6 && n > 0) store<u8>(h + <usize>(n++), 0x5d);
    this.hostLen = n;
  }

  get localPort(): i32 { return sockaddrPort(changetype<usize>(this.local)); }

  /** The connection a request to `dest` goes on: -1 (UDP), or a TCP or TLS connection (opened on demand). */
  route(dest: usize): i32 {
    if (!this.reliable) return -1;
    const named = this.secure && this.serverName.length > 0 && sockaddrEquals(dest, changetype<usize>(this.serverAddress));
    return this.connections.toward(dest, this.now, this.secure, this.serverName.address, named ? this.serverName.length : 0);
  }

  /** TLS connections to `sa` check the server against name[0..len) (IPv6 brackets dropped); len 0: none. */
  setServerName(name: usize, len: i32, sa: usize): void {
    if (len >= 2 && load<u8>(name) == 0x5b && load<u8>(name + <usize>(len - 1)) == 0x5d) { name++; len -= 2; }
    if (!this.serverName.set(name, len)) this.serverName.length = 0;
    memory.copy(changetype<usize>(this.serverAddress), sa, <usize>SOCKADDR_BYTES);
  }

  /** The AOR's user part (for the Contact), or empty. */
  private aorUser(): Span {
    if (this.aorUri.parse(this.aor.address, 0, this.aor.length) == 0 && this.aorUri.user.present) return this.aorUri.user;
    return this.span.clear().set(0, 0);
  }

  /** The AOR's host (the domain the registrar serves). */
  aorHost(): Span {
    if (this.aorUri.parse(this.aor.address, 0, this.aor.length) == 0) return this.aorUri.host;
    return this.span.clear();
  }

  /** Hex token (tags, Call-ID, branch suffix) of n characters into the scratch token buffer. */
  freshToken(n: i32): usize {
    this.entropy.hex(changetype<usize>(this.token), n);
    return changetype<usize>(this.token);
  }

  /** Request line, Via with a fresh branch (and rport, RFC 3581), Max-Forwards. */
  beginRequest(method: string, uri: usize, uriLen: i32): SipWriter {
    const w = this.writer.requestTo(method, uri, uriLen);
    w.ascii(this.reliable ? (this.secure ? "Via: SIP/2.0/TLS " : "Via: SIP/2.0/TCP ") : "Via: SIP/2.0/UDP ").bytes(changetype<usize>(this.hostText), this.hostLen)
      .byte(0x3a).decimal(this.localPort).ascii(";branch=z9hG4bK").bytes(this.freshToken(16), 16).ascii(";rport\r\n");
    w.header(H_MAX_FORWARDS, "70");
    return w;
  }

  /** Our From value for a new dialog: `"name" <aor>;tag=...`, written and copied into `into`. */
  writeFrom(w: SipWriter, tag: usize, tagLen: i32, into: Bytes): void {
    const start = w.length + 6; // after "From: "
    w.ascii("From: ");
    if (this.displayName.length > 0) w.byte(0x22).bytes(this.displayName.address, this.displayName.length).ascii("\" ");
    w.byte(0x3c).bytes(this.aor.address, this.aor.length).ascii(">;tag=").bytes(tag, tagLen);
    into.set(w.address + <usize>start, w.length - start);
    w.ascii("\r\n");
  }

  /** Contact: <sip:user@host:port>, plus the standard identification headers. */
  writeContact(w: SipWriter): void {
    const u = this.aorUser();
    w.ascii("Contact: <sip:");
    if (u.len > 0) w.bytes(this.aor.address + <usize>u.at, u.len).byte(0x40);
    w.bytes(changetype<usize>(this.hostText), this.hostLen).byte(0x3a).decimal(this.localPort);
    if (this.reliable) w.ascii(this.secure ? ";transport=tls" : ";transport=tcp");
    w.ascii(">\r\n");
  }

  writeIdentification(w: SipWriter): void {
    w.header(H_ALLOW, ALLOW);
    w.ascii("User-Agent: Tincan/").ascii(FIRMWARE_VERSION).ascii("\r\n");
  }

  /**
   * A response to request m (8.2.6): its Via headers, From, Call-ID, CSeq, its To with our tag
   * added when it has none (and tag is given), and for dialog-making responses Record-Route and
   * Contact. The caller adds what else it needs and finishes the message.
   */
  beginResponse(m: SipMessage, status: i32, reason: string, tag: usize, tagLen: i32, dialog: bool): SipWriter {
    const w = this.writer.status(status, reason);
    for (let h = m.find(H_VIA, 0); h >= 0; h = m.find(H_VIA, h + 1)) w.headerBytes(H_VIA, m.valuePtr(h), m.valueLen[h]);
    copy(w, m, H_FROM);
    const to = m.find(H_TO, 0);
    if (to >= 0) {
      w.headerBytes(H_TO, m.valuePtr(to), m.valueLen[to]);
      if (tagLen > 0 && status > 100 && !hasTag(m, to, this.span)) {
        w.length -= 2; // reopen the line to append our tag
        w.ascii(";tag=").bytes(tag, tagLen).ascii("\r\n");
      }
    }
    copy(w, m, H_CALL_ID);
    copy(w, m, H_CSEQ);
    if (dialog) {
      for (let h = m.find(H_RECORD_ROUTE, 0); h >= 0; h = m.find(H_RECORD_ROUTE, h + 1)) w.headerBytes(H_RECORD_ROUTE, m.valuePtr(h), m.valueLen[h]);
      this.writeContact(w);
    }
    w.ascii("User-Agent: Tincan/").ascii(FIRMWARE_VERSION).ascii("\r\n");
    return w;
  }

  /** Answers request m from src with a status and no body, outside any transaction (8.2.1..8.2.4). */
  replyStateless(m: SipMessage, src: usize, status: i32, reason: string, extraName: string = "", extraValue: string = ""): void {
    const w = this.beginResponse(m, status, reason, this.freshToken(8), 8, false);
    if (extraName.length > 0) w.named(extraName, extraValue);
    const n = w.finish(0, 0);
    if (n > 0) this.outbox.push(w.address, n, src, this.connection);
  }

}

function copy(w: SipWriter, m: SipMessage, id: i32): void {
  const h = m.find(id, 0);
  if (h >= 0) w.headerBytes(id, m.valuePtr(h), m.valueLen[h]);
}

export function hasTag(m: SipMessage, h: i32, span: Span): bool {
  const end = m.valueAt[h] + m.valueLen[h];
  const pe = addressUri(m.base, m.valueAt[h], elementEnd(m.base, m.valueAt[h], end), span);
  return pe >= 0 && findParam(m.base, pe, end, "tag", span);
}
