// SRTP against ffmpeg (Debian's ffmpeg 5.1, its own SRTP in libavformat), both ways, on loopback
// UDP, for AES_CM_128_HMAC_SHA1_80 and AES_CM_128_HMAC_SHA1_32 (the SDES suites ffmpeg and Tincan
// both have; ffmpeg has no GCM):
//
//   Tincan -> ffmpeg  a 1 kHz tone through the firmware's G.722 encoder (build/codec.wasm), RTP
//                     payload type 9 in 20 ms packets (160 bytes, timestamp + 160: G.722's RTP
//                     clock is 8 kHz), protected by the firmware's SRTP (build/media.wasm), the
//                     sequence number wrapping 65535 -> 0 on the way; ffmpeg reads an SDP file
//                     with a=crypto (SDES, RFC 4568) and writes WAV, which must hold the tone:
//                     1 kHz, at the level sent. With suite 1 also SRTCP on the next port: an SR,
//                     and at the end SR + BYE, on which ffmpeg must end its input at once (it
//                     can only if it authenticated and decrypted Tincan's SRTCP).
//   ffmpeg -> Tincan  ffmpeg's sine source, ffmpeg's G.722 encoder, ffmpeg's RTP muxer over
//                     srtp:// (starting at sequence 65480, so it wraps); Tincan unprotects every
//                     packet, the firmware's G.722 decoder decodes: 1 kHz, at ffmpeg's level.
//                     With suite 1 Tincan also unprotects ffmpeg's SRTCP: SR, then SR + BYE.
//
// SRTCP with AES_CM_128_HMAC_SHA1_32 is not exchanged: ffmpeg tags it with 32 bits (see
// srtcpInterop below), RFC 4568, libsrtp and Tincan with 80.
//
//   node --import tsx --test test/interop/srtp-ffmpeg.test.ts
// Needs ffmpeg (Debian package ffmpeg), build/media.wasm and build/codec.wasm
// (npx tsx scripts/build.ts).

import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import dgram from "node:dgram";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { WasmCodec } from "../../host-tools/codec/wasm-codec.ts";
import { SUITES, type SrtpSuite, TincanSrtp, tincanErrorName } from "../reference/libsrtp.ts";

// The SDES suites ffmpeg's SRTP has that Tincan has too (ffmpeg has no GCM). For _32 both keep
// SRTCP's tag at 80 bits.
const FFMPEG_SUITES = [1, 2] as const satisfies readonly SrtpSuite[];
// ffmpeg 5.1 gives SRTCP the 32-bit tag too for AES_CM_128_HMAC_SHA1_32 (libavformat/srtp.c
// sets rtp_hmac_size = rtcp_hmac_size = 4), where RFC 4568 6.2.2, libsrtp and Tincan keep 80
// bits: SRTCP does not interoperate for that suite, so it is only exchanged for suite 1.
const srtcpInterop = (suite: SrtpSuite) => suite === 1;
// With no BYE it can read, the SDP demuxer ends its input after this many idle seconds.
const LISTEN_TIMEOUT_S = 3;
const CTX = 0;
const RATE = 16000;
const FRAME = 320; // 20 ms at 16 kHz
const FIRST_SEQ = 65480; // wraps after 56 packets
const TONE_HZ = 1000;

let tmp = "";
const children = new Set<ChildProcess>();

before(() => {
  const v = spawnSync("ffmpeg", ["-hide_banner", "-version"], { encoding: "utf8" });
  if (v.error !== undefined) throw new Error("ffmpeg is not installed: install the Debian package ffmpeg");
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tincan-srtp-ffmpeg-"));
});

after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  if (tmp !== "") fs.rmSync(tmp, { recursive: true, force: true });
});

// ---- helpers -------------------------------------------------------------------------------

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s; };
}

