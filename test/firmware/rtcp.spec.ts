// RTCP (firmware/media/rtcp.ts): SR, RR, SDES, BYE, XR VoIP Metrics, compound packets
// (RFC 3550 §6, A.2; RFC 5506; RFC 3611 §4.7), NTP time, RTT and the transmission interval.
// Packets are written out in hex from the RFCs' layouts, one field per group.
import { VoipMetrics, XrReader, writeXrVoip } from "../../firmware/media/rtcp-xr";
import {
  ntpFromUnixUs, ntpMiddle, ntpShortFromUnixUs, rttNtpShort, ntpShortToUs, usToNtpShort,
  rtcpIntervalUs, rtcpDeterministicIntervalUs, smoothAvgRtcpSize, rtcpReconsider,
} from "../../firmware/media/rtcp-timing";
import {
  ReportBlock, SenderInfo, SdesReader, ByeInfo, RtcpReader,
  writeSr, writeRr, parseSr, parseRr, reporterSsrc, readReportBlock, writeSdesCname, writeBye,
  RTCP_SR, RTCP_RR, RTCP_SDES, RTCP_BYE, RTCP_XR, SDES_CNAME, XR_VOIP_METRICS,
  RTCP_OK, RTCP_ERR_TOO_SHORT, RTCP_ERR_BAD_VERSION, RTCP_ERR_BAD_LENGTH, RTCP_ERR_BAD_PADDING,
  RTCP_ERR_FIRST_PACKET, RTCP_ERR_WRONG_TYPE, RTCP_ERR_BAD_COUNT, RTCP_ERR_BAD_ITEM, RTCP_ERR_CAPACITY,
} from "../../firmware/media/rtcp";

const buf = memory.data(512);
const ref = memory.data(512);
const text = memory.data(64);

function hex(s: string, at: usize): i32 {
  let n = 0;
  let i = 0;
  while (i < s.length) {
    if (s.charCodeAt(i) == 0x20) { i++; continue; }
    store<u8>(at + <usize>n, <u8>I32.parseInt(s.substr(i, 2), 16));
    n++;
    i += 2;
  }
  return n;
}

/** buf[0..n) equals the hex bytes. */
function expectBytes(p: usize, want: string): void {
  const n = hex(want, ref);
  for (let i = 0; i < n; i++) expect(load<u8>(p + <usize>i)).toBe(load<u8>(ref + <usize>i), "byte " + i.toString());
}

function ascii(s: string): i32 {
  for (let i = 0; i < s.length; i++) store<u8>(text + <usize>i, <u8>s.charCodeAt(i));
  return s.length;
}

function sampleBlock(): ReportBlock {
  const b = new ReportBlock();
  b.ssrc = 0x55667788;
  b.fractionLost = 0x33;
  b.cumulativeLost = 2;
  b.highestSeq = 0x000103f2;
  b.jitter = 16;
  b.lsr = 0xb7052000;
  b.dlsr = 0x00018000;
  return b;
}

// SR with one block: 28 + 24 = 52 bytes, 13 words: length field 12.
const SR_HEX = "81 C8 000C 11223344 83AA7E81 80000000 00001F40 00000032 00001F40"
  + " 55667788 33000002 000103F2 00000010 B7052000 00018000";

