// The firmware's G.711 (firmware/audio/g711.ts) against spandsp and sox, exhaustively: all
// 65,536 16-bit inputs and all 256 codes of both laws.
//   spandsp (test/reference/spandsp.ts): the convention we match bit for bit everywhere.
//   sox (test/reference/speech.ts, no dither): equal on all decodes and on every input G.711
//     itself defines (µ-law: 14-bit PCM << 2; A-law: 13-bit << 3). Below that resolution sox
//     rounds to nearest where spandsp truncates; that is checked to be the whole difference.
// The firmware side is test/interop/g711-entry.ts, built here with asc from its own config.
//
//   node --import tsx --test test/interop/g711.test.ts
// Needs gcc, libspandsp-dev and sox (the references say which is missing).

import assert from "node:assert/strict";
import path from "node:path";
import { before, describe, it, type TestContext } from "node:test";
import asc from "assemblyscript/asc";
import { packageRoot } from "../../host-tools/paths.ts";
import { alawDecodeRef, alawEncodeRef, ulawDecodeRef, ulawEncodeRef } from "../reference/spandsp.ts";
import { soxAlawDecode, soxAlawEncode, soxUlawDecode, soxUlawEncode } from "../reference/speech.ts";

const root = packageRoot();
const ENTRY = "test/interop/g711-entry.ts";
// Passed with --config, so asc reads this file instead of ./asconfig.json (whose targets carry
// the firmware's abort hook into the HAL and its fixed memory): asc loads one config file.
const CONFIG = "test/interop/g711.asconfig.json";

type Law = "ulaw" | "alaw";

interface G711Exports {
  memory: WebAssembly.Memory;
  pcmBuffer(): number;
  codesBuffer(): number;
  bufferSamples(): number;
  encodeUlaw(ptr: number, n: number, out: number): number;
  encodeAlaw(ptr: number, n: number, out: number): number;
  decodeUlaw(ptr: number, n: number, out: number): void;
  decodeAlaw(ptr: number, n: number, out: number): void;
  decodeUlawFrames(ptr: number, n: number, out: number): number;
  decodeAlawFrames(ptr: number, n: number, out: number): number;
}

/** Runs asc on the entry; returns what it wrote, in memory (nothing lands on disk). */
async function runAsc(extra: string[]): Promise<{ files: Map<string, Uint8Array | string>; stderr: string }> {
  const files = new Map<string, Uint8Array | string>();
  const argv = [ENTRY, "--config", CONFIG, "--baseDir", root, ...extra];
  const res = await asc.main(argv, {
    writeFile: (name: string, contents: Uint8Array | string) => { files.set(name, contents); },
  });
  const stderr = res.stderr.toString();
  if (res.error) throw new Error(`asc ${argv.join(" ")} failed: ${res.error.message}\n${stderr}`);
  return { files, stderr };
}

/** AssemblyScript's abort(message, file, line, column): strings are UTF-16 with their byte length
 *  just before them. Thrown, so a trap in the firmware code shows as a test failure with a reason. */
function abortImport(memory: () => WebAssembly.Memory) {
  const text = (ptr: number): string => {
    if (ptr === 0) return "?";
    const buf = memory().buffer;
    const bytes = new DataView(buf).getUint32(ptr - 4, true);
    return Buffer.from(buf, ptr, bytes).toString("utf16le");
  };
  return (msg: number, file: number, line: number, col: number): never => {
    throw new Error(`abort: ${text(msg)} at ${text(file)}:${line}:${col}`);
  };
}

let wasm: Uint8Array<ArrayBuffer>;
let fw: G711Exports;

before(async () => {
  const { files } = await runAsc(["--outFile", "g711.wasm"]);
  const bin = files.get("g711.wasm");
  assert.ok(bin instanceof Uint8Array, `asc wrote no g711.wasm (wrote: ${[...files.keys()].join(", ")})`);
  wasm = new Uint8Array(bin); // a copy on its own ArrayBuffer, as WebAssembly's types want
  let memory: WebAssembly.Memory | undefined;
  const { instance } = await WebAssembly.instantiate(wasm, { env: { abort: abortImport(() => memory!) } });
  fw = instance.exports as unknown as G711Exports;
  memory = fw.memory;
});

