// npx tsx test/bench/plc.ts: how well the firmware's packet loss concealment (firmware/audio/plc.ts)
// fills lost frames of real speech, against zero-fill and spandsp's plc_t on the same loss
// patterns, at 8 kHz (the G.711 path) and 16 kHz (the G.722 path). PLC runs on the PCM signal
// directly, lost frames replaced: that isolates the concealment from the codec. Figures go in
// docs/plc.md. The helpers are exported for test/interop/plc.test.ts.
//
// The measures, all over the 20 ms frames (= the packets here) of the original that are not
// quieter than -50 dBFS RMS (the pauses between sentences: there any output is about as good,
// and a frame SNR only measures noise):
//
//   segSNR (lost+next), the measure asked for: the frame SNR 10 log10(sum s^2 / sum (s - y)^2)
//     of every lost (concealed) frame and of the good frame after each loss run, clamped to
//     [-10, 35] dB, averaged. Why segmental: a plain SNR over the file is ruled by the loudest
//     frames and by how many frames were lost (the rest is bit-exact), so it measures the loss
//     rate more than the concealment; frame by frame each affected frame gets one vote, and the
//     clamps stop a hopeless frame (-inf) or an untouched one (+inf) from ruling the mean. The
//     good frame after the loss charges the concealer for its cross-fade.
//     Its blind spot: a waveform SNR counts audio that sounds right but drifts in phase as
//     error, and it never sees the click where silence meets speech. Zero-fill scores exactly
//     0 dB on every lost frame and, leaving the next frame untouched, the 35 dB cap on it;
//     a pitch-repeating concealer matches the waveform for ~10 ms and then drifts (about 0 dB,
//     like silence), and pays for its cross-fade on the next frame. So on this measure zero-fill
//     comes out ahead of any cross-fading concealer (spandsp's too): printed, not hidden.
//   segSNR lost: the same over the lost frames alone.
//   first 10 ms: the waveform SNR of the first 10 ms of each loss run, clamped and averaged:
//     how closely the concealment continues the waveform, which is what Appendix I sets out to do.
//   spectral (lost+next) / spectral lost: the segmental measure on each frame's DFT magnitude
//     (rectangular window, zero-padded to a power of two): 10 log10(sum |S|^2 / sum (|S|-|Y|)^2),
//     same clamps. Phase-blind, so it credits the right spectrum at the right level; silence
//     still scores exactly 0 dB. Objective, not a listening score (no PESQ/POLQA here).
//   SNR: plain SNR over the whole file.

import path from "node:path";
import { pathToFileURL } from "node:url";
import asc from "assemblyscript/asc";
import { packageRoot } from "../../host-tools/paths.ts";
import { speech8k, speech16k } from "../reference/speech.ts";
import { plcRef } from "../reference/spandsp.ts";
import { instrumentForCounting } from "./instrument.ts";
import { WasmCodec } from "../../host-tools/codec/wasm-codec.ts";

const ENTRY = "test/bench/plc-entry.ts";
// Passed with --config: asc then reads this file, not ./asconfig.json (firmware-only targets).
const CONFIG = "test/bench/plc.asconfig.json";

interface PlcExports {
  memory: WebAssembly.Memory;
  frameBuffer(): number;
  frameCapacity(): number;
  received(rate: number, n: number): void;
  conceal(rate: number, n: number): void;
  reset(rate: number): void;
  lostFrames(rate: number): number;
  objectBytes(): number;
  heapProbe(): number;
  plcFootprint(rate: number): number;
  __icount_get?(): bigint;
  __icount_reset?(): void;
}

/** Compiles the entry with asc, in memory; returns the module's bytes. */
export async function compilePlcWasm(): Promise<Uint8Array> {
  const files = new Map<string, Uint8Array | string>();
  const argv = [ENTRY, "--config", CONFIG, "--baseDir", packageRoot(), "--outFile", "plc.wasm"];
  const res = await asc.main(argv, { writeFile: (name: string, contents: Uint8Array | string) => { files.set(name, contents); } });
  if (res.error) throw new Error(`asc ${argv.join(" ")} failed: ${res.error.message}\n${res.stderr.toString()}`);
  const bin = files.get("plc.wasm");
  if (!(bin instanceof Uint8Array)) throw new Error(`asc wrote no plc.wasm (wrote: ${[...files.keys()].join(", ")})`);
  return bin;
}

