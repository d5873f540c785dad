// ICE in SDP (RFC 8839): reads ice-ufrag, ice-pwd, ice-lite, ice-options, ice-mismatch and
// candidate lines into an IceDescription as SdpSession walks the a= lines, and writes our own
// credentials and candidates on an SdpWriter. Nothing allocates after construction.
//
// Strictness: bad credentials (characters outside ice-char, ufrag not 4..256, pwd not 22..256)
// fail the whole body, since no check could ever authenticate against them. A candidate line is
// different: RFC 8839 has an agent ignore candidates of a transport or type it does not know,
// and we extend that to a line that does not parse, so one odd line (a typo, a TCP or mDNS
// candidate) does not cost a call whose other candidates are fine: it is dropped and counted
// (dropped; malformed and overflowed say why, for the log).
//
// API:
//   IceDescription                 one side's ICE for the audio stream: ufrag/pwd (bytes + length),
//                                  lite, mismatch, trickle, present, candidates[0..count), dropped
//   iceAttribute(p, name, nameEnd, value, end, session, d)   ICE_ATTR_OK, ICE_ATTR_NOT_ICE or ICE_ATTR_ERR_*
//   writeIceCredentials(w, ufrag, ufragLen, pwd, pwdLen)     a=ice-ufrag / a=ice-pwd
//   writeCandidate(w, c)                                     a=candidate:...
//   defaultMatchesCandidate(d, sa)                           RFC 8839 ICE-support check on the c=/m= default

import {
  IceCandidate, CAND_HOST, CAND_RELAY, MAX_FOUNDATION, MAX_COMPONENT, MAX_PRIORITY, CANDIDATE_KEPT, CANDIDATE_MALFORMED,
  parseCandidate, candidateTypeName, iceChars, skipSpaces, fieldEnd, spanIs,
} from "./ice-candidate";
import { SdpWriter } from "../sip/sdp-writer";
import { formatAddress, sockaddrEquals, sockaddrPort, SOCKADDR_BYTES, FAMILY_IPV4, FAMILY_IPV6 } from "../lib/inet";

export const MAX_CANDIDATES: i32 = 10;
export const MAX_CREDENTIAL: i32 = 256;
export const MIN_UFRAG: i32 = 4;
export const MIN_PWD: i32 = 22;

export const ICE_ATTR_OK: i32 = 0;
export const ICE_ATTR_NOT_ICE: i32 = 1;       // not ours: the caller goes on with the line
export const ICE_ATTR_ERR_UFRAG: i32 = -1;    // ice-ufrag not 4..256 ice-char
export const ICE_ATTR_ERR_PWD: i32 = -2;      // ice-pwd not 22..256 ice-char

function unspecified(sa: usize): bool {
  for (let i = 4; i < SOCKADDR_BYTES; i++) if (load<u8>(sa + <usize>i) != 0) return false;
  return true;
}

/** What one side's SDP says about ICE for the audio stream (session level, then its m-section). */
export class IceDescription {
  readonly ufrag: StaticArray<u8> = new StaticArray<u8>(MAX_CREDENTIAL);
  ufragLength: i32 = 0;
  readonly pwd: StaticArray<u8> = new StaticArray<u8>(MAX_CREDENTIAL);
  pwdLength: i32 = 0;
  lite: bool = false;
  mismatch: bool = false;    // the peer's a=ice-mismatch: our default was not among our candidates
  trickle: bool = false;     // ice-options holds "trickle" (RFC 8840)
  readonly candidates: StaticArray<IceCandidate> = new StaticArray<IceCandidate>(MAX_CANDIDATES);
  count: i32 = 0;
  dropped: i32 = 0;          // candidate lines not kept, for any reason (includes the two below)
  malformed: i32 = 0;        // ... because they did not parse
  overflowed: i32 = 0;       // ... because MAX_CANDIDATES were already kept

  // Session-level values, which apply again when the audio stream is forgotten.
  private readonly sessionUfrag: StaticArray<u8> = new StaticArray<u8>(MAX_CREDENTIAL);
  private sessionUfragLength: i32 = 0;
  private readonly sessionPwd: StaticArray<u8> = new StaticArray<u8>(MAX_CREDENTIAL);
  private sessionPwdLength: i32 = 0;
  private sessionLite: bool = false;
  private sessionTrickle: bool = false;
  private readonly scratch: IceCandidate = new IceCandidate(); // parses lines there is no room for

