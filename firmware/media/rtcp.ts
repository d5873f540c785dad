// RTCP (RFC 3550 §6): SR, RR, SDES, BYE and XR (RFC 3611) writers and in-place parsers, the
// compound-packet walker (with RFC 5506 reduced-size packets), the transmission interval of
// §6.3 / Appendix A.7, round-trip time (§6.4.1) and NTP timestamps. Sans-IO: times and random
// values are arguments. Nothing allocates after construction; every length is checked.
//
// Every RTCP packet starts with the same word:
//  |V=2|P|  count  |      PT       |  length (32-bit words - 1)    |

import { readU8, readU16BE, readU32BE, writeU8, writeU16BE, writeU32BE } from "../lib/bytes";

export const RTCP_SR: i32 = 200;
export const RTCP_RR: i32 = 201;
export const RTCP_SDES: i32 = 202;
export const RTCP_BYE: i32 = 203;
export const RTCP_APP: i32 = 204;
export const RTCP_XR: i32 = 207;

export const SDES_END: i32 = 0;
export const SDES_CNAME: i32 = 1;

export const XR_VOIP_METRICS: i32 = 7;          // RFC 3611 §4.7 block type
export const XR_VOIP_METRICS_BYTES: i32 = 36;   // block length field 8: 9 words
export const REPORT_BLOCK_BYTES: i32 = 24;
export const MAX_REPORT_BLOCKS: i32 = 31;       // the 5-bit count

export const RTCP_OK: i32 = 0;
export const RTCP_ERR_TOO_SHORT: i32 = -1;     // fewer than 4 bytes where a header must be
export const RTCP_ERR_BAD_VERSION: i32 = -2;
export const RTCP_ERR_BAD_LENGTH: i32 = -3;    // a length field past the end, or a compound not ending on a packet
export const RTCP_ERR_BAD_PADDING: i32 = -4;   // padding on a packet that is not the last, or a bad count
export const RTCP_ERR_FIRST_PACKET: i32 = -5;  // a compound packet that does not start with SR or RR
export const RTCP_ERR_WRONG_TYPE: i32 = -6;    // a parser given a packet of another type
export const RTCP_ERR_BAD_COUNT: i32 = -7;     // more report blocks / SSRCs / chunks than the packet holds
export const RTCP_ERR_BAD_ITEM: i32 = -8;      // an SDES item, BYE reason or XR block past its packet
export const RTCP_ERR_CAPACITY: i32 = -9;      // a writer's buffer too small, or an argument out of range

const RTCP_HEADER_BYTES: i32 = 4;

// ---------------------------------------------------------------------------------------------
// Report blocks and the SR / RR packets

/** One reception report block (RFC 3550 §6.4.1). */
export class ReportBlock {
  ssrc: u32 = 0;            // the source this block reports on
  fractionLost: u32 = 0;    // 8 bits: lost / expected in the interval, x 256
  cumulativeLost: i32 = 0;  // 24 bits, signed (duplicates can make it negative)
  highestSeq: u32 = 0;      // extended highest sequence number received
  jitter: u32 = 0;          // interarrival jitter, RTP timestamp units
  lsr: u32 = 0;             // middle 32 bits of the last SR's NTP time, 0 if none
  dlsr: u32 = 0;            // delay since that SR, 1/65536 s

  write(p: usize): void {
    writeU32BE(p, this.ssrc);
    const lost = this.cumulativeLost > 0x7fffff ? 0x7fffff : this.cumulativeLost < -0x800000 ? -0x800000 : this.cumulativeLost;
    writeU32BE(p + 4, ((this.fractionLost & 0xff) << 24) | (<u32>lost & 0xffffff));
    writeU32BE(p + 8, this.highestSeq);
    writeU32BE(p + 12, this.jitter);
    writeU32BE(p + 16, this.lsr);
    writeU32BE(p + 20, this.dlsr);
  }