/** The firmware's Plc, from Node. */
export class WasmPlc {
  readonly ex: PlcExports;

  constructor(wasm: Uint8Array) {
    let memory: WebAssembly.Memory | undefined;
    // AssemblyScript's abort(message, file, line, column): thrown, so a trap has a reason.
    const abort = (msg: number, file: number, line: number, col: number): never => {
      const text = (p: number) => (p === 0 || memory === undefined ? "?" : Buffer.from(memory.buffer, p, new DataView(memory.buffer).getUint32(p - 4, true)).toString("utf16le"));
      throw new Error(`abort: ${text(msg)} at ${text(file)}:${line}:${col}`);
    };
    const instance = new WebAssembly.Instance(new WebAssembly.Module(Uint8Array.from(wasm)), { env: { abort } });
    this.ex = instance.exports as unknown as PlcExports;
    memory = this.ex.memory;
  }

  /** `pcm` cut in frames of `frame` samples; frame i lost when lost[i]. Output has pcm's length. */
  run(pcm: Int16Array, rate: 8000 | 16000, frame: number, lost: boolean[]): Int16Array {
    if (frame > this.ex.frameCapacity()) throw new Error(`frame of ${frame} samples: the entry holds ${this.ex.frameCapacity()}`);
    this.ex.reset(rate);
    const out = new Int16Array(pcm.length);
    for (let off = 0, i = 0; off < pcm.length; off += frame, i++) {
      const n = Math.min(frame, pcm.length - off);
      const buf = new Int16Array(this.ex.memory.buffer, this.ex.frameBuffer(), n);
      if (lost[i] === true) {
        this.ex.conceal(rate, n);
      } else {
        buf.set(pcm.subarray(off, off + n));
        this.ex.received(rate, n);
      }
      out.set(buf, off);
    }
    return out;
  }
}

/** Lost frames as silence, good frames untouched. */
export function zeroFill(pcm: Int16Array, frame: number, lost: boolean[]): Int16Array {
  const out = Int16Array.from(pcm);
  lost.forEach((l, i) => { if (l) out.fill(0, i * frame, Math.min(pcm.length, (i + 1) * frame)); });
  return out;
}

/** Small seeded PRNG (mulberry32), uniform in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Pattern = { kind: "random"; rate: number } | { kind: "bursts"; rate: number };

export function patternName(p: Pattern): string {
  return p.kind === "random" ? `random ${Math.round(p.rate * 100)}%` : `bursts of 2-3, ${Math.round(p.rate * 100)}%`;
}

/** Which of `frames` frames are lost. random: each frame independently with probability rate.
 *  bursts: runs of 2 or 3 lost frames (even odds), at least one good frame between runs, a run
 *  starting at each good frame past that with probability 1/gap, gap chosen so that about
 *  `rate` of the frames are lost (mean run 2.5 frames: rate = 2.5 / (2.5 + gap)). */
export function lossPattern(p: Pattern, frames: number, seed: number): boolean[] {
  const rand = rng(seed);
  const lost = new Array<boolean>(frames).fill(false);
  if (p.kind === "random") {
    for (let i = 0; i < frames; i++) lost[i] = rand() < p.rate;
    return lost;
  }
  const gap = 2.5 / p.rate - 2.5;
  for (let i = 1; i < frames; i++) {
    if (lost[i - 1] || rand() >= 1 / gap) continue;
    const run = rand() < 0.5 ? 2 : 3;
    for (let k = 0; k < run && i < frames; k++, i++) lost[i] = true;
    // i is now the good frame after the run; the loop's i++ skips it: at least one good frame.
  }
  return lost;
}

const SNR_MIN = -10;
const SNR_MAX = 35;
const ACTIVE_DBFS = -50;
const clampDb = (v: number) => Math.min(SNR_MAX, Math.max(SNR_MIN, v));

