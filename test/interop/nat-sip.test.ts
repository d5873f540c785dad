// SIP through real kernel NATs (the NAT lab, test/peers/netns.ts): two simulated boards run as
// `tincan sim --address any` processes inside hosts a1 (behind router A, endpoint-independent)
// and b1 (behind router B, symmetric), kamailio is the NAT-aware registrar/proxy on
// 203.0.113.1:5060 in the public namespace. Both register through their NATs (kamailio's
// location table and router B's conntrack table agree on the mapping), A calls B's AOR, B
// answers, BYE both ways (signalling only: media across two NATs is the ICE work). With router
// B's conntrack UDP timeouts shortened, an idle flow closes and kamailio's INVITE is dropped at
// the router; the registrar flow keepalive must keep it open.
//
//   node --import tsx --test test/interop/nat-sip.test.ts
// Needs root (namespaces), kamailio with nathelper/stun/ctl, and build/firmware.wasm; skipped
// with the reason otherwise. The boards' consoles are on 127.0.0.1 inside their namespaces: a
// small node process there pipes each one to a TCP port on the test's own loopback.

import assert from "node:assert/strict";
import fs from "node:fs";
import readline from "node:readline";
import { spawnSync } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test } from "node:test";
import { type Topology, buildTopology, netnsUnavailable } from "../peers/netns.ts";
import { kamailioNatUnavailable, startKamailio, type KamailioProxy } from "../peers/kamailio.ts";
import { startUdpAgent } from "../peers/udp-reflector.ts";
import { type CallStatus } from "../../host-tools/call/client.ts";
import { type NsBoard, NS_FIRMWARE, startNsBoard as startBoard } from "../peers/ns-board.ts";
import { packageRoot } from "../../host-tools/paths.ts";

const firmwareMissing = fs.existsSync(NS_FIRMWARE) ? undefined : `${NS_FIRMWARE} is missing: build it with 'npm run build'`;
const skip = netnsUnavailable() ?? kamailioNatUnavailable() ?? firmwareMissing ?? false;
const REGISTRAR = "203.0.113.1";
const USERS = [{ user: "hall", password: "hall-secret" }, { user: "door", password: "door-secret" }];
/** Router B's conntrack UDP timeouts in the idle tests, and the idle time that outlasts them. */
const SHORT_TIMEOUT_S = 4;
const IDLE_MS = 7000;
const KEEPALIVE_KEY = "sip.keepalive_s";
const account = (user: string) => [
  { key: "sip.account", value: `sip:${user}@${REGISTRAR}` }, { key: "sip.registrar", value: `sip:${REGISTRAR}:5060` },
  { key: "sip.username", value: user }, { key: "sip.password", value: USERS.find((u) => u.user === user)!.password },
];

/** The mapped port router B's conntrack shows for b1's SIP flow to the registrar. */
function routerBMapping(lab: Topology): number | undefined {
  const out = lab.exec("routerB", "conntrack", ["-L", "-p", "udp", "-s", lab.addresses.b1, "--sport", "5060", "-d", REGISTRAR, "--dport", "5060"]);
  const m = /src=[\d.]+ dst=[\d.]+ sport=\d+ dport=\d+ .*?src=[\d.]+ dst=[\d.]+ sport=\d+ dport=(\d+)/.exec(out);
  return m ? Number(m[1]) : undefined;
}

function setUdpTimeouts(lab: Topology, seconds: number): void {
  for (const name of ["nf_conntrack_udp_timeout", "nf_conntrack_udp_timeout_stream"]) {
    lab.exec("routerB", "sh", ["-c", `echo ${seconds} > /proc/sys/net/netfilter/${name}`]);
  }
}

const count = (k: KamailioProxy, pattern: RegExp) => k.log.split("\n").filter((l) => pattern.test(l)).length;

test("tincan sim --address takes an IPv4 literal or 'any', and refuses anything else in one line", () => {
  const r = spawnSync(process.execPath, ["--import", "tsx", "host-tools/cli.ts", "sim", "--address", "300.1.2.3"], { cwd: packageRoot(), encoding: "utf8", timeout: 30_000 });
  assert.notEqual(r.status, 0);
  assert.equal(r.stderr.trim(), "error: --address 300.1.2.3: an IPv4 address (e.g. 127.0.0.5) or 'any'");
});

