// npx tsx test/bench/call-reference.ts [--calls N] [--json] — the figures Tincan's call
// benchmark is compared with: two baresip 1.0.0 (Debian's baresip-core) calling each other on
// loopback, G.722, SDES-SRTP AES_CM_128_HMAC_SHA1_80 mandatory, ptime 20, jitter buffer 5-10
// frames, no proxy.
//
// (a) Call set-up: a tshark capture on lo; the first INVITE's frame time to the frame time of
//     the ACK for the 2xx (test/peers/capture.ts callSetups), median of N calls. Those runs
//     are not traced (below), and their source WAV is short: baresip 1.0.0 loads the whole
//     source file between the 200 OK and its ACK, so a long WAV lengthens the set-up.
// (c) Bytes on the wire: from the same capture, per SSRC, IP datagram bytes (IP + UDP + RTP
//     header + G.722 payload + SRTP tag; no link header) over the span of the stream.
// (b) One-way delay, sender's source -> receiver's recording, in one more call run under
//     strace (-ttt, µs, the one system clock) with the two ends observed where they happen:
//       in:  aufile hands each 20 ms source frame to baresip's audio path, which (txmode poll)
//            filters, encodes and sends it in the same call; the sndfile filter's write of
//            that frame to the sender's -enc.wav is the moment the frame enters. That the
//            encoder's input is the source WAV at lag 0 (checked, printed) shows no frame is
//            held or dropped before it, so the k-th write is the k-th source frame.
//       out: the receiver decodes a packet as it leaves the jitter buffer, on the main
//            thread when a later packet arrives, and sndfile writes the decoded frame to
//            -dec.wav at once: the k-th write is the moment the k-th recorded frame exists.
//     The source WAV and the recording are aligned by cross-correlation (content lag: G.722's
//     own delay, 22 samples), and each recorded sample's delay is its output frame's write
//     time minus its source frame's write time (host-tools/call/analysis.ts pipelineDelay).
//     Not included: a player's buffer (baresip runs with none here; a board's speaker path
//     adds its own), nor the time a microphone takes to fill a frame. Error: strace stops each
//     traced process at the traced syscalls (tens of µs each, both ends alike); the frame
//     convention is exact on average (a sample is taken to travel with its frame). The capture
//     of the same run splits the figure into source -> wire and wire -> recording.
//
// Needs baresip-core, tshark and strace (Debian), root for the capture.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { pipelineDelay, speechLike, type PipelineDelay } from "../../host-tools/call/analysis.ts";
import { parseWav, wavHeader } from "../../host-tools/sim/wav.ts";
import { type BaresipOptions, type BaresipPeer, baresipUnavailable, baresipVersion, startBaresip } from "../peers/baresip.ts";
import { callSetups, readRtp, readSip, rtpStreams, startCapture, tsharkUnavailable, type StreamStats } from "../peers/capture.ts";

const RATE = 16000;
const FRAME = 320;
const FRAME_BYTES = FRAME * 2;
const MEDIA: Pick<BaresipOptions, "codecs" | "mediaenc" | "ptimeMs" | "jitterBufferFrames"> = {
  codecs: ["G722/16000/1"], mediaenc: "srtp-mand", ptimeMs: 20, jitterBufferFrames: [5, 10],
};

/**
 * Times (epoch ms, at syscall entry) of each `frameBytes`-long write to the file whose name
 * ends with `fileSuffix`, from an `strace -f -ttt` log; threads' interleaved
 * "<unfinished ...>" / "<... write resumed>" halves are joined.
 */
export function straceFrameWrites(log: string, fileSuffix: string, frameBytes: number): number[] {
  const open = new Set<number>();
  const pending = new Map<string, { fd: number; time: number }>();
  const times: number[] = [];
  for (const line of log.split("\n")) {
    const m = /^(\d+)\s+(\d+\.\d+)\s+(.*)$/.exec(line);
    if (m === null) continue;
    const [, pid, secs, call] = m;
    const time = Number(secs) * 1000;
    const opened = /^openat\(AT_FDCWD, "([^"]*)".*\) = (\d+)$/.exec(call);
    if (opened !== null) {
      if (opened[1].endsWith(fileSuffix)) open.add(Number(opened[2]));
      continue;
    }
    const closed = /^close\((\d+)\)/.exec(call);
    if (closed !== null) { open.delete(Number(closed[1])); continue; }
    const write = /^write\((\d+), .*?(?:= (-?\d+)|<unfinished \.\.\.>)$/.exec(call);
    if (write !== null) {
      const fd = Number(write[1]);
      if (!open.has(fd)) continue;
      if (write[2] === undefined) pending.set(pid, { fd, time });
      else if (Number(write[2]) === frameBytes) times.push(time);
      continue;
    }
    const resumed = /^<\.\.\. write resumed>.*= (-?\d+)$/.exec(call);
    const p = pending.get(pid);
    if (resumed !== null && p !== undefined) {
      pending.delete(pid);
      if (Number(resumed[1]) === frameBytes) times.push(p.time);
    }
  }
  return times.sort((a, b) => a - b);
}

