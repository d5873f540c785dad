// @ts-nocheck: AssemblyScript, compiled by asc (the test); tsconfig.json takes in test/interop/**.
// Test entry for test/interop/g711.test.ts: the firmware's G.711 (firmware/audio/g711.ts), built
// alone with test/interop/g711.asconfig.json and driven from Node through buffers in linear
// memory. Not firmware: it may allocate freely. Imports nothing but possibly env.abort.
import {
  alawToLinear, linearToAlaw, linearToUlaw, ulawToLinear,
  PcmaDecoder, PcmaEncoder, PcmuDecoder, PcmuEncoder,
} from "../../firmware/audio/g711";

/** Every 16-bit input at once. */
const N: i32 = 65536;
const FRAME: i32 = 160; // the decoders are driven in 20 ms frames, as in a call
const pcm = new StaticArray<i16>(N);
const codes = new StaticArray<u8>(N);

const pcmu = new PcmuEncoder(N);
const pcma = new PcmaEncoder(N);
const pcmuDec = new PcmuDecoder(FRAME);
const pcmaDec = new PcmaDecoder(FRAME);

export function pcmBuffer(): usize { return changetype<usize>(pcm); }
export function codesBuffer(): usize { return changetype<usize>(codes); }
export function bufferSamples(): i32 { return N; }

/** Through the encoder classes: n samples at ptr -> n codes at out; returns bytes written. */
export function encodeUlaw(ptr: usize, n: i32, out: usize): i32 { return pcmu.encode(ptr, n, out); }
export function encodeAlaw(ptr: usize, n: i32, out: usize): i32 { return pcma.encode(ptr, n, out); }

/** Through the sample functions: n codes at ptr -> n samples at out. */
export function decodeUlaw(ptr: usize, n: i32, out: usize): void {
  for (let i = 0; i < n; i++) store<i16>(out + (<usize>i << 1), ulawToLinear(load<u8>(ptr + <usize>i)));
}
export function decodeAlaw(ptr: usize, n: i32, out: usize): void {
  for (let i = 0; i < n; i++) store<i16>(out + (<usize>i << 1), alawToLinear(load<u8>(ptr + <usize>i)));
}

/** Through the decoder classes, in frames of at most 160 with no loss between them; returns the
 *  samples written. */
export function decodeUlawFrames(ptr: usize, n: i32, out: usize): i32 {
  let done = 0;
  while (done < n) {
    const k = min(FRAME, n - done);
    const got = pcmuDec.decode(ptr + <usize>done, k, out + (<usize>done << 1));
    if (got != k) return done;
    done += k;
  }
  return done;
}
export function decodeAlawFrames(ptr: usize, n: i32, out: usize): i32 {
  let done = 0;
  while (done < n) {
    const k = min(FRAME, n - done);
    const got = pcmaDec.decode(ptr + <usize>done, k, out + (<usize>done << 1));
    if (got != k) return done;
    done += k;
  }
  return done;
}

/** The sample functions on one i32 input, for the saturation checks. */
export function ulawOf(sample: i32): u32 { return linearToUlaw(sample); }
export function alawOf(sample: i32): u32 { return linearToAlaw(sample); }
