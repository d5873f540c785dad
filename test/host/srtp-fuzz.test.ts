// Fuzzes the firmware's SRTP/SRTCP receive path (build/media.wasm, firmware/media-module.ts):
// 1,000,000 mutated packets — bit flips, truncations, appended bytes, random garbage, replays —
// with real packets, reordered, interleaved. Zero traps; every mutant refused; every real packet
// accepted and decrypted right; the module's drop counters equal our own tally; the heap top
// never moves. The real packets are checked byte for byte against Node's crypto (OpenSSL) doing
// RFC 3711 / RFC 7714 on its own, so this is also an interop check of what the board sends.
//   SRTP_FUZZ_SEED=n replays a run; SRTP_FUZZ_PACKETS=n changes the count; SRTP_MEDIA_WASM=file
//   fuzzes another build of the module.

import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { root } from "./helpers.ts";

interface MediaExports {
  memory: WebAssembly.Memory;
  buffer(): number;
  key_buffer(): number;
  srtp_open(ctx: number, suite: number, keyLen: number, saltLen: number, replayWindow: number): number;
  srtp_protect(ctx: number, len: number): number;
  srtp_unprotect(ctx: number, len: number): number;
  srtcp_protect(ctx: number, len: number): number;
  srtcp_unprotect(ctx: number, len: number): number;
  srtp_drops(ctx: number, reason: number): number;
  heap_top(): number;
}

interface Suite { id: number; name: string; key: number; salt: number; tag: number; rtcpTag: number; aead: boolean }
const SUITES: Suite[] = [
  { id: 1, name: "AES_CM_128_HMAC_SHA1_80", key: 16, salt: 14, tag: 10, rtcpTag: 10, aead: false },
  { id: 2, name: "AES_CM_128_HMAC_SHA1_32", key: 16, salt: 14, tag: 4, rtcpTag: 10, aead: false },
  { id: 3, name: "AEAD_AES_128_GCM", key: 16, salt: 12, tag: 16, rtcpTag: 16, aead: true },
  { id: 4, name: "AEAD_AES_256_GCM", key: 32, salt: 12, tag: 16, rtcpTag: 16, aead: true },
];
const ERR_REPLAY = -4;
const ERR_TOO_OLD = -5;
const BUFFER = 2048;
const WINDOW = 128;
const TX = 0;
const RX = 1;

// ---- the reference: RFC 3711 §4 and RFC 7714 in Node's crypto, independent of the firmware ----

