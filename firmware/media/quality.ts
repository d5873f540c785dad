// Call quality by the ITU-T G.107 E-model (narrowband): the transmission rating
// R = Ro - Is - Id - Ie,eff + A and the MOS it predicts (Annex B), for the R factor and MOS
// fields of the RFC 3611 VoIP Metrics block.
//
// Floating point, on purpose: the model is logs, powers and roots of loudness ratings, which in
// fixed point would need tables for no gain. It runs once per RTCP interval (seconds), never in
// the frame or packet path; an MCU without a double-precision FPU spends a few thousand
// soft-float operations on it. AssemblyScript's Math is compiled into the module (no imports).
//
// Wideband: G.722 belongs to the wideband E-model (G.107.1, R up to 129), but RFC 3611's R and
// MOS fields are the narrowband model's. On that scale we rate G.722 as G.711 (Ie = 0): the
// narrowband model has no headroom to credit wideband speech, and the 64 kbit/s coder adds no
// impairment of its own inside the narrow band. Its Bpl is G.711's with concealment (25.1,
// G.113 Appendix I), because the firmware conceals G.722 with that same G.711 Appendix I method.

import { CODEC_G722, CODEC_PCMU, CODEC_PCMA } from "../audio/codecs";
import { VoipMetrics } from "./rtcp-xr";

// G.113 Appendix I: G.711 at 10 ms packets, random loss.
export const IE_G711: f64 = 0;
export const BPL_G711: f64 = 4.3;        // no concealment (silence insertion)
export const BPL_G711_PLC: f64 = 25.1;   // G.711 Appendix I concealment

/** Equipment impairment of a codec on the narrowband scale (see above for G.722). */
export function codecIe(codec: i32): f64 { return IE_G711; }

/** Packet-loss robustness of a codec, with or without concealment. */
export function codecBpl(codec: i32, concealment: bool): f64 {
  if (codec == CODEC_G722 || codec == CODEC_PCMU || codec == CODEC_PCMA) return concealment ? BPL_G711_PLC : BPL_G711;
  return BPL_G711;
}

@inline function log10(x: f64): f64 { return Math.log10(x); }
@inline function pow10(x: f64): f64 { return Math.pow(10.0, x); }
@inline function sq(x: f64): f64 { return x * x; }

/** Ie,eff = Ie + (95 - Ie) x Ppl / (Ppl / BurstR + Bpl), Ppl in percent (G.107 §7.5). */
export function effectiveIe(ie: f64, pplPercent: f64, burstR: f64, bpl: f64): f64 {
  const ppl = clamp(pplPercent, 0, 100);
  const br = burstR >= 1 ? burstR : 1.0;
  const b = bpl >= 1 ? bpl : 1.0;
  return ie + (95.0 - ie) * ppl / (ppl / br + b);
}

/** BurstR of a two-state (Gilbert) loss model (G.107 §7.5): p = P(loss | previous received),
 *  q = P(received | previous lost); 1 / (p + q), 1 for random loss (p + q = 1). */
export function burstRatio(p: f64, q: f64): f64 {
  const s = p + q;
  return s > 0 && s <= 2 ? max(1.0, 1.0 / s) : 1.0;
}

/** MOS (conversational quality, estimated) from R: G.107 Annex B. */
export function mosFromR(r: f64): f64 {
  if (!(r > 0)) return 1.0;   // NaN too
  if (r >= 100) return 4.5;
  return 1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7.0e-6;
}

/** The common simplification of Id (Cole and Rosenbluth, 2001): 0.024 d + 0.11 (d - 177.3)
 *  above 177.3 ms. Given for comparison only; EModel uses G.107's own formulas. */
export function delayImpairmentSimple(d: f64): f64 {
  return 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0.0);
}

@inline function clamp(x: f64, lo: f64, hi: f64): f64 { return x > lo ? (x < hi ? x : hi) : lo; } // NaN -> lo

/** The E-model with G.107's default transmission parameters (§7.7), which describe a connection
 *  with good handsets, no circuit noise and echo cancelled to TELR 65 dB: Ro = 94.77,
 *  Is = 1.41, Id(0) = 0.15, so R = 93.2 with no delay and no loss. The fields may be changed
 *  before compute(). The results of the last compute() stay in ro, is, id, ieEff and r. */
export class EModel {
  slr: f64 = 8;      // send loudness rating, dB
  rlr: f64 = 2;      // receive loudness rating, dB
  stmr: f64 = 15;    // sidetone masking rating, dB
  lstr: f64 = 18;    // listener sidetone rating, dB
  ds: f64 = 3;       // D-value of the telephone, send side
  telr: f64 = 65;    // talker echo loudness rating, dB
  wepl: f64 = 110;   // weighted echo path loss, dB
  qdu: f64 = 1;      // quantizing distortion units
  nc: f64 = -70;     // circuit noise at the 0 dBr point, dBm0p
  nfor: f64 = -64;   // noise floor at the receive side, dBmp
  ps: f64 = 35;      // room noise, send side, dB(A)
  pr: f64 = 35;      // room noise, receive side, dB(A)
  a: f64 = 0;        // advantage factor

  ro: f64 = 0;
  is: f64 = 0;
  id: f64 = 0;
  ieEff: f64 = 0;
  r: f64 = 0;

  /** R for a codec (ie, bpl), packet loss pplPercent with burst ratio burstR, and a mean
   *  one-way mouth-to-ear delay of delayMs. A VoIP path with an echo canceller at each end:
   *  the echo path delay T and the absolute delay Ta are the one-way delay, the 4-wire loop
   *  Tr is twice it (as G.114's delay curve assumes). */
  compute(ie: f64, bpl: f64, pplPercent: f64, burstR: f64, delayMs: f64): f64 {
    const d = clamp(delayMs, 0, 10000);
    return this.rating(ie, bpl, pplPercent, burstR, d, 2 * d, d);
  }