function snrDb(ref: Int16Array, test: Int16Array, from: number, to: number): number {
  let s = 0;
  let e = 0;
  for (let i = from; i < to; i++) {
    s += ref[i]! * ref[i]!;
    const d = ref[i]! - test[i]!;
    e += d * d;
  }
  return e === 0 ? Infinity : 10 * Math.log10(s / e);
}

/** In-place iterative radix-2 FFT (re, im of a power-of-two length). */
function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) { [re[i], re[j]] = [re[j]!, re[i]!]; [im[i], im[j]] = [im[j]!, im[i]!]; }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const a = (-2 * Math.PI) / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < len / 2; k++) {
        const wr = Math.cos(a * k), wi = Math.sin(a * k);
        const xr = re[i + k + len / 2]! * wr - im[i + k + len / 2]! * wi;
        const xi = re[i + k + len / 2]! * wi + im[i + k + len / 2]! * wr;
        re[i + k + len / 2] = re[i + k]! - xr; im[i + k + len / 2] = im[i + k]! - xi;
        re[i + k] = re[i + k]! + xr; im[i + k] = im[i + k]! + xi;
      }
    }
  }
}

/** |DFT| of x[from..to), zero-padded to a power of two (bins 0..n/2). */
function magnitude(x: Int16Array, from: number, to: number): Float64Array {
  let n = 1;
  while (n < to - from) n <<= 1;
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  for (let i = from; i < to; i++) re[i - from] = x[i]!;
  fft(re, im);
  return Float64Array.from({ length: n / 2 + 1 }, (_, k) => Math.hypot(re[k]!, im[k]!));
}

function spectralSnrDb(ref: Int16Array, test: Int16Array, from: number, to: number): number {
  const a = magnitude(ref, from, to);
  const b = magnitude(test, from, to);
  let s = 0;
  let e = 0;
  for (let k = 0; k < a.length; k++) { s += a[k]! ** 2; e += (a[k]! - b[k]!) ** 2; }
  return e === 0 ? Infinity : 10 * Math.log10(s / e);
}

function active(ref: Int16Array, from: number, to: number): boolean {
  let energy = 0;
  for (let k = from; k < to; k++) energy += ref[k]! * ref[k]!;
  return energy / (to - from) >= (32768 * 10 ** (ACTIVE_DBFS / 20)) ** 2;
}

export type Frames = "lost+next" | "lost";
export type Domain = "waveform" | "spectrum";

/** Segmental SNR (see the top of this file) over the packet frames (20 ms here): the lost ones,
 *  plus the good one after each loss run for "lost+next". NaN when no frame counts. */
export function segmentalSnr(ref: Int16Array, test: Int16Array, frame: number, lost: boolean[], frames: Frames = "lost+next", domain: Domain = "waveform"): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i * frame < ref.length; i++) {
    const counted = lost[i] === true || (frames === "lost+next" && i > 0 && lost[i - 1] === true);
    const from = i * frame;
    const to = Math.min(ref.length, from + frame);
    if (!counted || !active(ref, from, to)) continue;
    sum += clampDb(domain === "waveform" ? snrDb(ref, test, from, to) : spectralSnrDb(ref, test, from, to));
    count++;
  }
  return count === 0 ? Number.NaN : sum / count;
}

/** Waveform SNR of the first `span` samples of each loss run, clamped, averaged (active ones). */
export function onsetSnr(ref: Int16Array, test: Int16Array, frame: number, lost: boolean[], span: number): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i * frame < ref.length; i++) {
    if (lost[i] !== true || (i > 0 && lost[i - 1] === true)) continue;
    const from = i * frame;
    const to = Math.min(ref.length, from + span);
    if (!active(ref, from, to)) continue;
    sum += clampDb(snrDb(ref, test, from, to));
    count++;
  }
  return count === 0 ? Number.NaN : sum / count;
}

