// One call's media session: the frame loop of a call (architecture "Data flows").
//   out: capture (16 kHz) -> [decimate for G.711] -> encode -> RTP -> SRTP -> media outbox
//   in:  datagram -> demux -> SRTP -> RTP -> telephone-event | jitter buffer
//        -> decode or conceal -> [interpolate for G.711] -> playout
// plus RTCP (SR/RR, SDES with a per-call random CNAME, BYE) protected by SRTCP whenever SRTP is
// on, so no control packet ever leaves in clear once keys are agreed. Everything is allocated in
// the constructor; the per-frame and per-packet paths allocate nothing.

import { MediaConfig } from "./media-config";
import { CallStats } from "./stats";
import { SipOutbox } from "../sip/outbox";
import { EntropyPool } from "../sip/entropy";
import { AudioEncoder, AudioDecoder } from "../audio/codec";
import { CODECS, CODEC_G722, CODEC_PCMA, CodecInfo } from "../audio/codecs";
import { G722Encoder, G722Decoder } from "../audio/g722";
import { PcmuEncoder, PcmuDecoder, PcmaEncoder, PcmaDecoder } from "../audio/g711";
import { Decimator, Interpolator } from "../audio/resample";
import { JitterBuffer, JB_MISSING, JB_NOT_STARTED } from "../audio/jitter";
import { SrtpSession } from "../media/srtp";
import { RtpHeader, parseRtp, RtpSender } from "../media/rtp";
import { RtpReceiveStats, rtpArrival } from "../media/rtp-stats";
import { demux, DEMUX_RTP, DEMUX_RTCP } from "../media/demux";
import {
  RtcpReader, SenderInfo, ReportBlock, writeSr, writeRr, writeSdesCname, writeBye, parseSr, readReportBlock, RTCP_SR, RTCP_RR, RTCP_BYE,
} from "../media/rtcp";
import { ntpFromUnixUs, ntpMiddle, ntpShortFromUnixUs, rttNtpShort, ntpShortToUs, rtcpIntervalUs } from "../media/rtcp-timing";
import { DtmfSender, DtmfReceiver, DTMF_NO_DIGIT } from "../media/dtmf";
import { sockaddrEquals, SOCKADDR_BYTES } from "../lib/inet";

const FRAME_SAMPLES: i32 = 320;  // 20 ms at the board's 16 kHz
const PACKET_BYTES: i32 = 1500;
const CNAME_CHARS: i32 = 16;

export class MediaSession {
  readonly config: MediaConfig = new MediaConfig();
  readonly stats: CallStats = new CallStats();
  readonly outbox: SipOutbox = new SipOutbox(3072, 8); // drained after every frame and datagram
  running: bool = false;
  private readonly encoders: StaticArray<AudioEncoder> = [new G722Encoder(1), new PcmuEncoder(), new PcmaEncoder()];
  private readonly decoders: StaticArray<AudioDecoder> = [new G722Decoder(1), new PcmuDecoder(), new PcmaDecoder()];
  private readonly senders: StaticArray<RtpSender> = [new RtpSender(CODECS[0], 0, 0, 0), new RtpSender(CODECS[1], 0, 0, 0), new RtpSender(CODECS[2], 0, 0, 0)];
  private readonly decimator: Decimator = new Decimator(FRAME_SAMPLES);
  private readonly interpolator: Interpolator = new Interpolator(FRAME_SAMPLES / 2);
  readonly jitter: JitterBuffer = new JitterBuffer(16);
  private readonly srtpOut: SrtpSession = new SrtpSession();
  private readonly srtpIn: SrtpSession = new SrtpSession();
  readonly received: RtpReceiveStats = new RtpReceiveStats();
  readonly dtmfOut: DtmfSender = new DtmfSender(8000, 20);
  readonly dtmfIn: DtmfReceiver = new DtmfReceiver();
  private readonly rtp: RtpHeader = new RtpHeader();
  private readonly rtcp: RtcpReader = new RtcpReader();
  private readonly senderInfo: SenderInfo = new SenderInfo();
  private readonly block: ReportBlock = new ReportBlock();
  private readonly blocks: StaticArray<ReportBlock> = [new ReportBlock()];
  private readonly packet: StaticArray<u8> = new StaticArray<u8>(PACKET_BYTES);
  private readonly payload: StaticArray<u8> = new StaticArray<u8>(512);
  private readonly narrow: StaticArray<i16> = new StaticArray<i16>(FRAME_SAMPLES);
  private readonly cname: StaticArray<u8> = new StaticArray<u8>(CNAME_CHARS);
  private codec: CodecInfo = CODECS[0];
  private encoder: AudioEncoder = this.encoders[0];
  private decoder: AudioDecoder = this.decoders[0];
  private sender: RtpSender = this.senders[0];
  private wideband: bool = true;
  private marker: bool = true;
  private framesPerPacket: i32 = 1;
  private pendingFrames: i32 = 0;
  private pendingBytes: i32 = 0;
  private nextRtcpUs: i64 = -1;
  private avgRtcpX16: i32 = 128 * 16;
  private sentSinceReport: bool = false;
  /** Microseconds to add to the board's clock for the NTP times of RTCP (wall clock when known). */
  wallOffsetUs: i64 = 0;
  /** Digits received as telephone-events, oldest first (a small ring the call core drains). */
  readonly digits: StaticArray<i32> = new StaticArray<i32>(16);
  digitCount: i32 = 0;

