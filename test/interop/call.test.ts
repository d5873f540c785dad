// Calls between two simulated boards (host-tools/call/sim-call.ts runSimCall), judged from the
// outside: what each speaker played against what the other microphone was given, what both
// boards say of the call, and what went over loopback: tshark's reading of the capture, and
// libsrtp (an implementation nobody here wrote) unprotecting every captured media packet with
// the keys the SDP carried.
//
//   node --import tsx --test test/interop/call.test.ts
// Needs build/boards/sim/firmware.wasm (npm run build). The wire checks need tshark and the
// right to capture on lo (root), the libsrtp ones gcc and libsrtp2-dev; without them those
// parts are skipped. Each call's boards get a loopback pair of their own (127.0.N.11/12).

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { runSimCall, type SimCallOptions, type SimCallReport } from "../../host-tools/call/sim-call.ts";
import type { CallStatus } from "../../host-tools/call/client.ts";
import { trackContent, fft, rmsDbfs, speechLike, toneFrequency } from "../../host-tools/call/analysis.ts";
import { parseWav, wavHeader } from "../../host-tools/sim/wav.ts";
import { readRtp, startCapture, tsharkFields, tsharkUnavailable } from "../peers/capture.ts";
import { ReferenceUnavailable, SUITES, libsrtpBinary, libsrtpUnprotect, type SrtpSuite } from "../reference/libsrtp.ts";

const RATE = 16000;
const FRAME = 320;
const SECONDS = 2;
const SIP_PORT = 5060;
const TONE_DBFS = -12;
const NO_TSHARK = tsharkUnavailable();

let root = "";
let speechWav = "";
let speech: Int16Array = new Int16Array(0);

before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "tincan-call-test-"));
  speech = speechLike(RATE, SECONDS, 11);
  speechWav = path.join(root, "speech.wav");
  fs.writeFileSync(speechWav, Buffer.concat([wavHeader(RATE, speech.length * 2), Buffer.from(speech.buffer)]));
});

// TINCAN_KEEP_CALLS=1 keeps the recordings and captures (the path is printed).
after(() => {
  if (root === "") return;
  if (process.env.TINCAN_KEEP_CALLS) console.log(`# calls kept in ${root}`);
  else fs.rmSync(root, { recursive: true, force: true });
});

interface CallRun { report: SimCallReport; dir: string; pcap?: string; aIp: string; bIp: string }

async function simCall(name: string, opts: Omit<SimCallOptions, "board" | "dir" | "seconds">, capture = false): Promise<CallRun> {
  for (let attempt = 1; ; attempt++) {
    const dir = path.join(root, `${name}-${attempt}`);
    // A loopback pair of this call's own, named here so the capture filter can name it.
    const net = `127.0.${1 + Math.floor(Math.random() * 250)}`;
    const [aIp, bIp] = [`${net}.11`, `${net}.12`];
    const cap = capture ? await startCapture(`${dir}.pcapng`, `udp and host ${aIp} and host ${bIp}`) : undefined;
    try {
      const report = await runSimCall({ board: "sim", dir, seconds: SECONDS, addressA: aIp, addressB: bIp, ...opts });
      // The final RTCP BYEs left as the call ended: give dumpcap time to take them in.
      if (cap) await sleep(300);
      await cap?.stop();
      return { report, dir, pcap: cap?.file, aIp, bIp };
    } catch (e) {
      await cap?.stop();
      // Another call on this machine holds these addresses (the boards cannot bind 5060).
      if (attempt >= 5 || !/bringing up its network/.test((e as Error).message)) throw e;
      await sleep(3000);
    }
  }
}

const heard = (run: CallRun, side: "a" | "b") => parseWav(fs.readFileSync(path.join(run.dir, `speaker-${side}.wav`))).samples;

/** The tone as played: 20 ms frames within 20 dB of the loudest, first to last, 100 ms in from each end. */
function toneStretch(x: Int16Array): Int16Array {
  const levels: number[] = [];
  for (let o = 0; o + FRAME <= x.length; o += FRAME) levels.push(rmsDbfs(x.subarray(o, o + FRAME)));
  const loudest = Math.max(...levels);
  const first = levels.findIndex((l) => l > loudest - 20);
  const last = levels.length - 1 - [...levels].reverse().findIndex((l) => l > loudest - 20);
  const part = x.subarray((first + 5) * FRAME, (last - 4) * FRAME);
  assert.ok(part.length >= RATE / 2, `only ${part.length} samples of tone were played`);
  return part;
}

