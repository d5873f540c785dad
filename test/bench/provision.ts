// The factory station's figures (docs/provisioning.md): the time per board at one station with
// the console paced at 921600 baud, key generation included; 8 boards on 8 ports at once as a
// throughput ratio to one; and the time per board with 1,000,000 devices already in the
// factory database, as a ratio to an empty one. Run alone: `npm run bench:provision`.
//
// Each board is its own process (`tincan sim`), as each real board has its own MCU, its secure
// element's execution times from the manifest, and its UART paced at the line rate; the station
// is this process, whose own CPU time per board is printed too: it bounds how many boards one
// station process can serve at once.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadBoard } from "../../host-tools/boards.ts";
import { ConsoleClient } from "../../host-tools/link/console.ts";
import { spawn, type ChildProcess } from "node:child_process";
import readline from "node:readline";
import { provisionBoard } from "../../host-tools/provision/station.ts";
import { FactoryCa, initCa } from "../../host-tools/provision/ca/index.ts";
import { FactoryDb, fillDevices } from "../../host-tools/provision/db.ts";
import { serialPrefix } from "../../host-tools/provision/serial.ts";

const BAUD = 921600;
// How many boards at once for the parallel figure (8 by default; fewer shows how it scales).
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 8);
const board = loadBoard("sim");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "tincan-bench-provision-"));
process.env.TINCAN_CA_PASSPHRASE ??= "bench passphrase, not a secret";

const cli = path.join(import.meta.dirname, "..", "..", "dist", "tincan.mjs");

interface BoardProcess { url: string; child: ChildProcess }

/** A fresh simulated board in a process of its own; resolves with its console link. */
function startBoard(): Promise<BoardProcess> {
  const dir = fs.mkdtempSync(path.join(work, "board-"));
  // Niced: the simulators' own CPU (V8 running what a board's MCU and secure element would) must
  // not be charged to the station, which gets the machine's cores first, as it would on a line.
  const child = spawn("nice", ["-n", "10", process.execPath, cli, "sim", "--board", "sim", "--dir", dir, "--console-baud", String(BAUD), "--json"], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let text = "";
    child.once("exit", (code) => reject(new Error(`tincan sim exited (${code}) before it printed its link`)));
    child.stdout!.on("data", (d) => {
      text += d;
      try {
        const { url } = JSON.parse(text) as { url: string };
        resolve({ url, child });
      } catch { /* not all of it yet */ }
    });
  });
}

async function boards(n: number): Promise<BoardProcess[]> {
  return Promise.all(Array.from({ length: n }, startBoard));
}

/** Provisions fresh boards, `parallel` at a time on their own ports; seconds for all of them. */
async function run(ca: FactoryCa, db: FactoryDb, parallel: number): Promise<{ seconds: number; perBoard: number[]; cpuMs: number }> {
  const sims = await boards(parallel);
  try {
    const started = performance.now();
    const cpu0 = process.cpuUsage();
    const perBoard = await Promise.all(sims.map(async (sim) => {
      const t0 = performance.now();
      const console = await ConsoleClient.open(sim.url, { baud: BAUD });
      try {
        await provisionBoard(console, { board, ca, db, station: "bench" });
      } finally {
        await console.close();
      }
      return (performance.now() - t0) / 1000;
    }));
    const cpu = process.cpuUsage(cpu0);
    return { seconds: (performance.now() - started) / 1000, perBoard, cpuMs: (cpu.user + cpu.system) / 1000 / parallel };
  } finally {
    for (const s of sims) s.child.kill();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const caDir = path.join(work, "ca");
  await initCa(caDir, {});
  const ca = await FactoryCa.open(caDir);
  const db = FactoryDb.open(path.join(work, "factory.db"));
  await run(ca, db, 1); // warm-up: JIT, the firmware module

  const singles: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await run(ca, db, 1);
    singles.push(r.seconds);
    cpus.push(r.cpuMs);
  }
  const one = median(singles);
  const stationCpuMs = median(cpus);
  const eights: number[] = [];
  const eightCpu: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await run(ca, db, PARALLEL);
    eights.push(r.seconds);
    eightCpu.push(r.cpuMs);
    if (process.argv.includes("--verbose")) process.stdout.write(`${PARALLEL} at once: ${r.seconds.toFixed(3)} s, boards ${r.perBoard.map((x) => x.toFixed(3)).join(" ")}, station CPU ${r.cpuMs.toFixed(1)} ms per board\n`);
  }
  const eight = median(eights);

  // --quick: leave out the million-device database (filling it takes over a minute).
  const quick = process.argv.includes("--quick");
  const empty = quick ? NaN : median([(await run(ca, db, 1)).seconds, (await run(ca, db, 1)).seconds, (await run(ca, db, 1)).seconds]);
  const bigDb = FactoryDb.open(path.join(work, "million.db"));
  const t0 = performance.now();
  if (!quick) fillDevices(bigDb, 1_000_000, serialPrefix(board));
  const fillS = (performance.now() - t0) / 1000;
  const full = quick ? NaN : median([(await run(ca, bigDb, 1)).seconds, (await run(ca, bigDb, 1)).seconds, (await run(ca, bigDb, 1)).seconds]);

  const rows = [
    ["figure", "value", "reference", "ratio"],
    [`one board, ${BAUD} baud, keygen included (median of 5)`, `${one.toFixed(3)} s`, "target 3 s", (one / 3).toFixed(3)],
    ["the station's own CPU per board (median of 5)", `${stationCpuMs.toFixed(1)} ms`, `one board's wall time: ${(one * 1000).toFixed(0)} ms`, `${((one * 1000) / stationCpuMs).toFixed(1)} boards per core at once`],
    [`${PARALLEL} boards on ${PARALLEL} ports at once (median of 3)`, `${eight.toFixed(3)} s`, `${PARALLEL} x one board: ${(PARALLEL * one).toFixed(3)} s`, `throughput ${((PARALLEL * one) / eight).toFixed(2)}x (target >= 6x for 8)`],
    [`the station's own CPU per board, ${PARALLEL} at once`, `${median(eightCpu).toFixed(1)} ms`, "", ""],
    ["one board, 1,000,000 devices in the database", `${full.toFixed(3)} s`, `empty database: ${empty.toFixed(3)} s`, (full / empty).toFixed(3)],
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  process.stdout.write(rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join("  ")).join("\n") + "\n");
  process.stdout.write(`(filling 1,000,000 devices took ${fillS.toFixed(1)} s; ${os.cpus().length} cores)\n`);
  db.close();
  bigDb.close();
  fs.rmSync(work, { recursive: true, force: true });
}

await main();
