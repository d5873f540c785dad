// Tincan against baresip (Debian baresip-core 1.0.0), the SIP phone nobody here wrote: a
// simulated board calls baresip and baresip calls the board, directly to an IP URI and through
// kamailio as registrar and proxy with digest authentication; G.722 and PCMU with SRTP
// required; audio checked at both ends (a tone's frequency and level); hang-up from either
// side; the DTMF door code from baresip opens the relay. Skipped, with the reason, when a peer
// is not installed.

import test from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { baresipUnavailable, startBaresip, type BaresipPeer, type BaresipOptions } from "../peers/baresip.ts";
import { kamailioUnavailable, startKamailio } from "../peers/kamailio.ts";
import { runSimCall, type SimCallOptions } from "../../host-tools/call/sim-call.ts";
import { testTone, toneFrequency, rmsDbfs } from "../../host-tools/call/analysis.ts";
import { WavWriter } from "../../host-tools/sim/wav.ts";
import { tempDir } from "../host/helpers.ts";
import { startCapture, readSip, readRtp, tsharkUnavailable } from "../peers/capture.ts";

const RATE = 16000;
const skip = baresipUnavailable() ?? false;

function toneWav(dir: string, hz: number, seconds: number): { file: string; samples: Int16Array } {
  const samples = testTone(hz, RATE, seconds, -12);
  const file = path.join(dir, `tone-${hz}.wav`);
  const w = new WavWriter(file, RATE);
  w.write(samples);
  w.close();
  return { file, samples };
}

/** What baresip decoded: the board's tone at its frequency, at about the level sent. */
async function assertPeerHeard(peer: BaresipPeer, hz: number): Promise<void> {
  const rec = await peer.recording("dec");
  const rate = rec.sampleRate;
  const middle = rec.samples.subarray(Math.floor(rate * 0.5), Math.max(Math.floor(rate * 0.5) + 1, rec.samples.length - Math.floor(rate * 0.3)));
  assert.ok(middle.length > rate, `baresip recorded ${rec.samples.length} samples`);
  const f = toneFrequency(middle, rate);
  assert.ok(Math.abs(f - hz) <= 2, `baresip heard ${f.toFixed(1)} Hz, the board sent ${hz} Hz`);
  const level = rmsDbfs(middle);
  assert.ok(Math.abs(level - -12) <= 1.5, `baresip heard ${level.toFixed(1)} dBFS, the board sent -12 dBFS`);
}

async function withPeer<T>(opts: BaresipOptions, fn: (p: BaresipPeer) => Promise<T>): Promise<T> {
  const peer = await startBaresip(opts);
  try { return await fn(peer); } finally { await peer.stop(); }
}

const base = (dir: string): Omit<SimCallOptions, "audioA" | "audioB"> => ({ board: "sim", dir, seconds: 3 });