function assertTone(played: Int16Array, hz: number, dbfs: number, what: string): string {
  const part = toneStretch(played);
  const f = toneFrequency(part, RATE);
  const level = rmsDbfs(part);
  assert.ok(Math.abs(f - hz) <= 2, `${what}: the ${hz} Hz tone arrived at ${f.toFixed(2)} Hz`);
  assert.ok(Math.abs(level - dbfs) <= 1, `${what}: the tone sent at ${dbfs} dBFS arrived at ${level.toFixed(2)} dBFS`);
  return `${what}: ${f.toFixed(2)} Hz at ${level.toFixed(2)} dBFS`;
}

/** `x` with everything from `hz` up removed (a brick wall in one FFT over the whole signal). */
function lowpass(x: Int16Array, hz: number): Int16Array {
  let n = 1;
  while (n < x.length) n <<= 1;
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  re.set(x);
  fft(re, im);
  const cut = Math.ceil((hz * n) / RATE);
  for (let k = cut; k <= n - cut; k++) { re[k] = 0; im[k] = 0; }
  fft(re, im, true);
  return Int16Array.from(re.subarray(0, x.length), (v) => Math.round(v / n));
}

/**
 * The speech-like source in the recording, after alignment: correlation > 0.9 and the level
 * within 1 dB. Through G.711 the reference is the source limited to G.711's 4 kHz band.
 */
function assertSpeech(played: Int16Array, what: string, listener: CallStatus, bandHz = RATE / 2): string {
  const ref = bandHz < RATE / 2 ? lowpass(speech, bandHz) : speech;
  const a = trackContent(ref, played, RATE, 3000, 0);
  assert.ok(a.correlation > 0.9, `${what}: speech correlates ${a.correlation.toFixed(3)} with its source (lag ${a.lag} samples, ${a.lagChanges} frame slips), want > 0.9; the listener concealed ${listener.framesConcealed} of ${listener.framesConcealed + listener.framesPlayed} frames`);
  const level = rmsDbfs(played.subarray(Math.max(0, a.lag), a.lag + ref.length));
  assert.ok(Math.abs(level - rmsDbfs(ref)) <= 1, `${what}: speech sent at ${rmsDbfs(ref).toFixed(2)} dBFS arrived at ${level.toFixed(2)} dBFS`);
  return `${what}: speech r = ${a.correlation.toFixed(4)}, ${level.toFixed(2)} dBFS (sent ${rmsDbfs(ref).toFixed(2)} in the band to ${bandHz} Hz), ${listener.framesConcealed} frames concealed`;
}

function assertCleanCall(r: SimCallReport, codec: string, suite: string): void {
  const b = r.b!;
  const bEnd = r.bEnd!;
  for (const [name, s] of [["A", r.a], ["B", b]] as const) {
    assert.equal(s.state, "active", `${name} was in the call`);
    assert.equal(s.codec, codec, `${name}'s codec`);
    assert.equal(s.suite, suite, `${name}'s SRTP suite`);
    // One packet every 20 ms from the moment the call came up until the report (durationS is
    // the talk time: the source, 300 ms more for the last frames, and the polling).
    assert.ok(Math.abs(s.packetsSent - r.durationS * 50) <= 5, `${name} sent ${s.packetsSent} packets in ${r.durationS} s`);
  }
  assert.equal(r.aEnd.endReason, "hung up here");
  assert.equal(bEnd.endReason, "hung up by the other side");
  for (const [name, s] of [["A", r.aEnd], ["B", bEnd]] as const) {
    assert.equal(s.state, "idle", `${name} is idle after the call`);
    assert.equal(s.sipRetransmissions, 0, `${name} retransmitted SIP on a clean link`);
    assert.equal(s.srtpDropped, 0, `${name} dropped SRTP packets`);
  }
  for (const h of r.heap) assert.equal(h.after, h.before, `board ${h.board}'s heap top moved during the call: the call allocated`);
  // What one end sent by the hang-up the other received, but for packets in flight at the BYE.
  const each = (from: CallStatus, to: CallStatus, what: string) =>
    assert.ok(to.packetsReceived <= from.packetsSent && to.packetsReceived >= from.packetsSent - 2, `${what}: ${from.packetsSent} sent, ${to.packetsReceived} received`);
  each(r.aEnd, bEnd, "A -> B");
  each(bEnd, r.aEnd, "B -> A");
}

// ---- the wire --------------------------------------------------------------------------------

interface Datagram { frame: number; src: string; srcPort: number; dstPort: number; bytes: Buffer }

