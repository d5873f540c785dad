// The NAT lab (test/peers/netns.ts) proved on itself: real kernel NATs in network namespaces
// map and filter the way the NAT traversal tests rely on. One host socket behind the
// endpoint-independent NAT keeps one mapping towards every server, behind the symmetric one
// it gets a new port per server; unsolicited datagrams are dropped at the router; a hole
// punch works between two endpoint-independent NATs and fails when either side is symmetric.
//
//   node --import tsx --test test/interop/netns.test.ts
// Needs root, and the Debian packages iproute2, nftables and conntrack; skipped (with the
// reason) where namespaces cannot be made.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, beforeEach, describe, test } from "node:test";
import { type NatKind, type RouterName, type Topology, buildTopology, netnsUnavailable } from "../peers/netns.ts";
import { type Endpoint, type UdpAgent, startUdpAgent } from "../peers/udp-reflector.ts";

const unavailable = netnsUnavailable();
const skip = unavailable ?? false;
const EIM: NatKind = "endpoint-independent";
const SYMMETRIC: NatKind = "symmetric";
const HOST_PORT = 40000;

const ip = (...args: string[]) => spawnSync("ip", args, { encoding: "utf8" }).stdout;
const namespacesOf = (t: Topology) => ip("netns", "list").split("\n").filter((l) => l.startsWith(`${t.id}-`));
const text = (d: { data: Buffer }) => d.data.toString("utf8");

