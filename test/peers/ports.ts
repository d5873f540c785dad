// Free loopback ports for the peers the call tests start (SIP, RTP, control sockets).
//
// Why not just "bind to 0 and read": the kernel hands out ports from its ephemeral range
// (ip_local_port_range, 32768-60999 here), and any socket opened later by anyone (baresip's
// RTP, a TCP client) may be given the same port again before the peer binds it. So ports are
// picked below that range, checked free for both UDP and TCP by binding them, and reserved
// across processes (node --test runs test files in parallel processes) with a lock file per
// port, created exclusively. A lock is stale once its process is gone, or after LOCK_MAX_AGE_MS.

import dgram from "node:dgram";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

/** Ports are drawn from [RANGE_START, RANGE_END): under the kernel's ephemeral range. */
const RANGE_START = 20000;
const RANGE_END = 32000;
const LOCK_DIR = path.join(os.tmpdir(), "tincan-port-locks");
const LOCK_MAX_AGE_MS = 30 * 60 * 1000;
const MAX_TRIES = 200;

export interface PortBlock {
  /** First port of the block. */
  readonly first: number;
  /** Number of consecutive ports, all free for UDP and TCP when allocated. */
  readonly count: number;
  /** Removes the reservation (the ports may be handed out again). Safe to call twice. */
  release(): void;
}

const held = new Set<number>();
let exitHookInstalled = false;

function lockFile(port: number): string {
  return path.join(LOCK_DIR, String(port));
}

/** Whether a process with this pid exists (ours or another user's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function createLock(port: number): boolean {
  try {
    fs.writeFileSync(lockFile(port), String(process.pid), { flag: "wx" });
    held.add(port);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    return false;
  }
}

/** A lock left by a process that is gone, or older than any test run. */
function lockStale(port: number): boolean {
  try {
    const owner = Number(fs.readFileSync(lockFile(port), "utf8"));
    const age = Date.now() - fs.statSync(lockFile(port)).mtimeMs;
    if (owner === process.pid) return false;
    return !(Number.isInteger(owner) && owner > 0 && processAlive(owner)) || age > LOCK_MAX_AGE_MS;
  } catch {
    return false; // released meanwhile: let the caller try another port
  }
}

/** Takes the lock of one port; false when another live process (or this one) holds it. */
function tryLock(port: number): boolean {
  if (createLock(port)) return true;
  if (!lockStale(port)) return false;
  fs.rmSync(lockFile(port), { force: true });
  return createLock(port);
}

function unlock(port: number): void {
  if (!held.delete(port)) return;
  fs.rmSync(lockFile(port), { force: true });
}

function udpFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
    s.once("error", () => { s.close(); resolve(false); });
    s.bind(port, host, () => s.close(() => resolve(true)));
  });
}

function tcpFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

async function portFree(port: number): Promise<boolean> {
  return (await udpFree(port, "127.0.0.1")) && (await tcpFree(port, "127.0.0.1"));
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => { for (const p of [...held]) unlock(p); });
}

/** Reserves `count` consecutive loopback ports free for UDP and TCP, aligned to `align` (2 for an RTP/RTCP pair). */
export async function allocatePorts(count = 1, align = 1): Promise<PortBlock> {
  if (!Number.isInteger(count) || count < 1 || count > 1000) throw new RangeError(`allocatePorts: count must be 1..1000, got ${count}`);
  fs.mkdirSync(LOCK_DIR, { recursive: true });
  installExitHook();
  for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
    let first = RANGE_START + Math.floor(Math.random() * (RANGE_END - RANGE_START - count));
    first -= first % align;
    const locked: number[] = [];
    let ok = true;
    for (let p = first; p < first + count && ok; p++) {
      if (tryLock(p)) locked.push(p);
      else ok = false;
    }
    for (let p = first; p < first + count && ok; p++) ok = await portFree(p);
    if (ok) {
      let released = false;
      return {
        first,
        count,
        release() {
          if (released) return;
          released = true;
          for (const p of locked) unlock(p);
        },
      };
    }
    for (const p of locked) unlock(p);
  }
  throw new Error(`no ${count} free consecutive loopback port(s) found in ${RANGE_START}-${RANGE_END} after ${MAX_TRIES} tries`);
}

/** One free loopback port (UDP and TCP), reserved until `release()`. */
export async function allocatePort(): Promise<PortBlock> {
  return allocatePorts(1);
}