  read(p: usize): void {
    this.ssrc = readU32BE(p);
    const w = readU32BE(p + 4);
    this.fractionLost = w >> 24;
    this.cumulativeLost = (<i32>(w << 8)) >> 8; // sign-extend 24 bits
    this.highestSeq = readU32BE(p + 8);
    this.jitter = readU32BE(p + 12);
    this.lsr = readU32BE(p + 16);
    this.dlsr = readU32BE(p + 20);
  }
}

/** The sender information of an SR (RFC 3550 §6.4.1), and the packet's report count. */
export class SenderInfo {
  ssrc: u32 = 0;
  ntp: u64 = 0;           // 64-bit NTP timestamp of the report
  rtpTimestamp: u32 = 0;  // the same instant on the RTP clock
  packets: u32 = 0;
  octets: u32 = 0;
  reportCount: i32 = 0;   // report blocks that follow (read each with readReportBlock)
}

// Our packets never need padding: every writer rounds its body up to 32 bits itself.
@inline function header(p: usize, count: i32, pt: i32, bytes: i32): void {
  writeU8(p, 0x80 | <u32>count);
  writeU8(p + 1, <u32>pt);
  writeU16BE(p + 2, <u32>(bytes / 4 - 1));
}

/** Writes an SR with `n` of `blocks` at p; returns its length or RTCP_ERR_CAPACITY. */
export function writeSr(p: usize, cap: i32, s: SenderInfo, blocks: StaticArray<ReportBlock> | null, n: i32): i32 {
  if (n < 0 || n > MAX_REPORT_BLOCKS || (n > 0 && (blocks === null || n > blocks.length))) return RTCP_ERR_CAPACITY;
  const bytes = 28 + REPORT_BLOCK_BYTES * n;
  if (bytes > cap) return RTCP_ERR_CAPACITY;
  header(p, n, RTCP_SR, bytes);
  writeU32BE(p + 4, s.ssrc);
  writeU32BE(p + 8, <u32>(s.ntp >> 32));
  writeU32BE(p + 12, <u32>s.ntp);
  writeU32BE(p + 16, s.rtpTimestamp);
  writeU32BE(p + 20, s.packets);
  writeU32BE(p + 24, s.octets);
  for (let i = 0; i < n; i++) unchecked(blocks![i]).write(p + <usize>(28 + REPORT_BLOCK_BYTES * i));
  return bytes;
}

/** Writes an RR from `ssrc` with `n` of `blocks` at p; returns its length or RTCP_ERR_CAPACITY. */
export function writeRr(p: usize, cap: i32, ssrc: u32, blocks: StaticArray<ReportBlock> | null, n: i32): i32 {
  if (n < 0 || n > MAX_REPORT_BLOCKS || (n > 0 && (blocks === null || n > blocks.length))) return RTCP_ERR_CAPACITY;
  const bytes = 8 + REPORT_BLOCK_BYTES * n;
  if (bytes > cap) return RTCP_ERR_CAPACITY;
  header(p, n, RTCP_RR, bytes);
  writeU32BE(p + 4, ssrc);
  for (let i = 0; i < n; i++) unchecked(blocks![i]).write(p + <usize>(8 + REPORT_BLOCK_BYTES * i));
  return bytes;
}

/** Parses an SR's sender information (p, len: one packet, padding excluded, as RtcpReader gives). */
export function parseSr(p: usize, len: i32, s: SenderInfo): i32 {
  if (len < 28) return RTCP_ERR_TOO_SHORT;
  if (<i32>readU8(p + 1) != RTCP_SR) return RTCP_ERR_WRONG_TYPE;
  const rc = <i32>(readU8(p) & 0x1f);
  if (28 + REPORT_BLOCK_BYTES * rc > len) return RTCP_ERR_BAD_COUNT;
  s.ssrc = readU32BE(p + 4);
  s.ntp = (<u64>readU32BE(p + 8) << 32) | <u64>readU32BE(p + 12);
  s.rtpTimestamp = readU32BE(p + 16);
  s.packets = readU32BE(p + 20);
  s.octets = readU32BE(p + 24);
  s.reportCount = rc;
  return RTCP_OK;
}

