// A NAT lab of real kernel parts for the NAT traversal tests: network namespaces joined by veth
// pairs, routers that masquerade with nftables. The shape (docs/nat-lab.md has the diagram):
//
//   public (bridge br0, the servers' addresses) --+-- router A (NAT) -- LAN A -- host a1
//                                                 +-- router B (NAT) -- LAN B -- host b1
//                                                 +-- router C (NAT) -- LAN C -- second uplink of a1 or b1 (optional)
//
// Facts this rests on, found on these machines: plain `masquerade` keeps the source port when
// it can, so one socket gets one mapping whatever it sends to (endpoint-independent), while
// conntrack lets in only replies from the exact address:port it sent to (port-dependent
// filtering); `masquerade random` draws a new port for every destination (symmetric).
// `iifname "wan" ct state new drop` on the router's input matters: without it a hole-punch
// datagram that reaches the router before its own host has sent becomes a conntrack entry of
// the router itself, and the host's later datagram is then mapped to another port.
//
// Everything lives inside the namespaces (no veth, route or nft table in the root one), so
// deleting the namespaces removes it all. Names are tnat-<pid>-<n>-<node>: test files running
// in parallel never collide, and namespaces left by a killed run (its pid gone) are removed
// at the next build.

import { type ChildProcess, type SpawnOptions, execFileSync, spawn as spawnProcess, spawnSync } from "node:child_process";
import { packageRoot } from "../../host-tools/paths.ts";
import { processAlive } from "./ports.ts";

export type NatKind = "endpoint-independent" | "symmetric";
export type RouterName = "routerA" | "routerB" | "routerC";
export type HostName = "a1" | "b1";
export type NodeName = "public" | RouterName | HostName;

export interface TopologySpec {
  /** The NAT of router A (in front of a1) and of router B (in front of b1). */
  nat: { a: NatKind; b: NatKind };
  /** Server addresses in the public namespace, 203.0.113.1 upwards (default 3, at most 9). */
  servers?: number;
  /** A second uplink for one host, through router C with its own NAT: moveHost() switches to it. */
  secondUplink?: { host: HostName; nat: NatKind };
}

export interface RouterAddresses {
  /** On the public segment: the address the NAT maps to. */
  wan: string;
  /** The LAN side: the hosts' gateway. */
  lan: string;
}

export interface TopologyAddresses {
  /** The public namespace's addresses, one per server, all on br0. */
  servers: string[];
  routerA: RouterAddresses;
  routerB: RouterAddresses;
  routerC?: RouterAddresses;
  /** Each host's current address (the second uplink's after moveHost). */
  a1: string;
  b1: string;
  /** The second uplink's address of secondUplink.host. */
  secondUplink?: string;
}

export interface Topology {
  /** tnat-<pid>-<n>: the prefix of every namespace of this topology. */
  readonly id: string;
  readonly addresses: TopologyAddresses;
  /** The namespace of a node (throws for a node this topology does not have). */
  namespace(node: NodeName): string;
  /** Runs a command inside a node's namespace and returns its stdout; throws NetnsError on failure. */
  exec(node: NodeName, cmd: string, args: string[], input?: string): string;
  /** Starts a command inside a node's namespace (killed by destroy()). */
  spawn(node: NodeName, cmd: string, args: string[], options?: SpawnOptions): ChildProcess;
  /** Starts `node --import tsx SCRIPT ARGS` inside a node's namespace, from the package root. */
  spawnNode(node: NodeName, script: string, args: string[]): ChildProcess;
  /** Empties every router's conntrack table: each test case starts with no mappings. */
  flushConntrack(): void;
  /** Replaces a router's NAT with one of the other kind, live. */
  setNat(router: RouterName, kind: NatKind): void;
  /** Turns the router's `iifname "wan" ct state new drop` on its input off (to show why it is there) or back on. */
  setWanFilter(router: RouterName, enabled: boolean): void;
  /** Packets the router's `iifname "wan" ct state new drop` rule has dropped so far. */
  droppedAtWan(router: RouterName): number;
  /** Moves the host to its second uplink, as when Wi-Fi goes and cellular stays: the old
   *  address is removed, its link goes down, the default route goes via router C. Returns the new address. */
  moveHost(host: HostName): string;
  /** Kills what runs in the namespaces and deletes them. Safe to call twice; also runs on exit. */
  destroy(): void;
}

