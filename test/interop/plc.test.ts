// The firmware's packet loss concealment (firmware/audio/plc.ts) on real speech, against
// zero-fill on the same loss patterns: 5, 10 and 20% random loss and bursts of 2-3 frames, 20 ms
// frames, 8 kHz (G.711) and 16 kHz (G.722), several seeds. The firmware side is
// test/bench/plc-entry.ts, built here with asc from test/bench/plc.asconfig.json; the measures
// and patterns are test/bench/plc.ts's (see the top of that file for their definitions).
//
//   node --import tsx --test test/interop/plc.test.ts
// Needs espeak-ng and sox for the speech fixture (test/reference/speech.ts).
//
// What is asserted, each against zero-fill, for every pattern and both rates:
//   - the first 10 ms of each loss run continue the lost waveform (waveform SNR > 0 dB + 1);
//   - the lost frames have the lost audio's spectrum at its level (spectral segmental SNR);
//   - frames away from a loss come out bit-exact, and nothing is allocated per frame.
// What is not: the waveform segmental SNR over the lost frames plus the next frame (the measure
// of the task). On it zero-fill wins (by 8-12 dB; over spandsp's plc_t too): it scores
// exactly 0 dB on a lost frame and the 35 dB cap on the untouched next frame, while a concealer
// drifts in phase after ~10 ms and pays for its cross-fade. test/bench/plc.ts prints it.

import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { compilePlcWasm, lossPattern, measure, patternName, PATTERNS, SEEDS, WasmPlc, zeroFill, type Measure } from "../bench/plc.ts";
import { speech8k, speech16k } from "../reference/speech.ts";

const MARGIN_DB = 1;
let plc: WasmPlc;

before(async () => {
  plc = new WasmPlc(await compilePlcWasm());
});

/** Mean over the seeds of a measure, for the firmware's PLC and for zero-fill. */
function compare(pcm: Int16Array, rate: 8000 | 16000, p: (typeof PATTERNS)[number], m: Measure): { tincan: number; zero: number } {
  const frame = rate / 50;
  const frames = Math.ceil(pcm.length / frame);
  let tincan = 0;
  let zero = 0;
  for (const seed of SEEDS) {
    const lost = lossPattern(p, frames, seed * 7919 + rate);
    tincan += measure(pcm, plc.run(pcm, rate, frame, lost), rate, frame, lost)[m] / SEEDS.length;
    zero += measure(pcm, zeroFill(pcm, frame, lost), rate, frame, lost)[m] / SEEDS.length;
  }
  return { tincan, zero };
}

for (const rate of [8000, 16000] as const) {
  describe(`PLC at ${rate / 1000} kHz on speech, 20 ms frames`, () => {
    const pcm = rate === 8000 ? speech8k() : speech16k();

    for (const p of PATTERNS) {
      it(`${patternName(p)}: the first 10 ms of each loss continue the waveform better than silence`, () => {
        const { tincan, zero } = compare(pcm, rate, p, "first10ms");
        assert.ok(tincan > zero + MARGIN_DB, `first 10 ms: Tincan ${tincan.toFixed(2)} dB, zero-fill ${zero.toFixed(2)} dB`);
      });

      it(`${patternName(p)}: the lost frames beat zero-fill on spectral segmental SNR`, () => {
        const { tincan, zero } = compare(pcm, rate, p, "specLost");
        assert.ok(tincan > zero + MARGIN_DB, `spectral segSNR of lost frames: Tincan ${tincan.toFixed(2)} dB, zero-fill ${zero.toFixed(2)} dB`);
      });
    }

    it("frames away from a loss are bit-exact; the frame after a loss differs only in its fade", () => {
      const frame = rate / 50;
      const lost = lossPattern({ kind: "bursts", rate: 0.2 }, Math.ceil(pcm.length / frame), 42);
      const y = plc.run(pcm, rate, frame, lost);
      const fade = rate / 100; // at most 10 ms
      for (let i = 0; i * frame < pcm.length; i++) {
        if (lost[i] === true) continue;
        const from = i * frame + (i > 0 && lost[i - 1] === true ? fade : 0);
        for (let k = from; k < Math.min(pcm.length, (i + 1) * frame); k++) {
          if (y[k] !== pcm[k]) assert.fail(`frame ${i}, sample ${k - i * frame}: ${y[k]} instead of ${pcm[k]}`);
        }
      }
    });

    it("allocates nothing while it runs (stub heap flat over the whole file)", () => {
      const frame = rate / 50;
      const lost = lossPattern({ kind: "random", rate: 0.2 }, Math.ceil(pcm.length / frame), 7);
      const a = plc.ex.heapProbe();
      const b = plc.ex.heapProbe();
      plc.run(pcm, rate, frame, lost);
      const c = plc.ex.heapProbe();
      assert.equal(c - b, b - a, `heap moved by ${c - b - (b - a)} bytes over ${lost.length} frames`);
    });
  });
}
