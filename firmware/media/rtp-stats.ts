// Receive statistics of one RTP source, as RFC 3550 Appendix A computes them: sequence
// validation and the extended highest sequence number (A.1), lost packets and the interval's
// fraction lost (A.3), interarrival jitter (A.8), and the LSR/DLSR of our report blocks
// (§6.4.1). Sans-IO: the arrival time comes in, on the RTP clock, with each packet.

import { ReportBlock } from "./rtcp";

export const MIN_SEQUENTIAL: u32 = 2;   // in-order packets before a new source counts as valid
export const MAX_DROPOUT: u32 = 3000;   // a forward jump up to this is loss, not a restart
export const MAX_MISORDER: u32 = 100;   // a backward step up to this is reordering or a duplicate
export const RTP_SEQ_MOD: u32 = 1 << 16;

/** The arrival time of a packet in RTP timestamp units of a `clockRate` Hz clock, from a time
 *  in microseconds (any fixed origin: only differences matter to the jitter). Wraps at 2^32,
 *  as RTP timestamps do. */
export function rtpArrival(nowUs: i64, clockRate: i32): u32 {
  // Whole seconds and the rest apart, so that nowUs x clockRate cannot overflow 64 bits.
  return <u32>((nowUs / 1_000_000) * <i64>clockRate + ((nowUs % 1_000_000) * <i64>clockRate) / 1_000_000);
}

export class RtpReceiveStats {
  ssrc: u32 = 0;
  active: bool = false;     // a source has been heard since reset()
  // A.1
  maxSeq: u32 = 0;          // highest sequence number seen (16 bits)
  cycles: u32 = 0;          // wraps of the sequence number, times RTP_SEQ_MOD
  baseSeq: u32 = 0;
  badSeq: u32 = 0;          // last "bad" sequence number + 1: a restart candidate
  probation: u32 = 0;       // in-order packets still needed to validate the source
  received: u32 = 0;        // packets accepted (duplicates count, as A.3 says)
  // A.3
  expectedPrior: u32 = 0;
  receivedPrior: u32 = 0;
  // A.8: jitter x 16, so the 1/16 gain of the estimator loses no precision in integers.
  private transit: i32 = 0;
  private haveTransit: bool = false;
  private jitterX16: u64 = 0;
  // §6.4.1: the last SR from this source
  lastSr: u32 = 0;          // middle 32 bits of its NTP timestamp (0: none yet)
  lastSrArrival: u32 = 0;   // when it arrived, NTP short format
  // diagnostics
  rejected: u32 = 0;        // packets update_seq did not accept (probation, big jumps)
  restarts: u32 = 0;        // sequence resyncs after two in-order packets past a big jump

  reset(): void {
    this.active = false;
    this.ssrc = 0;
    this.lastSr = 0;
    this.lastSrArrival = 0;
    this.rejected = 0;
    this.restarts = 0;
    this.initSeq(0);
    this.probation = 0;
  }

  /** A.1 init_seq. */
  private initSeq(seq: u32): void {
    this.baseSeq = seq;
    this.maxSeq = seq;
    this.badSeq = RTP_SEQ_MOD + 1; // so seq == badSeq is false
    this.cycles = 0;
    this.received = 0;
    this.receivedPrior = 0;
    this.expectedPrior = 0;
    this.haveTransit = false;
    this.jitterX16 = 0;
  }

  /** A new source heard for the first time: it is on probation until MIN_SEQUENTIAL packets
   *  have arrived in sequence. */
  private startSource(ssrc: u32, seq: u32): void {
    this.ssrc = ssrc;
    this.active = true;
    this.lastSr = 0;
    this.lastSrArrival = 0;
    this.initSeq(seq);
    this.maxSeq = (seq - 1) & 0xffff;
    this.probation = MIN_SEQUENTIAL;
  }

