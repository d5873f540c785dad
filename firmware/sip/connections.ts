// SIP over TCP (RFC 3261 18.3, RFC 5626 4.4.1): a few stream connections, each with its own
// receive buffer framed into messages by Content-Length, and a send buffer that holds what was
// queued before the connection was up or while the stack was full. No I/O: main.ts opens and
// feeds the connections through the HAL's tcp_* imports and drains what they want to send.

import { sipFrameLength, SIP_INCOMPLETE } from "./message";
import { SOCKADDR_BYTES, sockaddrEquals } from "../lib/inet";

export const CONN_FREE: i32 = 0;
export const CONN_WANTED: i32 = 1;      // main.ts should call tcp_connect
export const CONN_CONNECTING: i32 = 2;
export const CONN_OPEN: i32 = 3;

const CONNECTIONS: i32 = 4;
// The user agent keeps messages up to 4 KiB (larger ones get 513): room for one and a bit of the next.
const RX_BYTES: i32 = 4096 + 512;
const TX_BYTES: i32 = 6144;

export class SipConnection {
  state: i32 = CONN_FREE;
  handle: i32 = -1;
  readonly peer: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  readonly rx: StaticArray<u8> = new StaticArray<u8>(RX_BYTES);
  rxFill: i32 = 0;
  readonly tx: StaticArray<u8> = new StaticArray<u8>(TX_BYTES);
  txFill: i32 = 0;
  lastUseUs: i64 = 0;

  @inline get peerAddress(): usize { return changetype<usize>(this.peer); }
  @inline get rxAddress(): usize { return changetype<usize>(this.rx); }
  @inline get txAddress(): usize { return changetype<usize>(this.tx); }

  reset(): void { this.state = CONN_FREE; this.handle = -1; this.rxFill = 0; this.txFill = 0; }
}

export class SipConnections {
  readonly table: StaticArray<SipConnection>;
  refused: u32 = 0;       // messages that did not fit a send buffer, or no connection was free
  framingErrors: u32 = 0; // a stream that could not be framed (bad or huge Content-Length): closed
  pongs: u32 = 0;
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

  /** The connection to this SOCKADDR (an existing one, or a new one main.ts is to open), or -1. */
  toward(sa: usize, now: i64): i32 {
    let free = -1;
    let oldest = -1;
    for (let i = 0; i < CONNECTIONS; i++) {
      const c = this.at(i);
      if (c.state == CONN_FREE) { if (free < 0) free = i; continue; }
      if (sockaddrEquals(c.peerAddress, sa)) { c.lastUseUs = now; return i; }
      if (oldest < 0 || c.lastUseUs < this.at(oldest).lastUseUs) oldest = i;
    }
    if (free < 0) return -1; // all busy: the request fails over to its transaction timeout
    const c = this.at(free);
    c.reset();
    c.state = CONN_WANTED;
    c.lastUseUs = now;
    memory.copy(c.peerAddress, sa, <usize>SOCKADDR_BYTES);
    return free;
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