  constructor(private entropy: EntropyPool) {}

  /** Starts (or re-targets, after a re-INVITE) the session from `config`. False for a bad configuration. */
  start(now: i64, restart: bool): bool {
    const c = this.config;
    let index = -1;
    for (let i = 0; i < CODECS.length; i++) if (CODECS[i].id == c.codec) index = i;
    if (index < 0) return false;
    // The peer's ptime is what it would like to receive: whole 20 ms frames, at most 60 ms a
    // packet; anything else (10, 30 ms) gets 20 ms packets, which every peer takes.
    this.framesPerPacket = c.ptimeMs % 20 == 0 ? min(max(c.ptimeMs / 20, 1), 3) : 1;
    this.pendingFrames = 0;
    this.pendingBytes = 0;
    if (c.suite != 0) {
      if (this.srtpOut.setKey(c.suite, c.txKeyAddress, c.keyLength, c.txKeyAddress + <usize>c.keyLength, c.saltLength) != 0) return false;
      if (this.srtpIn.setKey(c.suite, c.rxKeyAddress, c.keyLength, c.rxKeyAddress + <usize>c.keyLength, c.saltLength) != 0) { this.srtpOut.clearKey(); return false; }
    } else {
      this.srtpOut.clearKey();
      this.srtpIn.clearKey();
    }
    const sameCodec = restart && this.running && this.codec.id == c.codec;
    this.codec = CODECS[index];
    this.encoder = this.encoders[index];
    this.decoder = this.decoders[index];
    this.wideband = c.codec == CODEC_G722;
    if (!sameCodec) {
      // A new stream: random SSRC, sequence number and timestamp (RFC 3550 5.1).
      const s = this.senders[index];
      s.reset(this.entropy.u32(), this.entropy.u32(), this.entropy.u32());
      this.sender = s;
      this.encoder.reset();
      this.decoder.reset();
      this.decimator.reset();
      this.interpolator.reset();
      this.received.reset();
      this.jitter.configure(160, c.jitterFrames > 0 ? c.jitterFrames : 1, 8000);
      this.marker = true;
      this.entropy.hex(changetype<usize>(this.cname), CNAME_CHARS); // RFC 7022: a fresh random CNAME per call
    }
    if (!restart) this.stats.reset(now);
    this.running = true;
    this.nextRtcpUs = now + rtcpIntervalUs(2, 2, 64000, false, this.avgRtcpX16 >> 4, true, this.entropy.u32());
    return true;
  }

  /** Ends the session: an RTCP BYE (protected like everything else), keys forgotten. */
  stop(now: i64): void {
    if (!this.running) return;
    if (this.config.send || this.sender.packets > 0) this.sendRtcp(now, true);
    this.running = false;
    this.srtpOut.clearKey();
    this.srtpIn.clearKey();
    this.stats.endedUs = now;
  }

