// REGISTER (RFC 3261 10): binds our Contact to the AOR at the registrar, answers 401/407 with
// digest credentials, honours 423 Min-Expires, and refreshes before the binding expires
// (at 80% of the granted time, at least 5 s before it ends). A failure retries with backoff.
// Over a stream, a connection that fails (refused, a TLS handshake refused) fails the REGISTER
// at once with status 0, "network" (RFC 3261 8.1.3.1's transport error), and a registered
// flow that dies is registered again over a new one (RFC 5626 4.4.1).

import { SipStack } from "./stack";
import { SipMessage, parseDecimal, elementEnd } from "./message";
import { H_CALL_ID, H_EXPIRES, H_CONTACT, H_WWW_AUTHENTICATE, H_PROXY_AUTHENTICATE, H_AUTHORIZATION, H_PROXY_AUTHORIZATION } from "./headers";
import { Bytes } from "./dialog";
import { DigestChallenge, DigestClient } from "./digest";
import { SipUri, Span, addressUri, findParam } from "./uri";
import { SOCKADDR_BYTES, setSockaddrPort } from "../lib/inet";

export const REG_OFF: i32 = 0;        // no registrar configured
export const REG_IDLE: i32 = 1;       // waiting to (re)register
export const REG_SENT: i32 = 2;       // a REGISTER is in flight
export const REG_OK: i32 = 3;         // bound; refresh scheduled
export const REG_FAILED: i32 = 4;     // refused (credentials, 403, 404...): retrying later

/** lastStatus when no response came because the connection failed: a network reason. */
export const REG_STATUS_NETWORK: i32 = 0;

const RETRY_MIN_US: i64 = 5_000_000;
const RETRY_MAX_US: i64 = 300_000_000;
const FLOW_MATURE_US: i64 = 30_000_000;

export class Registration {
  state: i32 = REG_OFF;
  readonly registrar: Bytes = new Bytes(256);         // the registrar's URI (Request-URI of REGISTER)
  readonly registrarAddress: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  readonly auth: DigestClient = new DigestClient();
  private readonly challenge: DigestChallenge = new DigestChallenge();
  private readonly callId: Bytes = new Bytes(64);
  private readonly fromTag: Bytes = new Bytes(16);
  private readonly scratch: Bytes = new Bytes(256);
  private readonly authValue: StaticArray<u8> = new StaticArray<u8>(1024);
  private authLen: i32 = 0;
  private authHeader: i32 = 0;
  private cseq: u32 = 0;
  private tx: i32 = -1;
  expires: i32 = 600;            // asked for
  granted: i32 = 0;              // what the registrar gave
  lastStatus: i32 = 0;
  // The registrar URI's host, in `registrar` (a TLS server must prove it).
  hostAt: i32 = 0;
  hostLength: i32 = 0;
  nextAt: i64 = -1;              // when to send the next REGISTER
  private retryUs: i64 = RETRY_MIN_US;
  private boundAt: i64 = 0;
  private unregistering: bool = false;
  registrations: u32 = 0;
  failures: u32 = 0;
  private readonly uri: SipUri = new SipUri();
  private readonly span: Span = new Span();

  constructor(private stack: SipStack) {}

  /** Configures the registrar (a SIP URI with an IP host); an empty one turns registration off. */
  configure(uri: usize, len: i32, expires: i32, now: i64): bool {
    this.state = REG_OFF;
    this.nextAt = -1;
    this.unregistering = false; // an unregister() just before is over: the new binding registers
    if (len == 0) return true;
    if (!this.registrar.set(uri, len) || this.uri.parse(this.registrar.address, 0, len) != 0) return false;
    if (!this.uri.destination(this.registrar.address, changetype<usize>(this.registrarAddress))) return false;
    // SIP over TLS with a sip: URI and no port: 5061 (RFC 3261 26.2, RFC 3263 4.2).
    if (this.stack.secure && this.uri.port == 0) setSockaddrPort(changetype<usize>(this.registrarAddress), 5061);
    this.hostAt = this.uri.host.at;
    this.hostLength = this.uri.host.len;
    this.expires = expires;
    this.state = REG_IDLE;
    this.nextAt = now;
    this.cseq = 0;
    this.callId.length = 0;
    return true;
  }

  /** Registers again now: our address changed, so the registrar must learn the new Contact. */
  refreshNow(now: i64): void {
    if (this.state == REG_OFF || this.state == REG_SENT) return;
    this.nextAt = now;
  }

  /** Removes the binding (Expires: 0), e.g. before the configuration changes. */
  unregister(now: i64): void {
    if (this.state != REG_OK) return;
    this.unregistering = true;
    this.send(now);
  }

  tick(now: i64): void {
    if (this.nextAt >= 0 && now >= this.nextAt && this.state != REG_SENT && this.state != REG_OFF) {
      this.auth.newRequest();
      this.authLen = 0;
      this.send(now);
    }
  }

  timeout(): i64 { return this.state == REG_SENT ? -1 : this.nextAt; }

  /** Is transaction i ours? */
  owns(i: i32): bool { return i >= 0 && i == this.tx; }

  /** The client transaction timed out (no response within 64*T1). */
  timedOut(now: i64): void {
    this.tx = -1;
    this.fail(408, now);
  }

  /** The connection our REGISTER went on failed before any response (a transport error). */
  transportFailed(now: i64): void {
    this.tx = -1;
    this.fail(REG_STATUS_NETWORK, now);
  }

