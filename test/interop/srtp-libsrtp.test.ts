// The firmware's SRTP and SRTCP (build/media.wasm) against libsrtp 2, both directions, every
// suite: for the same master key and the same plaintext packets, Tincan's protected packets are
// byte for byte libsrtp's; libsrtp unprotects what Tincan protects back to the plaintext; Tincan
// unprotects what libsrtp protects. Per suite 200,000 RTP packets in 8 streams (SSRCs) that
// start at or near sequence number 65535 (one runs 70,000 packets: two wraps, ROC 2), payloads
// of 0..1200 bytes, 0..15 CSRCs, header extensions, marker and padding bits; plus 16,000 SRTCP
// packets (SR, RR, SDES, BYE, APP compounds) in 4 streams.
//
// On the receive side the packets come mostly in order, with adjacent swaps, replays (a copy
// of a packet already accepted), stale copies (older than the 128-packet replay window, some
// across a wrap) and forgeries (a bit flipped in the payload, the tag or the timestamp, sent
// just before the genuine packet, which must still be accepted after). Both implementations
// must give the same verdict on each: libsrtp's auth_fail / replay_fail / replay_old are
// Tincan's -3 / -4 / -5; and Tincan's drop counters must count exactly those.
//
// Quirk (documented in docs/srtp-interop.md): libsrtp numbers a stream's first SRTCP packet 1,
// Tincan 0 as RFC 3711 §3.4 says ("set to zero before the first SRTCP packet is sent"). The
// SRTCP comparison first protects that many extra packets on the Tincan side so both sides
// encrypt each compared packet under the same index; libsrtp receives Tincan's index-0 packet too.
//
// One libsrtp process per suite and direction (one session, ssrc_any_*); one Tincan context,
// reopened for each stream (a Tincan context is one SSRC's crypto context).
//
//   node --import tsx --test test/interop/srtp-libsrtp.test.ts
// Needs gcc, libsrtp2-dev, and build/media.wasm (npx tsx scripts/build.ts).

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ALL_SUITES,
  LIBSRTP_STATUS,
  SUITES,
  TINCAN_AUTH,
  TINCAN_REPLAY,
  TINCAN_TOO_OLD,
  TincanSrtp,
  type LibsrtpResult,
  type SrtpSuite,
  hex,
  libsrtpProtect,
  libsrtpStatusName,
  libsrtpUnprotect,
  tincanErrorName,
} from "../reference/libsrtp.ts";

const CTX = 1;

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s; };
}

type Rand = () => number;
/** Uniform integer in [lo, hi]. */
const pick = (r: Rand, lo: number, hi: number) => lo + Math.floor((r() / 4294967296) * (hi - lo + 1));
const chance = (r: Rand, p: number) => r() / 4294967296 < p;
const randomBytes = (r: Rand, n: number) => Uint8Array.from({ length: n }, () => r() >>> 24);

// ---- what goes in -------------------------------------------------------------------------

interface Stream { ssrc: number; firstSeq: number; count: number }

/** 200,000 RTP packets: every stream but the last crosses sequence 65535 -> 0; the first twice. */
const RTP_STREAMS: Omit<Stream, "ssrc">[] = [
  { firstSeq: 65530, count: 70000 },
  { firstSeq: 65535, count: 20000 },
  { firstSeq: 65534, count: 20000 },
  { firstSeq: 65520, count: 18000 },
  { firstSeq: 65400, count: 18000 },
  { firstSeq: 65000, count: 18000 },
  { firstSeq: 50000, count: 18000 },
  { firstSeq: 1, count: 18000 },
];
const RTCP_STREAMS = 4;
const RTCP_PER_STREAM = 4000;

