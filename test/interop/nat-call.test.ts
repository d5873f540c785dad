// Calls between two simulated boards behind real kernel NATs (the NAT lab, test/peers/netns.ts),
// signalling through kamailio (203.0.113.1, NAT-aware registrar/proxy) and media by ICE with
// coturn (203.0.113.2:3478) as STUN and TURN server, all in the public namespace:
//   - both NATs endpoint-independent: a direct path through the NATs (server-reflexive), no relay;
//   - both NATs symmetric: no direct path exists, the call is relayed through coturn;
//   - the handoff: board A moves to a second uplink mid-call, restarts ICE (re-INVITE) and the
//     call goes on; the gap in each direction is measured;
//   - consent: B's network goes away, A stops its media and ends the call after 30 s (RFC 7675).
// Audio is checked at both ends from the speakers' recordings: each board's microphone is a tone.
//
//   node --import tsx --test test/interop/nat-call.test.ts
// Needs root (namespaces), kamailio, coturn and build/firmware.wasm; skipped with the reason otherwise.

import assert from "node:assert/strict";
import fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import { type NatKind, type Topology } from "../peers/netns.ts";
import { type KamailioProxy } from "../peers/kamailio.ts";
import { type CoturnServer } from "../peers/coturn.ts";
import { type NsBoard } from "../peers/ns-board.ts";
import { REGISTRAR, assertHearsTone, natLabCallUnavailable, startLabBoard, startNatLab } from "../peers/nat-lab-call.ts";
import { type CallStatus } from "../../host-tools/call/client.ts";

const skip = natLabCallUnavailable() ?? false;
const USERS = [{ user: "hall", password: "hall-secret" }, { user: "door", password: "door-secret" }];
const TONE_A = 440;
const TONE_B = 1000;

interface Lab { lab: Topology; k: KamailioProxy; turn: CoturnServer; a: NsBoard; b: NsBoard; stop(): Promise<void> }

async function startLab(a: NatKind, b: NatKind, secondUplink = false): Promise<Lab> {
  const l = await startNatLab({ nat: { a, b }, servers: 2, ...(secondUplink ? { secondUplink: { host: "a1" as const, nat: "endpoint-independent" as const } } : {}) },
    USERS, { pcap: process.env.NAT_CALL_PCAP, turnVerbose: process.env.NAT_CALL_LOGS !== undefined });
  try {
    const [boardA, boardB] = await Promise.all([
      startLabBoard(l, { node: "a1", user: "hall", toneHz: TONE_A }),
      startLabBoard(l, { node: "b1", user: "door", toneHz: TONE_B, autoAnswer: true }),
    ]);
    return { lab: l.lab, k: l.k, turn: l.turn, a: boardA, b: boardB, stop: l.stop };
  } catch (e) {
    await l.stop();
    throw e;
  }
}

/** A dials door; both active and ICE connected. */
async function connect(l: Lab): Promise<{ a: CallStatus; b: CallStatus }> {
  await l.a.call.dial(`sip:door@${REGISTRAR}`);
  const up = await l.a.call.waitFor((s) => s.state === "active" || s.state === "idle", 15_000, "A calling door");
  assert.equal(up.state, "active", `the call did not connect: ${up.endReason} ${up.endStatus}\n${l.k.log.slice(-2000)}`);
  const ice = (x: NsBoard) => x.call.waitFor((s) => s.ice.state === "connected" || s.ice.state === "failed" || s.state === "idle", 10_000, `ICE on ${x.node}`).catch(() => x.call.status());
  const [a, b] = await Promise.all([ice(l.a), ice(l.b)]);
  if (process.env.NAT_CALL_LOGS) fs.writeFileSync(process.env.NAT_CALL_LOGS, `${l.turn.log()}\n---- A\n${l.a.log()}\n---- B\n${l.b.log()}`);
  assert.equal(a.ice.state, "connected", `A's ICE: ${JSON.stringify(a.ice)}\nB's: ${JSON.stringify(b.ice)}\n${l.a.log().slice(-3000)}`);
  assert.equal(b.ice.state, "connected", `B's ICE: ${JSON.stringify(b.ice)}\nA's: ${JSON.stringify(a.ice)}\n${l.b.log().slice(-3000)}`);
  return { a, b };
}

async function talk(l: Lab, ms: number): Promise<{ a: CallStatus; b: CallStatus }> {
  await sleep(ms);
  const [a, b] = await Promise.all([l.a.call.status(), l.b.call.status()]);
  assert.equal(a.state, "active");
  assert.equal(b.state, "active");
  assert.ok(a.packetsReceived > 50 && b.packetsReceived > 50, `media both ways: A got ${a.packetsReceived}, B got ${b.packetsReceived}`);
  return { a, b };
}

async function hangUp(l: Lab): Promise<void> {
  await l.a.call.hangup();
  const [a, b] = await Promise.all([l.a, l.b].map((x) => x.call.waitFor((s) => s.state === "idle", 10_000, `${x.node} idle`)));
  assert.equal(a.endReason, "hung up here");
  assert.equal(b.endReason, "hung up by the other side");
}