  /**
   * The flow our binding lives on is gone: register again over a new one, at once, unless the
   * flow died young (a server that closes after every answer): then after 5 s.
   */
  flowLost(now: i64): void {
    if (this.state != REG_OK) return;
    this.state = REG_IDLE;
    if (now - this.boundAt >= FLOW_MATURE_US) { this.nextAt = now; return; }
    this.nextAt = now + this.retryUs;
  }

  /** A response to our REGISTER. */
  response(m: SipMessage, now: i64): void {
    const status = m.status;
    if (status < 200) return;
    this.tx = -1;
    this.lastStatus = status;
    if (status >= 200 && status < 300) { this.bound(m, now); return; }
    if (status == 401 || status == 407) {
      const id = status == 401 ? H_WWW_AUTHENTICATE : H_PROXY_AUTHENTICATE;
      const h = m.find(id, 0);
      if (h >= 0 && this.challenge.parse(m.valuePtr(h), m.valueLen[h]) == 0 && this.auth.shouldRetry(this.challenge)) {
        const n = this.auth.respond(this.challenge, "REGISTER", this.registrar.address, this.registrar.length,
          this.stack.entropy.take(12), 12, changetype<usize>(this.authValue), this.authValue.length);
        if (n > 0) {
          this.authLen = n;
          this.authHeader = status == 401 ? H_AUTHORIZATION : H_PROXY_AUTHORIZATION;
          this.send(now);
          return;
        }
      }
      this.fail(status, now);
      return;
    }
    if (status == 423) {
      // 10.2.8: ask again with at least the registrar's Min-Expires.
      const h = this.findNamed(m, "Min-Expires");
      if (h >= 0) {
        const v = parseDecimal(m.base, m.valueAt[h], m.valueAt[h] + m.valueLen[h], 0x7fffffff);
        if (v > <i64>this.expires) { this.expires = <i32>v; this.send(now); return; }
      }
    }
    this.fail(status, now);
  }

  private bound(m: SipMessage, now: i64): void {
    if (this.unregistering) {
      this.unregistering = false;
      this.state = REG_IDLE;
      this.nextAt = -1;
      return;
    }
    // The granted time: our Contact's expires parameter, else the Expires header, else what we asked.
    let granted: i64 = -1;
    for (let h = m.find(H_CONTACT, 0); h >= 0 && granted < 0; h = m.find(H_CONTACT, h + 1)) {
      const end = m.valueAt[h] + m.valueLen[h];
      for (let e = m.valueAt[h]; e < end && granted < 0;) {
        const ee = elementEnd(m.base, e, end);
        const pe = addressUri(m.base, e, ee, this.span);
        if (pe >= 0 && this.isOurContact(m.base, this.span) && findParam(m.base, pe, ee, "expires", this.span))
          granted = parseDecimal(m.base, this.span.at, this.span.at + this.span.len, 0x7fffffff);
        e = ee + 1;
      }
    }
    if (granted < 0) {
      const h = m.find(H_EXPIRES, 0);
      if (h >= 0) granted = parseDecimal(m.base, m.valueAt[h], m.valueAt[h] + m.valueLen[h], 0x7fffffff);
    }
    if (granted < 0) granted = this.expires;
    this.granted = <i32>granted;
    this.state = REG_OK;
    this.registrations++;
    this.boundAt = now;
    this.retryUs = RETRY_MIN_US;
    const g = granted * 1_000_000;
    this.nextAt = now + max(min(g * 4 / 5, g - 5_000_000), 1_000_000);
    this.auth.newRequest();
  }

  private isOurContact(p: usize, uri: Span): bool {
    // Ours when its port is our SIP port and its user our AOR's (registrars echo every binding).
    if (this.uri.parse(p, uri.at, uri.len) != 0) return false;
    const port = this.uri.port == 0 ? 5060 : this.uri.port;
    return port == this.stack.localPort;
  }

  private fail(status: i32, now: i64): void {
    this.failures++;
    this.lastStatus = status;
    this.state = REG_FAILED;
    this.unregistering = false;
    this.nextAt = now + this.retryUs;
  }

  private send(now: i64): void {
    const s = this.stack;
    if (this.callId.length == 0) {
      // One Call-ID and From tag for all REGISTERs of this binding (10.2: CSeq increments).
      this.callId.set(s.freshToken(24), 24);
      this.fromTag.set(s.freshToken(10), 10);
    }
    this.cseq++;
    const w = s.beginRequest("REGISTER", this.registrar.address, this.registrar.length);
    s.writeFrom(w, this.fromTag.address, this.fromTag.length, this.scratch);
    w.ascii("To: <").bytes(s.aor.address, s.aor.length).ascii(">\r\n");
    w.headerBytes(H_CALL_ID, this.callId.address, this.callId.length);
    w.ascii("CSeq: ").decimal(this.cseq).ascii(" REGISTER\r\n");
    s.writeContact(w);
    w.headerDecimal(H_EXPIRES, this.unregistering ? 0 : this.expires);
    if (this.authLen > 0) w.headerBytes(this.authHeader, changetype<usize>(this.authValue), this.authLen);
    s.writeIdentification(w);
    const n = w.finish(0, 0);
    this.tx = n > 0 ? s.transactions.startClient(w.address, n, changetype<usize>(this.registrarAddress), s.reliable, s.route(changetype<usize>(this.registrarAddress)), now) : -1;
    if (this.tx < 0) { this.fail(0, now); return; }
    this.state = REG_SENT;
    this.nextAt = -1;
  }

  private findNamed(m: SipMessage, name: string): i32 {
    for (let h = 0; h < m.count; h++) if (m.spanEquals(m.nameAt[h], m.nameLen[h], name, true)) return h;
    return -1;
  }
}
