// Writes SIP messages into a fixed buffer: start line, headers, then the body with its
// Content-Length computed. A message that does not fit sets `overflow` and is never sent half
// written; nothing is allocated.

import { headerName, H_CONTENT_LENGTH } from "./headers";

export class SipWriter {
  readonly data: StaticArray<u8>;
  length: i32 = 0;
  overflow: bool = false;

  constructor(readonly capacity: i32) { this.data = new StaticArray<u8>(capacity); }

  @inline get address(): usize { return changetype<usize>(this.data); }

  reset(): SipWriter { this.length = 0; this.overflow = false; return this; }

  request(method: string, uri: string): SipWriter {
    return this.reset().ascii(method).byte(0x20).ascii(uri).ascii(" SIP/2.0\r\n");
  }

  /** A request whose Request-URI is bytes of another message (a Contact, a route). */
  requestTo(method: string, uri: usize, uriLen: i32): SipWriter {
    return this.reset().ascii(method).byte(0x20).bytes(uri, uriLen).ascii(" SIP/2.0\r\n");
  }

  status(code: i32, reason: string): SipWriter {
    if (code < 100 || code > 699) { this.overflow = true; return this; }
    return this.reset().ascii("SIP/2.0 ").decimal(code).byte(0x20).ascii(reason).ascii("\r\n");
  }

  header(id: i32, value: string): SipWriter { return this.ascii(headerName(id)).ascii(": ").ascii(value).ascii("\r\n"); }

  /** A header whose value is bytes (copied from a received message, or built elsewhere). */
  headerBytes(id: i32, value: usize, len: i32): SipWriter { return this.ascii(headerName(id)).ascii(": ").bytes(value, len).ascii("\r\n"); }

  /** A header the writer has no id for (X- headers, rarely used ones). */
  named(name: string, value: string): SipWriter { return this.ascii(name).ascii(": ").ascii(value).ascii("\r\n"); }

  headerDecimal(id: i32, v: i64): SipWriter { return this.ascii(headerName(id)).ascii(": ").decimal(v).ascii("\r\n"); }

  /** Content-Length, the empty line and the body: the message is complete. Returns its length, or -1. */
  finish(body: usize, bodyLen: i32): i32 {
    this.headerDecimal(H_CONTENT_LENGTH, bodyLen).ascii("\r\n").bytes(body, bodyLen);
    return this.overflow ? -1 : this.length;
  }

  ascii(s: string): SipWriter {
    const n = s.length;
    if (this.length + n > this.capacity) { this.overflow = true; return this; }
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      unchecked(this.data[this.length + i] = c < 0x80 ? <u8>c : 0x3f);
    }
    this.length += n;
    return this;
  }

  bytes(p: usize, n: i32): SipWriter {
    if (n < 0 || this.length + n > this.capacity) { this.overflow = true; return this; }
    memory.copy(this.address + <usize>this.length, p, <usize>n);
    this.length += n;
    return this;
  }

  byte(c: u32): SipWriter {
    if (this.length + 1 > this.capacity) { this.overflow = true; return this; }
    unchecked(this.data[this.length++] = <u8>c);
    return this;
  }

  decimal(v: i64): SipWriter {
    if (v < 0) { this.byte(0x2d); v = -v; }
    let digits = 1;
    for (let t = v; t >= 10; t /= 10) digits++;
    if (this.length + digits > this.capacity) { this.overflow = true; return this; }
    for (let i = digits - 1; i >= 0; i--) {
      unchecked(this.data[this.length + i] = <u8>(0x30 + <i32>(v % 10)));
      v /= 10;
    }
    this.length += digits;
    return this;
  }
}
