// Pieces of SIP header values, found in place (RFC 3261 19.1, 20, 25.1): the URI of a
// name-addr or addr-spec, its parameters, the parts of a SIP URI, Via and CSeq. Every function
// works on offsets into one buffer and writes its findings into a caller-owned object, so
// nothing is allocated per message.

import { sockaddrFromText } from "../lib/inet";

@inline function at(p: usize, i: i32): u32 { return load<u8>(p + <usize>i); }
@inline function lower(c: u32): u32 { return c >= 0x41 && c <= 0x5a ? c | 0x20 : c; }
@inline function isWs(c: u32): bool { return c == 0x20 || c == 0x09; }

/** A span of bytes in a buffer: offset and length; length -1 means absent. */
export class Span {
  at: i32 = 0;
  len: i32 = -1;
  @inline get present(): bool { return this.len >= 0; }
  set(at: i32, len: i32): Span { this.at = at; this.len = len; return this; }
  clear(): Span { this.at = 0; this.len = -1; return this; }
}

export function spanIs(p: usize, at: i32, len: i32, s: string): bool {
  if (len != s.length) return false;
  for (let i = 0; i < len; i++) if (lower(load<u8>(p + <usize>(at + i))) != lower(<u32>s.charCodeAt(i))) return false;
  return true;
}

export function spansEqual(a: usize, aLen: i32, b: usize, bLen: i32): bool {
  return aLen == bLen && memory.compare(a, b, <usize>aLen) == 0;
}

/**
 * The URI of a name-addr (`"Bob" <sip:bob@h>;tag=x`) or addr-spec (`sip:bob@h;tag=x`, where the
 * parameters after the URI belong to the header, 20.10) in p[from..end). Sets `uri` and returns
 * the offset where header parameters start (at a ';' or end), or -1 when malformed.
 */
export function addressUri(p: usize, from: i32, end: i32, uri: Span): i32 {
  let i = from;
  while (i < end && isWs(at(p, i))) i++;
  // Skip a display name, quoted or a run of tokens, up to '<'.
  let lt = -1;
  let quoted = false;
  for (let j = i; j < end; j++) {
    const c = at(p, j);
    if (quoted) { if (c == 0x5c) j++; else if (c == 0x22) quoted = false; continue; }
    if (c == 0x22) quoted = true;
    else if (c == 0x3c) { lt = j; break; }
    else if (c == 0x3b || c == 0x2c) break;
  }
  if (quoted) return -1;
  if (lt >= 0) {
    let gt = lt + 1;
    while (gt < end && at(p, gt) != 0x3e) gt++;
    if (gt >= end || gt == lt + 1) return -1;
    uri.set(lt + 1, gt - lt - 1);
    return gt + 1;
  }
  let e = i;
  while (e < end && at(p, e) != 0x3b && !isWs(at(p, e))) e++;
  if (e == i) return -1;
  uri.set(i, e - i);
  while (e < end && isWs(at(p, e))) e++;
  return e;
}

/**
 * Finds `;name=value` (or a bare `;name`, value length 0) among the parameters in p[from..end),
 * outside quotes and angle brackets. Returns true and sets `value` when present.
 */
export function findParam(p: usize, from: i32, end: i32, name: string, value: Span): bool {
  value.clear();
  let i = from;
  while (i < end) {
    // Advance to the next ';' outside quotes / angles.
    let quoted = false;
    let angle = false;
    while (i < end) {
      const c = at(p, i);
      if (quoted) { if (c == 0x5c) i++; else if (c == 0x22) quoted = false; }
      else if (c == 0x22) quoted = true;
      else if (c == 0x3c) angle = true;
      else if (c == 0x3e) angle = false;
      else if (c == 0x3b && !angle) break;
      i++;
    }
    if (i >= end) return false;
    i++;
    while (i < end && isWs(at(p, i))) i++;
    let ne = i;
    while (ne < end && at(p, ne) != 0x3d && at(p, ne) != 0x3b && !isWs(at(p, ne)) && at(p, ne) != 0x3e) ne++;
    const matched = spanIs(p, i, ne - i, name);
    let v = ne;
    while (v < end && isWs(at(p, v))) v++;
    if (v < end && at(p, v) == 0x3d) {
      v++;
      while (v < end && isWs(at(p, v))) v++;
      let ve = v;
      if (ve < end && at(p, ve) == 0x22) {
        ve++;
        while (ve < end && at(p, ve) != 0x22) { if (at(p, ve) == 0x5c) ve++; ve++; }
        if (ve < end) ve++;
      } else {
        while (ve < end && at(p, ve) != 0x3b && at(p, ve) != 0x2c && !isWs(at(p, ve)) && at(p, ve) != 0x3e) ve++;
      }
      if (matched) { value.set(v, min(ve, end) - v); return true; }
      i = ve;
    } else {
      if (matched) { value.set(v, 0); return true; }
      i = ne;
    }
  }
  return false;
}

