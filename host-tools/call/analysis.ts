// Measurements on call audio (16-bit PCM, any rate): the frequency and level of a test tone,
// and how far a recording lags its reference. Pure functions, no I/O: the call report and the
// interop tests read WAV files with host-tools/sim/wav.ts and hand the samples here.

/** Level in dB relative to full scale, where full scale is a square wave at ±32768 (so a full-scale sine is -3.01 dBFS). -Infinity for silence. */
export function rmsDbfs(samples: Int16Array): number {
  if (samples.length === 0) return -Infinity;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
  const rms = Math.sqrt(sum / samples.length);
  return rms === 0 ? -Infinity : 20 * Math.log10(rms / 32768);
}

/** In-place radix-2 FFT (inverse when `inverse`, unscaled); re/im lengths must be equal powers of two. */
export function fft(re: Float64Array, im: Float64Array, inverse = false): void {
  const n = re.length;
  if (im.length !== n || n === 0 || (n & (n - 1)) !== 0) throw new RangeError(`fft: length ${n} is not a power of two (or re/im differ)`);
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      let t = re[i]; re[i] = re[j]; re[j] = t;
      t = im[i]; im[i] = im[j]; im[j] = t;
    }
  }
  const sign = inverse ? 1 : -1;
  for (let len = 2; len <= n; len <<= 1) {
    const half = len >> 1;
    const step = (sign * 2 * Math.PI) / len;
    const wr = Math.cos(step);
    const wi = Math.sin(step);
    for (let start = 0; start < n; start += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < half; k++) {
        const a = start + k;
        const b = a + half;
        const tr = re[b] * cr - im[b] * ci;
        const ti = re[b] * ci + im[b] * cr;
        re[b] = re[a] - tr; im[b] = im[a] - ti;
        re[a] += tr; im[a] += ti;
        const ncr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = ncr;
      }
    }
  }
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p <<= 1;
  return p;
}

/** At most this many samples (from the middle) go into the tone's spectrum: 4 s at 16 kHz. */
const TONE_MAX_SAMPLES = 65536;

/**
 * Frequency (Hz) of the strongest tone: Hann-windowed, zero-padded spectrum, then the peak's
 * position refined by a parabola through the log magnitudes of the peak bin and its neighbours
 * (exact for a Gaussian peak, within a few hundredths of a bin for Hann). Ignores < 20 Hz (DC).
 */
export function toneFrequency(samples: Int16Array, rate: number): number {
  if (!(rate > 0)) throw new RangeError(`toneFrequency: rate must be positive, got ${rate}`);
  if (samples.length < 64) throw new RangeError(`toneFrequency: need at least 64 samples, got ${samples.length}`);
  const count = Math.min(samples.length, TONE_MAX_SAMPLES);
  const start = (samples.length - count) >> 1;
  // Four times zero-padded: the parabola then works on a smooth peak.
  const n = nextPow2(count) * 4;
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  let mean = 0;
  for (let i = 0; i < count; i++) mean += samples[start + i];
  mean /= count;
  for (let i = 0; i < count; i++) re[i] = (samples[start + i] - mean) * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (count - 1)));
  fft(re, im);
  const first = Math.max(1, Math.ceil((20 * n) / rate));
  const last = n / 2 - 1;
  let peak = first;
  let peakPower = -1;
  for (let k = first; k < last; k++) {
    const p = re[k] * re[k] + im[k] * im[k];
    if (p > peakPower) { peakPower = p; peak = k; }
  }
  if (peakPower <= 0) return NaN;
  const mag = (k: number) => Math.log(Math.max(re[k] * re[k] + im[k] * im[k], 1e-300));
  const a = mag(peak - 1);
  const b = mag(peak);
  const c = mag(peak + 1);
  const denom = a - 2 * b + c;
  const offset = denom < 0 ? (0.5 * (a - c)) / denom : 0;
  return ((peak + offset) * rate) / n;
}

export interface Alignment {
  /** recorded[i + delaySamples] lines up with reference[i]. */
  delaySamples: number;
  delayMs: number;
  /** Normalised cross-correlation at that delay, -1..1 (1: same waveform, any gain). */
  correlation: number;
}

