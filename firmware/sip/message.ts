// SIP message parsing (RFC 3261 sections 7 and 25) in place, over the bytes of one datagram or
// one framed stream message: the start line, headers (compact forms, case-insensitive names,
// line folding unfolded in place), the body by Content-Length. Nothing is allocated per
// message: a SipMessage holds offsets into the caller's buffer, for at most MAX_HEADERS headers.

import { headerId, H_CALL_ID, H_CONTENT_LENGTH, H_CSEQ, H_FROM, H_TO, H_VIA } from "./headers";

export const SIP_OK: i32 = 0;
export const SIP_INCOMPLETE: i32 = -1;
export const SIP_TOO_LARGE: i32 = -2;
export const SIP_BAD_START_LINE: i32 = -3;
export const SIP_BAD_HEADER: i32 = -4;
export const SIP_TOO_MANY_HEADERS: i32 = -5;
export const SIP_BAD_CONTENT_LENGTH: i32 = -6;
export const SIP_MISSING_HEADER: i32 = -7;

export const MAX_HEADERS: i32 = 64;
export const MAX_MESSAGE: i32 = 8192;

const CR: u32 = 13, LF: u32 = 10, SP: u32 = 32, HT: u32 = 9, COLON: u32 = 58;

@inline function at(p: usize, i: i32): u32 { return load<u8>(p + <usize>i); }
@inline function isWs(c: u32): bool { return c == SP || c == HT; }
@inline function lower(c: u32): u32 { return c >= 0x41 && c <= 0x5a ? c | 0x20 : c; }

/** RFC 3261 token characters (25.1): alphanumerics and -.!%*_+`'~ */
function isToken(c: u32): bool {
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) return true;
  return c == 0x2d || c == 0x2e || c == 0x21 || c == 0x25 || c == 0x2a || c == 0x5f || c == 0x2b || c == 0x60 || c == 0x27 || c == 0x7e;
}

/** End of the line starting at i (index of its CR or lone LF), or -1. */
function lineEnd(p: usize, i: i32, len: i32): i32 {
  for (let j = i; j < len; j++) if (at(p, j) == LF) return j > i && at(p, j - 1) == CR ? j - 1 : j;
  return -1;
}

/** Index after the line break at e (CRLF or LF). */
@inline function afterBreak(p: usize, e: i32): i32 { return at(p, e) == CR ? e + 2 : e + 1; }

function isVersion(p: usize, i: i32, len: i32): bool {
  if (len != 7) return false;
  return lower(at(p, i)) == 0x73 && lower(at(p, i + 1)) == 0x69 && lower(at(p, i + 2)) == 0x70 && at(p, i + 3) == 0x2f &&
    at(p, i + 4) == 0x32 && at(p, i + 5) == 0x2e && at(p, i + 6) == 0x30;
}

/** Decimal digits at [i, end) as a non-negative number, or -1 (none, or above limit). */
export function parseDecimal(p: usize, i: i32, end: i32, limit: i64): i64 {
  if (i >= end) return -1;
  let v: i64 = 0;
  for (let j = i; j < end; j++) {
    const c = at(p, j);
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + <i64>(c - 0x30);
    if (v > limit) return -1;
  }
  return v;
}

export class SipMessage {
  base: usize = 0;
  length: i32 = 0;
  isRequest: bool = false;
  methodAt: i32 = 0;
  methodLen: i32 = 0;
  uriAt: i32 = 0;
  uriLen: i32 = 0;
  status: i32 = 0;
  reasonAt: i32 = 0;
  reasonLen: i32 = 0;
  count: i32 = 0;
  readonly ids: StaticArray<i32> = new StaticArray<i32>(MAX_HEADERS);
  readonly nameAt: StaticArray<i32> = new StaticArray<i32>(MAX_HEADERS);
  readonly nameLen: StaticArray<i32> = new StaticArray<i32>(MAX_HEADERS);
  readonly valueAt: StaticArray<i32> = new StaticArray<i32>(MAX_HEADERS);
  readonly valueLen: StaticArray<i32> = new StaticArray<i32>(MAX_HEADERS);
  bodyAt: i32 = 0;
  bodyLen: i32 = 0;

