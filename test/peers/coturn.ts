// A real STUN/TURN server (Debian's coturn, `turnserver`) for the NAT traversal tests: TURN over
// UDP with the long-term credential mechanism and static users, or STUN only. Runs in the
// foreground with no config file (-n), its own pid file, SQLite file and log in a temp dir, no
// CLI, TLS or DTLS. On loopback by default; in a NAT lab namespace through `spawn` (pass
// `(cmd, args) => lab.spawn("public", cmd, args)` and the namespace's address).
//
// Ready means its log says the UDP listener is open: that works inside a namespace too, where
// this process's /proc/net/udp shows nothing.

import { type ChildProcess, spawn as spawnProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { allocatePorts, type PortBlock } from "./ports.ts";

export const TURNSERVER_BIN = "/usr/bin/turnserver";

export interface CoturnUser { user: string; password: string }

export interface CoturnOptions {
  /** Listening and relay address (default 127.0.0.1). */
  address?: string;
  /** UDP port; allocated on loopback when absent (3478 when `spawn` is given: a namespace of its own). */
  port?: number;
  /** Static long-term users (default u:p). */
  users?: CoturnUser[];
  realm?: string;
  /** STUN Binding only: coturn ignores every TURN request. */
  stunOnly?: boolean;
  /** Nonce lifetime in seconds (coturn's --stale-nonce), to provoke 438. */
  staleNonceS?: number;
  /** Caps every allocation's lifetime (--max-allocate-lifetime), to see refreshes in seconds. */
  maxAllocateLifetimeS?: number;
  /** Answers every Allocate with 300 Try Alternate to this "ip:port". */
  alternateServer?: string;
  /** Relay port range (default coturn's 49152..65535). */
  minPort?: number;
  maxPort?: number;
  /** Lets peers on 127.x relay (default: when address is a loopback one). */
  allowLoopbackPeers?: boolean;
  extraArgs?: string[];
  /** Starts the process (default: here); e.g. the NAT lab's namespace spawn. */
  spawn?: (cmd: string, args: string[]) => ChildProcess;
  keepDir?: boolean;
}

export interface CoturnServer {
  readonly port: number;
  readonly address: string;
  readonly realm: string;
  readonly dir: string;
  readonly logFile: string;
  /** The log so far. */
  log(): string;
  /** Waits for a log line matching pattern; the line. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

/** Why coturn cannot run here, or undefined when it can. */
export function coturnUnavailable(): string | undefined {
  if (!fs.existsSync(TURNSERVER_BIN)) return `${TURNSERVER_BIN} is missing: install the Debian package coturn`;
  return undefined;
}

export class CoturnError extends Error {
  constructor(message: string) { super(message); this.name = "CoturnError"; }
}

const SAFE = /^[A-Za-z0-9._~!$&'()*+,=@%-]+$/;
const running = new Set<ChildProcess>();
process.once("exit", () => { for (const c of running) c.kill("SIGKILL"); });

/** The command line (exported so a test can read what the server was told). */
export function coturnArgs(o: { address: string; port: number; dir: string } & CoturnOptions): string[] {
  const users = o.users ?? [{ user: "u", password: "p" }];
  for (const u of users) if (!SAFE.test(u.user) || !SAFE.test(u.password)) throw new CoturnError(`coturn: user '${u.user}' or its password has characters a command-line user cannot hold`);
  const realm = o.realm ?? "r";
  if (!SAFE.test(realm)) throw new CoturnError(`coturn: realm '${realm}' has characters it cannot hold`);
  const loopback = o.address.startsWith("127.") || o.address === "::1";
  const args = [
    "-n", "--no-cli", "--no-tls", "--no-dtls", "--no-tcp",
    "-L", o.address, "--relay-ip", o.address, "-p", String(o.port),
    "--pidfile", path.join(o.dir, "turnserver.pid"), "--userdb", path.join(o.dir, "turndb"),
    "--log-file", path.join(o.dir, "turnserver.log"), "--simple-log", "--no-stdout-log", "-v",
  ];
  if (o.stunOnly) args.push("--stun-only");
  else {
    args.push("--lt-cred-mech", "--realm", realm);
    for (const u of users) args.push("--user", `${u.user}:${u.password}`);
  }
  if (o.allowLoopbackPeers ?? loopback) args.push("--allow-loopback-peers");
  if (o.staleNonceS !== undefined) args.push(`--stale-nonce=${o.staleNonceS}`);
  if (o.maxAllocateLifetimeS !== undefined) args.push("--max-allocate-lifetime", String(o.maxAllocateLifetimeS));
  if (o.alternateServer !== undefined) args.push("--alternate-server", o.alternateServer);
  if (o.minPort !== undefined) args.push("--min-port", String(o.minPort));
  if (o.maxPort !== undefined) args.push("--max-port", String(o.maxPort));
  return [...args, ...(o.extraArgs ?? [])];
}

export async function startCoturn(opts: CoturnOptions = {}): Promise<CoturnServer> {
  const missing = coturnUnavailable();
  if (missing !== undefined) throw new CoturnError(missing);
  const address = opts.address ?? "127.0.0.1";
  const block: PortBlock | undefined = opts.port === undefined && opts.spawn === undefined ? await allocatePorts(1) : undefined;
  const port = opts.port ?? block?.first ?? 3478;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tincan-coturn-"));
  const logFile = path.join(dir, "turnserver.log");
  let args: string[];
  try {
    args = coturnArgs({ ...opts, address, port, dir });
  } catch (e) {
    block?.release();
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const child = opts.spawn ? opts.spawn(TURNSERVER_BIN, args) : spawnProcess(TURNSERVER_BIN, args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  let output = "";
  child.stdout?.on("data", (d: Buffer) => { output = (output + d.toString("utf8")).slice(-65536); });
  child.stderr?.on("data", (d: Buffer) => { output = (output + d.toString("utf8")).slice(-65536); });
  child.once("error", (e) => { output += `\n[spawn failed: ${e.message}]\n`; });
  let exited = false;
  const exitedP = new Promise<void>((resolve) => child.once("exit", (code, signal) => {
    exited = true;
    running.delete(child);
    output += `\n[turnserver exited, code ${code} signal ${signal}]\n`;
    resolve();
  }));
  const log = (): string => { try { return fs.readFileSync(logFile, "utf8"); } catch { return ""; } };

  const waitForLog = async (pattern: RegExp, timeoutMs = 5000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = log().split("\n").find((l) => pattern.test(l));
      if (line !== undefined) return line;
      if (exited) throw new CoturnError(`turnserver exited while waiting for ${pattern}: ${output.trim().split("\n").slice(-5).join(" | ")}\n${log().slice(-3000)}`);
      if (Date.now() > deadline) throw new CoturnError(`turnserver: no log line matching ${pattern} within ${timeoutMs} ms\n${log().slice(-3000)}`);
      await sleep(25);
    }
  };

  const stop = async (): Promise<void> => {
    if (!exited) {
      child.kill("SIGTERM");
      await Promise.race([exitedP, sleep(3000)]);
      if (!exited) { child.kill("SIGKILL"); await Promise.race([exitedP, sleep(2000)]); }
    }
    block?.release();
    if (!(opts.keepDir ?? false)) fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    const escaped = `${address}:${port}`.replace(/[.[\]]/g, "\\$&");
    await waitForLog(new RegExp(`UDP listener opened on\\s*:?\\s*${escaped}\\b`));
  } catch (e) {
    await stop();
    throw e;
  }
  return { port, address, realm: opts.realm ?? "r", dir, logFile, log, waitForLog, stop };
}
