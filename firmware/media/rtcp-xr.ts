// RTCP XR (RFC 3611) with its VoIP Metrics report block (§4.7): the call-quality report.

import { readU8, readU16BE, readU32BE, writeU8, writeU16BE, writeU32BE } from "../lib/bytes";
import { header, RTCP_XR, XR_VOIP_METRICS, XR_VOIP_METRICS_BYTES, RTCP_OK, RTCP_ERR_WRONG_TYPE, RTCP_ERR_BAD_ITEM, RTCP_ERR_CAPACITY, RTCP_ERR_TOO_SHORT, RTCP_ERR_BAD_LENGTH } from "./rtcp";


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
