// IP addresses as text and as the ABI's SOCKADDR (boards/ABI.md): family byte, reserved byte,
// big-endian port, 16 address bytes (IPv4 in the first 4). Parsing refuses anything that is not
// a literal (the firmware has no resolver: SIP and SDP peers are addressed by IP).

export const SOCKADDR_BYTES: i32 = 20;
export const FAMILY_IPV4: u8 = 4;
export const FAMILY_IPV6: u8 = 6;

@inline function at(p: usize, i: i32): u32 { return load<u8>(p + <usize>i); }

function hexValue(c: u32): i32 {
  if (c >= 0x30 && c <= 0x39) return <i32>c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return <i32>l - 0x61 + 10;
  return -1;
}

/** Parses a dotted quad at p[0..len) into 4 bytes at out. False unless it is exactly one. */
export function parseIpv4(p: usize, len: i32, out: usize): bool {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= len; i++) {
    const c = i < len ? at(p, i) : 0x2e;
    if (c == 0x2e) {
      if (digits == 0 || part > 3) return false;
      store<u8>(out + <usize>part, <u8>value);
      part++;
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && value == 0) return false; // no leading zeros (ambiguous octal)
      value = value * 10 + <i32>(c - 0x30);
      if (++digits > 3 || value > 255) return false;
    } else return false;
  }
  return part == 4;
}

/** Parses an IPv6 literal (RFC 4291 2.2: hex groups, one "::", a trailing dotted quad) into 16 bytes. */
export function parseIpv6(p: usize, len: i32, out: usize): bool {
  memory.fill(out, 0, 16);
  let groups = 0;       // 16-bit groups written so far
  let gap = -1;         // group index where "::" stands
  let i = 0;
  if (len >= 2 && at(p, 0) == 0x3a) {
    if (at(p, 1) != 0x3a) return false;
    gap = 0;
    i = 2;
  }
  while (i < len) {
    // A dotted quad may end the address in place of the last two groups.
    let dot = false;
    let j = i;
    while (j < len && at(p, j) != 0x3a) { if (at(p, j) == 0x2e) dot = true; j++; }
    if (dot) {
      if (j != len || groups > 6 || !parseIpv4(p + <usize>i, len - i, out + <usize>(groups * 2))) return false;
      groups += 2;
      i = len;
      break;
    }
    if (j == i || j - i > 4 || groups >= 8) return false;
    let v = 0;
    for (let k = i; k < j; k++) {
      const h = hexValue(at(p, k));
      if (h < 0) return false;
      v = (v << 4) | h;
    }
    store<u8>(out + <usize>(groups * 2), <u8>(v >> 8));
    store<u8>(out + <usize>(groups * 2 + 1), <u8>v);
    groups++;
    i = j;
    if (i < len) {
      i++; // the colon
      if (i < len && at(p, i) == 0x3a) {
        if (gap >= 0) return false;
        gap = groups;
        i++;
      } else if (i == len) return false; // a trailing single colon
    }
  }
  if (gap < 0) return groups == 8;
  if (groups > 7) return false;
  // Move the groups after the gap to the end.
  const tail = groups - gap;
  for (let k = tail - 1; k >= 0; k--) {
    const from = out + <usize>((gap + k) * 2);
    const to = out + <usize>((8 - tail + k) * 2);
    store<u16>(to, load<u16>(from));
    if (to != from) store<u16>(from, 0);
  }
  return true;
}

/** Fills a SOCKADDR at sa from an address literal (IPv4, or IPv6 with or without brackets) and a port. */
export function sockaddrFromText(sa: usize, p: usize, len: i32, port: i32): bool {
  memory.fill(sa, 0, SOCKADDR_BYTES);
  if (port < 0 || port > 65535) return false;
  store<u8>(sa + 2, <u8>(port >> 8));
  store<u8>(sa + 3, <u8>port);
  if (len >= 2 && at(p, 0) == 0x5b && at(p, len - 1) == 0x5d) { p += 1; len -= 2; }
  if (parseIpv4(p, len, sa + 4)) { store<u8>(sa, FAMILY_IPV4); return true; }
  if (parseIpv6(p, len, sa + 4)) { store<u8>(sa, FAMILY_IPV6); return true; }
  memory.fill(sa, 0, SOCKADDR_BYTES);
  return false;
}

/**
 * Fills a SOCKADDR at sa from a transport address `IPv4[:port]` or `[IPv6][:port]` at p[0..len)
 * (defaultPort when none is written). False, with sa zeroed, for anything else: a host name (no
 * resolver), an IPv6 address without brackets (its last group would read as a port), an IPv4
 * one in brackets, a port that is not 1..65535 in at most five digits, or text after the port.
 */
