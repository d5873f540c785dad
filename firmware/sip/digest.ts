// Digest authentication, client side (RFC 3261 22.4, RFC 7616, RFC 8760 for SHA-256 in SIP):
// parse a WWW-Authenticate / Proxy-Authenticate challenge, answer it with an Authorization /
// Proxy-Authorization value, and decide whether a 401/407 is worth answering again. Challenge
// fields are copied into fixed buffers (the message buffer is reused); nothing is allocated
// after construction.

import { Md5 } from "../crypto/md5";
import { Sha256 } from "../crypto/sha256";
import { wipe } from "../crypto/ct";
import { writeHex } from "../lib/bytes";

export const DIGEST_OK: i32 = 0;
export const DIGEST_NOT_DIGEST: i32 = -1;             // another scheme (Basic, Bearer, ...)
export const DIGEST_MALFORMED: i32 = -2;              // syntax: unterminated quote, missing '=', duplicates
export const DIGEST_MISSING_REALM: i32 = -3;
export const DIGEST_MISSING_NONCE: i32 = -4;
export const DIGEST_UNSUPPORTED_ALGORITHM: i32 = -5;  // e.g. SHA-512-256, AKAv1-MD5
export const DIGEST_UNSUPPORTED_QOP: i32 = -6;        // qop offered without "auth", or -sess without qop
export const DIGEST_FIELD_TOO_LONG: i32 = -7;
export const DIGEST_NO_ROOM: i32 = -8;                // the caller's output buffer is too small
export const DIGEST_NO_CHALLENGE: i32 = -9;           // respond() to a challenge that did not parse
export const DIGEST_NO_CREDENTIALS: i32 = -10;
export const DIGEST_BAD_CNONCE: i32 = -11;            // empty (with qop) or longer than MAX_CNONCE

// DigestChallenge.algorithm; the -sess variants hash the nonce and cnonce into HA1.
export const ALG_MD5: i32 = 0, ALG_MD5_SESS: i32 = 1, ALG_SHA256: i32 = 2, ALG_SHA256_SESS: i32 = 3;

export const MAX_REALM: i32 = 128;
export const MAX_NONCE: i32 = 256;
export const MAX_OPAQUE: i32 = 256;
export const MAX_USERNAME: i32 = 128;
export const MAX_PASSWORD: i32 = 128;
export const MAX_CNONCE: i32 = 64;   // text; random bytes are hex-encoded, so at most 32 of them
export const MAX_AUTH_ATTEMPTS: i32 = 3; // authenticated sends per request, whatever the realms

const SEEN_REALM = 1, SEEN_NONCE = 2, SEEN_OPAQUE = 4, SEEN_ALGORITHM = 8, SEEN_QOP = 16, SEEN_STALE = 32;
const QUOTE: u32 = 0x22, BACKSLASH: u32 = 0x5c, COMMA: u32 = 0x2c, EQUALS: u32 = 0x3d;

@inline function at(p: usize, i: i32): u32 { return load<u8>(p + <usize>i); }
@inline function isWs(c: u32): bool { return c == 0x20 || c == 0x09 || c == 0x0d || c == 0x0a; }
@inline function lower(c: u32): u32 { return c >= 0x41 && c <= 0x5a ? c | 0x20 : c; }

/** RFC 7230 tchar: alphanumerics and !#$%&'*+-.^_`|~ */
function isTchar(c: u32): bool {
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) return true;
  return c == 0x21 || (c >= 0x23 && c <= 0x27) || c == 0x2a || c == 0x2b || c == 0x2d || c == 0x2e || c == 0x5e || c == 0x5f || c == 0x60 || c == 0x7c || c == 0x7e;
}

function skipWs(p: usize, i: i32, len: i32): i32 { while (i < len && isWs(at(p, i))) i++; return i; }
function tokenEnd(p: usize, i: i32, len: i32): i32 { while (i < len && isTchar(at(p, i))) i++; return i; }

/** True when [from, to) is `lowercase`, ignoring ASCII case. */
function spanIs(p: usize, from: i32, to: i32, lowercase: string): bool {
  if (to - from != lowercase.length) return false;
  for (let i = 0; i < lowercase.length; i++) if (lower(at(p, from + i)) != <u32>lowercase.charCodeAt(i)) return false;
  return true;
}