export const URI_OK: i32 = 0;
export const URI_BAD: i32 = -1;
export const URI_NOT_SIP: i32 = -2;

/** A SIP or SIPS URI's parts (19.1.1): user, host, port, and the parameters we act on. */
export class SipUri {
  secure: bool = false;
  readonly user: Span = new Span();
  readonly host: Span = new Span();
  port: i32 = 0;           // 0: none given
  readonly params: Span = new Span(); // ";..." up to '?' or the end
  readonly transport: Span = new Span();
  readonly maddr: Span = new Span();
  looseRoute: bool = false;

  /** Parses p[at..at+len); offsets stay relative to p. */
  parse(p: usize, at: i32, len: i32): i32 {
    this.user.clear(); this.host.clear(); this.params.clear(); this.transport.clear(); this.maddr.clear();
    this.port = 0;
    this.looseRoute = false;
    const end = at + len;
    for (let j = at; j < end; j++) { const c = load<u8>(p + <usize>j); if (c <= 0x20 || c >= 0x7f) return URI_BAD; }
    let i = at;
    if (len >= 4 && spanIs(p, at, 4, "sip:")) { this.secure = false; i += 4; }
    else if (len >= 5 && spanIs(p, at, 5, "sips:")) { this.secure = true; i += 5; }
    else return URI_NOT_SIP;
    let stop = i;
    while (stop < end && load<u8>(p + <usize>stop) != 0x3b && load<u8>(p + <usize>stop) != 0x3f) stop++;
    // The userinfo ends at the last '@' before the parameters.
    let atSign = -1;
    for (let j = i; j < stop; j++) if (load<u8>(p + <usize>j) == 0x40) atSign = j;
    if (atSign >= 0) {
      let ue = i;
      while (ue < atSign && load<u8>(p + <usize>ue) != 0x3a) ue++; // drop a ":password"
      if (ue == i) return URI_BAD;
      this.user.set(i, ue - i);
      i = atSign + 1;
    }
    let hostEnd = i;
    if (i < stop && load<u8>(p + <usize>i) == 0x5b) {
      while (hostEnd < stop && load<u8>(p + <usize>hostEnd) != 0x5d) hostEnd++;
      if (hostEnd >= stop) return URI_BAD;
      hostEnd++;
    } else {
      while (hostEnd < stop && load<u8>(p + <usize>hostEnd) != 0x3a) hostEnd++;
    }
    if (hostEnd == i) return URI_BAD;
    for (let j = i; j < hostEnd; j++) { const c = load<u8>(p + <usize>j); if (c <= 0x20 || c == 0x40 || c == 0x3e) return URI_BAD; }
    this.host.set(i, hostEnd - i);
    if (hostEnd < stop) {
      if (load<u8>(p + <usize>hostEnd) != 0x3a) return URI_BAD;
      let port = 0;
      if (hostEnd + 1 == stop || stop - hostEnd - 1 > 5) return URI_BAD;
      for (let j = hostEnd + 1; j < stop; j++) {
        const c = load<u8>(p + <usize>j);
        if (c < 0x30 || c > 0x39) return URI_BAD;
        port = port * 10 + <i32>(c - 0x30);
      }
      if (port == 0 || port > 65535) return URI_BAD;
      this.port = port;
    }
    if (stop < end && load<u8>(p + <usize>stop) == 0x3b) {
      let pe = stop;
      while (pe < end && load<u8>(p + <usize>pe) != 0x3f) pe++;
      this.params.set(stop, pe - stop);
      findParam(p, stop, pe, "transport", this.transport);
      findParam(p, stop, pe, "maddr", this.maddr);
      this.looseRoute = findParam(p, stop, pe, "lr", this.scratch);
    }
    return URI_OK;
  }

  private readonly scratch: Span = new Span();

