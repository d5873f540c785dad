// The built firmware's media port, fuzzed mid-call. A simulated board on the virtual clock
// takes a call from the test (an INVITE with ICE and SDES-SRTP; nothing really goes on the
// network), ICE connects with the test as the far end, and then STUN_FUZZ_MESSAGES (1,000,000)
// datagrams arrive on the media port: mutants of our checks and of the board's own requests
// and answers, a third re-sealed so they reach the agent's logic (420, role conflicts,
// USE-CANDIDATE, peer-reflexive sources), stale responses, right transaction ids from the
// wrong source, random bytes; consent answers and SRTP keep the call up. Asserted: no crash,
// heap flat, everything the board sends there well-formed (STUN checked with our own HMAC and
// CRC, SRTP/SRTCP tags with our own keys), no answer to an unauthenticated request bigger than
// it, no effect from a response that is not ours, counters that add up, and at the end the
// call connected with media both ways. STUN_FUZZ_SEED replays a run.

import { test } from "node:test";
import crypto from "node:crypto";
import assert from "node:assert/strict";
import {
  COOKIE, BINDING, Cls, Attr, attr, decodeStun, encodeStun, seal, integrityOk, unsealedAttrs, stunType, u32, u64, readXorAddress,
  FarEnd, OURS, PEER, MEDIA_HANDLE, type Stun, type StunAttr, type Sent, type Rand,
} from "./stun-helpers.ts";

const TOTAL = Number(process.env.STUN_FUZZ_MESSAGES ?? 1_000_000);
const SEED = Number(process.env.STUN_FUZZ_SEED ?? 8445) >>> 0;
const WARM_UP = Math.min(20_000, TOTAL >> 2);
const PER_FRAME = 32; // datagrams per 20 ms of virtual time (one SRTP packet in): ~10 minutes of call for 1M

/** xorshift32 after a multiplicative scramble of the seed: cheap, and the same run for a seed. */
function random(seed: number): Rand {
  let s = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) >>> 0) || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
}

test(`media port mid-call: ${TOTAL} mutated STUN datagrams (seed ${SEED}), no crash, no amplification, call still up`, async () => {
  const started = performance.now();
  // The board's credentials, keys and transaction ids come from hal.random_fill: seeded, so a run reproduces.
  const randomFill = crypto.randomFillSync;
  const boardRandom = random(SEED ^ 0x1ce);
  crypto.randomFillSync = (<T extends NodeJS.ArrayBufferView>(out: T): T => {
    const b = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    for (let i = 0; i < b.length; i++) b[i] = boardRandom() & 0xff;
    return out;
  }) as typeof crypto.randomFillSync;
  let far: FarEnd | undefined;
  try {
    const rand = random(SEED);
    far = await FarEnd.boot(SEED, rand);
    fuzz(far, rand, started);
  } finally {
    far?.board.stop();
    crypto.randomFillSync = randomFill;
  }
});

// RFC 8489 9.1 (short-term credentials, a response received over UDP): one whose MESSAGE-INTEGRITY
// is wrong is ignored and the transaction goes on, retransmissions included.
test("a forged answer to a consent check (right id and source, wrong integrity) leaves the check open", async () => {
  const far = await FarEnd.boot(SEED + 1, random(SEED + 1));
  try {
    far.call();
    far.connect();
    const from = far.sent.length;
    for (let t = 0; t < 400 && !far.checksIn(from).length; t++) far.board.runFor(20_000);
    const consent = far.checksIn(from)[0];
    assert.ok(consent, "the board sent a consent check");
    const forged = far.answer(consent.tid);
    forged[forged.length - 12] ^= 1; // a byte of the MAC; FINGERPRINT made right again below
    far.deliver(MEDIA_HANDLE, seal(forged.subarray(0, forged.length - 8), undefined, true), OURS);
    const before = far.status();
    far.deliver(MEDIA_HANDLE, far.answer(consent.tid), OURS);
    const after = far.status();
    assert.equal(after.ice.dropped, before.ice.dropped, "the genuine answer, after the forged one, still matched the consent check");
  } finally {
    far.board.stop();
  }
});

// ---- mutations ---------------------------------------------------------------------------

