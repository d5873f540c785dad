// Plc (firmware/audio/plc.ts): packet loss concealment after ITU-T G.711 Appendix I.
//
// A test signal is laid out at absolute sample positions in `sig` (what was sent); `play` cuts
// it into frames, hands good frames to received() and fills lost ones with conceal(), and
// everything the listener gets lands at the same positions in `out`. The expected values come
// from the Appendix's rules, not from the firmware's formulas:
//   - an exactly periodic signal is continued exactly, so out = sig x gain(t) for the whole loss
//     (the 2- and 3-period cycles of a periodic signal are that signal too);
//   - gain(t) = 1 for the first 10 ms of loss, then falls 20% per 10 ms: 0 from 60 ms on;
//   - the first good frame is cross-faded from the concealment over 4 ms, +4 ms per further
//     10 ms of loss, at most 10 ms; after that the received samples are untouched.
import { Plc } from "../../firmware/audio/plc";

const MAXN: i32 = 24000; // 1.5 s at 16 kHz
const GUARD: i32 = 16;
const sig = memory.data(MAXN * 2);
const out = memory.data((MAXN + GUARD) * 2);

function s(i: i32): i32 { return <i32>load<i16>(sig + (<usize>i << 1)); }
function o(i: i32): i32 { return <i32>load<i16>(out + (<usize>i << 1)); }
function setS(i: i32, v: i32): void { store<i16>(sig + (<usize>i << 1), <i16>v); }
function abs(v: i32): i32 { return v < 0 ? -v : v; }

/** Four harmonics of a fundamental with period `period` samples (need not be an integer);
 *  from sample `from` on the phase jumps by `shift` samples (0: no jump). Peak < 12,500. */
function harmonics(period: f64, from: i32 = MAXN, shift: f64 = 0): void {
  for (let n = 0; n < MAXN; n++) {
    const t = <f64>n + (n >= from ? shift : 0);
    let v = 0.0;
    for (let h = 1; h <= 4; h++) v += (6000.0 / <f64>h) * Math.sin((2.0 * Math.PI * <f64>h * t) / period + 0.7 * <f64>h);
    setS(n, <i32>Math.round(v));
  }
}

/** The same shape (integer period), at amplitude 1 from `at - period` on, and ratio^k in the
 *  k-th period before that: each pitch period of the history is told apart by its level. */
function stepped(period: i32, at: i32, ratio: f64, amp: f64): void {
  for (let n = 0; n < MAXN; n++) {
    const k = n >= at - period ? 0 : (at - period - 1 - n) / period + 1;
    let v = 0.0;
    for (let h = 1; h <= 4; h++) v += (amp / <f64>h) * Math.sin((2.0 * Math.PI * <f64>h * <f64>n) / <f64>period + 0.7 * <f64>h);
    setS(n, <i32>Math.round(v * Math.pow(ratio, <f64>k)));
  }
}

/** Over t in [from, to) of a loss at `at`: |out - level x sig x gain(t)| <= 2 everywhere. */
function levelIs(rate: i32, at: i32, from: i32, to: i32, level: f64): bool {
  for (let t = from; t < to; t++) {
    const want = <i32>Math.round(level * <f64>s(at + t) * gainAt(rate, t));
    if (abs(o(at + t) - want) > 2) return false;
  }
  return true;
}

/** `a` up to sample `from`, then `b`. */
function dc(a: i32, from: i32 = MAXN, b: i32 = 0): void {
  for (let n = 0; n < MAXN; n++) setS(n, n < from ? a : b);
}

/** Pseudo-random full-scale samples. */
function noise(seed: u32): void {
  let x = seed;
  for (let n = 0; n < MAXN; n++) { x = x * 1664525 + 1013904223; setS(n, <i32>(x >> 16) - 32768); }
}