interface Keys { k: Buffer; a: Buffer; salt: Buffer }
function kdf(masterKey: Buffer, masterSalt: Buffer, label: number, n: number): Buffer {
  const iv = Buffer.alloc(16); // salt * 2^16 (a 96-bit GCM salt padded to 112 bits: RFC 7714 erratum 4938)
  masterSalt.copy(iv, 0);
  iv[7] ^= label;
  return crypto.createCipheriv(masterKey.length === 32 ? "aes-256-ctr" : "aes-128-ctr", masterKey, iv).update(Buffer.alloc(n));
}
function sessionKeys(s: Suite, mk: Buffer, ms: Buffer, first: number): Keys {
  return { k: kdf(mk, ms, first, s.key), a: s.aead ? Buffer.alloc(0) : kdf(mk, ms, first + 1, 20), salt: kdf(mk, ms, first + 2, s.salt) };
}
function iv(s: Suite, keys: Keys, ssrc: number, index: number): Buffer {
  const out = Buffer.alloc(s.aead ? 12 : 16);
  const at = s.aead ? 2 : 4;
  out.writeUInt32BE(ssrc, at);
  out.writeUInt16BE(Math.floor(index / 2 ** 32), at + 4);
  out.writeUInt32BE(index % 2 ** 32, at + 6);
  for (let i = 0; i < keys.salt.length; i++) out[i] ^= keys.salt[i];
  return out;
}
function gcm(s: Suite, key: Buffer, nonce: Buffer): crypto.CipherGCM {
  return crypto.createCipheriv(s.key === 32 ? "aes-256-gcm" : "aes-128-gcm", key, nonce) as crypto.CipherGCM;
}
function refProtectRtp(s: Suite, keys: Keys, pkt: Buffer, index: number): Buffer {
  const h = 12 + 4 * (pkt[0] & 15) + (pkt[0] & 0x10 ? 4 + 4 * pkt.readUInt16BE(12 + 4 * (pkt[0] & 15) + 2) : 0);
  const nonce = iv(s, keys, pkt.readUInt32BE(8), index);
  if (s.aead) {
    const c = gcm(s, keys.k, nonce);
    c.setAAD(pkt.subarray(0, h));
    const body = c.update(pkt.subarray(h));
    c.final();
    return Buffer.concat([pkt.subarray(0, h), body, c.getAuthTag()]);
  }
  const body = crypto.createCipheriv("aes-128-ctr", keys.k, nonce).update(pkt.subarray(h));
  const out = Buffer.concat([pkt.subarray(0, h), body]);
  const roc = Buffer.alloc(4);
  roc.writeUInt32BE(Math.floor(index / 65536));
  return Buffer.concat([out, crypto.createHmac("sha1", keys.a).update(out).update(roc).digest().subarray(0, s.tag)]);
}
function refProtectRtcp(s: Suite, keys: Keys, pkt: Buffer, index: number): Buffer {
  const ei = Buffer.alloc(4);
  ei.writeUInt32BE((0x80000000 | index) >>> 0);
  const nonce = iv(s, keys, pkt.readUInt32BE(4), index);
  if (s.aead) {
    const c = gcm(s, keys.k, nonce);
    c.setAAD(Buffer.concat([pkt.subarray(0, 8), ei]));
    const body = c.update(pkt.subarray(8));
    c.final();
    return Buffer.concat([pkt.subarray(0, 8), body, c.getAuthTag(), ei]);
  }
  const body = crypto.createCipheriv("aes-128-ctr", keys.k, nonce).update(pkt.subarray(8));
  const out = Buffer.concat([pkt.subarray(0, 8), body, ei]);
  return Buffer.concat([out, crypto.createHmac("sha1", keys.a).update(out).digest().subarray(0, s.rtcpTag)]);
}

// ---- the module ----

