// tincan flash: signed app images (and the native runtime) onto boards through their ROM
// loaders, several boards at once, A/B safe (host-tools/flash/flash-board.ts, docs/flashing.md).
//
// Everything about the image is checked before a port is opened: a wrong board, an unsigned,
// tampered, truncated or wrong-ABI image never reaches a board. Exit status: 0 when every board
// was flashed; 1 or 2 for an error before any board was touched (2: usage); otherwise 64 plus a
// bit mask of the boards that failed in --port order (bit 0 the first port, bit 5 the sixth or
// any later one).

import fs from "node:fs";
import { loadBoard, type BoardManifest } from "../boards.ts";
import { verifyImage, formatVersion, type ParsedImage } from "../flash/image.ts";
import { loadPublicKey } from "../flash/keys.ts";
import { flashBoard, type FlashResult } from "../flash/flash-board.ts";
import { ProgressBars } from "../flash/progress.ts";
import { autodetectPort } from "../link/ports.ts";
import { ABI_VERSION } from "../sim/abi.ts";
import { validateFirmware } from "../sim/validate.ts";
import { printJson, UsageError } from "./common.ts";

export interface FlashCommandOptions {
  board: string;
  port?: string[];
  baud?: string;
  runtime?: string;
  key?: string;
  reset?: boolean;
  checkBoot?: boolean;
  json?: boolean;
  verbose?: boolean;
}

function readFile(file: string, what: string): Uint8Array {
  try {
    return new Uint8Array(fs.readFileSync(file));
  } catch (e) {
    throw new Error(`${file}: cannot read the ${what} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** The host's checks, before any port is opened (the signature itself only with --key). */
export function checkImageForBoard(bytes: Uint8Array, board: BoardManifest, name: string, keyFile?: string): ParsedImage {
  const img = verifyImage(bytes, keyFile ? loadPublicKey(keyFile) : undefined, { board, abiVersion: ABI_VERSION, name });
  validateFirmware(img.module, board, name);
  return img;
}

function parseBaud(value: string | undefined, board: BoardManifest): number {
  if (value === undefined) return board.rom.defaultBaud;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--baud ${value}: a positive integer`);
  if (n > board.rom.maxBaud) throw new UsageError(`--baud ${value}: board ${board.id}'s loader goes up to ${board.rom.maxBaud}`);
  return n;
}

export async function flashCommand(imageFile: string, opts: FlashCommandOptions): Promise<void> {
  const board = loadBoard(opts.board);
  const bytes = readFile(imageFile, "image");
  const image = checkImageForBoard(bytes, board, imageFile, opts.key);
  const runtime = opts.runtime ? readFile(opts.runtime, "runtime") : undefined;
  const baud = parseBaud(opts.baud, board);
  const ports = opts.port?.length ? opts.port : [await autodetectPort(board.id)];
  if (new Set(ports).size !== ports.length) throw new UsageError("--port: the same port is named twice");

  const bars = opts.json ? undefined : new ProgressBars(process.stderr, ports);
  const outcomes = await Promise.all(ports.map(async (port, i) => {
    try {
      const r = await flashBoard({
        board, port, image, imageBytes: bytes, runtime, baud,
        noReset: opts.reset === false, checkBoot: opts.checkBoot !== false,
        progress: (phase, done, total) => bars?.update(i, phase, done, total),
        log: opts.verbose ? (line) => process.stderr.write(`${port}: ${line}\n`) : undefined,
      });
      bars?.finish(i, summaryNote(r));
      return { port, ok: true as const, result: r };
    } catch (e) {
      const message = (e as Error).message.split("\n")[0];
      bars?.finish(i, `FAILED: ${message}`);
      return { port, ok: false as const, error: message };
    }
  }));

  if (opts.json) {
    printJson({ image: imageFile, board: board.id, version: formatVersion(image.header.version), boards: outcomes });
  } else {
    process.stdout.write(table(outcomes));
  }
  let mask = 0;
  outcomes.forEach((o, i) => { if (!o.ok) mask |= 1 << Math.min(i, 5); });
  if (mask) process.exitCode = 64 + mask;
}

function summaryNote(r: FlashResult): string {
  const what = r.app === "already-running" ? `already running ${r.version}` : `${r.version} -> ${r.slot}`;
  const boot = r.booted ? `, booted and confirmed` : "";
  return `${what}, ${r.unitsWritten} units written, ${r.unitsUnchanged} unchanged, ${r.seconds.toFixed(1)} s${boot}`;
}

type Outcome = { port: string; ok: true; result: FlashResult } | { port: string; ok: false; error: string };

function table(outcomes: Outcome[]): string {
  const rows = [["port", "result", "chip", "slot", "written", "unchanged", "seconds", "KiB/s"]];
  for (const o of outcomes) {
    if (!o.ok) { rows.push([o.port, "FAILED", o.error, "", "", "", "", ""]); continue; }
    const r = o.result;
    rows.push([o.port, r.app === "already-running" ? "up to date" : "flashed", r.chip, r.slot ?? "-", `${r.unitsWritten} units`, `${r.unitsUnchanged} units`,
      r.seconds.toFixed(1), (bytesOf(r) / 1024 / r.seconds).toFixed(1)]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  return rows.map((row) => row.map((cell, c) => cell.padEnd(widths[c])).join("  ").trimEnd()).join("\n") + "\n";
}

const bytesOf = (r: FlashResult) => r.bytesWritten;