/** Comprehension-required types nobody registered for ICE: a request holding one gets a 420. */
const UNKNOWN_REQUIRED = [0x0000, 0x0002, 0x0003, 0x0004, 0x0005, 0x0007, 0x000b, 0x0013, 0x001d, 0x001e, 0x0026, 0x4000, 0x7fff];
const ROLES = [Attr.ICE_CONTROLLING, Attr.ICE_CONTROLLED];
const KNOWN = [Attr.USERNAME, Attr.PRIORITY, Attr.USE_CANDIDATE, Attr.ICE_CONTROLLING, Attr.ICE_CONTROLLED, Attr.XOR_MAPPED_ADDRESS,
  Attr.MAPPED_ADDRESS, Attr.ERROR_CODE, Attr.UNKNOWN_ATTRIBUTES, Attr.SOFTWARE, Attr.MESSAGE_INTEGRITY_SHA256, Attr.REALM, Attr.NONCE];
const pick = <T>(rand: Rand, xs: readonly T[]): T => xs[rand() % xs.length];
const bytes = (rand: Rand, n: number): Buffer => { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = rand() & 0xff; return b; };
const tieBreaker = (rand: Rand) => u64((BigInt(rand()) << 32n) | BigInt(rand()));

/** Attribute-level mutants, framing kept: what survives a re-seal and reaches the agent's logic. */
function mutateAttrs(attrs: StunAttr[], rand: Rand, username: Buffer): StunAttr[] {
  const a: StunAttr[] = attrs.map((x) => ({ type: x.type, value: Buffer.from(x.value) }));
  const at = () => rand() % (a.length + 1);
  for (let r = 1 + (rand() % 3); r > 0; r--) {
    const i = a.length ? rand() % a.length : 0;
    switch (rand() % 13) {
      case 0: if (a[i]) a[i].type = pick(rand, UNKNOWN_REQUIRED); break;                       // -> 420
      case 1: a.splice(at(), 0, { type: pick(rand, UNKNOWN_REQUIRED), value: bytes(rand, rand() % 12) }); break;
      case 2: a.splice(at(), 0, { type: pick(rand, ROLES), value: tieBreaker(rand) }); break;       // a second role
      case 3: { const role = a.find((x) => ROLES.includes(x.type as never)); if (role) { role.type = pick(rand, ROLES); role.value = tieBreaker(rand); } break; }
      case 4: a.splice(at(), 0, { type: Attr.USE_CANDIDATE, value: Buffer.alloc(rand() % 8 === 0 ? 4 : 0) }); break;
      case 5: if (a[i]) a.splice(at(), 0, { type: a[i].type, value: Buffer.from(a[i].value) }); break; // duplicated
      case 6: if (a.length > 1) { const j = rand() % a.length; [a[i], a[j]] = [a[j], a[i]]; } break;  // reordered
      case 7: if (a[i]) a.splice(i, 1); break;
      case 8: if (a[i]) a[i].value = rand() & 1 ? a[i].value.subarray(0, rand() % (a[i].value.length + 1)) : Buffer.concat([a[i].value, bytes(rand, 1 + (rand() % 9))]); break;
      case 9: if (a[i]) a[i].type = pick(rand, KNOWN); break;                                    // a type its length may not fit
      case 10: a.splice(at(), 0, { type: rand() & 1 ? Attr.SOFTWARE : 0x8000 + (rand() % 0x7fff), value: bytes(rand, rand() % 8 === 0 ? 700 + (rand() % 200) : rand() % 40) }); break;
      case 11: {
        const v = pick(rand, [Buffer.alloc(0), username.subarray(0, 4), username.subarray(0, 5), Buffer.concat([username, bytes(rand, rand() % 300)]), bytes(rand, 9)]);
        const u = a.find((x) => x.type === Attr.USERNAME);
        if (u) u.value = v; else a.unshift({ type: Attr.USERNAME, value: v });
        break;
      }
      default: { const p = a.find((x) => x.type === Attr.PRIORITY); if (p) p.value = u32(rand() & 1 ? rand() : pick(rand, [0, 1, 0xffffffff])); }
    }
  }
  return a;
}

/** The offset of a random attribute header in b, walking the framing as it stands, or -1. */
function attrOffset(b: Buffer, rand: Rand): number {
  const at: number[] = [];
  for (let off = 20; off + 4 <= b.length; off += 4 + ((b.readUInt16BE(off + 2) + 3) & ~3)) at.push(off);
  return at.length ? at[rand() % at.length] : -1;
}

