// RTCP (RFC 3550 §6): SR, RR, SDES and BYE writers and in-place parsers, and the compound-packet
// walker (with RFC 5506 reduced-size packets). XR is in rtcp-xr.ts; NTP time, round-trip time
// and the transmission interval in rtcp-timing.ts. Sans-IO: times and random values are
// arguments. Nothing allocates after construction; every length is checked.
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
/** The common first word of every RTCP packet we write. */
@inline export function header(p: usize, count: i32, pt: i32, bytes: i32): void {
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