function writeWav(file: string, pcm: Int16Array): void {
  fs.writeFileSync(file, Buffer.concat([wavHeader(RATE, pcm.length * 2), Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength)]));
}

async function callOnce(a: BaresipPeer, b: BaresipPeer, seconds: number): Promise<void> {
  const fromA = a.events.length;
  const fromB = b.events.length;
  await a.dial(b.aor);
  await a.waitForEvent("CALL_ESTABLISHED", 5000, fromA);
  await b.waitForEvent("CALL_ESTABLISHED", 5000, fromB);
  await sleep(seconds * 1000);
  await a.hangup();
  await a.waitForEvent("CALL_CLOSED", 5000, fromA);
  await b.waitForEvent("CALL_CLOSED", 5000, fromB);
}

export interface ReferenceFigures {
  setupMs: number[];
  directions: DirectionStats[];
  delay: PipelineDelay;
  sourceToEncoderLagSamples: number;
  sourceToWireMs: number;
  wireToRecordingMs: number;
}

/** (a) and (c): `calls` untraced calls of `seconds` each between fresh peers, captured. */
async function setupAndRate(dir: string, calls: number, seconds: number): Promise<{ setupMs: number[]; directions: DirectionStats[] }> {
  const source = path.join(dir, "speech-short.wav");
  writeWav(source, speechLike(RATE, seconds + 1, 7));
  const capture = await startCapture(path.join(dir, "setup.pcapng"), "udp");
  const b = await startBaresip({ user: "b", ...MEDIA, minSourceSeconds: seconds + 2 });
  const a = await startBaresip({ user: "a", ...MEDIA, source, minSourceSeconds: seconds + 2 });
  try {
    for (let i = 0; i < calls; i++) await callOnce(a, b, seconds);
  } finally {
    await a.stop();
    await b.stop();
    await capture.stop();
  }
  const ports = [a.sipPort, b.sipPort];
  const setups = callSetups(readSip(capture.file, ports));
  if (setups.length !== calls) throw new Error(`the capture holds ${setups.length} complete call set-ups, expected ${calls}`);
  const streams = rtpStreams(readRtp(capture.file, ports));
  return { setupMs: setups.map((s) => s.setupMs), directions: [direction("A -> B", streams.filter((s) => sentBy(a, s.src))), direction("B -> A", streams.filter((s) => sentBy(b, s.src)))] };
}

/** Whether `src` (ip:port) is one of the peer's ports: baresip.ts gives each peer a block of 14, SIP first. */
function sentBy(peer: BaresipPeer, src: string): boolean {
  const port = Number(src.slice(src.lastIndexOf(":") + 1));
  return port >= peer.sipPort && port < peer.sipPort + 14;
}

export interface DirectionStats { label: string; streams: number; packets: number; ipKbps: number; udpPayloadKbps: number; ipBytesPerPacket: number; intervalMs: number; srtp: boolean }

/** The streams of one direction (one per call) together, each weighted by its packets. */
function direction(label: string, streams: StreamStats[]): DirectionStats {
  const packets = streams.reduce((n, s) => n + s.packets, 0);
  if (packets === 0) throw new Error(`no RTP ${label} in the capture`);
  const mean = (f: (s: StreamStats) => number) => streams.reduce((sum, s) => sum + f(s) * s.packets, 0) / packets;
  return {
    label, streams: streams.length, packets, ipKbps: mean((s) => s.ipKbps), udpPayloadKbps: mean((s) => s.udpPayloadKbps),
    ipBytesPerPacket: mean((s) => s.ipBytesPerPacket), intervalMs: mean((s) => s.intervalMs), srtp: streams.every((s) => s.srtp),
  };
}