/** Byte-level mutants: flips, truncation (at every length in turn), lying lengths, wrong cookies, broken attribute headers. */
function mutateBytes(seed: Buffer, rand: Rand, truncateAt: number): Buffer {
  let b: Buffer = Buffer.from(seed);
  for (let r = 1 + (rand() % 3); r > 0 && b.length; r--) {
    switch (rand() % 11) {
      case 0: b[rand() % b.length] ^= 1 << (rand() % 8); break;
      case 1: b[rand() % b.length] = rand() & 0xff; break;
      case 2: b = b.subarray(0, truncateAt % (b.length + 1)); break;
      case 3: if (b.length >= 4) b.writeUInt16BE(pick(rand, [0, 4, 0xfffc, 0xffff, b.length - 16, Math.max(0, b.length - 24), rand() & 0xffff]) & 0xffff, 2); break;
      case 4: if (b.length >= 8) b.writeUInt32BE(rand() & 1 ? (COOKIE ^ (1 << (rand() % 32))) >>> 0 : 0, 4); break;
      case 5: b[0] = (b[0] & 0x3f) | ((1 + (rand() % 3)) << 6); break;                          // not STUN by its first bits
      case 6: { const at = attrOffset(b, rand); if (at >= 0) b.writeUInt16BE(pick(rand, [0xffff, 0x8000, 0, 1, 3, rand() & 0xffff]), at + 2); break; }
      case 7: { const at = attrOffset(b, rand); if (at >= 0) b.writeUInt16BE(rand() & 1 ? pick(rand, UNKNOWN_REQUIRED) : pick(rand, KNOWN), at); break; }
      case 8: b = Buffer.concat([b, bytes(rand, 1 + (rand() % 64))]); break;
      case 9: { const i = rand() % b.length; b = Buffer.concat([b.subarray(0, i), b.subarray(i + 1 + (rand() % 8))]); break; }
      default: { const at = attrOffset(b, rand); if (at >= 0) b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + 4 + ((b.readUInt16BE(at + 2) + 3) & ~3)), b.subarray(at)]); }
    }
  }
  return b;
}

/** Random bytes the demultiplexer takes for STUN (first two bits 0), sometimes with the cookie, a true length and FINGERPRINT. */
function randomStun(rand: Rand): Buffer {
  const n = rand() % 4 === 0 ? rand() % 24 : 20 + 4 * (rand() % 40);
  const b = bytes(rand, n);
  if (n) b[0] &= 0x3f;
  if (n < 20 || rand() % 2) return b;
  b.writeUInt32BE(COOKIE, 4);
  b.writeUInt16BE(n - 20, 2);
  return rand() % 2 ? seal(b, undefined, true) : b;
}

/**
 * What the board must accept (RFC 8445 7.3, RFC 8489 9.1.3): USERNAME "its ufrag:..." before a
 * MESSAGE-INTEGRITY right for its password, with no MESSAGE-INTEGRITY-SHA256 before it (14.6: then it would not count).
 */
function isAuthentic(m: Stun, boardUfrag: string, key: Buffer): boolean {
  if (m.cls !== Cls.REQUEST || m.integrityAt < 0) return false;
  const before = unsealedAttrs(m.raw.subarray(0, m.integrityAt));
  const u = before.find((a) => a.type === Attr.USERNAME)?.value.toString("latin1") ?? "";
  return u.startsWith(`${boardUfrag}:`) && !before.some((a) => a.type === Attr.MESSAGE_INTEGRITY_SHA256) && integrityOk(m, key);
}

/** Comprehension-required types (< 0x8000) a STUN server with ICE understands (RFC 8489 18.3, RFC 8445 16.1). */
const UNDERSTOOD = new Set([0x0001, 0x0006, 0x0008, 0x0009, 0x000a, 0x0014, 0x0015, 0x001c, 0x0020, 0x0024, 0x0025]);
const unknownRequired = (m: Stun): number[] =>
  [...new Set(unsealedAttrs(m.raw.subarray(0, m.integrityAt)).map((a) => a.type).filter((t) => t < 0x8000 && !UNDERSTOOD.has(t)))];