/** A parsed Digest challenge: copies of its fields, valid until the next parse(). */
export class DigestChallenge {
  readonly realm: StaticArray<u8> = new StaticArray<u8>(MAX_REALM);
  readonly nonce: StaticArray<u8> = new StaticArray<u8>(MAX_NONCE);
  readonly opaque: StaticArray<u8> = new StaticArray<u8>(MAX_OPAQUE);
  realmLen: i32 = 0; nonceLen: i32 = 0; opaqueLen: i32 = 0;
  hasOpaque: bool = false;
  algorithm: i32 = ALG_MD5;  // RFC 7616 3.3: absent means MD5
  qopAuth: bool = false;     // qop offered and includes "auth": answer with qop=auth
  stale: bool = false;
  valid: bool = false;

  @inline get realmPtr(): usize { return changetype<usize>(this.realm); }
  @inline get noncePtr(): usize { return changetype<usize>(this.nonce); }
  @inline get opaquePtr(): usize { return changetype<usize>(this.opaque); }
  @inline get isSession(): bool { return this.algorithm == ALG_MD5_SESS || this.algorithm == ALG_SHA256_SESS; }

  /** Parses the header value at p (len bytes). DIGEST_OK, or a negative DIGEST_* code. */
  parse(p: usize, len: i32): i32 {
    this.realmLen = 0; this.nonceLen = 0; this.opaqueLen = 0; this.hasOpaque = false;
    this.algorithm = ALG_MD5; this.qopAuth = false; this.stale = false; this.valid = false;
    if (len <= 0) return DIGEST_NOT_DIGEST;
    let i = skipWs(p, 0, len);
    const schemeEnd = tokenEnd(p, i, len);
    if (!spanIs(p, i, schemeEnd, "digest")) return DIGEST_NOT_DIGEST;
    i = schemeEnd;
    if (i < len && !isWs(at(p, i))) return DIGEST_MALFORMED;
    let seen = 0;
    let qopOffered = false;
    while (true) {
      while (i < len && (isWs(at(p, i)) || at(p, i) == COMMA)) i++; // empty list elements are allowed
      if (i >= len) break;
      const nameAt = i;
      i = tokenEnd(p, i, len);
      const nameEnd = i;
      if (nameEnd == nameAt) return DIGEST_MALFORMED;
      i = skipWs(p, i, len);
      if (i >= len || at(p, i) != EQUALS) {
        // "..., Basic realm=..": the next challenge in the same field begins; ours is complete.
        if (i > nameEnd && i < len && isTchar(at(p, i))) break;
        return DIGEST_MALFORMED;
      }
      i = skipWs(p, i + 1, len);
      let valueAt = i, valueEnd = i;
      const quoted = i < len && at(p, i) == QUOTE;
      if (quoted) {
        valueAt = ++i;
        while (i < len && at(p, i) != QUOTE) i += at(p, i) == BACKSLASH ? 2 : 1;
        if (i >= len) return DIGEST_MALFORMED; // unterminated (or ends in a lone backslash)
        valueEnd = i++;
      } else {
        while (i < len && !isWs(at(p, i)) && at(p, i) != COMMA) i++;
        valueEnd = i;
        if (valueEnd == valueAt) return DIGEST_MALFORMED;
      }
      i = skipWs(p, i, len);
      if (i < len && at(p, i) != COMMA) return DIGEST_MALFORMED;

      let bit = 0;
      if (spanIs(p, nameAt, nameEnd, "realm")) {
        bit = SEEN_REALM;
        this.realmLen = unescape(p, valueAt, valueEnd, quoted, this.realmPtr, MAX_REALM);
        if (this.realmLen < 0) return DIGEST_FIELD_TOO_LONG;
      } else if (spanIs(p, nameAt, nameEnd, "nonce")) {
        bit = SEEN_NONCE;
        this.nonceLen = unescape(p, valueAt, valueEnd, quoted, this.noncePtr, MAX_NONCE);
        if (this.nonceLen < 0) return DIGEST_FIELD_TOO_LONG;
      } else if (spanIs(p, nameAt, nameEnd, "opaque")) {
        bit = SEEN_OPAQUE;
        this.opaqueLen = unescape(p, valueAt, valueEnd, quoted, this.opaquePtr, MAX_OPAQUE);
        if (this.opaqueLen < 0) return DIGEST_FIELD_TOO_LONG;
        this.hasOpaque = true;
      } else if (spanIs(p, nameAt, nameEnd, "algorithm")) {
        bit = SEEN_ALGORITHM;
        // Tokens only: an escaped character in a quoted algorithm matches nothing, as it should.
        if (spanIs(p, valueAt, valueEnd, "md5")) this.algorithm = ALG_MD5;
        else if (spanIs(p, valueAt, valueEnd, "md5-sess")) this.algorithm = ALG_MD5_SESS;
        else if (spanIs(p, valueAt, valueEnd, "sha-256")) this.algorithm = ALG_SHA256;
        else if (spanIs(p, valueAt, valueEnd, "sha-256-sess")) this.algorithm = ALG_SHA256_SESS;
        else return DIGEST_UNSUPPORTED_ALGORITHM;
      } else if (spanIs(p, nameAt, nameEnd, "qop")) {
        bit = SEEN_QOP;
        qopOffered = true;
        this.qopAuth = listHas(p, valueAt, valueEnd, "auth");
      } else if (spanIs(p, nameAt, nameEnd, "stale")) {
        bit = SEEN_STALE;
        this.stale = spanIs(p, valueAt, valueEnd, "true");
      } // domain, charset, userhash and extensions: nothing to do for a UA
      if ((seen & bit) != 0) return DIGEST_MALFORMED; // each parameter once (RFC 7235 2.1)
      seen |= bit;
    }
    if ((seen & SEEN_REALM) == 0) return DIGEST_MISSING_REALM;
    if ((seen & SEEN_NONCE) == 0 || this.nonceLen == 0) return DIGEST_MISSING_NONCE;
    if (qopOffered && !this.qopAuth) return DIGEST_UNSUPPORTED_QOP; // auth-int needs the body hash
    if (this.isSession && !this.qopAuth) return DIGEST_UNSUPPORTED_QOP; // -sess needs a cnonce, which needs qop
    this.valid = true;
    return DIGEST_OK;
  }
}