/** Normalised correlation of reference[i] with recorded[i + delay] over their overlap; 0 when either is silent there. */
export function correlationAt(reference: Int16Array, recorded: Int16Array, delay: number): number {
  if (!Number.isInteger(delay)) throw new RangeError(`correlationAt: delay must be an integer, got ${delay}`);
  const from = Math.max(0, -delay);
  const to = Math.min(reference.length, recorded.length - delay);
  let dot = 0;
  let er = 0;
  let ec = 0;
  for (let i = from; i < to; i++) {
    const x = reference[i];
    const y = recorded[i + delay];
    dot += x * y;
    er += x * x;
    ec += y * y;
  }
  return er > 0 && ec > 0 ? dot / Math.sqrt(er * ec) : 0;
}

function prefixSquares(x: Int16Array): Float64Array {
  const p = new Float64Array(x.length + 1);
  for (let i = 0; i < x.length; i++) p[i + 1] = p[i] + x[i] * x[i];
  return p;
}

/**
 * The delay (in [minDelayMs, maxDelayMs]) at which `recorded` best matches `reference`, by
 * normalised cross-correlation: all lags at once through FFTs, each lag then normalised by the
 * energies of the two overlapping stretches. Lags whose overlap is under a quarter of the
 * shorter signal are not considered (a few samples of overlap correlate by chance).
 */
export function alignDelay(reference: Int16Array, recorded: Int16Array, rate: number, maxDelayMs: number, minDelayMs = 0): Alignment {
  if (!(rate > 0)) throw new RangeError(`alignDelay: rate must be positive, got ${rate}`);
  if (!(maxDelayMs >= minDelayMs)) throw new RangeError(`alignDelay: maxDelayMs (${maxDelayMs}) must be >= minDelayMs (${minDelayMs})`);
  if (reference.length === 0 || recorded.length === 0) throw new RangeError("alignDelay: both signals must have samples");
  const minLag = Math.ceil((minDelayMs * rate) / 1000);
  const maxLag = Math.floor((maxDelayMs * rate) / 1000);
  const n = nextPow2(reference.length + recorded.length);
  const xr = new Float64Array(n);
  const xi = new Float64Array(n);
  // Both real signals in one complex FFT: z = reference + j*recorded.
  for (let i = 0; i < reference.length; i++) xr[i] = reference[i];
  for (let i = 0; i < recorded.length; i++) xi[i] = recorded[i];
  fft(xr, xi);
  // Cross-spectrum conj(Ref(k)) * Rec(k); with Z = FFT(z): Ref(k) = (Z(k) + conj Z(-k)) / 2, Rec(k) = (Z(k) - conj Z(-k)) / 2j.
  const cr = new Float64Array(n);
  const ci = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const m = (n - k) & (n - 1);
    const ar = (xr[k] + xr[m]) / 2;
    const ai = (xi[k] - xi[m]) / 2;
    const br = (xi[k] + xi[m]) / 2;
    const bi = -(xr[k] - xr[m]) / 2;
    cr[k] = ar * br + ai * bi;
    ci[k] = ar * bi - ai * br;
  }
  fft(cr, ci, true);
  const pr = prefixSquares(reference);
  const pc = prefixSquares(recorded);
  const minOverlap = Math.max(1, Math.floor(Math.min(reference.length, recorded.length) / 4));
  let best: Alignment = { delaySamples: minLag, delayMs: (minLag * 1000) / rate, correlation: 0 };
  let bestCorr = -Infinity;
  for (let lag = minLag; lag <= maxLag; lag++) {
    const from = Math.max(0, -lag);
    const to = Math.min(reference.length, recorded.length - lag);
    if (to - from < minOverlap) continue;
    const er = pr[to] - pr[from];
    const ec = pc[to + lag] - pc[from + lag];
    if (er <= 0 || ec <= 0) continue;
    const dot = cr[((lag % n) + n) % n] / n;
    const corr = dot / Math.sqrt(er * ec);
    if (corr > bestCorr) {
      bestCorr = corr;
      best = { delaySamples: lag, delayMs: (lag * 1000) / rate, correlation: corr };
    }
  }
  if (bestCorr === -Infinity) throw new RangeError(`alignDelay: no lag in ${minDelayMs}..${maxDelayMs} ms overlaps enough non-silent signal`);
  // The FFT's rounding error is tiny, but the reported figure is recomputed exactly.
  best.correlation = correlationAt(reference, recorded, best.delaySamples);
  return best;
}

// ---- test signals ---------------------------------------------------------------------------