/** Plays `pattern` ('G' good, 'L' lost) in frames of `frame` samples; returns samples played. */
function play(plc: Plc, frame: i32, pattern: string): i32 {
  let off = 0;
  for (let i = 0; i < pattern.length; i++) {
    const p = out + (<usize>off << 1);
    if (pattern.charCodeAt(i) == 0x47) { // 'G'
      memory.copy(p, sig + (<usize>off << 1), <usize>frame << 1);
      plc.received(p, frame);
    } else {
      plc.conceal(p, frame);
    }
    off += frame;
  }
  return off;
}

/** `n` good frames then the rest of the pattern. */
function goods(n: i32): string { return "G".repeat(n); }

/** The lag L in 5..15 ms for which the first 24 concealed samples are exactly the 24 samples L
 *  before the loss, plus the entry offset (last real sample minus the one L before it) fading
 *  out over L/4: the pitch period the concealer chose (no gain or wrap applies that early). */
function chosenLag(rate: i32, lossAt: i32): i32 {
  for (let lag = rate / 200; lag <= rate * 3 / 200; lag++) {
    const ov = max(1, lag >> 2);
    const entry = o(lossAt - 1) - o(lossAt - 1 - lag);
    let same = true;
    for (let n = 0; n < 24 && same; n++) {
      const fade = n < ov ? (entry * (ov - n)) / ov : 0;
      same = o(lossAt + n) == o(lossAt - lag + n) + fade;
    }
    if (same) return lag;
  }
  return -1;
}

/** The Appendix's gain at `t` samples into a loss, in 1/32768: 1 until 10 ms, -20% per 10 ms. */
function gainAt(rate: i32, t: i32): f64 {
  const t10 = rate / 100;
  if (t < t10) return 1.0;
  return max(0.0, 1.0 - 0.2 * <f64>(t - t10) / <f64>t10);
}

/** Largest |x[n+1] - x[n]| of sig over [from, to). */
function maxStep(from: i32, to: i32): i32 {
  let m = 0;
  for (let n = from; n + 1 < to; n++) m = max(m, abs(s(n + 1) - s(n)));
  return m;
}

/** 10 log10(signal / error) of out against sig over [from, to). */
function snrDb(from: i32, to: i32): f64 {
  let se = 0.0;
  let ee = 0.0;
  for (let n = from; n < to; n++) { const d = <f64>(s(n) - o(n)); se += <f64>s(n) * <f64>s(n); ee += d * d; }
  return ee == 0 ? 99.0 : 10.0 * Math.log10(se / ee);
}

/** Over the loss [from, from + len): |out - sig x gain| <= tol everywhere. Returns the worst. */
function worstVsScaled(rate: i32, from: i32, len: i32): i32 {
  let worst = 0;
  for (let t = 0; t < len; t++) {
    const want = <i32>Math.round(<f64>s(from + t) * gainAt(rate, t));
    worst = max(worst, abs(o(from + t) - want));
  }
  return worst;
}

