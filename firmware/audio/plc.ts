// Packet loss concealment for the voice decoders: pitch waveform substitution after the method
// of ITU-T G.711 Appendix I, written from its description (not from its reference code).
//
//   - History: the last 48.75 ms of output (3.25 x the longest pitch period), good or concealed.
//   - At the first lost sample, the pitch period P (5..15 ms) is the lag that maximises the
//     normalised cross-correlation C(lag) / sqrt(E(lag)) between the last 20 ms and the 20 ms
//     `lag` earlier: coarse on a 2:1 decimated signal (every other sample and lag), then refined
//     at +-1 at full rate. At 16 kHz the history is first decimated 2:1 (pair averages) and that
//     8 kHz signal is searched exactly as at 8 kHz, then refined +-1 at 16 kHz: the search costs
//     about the same at both rates. Then an octave check of ours: the coarse grid holds only even
//     lags, so an odd period can lose to its multiple; P/3 or P/2 is taken instead when its
//     normalised correlation is at least 0.85 of P's (as G.729's open-loop search does).
//   - The loss is filled by repeating the last pitch period. Each jump back by the cycle length
//     is smoothed by a 1/4 pitch period overlap-add (triangular) with the signal one cycle
//     earlier. After 10 ms of loss the cycle grows to the last 2 periods, after 20 ms to 3 (less
//     buzzy), each switch a 1/4 period overlap-add to the same phase one period older.
//   - The output is attenuated from 10 ms on, linearly by 20% per 10 ms, so it is silent from
//     60 ms on.
//   - At the first good frame the synthetic signal goes on and is overlap-added (linear
//     cross-fade) with it over 4 ms, plus 4 ms for each further 10 ms of loss, at most 10 ms.
//     A cross-fade longer than the frame goes on into the next received frames.
//
// One difference: Appendix I delays the output by 3.75 ms so that its first overlap-add can
// rewrite the last 1/4 period before the loss. Our decoders hand each good frame on at once
// (received() leaves it untouched), so that overlap-add is done where the cycle wraps instead,
// and the entry into the loss is smoothed by starting the pitch copy offset to meet the last
// real sample and fading the offset out over P/4.
//
// All durations are in samples at the rate given to the constructor: 8000 or 16000; any other
// rate is treated as 8000 (no trap at start-up). Integer arithmetic only: Q15 gains, i64
// correlation sums (a 20 ms window of 16-bit products at 16 kHz needs 40 bits with the sign).
//
// State, all allocated in the constructor:
//   8 kHz:  history 390 x i16 = 780 bytes, pitch buffer 780                        = 1,560
//   16 kHz: history 780 x i16 = 1,560, pitch buffer 1,560, decimated 280 x i16 560  = 3,680
//   plus 88 bytes of fields; with headers and alignment one Plc takes 1,744 bytes of heap at
//   8 kHz and 3,872 at 16 kHz (measured with the stub runtime, test/bench/plc.ts), and the
//   module 8 bytes of static data (lastScore).
// Any frame length works (the work is streamed sample by sample, no frame buffer); a length
// <= 0, or one whose buffer would run past linear memory, is refused and nothing is touched.

const ONE: i32 = 32768; // 1.0 in Q15

/** a (1 - i/n) + b i/n, rounded; a convex mix of two i16 values stays in i16. */
@inline function mix(a: i32, b: i32, i: i32, n: i32): i32 {
  const w = (i << 15) / n;
  return (a * (ONE - w) + b * w + 16384) >> 15;
}

/** floor(sqrt(v)), bit by bit. */
function isqrt(v: u64): u64 {
  let r: u64 = 0;
  let bit: u64 = <u64>1 << 62;
  while (bit > v) bit >>= 2;
  while (bit != 0) {
    if (v >= r + bit) { v -= r + bit; r = (r >> 1) + bit; } else r >>= 1;
    bit >>= 2;
  }
  return r;
}

@inline function at(x: usize, i: i32): i64 { return <i64>load<i16>(x + (<usize>i << 1)); }

