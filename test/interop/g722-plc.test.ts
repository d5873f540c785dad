// G.722 concealment in the decoder: a lost frame is concealed and the decoder's state follows
// the concealment, so the first good frame after a loss continues smoothly. Measured against
// the lossless decode of the same codes, beside zero-fill (the decoder skips the lost frame).

import test from "node:test";
import assert from "node:assert/strict";
import { WasmCodec } from "../../host-tools/codec/wasm-codec.ts";
import { speech16k } from "../reference/speech.ts";

const FRAME = 320; // 20 ms at 16 kHz
const BYTES = FRAME / 2;

function lossPattern(frames: number, rate: number, seed: number, burst = 1): boolean[] {
  let s = seed >>> 0;
  const rand = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32; };
  const lost = new Array<boolean>(frames).fill(false);
  for (let f = 2; f < frames; f++) {
    if (!lost[f - 1] && rand() < rate / burst) for (let k = 0; k < burst && f + k < frames; k++) lost[f + k] = true;
  }
  return lost;
}

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

/** Segmental SNR (dB, each 20 ms segment clamped to [-10, 35]) over the lost frames and the
 *  frame after each loss, against the lossless decode. */
function segmentalSnr(ref: Int16Array, got: Int16Array, lost: boolean[]): number {
  let sum = 0, n = 0;
  for (let f = 0; f < lost.length; f++) {
    if (!lost[f] && !(f > 0 && lost[f - 1])) continue;
    let s = 0, e = 0;
    for (let i = f * FRAME; i < (f + 1) * FRAME; i++) { s += ref[i] ** 2; e += (ref[i] - got[i]) ** 2; }
    if (s < 1e4 * FRAME) continue; // skip silent segments: SNR means nothing there
    sum += Math.min(35, Math.max(-10, 10 * Math.log10(s / Math.max(e, 1))));
    n++;
  }
  return sum / n;
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

for (const [rate, burst] of [[0.05, 1], [0.1, 1], [0.2, 1], [0.1, 2], [0.1, 3]]) {
  test(`G.722 concealment beats zero-fill at ${rate * 100}% loss, bursts of ${burst}`, () => {
    let ours = 0, zero = 0;
    const seeds = [1, 2, 3];
    for (const seed of seeds) {
      const lost = lossPattern(frames, rate, seed, burst);
      ours += segmentalSnr(reference, decodeWithLoss(codes, lost, true), lost) / seeds.length;
      zero += segmentalSnr(reference, decodeWithLoss(codes, lost, false), lost) / seeds.length;
    }
    assert.ok(ours > zero + 1, `concealed ${ours.toFixed(2)} dB vs zero-fill ${zero.toFixed(2)} dB`);
  });
}

test("the first good frame after a loss does not click", () => {
  const lost = lossPattern(frames, 0.1, 7);
  const concealed = decodeWithLoss(codes, lost, true);
  const zeroFilled = decodeWithLoss(codes, lost, false);
  // The lossless signal's own largest step anywhere bounds what a smooth recovery may show.
  let natural = 0;
  for (let i = 1; i < reference.length; i++) natural = Math.max(natural, Math.abs(reference[i] - reference[i - 1]));
  const ours = recoveryStep(concealed, lost);
  assert.ok(ours <= natural, `largest recovery step ${ours} vs the speech's own largest step ${natural}`);
  assert.ok(ours < recoveryStep(zeroFilled, lost), "smoother than zero-fill's restart");
});
