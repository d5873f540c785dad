// tincan provision --board B --port P [--port P2 ...]: the factory station (docs/provisioning.md).
// Every board on its own port, in parallel, one progress line each; the exit code is 64 plus
// a bit mask of the boards that failed, in --port order, as `tincan flash` does.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadBoard } from "../boards.ts";
import { ConsoleClient } from "../link/console.ts";
import { autodetectPort } from "../link/ports.ts";
import { ProgressBars } from "../flash/progress.ts";
import { provisionBoard, STATION_STEPS, type ProvisionResult, type StationStep } from "../provision/station.ts";
import { FactoryDb } from "../provision/db.ts";
import { FactoryCa } from "../provision/ca/index.ts";
import { labelSvg } from "../provision/label.ts";
import { printJson, UsageError } from "./common.ts";

export interface ProvisionOptions {
  board: string;
  port?: string[];
  baud?: string;
  ca: string;
  db: string;
  station?: string;
  labels?: string;
  reissue?: boolean;
  timeout?: string;
  json?: boolean;
}

type Outcome = { port: string; ok: true; result: ProvisionResult; seconds: number } | { port: string; ok: false; error: string; step?: StationStep; seconds: number };

export async function provisionCommand(opts: ProvisionOptions): Promise<void> {
  const board = loadBoard(opts.board);
  const ports = opts.port?.length ? opts.port : [await autodetectPort(board.id)];
  if (new Set(ports).size !== ports.length) throw new UsageError("--port: the same port is named twice");
  const baud = opts.baud === undefined ? board.console.baud : Number(opts.baud);
  if (!Number.isInteger(baud) || baud <= 0) throw new UsageError(`--baud ${opts.baud}: a baud rate is a positive integer`);
  const timeoutMs = opts.timeout === undefined ? 3000 : Number(opts.timeout);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new UsageError(`--timeout ${opts.timeout}: milliseconds, a positive number`);
  const station = opts.station ?? os.hostname();
  const ca = await FactoryCa.open(opts.ca);
  const db = FactoryDb.open(opts.db, { station });
  const crashAt = faultInjection();
  const bars = opts.json ? undefined : new ProgressBars(process.stderr, ports);
  try {
    const outcomes = await Promise.all(ports.map(async (port, i): Promise<Outcome> => {
      const started = Date.now();
      let console: ConsoleClient | undefined;
      let current: StationStep | undefined;
      try {
        console = await ConsoleClient.open(port, { baud });
        const result = await provisionBoard(console, {
          board, ca, db, station, reissue: opts.reissue, timeoutMs,
          onStep: (s) => { current = s; bars?.update(i, s, STATION_STEPS.indexOf(s), STATION_STEPS.length); },
          beforeStep: crashAt,
        });
        if (opts.labels) writeLabel(opts.labels, result, board.id);
        const seconds = (Date.now() - started) / 1000;
        bars?.finish(i, `${result.serial} ${result.outcome === "verified" ? "already provisioned, verified" : "provisioned"} in ${seconds.toFixed(2)} s`);
        return { port, ok: true, result, seconds };
      } catch (e) {
        const message = (e as Error).message.split("\n")[0];
        bars?.finish(i, `FAILED: ${message}`);
        return { port, ok: false, error: message, step: current, seconds: (Date.now() - started) / 1000 };
      } finally {
        await console?.close().catch(() => {});
      }
    }));
    if (opts.json) printJson({ board: board.id, station, boards: outcomes });
    else process.stdout.write(table(outcomes));
    let mask = 0;
    outcomes.forEach((o, i) => { if (!o.ok) mask |= 1 << Math.min(i, 5); });
    if (mask) process.exitCode = 64 + mask;
  } finally {
    db.close();
  }
}

function writeLabel(dir: string, r: ProvisionResult, board: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${r.serial}.svg`);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, labelSvg({ serial: r.serial, board, chipIdHex: r.chipId }));
  fs.renameSync(tmp, file);
}

function table(outcomes: Outcome[]): string {
  const rows = [["port", "result", "serial", "chip", "seconds"]];
  for (const o of outcomes) {
    if (!o.ok) rows.push([o.port, "FAILED", o.error, "", o.seconds.toFixed(2)]);
    else rows.push([o.port, o.result.outcome, o.result.serial, o.result.chipId, o.seconds.toFixed(2)]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  return rows.map((row) => row.map((cell, c) => cell.padEnd(widths[c])).join("  ").trimEnd()).join("\n") + "\n";
}

/**
 * TINCAN_STATION_CRASH=<step>[:<n>]: the process kills itself (SIGKILL, no clean-up: a power
 * cut or an operator's kill -9) as the n-th board (default the first) reaches that step. The
 * station's fault tests use it; it does nothing unless set.
 */
function faultInjection(): ((step: StationStep) => void) | undefined {
  const spec = process.env.TINCAN_STATION_CRASH;
  if (!spec) return undefined;
  const [name, countText] = spec.split(":");
  if (!STATION_STEPS.includes(name as StationStep)) throw new UsageError(`TINCAN_STATION_CRASH=${spec}: the step is one of ${STATION_STEPS.join(", ")}`);
  let left = countText === undefined ? 1 : Number(countText);
  return (step) => {
    if (step === name && --left === 0) process.kill(process.pid, "SIGKILL");
  };
}