let lastScore: i64 = 0; // bestLag's score for the lag it returned

/** The lag in lo..hi (every `step`-th) that maximises C/sqrt(E) over the n samples of x that end
 *  at index `end` (exclusive), taking every `step`-th sample: C = sum x[k] x[k-lag],
 *  E = sum x[k-lag]^2. The caller guarantees end - n - hi >= 1. Ties keep the shorter lag. */
function bestLag(x: usize, end: i32, n: i32, lo: i32, hi: i32, step: i32): i32 {
  const s0 = end - n;
  const m = n / step; // terms per sum
  let e: i64 = 0;
  for (let j = 0; j < m; j++) { const v = at(x, s0 - lo + j * step); e += v * v; }
  let best = lo;
  let bestScore: i64 = i64.MIN_VALUE;
  for (let lag = lo; lag <= hi; lag += step) {
    let c: i64 = 0;
    for (let j = 0; j < m; j++) c += at(x, s0 + j * step) * at(x, s0 - lag + j * step);
    // Scaled by 2^12 so that a quiet window still ranks lags finely: |c| < 2^39, so < 2^51.
    const root = isqrt(<u64>e);
    const score: i64 = root == 0 ? 0 : (c << 12) / <i64>root;
    if (score > bestScore) { bestScore = score; best = lag; }
    if (lag + step > hi) break;
    // Slide the energy to lag + step: one older sample in, the newest one out.
    const vin = at(x, s0 - lag - step);
    const vout = at(x, s0 - lag + (m - 1) * step);
    e += vin * vin - vout * vout;
  }
  lastScore = bestScore;
  return best;
}

/** Pitch search of G.711 Appendix I at 8 kHz units: coarse every 2nd sample and lag, refine +-1. */
function searchPitch(x: usize, end: i32, n: i32, lo: i32, hi: i32): i32 {
  const coarse = bestLag(x, end, n, lo, hi, 2);
  return bestLag(x, end, n, max(lo, coarse - 1), min(hi, coarse + 1), 1);
}

/** Octave check (ours, as in G.729's open-loop search): the coarse grid holds only even lags,
 *  so an odd period can lose to its exact multiple. Prefer best/3, else best/2 (refined +-1),
 *  when its normalised correlation is at least 0.85 of the best one's. Scores of one window
 *  compare as correlation coefficients: the window's own energy is common to all. */
function preferShorter(x: usize, end: i32, n: i32, lo: i32, best: i32): i32 {
  bestLag(x, end, n, best, best, 1);
  const score = lastScore;
  for (let d = 3; d >= 2; d--) {
    const c = best / d;
    if (c < lo) continue;
    const lag = bestLag(x, end, n, max(lo, c - 1), c + 1, 1);
    if (lastScore > 0 && lastScore * 20 >= score * 17) return lag;
  }
  return best;
}

export class Plc {
  private readonly sampleRate: i32;
  private readonly t10: i32; // 10 ms in samples
  private readonly t4: i32; // 4 ms
  private readonly pMin: i32; // 5 ms: shortest pitch period searched
  private readonly pMax: i32; // 15 ms: longest
  private readonly win: i32; // 20 ms correlation window
  private readonly len: i32; // 3.25 pMax: history and pitch buffer length

  private readonly hist: StaticArray<i16>; // last len output samples, newest last
  private readonly pbuf: StaticArray<i16>; // hist as it was at the loss start
  private readonly dec: StaticArray<i16>; // 16 kHz only: the 2:1 decimated search span

  private lost: i32 = 0; // frames concealed in this loss run
  private inLoss: bool = false;
  private t: i32 = 0; // synthetic samples made in this run (stops counting at 60 ms)
  private pitch: i32 = 0;
  private ov: i32 = 1; // pitch / 4: overlap-add length
  private r: i32 = 0; // read cursor in pbuf...
  private seg: i32 = 0; // ...cycling over its last seg samples (1, 2 or 3 periods)
  private rOld: i32 = 0; // the cursor being faded out after a switch to more periods
  private segOld: i32 = 0;
  private fade: i32 = 0; // samples left of that fade
  private entry: i32 = 0; // step between the last real sample and the pitch copy, faded out over P/4
  private mergeLen: i32 = 0; // cross-fade into the first good frames after a loss
  private mergePos: i32 = 0;

