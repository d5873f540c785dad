// NAT traversal figures (issue 8; docs/nat.md): connection set-up from the offer to the nominated
// pair on the host, server-reflexive and relayed paths; keepalive overhead while a call is up; what
// a relayed call costs with ChannelData and with Send indications; the handoff gap.
//
//   npx tsx test/bench/nat.ts [--calls N]     (root: the NAT lab builds network namespaces)
//
// Host path: two boards on loopback (tincan call). Server-reflexive and relayed: the NAT lab
// (test/peers/nat-lab-call.ts), both routers endpoint-independent, then both symmetric; kamailio
// and coturn in the public namespace. The references for the handoff are fixed timers of other
// stacks: pion marks a pair disconnected after 5 s without traffic (failed after 25 s), libwebrtc
// pings a stable pair every 2.5 s; a stack that waits for them cannot move faster.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { runSimCall } from "../../host-tools/call/sim-call.ts";
import { type CallStatus } from "../../host-tools/call/client.ts";
import { startNatLab, startLabBoard, natLabCallUnavailable, REGISTRAR, type NatLab } from "../peers/nat-lab-call.ts";
import { tsharkFields } from "../peers/capture.ts";
import { type NatKind } from "../peers/netns.ts";
import { type NsBoard } from "../peers/ns-board.ts";

const arg = (name: string, dflt: number) => { const i = process.argv.indexOf(name); return i > 0 ? Number(process.argv[i + 1]) : dflt; };
const CALLS = arg("--calls", 5);
const KEEPALIVE_S = arg("--keepalive-seconds", 60);
const USERS = [{ user: "hall", password: "hall-secret" }, { user: "door", password: "door-secret" }];
const IP_UDP = 28;

const median = (v: number[]) => { const s = [...v].sort((a, b) => a - b); return s.length ? (s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN; };
const f = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : "-");

async function hostPath(): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tincan-bench-nat-"));
    try {
      const r = await runSimCall({ board: "sim", dir, seconds: 1, audioA: "tone:440:-12", audioB: "tone:1000:-12" });
      out.push(r.a.ice.offerToPathMs ?? NaN);
    } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  }
  return out;
}

interface Pair { l: NatLab; a: NsBoard; b: NsBoard }

async function lab(nat: NatKind, opts: { secondUplink?: boolean; pcap?: string } = {}): Promise<Pair> {
  const l = await startNatLab({ nat: { a: nat, b: nat }, servers: 2, ...(opts.secondUplink ? { secondUplink: { host: "a1", nat: "endpoint-independent" } } : {}) }, USERS, { pcap: opts.pcap });
  const [a, b] = await Promise.all([
    startLabBoard(l, { node: "a1", user: "hall", toneHz: 440 }),
    startLabBoard(l, { node: "b1", user: "door", toneHz: 1000, autoAnswer: true }),
  ]);
  return { l, a, b };
}

async function call(p: Pair): Promise<{ a: CallStatus; b: CallStatus }> {
  await p.a.call.dial(`sip:door@${REGISTRAR}`);
  const up = await p.a.call.waitFor((s) => s.state === "active" || s.state === "idle", 15_000, "A calling door");
  if (up.state !== "active") throw new Error(`the call did not connect: ${up.endReason} ${up.endStatus}`);
  await p.b.call.waitFor((s) => s.state === "active", 5000, "B answering");
  const ice = (x: NsBoard) => x.call.waitFor((s) => s.ice.state === "connected" || s.ice.state === "failed" || s.state === "idle", 15_000, `ICE on ${x.node}`).catch(() => x.call.status());
  const [a, b] = await Promise.all([ice(p.a), ice(p.b)]);
  if (a.ice.state !== "connected" || b.ice.state !== "connected") {
    throw new Error(`ICE did not connect (${a.state} ${a.endReason} / ${b.state} ${b.endReason}): A ${JSON.stringify(a.ice)} B ${JSON.stringify(b.ice)}\nA: ${p.a.log().slice(-1500)}\nB: ${p.b.log().slice(-1500)}`);
  }
  return { a, b };
}

async function hangUp(p: Pair): Promise<void> {
  await p.a.call.hangup();
  await Promise.all([p.a, p.b].map((x) => x.call.waitFor((s) => s.state === "idle", 10_000, `${x.node} idle`)));
  await sleep(300);
}

async function setupTimes(nat: NatKind): Promise<{ ms: number[]; pair: string }> {
  const p = await lab(nat);
  try {
    const ms: number[] = [];
    let pair = "";
    for (let i = 0; i < CALLS; i++) {
      const { a } = await call(p);
      ms.push(a.ice.offerToPathMs ?? NaN);
      pair = `${a.ice.local} -> ${a.ice.remote}`;
      await sleep(500);
      await hangUp(p);
    }
    return { ms, pair };
  } finally { await p.l.stop(); }
}