describe("Plc: the concealed frame continues a periodic waveform", () => {
  it("8 kHz, period 67 samples (119.4 Hz): finds 67 and continues the waveform exactly", () => {
    harmonics(67.0);
    const plc = new Plc(8000);
    const at = play(plc, 80, goods(25) + "L") - 80; // 250 ms of history, 10 ms lost
    expect(chosenLag(8000, at)).toBe(67);
    expect(worstVsScaled(8000, at, 80)).toBeLessThanOrEqual(1, "first 10 ms = the continuation");
    expect(o(at)).toBe(s(at), "the first concealed sample is the next sample");
  });

  it("16 kHz, period 131 samples (122.1 Hz, odd: only the full-rate refinement finds it)", () => {
    harmonics(131.0);
    const plc = new Plc(16000);
    const at = play(plc, 160, goods(25) + "L") - 160;
    expect(chosenLag(16000, at)).toBe(131);
    expect(worstVsScaled(16000, at, 160)).toBeLessThanOrEqual(1);
  });

  it("8 kHz, 113 Hz (period 70.80): the lag is 70 or 71 and the first 2.5 ms follow closely", () => {
    harmonics(8000.0 / 113.0);
    const plc = new Plc(8000);
    const at = play(plc, 160, goods(12) + "L") - 160;
    const lag = chosenLag(8000, at);
    expect(lag >= 70 && lag <= 71).toBe(true, "lag " + lag.toString());
    expect(snrDb(at, at + 20)).toBeGreaterThan(15.0, "first 2.5 ms against the true continuation");
    // The join: no bigger step than the signal's own.
    expect(abs(o(at) - o(at - 1))).toBeLessThanOrEqual(maxStep(0, at));
  });

  it("16 kHz, 113 Hz (period 141.59): the lag is 141 or 142 and the first 2.5 ms follow closely", () => {
    harmonics(16000.0 / 113.0);
    const plc = new Plc(16000);
    const at = play(plc, 320, goods(12) + "L") - 320;
    const lag = chosenLag(16000, at);
    expect(lag >= 141 && lag <= 142).toBe(true, "lag " + lag.toString());
    expect(snrDb(at, at + 40)).toBeGreaterThan(15.0);
    expect(abs(o(at) - o(at - 1))).toBeLessThanOrEqual(maxStep(0, at));
  });

  it("a high voice, 8 kHz period 41 (195 Hz, odd): not its multiple 82, which the coarse grid holds", () => {
    // Each period back 10% quieter, so that only the chosen lag repeats the last period exactly.
    const at = 12 * 160;
    stepped(41, at, 0.9, 6000.0);
    const plc = new Plc(8000);
    play(plc, 160, goods(12) + "L");
    expect(chosenLag(8000, at)).toBe(41);
    expect(levelIs(8000, at, 10, 30, 1.0)).toBe(true); // after the entry fade (41 / 4 samples)
  });

  it("enters a loss without a jump: the pitch copy starts offset to meet the last real sample", () => {
    // A voice on a rising slope: the copy one period back sits 41 * 40 lower than the last
    // real sample, and would jump down to it without the entry offset.
    const at = 12 * 160;
    for (let i = 0; i < at; i++) {
      const ramp = i < at - 400 ? 0 : (i - (at - 400)) * 40;
      setS(i, <i32>Math.round(1000.0 * Math.sin(2.0 * Math.PI * <f64>i / 41.0)) + ramp);
    }
    const plc = new Plc(8000);
    play(plc, 160, goods(12) + "L");
    const natural = maxStep(at - 41, at);
    expect(abs(o(at) - o(at - 1))).toBeLessThanOrEqual(natural, "the entry step is no larger than the signal's own");
    expect(abs(o(at - 41) - o(at - 1))).toBeGreaterThan(natural, "(without the offset it would be)");
  });

  it("a high voice at 16 kHz, period 83 (193 Hz, odd): not 166", () => {
    const at = 12 * 320;
    stepped(83, at, 0.9, 6000.0);
    const plc = new Plc(16000);
    play(plc, 320, goods(12) + "L");
    expect(chosenLag(16000, at)).toBe(83);
  });

  it("a low voice, 16 kHz period 236 (67.8 Hz): near the long end", () => {
    harmonics(236.0);
    const plc = new Plc(16000);
    const at = play(plc, 320, goods(12) + "L") - 320;
    expect(chosenLag(16000, at)).toBe(236);
    expect(worstVsScaled(16000, at, 320)).toBeLessThanOrEqual(1);
  });
});

