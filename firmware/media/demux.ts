// One UDP port carries STUN, DTLS, ZRTP, TURN channel data, RTP and RTCP: the first byte tells
// them apart (RFC 7983 §7), and RTCP from RTP by the second byte (RFC 5761 §4). Classification
// only: each protocol's own parser checks the rest.
//
//  first byte   protocol
//  0..3         STUN
//  16..19       ZRTP
//  20..63       DTLS
//  64..79       TURN channel data
//  128..191     RTP or RTCP: second byte 192..223 (RTCP types 192..223; RTP types 64..95 with
//               the marker bit look the same, which is why RFC 5761 keeps those RTP types free)
//  anything else: unknown (the caller counts it as a drop)

export const DEMUX_UNKNOWN: i32 = 0;
export const DEMUX_STUN: i32 = 1;
export const DEMUX_ZRTP: i32 = 2;
export const DEMUX_DTLS: i32 = 3;
export const DEMUX_TURN_CHANNEL: i32 = 4;
export const DEMUX_RTP: i32 = 5;
export const DEMUX_RTCP: i32 = 6;

/** The protocol of the datagram of `len` bytes at p: one of DEMUX_*. */
export function demux(p: usize, len: i32): i32 {
  if (len < 1) return DEMUX_UNKNOWN;
  const b = <i32>load<u8>(p);
  if (b <= 3) return DEMUX_STUN;
  if (b >= 16 && b <= 19) return DEMUX_ZRTP;
  if (b >= 20 && b <= 63) return DEMUX_DTLS;
  if (b >= 64 && b <= 79) return DEMUX_TURN_CHANNEL;
  if (b >= 128 && b <= 191) {
    if (len < 2) return DEMUX_UNKNOWN; // no second byte to decide by
    const pt = <i32>load<u8>(p + 1);
    return pt >= 192 && pt <= 223 ? DEMUX_RTCP : DEMUX_RTP;
  }
  return DEMUX_UNKNOWN;
}
