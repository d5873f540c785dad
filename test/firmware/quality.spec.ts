// The G.107 E-model (firmware/media/quality.ts). Reference points:
//  - G.107 §7.7: the default parameters give R = 93.2 (Ro 94.77, Is 1.41, Id 0.15);
//  - Annex B: MOS = 1 + 0.035 R + R (R - 60) (100 - R) 7e-6: R = 93.2 -> 4.41;
//  - G.113 Appendix I: G.711 Bpl 4.3 (no concealment), 25.1 (Appendix I concealment), Ie 0,
//    so with random loss Ie,eff = 95 Ppl / (Ppl + Bpl), computed by hand below;
//  - G.114 Figure 1 (R against one-way delay, other parameters at default, T = Ta, Tr = 2T):
//    R stays near 90 to 150 ms and falls to about 72 at 300 ms and 62 at 400 ms.
import {
  EModel, mosFromR, effectiveIe, burstRatio, delayImpairmentSimple, rFactorField, mosField, fillVoipQuality,
  codecIe, codecBpl, IE_G711, BPL_G711, BPL_G711_PLC,
} from "../../firmware/media/quality";
import { VoipMetrics } from "../../firmware/media/rtcp-xr";
import { CODEC_G722, CODEC_PCMU, CODEC_PCMA } from "../../firmware/audio/codecs";

describe("E-model R", () => {
  it("is 93.2 with G.107's defaults, no delay and no loss; MOS 4.41", () => {
    const e = new EModel();
    const r = e.compute(IE_G711, BPL_G711_PLC, 0, 1, 0);
    expect(r).toBeCloseTo(93.2, 1);
    expect(e.ro).toBeCloseTo(94.77, 2);
    expect(e.is).toBeCloseTo(1.41, 2);
    expect(e.id).toBeCloseTo(0.15, 2);
    expect(e.ieEff).toBe(0);
    expect(mosFromR(r)).toBeCloseTo(4.41, 2);
    expect(rFactorField(r)).toBe(93);
    expect(mosField(mosFromR(r))).toBe(44);
  });

  it("G.711 with concealment under 1%, 2%, 5% random loss", () => {
    // Ie,eff = 95 Ppl / (Ppl + 25.1): 1% 95 / 26.1 = 3.640; 2% 190 / 27.1 = 7.011;
    // 5% 475 / 30.1 = 15.781. R = 93.206 - Ie,eff: 89.566, 86.195, 77.426; MOS 4.328, 4.235, 3.923.
    const e = new EModel();
    expect(effectiveIe(0, 1, 1, 25.1)).toBeCloseTo(3.640, 3);
    expect(e.compute(0, BPL_G711_PLC, 1, 1, 0)).toBeCloseTo(89.566, 3);
    expect(mosFromR(e.r)).toBeCloseTo(4.328, 3);
    expect(e.compute(0, BPL_G711_PLC, 2, 1, 0)).toBeCloseTo(86.195, 3);
    expect(e.ieEff).toBeCloseTo(7.011, 3);
    expect(mosFromR(e.r)).toBeCloseTo(4.235, 3);
    expect(e.compute(0, BPL_G711_PLC, 5, 1, 0)).toBeCloseTo(77.426, 3);
    expect(mosFromR(e.r)).toBeCloseTo(3.923, 3);
  });

  it("G.711 without concealment loses far more: 1% -> Ie,eff 17.9", () => {
    // 95 / (1 + 4.3) = 17.925: R 75.28. 2%: 190 / 6.3 = 30.16: R 63.05.
    const e = new EModel();
    expect(e.compute(0, BPL_G711, 1, 1, 0)).toBeCloseTo(75.282, 3);
    expect(e.compute(0, BPL_G711, 2, 1, 0)).toBeCloseTo(63.047, 3);
  });

  it("bursty loss (BurstR > 1) impairs more than random loss at the same rate", () => {
    // 2%, BurstR 2: 190 / (2 / 2 + 25.1) = 7.280 (random: 7.011).
    expect(effectiveIe(0, 2, 2, 25.1)).toBeCloseTo(7.280, 3);
    // A Gilbert model with p = 0.01, q = 0.49: BurstR = 1 / 0.5 = 2; p + q = 1 is random loss.
    expect(burstRatio(0.01, 0.49)).toBeCloseTo(2.0, 6);
    expect(burstRatio(0.3, 0.7)).toBe(1.0);
    expect(burstRatio(0, 0)).toBe(1.0, "no loss at all: random");
    // Out-of-range inputs are limited, never NaN: BurstR < 1 is taken as 1, Ppl to 0..100.
    expect(effectiveIe(0, 2, 0, 25.1)).toBeCloseTo(7.011, 3);
    expect(effectiveIe(0, 150, 1, 25.1)).toBeCloseTo(95 * 100 / 125.1, 3);
    expect(effectiveIe(0, -1, 1, 25.1)).toBe(0);
  });

  it("follows G.114's delay curve: 150 ms -> 89.5, 300 ms -> 72.7, 400 ms -> 62.2", () => {
    const e = new EModel();
    expect(e.compute(0, 25.1, 0, 1, 150)).toBeCloseTo(89.539, 3);
    expect(mosFromR(e.r)).toBeCloseTo(4.328, 3);
    expect(e.compute(0, 25.1, 0, 1, 300)).toBeCloseTo(72.666, 3);
    expect(mosFromR(e.r)).toBeCloseTo(3.719, 3);
    expect(e.compute(0, 25.1, 0, 1, 400)).toBeCloseTo(62.247, 3);
    // Below 100 ms Idd is 0: only the echo terms grow.
    e.compute(0, 25.1, 0, 1, 100);
    expect(e.id).toBeCloseTo(2.692, 3);
  });

  it("agrees with the simplified Id (0.024 d + 0.11 (d - 177.3)) within 1 up to 300 ms", () => {
    // Which is why the simple form is common; the firmware uses G.107's own terms.
    const e = new EModel();
    for (let d = 0; d <= 300; d += 10) {
      e.compute(0, 25.1, 0, 1, <f64>d);
      const diff = Math.abs(e.id - delayImpairmentSimple(<f64>d));
      expect(diff).toBeLessThan(1.0, "at " + d.toString() + " ms");
    }
    expect(delayImpairmentSimple(200)).toBeCloseTo(4.8 + 0.11 * 22.7, 6);
  });

  it("combines loss and delay: 1.95% (5/256) loss at 100 ms", () => {
    // Ppl 1.953125%: Ie,eff = 95 x 1.953 / 27.053 = 6.859; Id(100 ms) = 2.692;
    // R = 94.769 - 1.414 - 2.692 - 6.859 = 83.805.
    const e = new EModel();
    expect(e.compute(0, 25.1, 5.0 * 100 / 256, 1, 100)).toBeCloseTo(83.805, 3);
  });
});