/** The firmware's codes for `pcm`, through the encoder class. */
function fwEncode(law: Law, pcm: Int16Array): Uint8Array {
  assert.ok(pcm.length <= fw.bufferSamples());
  const p = fw.pcmBuffer();
  const c = fw.codesBuffer();
  new Int16Array(fw.memory.buffer, p, pcm.length).set(pcm);
  const n = law === "ulaw" ? fw.encodeUlaw(p, pcm.length, c) : fw.encodeAlaw(p, pcm.length, c);
  assert.equal(n, pcm.length, `${law} encoder wrote ${n} bytes for ${pcm.length} samples`);
  return new Uint8Array(fw.memory.buffer, c, n).slice();
}

/** The firmware's samples for `codes`: through the sample function, or the decoder class. */
function fwDecode(law: Law, codes: Uint8Array, via: "function" | "decoder"): Int16Array {
  const p = fw.pcmBuffer();
  const c = fw.codesBuffer();
  new Uint8Array(fw.memory.buffer, c, codes.length).set(codes);
  new Int16Array(fw.memory.buffer, p, codes.length).fill(0x5a5a);
  if (via === "function") {
    (law === "ulaw" ? fw.decodeUlaw : fw.decodeAlaw)(c, codes.length, p);
  } else {
    const n = (law === "ulaw" ? fw.decodeUlawFrames : fw.decodeAlawFrames)(c, codes.length, p);
    assert.equal(n, codes.length, `${law} decoder gave ${n} samples for ${codes.length} bytes`);
  }
  return new Int16Array(fw.memory.buffer, p, codes.length).slice();
}

const ALL_INPUTS = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);
const ALL_CODES = Uint8Array.from({ length: 256 }, (_, i) => i);
/** G.711's input resolution in our 16-bit samples: µ-law is 14-bit (<< 2), A-law 13-bit (<< 3). */
const SHIFT: Record<Law, number> = { ulaw: 2, alaw: 3 };

/** Where two arrays differ: count and the first few, described. */
function differences(a: ArrayLike<number>, b: ArrayLike<number>, label: (i: number) => string): { count: number; first: string[] } {
  assert.equal(a.length, b.length, "lengths");
  let count = 0;
  const first: string[] = [];
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    if (first.length < 8) first.push(`${label(i)}: ${a[i]} vs ${b[i]}`);
    count++;
  }
  return { count, first };
}

function assertSame(a: ArrayLike<number>, b: ArrayLike<number>, what: string, label: (i: number) => string): void {
  const d = differences(a, b, label);
  assert.equal(d.count, 0, `${what}: ${d.count} differ, first: ${d.first.join("; ")}`);
}

const inputLabel = (i: number): string => `input ${i - 32768}`;
const codeLabel = (i: number): string => `code 0x${i.toString(16).padStart(2, "0")}`;

// G.711's decision intervals, from the Recommendation's segment structure (not from any of the
// implementations under test), in G.711's own units (14-bit µ-law, 13-bit A-law), as closed
// intervals [lo, hi]; the top code of each sign also takes everything beyond (overload).
//   µ-law: segment e begins at decision value 2^(e+5) - 33, 16 steps of 2^(e+1). The first step
//     of segment 0 ([-1, 1]) is shared by +0 (code 0xFF: [0, 1]) and -0 (0x7F: [-1, 0]). All
//     bits of the code are inverted on the line; bit 7 set = positive.
//   A-law: segment 0 begins at 0 and segment e > 0 at 2^(e+4); steps of 2 in segments 0 and 1,
//     2^e above. Even bits inverted (XOR 0x55); bit 7 set = positive.
interface Interval { lo: number; hi: number; value: number }

function g711Interval(law: Law, code: number): Interval {
  let positive: boolean, e: number, q: number, lo: number, step: number;
  if (law === "ulaw") {
    positive = (code & 0x80) !== 0;
    e = 7 - ((code >> 4) & 7);
    q = 15 - (code & 15);
    step = 2 << e;
    lo = (1 << (e + 5)) - 33 + q * step;
  } else {
    const c = code ^ 0x55;
    positive = (c & 0x80) !== 0;
    e = (c >> 4) & 7;
    q = c & 15;
    step = e <= 1 ? 2 : 1 << e;
    lo = (e === 0 ? 0 : 1 << (e + 4)) + q * step;
  }
  let hi = lo + step;
  const value = (lo + hi) / 2; // the decoder's output: the step's midpoint
  if (lo < 0) lo = 0; // µ-law's zero step: each sign takes its half
  if (e === 7 && q === 15) hi = Infinity;
  return positive ? { lo, hi, value } : { lo: -hi, hi: -lo, value: -value };
}

