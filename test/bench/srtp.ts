// npx tsx test/bench/srtp.ts — SRTP protect and unprotect of one G.722 20 ms RTP packet (12-byte
// header, 160-byte payload): the firmware's SRTP (build/media.wasm, in Node) beside libsrtp 2
// (C, Debian's libsrtp2, through test/reference/libsrtp_ref.c) and werift-rtp (TypeScript on
// Node's crypto, which has AES_CM_128_HMAC_SHA1_80 and AEAD_AES_128_GCM only), same packets,
// same keys, one run; plus exact WASM instruction counts (instrumented module) and what they
// are of a 20 ms frame on a 240 MHz core at one instruction per cycle. Figures go in
// docs/srtp-interop.md.
//
// Each side: protect = copy the plaintext into the work buffer, set sequence number and
// timestamp (+1, +160), protect in place; unprotect = copy a packet protected beforehand (a
// ring of 8192 consecutive ones) into the buffer, unprotect in place, a fresh receiver per pass
// over the ring, outside the timing. Median of 7 runs of about 0.3 s.

import { RtpHeader, SrtpSession } from "werift-rtp";
import { instrumentForCounting } from "./instrument.ts";
import { ALL_SUITES, SUITES, TincanSrtp, type SrtpSuite, benchLibsrtp, hex, loadMediaModule, tincanErrorName } from "../reference/libsrtp.ts";

const HEADER = 12;
const PAYLOAD = 160;
const LEN = HEADER + PAYLOAD;
const SSRC = 0x1234abcd;
const RING = 8192;
const RUNS = 7;
const TARGET_NS = 300e6;
const CTX = 0;
const GEN_CTX = 1;

/** The benchmark's plaintext, as libsrtp_ref.c builds it. */
function plainPacket(): Uint8Array {
  const p = new Uint8Array(LEN);
  p[0] = 0x80;
  p[1] = 9;
  new DataView(p.buffer).setUint32(8, SSRC);
  for (let i = 0; i < PAYLOAD; i++) p[HEADER + i] = (i * 37 + 11) & 0xff;
  return p;
}

function setSeqTs(p: Uint8Array, k: number): void {
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  v.setUint16(2, k & 0xffff);
  v.setUint32(4, (k * 160) >>> 0);
}