/** Checks an RR: returns its report count (>= 0) or an error. reporterSsrc() gives its sender. */
export function parseRr(p: usize, len: i32): i32 {
  if (len < 8) return RTCP_ERR_TOO_SHORT;
  if (<i32>readU8(p + 1) != RTCP_RR) return RTCP_ERR_WRONG_TYPE;
  const rc = <i32>(readU8(p) & 0x1f);
  if (8 + REPORT_BLOCK_BYTES * rc > len) return RTCP_ERR_BAD_COUNT;
  return rc;
}

/** The SSRC of an SR's or RR's sender (the packet's second word); 0 if too short. */
export function reporterSsrc(p: usize, len: i32): u32 { return len >= 8 ? readU32BE(p + 4) : 0; }

/** Reads report block i of an SR or RR already accepted by parseSr / parseRr. */
export function readReportBlock(p: usize, len: i32, i: i32, b: ReportBlock): i32 {
  if (len < 8) return RTCP_ERR_TOO_SHORT;
  const pt = <i32>readU8(p + 1);
  if (pt != RTCP_SR && pt != RTCP_RR) return RTCP_ERR_WRONG_TYPE;
  const rc = <i32>(readU8(p) & 0x1f);
  const at = (pt == RTCP_SR ? 28 : 8) + REPORT_BLOCK_BYTES * i;
  if (i < 0 || i >= rc || at + REPORT_BLOCK_BYTES > len) return RTCP_ERR_BAD_COUNT;
  b.read(p + <usize>at);
  return RTCP_OK;
}

// ---------------------------------------------------------------------------------------------
// SDES

/** Writes an SDES packet with one chunk: `ssrc` and its CNAME (`textLen` bytes at `text`,
 *  1..255), ended by the null item and padded with nulls to a 32-bit boundary. */
export function writeSdesCname(p: usize, cap: i32, ssrc: u32, text: usize, textLen: i32): i32 {
  if (textLen < 1 || textLen > 255) return RTCP_ERR_CAPACITY;
  // header 4 + SSRC 4 + type, length, text + at least one null, rounded up to 4
  const bytes = (8 + 2 + textLen + 1 + 3) & ~3;
  if (bytes > cap) return RTCP_ERR_CAPACITY;
  header(p, 1, RTCP_SDES, bytes);
  writeU32BE(p + 4, ssrc);
  writeU8(p + 8, <u32>SDES_CNAME);
  writeU8(p + 9, <u32>textLen);
  memory.copy(p + 10, text, <usize>textLen);
  memory.fill(p + <usize>(10 + textLen), 0, <usize>(bytes - 10 - textLen));
  return bytes;
}

/** Walks every item of every chunk of an SDES packet. reset() validates the whole packet
 *  first, so next() never meets a malformed byte. */
export class SdesReader {
  ssrc: u32 = 0;        // of the chunk the current item is in
  itemType: i32 = 0;
  item: usize = 0;      // address of the item's text
  itemLength: i32 = 0;
  private p: usize = 0;
  private len: i32 = 0;
  private chunksLeft: i32 = 0;
  private at: i32 = 0;
  private inChunk: bool = false;

  reset(p: usize, len: i32): i32 {
    this.p = p;
    this.len = 0;
    this.chunksLeft = 0;
    if (len < 4) return RTCP_ERR_TOO_SHORT;
    if (<i32>readU8(p + 1) != RTCP_SDES) return RTCP_ERR_WRONG_TYPE;
    const sc = <i32>(readU8(p) & 0x1f);
    // Validation pass: each chunk is SSRC, items, a null, nulls to the next 32-bit boundary.
    let at = 4;
    for (let c = 0; c < sc; c++) {
      if (at + 4 > len) return RTCP_ERR_BAD_COUNT;
      at += 4;
      for (;;) {
        if (at >= len) return RTCP_ERR_BAD_ITEM; // no null item before the end
        if (readU8(p + <usize>at) == 0) break;
        if (at + 2 > len) return RTCP_ERR_BAD_ITEM;
        const n = <i32>readU8(p + <usize>(at + 1));
        if (at + 2 + n > len) return RTCP_ERR_BAD_ITEM;
        at += 2 + n;
      }
      at = (at + 4) & ~3; // past the null and the padding nulls
      if (at > len) return RTCP_ERR_BAD_ITEM;
    }
    this.len = len;
    this.chunksLeft = sc;
    this.at = 4;
    this.inChunk = false;
    return RTCP_OK;
  }