interface DecisionReport {
  inputs: number;
  outside: string[]; // inputs whose code's interval does not contain them
  ties: number; // inputs on a decision value: two codes' intervals contain them
  upper: number; // ties coded to the interval above the input
  lower: number; // ties coded to the interval below it
  lowerInputs: number[];
}

/** Checks each G.711-defined input (one per 2^SHIFT in 16 bits) against the interval of the code
 *  an implementation chose for it. */
function decisionReport(law: Law, codesOfAll: Uint8Array): DecisionReport {
  const intervals = Array.from({ length: 256 }, (_, c) => g711Interval(law, c));
  const r: DecisionReport = { inputs: 0, outside: [], ties: 0, upper: 0, lower: 0, lowerInputs: [] };
  const shift = SHIFT[law];
  for (let i = 0; i < 65536; i++) {
    const x = i - 32768;
    if (x % (1 << shift) !== 0) continue;
    const v = x >> shift;
    r.inputs++;
    const code = codesOfAll[i]!;
    const iv = intervals[code]!;
    if (v < iv.lo || v > iv.hi) {
      if (r.outside.length < 8) r.outside.push(`${law} ${v} (16-bit ${x}) coded 0x${code.toString(16)}, interval [${iv.lo}, ${iv.hi}]`);
      continue;
    }
    const containing = intervals.filter((o) => v >= o.lo && v <= o.hi).length;
    if (containing < 2) continue;
    r.ties++;
    if (iv.lo === v) r.upper++;
    else {
      r.lower++;
      r.lowerInputs.push(v);
    }
  }
  return r;
}

function describeTies(r: DecisionReport): string {
  return `${r.inputs} inputs, ${r.ties} on a decision value: ${r.upper} coded to the interval above, ${r.lower} below`;
}

describe("G.711 interop: the test module", () => {
  it("is built from its own config: stub runtime, no firmware abort hook, no fixed memory", async () => {
    const { stderr } = await runAsc(["--showConfig"]);
    const shown = JSON.parse(stderr) as { options: Record<string, unknown> };
    assert.equal(shown.options.runtime, "stub");
    assert.equal(shown.options.use, undefined, `global aliases leaked in: ${JSON.stringify(shown.options.use)}`);
    // 0 = asc's default (sized to fit); ./asconfig.json's targets would say 8 pages
    assert.equal(shown.options.initialMemory ?? 0, 0);
    assert.equal(shown.options.maximumMemory ?? 0, 0);
    assert.equal(shown.options.outFile, undefined, "an outFile from another config");
  });

  it("imports nothing but env.abort", () => {
    const imports = WebAssembly.Module.imports(new WebAssembly.Module(wasm));
    const other = imports.filter((i) => !(i.module === "env" && i.name === "abort" && i.kind === "function"));
    assert.deepEqual(other, [], `unexpected imports: ${JSON.stringify(other)}`);
  });
});