export function parseHostPort(p: usize, len: i32, sa: usize, defaultPort: i32): bool {
  memory.fill(sa, 0, SOCKADDR_BYTES);
  if (len <= 0) return false;
  let hostAt = 0;
  let hostLen = len;
  let portAt = -1;
  const bracketed = at(p, 0) == 0x5b;
  if (bracketed) {
    let close = 1;
    while (close < len && at(p, close) != 0x5d) close++;
    if (close >= len) return false;
    hostAt = 1;
    hostLen = close - 1;
    if (close + 1 < len) {
      if (at(p, close + 1) != 0x3a) return false;
      portAt = close + 2;
    }
  } else {
    for (let i = 0; i < len; i++) {
      if (at(p, i) != 0x3a) continue;
      if (portAt >= 0) return false; // a second colon: IPv6 needs brackets
      hostLen = i;
      portAt = i + 1;
    }
  }
  let port = defaultPort;
  if (portAt >= 0) {
    const digits = len - portAt;
    if (digits < 1 || digits > 5) return false;
    port = 0;
    for (let i = portAt; i < len; i++) {
      const c = at(p, i);
      if (c < 0x30 || c > 0x39) return false;
      port = port * 10 + <i32>(c - 0x30);
    }
  }
  if (port < 1 || port > 65535) return false;
  if (!sockaddrFromText(sa, p + <usize>hostAt, hostLen, port)) return false;
  if ((load<u8>(sa) == FAMILY_IPV6) != bracketed) { memory.fill(sa, 0, SOCKADDR_BYTES); return false; }
  return true;
}

@inline export function sockaddrPort(sa: usize): i32 { return <i32>((at(sa, 2) << 8) | at(sa, 3)); }
@inline export function sockaddrFamily(sa: usize): u8 { return load<u8>(sa); }

export function sockaddrEquals(a: usize, b: usize): bool {
  return memory.compare(a, b, <usize>SOCKADDR_BYTES) == 0;
}

export function setSockaddrPort(sa: usize, port: i32): void {
  store<u8>(sa + 2, <u8>(port >> 8));
  store<u8>(sa + 3, <u8>port);
}

const HEX = "0123456789abcdef";

/**
 * Writes the address of a SOCKADDR as text (dotted quad, or RFC 5952 IPv6: lowercase, the
 * longest run of two or more zero groups as "::"), without brackets. Returns the length, or -1
 * when cap is too small (46 always suffices) or the family is unknown.
 */
export function formatAddress(sa: usize, out: usize, cap: i32): i32 {
  let n = 0;
  const family = load<u8>(sa);
  if (family == FAMILY_IPV4) {
    if (cap < 15) return -1;
    for (let i = 0; i < 4; i++) {
      if (i > 0) store<u8>(out + <usize>(n++), 0x2e);
      n = writeDecimal(out, n, <i32>at(sa, 4 + i));
    }
    return n;
  }
  if (family != FAMILY_IPV6 || cap < 46) return -1;
  let bestAt = -1;
  let bestLen = 1;
  for (let g = 0; g < 8;) {
    if (group(sa, g) != 0) { g++; continue; }
    let e = g;
    while (e < 8 && group(sa, e) == 0) e++;
    if (e - g > bestLen) { bestAt = g; bestLen = e - g; }
    g = e;
  }
  for (let g = 0; g < 8; g++) {
    if (g == bestAt) {
      store<u8>(out + <usize>(n++), 0x3a);
      if (g == 0) store<u8>(out + <usize>(n++), 0x3a);
      g += bestLen - 1;
      continue;
    }
    const v = group(sa, g);
    let started = false;
    for (let s = 12; s >= 0; s -= 4) {
      const d = (v >> s) & 0xf;
      if (d == 0 && !started && s > 0) continue;
      started = true;
      store<u8>(out + <usize>(n++), <u8>HEX.charCodeAt(d));
    }
    if (g < 7) store<u8>(out + <usize>(n++), 0x3a);
  }
  return n;
}

@inline function group(sa: usize, g: i32): i32 { return <i32>((at(sa, 4 + g * 2) << 8) | at(sa, 5 + g * 2)); }

function writeDecimal(out: usize, n: i32, v: i32): i32 {
  if (v >= 100) store<u8>(out + <usize>(n++), <u8>(0x30 + v / 100));
  if (v >= 10) store<u8>(out + <usize>(n++), <u8>(0x30 + (v / 10) % 10));
  store<u8>(out + <usize>(n++), <u8>(0x30 + v % 10));
  return n;
}
