// The media port's traffic: one UDP socket carries RTP/RTCP, the ICE checks, the STUN
// server's answer and the TURN server's messages (RFC 7983 demultiplexing). Inbound, it sorts
// each datagram to the gatherer, the TURN client, the ICE agent or the media session, taking
// relayed ones out of their ChannelData or Data indication first. Outbound, it merges what
// those cores queued into one outbox for main.ts, sending media only on the pair ICE selected
// (never before: RFC 7675 consent) and wrapping whatever goes through the relay.

import { SipOutbox } from "../sip/outbox";
import { EntropyPool } from "../sip/entropy";
import { MediaSession } from "./media";
import { IceAgent, ICE_OFF, ROUTE_RELAY } from "../net/ice-agent";
import { IceGatherer } from "../net/ice-gather";
import { TurnClient } from "../net/turn";
import { TURN_NOT_DATA } from "../net/turn-attrs";
import { demux, DEMUX_STUN, DEMUX_TURN_CHANNEL } from "../media/demux";
import { stunMethod, METHOD_BINDING } from "../net/stun-attrs";
import { readU16BE } from "../lib/bytes";
import { sockaddrEquals } from "../lib/inet";

const PACKET_BYTES: i32 = 768; // our largest packet (60 ms of G.722 over SRTP, 520 bytes) in a Send indication

export class MediaTransport {
  readonly outbox: SipOutbox = new SipOutbox(3072, 16); // drained after every event
  readonly turn: TurnClient;
  readonly agent: IceAgent;
  readonly gatherer: IceGatherer;
  private readonly wrapped: StaticArray<u8> = new StaticArray<u8>(PACKET_BYTES);
  mediaHeld: u32 = 0;        // media packets not sent: no selected pair yet, or consent lost
  relayErrors: u32 = 0;      // could not be wrapped for the relay (no permission yet, too big)
  relayedIn: u32 = 0;
  relayedOut: u32 = 0;
  turnDropped: u32 = 0;      // bad or unexpected data from the TURN server

  constructor(entropy: EntropyPool) {
    const agent = new IceAgent(entropy);
    const turn = new TurnClient(entropy, 2, agent.outbox, agent.writer); // one peer per call, and a spare for a restart
    this.agent = agent;
    this.turn = turn;
    this.gatherer = new IceGatherer(entropy, agent, turn);
  }

  /** A datagram on the media port from src. */
  receive(p: usize, len: i32, src: usize, media: MediaSession, now: i64): void {
    const kind = demux(p, len);
    const t = this.turn;
    if (t.isConfigured && sockaddrEquals(t.server, src) && (kind == DEMUX_TURN_CHANNEL || (kind == DEMUX_STUN && !this.isBinding(p, len)))) {
      const at = t.unwrap(p, len, src, now);
      if (at < 0) { if (at != TURN_NOT_DATA) this.turnDropped++; return; }
      this.relayedIn++;
      this.dispatch(p + <usize>at, t.length, t.peer, ROUTE_RELAY, media, now);
      return;
    }
    if (kind == DEMUX_STUN && this.gatherer.isStunServer(src) && this.isBinding(p, len)) { this.gatherer.receive(p, len, src, now); return; }
    this.dispatch(p, len, src, -1, media, now);
  }

  private dispatch(p: usize, len: i32, src: usize, route: i32, media: MediaSession, now: i64): void {
    if (demux(p, len) == DEMUX_STUN) { this.agent.receive(p, len, src, route, now); return; }
    media.receive(p, len, src, now);
  }

  @inline private isBinding(p: usize, len: i32): bool { return len >= 2 && stunMethod(readU16BE(p)) == METHOD_BINDING; }

  /** Moves everything queued by the cores into the outbox main.ts sends from the media socket. */
  flush(media: MediaSession, now: i64): void {
    const a = this.agent;
    this.drain(a.outbox);
    this.drain(this.turn.outbox);
    const m = media.outbox;
    const ice = a.state != ICE_OFF;
    while (m.length > 0) {
      if (!ice) this.forward(m.peekData(), m.peekLength(), m.peekAddress(), -1, now);
      else if (!a.canSend) { this.mediaHeld++; media.notSent(m.peekData(), m.peekLength()); }
      else {
        this.forward(m.peekData(), m.peekLength(), changetype<usize>(a.selectedRemote), a.selectedRoute, now);
        a.noteSent(now);
      }
      m.pop();
    }
  }

  private drain(o: SipOutbox): void {
    while (o.length > 0) {
      this.forward(o.peekData(), o.peekLength(), o.peekAddress(), o.peekConnection(), 0);
      o.pop();
    }
  }

  private forward(p: usize, len: i32, dest: usize, route: i32, now: i64): void {
    if (route != ROUTE_RELAY) { this.outbox.push(p, len, dest); return; }
    const out = changetype<usize>(this.wrapped);
    const n = this.turn.wrap(p, len, dest, out, PACKET_BYTES);
    if (n < 0) { this.relayErrors++; return; }
    this.relayedOut++;
    this.outbox.push(out, n, this.turn.server);
  }

  tick(now: i64): void {
    this.turn.tick(now);
    this.gatherer.tick(now);
    this.agent.tick(now);
  }

  timeout(): i64 {
    let t = this.turn.timeout();
    t = earliest(t, this.gatherer.timeout());
    return earliest(t, this.agent.timeout());
  }
}

@inline function earliest(a: i64, b: i64): i64 { return b < 0 ? a : (a < 0 || b < a ? b : a); }