describe("Plc: 1, 2, then 3 pitch periods, each join overlap-added over 1/4 period", () => {
  // Period 67 at 8 kHz, P/4 = 16. The last period before the loss at level 1, the one before at
  // 1/2, then 1/4, 1/8...: which period the concealment reads shows in its level.
  it("8 kHz: the cycle grows at 10 and 20 ms to the same phase one period older", () => {
    const at = 25 * 80;
    stepped(67, at, 0.5, 6000.0);
    const plc = new Plc(8000);
    play(plc, 80, goods(25) + "LLLL");
    expect(chosenLag(8000, at)).toBe(67);
    expect(levelIs(8000, at, 16, 51, 1.0)).toBe(true, "the last period, after the entry fade (67 / 4)");
    // Before the first wrap: a triangular fade towards the period before (level 1/2), so the
    // jump back lands where the signal already is.
    for (let t = 51; t < 67; t++) {
      const level = 1.0 - 0.5 * <f64>(t - 50) / 17.0;
      expect(abs(o(at + t) - <i32>Math.round(level * <f64>s(at + t)))).toBeLessThanOrEqual(2, "wrap fade, t = " + t.toString());
    }
    expect(levelIs(8000, at, 67, 80, 1.0)).toBe(true, "the last period again");
    // 10 ms: two periods; the cursor moves to the same phase in the level-1/2 period.
    expect(levelIs(8000, at, 100, 134, 0.5)).toBe(true, "10 ms: one period older");
    expect(levelIs(8000, at, 134, 160, 1.0)).toBe(true, "then the newest period");
    // 20 ms: three periods; again one period older, and at the wrap the oldest (level 1/4).
    expect(levelIs(8000, at, 180, 201, 0.5)).toBe(true, "20 ms: one period older");
    expect(levelIs(8000, at, 201, 250, 1.0)).toBe(true);
    expect(levelIs(8000, at, 272, 320, 0.25)).toBe(true, "the 3-period cycle reaches the oldest");
  });

  it("the search is normalised: a louder past does not pull it to twice the period", () => {
    // A voice fading out towards the loss: each period back is 1.25 times louder. Raw
    // correlation would prefer lag 82 (louder partner); normalised, 41 and 82 tie: 41 is kept.
    const at = 12 * 160;
    stepped(41, at, 1.25, 600.0);
    const plc = new Plc(8000);
    play(plc, 160, goods(12) + "L");
    expect(chosenLag(8000, at)).toBe(41);
  });
});

describe("Plc: attenuation", () => {
  it("8 kHz: full level for 10 ms, then 20% less per 10 ms, silent from 60 ms (DC input)", () => {
    dc(16000);
    const plc = new Plc(8000);
    const at = play(plc, 80, goods(25) + "LLLLLLLLL") - 9 * 80; // 90 ms lost
    for (let t = 0; t < 80; t++) expect(o(at + t)).toBe(16000);
    expect(abs(o(at + 160) - 12800)).toBeLessThanOrEqual(1, "20 ms: 80%");
    expect(abs(o(at + 240) - 9600)).toBeLessThanOrEqual(1, "30 ms: 60%");
    expect(abs(o(at + 400) - 3200)).toBeLessThanOrEqual(1, "50 ms: 20%");
    for (let t = 80; t < 480; t++) {
      const want = 16000.0 * gainAt(8000, t);
      expect(abs(o(at + t) - <i32>Math.round(want))).toBeLessThanOrEqual(1, "t = " + t.toString());
    }
    for (let t = 480; t < 720; t++) expect(o(at + t)).toBe(0, "silent from 60 ms, t = " + t.toString());
  });

  it("16 kHz: the same rule in milliseconds", () => {
    dc(-16000);
    const plc = new Plc(16000);
    const at = play(plc, 320, goods(12) + "LLLL") - 4 * 320; // 80 ms lost
    for (let t = 0; t < 160; t++) expect(o(at + t)).toBe(-16000);
    expect(abs(o(at + 320) + 12800)).toBeLessThanOrEqual(1, "20 ms: 80%");
    for (let t = 160; t < 960; t++) {
      expect(abs(o(at + t) - <i32>Math.round(-16000.0 * gainAt(16000, t)))).toBeLessThanOrEqual(1, "t = " + t.toString());
    }
    for (let t = 960; t < 1280; t++) expect(o(at + t)).toBe(0);
  });

  it("a periodic signal is continued at sig x gain through the 2- and 3-period cycles, silent from 60 ms", () => {
    harmonics(67.0);
    const plc = new Plc(8000);
    const at = play(plc, 160, goods(12) + "LLLLL") - 5 * 160; // 100 ms
    expect(worstVsScaled(8000, at, 800)).toBeLessThanOrEqual(2);
    for (let t = 480; t < 800; t++) expect(o(at + t)).toBe(0);
    let late = 0;
    for (let t = 440; t < 480; t++) late = max(late, abs(o(at + t)));
    expect(late).toBeGreaterThan(0, "not silent before 60 ms");
  });
});

