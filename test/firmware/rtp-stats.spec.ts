// Receive statistics (firmware/media/rtp-stats.ts) against RFC 3550 Appendix A.1 (sequence
// validation), A.3 (loss) and A.8 (jitter). Every expected number is worked out by hand in
// the comment above it, from the Appendix's algorithm, not from the code.
import { RtpReceiveStats, rtpArrival, MIN_SEQUENTIAL, MAX_DROPOUT, MAX_MISORDER, RTP_SEQ_MOD } from "../../firmware/media/rtp-stats";
import { ReportBlock, RtcpReader, writeRr, readReportBlock, RTCP_OK, RTCP_RR } from "../../firmware/media/rtcp";
import { ntpFromUnixUs, ntpShortFromUnixUs, rttNtpShort, ntpShortToUs } from "../../firmware/media/rtcp-timing";

const SSRC: u32 = 0x5eed0001;

/** Feeds seq with timestamp 160 x seq and arrival = timestamp (no jitter). */
function feed(s: RtpReceiveStats, seq: u32): bool { return s.onPacket(SSRC, seq, 160 * seq, 160 * seq); }

function fresh(): RtpReceiveStats { const s = new RtpReceiveStats(); s.reset(); return s; }

describe("A.1 sequence validation", () => {
  it("uses the RFC's constants", () => {
    expect(MIN_SEQUENTIAL).toBe(2);
    expect(MAX_DROPOUT).toBe(3000);
    expect(MAX_MISORDER).toBe(100);
    expect(RTP_SEQ_MOD).toBe(65536);
  });

  it("holds a new source on probation: the first packet is not counted, the second validates it", () => {
    // init: base 1000, max 999, probation 2. 1000 = max + 1: probation 1, not valid.
    // 1001 = max + 1: probation 0 -> init_seq(1001): base 1001, received 1, valid.
    const s = fresh();
    expect(feed(s, 1000)).toBe(false);
    expect(s.received).toBe(0);
    expect(s.expected).toBe(0, "nothing expected while on probation");
    expect(feed(s, 1001)).toBe(true);
    expect(s.baseSeq).toBe(1001);
    expect(s.received).toBe(1);
    expect(s.expected).toBe(1);
  });

  it("restarts probation on an out-of-order packet during it", () => {
    // 500: probation 1 (max 500). 502 != 501: probation back to MIN_SEQUENTIAL - 1 = 1, max 502.
    // 503 = max + 1: probation 0 -> valid, base 503.
    const s = fresh();
    expect(feed(s, 500)).toBe(false);
    expect(feed(s, 502)).toBe(false);
    expect(feed(s, 503)).toBe(true);
    expect(s.baseSeq).toBe(503);
    expect(s.rejected).toBe(2);
  });

  it("wraps 65535 -> 0 and counts the cycle in the extended highest sequence number", () => {
    // 65534 on probation; 65535 validates (base 65535); 0: udelta = 1 < MAX_DROPOUT and
    // 0 < max, so cycles = 65536; then 1, 2. Extended max 65536 + 2 = 65538,
    // expected 65538 - 65535 + 1 = 4, received 4.
    const s = fresh();
    feed(s, 65534);
    expect(feed(s, 65535)).toBe(true);
    expect(s.extendedMax).toBe(65535);
    expect(feed(s, 0)).toBe(true);
    expect(s.cycles).toBe(65536);
    expect(s.extendedMax).toBe(65536);
    feed(s, 1);
    feed(s, 2);
    expect(s.extendedMax).toBe(65538);
    expect(s.expected).toBe(4);
    expect(s.cumulativeLost).toBe(0);
    // A second wrap: cycles 131072.
    for (let q: u32 = 3; q <= 65535; q += 1000) feed(s, q);
    feed(s, 65535);
    feed(s, 0);
    expect(s.cycles).toBe(131072);
    expect(s.extendedMax).toBe(131072);
  });

  it("lets probation straddle the wrap (65535 then 0)", () => {
    // A.1's C compares seq == max_seq + 1 in int arithmetic, where 65535 + 1 is 65536, never 0;
    // the firmware compares modulo 2^16 so a source starting at 65535 validates on 0.
    const s = fresh();
    expect(feed(s, 65535)).toBe(false);
    expect(feed(s, 0)).toBe(true);
    expect(s.baseSeq).toBe(0);
  });

  it("takes a jump below MAX_DROPOUT as loss, and at MAX_DROPOUT as a suspected restart", () => {
    // Valid at 1001 (after 1000). 1001 + 2999 = 4000: udelta 2999 < 3000, in order: max 4000,
    // expected 4000 - 1001 + 1 = 3000, received 2, lost 2998.
    const s = fresh();
    feed(s, 1000); feed(s, 1001);
    expect(feed(s, 4000)).toBe(true);
    expect(s.cumulativeLost).toBe(2998);
    // From 4000, 7000 is udelta 3000: not in order; not the remembered bad_seq: rejected, and
    // bad_seq = 7001. 4001 continues normally.
    expect(feed(s, 7000)).toBe(false);
    expect(s.badSeq).toBe(7001);
    expect(s.extendedMax).toBe(4000);
    expect(feed(s, 4001)).toBe(true);
  });

  it("resynchronises when two sequential packets follow a large jump (the other end restarted)", () => {
    // Valid 100..110 (base 101 after probation packet 100). 50000: udelta 49890, between
    // MAX_DROPOUT and 65536 - MAX_MISORDER: bad_seq = 50001, rejected. 50001 == bad_seq:
    // init_seq(50001): base 50001, received 1, cycles 0; counted.
    const s = fresh();
    for (let q: u32 = 100; q <= 110; q++) feed(s, q);
    expect(s.received).toBe(10);
    expect(feed(s, 50000)).toBe(false);
    expect(feed(s, 50001)).toBe(true);
    expect(s.restarts).toBe(1);
    expect(s.baseSeq).toBe(50001);
    expect(s.received).toBe(1);
    expect(s.expected).toBe(1);
    feed(s, 50002);
    expect(s.extendedMax).toBe(50002);
  });

  it("counts a duplicate or a packet up to MAX_MISORDER late without moving max", () => {
    // From max 1200: 1101 is 99 behind (udelta 65437 > 65436): a reordered packet, counted.
    // 1100 is 100 behind (udelta 65436): a big jump, not counted (bad_seq 1101).
    const s = fresh();
    for (let q: u32 = 1000; q <= 1200; q++) feed(s, q);
    const r = s.received;
    expect(feed(s, 1101)).toBe(true);
    expect(s.received).toBe(r + 1);
    expect(s.extendedMax).toBe(1200);
    expect(feed(s, 1100)).toBe(false);
    expect(s.received).toBe(r + 1);
    expect(feed(s, 1200)).toBe(true, "a duplicate of the highest");
    expect(s.received).toBe(r + 2);
  });

  it("starts over when the SSRC changes", () => {
    const s = fresh();
    for (let q: u32 = 10; q < 20; q++) feed(s, q);
    expect(s.onPacket(0x77, 5000, 0, 0)).toBe(false, "a new source is on probation");
    expect(s.ssrc).toBe(0x77);
    expect(s.onPacket(0x77, 5001, 160, 160)).toBe(true);
    expect(s.baseSeq).toBe(5001);
    expect(s.received).toBe(1);
  });
});

