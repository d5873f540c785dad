// Shared by the station tests: the CLI as a child process, a fresh factory CA, blank boards.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { startSim, type RunningSim } from "../../host-tools/sim/run.ts";
import { root, tempDir } from "./helpers.ts";

const cli = path.join(root, "dist", "tincan.mjs");
const firmware = path.join(root, "build", "firmware.wasm");
const PASSPHRASE = "correct horse battery staple, factory 7";
const env = { ...process.env, TINCAN_CA_PASSPHRASE: PASSPHRASE };

interface Run { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Runs `tincan ARGS` without blocking this process (the simulated boards run in it). */
export function tincan(args: string[], extraEnv: Record<string, string> = {}, killAfterMs?: number): Promise<Run> {
  const child = spawn(process.execPath, [cli, ...args], { cwd: root, env: { ...env, ...extraEnv }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const killer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), killAfterMs);
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  return new Promise((resolve) => child.on("close", (status, signal) => { clearTimeout(timer); clearTimeout(killer); resolve({ status, signal, stdout, stderr }); }));
}

export async function makeCa(): Promise<string> {
  const dir = path.join(tempDir("tincan-ca-"), "ca");
  const r = await tincan(["ca", "init", "--dir", dir]);
  assert.equal(r.status, 0, r.stderr);
  return dir;
}

export function bootBoards(n: number): Promise<{ sim: RunningSim; dir: string }[]> {
  return Promise.all(Array.from({ length: n }, async () => {
    const dir = tempDir("tincan-board-");
    return { sim: await startSim({ boardId: "sim", dir, firmware }), dir };
  }));
}