/** (b): one traced call with speech-like audio from A to B. */
async function oneWayDelay(dir: string, seconds: number): Promise<Omit<ReferenceFigures, "setupMs" | "directions">> {
  const source = path.join(dir, "speech.wav");
  writeWav(source, speechLike(RATE, seconds, 3));
  const trace = (name: string) => ["strace", "-f", "-ttt", "--seccomp-bpf", "-e", "trace=openat,write,close", "-o", path.join(dir, `${name}.strace`), "--"];
  const capture = await startCapture(path.join(dir, "delay.pcapng"), "udp");
  const b = await startBaresip({ user: "b", ...MEDIA, keepDir: true, wrapper: trace("b"), minSourceSeconds: seconds + 3 });
  const a = await startBaresip({ user: "a", ...MEDIA, keepDir: true, wrapper: trace("a"), source, minSourceSeconds: seconds + 3 });
  let sent: Int16Array;
  let encoded: Int16Array;
  let recorded: Int16Array;
  try {
    await callOnce(a, b, seconds + 1);
    encoded = (await a.recording("enc")).samples;
    recorded = (await b.recording("dec")).samples;
    sent = parseWav(fs.readFileSync(path.join(a.dir, "source.wav"))).samples;
  } finally {
    await a.stop();
    await b.stop();
    await capture.stop();
  }
  const inTimes = straceFrameWrites(fs.readFileSync(path.join(dir, "a.strace"), "utf8"), "-enc.wav", FRAME_BYTES);
  const outTimes = straceFrameWrites(fs.readFileSync(path.join(dir, "b.strace"), "utf8"), "-dec.wav", FRAME_BYTES);
  fs.rmSync(a.dir, { recursive: true, force: true });
  fs.rmSync(b.dir, { recursive: true, force: true });
  const input = { samples: sent.subarray(0, inTimes.length * FRAME), frameSize: FRAME, frameTimesMs: inTimes };
  const delay = pipelineDelay(input, { samples: recorded, frameSize: FRAME, frameTimesMs: outTimes }, RATE, 500);
  // The encoder's input against the source: 0 means the k-th -enc.wav write is source frame k.
  const held = pipelineDelay(input, { samples: encoded, frameSize: FRAME, frameTimesMs: inTimes }, RATE, 500);
  if (held.contentLagSamples !== 0) {
    throw new Error(`the sender's encoder input lags its source by ${held.contentLagSamples} samples: the -enc.wav writes are not the source frames' hand-over, so this method does not hold`);
  }
  // Wire times of A's packets, in order (loopback does not reorder), against the frames.
  const fromA = readRtp(capture.file, [a.sipPort, b.sipPort]).filter((p) => sentBy(a, p.src)).sort((x, y) => x.time - y.time);
  if (fromA.length === 0) throw new Error("no RTP from the sender in the capture");
  const sourceToWireMs = median(fromA.slice(0, inTimes.length).map((p, k) => p.time * 1000 - inTimes[k]));
  const lagFrames = Math.round((delay.contentLagSamples - held.contentLagSamples) / FRAME);
  const wireToRecordingMs = median(outTimes.map((t, j) => t - (fromA[j - lagFrames]?.time ?? NaN) * 1000).filter(Number.isFinite));
  return { delay, sourceToEncoderLagSamples: held.contentLagSamples, sourceToWireMs, wireToRecordingMs };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export async function measureReference(calls = 5, seconds = 3, delaySeconds = 8): Promise<ReferenceFigures> {
  const strace = spawnSync("strace", ["-V"]).error === undefined ? undefined : "strace is not installed: install the Debian package strace";
  for (const missing of [baresipUnavailable(), tsharkUnavailable(), strace]) if (missing !== undefined) throw new Error(missing);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tincan-call-reference-"));
  try {
    const { setupMs, directions } = await setupAndRate(dir, calls, seconds);
    return { setupMs, directions, ...(await oneWayDelay(dir, delaySeconds)) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function printTable(f: ReferenceFigures, calls: number): void {
  const ms = (x: number) => `${x.toFixed(2)} ms`;
  const rows: [string, string, string][] = [
    ["call set-up, INVITE -> ACK", ms(median(f.setupMs)), `median of ${calls} calls (${ms(Math.min(...f.setupMs))} .. ${ms(Math.max(...f.setupMs))}), tshark on lo`],
    ["one-way audio, source -> recording", ms(f.delay.meanMs), `mean per sample; frames ${ms(f.delay.minMs)} .. ${ms(f.delay.maxMs)}; content lag ${f.delay.contentLagSamples} samples, r = ${f.delay.correlation.toFixed(3)}`],
    ["  of which source -> wire", ms(f.sourceToWireMs), `median, encoder input write to SRTP packet on lo (source -> encoder lag ${f.sourceToEncoderLagSamples} samples)`],
    ["  of which wire -> recording", ms(f.wireToRecordingMs), "median, packet on lo to its decoded frame's write (jitter buffer)"],
  ];
  for (const d of f.directions) {
    rows.push([`RTP+SRTP ${d.label}`, `${d.ipKbps.toFixed(1)} kbit/s`, `IP level, ${d.ipBytesPerPacket.toFixed(0)} B/packet every ${d.intervalMs.toFixed(2)} ms (${d.streams} calls); UDP payload ${d.udpPayloadKbps.toFixed(1)} kbit/s${d.srtp ? "" : " (not SRTP!)"}`]);
  }
  console.log(`Reference: ${baresipVersion()} <-> itself, G.722, SRTP AES_CM_128_HMAC_SHA1_80, ptime 20, jitter buffer 5-10 frames, loopback (${os.cpus().length} cores, node ${process.version}, ${new Date().toISOString().slice(0, 10)})`);
  console.log("");
  console.log("| measure | value | how |");
  console.log("|---|---:|---|");
  for (const [a, b, c] of rows) console.log(`| ${a} | ${b} | ${c} |`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const callsAt = args.indexOf("--calls");
  const calls = callsAt >= 0 ? Number(args[callsAt + 1]) : 5;
  if (!Number.isInteger(calls) || calls < 1) throw new Error("--calls needs a whole number >= 1");
  const figures = await measureReference(calls);
  if (args.includes("--json")) console.log(JSON.stringify(figures, null, 2));
  else printTable(figures, calls);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((e: unknown) => {
    console.error(`call-reference: ${(e as Error).message}`);
    process.exit(1);
  });
}