describe("A.3 loss", () => {
  it("computes cumulative and interval loss with its priors", () => {
    const s = fresh();
    // Interval 1: 1000 (probation), 1001 (valid), 1002, 1003, [1004, 1005 lost], 1006..1010.
    //   received 1 + 2 + 5 = 8; extended max 1010; expected 1010 - 1001 + 1 = 10; lost 2.
    //   expected_interval 10, received_interval 8, lost_interval 2: fraction (2 << 8) / 10 = 51.
    feed(s, 1000);
    for (let q: u32 = 1001; q <= 1003; q++) feed(s, q);
    for (let q: u32 = 1006; q <= 1010; q++) feed(s, q);
    expect(s.received).toBe(8);
    expect(s.expected).toBe(10);
    expect(s.cumulativeLost).toBe(2);
    expect(s.closeInterval()).toBe(51);
    expect(s.expectedPrior).toBe(10);
    expect(s.receivedPrior).toBe(8);
    // Interval 2: 1011..1020 with 1015 lost and 1012 twice: received 8 + 9 + 1 = 18, expected 20,
    //   cumulative lost 2. expected_interval 10, received_interval 10, lost_interval 0:
    //   fraction 0 (A.3: a duplicate hides a loss in the interval).
    for (let q: u32 = 1011; q <= 1020; q++) if (q != 1015) feed(s, q);
    feed(s, 1012);
    expect(s.received).toBe(18);
    expect(s.expected).toBe(20);
    expect(s.cumulativeLost).toBe(2);
    expect(s.closeInterval()).toBe(0);
    // Interval 3: 1021, 1023, 1022 (reordered), 1024, then 1025..1040 with 8 of 16 lost (every
    //   odd one): expected 20, received 4 + 8 = 12, lost_interval 8: (8 << 8) / 20 = 102.
    //   cumulative: expected 40, received 30, lost 10.
    feed(s, 1021); feed(s, 1023); feed(s, 1022); feed(s, 1024);
    for (let q: u32 = 1025; q <= 1040; q++) if ((q & 1) == 0) feed(s, q);
    expect(s.extendedMax).toBe(1040);
    expect(s.closeInterval()).toBe(102);
    expect(s.cumulativeLost).toBe(10);
    // Interval 4: nothing arrives: expected_interval 0: fraction 0.
    expect(s.closeInterval()).toBe(0);
  });

  it("goes negative with duplicates, and clamps at the 24-bit maximum", () => {
    // 1 (probation), 2..5 valid, then 2, 3, 4 again: expected 4, received 7: lost -3.
    const s = fresh();
    for (let q: u32 = 1; q <= 5; q++) feed(s, q);
    feed(s, 2); feed(s, 3); feed(s, 4);
    expect(s.cumulativeLost).toBe(-3);
    // Jumps of 2999 lose 2998 each: 2800 of them lose 8,394,400 > 0x7fffff = 8,388,607.
    const t = fresh();
    let q: u32 = 0;
    feed(t, q); feed(t, ++q);
    for (let i = 0; i < 2800; i++) { q = (q + 2999) & 0xffff; feed(t, q); }
    expect(t.cumulativeLost).toBe(0x7fffff);
  });

  it("fills a report block: fraction, cumulative, extended max, jitter, LSR and DLSR", () => {
    const s = fresh();
    const b = new ReportBlock();
    expect(s.fillReportBlock(b, 0)).toBe(false, "nothing to report yet");
    feed(s, 1000);
    for (let q: u32 = 1001; q <= 1003; q++) feed(s, q);
    for (let q: u32 = 1006; q <= 1010; q++) feed(s, q);
    // An SR with NTP 46853.125 s: middle 32 bits 0xB705_2000. It arrived at 46856.5 s
    // (0xB708_8000); the report goes at 46858.0 (0xB70A_0000): DLSR 1.5 s = 0x0001_8000.
    s.onSenderReport((<u64>46853 << 32) | 0x20000000, 0xb7088000);
    expect(s.fillReportBlock(b, 0xb70a0000)).toBe(true);
    expect(b.ssrc).toBe(SSRC);
    expect(b.fractionLost).toBe(51);
    expect(b.cumulativeLost).toBe(2);
    expect(b.highestSeq).toBe(1010);
    expect(b.jitter).toBe(0);
    expect(b.lsr).toBe(0xb7052000);
    expect(b.dlsr).toBe(0x00018000);
  });
});

