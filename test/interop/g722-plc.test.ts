// G.722 concealment in the decoder: a lost frame is concealed and the decoder's state follows
// the concealment, so the first good frame after a loss continues smoothly. Measured against
// the lossless decode of the same codes, beside zero-fill (the decoder skips the lost frame),
// with the measures of test/bench/plc.ts (why these: the top of that file).

import test from "node:test";
import assert from "node:assert/strict";
import { WasmCodec } from "../../host-tools/codec/wasm-codec.ts";
import { speech16k } from "../reference/speech.ts";
import { lossPattern, measure, patternName, PATTERNS, SEEDS } from "../bench/plc.ts";

const FRAME = 320; // 20 ms at 16 kHz
const BYTES = FRAME / 2;

/** Decodes frame by frame; lost frames are concealed, or zero-filled (the decoder skips them). */
function decodeWithLoss(codes: Uint8Array, lost: boolean[], conceal: boolean): Int16Array {
  const codec = new WasmCodec();
  codec.openDecoder("g722", 1);
  const out = new Int16Array(lost.length * FRAME);
  for (let f = 0; f < lost.length; f++) {
    const frame = lost[f] ? (conceal ? codec.conceal(FRAME) : new Int16Array(FRAME)) : codec.decodeFrame(codes.subarray(f * BYTES, (f + 1) * BYTES));
    out.set(frame, f * FRAME);
  }
  return out;
}

/** The largest sample-to-sample step in the first 2 ms of each frame after a loss. */
function recoveryStep(pcm: Int16Array, lost: boolean[]): number {
  let worst = 0;
  for (let f = 1; f < lost.length; f++) {
    if (lost[f] || !lost[f - 1]) continue;
    for (let i = f * FRAME; i < f * FRAME + 32; i++) worst = Math.max(worst, Math.abs(pcm[i] - pcm[i - 1]));
  }
  return worst;
}

const speech = speech16k();
const frames = Math.floor(speech.length / FRAME);
const encoder = new WasmCodec();
encoder.openEncoder("g722", 1);
const codes = encoder.encode(speech.subarray(0, frames * FRAME));
const reference = decodeWithLoss(codes, new Array(frames).fill(false), true);

for (const pattern of PATTERNS) {
  test(`G.722 concealment beats zero-fill, ${patternName(pattern)}`, () => {
    const ours = { specLost: 0, first10ms: 0, clicks: 0 };
    const zero = { specLost: 0, first10ms: 0, clicks: 0 };
    for (const seed of SEEDS) {
      const lost = lossPattern(pattern, frames, seed);
      const a = measure(reference, decodeWithLoss(codes, lost, true), 16000, FRAME, lost);
      const b = measure(reference, decodeWithLoss(codes, lost, false), 16000, FRAME, lost);
      for (const k of ["specLost", "first10ms", "clicks"] as const) { ours[k] += a[k] / SEEDS.length; zero[k] += b[k] / SEEDS.length; }
    }
    const said = `concealed ${JSON.stringify(ours)} vs zero-fill ${JSON.stringify(zero)}`;
    assert.ok(ours.specLost > zero.specLost + 1, `the lost frames' spectrum: ${said}`);
    assert.ok(ours.first10ms > zero.first10ms + 1, `the first 10 ms continue the waveform: ${said}`);
    assert.ok(ours.clicks < zero.clicks / 2, `fewer clicks at the loss boundaries: ${said}`);
  });
}

test("the first good frame after a loss does not click", () => {
  const lost = lossPattern(PATTERNS[1], frames, 7);
  const concealed = decodeWithLoss(codes, lost, true);
  const zeroFilled = decodeWithLoss(codes, lost, false);
  // The lossless signal's own largest step anywhere bounds what a smooth recovery may show.
  let natural = 0;
  for (let i = 1; i < reference.length; i++) natural = Math.max(natural, Math.abs(reference[i] - reference[i - 1]));
  const ours = recoveryStep(concealed, lost);
  assert.ok(ours <= natural, `largest recovery step ${ours} vs the speech's own largest step ${natural}`);
  assert.ok(ours < recoveryStep(zeroFilled, lost), "smoother than zero-fill's restart");
});
