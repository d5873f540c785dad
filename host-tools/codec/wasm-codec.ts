// Drives the firmware's voice codecs from Node: build/codec.wasm is the firmware's codec code
// (firmware/codec-module.ts) compiled alone, so what the host tools encode is bit for bit what
// a board sends.

import fs from "node:fs";
import path from "node:path";
import { packageRoot } from "../paths.ts";

export type CodecName = "g722" | "pcmu" | "pcma";
export const CODEC_IDS: Record<CodecName, number> = { g722: 0, pcmu: 1, pcma: 2 };
export const CODEC_SAMPLE_RATES: Record<CodecName, number> = { g722: 16000, pcmu: 8000, pcma: 8000 };

export class CodecError extends Error {}

interface CodecExports {
  memory: WebAssembly.Memory;
  pcm_buffer(): number;
  payload_buffer(): number;
  buffer_samples(): number;
  open_encoder(id: number, mode: number): number;
  open_decoder(id: number, mode: number): number;
  encode(samples: number): number;
  decode(bytes: number): number;
  conceal(samples: number): number;
  g722_encode_subbands(xl: number, xh: number): number;
  g722_decode_subbands(code: number): number;
  [name: string]: unknown;
}

export function codecModulePath(): string {
  return path.join(packageRoot(), "build", "codec.wasm");
}

export function loadCodecModule(file = codecModulePath()): Uint8Array {
  try {
    return fs.readFileSync(file);
  } catch {
    throw new CodecError(`${file}: codec module not found; build it with 'npm run build'`);
  }
}

export class WasmCodec {
  readonly exports: CodecExports;
  private readonly capacity: number;
  /** Samples per frame when the caller names none: 20 ms of the open codec, as calls send. */
  private encodeFrame = 320;
  private decodeFrameBytes = 160;

  /** `wasm`: the module's bytes (default build/codec.wasm), possibly instrumented. */
  constructor(wasm: Uint8Array = loadCodecModule()) {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(Uint8Array.from(wasm)), {});
    this.exports = instance.exports as unknown as CodecExports;
    this.capacity = this.exports.buffer_samples();
  }

  private pcm(n: number): Int16Array { return new Int16Array(this.exports.memory.buffer, this.exports.pcm_buffer(), n); }
  private payload(n: number): Uint8Array { return new Uint8Array(this.exports.memory.buffer, this.exports.payload_buffer(), n); }

  openEncoder(codec: CodecName, mode = 1): void {
    if (this.exports.open_encoder(CODEC_IDS[codec], mode) !== 0) throw new CodecError(`no ${codec} encoder for mode ${mode}`);
    this.encodeFrame = CODEC_SAMPLE_RATES[codec] / 50;
  }

  openDecoder(codec: CodecName, mode = 1): void {
    if (this.exports.open_decoder(CODEC_IDS[codec], mode) !== 0) throw new CodecError(`no ${codec} decoder for mode ${mode}`);
    this.decodeFrameBytes = 160; // 20 ms: 160 G.722 codewords (320 samples) or 160 G.711 bytes
  }

  /** Encodes in frames of `frameSamples` (default 20 ms). */
  encode(input: Int16Array, frameSamples = this.encodeFrame): Uint8Array {
    if (frameSamples > this.capacity) throw new CodecError(`frames of ${frameSamples} samples exceed the codec buffer (${this.capacity})`);
    const chunks: Uint8Array[] = [];
    for (let off = 0; off < input.length; off += frameSamples) {
      const n = Math.min(frameSamples, input.length - off);
      this.pcm(n).set(input.subarray(off, off + n));
      const bytes = this.exports.encode(n);
      if (bytes <= 0) throw new CodecError(`the encoder refused a frame of ${n} samples`);
      chunks.push(Uint8Array.from(this.payload(bytes)));
    }
    return concatBytes(chunks);
  }

  /** Decodes in frames of `frameBytes` payload bytes (default 20 ms). */
  decode(input: Uint8Array, frameBytes = this.decodeFrameBytes): Int16Array {
    const chunks: Int16Array[] = [];
    for (let off = 0; off < input.length; off += frameBytes) {
      const n = Math.min(frameBytes, input.length - off);
      this.payload(n).set(input.subarray(off, off + n));
      const samples = this.exports.decode(n);
      if (samples <= 0) throw new CodecError(`the decoder refused a frame of ${n} bytes`);
      chunks.push(Int16Array.from(this.pcm(samples)));
    }
    return concatSamples(chunks);
  }

  /** One concealed frame, as the jitter buffer asks for a lost packet. */
  conceal(samples: number): Int16Array {
    const n = this.exports.conceal(samples);
    if (n <= 0) throw new CodecError(`the decoder refused to conceal ${samples} samples`);
    return Int16Array.from(this.pcm(n));
  }

  /** Decodes one frame payload (for frame-by-frame loss simulation). */
  decodeFrame(payload: Uint8Array): Int16Array { return this.decode(payload, payload.length || 1); }

  encodeSubbands(xl: number, xh: number): number { return this.exports.g722_encode_subbands(xl, xh); }

  decodeSubbands(code: number): [number, number] {
    const v = this.exports.g722_decode_subbands(code);
    return [v >> 16, (v << 16) >> 16];
  }
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

function concatSamples(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
