// A WebAssembly module of the firmware's media path alone (SRTP/SRTCP, demux, RTP and RTCP
// parsing: firmware/media/), for the
// host tests, the fuzzer and the benchmarks: the same code the board runs, driven through two
// buffers in linear memory. It imports nothing.
//
// Drop reason codes for srtp_drops (the negated error codes; 0 = the sum of all):
//   1 malformed / too short   2 bad version   3 auth failure   4 replay   5 too old
//   6 no key / bad suite      7 exhausted (re-key)             8 no room (cap too small)

import { SrtpSession, ERR_NO_KEY, ERR_MALFORMED, REPLAY_MIN, REPLAY_MAX } from "./media/srtp";
import { demux, DEMUX_RTP, DEMUX_RTCP, DEMUX_STUN, DEMUX_DTLS, DEMUX_ZRTP, DEMUX_TURN_CHANNEL } from "./media/demux";
import { RtpHeader, parseRtp, writeRtpHeader } from "./media/rtp";
import { RtcpReader, SenderInfo, ReportBlock, writeSr, writeRr, writeSdesCname, writeBye } from "./media/rtcp";
import { ntpFromUnixUs } from "./media/rtcp-timing";
import "./lib/trap"; // the abort hook (asconfig.json, target "media")

const BUFFER_BYTES: i32 = 2048;
const KEY_BYTES: i32 = 64;
const SALT_AT: i32 = 32;
const CONTEXTS: i32 = 4;

const packet = new StaticArray<u8>(BUFFER_BYTES);
const keys = new StaticArray<u8>(KEY_BYTES);
// Every session is built once, here, with room for the largest window; srtp_open resets one.
const sessions: StaticArray<SrtpSession> = [
  new SrtpSession(REPLAY_MAX), new SrtpSession(REPLAY_MAX), new SrtpSession(REPLAY_MAX), new SrtpSession(REPLAY_MAX),
];

/** The 2048-byte packet buffer every call below works on. */
export function buffer(): usize { return changetype<usize>(packet); }

/** 64 bytes: the master key at [0, keyLen), the master salt at [32, 32 + saltLen). */
export function key_buffer(): usize { return changetype<usize>(keys); }

/**
 * Resets context ctx (0..3) with the key in key_buffer() and a replay window of replayWindow
 * packets (0 = 128; else 128..1024). 0, or ERR_NO_KEY (-6) for a bad ctx, suite, lengths or
 * window; the context is then keyless.
 */
export function srtp_open(ctx: i32, suite: i32, keyLen: i32, saltLen: i32, replayWindow: i32): i32 {
  if (ctx < 0 || ctx >= CONTEXTS) return ERR_NO_KEY;
  const s = unchecked(sessions[ctx]);
  s.clearKey();
  s.resetCounters();
  if (keyLen < 0 || keyLen > SALT_AT || saltLen < 0 || saltLen > KEY_BYTES - SALT_AT) return ERR_NO_KEY;
  if (s.setReplayWindow(replayWindow == 0 ? REPLAY_MIN : replayWindow) < 0) return ERR_NO_KEY;
  const k = changetype<usize>(keys);
  return s.setKey(suite, k, keyLen, k + <usize>SALT_AT, saltLen);
}

/** Protects the RTP packet of len bytes at buffer(); returns the SRTP length or < 0. */
export function srtp_protect(ctx: i32, len: i32): i32 {
  if (ctx < 0 || ctx >= CONTEXTS) return ERR_NO_KEY;
  if (len > BUFFER_BYTES) return unchecked(sessions[ctx]).recordDrop(ERR_MALFORMED);
  return unchecked(sessions[ctx]).protect(changetype<usize>(packet), len, BUFFER_BYTES);
}

export function srtp_unprotect(ctx: i32, len: i32): i32 {
  if (ctx < 0 || ctx >= CONTEXTS) return ERR_NO_KEY;
  if (len > BUFFER_BYTES) return unchecked(sessions[ctx]).recordDrop(ERR_MALFORMED);
  return unchecked(sessions[ctx]).unprotect(changetype<usize>(packet), len);
}

export function srtcp_protect(ctx: i32, len: i32): i32 {
  if (ctx < 0 || ctx >= CONTEXTS) return ERR_NO_KEY;
  if (len > BUFFER_BYTES) return unchecked(sessions[ctx]).recordDrop(ERR_MALFORMED);
  return unchecked(sessions[ctx]).protectRtcp(changetype<usize>(packet), len, BUFFER_BYTES);
}

export function srtcp_unprotect(ctx: i32, len: i32): i32 {
  if (ctx < 0 || ctx >= CONTEXTS) return ERR_NO_KEY;
  if (len > BUFFER_BYTES) return unchecked(sessions[ctx]).recordDrop(ERR_MALFORMED);
  return unchecked(sessions[ctx]).unprotectRtcp(changetype<usize>(packet), len);
}

/** Packets context ctx refused for reason 1..8 (see the top of this file); 0 = all reasons. */
export function srtp_drops(ctx: i32, reason: i32): i32 {
  if (ctx < 0 || ctx >= CONTEXTS) return -1;
  return <i32>unchecked(sessions[ctx]).drops(reason);
}

/** The stub runtime's heap top: flat across packets proves the packet paths allocate nothing. */
export function heap_top(): usize {
  const p = heap.alloc(0);
  heap.free(p);
  return p;
}

