// G.711 (firmware/audio/g711.ts): PCMU (µ-law) and PCMA (A-law).
//
// The expected decode values are built here from the Recommendation's own description, not from
// the firmware's formulas:
//   µ-law, 14-bit: segment e (0..7) begins at decision value 2^(e+5) - 33 and holds 16 steps of
//     2^(e+1); the decoder outputs each step's midpoint. The code is sent with every bit
//     inverted: bit 7 set = positive, segment = 7 - bits 6..4, step = 15 - bits 3..0.
//   A-law, 13-bit: segment 0 begins at 0, segment e > 0 at 2^(e+4); segments 0 and 1 have
//     steps of 2, segment e > 1 steps of 2^e; the decoder outputs the midpoint. The even bits
//     are inverted (XOR 0x55); then bit 7 set = positive, bits 6..4 segment, bits 3..0 step.
// Our samples are 16-bit: µ-law values times 4, A-law values times 8.
// The fixed encode points in "matches spandsp" were computed with spandsp 0.0.6's
// linear_to_ulaw / linear_to_alaw (gcc against /usr/include/spandsp/g711.h) before writing this.
import {
  alawToLinear, linearToAlaw, linearToUlaw, ulawToLinear,
  PcmaDecoder, PcmaEncoder, PcmuDecoder, PcmuEncoder, G711_MAX_SAMPLES,
} from "../../firmware/audio/g711";

function ulawG711(code: i32): i32 {
  const e = 7 - ((code >> 4) & 7);
  const q = 15 - (code & 15);
  const v = (1 << (e + 5)) - 33 + (q << (e + 1)) + (1 << e);
  return (code & 0x80) != 0 ? v * 4 : -v * 4;
}

function alawG711(code: i32): i32 {
  const c = code ^ 0x55;
  const e = (c >> 4) & 7;
  const q = c & 15;
  const start = e == 0 ? 0 : 1 << (e + 4);
  const step = e <= 1 ? 2 : 1 << e;
  const v = start + q * step + (step >> 1);
  return (c & 0x80) != 0 ? v * 8 : -v * 8;
}

const NONE: i32 = i32.MIN_VALUE; // "no such input" in the exhaustive loops

const FRAME: i32 = 160; // 20 ms at 8 kHz
const GUARD: i32 = 8;
const pcm = memory.data((G711_MAX_SAMPLES + GUARD) * 2);
const bytes = memory.data(G711_MAX_SAMPLES + GUARD);
const out = memory.data((G711_MAX_SAMPLES + GUARD) * 2);

function fillPcm(n: i32): void {
  // a loud, sign-alternating ramp through every segment: -32768, 32309, -31850, ...
  for (let i = 0; i < n; i++) {
    const v = -32768 + ((i * 459) % 65536);
    store<i16>(pcm + <usize>(i * 2), <i16>(i & 1 ? v : -v - 1));
  }
}
function fillBytes(n: i32): void {
  for (let i = 0; i < n; i++) store<u8>(bytes + <usize>i, <u8>(i * 37 + 11));
}
function poisonBytes(): void { memory.fill(bytes, 0xa5, <usize>(G711_MAX_SAMPLES + GUARD)); }
function poisonOut(): void { memory.fill(out, 0xa5, <usize>((G711_MAX_SAMPLES + GUARD) * 2)); }
function byteAt(i: i32): u8 { return load<u8>(bytes + <usize>i); }
function outAt(i: i32): i16 { return load<i16>(out + <usize>(i * 2)); }
function pcmAt(i: i32): i16 { return load<i16>(pcm + <usize>(i * 2)); }

describe("µ-law decode", () => {
  it("gives G.711's reconstruction value, times 4, for all 256 codes", () => {
    for (let c = 0; c < 256; c++) expect<i32>(ulawToLinear(<u8>c)).toBe(ulawG711(c), "code " + c.toString());
  });

  it("gives the Recommendation's values for the representative codes", () => {
    expect<i16>(ulawToLinear(0xff)).toBe(0);
    expect<i16>(ulawToLinear(0x7f)).toBe(0);
    expect<i16>(ulawToLinear(0x80)).toBe(32124); // 8031 << 2
    expect<i16>(ulawToLinear(0x00)).toBe(-32124);
    expect<i16>(ulawToLinear(0xfe)).toBe(8); // 2 << 2
    expect<i16>(ulawToLinear(0xef)).toBe(132); // 33 << 2, first step of segment 1
    expect<i16>(ulawToLinear(0x6f)).toBe(-132);
  });
});