/** A sine of `frequency` Hz whose RMS level is `levelDbfs` (as rmsDbfs measures it). */
export function testTone(frequency: number, rate: number, seconds: number, levelDbfs: number): Int16Array {
  const amplitude = Math.SQRT2 * 32768 * 10 ** (levelDbfs / 20);
  if (!(amplitude <= 32767)) throw new RangeError(`testTone: ${levelDbfs} dBFS does not fit 16 bits (at most -3.01 dBFS)`);
  const out = new Int16Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * frequency * i) / rate));
  return out;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296; };
}

/**
 * Deterministic speech-like audio for delay measurements: syllables of 120-300 ms, each a
 * voiced pitch (90-250 Hz, twelve harmonics) or a fricative hiss, under a half-sine envelope,
 * with short pauses between. Unlike a steady tone it correlates at one lag only.
 */
export function speechLike(rate: number, seconds: number, seed = 1): Int16Array {
  const random = lcg(seed);
  const out = new Int16Array(Math.round(rate * seconds));
  let i = 0;
  while (i < out.length) {
    const len = Math.round(rate * (0.12 + 0.18 * random()));
    const voiced = random() < 0.7;
    const pitch = 90 + 160 * random();
    for (let k = 0; k < len && i + k < out.length; k++) {
      const envelope = Math.sin((Math.PI * k) / len);
      let v = 0;
      if (voiced) for (let h = 1; h <= 12; h++) v += Math.sin((2 * Math.PI * pitch * h * (i + k)) / rate) / h;
      else v = (random() * 2 - 1) * 1.5;
      out[i + k] = Math.round(6000 * envelope * v);
    }
    i += len + Math.round(rate * 0.08 * random());
  }
  return out;
}

// ---- delay through a timed pipeline -------------------------------------------------------

/** Audio moving in frames, each frame stamped with the moment it was handed in or out (ms, any one clock). */
export interface TimedFrames {
  samples: Int16Array;
  frameSize: number;
  frameTimesMs: ArrayLike<number>;
}

export interface PipelineDelay {
  /** output[i] carries input[i - contentLagSamples] (codec delay, held or lost frames), over the whole recording. */
  contentLagSamples: number;
  /**
   * How well the output carries the input, 0..1: each segment's correlation at its own lag,
   * averaged with the input's energy there as weight (a pause weighs nothing), so a frame the
   * receiver held back (its buffer grew by one) costs the segment it fell in, not every sample
   * after it.
   */
  correlation: number;
  /** Mean over every compared sample of (time its output frame left) - (time its input frame came in). */
  meanMs: number;
  /** The same per frame: the smallest and largest. */
  minMs: number;
  maxMs: number;
  samplesCompared: number;
  /** Segments whose lag differs from the one before: each is a frame held, dropped or concealed. */
  lagChanges: number;
}

/** Correlation of output[from, to) with input[i - lag] at every lag in [lo, hi]: the best. */
function bestLagIn(input: Int16Array, output: Int16Array, from: number, to: number, lo: number, hi: number): { lag: number; correlation: number; energy: number } {
  let best = { lag: lo, correlation: -Infinity, energy: 0 };
  for (let lag = lo; lag <= hi; lag++) {
    const a = Math.max(from, lag);
    const b = Math.min(to, input.length + lag);
    if (b - a < (to - from) / 2) continue;
    let dot = 0;
    let ei = 0;
    let eo = 0;
    for (let i = a; i < b; i++) {
      const x = input[i - lag];
      const y = output[i];
      dot += x * y;
      ei += x * x;
      eo += y * y;
    }
    const c = ei > 0 && eo > 0 ? dot / Math.sqrt(ei * eo) : 0;
    if (c > best.correlation) best = { lag, correlation: c, energy: ei };
  }
  return best;
}

export interface ContentTrack {
  /** The lag of the whole recording: output[i] carries input[i - lag] best overall. */
  lag: number;
  /** Each segment's correlation at its own lag, weighted by the input's energy there (0..1). */
  correlation: number;
  /** Segments whose lag differs from the one before: each is a frame held, dropped or concealed. */
  lagChanges: number;
  /** The output in segments, each with the lag it follows. */
  segments: { from: number; to: number; lag: number }[];
}

