// The spandsp reference for Tincan's codec tests and benchmarks: builds test/reference/spandsp_ref.c
// (a stdin -> stdout filter over spandsp's G.722, G.711 and PLC) and runs it.
//
// spandsp's G.722 is bit-exact with the ITU reference. Needs gcc and the Debian package
// libspandsp-dev (pkg-config optional); ReferenceUnavailable says which is missing.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { packageRoot } from "../../host-tools/paths.ts";

/** The reference cannot run here: a tool or library is not installed. The message names the package. */
export class ReferenceUnavailable extends Error {
  override name = "ReferenceUnavailable";
}

export type G722Rate = 64000 | 56000 | 48000;

export interface G722Bench {
  encodeNsPerFrame: number;
  decodeNsPerFrame: number;
  /** 20 ms frames (320 samples) in the input. */
  frames: number;
}

const MAX_BUFFER = 1 << 30;
let built: string | undefined;

function sourcePath(): string {
  return path.join(packageRoot(), "test", "reference", "spandsp_ref.c");
}

/**
 * The path of the built reference program, build/reference/spandsp-ref. Compiles it when it is
 * missing or older than spandsp_ref.c (into a temporary name, then renamed, so concurrent test
 * processes never run a half-written binary).
 */
export function referenceBinary(): string {
  if (built !== undefined && fs.existsSync(built)) return built;
  const src = sourcePath();
  const out = path.join(packageRoot(), "build", "reference", "spandsp-ref");
  const srcTime = fs.statSync(src).mtimeMs;
  const outStat = fs.statSync(out, { throwIfNoEntry: false });
  if (outStat === undefined || outStat.mtimeMs < srcTime) compile(src, out);
  built = out;
  return out;
}