  /**
   * Parses len bytes at p. `datagram`: the body is what follows the headers, cut to
   * Content-Length if that is shorter (RFC 3261 18.3); on a stream the caller framed the
   * message with sipFrameLength, so Content-Length must match exactly. Folded header lines
   * are unfolded in place (the break becomes spaces). Returns SIP_OK or a negative SIP_ code.
   */
  parse(p: usize, len: i32, datagram: bool): i32 {
    this.base = p;
    this.length = len;
    this.count = 0;
    this.bodyAt = 0;
    this.bodyLen = 0;
    if (len > MAX_MESSAGE) return SIP_TOO_LARGE;
    let i = 0;
    while (i < len && (at(p, i) == CR || at(p, i) == LF)) i++; // 7.5: CRLFs before the start line
    const e = lineEnd(p, i, len);
    if (e < 0) return SIP_BAD_START_LINE;
    const r = this.startLine(p, i, e);
    if (r != SIP_OK) return r;
    i = afterBreak(p, e);
    let contentLength: i64 = -1;
    for (;;) {
      if (i >= len) return SIP_BAD_HEADER; // no empty line ends the headers
      const end = lineEnd(p, i, len);
      if (end < 0) return SIP_BAD_HEADER;
      if (end == i) { i = afterBreak(p, end); break; }
      if (isWs(at(p, i))) {
        // A folded line continues the previous header's value (7.3.1): unfold it in place.
        if (this.count == 0) return SIP_BAD_HEADER;
        for (let j = i; j < end; j++) if (at(p, j) == CR) return SIP_BAD_HEADER; // no lone CR in a fold either
        const h = this.count - 1;
        const prevEnd = unchecked(this.valueAt[h]) + unchecked(this.valueLen[h]);
        for (let j = prevEnd; j < i; j++) store<u8>(p + <usize>j, <u8>SP);
        let last = end;
        while (last > i && isWs(at(p, last - 1))) last--;
        // A value may begin on the folded line ("Content-Length:" CRLF SP "4"): skip to it.
        let first = unchecked(this.valueAt[h]);
        while (first < last && isWs(at(p, first))) first++;
        unchecked(this.valueAt[h] = first);
        unchecked(this.valueLen[h] = last - first);
        i = afterBreak(p, end);
        continue;
      }
      const hr = this.header(p, i, end);
      if (hr != SIP_OK) return hr;
      i = afterBreak(p, end);
    }
    // After unfolding: every Content-Length must be a number, and all the same.
    for (let h = this.find(H_CONTENT_LENGTH, 0); h >= 0; h = this.find(H_CONTENT_LENGTH, h + 1)) {
      const v = parseDecimal(p, unchecked(this.valueAt[h]), unchecked(this.valueAt[h]) + unchecked(this.valueLen[h]), <i64>MAX_MESSAGE);
      if (v < 0 || (contentLength >= 0 && v != contentLength)) return SIP_BAD_CONTENT_LENGTH;
      contentLength = v;
    }
    const rest = len - i;
    this.bodyAt = i;
    if (contentLength < 0) {
      if (!datagram) return SIP_BAD_CONTENT_LENGTH; // a stream must say (18.3)
      this.bodyLen = rest;
    } else {
      if (<i64>rest < contentLength || (!datagram && <i64>rest != contentLength)) return SIP_BAD_CONTENT_LENGTH;
      this.bodyLen = <i32>contentLength;
    }
    if (this.find(H_VIA, 0) < 0 || this.find(H_FROM, 0) < 0 || this.find(H_TO, 0) < 0 || this.find(H_CALL_ID, 0) < 0 || this.find(H_CSEQ, 0) < 0)
      return SIP_MISSING_HEADER;
    return SIP_OK;
  }

  /** Index of the first header with this id at or after `from`, or -1. */
  find(id: i32, from: i32): i32 {
    for (let h = max(from, 0); h < this.count; h++) if (unchecked(this.ids[h]) == id) return h;
    return -1;
  }

  /** Address of header h's value (its length is valueLen[h]). */
  @inline valuePtr(h: i32): usize { return this.base + <usize>unchecked(this.valueAt[h]); }

  /** Case-sensitive comparison of a value (or any span of the message) with an ASCII string. */
  spanEquals(offset: i32, len: i32, s: string, caseless: bool = false): bool {
    if (len != s.length) return false;
    for (let i = 0; i < len; i++) {
      let c = at(this.base, offset + i);
      let d = <u32>s.charCodeAt(i);
      if (caseless) { c = lower(c); d = lower(d); }
      if (c != d) return false;
    }
    return true;
  }

  isMethod(name: string): bool { return this.isRequest && this.spanEquals(this.methodAt, this.methodLen, name); }

  private startLine(p: usize, i: i32, e: i32): i32 {
    // Three parts separated by single spaces; the reason phrase may hold spaces itself.
    let s1 = i;
    while (s1 < e && at(p, s1) != SP) s1++;
    if (s1 >= e) return SIP_BAD_START_LINE;
    let s2 = s1 + 1;
    while (s2 < e && at(p, s2) != SP) s2++;
    if (isVersion(p, i, s1 - i)) {
      if (s2 - s1 - 1 != 3) return SIP_BAD_START_LINE;
      const code = parseDecimal(p, s1 + 1, s2, 699);
      if (code < 100) return SIP_BAD_START_LINE;
      this.isRequest = false;
      this.status = <i32>code;
      this.reasonAt = s2 < e ? s2 + 1 : e;
      this.reasonLen = e - this.reasonAt;
      return SIP_OK;
    }
    if (s2 >= e || !isVersion(p, s2 + 1, e - s2 - 1) || s2 == s1 + 1) return SIP_BAD_START_LINE;
    for (let j = i; j < s1; j++) if (!isToken(at(p, j))) return SIP_BAD_START_LINE;
    for (let j = s1 + 1; j < s2; j++) { const c = at(p, j); if (c <= SP || c >= 0x7f) return SIP_BAD_START_LINE; }
    this.isRequest = true;
    this.methodAt = i;
    this.methodLen = s1 - i;
    this.uriAt = s1 + 1;
    this.uriLen = s2 - s1 - 1;
    this.status = 0;
    return SIP_OK;
  }

