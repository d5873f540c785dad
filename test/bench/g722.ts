// npm run bench:g722 — G.722 encode and decode per 20 ms frame: the firmware's codec (WASM,
// in Node) beside spandsp's native C on the same speech, in one run; plus exact instruction
// counts: WASM instructions (instrumented module) and, for spandsp, x86 instructions
// (valgrind/callgrind, when valgrind is installed). Figures go in docs/codecs.md.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { WasmCodec, loadCodecModule } from "../../host-tools/codec/wasm-codec.ts";
import { instrumentForCounting } from "./instrument.ts";
import { benchG722Ref, referenceBinary, pcmToBytes } from "../reference/spandsp.ts";
import { speech16k } from "../reference/speech.ts";

const FRAME = 320;
const speech = speech16k();
const frames = Math.floor(speech.length / FRAME);

interface Side { encodeNs: number; decodeNs: number }

/** Median ns per frame of encoding then decoding every frame of the speech, `runs` times. */
function timeWasm(runs: number): Side {
  const codec = new WasmCodec();
  const ex = codec.exports;
  const enc: number[] = [];
  const dec: number[] = [];
  const codes = new Uint8Array(frames * (FRAME / 2));
  for (let r = 0; r < runs; r++) {
    codec.openEncoder("g722", 1);
    const pcmView = new Int16Array(ex.memory.buffer, ex.pcm_buffer(), FRAME);
    const payloadView = new Uint8Array(ex.memory.buffer, ex.payload_buffer(), FRAME / 2);
    let t = 0;
    for (let f = 0; f < frames; f++) {
      pcmView.set(speech.subarray(f * FRAME, (f + 1) * FRAME));
      const t0 = process.hrtime.bigint();
      ex.encode(FRAME);
      t += Number(process.hrtime.bigint() - t0);
      codes.set(payloadView, f * (FRAME / 2));
    }
    enc.push(t / frames);
    codec.openDecoder("g722", 1);
    t = 0;
    for (let f = 0; f < frames; f++) {
      payloadView.set(codes.subarray(f * (FRAME / 2), (f + 1) * (FRAME / 2)));
      const t0 = process.hrtime.bigint();
      ex.decode(FRAME / 2);
      t += Number(process.hrtime.bigint() - t0);
    }
    dec.push(t / frames);
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  return { encodeNs: median(enc), decodeNs: median(dec) };
}

function countWasm(): Side {
  const codec = new WasmCodec(instrumentForCounting(loadCodecModule()));
  const ex = codec.exports as unknown as Record<string, () => bigint | void> & typeof codec.exports;
  const pcmView = new Int16Array(ex.memory.buffer, ex.pcm_buffer(), FRAME);
  const codes: Uint8Array[] = [];
  codec.openEncoder("g722", 1);
  (ex.__icount_reset as () => void)();
  for (let f = 0; f < frames; f++) {
    pcmView.set(speech.subarray(f * FRAME, (f + 1) * FRAME));
    ex.encode(FRAME);
    codes.push(Uint8Array.from(new Uint8Array(ex.memory.buffer, ex.payload_buffer(), FRAME / 2)));
  }
  const encodeCount = Number((ex.__icount_get as () => bigint)()) / frames;
  codec.openDecoder("g722", 1);
  const payloadView = new Uint8Array(ex.memory.buffer, ex.payload_buffer(), FRAME / 2);
  (ex.__icount_reset as () => void)();
  for (const c of codes) { payloadView.set(c); ex.decode(FRAME / 2); }
  return { encodeNs: encodeCount, decodeNs: Number((ex.__icount_get as () => bigint)()) / frames };
}

/** x86 instructions inside spandsp's g722_encode / g722_decode per frame, by callgrind. */
function countSpandsp(): Side | undefined {
  if (spawnSync("valgrind", ["--version"]).status !== 0) return undefined;
  const bin = referenceBinary();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tincan-callgrind-"));
  const sample = speech.subarray(0, 250 * FRAME); // 5 s is plenty for a stable count
  const count = (cmd: string, fn: string, input: Uint8Array): number => {
    const out = path.join(dir, `${cmd}.out`);
    const r = spawnSync("valgrind", ["--tool=callgrind", `--callgrind-out-file=${out}`, `--toggle-collect=${fn}`, bin, cmd, "64000"], { input, maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(`valgrind ${cmd}: ${r.stderr.toString().trim().split("\n").pop()}`);
    const totals = /^(?:summary|totals):\s+(\d+)/m.exec(fs.readFileSync(out, "utf8"));
    if (!totals) throw new Error(`no totals in ${out}`);
    return Number(totals[1]) / (sample.length / FRAME);
  };
  try {
    const encodeCount = count("g722-encode", "g722_encode", pcmToBytes(sample));
    const codec = new WasmCodec();
    codec.openEncoder("g722", 1);
    const decodeCount = count("g722-decode", "g722_decode", codec.encode(sample));
    return { encodeNs: encodeCount, decodeNs: decodeCount };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const wasm = timeWasm(7);
const ref = benchG722Ref(speech);
const wasmCount = countWasm();
const refCount = countSpandsp();
const fmt = (n: number) => Math.round(n).toLocaleString("en");
console.log(`G.722 64 kbit/s, 20 ms frames of ${(speech.length / 16000).toFixed(1)} s of speech (node ${process.version}, ${new Date().toISOString().slice(0, 10)})`);
console.log("");
console.log("| direction | Tincan WASM ns/frame | spandsp C ns/frame | ratio (WASM / C) | WASM instructions/frame | spandsp x86 instructions/frame |");
console.log("|---|---:|---:|---:|---:|---:|");
for (const [name, w, c, wc, cc] of [
  ["encode", wasm.encodeNs, ref.encodeNsPerFrame, wasmCount.encodeNs, refCount?.encodeNs],
  ["decode", wasm.decodeNs, ref.decodeNsPerFrame, wasmCount.decodeNs, refCount?.decodeNs],
] as [string, number, number, number, number | undefined][]) {
  console.log(`| ${name} | ${fmt(w)} | ${fmt(c)} | ${(w / c).toFixed(2)} | ${fmt(wc)} | ${cc === undefined ? "(no valgrind)" : fmt(cc)} |`);
}
const cycles = 240e6 * 0.02;
console.log("");
console.log(`At one cycle per WASM instruction (WAMR AOT) a 240 MHz core spends ${((wasmCount.encodeNs / cycles) * 100).toFixed(1)} % of a 20 ms frame encoding and ${((wasmCount.decodeNs / cycles) * 100).toFixed(1)} % decoding.`);
