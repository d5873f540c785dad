// ITU-T G.722: 7 kHz audio in 64 kbit/s. A QMF bank splits 16 kHz audio into a lower and a
// higher 8 kHz sub-band; each is coded by ADPCM (6 bits lower, 2 bits higher) into one 8-bit
// codeword per pair of input samples. Fixed point as the Recommendation specifies it, so the
// output is bit-exact with the ITU reference (tests: the Appendix II sequences and spandsp).
//
// Block names in comments are the Recommendation's (QUANTL, INVQAL, LOGSCL, ...). Operation
// modes: 1 = 64 kbit/s, 2 = 56, 3 = 48. The encoder is the same in every mode (its feedback
// uses the 4-bit core of the lower-band code); in modes 2 and 3 it clears the lower-band bits
// the auxiliary data channel owns. The decoder's lower band uses 6, 5 or 4 bits by mode.

import { AudioEncoder, AudioDecoder } from "./codec";
import { Plc } from "./plc";

// QUANTL decision levels, indexed 1..29; 30 and 31 pad the binary search with levels above
// level 29 (and small enough that level * scale factor stays inside 32 bits).
const Q6_SEARCH: StaticArray<i32> = [0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714,
  786, 858, 940, 1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919, 32767, 32767];
// QUANTL output codes for negative and positive differences, by decision interval.
const ILN: StaticArray<i32> = [0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19,
  18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 0];
const ILP: StaticArray<i32> = [0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47,
  46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 0];
// Inverse quantizers of the lower band: 4-bit (feedback, mode 3), 5-bit (mode 2), 6-bit (mode 1).
const QM4: StaticArray<i32> = [0, -20456, -12896, -8968, -6288, -4240, -2584, -1200,
  20456, 12896, 8968, 6288, 4240, 2584, 1200, 0];
const QM5: StaticArray<i32> = [-280, -280, -23352, -17560, -14120, -11664, -9752, -8184,
  -6864, -5712, -4696, -3784, -2960, -2208, -1520, -880, 23352, 17560, 14120, 11664, 9752,
  8184, 6864, 5712, 4696, 3784, 2960, 2208, 1520, 880, 280, -280];
const QM6: StaticArray<i32> = [-136, -136, -136, -136, -24808, -21904, -19008, -16704,
  -14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856, -7192, -6576, -6000, -5456,
  -4944, -4464, -4008, -3576, -3168, -2776, -2400, -2032, -1688, -1360, -1040, -728, 24808,
  21904, 19008, 16704, 14984, 13512, 12280, 11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000,
  5456, 4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432, -136];
// LOGSCL: 4-bit code -> magnitude class, and the log scale factor increments.
const RL42: StaticArray<i32> = [0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0];
const WL: StaticArray<i32> = [-60, -30, 58, 172, 334, 538, 1198, 3042];
// SCALEL/SCALEH: 2048 * 2^(i/32), the antilog table.
const ILB: StaticArray<i32> = [2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489,
  2543, 2599, 2656, 2714, 2774, 2834, 2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444,
  3520, 3597, 3676, 3756, 3838, 3922, 4008];
// Higher band: inverse quantizer, magnitude class and scale factor increments.
const QM2: StaticArray<i32> = [-7408, -1616, 7408, 1616];
const RH2: StaticArray<i32> = [2, 1, 2, 1];
const WH: StaticArray<i32> = [0, -214, 798];

const QUANTH_LEVEL: i32 = 564;

@inline function sat16(v: i32): i32 {
  return v > 32767 ? 32767 : v < -32768 ? -32768 : v;
}

/** Antilog of a log scale factor: SCALEL (shift 8) and SCALEH (shift 10). */
@inline function scale(nb: i32, shift: i32): i32 {
  const wd1 = unchecked(ILB[(nb >> 6) & 31]);
  const wd2 = shift - (nb >> 11);
  return (wd2 < 0 ? wd1 << -wd2 : wd1 >> wd2) << 2;
}