/** One RTP packet: V=2, the given fields, random CSRCs, extension, padding, payload size. */
function rtpPacket(r: Rand, seq: number, ts: number, ssrc: number, marker: boolean): Uint8Array {
  const cc = chance(r, 0.7) ? 0 : pick(r, 1, 15);
  const ext = chance(r, 0.25);
  const extWords = ext ? pick(r, 0, 6) : 0;
  const roll = r() / 4294967296;
  const payloadLen = roll < 0.4 ? 160 : roll < 0.45 ? 0 : pick(r, 0, 1200);
  const pad = payloadLen > 0 && chance(r, 0.05);
  const len = 12 + 4 * cc + (ext ? 4 + 4 * extWords : 0) + payloadLen;
  const p = new Uint8Array(len);
  const v = new DataView(p.buffer);
  p[0] = 0x80 | (pad ? 0x20 : 0) | (ext ? 0x10 : 0) | cc;
  p[1] = (marker ? 0x80 : 0) | (chance(r, 0.8) ? 9 : pick(r, 0, 127));
  v.setUint16(2, seq);
  v.setUint32(4, ts >>> 0);
  v.setUint32(8, ssrc >>> 0);
  let o = 12;
  for (let i = 0; i < cc; i++, o += 4) v.setUint32(o, r());
  if (ext) {
    v.setUint16(o, chance(r, 0.6) ? 0xbede : r() >>> 16); // RFC 8285 one-byte, or any profile
    v.setUint16(o + 2, extWords);
    p.set(randomBytes(r, 4 * extWords), o + 4);
    o += 4 + 4 * extWords;
  }
  p.set(randomBytes(r, payloadLen), o);
  if (pad) p[len - 1] = pick(r, 1, Math.min(payloadLen, 255));
  return p;
}

function rtpStreams(suite: SrtpSuite): { streams: Stream[]; packets: Uint8Array[][] } {
  const r = lcg(0x5eed0000 + suite);
  const streams: Stream[] = RTP_STREAMS.map((s, i) => ({ ...s, ssrc: (r() ^ (i << 28)) >>> 0 }));
  const packets = streams.map((s) => {
    const out: Uint8Array[] = [];
    let ts = r();
    for (let i = 0; i < s.count; i++) {
      out.push(rtpPacket(r, (s.firstSeq + i) & 0xffff, ts, s.ssrc, i === 0 || chance(r, 0.03)));
      ts += chance(r, 0.02) ? pick(r, 161, 16000) : 160; // a silence gap now and then
    }
    return out;
  });
  return { streams, packets };
}

/** An RTCP header: V=2, count/subtype, packet type, length in 32-bit words minus one. */
function rtcpHeader(v: DataView, o: number, count: number, pt: number, words: number): void {
  v.setUint8(o, 0x80 | count);
  v.setUint8(o + 1, pt);
  v.setUint16(o + 2, words - 1);
}

