// G.711 companding (ITU-T G.711): PCMU (µ-law, RTP payload type 0) and PCMA (A-law, 8), one
// byte per sample at 8 kHz.
//
// A code byte is sign | 3-bit segment | 4-bit step. Each segment doubles the step of the one
// below, so quantisation noise follows the signal's level. G.711 defines µ-law on 14-bit and
// A-law on 13-bit uniform PCM; our samples are 16-bit, so µ-law works on sample/4 and A-law on
// sample/8. The bits below G.711's resolution are truncated, never rounded: that is spandsp's
// convention, which the interop test holds us to on all 65,536 inputs (docs/g711.md).
// Decoding gives exactly G.711's reconstruction values, scaled to 16 bits.

import { AudioDecoder, AudioEncoder } from "./codec";
import { Plc } from "./plc";

/** G.711 runs at 8 kHz whatever the board's front end does. */
export const G711_RATE: i32 = 8000;
/** Default frame limit: 60 ms at 8 kHz (a packet of up to three 20 ms frames). */
export const G711_MAX_SAMPLES: i32 = 480;

// µ-law adds a bias of 33 (in 14-bit units; 132 = 33 << 2 in ours) to the magnitude. The
// biased magnitude is then a plain binary floating-point number: its leading 1 gives the
// segment, the next four bits the step, and the segments come out equally spaced in log.
const ULAW_BIAS: i32 = 0x84;
// A-law: the even bits are inverted on the line (G.711's rule against long runs of zeros).
const ALAW_INVERT: i32 = 0x55;

/** Keeps an i32 in the 16-bit range, so out-of-range input saturates instead of wrapping. */
@inline function clamp16(x: i32): i32 {
  return x > 32767 ? 32767 : x < -32768 ? -32768 : x;
}

/** Segment of a magnitude below 0x8000: 0 below 0x100, then one per bit up to 7. */
@inline function segmentOf(m: i32): i32 {
  return 24 - <i32>clz<u32>(<u32>(m | 0xff)); // bit index of the leading 1, minus 7
}

/** 16-bit linear sample (saturated if outside) to a µ-law byte. */
export function linearToUlaw(sample: i32): u8 {
  const s = clamp16(sample);
  // Same biased magnitude for +x and -x: µ-law's two halves are mirror images, and a value
  // on a decision boundary goes to the larger magnitude on both sides, as spandsp does.
  const m = s < 0 ? ULAW_BIAS - s : ULAW_BIAS + s;
  const sign = s < 0 ? 0x80 : 0x00; // before inversion: 1 = negative
  let body = 0x7f; // at or past 0x8000 (|s| > 32635): the top step of segment 7 is nearest
  if (m < 0x8000) {
    const seg = segmentOf(m);
    body = (seg << 4) | ((m >> (seg + 3)) & 0x0f);
  }
  return <u8>((sign | body) ^ 0xff); // µ-law sends every bit inverted
}

/** 16-bit linear sample (saturated if outside) to an A-law byte. */
export function linearToAlaw(sample: i32): u8 {
  const s = clamp16(sample);
  // Negative values take the one's complement (-s - 1), not -s: -1..-16 then share the first
  // negative step as 0..15 share the first positive one, and a value on a decision boundary
  // goes to the step above it on the signed line for both signs, as spandsp does.
  const m = s < 0 ? -s - 1 : s; // 0..32767: the segment can never reach 8
  const sign = s < 0 ? 0x00 : 0x80;
  const seg = segmentOf(m);
  // Segments 0 and 1 share one step size (16 in our units); the others double it.
  const step = (m >> (seg == 0 ? 4 : seg + 3)) & 0x0f;
  return <u8>((sign | (seg << 4) | step) ^ ALAW_INVERT);
}

// Decode tables, filled once at module start-up (256 i16 each) so that decoding is one load.
const ULAW_TABLE = new StaticArray<i16>(256);
const ALAW_TABLE = new StaticArray<i16>(256);

