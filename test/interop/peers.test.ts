// The harness that runs real SIP peers for the call tests (test/peers/), proved on itself:
// baresip calls baresip directly and through kamailio with digest authentication, G.722 with
// SRTP required, and what the callee decoded is the caller's test signal (a 1 kHz tone, then
// a 6 kHz one that only a wideband codec carries), at the level it was sent.
//
//   node --import tsx --test test/interop/peers.test.ts
// Needs the Debian packages baresip-core and kamailio; a test whose peer is missing is skipped.

import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { rmsDbfs, testTone, toneFrequency } from "../../host-tools/call/analysis.ts";
import { wavHeader } from "../../host-tools/sim/wav.ts";
import { type BaresipOptions, type BaresipPeer, baresipUnavailable, startBaresip } from "../peers/baresip.ts";
import { callSetups, readRtp, readSip, rtpStreams, startCapture, tsharkUnavailable } from "../peers/capture.ts";
import { type KamailioProxy, kamailioUnavailable, startKamailio } from "../peers/kamailio.ts";

const RATE = 16000;
const LEVEL_DBFS = -16;
/** Seconds of each tone in the caller's source. */
const SEGMENT_S = 1.5;
const MEDIA: Partial<BaresipOptions> = { codecs: ["G722/16000/1"], mediaenc: "srtp-mand", ptimeMs: 20 };

let dir = "";
let source = "";
const peers: BaresipPeer[] = [];
const proxies: KamailioProxy[] = [];

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "tincan-peers-test-"));
  source = path.join(dir, "tones.wav");
  const pcm = new Int16Array(Math.round(2 * SEGMENT_S * RATE));
  pcm.set(testTone(1000, RATE, SEGMENT_S, LEVEL_DBFS));
  pcm.set(testTone(6000, RATE, SEGMENT_S, LEVEL_DBFS), Math.round(SEGMENT_S * RATE));
  fs.writeFileSync(source, Buffer.concat([wavHeader(RATE, pcm.length * 2), Buffer.from(pcm.buffer)]));
});

after(async () => {
  for (const p of peers) await p.stop();
  for (const k of proxies) await k.stop();
  if (dir !== "") fs.rmSync(dir, { recursive: true, force: true });
});

async function peer(opts: BaresipOptions): Promise<BaresipPeer> {
  const p = await startBaresip({ ...MEDIA, ...opts });
  peers.push(p);
  return p;
}

/** A's source, as B decoded it: both tones at their frequency and level; B's sample rate is G.722's. */
async function assertTonesArrived(b: BaresipPeer): Promise<void> {
  const rec = await b.recording("dec");
  assert.equal(rec.sampleRate, RATE, "the callee decoded at 16 kHz: G.722");
  assert.match(b.log, /Set audio decoder: G722 16000Hz/);
  // The recording starts with the first decoded frame, G.722's 22-sample delay later than the
  // source: stay 200 ms clear of each segment's edges.
  for (const [k, freq] of [[0, 1000], [1, 6000]] as const) {
    const from = Math.round((k * SEGMENT_S + 0.2) * RATE);
    const to = Math.round(((k + 1) * SEGMENT_S - 0.2) * RATE);
    assert.ok(rec.samples.length >= to, `recording holds ${rec.samples.length} samples, need ${to}`);
    const part = rec.samples.subarray(from, to);
    const f = toneFrequency(part, RATE);
    const level = rmsDbfs(part);
    assert.ok(Math.abs(f - freq) <= 2, `${freq} Hz tone arrived at ${f.toFixed(2)} Hz`);
    assert.ok(Math.abs(level - LEVEL_DBFS) <= 1, `${freq} Hz tone sent at ${LEVEL_DBFS} dBFS arrived at ${level.toFixed(2)} dBFS`);
  }
}

async function callAndHangUp(a: BaresipPeer, b: BaresipPeer, uri: string): Promise<void> {
  const fromA = a.events.length;
  const fromB = b.events.length;
  await a.dial(uri);
  const established = await a.waitForEvent("CALL_ESTABLISHED", 5000, fromA);
  await b.waitForEvent("CALL_ESTABLISHED", 5000, fromB);
  for (const p of [a, b]) {
    const menc = await p.waitForEvent("CALL_MENC", 3000, p === a ? fromA : fromB);
    assert.match(menc.param ?? "", /AES_CM_128_HMAC_SHA1_80/, `${p.name} runs SRTP`);
  }
  // Both tones, and a little more.
  await new Promise((r) => setTimeout(r, (2 * SEGMENT_S + 0.3) * 1000));
  await a.hangup();
  const closedA = await a.waitForEvent("CALL_CLOSED", 5000, fromA);
  const closedB = await b.waitForEvent("CALL_CLOSED", 5000, fromB);
  assert.ok(closedA.at >= established.at && closedB.at >= established.at);
  assert.match(closedB.param ?? "", /reset by peer/i, "the callee was hung up on");
}

/** A capture filter for these two peers' port blocks only (SIP, TLS, ctrl, RTP: 14 ports each),
 *  so calls of other tests running at the same time on loopback stay out of the capture. */
