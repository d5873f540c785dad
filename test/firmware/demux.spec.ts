// One-port demultiplexing (firmware/media/demux.ts): RFC 7983's first-byte ranges and RFC
// 5761's RTP/RTCP split on the second byte.
import {
  demux, DEMUX_UNKNOWN, DEMUX_STUN, DEMUX_ZRTP, DEMUX_DTLS, DEMUX_TURN_CHANNEL, DEMUX_RTP, DEMUX_RTCP,
} from "../../firmware/media/demux";

const buf = memory.data(16);

/** The class RFC 7983 §7 gives a first byte (and RFC 5761 a second), written out as ranges. */
function expected(b0: i32, b1: i32): i32 {
  if (b0 >= 0 && b0 <= 3) return DEMUX_STUN;
  if (b0 >= 16 && b0 <= 19) return DEMUX_ZRTP;
  if (b0 >= 20 && b0 <= 63) return DEMUX_DTLS;
  if (b0 >= 64 && b0 <= 79) return DEMUX_TURN_CHANNEL;
  if (b0 >= 128 && b0 <= 191) return b1 >= 192 && b1 <= 223 ? DEMUX_RTCP : DEMUX_RTP;
  return DEMUX_UNKNOWN;
}

function classify(b0: i32, b1: i32, len: i32): i32 {
  store<u8>(buf, <u8>b0);
  store<u8>(buf + 1, <u8>b1);
  return demux(buf, len);
}

describe("demux", () => {
  it("classifies every first byte by RFC 7983's table", () => {
    for (let b0 = 0; b0 < 256; b0++) {
      expect(classify(b0, 0x00, 2)).toBe(expected(b0, 0x00), "first byte " + b0.toString());
    }
  });

  it("tells RTCP from RTP by the second byte: 192..223 is RTCP", () => {
    for (let b1 = 0; b1 < 256; b1++) {
      expect(classify(0x80, b1, 2)).toBe(expected(0x80, b1), "second byte " + b1.toString());
    }
    expect(classify(0x81, 200, 8)).toBe(DEMUX_RTCP, "SR");
    expect(classify(0x80, 201, 8)).toBe(DEMUX_RTCP, "RR");
    expect(classify(0x80, 207, 8)).toBe(DEMUX_RTCP, "XR");
    expect(classify(0x80, 191, 12)).toBe(DEMUX_RTP, "PT 63 with the marker");
    expect(classify(0x80, 224, 12)).toBe(DEMUX_RTP, "PT 96 with the marker");
    expect(classify(0x80, 0x89, 12)).toBe(DEMUX_RTP, "G.722 with the marker");
    expect(classify(0x90, 0x09, 12)).toBe(DEMUX_RTP, "with an extension");
  });

  it("recognises real first bytes: STUN request, DTLS handshake, ZRTP, TURN channel", () => {
    expect(classify(0x00, 0x01, 20)).toBe(DEMUX_STUN, "binding request");
    expect(classify(0x01, 0x01, 20)).toBe(DEMUX_STUN, "binding success response");
    expect(classify(0x16, 0xfe, 13)).toBe(DEMUX_DTLS, "handshake record, DTLS 1.2");
    expect(classify(0x17, 0xfe, 13)).toBe(DEMUX_DTLS, "application data");
    expect(classify(0x10, 0x00, 12)).toBe(DEMUX_ZRTP);
    expect(classify(0x40, 0x00, 4)).toBe(DEMUX_TURN_CHANNEL, "channel 0x4000");
    expect(classify(0x4f, 0xff, 4)).toBe(DEMUX_TURN_CHANNEL, "channel 0x4FFF");
    expect(classify(0x50, 0x00, 4)).toBe(DEMUX_UNKNOWN, "0x5000 is not a channel number");
    expect(classify(0xc0, 0xc8, 8)).toBe(DEMUX_UNKNOWN, "version 3");
  });

  it("never reads a byte that is not there", () => {
    // A datagram of 0 or 1 byte placed at the very end of linear memory: reading on would trap.
    const end = <usize>(memory.grow(1) + 1) << 16;
    expect(demux(end, 0)).toBe(DEMUX_UNKNOWN);
    store<u8>(end - 1, 0x80);
    expect(demux(end - 1, 1)).toBe(DEMUX_UNKNOWN, "RTP or RTCP cannot be told from 1 byte");
    store<u8>(end - 1, 0x00);
    expect(demux(end - 1, 1)).toBe(DEMUX_STUN, "the first byte is enough for the rest");
    expect(demux(buf, -5)).toBe(DEMUX_UNKNOWN);
  });
});