/** Polls until `done()` holds; fails the test with `what` after timeoutMs. */
async function until(done: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

test("a topology of five namespaces comes up and goes down in about 0.25 s, leaving nothing behind", { skip }, async (t) => {
  const rootLinks = ip("-o", "link", "show");
  const rootTables = spawnSync("nft", ["list", "tables"], { encoding: "utf8" }).stdout;
  const t0 = performance.now();
  const topo = buildTopology({ nat: { a: EIM, b: SYMMETRIC } });
  const upMs = performance.now() - t0;
  let downMs = 0;
  try {
    assert.equal(namespacesOf(topo).length, 5);
    for (const node of ["public", "routerA", "routerB", "a1", "b1"] as const) assert.match(topo.exec(node, "ip", ["-br", "link", "show", "lo"]), /<LOOPBACK,UP/, `lo is up in ${node}`);
    const sleeper = topo.spawn("b1", "sleep", ["60"]);
    const sleeperGone = new Promise<void>((r) => sleeper.once("exit", () => r()));
    const t1 = performance.now();
    topo.destroy();
    downMs = performance.now() - t1;
    await Promise.race([sleeperGone, sleep(2000).then(() => assert.fail("a process in a destroyed namespace is still running"))]);
  } finally {
    topo.destroy();
  }
  t.diagnostic(`five namespaces: up in ${upMs.toFixed(0)} ms, down in ${downMs.toFixed(0)} ms`);
  assert.ok(upMs + downMs < 3000, `up ${upMs} ms + down ${downMs} ms`);
  assert.deepEqual(namespacesOf(topo), [], "no namespace left");
  // The veths, addresses and nft tables lived inside the namespaces: none ever reached the root one.
  assert.equal(ip("-o", "link", "show").replace(/\d+: /g, ""), rootLinks.replace(/\d+: /g, ""), "the root namespace's links are as they were");
  assert.equal(spawnSync("nft", ["list", "tables"], { encoding: "utf8" }).stdout, rootTables, "the root namespace's nft tables are as they were");
  topo.destroy(); // twice is fine
});

test("namespaces a killed run left behind are removed by the next build; a bad spec is refused", { skip }, () => {
  const deadPid = spawnSync(process.execPath, ["-e", ""]).pid;
  const leaked = `tnat-${deadPid}-1-pub`;
  spawnSync("ip", ["netns", "add", leaked]);
  assert.ok(ip("netns", "list").includes(leaked));
  assert.throws(() => buildTopology({ nat: { a: "full-cone" as NatKind, b: EIM } }), /NAT kind must be endpoint-independent or symmetric, got full-cone/);
  assert.throws(() => buildTopology({ nat: { a: EIM, b: EIM }, servers: 0 }), /servers must be 1\.\.9/);
  const topo = buildTopology({ nat: { a: EIM, b: EIM } });
  topo.destroy();
  assert.ok(!ip("netns", "list").includes(leaked), `${leaked} was removed`);
});

describe("behind real kernel NATs", { skip }, () => {
  let topo: Topology;
  let servers: UdpAgent;
  let a1: UdpAgent;
  let b1: UdpAgent;
  /** Three reflector addresses, and the first address again on another port. */
  let reflectors: Endpoint[];

  before(async () => {
    topo = buildTopology({ nat: { a: EIM, b: EIM } });
    const s = topo.addresses.servers;
    [servers, a1, b1] = await Promise.all([
      startUdpAgent(topo, "public", [`${s[0]}:3478`, `${s[1]}:3478`, `${s[2]}:3478`, `${s[0]}:3479`]),
      startUdpAgent(topo, "a1", [`${topo.addresses.a1}:${HOST_PORT}`], { silent: true }),
      startUdpAgent(topo, "b1", [`${topo.addresses.b1}:${HOST_PORT}`], { silent: true }),
    ]);
    reflectors = [...servers.endpoints];
  });
  after(async () => {
    await Promise.all([servers, a1, b1].filter((x) => x !== undefined).map((x) => x.stop()));
    topo?.destroy();
  });
  beforeEach(() => topo.flushConntrack());

  let punches = 0;
  const nats = (a: NatKind, b: NatKind) => { topo.setNat("routerA", a); topo.setNat("routerB", b); };

  test("endpoint-independent: one socket, one mapping, whichever server it sends to", async () => {
    nats(EIM, EIM);
    const from = a1.endpoints[0]!;
    const seen = [];
    for (const r of reflectors) seen.push(await a1.mappedAddress(from, r));
    assert.deepEqual(seen[0], { address: topo.addresses.routerA.wan, port: HOST_PORT }, "masquerade keeps the free source port");
    for (const m of seen) assert.deepEqual(m, seen[0]);
  });

  test("symmetric: a new mapped port for every server address and port", async () => {
    nats(EIM, SYMMETRIC);
    const from = b1.endpoints[0]!;
    const seen: Endpoint[] = [];
    for (const r of reflectors) seen.push(await b1.mappedAddress(from, r));
    for (const m of seen) assert.equal(m.address, topo.addresses.routerB.wan);
    assert.equal(new Set(seen.map((m) => m.port)).size, reflectors.length, `ports ${seen.map((m) => m.port).join(", ")}`);
    // The same server again: the same mapping (the conntrack entry), not a fresh draw.
    assert.deepEqual(await b1.mappedAddress(from, reflectors[0]!), seen[0]);
  });

  test("port-dependent filtering: only the exact address:port a1 sent to gets in", async () => {
    nats(EIM, EIM);
    const from = a1.endpoints[0]!;
    const [first, , third, firstOtherPort] = reflectors as [Endpoint, Endpoint, Endpoint, Endpoint];
    const mapped = await a1.mappedAddress(from, first);
    const dropped = topo.droppedAtWan("routerA");
    servers.send(third, mapped, "unsolicited: another address");
    servers.send(firstOtherPort, mapped, "unsolicited: another port");
    servers.send(first, mapped, "solicited");
    // Same path, sent in order: once the last one is in, the first two have been dealt with.
    await a1.waitFor((d) => text(d) === "solicited");
    await until(() => topo.droppedAtWan("routerA") === dropped + 2, "router A to drop the two unsolicited datagrams");
    assert.deepEqual(a1.received.filter((d) => text(d).startsWith("unsolicited")), []);
    // Once a1 has sent to the third address, that address gets in too: a filter, not a dead path.
    assert.deepEqual(await a1.mappedAddress(from, third), mapped);
  });

  /** Whether the datagram saying `what` reached `agent` (from `from`) or was dropped at `router`: one of the two always happens. */
  async function deliveredOrDropped(agent: UdpAgent, what: string, from: Endpoint, router: RouterName, dropsBefore: number): Promise<boolean> {
    const arrived = () => agent.received.find((d) => text(d) === what);
    await until(() => arrived() !== undefined || topo.droppedAtWan(router) > dropsBefore, `'${what}' to reach ${agent.node} or be dropped at ${router}`);
    const d = arrived();
    if (d !== undefined) assert.deepEqual(d.from, from, `'${what}' came from the mapping the reflector saw`);
    return d !== undefined;
  }

  /** a1 and b1 learn their mappings from the first reflector, then punch: a1 first (its datagram
   *  reaches router B before b1 has sent anything), then b1, then a1 again. */
  async function holePunch(): Promise<{ early: boolean; aGot: boolean; bGot: boolean }> {
    const run = ++punches; // every agent keeps all it received: each run's words are its own
    const [fromA, fromB] = [a1.endpoints[0]!, b1.endpoints[0]!];
    const mappedA = await a1.mappedAddress(fromA, reflectors[0]!);
    const mappedB = await b1.mappedAddress(fromB, reflectors[0]!);
    const drops = (r: RouterName) => topo.droppedAtWan(r);
    let before = drops("routerB"); // read before sending: the drop can beat the next exec
    a1.send(fromA, mappedB, `punch ${run}.1 from a1`);
    const early = await deliveredOrDropped(b1, `punch ${run}.1 from a1`, mappedA, "routerB", before);
    before = drops("routerA");
    b1.send(fromB, mappedA, `punch ${run} from b1`);
    const aGot = await deliveredOrDropped(a1, `punch ${run} from b1`, mappedB, "routerA", before);
    before = drops("routerB");
    a1.send(fromA, mappedB, `punch ${run}.2 from a1`);
    const bGot = await deliveredOrDropped(b1, `punch ${run}.2 from a1`, mappedA, "routerB", before);
    return { early, aGot, bGot };
  }

  test("a hole punch between two endpoint-independent NATs gets through both ways", async () => {
    nats(EIM, EIM);
    const r = await holePunch();
    assert.equal(r.early, false, "a1's first punch, before b1 had sent, was dropped at router B");
    assert.ok(r.aGot && r.bGot, `a1 got b1's punch: ${r.aGot}, b1 got a1's: ${r.bGot}`);
  });

  test("without the drop on the router's input, the punch race moves b1's mapping: why the routers have it", async () => {
    nats(EIM, EIM);
    topo.setWanFilter("routerB", false);
    try {
      const [fromA, fromB] = [a1.endpoints[0]!, b1.endpoints[0]!];
      const mappedA = await a1.mappedAddress(fromA, reflectors[0]!);
      const mappedB = await b1.mappedAddress(fromB, reflectors[0]!);
      const flows = (router: RouterName, src: string, dst: string) => topo.exec(router, "conntrack", ["-L", "-p", "udp", "-s", src, "-d", dst]);
      a1.send(fromA, mappedB, "too early");
      // Router B answers it itself (nothing listens there) and keeps the flow .11:P -> .12:40000 ...
      await until(() => flows("routerB", mappedA.address, mappedB.address).includes(`sport=${mappedA.port} dport=${mappedB.port}`), "router B to track a1's early datagram");
      const dropsA = topo.droppedAtWan("routerA");
      b1.send(fromB, mappedA, "after the race");
      // ... so b1's datagram to a1 cannot leave from 40000: conntrack picks another port.
      assert.equal(await deliveredOrDropped(a1, "after the race", mappedB, "routerA", dropsA), false, "router A does not know the new port");
      const outward = /src=203\.0\.113\.11 dst=203\.0\.113\.12 sport=\d+ dport=(\d+)/.exec(flows("routerB", topo.addresses.b1, mappedA.address));
      assert.ok(outward, "router B tracks b1's datagram");
      assert.notEqual(Number(outward[1]), mappedB.port, "b1's mapping towards a1 is not the one the reflector saw");
    } finally {
      topo.setWanFilter("routerB", true);
    }
  });

  for (const [a, b] of [[SYMMETRIC, SYMMETRIC], [EIM, SYMMETRIC]] as const) {
    test(`a hole punch fails when router A is ${a} and router B ${b}: the call needs a relay`, async () => {
      nats(a, b);
      const r = await holePunch();
      assert.deepEqual([r.early, r.aGot, r.bGot], [false, false, false]);
    });
  }
});

test("moveHost: a1 leaves router A for its second uplink and gets a new public mapping", { skip }, async (t) => {
  const topo = buildTopology({ nat: { a: EIM, b: EIM }, servers: 1, secondUplink: { host: "a1", nat: EIM } });
  t.after(() => topo.destroy());
  const [server, a1] = await Promise.all([
    startUdpAgent(topo, "public", [`${topo.addresses.servers[0]}:3478`]),
    startUdpAgent(topo, "a1", [`0.0.0.0:${HOST_PORT}`], { silent: true }),
  ]);
  t.after(() => Promise.all([server.stop(), a1.stop()]));
  const from = a1.endpoints[0]!;
  assert.deepEqual(await a1.mappedAddress(from, server.endpoints[0]!), { address: topo.addresses.routerA.wan, port: HOST_PORT });
  const moved = topo.moveHost("a1");
  assert.equal(moved, topo.addresses.secondUplink);
  assert.equal(topo.addresses.a1, moved);
  assert.deepEqual(await a1.mappedAddress(from, server.endpoints[0]!), { address: topo.addresses.routerC!.wan, port: HOST_PORT });
  assert.doesNotMatch(topo.exec("a1", "ip", ["-4", "-o", "address", "show"]), /192\.0\.2\.2\//, "the old address is gone");
  assert.throws(() => topo.moveHost("b1"), /b1 has no second uplink/);
});
