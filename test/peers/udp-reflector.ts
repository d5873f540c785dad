// A UDP reflector and probe for the NAT lab (test/peers/netns.ts), run inside a namespace:
//
//   ip netns exec NS node --import tsx test/peers/udp-reflector.ts [--silent] ADDRESS:PORT...
//
// One socket per ADDRESS:PORT (port 0: any free one). Bound to each address separately, not to
// 0.0.0.0: the answer then leaves from the address the datagram was sent to, which is what the
// NAT's filter compares. Each datagram is answered with the address:port it came from (the
// mapping of the NAT in between) unless --silent; an answer is never answered, so two
// reflectors cannot ping-pong. Driven over stdio, one JSON object a line:
//   stdout {"ready":["ip:port",...]}                          once every socket is bound
//   stdout {"received":{"at":"ip:port","from":"ip:port","data":"<base64>"}}
//   stdin  {"send":{"from":"ip:port","to":"ip:port","data":"<base64>"}}
// It exits when stdin closes, so a killed test leaves no reflector behind.
// startUdpAgent() is the test side of that protocol.

import dgram from "node:dgram";
import readline from "node:readline";
import { pathToFileURL } from "node:url";
import path from "node:path";
import type { ChildProcess } from "node:child_process";
import type { NodeName, Topology } from "./netns.ts";

export interface Endpoint { address: string; port: number }
export interface Datagram { at: Endpoint; from: Endpoint; data: Buffer }
/** What a reflector answered: where the datagram came from (`seen`), where it arrived (`at`), what it said. */
export interface Reflection { seen: Endpoint; at: Endpoint; data: string }

const REFLECTION_TAG = '{"reflection":';

export function formatEndpoint(e: Endpoint): string {
  return `${e.address}:${e.port}`;
}

export function parseEndpoint(text: string): Endpoint {
  const colon = text.lastIndexOf(":");
  const port = Number(text.slice(colon + 1));
  if (colon < 1 || !Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`'${text}' is not ADDRESS:PORT`);
  return { address: text.slice(0, colon), port };
}

/** The reflection a datagram carries, or undefined when it is something else. */
export function parseReflection(d: Datagram): Reflection | undefined {
  const text = d.data.toString("utf8");
  if (!text.startsWith(REFLECTION_TAG)) return undefined;
  const r = (JSON.parse(text) as { reflection: { seen: string; at: string; data: string } }).reflection;
  return { seen: parseEndpoint(r.seen), at: parseEndpoint(r.at), data: r.data };
}

async function main(argv: string[]): Promise<void> {
  const silent = argv.includes("--silent");
  const binds = argv.filter((a) => a !== "--silent").map(parseEndpoint);
  if (binds.length === 0) throw new RangeError("udp-reflector: give at least one ADDRESS:PORT to bind");
  const sockets = new Map<string, dgram.Socket>();
  for (const want of binds) {
    const socket = dgram.createSocket("udp4");
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(want.port, want.address, () => { socket.off("error", reject); resolve(); });
    });
    const at = formatEndpoint(socket.address());
    sockets.set(at, socket);
    socket.on("message", (data, rinfo) => {
      const from = `${rinfo.address}:${rinfo.port}`;
      process.stdout.write(JSON.stringify({ received: { at, from, data: data.toString("base64") } }) + "\n");
      if (silent || data.subarray(0, REFLECTION_TAG.length).toString("latin1") === REFLECTION_TAG) return;
      const answer = JSON.stringify({ reflection: { seen: from, at, data: data.subarray(0, 256).toString("utf8") } });
      socket.send(answer, rinfo.port, rinfo.address);
    });
  }
  process.stdout.write(JSON.stringify({ ready: [...sockets.keys()] }) + "\n");
  const lines = readline.createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    const cmd = (JSON.parse(line) as { send?: { from: string; to: string; data: string } }).send;
    const socket = cmd ? sockets.get(cmd.from) : undefined;
    if (!cmd || !socket) { process.stderr.write(`udp-reflector: no socket for ${line}\n`); return; }
    const to = parseEndpoint(cmd.to);
    socket.send(Buffer.from(cmd.data, "base64"), to.port, to.address, (err) => { if (err) process.stderr.write(`udp-reflector: send to ${cmd.to}: ${err.message}\n`); });
  });
  lines.once("close", () => process.exit(0));
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(path.resolve(entry)).href) {
  main(process.argv.slice(2)).catch((e: Error) => { process.stderr.write(`udp-reflector: ${e.message}\n`); process.exit(2); });
}

