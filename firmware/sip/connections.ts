// SIP over TCP and TLS (RFC 3261 18.3, 26.2; RFC 5626 4.4.1): a few stream connections, each
// with its own receive buffer framed into messages by Content-Length, and a send buffer that
// holds what was queued before the connection was up or while the stack was full. No I/O:
// main.ts opens them through the HAL (tcp_connect, or tls_connect with the server name kept
// here), feeds them and drains what they want to send.
//
// Keepalives (RFC 5626 4.4.1): a connection we opened (the flow to the registrar, which a
// board behind NAT depends on for calls in) gets a CRLFCRLF ping every KEEPALIVE_US; when
// nothing at all comes back within PONG_WAIT_US the flow is dead (CONN_STALE: main.ts closes
// it and the registration opens a new one). A peer's ping is answered with a CRLF pong.

import { sipFrameLength, SIP_INCOMPLETE } from "./message";
import { SOCKADDR_BYTES, sockaddrEquals } from "../lib/inet";

export const CONN_FREE: i32 = 0;
export const CONN_WANTED: i32 = 1;      // main.ts should call tcp_connect
export const CONN_CONNECTING: i32 = 2;
export const CONN_OPEN: i32 = 3;
export const CONN_STALE: i32 = 4;       // no pong: main.ts should close it

// Below the 120 s a proxy commonly keeps an idle connection (kamailio's tcp_connection_lifetime).
export const KEEPALIVE_US: i64 = 90_000_000;
export const PONG_WAIT_US: i64 = 10_000_000;
/** Longest TLS server name a connection keeps (the registrar URI's host). */
export const SERVER_NAME_MAX: i32 = 64;

const CONNECTIONS: i32 = 4;
// The user agent keeps messages up to 4 KiB (larger ones get 513): room for one and a bit of the next.
const RX_BYTES: i32 = 4096 + 512;
const TX_BYTES: i32 = 4608; // one 4 KiB message and a keepalive queued behind it

export class SipConnection {
  state: i32 = CONN_FREE;
  handle: i32 = -1;
  readonly peer: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  readonly rx: StaticArray<u8> = new StaticArray<u8>(RX_BYTES);
  rxFill: i32 = 0;
  readonly tx: StaticArray<u8> = new StaticArray<u8>(TX_BYTES);
  txFill: i32 = 0;
  lastUseUs: i64 = 0;
  /** TLS (tls_connect with `name`), else plain TCP. */
  secure: bool = false;
  readonly name: StaticArray<u8> = new StaticArray<u8>(SERVER_NAME_MAX);
  nameLength: i32 = 0;     // 0: the server is checked against the address dialled
  outgoing: bool = false;  // we opened it (not accepted from tcp_listen)
  everReceived: bool = false;
  nextPingUs: i64 = -1;
  pongDueUs: i64 = -1;

  @inline get peerAddress(): usize { return changetype<usize>(this.peer); }
  @inline get rxAddress(): usize { return changetype<usize>(this.rx); }
  @inline get txAddress(): usize { return changetype<usize>(this.tx); }

  @inline get nameAddress(): usize { return changetype<usize>(this.name); }

  reset(): void {
    this.state = CONN_FREE; this.handle = -1; this.rxFill = 0; this.txFill = 0;
    this.secure = false; this.nameLength = 0; this.outgoing = false; this.everReceived = false;
    this.nextPingUs = -1; this.pongDueUs = -1;
  }
}

export class SipConnections {
  readonly table: StaticArray<SipConnection>;
  refused: u32 = 0;       // messages that did not fit a send buffer, or no connection was free
  framingErrors: u32 = 0; // a stream that could not be framed (bad or huge Content-Length): closed
  pongs: u32 = 0;         // pings a peer sent us, answered
  pingsSent: u32 = 0;
  staleFlows: u32 = 0;    // flows given up for want of a pong
  // The message extract() found, as an offset and length in the connection's receive buffer.
  messageAt: i32 = 0;
  messageLength: i32 = 0;
  /** Set by extract() when the peer sent a CRLFCRLF ping: answer with a CRLF pong (RFC 5626). */
  pingSeen: bool = false;

  constructor() {
    const t = new StaticArray<SipConnection>(CONNECTIONS);
    for (let i = 0; i < CONNECTIONS; i++) unchecked(t[i] = new SipConnection());
    this.table = t;
  }

  @inline at(i: i32): SipConnection { return unchecked(this.table[i]); }

  /**
   * The connection to this SOCKADDR (an existing one, or a new one main.ts is to open), or -1.
   * `secure`: TLS, its server checked against name[0..nameLen) (0: against the address).
   */
  toward(sa: usize, now: i64, secure: bool = false, name: usize = 0, nameLen: i32 = 0): i32 {
    let free = -1;
    let oldest = -1;
    for (let i = 0; i < CONNECTIONS; i++) {
      const c = this.at(i);
      if (c.state == CONN_FREE) { if (free < 0) free = i; continue; }
      if (c.secure == secure && c.state != CONN_STALE && sockaddrEquals(c.peerAddress, sa)) { c.lastUseUs = now; return i; }
      if (oldest < 0 || c.lastUseUs < this.at(oldest).lastUseUs) oldest = i;
    }
    if (free < 0) return -1; // all busy: the request fails over to its transaction timeout
    const c = this.at(free);
    c.reset();
    c.state = CONN_WANTED;
    c.lastUseUs = now;
    c.outgoing = true;
    c.secure = secure;
    if (secure && nameLen > 0 && nameLen <= SERVER_NAME_MAX) {
      memory.copy(c.nameAddress, name, <usize>nameLen);
      c.nameLength = nameLen;
    }
    memory.copy(c.peerAddress, sa, <usize>SOCKADDR_BYTES);
    return free;
  }

