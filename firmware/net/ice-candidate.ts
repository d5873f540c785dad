// ICE candidates (RFC 8445 5.1): the record one candidate needs, its priority, the priority of a
// pair, and foundations. Shared by the SDP codec (ice-sdp.ts) and the agent; nothing allocates
// after construction.
//
// API:
//   IceCandidate                       type (CAND_*), component, priority, address / related
//                                      (SOCKADDR), foundation (ice-char bytes); copyFrom, clear
//   typePreference(type)               RFC 8445 5.1.2.2 recommended values (0 for an unknown type)
//   candidatePriority(type, localPreference, component)   5.1.2.1; 0 when an argument is out of range
//   pairPriority(controlling, controlled)                 6.1.2.3, the same number on both agents
//   setFoundation(c, type, base, server)                  5.1.1.3: equal exactly when type, base IP
//                                                         and server IP are (ports do not count)
//   parseCandidate(p, i, end, c)       a candidate-attribute value into c: CANDIDATE_KEPT, _MALFORMED
//                                      or _UNUSABLE (well-formed, but TCP, FQDN, unknown type, ...)
//   candidateTypeName(type) / iceChars(p, i, end, min, max)   the text form's pieces

import { SOCKADDR_BYTES, FAMILY_IPV4, FAMILY_IPV6, parseIpv4, parseIpv6, setSockaddrPort } from "../lib/inet";
import { parseDecimal } from "../sip/message";

export const CAND_HOST: i32 = 0;
export const CAND_SRFLX: i32 = 1;
export const CAND_PRFLX: i32 = 2;
export const CAND_RELAY: i32 = 3;

export const MAX_FOUNDATION: i32 = 32;      // RFC 8839: 1*32 ice-char
export const MAX_COMPONENT: i32 = 256;      // the priority formula leaves room for 256 components
export const MAX_LOCAL_PREFERENCE: u32 = 65535;

export class IceCandidate {
  type: i32 = CAND_HOST;
  component: i32 = 1;
  priority: u32 = 0;
  readonly address: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);  // IP literal + port
  readonly related: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);  // raddr/rport
  hasRelated: bool = false;
  readonly foundation: StaticArray<u8> = new StaticArray<u8>(MAX_FOUNDATION);
  foundationLength: i32 = 0;

  @inline get addressPtr(): usize { return changetype<usize>(this.address); }
  @inline get relatedPtr(): usize { return changetype<usize>(this.related); }
  @inline get foundationPtr(): usize { return changetype<usize>(this.foundation); }

  copyFrom(o: IceCandidate): void {
    this.type = o.type;
    this.component = o.component;
    this.priority = o.priority;
    memory.copy(this.addressPtr, o.addressPtr, SOCKADDR_BYTES);
    memory.copy(this.relatedPtr, o.relatedPtr, SOCKADDR_BYTES);
    this.hasRelated = o.hasRelated;
    memory.copy(this.foundationPtr, o.foundationPtr, MAX_FOUNDATION);
    this.foundationLength = o.foundationLength;
  }

  clear(): void {
    this.type = CAND_HOST;
    this.component = 1;
    this.priority = 0;
    memory.fill(this.addressPtr, 0, SOCKADDR_BYTES);
    memory.fill(this.relatedPtr, 0, SOCKADDR_BYTES);
    this.hasRelated = false;
    memory.fill(this.foundationPtr, 0, MAX_FOUNDATION);
    this.foundationLength = 0;
  }

  /** Whether the foundations of this and o are the same token (case matters: ice-char is opaque). */
  sameFoundation(o: IceCandidate): bool {
    return this.foundationLength == o.foundationLength &&
      memory.compare(this.foundationPtr, o.foundationPtr, <usize>this.foundationLength) == 0;
  }
}

export function typePreference(type: i32): u32 {
  if (type == CAND_HOST) return 126;
  if (type == CAND_PRFLX) return 110;
  if (type == CAND_SRFLX) return 100;
  return 0; // relay, and anything unknown sorts last
}

/** (2^24) type preference + (2^8) local preference + (256 - component); 0 (never a valid priority) on bad input. */
export function candidatePriority(type: i32, localPreference: u32, component: i32): u32 {
  if (type < CAND_HOST || type > CAND_RELAY || localPreference > MAX_LOCAL_PREFERENCE) return 0;
  if (component < 1 || component > MAX_COMPONENT) return 0;
  return (typePreference(type) << 24) + (localPreference << 8) + <u32>(256 - component);
}

/** 2^32 MIN(G,D) + 2 MAX(G,D) + (G > D ? 1 : 0): G the controlling agent's candidate, D the controlled one's. */
export function pairPriority(controlling: u32, controlled: u32): u64 {
  const lo = <u64>min(controlling, controlled), hi = <u64>max(controlling, controlled);
  return (lo << 32) + (hi << 1) + (controlling > controlled ? 1 : 0);
}

