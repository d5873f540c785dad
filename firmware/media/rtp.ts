// RTP (RFC 3550 §5.1): the fixed header, CSRC list, header extension (§5.3.1, with the RFC 8285
// one-byte and two-byte element forms) and padding, parsed in place; the header writer and the
// sender state of our one outgoing stream. Sans-IO: random values (SSRC, first sequence number
// and timestamp) are arguments, since a core has no RNG. Nothing allocates after construction.
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// |V=2|P|X|  CC   |M|     PT      |       sequence number         |
// |                           timestamp                           |
// |           synchronization source (SSRC) identifier            |
// |            contributing source (CSRC) identifiers (CC x)      |
// |   defined by profile (X=1)    |  length (32-bit words)        |  then length x 4 bytes
// |   payload ...                 | padding ... | padding count   |  (P=1: the last byte)

import { readU8, readU16BE, readU32BE, writeU8, writeU16BE, writeU32BE } from "../lib/bytes";
import { CodecInfo } from "../audio/codecs";

export const RTP_HEADER_BYTES: i32 = 12;

export const RTP_OK: i32 = 0;
export const RTP_ERR_TOO_SHORT: i32 = -1;      // fewer than 12 bytes, or a writer's buffer too small
export const RTP_ERR_BAD_VERSION: i32 = -2;    // V is not 2
export const RTP_ERR_BAD_PADDING: i32 = -3;    // P set, count 0 or more than what follows the header
export const RTP_ERR_BAD_EXTENSION: i32 = -4;  // X set, extension header or data past the end
export const RTP_ERR_BAD_CSRC_COUNT: i32 = -5; // CC x 4 bytes past the end
export const RTP_ERR_ARGUMENT: i32 = -6;       // a writer was given a payload type or length out of range

/** RFC 8285 profile values of the extension header: one-byte form, and the two-byte form's top 12 bits. */
export const EXT_ONE_BYTE_PROFILE: u32 = 0xbede;
export const EXT_TWO_BYTE_PROFILE: u32 = 0x1000; // 0x100 followed by 4 "appbits"

/** One parsed packet: every field of the header, and where the payload is. Reused per packet. */
export class RtpHeader {
  base: usize = 0;          // address of the packet
  length: i32 = 0;          // its total length
  marker: bool = false;
  payloadType: i32 = 0;
  sequence: u32 = 0;        // 16 bits
  timestamp: u32 = 0;
  ssrc: u32 = 0;
  csrcCount: i32 = 0;
  hasExtension: bool = false;
  extProfile: u32 = 0;      // the 16 "defined by profile" bits
  extOffset: i32 = 0;       // offset of the extension data (after its 4-byte header) in the packet
  extLength: i32 = 0;       // its length in bytes (the header's word count x 4)
  padding: i32 = 0;         // padding bytes at the end, the count byte included (0 if P is clear)
  payloadOffset: i32 = 0;
  payloadLength: i32 = 0;

  /** CSRC i (0 <= i < csrcCount), read in place; 0 outside the list. */
  csrc(i: i32): u32 {
    if (i < 0 || i >= this.csrcCount) return 0;
    return readU32BE(this.base + <usize>(RTP_HEADER_BYTES + 4 * i));
  }

  get payload(): usize { return this.base + <usize>this.payloadOffset; }
}

/** Parses the RTP packet of `len` bytes at `p` into `h`. Returns RTP_OK or an RTP_ERR_* code;
 *  every offset is checked against `len` before it is read. */