describe("SR and RR", () => {
  it("writes an SR field by field (RFC 3550 §6.4.1) and parses it back", () => {
    const s = new SenderInfo();
    s.ssrc = 0x11223344;
    s.ntp = ntpFromUnixUs(1_500_000); // 1970-01-01 00:00:01.5: 0x83AA7E81.80000000
    s.rtpTimestamp = 8000;
    s.packets = 50;
    s.octets = 8000;
    const blocks = new StaticArray<ReportBlock>(1);
    blocks[0] = sampleBlock();
    expect(writeSr(buf, 512, s, blocks, 1)).toBe(52);
    expectBytes(buf, SR_HEX);
    const t = new SenderInfo();
    expect(parseSr(buf, 52, t)).toBe(RTCP_OK);
    expect(t.ssrc).toBe(0x11223344);
    expect(t.ntp).toBe(0x83aa7e8180000000);
    expect(t.rtpTimestamp).toBe(8000);
    expect(t.packets).toBe(50);
    expect(t.octets).toBe(8000);
    expect(t.reportCount).toBe(1);
    const b = new ReportBlock();
    expect(readReportBlock(buf, 52, 0, b)).toBe(RTCP_OK);
    expect(b.ssrc).toBe(0x55667788);
    expect(b.fractionLost).toBe(0x33);
    expect(b.cumulativeLost).toBe(2);
    expect(b.highestSeq).toBe(0x103f2);
    expect(b.jitter).toBe(16);
    expect(b.lsr).toBe(0xb7052000);
    expect(b.dlsr).toBe(0x18000);
    expect(readReportBlock(buf, 52, 1, b)).toBe(RTCP_ERR_BAD_COUNT, "only one block");
  });

  it("writes an RR with two blocks; negative and oversized cumulative loss in 24 bits", () => {
    const blocks = new StaticArray<ReportBlock>(2);
    blocks[0] = sampleBlock();
    blocks[0].cumulativeLost = -3;       // 0xFFFFFD
    blocks[1] = sampleBlock();
    blocks[1].ssrc = 0x99;
    blocks[1].cumulativeLost = 0x1000000; // clamped to 0x7FFFFF
    expect(writeRr(buf, 512, 0xabcdef01, blocks, 2)).toBe(56);
    expectBytes(buf, "82 C9 000D ABCDEF01 55667788 33FFFFFD");
    expectBytes(buf + 32, "00000099 337FFFFF");
    expect(parseRr(buf, 56)).toBe(2);
    expect(reporterSsrc(buf, 56)).toBe(0xabcdef01);
    const b = new ReportBlock();
    expect(readReportBlock(buf, 56, 0, b)).toBe(RTCP_OK);
    expect(b.cumulativeLost).toBe(-3);
    expect(readReportBlock(buf, 56, 1, b)).toBe(RTCP_OK);
    expect(b.ssrc).toBe(0x99);
    expect(b.cumulativeLost).toBe(0x7fffff);
    // An RR with no blocks is 8 bytes.
    expect(writeRr(buf, 8, 7, null, 0)).toBe(8);
    expectBytes(buf, "80 C9 0001 00000007");
    expect(parseRr(buf, 8)).toBe(0);
  });

  it("refuses what does not fit, and report counts past the packet", () => {
    const blocks = new StaticArray<ReportBlock>(1);
    blocks[0] = sampleBlock();
    const s = new SenderInfo();
    expect(writeSr(buf, 51, s, blocks, 1)).toBe(RTCP_ERR_CAPACITY);
    expect(writeSr(buf, 512, s, blocks, 2)).toBe(RTCP_ERR_CAPACITY, "more blocks than given");
    expect(writeRr(buf, 512, 1, null, 1)).toBe(RTCP_ERR_CAPACITY);
    expect(writeRr(buf, 512, 1, blocks, 32)).toBe(RTCP_ERR_CAPACITY, "the count has 5 bits");
    // An SR claiming 2 blocks in 52 bytes.
    hex(SR_HEX, buf);
    store<u8>(buf, 0x82);
    expect(parseSr(buf, 52, s)).toBe(RTCP_ERR_BAD_COUNT);
    expect(parseSr(buf, 27, s)).toBe(RTCP_ERR_TOO_SHORT);
    expect(parseRr(buf, 52)).toBe(RTCP_ERR_WRONG_TYPE);
    hex("81 C9 0001 00000007", buf);
    expect(parseRr(buf, 8)).toBe(RTCP_ERR_BAD_COUNT);
    expect(parseRr(buf, 7)).toBe(RTCP_ERR_TOO_SHORT);
    expect(parseSr(buf, 28, s)).toBe(RTCP_ERR_WRONG_TYPE);
  });
});

