// host-tools/call/analysis.ts on signals whose answers are known by construction: tones of a
// chosen frequency and amplitude, white noise and a speech-like signal (voiced harmonics
// under a syllable envelope, with noisy fricatives) delayed by a chosen number of samples.

import assert from "node:assert/strict";
import { test } from "node:test";
import { alignDelay, correlationAt, fft, pipelineDelay, rmsDbfs, speechLike, testTone, toneFrequency } from "../../host-tools/call/analysis.ts";

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296; };
}

function tone(freq: number, rate: number, seconds: number, amplitude: number, phase = 0.3): Int16Array {
  const out = new Int16Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * freq * i) / rate + phase));
  return out;
}

function noise(count: number, amplitude: number, seed: number): Int16Array {
  const r = lcg(seed);
  const out = new Int16Array(count);
  for (let i = 0; i < count; i++) out[i] = Math.round((r() * 2 - 1) * amplitude);
  return out;
}

function delayed(x: Int16Array, delay: number, gain = 1, extraNoise?: Int16Array): Int16Array {
  const out = new Int16Array(x.length + Math.max(0, delay));
  for (let i = 0; i < x.length; i++) {
    const j = i + delay;
    if (j >= 0 && j < out.length) out[j] = Math.round(x[i] * gain);
  }
  if (extraNoise !== undefined) for (let j = 0; j < out.length && j < extraNoise.length; j++) out[j] = Math.max(-32768, Math.min(32767, out[j] + extraNoise[j]));
  return out;
}

test("rmsDbfs: a full-scale sine is -3.01 dBFS, half of it 6.02 dB lower, a square 0 dBFS, silence -Infinity", () => {
  assert.ok(Math.abs(rmsDbfs(tone(1000, 16000, 1, 32767)) - -3.0103) < 0.01);
  assert.ok(Math.abs(rmsDbfs(tone(1000, 16000, 1, 16384)) - -9.031) < 0.01);
  const square = new Int16Array(1000).map((_, i) => (i % 2 === 0 ? -32768 : 32767));
  assert.ok(Math.abs(rmsDbfs(square)) < 0.001);
  assert.equal(rmsDbfs(new Int16Array(100)), -Infinity);
  assert.equal(rmsDbfs(new Int16Array(0)), -Infinity);
});

test("fft matches a direct DFT and inverts back (scaled by n)", () => {
  const n = 32;
  const r = lcg(7);
  const xr = Float64Array.from({ length: n }, () => r() - 0.5);
  const xi = Float64Array.from({ length: n }, () => r() - 0.5);
  const re = xr.slice();
  const im = xi.slice();
  fft(re, im);
  for (let k = 0; k < n; k++) {
    let sr = 0;
    let si = 0;
    for (let t = 0; t < n; t++) {
      const a = (-2 * Math.PI * k * t) / n;
      sr += xr[t] * Math.cos(a) - xi[t] * Math.sin(a);
      si += xr[t] * Math.sin(a) + xi[t] * Math.cos(a);
    }
    assert.ok(Math.abs(re[k] - sr) < 1e-9 && Math.abs(im[k] - si) < 1e-9, `bin ${k}`);
  }
  fft(re, im, true);
  for (let t = 0; t < n; t++) assert.ok(Math.abs(re[t] / n - xr[t]) < 1e-12 && Math.abs(im[t] / n - xi[t]) < 1e-12);
  assert.throws(() => fft(new Float64Array(12), new Float64Array(12)), RangeError);
});