/** Copies [from, to) to dst, undoing quoted-pair escapes; its length, or -1 past cap. */
function unescape(p: usize, from: i32, to: i32, quoted: bool, dst: usize, cap: i32): i32 {
  let n = 0;
  for (let j = from; j < to; j++) {
    // parse() skipped the character after each backslash, so j + 1 < to here.
    if (quoted && at(p, j) == BACKSLASH && j + 1 < to) j++;
    if (n >= cap) return -1;
    store<u8>(dst + <usize>(n++), <u8>at(p, j));
  }
  return n;
}

/** True when the comma-separated list in [from, to) holds `item` (lowercase), ignoring case. */
function listHas(p: usize, from: i32, to: i32, item: string): bool {
  let i = from;
  while (i < to) {
    while (i < to && (isWs(at(p, i)) || at(p, i) == COMMA)) i++;
    const start = i;
    while (i < to && !isWs(at(p, i)) && at(p, i) != COMMA) i++;
    if (i > start && spanIs(p, start, i, item)) return true;
  }
  return false;
}

/**
 * Answers challenges for one account. Remembers the last nonce answered (nc counts up while it
 * is reused, restarts at 1 for a new one) and, per request, what was answered, so that a
 * rejected password is not resent forever.
 */
export class DigestClient {
  private readonly user: StaticArray<u8> = new StaticArray<u8>(MAX_USERNAME);
  private readonly pass: StaticArray<u8> = new StaticArray<u8>(MAX_PASSWORD);
  private userLen: i32 = 0; private passLen: i32 = 0;
  private readonly md5: Md5 = new Md5();
  private readonly sha: Sha256 = new Sha256();
  private useSha: bool = false; // this answer's H: SHA-256 or MD5
  private readonly digest: StaticArray<u8> = new StaticArray<u8>(32);
  private readonly ha1: StaticArray<u8> = new StaticArray<u8>(64);   // hex, secret-derived
  private readonly ha2: StaticArray<u8> = new StaticArray<u8>(64);
  private readonly response: StaticArray<u8> = new StaticArray<u8>(64);
  private readonly cnonceText: StaticArray<u8> = new StaticArray<u8>(MAX_CNONCE);
  private readonly ncText: StaticArray<u8> = new StaticArray<u8>(8);
  private readonly lastNonce: StaticArray<u8> = new StaticArray<u8>(MAX_NONCE);
  private lastNonceLen: i32 = 0; private nc: u32 = 0;
  // Retry policy, per request.
  private readonly answeredRealm: StaticArray<u8> = new StaticArray<u8>(MAX_REALM);
  private answeredRealmLen: i32 = 0; private attempts: i32 = 0; private staleRetries: i32 = 0;
  // Output cursor of the value being written; outLen turns -1 on overflow and stays there.
  private out: usize = 0; private outCap: i32 = 0; private outLen: i32 = 0;