/**
 * Clicks: the share (%) of loss boundaries (where a loss run starts, and where it ends) at which
 * the output jumps from one sample to the next by more than it or the original steps anywhere
 * else in the 2 ms either side: a discontinuity, heard as a click. Zero-fill jumps from speech
 * to silence and back; a concealer that continues the waveform and cross-fades out of it does
 * not. Lower is better. The segmental SNRs above cannot see this.
 */
export function boundaryClicks(ref: Int16Array, test: Int16Array, frame: number, lost: boolean[], rate: number): number {
  const half = rate / 500;
  let boundaries = 0;
  let clicks = 0;
  for (let i = 1; i * frame < ref.length; i++) {
    if ((lost[i] === true) === (lost[i - 1] === true)) continue; // not a boundary
    const at = i * frame;
    if (at + half >= ref.length || !active(ref, Math.max(0, at - frame), Math.min(ref.length, at + frame))) continue;
    let natural = 0;
    for (let k = Math.max(1, at - half); k < at + half; k++) {
      natural = Math.max(natural, Math.abs(ref[k]! - ref[k - 1]!));
      if (k !== at) natural = Math.max(natural, Math.abs(test[k]! - test[k - 1]!));
    }
    boundaries++;
    if (Math.abs(test[at]! - test[at - 1]!) > natural) clicks++;
  }
  return boundaries === 0 ? Number.NaN : (100 * clicks) / boundaries;
}

/** Plain SNR over the whole signal, dB. */
export function plainSnr(ref: Int16Array, test: Int16Array): number {
  return snrDb(ref, test, 0, ref.length);
}

export const PATTERNS: Pattern[] = [
  { kind: "random", rate: 0.05 },
  { kind: "random", rate: 0.1 },
  { kind: "random", rate: 0.2 },
  { kind: "bursts", rate: 0.1 },
  { kind: "bursts", rate: 0.2 },
];
export const SEEDS = [1, 2, 3, 4, 5];
export const FRAME_MS = 20;

export type Method = "tincan" | "zero" | "spandsp";
export const MEASURES = ["segLostNext", "segLost", "first10ms", "specLostNext", "specLost", "clicks", "snr"] as const;
export type Measure = (typeof MEASURES)[number];
export const MEASURE_TITLES: Record<Measure, string> = {
  segLostNext: "segSNR lost+next", segLost: "segSNR lost", first10ms: "first 10 ms",
  specLostNext: "spectral lost+next", specLost: "spectral lost", clicks: "clicks % (lower better)", snr: "SNR",
};
export interface Row { pattern: string; lossPct: number; by: Record<Method, Record<Measure, number>>; spandspSilent: boolean }

/** All measures of one output. */
export function measure(ref: Int16Array, y: Int16Array, rate: number, frame: number, lost: boolean[]): Record<Measure, number> {
  return {
    segLostNext: segmentalSnr(ref, y, frame, lost, "lost+next", "waveform"),
    segLost: segmentalSnr(ref, y, frame, lost, "lost", "waveform"),
    first10ms: onsetSnr(ref, y, frame, lost, rate / 100),
    specLostNext: segmentalSnr(ref, y, frame, lost, "lost+next", "spectrum"),
    specLost: segmentalSnr(ref, y, frame, lost, "lost", "spectrum"),
    clicks: boundaryClicks(ref, y, frame, lost, rate),
    snr: plainSnr(ref, y),
  };
}

/** True when every lost frame of `y` is silent although the original was not: a concealer that
 *  did nothing (how test/reference's spandsp filter behaves when it loses plc_fillin's output). */
function silentLosses(ref: Int16Array, y: Int16Array, frame: number, lost: boolean[]): boolean {
  let loud = false;
  for (let i = 0; i * frame < ref.length; i++) {
    if (lost[i] !== true) continue;
    const from = i * frame;
    const to = Math.min(ref.length, from + frame);
    if (active(ref, from, to)) loud = true;
    for (let k = from; k < to; k++) if (y[k] !== 0) return false;
  }
  return loud;
}

