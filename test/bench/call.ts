// npx tsx test/bench/call.ts [--calls N] [--json] — a Tincan call against the reference, in
// one run: two simulated tincan-s3 boards (host-tools/call/sim-call.ts runSimCall) and two
// baresip 1.0.0 (test/bench/call-reference.ts measureReference), both G.722 with mandatory
// SDES-SRTP AES_CM_128_HMAC_SHA1_80, ptime 20, on loopback, no proxy.
//
// Measured the same way for both, from a tshark capture on lo (test/peers/capture.ts):
//   set-up   the first INVITE's frame time to the frame time of the ACK of its 2xx, median
//            of N calls;
//   bytes    per direction, IP datagram bytes (IP + UDP + RTP header + payload + SRTP tag) of
//            every packet but the first over the stream's span, weighted over the N calls.
// One-way delay, sender's source to receiver's output, by aligning the audio and subtracting
// frame hand-over times (host-tools/call/analysis.ts pipelineDelay), but the times come from
// different places: for Tincan they are the simulator's audio frames, the moment the board's
// 20 ms microphone frame is handed to the firmware and the moment its speaker frame is handed
// back, which stand in for a board's I2S frame interrupts (the median of the N calls' means);
// for baresip, strace'd writes of its encoder input and decoder output (one traced call). So
// neither includes a microphone filling its frame or a DAC playing one out.
// Also the firmware's footprint: the module's size against the tincan-s3 manifest's
// wasm.codeBytesMax, its static data, its heap top after boot and after each call, and its
// linear memory (wasm.memoryPages x 64 KiB). The call core's share of the heap (firmware/call
// Intercom: SIP user agent, the call, its media session) is measured apart: a small entry,
// compiled here in memory with the release build's runtime and flags, constructs it alone
// between two probes of the stub allocator's top.
//
// Needs build/boards/tincan-s3/firmware.wasm (npm run build), tshark and root for the
// capture, and for the reference baresip-core and strace (Debian).

import asc from "assemblyscript/asc";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { speechLike } from "../../host-tools/call/analysis.ts";
import { runSimCall, type SimCallReport } from "../../host-tools/call/sim-call.ts";
import { loadBoard } from "../../host-tools/boards.ts";
import { defaultFirmwarePath, packageRoot } from "../../host-tools/paths.ts";
import { inspectWasm } from "../../host-tools/sim/wasm-inspect.ts";
import { wavHeader } from "../../host-tools/sim/wav.ts";
import { callSetups, readRtp, readSip, rtpStreams, startCapture, tsharkUnavailable, type StreamStats } from "../peers/capture.ts";
import { baresipVersion } from "../peers/baresip.ts";
import { measureReference, type ReferenceFigures } from "./call-reference.ts";

const BOARD = "tincan-s3";
const RATE = 16000;
const SIP_PORT = 5060;

interface Direction { packets: number; ipKbps: number; ipBytesPerPacket: number; intervalMs: number; srtp: boolean }

