// tincan call: a call between two simulated boards on loopback (or from one simulated board to
// any SIP URI), with a microphone signal each, recordings of both speakers, and a call report.
// It is also the README's first command (`npm start` runs it on the embedded default).

import path from "node:path";
import { runSimCall, type SimCallReport, type DirectionReport } from "../call/sim-call.ts";
import type { CallStatus } from "../call/client.ts";
import { printJson, UsageError } from "./common.ts";

export interface CallCommandOptions {
  board: string; seconds: string; out: string; to?: string; audioA: string; audioB: string;
  codec?: string; srtp?: string; suites?: string; dtmf?: string; doorCode?: string; json?: boolean; verbose?: boolean;
}

export async function callCommand(opts: CallCommandOptions): Promise<void> {
  const seconds = Number(opts.seconds);
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > 3600) throw new UsageError(`--seconds ${opts.seconds}: a duration between 1 and 3600`);
  if (opts.to && !/^sips?:/.test(opts.to)) throw new UsageError(`--to ${opts.to}: a SIP URI, e.g. sip:door@192.0.2.7`);
  const say = (s: string) => { if (!opts.json) process.stdout.write(`${s}\n`); };
  const report = await runSimCall({
    board: opts.board, dir: opts.out, seconds, audioA: opts.audioA, audioB: opts.audioB, to: opts.to,
    codecs: opts.codec, srtp: opts.srtp, suites: opts.suites, dtmf: opts.dtmf, doorCode: opts.doorCode,
    onProgress: (w) => say(w),
    onLog: opts.verbose ? (b, l) => say(`  ${b} | ${l}`) : undefined,
  });
  if (opts.json) { printJson(report); return; }
  printReport(report, opts.out);
}

const ms = (v: number | undefined, digits = 1) => (v === undefined || !Number.isFinite(v) ? "-" : `${v.toFixed(digits)} ms`);

function side(name: string, s: CallStatus, seconds: number): string[] {
  const kbit = (bytes: number) => `${((bytes * 8) / seconds / 1000).toFixed(1)} kbit/s`;
  const frames = s.framesPlayed + s.framesConcealed;
  return [
    `${name}: ${s.codec}, SRTP ${s.suite}, setup ${ms(s.setupMs, 2)}`,
    `   sent ${s.packetsSent} packets (${kbit(s.bytesSent)} on the wire), received ${s.packetsReceived} (${kbit(s.bytesReceived)})`,
    `   concealed ${s.framesConcealed} of ${frames} frames (${frames ? ((100 * s.framesConcealed) / frames).toFixed(2) : "0"}%), jitter ${ms(s.jitterMs, 2)}, buffer ${ms(s.bufferMs)} (target ${s.bufferTarget} frame${s.bufferTarget === 1 ? "" : "s"})`,
    `   RTT ${ms(s.rttMs, 2)}, MOS ${s.mos.toFixed(2)}, RTCP ${s.rtcpSent} sent / ${s.rtcpReceived} received, SRTP drops ${s.srtpDropped}, SIP retransmissions ${s.sipRetransmissions}`,
    `   ${iceLine(s.ice)}`,
  ];
}

function iceLine(i: CallStatus["ice"]): string {
  if (i.state === "off") return "ICE off (the peer has none, or nat.ice is off)";
  const pair = i.local && i.remote ? `${i.local} -> ${i.remote}` : "no pair yet";
  return `ICE ${i.state}: ${pair}, ${ms(i.offerToPathMs, 2)} from the offer, ${i.checksSent} checks, ${i.consentChecks} consent checks, STUN ${i.stunBytesSent} B sent`
    + (i.relayedOut + i.relayedIn > 0 ? `, ${i.relayedOut + i.relayedIn} datagrams through the relay` : "") + (i.restarts > 0 ? `, ${i.restarts} restarts` : "");
}

function direction(d: DirectionReport): string {
  const parts = [`${d.from} -> ${d.to}:`];
  if (d.delay) parts.push(`one-way delay ${ms(d.delay.meanMs)} (min ${ms(d.delay.minMs)}, max ${ms(d.delay.maxMs)}), correlation ${d.delay.correlation.toFixed(3)}${d.delay.lagChanges ? `, ${d.delay.lagChanges} frame slip${d.delay.lagChanges === 1 ? "" : "s"}` : ""}`);
  else parts.push("no audio aligned");
  if (d.toneHz !== undefined) parts.push(`tone ${d.toneHz.toFixed(1)} Hz`);
  parts.push(`level ${d.levelDbfs.toFixed(1)} dBFS`);
  return parts.join(" ");
}

export function printReport(r: SimCallReport, out: string): void {
  const lines = ["", "call report", ...side("A", r.a, r.durationS)];
  if (r.b) lines.push(...side("B", r.b, r.durationS));
  for (const d of r.directions) lines.push(direction(d));
  lines.push(`ended: A ${r.aEnd.endReason}, B ${r.bEnd?.endReason ?? "-"}; door relay pulses ${r.relayPulses}`);
  lines.push(`recordings: ${path.join(out, "speaker-a.wav")}, ${path.join(out, "speaker-b.wav")}`);
  process.stdout.write(lines.join("\n") + "\n");
}