export function parseRtp(p: usize, len: i32, h: RtpHeader): i32 {
  if (len < RTP_HEADER_BYTES) return RTP_ERR_TOO_SHORT;
  const b0 = readU8(p);
  if ((b0 >> 6) != 2) return RTP_ERR_BAD_VERSION;
  const cc = <i32>(b0 & 0x0f);
  let at = RTP_HEADER_BYTES + 4 * cc;
  if (at > len) return RTP_ERR_BAD_CSRC_COUNT;
  const b1 = readU8(p + 1);
  h.base = p;
  h.length = len;
  h.marker = (b1 & 0x80) != 0;
  h.payloadType = <i32>(b1 & 0x7f);
  h.sequence = readU16BE(p + 2);
  h.timestamp = readU32BE(p + 4);
  h.ssrc = readU32BE(p + 8);
  h.csrcCount = cc;
  h.hasExtension = (b0 & 0x10) != 0;
  h.extProfile = 0;
  h.extOffset = 0;
  h.extLength = 0;
  if (h.hasExtension) {
    if (at + 4 > len) return RTP_ERR_BAD_EXTENSION;
    h.extProfile = readU16BE(p + <usize>at);
    const words = <i32>readU16BE(p + <usize>(at + 2));
    at += 4;
    // words <= 65535, so at + 4 x words stays far inside i32.
    if (at + 4 * words > len) return RTP_ERR_BAD_EXTENSION;
    h.extOffset = at;
    h.extLength = 4 * words;
    at += 4 * words;
  }
  let padding = 0;
  if ((b0 & 0x20) != 0) {
    // The count includes itself, so 0 is malformed; it may not reach back into the header.
    padding = <i32>readU8(p + <usize>(len - 1));
    if (padding == 0 || padding > len - at) return RTP_ERR_BAD_PADDING;
  }
  h.padding = padding;
  h.payloadOffset = at;
  h.payloadLength = len - at - padding;
  return RTP_OK;
}

/** Walks the RFC 8285 elements of a parsed packet's extension, never past its end. A profile
 *  that is neither form yields no elements (the extension is opaque to us). */
export class RtpExtensionReader {
  id: i32 = 0;        // element ID: 1..14 (one-byte form), 1..255 (two-byte form)
  data: usize = 0;    // address of the element's data
  length: i32 = 0;    // its length: 1..16 (one-byte form), 0..255 (two-byte form)
  appBits: i32 = 0;   // the two-byte form's low 4 profile bits
  private pos: usize = 0;
  private end: usize = 0;
  private form: i32 = 0; // 0: none or done, 1: one-byte, 2: two-byte

  /** Starts on h's extension; false when it has none in an RFC 8285 form. */
  reset(h: RtpHeader): bool {
    this.pos = h.base + <usize>h.extOffset;
    this.end = this.pos + <usize>h.extLength;
    this.appBits = 0;
    this.form = 0;
    if (!h.hasExtension) return false;
    if (h.extProfile == EXT_ONE_BYTE_PROFILE) this.form = 1;
    else if ((h.extProfile & 0xfff0) == EXT_TWO_BYTE_PROFILE) { this.form = 2; this.appBits = <i32>(h.extProfile & 0x0f); }
    return this.form != 0;
  }

  /** Moves to the next element: 1 when there is one (id, data, length set), 0 at the end,
   *  RTP_ERR_BAD_EXTENSION when an element claims more bytes than the extension has left. */
  next(): i32 {
    while (this.form != 0 && this.pos < this.end) {
      const b = readU8(this.pos);
      if (b == 0) { this.pos++; continue; } // a padding byte, between or after elements
      if (this.form == 1) {
        const id = <i32>(b >> 4);
        // ID 15 is reserved: RFC 8285 §4.2 says stop there and keep what came before.
        if (id == 15) break;
        const n = <i32>(b & 0x0f) + 1;
        if (<usize>n > this.end - this.pos - 1) return this.fail();
        this.id = id;
        this.data = this.pos + 1;
        this.length = n;
        this.pos += 1 + <usize>n;
        return 1;
      }
      if (this.end - this.pos < 2) return this.fail();
      const n = <i32>readU8(this.pos + 1);
      if (<usize>n > this.end - this.pos - 2) return this.fail();
      this.id = <i32>b;
      this.data = this.pos + 2;
      this.length = n;
      this.pos += 2 + <usize>n;
      return 1;
    }
    this.form = 0;
    return 0;
  }

  private fail(): i32 { this.form = 0; return RTP_ERR_BAD_EXTENSION; }
}

/** Writes a 12-byte header (V=2, no padding, extension or CSRCs) at p. Returns 12, or
 *  RTP_ERR_TOO_SHORT if cap < 12, RTP_ERR_ARGUMENT for a payload type outside 0..127. */
