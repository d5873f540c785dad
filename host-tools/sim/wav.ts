// Minimal RIFF/WAVE for the simulator's audio: 16-bit PCM, mono. Reading refuses anything
// else with a message that says what the file is and what is expected.

import fs from "node:fs";

export class WavError extends Error {}

export interface Wav { sampleRate: number; channels: number; samples: Int16Array }

export function parseWav(bytes: Uint8Array, name = "input"): Wav {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 12 || b.toString("latin1", 0, 4) !== "RIFF" || b.toString("latin1", 8, 12) !== "WAVE") {
    throw new WavError(`${name}: not a WAV file (no RIFF/WAVE header)`);
  }
  let fmt: { format: number; channels: number; rate: number; bits: number } | undefined;
  let off = 12;
  while (off + 8 <= b.length) {
    const id = b.toString("latin1", off, off + 4);
    const size = b.readUInt32LE(off + 4);
    const body = off + 8;
    if (body + size > b.length && id !== "data") throw new WavError(`${name}: truncated WAV file (chunk "${id}" runs past the end)`);
    if (id === "fmt ") {
      if (size < 16) throw new WavError(`${name}: WAV fmt chunk too short`);
      fmt = { format: b.readUInt16LE(body), channels: b.readUInt16LE(body + 2), rate: b.readUInt32LE(body + 4), bits: b.readUInt16LE(body + 14) };
      // WAVE_FORMAT_EXTENSIBLE carries the real format in its sub-format GUID.
      if (fmt.format === 0xfffe && size >= 26) fmt.format = b.readUInt16LE(body + 24);
    } else if (id === "data") {
      if (!fmt) throw new WavError(`${name}: WAV data chunk before its fmt chunk`);
      if (fmt.format !== 1 || fmt.bits !== 16) throw new WavError(`${name}: WAV is format ${fmt.format} with ${fmt.bits}-bit samples; need 16-bit PCM`);
      if (fmt.channels !== 1) throw new WavError(`${name}: WAV has ${fmt.channels} channels; need mono`);
      const end = Math.min(body + size, b.length);
      const count = Math.floor((end - body) / 2);
      const samples = new Int16Array(count);
      for (let i = 0; i < count; i++) samples[i] = b.readInt16LE(body + 2 * i);
      return { sampleRate: fmt.rate, channels: fmt.channels, samples };
    }
    off = body + size + (size & 1);
  }
  throw new WavError(`${name}: WAV file has no data chunk`);
}

export function wavHeader(sampleRate: number, dataBytes: number): Buffer {
  const h = Buffer.alloc(44);
  h.write("RIFF", 0, "latin1");
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write("WAVE", 8, "latin1");
  h.write("fmt ", 12, "latin1");
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write("data", 36, "latin1");
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

/** Streams mono 16-bit samples to a WAV file; the header's sizes are patched on close, and
 *  the file is written under a temporary name and renamed, so it is never left half-written. */
export class WavWriter {
  private readonly fd: number;
  private readonly tmp: string;
  private bytes = 0;
  private closed = false;

  constructor(readonly file: string, readonly sampleRate: number) {
    this.tmp = `${file}.part`;
    this.fd = fs.openSync(this.tmp, "w");
    fs.writeSync(this.fd, wavHeader(sampleRate, 0));
  }

  write(samples: Int16Array): void {
    const buf = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
    fs.writeSync(this.fd, buf);
    this.bytes += buf.length;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.writeSync(this.fd, wavHeader(this.sampleRate, this.bytes), 0, 44, 0);
    fs.closeSync(this.fd);
    fs.renameSync(this.tmp, this.file);
  }
}