/** One RTCP compound from `ssrc`: SR or RR first (0..31 report blocks), then maybe SDES, BYE, APP. */
function rtcpCompound(r: Rand, ssrc: number, n: number): Uint8Array {
  const parts: Uint8Array[] = [];
  const sr = chance(r, 0.6);
  const blocks = chance(r, 0.7) ? pick(r, 0, 2) : pick(r, 0, 31);
  {
    const words = (sr ? 7 : 2) + 6 * blocks;
    const p = new Uint8Array(words * 4);
    const v = new DataView(p.buffer);
    rtcpHeader(v, 0, blocks, sr ? 200 : 201, words);
    v.setUint32(4, ssrc);
    let o = 8;
    if (sr) {
      v.setUint32(8, 0xe9000000 + n); // NTP seconds
      v.setUint32(12, r());
      v.setUint32(16, n * 160 * 250); // RTP timestamp
      v.setUint32(20, n * 250); // packets
      v.setUint32(24, n * 250 * 160); // octets
      o = 28;
    }
    for (let b = 0; b < blocks; b++, o += 24) p.set(randomBytes(r, 24), o);
    parts.push(p);
  }
  if (chance(r, 0.5)) { // SDES with one chunk: CNAME, END, padded to a word
    const cname = new TextEncoder().encode(`tincan-${n}@127.0.0.1`.slice(0, pick(r, 1, 40)));
    const words = Math.ceil((4 + 2 + cname.length + 1) / 4) + 1;
    const p = new Uint8Array(words * 4);
    const v = new DataView(p.buffer);
    rtcpHeader(v, 0, 1, 202, words);
    v.setUint32(4, ssrc);
    p[8] = 1;
    p[9] = cname.length;
    p.set(cname, 10);
    parts.push(p);
  }
  if (chance(r, 0.1)) { // BYE with a reason
    const p = new Uint8Array(16);
    const v = new DataView(p.buffer);
    rtcpHeader(v, 0, 1, 203, 4);
    v.setUint32(4, ssrc);
    p.set([6, 0x68, 0x61, 0x6e, 0x67, 0x75, 0x70], 8); // "hangup"
    parts.push(p);
  }
  if (chance(r, 0.1)) { // APP "TCAN" with random data
    const words = 3 + pick(r, 0, 40);
    const p = new Uint8Array(words * 4);
    const v = new DataView(p.buffer);
    rtcpHeader(v, 0, pick(r, 0, 31), 204, words);
    v.setUint32(4, ssrc);
    p.set([0x54, 0x43, 0x41, 0x4e], 8);
    p.set(randomBytes(r, words * 4 - 12), 12);
    parts.push(p);
  }
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

function rtcpStreams(suite: SrtpSuite): { streams: Stream[]; packets: Uint8Array[][] } {
  const r = lcg(0xc0de0000 + suite);
  const streams: Stream[] = Array.from({ length: RTCP_STREAMS }, (_, i) => ({ ssrc: (r() ^ (i << 28)) >>> 0, firstSeq: 0, count: RTCP_PER_STREAM }));
  return { streams, packets: streams.map((s) => Array.from({ length: s.count }, (_, n) => rtcpCompound(r, s.ssrc, n))) };
}

// ---- the receive side: in order, with swaps, replays, stale copies and forgeries ---------

type Expect = { kind: "ok"; plain: Uint8Array; i: number } | { kind: "auth" | "replay" | "old"; i: number };
interface Delivery { packet: Uint8Array; expect: Expect }

const TINCAN_CODE = { auth: TINCAN_AUTH, replay: TINCAN_REPLAY, old: TINCAN_TOO_OLD } as const;
const LIBSRTP_CODE = { auth: LIBSRTP_STATUS.auth_fail, replay: LIBSRTP_STATUS.replay_fail, old: LIBSRTP_STATUS.replay_old } as const;

/**
 * What a receiver gets of one stream's protected packets. `bodyFrom(p)` and `bodyTo(p)`: the byte
 * range a forgery may flip a bit in without touching the bytes that select the index (SRTP's
 * sequence number, SRTCP's E||index), so both implementations must fail it on authentication.
 */
function deliveries(r: Rand, prot: Uint8Array[], plain: Uint8Array[], flipRange: (i: number) => [number, number]): Delivery[] {
  const out: Delivery[] = [];
  const accepted: number[] = []; // indexes into prot, in the order they were accepted
  const genuine = (i: number) => { out.push({ packet: prot[i]!, expect: { kind: "ok", plain: plain[i]!, i } }); accepted.push(i); };
  for (let i = 0; i < prot.length; i++) {
    if (chance(r, 0.003)) { // a forgery of packet i, just before it
      const [from, to] = flipRange(i);
      const f = prot[i]!.slice();
      const at = pick(r, from, to - 1);
      f[at] ^= 1 << pick(r, 0, 7);
      out.push({ packet: f, expect: { kind: "auth", i } });
    }
    if (i + 1 < prot.length && chance(r, 0.005)) { // i+1 overtakes i
      genuine(i + 1);
      genuine(i);
      i++;
    } else {
      genuine(i);
    }
    if (accepted.length > 2 && chance(r, 0.003)) { // a replay of a recent packet
      const j = accepted[accepted.length - 1 - pick(r, 0, Math.min(100, accepted.length - 1))]!;
      out.push({ packet: prot[j]!, expect: { kind: "replay", i: j } });
    }
    if (accepted.length > 1200 && chance(r, 0.001)) { // a copy from far behind the window
      const j = accepted[accepted.length - 1 - pick(r, 140, 1100)]!;
      const newest = Math.max(...accepted.slice(-3));
      if (newest - j > 135) out.push({ packet: prot[j]!, expect: { kind: "old", i: j } });
    }
  }
  return out;
}

// ---- checks --------------------------------------------------------------------------------

function firstDiff(a: Uint8Array, b: Uint8Array): string {
  if (a.length !== b.length) return `lengths ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `byte ${i}: ${a[i]!.toString(16)} vs ${b[i]!.toString(16)}`;
  return "";
}

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0;

function describeRtp(p: Uint8Array): string {
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  return `seq ${v.getUint16(2)}, ssrc ${v.getUint32(8).toString(16)}, ${p.length} bytes, CC ${p[0]! & 15}, X ${(p[0]! >> 4) & 1}, P ${(p[0]! >> 5) & 1}`;
}

function verdict(r: LibsrtpResult | number, tincan: boolean): string {
  if (typeof r !== "number") return `accepted (${r.length} bytes)`;
  return tincan ? `${tincanErrorName(r)} (${r})` : `${libsrtpStatusName(r)} (${r})`;
}

/** Each result against what the delivery expects; returns the first failure or "". */
function checkReceived(who: "Tincan" | "libsrtp", got: (LibsrtpResult | number)[], list: Delivery[], describe: (p: Uint8Array) => string): string {
  const tincan = who === "Tincan";
  for (let k = 0; k < list.length; k++) {
    const { expect, packet } = list[k]!;
    const g = got[k]!;
    const what = `${who}, delivery ${k} (packet ${expect.i}, ${expect.kind})`;
    if (expect.kind === "ok") {
      if (typeof g === "number") return `${what}: refused with ${verdict(g, tincan)}; ${describe(expect.plain)}`;
      if (!same(g, expect.plain)) return `${what}: plaintext differs, ${firstDiff(g, expect.plain)}; ${describe(expect.plain)}`;
    } else {
      const want = tincan ? TINCAN_CODE[expect.kind] : LIBSRTP_CODE[expect.kind];
      if (g !== want) return `${what}: ${verdict(g, tincan)}, expected ${verdict(want, tincan)}; ${packet.length} bytes`;
    }
  }
  return "";
}

function keysFor(suite: SrtpSuite, tag: number): { key: Uint8Array; salt: Uint8Array } {
  const r = lcg(0x6b657900 + suite * 16 + tag);
  return { key: randomBytes(r, SUITES[suite].keyLen), salt: randomBytes(r, SUITES[suite].saltLen) };
}

function flat<T>(xs: T[][]): T[] { return ([] as T[]).concat(...xs); }

function openMedia(t: { diagnostic(msg: string): void }): TincanSrtp {
  const media = new TincanSrtp();
  t.diagnostic(`heap top ${media.exports.heap_top()}`);
  return media;
}

// ---- the tests -----------------------------------------------------------------------------

for (const suite of ALL_SUITES) {
  const name = SUITES[suite].name;

  test(`${name}: 200,000 SRTP packets across sequence wraps, byte-identical with libsrtp both ways`, (t) => {
    const { key, salt } = keysFor(suite, 0);
    const { streams, packets } = rtpStreams(suite);
    const plain = flat(packets);
    assert.ok(plain.length >= 200000);
    const media = openMedia(t);
    const heap0 = media.exports.heap_top();

    // Same key, same plaintext: the same SRTP bytes.
    const theirs = libsrtpProtect(suite, key, salt, plain);
    const ours: Uint8Array[] = [];
    streams.forEach((s, si) => {
      media.open(CTX, suite, key, salt);
      for (const p of packets[si]!) {
        const q = media.protect(CTX, p);
        if (typeof q === "number") assert.fail(`Tincan refused to protect ${describeRtp(p)} of stream ${si}: ${tincanErrorName(q)}`);
        ours.push(q);
      }
    });
    for (let i = 0; i < plain.length; i++) {
      if (!same(ours[i]!, theirs[i]!)) {
        assert.fail(`packet ${i} (${describeRtp(plain[i]!)}): Tincan's SRTP differs from libsrtp's at ${firstDiff(ours[i]!, theirs[i]!)}\n  Tincan  ${hex(ours[i]!).slice(0, 120)}\n  libsrtp ${hex(theirs[i]!).slice(0, 120)}`);
      }
      assert.equal(ours[i]!.length, plain[i]!.length + SUITES[suite].rtpTrailer);
    }

    // The receive sides, each fed the other's packets with the same perturbations.
    const r = lcg(0xdead0000 + suite);
    const perStream = streams.map((_, si) => {
      const off = streams.slice(0, si).reduce((n, s) => n + s.count, 0);
      const idx = (i: number) => off + i;
      const hdrLen = (p: Uint8Array) => {
        let n = 12 + 4 * (p[0]! & 15);
        if (p[0]! & 0x10) n += 4 + 4 * ((p[n + 2]! << 8) | p[n + 3]!);
        return n;
      };
      // A forgery flips a bit in the timestamp (byte 4..7) or anywhere after the header.
      const flip = (i: number): [number, number] => (chance(r, 0.2) ? [4, 8] : [hdrLen(plain[idx(i)]!), theirs[idx(i)]!.length]);
      const order = deliveries(r, packets[si]!.map((_, i) => theirs[idx(i)]!), packets[si]!, flip);
      return order;
    });
    const kinds = flat(perStream).reduce((m, d) => m.set(d.expect.kind, (m.get(d.expect.kind) ?? 0) + 1), new Map<string, number>());
    t.diagnostic(`deliveries per kind: ${JSON.stringify(Object.fromEntries(kinds))}`);
    for (const k of ["auth", "replay", "old"]) assert.ok((kinds.get(k) ?? 0) > 20, `the perturbations include ${k} packets`);

    // libsrtp -> Tincan: libsrtp's packets, Tincan unprotects them.
    streams.forEach((s, si) => {
      media.open(CTX, suite, key, salt);
      const list = perStream[si]!;
      const got = list.map((d) => media.unprotect(CTX, d.packet));
      const failure = checkReceived("Tincan", got, list, describeRtp);
      if (failure !== "") assert.fail(`stream ${si} (first seq ${s.firstSeq}): ${failure}`);
      const counts = { auth: 0, replay: 0, old: 0 };
      for (const d of list) if (d.expect.kind !== "ok") counts[d.expect.kind]++;
      assert.deepEqual(
        { auth: media.exports.srtp_drops(CTX, 3), replay: media.exports.srtp_drops(CTX, 4), old: media.exports.srtp_drops(CTX, 5), all: media.exports.srtp_drops(CTX, 0) },
        { ...counts, all: counts.auth + counts.replay + counts.old },
        `stream ${si}: Tincan's drop counters`,
      );
    });

    // Tincan -> libsrtp: the same deliveries made of Tincan's packets (equal bytes, as checked
    // above, but taken from Tincan's side; a forgery is the same flipped copy), libsrtp unprotects.
    const list = flat(perStream.map((l, si) => {
      const off = streams.slice(0, si).reduce((n, s) => n + s.count, 0);
      return l.map((d) => (d.expect.kind === "auth" ? d : { ...d, packet: ours[off + d.expect.i]! }));
    }));
    const got = libsrtpUnprotect(suite, key, salt, list.map((d) => d.packet));
    const failure = checkReceived("libsrtp", got, list, describeRtp);
    if (failure !== "") assert.fail(failure);

    assert.equal(media.exports.heap_top(), heap0, "the packet paths allocate nothing");
  });

  test(`${name}: 16,000 SRTCP packets, byte-identical with libsrtp both ways`, (t) => {
    const { key, salt } = keysFor(suite, 1);
    const { streams, packets } = rtcpStreams(suite);
    const plain = flat(packets);
    const media = openMedia(t);
    const trailer = SUITES[suite].rtcpTrailer;
    const tagLen = trailer - 4;
    const aead = suite >= 3;
    const indexOf = (p: Uint8Array) => {
      const at = aead ? p.length - 4 : p.length - 4 - tagLen;
      return new DataView(p.buffer, p.byteOffset).getUint32(at) & 0x7fffffff;
    };

    const theirs = libsrtpProtect(suite, key, salt, plain, true);
    // libsrtp's first SRTCP index in a stream (1 in libsrtp 2.x); Tincan's is 0 (RFC 3711 §3.4).
    const libsrtpFirst = indexOf(theirs[0]!);
    assert.ok(libsrtpFirst === 0 || libsrtpFirst === 1, `libsrtp's first SRTCP index is ${libsrtpFirst}`);
    t.diagnostic(`libsrtp's first SRTCP index: ${libsrtpFirst}; Tincan protects ${libsrtpFirst} extra packet(s) per stream to line up`);

    const ours: Uint8Array[] = [];
    const primers: Uint8Array[][] = [];
    streams.forEach((s, si) => {
      media.open(CTX, suite, key, salt);
      const pre: Uint8Array[] = [];
      for (let k = 0; k < libsrtpFirst; k++) {
        const q = media.protectRtcp(CTX, packets[si]![0]!);
        if (typeof q === "number") assert.fail(`Tincan refused to protect RTCP: ${tincanErrorName(q)}`);
        assert.equal(indexOf(q), k, `Tincan's SRTCP packet ${k} of a fresh context carries index ${k}`);
        pre.push(q);
      }
      primers.push(pre);
      for (const p of packets[si]!) {
        const q = media.protectRtcp(CTX, p);
        if (typeof q === "number") assert.fail(`Tincan refused to protect an RTCP packet of ${p.length} bytes: ${tincanErrorName(q)}`);
        ours.push(q);
      }
    });
    for (let i = 0; i < plain.length; i++) {
      if (!same(ours[i]!, theirs[i]!)) {
        assert.fail(`RTCP packet ${i} (${plain[i]!.length} bytes, PT ${plain[i]![1]}): Tincan's SRTCP differs from libsrtp's at ${firstDiff(ours[i]!, theirs[i]!)}\n  Tincan  ${hex(ours[i]!).slice(0, 120)}\n  libsrtp ${hex(theirs[i]!).slice(0, 120)}`);
      }
      assert.equal(ours[i]!.length, plain[i]!.length + trailer);
    }

    const r = lcg(0xbeef0000 + suite);
    const describeRtcp = (p: Uint8Array) => `${p.length}-byte RTCP, PT ${p[1]}`;
    const perStream = streams.map((_, si) => {
      const off = si * RTCP_PER_STREAM;
      // A forgery flips a bit in the encrypted part or the tag, never in E||index.
      const flip = (i: number): [number, number] => {
        const len = theirs[off + i]!.length;
        if (len - trailer > 8 && chance(r, 0.5)) return [8, len - trailer]; // an RR with no blocks has no encrypted part
        return aead ? [len - trailer, len - 4] : [len - tagLen, len];
      };
      return deliveries(r, packets[si]!.map((_, i) => theirs[off + i]!), packets[si]!, flip);
    });

    // libsrtp -> Tincan
    streams.forEach((_, si) => {
      media.open(CTX, suite, key, salt);
      const list = perStream[si]!;
      const failure = checkReceived("Tincan", list.map((d) => media.unprotectRtcp(CTX, d.packet)), list, describeRtcp);
      if (failure !== "") assert.fail(`RTCP stream ${si}: ${failure}`);
      const bad = list.filter((d) => d.expect.kind !== "ok").length;
      assert.equal(media.exports.srtp_drops(CTX, 0), bad, `RTCP stream ${si}: Tincan's drop counter`);
    });

    // Tincan -> libsrtp, Tincan's index-0 packet first in each stream.
    const list = flat(perStream.map((l, si) => {
      const off = si * RTCP_PER_STREAM;
      const pre: Delivery[] = primers[si]!.map((p) => ({ packet: p, expect: { kind: "ok", plain: packets[si]![0]!, i: -1 } }));
      return [...pre, ...l.map((d) => (d.expect.kind === "auth" ? d : { ...d, packet: ours[off + d.expect.i]! }))];
    }));
    const failure = checkReceived("libsrtp", libsrtpUnprotect(suite, key, salt, list.map((d) => d.packet), true), list, describeRtcp);
    if (failure !== "") assert.fail(failure);
  });
}
