// Audio and codec files for `tincan codec`: raw s16le or WAV in, codec bytes out, and back.
// Bad input is refused before anything is written; output is written whole or not at all.

import fs from "node:fs";
import path from "node:path";
import { parseWav, wavHeader } from "../sim/wav.ts";

export class AudioFileError extends Error {}

export interface Pcm { samples: Int16Array; sampleRate?: number; format: "wav" | "raw" }

const isRiff = (b: Uint8Array) => b.length >= 4 && b[0] === 0x52 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x46;

export function readInput(file: string): Uint8Array {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new AudioFileError(`${file}: cannot read (${code === "ENOENT" ? "no such file" : code ?? (e as Error).message})`);
  }
}

/** A WAV file (by its RIFF header) or raw signed 16-bit little-endian mono samples. */
export function readPcm(file: string, expectedRate: number): Pcm {
  const bytes = readInput(file);
  const looksWav = isRiff(bytes) || /\.wav$/i.test(file);
  if (looksWav) {
    let wav;
    try {
      wav = parseWav(bytes, file);
    } catch (e) {
      throw new AudioFileError((e as Error).message);
    }
    if (wav.sampleRate !== expectedRate) {
      throw new AudioFileError(`${file}: WAV is ${wav.sampleRate} Hz; this codec takes ${expectedRate} Hz (convert it: sox ${path.basename(file)} -r ${expectedRate} -c 1 -b 16 out.wav)`);
    }
    return { samples: wav.samples, sampleRate: wav.sampleRate, format: "wav" };
  }
  if (bytes.length % 2 !== 0) {
    throw new AudioFileError(`${file}: ${bytes.length} bytes is an odd length; raw input must be 16-bit samples (s16le), 2 bytes each`);
  }
  const samples = new Int16Array(bytes.length / 2);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(2 * i, true);
  return { samples, format: "raw" };
}

/** Writes via a temporary file and a rename, so a failure never leaves half a file. */
export function writeAtomically(file: string, data: Uint8Array | Uint8Array[]): void {
  const parts = Array.isArray(data) ? data : [data];
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.part`);
  try {
    const fd = fs.openSync(tmp, "w");
    try {
      for (const p of parts) fs.writeSync(fd, p);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new AudioFileError(`${file}: cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** Writes samples as WAV when the name ends in .wav, else as raw s16le. */
export function writePcm(file: string, samples: Int16Array, sampleRate: number): "wav" | "raw" {
  const body = new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
  if (/\.wav$/i.test(file)) {
    writeAtomically(file, [wavHeader(sampleRate, body.length), body]);
    return "wav";
  }
  writeAtomically(file, body);
  return "raw";
}
