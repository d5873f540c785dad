// The call commands of the device console (boards/CONSOLE.md, "Calls") over a ConsoleClient:
// dial, answer, hang up, hold, DTMF, and the call status with its statistics.

import type { ConsoleClient, RequestOptions } from "../link/console.ts";
import { TlvWriter, readTlvs, statusName } from "../link/frame.ts";

export const CallCommand = { DIAL: 0x60, ANSWER: 0x61, HANGUP: 0x62, STATUS: 0x63, DTMF: 0x64, HOLD: 0x65 } as const;

export const CALL_STATES = ["idle", "calling", "ringing", "active", "ending"] as const;
export type CallState = (typeof CALL_STATES)[number];
export const CODEC_NAMES = ["G722", "PCMU", "PCMA"] as const;
export const SUITE_NAMES = ["none", "AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32", "AEAD_AES_128_GCM", "AEAD_AES_256_GCM"] as const;
export const END_REASONS = ["", "hung up here", "hung up by the other side", "refused", "no answer", "no media in common", "credentials refused", "network",
  "media consent lost", "no working media path"] as const;
export const ICE_STATES = ["off", "checking", "connected", "failed"] as const;
export const TURN_STATES = ["idle", "allocating", "ready", "failed", "releasing"] as const;
export const CANDIDATE_TYPES = ["host", "srflx", "prflx", "relay"] as const;
export const REGISTRATION_STATES = ["off", "idle", "registering", "registered", "failed"] as const;

export interface CallStatus {
  state: CallState;
  codec: string;
  suite: string;
  packetsSent: number;
  packetsReceived: number;
  framesConcealed: number;
  framesPlayed: number;
  /** Interarrival jitter of what we receive, ms (RFC 3550, 8 kHz units converted). */
  jitterMs: number;
  /** Round trip from RTCP, ms; undefined before the first report block. */
  rttMs?: number;
  mos: number;
  /** INVITE sent (or received) to ACK sent (or received), ms; undefined before. */
  setupMs?: number;
  endReason: string;
  endStatus: number;
  registration: string;
  bytesSent: number;
  bytesReceived: number;
  srtpDropped: number;
  doorOpens: number;
  /** What the peer's RTCP says of our stream: fraction lost (0..1) and cumulative lost. */
  remoteFractionLost: number;
  remoteCumulativeLost: number;
  /** Mean time a frame spends in the jitter buffer, ms; and its target depth in frames. */
  bufferMs: number;
  bufferTarget: number;
  sipRetransmissions: number;
  digitsReceived: number;
  rtcpSent: number;
  rtcpReceived: number;
  /** The board knows its address and ports: it can make and take calls. */
  ready: boolean;
  /** ICE on this call (off: the peer does not do ICE, or nat.ice is off). */
  ice: {
    state: string;
    /** The selected pair's candidate types, ours and theirs. */
    local?: string;
    remote?: string;
    /** From the start of checks to the nominated pair, ms. */
    connectMs?: number;
    /** From the offer (the INVITE sent or received) to the nominated pair, ms. */
    offerToPathMs?: number;
    /** Of stunBytesSent: our consent checks. */
    consentBytesSent: number;
    /** The TURN allocation: idle, allocating, ready, failed (with the server's error), releasing. */
    turn: string;
    /** Candidate gathering: how long, and what it found beyond the host candidate. */
    gatherMs?: number;
    srflx: boolean;
    relay: boolean;
    checksSent: number;
    consentChecks: number;
    keepalivesSent: number;
    /** STUN bytes the agent sent (checks, answers, consent, keepalives), UDP payloads. */
    stunBytesSent: number;
    requestsReceived: number;
    /** Requests refused for their credentials (400/401, or dropped when an answer would be bigger). */
    refused: number;
    /** STUN datagrams dropped: malformed, not answering anything of ours. */
    dropped: number;
    roleConflicts: number;
    /** Media packets not sent: no path yet, or consent lost. */
    mediaHeld: number;
    relayedOut: number;
    relayedIn: number;
    restarts: number;
  };
}

export class CallRefusedError extends Error {}

const utf8 = new TextEncoder();

function num(v: Uint8Array | undefined): number {
  if (!v || v.length === 0) return NaN;
  let n = 0;
  for (const b of v) n = n * 256 + b;
  return n;
}