interface Keepalive { seconds: number; ownBps: number; answersBps: number; ipBps: number; consentPerMin: number; indications: number }

/** A call held up for KEEPALIVE_S: what ICE sends per board, beside the media. */
async function keepalive(): Promise<Keepalive[]> {
  const p = await lab("endpoint-independent");
  try {
    await call(p);
    await sleep(1000);
    const before = await Promise.all([p.a.call.status(), p.b.call.status()]);
    const t0 = Date.now();
    await sleep(KEEPALIVE_S * 1000);
    const after = await Promise.all([p.a.call.status(), p.b.call.status()]);
    const seconds = (Date.now() - t0) / 1000;
    const out = before.map((s, i) => {
      const e = after[i];
      const checks = e.ice.consentChecks - s.ice.consentChecks;
      const answers = e.ice.requestsReceived - s.ice.requestsReceived;
      const indications = e.ice.keepalivesSent - s.ice.keepalivesSent;
      const bytes = e.ice.stunBytesSent - s.ice.stunBytesSent;
      const requestBytes = e.ice.consentBytesSent - s.ice.consentBytesSent;
      return {
        seconds, consentPerMin: (checks * 60) / seconds, indications,
        ownBps: requestBytes / seconds, answersBps: (bytes - requestBytes) / seconds,
        ipBps: (bytes + IP_UDP * (checks + answers + indications)) / seconds,
      };
    });
    await hangUp(p);
    return out;
  } finally { await p.l.stop(); }
}

interface Relay { channelData: number[]; send: number[]; dataInd: number[]; channelOut: number }

/** A relayed call on the wire (tshark on the public segment): the sizes of what carries media to and from coturn. */
async function relayBytes(): Promise<Relay> {
  const pcap = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "tincan-bench-relay-")), "relay.pcapng");
  const p = await lab("symmetric", { pcap });
  try {
    await call(p);
    await sleep(3000);
    await hangUp(p);
  } finally { await p.l.stop(); }
  await sleep(500);
  const rows = tsharkFields(pcap, ["udp.srcport", "udp.dstport", "udp.length", "stun.type", "udp.payload"], { filter: "udp.port == 3478" });
  const media = (r: string[]) => Number(r[2]) - 8;
  const toServer = rows.filter((r) => r[1] === "3478");
  const fromServer = rows.filter((r) => r[0] === "3478");
  const isChannel = (r: string[]) => { const b = parseInt(r[4].slice(0, 2), 16); return b >= 0x40 && b <= 0x4f; };
  // Media: SRTP packets are 182 bytes here; ChannelData adds 4, an indication 36 or more
  // (checks are under 150 in either framing).
  return {
    channelData: toServer.filter((r) => isChannel(r) && media(r) > 150).map(media),
    send: toServer.filter((r) => r[3] === "0x0016" && media(r) > 200).map(media),
    dataInd: fromServer.filter((r) => r[3] === "0x0017" && media(r) > 200).map(media),
    channelOut: toServer.filter(isChannel).length,
  };
}

async function handoffs(): Promise<{ bToA: number[]; aToB: number[] }> {
  const bToA: number[] = [], aToB: number[] = [];
  for (let i = 0; i < Math.max(1, Math.min(CALLS, 3)); i++) {
    const p = await lab("endpoint-independent", { secondUplink: true });
    try {
      await call(p);
      await sleep(1500);
      const [a0, b0] = await Promise.all([p.a.call.status(), p.b.call.status()]);
      const moved = Date.now();
      p.l.lab.moveHost("a1");
      let aBack = 0, bBack = 0, aLast = a0.packetsReceived, bLast = b0.packetsReceived;
      for (let k = 0; k < 400 && (aBack === 0 || bBack === 0); k++) {
        await sleep(10);
        const [a, b] = await Promise.all([p.a.call.status(), p.b.call.status()]);
        const restarted = a.ice.restarts > 0;
        if (aBack === 0 && restarted && a.ice.state === "connected" && a.packetsReceived > aLast + 2) aBack = Date.now();
        if (bBack === 0 && restarted && b.ice.state === "connected" && b.packetsReceived > bLast + 2) bBack = Date.now();
        if (aBack === 0) aLast = a.packetsReceived;
        if (bBack === 0) bLast = b.packetsReceived;
      }
      bToA.push(aBack ? aBack - moved : NaN);
      aToB.push(bBack ? bBack - moved : NaN);
    } finally { await p.l.stop(); }
  }
  return { bToA, aToB };
}