  /** A.1 update_seq: true when the packet is valid and counted. */
  updateSeq(seq16: u32): bool {
    const seq = seq16 & 0xffff;
    const udelta = (seq - this.maxSeq) & 0xffff;
    if (this.probation > 0) {
      // A.1 writes seq == max_seq + 1 in C ints, where 65535 + 1 is not 0: modulo 2^16 here,
      // so a source whose probation straddles the wrap is not held back for it.
      if (seq == ((this.maxSeq + 1) & 0xffff)) {
        this.probation--;
        this.maxSeq = seq;
        if (this.probation == 0) {
          this.initSeq(seq);
          this.received++;
          return true;
        }
      } else {
        this.probation = MIN_SEQUENTIAL - 1;
        this.maxSeq = seq;
      }
      return false;
    } else if (udelta < MAX_DROPOUT) {
      // in order, with a permissible gap
      if (seq < this.maxSeq) this.cycles += RTP_SEQ_MOD; // the sequence number wrapped
      this.maxSeq = seq;
    } else if (udelta <= RTP_SEQ_MOD - MAX_MISORDER) {
      // a very large jump: two sequential packets here mean the other side restarted
      if (seq == this.badSeq) {
        this.initSeq(seq);
        this.restarts++;
      } else {
        this.badSeq = (seq + 1) & (RTP_SEQ_MOD - 1);
        return false;
      }
    } else {
      // a duplicate or a reordered packet: counted, max unchanged
    }
    this.received++;
    return true;
  }

  /** One RTP packet from `ssrc`: sequence validation, then the jitter estimator with its RTP
   *  timestamp and its arrival time in the same clock's units. A packet from a new SSRC starts
   *  a new source (a 2-party call has one; the peer changes it only after a collision or a
   *  restart). True when the packet is valid. */
  onPacket(ssrc: u32, seq: u32, timestamp: u32, arrival: u32): bool {
    if (!this.active || ssrc != this.ssrc) this.startSource(ssrc, seq);
    if (!this.updateSeq(seq)) { this.rejected++; return false; }
    // A.8: D(i-1, i) = (Rj - Ri) - (Sj - Si) via the transit times; J += (|D| - J) / 16.
    const transit = <i32>(arrival - timestamp);
    if (this.haveTransit) {
      let d = <i64>transit - <i64>this.transit;
      // transit times wrap with the 32-bit clocks: take the difference modulo 2^32, signed.
      d = <i64><i32>d;
      if (d < 0) d = -d;
      this.jitterX16 = this.jitterX16 + <u64>d - ((this.jitterX16 + 8) >> 4);
    }
    this.transit = transit;
    this.haveTransit = true;
    return true;
  }

  /** An SR from this source arrived: remember it for LSR/DLSR. `ntp` is its 64-bit NTP
   *  timestamp, `arrival` our clock then, in NTP short format. */
  onSenderReport(ntp: u64, arrival: u32): void {
    this.lastSr = <u32>(ntp >> 16);
    this.lastSrArrival = arrival;
  }

  /** A.3: extended highest sequence number received. */
  get extendedMax(): u32 { return this.cycles + this.maxSeq; }

  /** A.3: packets expected since the source became valid. */
  get expected(): u32 { return this.active && this.probation == 0 ? this.extendedMax - this.baseSeq + 1 : 0; }

  /** A.3: cumulative number of packets lost, clamped to the report block's signed 24 bits. */
  get cumulativeLost(): i32 {
    const lost = <i64>this.expected - <i64>this.received;
    return lost > 0x7fffff ? 0x7fffff : lost < -0x800000 ? -0x800000 : <i32>lost;
  }

  /** A.8: interarrival jitter, in timestamp units. */
  get jitter(): u32 { return <u32>(this.jitterX16 >> 4); }

  /** A.3: fraction lost since the last call, x 256 (0..255), and the start of a new interval.
   *  Call it once per report sent. */
  closeInterval(): u32 {
    const expected = this.expected;
    const expectedInterval = expected - this.expectedPrior;
    this.expectedPrior = expected;
    const receivedInterval = this.received - this.receivedPrior;
    this.receivedPrior = this.received;
    const lostInterval = <i64>expectedInterval - <i64>receivedInterval;
    if (expectedInterval == 0 || lostInterval <= 0) return 0;
    const f = (lostInterval << 8) / <i64>expectedInterval;
    return f > 255 ? 255 : <u32>f;
  }

  /** Fills a report block on this source for a report sent at `now` (NTP short format): this
   *  closes the loss interval. False when there is nothing to report on yet. */
  fillReportBlock(b: ReportBlock, now: u32): bool {
    if (!this.active || this.probation > 0) return false;
    b.ssrc = this.ssrc;
    b.fractionLost = this.closeInterval();
    b.cumulativeLost = this.cumulativeLost;
    b.highestSeq = this.extendedMax;
    b.jitter = this.jitter;
    b.lsr = this.lastSr;
    b.dlsr = this.lastSr == 0 ? 0 : now - this.lastSrArrival;
    return true;
  }
}
