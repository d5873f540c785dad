// The intercom as a whole, without I/O: the SIP user agent, the call and its media, the
// configuration put into force, the call button, and the log lines all of that produces.
// main.ts moves bytes between this and the HAL (SIP and media sockets, audio frames, the
// relay pin, the log) and refills the entropy pool; nothing here touches the board.

import { UserAgent } from "../sip/ua";
import { Call, CALL_IDLE, CALL_RINGING, CALL_ACTIVE, CALL_CALLING } from "./call";
import { EntropyPool } from "../sip/entropy";
import { SdpNegotiator, POLICY_MANDATORY, POLICY_PREFERRED, POLICY_OFF } from "../sip/sdp-negotiate";
import { Config } from "../config/config";
import { SrtpPolicy, AutoAnswer, Transport } from "../config/keys";
import { ANSWER_OFF, ANSWER_ALWAYS, ANSWER_INTERCOM } from "../sip/invite";
import { END_LOCAL_HANGUP, END_REMOTE_HANGUP, END_REJECTED, END_TIMEOUT, END_MEDIA, END_AUTH, END_NETWORK, END_CONSENT, END_ICE_FAILED } from "../sip/session";
import { REG_OK, REG_FAILED, REG_STATUS_NETWORK } from "../sip/registration";
import { CONN_FREE, CONN_OPEN } from "../sip/connections";
import { LogQueue } from "../lib/log-queue";
import { setSockaddrPort, formatAddress, sockaddrPort, SOCKADDR_BYTES, FAMILY_IPV6 } from "../lib/inet";

const ERR_NOT_FOUND: i32 = -3; // boards/ABI.md: tls_connect without an IDENTITY record

const MAX_CODECS: i32 = 4;