  /** One 20 ms frame: capture in, playout out (FRAME_SAMPLES i16 each at 16 kHz). */
  frame(capture: usize, playout: usize, samples: i32, now: i64): void {
    if (!this.running || samples != FRAME_SAMPLES) { memory.fill(playout, 0, <usize>samples << 1); return; }
    this.sendFrame(capture, now);
    this.playFrame(playout, now);
  }

  /** One frame in the codec's own samples (RtpSender counts its timestamps in those). */
  @inline private get codecFrame(): i32 { return this.wideband ? FRAME_SAMPLES : FRAME_SAMPLES / 2; }

  /** Audio frames not yet sent are given up (hold, DTMF): their time still passes on the RTP clock. */
  private dropPending(s: RtpSender): void {
    if (this.pendingFrames > 0) s.advance(this.pendingFrames * this.codecFrame);
    this.pendingFrames = 0;
    this.pendingBytes = 0;
  }

  private sendFrame(capture: usize, now: i64): void {
    const c = this.config;
    const s = this.sender;
    const payload = changetype<usize>(this.payload);
    if (!c.send) { this.dropPending(s); s.advance(this.codecFrame); return; }
    // A telephone-event in progress takes the place of the audio (RFC 4733 2.5.1.2 allows either).
    if (c.sendEventPt >= 0) {
      const n = this.dtmfOut.poll(now, s.timestamp, payload, this.payload.length);
      if (n > 0) {
        this.dropPending(s);
        const ts = s.timestamp;
        s.timestamp = this.dtmfOut.timestamp;
        const len = this.packetize(s, payload, n, 0, this.dtmfOut.marker, c.sendEventPt);
        s.timestamp = ts;
        s.advance(this.codecFrame);
        if (len > 0) this.send(len, now);
        return;
      }
    }
    let pcm = capture;
    let samples = FRAME_SAMPLES;
    if (!this.wideband) {
      samples = this.decimator.process(capture, FRAME_SAMPLES, changetype<usize>(this.narrow));
      pcm = changetype<usize>(this.narrow);
    }
    // ptime of 40 or 60 ms: frames gather in the payload and leave together, stamped with the
    // first one's time (RtpSender's timestamp does not move until the packet is written).
    const bytes = this.encoder.encode(pcm, samples, payload + <usize>this.pendingBytes);
    if (bytes <= 0) { this.dropPending(s); s.advance(this.codecFrame); return; }
    this.pendingBytes += bytes;
    if (++this.pendingFrames < this.framesPerPacket) return;
    const len = this.packetize(s, payload, this.pendingBytes, this.pendingFrames * this.codecFrame, this.marker, c.sendPt);
    this.pendingFrames = 0;
    this.pendingBytes = 0;
    this.marker = false;
    if (len > 0) this.send(len, now);
  }

  /** RTP header + payload into the packet buffer, with the payload type given (audio or events). */
  private packetize(s: RtpSender, payload: usize, bytes: i32, samples: i32, marker: bool, pt: i32): i32 {
    const p = changetype<usize>(this.packet);
    const n = s.packetize(payload, bytes, samples, marker, p, PACKET_BYTES - 32);
    if (n < 0) return n;
    store<u8>(p + 1, <u8>((marker ? 0x80 : 0) | (pt & 0x7f))); // the sender writes its codec's type
    return n;
  }

  private send(len: i32, now: i64): void {
    const p = changetype<usize>(this.packet);
    let n = len;
    if (this.config.suite != 0) {
      n = this.srtpOut.protect(p, len, PACKET_BYTES);
      if (n < 0) { this.stats.sendErrors++; return; }
    }
    if (this.outbox.push(p, n, this.config.remoteAddress)) {
      this.stats.packetsSent++;
      this.stats.bytesSent += <u64>n;
      this.sentSinceReport = true;
    } else this.stats.sendErrors++;
  }