describe("SDES", () => {
  it("writes one CNAME chunk padded to 32 bits with nulls", () => {
    const n = ascii("tincan@dev");
    memory.fill(buf, 0xee, 32);
    // 4 header + 4 SSRC + type, length, 10 bytes = 20, then a null and 3 padding nulls: 24.
    expect(writeSdesCname(buf, 512, 0x01020304, text, n)).toBe(24);
    expectBytes(buf, "81 CA 0005 01020304 01 0A 74696E63616E40646576 00000000 EE");
    const r = new SdesReader();
    expect(r.reset(buf, 24)).toBe(RTCP_OK);
    expect(r.next()).toBe(1);
    expect(r.ssrc).toBe(0x01020304);
    expect(r.itemType).toBe(SDES_CNAME);
    expect(r.itemLength).toBe(10);
    expect(load<u8>(r.item)).toBe(0x74);
    expect(r.next()).toBe(0);
    // A CNAME of 2 bytes: 8 + 2 + 2 = 12 and the null needs a whole new word: 16.
    expect(writeSdesCname(buf, 512, 1, text, 2)).toBe(16);
    expect(writeSdesCname(buf, 15, 1, text, 2)).toBe(RTCP_ERR_CAPACITY);
    expect(writeSdesCname(buf, 512, 1, text, 0)).toBe(RTCP_ERR_CAPACITY);
  });

  it("walks two chunks with several items each", () => {
    // SC=2, 32 bytes. Chunk 1 (offset 4): SSRC, CNAME "abc", null at 13, padding to 16.
    // Chunk 2 (offset 16): SSRC, NAME "Door", CNAME "x", null at 29, padding to 32.
    const n = hex("82 CA 0007 11111111 01 03 616263 000000 22222222 02 04 446F6F72 01 01 78 000000", buf);
    expect(n).toBe(32);
    const r = new SdesReader();
    expect(r.reset(buf, n)).toBe(RTCP_OK);
    expect(r.next()).toBe(1);
    expect(r.ssrc).toBe(0x11111111);
    expect(r.itemType).toBe(1);
    expect(r.itemLength).toBe(3);
    expect(r.next()).toBe(1);
    expect(r.ssrc).toBe(0x22222222);
    expect(r.itemType).toBe(2);
    expect(r.itemLength).toBe(4);
    expect(load<u8>(r.item + 3)).toBe(0x72);
    expect(r.next()).toBe(1);
    expect(r.itemType).toBe(1);
    expect(load<u8>(r.item)).toBe(0x78);
    expect(r.next()).toBe(0);
  });

  it("rejects an item past the end, a chunk with no null, and a chunk count too big", () => {
    const r = new SdesReader();
    let n = hex("81 CA 0002 11111111 01 09 616263 00", buf);
    expect(r.reset(buf, n)).toBe(RTCP_ERR_BAD_ITEM);
    n = hex("81 CA 0002 11111111 01 02 6162", buf);
    expect(r.reset(buf, n)).toBe(RTCP_ERR_BAD_ITEM);
    n = hex("83 CA 0002 11111111 00000000", buf);
    expect(r.reset(buf, n)).toBe(RTCP_ERR_BAD_COUNT);
    expect(r.next()).toBe(0, "nothing to walk after a failed reset");
    n = hex("81 C9 0001 00000000", buf);
    expect(r.reset(buf, n)).toBe(RTCP_ERR_WRONG_TYPE);
  });
});

describe("BYE", () => {
  it("writes a BYE with and without a reason", () => {
    const n = ascii("done");
    // 8 + length byte + 4 = 13, padded to 16.
    expect(writeBye(buf, 512, 0x0a0b0c0d, text, n)).toBe(16);
    expectBytes(buf, "81 CB 0003 0A0B0C0D 04 646F6E65 000000");
    const b = new ByeInfo();
    expect(b.parse(buf, 16)).toBe(RTCP_OK);
    expect(b.count).toBe(1);
    expect(b.ssrc(0)).toBe(0x0a0b0c0d);
    expect(b.ssrc(1)).toBe(0);
    expect(b.reasonLength).toBe(4);
    expect(load<u8>(b.reason + 3)).toBe(0x65);
    expect(writeBye(buf, 512, 0x0a0b0c0d, 0, 0)).toBe(8);
    expectBytes(buf, "81 CB 0001 0A0B0C0D");
    expect(b.parse(buf, 8)).toBe(RTCP_OK);
    expect(b.reasonLength).toBe(0);
    expect(writeBye(buf, 15, 1, text, 4)).toBe(RTCP_ERR_CAPACITY);
  });

  it("parses several SSRCs, and rejects a count or reason past the end", () => {
    const b = new ByeInfo();
    let n = hex("82 CB 0004 11111111 22222222 05 6279652121 0000", buf);
    expect(b.parse(buf, n)).toBe(RTCP_OK);
    expect(b.count).toBe(2);
    expect(b.ssrc(1)).toBe(0x22222222);
    expect(b.reasonLength).toBe(5);
    n = hex("81 CB 0002 11111111 09 616263", buf);
    expect(b.parse(buf, n)).toBe(RTCP_ERR_BAD_ITEM);
    n = hex("83 CB 0001 11111111", buf);
    expect(b.parse(buf, n)).toBe(RTCP_ERR_BAD_COUNT);
    expect(b.count).toBe(0);
  });
});

function sampleMetrics(): VoipMetrics {
  const m = new VoipMetrics();
  m.ssrc = 0x0a0b0c0d;
  m.lossRate = 13; m.discardRate = 3; m.burstDensity = 40; m.gapDensity = 5;
  m.burstDuration = 120; m.gapDuration = 4000; m.roundTripDelay = 150; m.endSystemDelay = 60;
  m.signalLevel = -20; m.noiseLevel = -60; m.rerl = 50; m.gmin = 16;
  m.rFactor = 88; m.extRFactor = 127; m.mosLq = 43; m.mosCq = 42;
  m.rxConfig = 0xf0; // PLC 11 (enhanced), JBA 11 (adaptive), JB rate 0
  m.jbNominal = 40; m.jbMaximum = 80; m.jbAbsMax = 200;
  return m;
}