export function writeRtpHeader(p: usize, cap: i32, marker: bool, pt: i32, seq: u32, ts: u32, ssrc: u32): i32 {
  if (cap < RTP_HEADER_BYTES) return RTP_ERR_TOO_SHORT;
  if (pt < 0 || pt > 127) return RTP_ERR_ARGUMENT;
  writeU8(p, 0x80);
  writeU8(p + 1, (marker ? 0x80 : 0) | <u32>pt);
  writeU16BE(p + 2, seq & 0xffff);
  writeU32BE(p + 4, ts);
  writeU32BE(p + 8, ssrc);
  return RTP_HEADER_BYTES;
}

/** Our outgoing stream: SSRC, next sequence number and timestamp, the SR's counters, and the
 *  SSRC collision rule of RFC 3550 §8.2. */
export class RtpSender {
  ssrc: u32 = 0;
  sequence: u32 = 0;      // of the next packet, 16 bits
  timestamp: u32 = 0;     // of the next frame
  packets: u32 = 0;       // sent since this SSRC began (the SR's sender packet count)
  octets: u32 = 0;        // payload octets sent since then (the SR's sender octet count)
  oldSsrc: u32 = 0;       // after a collision: the SSRC given up, for the caller's BYE
  collisions: u32 = 0;

  constructor(readonly codec: CodecInfo, ssrc: u32, firstSequence: u32, firstTimestamp: u32) {
    this.reset(ssrc, firstSequence, firstTimestamp);
  }

  /** A new stream: random SSRC, sequence number and timestamp (RFC 3550 §5.1 wants the latter
   *  two random so that known-plaintext attacks on SRTP get no help), counters cleared. */
  reset(ssrc: u32, firstSequence: u32, firstTimestamp: u32): void {
    this.ssrc = ssrc;
    this.sequence = firstSequence & 0xffff;
    this.timestamp = firstTimestamp;
    this.packets = 0;
    this.octets = 0;
  }

  /** Writes header + payload (`bytes` bytes at `payload`, a frame of `samples` audio samples)
   *  at `out`; returns the packet length or RTP_ERR_TOO_SHORT / RTP_ERR_ARGUMENT, in which case
   *  nothing advances. The sequence number then advances by 1 and the timestamp by the frame's
   *  RTP clock ticks (for G.722 half its samples: its RTP clock is 8 kHz). */
  packetize(payload: usize, bytes: i32, samples: i32, marker: bool, out: usize, cap: i32): i32 {
    if (bytes < 0 || samples < 0) return RTP_ERR_ARGUMENT;
    if (bytes > cap - RTP_HEADER_BYTES) return RTP_ERR_TOO_SHORT;
    const n = writeRtpHeader(out, cap, marker, this.codec.payloadType, this.sequence, this.timestamp, this.ssrc);
    if (n < 0) return n;
    memory.copy(out + <usize>n, payload, <usize>bytes);
    this.sequence = (this.sequence + 1) & 0xffff;
    this.advance(samples);
    this.packets++;
    this.octets += <u32>bytes;
    return n + bytes;
  }

  /** Advances the timestamp over `samples` samples not sent (silence): the receiver's
   *  playout clock keeps running, so the next packet's timestamp must too. */
  advance(samples: i32): void {
    if (samples > 0) this.timestamp += <u32>this.codec.timestampStep(samples);
  }

  /** Called with the SSRC of every RTP or RTCP packet that arrives from the peer. If it is ours,
   *  two sources share an identifier (RFC 3550 §8.2): we move to a new one, `random`, made to
   *  differ from the colliding value; oldSsrc holds the one to send an RTCP BYE for. Returns
   *  true when that happened. The SR counters restart, as §6.4.1 asks on an SSRC change. */
  onRemoteSsrc(remote: u32, random: u32): bool {
    if (remote != this.ssrc) return false;
    this.oldSsrc = this.ssrc;
    this.ssrc = random != remote ? random : random ^ 0x5a5a5a5a;
    this.packets = 0;
    this.octets = 0;
    this.collisions++;
    return true;
  }
}