/** One row per pattern: each measure averaged over the seeds. */
export function evaluate(plc: WasmPlc, pcm: Int16Array, rate: 8000 | 16000, methods: Method[], patterns = PATTERNS, seeds = SEEDS, frameMs = FRAME_MS): Row[] {
  const frame = (rate / 1000) * frameMs;
  const frames = Math.ceil(pcm.length / frame);
  return patterns.map((p) => {
    const zero = () => Object.fromEntries(MEASURES.map((m) => [m, 0])) as Record<Measure, number>;
    const by = { tincan: zero(), zero: zero(), spandsp: zero() };
    let lossPct = 0;
    let spandspSilent = false;
    for (const seed of seeds) {
      const lost = lossPattern(p, frames, seed * 7919 + rate);
      lossPct += (100 * lost.filter((l) => l).length) / frames / seeds.length;
      for (const m of methods) {
        const y = m === "tincan" ? plc.run(pcm, rate, frame, lost) : m === "zero" ? zeroFill(pcm, frame, lost) : plcRef(pcm, frame, lost);
        if (m === "spandsp" && silentLosses(pcm, y, frame, lost)) spandspSilent = true;
        const r = measure(pcm, y, rate, frame, lost);
        for (const k of MEASURES) by[m][k] += r[k] / seeds.length;
      }
    }
    return { pattern: patternName(p), lossPct, by, spandspSilent };
  });
}

function table(title: string, rows: Row[], methods: Method[]): string {
  const f = (v: number) => (Number.isNaN(v) ? "-" : v.toFixed(2));
  const head = `| loss pattern | lost | method | ${MEASURES.map((m) => MEASURE_TITLES[m]).join(" | ")} |`;
  const rule = `|---|---:|---|${MEASURES.map(() => "---:").join("|")}|`;
  const lines = rows.flatMap((r) => methods.map((m, i) => `| ${i === 0 ? r.pattern : ""} | ${i === 0 ? `${r.lossPct.toFixed(1)}%` : ""} | ${m} | ${MEASURES.map((k) => f(r.by[m][k])).join(" | ")} |`));
  const notes = rows.some((r) => r.spandspSilent)
    ? ["", "WARNING: spandsp's lost frames came back silent (plcRef returned zeros where it concealed): its column is zero-fill, not plc_t. test/reference/spandsp_ref.c, cmd_plc: the memset that clears the lost frame runs after plc_fillin() and wipes its output."]
    : [];
  return [title, "", head, rule, ...lines, ...notes, ""].join("\n");
}

/**
 * The G.722 decoder's own concealment, end to end: speech encoded by the firmware's G.722, then
 * decoded frame by frame with lost frames concealed by G722Decoder.conceal() (PCM concealment
 * plus the decoder's state following it), against zero-fill (the decoder skips the lost frame
 * and outputs silence). The reference is the lossless decode of the same codes.
 */
export function evaluateG722(speech16: Int16Array, patterns = PATTERNS, seeds = SEEDS): Row[] {
  const frame = 320;
  const frames = Math.floor(speech16.length / frame);
  const enc = new WasmCodec();
  enc.openEncoder("g722", 1);
  const codes = enc.encode(speech16.subarray(0, frames * frame));
  const decode = (lost: boolean[], conceal: boolean): Int16Array => {
    const c = new WasmCodec();
    c.openDecoder("g722", 1);
    const out = new Int16Array(frames * frame);
    for (let f = 0; f < frames; f++) {
      const y = lost[f] ? (conceal ? c.conceal(frame) : new Int16Array(frame)) : c.decodeFrame(codes.subarray(f * 160, (f + 1) * 160));
      out.set(y, f * frame);
    }
    return out;
  };
  const ref = decode(new Array(frames).fill(false), true);
  return patterns.map((p) => {
    const sums = { tincan: zeroMeasures(), zero: zeroMeasures(), spandsp: zeroMeasures() };
    let lostFrames = 0;
    for (const seed of seeds) {
      const lost = lossPattern(p, frames, seed);
      lostFrames += lost.filter(Boolean).length;
      const a = measure(ref, decode(lost, true), 16000, frame, lost);
      const b = measure(ref, decode(lost, false), 16000, frame, lost);
      for (const k of MEASURES) { sums.tincan[k] += a[k] / seeds.length; sums.zero[k] += b[k] / seeds.length; }
    }
    return { pattern: patternName(p), lossPct: (100 * lostFrames) / (frames * seeds.length), by: sums, spandspSilent: false };
  });
}