describe("A-law decode", () => {
  it("gives G.711's reconstruction value, times 8, for all 256 codes", () => {
    for (let c = 0; c < 256; c++) expect<i32>(alawToLinear(<u8>c)).toBe(alawG711(c), "code " + c.toString());
  });

  it("gives the Recommendation's values for the representative codes", () => {
    expect<i16>(alawToLinear(0xd5)).toBe(8);
    expect<i16>(alawToLinear(0x55)).toBe(-8);
    expect<i16>(alawToLinear(0xaa)).toBe(32256); // 4032 << 3
    expect<i16>(alawToLinear(0x2a)).toBe(-32256);
    expect<i16>(alawToLinear(0xc5)).toBe(264); // 33 << 3, first step of segment 1
  });

  it("has no zero output: A-law's smallest values are +8 and -8", () => {
    for (let c = 0; c < 256; c++) expect<i16>(alawToLinear(<u8>c)).not.toBe(0, "code " + c.toString());
  });
});

describe("µ-law encode", () => {
  it("codes every decoded value back to its own code, except -0 (0x7F): 0 codes to +0 (0xFF)", () => {
    for (let c = 0; c < 256; c++) {
      if (c == 0x7f) continue;
      expect<u8>(linearToUlaw(ulawToLinear(<u8>c))).toBe(<u8>c, "code " + c.toString());
    }
    expect<u8>(linearToUlaw(ulawToLinear(0x7f))).toBe(0xff);
    expect<u8>(linearToUlaw(0)).toBe(0xff);
  });

  it("is monotonic over all 65,536 inputs and uses 255 codes (never 0x7F)", () => {
    let prev = ulawToLinear(linearToUlaw(-32768));
    let levels = 1;
    let minusZero = 0;
    let firstDown = NONE; // the first input whose output is below its predecessor's
    for (let x = -32767; x <= 32767; x++) {
      const code = linearToUlaw(x);
      if (code == 0x7f) minusZero++;
      const y = ulawToLinear(code);
      if (y < prev && firstDown == NONE) firstDown = x;
      if (y != prev) levels++;
      prev = y;
    }
    expect<i32>(firstDown).toBe(NONE, "first input where the output goes down");
    // 0x7F and 0xFF both decode to 0: -1..-3 code to 0x7F, so 0 is one level reached by two codes
    expect<i32>(levels).toBe(255);
    expect<i32>(minusZero).toBe(3);
  });

  it("matches spandsp at fixed points, including the truncated low bits and the clip", () => {
    expect<u8>(linearToUlaw(3)).toBe(0xff);
    expect<u8>(linearToUlaw(4)).toBe(0xfe); // 14-bit 1 is a decision value: it goes up
    expect<u8>(linearToUlaw(-3)).toBe(0x7f);
    expect<u8>(linearToUlaw(-4)).toBe(0x7e); // and so does -1, by magnitude
    expect<u8>(linearToUlaw(123)).toBe(0xf0);
    expect<u8>(linearToUlaw(124)).toBe(0xef); // 14-bit 31, first value of segment 1
    expect<u8>(linearToUlaw(-124)).toBe(0x6f);
    expect<u8>(linearToUlaw(1000)).toBe(0xce);
    expect<u8>(linearToUlaw(-1000)).toBe(0x4e);
    expect<u8>(linearToUlaw(32635)).toBe(0x80);
    expect<u8>(linearToUlaw(32767)).toBe(0x80);
    expect<u8>(linearToUlaw(-32768)).toBe(0x00);
  });

  it("saturates inputs outside 16 bits instead of wrapping", () => {
    expect<u8>(linearToUlaw(40000)).toBe(0x80);
    expect<u8>(linearToUlaw(0x7fffffff)).toBe(0x80);
    expect<u8>(linearToUlaw(-40000)).toBe(0x00);
    expect<u8>(linearToUlaw(-0x80000000)).toBe(0x00);
    expect<u8>(linearToUlaw(65536)).toBe(0x80); // would be 0xFF if it wrapped to 0
  });
});