const errorCode = (m: Stun): number => { const v = attr(m, Attr.ERROR_CODE); return v && v.length >= 4 ? (v[2] & 7) * 100 + v[3] : 0; };
const isResponse = (b: Buffer) => b.length >= 20 && (b.readUInt16BE(0) & 0x0100) !== 0;

// ---- the run ---------------------------------------------------------------------------------

function fuzz(far: FarEnd, rand: Rand, started: number): void {
  const call = far.call();
  const faults = new Map<string, string>();
  const fault = (kind: string, what: string) => { if (!faults.has(kind)) faults.set(kind, `seed ${SEED}, ${what}`); };
  const hex = (b: Buffer) => b.toString("hex");
  const n = { stun: 0, indications: 0, requests: 0, authentic: 0, answered: new Map<string, number>(), sealedAnswers: 0, refusals: 0,
    stale: 0, spoofed: 0, consentAnswered: 0, srtpIn: 0, srtpOut: 0, srtcpOut: 0, elsewhere: 0 };
  const pending: { tid: Buffer; due: number }[] = [];  // the board's consent checks we have yet to answer
  const seeds: Buffer[] = [far.check(true)]; // the board's own requests and answers, and our checks
  const keep = (b: Buffer) => { if (seeds.length < 24) seeds.push(b); else seeds[rand() % seeds.length] = b; };
  let roc = 0, lastSeq = -1, lastSrtpAt = 0, inspected = 0;
  let request: { data: Buffer; from: string; m?: Stun; authentic: boolean } | undefined; // the datagram being delivered

  /** One datagram from the board's media port: well-formed, where it belongs, and learnt from. */
  const inspect = (s: Sent, i: number) => {
    inspected++;
    if (s.handle !== MEDIA_HANDLE) { if (s.data.toString("latin1", 0, 4) === "BYE ") fault("hung up", `message ${i}: the board sent a BYE`); return; }
    const d = s.data;
    if (d[0] >= 0x80 && d[0] < 0xc0 && d.length >= 12) {
      if (s.to !== OURS) fault("media elsewhere", `message ${i}: media went to ${s.to}`);
      if (d[1] >= 192 && d[1] <= 223) { n.srtcpOut++; if (!call.boardSrtp.rtcpAuthentic(d)) fault("bad SRTCP", `message ${i}: ${hex(d)}`); return; }
      const seq = d.readUInt16BE(2);
      if (lastSeq >= 0 && seq < lastSeq && lastSeq - seq > 0x8000) roc++;
      lastSeq = seq;
      n.srtpOut++; lastSrtpAt = far.board.nowUs();
      if (!call.boardSrtp.rtpAuthentic(d, roc)) fault("bad SRTP", `message ${i}: ${hex(d)}`);
      return;
    }
    const m = decodeStun(d, true);
    if (typeof m === "string" || m.method !== BINDING || m.fingerprintAt < 0) { fault("malformed", `message ${i}: ${typeof m === "string" ? m : "not a Binding with FINGERPRINT"}: ${hex(d)}`); return; }
    if (m.cls === Cls.REQUEST || m.cls === Cls.INDICATION) {
      if (s.to !== OURS) fault("request elsewhere", `message ${i}: a ${m.cls ? "indication" : "request"} to ${s.to}`);
      if (m.cls === Cls.INDICATION) return;
      if (!integrityOk(m, far.key) || !attr(m, Attr.USERNAME)?.equals(Buffer.from(`${far.ufrag}:${call.boardUfrag}`))) fault("bad check", `message ${i}: ${hex(d)}`);
      // Answered within ~1.3 s, so spoofs have a window (a retransmission is the same transaction).
      if (!pending.some((p) => p.tid.equals(m.tid))) pending.push({ tid: Buffer.from(m.tid), due: i + (rand() % 2_000) });
      keep(d);
      return;
    }
    // An answer: to the request being delivered and nothing else (its transaction id, back to its source).
    if (request?.m?.cls !== Cls.REQUEST || !m.tid.equals(request.m.tid) || s.to !== request.from) { fault("stray answer", `message ${i}: ${hex(d)} to ${s.to}`); return; }
    const code = m.cls === Cls.ERROR ? errorCode(m) : 200;
    const sealed = m.integrityAt >= 0;
    n.answered.set(`${code}${sealed ? "" : "u"}`, (n.answered.get(`${code}${sealed ? "" : "u"}`) ?? 0) + 1);
    if (!sealed) {
      n.refusals++;
      if (request.authentic) fault("refused an authentic request", `message ${i}: ${code} to ${hex(request.data)}`);
      if (code !== 400 && code !== 401) fault("unsealed answer", `message ${i}: a ${code} without MESSAGE-INTEGRITY`);
      if (d.length > request.data.length) fault("amplification", `message ${i}: a ${d.length}-byte ${code} to the ${request.data.length}-byte ${hex(request.data)}`);
      return;
    }
    n.sealedAnswers++;
    if (!request.authentic) fault("answered without authentication", `message ${i}: a sealed ${code} to ${hex(request.data)}`);
    if (!integrityOk(m, call.boardKey)) fault("bad answer integrity", `message ${i}: ${hex(d)}`);
    if (code === 200 && readXorAddress(attr(m, Attr.XOR_MAPPED_ADDRESS) ?? Buffer.alloc(0)) !== request.from) fault("wrong mapped address", `message ${i}: ${hex(d)} for ${request.from}`);
    if (code === 200 && request.from !== OURS) n.elsewhere++;
    // Comprehension-required types it does not know: a 420 that lists exactly those (RFC 8489 6.3.1.1, 14.13).
    const unknown = request.authentic ? unknownRequired(request.m) : [];
    const list = code === 420 ? attr(m, Attr.UNKNOWN_ATTRIBUTES) ?? Buffer.alloc(0) : Buffer.alloc(0);
    const listed = Array.from({ length: list.length >> 1 }, (_, k) => list.readUInt16BE(2 * k));
    if (unknown.join() !== listed.join()) fault("unknown attributes", `message ${i}: answered ${code} listing [${listed}] to a request with [${unknown}]: ${hex(request.data)}`);
    keep(d);
  };
  const first = far.connect();
  let seen = far.sent.length; // connect() checked what the set-up sent
  const drain = (i: number) => { for (; seen < far.sent.length; seen++) inspect(far.sent[seen], i); if (seen > 5_000) { far.sent.length = 0; seen = 0; } };
  const deliver = (data: Buffer, from: string, i: number) => {
    const m = decodeStun(data);
    const authentic = typeof m !== "string" && isAuthentic(m, call.boardUfrag, call.boardKey);
    request = { data, from, m: typeof m !== "string" ? m : undefined, authentic };
    if (data[0] < 4) n.stun++;
    if (typeof m !== "string" && m.cls === Cls.INDICATION) n.indications++;
    if (typeof m !== "string" && m.cls === Cls.REQUEST) { n.requests++; if (authentic) n.authentic++; }
    far.deliver(MEDIA_HANDLE, data, from);
    if (far.board.state !== "running") assert.fail(`seed ${SEED}, message ${i}: the board crashed (${far.board.crashReason}) on ${hex(data)} from ${from}`);
    drain(i);
    request = undefined;
  };
  /** A response that is not the board's to take: dropped, counted, and nothing else changes. */
  const deliverIgnored = (data: Buffer, from: string, i: number, what: string) => {
    const before = far.status(), sentBefore = inspected;
    deliver(data, from, i);
    const after = far.status();
    if (inspected !== sentBefore) fault(`${what} answered`, `message ${i}: ${hex(data)} from ${from}`);
    if (after.ice.dropped !== before.ice.dropped + 1) fault(`${what} not dropped`, `message ${i}: dropped ${before.ice.dropped} -> ${after.ice.dropped}`);
    const same = (s: typeof after) => JSON.stringify({ ...s, ice: { ...s.ice, dropped: 0 } });
    if (same(after) !== same(before)) fault(`${what} changed state`, `message ${i}: ${hex(data)} from ${from}`);
  };
  const elsewhere = (): string => pick(rand, [`${PEER}:${1024 + (rand() % 60000)}`, `198.51.100.${1 + (rand() % 20)}:40000`, `203.0.113.${1 + (rand() % 250)}:${1 + (rand() % 65535)}`]);
  const withoutFingerprint = (b: Buffer) => {
    const m = decodeStun(b);
    if (typeof m === "string" || m.fingerprintAt < 0) return b;
    const c = Buffer.from(b.subarray(0, m.fingerprintAt));
    c.writeUInt16BE(c.length - 20, 2);
    return c;
  };
  // A re-sealed (authentic) response from our address with the id of a consent check the board
  // waits for would answer that check before our genuine answer does: such mutants get another
  // id, so each genuine answer is the one that counts. Mutants that fail integrity keep theirs:
  // the board must ignore them and keep the check open.
  const harmless = (b: Buffer, from: string) => {
    if (from !== OURS || !isResponse(b) || !pending.some((p) => p.tid.equals(b.subarray(8, 20)))) return b;
    const c = Buffer.from(b);
    far.tid().copy(c, 8);
    return c;
  };
  const media = { seq: 1000, ts: 0, roc: 0 };
  const sendMedia = (i: number) => {
    const p = bytes(rand, 12 + 160);
    p[0] = 0x80; p[1] = 9; p.writeUInt16BE(media.seq, 2); p.writeUInt32BE(media.ts >>> 0, 4); p.writeUInt32BE(0x5eed0001, 8);
    far.deliver(MEDIA_HANDLE, call.ourSrtp.protectRtp(p, media.roc), OURS);
    if (++media.seq === 0x10000) { media.seq = 0; media.roc++; }
    media.ts += 160; n.srtpIn++;
    drain(i);
  };
  const answerDue = (i: number, all: boolean) => {
    while (pending.length && (all || pending[0].due <= i)) {
      const p = pending.shift()!;
      const before = far.status();
      deliver(far.answer(p.tid), OURS, i);
      const after = far.status();
      n.consentAnswered++;
      if (after.ice.dropped !== before.ice.dropped || after.ice.refused !== before.ice.refused) fault("consent answer refused", `message ${i}: dropped ${before.ice.dropped} -> ${after.ice.dropped}, refused ${before.ice.refused} -> ${after.ice.refused}`);
    }
  };

  let heap = 0, highWater = 0, truncateAt = 0;
  for (let i = 0; i < TOTAL; i++) {
    if (i % PER_FRAME === 0) { far.board.runFor(20_000); drain(i); sendMedia(i); }
    answerDue(i, false);
    const r = rand() % 100;
    const seed = rand() % 2 ? far.check(rand() % 2 === 0) : seeds[rand() % seeds.length];
    const from = rand() % 5 < 3 ? OURS : elsewhere();
    if (r < 34) {
      // Re-sealed: MESSAGE-INTEGRITY right (a request's with the board's password, an answer's with ours), FINGERPRINT right.
      const type = rand() % 12 === 0 ? stunType(BINDING, rand() % 4) : seed.readUInt16BE(0);
      const b = encodeStun(type, seed.subarray(8, 20), mutateAttrs(unsealedAttrs(seed), rand, call.username));
      deliver(seal(harmless(b, from), type & 0x0100 ? far.key : call.boardKey), from, i);
    } else if (r < 50) {
      // FINGERPRINT right, the rest as mutated: the parser's attribute rules, and the refusals of bad credentials.
      const b = mutateBytes(withoutFingerprint(seed), rand, truncateAt++);
      deliver(b.length >= 20 ? seal(b, undefined, true) : b, from, i);
    } else if (r < 77) {
      deliver(rand() % 6 === 0 ? randomStun(rand) : mutateBytes(seed, rand, truncateAt++), from, i);
    } else if (r < 80) {
      // Small unauthenticated requests: a refusal would outweigh some of them (RFC 8489 6.3: never amplify).
      const attrs = [{ type: Attr.USERNAME, value: bytes(rand, rand() % 10) }, { type: Attr.PRIORITY, value: u32(rand()) }].filter(() => rand() % 2);
      deliver(seal(encodeStun(stunType(BINDING, Cls.REQUEST), far.tid(), attrs), rand() % 3 ? undefined : bytes(rand, 22), true), from, i);
    } else if (r < 90) {
      // Sealed right, from the right place, with an id the board never used or no longer waits for.
      const old = seeds.find((s) => !isResponse(s) && !pending.some((p) => p.tid.equals(s.subarray(8, 20))));
      n.stale++;
      deliverIgnored(far.answer(old && rand() % 2 ? Buffer.from(old.subarray(8, 20)) : far.tid()), OURS, i, "a stale response");
    } else if (r < 95 && pending.length) {
      // The id of a check the board waits for, sealed right, from the wrong source (6.3.1: ignored).
      n.spoofed++;
      deliverIgnored(far.answer(pending[0].tid), elsewhere(), i, "a response from the wrong source");
    } else deliver(far.check(rand() % 2 === 0), rand() % 4 ? OURS : elsewhere(), i);
    if (i === WARM_UP) { heap = far.board.heapTop(); highWater = far.board.memoryHighWater(); }
    if (i > WARM_UP && i % 10_000 === 0) {
      assert.equal(far.board.heapTop(), heap, `seed ${SEED}, message ${i}: heap_top moved`);
      assert.equal(far.board.memoryHighWater(), highWater, `seed ${SEED}, message ${i}: memory above the warm-up high-water mark was written`);
    }
  }
  answerDue(TOTAL, true);
  const fuzzed = far.status();
  // Six more seconds of call: consent still answered, media still both ways.
  for (let t = 0; t < 300; t++) { far.board.runFor(20_000); drain(TOTAL); sendMedia(TOTAL); answerDue(TOTAL, true); }
  const end = far.status();
  const seconds = (performance.now() - started) / 1000;
  const d = (k: "requestsReceived" | "refused" | "dropped") => end.ice[k] - first.ice[k];
  const answered = [...n.answered].sort().map(([c, k]) => `${c}x${k}`).join(" ");
  console.log(`stun-fuzz: ${TOTAL} datagrams in ${seconds.toFixed(1)} s (${Math.round(TOTAL / seconds)}/s), ${(far.board.nowUs() / 1e6).toFixed(0)} s of call. ` +
    `${n.requests} requests (${n.authentic} authentic): answered ${answered} (u: unsealed refusal), ${n.elsewhere} successes to other sources; ` +
    `refused ${d("refused")} (${d("refused") - n.refusals} silently: an answer would be bigger), dropped ${d("dropped")}, role conflicts ${end.ice.roleConflicts - first.ice.roleConflicts}; ` +
    `${n.stale} stale and ${n.spoofed} wrong-source responses ignored; ${n.consentAnswered} consent checks answered; SRTP in ${n.srtpIn}, out ${n.srtpOut}, SRTCP out ${n.srtcpOut}; heap top ${heap}`);

  assert.deepEqual([...faults].map(([k, v]) => `${k}: ${v}`), [], "faults");
  assert.equal(far.board.heapTop(), heap, "heap_top did not move after warm-up");
  assert.equal(far.board.memoryHighWater(), highWater, "no byte above the warm-up high-water mark was written");
  assert.deepEqual([end.state, end.ice.state, end.ice.local, end.ice.remote], ["active", "connected", "host", "host"], "the call is up, on our host candidate's pair");
  assert.ok(end.packetsSent - fuzzed.packetsSent >= 250 && far.board.nowUs() - lastSrtpAt < 100_000, `the board still sends media: ${end.packetsSent - fuzzed.packetsSent} packets in 6 s`);
  assert.equal(end.packetsReceived - first.packetsReceived, n.srtpIn, "every SRTP packet we sent was received");
  assert.ok(end.ice.consentChecks - fuzzed.ice.consentChecks >= 1, "consent checks go on");
  // The counters add up: every request received was answered with integrity or refused...
  assert.equal(d("requestsReceived"), d("refused") + n.sealedAnswers, `requests received = refused + answered with integrity`);
  assert.ok(d("refused") >= n.refusals && n.refusals > 0 && d("dropped") >= n.stale + n.spoofed, `refused ${d("refused")} >= ${n.refusals} refusals sent; dropped ${d("dropped")}`);
  // ...and every STUN datagram was a request, a matched consent answer, an indication or a drop.
  const accounted = d("dropped") + d("requestsReceived") + n.consentAnswered;
  assert.ok(accounted <= n.stun && accounted >= n.stun - n.indications, `${accounted} requests + drops + consent answers for ${n.stun} STUN datagrams, ${n.indications} of them indications`);
  for (const c of ["200", "400", "400u", "401u", "420", "487"]) assert.ok((n.answered.get(c) ?? 0) > 0, `the board answered ${c} at least once: ${answered}`);
  assert.ok(end.ice.roleConflicts > first.ice.roleConflicts && n.elsewhere > 0 && n.spoofed > 0, "role conflicts, peer-reflexive sources and spoofed answers were reached");
}