function loadMedia(): MediaExports {
  const file = process.env.SRTP_MEDIA_WASM ?? path.join(root, "build", "media.wasm");
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run 'npx tsx scripts/build.ts' first (npm test does)`);
  return new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync(file)), {}).exports as unknown as MediaExports;
}

/** xorshift32: fast, and a seed replays a run exactly. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}

function rtpPacket(rand: () => number, seq: number): Buffer {
  const cc = rand() % 3;
  const ext = rand() % 2 === 1;
  const payload = rand() % 200;
  const p = Buffer.alloc(12 + 4 * cc + (ext ? 8 : 0) + payload);
  p[0] = 0x80 | (ext ? 0x10 : 0) | cc;
  p[1] = 9; // G.722
  p.writeUInt16BE(seq & 0xffff, 2);
  p.writeUInt32BE((seq * 320) >>> 0, 4);
  p.writeUInt32BE(0x7a11ca11, 8);
  for (let i = 0; i < cc; i++) p.writeUInt32BE(rand(), 12 + 4 * i);
  if (ext) { p.writeUInt32BE(0xbede0001, 12 + 4 * cc); p.writeUInt32BE(rand(), 16 + 4 * cc); }
  for (let i = 12 + 4 * cc + (ext ? 8 : 0); i < p.length; i++) p[i] = rand() & 0xff;
  return p;
}

function rtcpPacket(rand: () => number): Buffer {
  const words = 1 + (rand() % 20);
  const p = Buffer.alloc(4 + 4 * words);
  p.writeUInt32BE((0x80c80000 | words) >>> 0, 0);
  p.writeUInt32BE(0x7a11ca11, 4);
  for (let i = 8; i < p.length; i++) p[i] = rand() & 0xff;
  return p;
}

/** RFC 5761 §4 / RFC 7983: a second byte of 192..223 is RTCP. */
function isRtcp(p: Uint8Array, len: number): boolean { return len >= 2 && p[1] >= 192 && p[1] <= 223; }

interface Real { plain: Buffer; wire: Buffer; rtcp: boolean; index: number }

const TOTAL = Number(process.env.SRTP_FUZZ_PACKETS ?? 1_000_000);
const SEED = Number(process.env.SRTP_FUZZ_SEED ?? 0x5eed5a17);

test(`SRTP/SRTCP unprotect: ${TOTAL} mutated packets, zero traps, counters add up, heap flat (seed ${SEED})`, () => {
  const m = loadMedia();
  const rand = rng(SEED);
  const mem = (): Uint8Array => new Uint8Array(m.memory.buffer);
  const buf = m.buffer();
  const perSuite = Math.ceil(TOTAL / SUITES.length);
  let traps = 0;
  let mutants = 0;
  let realPassed = 0;
  const heapBefore = m.heap_top();
  const started = process.hrtime.bigint();

  for (const s of SUITES) {
    const mk = crypto.randomBytes(s.key);
    const ms = crypto.randomBytes(s.salt);
    mem().set(mk, m.key_buffer());
    mem().set(ms, m.key_buffer() + 32);
    assert.equal(m.srtp_open(TX, s.id, s.key, s.salt, WINDOW), 0, `${s.name}: open sender`);
    assert.equal(m.srtp_open(RX, s.id, s.key, s.salt, WINDOW), 0, `${s.name}: open receiver`);
    const padded = Buffer.concat([ms, Buffer.alloc(14 - s.salt)]);
    const rtpKeys = sessionKeys(s, mk, padded, 0);
    const rtcpKeys = sessionKeys(s, mk, padded, 3);

    // The real packets: the module's sender protects them, the reference must agree byte for byte.
    // RTP indexes run across a wrap (65536 - 2000 ..); SRTCP indexes from 0.
    const real: Real[] = [];
    const firstSeq = 65536 - 2000;
    for (let i = 0; i < 4000; i++) {
      const idx = firstSeq + i;
      const plain = rtpPacket(rand, idx);
      mem().set(plain, buf);
      const n = m.srtp_protect(TX, plain.length);
      assert.equal(n, plain.length + s.tag, `${s.name}: protect ${i}`);
      const wire = Buffer.from(mem().subarray(buf, buf + n));
      assert.deepEqual(wire, refProtectRtp(s, rtpKeys, plain, idx), `${s.name}: SRTP index ${idx} differs from the reference`);
      real.push({ plain, wire, rtcp: false, index: idx });
      if (i % 4 === 0) {
        const rp = rtcpPacket(rand);
        mem().set(rp, buf);
        const c = m.srtcp_protect(TX, rp.length);
        assert.equal(c, rp.length + 4 + s.rtcpTag, `${s.name}: protectRtcp`);
        const w = Buffer.from(mem().subarray(buf, buf + c));
        assert.deepEqual(w, refProtectRtcp(s, rtcpKeys, rp, i / 4), `${s.name}: SRTCP index ${i / 4} differs from the reference`);
        real.push({ plain: rp, wire: w, rtcp: true, index: i / 4 });
      }
    }
    // Delivery order: shuffled within blocks of 64, so nothing is displaced by the window's width.
    const order = real.map((_, i) => i);
    for (let b = 0; b < order.length; b += 64) {
      for (let i = Math.min(b + 63, order.length - 1); i > b; i--) {
        const j = b + (rand() % (i - b + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
    }
    const delivered: number[] = [];
    let topRtp = -1;
    let topRtcp = -1;
    let next = 0;
    const tally = new Map<number, number>();
    const note = (r: number): void => { if (r < 0) tally.set(r, (tally.get(r) ?? 0) + 1); };
    const call = (len: number): number => {
      const p = mem();
      try {
        return isRtcp(p.subarray(buf), len) ? m.srtcp_unprotect(RX, len) : m.srtp_unprotect(RX, len);
      } catch {
        traps++;
        return 0;
      }
    };
    const every = Math.max(2, Math.floor(perSuite / real.length) - 1);

    for (let it = 0; it < perSuite; it++) {
      if (it % every === 0 && next < order.length) {
        const r = real[order[next++]];
        mem().set(r.wire, buf);
        const got = call(r.wire.length);
        assert.equal(got, r.plain.length, `${s.name}: real ${r.rtcp ? "SRTCP" : "SRTP"} index ${r.index} refused (${got})`);
        assert.ok(Buffer.from(mem().subarray(buf, buf + got)).equals(r.plain), `${s.name}: index ${r.index} decrypted wrong`);
        if (r.rtcp) topRtcp = Math.max(topRtcp, r.index);
        else topRtp = Math.max(topRtp, r.index);
        delivered.push(order[next - 1]);
        realPassed++;
        continue;
      }
      mutants++;
      const kind = rand() % 16;
      let len: number;
      let replayOf: Real | null = null;
      if (kind < 8) { // 1..4 distinct bit flips of a real packet
        const r = real[rand() % real.length];
        mem().set(r.wire, buf);
        len = r.wire.length;
        const flips = 1 + (rand() % 4);
        const bits = new Set<number>();
        while (bits.size < flips) bits.add(rand() % (len * 8));
        const p = mem();
        for (const b of bits) p[buf + (b >> 3)] ^= 0x80 >> (b & 7);
      } else if (kind < 10) { // truncated
        const r = real[rand() % real.length];
        mem().set(r.wire, buf);
        len = rand() % r.wire.length;
      } else if (kind < 11) { // bytes appended
        const r = real[rand() % real.length];
        mem().set(r.wire, buf);
        len = Math.min(BUFFER, r.wire.length + 1 + (rand() % 40));
        const p = mem();
        for (let i = r.wire.length; i < len; i++) p[buf + i] = rand() & 0xff;
      } else if (kind < 14) { // garbage of any length, version 2 half the time
        len = rand() % (BUFFER + 1);
        const p = mem();
        for (let i = 0; i < len; i++) p[buf + i] = rand() & 0xff;
        if (len > 0 && rand() % 2 === 0) p[buf] = (p[buf] & 0x3f) | 0x80;
      } else { // a replay of a packet already accepted
        if (delivered.length === 0) { mutants--; continue; }
        replayOf = real[delivered[rand() % delivered.length]];
        mem().set(replayOf.wire, buf);
        len = replayOf.wire.length;
      }
      const got = call(len);
      note(got);
      assert.ok(got < 0, `${s.name}: a mutant (kind ${kind}, ${len} bytes) was accepted: ${got}`);
      if (replayOf !== null) {
        const top = replayOf.rtcp ? topRtcp : topRtp;
        assert.equal(got, top - replayOf.index < WINDOW ? ERR_REPLAY : ERR_TOO_OLD, `${s.name}: replay of index ${replayOf.index}`);
      }
    }
    assert.equal(next, order.length, `${s.name}: only ${next} of ${order.length} real packets were delivered`);
    let sum = 0;
    for (let reason = 1; reason <= 8; reason++) {
      assert.equal(m.srtp_drops(RX, reason), tally.get(-reason) ?? 0, `${s.name}: drop counter ${reason}`);
      sum += tally.get(-reason) ?? 0;
    }
    assert.equal(m.srtp_drops(RX, 0), sum, `${s.name}: the counters' total`);
    assert.equal(m.srtp_drops(TX, 0), 0, `${s.name}: the sender refused nothing`);
  }

  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`srtp fuzz: ${mutants} mutants refused, ${realPassed} real packets passed, ${traps} traps, ${seconds.toFixed(1)} s`);
  assert.equal(traps, 0);
  assert.ok(mutants + realPassed >= TOTAL - SUITES.length, `ran ${mutants + realPassed} packets`);
  assert.equal(m.heap_top(), heapBefore, "the heap top moved: something allocates per packet");
});

