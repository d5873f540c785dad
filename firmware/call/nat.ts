// NAT traversal for one call, between the call core and the ICE/TURN cores: when to gather,
// what our SDP says (ICE lines, the default candidate in c=/m=), when checks start and with
// which role, ICE restarts (ours after an address change, the peer's in its re-INVITE), TURN
// permissions and the channel of the selected pair, and the end of the allocation with the call.

import { MediaTransport } from "./media-transport";
import { EntropyPool } from "../sip/entropy";
import { SdpExtension } from "../sip/sdp-negotiate";
import { SdpSession } from "../sip/sdp";
import { SdpWriter } from "../sip/sdp-writer";
import { writeIceCredentials, writeCandidate, defaultMatchesCandidate } from "../net/ice-sdp";
import { ICE_OFF, ICE_FAILED, UFRAG_CHARS, PWD_CHARS } from "../net/ice-agent";
import { CAND_HOST, CAND_SRFLX, CAND_PRFLX, CAND_RELAY } from "../net/ice-candidate";

const PERMIT_ORDER: StaticArray<i32> = [CAND_RELAY, CAND_SRFLX, CAND_PRFLX, CAND_HOST];
import { SOCKADDR_BYTES } from "../lib/inet";

export class CallNat extends SdpExtension {
  readonly transport: MediaTransport;
  enabled: bool = true;          // nat.ice
  /** ICE runs on this call: we offered it, or the peer's offer had it. */
  active: bool = false;
  /** begin() ran for this call: credentials and candidates exist. */
  private begun: bool = false;
  private restartPending: bool = false;
  private boundChannel: bool = false;
  private nextBindAt: i64 = 0;
  private readonly host: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  restarts: u32 = 0;

  constructor(entropy: EntropyPool) {
    super();
    this.transport = new MediaTransport(entropy);
  }

  /** Our media port's address (port included). */
  setHost(sa: usize): void { memory.copy(changetype<usize>(this.host), sa, SOCKADDR_BYTES); }

  /** A new call begins (ours or theirs): fresh credentials, gathering from the host address. */
  begin(now: i64): void {
    this.active = false;
    this.restartPending = false;
    this.boundChannel = false;
    this.begun = this.enabled;
    if (!this.enabled) return;
    this.transport.agent.newCredentials();
    this.gather(now);
  }

  private gather(now: i64): void {
    const t = this.transport;
    t.agent.clearLocals();
    t.gatherer.start(changetype<usize>(this.host), now);
  }

  /** The offer or answer can be written: gathering is over (or NAT traversal is off). */
  get ready(): bool { return !this.enabled || this.transport.gatherer.done; }

  /** The address our SDP's c= and m= give (the default candidate). */
  defaultAddress(out: usize): void {
    if (this.enabled && this.transport.gatherer.done) memory.copy(out, this.transport.gatherer.defaultAddress, SOCKADDR_BYTES);
    else memory.copy(out, changetype<usize>(this.host), SOCKADDR_BYTES);
  }

  // ---- SdpExtension ------------------------------------------------------------------------

  wanted(answering: bool, offer: SdpSession | null): bool {
    // An INVITE's offer is checked as it arrives, before begin(): that answer is never sent.
    if (!this.enabled || !this.begun) return false;
    if (!answering) return true;
    return offer !== null && usable(offer);
  }

  writeMedia(w: SdpWriter): void {
    const a = this.transport.agent;
    const g = this.transport.gatherer;
    writeIceCredentials(w, changetype<usize>(a.localUfrag), UFRAG_CHARS, changetype<usize>(a.localPwd), PWD_CHARS);
    w.ascii("a=ice-options:ice2\r\n");
    writeCandidate(w, g.host);
    if (g.srflxKnown) writeCandidate(w, g.srflx);
    if (g.relayKnown) writeCandidate(w, g.relay);
  }

  // ---- the offer/answer's outcome ------------------------------------------------------------