describe("report blocks on the wire", () => {
  it("carry the receiver's LSR/DLSR back to the sender, who gets the RTT from them", () => {
    // We send an SR at t = 1000 s (Unix, us). The peer's stats note it on arrival 30 ms later
    // (its clock); it reports 500 ms after that: DLSR 0.5 s. The RR reaches us at
    // 1000 + 0.03 + 0.5 + 0.03 s: RTT = 60 ms, to the 15 us grain of NTP short time.
    const peer = fresh();
    for (let q: u32 = 0; q < 50; q++) feed(peer, q);
    const t0: i64 = 1_000_000_000;
    peer.onSenderReport(ntpFromUnixUs(t0), ntpShortFromUnixUs(t0 + 30_000));
    const blocks = new StaticArray<ReportBlock>(1);
    blocks[0] = new ReportBlock();
    expect(peer.fillReportBlock(blocks[0], ntpShortFromUnixUs(t0 + 530_000))).toBe(true);
    const wire = memory.data(64);
    const n = writeRr(wire, 64, 0x7777, blocks, 1);
    const r = new RtcpReader();
    expect(r.reset(wire, n, false)).toBe(RTCP_OK);
    expect(r.next()).toBe(true);
    expect(r.packetType).toBe(RTCP_RR);
    const got = new ReportBlock();
    expect(readReportBlock(r.packet, r.length, 0, got)).toBe(RTCP_OK);
    expect(got.ssrc).toBe(SSRC);
    expect(got.highestSeq).toBe(49);
    expect(got.cumulativeLost).toBe(0);
    const rtt = rttNtpShort(ntpShortFromUnixUs(t0 + 560_000), got.lsr, got.dlsr);
    const us = ntpShortToUs(<u32>rtt);
    expect(us).toBeGreaterThanOrEqual(60_000 - 31);
    expect(us).toBeLessThanOrEqual(60_000 + 31);
  });
});