const VOIP_BLOCK_HEX = "07 00 0008 0A0B0C0D 0D 03 28 05 0078 0FA0 0096 003C EC C4 32 10 58 7F 2B 2A F0 00 0028 0050 00C8";

describe("XR VoIP Metrics (RFC 3611 §4.7)", () => {
  it("writes the block field by field and reads it back", () => {
    const m = sampleMetrics();
    expect(writeXrVoip(buf, 512, 0x11223344, m)).toBe(44);
    expectBytes(buf, "80 CF 000A 11223344 " + VOIP_BLOCK_HEX);
    const x = new XrReader();
    expect(x.reset(buf, 44)).toBe(RTCP_OK);
    expect(x.ssrc).toBe(0x11223344);
    expect(x.next()).toBe(1);
    expect(x.blockType).toBe(XR_VOIP_METRICS);
    expect(x.blockLength).toBe(36);
    const r = new VoipMetrics();
    expect(r.read(x.block, x.blockLength)).toBe(RTCP_OK);
    expect(r.ssrc).toBe(0x0a0b0c0d);
    expect(r.lossRate).toBe(13);
    expect(r.discardRate).toBe(3);
    expect(r.burstDensity).toBe(40);
    expect(r.gapDensity).toBe(5);
    expect(r.burstDuration).toBe(120);
    expect(r.gapDuration).toBe(4000);
    expect(r.roundTripDelay).toBe(150);
    expect(r.endSystemDelay).toBe(60);
    expect(r.signalLevel).toBe(-20);
    expect(r.noiseLevel).toBe(-60);
    expect(r.rerl).toBe(50);
    expect(r.gmin).toBe(16);
    expect(r.rFactor).toBe(88);
    expect(r.extRFactor).toBe(127);
    expect(r.mosLq).toBe(43);
    expect(r.mosCq).toBe(42);
    expect(r.rxConfig).toBe(0xf0);
    expect(r.jbNominal).toBe(40);
    expect(r.jbMaximum).toBe(80);
    expect(r.jbAbsMax).toBe(200);
    expect(x.next()).toBe(0);
    expect(writeXrVoip(buf, 43, 1, m)).toBe(RTCP_ERR_CAPACITY);
  });

  it("skips other block types, and rejects a block running past its packet", () => {
    // A Receiver Reference Time block (BT 4, length 2: 12 bytes) before the VoIP block: 56 bytes.
    const n = hex("80 CF 000D 11223344 04 00 0002 83AA7E81 80000000 " + VOIP_BLOCK_HEX, buf);
    expect(n).toBe(56);
    const x = new XrReader();
    expect(x.reset(buf, n)).toBe(RTCP_OK);
    expect(x.next()).toBe(1);
    expect(x.blockType).toBe(4);
    expect(x.blockLength).toBe(12);
    expect(x.next()).toBe(1);
    expect(x.blockType).toBe(7);
    expect(x.next()).toBe(0);
    store<u8>(buf + 23, 9); // the VoIP block's length: 9 words + header = 40 bytes
    expect(x.reset(buf, n)).toBe(RTCP_ERR_BAD_ITEM);
    const m = new VoipMetrics();
    expect(m.read(buf + 20, 36)).toBe(RTCP_ERR_BAD_ITEM, "a VoIP block is always length 8");
    expect(m.read(buf + 8, 36)).toBe(RTCP_ERR_WRONG_TYPE);
    expect(m.read(buf + 20, 35)).toBe(RTCP_ERR_TOO_SHORT);
    // A block header cut by the end of the packet.
    hex("80 CF 0002 11223344 07 00 0008", buf);
    expect(x.reset(buf, 12)).toBe(RTCP_ERR_BAD_ITEM);
  });
});

// A compound packet as we send one: SR (52) + SDES CNAME (24) + BYE (8) = 84 bytes.
function buildCompound(): i32 {
  let n = hex(SR_HEX, buf);
  n += writeSdesCname(buf + <usize>n, 512 - n, 0x11223344, text, ascii("tincan@dev"));
  n += writeBye(buf + <usize>n, 512 - n, 0x11223344, 0, 0);
  return n;
}