/** The adaptive predictor of one sub-band (block 4) and its scale factor. */
export class Band {
  s: i32 = 0;        // signal estimate (PREDIC)
  sz: i32 = 0;       // zero-section part of it (FILTEZ)
  rr1: i32 = 0;      // 2 * reconstructed signal, saturated, delayed by 1 and 2 (FILTEP reads only these)
  rr2: i32 = 0;
  p1: i32 = 0;       // partially reconstructed signal, delayed (only its sign is used)
  p2: i32 = 0;
  a1: i32 = 0;       // pole coefficients
  a2: i32 = 0;
  b1: i32 = 0; b2: i32 = 0; b3: i32 = 0; b4: i32 = 0; b5: i32 = 0; b6: i32 = 0; // zero coefficients
  // 2 * quantized difference signal, delayed 1..6 (|d| <= 10228, so doubling never saturates).
  dd1: i32 = 0; dd2: i32 = 0; dd3: i32 = 0; dd4: i32 = 0; dd5: i32 = 0; dd6: i32 = 0;
  nb: i32 = 0;       // log scale factor
  det: i32;          // scale factor

  constructor(readonly initialDet: i32) { this.det = initialDet; }

  reset(): void {
    this.s = 0; this.sz = 0; this.rr1 = 0; this.rr2 = 0; this.p1 = 0; this.p2 = 0;
    this.a1 = 0; this.a2 = 0;
    this.b1 = 0; this.b2 = 0; this.b3 = 0; this.b4 = 0; this.b5 = 0; this.b6 = 0;
    this.dd1 = 0; this.dd2 = 0; this.dd3 = 0; this.dd4 = 0; this.dd5 = 0; this.dd6 = 0;
    this.nb = 0; this.det = this.initialDet;
  }

  copyFrom(o: Band): void {
    this.s = o.s; this.sz = o.sz; this.rr1 = o.rr1; this.rr2 = o.rr2; this.p1 = o.p1; this.p2 = o.p2;
    this.a1 = o.a1; this.a2 = o.a2;
    this.b1 = o.b1; this.b2 = o.b2; this.b3 = o.b3; this.b4 = o.b4; this.b5 = o.b5; this.b6 = o.b6;
    this.dd1 = o.dd1; this.dd2 = o.dd2; this.dd3 = o.dd3; this.dd4 = o.dd4; this.dd5 = o.dd5; this.dd6 = o.dd6;
    this.nb = o.nb; this.det = o.det;
  }