  constructor(sampleRate: i32) {
    const rate = sampleRate == 16000 ? 16000 : 8000;
    const pMax = rate * 3 / 200;
    const win = rate / 50;
    const len = pMax * 13 / 4; // 390 or 780
    this.hist = new StaticArray<i16>(len);
    this.pbuf = new StaticArray<i16>(len);
    this.dec = new StaticArray<i16>(rate == 16000 ? (win + pMax) >> 1 : 0);
    this.sampleRate = rate;
    this.t10 = rate / 100;
    this.t4 = rate / 250;
    this.pMin = rate / 200;
    this.pMax = pMax;
    this.win = win;
    this.len = len;
  }

  /** Diagnostics: frames concealed in the current loss run (0 once a good frame arrives). */
  get lostFrames(): i32 { return this.lost; }

  reset(): void {
    memory.fill(changetype<usize>(this.hist), 0, <usize>this.len << 1);
    this.lost = 0;
    this.inLoss = false;
    this.t = 0;
    this.fade = 0;
    this.mergeLen = 0;
    this.mergePos = 0;
  }

  /** After decoding a good frame: remembers it as history, and if frames were concealed
   *  just before, cross-fades the start of this frame from the concealment (in place). */
  received(pcm: usize, samples: i32): void {
    if (!fits(pcm, samples)) return;
    if (this.inLoss) {
      // 4 ms for a loss of up to 10 ms, 4 ms more per further 10 ms, at most 10 ms.
      const tens = (this.t + this.t10 - 1) / this.t10;
      this.mergeLen = min(this.t4 * max(tens, 1), this.t10);
      this.mergePos = 0;
      this.inLoss = false;
    }
    this.lost = 0;
    if (this.mergePos < this.mergeLen) {
      const n = min(samples, this.mergeLen - this.mergePos);
      for (let i = 0; i < n; i++) {
        const p = pcm + (<usize>i << 1);
        const good = <i32>load<i16>(p);
        store<i16>(p, <i16>mix(this.next(), good, ++this.mergePos, this.mergeLen + 1));
      }
    }
    this.remember(pcm, samples);
  }

  /** Fills a lost frame of `samples` i16 samples at `out` with pitch-repeated, attenuated audio. */
  conceal(out: usize, samples: i32): void {
    if (!fits(out, samples)) return;
    if (!this.inLoss) this.begin();
    for (let i = 0; i < samples; i++) store<i16>(out + (<usize>i << 1), <i16>this.next());
    if (this.lost < i32.MAX_VALUE) this.lost++;
    this.remember(out, samples);
  }