const FNV_OFFSET: u64 = 0xcbf29ce484222325;
const FNV_PRIME: u64 = 0x100000001b3;
const HEX = "0123456789abcdef";

/** FNV-1a over the family byte and the 16 address bytes of a SOCKADDR (0: an absent address). */
function hashAddress(h: u64, sa: usize): u64 {
  const family: u8 = sa == 0 ? 0 : load<u8>(sa);
  const known = family == FAMILY_IPV4 || family == FAMILY_IPV6;
  h = (h ^ <u64>(known ? family : 0)) * FNV_PRIME;
  for (let i = 0; i < 16; i++) h = (h ^ <u64>(known ? load<u8>(sa + 4 + <usize>i) : 0)) * FNV_PRIME;
  return h;
}

/**
 * Gives c a foundation for (type, base IP, server IP): a type letter (h, s, p, r) and 16 hex
 * digits of a 64-bit FNV-1a of the two addresses. base and server are SOCKADDRs; server may be
 * 0 (none), and is not used for host candidates (they have no server). Ports never count, and
 * all candidates are UDP, so the transport needs no place. A 64-bit hash over at most a few
 * dozen candidates makes an accidental match vanishingly unlikely, and the letter keeps types apart.
 */
export function setFoundation(c: IceCandidate, type: i32, base: usize, server: usize): void {
  let h = hashAddress(FNV_OFFSET, base);
  h = hashAddress(h, type == CAND_HOST ? 0 : server);
  const out = c.foundationPtr;
  store<u8>(out, type == CAND_HOST ? 0x68 : type == CAND_SRFLX ? 0x73 : type == CAND_PRFLX ? 0x70 : 0x72);
  for (let i = 0; i < 16; i++) store<u8>(out + 1 + <usize>i, <u8>HEX.charCodeAt(<i32>((h >> <u64>(60 - 4 * i)) & 0xf)));
  c.foundationLength = 17;
}

// The text form (RFC 8839 5.1), shared by SDP and by trickled candidates.
export const MAX_PRIORITY: i64 = 0x7fffffff; // RFC 8445 5.1.2.1: 1..2^31-1
// Components an audio stream has: RTP and RTCP. Higher ones are well-formed but meaningless here.
export const MAX_AUDIO_COMPONENT: i32 = 2;
export const CANDIDATE_KEPT: i32 = 0;
export const CANDIDATE_MALFORMED: i32 = 1;
export const CANDIDATE_UNUSABLE: i32 = 2;
const SP: u32 = 32, HT: u32 = 9;

@inline function at(p: usize, i: i32): u32 { return load<u8>(p + <usize>i); }
@inline function lower(c: u32): u32 { return c >= 0x41 && c <= 0x5a ? c | 0x20 : c; }
@inline function isAlpha(c: u32): bool { return lower(c) >= 0x61 && lower(c) <= 0x7a; }
@inline function isDigit(c: u32): bool { return c >= 0x30 && c <= 0x39; }
@inline function isIceChar(c: u32): bool { return isAlpha(c) || isDigit(c) || c == 0x2b || c == 0x2f; }
@inline function isBlank(c: u32): bool { return c == SP || c == HT; }

export function skipSpaces(p: usize, i: i32, end: i32): i32 { while (i < end && isBlank(at(p, i))) i++; return i; }
export function fieldEnd(p: usize, i: i32, end: i32): i32 { while (i < end && !isBlank(at(p, i))) i++; return i; }

/** p[i..end) is s, ASCII case-insensitively (SDP tokens; shared with ice-sdp.ts). */
export function spanIs(p: usize, i: i32, end: i32, s: string): bool {
  if (end - i != s.length) return false;
  for (let k = 0; k < s.length; k++) if (lower(at(p, i + k)) != lower(<u32>s.charCodeAt(k))) return false;
  return true;
}

/** Whether [i, end) is min..max ice-char (ALPHA / DIGIT / "+" / "/"). */
export function iceChars(p: usize, i: i32, end: i32, min: i32, max: i32): bool {
  if (end - i < min || end - i > max) return false;
  for (let j = i; j < end; j++) if (!isIceChar(at(p, j))) return false;
  return true;
}

/** A host name (RFC 1123 letters, digits, '-', '.', with a letter somewhere), e.g. an mDNS ".local". */
function isHostName(p: usize, i: i32, end: i32): bool {
  let letter = false;
  for (let j = i; j < end; j++) {
    const c = at(p, j);
    if (isAlpha(c)) letter = true;
    else if (!isDigit(c) && c != 0x2d && c != 0x2e) return false;
  }
  return letter;
}

/** Fills sa (port 0) from an IP literal in [i, end): 1 literal, 0 a host name, -1 neither. */
function parseAddress(p: usize, i: i32, end: i32, sa: usize): i32 {
  memory.fill(sa, 0, SOCKADDR_BYTES);
  if (parseIpv4(p + <usize>i, end - i, sa + 4)) { store<u8>(sa, FAMILY_IPV4); return 1; }
  if (parseIpv6(p + <usize>i, end - i, sa + 4)) { store<u8>(sa, FAMILY_IPV6); return 1; }
  memory.fill(sa, 0, SOCKADDR_BYTES);
  return isHostName(p, i, end) ? 0 : -1;
}