  /** 1 with the next item (ssrc, itemType, item, itemLength set), 0 when there are no more. */
  next(): i32 {
    const p = this.p;
    for (;;) {
      if (!this.inChunk) {
        if (this.chunksLeft == 0) return 0;
        this.chunksLeft--;
        this.ssrc = readU32BE(p + <usize>this.at);
        this.at += 4;
        this.inChunk = true;
      }
      const t = <i32>readU8(p + <usize>this.at);
      if (t == SDES_END) {
        this.at = (this.at + 4) & ~3;
        this.inChunk = false;
        continue;
      }
      this.itemType = t;
      this.itemLength = <i32>readU8(p + <usize>(this.at + 1));
      this.item = p + <usize>(this.at + 2);
      this.at += 2 + this.itemLength;
      return 1;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// BYE

/** Writes a BYE for `ssrc` with an optional reason (`reasonLen` 0..255 bytes at `reason`). */
export function writeBye(p: usize, cap: i32, ssrc: u32, reason: usize, reasonLen: i32): i32 {
  if (reasonLen < 0 || reasonLen > 255) return RTCP_ERR_CAPACITY;
  const bytes = reasonLen == 0 ? 8 : (8 + 1 + reasonLen + 3) & ~3;
  if (bytes > cap) return RTCP_ERR_CAPACITY;
  header(p, 1, RTCP_BYE, bytes);
  writeU32BE(p + 4, ssrc);
  if (reasonLen > 0) {
    writeU8(p + 8, <u32>reasonLen);
    memory.copy(p + 9, reason, <usize>reasonLen);
    memory.fill(p + <usize>(9 + reasonLen), 0, <usize>(bytes - 9 - reasonLen));
  }
  return bytes;
}

/** A parsed BYE: its SSRC list (read in place) and the reason, if any. */
export class ByeInfo {
  count: i32 = 0;
  reason: usize = 0;
  reasonLength: i32 = 0; // 0: no reason given
  private p: usize = 0;

  parse(p: usize, len: i32): i32 {
    this.count = 0;
    this.reasonLength = 0;
    if (len < 4) return RTCP_ERR_TOO_SHORT;
    if (<i32>readU8(p + 1) != RTCP_BYE) return RTCP_ERR_WRONG_TYPE;
    const sc = <i32>(readU8(p) & 0x1f);
    const at = 4 + 4 * sc;
    if (at > len) return RTCP_ERR_BAD_COUNT;
    if (at < len) {
      const n = <i32>readU8(p + <usize>at);
      if (at + 1 + n > len) return RTCP_ERR_BAD_ITEM;
      this.reason = p + <usize>(at + 1);
      this.reasonLength = n;
    }
    this.p = p;
    this.count = sc;
    return RTCP_OK;
  }

  ssrc(i: i32): u32 { return i >= 0 && i < this.count ? readU32BE(this.p + <usize>(4 + 4 * i)) : 0; }
}

// ---------------------------------------------------------------------------------------------
// XR (RFC 3611) and its VoIP Metrics block (§4.7)

/** The VoIP Metrics report block, field for field in RFC 3611's units. 127 in a level, R or
 *  MOS field means "unavailable"; rxConfig packs PLC (2 bits), JBA (2 bits) and JB rate (4). */
export class VoipMetrics {
  ssrc: u32 = 0;            // the source reported on
  lossRate: u32 = 0;        // fraction x 256, 8 bits
  discardRate: u32 = 0;     // fraction x 256
  burstDensity: u32 = 0;    // fraction x 256
  gapDensity: u32 = 0;      // fraction x 256
  burstDuration: u32 = 0;   // ms
  gapDuration: u32 = 0;     // ms
  roundTripDelay: u32 = 0;  // ms
  endSystemDelay: u32 = 0;  // ms
  signalLevel: i32 = 127;   // dBm, signed 8 bits
  noiseLevel: i32 = 127;    // dBm, signed 8 bits
  rerl: u32 = 127;          // residual echo return loss, dB
  gmin: u32 = 16;           // the gap threshold (16 recommended)
  rFactor: u32 = 127;       // 0..100
  extRFactor: u32 = 127;    // 0..100
  mosLq: u32 = 127;         // MOS x 10, 10..50
  mosCq: u32 = 127;         // MOS x 10, 10..50
  rxConfig: u32 = 0;
  jbNominal: u32 = 0;       // ms
  jbMaximum: u32 = 0;       // ms
  jbAbsMax: u32 = 0;        // ms

  /** Writes the 36-byte block at p. */
  write(p: usize): void {
    writeU8(p, <u32>XR_VOIP_METRICS);
    writeU8(p + 1, 0);
    writeU16BE(p + 2, 8);
    writeU32BE(p + 4, this.ssrc);
    writeU8(p + 8, this.lossRate);
    writeU8(p + 9, this.discardRate);
    writeU8(p + 10, this.burstDensity);
    writeU8(p + 11, this.gapDensity);
    writeU16BE(p + 12, this.burstDuration);
    writeU16BE(p + 14, this.gapDuration);
    writeU16BE(p + 16, this.roundTripDelay);
    writeU16BE(p + 18, this.endSystemDelay);
    writeU8(p + 20, <u32>this.signalLevel);
    writeU8(p + 21, <u32>this.noiseLevel);
    writeU8(p + 22, this.rerl);
    writeU8(p + 23, this.gmin);
    writeU8(p + 24, this.rFactor);
    writeU8(p + 25, this.extRFactor);
    writeU8(p + 26, this.mosLq);
    writeU8(p + 27, this.mosCq);
    writeU8(p + 28, this.rxConfig);
    writeU8(p + 29, 0);
    writeU16BE(p + 30, this.jbNominal);
    writeU16BE(p + 32, this.jbMaximum);
    writeU16BE(p + 34, this.jbAbsMax);
  }

  /** Reads a block of `len` bytes at p: it must be type 7 with block length 8. */
  read(p: usize, len: i32): i32 {
    if (len < XR_VOIP_METRICS_BYTES) return RTCP_ERR_TOO_SHORT;
    if (<i32>readU8(p) != XR_VOIP_METRICS) return RTCP_ERR_WRONG_TYPE;
    if (readU16BE(p + 2) != 8) return RTCP_ERR_BAD_ITEM;
    this.ssrc = readU32BE(p + 4);
    this.lossRate = readU8(p + 8);
    this.discardRate = readU8(p + 9);
    this.burstDensity = readU8(p + 10);
    this.gapDensity = readU8(p + 11);
    this.burstDuration = readU16BE(p + 12);
    this.gapDuration = readU16BE(p + 14);
    this.roundTripDelay = readU16BE(p + 16);
    this.endSystemDelay = readU16BE(p + 18);
    this.signalLevel = <i32>load<i8>(p + 20);
    this.noiseLevel = <i32>load<i8>(p + 21);
    this.rerl = readU8(p + 22);
    this.gmin = readU8(p + 23);
    this.rFactor = readU8(p + 24);
    this.extRFactor = readU8(p + 25);
    this.mosLq = readU8(p + 26);
    this.mosCq = readU8(p + 27);
    this.rxConfig = readU8(p + 28);
    this.jbNominal = readU16BE(p + 30);
    this.jbMaximum = readU16BE(p + 32);
    this.jbAbsMax = readU16BE(p + 34);
    return RTCP_OK;
  }
}

/** Writes an XR packet from `ssrc` holding one VoIP Metrics block: 44 bytes. */
export function writeXrVoip(p: usize, cap: i32, ssrc: u32, m: VoipMetrics): i32 {
  const bytes = 8 + XR_VOIP_METRICS_BYTES;
  if (bytes > cap) return RTCP_ERR_CAPACITY;
  header(p, 0, RTCP_XR, bytes);
  writeU32BE(p + 4, ssrc);
  m.write(p + 8);
  return bytes;
}

/** Walks the report blocks of an XR packet; reset() checks that the blocks tile the packet. */
export class XrReader {
  ssrc: u32 = 0;          // the XR's sender
  blockType: i32 = 0;
  typeSpecific: i32 = 0;
  block: usize = 0;       // address of the current block (its 4-byte header included)
  blockLength: i32 = 0;   // in bytes, header included
  private p: usize = 0;
  private len: i32 = 0;
  private at: i32 = 0;

  reset(p: usize, len: i32): i32 {
    this.len = 0;
    if (len < 8) return RTCP_ERR_TOO_SHORT;
    if (<i32>readU8(p + 1) != RTCP_XR) return RTCP_ERR_WRONG_TYPE;
    let at = 8;
    while (at < len) {
      if (at + 4 > len) return RTCP_ERR_BAD_ITEM;
      const bytes = 4 * (<i32>readU16BE(p + <usize>(at + 2)) + 1);
      if (at + bytes > len) return RTCP_ERR_BAD_ITEM;
      at += bytes;
    }
    this.p = p;
    this.ssrc = readU32BE(p + 4);
    this.len = len;
    this.at = 8;
    return RTCP_OK;
  }

  /** 1 with the next block, 0 when there are no more. */
  next(): i32 {
    if (this.at >= this.len) return 0;
    const b = this.p + <usize>this.at;
    this.block = b;
    this.blockType = <i32>readU8(b);
    this.typeSpecific = <i32>readU8(b + 1);
    this.blockLength = 4 * (<i32>readU16BE(b + 2) + 1);
    this.at += this.blockLength;
    return 1;
  }
}

// ---------------------------------------------------------------------------------------------
// Compound packets

/** Validates a whole RTCP datagram, then walks its packets. In a compound packet (RFC 3550
 *  §6.1, A.2) the first packet is SR or RR, every packet has V=2, lengths tile the datagram
 *  exactly, and only the last packet may be padded. With `allowReducedSize` (RFC 5506, when SDP
 *  said a=rtcp-rsize) a datagram may also start with any other packet type. */
export class RtcpReader {
  reduced: bool = false;  // the datagram is a reduced-size (non-compound) one
  packetType: i32 = 0;
  count: i32 = 0;         // the 5-bit count field (RC, SC or XR's reserved bits)
  packet: usize = 0;      // address of the current packet
  length: i32 = 0;        // its length in bytes, padding excluded (what the per-type parsers take)
  padding: i32 = 0;       // its padding bytes
  packets: i32 = 0;       // how many packets the datagram holds (after reset)
  private p: usize = 0;
  private len: i32 = 0;
  private at: i32 = 0;

  reset(p: usize, len: i32, allowReducedSize: bool): i32 {
    this.len = 0;
    this.at = 0;
    this.packets = 0;
    if (len < RTCP_HEADER_BYTES) return RTCP_ERR_TOO_SHORT;
    let at = 0;
    let n = 0;
    while (at < len) {
      if (at + RTCP_HEADER_BYTES > len) return RTCP_ERR_BAD_LENGTH;
      const b0 = readU8(p + <usize>at);
      if ((b0 >> 6) != 2) return RTCP_ERR_BAD_VERSION;
      const bytes = 4 * (<i32>readU16BE(p + <usize>(at + 2)) + 1);
      if (at + bytes > len) return RTCP_ERR_BAD_LENGTH;
      if ((b0 & 0x20) != 0) {
        if (at + bytes != len) return RTCP_ERR_BAD_PADDING; // only the last packet is padded
        const pad = <i32>readU8(p + <usize>(len - 1));
        if (pad == 0 || pad > bytes - RTCP_HEADER_BYTES) return RTCP_ERR_BAD_PADDING;
      }
      at += bytes;
      n++;
    }
    const pt = <i32>readU8(p + 1);
    const report = pt == RTCP_SR || pt == RTCP_RR;
    if (!report && !allowReducedSize) return RTCP_ERR_FIRST_PACKET;
    this.reduced = !report;
    this.p = p;
    this.len = len;
    this.packets = n;
    return RTCP_OK;
  }

  /** Moves to the next packet: true with packetType, count, packet, length, padding set. */
  next(): bool {
    if (this.at >= this.len) return false;
    const q = this.p + <usize>this.at;
    const b0 = readU8(q);
    const bytes = 4 * (<i32>readU16BE(q + 2) + 1);
    this.packet = q;
    this.packetType = <i32>readU8(q + 1);
    this.count = <i32>(b0 & 0x1f);
    this.padding = (b0 & 0x20) != 0 ? <i32>readU8(q + <usize>(bytes - 1)) : 0;
    this.length = bytes - this.padding;
    this.at += bytes;
    return true;
  }
}

// ---------------------------------------------------------------------------------------------
// NTP time and round-trip time

const NTP_UNIX_OFFSET: i64 = 2208988800; // seconds from 1900-01-01 to 1970-01-01

/** 64-bit NTP timestamp (32.32 seconds since 1900) of a Unix time in microseconds. */
export function ntpFromUnixUs(us: i64): u64 {
  let s = us / 1_000_000;
  let f = us % 1_000_000;
  if (f < 0) { f += 1_000_000; s--; } // floor, for times before 1970
  const frac = (<u64>f << 32) / 1_000_000;
  return (<u64>(s + NTP_UNIX_OFFSET) << 32) | frac;
}

/** The middle 32 bits of an NTP timestamp: the 16.16 "NTP short" format of LSR and DLSR. */
@inline export function ntpMiddle(ntp: u64): u32 { return <u32>(ntp >> 16); }

/** NTP short format of a Unix time in microseconds. */
export function ntpShortFromUnixUs(us: i64): u32 { return ntpMiddle(ntpFromUnixUs(us)); }

/** Round-trip time (RFC 3550 §6.4.1) in 1/65536 s from a report block's LSR and DLSR and the
 *  report's arrival time A (NTP short): A - LSR - DLSR, modulo 2^32. -1 when there is none to
 *  compute (LSR 0: the peer has had no SR from us) or when clock error makes it negative. */
export function rttNtpShort(arrival: u32, lsr: u32, dlsr: u32): i32 {
  if (lsr == 0) return -1;
  const rtt = arrival - lsr - dlsr;
  return <i32>rtt < 0 ? -1 : <i32>rtt;
}

/** 1/65536 s units to microseconds (exact to the microsecond, rounded down). */
export function ntpShortToUs(v: u32): i64 { return (<i64>v * 1_000_000) >> 16; }

/** Microseconds to 1/65536 s units, saturated at the 32-bit field (DLSR of a delay given in us). */
export function usToNtpShort(us: i64): u32 {
  if (us <= 0) return 0;
  if (us >= 65536 * 1_000_000) return 0xffffffff;
  const v = (us << 16) / 1_000_000;
  return v > 0xffffffff ? 0xffffffff : <u32>v;
}

// ---------------------------------------------------------------------------------------------
// Transmission interval (RFC 3550 §6.2, §6.3, A.7)

export const RTCP_MIN_INTERVAL_US: i64 = 5_000_000;
const MAX_INTERVAL_US: i64 = 0xffffffff; // 71.6 minutes: a saturation no real session reaches

/** The deterministic interval Td of RFC 3550 A.7 in microseconds, before randomisation:
 *  RTCP gets 5% of `sessionBps`; when senders are at most a quarter of the members, senders
 *  share 1/4 of it and receivers 3/4; Td = avgRtcpSize x n / bandwidth, at least 5 s (2.5 s
 *  before the first report). `avgRtcpSize` is in octets with the UDP and IP headers. -1 when
 *  there is no RTCP bandwidth or size to compute with. */
export function rtcpDeterministicIntervalUs(members: i32, senders: i32, sessionBps: i32, weSent: bool, avgRtcpSize: i32, initial: bool): i64 {
  if (sessionBps <= 0 || avgRtcpSize <= 0) return -1;
  if (members < 1) members = 1; // we are always a member
  if (senders < 0) senders = 0;
  if (senders > members) senders = members;
  let n = <i64>members;
  // RTCP bandwidth in octets/s is sessionBps x 5/100 / 8 = sessionBps / 160; num/den below is
  // the share of it the computation divides by (1, 1/4 or 3/4).
  let num: i64 = 1, den: i64 = 1;
  if (4 * <i64>senders <= <i64>members) {
    if (weSent) { num = 1; den = 4; n = <i64>senders; }
    else { num = 3; den = 4; n = <i64>(members - senders); }
  }
  // t_us = avg x n / (sessionBps / 160 x num / den) x 1e6 = avg x n x 160e6 x den / (sessionBps x num)
  let q = <i64>avgRtcpSize * n; // <= 2^31 x 2^31 = 2^62: saturate before scaling
  const limit: i64 = 1 << 32;
  if (q > limit) q = limit;
  let t = (q * 160_000_000 * den) / (<i64>sessionBps * num); // 2^32 x 2^27.3 x 4 fits in 2^62
  const tmin = initial ? RTCP_MIN_INTERVAL_US / 2 : RTCP_MIN_INTERVAL_US;
  if (t < tmin) t = tmin;
  if (t > MAX_INTERVAL_US) t = MAX_INTERVAL_US;
  return t;
}

/** The interval to the next report (A.7 rtcp_interval): Td x (0.5 + r) / (e - 3/2), with r in
 *  [0, 1) given as a 0.32 fixed-point fraction `random` (r = random / 2^32) from the caller's
 *  RNG. The division by e - 3/2 = 1.21828 compensates for timer reconsideration, which
 *  otherwise makes the mean interval shorter than Td. Microseconds, or -1 as above. */
export function rtcpIntervalUs(members: i32, senders: i32, sessionBps: i32, weSent: bool, avgRtcpSize: i32, initial: bool, random: u32): i64 {
  const td = rtcpDeterministicIntervalUs(members, senders, sessionBps, weSent, avgRtcpSize, initial);
  if (td < 0) return td;
  // 0.5 + r in 1/65536 units: 32768 .. 98303 (the low 16 bits of r are below the us grain).
  const factor = <i64>(32768 + (random >> 16));
  const t = (td * factor) >> 16; // <= 2^32 x 2^17
  return (t * 100_000) / 121_828;
}

/** Smooths avg_rtcp_size (RFC 3550 §6.3.3): avg = 1/16 size + 15/16 avg. Kept x 16 so the
 *  integer average does not drift down by truncation; return value x 16 too. Start it at
 *  16 x the size of the first report we expect to send. */
export function smoothAvgRtcpSize(avgX16: i32, packetSize: i32): i32 {
  if (packetSize < 0) packetSize = 0;
  if (packetSize > 0xffff) packetSize = 0xffff;
  return avgX16 - (avgX16 >> 4) + packetSize;
}

/** Timer reconsideration (§6.3.6): when the timer set at tp fires at `nowUs`, a report goes out
 *  only if tp + T (T recomputed now) has passed; otherwise the timer is set to tp + T. */
export function rtcpReconsider(tpUs: i64, nowUs: i64, intervalUs: i64): bool { return tpUs + intervalUs <= nowUs; }