describe("compound packets", () => {
  it("walks SR + SDES + BYE, giving each packet's type, count and length", () => {
    expect(buildCompound()).toBe(84);
    const r = new RtcpReader();
    expect(r.reset(buf, 84, false)).toBe(RTCP_OK);
    expect(r.packets).toBe(3);
    expect(r.reduced).toBe(false);
    expect(r.next()).toBe(true);
    expect(r.packetType).toBe(RTCP_SR);
    expect(r.count).toBe(1);
    expect(r.length).toBe(52);
    const s = new SenderInfo();
    expect(parseSr(r.packet, r.length, s)).toBe(RTCP_OK);
    expect(r.next()).toBe(true);
    expect(r.packetType).toBe(RTCP_SDES);
    expect(r.length).toBe(24);
    expect(<i32>(r.packet - buf)).toBe(52);
    expect(r.next()).toBe(true);
    expect(r.packetType).toBe(RTCP_BYE);
    expect(r.length).toBe(8);
    expect(r.next()).toBe(false);
  });

  it("rejects every truncation that does not end on a packet boundary", () => {
    // Cut at 52 (SR alone) or 76 (SR + SDES) the datagram is still a valid compound.
    buildCompound();
    const r = new RtcpReader();
    for (let len = 0; len < 84; len++) {
      const rc = r.reset(buf, len, false);
      if (len == 52 || len == 76) {
        expect(rc).toBe(RTCP_OK, "length " + len.toString());
        expect(r.packets).toBe(len == 52 ? 1 : 2);
      } else {
        expect(rc).toBe(len < 4 ? RTCP_ERR_TOO_SHORT : RTCP_ERR_BAD_LENGTH, "length " + len.toString());
      }
    }
  });

  it("requires SR or RR first, unless reduced-size RTCP (RFC 5506) was negotiated", () => {
    const r = new RtcpReader();
    const n = writeSdesCname(buf, 512, 1, text, ascii("a"));
    expect(r.reset(buf, n, false)).toBe(RTCP_ERR_FIRST_PACKET);
    expect(r.reset(buf, n, true)).toBe(RTCP_OK);
    expect(r.reduced).toBe(true);
    // A lone XR, and a lone RR, are reduced-size packets too (the RR one is also compound-valid).
    const m = sampleMetrics();
    const x = writeXrVoip(buf, 512, 1, m);
    expect(r.reset(buf, x, false)).toBe(RTCP_ERR_FIRST_PACKET);
    expect(r.reset(buf, x, true)).toBe(RTCP_OK);
    expect(r.next()).toBe(true);
    expect(r.packetType).toBe(RTCP_XR);
    expect(r.length).toBe(44);
    const rr = writeRr(buf, 512, 1, null, 0);
    expect(r.reset(buf, rr, false)).toBe(RTCP_OK);
    expect(r.reduced).toBe(false);
  });

  it("rejects a length that overruns, a bad version later on, and trailing bytes", () => {
    const r = new RtcpReader();
    let n = buildCompound();
    store<u8>(buf + 52 + 3, 8); // SDES says 9 words (36 bytes): 52 + 36 = 88, past the 84 there are
    expect(r.reset(buf, n, false)).toBe(RTCP_ERR_BAD_LENGTH);
    n = buildCompound();
    store<u8>(buf + 76, 0x41); // the BYE with version 1
    expect(r.reset(buf, n, false)).toBe(RTCP_ERR_BAD_VERSION);
    n = buildCompound();
    store<u8>(buf, 0x01); // the SR with version 0
    expect(r.reset(buf, n, false)).toBe(RTCP_ERR_BAD_VERSION);
    n = buildCompound();
    hex("80C9", buf + <usize>n); // 2 stray bytes after the BYE: no room for a header
    expect(r.reset(buf, n + 2, false)).toBe(RTCP_ERR_BAD_LENGTH);
  });

  it("allows padding only on the last packet, with a count that fits", () => {
    const r = new RtcpReader();
    // RR (8) then a BYE with P set: 8 bytes + 4 padding, count 4, length field 2.
    let n = writeRr(buf, 512, 1, null, 0);
    n += hex("A1 CB 0002 11223344 00000004", buf + <usize>n);
    expect(r.reset(buf, n, false)).toBe(RTCP_OK);
    r.next();
    expect(r.next()).toBe(true);
    expect(r.padding).toBe(4);
    expect(r.length).toBe(8, "padding excluded");
    const b = new ByeInfo();
    expect(b.parse(r.packet, r.length)).toBe(RTCP_OK);
    expect(b.reasonLength).toBe(0, "the padding is not read as a reason");
    store<u8>(buf + <usize>(n - 1), 0);
    expect(r.reset(buf, n, false)).toBe(RTCP_ERR_BAD_PADDING, "count 0");
    store<u8>(buf + <usize>(n - 1), 9);
    expect(r.reset(buf, n, false)).toBe(RTCP_ERR_BAD_PADDING, "count 9 > 8 after the header");
    store<u8>(buf + <usize>(n - 1), 4);
    store<u8>(buf, 0xa0); // now the RR, not the last packet, is padded too
    expect(r.reset(buf, n, false)).toBe(RTCP_ERR_BAD_PADDING);
  });
});