function compile(src: string, out: string): void {
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const candidates: string[][] = [];
  const pc = spawnSync("pkg-config", ["--cflags", "--libs", "spandsp"], { encoding: "utf8" });
  if (pc.error === undefined && pc.status === 0) {
    candidates.push([...pc.stdout.trim().split(/\s+/).filter((f) => f !== ""), "-lm"]);
  }
  // Without pkg-config's file: the static library needs libtiff, the shared one does not.
  candidates.push(["-lspandsp", "-ltiff", "-lm"], ["-lspandsp", "-lm"]);

  const tmp = `${out}.tmp-${process.pid}`;
  let lastError = "";
  try {
    for (const flags of candidates) {
      const r = spawnSync("gcc", ["-O2", "-std=c99", "-Wall", "-o", tmp, src, ...flags], { encoding: "utf8" });
      if (r.error !== undefined) {
        const code = (r.error as NodeJS.ErrnoException).code;
        if (code === "ENOENT") throw new ReferenceUnavailable("gcc is not installed: install the Debian package gcc");
        throw new Error(`cannot run gcc: ${r.error.message}`);
      }
      if (r.status === 0) {
        fs.renameSync(tmp, out);
        return;
      }
      lastError = r.stderr;
      if (/spandsp\/\w+\.h: No such file/.test(r.stderr)) {
        throw new ReferenceUnavailable("spandsp headers not found (spandsp/g722.h): install the Debian package libspandsp-dev");
      }
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  if (/cannot find -lspandsp|undefined reference to `(g722|plc)_/.test(lastError)) {
    throw new ReferenceUnavailable("libspandsp not found by the linker: install the Debian package libspandsp-dev");
  }
  throw new Error(`cannot build ${path.basename(out)} from ${src}: ${firstLines(lastError)}`);
}

function firstLines(text: string): string {
  return text.trim().split("\n").slice(0, 3).join(" | ");
}

/** Runs the reference program: `args` as its command line, `input` on stdin; returns stdout. */
export function runReference(args: string[], input: Uint8Array): Uint8Array {
  const bin = referenceBinary();
  const r = spawnSync(bin, args, { input, maxBuffer: MAX_BUFFER });
  // EPIPE: the program exited (on an error) before reading all of stdin; its exit says why.
  const epipe = (r.error as NodeJS.ErrnoException | undefined)?.code === "EPIPE" && r.status !== null;
  if (r.error !== undefined && !epipe) throw new Error(`spandsp-ref ${args.join(" ")}: ${r.error.message}`);
  if (epipe && r.status === 0) throw new Error(`spandsp-ref ${args.join(" ")}: exited without reading all its input`);
  if (r.status !== 0) {
    const why = r.stderr.toString("utf8").trim() || (r.signal !== null ? `killed by ${r.signal}` : `exit ${r.status}`);
    throw new Error(`spandsp-ref ${args.join(" ")} failed: ${why}`);
  }
  return new Uint8Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.byteLength);
}

/** Int16 samples as s16le bytes, whatever the host's byte order. */
export function pcmToBytes(pcm: Int16Array): Uint8Array {
  const bytes = new Uint8Array(pcm.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < pcm.length; i++) view.setInt16(i * 2, pcm[i]!, true);
  return bytes;
}

/** s16le bytes as Int16 samples; refuses an odd byte count. */
export function bytesToPcm(bytes: Uint8Array): Int16Array {
  if (bytes.length % 2 !== 0) throw new Error(`s16le data of ${bytes.length} bytes: an odd byte count`);
  const pcm = new Int16Array(bytes.length / 2);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < pcm.length; i++) pcm[i] = view.getInt16(i * 2, true);
  return pcm;
}

function checkRate(rate: number): void {
  if (rate !== 64000 && rate !== 56000 && rate !== 48000) throw new Error(`G.722 rate ${rate}: expected 64000, 56000 or 48000`);
}

/**
 * G.722 codes of 16 kHz PCM (an even number of samples), as spandsp emits them unpacked: one byte
 * per two samples; at 64000 high band in bits 7-6 and low band in 5-0; at 56000 and 48000 that byte
 * shifted right by 1 or 2 (7 or 6 significant bits).
 */
export function g722EncodeRef(pcm16k: Int16Array, rate: G722Rate): Uint8Array {
  checkRate(rate);
  return runReference(["g722-encode", String(rate)], pcmToBytes(pcm16k));
}

/** 16 kHz PCM from G.722 codes in g722EncodeRef's format: two samples per code. */
export function g722DecodeRef(codes: Uint8Array, rate: G722Rate): Int16Array {
  checkRate(rate);
  return bytesToPcm(runReference(["g722-decode", String(rate)], codes));
}

/** G.711 mu-law, one byte per sample (spandsp linear_to_ulaw). */
export function ulawEncodeRef(pcm: Int16Array): Uint8Array {
  return runReference(["ulaw-encode"], pcmToBytes(pcm));
}

export function ulawDecodeRef(codes: Uint8Array): Int16Array {
  return bytesToPcm(runReference(["ulaw-decode"], codes));
}

/** G.711 A-law, one byte per sample (spandsp linear_to_alaw, even bits inverted as on the wire). */
export function alawEncodeRef(pcm: Int16Array): Uint8Array {
  return runReference(["alaw-encode"], pcmToBytes(pcm));
}

export function alawDecodeRef(codes: Uint8Array): Int16Array {
  return bytesToPcm(runReference(["alaw-decode"], codes));
}

/**
 * spandsp's packet loss concealment (designed for 8 kHz) over `pcm` cut into frames of
 * `frameSamples`: frame i is lost when lost[i], else received (frames past the end of `lost` are
 * received). Received frames come back as plc_rx leaves them (the first one after a loss is
 * cross-faded over its first pitch/4 samples), lost frames as plc_fillin synthesises them.
 * The output has the input's length.
 */
export function plcRef(pcm: Int16Array, frameSamples: number, lost: boolean[]): Int16Array {
  if (!Number.isInteger(frameSamples) || frameSamples < 1) throw new Error(`PLC frame of ${frameSamples} samples: expected a positive integer`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tincan-plc-"));
  try {
    const maskPath = path.join(dir, "mask");
    fs.writeFileSync(maskPath, Uint8Array.from(lost, (l) => (l ? 1 : 0)));
    return bytesToPcm(runReference(["plc", String(frameSamples), maskPath], pcmToBytes(pcm)));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * spandsp's G.722 speed on this machine: encode of `pcm16k` in 20 ms frames and decode of its
 * codes, median of 5 runs of about 0.5 s each (framesPerRun 0) or of `framesPerRun` frames.
 */
export function benchG722Ref(pcm16k: Int16Array, rate: G722Rate = 64000, framesPerRun = 0): G722Bench {
  checkRate(rate);
  const out = new TextDecoder().decode(runReference(["bench-g722", String(rate), String(framesPerRun)], pcmToBytes(pcm16k)));
  let parsed: unknown;
  try {
    parsed = JSON.parse(out);
  } catch {
    throw new Error(`spandsp-ref bench-g722 printed something that is not JSON: ${out.trim().slice(0, 200)}`);
  }
  const o = parsed as Record<string, unknown>;
  const { encodeNsPerFrame, decodeNsPerFrame, frames } = o;
  if (typeof encodeNsPerFrame !== "number" || typeof decodeNsPerFrame !== "number" || typeof frames !== "number") {
    throw new Error(`spandsp-ref bench-g722 printed unexpected JSON: ${out.trim().slice(0, 200)}`);
  }
  return { encodeNsPerFrame, decodeNsPerFrame, frames };
}