describe("A.8 jitter", () => {
  it("follows a hand-computed series, in RTP timestamp units", () => {
    // 8 kHz, 20 ms packets: timestamps 160 i; arrivals 1000 + 160 i + extra delay
    // [0, 8, 0, 16, 0]. Transit times 1000, 1008, 1000, 1016, 1000; |D| = 8, 8, 16, 16.
    // A.8 integer form, J16 = 16 x jitter: J16 += |D| - ((J16 + 8) >> 4):
    //   8 - 0 = 8 (jitter 0); 8 + 8 - 1 = 15 (0); 15 + 16 - 1 = 30 (1); 30 + 16 - 2 = 44 (2).
    // (The float form gives 0.5, 0.97, 1.91, 2.79: the same integers.)
    const s = fresh();
    const extra: StaticArray<u32> = [0, 8, 0, 16, 0];
    const want: StaticArray<u32> = [0, 0, 0, 1, 2];
    // One probation packet first: jitter starts with the first valid packet.
    expect(s.onPacket(SSRC, 99, 0, 77777)).toBe(false);
    for (let i = 0; i < 5; i++) {
      const ts: u32 = 160 * <u32>i;
      expect(s.onPacket(SSRC, 100 + <u32>i, ts, 1000 + ts + extra[i])).toBe(true);
      expect(s.jitter).toBe(want[i], "after packet " + i.toString());
    }
  });

  it("converges on a constant |D| (within the integer form's 1-unit bias) and decays to 0", () => {
    // Delays alternate 0, 40: |D| = 40 every packet. J16 settles where (J16 + 8) >> 4 = 40,
    // i.e. J16 >= 632: jitter 39 (the float form tends to 40).
    const s = fresh();
    s.onPacket(SSRC, 0, 0, 0);
    for (let i: u32 = 1; i < 400; i++) s.onPacket(SSRC, i, 160 * i, 160 * i + ((i & 1) != 0 ? 40 : 0));
    expect(s.jitter).toBeGreaterThanOrEqual(39);
    expect(s.jitter).toBeLessThanOrEqual(40);
    // Steady arrivals: |D| = 0, J16 -= (J16 + 8) >> 4 until 7: jitter 0.
    for (let i: u32 = 400; i < 800; i++) s.onPacket(SSRC, i, 160 * i, 160 * i);
    expect(s.jitter).toBe(0);
  });

  it("is unaffected by the 32-bit wrap of timestamps and arrival times", () => {
    // Timestamps start at 2^32 - 320 and arrivals at 2^32 - 16: both wrap after a few packets;
    // transit stays 304 except one packet 24 late: |D| = 24 then 24. J16: 24, 24 + 24 - 2 = 46 -> 2.
    const s = fresh();
    const ts0: u32 = 0xfffffec0, ar0: u32 = 0xfffffff0;
    s.onPacket(SSRC, 7, ts0, ar0); // probation
    s.onPacket(SSRC, 8, ts0 + 160, ar0 + 160);
    s.onPacket(SSRC, 9, ts0 + 320, ar0 + 320 + 24);
    s.onPacket(SSRC, 10, ts0 + 480, ar0 + 480);
    expect(s.jitter).toBe(2);
  });

  it("takes transit differences modulo 2^32 when transit crosses the signed 32-bit boundary", () => {
    // The arrival clock's origin is arbitrary, so arrival - timestamp can sit near 2^31. Transit
    // 0x7FFFFFF0 then 0x80000010: as signed 32-bit numbers they are 2^32 - 32 apart, but the
    // packet was only 32 units late: |D| = 32, J16 = 32, jitter 2.
    const s = fresh();
    s.onPacket(SSRC, 1, 0, 0x7ffffff0); // probation
    s.onPacket(SSRC, 2, 160, 0x7ffffff0 + 160);
    s.onPacket(SSRC, 3, 320, 0x7ffffff0 + 320 + 32);
    expect(s.jitter).toBe(2);
  });

  it("rtpArrival converts microseconds to the RTP clock without overflow", () => {
    expect(rtpArrival(20_000, 8000)).toBe(160);
    expect(rtpArrival(1_000_500, 8000)).toBe(8004);
    expect(rtpArrival(1_000_500, 16000)).toBe(16008);
    // 10^12 us = 10^6 s: 8 x 10^9 ticks, modulo 2^32 = 3,705,032,704.
    expect(rtpArrival(1_000_000_000_000, 8000)).toBe(3705032704);
  });
});