function keys(seed: number): { key: Uint8Array; salt: Uint8Array; inline: string } {
  const r = lcg(seed);
  const key = Uint8Array.from({ length: 16 }, () => r() >>> 24);
  const salt = Uint8Array.from({ length: 14 }, () => r() >>> 24);
  // SDES and ffmpeg's -srtp_out_params: base64 of key || salt.
  return { key, salt, inline: Buffer.concat([key, salt]).toString("base64") };
}

/** Binds a UDP socket to 127.0.0.1:port, or resolves undefined if the port is taken. */
function tryBind(port: number): Promise<dgram.Socket | undefined> {
  return new Promise((resolve) => {
    const s = dgram.createSocket("udp4");
    s.once("error", () => { s.close(); resolve(undefined); });
    s.bind(port, "127.0.0.1", () => resolve(s));
  });
}

/** Two bound sockets on an even port and the next one (RTP, RTCP). */
async function bindPair(): Promise<[dgram.Socket, dgram.Socket, number]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + 2 * Math.floor(Math.random() * 20000);
    const a = await tryBind(port);
    if (a === undefined) continue;
    const b = await tryBind(port + 1);
    if (b !== undefined) return [a, b, port];
    a.close();
  }
  throw new Error("no free UDP port pair on 127.0.0.1");
}

/** A free even port whose successor is free too, for ffmpeg to bind. */
async function freePair(): Promise<number> {
  const [a, b, port] = await bindPair();
  await new Promise<void>((r) => a.close(() => r()));
  await new Promise<void>((r) => b.close(() => r()));
  return port;
}

/** True once some process has a UDP socket bound to `port` (IPv4 or IPv6). */
function udpBound(port: number): boolean {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  for (const file of ["/proc/net/udp", "/proc/net/udp6"]) {
    let text = "";
    try { text = fs.readFileSync(file, "utf8"); } catch { continue; }
    for (const line of text.split("\n").slice(1)) {
      const local = line.trim().split(/\s+/)[1];
      if (local !== undefined && local.endsWith(`:${hexPort}`)) return true;
    }
  }
  return false;
}

interface Run { child: ChildProcess; stderr: () => string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> }

function run(args: string[]): Run {
  const child = spawn("ffmpeg", args, { stdio: ["ignore", "ignore", "pipe"] });
  children.add(child);
  let err = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (d: string) => { err += d; });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once("error", (e) => reject(new Error(`cannot run ffmpeg: ${e.message}`)));
    child.once("exit", (code, signal) => { children.delete(child); resolve({ code, signal }); });
  });
  return { child, stderr: () => err, exited };
}

/** Waits for the exit, killing ffmpeg if it takes longer than ms. */
async function waitExit(r: Run, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const timer = setTimeout(() => r.child.kill("SIGKILL"), ms);
  try { return await r.exited; } finally { clearTimeout(timer); }
}

function tail(text: string): string {
  return text.trim().split("\n").slice(-8).join("\n");
}