/** tshark fields with every occurrence, joined by '|' (the SDP's attributes). */
function tsharkAll(file: string, filter: string, fields: string[], decodeAs: string[] = []): string[][] {
  const args = ["-r", file, "-n", "-Y", filter, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=|"];
  for (const d of decodeAs) args.push("-d", d);
  for (const f of fields) args.push("-e", f);
  const r = spawnSync("tshark", args, { encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`tshark ${filter}: ${r.stderr.trim().split("\n").slice(-2).join(" | ")}`);
  return r.stdout.split("\n").filter((l) => l !== "").map((l) => l.split("\t"));
}

interface Wire { sip: string[][]; offer: Sdp; answer: Sdp; media: Datagram[]; stun: Datagram[]; answerFrame: number }
interface Sdp { port: number; proto: string; crypto: { tag: string; suite: string; key: Buffer }[] }

function sdp(media: string, attrs: string): Sdp {
  const [, port, proto] = /^audio (\d+) (\S+)/.exec(media) ?? [];
  const crypto = attrs.split("|").flatMap((a) => {
    const m = /^crypto:(\d+) (\S+) inline:([^| ]+)/.exec(a);
    return m ? [{ tag: m[1], suite: m[2], key: Buffer.from(m[3], "base64") }] : [];
  });
  return { port: Number(port), proto, crypto };
}

function readWire(pcap: string): Wire {
  const sip = tsharkAll(pcap, "sip", ["frame.number", "sip.Method", "sip.Status-Code", "sip.CSeq.method", "sdp.media", "sdp.media_attr"]);
  const invite = sip.filter((r) => r[1] === "INVITE");
  const ok = sip.filter((r) => r[2] === "200" && r[3] === "INVITE");
  assert.equal(invite.length, 1, "one INVITE on the wire");
  assert.equal(ok.length, 1, "one 200 OK to it");
  const datagrams = tsharkFields(pcap, ["frame.number", "ip.src", "udp.srcport", "udp.dstport", "udp.payload"], { filter: `udp and not udp.port==${SIP_PORT}` })
    .map((r) => ({ frame: Number(r[0]), src: r[1], srcPort: Number(r[2]), dstPort: Number(r[3]), bytes: Buffer.from(r[4], "hex") }));
  // The media ports also carry ICE's STUN (RFC 7983: first byte 0..3): checks, then consent.
  const stun = datagrams.filter((d) => d.bytes.length > 0 && d.bytes[0] < 4);
  const media = datagrams.filter((d) => !(d.bytes.length > 0 && d.bytes[0] < 4));
  return { sip, offer: sdp(invite[0][4], invite[0][5]), answer: sdp(ok[0][4], ok[0][5]), media, stun, answerFrame: Number(ok[0][0]) };
}

/** RFC 5761: in a muxed stream, second bytes 192..223 are RTCP packet types. */
const isRtcp = (d: Datagram) => d.bytes.length >= 2 && d.bytes[1] >= 192 && d.bytes[1] <= 223;

/**
 * Every media packet, both ways, is SRTP/SRTCP of `suite` as the lengths, the trailer and
 * libsrtp say; returns why libsrtp could not take part, or undefined when it did.
 */
function assertSrtpOnly(run: CallRun, suite: SrtpSuite): string | undefined {
  const w = readWire(run.pcap!);
  const info = SUITES[suite];
  for (const s of [w.offer, w.answer]) assert.equal(s.proto, "RTP/SAVP", "the SDP offers and answers SRTP");
  assert.equal(w.answer.crypto.length, 1, "the answer picks one crypto line");
  assert.equal(w.answer.crypto[0].suite, info.name);
  const offered = w.offer.crypto.find((c) => c.tag === w.answer.crypto[0].tag);
  assert.ok(offered !== undefined && offered.suite === info.name, "the answer's crypto tag is one the offer made for that suite");
  // ICE ran on the media ports (checks both ways), every one of its messages STUN with a FINGERPRINT.
  assert.ok(w.stun.length >= 2, `ICE checks on the media ports: ${w.stun.length}`);
  for (const d of w.stun) {
    assert.ok(d.bytes.readUInt32BE(4) === 0x2112a442 && d.bytes.readUInt16BE(2) + 20 === d.bytes.length, `frame ${d.frame}: STUN framing`);
    assert.equal(d.bytes.readUInt16BE(d.bytes.length - 8), 0x8028, `frame ${d.frame}: FINGERPRINT last`);
  }
  // The media ports, found on the wire, are the two the SDP named and nothing else.
  const ports = new Set(w.media.flatMap((d) => [d.srcPort, d.dstPort]));
  assert.deepEqual([...ports].sort(), [w.offer.port, w.answer.port].sort(), "media only between the SDP's ports");
  const directions = [
    { from: run.aIp, key: offered.key, port: w.offer.port, status: run.report.aEnd },
    { from: run.bIp, key: w.answer.crypto[0].key, port: w.answer.port, status: run.report.bEnd! },
  ];
  let noLibsrtp: string | undefined;
  for (const dir of directions) {
    const sent = w.media.filter((d) => d.src === dir.from);
    assert.ok(sent.every((d) => d.srcPort === dir.port && d.frame > w.answerFrame), `${dir.from} sends from its SDP port, and only after the answer`);
    const rtp = sent.filter((d) => !isRtcp(d));
    const rtcp = sent.filter(isRtcp);
    assert.ok(rtp.length >= SECONDS * 50, `${dir.from} sent ${rtp.length} RTP packets`);
    assert.ok(rtcp.length >= 1, `${dir.from} sent RTCP (at least the final BYE)`);
    // The capture holds all a board sent: what it counted, no more, no fewer.
    assert.equal(rtp.length, dir.status.packetsSent, `${dir.from}: RTP packets on the wire against the board's count`);
    assert.equal(rtcp.length, dir.status.rtcpSent, `${dir.from}: RTCP packets on the wire against the board's count`);
    for (const d of rtp) {
      assert.equal(d.bytes[0], 0x80, `frame ${d.frame}: RTP version 2, no padding, extension or CSRC`);
      const pt = d.bytes[1] & 0x7f;
      const payload = pt === 101 ? 4 : 160; // telephone-event, or 20 ms of G.722/G.711
      assert.equal(d.bytes.length, 12 + payload + info.rtpTrailer, `frame ${d.frame}: PT ${pt} is ${d.bytes.length} bytes: ${12 + payload} plaintext + a ${info.rtpTrailer}-byte tag expected`);
    }
    let lastIndex = -1;
    for (const d of rtcp) {
      const compound = d.bytes.length - info.rtcpTrailer;
      const first = (d.bytes.readUInt16BE(2) + 1) * 4;
      assert.ok(compound % 4 === 0 && compound >= first, `frame ${d.frame}: ${d.bytes.length} bytes of RTCP is no compound (first packet ${first}) + ${info.rtcpTrailer}`);
      // E || index: after the compound for AES-CM (then the tag), the last word for AEAD (RFC 7714).
      const eWord = d.bytes.readUInt32BE(info.rtcpTrailer === 14 ? compound : d.bytes.length - 4);
      assert.ok(eWord & 0x80000000, `frame ${d.frame}: SRTCP E flag set (encrypted)`);
      assert.ok((eWord & 0x7fffffff) > lastIndex, `frame ${d.frame}: SRTCP index ${eWord & 0x7fffffff} after ${lastIndex}`);
      lastIndex = eWord & 0x7fffffff;
    }
    // libsrtp, keyed from the SDP, takes every packet, and the payload was not plaintext.
    try { libsrtpBinary(); } catch (e) { if (e instanceof ReferenceUnavailable) { noLibsrtp = e.message; continue; } throw e; }
    const key = dir.key.subarray(0, info.keyLen);
    const salt = dir.key.subarray(info.keyLen, info.keyLen + info.saltLen);
    const clear = libsrtpUnprotect(suite, key, salt, rtp.map((d) => d.bytes));
    clear.forEach((c, i) => {
      assert.ok(typeof c !== "number", `libsrtp refuses RTP frame ${rtp[i].frame}: status ${String(c)}`);
      assert.equal(c.length, rtp[i].bytes.length - info.rtpTrailer);
      assert.ok(!Buffer.from(c.subarray(12)).equals(rtp[i].bytes.subarray(12, c.length)), `frame ${rtp[i].frame}: the payload went out in the clear`);
    });
    const ssrc = rtp[0].bytes.readUInt32BE(8);
    const clearRtcp = libsrtpUnprotect(suite, key, salt, rtcp.map((d) => d.bytes), true);
    clearRtcp.forEach((c, i) => assert.ok(typeof c !== "number", `libsrtp refuses SRTCP frame ${rtcp[i].frame}: status ${String(c)}`));
    const types = clearRtcp.map((c) => compoundTypes(Buffer.from(c as Uint8Array), ssrc, rtcp[0].frame));
    assert.ok(types.every((t) => t[0] === 200 || t[0] === 201), `${dir.from}: every compound starts with SR or RR: ${JSON.stringify(types)}`);
    assert.ok(types[types.length - 1].includes(203), `${dir.from}: the last SRTCP compound carries the BYE: ${JSON.stringify(types)}`);
  }
  return noLibsrtp;
}

/** The packet types of a plaintext RTCP compound, each packet's length checked and sent by `ssrc`. */
function compoundTypes(c: Buffer, ssrc: number, frame: number): number[] {
  const types: number[] = [];
  for (let o = 0; o < c.length;) {
    assert.ok(o + 8 <= c.length && c[o] >> 6 === 2, `frame ${frame}: RTCP packet at byte ${o} is not version 2`);
    types.push(c[o + 1]);
    assert.equal(c.readUInt32BE(o + 4), ssrc, `frame ${frame}: RTCP packet ${c[o + 1]} from the stream's SSRC`);
    o += (c.readUInt16BE(o + 2) + 1) * 4;
    assert.ok(o <= c.length, `frame ${frame}: RTCP lengths run past the compound`);
  }
  return types;
}

// ---- the calls -------------------------------------------------------------------------------

let g722Run: Promise<CallRun> | undefined;
/** The default call: G.722, SRTP mandatory, the default suites; captured when tshark can. */
const g722 = () => (g722Run ??= simCall("g722", { audioA: speechWav, audioB: `tone:1000:${TONE_DBFS}`, srtp: "mandatory" }, NO_TSHARK === undefined));

test("G.722 with mandatory SRTP (AES_CM_128_HMAC_SHA1_80): speech and a tone arrive intact, both ends hang up cleanly", { timeout: 30_000 }, async (t) => {
  const run = await g722();
  const { report } = run;
  assertCleanCall(report, "G722", "AES_CM_128_HMAC_SHA1_80");
  t.diagnostic(assertSpeech(heard(run, "b"), "A -> B", run.report.bEnd!));
  t.diagnostic(assertTone(heard(run, "a"), 1000, TONE_DBFS, "B -> A"));
  const ab = report.directions.find((d) => d.from === "A");
  const ba = report.directions.find((d) => d.from === "B");
  assert.ok(ab?.delay !== undefined && ab.delay.correlation > 0.9, `the report's A -> B correlation: ${ab?.delay?.correlation}`);
  assert.ok(ba?.toneHz !== undefined && Math.abs(ba.toneHz - 1000) <= 2, `the report's B -> A tone: ${ba?.toneHz}`);
});

test("G.722 on the wire: every RTP packet SRTP, every RTCP packet SRTCP (the final BYE too), from the answer on", { skip: NO_TSHARK ?? false, timeout: 30_000 }, async (t) => {
  const run = await g722();
  const noLibsrtp = assertSrtpOnly(run, 1);
  if (noLibsrtp !== undefined) t.diagnostic(`checked by length and trailer only: ${noLibsrtp}`);
  // tshark, told the ports are RTP, sees the same packets; with the SDP it reads them as SRTP
  // and SRTCP (the muxed RTCP shows as protocol srtcp: "rtcp" alone would not match it).
  const w = readWire(run.pcap!);
  const decodeAs = [`udp.port==${w.offer.port},rtp`, `udp.port==${w.answer.port},rtp`];
  // (Told a port is RTP, tshark reads ICE's STUN there as RTP too: those frames are left out.)
  const stunFrames = new Set(w.stun.map((d) => d.frame));
  const rows = tsharkFields(run.pcap!, ["frame.number", "rtp.p_type", "srtp.auth_tag", "rtcp.pt", "srtcp.e", "srtcp.auth_tag"], { filter: "rtp || rtcp || srtcp", decodeAs })
    .filter((r) => !stunFrames.has(Number(r[0])));
  assert.equal(rows.length, w.media.length, "tshark decodes every media datagram as RTP or RTCP");
  assert.equal(rows.filter((r) => r[3] !== "").length, w.media.filter(isRtcp).length, "tshark and this test agree which are RTCP");
  for (const r of rows) {
    if (r[3] !== "") assert.ok(r[4] === "1" && r[5].length === 20, `frame ${r[0]}: tshark sees SRTCP with E flag and an 80-bit tag`);
    else assert.equal(r[2].length, 20, `frame ${r[0]}: tshark sees SRTP with an 80-bit tag`);
  }
  const rtp = readRtp(run.pcap!, [SIP_PORT]);
  assert.equal(new Set(rtp.map((p) => p.src)).size, 2, "tshark reads RTP both ways");
  assert.equal(rtp.length, w.media.filter((d) => !isRtcp(d)).length, "tshark reads every RTP packet of the SDP's streams");
  assert.ok(rtp.every((p) => p.srtp), "tshark reads every RTP packet of the SDP's streams as SRTP");
});

test("G.722 on the wire: SIP well formed, one INVITE offering RTP/SAVP with a=crypto, no retransmission", { skip: NO_TSHARK ?? false, timeout: 30_000 }, async () => {
  const run = await g722();
  const w = readWire(run.pcap!);
  const decodeAs = [`udp.port==${w.offer.port},rtp`, `udp.port==${w.answer.port},rtp`];
  const bad = tsharkAll(run.pcap!, "sip && (_ws.malformed || _ws.expert.severity >= warning)", ["frame.number", "_ws.expert.message"], decodeAs);
  assert.deepEqual(bad, [], "tshark finds nothing malformed or suspicious in the SIP");
  // Elsewhere only what SRTCP must look like to a dissector without its key.
  const warnings = tsharkAll(run.pcap!, "_ws.malformed || _ws.expert.severity >= warning", ["frame.number", "_ws.expert.message"], decodeAs);
  for (const [frame, message] of warnings) assert.match(message, /^Encrypted RTCP Payload - not dissected$/, `frame ${frame}`);
  assert.deepEqual(w.sip.map((r) => r[1] || r[2]), ["INVITE", "180", "200", "ACK", "BYE", "200"], "each SIP message once");
  assert.equal(w.offer.proto, "RTP/SAVP");
  assert.ok(w.offer.crypto.length >= 1 && w.offer.crypto.every((c) => c.key.length === 30), "a=crypto lines with 30-byte inline keys");
});

test("PCMU (SRTP mandatory): a 1 kHz tone, and speech as far as G.711's 4 kHz band carries it, arrive at both ends", { timeout: 30_000 }, async (t) => {
  const run = await simCall("pcmu", { audioA: `tone:1000:${TONE_DBFS}`, audioB: speechWav, codecs: "pcmu" });
  assertCleanCall(run.report, "PCMU", "AES_CM_128_HMAC_SHA1_80");
  t.diagnostic(assertTone(heard(run, "b"), 1000, TONE_DBFS, "A -> B"));
  // The source's hiss above 4 kHz cannot cross G.711 (r = 0.91 against the full band).
  t.diagnostic(assertSpeech(heard(run, "a"), "B -> A", run.report.aEnd, 4000));
});

test("AEAD_AES_128_GCM: G.722 speech and a 440 Hz tone arrive; every packet on the wire is SRTP/SRTCP with 16-byte GCM tags", { timeout: 30_000 }, async (t) => {
  const run = await simCall("gcm", { audioA: speechWav, audioB: "tone:440:-18", suites: "AEAD_AES_128_GCM" }, NO_TSHARK === undefined);
  assertCleanCall(run.report, "G722", "AEAD_AES_128_GCM");
  t.diagnostic(assertSpeech(heard(run, "b"), "A -> B", run.report.bEnd!));
  t.diagnostic(assertTone(heard(run, "a"), 440, -18, "B -> A"));
  if (run.pcap === undefined) t.diagnostic(`not checked on the wire: ${NO_TSHARK}`);
  else {
    const noLibsrtp = assertSrtpOnly(run, 3);
    if (noLibsrtp !== undefined) t.diagnostic(`checked by length and trailer only: ${noLibsrtp}`);
  }
});

test("DTMF door code: A sends B's code 1234 and B's relay pulses once", { timeout: 30_000 }, async () => {
  const { report } = await simCall("door-right", { audioA: "tone:1000:-20", audioB: "tone:1000:-20", doorCode: "1234", dtmf: "1234" });
  assert.equal(report.bEnd?.digitsReceived, 4, "B received four digits");
  assert.equal(report.relayPulses, 1);
  assert.equal(report.aEnd.doorOpens, 0, "A has no door code: its relay stays");
});

test("DTMF door code: a wrong code (9999) does not open the door", { timeout: 30_000 }, async () => {
  const { report } = await simCall("door-wrong", { audioA: "tone:1000:-20", audioB: "tone:1000:-20", doorCode: "1234", dtmf: "9999" });
  assert.equal(report.bEnd?.digitsReceived, 4, "B received four digits");
  assert.equal(report.relayPulses, 0);
});
