// tincan codec encode|decode: the firmware's own codecs (build/codec.wasm) on files.

import { WasmCodec, CODEC_SAMPLE_RATES, type CodecName } from "../codec/wasm-codec.ts";
import { readPcm, readInput, writeAtomically, writePcm } from "../codec/files.ts";
import { printJson, UsageError } from "./common.ts";

export interface CodecCommandOptions { codec: string; mode: string; json?: boolean }

function parse(opts: CodecCommandOptions): { codec: CodecName; mode: number } {
  const codec = opts.codec.toLowerCase();
  if (codec !== "g722" && codec !== "pcmu" && codec !== "pcma") throw new UsageError(`--codec ${opts.codec}: choose g722, pcmu or pcma`);
  const mode = Number(opts.mode);
  if (![1, 2, 3].includes(mode)) throw new UsageError(`--mode ${opts.mode}: G.722 modes are 1 (64 kbit/s), 2 (56) and 3 (48)`);
  if (codec !== "g722" && mode !== 1) throw new UsageError(`--mode applies to g722 only`);
  return { codec, mode };
}

export function codecEncodeCommand(input: string, output: string, opts: CodecCommandOptions): void {
  const { codec, mode } = parse(opts);
  const rate = CODEC_SAMPLE_RATES[codec];
  const pcm = readPcm(input, rate);
  let samples = pcm.samples;
  let padded = false;
  if (codec === "g722" && samples.length % 2 !== 0) {
    // G.722 codes sample pairs: finish the last pair with silence rather than drop a sample.
    samples = Int16Array.from([...samples, 0]);
    padded = true;
  }
  const wasm = new WasmCodec();
  wasm.openEncoder(codec, mode);
  const bytes = wasm.encode(samples);
  writeAtomically(output, bytes);
  const summary = { codec, mode, input, inputFormat: pcm.format, sampleRate: rate, samples: pcm.samples.length, seconds: pcm.samples.length / rate, output, bytes: bytes.length, padded };
  if (opts.json) printJson(summary);
  else process.stdout.write(`${input}: ${summary.seconds.toFixed(2)} s at ${rate} Hz -> ${output}: ${bytes.length} bytes of ${codec.toUpperCase()}${codec === "g722" ? ` mode ${mode}` : ""}${padded ? " (odd sample count: one silent sample added)" : ""}\n`);
}

export function codecDecodeCommand(input: string, output: string, opts: CodecCommandOptions): void {
  const { codec, mode } = parse(opts);
  const rate = CODEC_SAMPLE_RATES[codec];
  const bytes = readInput(input);
  const wasm = new WasmCodec();
  wasm.openDecoder(codec, mode);
  const samples = wasm.decode(bytes);
  const format = writePcm(output, samples, rate);
  const summary = { codec, mode, input, bytes: bytes.length, output, outputFormat: format, sampleRate: rate, samples: samples.length, seconds: samples.length / rate };
  if (opts.json) printJson(summary);
  else process.stdout.write(`${input}: ${bytes.length} bytes of ${codec.toUpperCase()} -> ${output}: ${summary.seconds.toFixed(2)} s at ${rate} Hz (${format})\n`);
}
