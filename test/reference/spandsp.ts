// The spandsp reference for Tincan's codec tests and benchmarks: builds test/reference/spandsp_ref.c
// (a stdin -> stdout filter over spandsp's G.722, G.711 and PLC) and runs it.
//
// spandsp's G.722 is bit-exact with the ITU reference. Needs gcc and the Debian package
// libspandsp-dev (pkg-config optional); ReferenceUnavailable says which is missing.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ReferenceUnavailable, harnessBinary, runHarness, type Harness } from "./harness.ts";

export { ReferenceUnavailable };

export type G722Rate = 64000 | 56000 | 48000;

export interface G722Bench {
  encodeNsPerFrame: number;
  decodeNsPerFrame: number;
  /** 20 ms frames (320 samples) in the input. */
  frames: number;
}

const SPANDSP: Harness = {
  name: "spandsp-ref",
  source: "spandsp_ref.c",
  flags() {
    const candidates: string[][] = [];
    const pc = spawnSync("pkg-config", ["--cflags", "--libs", "spandsp"], { encoding: "utf8" });
    if (pc.error === undefined && pc.status === 0) candidates.push([...pc.stdout.trim().split(/\s+/).filter((f) => f !== ""), "-lm"]);
    // Without pkg-config's file: the static library needs libtiff, the shared one does not.
    candidates.push(["-lspandsp", "-ltiff", "-lm"], ["-lspandsp", "-lm"]);
    return candidates;
  },
  noHeaders: /spandsp\/\w+\.h: No such file/,
  noHeadersHint: "spandsp headers not found (spandsp/g722.h): install the Debian package libspandsp-dev",
  noLibrary: /cannot find -lspandsp|undefined reference to `(g722|plc)_/,
  noLibraryHint: "libspandsp not found by the linker: install the Debian package libspandsp-dev",
};

/** The path of the built reference program, build/reference/spandsp-ref (built when stale). */
export function referenceBinary(): string {
  return harnessBinary(SPANDSP);
}

/** Runs the reference program: `args` as its command line, `input` on stdin; returns stdout. */
export function runReference(args: string[], input: Uint8Array): Uint8Array {
  return runHarness(SPANDSP, args, input);
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