/** The tone: frequency by zero crossings and by Goertzel, its share of the energy, RMS. */
function analyse(pcm: Int16Array, rate: number): { zcHz: number; share: number; rms: number } {
  let crossings = 0;
  let first = -1;
  let last = -1;
  for (let i = 1; i < pcm.length; i++) {
    if (pcm[i - 1]! < 0 && pcm[i]! >= 0) {
      crossings++;
      if (first < 0) first = i;
      last = i;
    }
  }
  const zcHz = crossings > 1 ? ((crossings - 1) * rate) / (last - first) : 0;
  // Goertzel at TONE_HZ: |X(f)|^2 against the total energy (Parseval: a pure tone gives 1).
  const w = (2 * Math.PI * TONE_HZ) / rate;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  let energy = 0;
  for (const x of pcm) {
    const s0 = x + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
    energy += x * x;
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  const share = energy > 0 ? (2 * power) / (pcm.length * energy) : 0;
  return { zcHz, share, rms: Math.sqrt(energy / Math.max(1, pcm.length)) };
}

const db = (a: number, b: number) => 20 * Math.log10(a / b);

function assertTone(pcm: Int16Array, rate: number, expectRms: number, what: string): string {
  const { zcHz, share, rms } = analyse(pcm, rate);
  const msg = `${what}: ${zcHz.toFixed(1)} Hz by zero crossings, ${(share * 100).toFixed(1)} % of the energy at ${TONE_HZ} Hz, RMS ${rms.toFixed(0)} (expected ${expectRms.toFixed(0)})`;
  assert.ok(Math.abs(zcHz - TONE_HZ) < 5, msg);
  assert.ok(share > 0.95, msg);
  assert.ok(Math.abs(db(rms, expectRms)) < 1.5, msg);
  return msg;
}

/** The samples of a WAV file, as ffmpeg writes it (PCM s16le); also when ffmpeg was cut short. */
function readWav(file: string): { rate: number; pcm: Int16Array } {
  const b = fs.readFileSync(file);
  assert.ok(b.length >= 44 && b.toString("latin1", 0, 4) === "RIFF" && b.toString("latin1", 8, 12) === "WAVE", `${file} is not a WAV file`);
  let o = 12;
  let rate = 0;
  while (o + 8 <= b.length) {
    const id = b.toString("latin1", o, o + 4);
    const size = b.readUInt32LE(o + 4);
    if (id === "fmt ") {
      assert.equal(b.readUInt16LE(o + 8), 1, "WAV format PCM");
      assert.equal(b.readUInt16LE(o + 10), 1, "WAV mono");
      assert.equal(b.readUInt16LE(o + 22), 16, "WAV 16-bit");
      rate = b.readUInt32LE(o + 12);
    }
    if (id === "data") {
      const end = size === 0 || o + 8 + size > b.length ? b.length : o + 8 + size;
      const n = Math.floor((end - o - 8) / 2);
      const pcm = new Int16Array(n);
      for (let i = 0; i < n; i++) pcm[i] = b.readInt16LE(o + 8 + 2 * i);
      return { rate, pcm };
    }
    o += 8 + size + (size & 1);
  }
  throw new Error(`${file}: no data chunk`);
}

/** A 12-byte RTP header and payload: V=2, PT 9 (G.722). */
function rtp(seq: number, ts: number, ssrc: number, marker: boolean, payload: Uint8Array): Uint8Array {
  const p = new Uint8Array(12 + payload.length);
  const v = new DataView(p.buffer);
  p[0] = 0x80;
  p[1] = (marker ? 0x80 : 0) | 9;
  v.setUint16(2, seq & 0xffff);
  v.setUint32(4, ts >>> 0);
  v.setUint32(8, ssrc >>> 0);
  p.set(payload, 12);
  return p;
}

/** An RTCP sender report (no report blocks) + SDES CNAME, and with bye a BYE: a compound. */
function senderReport(ssrc: number, rtpTs: number, packets: number, octets: number, bye = false): Uint8Array {
  const cname = new TextEncoder().encode("tincan@127.0.0.1");
  const sdesWords = Math.ceil((4 + 2 + cname.length + 1) / 4) + 1;
  const p = new Uint8Array(28 + sdesWords * 4 + (bye ? 8 : 0));
  const v = new DataView(p.buffer);
  v.setUint8(0, 0x80);
  v.setUint8(1, 200);
  v.setUint16(2, 6);
  v.setUint32(4, ssrc);
  const now = Date.now() / 1000 + 2208988800; // NTP time
  v.setUint32(8, Math.floor(now) >>> 0);
  v.setUint32(12, Math.floor((now % 1) * 4294967296) >>> 0);
  v.setUint32(16, rtpTs >>> 0);
  v.setUint32(20, packets);
  v.setUint32(24, octets);
  v.setUint8(28, 0x81);
  v.setUint8(29, 202);
  v.setUint16(30, sdesWords - 1);
  v.setUint32(32, ssrc);
  p[36] = 1;
  p[37] = cname.length;
  p.set(cname, 38);
  if (bye) {
    const o = 28 + sdesWords * 4;
    v.setUint8(o, 0x81);
    v.setUint8(o + 1, 203);
    v.setUint16(o + 2, 1);
    v.setUint32(o + 4, ssrc);
  }
  return p;
}

function protectOrFail(media: TincanSrtp, rtcp: boolean, packet: Uint8Array): Uint8Array {
  const q = rtcp ? media.protectRtcp(CTX, packet) : media.protect(CTX, packet);
  if (typeof q === "number") assert.fail(`Tincan refused to protect: ${tincanErrorName(q)} (${q})`);
  return q;
}

// ---- the tests -----------------------------------------------------------------------------

for (const SUITE of FFMPEG_SUITES) {
  const SUITE_NAME = SUITES[SUITE].name;

  test(`Tincan -> ffmpeg: G.722 over SRTP ${SUITE_NAME} (SDES in an SDP file) decodes to the 1 kHz tone`, async (t) => {
    const { key, salt, inline } = keys(0x66660001 + 16 * SUITE);
    const port = await freePair();
    const sdpFile = path.join(tmp, "tincan.sdp");
    const wavFile = path.join(tmp, "from-tincan.wav");
    fs.writeFileSync(sdpFile, [
      "v=0",
      "o=- 1 1 IN IP4 127.0.0.1",
      "s=Tincan",
      "c=IN IP4 127.0.0.1",
      "t=0 0",
      `m=audio ${port} RTP/SAVP 9`,
      "a=rtpmap:9 G722/8000",
      `a=crypto:1 ${SUITE_NAME} inline:${inline}`,
      "",
    ].join("\r\n"));

    // 3 s of a 1 kHz tone at -10 dBFS peak, the firmware's G.722 (mode 1, 64 kbit/s).
    const seconds = 3;
    const amplitude = 10362;
    const tone = Int16Array.from({ length: RATE * seconds }, (_, i) => Math.round(amplitude * Math.sin((2 * Math.PI * TONE_HZ * i) / RATE)));
    const codec = new WasmCodec();
    codec.openEncoder("g722", 1);
    const codes = codec.encode(tone, FRAME);
    assert.equal(codes.length, tone.length / 2, "one G.722 byte per two samples");

    const media = new TincanSrtp();
    media.open(CTX, SUITE, key, salt);

    const ff = run(["-hide_banner", "-nostdin", "-y", "-loglevel", "info", "-listen_timeout", String(LISTEN_TIMEOUT_S), "-protocol_whitelist", "file,udp,rtp", "-i", sdpFile, "-c:a", "pcm_s16le", "-ar", String(RATE), "-ac", "1", wavFile]);
    const t0 = Date.now();
    while (!udpBound(port)) {
      if (ff.child.exitCode !== null) assert.fail(`ffmpeg exited before listening: ${tail(ff.stderr())}`);
      if (Date.now() - t0 > 10000) assert.fail(`ffmpeg did not bind UDP port ${port} within 10 s: ${tail(ff.stderr())}`);
      await sleep(20);
    }
    t.diagnostic(`ffmpeg listening on ${port} after ${Date.now() - t0} ms`);

    const sock = dgram.createSocket("udp4");
    const send = (b: Uint8Array, to: number) => new Promise<void>((resolve, reject) => sock.send(b, to, "127.0.0.1", (e) => (e ? reject(e) : resolve())));
    const ssrc = 0x7a3c0001;
    const ts0 = 0x10000000;
    const frames = codes.length / 160;
    let octets = 0;
    try {
      for (let f = 0; f < frames; f++) {
        const payload = codes.subarray(f * 160, (f + 1) * 160);
        await send(protectOrFail(media, false, rtp(FIRST_SEQ + f, ts0 + f * 160, ssrc, f === 0, payload)), port);
        octets += payload.length;
        if (f === 5 && srtcpInterop(SUITE)) await send(protectOrFail(media, true, senderReport(ssrc, ts0 + f * 160, f + 1, octets)), port + 1);
        await sleep(8); // faster than real time, slower than the socket buffer fills
      }
      await sleep(200);
      // SR + BYE over SRTCP: ffmpeg's RTP demuxer ends its input on a BYE from every stream,
      // so an exit right after it also says ffmpeg authenticated and decrypted Tincan's SRTCP.
      if (srtcpInterop(SUITE)) await send(protectOrFail(media, true, senderReport(ssrc, ts0 + frames * 160, frames, octets, true)), port + 1);
    } finally {
      sock.close();
    }
    const tEnd = Date.now();
    const exit = await waitExit(ff, (LISTEN_TIMEOUT_S + 10) * 1000);
    const log = ff.stderr();
    const endedIn = Date.now() - tEnd;
    t.diagnostic(`ffmpeg exited ${endedIn} ms after the last packet`);
    if (srtcpInterop(SUITE)) assert.ok(endedIn < 1500, `ffmpeg did not end its input on Tincan's SRTCP BYE (it exited after ${endedIn} ms): ${tail(log)}`);
    assert.equal(exit.code, 0, `ffmpeg failed (${exit.signal ?? exit.code}): ${tail(log)}`);
    assert.doesNotMatch(log, /HMAC mismatch|Invalid data found|decrypt/i, "ffmpeg complained about a packet");

    const { rate, pcm } = readWav(wavFile);
    assert.equal(rate, RATE);
    t.diagnostic(`ffmpeg wrote ${(pcm.length / RATE).toFixed(2)} s`);
    assert.ok(pcm.length >= RATE * (seconds - 0.1), `ffmpeg decoded ${(pcm.length / RATE).toFixed(2)} s of the ${seconds} s sent`);
    t.diagnostic(assertTone(pcm.subarray(RATE / 10, pcm.length - RATE / 10), RATE, amplitude / Math.SQRT2, "ffmpeg's decode of Tincan's SRTP"));
  });

  test(`ffmpeg -> Tincan: ffmpeg's G.722 over srtp:// ${SUITE_NAME} unprotects and decodes to the 1 kHz tone`, async (t) => {
    const { key, salt, inline } = keys(0x66660002 + 16 * SUITE);
    const [rtpSock, rtcpSock, port] = await bindPair();
    const rtpIn: Uint8Array[] = [];
    const rtcpIn: Uint8Array[] = [];
    rtpSock.on("message", (m) => rtpIn.push(new Uint8Array(m)));
    rtcpSock.on("message", (m) => rtcpIn.push(new Uint8Array(m)));
    const seconds = 3;
    let exit: { code: number | null; signal: NodeJS.Signals | null };
    let log: string;
    try {
      const ff = run([
        "-hide_banner", "-nostdin", "-loglevel", "warning", "-re",
        "-f", "lavfi", "-i", `sine=frequency=${TONE_HZ}:sample_rate=${RATE}`, "-t", String(seconds),
        "-c:a", "g722", "-f", "rtp", "-seq", String(FIRST_SEQ), "-rtpflags", "send_bye",
        "-srtp_out_suite", SUITE_NAME, "-srtp_out_params", inline, `srtp://127.0.0.1:${port}`,
      ]);
      exit = await waitExit(ff, 20000);
      log = ff.stderr();
      await sleep(300); // the last datagrams
    } finally {
      rtpSock.close();
      rtcpSock.close();
    }
    assert.equal(exit.code, 0, `ffmpeg failed (${exit.signal ?? exit.code}): ${tail(log)}`);
    t.diagnostic(`received ${rtpIn.length} SRTP and ${rtcpIn.length} SRTCP packets`);
    assert.ok(rtpIn.length >= seconds * 50 - 2, `${rtpIn.length} SRTP packets for ${seconds} s`);

    const media = new TincanSrtp();
    media.open(CTX, SUITE, key, salt);
    const payloads: Uint8Array[] = [];
    let ssrc = -1;
    let prev: { seq: number; ts: number } | undefined;
    for (const [i, p] of rtpIn.entries()) {
      const q = media.unprotect(CTX, p);
      if (typeof q === "number") assert.fail(`SRTP packet ${i} of ${rtpIn.length} (${p.length} bytes): Tincan refused it: ${tincanErrorName(q)} (${q})`);
      assert.equal(q.length, p.length - SUITES[SUITE].rtpTrailer, "the tag comes off");
      const v = new DataView(q.buffer, q.byteOffset, q.byteLength);
      assert.equal(q[0]! >> 6, 2, "RTP version 2");
      assert.equal(q[1]! & 0x7f, 9, "payload type 9 (G.722)");
      const seq = v.getUint16(2);
      const ts = v.getUint32(4);
      if (ssrc < 0) {
        ssrc = v.getUint32(8);
        assert.equal(seq, FIRST_SEQ, "ffmpeg's first sequence number is -seq");
      } else {
        assert.equal(v.getUint32(8), ssrc, "one SSRC");
        assert.equal(seq, (prev!.seq + 1) & 0xffff, `sequence after ${prev!.seq}`);
        assert.equal((ts - prev!.ts) >>> 0, (q.length - 12) / 1, "timestamp step = payload bytes (8 kHz clock, 1 byte per 2 samples at 16 kHz)");
      }
      prev = { seq, ts };
      const cc = q[0]! & 15;
      assert.equal(cc, 0);
      payloads.push(q.subarray(12));
    }
    assert.ok(prev !== undefined && prev.seq < FIRST_SEQ, "the sequence number wrapped");
    assert.equal(media.exports.srtp_drops(CTX, 0), 0, "no drops");

    // SRTCP: ffmpeg's sender reports (index 0 first) and its BYE, same master key.
    assert.ok(rtcpIn.length >= 1, "ffmpeg sent RTCP");
    if (!srtcpInterop(SUITE)) {
      // ffmpeg's first SRTCP packet is its 28-byte SR alone: what follows is E||index and the tag.
      t.diagnostic(`ffmpeg's first SRTCP packet: ${rtcpIn[0]!.length} bytes = 28-byte SR + 4-byte E||index + ${rtcpIn[0]!.length - 32}-byte tag (not checked: see srtcpInterop)`);
    }
    const types: number[][] = [];
    for (const [i, p] of (srtcpInterop(SUITE) ? rtcpIn : []).entries()) {
      const q = media.unprotectRtcp(CTX, p);
      if (typeof q === "number") assert.fail(`SRTCP packet ${i} (${p.length} bytes): Tincan refused it: ${tincanErrorName(q)} (${q})`);
      const v = new DataView(q.buffer, q.byteOffset, q.byteLength);
      assert.equal(v.getUint32(4), ssrc, "RTCP from the RTP stream's SSRC");
      const pts: number[] = [];
      for (let o = 0; o + 4 <= q.length; o += 4 * (v.getUint16(o + 2) + 1)) {
        assert.equal(q[o]! >> 6, 2, "RTCP version 2");
        pts.push(q[o + 1]!);
      }
      types.push(pts);
    }
    if (srtcpInterop(SUITE)) {
      t.diagnostic(`SRTCP packet types: ${JSON.stringify(types)}`);
      assert.equal(types[0]![0], 200, "the first RTCP packet is a sender report");
      assert.ok(types.some((pts) => pts.includes(203)), "a BYE at the end (-rtpflags send_bye)");
    }

    const codec = new WasmCodec();
    codec.openDecoder("g722", 1);
    const all = new Uint8Array(payloads.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of payloads) { all.set(p, o); o += p.length; }
    const pcm = codec.decode(all, 160);
    assert.equal(pcm.length, all.length * 2);
    // ffmpeg's sine source is at 1/8 of full scale: RMS 4096 / sqrt(2).
    t.diagnostic(assertTone(pcm.subarray(RATE / 10, pcm.length - RATE / 10), RATE, 4096 / Math.SQRT2, "Tincan's decode of ffmpeg's SRTP"));
  });
}