  private playFrame(playout: usize, now: i64): void {
    const c = this.config;
    const payload = changetype<usize>(this.payload);
    const n = this.jitter.pop(now, payload, this.payload.length);
    let out = playout;
    if (!this.wideband) out = changetype<usize>(this.narrow);
    const samples = this.wideband ? FRAME_SAMPLES : FRAME_SAMPLES / 2;
    if (!c.receive || n == JB_NOT_STARTED) {
      memory.fill(playout, 0, <usize>FRAME_SAMPLES << 1);
      return;
    }
    let got = 0;
    if (n > 0) got = this.decoder.decode(payload, n, out);
    if (got != samples) {
      this.decoder.conceal(out, samples);
      this.stats.framesConcealed++;
    } else this.stats.framesPlayed++;
    if (!this.wideband) this.interpolator.process(out, samples, playout);
  }

  /**
   * A packet this session queued never left (ICE had no path for it yet, or consent was lost):
   * the counters say what went on the wire, so it is taken back out of them.
   */
  notSent(p: usize, len: i32): void {
    if (demux(p, len) == DEMUX_RTCP) { if (this.stats.rtcpSent > 0) this.stats.rtcpSent--; return; }
    if (this.stats.packetsSent > 0) this.stats.packetsSent--;
    if (this.stats.bytesSent >= <u64>len) this.stats.bytesSent -= <u64>len;
  }

  /** A datagram on the media port from the SOCKADDR at src. */
  receive(p: usize, len: i32, src: usize, now: i64): void {
    if (!this.running) return;
    const kind = demux(p, len);
    if (kind == DEMUX_RTP) this.receiveRtp(p, len, now);
    else if (kind == DEMUX_RTCP) this.receiveRtcp(p, len, now);
    else this.stats.otherDropped++; // STUN and friends arrive with issue 8
  }

  private receiveRtp(p: usize, len: i32, now: i64): void {
    const c = this.config;
    let n = len;
    if (c.suite != 0) {
      n = this.srtpIn.unprotect(p, len);
      if (n < 0) { this.stats.srtpDropped++; return; }
    }
    const h = this.rtp;
    if (parseRtp(p, n, h) != 0) { this.stats.malformedDropped++; return; }
    this.stats.packetsReceived++;
    this.stats.bytesReceived += <u64>len;
    const payload = p + <usize>h.payloadOffset;
    if (c.receiveEventPt >= 0 && h.payloadType == c.receiveEventPt) {
      const d = this.dtmfIn.handle(h.timestamp, payload, h.payloadLength, now);
      if (d > DTMF_NO_DIGIT) this.pushDigit(d);
      while (this.dtmfIn.pending > 0) this.pushDigit(this.dtmfIn.poll());
      return;
    }
    if (h.payloadType != c.receivePt) { this.stats.wrongTypeDropped++; return; }
    this.received.onPacket(h.ssrc, h.sequence, h.timestamp, rtpArrival(now, 8000));
    this.jitter.onSsrc(h.ssrc);
    // A 40 or 60 ms packet goes into the buffer as 20 ms frames (every codec here is 160 bytes
    // and 160 timestamp units per 20 ms), so playout stays one frame a tick.
    const chunk = this.codec.frameBytes(20);
    const frames = h.payloadLength / chunk;
    if (h.payloadLength > chunk && h.payloadLength % chunk == 0 && frames <= 3) {
      const step = <u32>this.codec.timestampStep(this.codecFrame);
      for (let i = 0; i < frames; i++) {
        this.jitter.push(h.sequence, h.timestamp + <u32>i * step, h.marker && i == 0, payload + <usize>(i * chunk), chunk, now);
      }
      return;
    }
    this.jitter.push(h.sequence, h.timestamp, h.marker, payload, h.payloadLength, now);
  }

  private pushDigit(d: i32): void {
    if (d < 0 || this.digitCount == this.digits.length) return;
    this.digits[this.digitCount++] = d;
  }

  /** Takes the oldest received digit (an event number 0..15), or -1. */
  takeDigit(): i32 {
    if (this.digitCount == 0) return -1;
    const d = this.digits[0];
    for (let i = 1; i < this.digitCount; i++) this.digits[i - 1] = this.digits[i];
    this.digitCount--;
    return d;
  }

