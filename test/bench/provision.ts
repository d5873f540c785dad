// The factory station's figures (docs/provisioning.md): the time per board at one station with
// the console paced at 921600 baud, key generation included; 8 boards on 8 ports at once as a
// throughput ratio to one; and the time per board with 1,000,000 devices already in the
// factory database, as a ratio to an empty one. Run alone: `npm run bench:provision`.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadBoard } from "../../host-tools/boards.ts";
import { ConsoleClient } from "../../host-tools/link/console.ts";
import { startSim, type RunningSim } from "../../host-tools/sim/run.ts";
import { provisionBoard } from "../../host-tools/provision/station.ts";
import { FactoryCa } from "../../host-tools/provision/ca/index.ts";
import { initCa } from "../../host-tools/provision/ca/index.ts";
import { FactoryDb } from "../../host-tools/provision/db.ts";
import { fillDevices } from "../../host-tools/provision/db.ts";

const BAUD = 921600;
const board = loadBoard("sim");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "tincan-bench-provision-"));
process.env.TINCAN_CA_PASSPHRASE ??= "bench passphrase, not a secret";

async function boards(n: number): Promise<RunningSim[]> {
  return Promise.all(Array.from({ length: n }, () => startSim({ boardId: "sim", dir: fs.mkdtempSync(path.join(work, "board-")), consoleBaud: BAUD })));
}

/** Provisions fresh boards, `parallel` at a time on their own ports; seconds for all of them. */
async function run(ca: FactoryCa, db: FactoryDb, parallel: number): Promise<{ seconds: number; perBoard: number[] }> {
  const sims = await boards(parallel);
  try {
    const started = performance.now();
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
    return { seconds: (performance.now() - started) / 1000, perBoard };
  } finally {
    await Promise.all(sims.map((s) => s.stop()));
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
  for (let i = 0; i < 5; i++) singles.push((await run(ca, db, 1)).seconds);
  const one = median(singles);
  const eights: number[] = [];
  for (let i = 0; i < 3; i++) eights.push((await run(ca, db, 8)).seconds);
  const eight = median(eights);

  const empty = median([(await run(ca, db, 1)).seconds, (await run(ca, db, 1)).seconds, (await run(ca, db, 1)).seconds]);
  const bigDb = FactoryDb.open(path.join(work, "million.db"));
  const t0 = performance.now();
  fillDevices(bigDb, 1_000_000, board.serialPrefix ?? "TSM");
  const fillS = (performance.now() - t0) / 1000;
  const full = median([(await run(ca, bigDb, 1)).seconds, (await run(ca, bigDb, 1)).seconds, (await run(ca, bigDb, 1)).seconds]);

  const rows = [
    ["figure", "value", "reference", "ratio"],
    [`one board, ${BAUD} baud, keygen included (median of 5)`, `${one.toFixed(3)} s`, "target 3 s", (one / 3).toFixed(3)],
    ["8 boards on 8 ports at once (median of 3)", `${eight.toFixed(3)} s`, `8 x one board: ${(8 * one).toFixed(3)} s`, `throughput ${((8 * one) / eight).toFixed(2)}x (target >= 6x)`],
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
