// The board's whole receive path for one media port, fuzzed: demux -> SRTP/SRTCP unprotect ->
// RTP/RTCP parse (media_receive in build/media.wasm, firmware/media-module.ts). 1,000,000
// datagrams: real SRTP and SRTCP packets in order, and mutants of them (bit flips anywhere,
// truncations to every length, appended bytes, replays, garbage in every demux range).
// Zero traps, the heap top never moves, every real packet is received, no mutant is.

import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { root } from "./helpers.ts";

interface Media {
  memory: WebAssembly.Memory;
  buffer(): number;
  key_buffer(): number;
  srtp_open(ctx: number, suite: number, keyLen: number, saltLen: number, window: number): number;
  srtp_protect(ctx: number, len: number): number;
  srtcp_protect(ctx: number, len: number): number;
  media_receive(ctx: number, len: number): number;
  rtp_payload_offset(): number;
  rtp_payload_length(): number;
  heap_top(): number;
}

const TOTAL = Number(process.env.MEDIA_FUZZ_PACKETS ?? 1_000_000);
const TX = 0;
const RX = 1;

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s >>> 8; }; // the high bits: an LCG's low bits cycle
}

test(`media receive path: ${TOTAL} datagrams through demux -> unprotect -> parse, zero traps, heap flat`, () => {
  const wasm = fs.readFileSync(path.join(root, "build", "media.wasm"));
  const m = new WebAssembly.Instance(new WebAssembly.Module(wasm), {}).exports as unknown as Media;
  const rand = lcg(20261201);
  const key = Uint8Array.from({ length: 30 }, () => rand() & 0xff);
  for (const suite of [1, 3]) {
    const keyLen = 16;
    const saltLen = suite === 1 ? 14 : 12;
    new Uint8Array(m.memory.buffer, m.key_buffer(), 64).set(key.subarray(0, keyLen), 0);
    new Uint8Array(m.memory.buffer, m.key_buffer(), 64).set(key.subarray(16, 16 + saltLen), 32);
    assert.equal(m.srtp_open(TX, suite, keyLen, saltLen, 0), 0);
    assert.equal(m.srtp_open(RX, suite, keyLen, saltLen, 0), 0);
  }
  const buf = () => new Uint8Array(m.memory.buffer, m.buffer(), 2048);
  const heapBefore = m.heap_top();
  let seq = 65000; // wraps during the run
  let ts = 0;
  const counts = new Map<number, number>();
  let real = 0;
  let last: Uint8Array = new Uint8Array(0);
  const send = (bytes: Uint8Array): number => {
    buf().set(bytes);
    const r = m.media_receive(RX, bytes.length); // a trap would throw a RuntimeError here
    counts.set(r, (counts.get(r) ?? 0) + 1);
    return r;
  };
  const realRtp = (): Uint8Array => {
    const payload = 1 + (rand() % 200);
    const p = new Uint8Array(12 + payload);
    p[0] = 0x80; p[1] = 9; p[2] = (seq >> 8) & 0xff; p[3] = seq & 0xff;
    new DataView(p.buffer).setUint32(4, ts >>> 0);
    new DataView(p.buffer).setUint32(8, 0x1234abcd);
    for (let i = 12; i < p.length; i++) p[i] = rand() & 0xff;
    seq = (seq + 1) & 0xffff; ts += 160;
    buf().set(p);
    const n = m.srtp_protect(TX, p.length);
    assert.ok(n > 0, `protect RTP seq ${seq}: ${n}`);
    return Uint8Array.from(buf().subarray(0, n));
  };
  const realRtcp = (): Uint8Array => {
    const p = new Uint8Array(8); // a receiver report with no blocks: the smallest valid compound
    p[0] = 0x80; p[1] = 201; p[3] = 1;
    new DataView(p.buffer).setUint32(4, 0x1234abcd);
    buf().set(p);
    const n = m.srtcp_protect(TX, p.length);
    assert.ok(n > 0, `protect RTCP: ${n}`);
    return Uint8Array.from(buf().subarray(0, n));
  };
  for (let i = 0; i < TOTAL; i++) {
    const kind = rand() % 16;
    if (kind === 0 || kind === 1) {
      last = kind === 0 ? realRtp() : realRtcp();
      const r = send(last);
      assert.equal(r, kind === 0 ? 1 : 2, `real packet ${i} received`);
      real++;
      continue;
    }
    if (last.length === 0) continue;
    let x: Uint8Array;
    if (kind <= 6) { // one flipped bit anywhere
      x = Uint8Array.from(last);
      const bit = rand() % (x.length * 8);
      x[bit >> 3] ^= 1 << (bit & 7);
    } else if (kind <= 9) { // truncated
      x = last.subarray(0, rand() % last.length);
    } else if (kind === 10) { // bytes appended
      x = Uint8Array.from([...last, ...Array.from({ length: 1 + (rand() % 8) }, () => rand() & 0xff)]);
    } else if (kind === 11) { // replayed
      x = last;
    } else { // garbage in some demux range, random length
      x = Uint8Array.from({ length: rand() % 1600 }, () => rand() & 0xff);
      if (x.length) x[0] = [0x00, 0x14, 0x40, 0x80, 0x90, 0xc0, 0xff][rand() % 7];
    }
    const r = send(x);
    const first = x[0] ?? 0;
    const passedThrough = (first < 4 && r === 3) || (first >= 16 && first < 80 && r === 4); // STUN, DTLS...: not ours to judge
    assert.ok(r < 0 || passedThrough, `mutant ${i} (kind ${kind}, ${x.length} bytes) was refused, got ${r}`);
  }
  assert.equal(m.heap_top(), heapBefore, "no allocation on the receive path");
  assert.ok(real > TOTAL / 10, `${real} real packets`);
  const refused = [...counts].filter(([r]) => r < 0).reduce((n, [, c]) => n + c, 0);
  assert.ok(refused > TOTAL / 2, `refused ${refused}: ${JSON.stringify([...counts])}`);
});