export function decodeStatus(payload: Uint8Array): CallStatus {
  const t = new Map<number, Uint8Array>();
  for (const { tag, value } of readTlvs(payload)) t.set(tag, value);
  const rtt = num(t.get(0x09));
  const setup = num(t.get(0x0b));
  const remoteLost = num(t.get(0x17));
  return {
    state: CALL_STATES[num(t.get(0x01))] ?? "idle",
    codec: CODEC_NAMES[num(t.get(0x02))] ?? "?",
    suite: SUITE_NAMES[num(t.get(0x03))] ?? "?",
    packetsSent: num(t.get(0x04)),
    packetsReceived: num(t.get(0x05)),
    framesConcealed: num(t.get(0x06)),
    framesPlayed: num(t.get(0x07)),
    jitterMs: num(t.get(0x08)) / 8,
    rttMs: rtt === 0xffffffff ? undefined : rtt / 1000,
    mos: num(t.get(0x0a)) / 100,
    setupMs: setup === 0xffffffff ? undefined : setup / 1000,
    endReason: END_REASONS[num(t.get(0x0c))] ?? "",
    endStatus: num(t.get(0x0d)),
    registration: REGISTRATION_STATES[num(t.get(0x0e))] ?? "?",
    bytesSent: num(t.get(0x0f)),
    bytesReceived: num(t.get(0x10)),
    srtpDropped: num(t.get(0x11)),
    doorOpens: num(t.get(0x12)),
    remoteFractionLost: num(t.get(0x13)) / 256,
    remoteCumulativeLost: remoteLost > 0x7fffffff ? remoteLost - 0x100000000 : remoteLost,
    bufferMs: num(t.get(0x14)) / 1000,
    bufferTarget: num(t.get(0x16)),
    sipRetransmissions: num(t.get(0x15)),
    digitsReceived: num(t.get(0x18)),
    rtcpSent: num(t.get(0x19)),
    rtcpReceived: num(t.get(0x1a)),
    ready: num(t.get(0x1b)) === 1,
    ice: decodeIce(t),
  };
}

function decodeIce(t: Map<number, Uint8Array>): CallStatus["ice"] {
  const opt = (tag: number, scale: number) => { const v = num(t.get(tag)); return Number.isNaN(v) || v === 0xffffffff ? undefined : v / scale; };
  const type = (tag: number) => { const v = num(t.get(tag)); return Number.isNaN(v) || v === 0xff ? undefined : CANDIDATE_TYPES[v]; };
  const gathered = num(t.get(0x26));
  return {
    state: ICE_STATES[num(t.get(0x1c))] ?? "off",
    local: type(0x1d),
    remote: type(0x1e),
    connectMs: opt(0x1f, 1000),
    offerToPathMs: opt(0x2e, 1000),
    consentBytesSent: num(t.get(0x2f)) || 0,
    turn: `${TURN_STATES[num(t.get(0x30))] ?? "?"}${num(t.get(0x31)) ? ` (error ${num(t.get(0x31))})` : ""}`,
    gatherMs: opt(0x27, 1000),
    srflx: (gathered & 2) !== 0,
    relay: (gathered & 4) !== 0,
    checksSent: num(t.get(0x20)) || 0,
    consentChecks: num(t.get(0x21)) || 0,
    keepalivesSent: num(t.get(0x29)) || 0,
    stunBytesSent: num(t.get(0x22)) || 0,
    requestsReceived: num(t.get(0x2a)) || 0,
    refused: num(t.get(0x2b)) || 0,
    dropped: num(t.get(0x2c)) || 0,
    roleConflicts: num(t.get(0x2d)) || 0,
    mediaHeld: num(t.get(0x23)) || 0,
    relayedOut: num(t.get(0x24)) || 0,
    relayedIn: num(t.get(0x25)) || 0,
    restarts: num(t.get(0x28)) || 0,
  };
}

export class CallClient {
  constructor(readonly console: ConsoleClient, readonly opts: RequestOptions = {}) {}

  private async send(command: number, payload: Uint8Array, what: string): Promise<Uint8Array> {
    const r = await this.console.request(command, payload, this.opts);
    if (r.status !== 0) throw new CallRefusedError(`${what}: the board answered ${statusName(r.status)}`);
    return r.payload;
  }

  async dial(uri: string): Promise<void> { await this.send(CallCommand.DIAL, new TlvWriter().string(0x01, uri).finish(), `dial ${uri}`); }
  async answer(): Promise<void> { await this.send(CallCommand.ANSWER, new Uint8Array(0), "answer"); }
  async hangup(): Promise<void> { await this.send(CallCommand.HANGUP, new Uint8Array(0), "hang up"); }
  async hold(on: boolean): Promise<void> { await this.send(CallCommand.HOLD, new TlvWriter().u8(0x01, on ? 1 : 0).finish(), on ? "hold" : "resume"); }
  async dtmf(digits: string): Promise<void> { await this.send(CallCommand.DTMF, new TlvWriter().bytes(0x01, utf8.encode(digits)).finish(), `send DTMF ${digits}`); }
  async status(): Promise<CallStatus> { return decodeStatus(await this.send(CallCommand.STATUS, new Uint8Array(0), "call status")); }

  /** Polls the status until `done` says so, or throws after timeoutMs. */
  async waitFor(done: (s: CallStatus) => boolean, timeoutMs: number, what: string): Promise<CallStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.status();
      if (done(s)) return s;
      if (Date.now() > deadline) throw new CallRefusedError(`${what}: still ${s.state} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