function fillTables(): void {
  for (let code = 0; code < 256; code++) {
    // µ-law: un-invert; the biased magnitude is the step's midpoint (2q + 33) << seg in 14-bit
    // units, minus the bias. Times 4 for 16 bits: exactly G.711's reconstruction value.
    let c = ~code & 0xff;
    let seg = (c >> 4) & 7;
    let mag = ((((c & 0x0f) << 3) + ULAW_BIAS) << seg) - ULAW_BIAS;
    unchecked(ULAW_TABLE[code] = <i16>(c & 0x80 ? -mag : mag));
    // A-law: segment 0 is linear, step 2 from 0 (midpoint 2q + 1); segment s > 0 starts at
    // 32 << (s - 1) with step 2 << (s - 1) (midpoint (2q + 33) << (s - 1)). Times 8 for 16 bits.
    c = code ^ ALAW_INVERT;
    seg = (c >> 4) & 7;
    const q = c & 0x0f;
    mag = (seg == 0 ? (q << 1) + 1 : ((q << 1) + 33) << (seg - 1)) << 3;
    unchecked(ALAW_TABLE[code] = <i16>(c & 0x80 ? mag : -mag)); // A-law: sign bit 1 = positive
  }
}
fillTables();

/** µ-law byte to a 16-bit sample: 4 × G.711's 14-bit value (±32124 at most). */
export function ulawToLinear(code: u8): i16 {
  return unchecked(ULAW_TABLE[code]);
}

/** A-law byte to a 16-bit sample: 8 × G.711's 13-bit value (±32256 at most). */
export function alawToLinear(code: u8): i16 {
  return unchecked(ALAW_TABLE[code]);
}

// The codec classes. The coding itself is stateless. The callers' buffers are sized for
// maxSamples, so a length outside 1..maxSamples is refused whole (0 returned, nothing written)
// rather than cut: a bad packet never writes past the frame and never traps.

/** One G.711 byte per sample, A-law or µ-law. */
class G711Encoder extends AudioEncoder {
  constructor(private readonly alaw: bool, readonly maxSamples: i32) { super(); }

  /** Returns the bytes written: `samples`, or 0 if samples is not in 1..maxSamples. */
  encode(pcm: usize, samples: i32, out: usize): i32 {
    if (samples <= 0 || samples > this.maxSamples) return 0;
    const alaw = this.alaw;
    for (let i = 0; i < samples; i++) {
      const x = load<i16>(pcm + (<usize>i << 1));
      store<u8>(out + <usize>i, alaw ? linearToAlaw(x) : linearToUlaw(x));
    }
    return samples;
  }

  reset(): void {} // nothing carries over between frames
}

/** G.711 decoding is one table load per sample; lost frames are filled by the packet-loss
 *  concealer (firmware/audio/plc.ts). */
class G711Decoder extends AudioDecoder {
  private readonly plc: Plc = new Plc(G711_RATE);
  private readonly table: StaticArray<i16>;

  constructor(alaw: bool, readonly maxSamples: i32) {
    super();
    this.table = alaw ? ALAW_TABLE : ULAW_TABLE;
  }

  /** Returns the samples written (= bytes), or 0, writing nothing, if bytes is not in
   *  1..maxSamples. */
  decode(payload: usize, bytes: i32, out: usize): i32 {
    if (bytes <= 0 || bytes > this.maxSamples) return 0;
    const table = this.table;
    for (let i = 0; i < bytes; i++) {
      store<i16>(out + (<usize>i << 1), unchecked(table[load<u8>(payload + <usize>i)]));
    }
    this.plc.received(out, bytes); // history for concealment; smooths in after a loss
    return bytes;
  }

  /** Returns samples, or 0, writing nothing, if samples is not in 1..maxSamples. */
  conceal(out: usize, samples: i32): i32 {
    if (samples <= 0 || samples > this.maxSamples) return 0;
    this.plc.conceal(out, samples);
    return samples;
  }

  reset(): void { this.plc.reset(); }
}

export class PcmuEncoder extends G711Encoder { constructor(maxSamples: i32 = G711_MAX_SAMPLES) { super(false, maxSamples); } }
export class PcmaEncoder extends G711Encoder { constructor(maxSamples: i32 = G711_MAX_SAMPLES) { super(true, maxSamples); } }
export class PcmuDecoder extends G711Decoder { constructor(maxSamples: i32 = G711_MAX_SAMPLES) { super(false, maxSamples); } }
export class PcmaDecoder extends G711Decoder { constructor(maxSamples: i32 = G711_MAX_SAMPLES) { super(true, maxSamples); } }
