// 2:1 rate conversion between the board's 16 kHz audio and G.711's 8 kHz, with one half-band
// FIR (31 taps, Blackman-windowed sinc, Q15): every other coefficient is zero and the centre is
// 1/2, so each output costs 7 multiplies. Passband flat to about 3.4 kHz, stopband from 4.6 kHz
// down by ~70 dB. Delay at 16 kHz: 13 samples down, 14 up. Nothing allocated after construction.

// The non-zero taps at odd distances 1, 3, ..., 13 from the centre.
const TAPS: StaticArray<i32> = [10244, -2953, 1314, -587, 233, -73, 13];
const HALF: i32 = 7;           // TAPS.length
const DECIMATE_HISTORY: i32 = 26;
const INTERPOLATE_HISTORY: i32 = 13;

@inline function sat16(v: i32): i16 { return <i16>(v > 32767 ? 32767 : v < -32768 ? -32768 : v); }

/** 16 kHz in, 8 kHz out. */
export class Decimator {
  private readonly work: StaticArray<i16>;

  constructor(readonly maxInput: i32) { this.work = new StaticArray<i16>(DECIMATE_HISTORY + maxInput); }

  /** Converts n samples (even, at most maxInput) at input into n/2 at output; returns n/2 or 0. */
  process(input: usize, n: i32, output: usize): i32 {
    if (n <= 0 || n > this.maxInput || (n & 1) != 0) return 0;
    const w = changetype<usize>(this.work);
    memory.copy(w + (<usize>DECIMATE_HISTORY << 1), input, <usize>n << 1);
    const m = n >> 1;
    for (let o = 0; o < m; o++) {
      const c = w + (<usize>(2 * o + 13) << 1);
      let acc: i32 = <i32>load<i16>(c) << 14; // the centre tap, 1/2 in Q15
      for (let k = 0; k < HALF; k++) {
        const d = <usize>(2 * k + 1) << 1;
        acc += unchecked(TAPS[k]) * (<i32>load<i16>(c - d) + <i32>load<i16>(c + d));
      }
      store<i16>(output + (<usize>o << 1), sat16((acc + 16384) >> 15));
    }
    memory.copy(w, w + (<usize>n << 1), <usize>DECIMATE_HISTORY << 1);
    return m;
  }

  reset(): void { memory.fill(changetype<usize>(this.work), 0, <usize>DECIMATE_HISTORY << 1); }
}

/** 8 kHz in, 16 kHz out. */
export class Interpolator {
  private readonly work: StaticArray<i16>;

  constructor(readonly maxInput: i32) { this.work = new StaticArray<i16>(INTERPOLATE_HISTORY + maxInput); }

  /** Converts n samples (at most maxInput) at input into 2n at output; returns 2n or 0. */
  process(input: usize, n: i32, output: usize): i32 {
    if (n <= 0 || n > this.maxInput) return 0;
    const w = changetype<usize>(this.work);
    memory.copy(w + (<usize>INTERPOLATE_HISTORY << 1), input, <usize>n << 1);
    for (let i = 0; i < n; i++) {
      const c = w + (<usize>(i + 6) << 1);
      // Zero-stuffing doubles the rate; the filter's gain of 2 restores the level, so the
      // samples on the input grid pass through and the ones between are interpolated.
      let acc: i32 = 0;
      for (let k = 0; k < HALF; k++) acc += unchecked(TAPS[k]) * (<i32>load<i16>(c - (<usize>k << 1)) + <i32>load<i16>(c + (<usize>(k + 1) << 1)));
      store<i16>(output + (<usize>(2 * i) << 1), load<i16>(c));
      store<i16>(output + (<usize>(2 * i + 1) << 1), sat16((acc + 8192) >> 14));
    }
    memory.copy(w, w + (<usize>n << 1), <usize>INTERPOLATE_HISTORY << 1);
    return 2 * n;
  }

  reset(): void { memory.fill(changetype<usize>(this.work), 0, <usize>INTERPOLATE_HISTORY << 1); }
}