async function main(): Promise<void> {
  const why = natLabCallUnavailable();
  if (why) { console.log(`bench:nat skipped: ${why}`); return; }
  console.log(`NAT traversal figures, ${CALLS} calls a path, ${new Date().toISOString().slice(0, 10)}, ${os.cpus()[0]?.model ?? "?"}, ${os.cpus().length} cores, node ${process.version}`);
  const host = await hostPath();
  const srflx = await setupTimes("endpoint-independent");
  const relay = await setupTimes("symmetric");
  console.log("\n| path | offer -> nominated pair (median) | range | the pair |");
  console.log("|---|---:|---:|---|");
  console.log(`| host (loopback) | ${f(median(host), 2)} ms | ${f(Math.min(...host), 2)} .. ${f(Math.max(...host), 2)} | host -> host |`);
  console.log(`| server-reflexive (two endpoint-independent NATs) | ${f(median(srflx.ms), 2)} ms | ${f(Math.min(...srflx.ms), 2)} .. ${f(Math.max(...srflx.ms), 2)} | ${srflx.pair} |`);
  console.log(`| relayed (two symmetric NATs) | ${f(median(relay.ms), 2)} ms | ${f(Math.min(...relay.ms), 2)} .. ${f(Math.max(...relay.ms), 2)} | ${relay.pair} |`);

  const ka = await keepalive();
  console.log(`\nKeepalive overhead, a call held ${f(ka[0].seconds, 0)} s (nat.consent_s 5, nat.keepalive_s 15):`);
  console.log("| board | consent checks / min | own checks, B/s (UDP payload) | answers to the peer's, B/s | all ICE traffic, B/s at the IP level | Binding indications |");
  console.log("|---|---:|---:|---:|---:|---:|");
  ka.forEach((k, i) => console.log(`| ${i === 0 ? "A" : "B"} | ${f(k.consentPerMin)} | ${f(k.ownBps)} | ${f(k.answersBps)} | ${f(k.ipBps)} | ${k.indications} |`));
  const perCall = ka.reduce((s, k) => s + k.ipBps, 0);
  console.log(`per call (both boards, IP level): ${f(perCall)} B/s; target <= 20 B/s per call; own checks per board ${f(ka[0].ownBps)} B/s`);

  const r = await relayBytes();
  const avg = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN);
  console.log("\nA relayed call on the wire (UDP payload per 182-byte SRTP packet, and at 50 packets/s at the IP level):");
  console.log("| framing | bytes a packet | overhead | kbit/s (IP) | packets seen |");
  console.log("|---|---:|---:|---:|---:|");
  const row = (name: string, v: number[], calc?: number) => {
    const b = v.length ? avg(v) : calc!;
    console.log(`| ${name} | ${f(b, 0)}${v.length ? "" : " (computed)"} | ${f(b - 182, 0)} | ${f(((b + IP_UDP) * 8 * 50) / 1000)} | ${v.length} |`);
  };
  row("plain SRTP (no relay)", [], 182);
  row("ChannelData, board -> coturn", r.channelData);
  row("Send indication, board -> coturn", r.send, 182 + 36);
  row("Data indication, coturn -> board", r.dataInd, 182 + 60); // coturn adds SOFTWARE (docs/turn.md)

  const h = await handoffs();
  const gap = Math.max(median(h.bToA), median(h.aToB));
  console.log(`\nHandoff (A moves to its second uplink mid-call), ${h.bToA.length} runs, 10 ms polling:`);
  console.log("| | gap (median) | runs | target | / pion's 5 s disconnect | / libwebrtc's 2.5 s ping |");
  console.log("|---|---:|---|---:|---:|---:|");
  console.log(`| B -> A audio | ${f(median(h.bToA), 0)} ms | ${h.bToA.map((v) => f(v, 0)).join(", ")} | 1000 ms | ${f(median(h.bToA) / 5000, 3)} | ${f(median(h.bToA) / 2500, 3)} |`);
  console.log(`| A -> B audio | ${f(median(h.aToB), 0)} ms | ${h.aToB.map((v) => f(v, 0)).join(", ")} | 1000 ms | ${f(median(h.aToB) / 5000, 3)} | ${f(median(h.aToB) / 2500, 3)} |`);
  console.log(`worst direction ${f(gap, 0)} ms: ${gap < 1000 ? "under" : "OVER"} the 1 s target`);
}

main().catch((e) => { console.error(`bench:nat: ${(e as Error).message}`); process.exit(1); });