for (const law of ["ulaw", "alaw"] as const) {
  const name = law === "ulaw" ? "µ-law" : "A-law";
  const spandspEncode = law === "ulaw" ? ulawEncodeRef : alawEncodeRef;
  const spandspDecode = law === "ulaw" ? ulawDecodeRef : alawDecodeRef;
  const soxEncode = law === "ulaw" ? soxUlawEncode : soxAlawEncode;
  const soxDecode = law === "ulaw" ? soxUlawDecode : soxAlawDecode;
  const scale = 1 << SHIFT[law];

  describe(`G.711 interop: ${name}`, () => {
    it("encode is bit-exact with spandsp on all 65,536 inputs", () => {
      const ref = spandspEncode(ALL_INPUTS);
      assert.equal(ref.length, 65536);
      assertSame(fwEncode(law, ALL_INPUTS), ref, `${name} encode, firmware vs spandsp`, inputLabel);
    });

    it("decode is bit-exact with spandsp and sox on all 256 codes, through the function and the decoder", () => {
      const span = spandspDecode(ALL_CODES);
      const sox = soxDecode(ALL_CODES);
      assert.equal(span.length, 256);
      assert.equal(sox.length, 256);
      assertSame(fwDecode(law, ALL_CODES, "function"), span, `${name} decode, firmware vs spandsp`, codeLabel);
      assertSame(fwDecode(law, ALL_CODES, "decoder"), span, `${name} decoder class, firmware vs spandsp`, codeLabel);
      assertSame(fwDecode(law, ALL_CODES, "function"), sox, `${name} decode, firmware vs sox`, codeLabel);
      // and all three give G.711's reconstruction values, scaled to 16 bits
      const table = Array.from(ALL_CODES, (c) => g711Interval(law, c).value * scale);
      assertSame(span, table, `${name} decode, spandsp vs G.711's values`, codeLabel);
    });

    it(`encode equals sox on every input G.711 defines (multiples of ${scale}), each inside its code's G.711 interval`, (t: TestContext) => {
      const sox = soxEncode(ALL_INPUTS);
      const mine = fwEncode(law, ALL_INPUTS);
      assert.equal(sox.length, 65536);
      const defined = (a: Uint8Array): number[] => Array.from(a).filter((_, i) => (i - 32768) % scale === 0);
      const labelDefined = (k: number): string => `input ${-32768 + k * scale}`;
      assertSame(defined(mine), defined(sox), `${name} encode on G.711's inputs, firmware vs sox`, labelDefined);

      // G.711's rule: the code is the one whose decision interval contains the input. Where the
      // input is a decision value itself, two intervals do and the Recommendation does not choose:
      // report which way each implementation goes.
      const span = spandspEncode(ALL_INPUTS);
      const reports = { firmware: decisionReport(law, mine), spandsp: decisionReport(law, span), sox: decisionReport(law, sox) };
      for (const [who, r] of Object.entries(reports)) {
        assert.deepEqual(r.outside, [], `${who}: ${name} inputs coded outside their G.711 interval`);
        t.diagnostic(`${name} ${who}: ${describeTies(r)}`);
      }
      const r = reports.firmware;
      assert.equal(r.inputs, 65536 / scale);
      // 127 decision values between the 128 codes of each sign, and the one between the signs
      assert.equal(r.ties, 255);
      if (law === "ulaw") {
        // by magnitude: a decision value goes to the larger-magnitude side on both signs
        assert.equal(r.upper, 128, "µ-law: +x_n (127) and 0 (to +0, 0xFF) code upwards");
        assert.equal(r.lower, 127, "µ-law: -x_n code downwards, away from zero");
        assert.ok(r.lowerInputs.every((v) => v < 0), "µ-law: only negative decision values go down");
      } else {
        // on the signed line: a decision value always goes to the interval above it
        assert.equal(r.upper, 255, "A-law: every decision value codes upwards");
        assert.equal(r.lower, 0);
      }
    });

    it("sox and spandsp differ only below G.711's resolution: sox rounds to nearest, spandsp truncates", (t: TestContext) => {
      const span = spandspEncode(ALL_INPUTS);
      const sox = soxEncode(ALL_INPUTS);
      const d = differences(span, sox, inputLabel);
      t.diagnostic(`${name}: sox and spandsp differ on ${d.count} of 65,536 inputs (first: ${d.first.slice(0, 3).join("; ")})`);
      // sox = round half up to G.711's resolution (clipped to the top value), then code; so each
      // difference is an input whose rounded value crosses a decision value.
      const half = scale >> 1;
      const rounded = ALL_INPUTS.map((x) => Math.min(Math.floor((x + half) / scale) * scale, 32768 - scale));
      assertSame(sox, fwEncode(law, rounded), `${name}: sox vs firmware on the rounded input`, inputLabel);
      let onDefined = 0;
      for (let i = 0; i < 65536; i++) if (span[i] !== sox[i] && (i - 32768) % scale === 0) onDefined++;
      assert.equal(onDefined, 0, "no difference on an input G.711 defines");
      assert.equal(d.count, law === "ulaw" ? 383 : 1020, `${name}: the figure in docs/g711.md`);
    });
  });
}