  /** Connection i is up (TCP connected, or the TLS handshake done): keepalives start. */
  opened(i: i32, now: i64): void {
    if (i < 0 || i >= CONNECTIONS) return;
    const c = this.at(i);
    if (c.state != CONN_CONNECTING && c.state != CONN_WANTED) return;
    c.state = CONN_OPEN;
    c.nextPingUs = c.outgoing ? now + KEEPALIVE_US : -1;
  }

  /** Pings flows that are due, and marks CONN_STALE those whose pong never came. */
  tick(now: i64): void {
    for (let i = 0; i < CONNECTIONS; i++) {
      const c = this.at(i);
      if (c.state != CONN_OPEN || !c.outgoing) continue;
      if (c.pongDueUs >= 0 && now >= c.pongDueUs) { c.state = CONN_STALE; this.staleFlows++; continue; }
      if (c.nextPingUs >= 0 && now >= c.nextPingUs && c.txFill + 4 <= TX_BYTES) {
        const t = c.txAddress + <usize>c.txFill;
        store<u32>(t, 0x0a0d0a0d); // CR LF CR LF
        c.txFill += 4;
        this.pingsSent++;
        c.nextPingUs = now + KEEPALIVE_US;
        if (c.pongDueUs < 0) c.pongDueUs = now + PONG_WAIT_US;
      }
    }
  }

  /** The next keepalive deadline, or -1. */
  timeout(): i64 {
    let next: i64 = -1;
    for (let i = 0; i < CONNECTIONS; i++) {
      const c = this.at(i);
      if (c.state == CONN_STALE) return 0; // close it at once
      if (c.state != CONN_OPEN || !c.outgoing) continue;
      if (c.nextPingUs >= 0 && (next < 0 || c.nextPingUs < next)) next = c.nextPingUs;
      if (c.pongDueUs >= 0 && (next < 0 || c.pongDueUs < next)) next = c.pongDueUs;
    }
    return next;
  }

  /** A connection the peer opened to us (tcp_listen): its handle and address. */
  accepted(handle: i32, peer: usize, now: i64): i32 {
    for (let i = 0; i < CONNECTIONS; i++) {
      const c = this.at(i);
      if (c.state != CONN_FREE) continue;
      c.reset();
      c.state = CONN_OPEN;
      c.handle = handle;
      c.lastUseUs = now;
      memory.copy(c.peerAddress, peer, <usize>SOCKADDR_BYTES);
      return i;
    }
    return -1;
  }

  byHandle(handle: i32): i32 {
    for (let i = 0; i < CONNECTIONS; i++) if (this.at(i).state != CONN_FREE && this.at(i).handle == handle) return i;
    return -1;
  }

  /** Queues a message on connection i; false (counted) when it does not fit. */
  queue(i: i32, p: usize, len: i32): bool {
    if (i < 0 || i >= CONNECTIONS) { this.refused++; return false; }
    const c = this.at(i);
    if (c.state == CONN_FREE || c.txFill + len > TX_BYTES) { this.refused++; return false; }
    memory.copy(c.txAddress + <usize>c.txFill, p, <usize>len);
    c.txFill += len;
    return true;
  }

  /** The stack took `n` bytes of connection i's send buffer. */
  sent(i: i32, n: i32): void {
    const c = this.at(i);
    if (n <= 0) return;
    if (n >= c.txFill) { c.txFill = 0; return; }
    memory.copy(c.txAddress, c.txAddress + <usize>n, <usize>(c.txFill - n));
    c.txFill -= n;
  }

  /** Bytes arrived on connection i. False when they overflow the receive buffer (close it). */
  received(i: i32, p: usize, len: i32): bool {
    const c = this.at(i);
    // Anything from the peer (a pong, a message) shows the flow is alive.
    if (len > 0) { c.everReceived = true; c.pongDueUs = -1; }
    if (c.rxFill + len > RX_BYTES) { this.framingErrors++; return false; }
    memory.copy(c.rxAddress + <usize>c.rxFill, p, <usize>len);
    c.rxFill += len;
    return true;
  }

  /**
   * The next whole message in connection i's receive buffer: 1 (at messageAt, messageLength),
   * 0 when more bytes are needed, -1 when the stream cannot be framed (close it). Call consume()
   * after handling the message.
   */
  extract(i: i32): i32 {
    const c = this.at(i);
    const p = c.rxAddress;
    this.pingSeen = false;
    // Keepalives between messages: CRLFCRLF is a ping (the caller answers CRLF), CRLF a pong.
    let skip = 0;
    while (skip < c.rxFill && (load<u8>(p + <usize>skip) == 0x0d || load<u8>(p + <usize>skip) == 0x0a)) skip++;
    if (skip >= 4) { this.pingSeen = true; this.pongs++; }
    if (skip > 0) this.discard(c, skip);
    if (c.rxFill == 0) return 0;
    const n = sipFrameLength(p, c.rxFill);
    if (n == SIP_INCOMPLETE) return 0;
    if (n < 0) { this.framingErrors++; return -1; }
    this.messageAt = 0;
    this.messageLength = n;
    return 1;
  }

  consume(i: i32): void { this.discard(this.at(i), this.messageLength); }

  closed(i: i32): void { if (i >= 0 && i < CONNECTIONS) this.at(i).reset(); }

  private discard(c: SipConnection, n: i32): void {
    if (n >= c.rxFill) { c.rxFill = 0; return; }
    memory.copy(c.rxAddress, c.rxAddress + <usize>n, <usize>(c.rxFill - n));
    c.rxFill -= n;
  }
}