  /** Fills a SOCKADDR for this URI's host (or maddr) and port (default 5060, 5061 for sips). False for a host name. */
  destination(p: usize, sa: usize): bool {
    const host = this.maddr.present ? this.maddr : this.host;
    const port = this.port != 0 ? this.port : (this.secure ? 5061 : 5060);
    return sockaddrFromText(sa, p + <usize>host.at, host.len, port);
  }

  isTcp(p: usize): bool { return this.transport.present && spanIs(p, this.transport.at, this.transport.len, "tcp"); }
}

/** The top Via's parts (18.2.1, 20.42): transport, sent-by, and the branch/received/rport parameters. */
export class Via {
  readonly transport: Span = new Span();
  readonly host: Span = new Span();
  port: i32 = 0;
  readonly branch: Span = new Span();
  readonly received: Span = new Span();
  readonly rport: Span = new Span();
  readonly sentBy: Span = new Span();

  /** Parses the first Via value in p[from..end) (a header may hold several, comma-separated). */
  parse(p: usize, from: i32, end: i32): i32 {
    this.branch.clear(); this.received.clear(); this.rport.clear();
    this.port = 0;
    let i = from;
    // "SIP / 2.0 / UDP": three tokens separated by '/', with optional whitespace.
    for (let part = 0; part < 3; part++) {
      while (i < end && isWs(at(p, i))) i++;
      let e = i;
      while (e < end && at(p, e) != 0x2f && !isWs(at(p, e))) e++;
      if (e == i) return URI_BAD;
      if (part == 0 && !spanIs(p, i, e - i, "SIP")) return URI_BAD;
      if (part == 1 && !spanIs(p, i, e - i, "2.0")) return URI_BAD;
      if (part == 2) this.transport.set(i, e - i);
      i = e;
      while (i < end && isWs(at(p, i))) i++;
      if (part < 2) { if (i >= end || at(p, i) != 0x2f) return URI_BAD; i++; }
    }
    let stop = i;
    while (stop < end && at(p, stop) != 0x3b && at(p, stop) != 0x2c) stop++;
    let se = stop;
    while (se > i && isWs(at(p, se - 1))) se--;
    if (se == i) return URI_BAD;
    this.sentBy.set(i, se - i);
    let hostEnd = i;
    if (at(p, i) == 0x5b) {
      while (hostEnd < se && at(p, hostEnd) != 0x5d) hostEnd++;
      if (hostEnd >= se) return URI_BAD;
      hostEnd++;
    } else {
      while (hostEnd < se && at(p, hostEnd) != 0x3a) hostEnd++;
    }
    this.host.set(i, hostEnd - i);
    if (hostEnd < se) {
      if (at(p, hostEnd) != 0x3a) return URI_BAD;
      let port = 0;
      for (let j = hostEnd + 1; j < se; j++) {
        const c = at(p, j);
        if (c < 0x30 || c > 0x39 || port > 65535) return URI_BAD;
        port = port * 10 + <i32>(c - 0x30);
      }
      if (port == 0 || port > 65535) return URI_BAD;
      this.port = port;
    }
    let pe = stop;
    while (pe < end && at(p, pe) != 0x2c) pe++;
    findParam(p, stop, pe, "branch", this.branch);
    findParam(p, stop, pe, "received", this.received);
    findParam(p, stop, pe, "rport", this.rport);
    return URI_OK;
  }

  /** RFC 3261 17.2.3: a branch starting with the magic cookie identifies the transaction by itself. */
  hasMagicCookie(p: usize): bool { return this.branch.len > 7 && spanIs(p, this.branch.at, 7, "z9hG4bK"); }
}

/** CSeq: sequence number and method (20.16). */
export class CSeq {
  number: u32 = 0;
  readonly method: Span = new Span();

  parse(p: usize, from: i32, end: i32): i32 {
    let i = from;
    let n: u64 = 0;
    let digits = 0;
    while (i < end && at(p, i) >= 0x30 && at(p, i) <= 0x39) {
      n = n * 10 + <u64>(at(p, i) - 0x30);
      if (++digits > 10 || n > 0xffffffff) return URI_BAD;
      i++;
    }
    if (digits == 0 || i >= end || !isWs(at(p, i))) return URI_BAD;
    while (i < end && isWs(at(p, i))) i++;
    let e = i;
    while (e < end && !isWs(at(p, e))) e++;
    if (e == i) return URI_BAD;
    this.number = <u32>n;
    this.method.set(i, e - i);
    return URI_OK;
  }
}