  constructor() {
    for (let i = 0; i < MAX_CANDIDATES; i++) unchecked(this.candidates[i] = new IceCandidate());
  }

  @inline get ufragPtr(): usize { return changetype<usize>(this.ufrag); }
  @inline get pwdPtr(): usize { return changetype<usize>(this.pwd); }
  /** The side speaks ICE (RFC 8839 4.2.5: ufrag and pwd, at either level). */
  get present(): bool { return this.ufragLength > 0 && this.pwdLength > 0; }

  clear(): void {
    this.sessionUfragLength = 0;
    this.sessionPwdLength = 0;
    this.sessionLite = false;
    this.sessionTrickle = false;
    this.clearMedia();
  }

  /** Forgets what the audio m-section said; the session-level values apply again. */
  clearMedia(): void {
    this.ufragLength = this.sessionUfragLength;
    memory.copy(this.ufragPtr, changetype<usize>(this.sessionUfrag), <usize>this.ufragLength);
    this.pwdLength = this.sessionPwdLength;
    memory.copy(this.pwdPtr, changetype<usize>(this.sessionPwd), <usize>this.pwdLength);
    this.lite = this.sessionLite;
    this.trickle = this.sessionTrickle;
    this.mismatch = false;
    this.count = 0;
    this.dropped = 0;
    this.malformed = 0;
    this.overflowed = 0;
  }

  /** Takes one candidate line's value; never fails the body. */
  addCandidate(p: usize, i: i32, end: i32): void {
    const room = this.count < MAX_CANDIDATES;
    const r = parseCandidate(p, i, end, room ? unchecked(this.candidates[this.count]) : this.scratch);
    if (r == CANDIDATE_KEPT && room) { this.count++; return; }
    this.dropped++;
    if (r == CANDIDATE_MALFORMED) this.malformed++;
    else if (r == CANDIDATE_KEPT) this.overflowed++;
  }

  /** A session-level line lands in both copies: no media level has spoken yet. */
  private credential(p: usize, i: i32, end: i32, pwd: bool, session: bool): void {
    const n = end - i;
    memory.copy(pwd ? this.pwdPtr : this.ufragPtr, p + <usize>i, <usize>n);
    if (pwd) this.pwdLength = n; else this.ufragLength = n;
    if (!session) return;
    memory.copy(changetype<usize>(pwd ? this.sessionPwd : this.sessionUfrag), p + <usize>i, <usize>n);
    if (pwd) this.sessionPwdLength = n; else this.sessionUfragLength = n;
  }

  /** For iceAttribute: one line at the given level. */
  attribute(p: usize, name: i32, nameEnd: i32, value: i32, end: i32, session: bool): i32 {
    if (spanIs(p, name, nameEnd, "candidate")) {
      // Candidates belong to an m-section (RFC 8839 5.1); one above them is ignored.
      if (!session) this.addCandidate(p, value, end);
      return ICE_ATTR_OK;
    }
    if (spanIs(p, name, nameEnd, "ice-ufrag")) {
      if (!iceChars(p, value, end, MIN_UFRAG, MAX_CREDENTIAL)) return ICE_ATTR_ERR_UFRAG;
      this.credential(p, value, end, false, session);
      return ICE_ATTR_OK;
    }
    if (spanIs(p, name, nameEnd, "ice-pwd")) {
      if (!iceChars(p, value, end, MIN_PWD, MAX_CREDENTIAL)) return ICE_ATTR_ERR_PWD;
      this.credential(p, value, end, true, session);
      return ICE_ATTR_OK;
    }
    if (spanIs(p, name, nameEnd, "ice-lite")) {
      // Session-level only by RFC 8839; taken in a media section too, since it can only mean lite.
      this.lite = true;
      if (session) this.sessionLite = true;
      return ICE_ATTR_OK;
    }
    if (spanIs(p, name, nameEnd, "ice-options")) {
      const trickle = hasToken(p, value, end, "trickle");
      this.trickle = trickle;
      if (session) this.sessionTrickle = trickle;
      return ICE_ATTR_OK;
    }
    if (spanIs(p, name, nameEnd, "ice-mismatch")) {
      if (!session) this.mismatch = true; // media-level only
      return ICE_ATTR_OK;
    }
    return ICE_ATTR_NOT_ICE;
  }
}