/** DC 16000 before the loss, DC -8000 after: the concealment lies in [0, 16000], so the fade
 *  is the only thing that differs from -8000, and its length is the first offset where out is
 *  -8000 again. */
function fadeLength(rate: i32, frame: i32, lostFrames: i32): i32 {
  const plc = new Plc(rate);
  const history = 12 * frame;
  const back = history + lostFrames * frame;
  dc(16000, back, -8000);
  play(plc, frame, goods(12) + "L".repeat(lostFrames) + "GG");
  for (let i = 0; i < 2 * frame; i++) if (o(back + i) == -8000) {
    for (let j = i; j < 2 * frame; j++) expect(o(back + j)).toBe(-8000, "untouched after the fade");
    return i;
  }
  return -1;
}

describe("Plc: the first good frame after a loss", () => {
  it("8 kHz: 4 ms after 10 ms lost, 8 ms after 20, 10 ms after 30 and after 70 (the cap)", () => {
    expect(fadeLength(8000, 80, 1)).toBe(32);
    expect(fadeLength(8000, 80, 2)).toBe(64);
    expect(fadeLength(8000, 80, 3)).toBe(80);
    expect(fadeLength(8000, 80, 7)).toBe(80);
    expect(fadeLength(8000, 40, 1)).toBe(32, "5 ms lost counts as the first 10 ms");
  });

  it("16 kHz: the same in milliseconds", () => {
    expect(fadeLength(16000, 160, 1)).toBe(64);
    expect(fadeLength(16000, 320, 1)).toBe(128);
    expect(fadeLength(16000, 160, 4)).toBe(160);
  });

  it("the fade goes from the concealment to the frame, linearly", () => {
    // 20 ms lost at 8 kHz: the concealment enters the good frame at 80% and keeps falling.
    const plc = new Plc(8000);
    dc(16000, 12 * 160 + 160, 8000);
    play(plc, 160, goods(12) + "LG");
    const k = 12 * 160 + 160;
    for (let i = 0; i < 64; i++) {
      const w = <f64>(i + 1) / 65.0;
      const want = 16000.0 * gainAt(8000, 160 + i) * (1.0 - w) + 8000.0 * w;
      expect(abs(o(k + i) - <i32>Math.round(want))).toBeLessThanOrEqual(2, "i = " + i.toString());
    }
  });

  it("a phase jump in the received audio is smoothed: no step bigger than the signal's own", () => {
    // After 20 ms lost the sender's waveform resumes half a period out of phase with the
    // concealment: spliced in raw, that is a jump of several times the signal's largest step.
    const k = 12 * 160 + 160;
    harmonics(67.0, k, 33.0);
    const natural = maxStep(0, k);
    const plc = new Plc(8000);
    play(plc, 160, goods(12) + "LGG");
    expect(abs(s(k) - o(k - 1))).toBeGreaterThan(2 * natural, "the test's own jump is big");
    let worst = 0;
    for (let n = k - 1; n < k + 160; n++) worst = max(worst, abs(o(n + 1) - o(n)));
    expect(worst).toBeLessThanOrEqual(natural + natural / 4);
    for (let n = k + 64; n < k + 320; n++) expect(o(n)).toBe(s(n), "after 8 ms: as received");
  });

  it("a fade longer than the good frame goes on into the next ones", () => {
    // 20 ms lost in 5 ms frames: the 8 ms fade spans the first good frame and 3 ms of the next.
    const k = 12 * 40 + 4 * 40;
    dc(16000, k, 8000);
    const a = new Plc(8000);
    play(a, 40, goods(12) + "LLLLGGG");
    for (let i = 0; i < 64; i++) expect(o(k + i)).not.toBe(8000, "in the fade, i = " + i.toString());
    for (let i = 64; i < 120; i++) expect(o(k + i)).toBe(8000);
    // The same as one long good frame would get.
    const first = new StaticArray<i16>(120);
    for (let i = 0; i < 120; i++) first[i] = <i16>o(k + i);
    const b = new Plc(8000);
    play(b, 40, goods(12) + "LLLL");
    memory.copy(out + (<usize>k << 1), sig + (<usize>k << 1), 240);
    b.received(out + (<usize>k << 1), 120);
    for (let i = 0; i < 120; i++) expect(o(k + i)).toBe(<i32>first[i]);
  });

  it("received() with no loss before it leaves the frame untouched", () => {
    noise(12345);
    const plc = new Plc(8000);
    const n = play(plc, 160, goods(40));
    for (let i = 0; i < n; i++) expect(o(i)).toBe(s(i));
  });

  it("after a loss and its fade, later frames are untouched again", () => {
    noise(777);
    const plc = new Plc(16000);
    play(plc, 320, goods(5) + "LLGGGG");
    const k = 7 * 320;
    let changed = 0;
    for (let i = 0; i < 160; i++) if (o(k + i) != s(k + i)) changed++;
    expect(changed).toBeGreaterThan(100, "the first good frame is faded");
    for (let i = 160; i < 4 * 320; i++) expect(o(k + i)).toBe(s(k + i));
  });
});