describe("A-law encode", () => {
  it("codes every decoded value back to its own code, all 256", () => {
    for (let c = 0; c < 256; c++) {
      expect<u8>(linearToAlaw(alawToLinear(<u8>c))).toBe(<u8>c, "code " + c.toString());
    }
  });

  it("is monotonic over all 65,536 inputs and uses all 256 codes", () => {
    let prev = alawToLinear(linearToAlaw(-32768));
    let levels = 1;
    let firstDown = NONE;
    for (let x = -32767; x <= 32767; x++) {
      const y = alawToLinear(linearToAlaw(x));
      if (y < prev && firstDown == NONE) firstDown = x;
      if (y != prev) levels++;
      prev = y;
    }
    expect<i32>(firstDown).toBe(NONE, "first input where the output goes down");
    expect<i32>(levels).toBe(256);
  });

  it("matches spandsp at fixed points, including the one's complement of negatives", () => {
    expect<u8>(linearToAlaw(0)).toBe(0xd5);
    expect<u8>(linearToAlaw(15)).toBe(0xd5);
    expect<u8>(linearToAlaw(16)).toBe(0xd4); // 13-bit 2 is a decision value: it goes up
    expect<u8>(linearToAlaw(-1)).toBe(0x55);
    expect<u8>(linearToAlaw(-16)).toBe(0x55); // -16 stays in the first negative step
    expect<u8>(linearToAlaw(-17)).toBe(0x54);
    expect<u8>(linearToAlaw(32)).toBe(0xd7);
    expect<u8>(linearToAlaw(1000)).toBe(0xfa);
    expect<u8>(linearToAlaw(-1000)).toBe(0x7a);
    expect<u8>(linearToAlaw(32767)).toBe(0xaa);
    expect<u8>(linearToAlaw(-32768)).toBe(0x2a);
  });

  it("saturates inputs outside 16 bits instead of wrapping", () => {
    expect<u8>(linearToAlaw(40000)).toBe(0xaa);
    expect<u8>(linearToAlaw(0x7fffffff)).toBe(0xaa);
    expect<u8>(linearToAlaw(-40000)).toBe(0x2a);
    expect<u8>(linearToAlaw(-0x80000000)).toBe(0x2a);
    expect<u8>(linearToAlaw(65536)).toBe(0xaa);
  });
});

describe("PcmuEncoder / PcmaEncoder", () => {
  it("PCMU writes one byte per sample, each linearToUlaw of its sample, nothing past", () => {
    fillPcm(FRAME); poisonBytes();
    const e = new PcmuEncoder();
    expect<i32>(e.encode(pcm, FRAME, bytes)).toBe(FRAME);
    for (let i = 0; i < FRAME; i++) expect<u8>(byteAt(i)).toBe(linearToUlaw(pcmAt(i)), "sample " + i.toString());
    expect<u8>(byteAt(FRAME)).toBe(0xa5);
  });

  it("PCMA writes one byte per sample, each linearToAlaw of its sample, nothing past", () => {
    fillPcm(FRAME); poisonBytes();
    const e = new PcmaEncoder();
    expect<i32>(e.encode(pcm, FRAME, bytes)).toBe(FRAME);
    for (let i = 0; i < FRAME; i++) expect<u8>(byteAt(i)).toBe(linearToAlaw(pcmAt(i)), "sample " + i.toString());
    expect<u8>(byteAt(FRAME)).toBe(0xa5);
  });

  it("accept 1 sample and exactly maxSamples", () => {
    fillPcm(G711_MAX_SAMPLES); poisonBytes();
    expect<i32>(new PcmuEncoder().encode(pcm, 1, bytes)).toBe(1);
    expect<u8>(byteAt(1)).toBe(0xa5);
    expect<i32>(new PcmaEncoder().encode(pcm, G711_MAX_SAMPLES, bytes)).toBe(G711_MAX_SAMPLES);
    expect<u8>(byteAt(G711_MAX_SAMPLES - 1)).toBe(linearToAlaw(pcmAt(G711_MAX_SAMPLES - 1)));
    expect<u8>(byteAt(G711_MAX_SAMPLES)).toBe(0xa5);
  });

  it("refuse 0, negative and over-limit lengths: return 0, write nothing", () => {
    fillPcm(FRAME);
    const u = new PcmuEncoder(FRAME);
    const a = new PcmaEncoder(FRAME);
    const bad: StaticArray<i32> = [0, -1, -160, i32.MIN_VALUE, FRAME + 1, i32.MAX_VALUE];
    for (let k = 0; k < bad.length; k++) {
      poisonBytes();
      expect<i32>(u.encode(pcm, bad[k], bytes)).toBe(0, "PCMU, length " + bad[k].toString());
      expect<i32>(a.encode(pcm, bad[k], bytes)).toBe(0, "PCMA, length " + bad[k].toString());
      for (let i = 0; i < FRAME + GUARD; i++) expect<u8>(byteAt(i)).toBe(0xa5);
    }
    expect<i32>(u.encode(pcm, FRAME, bytes)).toBe(FRAME); // still works after refusals
  });

  it("reset() changes nothing: G.711 coding has no state", () => {
    fillPcm(FRAME);
    const e = new PcmuEncoder();
    e.encode(pcm, FRAME, bytes);
    const first = byteAt(7);
    e.reset();
    poisonBytes();
    expect<i32>(e.encode(pcm, FRAME, bytes)).toBe(FRAME);
    expect<u8>(byteAt(7)).toBe(first);
  });
});