function ownPorts(...peers: { sipPort: number }[]): string {
  return peers.map((p) => `(udp portrange ${p.sipPort}-${p.sipPort + 13})`).join(" or ");
}

test("baresip calls baresip directly: G.722 over mandatory SRTP carries the tones; hang-up closes both", { skip: baresipUnavailable() ?? false, timeout: 20000 }, async () => {
  const b = await peer({ user: "b" });
  const a = await peer({ user: "a", source });
  // On the wire too, when tshark can capture here: one call set up, SRTP both ways at G.722's rate.
  const capture = tsharkUnavailable() === undefined ? await startCapture(path.join(dir, "direct.pcapng"), ownPorts(a, b)) : undefined;
  await callAndHangUp(a, b, b.aor);
  await capture?.stop();
  await assertTonesArrived(b);
  if (capture !== undefined) {
    const setups = callSetups(readSip(capture.file, [a.sipPort, b.sipPort]));
    assert.equal(setups.length, 1);
    assert.ok(setups[0].setupMs > 0 && setups[0].setupMs < 500, `set-up ${setups[0].setupMs} ms`);
    const streams = rtpStreams(readRtp(capture.file, [a.sipPort, b.sipPort]));
    assert.equal(streams.length, 2, "one RTP stream each way");
    for (const st of streams) {
      assert.ok(st.srtp, `${st.src} -> ${st.dst} is SRTP`);
      // 20 + 8 + 12 + 160 + 10 (HMAC-SHA1-80 tag) bytes every 20 ms.
      assert.equal(st.ipBytesPerPacket, 210);
      assert.ok(Math.abs(st.ipKbps - 84) < 2, `${st.ipKbps} kbit/s`);
    }
  }
  // DTMF is drivable too: a second call, digits from A arrive at B as telephone-events.
  const fromB = b.events.length;
  await a.dial(b.aor);
  await b.waitForEvent("CALL_ESTABLISHED", 5000, fromB);
  await a.sendDtmf("1#", 150);
  await b.waitForEvent("CALL_DTMF_START", 3000, fromB, (e) => e.param === "#");
  assert.deepEqual(b.events.slice(fromB).filter((e) => e.type === "CALL_DTMF_START").map((e) => e.param), ["1", "#"]);
  await a.hangup();
  await b.waitForEvent("CALL_CLOSED", 5000, fromB);
});

test("through kamailio: both register with digest auth (401), the INVITE answers a 407, the call and its BYE go via the proxy", { skip: (baresipUnavailable() ?? kamailioUnavailable()) ?? false, timeout: 20000 }, async () => {
  const k = await startKamailio({ users: [{ user: "alice", password: "alice-secret" }, { user: "bob", password: "bob-secret" }], realm: "tincan.test" });
  proxies.push(k);
  const registrar = (password: string) => ({ host: k.host, port: k.port, password });
  const bob = await peer({ user: "bob", registrar: registrar("bob-secret") });
  const alice = await peer({ user: "alice", source, registrar: registrar("alice-secret") });
  await bob.waitRegistered();
  await alice.waitRegistered();
  await k.waitForLog(/REGISTERED bob .*expires=600/);
  await k.waitForLog(/REGISTERED alice /);
  assert.match(k.log, /CHALLENGE REGISTER from bob/, "REGISTER was challenged first");

  await callAndHangUp(alice, bob, `sip:bob@${k.host}:${k.port}`);
  assert.match(k.log, /CHALLENGE INVITE from alice/, "the first INVITE got a 407");
  assert.match(k.log, /FORWARD INVITE from alice to sip:bob-[^@]*@127\.0\.0\.1:\d+/, "the authenticated INVITE went to bob's contact");
  await k.waitForLog(/IN-DIALOG BYE from alice/, 2000);
  await assertTonesArrived(bob);
  // The peer of each side is the other's AOR at the proxy, not its contact.
  assert.equal(bob.events.find((e) => e.type === "CALL_ESTABLISHED")?.peeruri, `sip:alice@127.0.0.1:${k.port}`);

  // An unknown user: 404 from the proxy, the caller's call closes with it.
  const from = alice.events.length;
  await alice.dial(`sip:carol@${k.host}:${k.port}`);
  const closed = await alice.waitForEvent("CALL_CLOSED", 5000, from);
  assert.match(closed.param ?? "", /404/);

  // A wrong password: the REGISTER is refused (403), not challenged forever.
  const mallory = await peer({ user: "bob", name: "wrong-password", registrar: registrar("guess") });
  await assert.rejects(mallory.waitRegistered(5000), /registration failed/);
  await k.waitForLog(/WRONG PASSWORD REGISTER from bob/);
});

test("over IPv6 loopback: the same direct call on [::1]", { skip: baresipUnavailable() ?? false, timeout: 20000 }, async () => {
  const b = await peer({ user: "b6", ipv6: true });
  const a = await peer({ user: "a6", source, ipv6: true });
  assert.match(b.aor, /^sip:b6@\[::1\]:\d+$/);
  await callAndHangUp(a, b, b.aor);
  assert.match(a.log, /IPv6=lo\|::1/);
  await assertTonesArrived(b);
});