/** Frames of `ms` ms: a 2-frame loss continues the waveform at sig x gain, the next good
 *  frame is faded and then untouched. */
function check(rate: i32, ms: i32): void {
  const frame = rate / 1000 * ms;
  const plc = new Plc(rate);
  harmonics(rate == 8000 ? 67.0 : 131.0);
  const good = (300 + ms - 1) / ms; // at least 300 ms of history
  const at = good * frame;
  play(plc, frame, goods(good) + "LL");
  expect(plc.lostFrames).toBe(2, ms.toString() + " ms frames");
  expect(worstVsScaled(rate, at, 2 * frame)).toBeLessThanOrEqual(2, ms.toString() + " ms frames");
  // The next good frame: faded over min(10, 4 * ceil(2 ms / 10)) ms, then as received.
  const k = at + 2 * frame;
  const fade = min(rate / 100, rate / 250 * ((2 * ms + 9) / 10));
  memory.copy(out + (<usize>k << 1), sig + (<usize>k << 1), <usize>frame << 1);
  plc.received(out + (<usize>k << 1), frame);
  expect(plc.lostFrames).toBe(0);
  for (let i = min(fade, frame); i < frame; i++) expect(o(k + i)).toBe(s(k + i));
  let faded = 0;
  for (let i = 0; i < min(fade, frame); i++) if (o(k + i) != s(k + i)) faded++;
  expect(faded).toBeGreaterThan(min(fade, frame) / 2, "the fade is there");
}

describe("Plc: frame lengths", () => {
  it("10, 20, 30, 40 and 60 ms at 8 kHz", () => { check(8000, 10); check(8000, 20); check(8000, 30); check(8000, 40); check(8000, 60); });
  it("10, 20, 30, 40 and 60 ms at 16 kHz (60 ms is longer than the history)", () => { check(16000, 10); check(16000, 20); check(16000, 30); check(16000, 40); check(16000, 60); });

  it("1 ms frames and single samples give the same concealment as one 40 ms call", () => {
    harmonics(8000.0 / 113.0);
    const whole = new Plc(8000);
    const at = play(whole, 160, goods(10) + "LL");
    const ref = new StaticArray<i16>(320);
    for (let i = 0; i < 320; i++) ref[i] = <i16>o(at - 320 + i);
    const ms = new Plc(8000);
    play(ms, 160, goods(10));
    for (let i = 0; i < 40; i++) ms.conceal(out + (<usize>(at - 320 + i * 8) << 1), 8);
    for (let i = 0; i < 320; i++) expect(o(at - 320 + i)).toBe(<i32>ref[i], "1 ms calls, i = " + i.toString());
    expect(ms.lostFrames).toBe(40);
    const one = new Plc(8000);
    play(one, 160, goods(10));
    for (let i = 0; i < 320; i++) one.conceal(out + (<usize>(at - 320 + i) << 1), 1);
    for (let i = 0; i < 320; i++) expect(o(at - 320 + i)).toBe(<i32>ref[i], "1-sample calls, i = " + i.toString());
  });
});