describe("NTP time and round-trip time", () => {
  it("converts Unix microseconds to NTP 32.32 and its middle 32 bits", () => {
    expect(ntpFromUnixUs(0)).toBe(<u64>2208988800 << 32); // 1970 is 2,208,988,800 s after 1900
    expect(ntpFromUnixUs(1_500_000)).toBe(0x83aa7e8180000000);
    expect(ntpFromUnixUs(250_000) & 0xffffffff).toBe(0x40000000);
    expect(ntpFromUnixUs(-500_000)).toBe(((<u64>2208988800 - 1) << 32) | 0x80000000, "before 1970: floor");
    expect(ntpMiddle(0x83aa7e8180000000)).toBe(0x7e818000);
    expect(ntpShortFromUnixUs(1_500_000)).toBe(0x7e818000);
  });

  it("computes RTT = A - LSR - DLSR (RFC 3550 §6.4.1's example)", () => {
    // A = 0xB710:8000 (46864.5 s), LSR = 0xB705:2000 (46853.125 s), DLSR = 0x0005:4000 (5.25 s):
    // 46864.5 - 46853.125 - 5.25 = 6.125 s = 0x0006:2000 = 6,125,000 us.
    const rtt = rttNtpShort(0xb7108000, 0xb7052000, 0x00054000);
    expect(rtt).toBe(0x00062000);
    expect(ntpShortToUs(<u32>rtt)).toBe(6_125_000);
    // Our own: SR sent at 100.0 s (LSR 0x0064:0000), held 0.25 s by the peer (DLSR 0x0000:4000),
    // report back at 100.33 s: 0.33 x 65536 = 21626.88, A = 0x0064:547B. RTT = 0x547B - 0x4000
    // = 5243 units = 80,001 us (80 ms, to the 15 us grain of the format).
    expect(rttNtpShort(0x0064547b, 0x00640000, 0x00004000)).toBe(5243);
    expect(ntpShortToUs(5243)).toBe(80_001);
    // Across the 2^32 wrap of NTP short time.
    expect(rttNtpShort(0x00000100, 0xffffff00, 0x00000080)).toBe(0x180);
    expect(rttNtpShort(0x00010000, 0, 0)).toBe(-1, "LSR 0: no SR from us reached the peer");
    expect(rttNtpShort(0xb7052000, 0xb7052000, 0x10)).toBe(-1, "negative: clock error");
    expect(usToNtpShort(1_500_000)).toBe(0x18000);
    expect(usToNtpShort(-5)).toBe(0);
    expect(usToNtpShort(100_000_000_000)).toBe(0xffffffff);
  });
});