  /**
   * The peer's SDP is in force: `remote` answered our offer (controlling) or is the offer we
   * answered (controlled). Starts checks on a new ICE session or a restart; a peer without
   * ICE means none this call (and no relay kept for it).
   */
  agreed(remote: SdpSession, weOffered: bool, now: i64): void {
    const t = this.transport;
    if (!this.enabled || !usable(remote)) {
      if (this.active || t.agent.state != ICE_OFF) t.agent.stop();
      this.active = false;
      if (t.turn.allocated) t.turn.release(now);
      return;
    }
    const d = remote.ice;
    if (this.active && !t.agent.isRestart(d)) return; // a re-INVITE of the same ICE session (hold)
    const a = t.agent;
    a.clearLocals();
    a.addLocal(t.gatherer.host);
    if (t.gatherer.relayKnown) a.addLocal(t.gatherer.relay);
    a.start(d, weOffered, now);
    this.active = true;
    this.boundChannel = false;
    // The relay holds few permissions (RAM): the peer's relay and server-reflexive addresses
    // first, its host addresses (often private, unreachable from a relay) last.
    if (t.gatherer.relayKnown) {
      for (let k = 0; k < PERMIT_ORDER.length; k++) {
        for (let i = 0; i < a.remoteCount; i++) if (a.remoteType(i) == PERMIT_ORDER[k]) t.turn.permit(a.remoteAddress(i), now);
      }
    }
  }

  /** The peer's re-INVITE: a restart on its side means new credentials on ours (8839 4.4.1.1.1). */
  reoffered(remote: SdpSession): void {
    if (this.active && usable(remote) && this.transport.agent.isRestart(remote.ice)) this.transport.agent.newCredentials();
  }

  /** Our address changed mid-call: gather again and offer anew (re-INVITE) once that is done. */
  addressChanged(now: i64): void {
    if (!this.enabled || !this.active) return;
    const t = this.transport;
    t.turn.forget(); // the allocation belongs to the old address: the server drops it on its own
    t.agent.newCredentials();
    this.gather(now);
    this.restartPending = true;
    this.restarts++;
  }

  /** Gathering for our restart is over: the caller sends the re-INVITE. */
  takeRestart(): bool {
    if (!this.restartPending || !this.transport.gatherer.done) return false;
    this.restartPending = false;
    return true;
  }

  /** The path is gone for good: consent lost (30 s), or every pair failed. */
  get failed(): bool { return this.active && this.transport.agent.state == ICE_FAILED; }

  end(now: i64): void {
    const t = this.transport;
    t.agent.stop();
    if (t.turn.allocated) t.turn.release(now);
    this.active = false;
    this.begun = false;
    this.restartPending = false;
  }

  tick(now: i64): void {
    const t = this.transport;
    t.tick(now);
    // Media through the relay: a channel (4 bytes a packet instead of a Send indication's 36).
    const a = t.agent;
    if (this.active && !this.boundChannel && a.canSend && a.selectedLocalType == CAND_RELAY && now >= this.nextBindAt) {
      // Until it is bound, media goes as Send indications; a refusal (no slot) is tried again.
      this.boundChannel = t.turn.bind(changetype<usize>(a.selectedRemote), now) >= 0;
      if (!this.boundChannel) this.nextBindAt = now + 1_000_000;
    }
  }

  timeout(): i64 { return this.transport.timeout(); }
}

/**
 * The peer does ICE on one component as we do, and its default address is one of its
 * candidates (else: ice-mismatch, no ICE). A peer that keeps RTCP apart (no rtcp-mux, RTCP
 * candidates of component 2) would find no component 2 in our answer and give up ICE (RFC 8839
 * 5.1: baresip does, and sends nothing): such a call runs without ICE, to its c= address.
 */
function usable(s: SdpSession): bool {
  const d = s.ice;
  if (!d.present || d.count == 0 || !defaultMatchesCandidate(d, s.audioAddressPtr)) return false;
  if (!s.rtcpMux) for (let i = 0; i < d.count; i++) if (unchecked(d.candidates[i]).component != 1) return false;
  return true;
}