describe("MOS and RFC 3611 fields", () => {
  it("maps R to MOS by Annex B, 1 at or below 0 and 4.5 at or above 100", () => {
    expect(mosFromR(0)).toBe(1.0);
    expect(mosFromR(-5)).toBe(1.0);
    expect(mosFromR(NaN)).toBe(1.0);
    expect(mosFromR(100)).toBe(4.5);
    expect(mosFromR(120)).toBe(4.5);
    // 50: 1 + 1.75 + 50 x (-10) x 50 x 7e-6 = 2.575; 80: 1 + 2.8 + 80 x 20 x 20 x 7e-6 = 4.024.
    expect(mosFromR(50)).toBeCloseTo(2.575, 9);
    expect(mosFromR(80)).toBeCloseTo(4.024, 9);
  });

  it("rounds R to 0..100 and MOS x 10 to 10..50, 127 for unavailable", () => {
    expect(rFactorField(86.5)).toBe(87);
    expect(rFactorField(150)).toBe(100);
    expect(rFactorField(-3)).toBe(0);
    expect(rFactorField(NaN)).toBe(127);
    expect(mosField(4.409)).toBe(44);
    expect(mosField(4.45)).toBe(45);
    expect(mosField(0.5)).toBe(10);
    expect(mosField(6)).toBe(50);
    expect(mosField(NaN)).toBe(127);
  });

  it("fills a VoIP Metrics block from its own loss and discard rates", () => {
    // loss 3/256 + discard 2/256 = 5/256 = 1.953%: R(0 ms) = 93.206 - 6.859 = 86.35 -> 86,
    // MOS-LQ 4.24 -> 42; at 100 ms R 83.81 -> 84, MOS-CQ 4.16 -> 42.
    const m = new VoipMetrics();
    m.lossRate = 3;
    m.discardRate = 2;
    const e = new EModel();
    fillVoipQuality(m, e, codecIe(CODEC_G722), codecBpl(CODEC_G722, true), 1, 100);
    expect(m.rFactor).toBe(84);
    expect(m.mosCq).toBe(42);
    expect(m.mosLq).toBe(42);
    expect(m.extRFactor).toBe(127);
    // No loss, no delay: 93 and 44 each.
    m.lossRate = 0;
    m.discardRate = 0;
    fillVoipQuality(m, e, 0, 25.1, 1, 0);
    expect(m.rFactor).toBe(93);
    expect(m.mosCq).toBe(44);
    expect(m.mosLq).toBe(44);
    // Half the packets lost, 400 ms: R = 93.206 - Id 31.1 - 95 x 50 / 75.1 (63.25) < 0 -> 0, MOS 1.
    m.lossRate = 128;
    fillVoipQuality(m, e, 0, 25.1, 1, 400);
    expect(m.rFactor).toBe(0);
    expect(m.mosCq).toBe(10);
  });

  it("rates G.722 and both G.711 laws alike on the narrowband scale, with concealment", () => {
    expect(codecIe(CODEC_G722)).toBe(0);
    expect(codecIe(CODEC_PCMU)).toBe(0);
    expect(codecBpl(CODEC_G722, true)).toBe(25.1);
    expect(codecBpl(CODEC_PCMA, true)).toBe(25.1);
    expect(codecBpl(CODEC_PCMU, false)).toBe(4.3);
  });
});