function keysFor(suite: SrtpSuite): { key: Uint8Array; salt: Uint8Array } {
  const s = SUITES[suite];
  return { key: Uint8Array.from({ length: s.keyLen }, (_, i) => i + 1), salt: Uint8Array.from({ length: s.saltLen }, (_, i) => 0xa0 + i) };
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const now = () => process.hrtime.bigint();

interface Side { protectNs: number; unprotectNs: number }

/** Median ns per packet of `timed(count)` (which returns elapsed ns), count calibrated to ~0.3 s. */
function measure(timed: (count: number) => number): number {
  const warm = timed(RING);
  const count = Math.max(RING, Math.min(1e8, Math.round(TARGET_NS / Math.max(1, warm / RING))));
  const runs: number[] = [];
  for (let r = 0; r < RUNS; r++) runs.push(timed(count) / count);
  return median(runs);
}

// ---- Tincan (WASM) ------------------------------------------------------------------------

function tincanRing(media: TincanSrtp, suite: SrtpSuite, key: Uint8Array, salt: Uint8Array): Uint8Array[] {
  media.open(GEN_CTX, suite, key, salt);
  const plain = plainPacket();
  const ring: Uint8Array[] = [];
  for (let k = 0; k < RING; k++) {
    setSeqTs(plain, k);
    const q = media.protect(GEN_CTX, plain);
    if (typeof q === "number") throw new Error(`Tincan protect: ${tincanErrorName(q)}`);
    ring.push(q);
  }
  return ring;
}

function timeTincan(suite: SrtpSuite): Side {
  const { key, salt } = keysFor(suite);
  const media = new TincanSrtp();
  const ex = media.exports;
  const buf = new Uint8Array(ex.memory.buffer, ex.buffer(), 2048);
  const plain = plainPacket();
  media.open(CTX, suite, key, salt);
  let k = 0;
  const protectNs = measure((count) => {
    const t0 = now();
    for (let i = 0; i < count; i++, k++) {
      buf.set(plain);
      buf[2] = (k >> 8) & 0xff;
      buf[3] = k & 0xff;
      const ts = (k * 160) >>> 0;
      buf[4] = ts >>> 24; buf[5] = (ts >>> 16) & 0xff; buf[6] = (ts >>> 8) & 0xff; buf[7] = ts & 0xff;
      if (ex.srtp_protect(CTX, LEN) < 0) throw new Error("Tincan protect failed");
    }
    return Number(now() - t0);
  });
  const ring = tincanRing(media, suite, key, salt);
  const plen = ring[0]!.length;
  const unprotectNs = measure((count) => {
    let total = 0;
    for (let done = 0; done < count;) {
      const pass = Math.min(RING, count - done);
      media.open(CTX, suite, key, salt);
      const t0 = now();
      for (let i = 0; i < pass; i++) {
        buf.set(ring[i]!);
        if (ex.srtp_unprotect(CTX, plen) !== LEN) throw new Error("Tincan unprotect failed");
      }
      total += Number(now() - t0);
      done += pass;
    }
    return total;
  });
  return { protectNs, unprotectNs };
}

/** Exact WASM instructions per protect and per unprotect (the average over 2048 packets). */
function countTincan(suite: SrtpSuite): Side {
  const { key, salt } = keysFor(suite);
  const media = new TincanSrtp(instrumentForCounting(loadMediaModule()));
  const counters = media.exports as unknown as { __icount_reset(): void; __icount_get(): bigint };
  const ring = tincanRing(media, suite, key, salt).slice(0, 2048);
  const plain = plainPacket();
  media.open(CTX, suite, key, salt);
  let protect = 0n;
  for (let k = 0; k < ring.length; k++) {
    setSeqTs(plain, k);
    new Uint8Array(media.exports.memory.buffer, media.exports.buffer(), LEN).set(plain);
    counters.__icount_reset();
    media.exports.srtp_protect(CTX, LEN);
    protect += counters.__icount_get();
  }
  media.open(CTX, suite, key, salt);
  let unprotect = 0n;
  for (const p of ring) {
    new Uint8Array(media.exports.memory.buffer, media.exports.buffer(), p.length).set(p);
    counters.__icount_reset();
    if (media.exports.srtp_unprotect(CTX, p.length) !== LEN) throw new Error("instrumented unprotect failed");
    unprotect += counters.__icount_get();
  }
  return { protectNs: Number(protect) / ring.length, unprotectNs: Number(unprotect) / ring.length };
}

// ---- werift-rtp (TypeScript) --------------------------------------------------------------

const WERIFT_PROFILE: Partial<Record<SrtpSuite, 1 | 7>> = { 1: 1, 3: 7 };

function weriftSession(profile: 1 | 7, key: Uint8Array, salt: Uint8Array): SrtpSession {
  const k = Buffer.from(key);
  const s = Buffer.from(salt);
  return new SrtpSession({ keys: { localMasterKey: k, localMasterSalt: s, remoteMasterKey: k, remoteMasterSalt: s }, profile });
}

function timeWerift(suite: SrtpSuite, tincanFirst: Uint8Array): Side | undefined {
  const profile = WERIFT_PROFILE[suite];
  if (profile === undefined) return undefined;
  const { key, salt } = keysFor(suite);
  const payload = Buffer.from(plainPacket().subarray(HEADER));
  const header = new RtpHeader({ payloadType: 9, ssrc: SSRC, sequenceNumber: 0, timestamp: 0 });
  const tx = weriftSession(profile, key, salt);
  const first = tx.encrypt(payload, header);
  if (hex(first) !== hex(tincanFirst)) throw new Error(`werift's SRTP of the first packet differs from Tincan's (${SUITES[suite].name})`);
  let k = 1;
  const protectNs = measure((count) => {
    const t0 = now();
    for (let i = 0; i < count; i++, k++) {
      header.sequenceNumber = k & 0xffff;
      header.timestamp = (k * 160) >>> 0;
      tx.encrypt(payload, header);
    }
    return Number(now() - t0);
  });
  const gen = weriftSession(profile, key, salt);
  const ring: Buffer[] = [];
  for (let i = 0; i < RING; i++) {
    header.sequenceNumber = i;
    header.timestamp = i * 160;
    ring.push(gen.encrypt(payload, header));
  }
  const unprotectNs = measure((count) => {
    let total = 0;
    for (let done = 0; done < count;) {
      const pass = Math.min(RING, count - done);
      const rx = weriftSession(profile, key, salt);
      const t0 = now();
      for (let i = 0; i < pass; i++) rx.decrypt(ring[i]!);
      total += Number(now() - t0);
      done += pass;
    }
    return total;
  });
  return { protectNs, unprotectNs };
}

// ---- the run --------------------------------------------------------------------------------

const FRAME_CYCLES = 240e6 * 0.02;
const fmt = (n: number) => Math.round(n).toLocaleString("en");
const ratio = (a: number, b: number | undefined) => (b === undefined ? "—" : (a / b).toFixed(2));

console.log(`SRTP of one G.722 20 ms RTP packet (${LEN} bytes: ${HEADER}-byte header + ${PAYLOAD}-byte payload), ns per packet, median of ${RUNS} runs (node ${process.version}, ${new Date().toISOString().slice(0, 10)})`);
console.log("");
console.log("| suite | operation | Tincan WASM ns | libsrtp C ns | werift-rtp TS ns | WASM / libsrtp | WASM / werift | WASM instructions | share of 20 ms at 240 MHz |");
console.log("|---|---|---:|---:|---:|---:|---:|---:|---:|");
const suites = (process.argv[2] ?? "").split(",").filter(Boolean).map(Number) as SrtpSuite[];
for (const suite of suites.length > 0 ? suites : ALL_SUITES) {
  const { key, salt } = keysFor(suite);
  const media = new TincanSrtp();
  const first = (() => {
    media.open(CTX, suite, key, salt);
    const p = plainPacket();
    const q = media.protect(CTX, p);
    if (typeof q === "number") throw new Error(`Tincan protect: ${tincanErrorName(q)}`);
    return q;
  })();
  const wasm = timeTincan(suite);
  const c = benchLibsrtp(suite, key, salt);
  if (c.protectedBytes !== first.length) throw new Error(`libsrtp's protected packet is ${c.protectedBytes} bytes, Tincan's ${first.length}`);
  const w = timeWerift(suite, first);
  const n = countTincan(suite);
  for (const [op, tw, tc, tt, ni] of [
    ["protect", wasm.protectNs, c.protectNs, w?.protectNs, n.protectNs],
    ["unprotect", wasm.unprotectNs, c.unprotectNs, w?.unprotectNs, n.unprotectNs],
  ] as [string, number, number, number | undefined, number][]) {
    console.log(`| ${SUITES[suite].name} | ${op} | ${fmt(tw)} | ${fmt(tc)} | ${tt === undefined ? "(no suite)" : fmt(tt)} | ${ratio(tw, tc)} | ${ratio(tw, tt)} | ${fmt(ni)} | ${((ni / FRAME_CYCLES) * 100).toFixed(2)} % |`);
  }
}
console.log("");
console.log(`A call protects one packet and unprotects one per 20 ms frame: at one cycle per WASM instruction (WAMR AOT) a 240 MHz core has ${fmt(FRAME_CYCLES)} cycles per frame.`);