  /** R with the three delays given apart (ms): T (talker echo path), Tr (listener echo round
   *  trip), Ta (absolute). G.107 §7.1..7.6. */
  rating(ie: f64, bpl: f64, pplPercent: f64, burstR: f64, t: f64, tr: f64, ta: f64): f64 {
    t = clamp(t, 0, 10000); tr = clamp(tr, 0, 20000); ta = clamp(ta, 0, 10000);
    const slr = this.slr, rlr = this.rlr;
    const olr = slr + rlr;
    // §7.2: noise. Room noise at the send side (Nos), at the receive side (Nor, through the
    // listener's sidetone path: Pre), the receive noise floor (Nfo), and circuit noise.
    const nfo = this.nfor + rlr;
    const pre = this.pr + 10.0 * log10(1.0 + pow10((10.0 - this.lstr) / 10.0));
    const nor = rlr - 121.0 + pre + 0.008 * sq(pre - 35.0);
    const nos = this.ps - slr - this.ds - 100.0 + 0.004 * sq(this.ps - olr - this.ds - 14.0);
    const no = 10.0 * log10(pow10(this.nc / 10.0) + pow10(nos / 10.0) + pow10(nor / 10.0) + pow10(nfo / 10.0));
    const ro = 15.0 - 1.5 * (slr + no);
    // §7.3: loudness too low (Iolr), sidetone (Ist), quantizing distortion (Iq).
    const xolr = olr + 0.2 * (64.0 + no - rlr);
    const iolr = 20.0 * (Math.pow(1.0 + Math.pow(xolr / 8.0, 8.0), 0.125) - xolr / 8.0);
    const stmro = -10.0 * log10(pow10(-this.stmr / 10.0) + Math.exp(-t / 4.0) * pow10(-this.telr / 10.0));
    const ist = 12.0 * Math.pow(1.0 + Math.pow((stmro - 13.0) / 6.0, 8.0), 0.125)
      - 28.0 * Math.pow(1.0 + Math.pow((stmro + 1.0) / 19.4, 35.0), 1.0 / 35.0)
      - 13.0 * Math.pow(1.0 + Math.pow((stmro - 3.0) / 33.0, 13.0), 1.0 / 13.0) + 29.0;
    const q = 37.0 - 15.0 * log10(this.qdu);
    const g = 1.07 + 0.258 * q + 0.0602 * q * q;
    const y = (ro - 100.0) / 15.0 + 46.0 / 8.4 - g / 9.0;
    const z = 46.0 / 30.0 - g / 40.0;
    const iq = 15.0 * log10(1.0 + pow10(y) + pow10(z));
    const is = iolr + ist + iq;
    // §7.4: talker echo (Idte), listener echo (Idle), absolute delay (Idd).
    const terv = this.telr - 40.0 * log10((1.0 + t / 10.0) / (1.0 + t / 150.0)) + 6.0 * Math.exp(-0.3 * t * t);
    const roe = -1.5 * (no - rlr);
    const re = 80.0 + 2.5 * (terv - 14.0);
    const idte = ((roe - re) / 2.0 + Math.sqrt(sq(roe - re) / 4.0 + 100.0) - 1.0) * (1.0 - Math.exp(-t));
    const rle = 10.5 * (this.wepl + 7.0) * Math.pow(tr + 1.0, -0.25);
    const idle = (ro - rle) / 2.0 + Math.sqrt(sq(ro - rle) / 4.0 + 169.0);
    let idd = 0.0;
    if (ta > 100.0) {
      const x = log10(ta / 100.0) / log10(2.0); // mT = 100 ms, sT = 1: the defaults
      idd = 25.0 * (Math.pow(1.0 + Math.pow(x, 6.0), 1.0 / 6.0) - 3.0 * Math.pow(1.0 + Math.pow(x / 3.0, 6.0), 1.0 / 6.0) + 2.0);
    }
    this.ro = ro;
    this.is = is;
    this.id = idte + idle + idd;
    this.ieEff = effectiveIe(ie, pplPercent, burstR, bpl);
    this.r = ro - is - this.id - this.ieEff + this.a;
    return this.r;
  }
}

/** R as RFC 3611 carries it: an integer 0..100; 127 ("unavailable") for NaN. */
export function rFactorField(r: f64): u32 {
  if (isNaN(r)) return 127;
  return <u32>Math.round(clamp(r, 0, 100));
}

/** MOS as RFC 3611 carries it: x 10, 10..50; 127 for NaN. */
export function mosField(mos: f64): u32 {
  if (isNaN(mos)) return 127;
  return <u32>Math.round(clamp(mos, 1, 5) * 10.0);
}

/** Fills the R factor, MOS-CQ and MOS-LQ fields of a VoIP Metrics block from its own loss and
 *  discard rates (both are loss to the listener, so Ppl is their sum), for a codec (ie, bpl),
 *  burst ratio and one-way mouth-to-ear delay. MOS-LQ, listening quality, leaves delay out
 *  (the model at 0 ms). External R stays unavailable: no other network segment is known to us. */
export function fillVoipQuality(m: VoipMetrics, e: EModel, ie: f64, bpl: f64, burstR: f64, delayMs: f64): void {
  const ppl = <f64>((m.lossRate & 0xff) + (m.discardRate & 0xff)) * (100.0 / 256.0);
  const rLq = e.compute(ie, bpl, ppl, burstR, 0);
  m.mosLq = mosField(mosFromR(rLq));
  const r = e.compute(ie, bpl, ppl, burstR, delayMs);
  m.rFactor = rFactorField(r);
  m.mosCq = mosField(mosFromR(r));
  m.extRFactor = 127;
}