  /** The account, from the configuration: DIGEST_OK or DIGEST_FIELD_TOO_LONG (nothing kept). */
  setCredentials(user: usize, userLen: i32, pass: usize, passLen: i32): i32 {
    wipe(changetype<usize>(this.pass), MAX_PASSWORD);
    this.userLen = 0; this.passLen = 0;
    if (userLen <= 0 || userLen > MAX_USERNAME || passLen < 0 || passLen > MAX_PASSWORD) return DIGEST_FIELD_TOO_LONG;
    memory.copy(changetype<usize>(this.user), user, <usize>userLen);
    memory.copy(changetype<usize>(this.pass), pass, <usize>passLen);
    this.userLen = userLen; this.passLen = passLen;
    return DIGEST_OK;
  }

  /**
   * Writes the credentials for `ch` at out (at most cap bytes): its length, or a negative code.
   * random: bytes from the board's RNG (up to 32; 12 is plenty), sent hex-encoded as the cnonce,
   * which qop=auth requires. method: the request's, e.g. "REGISTER"; uri: its Request-URI.
   */
  respond(ch: DigestChallenge, method: string, uri: usize, uriLen: i32, random: usize, randomLen: i32, out: usize, cap: i32): i32 {
    if (randomLen < 0 || randomLen * 2 > MAX_CNONCE) return DIGEST_BAD_CNONCE;
    writeHex(changetype<usize>(this.cnonceText), random, randomLen);
    return this.respondWithCnonce(ch, method, uri, uriLen, changetype<usize>(this.cnonceText), randomLen * 2, out, cap);
  }

  /** As respond(), with the cnonce given as ready text (up to MAX_CNONCE bytes): test vectors. */
  respondWithCnonce(ch: DigestChallenge, method: string, uri: usize, uriLen: i32, cnonce: usize, cnonceLen: i32, out: usize, cap: i32): i32 {
    if (!ch.valid) return DIGEST_NO_CHALLENGE;
    if (this.userLen == 0) return DIGEST_NO_CREDENTIALS;
    if (cnonceLen < 0 || cnonceLen > MAX_CNONCE || (cnonceLen == 0 && ch.qopAuth)) return DIGEST_BAD_CNONCE;
    if (uriLen < 0) return DIGEST_MALFORMED;
    const sameNonce = ch.nonceLen == this.lastNonceLen && memory.compare(ch.noncePtr, changetype<usize>(this.lastNonce), <usize>ch.nonceLen) == 0;
    const nc: u32 = sameNonce ? this.nc + 1 : 1; // committed only once the answer is written
    const ncText = changetype<usize>(this.ncText);
    store<u32>(changetype<usize>(this.digest), bswap<u32>(nc));
    writeHex(ncText, changetype<usize>(this.digest), 4); // 8 hex digits, most significant first

    this.useSha = ch.algorithm == ALG_SHA256 || ch.algorithm == ALG_SHA256_SESS;
    const ha1 = changetype<usize>(this.ha1), ha2 = changetype<usize>(this.ha2), response = changetype<usize>(this.response);
    // HA1 = H(user:realm:pass), and for -sess H(HA1:nonce:cnonce) (RFC 7616 3.4.2).
    this.feed(changetype<usize>(this.user), this.userLen); this.colon();
    this.feed(ch.realmPtr, ch.realmLen); this.colon();
    this.feed(changetype<usize>(this.pass), this.passLen);
    const hexLen = this.finishHex(ha1);
    if (ch.isSession) {
      this.feed(ha1, hexLen); this.colon(); this.feed(ch.noncePtr, ch.nonceLen); this.colon(); this.feed(cnonce, cnonceLen);
      this.finishHex(ha1);
    }
    // HA2 = H(method:uri) (qop=auth).
    this.ascii(method); this.colon(); this.feed(uri, uriLen);
    this.finishHex(ha2);
    // response = H(HA1:nonce:nc:cnonce:qop:HA2), or RFC 2069's H(HA1:nonce:HA2) without qop.
    this.feed(ha1, hexLen); this.colon(); this.feed(ch.noncePtr, ch.nonceLen); this.colon();
    if (ch.qopAuth) {
      this.feed(ncText, 8); this.colon(); this.feed(cnonce, cnonceLen); this.colon();
      this.ascii("auth"); this.colon();
    }
    this.feed(ha2, hexLen);
    this.finishHex(response);
    wipe(ha1, 64);

    this.out = out; this.outCap = cap; this.outLen = 0;
    this.put("Digest username="); this.quoted(changetype<usize>(this.user), this.userLen);
    this.put(", realm="); this.quoted(ch.realmPtr, ch.realmLen);
    this.put(", nonce="); this.quoted(ch.noncePtr, ch.nonceLen);
    this.put(", uri="); this.quoted(uri, uriLen);
    this.put(", response=\""); this.raw(response, hexLen); this.put("\"");
    this.put(", algorithm="); this.put(algorithmName(ch.algorithm));
    if (ch.qopAuth) { this.put(", cnonce="); this.quoted(cnonce, cnonceLen); }
    if (ch.hasOpaque) { this.put(", opaque="); this.quoted(ch.opaquePtr, ch.opaqueLen); }
    if (ch.qopAuth) { this.put(", qop=auth, nc="); this.raw(ncText, 8); }
    if (this.outLen < 0) return DIGEST_NO_ROOM;

    // Sent: commit the nonce count and what this request has answered.
    if (!sameNonce) { memory.copy(changetype<usize>(this.lastNonce), ch.noncePtr, <usize>ch.nonceLen); this.lastNonceLen = ch.nonceLen; }
    this.nc = nc;
    memory.copy(changetype<usize>(this.answeredRealm), ch.realmPtr, <usize>ch.realmLen);
    this.answeredRealmLen = ch.realmLen;
    this.attempts++;
    return this.outLen;
  }