test("the board calls baresip at an IP URI: G.722, SRTP required, tones both ways, the board hangs up; tshark sees every SIP message once and only SRTP", { skip: skip || (tsharkUnavailable() ?? false), timeout: 40_000 }, async () => {
  const dir = tempDir("tincan-call-baresip-");
  const bobTone = toneWav(dir, 440, 6);
  await withPeer({ user: "bob", source: bobTone.file, codecs: ["G722/16000/1"], mediaenc: "srtp-mand", answerMode: "auto" }, async (bob) => {
    // Only this call's packets: the board's own loopback address (other tests call at the same time).
    const addressA = `127.${20 + (process.pid % 200)}.${Math.floor(Math.random() * 256)}.31`;
    const capture = await startCapture(path.join(dir, "call.pcapng"), `udp and host ${addressA}`);
    const r = await runSimCall({ ...base(dir), addressA, audioA: "tone:1000:-12", audioB: "tone:1000:-12", to: `sip:bob@127.0.0.1:${bob.sipPort}`, peer: { source: bobTone.samples } });
    assert.equal(r.a.codec, "G722");
    assert.equal(r.a.suite, "AES_CM_128_HMAC_SHA1_80");
    assert.ok(r.a.packetsSent >= 140 && r.a.packetsReceived >= 140, `packets ${r.a.packetsSent} / ${r.a.packetsReceived}`);
    // baresip 1.0.0 sometimes sends an RTCP packet in clear (before its SRTP keys are set, or
    // with its closing BYE): the board refuses it, as it must. Nothing else may fail to authenticate.
    assert.ok(r.a.srtpDropped <= 2, `${r.a.srtpDropped} packets from baresip refused: at most its cleartext RTCP`);
    assert.equal(r.a.sipRetransmissions, 0, "a clean link: nothing retransmitted");
    const heard = r.directions.find((d) => d.from === "peer")!;
    assert.ok(Math.abs(heard.toneHz! - 440) <= 2, `the board heard ${heard.toneHz} Hz`);
    assert.ok(Math.abs(heard.levelDbfs - -12) <= 1.5, `the board heard ${heard.levelDbfs.toFixed(1)} dBFS`);
    assert.equal(r.aEnd.endReason, "hung up here");
    for (const h of r.heap) assert.equal(h.after, h.before, `board ${h.board}: the call allocated nothing`);
    await bob.waitForEvent("CALL_CLOSED", 5000);
    const menc = bob.events.find((e) => e.type === "CALL_MENC");
    assert.match(menc?.param ?? "", /AES_CM_128_HMAC_SHA1_80/, "baresip agreed SRTP");
    await assertPeerHeard(bob, 1000);
    await capture.stop();
    const sip = readSip(capture.file, [5060, bob.sipPort]);
    const seen = new Map<string, number>();
    for (const p of sip) {
      const key = `${p.src}>${p.dst} ${p.method ?? p.status} ${p.cseq} ${p.cseqMethod} ${p.callId}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    assert.ok(sip.filter((p) => p.method === "INVITE").length === 1 && sip.some((p) => p.method === "BYE"), `INVITE and BYE captured: ${[...seen.keys()].join("; ")}`);
    for (const [key, n] of seen) assert.equal(n, 1, `${key}: sent ${n} times on a clean link`);
    const rtp = readRtp(capture.file, [5060, bob.sipPort]);
    assert.ok(rtp.length >= 250, `${rtp.length} RTP packets dissected`);
    assert.ok(rtp.every((p) => p.srtp), "every RTP packet both ways is SRTP");
  });
});

test("baresip calls the board: PCMU, SRTP required, the door code opens the relay, baresip hangs up", { skip, timeout: 40_000 }, async () => {
  const dir = tempDir("tincan-call-baresip-in-");
  const bobTone = toneWav(dir, 800, 8);
  await withPeer({ user: "bob", source: bobTone.file, codecs: ["PCMU/8000/1"], mediaenc: "srtp-mand" }, async (bob) => {
    const r = await runSimCall({
      ...base(dir), audioA: "tone:600:-12", audioB: "tone:600:-12",
      aConfig: [{ key: "door.code", value: "1234" }, { key: "door.pulse_ms", value: "200" }],
      peer: {
        source: bobTone.samples,
        dialIn: async (uri) => {
          const at = bob.events.length;
          await bob.dial(uri.replace(/^sip:hall@([\d.]+)$/, "sip:hall@$1:5060"));
          await bob.waitForEvent("CALL_ESTABLISHED", 5000, at);
          setTimeout(() => { void bob.sendDtmf("1234", 150); }, 300);
        },
        hangup: async () => { await bob.hangup(); },
      },
    });
    assert.equal(r.a.codec, "PCMU");
    assert.equal(r.a.suite, "AES_CM_128_HMAC_SHA1_80");
    assert.equal(r.a.digitsReceived, 4, "four telephone-events");
    assert.equal(r.a.doorOpens, 1, "the door code pulsed the relay once");
    const heard = r.directions.find((d) => d.from === "peer")!;
    assert.ok(Math.abs(heard.toneHz! - 800) <= 2, `the board heard ${heard.toneHz} Hz`);
    assert.equal(r.aEnd.endReason, "hung up by the other side");
    await assertPeerHeard(bob, 600);
  });
});

test("through kamailio: the board registers with digest auth, calls baresip via the proxy (407 answered), the BYE follows the route", { skip: skip || (kamailioUnavailable() ?? false), timeout: 40_000 }, async () => {
  const dir = tempDir("tincan-call-kamailio-");
  const k = await startKamailio({ users: [{ user: "hall", password: "hall-secret" }, { user: "bob", password: "bob-secret" }] });
  try {
    const bobTone = toneWav(dir, 440, 8);
    await withPeer({ user: "bob", source: bobTone.file, codecs: ["G722/16000/1"], mediaenc: "srtp-mand", answerMode: "auto", registrar: { host: k.host, port: k.port, password: "bob-secret" } }, async (bob) => {
      await bob.waitRegistered();
      const r = await runSimCall({
        ...base(dir), audioA: "tone:1000:-12", audioB: "tone:1000:-12", to: `sip:bob@${k.host}:${k.port}`, peer: { source: bobTone.samples },
        aConfig: [
          { key: "sip.account", value: `sip:hall@${k.host}` }, { key: "sip.registrar", value: `sip:${k.host}:${k.port}` },
          { key: "sip.username", value: "hall" }, { key: "sip.password", value: "hall-secret" },
        ],
      });
      assert.equal(r.a.registration, "registered");
      assert.equal(r.a.codec, "G722");
      const heard = r.directions.find((d) => d.from === "peer")!;
      assert.ok(Math.abs(heard.toneHz! - 440) <= 2, `the board heard ${heard.toneHz} Hz`);
      assert.equal(r.aEnd.endReason, "hung up here");
      await bob.waitForEvent("CALL_CLOSED", 5000);
      await assertPeerHeard(bob, 1000);
      await k.waitForLog(/CHALLENGE/);
      await k.waitForLog(/IN-DIALOG/);
    });
  } finally {
    await k.stop();
  }
});

test("SIP over TCP through kamailio: the board registers and calls baresip with no datagram for signalling", { skip: skip || (kamailioUnavailable() ?? false), timeout: 40_000 }, async () => {
  const dir = tempDir("tincan-call-kamailio-tcp-");
  const k = await startKamailio({ tcp: true, users: [{ user: "hall", password: "hall-secret" }, { user: "bob", password: "bob-secret" }] });
  try {
    const bobTone = toneWav(dir, 440, 8);
    await withPeer({ user: "bob", source: bobTone.file, codecs: ["G722/16000/1"], mediaenc: "srtp-mand", answerMode: "auto", transport: "tcp", registrar: { host: k.host, port: k.port, password: "bob-secret" } }, async (bob) => {
      await bob.waitRegistered();
      const r = await runSimCall({
        ...base(dir), audioA: "tone:1000:-12", audioB: "tone:1000:-12", to: `sip:bob@${k.host}:${k.port}`, peer: { source: bobTone.samples },
        aConfig: [
          { key: "sip.account", value: `sip:hall@${k.host}` }, { key: "sip.registrar", value: `sip:${k.host}:${k.port};transport=tcp` },
          { key: "sip.transport", value: "tcp" }, { key: "sip.username", value: "hall" }, { key: "sip.password", value: "hall-secret" },
        ],
      });
      assert.equal(r.a.registration, "registered");
      const heard = r.directions.find((d) => d.from === "peer")!;
      assert.ok(Math.abs(heard.toneHz! - 440) <= 2, `the board heard ${heard.toneHz} Hz`);
      assert.equal(r.aEnd.endReason, "hung up here");
      assert.equal(r.a.sipRetransmissions, 0, "nothing is retransmitted over TCP");
      await bob.waitForEvent("CALL_CLOSED", 5000);
      await assertPeerHeard(bob, 1000);
      await k.waitForLog(/REGISTERED hall expires=600 contact=<sip:hall@[\d.]+:5060;transport=tcp>/);
    });
  } finally {
    await k.stop();
  }
});

test("through kamailio the other way: baresip calls the registered board by its AOR, the board answers, the board hangs up", { skip: skip || (kamailioUnavailable() ?? false), timeout: 40_000 }, async () => {
  const dir = tempDir("tincan-call-kamailio-in-");
  const k = await startKamailio({ users: [{ user: "hall", password: "hall-secret" }, { user: "bob", password: "bob-secret" }] });
  try {
    const bobTone = toneWav(dir, 440, 8);
    await withPeer({ user: "bob", source: bobTone.file, codecs: ["G722/16000/1"], mediaenc: "srtp-mand", registrar: { host: k.host, port: k.port, password: "bob-secret" } }, async (bob) => {
      await bob.waitRegistered();
      const r = await runSimCall({
        ...base(dir), audioA: "tone:1000:-12", audioB: "tone:1000:-12",
        aConfig: [
          { key: "sip.account", value: `sip:hall@${k.host}` }, { key: "sip.registrar", value: `sip:${k.host}:${k.port}` },
          { key: "sip.username", value: "hall" }, { key: "sip.password", value: "hall-secret" },
        ],
        peer: {
          source: bobTone.samples,
          dialIn: async () => {
            const at = bob.events.length;
            await bob.dial(`sip:hall@${k.host}:${k.port}`); // by AOR: kamailio finds the board's Contact
            await bob.waitForEvent("CALL_ESTABLISHED", 8000, at);
          },
        },
      });
      assert.equal(r.a.registration, "registered");
      assert.equal(r.a.codec, "G722");
      const heard = r.directions.find((d) => d.from === "peer")!;
      assert.ok(Math.abs(heard.toneHz! - 440) <= 2, `the board heard ${heard.toneHz} Hz`);
      assert.equal(r.aEnd.endReason, "hung up here");
      await bob.waitForEvent("CALL_CLOSED", 5000);
      await assertPeerHeard(bob, 1000);
      await k.waitForLog(/FORWARD/);
    });
  } finally {
    await k.stop();
  }
});