export class Intercom {
  readonly entropy: EntropyPool;
  readonly call: Call;
  readonly ua: UserAgent;
  readonly log: LogQueue = new LogQueue(8, 160);
  private readonly codecs: StaticArray<i32>;
  private readonly suites: StaticArray<i32>;
  readonly address: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES); // ours, port 0
  private readonly addressText: StaticArray<u8> = new StaticArray<u8>(48);
  private appliedVersion: u32 = 0xffffffff;
  private appliedSip: u32 = 0xffffffff;
  private appliedNat: u32 = 0xffffffff;
  private readonly pendingTarget: StaticArray<u8> = new StaticArray<u8>(256);
  private pendingTargetLength: i32 = 0;   // a call waiting for its candidates
  addressChanges: u32 = 0;
  /** A call was asked for and waits for its candidates: to the user it is already calling. */
  get dialing(): bool { return this.pendingTargetLength > 0; }

  /** Gives up a call still gathering its candidates (nothing was sent yet). */
  cancelDial(): void {
    if (this.pendingTargetLength == 0) return;
    this.pendingTargetLength = 0;
    this.call.nat.end(this.call.now);
    this.log.info().text("call given up before it was placed");
  }
  private lastState: i32 = CALL_IDLE;
  private lastRegistration: i32 = -1;
  private configured: bool = false;
  private fullReported: u32 = 0;
  /** The HAL reported our address and ports: calls can be made and taken. */
  ready: bool = false;

  constructor(private config: Config) {
    const entropy = new EntropyPool(512);
    this.entropy = entropy;
    const codecs = new StaticArray<i32>(MAX_CODECS);
    const suites = new StaticArray<i32>(MAX_CODECS);
    this.codecs = codecs;
    this.suites = suites;
    const call = new Call(entropy, new SdpNegotiator(codecs, suites, POLICY_MANDATORY));
    this.call = call;
    const ua = new UserAgent(call, entropy);
    this.ua = ua;
    call.attach(ua);
  }

  /** Our address (port ignored) and the two ports the HAL bound: SIP and RTP. */
  setAddresses(address: usize, sipPort: i32, mediaPort: i32): void {
    memory.copy(changetype<usize>(this.address), address, <usize>SOCKADDR_BYTES);
    const sa = changetype<usize>(this.address);
    setSockaddrPort(sa, sipPort);
    this.ua.stack.setLocal(sa);
    setSockaddrPort(sa, mediaPort);
    this.call.setLocalMedia(sa);
    setSockaddrPort(sa, 0);
    this.ready = true;
  }

  /**
   * The network gave us another address (a handoff, a new DHCP lease): SIP and media use it
   * from now on, the registration is renewed, and a call in progress restarts ICE.
   */
  addressChanged(address: usize, now: i64): void {
    if (!this.ready) return;
    const sip = sockaddrPort(changetype<usize>(this.ua.stack.local));
    const media = sockaddrPort(changetype<usize>(this.call.localMedia));
    this.setAddresses(address, sip, media);
    this.addressChanges++;
    this.log.info().text("network address changed: ").text(this.call.nat.active ? "restarting ICE" : "re-registering");
    this.ua.registration.refreshNow(now);
    this.call.nat.addressChanged(now);
  }

  /** Puts the configuration in force when it changed (the SIP part re-registers). */
  applyConfig(now: i64): void {
    const c = this.config;
    if (c.version == this.appliedVersion) return;
    this.appliedVersion = c.version;
    const s = this.ua.stack;
    s.aor.set(c.accountAddress, c.accountLength);
    s.reliable = c.transport != Transport.Udp;
    s.secure = c.transport == Transport.Tls;
    const inv = this.ua.call;
    const mode = c.autoAnswer;
    inv.answerMode = mode == AutoAnswer.On ? ANSWER_ALWAYS : mode == AutoAnswer.Intercom ? ANSWER_INTERCOM : ANSWER_OFF;
    inv.answerAfterMs = c.answerAfterSeconds * 1000;
    let n = 0;
    for (let i = 0; i < c.codecCount && n < MAX_CODECS; i++) this.codecs[n++] = c.codec(i);
    let m = 0;
    for (let i = 0; i < c.suiteCount && m < MAX_CODECS; i++) this.suites[m++] = c.suite(i);
    const p = c.srtpPolicy;
    this.call.negotiator.configure(this.codecs, n, this.suites, m, p == SrtpPolicy.Off ? POLICY_OFF : p == SrtpPolicy.Preferred ? POLICY_PREFERRED : POLICY_MANDATORY);
    this.call.negotiator.ptime = c.ptimeMs;
    this.call.jitterMs = c.jitterTargetMs;
    this.call.pulseUs = <i64>c.doorPulseMs * 1000;
    if (c.doorEnabled) this.call.door.setCodeAscii(c.doorCodeAddress, c.doorCodeLength);
    else this.call.door.clearCode();
    const user = c.usernameLength;
    this.ua.registration.auth.setCredentials(c.usernameAddress, user, c.passwordAddress, c.passwordLength);
    inv.auth.setCredentials(c.usernameAddress, user, c.passwordAddress, c.passwordLength);
    if (c.sipVersion != this.appliedSip) {
      this.appliedSip = c.sipVersion;
      const reg = this.ua.registration;
      reg.unregister(now);
      if (!reg.configure(c.registrarAddress, c.registrarLength, c.expiresSeconds, now)) {
        this.log.warn().text("sip.registrar is not a SIP URI with an IP address: not registering");
      }
      // A TLS registrar must prove the name of its URI's host.
      s.setServerName(reg.registrar.address + <usize>reg.hostAt, reg.state != 0 ? reg.hostLength : 0, changetype<usize>(reg.registrarAddress));
      // With a registrar, calls go through it (it is the outbound proxy, as SIP phones use it).
      inv.useOutboundProxy = c.registrarLength > 0 && reg.state != 0;
      if (inv.useOutboundProxy) memory.copy(changetype<usize>(inv.outboundProxy), changetype<usize>(reg.registrarAddress), <usize>SOCKADDR_BYTES);
    }
    if (c.natVersion != this.appliedNat) {
      this.appliedNat = c.natVersion;
      const nat = this.call.nat;
      const t = nat.transport;
      nat.enabled = c.iceEnabled;
      t.gatherer.setStunServer(c.stunServerAddress, c.stunServerSet);
      if (c.turnServerSet) t.turn.configure(c.turnServerAddress, c.turnUsernameAddress, c.turnUsernameLength, c.turnPasswordAddress, c.turnPasswordLength);
      else t.turn.unconfigure();
      t.agent.keepaliveUs = <i64>c.natKeepaliveSeconds * 1_000_000;
      t.agent.consentIntervalUs = <i64>c.consentIntervalSeconds * 1_000_000;
    }
    this.configured = true;
  }

  /** The call button: call the configured target, answer a ringing call, or hang up. */
  button(now: i64): void {
    const state = this.call.state;
    if (state == CALL_RINGING) { this.ua.call.answer(now); return; }
    if (this.dialing) { this.cancelDial(); return; }
    if (state != CALL_IDLE) { this.ua.call.hangup(now); return; }
    const c = this.config;
    if (c.targetLength == 0) { this.log.info().text("call button: no call.target configured"); return; }
    this.dial(c.targetAddress, c.targetLength, now);
  }

  dial(uri: usize, len: i32, now: i64): bool {
    this.call.now = now;
    if (!this.ready) { this.log.warn().text("cannot call yet: the network address is not known"); return false; }
    if (this.ua.call.busy || this.pendingTargetLength > 0) { this.log.warn().text("cannot call ").bytes(uri, len).text(": a call is up"); return false; }
    if (len <= 0 || len > this.pendingTarget.length) { this.log.warn().text("cannot call: the URI is empty or too long"); return false; }
    // The INVITE carries every candidate: gather first (milliseconds; at most the deadline).
    this.call.prepareCall(now);
    if (!this.call.mediaReady()) {
      memory.copy(changetype<usize>(this.pendingTarget), uri, <usize>len);
      this.pendingTargetLength = len;
      return true;
    }
    return this.placeCall(uri, len, now);
  }

  private placeCall(uri: usize, len: i32, now: i64): bool {
    const ok = this.ua.call.call(uri, len, now);
    if (!ok) this.log.warn().text("cannot call ").bytes(uri, len).text(": not a SIP URI with an IP address, or a call is up");
    else this.log.info().text("calling ").bytes(uri, len);
    return ok;
  }

  receiveSip(p: usize, len: i32, src: usize, now: i64): void {
    this.call.now = now;
    this.ua.receive(p, len, src, false, now);
    this.observe();
  }

  /** One SIP message framed from TCP connection `connection`. */
  receiveSipStream(p: usize, len: i32, src: usize, connection: i32, now: i64): void {
    this.call.now = now;
    this.ua.receive(p, len, src, true, now, connection);
    this.observe();
  }

  /**
   * Stream connection i is gone: closed by the peer or here, or a connect or TLS handshake
   * failed (`error` < 0: the HAL would not start it). One line says why when it never carried
   * an answer; what waited on it fails now, and the connection slot is freed.
   */
  connectionLost(i: i32, error: i32, now: i64): void {
    const conns = this.ua.stack.connections;
    if (i < 0 || i >= conns.table.length || conns.at(i).state == CONN_FREE) return;
    const c = conns.at(i);
    if (c.outgoing && !c.everReceived) {
      const sa = c.peerAddress;
      const v6 = load<u8>(sa) == FAMILY_IPV6;
      const n = formatAddress(sa, changetype<usize>(this.addressText), this.addressText.length);
      const l = this.log.warn().text(c.secure ? "TLS to " : "TCP to ").text(v6 ? "[" : "").bytes(changetype<usize>(this.addressText), max(n, 0))
        .text(v6 ? "]:" : ":").int(sockaddrPort(sa));
      if (c.secure && error == ERR_NOT_FOUND) l.text(" not started: this board has no identity (not provisioned)");
      else if (error < 0) l.text(" not started: error ").int(error);
      else if (c.state != CONN_OPEN) l.text(c.secure ? " failed: handshake refused (server not trusted or not the name asked for, or our certificate refused)" : " failed: no connection");
      else l.text(c.secure ? " closed by the server before any answer: our certificate refused?" : " closed by the server before any answer");
    }
    this.ua.connectionLost(i, now);
    conns.closed(i);
    this.observe();
  }

  receiveMedia(p: usize, len: i32, src: usize, now: i64): void {
    this.call.now = now;
    this.call.nat.transport.receive(p, len, src, this.call.media, now);
    this.observe();
  }

  frame(capture: usize, playout: usize, samples: i32, now: i64): void {
    this.call.frame(capture, playout, samples, now);
  }

  tick(now: i64): void {
    this.call.now = now;
    this.applyConfig(now);
    // Until the HAL reports our address, a REGISTER could only carry an empty Via and Contact.
    if (this.ready) this.ua.tick(now);
    this.call.tick(now);
    if (this.pendingTargetLength > 0 && this.call.mediaReady()) {
      const n = this.pendingTargetLength;
      this.pendingTargetLength = 0;
      this.placeCall(changetype<usize>(this.pendingTarget), n, now);
    }
    this.observe();
  }

  timeout(): i64 {
    const a = this.ready ? this.ua.timeout() : -1;
    const b = this.call.timeout();
    return b < 0 ? a : a < 0 || b < a ? b : a;
  }

  /** Logs what changed: call state, registration. */
  private observe(): void {
    const state = this.call.state;
    if (state != this.lastState) {
      const was = this.lastState;
      this.lastState = state;
      if (state == CALL_RINGING) this.log.info().text("incoming call");
      else if (state == CALL_ACTIVE) this.log.info().text("call connected");
      else if (state == CALL_IDLE && was != CALL_IDLE) {
        const l = this.log.info().text("call ended: ").text(endText(this.call.lastEndReason));
        if (this.call.lastEndStatus > 0) l.text(" (").int(this.call.lastEndStatus).text(")");
      }
    }
    const t = this.ua.stack.transactions;
    if (t.full != this.fullReported) {
      // The table was full (a request got 503): say what holds it, once per burst.
      this.fullReported = t.full;
      const l = this.log.warn().text("SIP transactions all in use:");
      for (let i = 0; i < t.table.length; i++) {
        const x = t.at(i);
        l.text(" ").bytes(changetype<usize>(x.method), x.methodLen).text(x.isClient ? "/c" : "/s").int(x.state).text("/").int(x.status);
      }
    }
    const reg = this.ua.registration;
    if (reg.state != this.lastRegistration) {
      this.lastRegistration = reg.state;
      if (reg.state == REG_OK) this.log.info().text("registered for ").int(reg.granted).text(" s");
      else if (reg.state == REG_FAILED && reg.lastStatus == REG_STATUS_NETWORK) this.log.warn().text("registration failed: network (the REGISTER did not reach the registrar)");
      else if (reg.state == REG_FAILED) this.log.warn().text("registration failed: ").int(reg.lastStatus);
    }
  }
}

function endText(reason: i32): string {
  switch (reason) {
    case END_LOCAL_HANGUP: return "hung up here";
    case END_REMOTE_HANGUP: return "hung up by the other side";
    case END_REJECTED: return "refused";
    case END_TIMEOUT: return "no answer";
    case END_MEDIA: return "no media in common";
    case END_AUTH: return "credentials refused";
    case END_NETWORK: return "network";
    case END_CONSENT: return "media consent lost (no answer on the media path for 30 s)";
    case END_ICE_FAILED: return "no working media path (every ICE candidate pair failed)";
    default: return "unknown";
  }
}