  /** Block 4: updates the predictor with the quantized difference signal dx. */
  @inline update(dx: i32): void {
    const dd0 = dx << 1;
    // RECONS and PARREC
    const r0 = sat16(this.s + dx);
    const p0 = sat16(this.sz + dx);
    // UPPOL2: second pole. Signs compare by XOR: equal signs leave the sign bit clear.
    const sameSign1 = (p0 ^ this.p1) >= 0;
    const wd1 = sat16(this.a1 << 2);
    let wd2 = sameSign1 ? -wd1 : wd1;
    if (wd2 > 32767) wd2 = 32767;
    let ap2 = (wd2 >> 7) + ((p0 ^ this.p2) >= 0 ? 128 : -128) + ((this.a2 * 32512) >> 15);
    ap2 = ap2 > 12288 ? 12288 : ap2 < -12288 ? -12288 : ap2;
    // UPPOL1: first pole, kept inside the stability triangle. (No sum here can leave 16 bits.)
    let ap1 = (sameSign1 ? 192 : -192) + ((this.a1 * 32640) >> 15);
    const limit = 15360 - ap2;
    ap1 = ap1 > limit ? limit : ap1 < -limit ? -limit : ap1;
    // UPZERO: sign-sign update of the six zeros (|b| stays inside 16 bits without saturation).
    const step = dx == 0 ? 0 : 128;
    const b1 = ((dd0 ^ this.dd1) >= 0 ? step : -step) + ((this.b1 * 32640) >> 15);
    const b2 = ((dd0 ^ this.dd2) >= 0 ? step : -step) + ((this.b2 * 32640) >> 15);
    const b3 = ((dd0 ^ this.dd3) >= 0 ? step : -step) + ((this.b3 * 32640) >> 15);
    const b4 = ((dd0 ^ this.dd4) >= 0 ? step : -step) + ((this.b4 * 32640) >> 15);
    const b5 = ((dd0 ^ this.dd5) >= 0 ? step : -step) + ((this.b5 * 32640) >> 15);
    const b6 = ((dd0 ^ this.dd6) >= 0 ? step : -step) + ((this.b6 * 32640) >> 15);
    // DELAYA and FILTEZ: shift the difference signal, then the zero section.
    const dd1 = dd0, dd2 = this.dd1, dd3 = this.dd2, dd4 = this.dd3, dd5 = this.dd4, dd6 = this.dd5;
    const sz = sat16(((b1 * dd1) >> 15) + ((b2 * dd2) >> 15) + ((b3 * dd3) >> 15)
      + ((b4 * dd4) >> 15) + ((b5 * dd5) >> 15) + ((b6 * dd6) >> 15));
    this.dd1 = dd1; this.dd2 = dd2; this.dd3 = dd3; this.dd4 = dd4; this.dd5 = dd5; this.dd6 = dd6;
    this.b1 = b1; this.b2 = b2; this.b3 = b3; this.b4 = b4; this.b5 = b5; this.b6 = b6;
    // FILTEP: the pole section, on the delayed reconstructed signal.
    const rr1 = sat16(r0 + r0);
    const sp = sat16(((ap1 * rr1) >> 15) + ((ap2 * this.rr1) >> 15));
    this.rr2 = this.rr1; this.rr1 = rr1;
    this.p2 = this.p1; this.p1 = p0;
    this.a1 = ap1; this.a2 = ap2;
    // PREDIC
    this.sz = sz;
    this.s = sat16(sp + sz);
  }

  /** LOGSCL + SCALEL: lower-band scale factor from the 4-bit core of the code. */
  @inline adaptLower(code4: i32): void {
    let nb = ((this.nb * 127) >> 7) + unchecked(WL[unchecked(RL42[code4])]);
    nb = nb < 0 ? 0 : nb > 18432 ? 18432 : nb;
    this.nb = nb;
    this.det = scale(nb, 8);
  }

  /** LOGSCH + SCALEH: higher-band scale factor. */
  @inline adaptHigher(code2: i32): void {
    let nb = ((this.nb * 127) >> 7) + unchecked(WH[unchecked(RH2[code2])]);
    nb = nb < 0 ? 0 : nb > 22528 ? 22528 : nb;
    this.nb = nb;
    this.det = scale(nb, 10);
  }
}

// The QMF: 24 taps, symmetric:
// h = 3 -11 -11 53 12 -156 32 362 -210 -805 951 3876 3876 951 -805 -210 362 32 -156 12 53 -11 -11 3
// Both filter banks keep their last 22 samples in front of the current chunk in one linear
// buffer, so every window is a plain pointer (no ring arithmetic); the history is moved down
// once per chunk.
const QMF_HISTORY: i32 = 22;
const QMF_CHUNK: i32 = 64; // samples per pass: small state, and the history moves once per 4 ms

/** sum(x[2i] * h[2i]) over a 24-sample window (i16 samples at w, oldest first). */
@inline function tapsA(w: usize): i32 {
  return <i32>load<i16>(w, 0) * 3 + <i32>load<i16>(w, 4) * -11 + <i32>load<i16>(w, 8) * 12
    + <i32>load<i16>(w, 12) * 32 + <i32>load<i16>(w, 16) * -210 + <i32>load<i16>(w, 20) * 951
    + <i32>load<i16>(w, 24) * 3876 + <i32>load<i16>(w, 28) * -805 + <i32>load<i16>(w, 32) * 362
    + <i32>load<i16>(w, 36) * -156 + <i32>load<i16>(w, 40) * 53 + <i32>load<i16>(w, 44) * -11;
}