test("toneFrequency: within 2 Hz from 200 to 7000 Hz, with noise, for 1 s and for 100 ms", () => {
  for (const rate of [16000, 8000]) {
    for (const f of [200, 317.3, 440, 1000, 1234.5, 2999.9, 3600, 5000, 6999]) {
      if (f > rate / 2 - 200) continue;
      for (const seconds of [1, 0.1]) {
        const x = delayed(tone(f, rate, seconds, 8000), 0, 1, noise(Math.round(rate * seconds), 2000, 11));
        const got = toneFrequency(x, rate);
        assert.ok(Math.abs(got - f) <= 2, `${f} Hz at ${rate} Hz for ${seconds} s: measured ${got}`);
      }
    }
  }
  // The clean case is far better than the 2 Hz asked for: a broken refinement would show here.
  assert.ok(Math.abs(toneFrequency(tone(1234.5, 16000, 1, 8000), 16000) - 1234.5) < 0.05);
  // The strongest of two tones wins.
  const two = tone(700, 16000, 0.5, 9000).map((v, i) => v + Math.round(3000 * Math.sin((2 * Math.PI * 2500 * i) / 16000)));
  assert.ok(Math.abs(toneFrequency(two, 16000) - 700) < 2);
  assert.throws(() => toneFrequency(new Int16Array(10), 16000), RangeError);
  // testTone makes what it says.
  const t = testTone(1500, 16000, 0.5, -20);
  assert.ok(Math.abs(rmsDbfs(t) - -20) < 0.01 && Math.abs(toneFrequency(t, 16000) - 1500) < 0.05);
  assert.throws(() => testTone(1000, 16000, 1, 0), RangeError);
  assert.ok(Number.isNaN(toneFrequency(new Int16Array(1000), 16000)));
});

test("correlationAt: 1 for the same waveform at any gain, -1 inverted, 0 where silent", () => {
  const x = noise(4000, 10000, 3);
  assert.ok(Math.abs(correlationAt(x, delayed(x, 25, 0.3), 25) - 1) < 1e-3);
  assert.ok(Math.abs(correlationAt(x, x.map((v) => -v), 0) + 1) < 1e-9);
  assert.equal(correlationAt(x, new Int16Array(4000), 0), 0);
  assert.ok(Math.abs(correlationAt(x, delayed(x, 25), 24)) < 0.1, "one sample off, white noise decorrelates");
  assert.throws(() => correlationAt(x, x, 1.5), RangeError);
});

test("alignDelay finds a known delay in white noise and in speech-like audio with gain and noise", () => {
  const rate = 16000;
  const white = noise(rate * 2, 12000, 5);
  const w = alignDelay(white, delayed(white, 1234), rate, 500);
  assert.equal(w.delaySamples, 1234);
  assert.ok(Math.abs(w.delayMs - 77.125) < 1e-9);
  assert.ok(w.correlation > 0.999);

  const speech = speechLike(rate, 4, 9);
  const rec = delayed(speech, 1587, 0.4, noise(speech.length + 1587, 300, 13));
  const s = alignDelay(speech, rec, rate, 300);
  assert.equal(s.delaySamples, 1587);
  assert.ok(s.correlation > 0.9, `correlation ${s.correlation}`);

  // A recording that starts late (the reference leads): negative delay, when allowed.
  const late = speech.subarray(800);
  assert.equal(alignDelay(speech, late, rate, 100, -100).delaySamples, -800);
  // Outside the allowed range the true delay cannot be found, and the match is poor.
  const limited = alignDelay(speech, rec, rate, 50);
  assert.ok(limited.delaySamples <= 800 && limited.correlation < 0.5, JSON.stringify(limited));
  assert.throws(() => alignDelay(speech, rec, rate, 10, 20), RangeError);
  assert.throws(() => alignDelay(new Int16Array(100), new Int16Array(100), rate, 10), RangeError);
});

test("alignDelay: 10 s of 16 kHz audio aligns in well under a second", () => {
  const rate = 16000;
  const speech = speechLike(rate, 10, 21);
  const rec = delayed(speech, 1600, 0.8, noise(speech.length + 1600, 200, 4));
  const t0 = performance.now();
  const a = alignDelay(speech, rec, rate, 1000);
  const ms = performance.now() - t0;
  assert.equal(a.delaySamples, 1600);
  assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
});