/** A running reflector (or silent probe) inside one namespace, driven from the test. */
export interface UdpAgent {
  readonly node: NodeName;
  /** The bound sockets, in the order asked for (ports resolved). */
  readonly endpoints: readonly Endpoint[];
  /** Everything received so far. */
  readonly received: readonly Datagram[];
  send(from: Endpoint, to: Endpoint, data: string | Uint8Array): void;
  /** The first datagram (received already or later) that matches; rejects after timeoutMs. */
  waitFor(match: (d: Datagram) => boolean, timeoutMs?: number): Promise<Datagram>;
  /** Asks a reflector where `from`'s datagrams come from, past the NATs (resent every 100 ms until answered). */
  mappedAddress(from: Endpoint, reflector: Endpoint, timeoutMs?: number): Promise<Endpoint>;
  stop(): Promise<void>;
}

const SCRIPT = path.join("test", "peers", "udp-reflector.ts");
let probes = 0;

/** Starts the reflector in `node`'s namespace, bound to each of `binds` ("ip:port"). */
export async function startUdpAgent(topology: Topology, node: NodeName, binds: string[], opts: { silent?: boolean; readyTimeoutMs?: number } = {}): Promise<UdpAgent> {
  const child: ChildProcess = topology.spawnNode(node, SCRIPT, [...(opts.silent ? ["--silent"] : []), ...binds]);
  const received: Datagram[] = [];
  const waiters = new Set<() => void>();
  let errors = "";
  let exited = false;
  child.stderr!.on("data", (d) => (errors = (errors + d).slice(-4000)));
  child.once("exit", () => { exited = true; for (const w of [...waiters]) w(); });
  const ready = new Promise<Endpoint[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`udp-reflector in ${node}: not ready after ${opts.readyTimeoutMs ?? 10_000} ms: ${errors}`)), opts.readyTimeoutMs ?? 10_000);
    child.once("exit", (code) => { clearTimeout(timer); reject(new Error(`udp-reflector in ${node} exited (${code}): ${errors.trim()}`)); });
    readline.createInterface({ input: child.stdout! }).on("line", (line) => {
      const msg = JSON.parse(line) as { ready?: string[]; received?: { at: string; from: string; data: string } };
      if (msg.ready) { clearTimeout(timer); resolve(msg.ready.map(parseEndpoint)); }
      if (msg.received) {
        received.push({ at: parseEndpoint(msg.received.at), from: parseEndpoint(msg.received.from), data: Buffer.from(msg.received.data, "base64") });
        for (const w of [...waiters]) w();
      }
    });
  });
  let endpoints: Endpoint[];
  try {
    endpoints = await ready;
  } catch (e) {
    child.kill("SIGKILL");
    throw e;
  }

  const send = (from: Endpoint, to: Endpoint, data: string | Uint8Array) => {
    child.stdin!.write(JSON.stringify({ send: { from: formatEndpoint(from), to: formatEndpoint(to), data: Buffer.from(data).toString("base64") } }) + "\n");
  };
  const waitFor = (match: (d: Datagram) => boolean, timeoutMs = 2000) => new Promise<Datagram>((resolve, reject) => {
    const check = () => {
      const hit = received.find(match);
      if (hit) { done(); resolve(hit); } else if (exited) { done(); reject(new Error(`udp-reflector in ${node} exited: ${errors.trim()}`)); }
    };
    const timer = setTimeout(() => { done(); reject(new Error(`udp-reflector in ${node}: nothing matching within ${timeoutMs} ms (received ${received.length})`)); }, timeoutMs);
    const done = () => { clearTimeout(timer); waiters.delete(check); };
    waiters.add(check);
    check();
  });
  const mappedAddress = async (from: Endpoint, reflector: Endpoint, timeoutMs = 2000): Promise<Endpoint> => {
    const tag = `probe ${process.pid}-${++probes}`;
    send(from, reflector, tag);
    const resend = setInterval(() => send(from, reflector, tag), 100);
    try {
      const answer = await waitFor((d) => parseReflection(d)?.data === tag, timeoutMs);
      return parseReflection(answer)!.seen;
    } finally {
      clearInterval(resend);
    }
  };
  const stop = async () => {
    if (exited) return;
    const gone = new Promise<void>((r) => child.once("exit", () => r()));
    child.stdin!.end();
    const timer = setTimeout(() => child.kill("SIGKILL"), 1000);
    await gone;
    clearTimeout(timer);
  };
  return { node, endpoints, received, send, waitFor, mappedAddress, stop };
}