/** sum(x[2i + 1] * h[2i + 1]) over the same window. */
@inline function tapsB(w: usize): i32 {
  return <i32>load<i16>(w, 2) * -11 + <i32>load<i16>(w, 6) * 53 + <i32>load<i16>(w, 10) * -156
    + <i32>load<i16>(w, 14) * 362 + <i32>load<i16>(w, 18) * -805 + <i32>load<i16>(w, 22) * 3876
    + <i32>load<i16>(w, 26) * 951 + <i32>load<i16>(w, 30) * -210 + <i32>load<i16>(w, 34) * 32
    + <i32>load<i16>(w, 38) * 12 + <i32>load<i16>(w, 42) * -11 + <i32>load<i16>(w, 46) * 3;
}

/** A QMF bank's samples: 22 of history, then up to QMF_CHUNK of the current chunk. */
class QmfBuffer {
  readonly data: StaticArray<i16> = new StaticArray<i16>(QMF_HISTORY + QMF_CHUNK);
  @inline get base(): usize { return changetype<usize>(this.data); }
  /** After a chunk of n samples: its last 22 samples (with the history) become the history. */
  @inline keepHistory(n: i32): void {
    memory.copy(this.base, this.base + (<usize>n << 1), <usize>QMF_HISTORY << 1);
  }
  clear(): void { memory.fill(this.base, 0, <usize>(QMF_HISTORY + QMF_CHUNK) << 1); }
}

/** Lower-band bits the auxiliary data channel owns in each mode. */
@inline function auxMask(mode: i32): i32 { return mode == 3 ? 0xfc : mode == 2 ? 0xfe : 0xff; }

export class G722Encoder extends AudioEncoder {
  readonly low: Band = new Band(32);
  readonly high: Band = new Band(8);
  private readonly qmf: QmfBuffer = new QmfBuffer();
  private mask: i32;

  constructor(readonly mode: i32 = 1) {
    super();
    this.mask = auxMask(mode);
  }

  reset(): void {
    this.low.reset(); this.high.reset();
    this.qmf.clear();
  }

  /** Sets the transmit QMF history to a signal's last 24 samples (oldest first), so that
   *  encoding can continue a signal this encoder did not see (concealment). */
  primeQmf(pcm: usize): void {
    memory.copy(this.qmf.base, pcm + 4, <usize>QMF_HISTORY << 1);
  }

  /** Encodes pairs of 16 kHz samples; `samples` must be even. Returns bytes, or -1. */
  encode(pcm: usize, samples: i32, out: usize): i32 {
    if (samples < 0 || (samples & 1) != 0) return -1;
    const qmf = this.qmf;
    const mask = this.mask;
    for (let done = 0; done < samples; done += QMF_CHUNK) {
      const n = min(QMF_CHUNK, samples - done);
      memory.copy(qmf.base + (<usize>QMF_HISTORY << 1), pcm + (<usize>done << 1), <usize>n << 1);
      const codes = out + <usize>(done >> 1);
      for (let k = 0; k < n >> 1; k++) {
        const w = qmf.base + (<usize>k << 2);
        const a = tapsA(w);
        const b = tapsB(w);
        // Transmit QMF outputs. Not limited to 15 bits: spandsp, the reference the tests hold
        // us to, leaves them as they are (SUBTRA saturates the difference anyway); only
        // clipped full-scale input tells the two apart (docs/codecs.md).
        const xl = (b + a) >> 14;
        const xh = (b - a) >> 14;
        store<u8>(codes + <usize>k, <u8>(this.encodeSubbands(xl, xh) & mask));
      }
      qmf.keepHistory(n);
    }
    return samples >> 1;
  }