export class NetnsError extends Error {
  override name = "NetnsError";
}

const PREFIX = "tnat";
const NAT_TABLE = "tincan_nat";
const MAX_SERVERS = 9;
const WAN_FILTER = `iifname "wan" ct state new counter drop`;
const SUFFIX: Record<NodeName, string> = { public: "pub", routerA: "ra", routerB: "rb", routerC: "rc", a1: "a1", b1: "b1" };
/** Router addressing: WAN on 203.0.113.0/24 (TEST-NET-3), each LAN a /25 of TEST-NET-1 or -2. */
const PLAN: Record<RouterName, { wan: string; lan: string; host: string; bridgePort: string }> = {
  routerA: { wan: "203.0.113.11", lan: "192.0.2.1", host: "192.0.2.2", bridgePort: "ra" },
  routerB: { wan: "203.0.113.12", lan: "198.51.100.1", host: "198.51.100.2", bridgePort: "rb" },
  routerC: { wan: "203.0.113.13", lan: "192.0.2.129", host: "192.0.2.130", bridgePort: "rc" },
};
const LAN_BITS = 25;

let topologiesBuilt = 0;
const live = new Set<Topology>();

/** Why network namespaces with NAT cannot be made here, or undefined when they can. Probes once. */
export function netnsUnavailable(): string | undefined {
  if (probed === undefined) probed = { reason: probe() };
  return probed.reason;
}
let probed: { reason: string | undefined } | undefined;