describe("PcmuDecoder / PcmaDecoder", () => {
  it("PCMU: a first frame decodes to one sample per byte, each ulawToLinear, nothing past", () => {
    fillBytes(FRAME); poisonOut();
    const d = new PcmuDecoder();
    expect<i32>(d.decode(bytes, FRAME, out)).toBe(FRAME);
    for (let i = 0; i < FRAME; i++) expect<i16>(outAt(i)).toBe(ulawToLinear(byteAt(i)), "sample " + i.toString());
    expect<i16>(outAt(FRAME)).toBe(<i16>0xa5a5);
  });

  it("PCMA: a first frame decodes to one sample per byte, each alawToLinear, nothing past", () => {
    fillBytes(FRAME); poisonOut();
    const d = new PcmaDecoder();
    expect<i32>(d.decode(bytes, FRAME, out)).toBe(FRAME);
    for (let i = 0; i < FRAME; i++) expect<i16>(outAt(i)).toBe(alawToLinear(byteAt(i)), "sample " + i.toString());
    expect<i16>(outAt(FRAME)).toBe(<i16>0xa5a5);
  });

  it("conceal() fills exactly the lost frame's samples and returns their count", () => {
    fillBytes(FRAME);
    const u = new PcmuDecoder();
    const a = new PcmaDecoder();
    u.decode(bytes, FRAME, out);
    a.decode(bytes, FRAME, out);
    poisonOut();
    expect<i32>(u.conceal(out, FRAME)).toBe(FRAME);
    expect<i16>(outAt(FRAME)).toBe(<i16>0xa5a5);
    poisonOut();
    expect<i32>(a.conceal(out, FRAME)).toBe(FRAME);
    expect<i16>(outAt(FRAME)).toBe(<i16>0xa5a5);
    // and the good frame after the loss is decoded at full length
    expect<i32>(u.decode(bytes, FRAME, out)).toBe(FRAME);
    expect<i32>(a.decode(bytes, FRAME, out)).toBe(FRAME);
  });

  it("refuse 0, negative and over-limit lengths in decode and conceal: return 0, write nothing", () => {
    fillBytes(FRAME + GUARD);
    const u = new PcmuDecoder(FRAME);
    const a = new PcmaDecoder(FRAME);
    const bad: StaticArray<i32> = [0, -1, -160, i32.MIN_VALUE, FRAME + 1, i32.MAX_VALUE];
    for (let k = 0; k < bad.length; k++) {
      poisonOut();
      const what = ", length " + bad[k].toString();
      expect<i32>(u.decode(bytes, bad[k], out)).toBe(0, "PCMU decode" + what);
      expect<i32>(a.decode(bytes, bad[k], out)).toBe(0, "PCMA decode" + what);
      expect<i32>(u.conceal(out, bad[k])).toBe(0, "PCMU conceal" + what);
      expect<i32>(a.conceal(out, bad[k])).toBe(0, "PCMA conceal" + what);
      for (let i = 0; i < FRAME + GUARD; i++) expect<i16>(outAt(i)).toBe(<i16>0xa5a5);
    }
    expect<i32>(u.decode(bytes, FRAME, out)).toBe(FRAME); // still works after refusals
    expect<i32>(a.decode(bytes, 1, out)).toBe(1);
  });

  it("after reset() the next frame decodes exactly again", () => {
    fillBytes(FRAME);
    const d = new PcmaDecoder();
    d.decode(bytes, FRAME, out);
    d.conceal(out, FRAME);
    d.reset();
    poisonOut();
    expect<i32>(d.decode(bytes, FRAME, out)).toBe(FRAME);
    for (let i = 0; i < FRAME; i++) expect<i16>(outAt(i)).toBe(alawToLinear(byteAt(i)), "sample " + i.toString());
  });
});
