// A WebAssembly module of the firmware's voice codecs alone, for the host tools (`tincan
// codec`), the interop tests and the benchmarks: the same code the board runs, driven from
// outside through buffers in linear memory. It imports nothing.

import { AudioEncoder, AudioDecoder } from "./audio/codec";
import { G722Encoder, G722Decoder, G722Core } from "./audio/g722";
import { Plc } from "./audio/plc";
import { PcmuEncoder, PcmuDecoder, PcmaEncoder, PcmaDecoder } from "./audio/g711";
import { CODECS, CODEC_G722, CODEC_PCMU, CODEC_PCMA } from "./audio/codecs";
import "./lib/trap"; // the abort hook (asconfig.json, target "codec")

// 1 s of 16 kHz audio per call at most: long enough for any frame, short enough to stay small.
const MAX_SAMPLES: i32 = 16000;
const pcm = new StaticArray<i16>(MAX_SAMPLES);
const payload = new StaticArray<u8>(MAX_SAMPLES);

// Every codec is built once, here; opening one selects and resets it.
const g722Encoders: StaticArray<G722Encoder> = [new G722Encoder(1), new G722Encoder(2), new G722Encoder(3)];
const g722Decoders: StaticArray<G722Decoder> = [new G722Decoder(1), new G722Decoder(2), new G722Decoder(3)];
const pcmuEncoder = new PcmuEncoder();
const pcmuDecoder = new PcmuDecoder();
const pcmaEncoder = new PcmaEncoder();
const pcmaDecoder = new PcmaDecoder();

let encoder: AudioEncoder | null = null;
let decoder: AudioDecoder | null = null;
let g722Encoder: G722Encoder | null = null;
let g722Decoder: G722Decoder | null = null;

export function pcm_buffer(): usize { return changetype<usize>(pcm); }
export function payload_buffer(): usize { return changetype<usize>(payload); }
export function buffer_samples(): i32 { return MAX_SAMPLES; }

/** Codec facts for the host: name length + name is not needed; the ids are CODEC_*. */
export function codec_count(): i32 { return CODECS.length; }
export function codec_payload_type(id: i32): i32 { return id >= 0 && id < CODECS.length ? CODECS[id].payloadType : -1; }
export function codec_sample_rate(id: i32): i32 { return id >= 0 && id < CODECS.length ? CODECS[id].sampleRate : -1; }
export function codec_clock_rate(id: i32): i32 { return id >= 0 && id < CODECS.length ? CODECS[id].clockRate : -1; }
export function codec_bytes_per_10ms(id: i32): i32 { return id >= 0 && id < CODECS.length ? CODECS[id].bytesPer10ms : -1; }

/** Selects and resets an encoder: id CODEC_*, mode 1..3 (G.722 only). 0, or -1 if unknown. */
export function open_encoder(id: i32, mode: i32): i32 {
  g722Encoder = null;
  if (id == CODEC_G722) {
    if (mode < 1 || mode > 3) return -1;
    g722Encoder = g722Encoders[mode - 1];
    encoder = g722Encoder;
  } else if (id == CODEC_PCMU) encoder = pcmuEncoder;
  else if (id == CODEC_PCMA) encoder = pcmaEncoder;
  else { encoder = null; return -1; }
  encoder!.reset();
  return 0;
}

export function open_decoder(id: i32, mode: i32): i32 {
  g722Decoder = null;
  if (id == CODEC_G722) {
    if (mode < 1 || mode > 3) return -1;
    g722Decoder = g722Decoders[mode - 1];
    decoder = g722Decoder;
  } else if (id == CODEC_PCMU) decoder = pcmuDecoder;
  else if (id == CODEC_PCMA) decoder = pcmaDecoder;
  else { decoder = null; return -1; }
  decoder!.reset();
  return 0;
}

/** Encodes `samples` samples of the PCM buffer into the payload buffer; returns bytes or -1. */
export function encode(samples: i32): i32 {
  const e = encoder;
  if (e === null || samples < 0 || samples > MAX_SAMPLES) return -1;
  return e.encode(changetype<usize>(pcm), samples, changetype<usize>(payload));
}

/** Decodes `bytes` payload bytes into the PCM buffer; returns samples or -1. */
export function decode(bytes: i32): i32 {
  const d = decoder;
  if (d === null || bytes < 0 || bytes > MAX_SAMPLES / 2) return -1;
  return d.decode(changetype<usize>(payload), bytes, changetype<usize>(pcm));
}

/** Conceals one lost frame of `samples` samples into the PCM buffer; returns samples or -1. */
export function conceal(samples: i32): i32 {
  const d = decoder;
  if (d === null || samples < 0 || samples > MAX_SAMPLES) return -1;
  return d.conceal(changetype<usize>(pcm), samples);
}

// The G.722 sub-band coders with the QMF by-passed (Appendix II test configuration).

export function g722_encode_subbands(xl: i32, xh: i32): i32 {
  const e = g722Encoder;
  return e === null ? -1 : e.encodeSubbands(xl, xh);
}

/** Returns rlow in the high half, rhigh in the low half (both sign-extended 16-bit). */
export function g722_decode_subbands(code: i32): i32 {
  const d = g722Decoder;
  if (d === null) return -1;
  d.core.decodeSubbands(code & 0xff);
  return (d.core.rlow << 16) | (d.core.rhigh & 0xffff);
}

// Diagnostics for the docs: the heap bytes one new instance takes (object headers included,
// stub runtime). Each call leaves its instance allocated: for measuring, not for use.
function heapTop(): usize { const p = heap.alloc(0); heap.free(p); return p; }

export function measure_state_bytes(which: i32): i32 {
  const before = heapTop();
  if (which == 0) new G722Encoder(1);
  else if (which == 1) new G722Decoder(1);
  else if (which == 2) new G722Core(1);
  else if (which == 3) new PcmuEncoder();
  else if (which == 4) new PcmuDecoder();
  else if (which == 5) new Plc(16000);
  else if (which == 6) new Plc(8000);
  else return -1;
  return <i32>(heapTop() - before);
}