describe("transmission interval (RFC 3550 §6.2, §6.3, A.7)", () => {
  it("gives a 2-party 64 kbit/s call the 5 s minimum, / 1.21828, randomised over [0.5, 1.5)", () => {
    // RTCP bandwidth 5% of 64,000 bit/s = 3,200 bit/s = 400 octets/s. Both parties send, and
    // 2 senders > 2/4 members: no sender/receiver split, n = 2. Td = 100 x 2 / 400 = 0.5 s,
    // below the 5 s minimum: Td = 5 s. T = Td x (0.5 + r) / (e - 3/2):
    //   r = 0.5: 5 / 1.21828 = 4.104147 s -> 4,104,146 us (rounded down)
    //   r = 0:   2.5 / 1.21828 = 2,052,073 us
    //   r -> 1:  r = 0xFFFFFFFF is 1 - 2^-32, kept to 16 bits: 5e6 x 98303 / 65536 = 7,499,923,
    //            / 1.21828 = 6,156,157 us
    expect(rtcpDeterministicIntervalUs(2, 2, 64000, true, 100, false)).toBe(5_000_000);
    expect(rtcpIntervalUs(2, 2, 64000, true, 100, false, 0x80000000)).toBe(4_104_146);
    expect(rtcpIntervalUs(2, 2, 64000, true, 100, false, 0)).toBe(2_052_073);
    expect(rtcpIntervalUs(2, 2, 64000, true, 100, false, 0xffffffff)).toBe(6_156_157);
    // The first report: the minimum is halved to 2.5 s: 2.5 / 1.21828 = 2,052,073 us at r = 0.5.
    expect(rtcpIntervalUs(2, 2, 64000, true, 100, true, 0x80000000)).toBe(2_052_073);
    // The same call counted with its IP/UDP/RTP overhead (G.722 in 20 ms packets: 200 octets
    // per 20 ms = 80 kbit/s): 500 octets/s, Td 0.4 s: still the minimum.
    expect(rtcpIntervalUs(2, 2, 80000, true, 100, false, 0x80000000)).toBe(4_104_146);
  });

  it("grows past the minimum on a slow link, and splits 1/4 : 3/4 when senders are few", () => {
    // 8 kbit/s session: 50 octets/s; 2 members of 200 octets: Td = 400 / 50 = 8 s;
    // 8 / 1.21828 = 6,566,634 us at r = 0.5.
    expect(rtcpDeterministicIntervalUs(2, 2, 8000, true, 200, false)).toBe(8_000_000);
    expect(rtcpIntervalUs(2, 2, 8000, true, 200, false, 0x80000000)).toBe(6_566_634);
    // 10 members, 2 senders (2 <= 10/4), 64 kbit/s: 400 octets/s, avg 1000 octets.
    //   a sender: 1/4 of it (100 octets/s) over n = 2 senders: 1000 x 2 / 100 = 20 s
    //   a receiver: 3/4 (300 octets/s) over n = 8 receivers: 8000 / 300 = 26.666667 s
    expect(rtcpDeterministicIntervalUs(10, 2, 64000, true, 1000, false)).toBe(20_000_000);
    expect(rtcpDeterministicIntervalUs(10, 2, 64000, false, 1000, false)).toBe(26_666_666);
    // Exactly a quarter: 2 senders of 8 split (a sender 1000 x 2 / 100 = 20 s), which equals the
    // unsplit 1000 x 8 / 400 = 20 s: the 1/4 share is chosen to make the rule continuous there.
    expect(rtcpDeterministicIntervalUs(8, 2, 64000, true, 1000, false)).toBe(20_000_000);
    // 3 senders of 10 (> 10/4): everyone shares all of it: 1000 x 10 / 400 = 25 s.
    expect(rtcpDeterministicIntervalUs(10, 3, 64000, true, 1000, false)).toBe(25_000_000);
  });

  it("returns -1 without bandwidth or size, and saturates absurd inputs instead of overflowing", () => {
    expect(rtcpIntervalUs(2, 2, 0, true, 100, false, 0)).toBe(-1);
    expect(rtcpIntervalUs(2, 2, -64000, true, 100, false, 0)).toBe(-1);
    expect(rtcpIntervalUs(2, 2, 64000, true, 0, false, 0)).toBe(-1);
    expect(rtcpDeterministicIntervalUs(i32.MAX_VALUE, 0, 1, false, i32.MAX_VALUE, false)).toBe(0xffffffff);
    expect(rtcpDeterministicIntervalUs(0, 5, 64000, true, 100, false)).toBe(5_000_000, "members < 1 counts us");
  });

  it("smooths avg_rtcp_size by 1/16 and reconsiders the timer", () => {
    // avg 100 octets (x16 = 1600), a 116-octet report: 100 + (116 - 100) / 16 = 101 (x16 1616).
    expect(smoothAvgRtcpSize(1600, 116)).toBe(1616);
    // 200 reports of 84 octets pull it to 84 (x16 between 84 x 16 and 84 x 16 + 15).
    let a = 1600;
    for (let i = 0; i < 200; i++) a = smoothAvgRtcpSize(a, 84);
    expect(a >> 4).toBe(84);
    // Timer set at tp = 10 s fires at 14 s; recomputed T 4.1 s: 14.1 s not reached, wait.
    expect(rtcpReconsider(10_000_000, 14_000_000, 4_100_000)).toBe(false);
    expect(rtcpReconsider(10_000_000, 14_100_000, 4_100_000)).toBe(true);
  });
});

// Fuzz: 100,000 mutations of valid datagrams through RtcpReader and every per-type parser,
// each placed to end exactly at the end of linear memory so that a read past it traps.
let seed: u32 = 0x9e3779b9;
function rnd(): u32 { seed = seed * 1664525 + 1013904223; return seed >> 8; } // LCG, top 24 bits