interface TincanFigures {
  setupMs: number[];
  /** What board A itself reports as set-up (INVITE sent to ACK sent), per call. */
  boardSetupMs: number[];
  delayAbMs: number[];
  delayBaMs: number[];
  correlationAb: number[];
  ab: Direction;
  ba: Direction;
  reports: SimCallReport[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The streams of one direction together, each weighted by its packets. */
function direction(streams: StreamStats[], label: string): Direction {
  const packets = streams.reduce((n, s) => n + s.packets, 0);
  if (packets === 0) throw new Error(`no RTP ${label} in the capture`);
  const mean = (f: (s: StreamStats) => number) => streams.reduce((sum, s) => sum + f(s) * s.packets, 0) / packets;
  return { packets, ipKbps: mean((s) => s.ipKbps), ipBytesPerPacket: mean((s) => s.ipBytesPerPacket), intervalMs: mean((s) => s.intervalMs), srtp: streams.every((s) => s.srtp) };
}

function writeSpeech(file: string, seconds: number, seed: number): string {
  const pcm = speechLike(RATE, seconds, seed);
  fs.writeFileSync(file, Buffer.concat([wavHeader(RATE, pcm.length * 2), Buffer.from(pcm.buffer)]));
  return file;
}

/** `calls` calls of `seconds` between two fresh simulated boards, speech both ways, all in one capture. */
async function measureTincan(calls: number, seconds: number): Promise<TincanFigures> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tincan-call-bench-"));
  try {
    const net = `127.0.${1 + Math.floor(Math.random() * 250)}`;
    const [aIp, bIp] = [`${net}.11`, `${net}.12`];
    const audioA = writeSpeech(path.join(dir, "speech-a.wav"), seconds, 3);
    const audioB = writeSpeech(path.join(dir, "speech-b.wav"), seconds, 5);
    const capture = await startCapture(path.join(dir, "tincan.pcapng"), `udp and host ${aIp} and host ${bIp}`);
    const reports: SimCallReport[] = [];
    try {
      for (let i = 0; i < calls; i++) {
        reports.push(await runSimCall({ board: BOARD, dir: path.join(dir, `call-${i}`), seconds, audioA, audioB, codecs: "g722", srtp: "mandatory", suites: "AES_CM_128_HMAC_SHA1_80", addressA: aIp, addressB: bIp }));
      }
      await sleep(300); // the last RTCP BYEs
    } finally {
      await capture.stop();
    }
    const setups = callSetups(readSip(capture.file, [SIP_PORT]));
    if (setups.length !== calls) throw new Error(`the capture holds ${setups.length} complete call set-ups, expected ${calls}`);
    const streams = rtpStreams(readRtp(capture.file, [SIP_PORT]));
    const delay = (from: "A" | "B", r: SimCallReport) => {
      const d = r.directions.find((x) => x.from === from)?.delay;
      if (d === undefined) throw new Error(`call ${reports.indexOf(r)}: no audio from ${from} aligned at the far end`);
      return d;
    };
    return {
      setupMs: setups.map((s) => s.setupMs),
      boardSetupMs: reports.map((r) => r.a.setupMs ?? NaN),
      delayAbMs: reports.map((r) => delay("A", r).meanMs),
      delayBaMs: reports.map((r) => delay("B", r).meanMs),
      correlationAb: reports.map((r) => delay("A", r).correlation),
      ab: direction(streams.filter((s) => s.src.startsWith(`${aIp}:`)), "A -> B"),
      ba: direction(streams.filter((s) => s.src.startsWith(`${bIp}:`)), "B -> A"),
      reports,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The end of the module's static data: the highest byte its active data segments initialise. */
function staticDataEnd(wasm: Uint8Array): number {
  let o = 8;
  const leb = () => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = wasm[o++];
      v += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80) return v;
    }
  };
  while (o < wasm.length) {
    const id = wasm[o++];
    const size = leb();
    const end = o + size;
    if (id !== 11) { o = end; continue; }
    let top = 0;
    for (let n = leb(); n > 0; n--) {
      const flags = leb();
      if (flags === 1) { o += leb(); continue; } // passive: not in memory at start
      if (flags === 2) leb(); // memory index
      if (wasm[o++] !== 0x41) throw new Error("a data segment whose offset is not i32.const");
      const offset = leb();
      if (wasm[o++] !== 0x0b) throw new Error("a data segment offset expression longer than i32.const");
      const len = leb();
      top = Math.max(top, offset + len);
      o += len;
    }
    return top;
  }
  return 0;
}

// Not firmware: a measuring entry asc compiles from memory (nothing is written to the tree).
const FOOTPRINT_ENTRY = "test/bench/call-footprint-entry.ts";
const FOOTPRINT_SOURCE = `
import { Config } from "../../firmware/config/config";
import { EntropyPool } from "../../firmware/sip/entropy";
import { MediaSession } from "../../firmware/call/media";
import { Intercom } from "../../firmware/call/intercom";
function top(): usize { const p = heap.alloc(0); heap.free(p); return p; }
const t0 = top();
const config = new Config();
const t1 = top();
const intercom = new Intercom(config);
const t2 = top();
const entropy = new EntropyPool(512);
const t3 = top();
const media = new MediaSession(entropy);
const t4 = top();
export function startTop(): usize { return t0; }
export function intercomBytes(): usize { return t2 - t1; }
export function mediaBytes(): usize { return t4 - t3; }
export function kept(): usize { return changetype<usize>(intercom) ^ changetype<usize>(media); }
`;

interface CallCore { intercomBytes: number; mediaBytes: number }

/** Heap bytes of one Intercom (the whole call core) and, inside it, of one MediaSession. */
async function callCoreFootprint(): Promise<CallCore> {
  const root = packageRoot();
  const files = new Map<string, Uint8Array | string>();
  const argv = [FOOTPRINT_ENTRY, "--runtime", "stub", "--optimizeLevel", "3", "--shrinkLevel", "1", "--initialMemory", "8", "--maximumMemory", "8",
    "--config", "test/bench/plc.asconfig.json", "--baseDir", root, "--outFile", "footprint.wasm"];
  const res = await asc.main(argv, {
    readFile: (name: string, baseDir: string) => {
      const file = path.resolve(baseDir, name);
      if (file === path.resolve(root, FOOTPRINT_ENTRY)) return FOOTPRINT_SOURCE;
      return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : null;
    },
    writeFile: (name: string, contents: Uint8Array | string) => { files.set(name, contents); },
  });
  if (res.error) throw new Error(`asc: ${res.error.message}\n${res.stderr.toString()}`);
  const bin = files.get("footprint.wasm");
  if (!(bin instanceof Uint8Array)) throw new Error("asc wrote no footprint.wasm");
  const module = new WebAssembly.Module(bin as Uint8Array<ArrayBuffer>);
  const imports: Record<string, Record<string, () => never>> = {};
  for (const i of WebAssembly.Module.imports(module)) (imports[i.module] ??= {})[i.name] = () => { throw new Error(`the call core called ${i.module}.${i.name} while being constructed`); };
  const ex = new WebAssembly.Instance(module, imports).exports as unknown as { intercomBytes(): number; mediaBytes(): number };
  return { intercomBytes: ex.intercomBytes() >>> 0, mediaBytes: ex.mediaBytes() >>> 0 };
}

interface Footprint {
  wasmBytes: number; codeSectionBytes: number; codeBytesMax: number; staticBytes: number;
  heapAfterBoot: number[]; heapAfterCall: number[]; memoryBytes: number; callCore: CallCore | string;
}

async function footprint(reports: SimCallReport[]): Promise<Footprint> {
  const board = loadBoard(BOARD);
  const wasm = fs.readFileSync(defaultFirmwarePath(BOARD));
  return {
    wasmBytes: wasm.length,
    codeSectionBytes: inspectWasm(wasm).codeBytes,
    codeBytesMax: board.wasm.codeBytesMax,
    staticBytes: staticDataEnd(wasm),
    heapAfterBoot: reports.flatMap((r) => r.heap.map((h) => h.before)),
    heapAfterCall: reports.flatMap((r) => r.heap.map((h) => h.after)),
    memoryBytes: board.wasm.memoryPages * 65536,
    callCore: await callCoreFootprint().catch((e: unknown) => `not measured: ${(e as Error).message.split("\n")[0]}`),
  };
}

const ms = (x: number) => `${x.toFixed(2)} ms`;
const kbit = (x: number) => `${x.toFixed(1)} kbit/s`;
const ratio = (a: number, b: number) => (a / b).toFixed(2);
const kib = (x: number) => `${x.toLocaleString("en")} B (${(x / 1024).toFixed(1)} KiB)`;
const range = (xs: number[]) => `${ms(Math.min(...xs))} .. ${ms(Math.max(...xs))}`;

function printTables(t: TincanFigures, r: ReferenceFigures, f: Footprint, calls: number): void {
  const refAb = r.directions.find((d) => d.label === "A -> B")!;
  const refBa = r.directions.find((d) => d.label === "B -> A")!;
  type Row = { name: string; tincan: number; baresip: number; unit: (x: number) => string; how: string };
  const rows: Row[] = [
    { name: "call set-up, INVITE -> ACK", tincan: median(t.setupMs), baresip: median(r.setupMs), unit: ms,
      how: `median of ${calls} calls, tshark on lo (Tincan ${range(t.setupMs)}, baresip ${range(r.setupMs)}); board A's own count ${ms(median(t.boardSetupMs))}` },
    { name: "one-way audio A -> B", tincan: median(t.delayAbMs), baresip: r.delay.meanMs, unit: ms,
      how: `Tincan: median of ${calls} calls' means (${range(t.delayAbMs)}, r >= ${Math.min(...t.correlationAb).toFixed(3)}), sim frame times; baresip: one strace'd call (${ms(r.delay.minMs)} .. ${ms(r.delay.maxMs)} per frame)` },
    { name: "one-way audio B -> A", tincan: median(t.delayBaMs), baresip: NaN, unit: ms, how: `Tincan only (${range(t.delayBaMs)}); the reference traces A -> B` },
    ...([["A -> B", t.ab, refAb], ["B -> A", t.ba, refBa]] as const).map(([label, ours, theirs]) => ({
      name: `RTP+SRTP ${label}`, tincan: ours.ipKbps, baresip: theirs.ipKbps, unit: kbit,
      how: `IP level; Tincan ${ours.ipBytesPerPacket.toFixed(0)} B/packet every ${ours.intervalMs.toFixed(2)} ms, baresip ${theirs.ipBytesPerPacket.toFixed(0)} B every ${theirs.intervalMs.toFixed(2)} ms${ours.srtp && theirs.srtp ? "" : " (not all SRTP!)"}`,
    })),
  ];
  const cell = (row: Row, x: number) => (Number.isFinite(x) ? row.unit(x) : "-");
  console.log(`Tincan (two simulated ${BOARD} boards) vs ${baresipVersion()} <-> itself: G.722, SRTP AES_CM_128_HMAC_SHA1_80 mandatory, ptime 20, loopback`);
  console.log(`${new Date().toISOString().slice(0, 10)}, ${os.cpus()[0]?.model ?? "?"} x ${os.cpus().length}, ${os.type()} ${os.release()}, node ${process.version}`);
  console.log("");
  console.log("| measure | Tincan | baresip | Tincan/baresip | how |");
  console.log("|---|---:|---:|---:|---|");
  for (const row of rows) console.log(`| ${row.name} | ${cell(row, row.tincan)} | ${cell(row, row.baresip)} | ${Number.isFinite(row.baresip) ? ratio(row.tincan, row.baresip) : "-"} | ${row.how} |`);
  const grew = f.heapAfterCall.some((h, i) => h !== f.heapAfterBoot[i]);
  const heapTop = Math.max(...f.heapAfterBoot);
  console.log("");
  console.log(`| firmware (${BOARD}) | bytes | of | share |`);
  console.log("|---|---:|---:|---:|");
  console.log(`| module (firmware.wasm, the whole file) | ${kib(f.wasmBytes)} | wasm.codeBytesMax ${kib(f.codeBytesMax)} | ${((100 * f.wasmBytes) / f.codeBytesMax).toFixed(1)}% |`);
  console.log(`| of which the code section | ${kib(f.codeSectionBytes)} | | |`);
  console.log(`| static data (end of the data segments) | ${kib(f.staticBytes)} | linear memory ${kib(f.memoryBytes)} | ${((100 * f.staticBytes) / f.memoryBytes).toFixed(1)}% |`);
  console.log(`| heap top after boot (static data + every start-up allocation, the call's included) | ${kib(heapTop)} | linear memory ${kib(f.memoryBytes)} | ${((100 * heapTop) / f.memoryBytes).toFixed(1)}% |`);
  if (typeof f.callCore === "string") console.log(`| the call core (Intercom) | ${f.callCore} | | |`);
  else {
    console.log(`| of the heap: the call core (one Intercom: SIP UA, the call, its media) = RAM per call | ${kib(f.callCore.intercomBytes)} | heap top ${kib(heapTop)} | ${((100 * f.callCore.intercomBytes) / heapTop).toFixed(1)}% |`);
    console.log(`| of which the media session (codecs, jitter buffer, SRTP, RTCP) | ${kib(f.callCore.mediaBytes)} | the call core | ${((100 * f.callCore.mediaBytes) / f.callCore.intercomBytes).toFixed(1)}% |`);
  }
  console.log(`| heap growth over a call | ${grew ? "GREW: " + f.heapAfterCall.map((h, i) => h - f.heapAfterBoot[i]).join(", ") : "0 B"} | ${f.heapAfterBoot.length} board-calls | |`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const callsAt = args.indexOf("--calls");
  const calls = callsAt >= 0 ? Number(args[callsAt + 1]) : 5;
  if (!Number.isInteger(calls) || calls < 1) throw new Error("--calls needs a whole number >= 1");
  const missing = tsharkUnavailable();
  if (missing !== undefined) throw new Error(missing);
  const tincan = await measureTincan(calls, 3);
  const reference = await measureReference(calls, 3, 8);
  const f = await footprint(tincan.reports);
  if (args.includes("--json")) console.log(JSON.stringify({ tincan: { ...tincan, reports: undefined }, reference, footprint: f }, null, 2));
  else printTables(tincan, reference, f, calls);
}

main().catch((e: unknown) => {
  console.error(`call bench: ${(e as Error).message}`);
  process.exit(1);
});