function hasToken(p: usize, i: i32, end: i32, token: string): bool {
  for (let j = skipSpaces(p, i, end); j < end;) {
    const e = fieldEnd(p, j, end);
    if (spanIs(p, j, e, token)) return true;
    j = skipSpaces(p, e, end);
  }
  return false;
}

/**
 * One a= line: the name is [name, nameEnd), the value [value, end) (value == end: none).
 * session: the line is above the first m-line; otherwise it is in the kept audio section.
 */
export function iceAttribute(p: usize, name: i32, nameEnd: i32, value: i32, end: i32, session: bool, d: IceDescription): i32 {
  return d.attribute(p, name, nameEnd, value, end, session);
}

/** a=ice-ufrag and a=ice-pwd; credentials outside RFC 8839's rules set w.overflow (nothing half-valid goes out). */
export function writeIceCredentials(w: SdpWriter, ufrag: usize, ufragLen: i32, pwd: usize, pwdLen: i32): void {
  if (!iceChars(ufrag, 0, ufragLen, MIN_UFRAG, MAX_CREDENTIAL) || !iceChars(pwd, 0, pwdLen, MIN_PWD, MAX_CREDENTIAL)) {
    w.overflow = true;
    return;
  }
  w.ascii("a=ice-ufrag:").bytes(ufrag, ufragLen).endLine().ascii("a=ice-pwd:").bytes(pwd, pwdLen).endLine();
}

const ADDRESS_TEXT: i32 = 46; // what formatAddress needs at most
const addressText = new StaticArray<u8>(ADDRESS_TEXT);

@inline function knownFamily(sa: usize): bool { return load<u8>(sa) == FAMILY_IPV4 || load<u8>(sa) == FAMILY_IPV6; }

/** "<ip><between><port>"; the family was checked by the caller. */
function writeAddressPort(w: SdpWriter, sa: usize, between: string): void {
  const n = formatAddress(sa, changetype<usize>(addressText), ADDRESS_TEXT);
  w.bytes(changetype<usize>(addressText), n).ascii(between).decimal(<u64>sockaddrPort(sa));
}

/** a=candidate:<foundation> <component> UDP <priority> <ip> <port> typ <type> [raddr <ip> rport <port>]. */
/** A candidate that could not be parsed back (bad foundation, range, type or address) sets w.overflow instead. */
export function writeCandidate(w: SdpWriter, c: IceCandidate): void {
  const ok = iceChars(c.foundationPtr, 0, c.foundationLength, 1, MAX_FOUNDATION) && c.component >= 1 &&
    c.component <= MAX_COMPONENT && c.priority >= 1 && <i64>c.priority <= MAX_PRIORITY && c.type >= CAND_HOST &&
    c.type <= CAND_RELAY && knownFamily(c.addressPtr) && (!c.hasRelated || knownFamily(c.relatedPtr));
  if (!ok) { w.overflow = true; return; }
  w.ascii("a=candidate:").bytes(c.foundationPtr, c.foundationLength).byte(0x20).decimal(<u64>c.component);
  w.ascii(" UDP ").decimal(<u64>c.priority).byte(0x20);
  writeAddressPort(w, c.addressPtr, " ");
  w.ascii(" typ ").ascii(candidateTypeName(c.type));
  if (c.hasRelated) writeAddressPort(w.ascii(" raddr "), c.relatedPtr, " rport ");
  w.endLine();
}

/**
 * RFC 8839 4.2.5: the default destination (the c= address and m= port, as SOCKADDR sa) must be
 * one of the RTP candidates, else an ALG rewrote the SDP and ICE must not be used (answer with
 * a=ice-mismatch). 0.0.0.0 / :: with port 9 is the trickle placeholder and matches. When
 * candidates were dropped for room the default may be among them: we then give the benefit of
 * the doubt, since a wrong "mismatch" would cost ICE on a call that needs it.
 */
export function defaultMatchesCandidate(d: IceDescription, sa: usize): bool {
  if (!knownFamily(sa)) return false;
  if (unspecified(sa) && sockaddrPort(sa) == 9) return true;
  for (let i = 0; i < d.count; i++) {
    const c = unchecked(d.candidates[i]);
    if (c.component == 1 && sockaddrEquals(c.addressPtr, sa)) return true;
  }
  return d.overflowed > 0;
}
