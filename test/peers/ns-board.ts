// A simulated board inside a NAT lab namespace (test/peers/netns.ts): `tincan sim --address any`
// run in the host's namespace, its console (on 127.0.0.1 there, out of the test's reach) piped
// through a small node process in the same namespace to a TCP port on the test's own loopback.

import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import readline from "node:readline";
import { type ChildProcess } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { type HostName, type Topology } from "./netns.ts";
import { ConsoleClient } from "../../host-tools/link/console.ts";
import { ConfigClient } from "../../host-tools/config/client.ts";
import { CallClient } from "../../host-tools/call/client.ts";
import { packageRoot } from "../../host-tools/paths.ts";
import { tempDir } from "../host/helpers.ts";

export const NS_FIRMWARE = path.join(packageRoot(), "build", "firmware.wasm");
const UART_PORT = 4000; // free in every fresh namespace

// Pipes stdin/stdout to a TCP port on 127.0.0.1 of the namespace it runs in (argv[1]).
const BRIDGE = `const s = require("node:net").connect(Number(process.argv[1]), "127.0.0.1");
process.stdin.pipe(s); s.pipe(process.stdout);
s.on("error", (e) => { process.stderr.write(e.message); process.exit(1); });
s.on("close", () => process.exit(0)); process.stdin.on("end", () => s.end());`;

export interface NsBoard {
  node: HostName;
  call: CallClient;
  config: ConfigClient;
  /** The configuration keys the firmware has. */
  keys: Set<string>;
  /** The board's directory (its store, and speaker.wav when asked for). */
  dir: string;
  log: () => string;
  /** The speaker's samples so far (16 kHz mono), when started with a speaker file. */
  speaker(): Int16Array;
  stop(): Promise<void>;
}

export interface NsBoardOptions {
  /** The microphone: silence, tone:HZ[:DBFS] or a WAV file (tincan sim --audio-in). */
  audioIn?: string;
  /** Record the speaker to <dir>/speaker.wav. */
  speaker?: boolean;
}

/** Lines of a child's stdout; resolves at the first that matches, rejects if it exits first. */
export function waitForLine(child: ChildProcess, pattern: RegExp, what: string, timeoutMs: number, log: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: nothing matching ${pattern} after ${timeoutMs} ms\n${log()}`)), timeoutMs);
    child.once("exit", (code) => { clearTimeout(timer); reject(new Error(`${what} exited (${code})\n${log()}`)); });
    readline.createInterface({ input: child.stdout! }).on("line", (line) => { if (pattern.test(line)) { clearTimeout(timer); resolve(line); } });
  });
}

/** `tincan sim --address any` inside node's namespace, its console reachable from here. */
export async function startNsBoard(lab: Topology, node: HostName, opts: NsBoardOptions = {}): Promise<NsBoard> {
  const dir = tempDir(`tincan-ns-${node}-`);
  const wav = path.join(dir, "speaker.wav");
  const args = ["sim", "--board", "sim", "--address", "any", "--firmware", NS_FIRMWARE, "--dir", dir, "--uart-port", String(UART_PORT)];
  if (opts.audioIn) args.push("--audio-in", opts.audioIn);
  if (opts.speaker) args.push("--audio-out", wav);
  const sim = lab.spawnNode(node, "host-tools/cli.ts", args);
  let output = "";
  sim.stdout!.on("data", (d) => (output = (output + d).slice(-16000)));
  sim.stderr!.on("data", (d) => (output = (output + d).slice(-16000)));
  await waitForLine(sim, /console at socket:\/\/127\.0\.0\.1:\d+/, `the board in ${node}`, 30_000, () => output);
  const bridge = lab.spawn(node, process.execPath, ["-e", BRIDGE, String(UART_PORT)], { stdio: ["pipe", "pipe", "pipe"] });
  const server = net.createServer((c) => { c.pipe(bridge.stdin!); bridge.stdout!.pipe(c); });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const console = await ConsoleClient.open(`socket://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
  const config = new ConfigClient(console, { timeoutMs: 2000 });
  const keys = new Set((await config.get()).entries.map((e) => e.key));
  return {
    node, call: new CallClient(console, { timeoutMs: 2000 }), config, keys, dir, log: () => output,
    speaker() {
      // The simulator writes <file>.part and renames it at close, patching the header's sizes
      // then: read the samples after the header as they are.
      const file = fs.existsSync(`${wav}.part`) ? `${wav}.part` : wav;
      if (!fs.existsSync(file)) return new Int16Array(0);
      const b = fs.readFileSync(file);
      const n = Math.max(0, (b.length - 44) >> 1);
      const out = new Int16Array(n);
      for (let i = 0; i < n; i++) out[i] = b.readInt16LE(44 + 2 * i);
      return out;
    },
    async stop() {
      await console.close().catch(() => {});
      server.close();
      bridge.kill();
      sim.kill("SIGTERM");
      await Promise.race([new Promise((r) => sim.once("exit", r)), sleep(3000)]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