  /** The two sub-band ADPCM coders on one pair of sub-band samples (the QMF by-passed, as
   *  Appendix II tests them). Returns the 8-bit codeword: 2 higher-band bits, 6 lower. */
  encodeSubbands(xl: i32, xh: i32): i32 {
    const low = this.low;
    // SUBTRA, QUANTL: find the decision interval of the difference's magnitude.
    const el = sat16(xl - low.s);
    const wd = el >= 0 ? el : -(el + 1);
    const det = low.det;
    // Smallest i in 1..29 with wd < (Q6[i] * det) >> 12, else 30. The levels only grow, so
    // count those at or below wd by binary lifting, testing Q6[j] * det < (wd + 1) << 12 (the
    // same comparison without the shift). Q6_SEARCH has sentinels past 29.
    const limit = (wd + 1) << 12;
    let below = 0;
    if (unchecked(Q6_SEARCH[16]) * det < limit) below = 16;
    if (unchecked(Q6_SEARCH[below + 8]) * det < limit) below += 8;
    if (unchecked(Q6_SEARCH[below + 4]) * det < limit) below += 4;
    if (unchecked(Q6_SEARCH[below + 2]) * det < limit) below += 2;
    if (unchecked(Q6_SEARCH[below + 1]) * det < limit) below += 1;
    const i = (below > 29 ? 29 : below) + 1; // the sentinels may count: both lie above level 29
    const ilow = el < 0 ? unchecked(ILN[i]) : unchecked(ILP[i]);
    // INVQAL, LOGSCL, SCALEL, block 4: the local decoder, on the 4-bit core of the code.
    const code4 = ilow >> 2;
    const dlow = (det * unchecked(QM4[code4])) >> 15;
    low.adaptLower(code4);
    low.update(dlow);

    const high = this.high;
    // SUBTRA, QUANTH
    const eh = sat16(xh - high.s);
    const wdh = eh >= 0 ? eh : -(eh + 1);
    const big = wdh >= (QUANTH_LEVEL * high.det) >> 12;
    const ihigh = eh < 0 ? (big ? 0 : 1) : (big ? 2 : 3);
    // INVQAH, LOGSCH, SCALEH, block 4
    const dhigh = (high.det * unchecked(QM2[ihigh])) >> 15;
    high.adaptHigher(ihigh);
    high.update(dhigh);
    return (ihigh << 6) | ilow;
  }
}

/** The decoder's ADPCM and QMF, without concealment (the G722Decoder wraps it). */
export class G722Core {
  readonly low: Band = new Band(32);
  readonly high: Band = new Band(8);
  private readonly qmf: QmfBuffer = new QmfBuffer();
  rlow: i32 = 0;
  rhigh: i32 = 0;

  constructor(public mode: i32 = 1) {}

  reset(): void {
    this.low.reset(); this.high.reset();
    this.qmf.clear();
    this.rlow = 0; this.rhigh = 0;
  }

  /** Decodes codewords into pairs of 16 kHz samples. */
  decode(codes: usize, bytes: i32, out: usize): void {
    const qmf = this.qmf;
    for (let done = 0; done < bytes; done += QMF_CHUNK >> 1) {
      const n = min(QMF_CHUNK >> 1, bytes - done);
      const pcm = out + (<usize>done << 2);
      for (let k = 0; k < n; k++) {
        this.decodeSubbands(<i32>load<u8>(codes + <usize>(done + k)));
        // Receive QMF: the sum and difference of the sub-bands enter the filter.
        const w = qmf.base + (<usize>k << 2);
        store<i16>(w, <i16>(this.rlow + this.rhigh), QMF_HISTORY << 1);
        store<i16>(w, <i16>(this.rlow - this.rhigh), (QMF_HISTORY << 1) + 2);
        store<i16>(pcm + (<usize>k << 2), <i16>sat16(tapsB(w) >> 11));
        store<i16>(pcm + (<usize>k << 2), <i16>sat16(tapsA(w) >> 11), 2);
      }
      qmf.keepHistory(n << 1);
    }
  }