test("a board on 'any' binds 0.0.0.0, reports the default route's address, follows lab.moveHost, and counts a send with no route", { skip, timeout: 30_000 }, async () => {
  const lab = buildTopology({ nat: { a: "endpoint-independent", b: "endpoint-independent" }, secondUplink: { host: "a1", nat: "endpoint-independent" } });
  try {
    const reflector = await startUdpAgent(lab, "public", [`${REGISTRAR}:3478`]);
    // The simulator's own UDP and TCP tables, in a1, driven over stdin one command a line.
    const udpUrl = new URL("../../host-tools/sim/udp.ts", import.meta.url).href;
    const tcpUrl = new URL("../../host-tools/sim/tcp.ts", import.meta.url).href;
    const driver = lab.spawn("a1", process.execPath, ["--import", "tsx", "--input-type=module", "-e", `
      const { UdpTable, encodeSockaddr } = await import(${JSON.stringify(udpUrl)});
      const { TcpTable } = await import(${JSON.stringify(tcpUrl)});
      const say = (o) => process.stdout.write(JSON.stringify(o) + "\\n");
      const udp = new UdpTable((d) => say({ received: d.data.toString() }), "any");
      const h = udp.open(4, 0);
      new TcpTable(() => {}, "any").listen(4, 5099);
      const to = new Uint8Array(20); encodeSockaddr(to, 4, ${JSON.stringify(REGISTRAR)}, 3478);
      process.stdin.setEncoding("utf8");
      process.stdin.on("data", (line) => {
        if (line.startsWith("send")) udp.send(h, to, Buffer.from("probe"));
        setTimeout(() => say({ address: udp.address(4) ?? null, sendErrors: udp.sendErrors, error: udp.lastSendError ?? null }), 100);
      });
      setInterval(() => {}, 1000);`], { cwd: packageRoot(), stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    driver.stderr!.on("data", (d) => (stderr += d));
    const lines: { address?: string | null; sendErrors?: number; error?: string | null; received?: string }[] = [];
    readline.createInterface({ input: driver.stdout! }).on("line", (l) => lines.push(JSON.parse(l)));
    const ask = async (command: string) => {
      const n = lines.filter((l) => "address" in l).length;
      driver.stdin!.write(`${command}\n`);
      for (let i = 0; i < 100 && lines.filter((l) => "address" in l).length === n; i++) await sleep(20);
      const r = lines.filter((l) => "address" in l)[n];
      assert.ok(r, `the driver in a1 did not answer '${command}': ${stderr}`);
      return r;
    };
    const seen = async (atLeast: number) => {
      for (let i = 0; i < 100 && reflector.received.length < atLeast; i++) await sleep(20);
      return reflector.received.map((d) => `${d.from.address}`);
    };
    assert.equal((await ask("address")).address, lab.addresses.a1, "the default route leaves by eth0");
    const tcp = fs.readFileSync(`/proc/${driver.pid}/net/tcp`, "utf8");
    assert.match(tcp, new RegExp(`^\\s*\\d+: 00000000:${(5099).toString(16).toUpperCase()} 00000000:0000 0A `, "m"), "TCP listens on 0.0.0.0 in a1");
    await ask("send");
    assert.deepEqual(await seen(1), [lab.addresses.routerA.wan], "through router A");
    const moved = lab.moveHost("a1");
    await sleep(250); // one refresh period
    assert.equal((await ask("address")).address, moved, "the second uplink's address after the move");
    await ask("send");
    assert.deepEqual(await seen(2), [lab.addresses.routerA.wan, lab.addresses.routerC!.wan], "the same socket, now through router C");
    lab.exec("a1", "ip", ["route", "del", "default"]);
    await sleep(250);
    const refused = await ask("send");
    assert.equal(refused.sendErrors, 1, `a send with no route is counted (${refused.error})`);
    lab.exec("a1", "ip", ["route", "add", "default", "via", lab.addresses.routerC!.lan]);
    await ask("send");
    assert.equal((await seen(3)).length, 3, "the socket still works once a route is back");
    driver.stdin!.end();
    driver.kill();
    await reflector.stop();
  } finally {
    lab.destroy();
  }
});

describe("two boards behind NATs through kamailio", { skip, timeout: 180_000 }, () => {
  let lab: Topology;
  let k: KamailioProxy;
  let a: NsBoard;
  let b: NsBoard;
  // Signalling only: ICE (when the firmware has it) would only fail between two NATs here.
  const noIce = (x: NsBoard) => (x.keys.has("nat.ice") ? [{ key: "nat.ice", value: "off" }] : []);
  const configureA = () => a.config.set([...account("hall"), { key: "call.auto_answer", value: "off" }, ...noIce(a)]);
  const configureB = (extra: { key: string; value: string }[] = []) =>
    b.config.set([...account("door"), { key: "call.auto_answer", value: "on" }, { key: "call.answer_after", value: "0" }, ...noIce(b), ...extra]);

  before(async () => {
    lab = buildTopology({ nat: { a: "endpoint-independent", b: "symmetric" }, servers: 1 });
    k = await startKamailio({ users: USERS, listen: REGISTRAR, port: 5060, nat: true, spawn: (c, args, o) => lab.spawn("public", c, args, o) });
    [a, b] = await Promise.all([startBoard(lab, "a1"), startBoard(lab, "b1")]);
    await Promise.all([configureA(), configureB()]);
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await k?.stop();
    lab?.destroy();
  });

  const registered = (x: NsBoard) => x.call.waitFor((s) => s.registration === "registered", 15_000, `board ${x.node} registering`);
  const idle = (x: NsBoard) => x.call.waitFor((s) => s.state === "idle", 10_000, `board ${x.node} back to idle`);
  /**
   * Boots both boards afresh and registers them: B's first REGISTER opens a new mapping at
   * router B (under the timeouts in force now), and A starts with an empty SIP transaction
   * table (8 slots; a call through the proxy holds 3 of them for 32 s: Timers D, M and J).
   */
  async function restartBoards(extraB: { key: string; value: string }[]): Promise<void> {
    const before = count(k, /REGISTERED door expires=[1-9]/);
    await Promise.all([a.stop(), b.stop()]);
    [a, b] = await Promise.all([startBoard(lab, "a1"), startBoard(lab, "b1")]);
    await Promise.all([configureA(), configureB(extraB)]);
    await Promise.all([registered(a), registered(b)]);
    assert.ok(count(k, /REGISTERED door expires=[1-9]/) > before, "kamailio saw B's new REGISTER");
  }
  /** A dials door's AOR and both are in the call. */
  async function connect(): Promise<CallStatus> {
    await a.call.dial(`sip:door@${REGISTRAR}`);
    const up = await a.call.waitFor((s) => s.state === "active" || s.state === "idle", 15_000, "A calling door");
    assert.equal(up.state, "active", `the call did not connect: ${up.endReason} ${up.endStatus}\n${k.log.slice(-3000)}`);
    return b.call.waitFor((s) => s.state === "active", 5000, "B answering");
  }

  test("both register through their NATs: kamailio stores each NAT's public address as the binding's received", async () => {
    await Promise.all([registered(a), registered(b)]);
    const byAor = new Map(k.locations().map((l) => [l.aor, l]));
    const hall = byAor.get("hall");
    const door = byAor.get("door");
    assert.ok(hall && door, `both bound: ${JSON.stringify([...byAor.values()])}`);
    assert.match(hall.contact, new RegExp(`^sip:hall@${lab.addresses.a1.replaceAll(".", "\\.")}:5060`), "the Contact is the board's own LAN address");
    assert.equal(hall.received, `sip:${lab.addresses.routerA.wan}:5060`, "router A keeps the port (endpoint-independent)");
    const mapped = routerBMapping(lab);
    assert.ok(mapped !== undefined, "router B's conntrack has b1's SIP flow");
    assert.equal(door.received, `sip:${lab.addresses.routerB.wan}:${mapped}`, "kamailio's received is router B's mapping, as conntrack shows it");
  });

  test("A calls B's AOR, B answers, A hangs up: the BYE reaches B through kamailio", async () => {
    await connect();
    await a.call.hangup();
    assert.equal((await idle(a)).endReason, "hung up here");
    assert.equal((await idle(b)).endReason, "hung up by the other side");
    await k.waitForLog(/IN-DIALOG BYE from hall/);
  });

  test("A calls B again and B hangs up: B's BYE reaches A by its Contact alias", async () => {
    await connect();
    await b.call.hangup();
    assert.equal((await idle(b)).endReason, "hung up here");
    assert.equal((await idle(a)).endReason, "hung up by the other side");
    await k.waitForLog(/IN-DIALOG BYE from door/);
  });

  test(`without a keepalive router B forgets an idle flow (conntrack UDP timeouts ${SHORT_TIMEOUT_S} s): kamailio's INVITE is dropped at the router`, async () => {
    setUdpTimeouts(lab, SHORT_TIMEOUT_S);
    await restartBoards(b.keys.has(KEEPALIVE_KEY) ? [{ key: KEEPALIVE_KEY, value: "0" }] : []);
    await sleep(IDLE_MS);
    assert.equal(routerBMapping(lab), undefined, "the idle flow is gone from router B's conntrack");
    const dropped = lab.droppedAtWan("routerB");
    await a.call.dial(`sip:door@${REGISTRAR}`);
    for (let i = 0; i < 150 && lab.droppedAtWan("routerB") === dropped; i++) await sleep(20);
    assert.ok(lab.droppedAtWan("routerB") > dropped, "the INVITE was dropped at router B's WAN");
    const end = await idle(a);
    assert.equal(end.endStatus, 408, `kamailio gave up on B: ${end.endReason} ${end.endStatus}`);
    assert.equal((await b.call.status()).state, "idle", "B never rang");
  });

  test("the flow keepalive keeps B reachable: an INVITE after the same idle time reaches B", async () => {
    assert.ok(b.keys.has(KEEPALIVE_KEY), `the firmware has no ${KEEPALIVE_KEY} key`);
    // B's fresh flow under the short timeouts from its first REGISTER, pinged every 1.6-2 s.
    setUdpTimeouts(lab, SHORT_TIMEOUT_S);
    await restartBoards([{ key: KEEPALIVE_KEY, value: "2" }]);
    const dropped = lab.droppedAtWan("routerB");
    await sleep(IDLE_MS);
    assert.ok(routerBMapping(lab) !== undefined, "the keepalives kept b1's flow in router B's conntrack");
    try {
      await connect();
      assert.equal(lab.droppedAtWan("routerB"), dropped, "nothing dropped at router B");
      await a.call.hangup();
    } finally {
      await Promise.all([idle(a), idle(b)]);
    }
  });

  test("router B forgets the mapping (a NAT reboot: conntrack -F): the keepalive sees a new mapped port and B registers again", async () => {
    assert.ok(b.keys.has(KEEPALIVE_KEY), `the firmware has no ${KEEPALIVE_KEY} key`);
    const old = routerBMapping(lab);
    const registers = count(k, /REGISTERED door expires=[1-9]/);
    lab.exec("routerB", "conntrack", ["-F"]);
    // The next keepalive leaves by a new random port (symmetric NAT); its answer tells B so.
    for (let i = 0; i < 300 && count(k, /REGISTERED door expires=[1-9]/) === registers; i++) await sleep(50);
    assert.ok(count(k, /REGISTERED door expires=[1-9]/) > registers, "B registered again");
    const mapped = routerBMapping(lab);
    assert.ok(mapped !== undefined && mapped !== old, `a new mapping: ${old} -> ${mapped}`);
    assert.equal(k.locations().find((l) => l.aor === "door")?.received, `sip:${lab.addresses.routerB.wan}:${mapped}`, "kamailio follows it");
    try {
      await connect();
      await a.call.hangup();
    } finally {
      await Promise.all([idle(a), idle(b)]);
    }
  });
});