  /** Call before each new request (after a success, or after giving up): a fresh retry budget. */
  newRequest(): void { this.attempts = 0; this.staleRetries = 0; this.answeredRealmLen = 0; }

  /**
   * On a 401/407 carrying `ch`: true when the request should be sent again with credentials.
   * No, when credentials were already sent for this realm and the server does not call the
   * nonce stale (the password is wrong: RFC 3261 22.2); a stale nonce earns one more try, and
   * no request is answered more than MAX_AUTH_ATTEMPTS times. Counts the stale retry it grants.
   */
  shouldRetry(ch: DigestChallenge): bool {
    if (!ch.valid || this.userLen == 0 || this.attempts >= MAX_AUTH_ATTEMPTS) return false;
    const sameRealm = this.attempts > 0 && ch.realmLen == this.answeredRealmLen &&
      memory.compare(ch.realmPtr, changetype<usize>(this.answeredRealm), <usize>ch.realmLen) == 0;
    if (!sameRealm) return true; // first challenge of this request, or another hop's realm
    if (!ch.stale || this.staleRetries > 0) return false;
    this.staleRetries++;
    return true;
  }

  /** The nonce count sent last (0 before any answer). */
  get nonceCount(): u32 { return this.nc; }

  private feed(p: usize, len: i32): void { if (this.useSha) this.sha.update(p, len); else this.md5.update(p, len); }

  private byte(c: u8): void {
    const d = changetype<usize>(this.digest);
    store<u8>(d, c);
    this.feed(d, 1);
  }

  @inline private colon(): void { this.byte(0x3a); }

  private ascii(s: string): void { for (let i = 0; i < s.length; i++) this.byte(<u8>s.charCodeAt(i)); }

  /** Finishes the hash into lowercase hex at dst; the hex length (32 or 64). */
  private finishHex(dst: usize): i32 {
    const d = changetype<usize>(this.digest);
    let n = 16;
    if (this.useSha) { this.sha.finish(d); n = 32; } else this.md5.finish(d);
    writeHex(dst, d, n);
    wipe(d, 32);
    return n * 2;
  }

  private emit(c: u32): void {
    if (this.outLen < 0 || this.outLen >= this.outCap) { this.outLen = -1; return; }
    store<u8>(this.out + <usize>this.outLen, <u8>c);
    this.outLen++;
  }

  private put(s: string): void { for (let i = 0; i < s.length; i++) this.emit(s.charCodeAt(i)); }

  private raw(p: usize, n: i32): void { for (let i = 0; i < n; i++) this.emit(load<u8>(p + <usize>i)); }

  /** A quoted-string, escaping '"' and '\\' (RFC 3261 25.1 quoted-pair). */
  private quoted(p: usize, n: i32): void {
    this.emit(QUOTE);
    for (let i = 0; i < n; i++) {
      const c = <u32>load<u8>(p + <usize>i);
      if (c == QUOTE || c == BACKSLASH) this.emit(BACKSLASH);
      this.emit(c);
    }
    this.emit(QUOTE);
  }
}

function algorithmName(alg: i32): string {
  switch (alg) {
    case ALG_MD5_SESS: return "MD5-sess";
    case ALG_SHA256: return "SHA-256";
    case ALG_SHA256_SESS: return "SHA-256-sess";
    default: return "MD5";
  }
}