// --- The receive path of one media port: demux -> unprotect -> depacketize ------------------
// What a datagram on the call's port goes through on the board. Results:
//   1 an RTP packet, authenticated and parsed (its payload at rtp_payload_offset())
//   2 an RTCP compound (or reduced-size) packet, authenticated and every packet in it valid
//   3 STUN, 4 DTLS / ZRTP / TURN channel data (handed to other cores on the board)
//  -9 unknown first byte; -1..-8 the SRTP/SRTCP refusal (see the top of this file);
//  -10 + e an RTP parse error e (firmware/media/rtp.ts); -20 + e an RTCP parse error e (rtcp.ts)

const rtp = new RtpHeader();
const rtcp = new RtcpReader();
const RECEIVED_RTP: i32 = 1;
const RECEIVED_RTCP: i32 = 2;
const RECEIVED_STUN: i32 = 3;
const RECEIVED_OTHER: i32 = 4;
const UNKNOWN: i32 = -9;

export function media_receive(ctx: i32, len: i32): i32 {
  if (ctx < 0 || ctx >= CONTEXTS) return ERR_NO_KEY;
  if (len < 0 || len > BUFFER_BYTES) return ERR_MALFORMED;
  const p = changetype<usize>(packet);
  const kind = demux(p, len);
  if (kind == DEMUX_STUN) return RECEIVED_STUN;
  if (kind == DEMUX_DTLS || kind == DEMUX_ZRTP || kind == DEMUX_TURN_CHANNEL) return RECEIVED_OTHER;
  const session = unchecked(sessions[ctx]);
  if (kind == DEMUX_RTP) {
    const n = session.unprotect(p, len);
    if (n < 0) return n;
    const e = parseRtp(p, n, rtp);
    return e < 0 ? -10 + e : RECEIVED_RTP;
  }
  if (kind == DEMUX_RTCP) {
    const n = session.unprotectRtcp(p, len);
    if (n < 0) return n;
    const e = rtcp.reset(p, n, true);
    if (e < 0) return -20 + e;
    while (rtcp.next()) { /* each packet was validated by reset(); walking them proves it */ }
    return RECEIVED_RTCP;
  }
  return UNKNOWN;
}

/** After media_receive returned 1: where the RTP payload starts in buffer(), and its length. */
export function rtp_payload_offset(): i32 { return rtp.payloadOffset; }
export function rtp_payload_length(): i32 { return rtp.payloadLength; }

// --- Writers: what the board puts on the wire -------------------------------------------------
// Each writes a packet at the start of buffer() and returns its length (or < 0). Text (a CNAME,
// a BYE reason) is read from buffer() + TEXT_AT.

const TEXT_AT: i32 = 1536;
const senderInfo = new SenderInfo();
const blocks: StaticArray<ReportBlock> = [new ReportBlock(), new ReportBlock()];

export function text_buffer(): usize { return changetype<usize>(packet) + <usize>TEXT_AT; }

export function rtp_write_header(marker: i32, pt: i32, seq: u32, ts: u32, ssrc: u32): i32 {
  return writeRtpHeader(changetype<usize>(packet), TEXT_AT, marker != 0, pt, seq & 0xffff, ts, ssrc);
}

/** Sets report block i (0..1): what a receiver says of the stream it gets. */
export function rtcp_set_block(i: i32, ssrc: u32, fractionLost: u32, cumulativeLost: i32, highestSeq: u32, jitter: u32, lsr: u32, dlsr: u32): i32 {
  if (i < 0 || i > 1) return -1;
  const b = unchecked(blocks[i]);
  b.ssrc = ssrc; b.fractionLost = fractionLost; b.cumulativeLost = cumulativeLost;
  b.highestSeq = highestSeq; b.jitter = jitter; b.lsr = lsr; b.dlsr = dlsr;
  return 0;
}

/** A compound SR (with the first `n` report blocks) + SDES CNAME of cnameLen bytes. */
export function rtcp_write_sr_sdes(ssrc: u32, unixUs: i64, rtpTs: u32, packets: u32, octets: u32, n: i32, cnameLen: i32): i32 {
  const p = changetype<usize>(packet);
  senderInfo.ssrc = ssrc; senderInfo.ntp = ntpFromUnixUs(unixUs); senderInfo.rtpTimestamp = rtpTs;
  senderInfo.packets = packets; senderInfo.octets = octets;
  const sr = writeSr(p, TEXT_AT, senderInfo, blocks, n);
  if (sr < 0) return sr;
  const sdes = writeSdesCname(p + <usize>sr, TEXT_AT - sr, ssrc, text_buffer(), cnameLen);
  return sdes < 0 ? sdes : sr + sdes;
}

/** An RR with the first `n` report blocks; with byeLen >= 0 followed by a BYE with that reason. */
export function rtcp_write_rr(ssrc: u32, n: i32, byeLen: i32): i32 {
  const p = changetype<usize>(packet);
  const rr = writeRr(p, TEXT_AT, ssrc, blocks, n);
  if (rr < 0 || byeLen < 0) return rr;
  const bye = writeBye(p + <usize>rr, TEXT_AT - rr, ssrc, text_buffer(), byeLen);
  return bye < 0 ? bye : rr + bye;
}