test("behind two endpoint-independent NATs: ICE finds the direct path through both (server-reflexive), no relay; audio both ways", { skip, timeout: 120_000 }, async () => {
  const l = await startLab("endpoint-independent", "endpoint-independent");
  try {
    const up = await connect(l);
    assert.ok(up.a.ice.srflx && up.b.ice.srflx, "both gathered a server-reflexive candidate");
    assert.ok(up.a.ice.relay && up.b.ice.relay, "and a relayed one");
    for (const s of [up.a, up.b]) {
      assert.notEqual(s.ice.local, "relay", `a direct path: ${JSON.stringify(s.ice)}`);
      assert.notEqual(s.ice.remote, "relay", `a direct path: ${JSON.stringify(s.ice)}`);
    }
    const t = await talk(l, 2500);
    // Only checks on the relayed pairs went through coturn, never the media (100 packets a second).
    const relayed = t.a.ice.relayedOut + t.b.ice.relayedOut;
    assert.ok(relayed < 40, `${relayed} datagrams through coturn while ${t.a.packetsReceived + t.b.packetsReceived} packets arrived`);
    assertHearsTone(l.a, TONE_B);
    assertHearsTone(l.b, TONE_A);
    await hangUp(l);
  } finally {
    await l.stop();
  }
});

test("behind two symmetric NATs: no direct path, the call is relayed through coturn; audio both ways", { skip, timeout: 120_000 }, async () => {
  const l = await startLab("symmetric", "symmetric");
  try {
    const up = await connect(l);
    assert.ok(up.a.ice.local === "relay" || up.a.ice.remote === "relay", `A's pair uses a relay: ${JSON.stringify(up.a.ice)}`);
    assert.ok(up.b.ice.local === "relay" || up.b.ice.remote === "relay", `B's pair uses a relay: ${JSON.stringify(up.b.ice)}`);
    const t = await talk(l, 2500);
    assert.ok(t.a.ice.relayedOut + t.b.ice.relayedOut > 50, `media through coturn: ${t.a.ice.relayedOut} + ${t.b.ice.relayedOut}`);
    assertHearsTone(l.a, TONE_B);
    assertHearsTone(l.b, TONE_A);
    await hangUp(l);
  } finally {
    await l.stop();
  }
});

test("the handoff: A moves to its second uplink mid-call, restarts ICE, and the call goes on; the audio gap is measured", { skip, timeout: 120_000 }, async () => {
  const l = await startLab("endpoint-independent", "endpoint-independent", true);
  try {
    await connect(l);
    await talk(l, 1500);
    const [a0, b0] = await Promise.all([l.a.call.status(), l.b.call.status()]);
    const moved = Date.now();
    const to = l.lab.moveHost("a1");
    // Each direction resumes when its receiver's counter moves past where the move left it
    // (plus the few packets in flight at the move).
    let aBack = 0, bBack = 0;
    let aLast = a0.packetsReceived, bLast = b0.packetsReceived;
    for (let i = 0; i < 500 && (aBack === 0 || bBack === 0); i++) {
      await sleep(20);
      const [a, b] = await Promise.all([l.a.call.status(), l.b.call.status()]);
      if (a.state !== "active" || b.state !== "active") break;
      // A stall first (the old path is gone), then the counter moves again.
      if (aBack === 0 && Date.now() - moved > 60 && a.packetsReceived > aLast + 2 && a.ice.restarts > 0 && a.ice.state === "connected") aBack = Date.now();
      if (bBack === 0 && Date.now() - moved > 60 && b.packetsReceived > bLast + 2 && a.ice.restarts > 0 && b.ice.state === "connected") bBack = Date.now();
      aLast = aBack === 0 ? a.packetsReceived : aLast;
      bLast = bBack === 0 ? b.packetsReceived : bLast;
    }
    assert.ok(aBack > 0 && bBack > 0, `media came back both ways after the move to ${to}\nA: ${l.a.log().slice(-2500)}\nB: ${l.b.log().slice(-1500)}`);
    const t = await talk(l, 1500);
    assert.equal(t.a.ice.restarts, 1, "A restarted ICE once");
    assertHearsTone(l.a, TONE_B);
    assertHearsTone(l.b, TONE_A);
    process.stdout.write(`# handoff gap: B -> A ${aBack - moved} ms, A -> B ${bBack - moved} ms (20 ms polling)\n`);
    assert.ok(aBack - moved < 3000 && bBack - moved < 3000, "the call came back within seconds");
    await hangUp(l);
  } finally {
    await l.stop();
  }
});

test("consent: when B's network goes away A stops sending and ends the call after 30 s, saying why", { skip, timeout: 120_000 }, async () => {
  const l = await startLab("endpoint-independent", "endpoint-independent");
  try {
    await connect(l);
    await talk(l, 1000);
    l.lab.exec("b1", "ip", ["link", "set", "eth0", "down"]);
    const cut = Date.now();
    const end = await l.a.call.waitFor((s) => s.state === "idle", 45_000, "A giving up on B");
    const after = (Date.now() - cut) / 1000;
    assert.equal(end.endReason, "media consent lost");
    assert.ok(after > 24 && after < 40, `consent expired ${after.toFixed(1)} s after the cut (30 s after the last answer)`);
  } finally {
    await l.stop();
  }
});