function zeroMeasures(): Record<Measure, number> {
  return Object.fromEntries(MEASURES.map((m) => [m, 0])) as Record<Measure, number>;
}

/** WASM instructions per call on the instrumented module (exact, unlike nanoseconds): a 20 ms
 *  good frame, the first lost one (pitch search included), a later lost one, the first good
 *  frame after the loss (its cross-fade). */
function costs(wasm: Uint8Array, pcm: Int16Array, rate: 8000 | 16000): Record<string, number> {
  const c = new WasmPlc(instrumentForCounting(wasm));
  const ex = c.ex;
  const frame = rate / 50;
  const count = (fn: () => void) => { ex.__icount_reset!(); fn(); return Number(ex.__icount_get!()); };
  ex.reset(rate);
  const at = Math.floor(pcm.length / frame / 3) * frame; // into the speech
  for (let off = 0; off < at; off += frame) {
    new Int16Array(ex.memory.buffer, ex.frameBuffer(), frame).set(pcm.subarray(off, off + frame));
    ex.received(rate, frame);
  }
  const good = count(() => { new Int16Array(ex.memory.buffer, ex.frameBuffer(), frame).set(pcm.subarray(at, at + frame)); ex.received(rate, frame); });
  const first = count(() => ex.conceal(rate, frame));
  const later = count(() => ex.conceal(rate, frame));
  const recover = count(() => { new Int16Array(ex.memory.buffer, ex.frameBuffer(), frame).set(pcm.subarray(at, at + frame)); ex.received(rate, frame); });
  return { "good frame": good, "first lost frame (with pitch search)": first, "later lost frame": later, "first good frame after (cross-fade)": recover };
}

async function main(): Promise<void> {
  const wasm = await compilePlcWasm();
  const plc = new WasmPlc(wasm);
  const methods: Method[] = ["tincan", "zero", "spandsp"];
  const s8 = speech8k();
  const s16 = speech16k();
  const date = new Date().toISOString().slice(0, 10);
  console.log(`PLC on speech (${(s8.length / 8000).toFixed(1)} s, test/reference/speech.ts), ${FRAME_MS} ms frames, dB, mean of ${SEEDS.length} seeds; ${date}, Node ${process.versions.node}`);
  console.log(`Frames under ${ACTIVE_DBFS} dBFS left out; frame SNRs clamped to [${SNR_MIN}, ${SNR_MAX}] dB. Measures: see the top of test/bench/plc.ts.\n`);
  console.log(table("8 kHz (G.711 path)", evaluate(plc, s8, 8000, methods), methods));
  console.log(table("16 kHz (G.722 path; spandsp's plc_t is an 8 kHz design: its 5-15 ms pitch range and its fades are in 8 kHz samples)", evaluate(plc, s16, 16000, methods), methods));
  console.log(table("16 kHz through the G.722 decoder (G722Decoder.conceal: the concealment above plus the decoder's state following it; zero-fill: the decoder skips the frame)", evaluateG722(s16), ["tincan", "zero"]));
  const c8 = costs(wasm, s8, 8000);
  const c16 = costs(wasm, s16, 16000);
  console.log("WASM instructions per 20 ms call (instrumented module, exact)\n");
  console.log("| call | 8 kHz | 16 kHz |\n|---|---:|---:|");
  for (const k of Object.keys(c8)) console.log(`| ${k} | ${c8[k]!.toLocaleString("en-US")} | ${c16[k]!.toLocaleString("en-US")} |`);
  console.log(`\nState: Plc(8000) ${plc.ex.plcFootprint(8000)} bytes, Plc(16000) ${plc.ex.plcFootprint(16000)} bytes of heap (stub runtime: object, buffers, headers); the object's fields ${plc.ex.objectBytes()} bytes.`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  });
}