/**
 * How well `output` carries `input`, followed segment by segment: the lag of the whole
 * recording first, then each `segmentSamples` of output searched within `trackMs` of the lag
 * before it. A receiver that holds a late frame back shifts every later sample by a frame; one
 * global lag would call all of them unmatched, this costs only the segment it happened in.
 */
export function trackContent(input: Int16Array, output: Int16Array, rate: number, maxLagMs: number, minLagMs = -maxLagMs, segmentSamples = Math.round(rate / 5), trackMs = 60): ContentTrack {
  const whole = alignDelay(input, output, rate, maxLagMs, minLagMs);
  const track = Math.round((trackMs * rate) / 1000);
  const minLag = Math.ceil((minLagMs * rate) / 1000);
  const maxLag = Math.floor((maxLagMs * rate) / 1000);
  const segments: ContentTrack["segments"] = [];
  let lag = whole.delaySamples;
  let corrSum = 0;
  let weight = 0;
  let settled = false;
  let lagChanges = 0;
  for (let from = 0; from < output.length; from += segmentSamples) {
    const to = Math.min(output.length, from + segmentSamples);
    const found = bestLagIn(input, output, from, to, Math.max(minLag, lag - track), Math.min(maxLag, lag + track));
    if (found.correlation === -Infinity) continue; // this stretch of output has no input under it
    // Move only for a clearly better match: a poor one (a pause, a concealed stretch) says nothing
    // about the lag, and voiced speech also matches itself a pitch period or two away.
    const here = settled ? bestLagIn(input, output, from, to, lag, lag) : found;
    const chosen = !settled ? found : found.correlation >= 0.7 && found.correlation > here.correlation + 0.2 ? found : here;
    if (chosen.correlation >= 0.5 || settled) {
      if (chosen.lag !== lag && settled) lagChanges++;
      lag = chosen.lag;
      settled = true; // the first good match may differ from the whole recording's lag: not a change
    }
    corrSum += Math.max(0, chosen.correlation) * chosen.energy;
    weight += chosen.energy;
    segments.push({ from, to, lag });
  }
  return { lag: whole.delaySamples, correlation: weight > 0 ? corrSum / weight : 0, lagChanges, segments };
}

/**
 * One-way delay of a pipeline that takes audio in frames and gives it out in frames (a call:
 * the sender's source to the receiver's decoder output), from what can be observed outside it:
 * the content of both sides, aligned by cross-correlation (trackContent, segments of 200 ms),
 * and the moment each frame crossed each side. A sample is taken to enter with its input frame
 * and to leave with its output frame, so the delay of sample i of the output is
 * out.frameTimes[i / F] - in.frameTimes[(i - lag) / F]; the mean is over all samples both
 * sides timed. The convention (frame hand-over, not the sample's own instant) is the one a
 * board's mic and speaker frames follow too.
 */
export function pipelineDelay(input: TimedFrames, output: TimedFrames, rate: number, maxLagMs: number, minLagMs = -maxLagMs): PipelineDelay {
  const inFrames = Math.min(input.frameTimesMs.length, Math.floor(input.samples.length / input.frameSize));
  const outFrames = Math.min(output.frameTimesMs.length, Math.floor(output.samples.length / output.frameSize));
  if (inFrames === 0 || outFrames === 0) throw new RangeError("pipelineDelay: both sides need at least one timed frame");
  const segment = Math.max(1, Math.round(rate / 5 / output.frameSize)) * output.frameSize;
  const t = trackContent(input.samples.subarray(0, inFrames * input.frameSize), output.samples.subarray(0, outFrames * output.frameSize), rate, maxLagMs, minLagMs, segment);
  let sum = 0;
  let count = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const { from, to, lag } of t.segments) {
    for (let i = from; i < to; i++) {
      const src = i - lag;
      if (src < 0) continue;
      const inFrame = Math.floor(src / input.frameSize);
      if (inFrame >= inFrames) break;
      const d = output.frameTimesMs[Math.floor(i / output.frameSize)] - input.frameTimesMs[inFrame];
      sum += d;
      count++;
      if (d < min) min = d;
      if (d > max) max = d;
    }
  }
  if (count === 0) throw new RangeError("pipelineDelay: the aligned input and output do not overlap");
  return { contentLagSamples: t.lag, correlation: t.correlation, meanMs: sum / count, minMs: min, maxMs: max, samplesCompared: count, lagChanges: t.lagChanges };
}
