// A call between two simulated boards on loopback (or one board and any SIP URI): each board
// gets a microphone signal, both speakers are recorded, board A dials, the call runs for the
// given time (or until A's audio ends), A hangs up, and the report says what happened: codec,
// SRTP suite, packets, loss, jitter, RTT, MOS, setup time, and the one-way delay measured by
// aligning what went into one microphone with what came out of the other speaker.

import fs from "node:fs";
import path from "node:path";
import { startSim, type RunningSim } from "../sim/run.ts";
import { ConsoleClient } from "../link/console.ts";
import { ConfigClient } from "../config/client.ts";
import { CallClient, type CallStatus } from "./client.ts";
import { GatedSource, TimedSink } from "./timed-audio.ts";
import { pipelineDelay, alignDelay, toneFrequency, rmsDbfs, testTone, speechLike, type PipelineDelay } from "./analysis.ts";
import { parseWav } from "../sim/wav.ts";
import { loadBoard } from "../boards.ts";

export interface SimCallOptions {
  board: string;
  /** Where the boards keep their state and the recordings go. */
  dir: string;
  seconds: number;
  /** Microphone signals: a WAV file, tone:HZ[:DBFS] or speech (a speech-like test signal). */
  audioA: string;
  audioB: string;
  codecs?: string;            // media.codecs, e.g. "g722" or "pcmu"
  srtp?: string;              // media.srtp
  suites?: string;            // media.suites
  /** Call this SIP URI with board A instead of starting board B. */
  to?: string;
  /** DTMF A sends once the call is up (B's door code when doorCode is set). */
  dtmf?: string;
  doorCode?: string;
  /** A SIP peer outside (baresip, a phone) instead of board B. */
  peer?: PeerHooks;
  /** More configuration for board A (an account at a registrar, say). */
  aConfig?: { key: string; value: string }[];
  /** The boards' IPv4 addresses on loopback; default: a 127.x.y.11 / .12 pair of this run, so
   *  concurrent calls (tests in parallel) never share a SIP port. */
  addressA?: string;
  addressB?: string;
  onLog?: (board: "A" | "B", line: string) => void;
  onProgress?: (what: string) => void;
}

export interface PeerHooks {
  /** The peer calls board A (which auto-answers) at this URI; without it, A dials `to`. */
  dialIn?: (aUri: string) => Promise<void>;
  /** The peer hangs up (instead of A). */
  hangup?: () => Promise<void>;
  /** What the peer sends, to align with what A's speaker played. */
  source?: Int16Array;
}

export interface DirectionReport {
  from: "A" | "B" | "peer";
  to: "A" | "B" | "peer";
  /** Peer -> A: the source aligned with A's speaker (no frame times on the peer's side). */
  alignment?: { delayMs: number; correlation: number };
  delay?: PipelineDelay;
  /** The tone's frequency and level heard at the far end, when the source was a tone. */
  toneHz?: number;
  levelDbfs: number;
  recording?: string;
}

export interface SimCallReport {
  a: CallStatus;
  b?: CallStatus;
  aEnd: CallStatus;
  bEnd?: CallStatus;
  directions: DirectionReport[];
  durationS: number;
  relayPulses: number;
  /** Each board's heap top (bytes) before the call and after it ended: the call allocates nothing. */
  heap: { board: "A" | "B"; before: number; after: number }[];
}

const FRAME = 320;
const RATE = 16000;

function signal(spec: string, seconds: number): Int16Array {
  if (spec === "speech") return speechLike(RATE, seconds, 7);
  const m = /^tone:(\d+(?:\.\d+)?)(?::(-?\d+(?:\.\d+)?))?$/.exec(spec);
  if (m) return testTone(Number(m[1]), RATE, seconds, m[2] === undefined ? -12 : Number(m[2]));
  const wav = parseWav(fs.readFileSync(spec), spec);
  if (wav.sampleRate !== RATE) throw new Error(`${spec}: ${wav.sampleRate} Hz; the boards' microphones run at ${RATE} Hz`);
  return wav.samples.subarray(0, Math.min(wav.samples.length, Math.round(seconds * RATE)));
}