  /** First lost sample: find the pitch, freeze the history as the pitch buffer. */
  private begin(): void {
    const h = changetype<usize>(this.hist);
    let p: i32;
    if (this.sampleRate == 16000) {
      // Decimate the span the search reads (20 ms + 15 ms) 2:1, pair averages (a crude
      // low-pass against aliasing), search it as 8 kHz, then refine +-1 at 16 kHz.
      const d = changetype<usize>(this.dec);
      const dn = this.dec.length;
      const from = this.len - (dn << 1);
      for (let i = 0; i < dn; i++) {
        const s = <i32>load<i16>(h + (<usize>(from + 2 * i) << 1)) + <i32>load<i16>(h + (<usize>(from + 2 * i + 1) << 1));
        store<i16>(d + (<usize>i << 1), <i16>(s >> 1));
      }
      const p8 = searchPitch(d, dn, this.win >> 1, this.pMin >> 1, this.pMax >> 1);
      p = bestLag(h, this.len, this.win, max(this.pMin, 2 * p8 - 1), min(this.pMax, 2 * p8 + 1), 1);
    } else {
      p = searchPitch(h, this.len, this.win, this.pMin, this.pMax);
    }
    p = preferShorter(h, this.len, this.win, this.pMin, p);
    this.pitch = p;
    this.ov = max(1, p >> 2);
    memory.copy(changetype<usize>(this.pbuf), h, <usize>this.len << 1);
    this.r = this.len - p; // the first synthetic sample is the one a period before the loss
    // The copy a period back need not meet the last real sample: start it offset by their
    // difference (so it steps from the last real sample as the signal stepped a period
    // earlier) and fade that offset out over P/4. Appendix I smooths this entry with an
    // overlap-add into the last good 3.75 ms, which needs every good frame delayed; this
    // does not.
    this.entry = <i32>unchecked(this.hist[this.len - 1]) - <i32>unchecked(this.hist[this.len - 1 - p]);
    this.seg = p;
    this.fade = 0;
    this.t = 0;
    this.mergeLen = 0; // a loss during a cross-fade abandons it
    this.mergePos = 0;
    this.inLoss = true;
  }

  /** The next synthetic sample: cycle, period switches, attenuation. */
  private next(): i32 {
    const t = this.t;
    const t10 = this.t10;
    if (t >= 6 * t10) return 0; // 60 ms: silence from here on
    if (t == t10 || t == 2 * t10) {
      // One period more in the cycle: jump to the same phase one period older, fading over P/4
      // (at most 3.75 ms: over long before the next switch).
      this.rOld = this.r;
      this.segOld = this.seg;
      this.r -= this.pitch;
      this.seg += this.pitch;
      this.fade = this.ov;
    }
    let v = this.tap(this.r, this.seg);
    if (t < this.ov) v += (this.entry * (this.ov - t)) / this.ov;
    this.r = this.step(this.r, this.seg);
    if (this.fade > 0) {
      const old = this.tap(this.rOld, this.segOld);
      this.rOld = this.step(this.rOld, this.segOld);
      v = mix(old, v, this.ov + 1 - this.fade, this.ov + 1);
      this.fade--;
    }
    if (t >= t10) {
      // 1.0 at 10 ms down to 0 at 60 ms: 20% per 10 ms.
      const gain = ((6 * t10 - t) << 15) / (5 * t10);
      v = (v * gain + 16384) >> 15;
    }
    this.t = t + 1;
    return v;
  }

  /** The pitch buffer at cursor r of a seg-long cycle. In the last P/4 samples before the cycle
   *  wraps, it is cross-faded towards the samples one cycle earlier, which the wrap jumps to:
   *  the jump then lands where the signal already is. */
  @inline private tap(r: i32, seg: i32): i32 {
    const b = changetype<usize>(this.pbuf);
    const v = <i32>load<i16>(b + (<usize>r << 1));
    const zone = this.len - this.ov;
    if (r < zone) return v;
    return mix(v, <i32>load<i16>(b + (<usize>(r - seg) << 1)), r - zone + 1, this.ov + 1);
  }

  @inline private step(r: i32, seg: i32): i32 { return r + 1 == this.len ? this.len - seg : r + 1; }

  /** Appends n output samples to the history, keeping the last len. */
  private remember(p: usize, n: i32): void {
    const h = changetype<usize>(this.hist);
    const len = this.len;
    if (n >= len) {
      memory.copy(h, p + (<usize>(n - len) << 1), <usize>len << 1);
    } else {
      memory.copy(h, h + (<usize>n << 1), <usize>(len - n) << 1);
      memory.copy(h + (<usize>(len - n) << 1), p, <usize>n << 1);
    }
  }
}

/** A frame the caller may hand us: at least one sample, all of it inside linear memory. */
function fits(p: usize, samples: i32): bool {
  if (samples <= 0) return false;
  return <u64>p + (<u64>samples << 1) <= (<u64>memory.size() << 16);
}