  private receiveRtcp(p: usize, len: i32, now: i64): void {
    let n = len;
    if (this.config.suite != 0) {
      n = this.srtpIn.unprotectRtcp(p, len);
      if (n < 0) { this.stats.srtpDropped++; return; }
    }
    const r = this.rtcp;
    if (r.reset(p, n, true) != 0) { this.stats.malformedDropped++; return; }
    this.stats.rtcpReceived++;
    while (r.next()) {
      if (r.packetType == RTCP_SR) {
        if (parseSr(r.packet, r.length, this.senderInfo) == 0) {
          this.received.onSenderReport(this.senderInfo.ntp, this.ntpShort(now));
          this.readBlocks(r.packet, r.length, this.senderInfo.reportCount, now);
        }
      } else if (r.packetType == RTCP_RR) {
        this.readBlocks(r.packet, r.length, r.count, now);
      } else if (r.packetType == RTCP_BYE) {
        this.stats.remoteByes++;
      }
    }
  }

  private readBlocks(p: usize, len: i32, count: i32, now: i64): void {
    const b = this.block;
    for (let i = 0; i < count; i++) {
      if (readReportBlock(p, len, i, b) != 0 || b.ssrc != this.sender.ssrc) continue;
      this.stats.remoteFractionLost = b.fractionLost;
      this.stats.remoteCumulativeLost = b.cumulativeLost;
      this.stats.remoteJitter = b.jitter;
      if (b.lsr != 0) {
        const rtt = rttNtpShort(this.ntpShort(now), b.lsr, b.dlsr);
        if (rtt >= 0) this.stats.addRtt(ntpShortToUs(<u32>rtt));
      }
    }
  }

  @inline private ntpShort(now: i64): u32 { return ntpShortFromUnixUs(now + this.wallOffsetUs); }

  tick(now: i64): void {
    if (!this.running || this.nextRtcpUs < 0 || now < this.nextRtcpUs) return;
    this.sendRtcp(now, false);
    this.nextRtcpUs = now + rtcpIntervalUs(2, this.sentSinceReport ? 2 : 1, 64000, this.sentSinceReport, this.avgRtcpX16 >> 4, false, this.entropy.u32());
    this.sentSinceReport = false;
  }

  timeout(): i64 { return this.running ? this.nextRtcpUs : -1; }

  /** An SR (or RR when we sent nothing) with a report block on the peer, SDES CNAME, and BYE when ending. */
  private sendRtcp(now: i64, bye: bool): void {
    const p = changetype<usize>(this.packet);
    const cap = PACKET_BYTES - 64;
    const s = this.sender;
    let blocks = 0;
    if (this.received.active && this.received.fillReportBlock(this.blocks[0], this.ntpShort(now))) blocks = 1;
    let n = 0;
    if (s.packets > 0) {
      const si = this.senderInfo;
      si.ssrc = s.ssrc;
      si.ntp = ntpFromUnixUs(now + this.wallOffsetUs);
      si.rtpTimestamp = s.timestamp;
      si.packets = s.packets;
      si.octets = s.octets;
      n = writeSr(p, cap, si, this.blocks, blocks);
    } else n = writeRr(p, cap, s.ssrc, this.blocks, blocks);
    if (n < 0) return;
    const m = writeSdesCname(p + <usize>n, cap - n, s.ssrc, changetype<usize>(this.cname), CNAME_CHARS);
    if (m < 0) return;
    n += m;
    if (bye) {
      const k = writeBye(p + <usize>n, cap - n, s.ssrc, 0, 0);
      if (k < 0) return;
      n += k;
    }
    this.avgRtcpX16 += (n * 16 - this.avgRtcpX16) >> 4;
    let out = n;
    if (this.config.suite != 0) {
      out = this.srtpOut.protectRtcp(p, n, PACKET_BYTES);
      if (out < 0) { this.stats.sendErrors++; return; }
    }
    if (this.outbox.push(p, out, this.config.rtcpAddress)) this.stats.rtcpSent++;
  }
}