interface Side { name: "A" | "B"; sim: RunningSim; console: ConsoleClient; call: CallClient; mic: GatedSource; speaker: TimedSink; address: string }

async function startSide(name: "A" | "B", address: string, opts: SimCallOptions, mic: GatedSource): Promise<Side> {
  const dir = path.join(opts.dir, name === "A" ? "board-a" : "board-b");
  const recording = path.join(opts.dir, name === "A" ? "speaker-a.wav" : "speaker-b.wav");
  const speaker = new TimedSink(RATE, recording);
  const sim = await startSim({ boardId: opts.board, dir, reinstall: true, audioSource: mic, audioSink: speaker, address4: address, onLog: (l) => opts.onLog?.(name, l) });
  const console = await ConsoleClient.open(sim.url);
  return { name, sim, console, call: new CallClient(console, { timeoutMs: 2000 }), mic, speaker, address };
}

export async function runSimCall(opts: SimCallOptions): Promise<SimCallReport> {
  loadBoard(opts.board);
  fs.mkdirSync(opts.dir, { recursive: true });
  const sigA = signal(opts.audioA, opts.seconds);
  const sigB = signal(opts.audioB, opts.seconds);
  const sides: Side[] = [];
  const progress = opts.onProgress ?? (() => {});
  try {
    const net = `127.${20 + (process.pid % 200)}.${Math.floor(Math.random() * 256)}`;
    const a = await startSide("A", opts.addressA ?? `${net}.11`, opts, new GatedSource(sigA, opts.audioA));
    sides.push(a);
    let b: Side | undefined;
    if (!opts.to && !opts.peer) { b = await startSide("B", opts.addressB ?? `${net}.12`, opts, new GatedSource(sigB, opts.audioB)); sides.push(b); }
    const media: { key: string; value: string }[] = [];
    if (opts.codecs) media.push({ key: "media.codecs", value: opts.codecs });
    if (opts.srtp) media.push({ key: "media.srtp", value: opts.srtp });
    if (opts.suites) media.push({ key: "media.suites", value: opts.suites });
    const incoming = opts.peer?.dialIn !== undefined;
    // Later entries win: the caller's aConfig over the defaults here.
    const aPairs = new Map<string, string>([["sip.account", `sip:hall@${a.address}`], ["call.auto_answer", incoming ? "on" : "off"], ["call.answer_after", "0"]]);
    for (const { key, value } of [...media, ...(opts.aConfig ?? [])]) aPairs.set(key, value);
    await new ConfigClient(a.console).set([...aPairs].map(([key, value]) => ({ key, value })));
    if (b) {
      const door = opts.doorCode ? [{ key: "door.code", value: opts.doorCode }] : [];
      await new ConfigClient(b.console).set([{ key: "sip.account", value: `sip:door@${b.address}` }, { key: "call.auto_answer", value: "on" }, { key: "call.answer_after", value: "0" }, ...door, ...media]);
    }
    const target = opts.to ?? (b ? `sip:door@${b.address}` : "");
    for (const s of sides) await s.call.waitFor((st) => st.ready, 5000, `board ${s.name} bringing up its network`);
    if (opts.aConfig?.some((c) => c.key === "sip.registrar")) {
      await a.call.waitFor((st) => st.registration === "registered" || st.registration === "failed", 10_000, "registering");
      const reg = await a.call.status();
      if (reg.registration !== "registered") throw new Error("board A could not register");
      progress("A registered");
    }
    const heapBefore = sides.map((s) => s.sim.board.heapTop());
    for (const s of sides) s.speaker.arm();
    if (incoming) {
      progress(`the peer calls sip:hall@${a.address}`);
      await opts.peer!.dialIn!(`sip:hall@${a.address}`);
    } else {
      if (!target) throw new Error("nothing to call: give --to or let board B start");
      progress(`A calls ${target}`);
      await a.call.dial(target);
    }
    await a.call.waitFor((s) => s.state === "active" || s.state === "idle", 15_000, `calling ${target}`);
    const up = await a.call.status();
    if (up.state !== "active") throw new Error(`the call to ${target} did not connect: ${up.endReason}${up.endStatus ? ` (${up.endStatus})` : ""}`);
    if (b) await b.call.waitFor((s) => s.state === "active", 5000, "B answering");
    // The talk time counts from here (packets flow from the answer, or from ICE's pair a few
    // ms later); the microphones start once each side has its media path: what a board
    // captures before that is not sent, and the delay measure needs the tone's onset.
    const started = Date.now();
    for (const s of sides) await s.call.waitFor((x) => x.ice.state !== "checking" || x.state !== "active", 5000, `${s.name}'s media path`);
    for (const s of sides) s.mic.open();
    progress(`connected (${up.codec}, SRTP ${up.suite}); talking for ${opts.seconds} s`);
    if (opts.dtmf) {
      await new Promise((r) => setTimeout(r, 500));
      await a.call.dtmf(opts.dtmf);
    }
    while (Date.now() - started < opts.seconds * 1000 && !(a.mic.finished && (!b || b.mic.finished))) await new Promise((r) => setTimeout(r, 50));
    // Let the last frames through the jitter buffer and the network before hanging up.
    await new Promise((r) => setTimeout(r, 300));
    const aStatus = await a.call.status();
    const bStatus = b ? await b.call.status() : undefined;
    const durationS = (Date.now() - started) / 1000;
    if (opts.peer?.hangup) { progress("the peer hangs up"); await opts.peer.hangup(); }
    else { progress("A hangs up"); await a.call.hangup(); }
    const aEnd = await a.call.waitFor((s) => s.state === "idle", 10_000, "hanging up");
    const bEnd = b ? await b.call.waitFor((s) => s.state === "idle", 10_000, "B hanging up") : undefined;
    const directions: DirectionReport[] = [];
    for (const [from, to] of b ? [[a, b], [b, a]] : []) {
      const heard = to.speaker.timed(FRAME);
      const r: DirectionReport = { from: from.name, to: to.name, levelDbfs: rmsDbfs(heard.samples.subarray(Math.min(heard.samples.length, RATE / 2))) };
      try {
        r.delay = pipelineDelay(from.mic.timed(FRAME), heard, RATE, 1000, 0);
      } catch { /* nothing aligned: no audio came through */ }
      const spec = from === a ? opts.audioA : opts.audioB;
      if (spec.startsWith("tone:")) r.toneHz = toneFrequency(heard.samples.subarray(Math.min(heard.samples.length, RATE / 2)), RATE);
      directions.push(r);
    }
    if (!b) {
      const heard = a.speaker.timed(FRAME).samples;
      const r: DirectionReport = { from: "peer", to: "A", levelDbfs: rmsDbfs(heard.subarray(Math.min(heard.length, RATE / 2))) };
      const src = opts.peer?.source;
      if (src) {
        try {
          const al = alignDelay(src, heard, RATE, 2000, 0);
          r.alignment = { delayMs: al.delayMs, correlation: al.correlation };
        } catch { /* nothing aligned */ }
      }
      r.toneHz = toneFrequency(heard.subarray(Math.min(heard.length, RATE / 2)), RATE);
      directions.push(r);
    }
    const heap = sides.map((s, i) => ({ board: s.name, before: heapBefore[i], after: s.sim.board.heapTop() }));
    return { a: aStatus, b: bStatus, aEnd, bEnd, directions, durationS, relayPulses: bEnd?.doorOpens ?? 0, heap };
  } finally {
    for (const s of sides) {
      await s.console.close().catch(() => {});
      await s.sim.stop().catch(() => {});
      s.speaker.close();
    }
  }
}
