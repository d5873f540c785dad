// The codec registry (firmware/audio/codecs.ts) and the G.722 classes' edges (their
// bit-exactness is proven on the host: test/host/g722-vectors, test/interop/g722).
import { CODECS, CODEC_G722, CODEC_PCMU, CODEC_PCMA, codecByPayloadType } from "../../firmware/audio/codecs";
import { G722Encoder, G722Decoder } from "../../firmware/audio/g722";

const pcm = memory.data(2 * 640);
const codes = memory.data(320);

describe("codec registry", () => {
  it("lists G.722, PCMU and PCMA with their RFC 3551 static payload types and clocks", () => {
    expect(CODECS.length).toBe(3);
    const g722 = CODECS[CODEC_G722];
    expect(g722.name).toBe("G722");
    expect(g722.payloadType).toBe(9);
    expect(g722.clockRate).toBe(8000, "RFC 3551: the 8 kHz clock of the original assignment");
    expect(g722.sampleRate).toBe(16000);
    expect(g722.bitrate).toBe(64000);
    expect(CODECS[CODEC_PCMU].payloadType).toBe(0);
    expect(CODECS[CODEC_PCMA].payloadType).toBe(8);
  });

  it("turns samples into RTP timestamp units and milliseconds into payload bytes", () => {
    expect(CODECS[CODEC_G722].timestampStep(320)).toBe(160, "20 ms of G.722 advance the timestamp by 160");
    expect(CODECS[CODEC_PCMU].timestampStep(160)).toBe(160);
    expect(CODECS[CODEC_G722].frameBytes(20)).toBe(160);
    expect(CODECS[CODEC_PCMA].frameBytes(30)).toBe(240);
  });

  it("finds a codec by payload type, and nothing for an unknown one", () => {
    expect(codecByPayloadType(9)!.name).toBe("G722");
    expect(codecByPayloadType(8)!.name).toBe("PCMA");
    expect(codecByPayloadType(101)).toBeNull();
  });
});

describe("G.722 edges", () => {
  it("refuses an odd or negative sample count without writing anything", () => {
    const e = new G722Encoder(1);
    memory.fill(codes, 0xee, 320);
    expect(e.encode(pcm, 321, codes)).toBe(-1);
    expect(e.encode(pcm, -2, codes)).toBe(-1);
    expect(load<u8>(codes)).toBe(0xee);
    expect(e.encode(pcm, 0, codes)).toBe(0);
  });

  it("encodes one byte per sample pair, and clears the auxiliary bits in modes 2 and 3", () => {
    for (let i = 0; i < 640; i++) store<i16>(pcm + (<usize>i << 1), <i16>(i * 97 % 4000 - 2000));
    for (let mode = 1; mode <= 3; mode++) {
      const e = new G722Encoder(mode);
      expect(e.encode(pcm, 640, codes)).toBe(320);
      const mask = mode == 1 ? 0 : mode == 2 ? 1 : 3;
      let stray = 0;
      for (let i = 0; i < 320; i++) stray |= load<u8>(codes + <usize>i) & mask;
      expect(stray).toBe(0, "mode " + mode.toString());
    }
  });

  it("decodes n codes into 2n samples; refuses nothing odd, conceals only whole pairs", () => {
    const d = new G722Decoder(1);
    expect(d.decode(codes, 160, pcm)).toBe(320);
    expect(d.decode(codes, 0, pcm)).toBe(0);
    expect(d.conceal(pcm, 320)).toBe(320);
    expect(d.conceal(pcm, 7)).toBe(0);
    expect(d.conceal(pcm, -320)).toBe(0);
  });

  it("is deterministic: reset() returns both directions to their initial state", () => {
    const e = new G722Encoder(1);
    e.encode(pcm, 640, codes);
    const first = load<u64>(codes);
    e.encode(pcm, 640, codes);
    e.reset();
    e.encode(pcm, 640, codes);
    expect(load<u64>(codes)).toBe(first);
  });
});