function probe(): string | undefined {
  if (process.platform !== "linux") return `network namespaces are Linux only (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return "creating network namespaces needs root";
  for (const [tool, args, pkg] of [["ip", ["-V"], "iproute2"], ["nft", ["--version"], "nftables"], ["conntrack", ["--version"], "conntrack"]] as const) {
    const r = spawnSync(tool, args, { encoding: "utf8" });
    if (r.error !== undefined) return `${tool} is missing: install the Debian package ${pkg}`;
  }
  const ns = `${PREFIX}-${process.pid}-probe`;
  const add = spawnSync("ip", ["netns", "add", ns], { encoding: "utf8" });
  if (add.status !== 0) return `cannot create a network namespace: ${firstLine(add.stderr)}`;
  try {
    const nft = spawnSync("ip", ["netns", "exec", ns, "nft", "-f", "-"], { input: natRuleset("symmetric"), encoding: "utf8" });
    if (nft.status !== 0) return `nftables NAT does not work in a namespace: ${firstLine(nft.stderr)}`;
    return undefined;
  } finally {
    spawnSync("ip", ["netns", "delete", ns]);
  }
}

/** The router's rules: masquerade out of `wan`, and no new flows in from it. */
function natRuleset(kind: NatKind): string {
  return `table ip ${NAT_TABLE} {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ${masquerade(kind)}
  }
  chain input {
    type filter hook input priority filter; policy accept;
    ${WAN_FILTER}
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    ${WAN_FILTER}
  }
}
`;
}

function masquerade(kind: NatKind): string {
  return kind === "symmetric" ? `oifname "wan" masquerade random` : `oifname "wan" masquerade`;
}

function firstLine(s: string | undefined): string {
  return (s ?? "").trim().split("\n")[0] ?? "";
}

function listNamespaces(): string[] {
  const out = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout ?? "";
  return out.split("\n").map((l) => l.split(" ")[0]!).filter((n) => n !== "");
}

/** Kills whatever still runs in the namespaces, then deletes them (ignoring ones already gone). */
function deleteNamespaces(names: string[]): void {
  for (const ns of names) {
    const pids = (spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).stdout ?? "").split("\n").map(Number).filter((p) => p > 0);
    for (const pid of pids) try { process.kill(pid, "SIGKILL"); } catch { /* gone meanwhile */ }
  }
  if (names.length > 0) spawnSync("ip", ["-force", "-batch", "-"], { input: names.map((n) => `netns delete ${n}\n`).join("") });
}

/** Namespaces of runs that were killed before they could clean up. */
function removeLeaked(): void {
  const leaked = listNamespaces().filter((ns) => {
    const m = new RegExp(`^${PREFIX}-(\\d+)-`).exec(ns);
    return m !== null && Number(m[1]) !== process.pid && !processAlive(Number(m[1]));
  });
  deleteNamespaces(leaked);
}

/** Runs `ip [-n NS] -batch -`; a failing line is named in the error. */
function ipBatch(ns: string | undefined, lines: string[], what: string): void {
  const r = spawnSync("ip", [...(ns === undefined ? [] : ["-n", ns]), "-batch", "-"], { input: lines.join("\n") + "\n", encoding: "utf8" });
  if (r.status === 0) return;
  const failed = /Command failed -:(\d+)/.exec(r.stderr ?? "");
  const line = failed ? lines[Number(failed[1]) - 1] : undefined;
  throw new NetnsError(`${what}: ip ${line ?? "-batch"}: ${firstLine(r.stderr)}`);
}

let exitHooked = false;
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  const destroyAll = () => { for (const t of [...live]) t.destroy(); };
  process.once("exit", destroyAll);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      destroyAll();
      process.kill(process.pid, signal); // the default action, now that the listener is gone
    });
  }
}

/** Builds the namespaces, links, addresses, routes and NATs; throws NetnsError (leaving nothing behind) on failure. */
export function buildTopology(spec: TopologySpec): Topology {
  const reason = netnsUnavailable();
  if (reason !== undefined) throw new NetnsError(reason);
  const serverCount = spec.servers ?? 3;
  if (!Number.isInteger(serverCount) || serverCount < 1 || serverCount > MAX_SERVERS) throw new RangeError(`buildTopology: servers must be 1..${MAX_SERVERS}, got ${serverCount}`);
  for (const kind of [spec.nat.a, spec.nat.b, ...(spec.secondUplink ? [spec.secondUplink.nat] : [])]) {
    if (kind !== "endpoint-independent" && kind !== "symmetric") throw new RangeError(`buildTopology: NAT kind must be endpoint-independent or symmetric, got ${String(kind)}`);
  }
  const moving = spec.secondUplink?.host;
  if (moving !== undefined && moving !== "a1" && moving !== "b1") throw new RangeError(`buildTopology: secondUplink.host must be a1 or b1, got ${String(moving)}`);
  removeLeaked();
  hookExit();

  const id = `${PREFIX}-${process.pid}-${++topologiesBuilt}`;
  const routers: RouterName[] = moving === undefined ? ["routerA", "routerB"] : ["routerA", "routerB", "routerC"];
  const nodes: NodeName[] = ["public", ...routers, "a1", "b1"];
  const names = new Map<NodeName, string>(nodes.map((n) => [n, `${id}-${SUFFIX[n]}`]));
  const ns = (node: NodeName): string => {
    const name = names.get(node);
    if (name === undefined) throw new NetnsError(`topology ${id} has no ${node} (no secondUplink was asked for)`);
    return name;
  };
  const natKind: Readonly<Record<RouterName, NatKind>> = { routerA: spec.nat.a, routerB: spec.nat.b, routerC: spec.secondUplink?.nat ?? "endpoint-independent" };
  const hostOf: Record<RouterName, HostName> = { routerA: "a1", routerB: "b1", routerC: moving ?? "a1" };
  const servers = Array.from({ length: serverCount }, (_, i) => `203.0.113.${i + 1}`);
  const addresses: TopologyAddresses = {
    servers,
    routerA: { wan: PLAN.routerA.wan, lan: PLAN.routerA.lan },
    routerB: { wan: PLAN.routerB.wan, lan: PLAN.routerB.lan },
    a1: PLAN.routerA.host,
    b1: PLAN.routerB.host,
    ...(moving === undefined ? {} : { routerC: { wan: PLAN.routerC.wan, lan: PLAN.routerC.lan }, secondUplink: PLAN.routerC.host }),
  };
  const children = new Set<ChildProcess>();
  let destroyed = false;

  const exec = (node: NodeName, cmd: string, args: string[], input?: string): string => {
    try {
      return execFileSync("ip", ["netns", "exec", ns(node), cmd, ...args], { input, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new NetnsError(`${node}: ${cmd} ${args.join(" ")}: ${firstLine(err.stderr) || err.message}`);
    }
  };
  const spawn = (node: NodeName, cmd: string, args: string[], options: SpawnOptions = {}): ChildProcess => {
    if (destroyed) throw new NetnsError(`topology ${id} is destroyed`);
    const child = spawnProcess("ip", ["netns", "exec", ns(node), cmd, ...args], options);
    children.add(child);
    child.once("exit", () => children.delete(child));
    child.once("error", () => children.delete(child));
    return child;
  };
  const topology: Topology = {
    id,
    addresses,
    namespace: ns,
    exec,
    spawn,
    spawnNode: (node, script, args) => spawn(node, process.execPath, ["--import", "tsx", script, ...args], { cwd: packageRoot(), stdio: ["pipe", "pipe", "pipe"] }),
    flushConntrack() {
      for (const r of routers) exec(r, "conntrack", ["-F"]);
    },
    setNat(router, kind) {
      exec(router, "nft", ["-f", "-"], `flush chain ip ${NAT_TABLE} postrouting\nadd rule ip ${NAT_TABLE} postrouting ${masquerade(kind)}\n`);
    },
    setWanFilter(router, enabled) {
      exec(router, "nft", ["-f", "-"], `flush chain ip ${NAT_TABLE} input\n${enabled ? `add rule ip ${NAT_TABLE} input ${WAN_FILTER}\n` : ""}`);
    },
    droppedAtWan(router) {
      const out = exec(router, "nft", ["list", "table", "ip", NAT_TABLE]);
      return [...out.matchAll(/counter packets (\d+) bytes \d+ drop/g)].reduce((sum, m) => sum + Number(m[1]), 0);
    },
    moveHost(host) {
      if (host !== moving) throw new NetnsError(`topology ${id}: ${host} has no second uplink`);
      ipBatch(ns(host), ["address flush dev eth0", "link set eth0 down", `route replace default via ${PLAN.routerC.lan} dev eth1`], `moving ${host}`);
      addresses[host] = PLAN.routerC.host;
      return addresses[host];
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      live.delete(topology);
      for (const c of children) c.kill("SIGKILL");
      deleteNamespaces([...names.values()]);
    },
  };
  live.add(topology);

  try {
    // The namespaces, then every veth pair created straight into its two namespaces.
    const links = routers.map((r) => `link add name wan netns ${ns(r)} type veth peer name ${PLAN[r].bridgePort} netns ${ns("public")}`);
    for (const r of routers) links.push(`link add name lan netns ${ns(r)} type veth peer name ${r === "routerC" ? "eth1" : "eth0"} netns ${ns(hostOf[r])}`);
    ipBatch(undefined, [...nodes.map((n) => `netns add ${ns(n)}`), ...links], `building ${id}`);

    // The public segment's default route leads nowhere (a veth whose gateway is a fixed MAC no
    // one has: datagrams leave and vanish; 198.18.0.0/15 is RFC 2544's), as the Internet does for
    // a private address: a server sending there (coturn relaying to a peer's host candidate)
    // loses the datagram instead of getting ENETUNREACH, which coturn answers by closing the
    // allocation.
    ipBatch(ns("public"), ["link set lo up", "link add br0 type bridge", "link set br0 up", ...servers.map((a) => `address add ${a}/24 dev br0`),
      ...routers.flatMap((r) => [`link set ${PLAN[r].bridgePort} master br0`, `link set ${PLAN[r].bridgePort} up`]),
      "link add nowhere type veth peer name nowhere-end", "link set nowhere up", "link set nowhere-end up", "address add 198.18.0.1/30 dev nowhere",
      "neigh add 198.18.0.2 lladdr 02:00:00:00:00:01 dev nowhere nud permanent", "route add default via 198.18.0.2"], `${id} public`);
    for (const r of routers) {
      ipBatch(ns(r), ["link set lo up", `address add ${PLAN[r].wan}/24 dev wan`, "link set wan up", `address add ${PLAN[r].lan}/${LAN_BITS} dev lan`, "link set lan up"], `${id} ${r}`);
      exec(r, "sh", ["-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"]); // sysctl(8) would need procps
      exec(r, "nft", ["-f", "-"], natRuleset(natKind[r]));
    }
    for (const host of ["a1", "b1"] as const) {
      const home = host === "a1" ? PLAN.routerA : PLAN.routerB;
      const lines = ["link set lo up", `address add ${home.host}/${LAN_BITS} dev eth0`, "link set eth0 up", `route add default via ${home.lan}`];
      if (moving === host) lines.push(`address add ${PLAN.routerC.host}/${LAN_BITS} dev eth1`, "link set eth1 up");
      ipBatch(ns(host), lines, `${id} ${host}`);
    }
  } catch (e) {
    topology.destroy();
    throw e;
  }
  return topology;
}