function unspecified(sa: usize): bool {
  for (let i = 4; i < SOCKADDR_BYTES; i++) if (load<u8>(sa + <usize>i) != 0) return false;
  return true;
}

function typeOf(p: usize, i: i32, end: i32): i32 {
  if (spanIs(p, i, end, "host")) return CAND_HOST;
  if (spanIs(p, i, end, "srflx")) return CAND_SRFLX;
  if (spanIs(p, i, end, "prflx")) return CAND_PRFLX;
  if (spanIs(p, i, end, "relay")) return CAND_RELAY;
  return -1;
}

export function candidateTypeName(type: i32): string {
  if (type == CAND_HOST) return "host";
  if (type == CAND_SRFLX) return "srflx";
  return type == CAND_PRFLX ? "prflx" : "relay";
}

/**
 * Parses "foundation component transport priority address port typ type [raddr a] [rport p]
 * *(name value)" from [i, end) into c. CANDIDATE_KEPT, _MALFORMED (the grammar is broken) or _UNUSABLE
 * (well-formed, but not a UDP candidate we can reach: TCP, a host name, an unknown type, port 0).
 */
export function parseCandidate(p: usize, i: i32, end: i32, c: IceCandidate): i32 {
  c.clear();
  const f0 = skipSpaces(p, i, end), f1 = fieldEnd(p, f0, end);
  const k0 = skipSpaces(p, f1, end), k1 = fieldEnd(p, k0, end);
  const t0 = skipSpaces(p, k1, end), t1 = fieldEnd(p, t0, end);
  const r0 = skipSpaces(p, t1, end), r1 = fieldEnd(p, r0, end);
  const a0 = skipSpaces(p, r1, end), a1 = fieldEnd(p, a0, end);
  const n0 = skipSpaces(p, a1, end), n1 = fieldEnd(p, n0, end);
  const y0 = skipSpaces(p, n1, end), y1 = fieldEnd(p, y0, end);
  const e0 = skipSpaces(p, y1, end), e1 = fieldEnd(p, e0, end);
  if (!iceChars(p, f0, f1, 1, MAX_FOUNDATION)) return CANDIDATE_MALFORMED;
  const component = k1 - k0 <= 3 ? parseDecimal(p, k0, k1, MAX_COMPONENT) : -1;
  const priority = r1 - r0 <= 10 ? parseDecimal(p, r0, r1, MAX_PRIORITY) : -1;
  const port = parseDecimal(p, n0, n1, 65535);
  if (component < 1 || t1 == t0 || priority < 1 || a1 == a0 || port < 0) return CANDIDATE_MALFORMED;
  if (!spanIs(p, y0, y1, "typ") || e1 == e0) return CANDIDATE_MALFORMED;
  const literal = parseAddress(p, a0, a1, c.addressPtr);
  if (literal < 0) return CANDIDATE_MALFORMED;
  let unusable = literal == 0 || !spanIs(p, t0, t1, "UDP") || component > MAX_AUDIO_COMPONENT || port == 0;
  if (literal > 0 && unspecified(c.addressPtr)) unusable = true;
  setSockaddrPort(c.addressPtr, <i32>port);
  const type = typeOf(p, e0, e1);
  if (type < 0) unusable = true;
  // Extensions come in name/value pairs; raddr and rport are two of them (Chrome adds
  // generation, ufrag, network-id, network-cost), and we ignore all the others.
  let relatedPort: i32 = 0;
  for (let j = skipSpaces(p, e1, end); j < end;) {
    const x1 = fieldEnd(p, j, end);
    const v0 = skipSpaces(p, x1, end), v1 = fieldEnd(p, v0, end);
    if (spanIs(p, j, x1, "raddr")) {
      const r = v1 > v0 ? parseAddress(p, v0, v1, c.relatedPtr) : -1;
      if (r < 0) return CANDIDATE_MALFORMED;
      c.hasRelated = r > 0; // a host name there (a hidden base) says nothing we can use
    } else if (spanIs(p, j, x1, "rport")) {
      const v = parseDecimal(p, v0, v1, 65535);
      if (v < 0) return CANDIDATE_MALFORMED;
      relatedPort = <i32>v;
    }
    j = skipSpaces(p, v1, end);
  }
  if (c.hasRelated) setSockaddrPort(c.relatedPtr, relatedPort);
  c.type = max(type, 0);
  c.component = <i32>component;
  c.priority = <u32>priority;
  memory.copy(c.foundationPtr, p + <usize>f0, <usize>(f1 - f0));
  c.foundationLength = f1 - f0;
  return unusable ? CANDIDATE_UNUSABLE : CANDIDATE_KEPT;
}