function walk(q: usize, len: i32, reduced: bool, r: RtcpReader, s: SenderInfo, b: ReportBlock, sd: SdesReader, bye: ByeInfo, xr: XrReader, m: VoipMetrics): i32 {
  if (r.reset(q, len, reduced) != RTCP_OK) return -1;
  let bad = 0, total = 0, items = 0;
  while (r.next()) {
    total += r.length + r.padding;
    if (r.packet < q || r.packet + <usize>r.length > q + <usize>len) bad++;
    const t = r.packetType;
    if (t == RTCP_SR && parseSr(r.packet, r.length, s) == RTCP_OK) {
      for (let i = 0; i < s.reportCount; i++) if (readReportBlock(r.packet, r.length, i, b) != RTCP_OK) bad++;
    } else if (t == RTCP_RR) {
      const n = parseRr(r.packet, r.length);
      for (let i = 0; i < n; i++) if (readReportBlock(r.packet, r.length, i, b) != RTCP_OK) bad++;
    } else if (t == RTCP_SDES && sd.reset(r.packet, r.length) == RTCP_OK) {
      while (sd.next() == 1) {
        items++;
        if (sd.item + <usize>sd.itemLength > r.packet + <usize>r.length) bad++;
      }
    } else if (t == RTCP_BYE && bye.parse(r.packet, r.length) == RTCP_OK) {
      for (let i = 0; i < bye.count; i++) bye.ssrc(i);
      if (bye.reasonLength > 0 && bye.reason + <usize>bye.reasonLength > r.packet + <usize>r.length) bad++;
    } else if (t == RTCP_XR && xr.reset(r.packet, r.length) == RTCP_OK) {
      while (xr.next() == 1) {
        items++;
        if (xr.block + <usize>xr.blockLength > r.packet + <usize>r.length) bad++;
        if (xr.blockType == XR_VOIP_METRICS) m.read(xr.block, xr.blockLength);
      }
    }
  }
  if (total != len) bad++;
  return bad > 0 ? 1_000_000 : items;
}

describe("RTCP fuzz", () => {
  it("takes 100,000 mutated datagrams without a trap or an inconsistent result", () => {
    const SLOT = 160;
    const templates = memory.data(4 * 160);
    const lens = new StaticArray<i32>(4);
    lens[0] = buildCompound();
    memory.copy(templates, buf, <usize>lens[0]);
    // RR with 2 blocks + SDES with two chunks.
    const blocks = new StaticArray<ReportBlock>(2);
    blocks[0] = sampleBlock();
    blocks[1] = sampleBlock();
    let n = writeRr(templates + 160, 160, 5, blocks, 2);
    n += hex("82 CA 0007 11111111 01 03 616263 000000 22222222 02 04 446F6F72 01 01 78 000000", templates + 160 + <usize>n);
    lens[1] = n;
    // SR + XR (Receiver Reference Time and VoIP Metrics) + padded BYE.
    n = hex(SR_HEX, templates + 320);
    n += hex("80 CF 000D 11223344 04 00 0002 83AA7E81 80000000 " + VOIP_BLOCK_HEX, templates + 320 + <usize>n);
    n += hex("A2 CB 0004 11223344 55667788 02 6869 00 00000004", templates + 320 + <usize>n);
    lens[2] = n;
    // A reduced-size lone XR.
    lens[3] = writeXrVoip(templates + 480, 160, 9, sampleMetrics());
    const r = new RtcpReader();
    const s = new SenderInfo();
    const b = new ReportBlock();
    const sd = new SdesReader();
    const bye = new ByeInfo();
    const xr = new XrReader();
    const m = new VoipMetrics();
    // The templates themselves are valid.
    for (let t = 0; t < 4; t++) expect(walk(templates + <usize>(SLOT * t), lens[t], true, r, s, b, sd, bye, xr, m)).toBeGreaterThan(-1, "template " + t.toString());
    expect(lens[2]).toBeLessThanOrEqual(SLOT);
    const end = <usize>(memory.grow(1) + 1) << 16;
    let accepted = 0, bad = 0, items = 0;
    for (let i = 0; i < 100_000; i++) {
      const t = <i32>(rnd() & 3);
      let len = lens[t];
      const p = end - <usize>SLOT;
      memory.copy(p, templates + <usize>(SLOT * t), <usize>len);
      const k = 1 + <i32>(rnd() & 3);
      for (let j = 0; j < k; j++) {
        // Header bytes (the first 4 of each 4-byte word boundary region) are hit more often.
        const at = (rnd() & 1) != 0 ? <i32>(rnd() % <u32>len) & ~3 | <i32>(rnd() & 3) : <i32>(rnd() % <u32>len);
        store<u8>(p + <usize>at, <u8>rnd());
      }
      const c = rnd() & 7;
      if (c == 0) len = <i32>(rnd() % <u32>(len + 1));
      else if (c == 1) { const more = <i32>(rnd() % <u32>(SLOT - len + 1)); for (let j = 0; j < more; j++) store<u8>(p + <usize>(len + j), <u8>rnd()); len += more; }
      const q = end - <usize>len;
      memory.copy(q, p, <usize>len);
      const w = walk(q, len, (rnd() & 1) != 0, r, s, b, sd, bye, xr, m);
      if (w < 0) continue;
      accepted++;
      if (w >= 1_000_000) bad++; else items += w;
    }
    expect(bad).toBe(0);
    expect(accepted).toBeGreaterThan(10_000);
    expect(items).toBeGreaterThan(10_000);
  });
});