  /** The two sub-band decoders on one codeword (QMF by-passed): sets rlow and rhigh. */
  @inline decodeSubbands(code: i32): void {
    const low = this.low;
    const mode = this.mode;
    // INVQBL by mode, RECONS, LIMIT: the output uses as many lower-band bits as the mode has.
    const c6 = code & 0x3f;
    const q = mode == 1 ? unchecked(QM6[c6]) : mode == 2 ? unchecked(QM5[c6 >> 1]) : unchecked(QM4[c6 >> 2]);
    const det = low.det;
    const rl = low.s + ((det * q) >> 15);
    this.rlow = rl > 16383 ? 16383 : rl < -16384 ? -16384 : rl;
    // INVQAL, LOGSCL, SCALEL, block 4: the predictor always follows the 4-bit core.
    const code4 = c6 >> 2;
    const dlow = (det * unchecked(QM4[code4])) >> 15;
    low.adaptLower(code4);
    low.update(dlow);

    const high = this.high;
    const ihigh = (code >> 6) & 3;
    const dhigh = (high.det * unchecked(QM2[ihigh])) >> 15;
    const rh = dhigh + high.s;
    this.rhigh = rh > 16383 ? 16383 : rh < -16384 ? -16384 : rh;
    high.adaptHigher(ihigh);
    high.update(dhigh);
  }
}

const CONCEAL_CHUNK: i32 = 64; // samples re-encoded at a time while concealing (4 ms)

/** G.722 decoder with packet loss concealment. A lost frame is concealed on the PCM signal
 *  (pitch repetition, firmware/audio/plc.ts) and then encoded and decoded through this
 *  decoder's own state, so the predictors and the QMF follow the signal the listener heard
 *  and the first good frame after the loss starts from a consistent state: no click. */
export class G722Decoder extends AudioDecoder {
  readonly core: G722Core;
  private readonly plc: Plc = new Plc(16000);
  private readonly shadow: G722Encoder = new G722Encoder(1);
  private readonly tail: StaticArray<i16> = new StaticArray<i16>(24); // last 24 output samples
  private readonly codes: StaticArray<u8> = new StaticArray<u8>(CONCEAL_CHUNK >> 1);
  private readonly scratch: StaticArray<i16> = new StaticArray<i16>(CONCEAL_CHUNK);
  private concealing: bool = false;

  constructor(mode: i32 = 1) {
    super();
    this.core = new G722Core(mode);
  }

  reset(): void {
    this.core.reset();
    this.plc.reset();
    this.shadow.reset();
    for (let i = 0; i < 24; i++) unchecked(this.tail[i] = 0);
    this.concealing = false;
  }

  /** Decodes `bytes` codewords into 2 * bytes samples; returns the sample count. */
  decode(payload: usize, bytes: i32, out: usize): i32 {
    if (bytes <= 0) return 0;
    this.core.decode(payload, bytes, out);
    const samples = bytes << 1;
    this.plc.received(out, samples);
    this.concealing = false;
    this.keepTail(out, samples);
    return samples;
  }

  conceal(out: usize, samples: i32): i32 {
    if (samples <= 0 || (samples & 1) != 0) return 0;
    this.plc.conceal(out, samples);
    // Follow the concealed signal with the decoder's state: encode it with an encoder that
    // starts from this decoder's predictors and recent output, decode the codes, discard the
    // result (the listener hears the concealment itself).
    if (!this.concealing) {
      this.shadow.low.copyFrom(this.core.low);
      this.shadow.high.copyFrom(this.core.high);
      this.shadow.primeQmf(changetype<usize>(this.tail));
      this.concealing = true;
    }
    for (let done = 0; done < samples; done += CONCEAL_CHUNK) {
      const n = min(CONCEAL_CHUNK, samples - done);
      const pairs = this.shadow.encode(out + (<usize>done << 1), n, changetype<usize>(this.codes));
      this.core.decode(changetype<usize>(this.codes), pairs, changetype<usize>(this.scratch));
    }
    // The shadow encoder's predictors now equal the decoder's (both ran the same codes).
    this.keepTail(out, samples);
    return samples;
  }

  private keepTail(pcm: usize, samples: i32): void {
    const n = min(samples, 24);
    const t = changetype<usize>(this.tail);
    if (n < 24) memory.copy(t, t + (<usize>n << 1), <usize>(24 - n) << 1);
    memory.copy(t + (<usize>(24 - n) << 1), pcm + (<usize>(samples - n) << 1), <usize>n << 1);
  }
}