test("pipelineDelay: frames handed out 100 ms after they came in, content 22 samples late, make 101.375 ms", () => {
  const rate = 16000;
  const frame = 320;
  const input = speechLike(rate, 3, 5);
  const output = delayed(input, 22).subarray(0, input.length);
  const frames = input.length / frame;
  // Input frames every 20 ms with some wake-up jitter; each output frame 100 ms after the input frame of the same index.
  const inTimes = Array.from({ length: frames }, (_, k) => 1000 + 20 * k + (k % 3));
  const outTimes = inTimes.map((t) => t + 100);
  const d = pipelineDelay({ samples: input, frameSize: frame, frameTimesMs: inTimes }, { samples: output, frameSize: frame, frameTimesMs: outTimes }, rate, 200);
  assert.equal(d.contentLagSamples, 22);
  // 22 of every 320 samples left with the frame after theirs: 100 + 20 (+ jitter) ms for them.
  const expected = 100 + (22 / 320) * 20;
  assert.ok(Math.abs(d.meanMs - expected) < 0.1, `mean ${d.meanMs}`);
  assert.ok(d.minMs >= 100 - 1e-9 && d.minMs < 100.5 && d.maxMs > 119 && d.maxMs <= 123, `${d.minMs}..${d.maxMs}`);
  // A recording that starts 3 frames late (frames lost before it began).
  const late = output.subarray(3 * frame);
  const lateTimes = outTimes.slice(3);
  const l = pipelineDelay({ samples: input, frameSize: frame, frameTimesMs: inTimes }, { samples: late, frameSize: frame, frameTimesMs: lateTimes }, rate, 200);
  assert.equal(l.contentLagSamples, 22 - 3 * frame);
  assert.ok(Math.abs(l.meanMs - expected) < 0.1, `late mean ${l.meanMs}`);
  assert.equal(d.lagChanges, 0);
  assert.throws(() => pipelineDelay({ samples: input, frameSize: frame, frameTimesMs: [] }, { samples: output, frameSize: frame, frameTimesMs: outTimes }, rate, 200), RangeError);
});

test("pipelineDelay follows a receiver that held a frame back halfway: one lag change, the content still matches", () => {
  const rate = 16000;
  const frame = 320;
  const input = speechLike(rate, 3, 9);
  const frames = input.length / frame;
  const inTimes = Array.from({ length: frames }, (_, k) => 20 * k);
  // Output: frames 0..74 as sent, then one frame of silence (concealment), then frames 75.. a frame late.
  const output = new Int16Array(input.length);
  const slip = 75 * frame;
  output.set(input.subarray(0, slip), 0);
  output.set(input.subarray(slip, input.length - frame), slip + frame);
  const outTimes = inTimes.map((t) => t + 40);
  const d = pipelineDelay({ samples: input, frameSize: frame, frameTimesMs: inTimes }, { samples: output, frameSize: frame, frameTimesMs: outTimes }, rate, 200);
  assert.equal(d.lagChanges, 1);
  assert.ok(d.correlation > 0.95, `correlation ${d.correlation}`);
  // One global lag matches only half of it.
  assert.ok(correlationAt(input, output, d.contentLagSamples) < 0.8);
  // Frames before the slip take 40 ms, after it 60 ms: the mean lies between.
  assert.ok(d.meanMs > 45 && d.meanMs < 55 && d.minMs === 40 && d.maxMs === 60, `${d.meanMs} ${d.minMs}..${d.maxMs}`);
  // Output that is all silence matches nothing.
  const silent = pipelineDelay({ samples: input, frameSize: frame, frameTimesMs: inTimes }, { samples: new Int16Array(input.length).fill(0).map((_, i) => (i % 2 ? 1 : -1)), frameSize: frame, frameTimesMs: outTimes }, rate, 200);
  assert.ok(silent.correlation < 0.2, `noise-floor output ${silent.correlation}`);
});
