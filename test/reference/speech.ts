// Test speech made here, from software nobody here wrote: espeak-ng speaks a few varied English
// sentences in several voices and pitches, sox joins them, resamples to 16 kHz mono 16-bit and
// peak-normalises to -3 dBFS. Deterministic (espeak-ng is; sox runs with -R and without dither)
// and cached under build/fixtures/, rebuilt when missing or older than this file. Also the sox
// side of the G.711 comparisons.
//
// Needs the Debian packages espeak-ng and sox.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { packageRoot } from "../../host-tools/paths.ts";
import { ReferenceUnavailable, bytesToPcm, pcmToBytes } from "./spandsp.ts";

/** What is said, by whom: espeak-ng voice (+variant), pitch 0-99, speed in words per minute. */
const SENTENCES: { voice: string; pitch: number; speed: number; text: string }[] = [
  { voice: "en-us", pitch: 40, speed: 170, text: "The quick brown fox jumps over the lazy dog, while five wizards box quickly." },
  { voice: "en-gb+f3", pitch: 65, speed: 160, text: "Please ring the bell at the front door and wait. Someone will be with you shortly." },
  { voice: "en-us+m3", pitch: 25, speed: 175, text: "Is anybody there? I can hear you, but the line sounds a little thin today." },
  { voice: "en-gb", pitch: 50, speed: 155, text: "Seven silver ships sailed south, shining through the thick, chilly fog at dawn." },
  { voice: "en-us+f2", pitch: 75, speed: 180, text: "Thank you for calling. Your visitor is at the gate: say yes to let them in, or no to decline." },
];
/** Silence between sentences, seconds. */
const GAP_S = 0.3;
const PEAK_DBFS = -3;

const RAW16 = ["-t", "raw", "-e", "signed-integer", "-b", "16", "-c", "1", "-L"];

let cache16: Int16Array | undefined;
let cache8: Int16Array | undefined;

function fixturePath(name: string): string {
  return path.join(packageRoot(), "build", "fixtures", name);
}

/** Runs a tool; throws ReferenceUnavailable naming the Debian package when it is not installed. */
function run(tool: string, debianPackage: string, args: string[], input?: Uint8Array): Uint8Array {
  const r = spawnSync(tool, args, { input, maxBuffer: 1 << 30 });
  // EPIPE: the tool exited (on an error) before reading all of stdin; its exit status says why.
  const epipe = (r.error as NodeJS.ErrnoException | undefined)?.code === "EPIPE" && r.status !== null && r.status !== 0;
  if (r.error !== undefined && !epipe) {
    if ((r.error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new ReferenceUnavailable(`${tool} is not installed: install the Debian package ${debianPackage}`);
    }
    throw new Error(`cannot run ${tool}: ${r.error.message}`);
  }
  if (r.status !== 0) {
    const why = r.stderr.toString("utf8").trim().split("\n").slice(0, 3).join(" | ");
    throw new Error(`${tool} ${args.slice(0, 4).join(" ")} ... failed: ${why || `exit ${r.status}`}`);
  }
  return new Uint8Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.byteLength);
}

function sox(args: string[], input?: Uint8Array): Uint8Array {
  return run("sox", "sox", ["-V1", "-R", "-D", ...args], input);
}

/** Makes the 16 kHz speech, without the cache: espeak-ng per sentence, then one sox pass. */
export function generateSpeech16k(): Int16Array {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tincan-speech-"));
  try {
    const parts: string[] = [];
    SENTENCES.forEach((s, i) => {
      const wav = path.join(dir, `s${i}.wav`);
      run("espeak-ng", "espeak-ng", ["-v", s.voice, "-p", String(s.pitch), "-s", String(s.speed), "-w", wav, s.text]);
      parts.push(wav);
    });
    // espeak-ng writes 22050 Hz mono 16-bit; the gap is made at the same format so sox can join them.
    const gap = path.join(dir, "gap.wav");
    sox(["-n", "-r", "22050", "-c", "1", "-b", "16", gap, "trim", "0", String(GAP_S)]);
    const inputs = parts.flatMap((p, i) => (i === 0 ? [p] : [gap, p]));
    const out = path.join(dir, "speech-16k.raw");
    sox([...inputs, ...RAW16, "-r", "16000", out, "rate", "16000", "gain", "-n", String(PEAK_DBFS)]);
    return bytesToPcm(fs.readFileSync(out));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes a fixture to a temporary name and renames it, so a cut run never leaves half a file. */
function writeFixture(file: string, pcm: Int16Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    fs.writeFileSync(tmp, pcmToBytes(pcm));
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** The cached fixture when it is there, whole and newer than `notOlderThan` (mtime, ms). */
function readFixture(file: string, notOlderThan: number): Int16Array | undefined {
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (st === undefined || st.size === 0 || st.size % 2 !== 0 || st.mtimeMs < notOlderThan) return undefined;
  return bytesToPcm(fs.readFileSync(file));
}

/** ~26 s of English speech (five sentences, male and female voices, US and GB), 16 kHz mono, peak at -3 dBFS; cached as build/fixtures/speech-16k.raw. */
export function speech16k(): Int16Array {
  if (cache16 === undefined) {
    const file = fixturePath("speech-16k.raw");
    const self = fs.statSync(fileURLToPath(import.meta.url)).mtimeMs;
    let pcm = readFixture(file, self);
    if (pcm === undefined) {
      pcm = generateSpeech16k();
      writeFixture(file, pcm);
    }
    cache16 = pcm;
  }
  return cache16.slice();
}

/** The same speech resampled by sox to 8 kHz (not renormalised); build/fixtures/speech-8k.raw. */
export function speech8k(): Int16Array {
  if (cache8 === undefined) {
    const src = speech16k();
    const file = fixturePath("speech-8k.raw");
    const srcTime = fs.statSync(fixturePath("speech-16k.raw")).mtimeMs;
    let pcm = readFixture(file, srcTime);
    if (pcm === undefined) {
      pcm = bytesToPcm(sox([...RAW16, "-r", "16000", "-", ...RAW16, "-r", "8000", "-", "rate", "8000"], pcmToBytes(src)));
      writeFixture(file, pcm);
    }
    cache8 = pcm;
  }
  return cache8.slice();
}

const G711_IN = (encoding: string) => ["-t", "raw", "-e", encoding, "-b", "8", "-c", "1", "-r", "8000"];

/** G.711 mu-law by sox (no dither), one byte per sample. */
export function soxUlawEncode(pcm8k: Int16Array): Uint8Array {
  return sox([...RAW16, "-r", "8000", "-", ...G711_IN("mu-law"), "-"], pcmToBytes(pcm8k));
}

export function soxUlawDecode(codes: Uint8Array): Int16Array {
  return bytesToPcm(sox([...G711_IN("mu-law"), "-", ...RAW16, "-r", "8000", "-"], codes));
}

/** G.711 A-law by sox (no dither), one byte per sample. */
export function soxAlawEncode(pcm8k: Int16Array): Uint8Array {
  return sox([...RAW16, "-r", "8000", "-", ...G711_IN("a-law"), "-"], pcmToBytes(pcm8k));
}

export function soxAlawDecode(codes: Uint8Array): Int16Array {
  return bytesToPcm(sox([...G711_IN("a-law"), "-", ...RAW16, "-r", "8000", "-"], codes));
}