describe("Plc: bad input never traps", () => {
  it("lengths 0, negative and huge are refused: nothing written, state unchanged", () => {
    harmonics(67.0);
    const bad: i32[] = [0, -1, -160, i32.MIN_VALUE, i32.MAX_VALUE, 1 << 30, 0x7fff0000];
    const a = new Plc(8000);
    const b = new Plc(8000);
    play(a, 160, goods(10));
    play(b, 160, goods(10));
    for (let i = 0; i < MAXN + GUARD; i++) store<i16>(out + (<usize>i << 1), 0x5555);
    for (let j = 0; j < bad.length; j++) {
      a.conceal(out, bad[j]);
      a.received(out, bad[j]);
    }
    for (let i = 0; i < 4 * 160; i++) expect(o(i)).toBe(0x5555, "nothing written");
    expect(a.lostFrames).toBe(0);
    // Both now conceal the same: the bad calls changed nothing.
    a.conceal(out, 160);
    b.conceal(out + 320 * 2, 160);
    for (let i = 0; i < 160; i++) expect(o(i)).toBe(o(320 + i));
    expect(a.lostFrames).toBe(1);
  });

  it("a frame running past the end of linear memory is refused", () => {
    const plc = new Plc(16000);
    const end = <usize>memory.size() << 16;
    plc.conceal(end - 4, 4); // needs 8 bytes, 4 exist
    plc.received(end - 2, 2);
    plc.conceal(end, 1);
    expect(plc.lostFrames).toBe(0);
  });

  it("concealment with no history at all is silence", () => {
    const plc = new Plc(16000);
    for (let i = 0; i < 640; i++) store<i16>(out + (<usize>i << 1), 0x1234);
    plc.conceal(out, 640);
    for (let i = 0; i < 640; i++) expect(o(i)).toBe(0);
  });
});

describe("Plc: state", () => {
  it("lostFrames counts the frames of the current loss run and clears on a good frame", () => {
    harmonics(67.0);
    const plc = new Plc(8000);
    expect(plc.lostFrames).toBe(0);
    play(plc, 160, "GGGL");
    expect(plc.lostFrames).toBe(1);
    play(plc, 160, "L");
    expect(plc.lostFrames).toBe(2, "the same run goes on");
    play(plc, 160, "GLL");
    expect(plc.lostFrames).toBe(2, "a new run");
    plc.conceal(out, 1);
    expect(plc.lostFrames).toBe(3);
    plc.received(out, 160);
    expect(plc.lostFrames).toBe(0);
  });

  it("reset() forgets the history and any loss in progress", () => {
    harmonics(67.0);
    const plc = new Plc(8000);
    play(plc, 160, goods(10) + "L");
    plc.reset();
    expect(plc.lostFrames).toBe(0);
    plc.conceal(out, 160);
    for (let i = 0; i < 160; i++) expect(o(i)).toBe(0);
    // and a good frame after reset is not faded (no loss before it since the reset)
    const fresh = new Plc(8000);
    fresh.reset();
    play(fresh, 160, goods(3));
    for (let i = 0; i < 480; i++) expect(o(i)).toBe(s(i));
  });

  it("a sample rate other than 8000 or 16000 is treated as 8000", () => {
    harmonics(8000.0 / 113.0);
    const odd = new Plc(44100);
    const at = play(odd, 160, goods(10) + "LLG");
    const got = new StaticArray<i16>(480);
    for (let i = 0; i < 480; i++) got[i] = <i16>o(at - 480 + i);
    const ref = new Plc(8000);
    play(ref, 160, goods(10) + "LLG");
    for (let i = 0; i < 480; i++) expect(o(at - 480 + i)).toBe(<i32>got[i]);
  });
});