  private header(p: usize, i: i32, end: i32): i32 {
    // A lone CR is no line break and no header character (25.1): echoing it would forge lines.
    for (let j = i; j < end; j++) if (at(p, j) == CR) return SIP_BAD_HEADER;
    let colon = i;
    while (colon < end && at(p, colon) != COLON) colon++;
    if (colon >= end) return SIP_BAD_HEADER;
    let nameEnd = colon;
    while (nameEnd > i && isWs(at(p, nameEnd - 1))) nameEnd--; // "Subject  :" is allowed (7.3.1)
    if (nameEnd == i) return SIP_BAD_HEADER;
    for (let j = i; j < nameEnd; j++) if (!isToken(at(p, j))) return SIP_BAD_HEADER;
    if (this.count >= MAX_HEADERS) return SIP_TOO_MANY_HEADERS;
    let v = colon + 1;
    while (v < end && isWs(at(p, v))) v++;
    let ve = end;
    while (ve > v && isWs(at(p, ve - 1))) ve--;
    const h = this.count++;
    unchecked(this.ids[h] = headerId(p + <usize>i, nameEnd - i));
    unchecked(this.nameAt[h] = i);
    unchecked(this.nameLen[h] = nameEnd - i);
    unchecked(this.valueAt[h] = v);
    unchecked(this.valueLen[h] = ve - v);
    return SIP_OK;
  }
}

/**
 * Where the next element of a comma-separated header value ends (7.3.1: several values in one
 * header), from `from` to `end` offsets in the message: the index of the separating comma, or
 * end. Commas inside quoted strings (with backslash escapes) and inside <...> do not separate.
 */
export function elementEnd(p: usize, from: i32, end: i32): i32 {
  let quoted = false;
  let angle = false;
  for (let j = from; j < end; j++) {
    const c = at(p, j);
    if (quoted) {
      if (c == 0x5c) j++;
      else if (c == 0x22) quoted = false;
    } else if (c == 0x22) quoted = true;
    else if (c == 0x3c) angle = true;
    else if (c == 0x3e) angle = false;
    else if (c == 0x2c && !angle) return j;
  }
  return end;
}

/**
 * Stream framing (RFC 3261 18.3): the length of the first whole message in len bytes at p,
 * SIP_INCOMPLETE when more bytes are needed, or SIP_TOO_LARGE / SIP_BAD_CONTENT_LENGTH.
 * Leading CRLFs (keepalives, RFC 5626) are part of the count and ignored by parse().
 */
export function sipFrameLength(p: usize, len: i32): i32 {
  let i = 0;
  while (i < len && (at(p, i) == CR || at(p, i) == LF)) i++;
  const start = i;
  let contentLength: i64 = -1;
  let lineStart = start;
  for (; i < len; i++) {
    if (at(p, i) != LF) continue;
    const e = i > lineStart && at(p, i - 1) == CR ? i - 1 : i;
    if (e == lineStart && lineStart > start) {
      if (contentLength < 0) return SIP_BAD_CONTENT_LENGTH;
      const total = <i64>(i + 1) + contentLength;
      if (total > <i64>MAX_MESSAGE) return SIP_TOO_LARGE;
      return total <= <i64>len ? <i32>total : SIP_INCOMPLETE;
    }
    // Content-Length (or l) on a line of its own; folding of this header is not supported on streams.
    let colon = lineStart;
    while (colon < e && at(p, colon) != COLON) colon++;
    if (colon < e) {
      let ne = colon;
      while (ne > lineStart && isWs(at(p, ne - 1))) ne--;
      if (headerId(p + <usize>lineStart, ne - lineStart) == H_CONTENT_LENGTH) {
        let v = colon + 1;
        while (v < e && isWs(at(p, v))) v++;
        let ve = e;
        while (ve > v && isWs(at(p, ve - 1))) ve--;
        const n = parseDecimal(p, v, ve, <i64>MAX_MESSAGE);
        if (n < 0) return SIP_BAD_CONTENT_LENGTH;
        contentLength = n;
      }
    }
    lineStart = i + 1;
  }
  return len > MAX_MESSAGE ? SIP_TOO_LARGE : SIP_INCOMPLETE;
}
