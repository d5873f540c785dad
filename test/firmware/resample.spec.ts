// 2:1 rate conversion (firmware/audio/resample.ts): levels kept in the passband, aliases and
// images suppressed, frames joined without a seam.
import { Decimator, Interpolator } from "../../firmware/audio/resample";

const N: i32 = 320;
const input = new StaticArray<i16>(N * 50);
const output = new StaticArray<i16>(N * 100);

function tone(hz: f64, rate: f64, n: i32, amplitude: f64): void {
  for (let i = 0; i < n; i++) input[i] = <i16>Math.round(amplitude * Math.sin(2 * Math.PI * hz * <f64>i / rate));
}

function rms(a: StaticArray<i16>, from: i32, to: i32): f64 {
  let s: f64 = 0;
  for (let i = from; i < to; i++) s += <f64>a[i] * <f64>a[i];
  return Math.sqrt(s / <f64>(to - from));
}

function db(x: f64): f64 { return 20 * Math.log10(x); }

describe("decimator 16 kHz -> 8 kHz", () => {
  it("keeps a 1 kHz tone's level, frame after frame", () => {
    const d = new Decimator(N);
    tone(1000, 16000, N * 20, 10000);
    for (let f = 0; f < 20; f++) expect(d.process(changetype<usize>(input) + <usize>(f * N * 2), N, changetype<usize>(output) + <usize>(f * N))).toBe(N / 2);
    const level = db(rms(output, 200, 20 * N / 2) / (10000 / Math.SQRT2));
    expect(Math.abs(level)).toBeLessThan(0.1, "passband level");
  });

  it("suppresses what would alias: a 6 kHz tone", () => {
    const d = new Decimator(N);
    tone(6000, 16000, N * 20, 10000);
    for (let f = 0; f < 20; f++) d.process(changetype<usize>(input) + <usize>(f * N * 2), N, changetype<usize>(output) + <usize>(f * N));
    expect(db(rms(output, 200, 20 * N / 2) / (10000 / Math.SQRT2))).toBeLessThan(-55);
  });

  it("refuses odd or oversize frames", () => {
    const d = new Decimator(N);
    expect(d.process(changetype<usize>(input), 321, changetype<usize>(output))).toBe(0);
    expect(d.process(changetype<usize>(input), 322, changetype<usize>(output))).toBe(0);
    expect(d.process(changetype<usize>(input), 0, changetype<usize>(output))).toBe(0);
  });
});

describe("interpolator 8 kHz -> 16 kHz", () => {
  it("keeps a 1 kHz tone's level and suppresses its 7 kHz image", () => {
    const u = new Interpolator(N / 2);
    tone(1000, 8000, N * 10, 10000);
    for (let f = 0; f < 20; f++) expect(u.process(changetype<usize>(input) + <usize>(f * N), N / 2, changetype<usize>(output) + <usize>(f * N * 2))).toBe(N);
    expect(Math.abs(db(rms(output, 400, 20 * N) / (10000 / Math.SQRT2)))).toBeLessThan(0.1);
    // The image: subtract the ideal 16 kHz tone (delayed 14 samples) and measure what is left.
    let err: f64 = 0;
    for (let i = 400; i < 20 * N; i++) {
      const ideal = 10000 * Math.sin(2 * Math.PI * 1000 * <f64>(i - 14) / 16000);
      err += (<f64>output[i] - ideal) * (<f64>output[i] - ideal);
    }
    expect(db(Math.sqrt(err / <f64>(20 * N - 400)) / (10000 / Math.SQRT2))).toBeLessThan(-50, "what is not the tone");
  });

  it("a round trip 16 -> 8 -> 16 kHz of a 500 Hz tone stays within 0.2 dB", () => {
    const d = new Decimator(N), u = new Interpolator(N / 2);
    tone(500, 16000, N * 20, 8000);
    const mid = new StaticArray<i16>(N / 2);
    for (let f = 0; f < 20; f++) {
      d.process(changetype<usize>(input) + <usize>(f * N * 2), N, changetype<usize>(mid));
      u.process(changetype<usize>(mid), N / 2, changetype<usize>(output) + <usize>(f * N * 2));
    }
    expect(Math.abs(db(rms(output, 800, 20 * N) / (8000 / Math.SQRT2)))).toBeLessThan(0.2);
  });
});