test("media module: bad contexts and arguments are refused, not trapped", () => {
  const m = loadMedia();
  assert.equal(m.srtp_open(4, 1, 16, 14, 0), -6);
  assert.equal(m.srtp_open(-1, 1, 16, 14, 0), -6);
  assert.equal(m.srtp_open(2, 7, 16, 14, 0), -6);
  assert.equal(m.srtp_open(2, 1, 16, 14, 100), -6); // window below 128
  assert.equal(m.srtp_open(2, 1, 16, 14, 2048), -6); // above 1024
  assert.equal(m.srtp_open(2, 1, 33, 14, 0), -6);
  assert.equal(m.srtp_protect(2, 40), -6); // the failed open left it keyless
  assert.equal(m.srtp_drops(2, 6), 1);
  assert.equal(m.srtp_protect(9, 40), -6);
  assert.equal(m.srtp_drops(9, 0), -1);
  assert.equal(m.srtp_open(2, 1, 16, 14, 1024), 0);
  assert.equal(m.srtp_unprotect(2, 4096), -1); // longer than the buffer
  assert.equal(m.srtcp_unprotect(2, -3), -1);
  assert.equal(m.srtp_drops(2, 1), 2);
  assert.equal(m.srtp_drops(2, 0), 2); // srtp_open reset the counters
});
