// tincan hello / tincan monitor: talk to a board's console over its link.

import type { Hello } from "../link/frame.ts";
import readline from "node:readline";
import { ConsoleClient } from "../link/console.ts";
import { printJson, untilInterrupted, UsageError } from "./common.ts";
import { loadBoard } from "../boards.ts";
import { autodetectPort } from "../link/ports.ts";

export interface LinkCommandOptions { port?: string; board?: string; baud?: string; timeout?: string; json?: boolean }

/** The link to open: --port, or with --board alone the one serial port that is that board
 *  (by USB VID:PID); the baud rate: --baud, else the board's console baud. */
async function linkOptions(opts: LinkCommandOptions): Promise<{ url: string; baud?: number; timeoutMs: number }> {
  const timeoutMs = opts.timeout === undefined ? 1000 : Number(opts.timeout);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new UsageError(`--timeout ${opts.timeout}: milliseconds, a positive number`);
  let baud = opts.baud === undefined ? undefined : Number(opts.baud);
  if (baud !== undefined && (!Number.isInteger(baud) || baud <= 0)) throw new UsageError(`--baud ${opts.baud}: a baud rate is a positive integer`);
  const board = opts.board === undefined ? undefined : loadBoard(opts.board);
  if (baud === undefined && board) baud = board.console.baud;
  if (opts.port) return { url: opts.port, baud, timeoutMs };
  if (!board) throw new UsageError("no --port given: name the board's link (--port socket://127.0.0.1:5555, --port /dev/ttyUSB0), or --board to find its USB serial port");
  return { url: await autodetectPort(board.id), baud, timeoutMs };
}

export function formatHello(h: Hello): string {
  const lines = [
    `board      ${h.boardId}`,
    `firmware   ${h.firmwareVersion}`,
    `abi        ${h.abiVersion}`,
    `uptime     ${(h.uptimeMs / 1000).toFixed(3)} s`,
    `max frame  ${h.maxPayload} bytes of payload`,
  ];
  if (h.boot) lines.push(`image      ${h.boot.imageVersion} in ${h.boot.slot}, ${h.boot.testing ? "test boot (not confirmed yet)" : "confirmed"}, security counter ${h.boot.securityCounter}`);
  return lines.join("\n");
}

export async function helloCommand(opts: LinkCommandOptions): Promise<void> {
  const { url, baud, timeoutMs } = await linkOptions(opts);
  const client = await ConsoleClient.open(url, { baud });
  try {
    const hello = await client.hello({ timeoutMs });
    if (opts.json) printJson(hello);
    else process.stdout.write(`${formatHello(hello)}\n`);
  } finally {
    await client.close();
  }
}

/** Prints the device log; lines typed on stdin ("hello", "stats") are sent as commands. */
export async function monitorCommand(opts: LinkCommandOptions): Promise<void> {
  const { url, baud, timeoutMs } = await linkOptions(opts);
  const client = await ConsoleClient.open(url, { baud });
  client.onLog((line) => process.stdout.write(opts.json ? `${JSON.stringify({ log: line })}\n` : `${line}\n`));
  client.onEvent((ev) => process.stdout.write(`${JSON.stringify({ event: ev.command, bytes: ev.payload.length })}\n`));
  process.stderr.write(`monitoring ${url}; type 'hello' or 'stats', Ctrl-C to quit\n`);
  const closed = new Promise<string>((resolve) => client.link.onClose((err) => resolve(err ? err.message : "link closed")));
  const rl = process.stdin.isTTY || process.stdin.readable ? readline.createInterface({ input: process.stdin }) : undefined;
  rl?.on("line", async (text) => {
    const cmd = text.trim().toLowerCase();
    if (!cmd) return;
    try {
      if (cmd === "hello") process.stdout.write(`${formatHello(await client.hello({ timeoutMs }))}\n`);
      else if (cmd === "stats") process.stdout.write(`${JSON.stringify(await client.stats({ timeoutMs }))}\n`);
      else process.stderr.write(`unknown console command '${cmd}' (known: hello, stats)\n`);
    } catch (e) {
      process.stderr.write(`error: ${(e as Error).message}\n`);
    }
  });
  const why = await Promise.race([untilInterrupted(), closed]);
  rl?.close();
  await client.close();
  if (why !== "SIGINT" && why !== "SIGTERM") throw new Error(`${url}: ${why}`);
}
