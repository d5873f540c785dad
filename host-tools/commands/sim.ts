// tincan sim: boot a simulated board and keep it running until Ctrl-C.

import net from "node:net";
import { startSim } from "../sim/run.ts";
import { ANY_ADDRESS } from "../sim/udp.ts";
import { parsePort, untilInterrupted, printJson, UsageError } from "./common.ts";

export interface SimCommandOptions {
  board: string; firmware?: string; dir?: string; uartPort?: string; audioIn?: string; audioOut?: string; json?: boolean; quiet?: boolean; consoleBaud?: string;
  address?: string;
}

export async function simCommand(opts: SimCommandOptions): Promise<void> {
  const consoleBaud = opts.consoleBaud === undefined ? undefined : Number(opts.consoleBaud);
  if (consoleBaud !== undefined && (!Number.isInteger(consoleBaud) || consoleBaud <= 0)) throw new UsageError(`--console-baud ${opts.consoleBaud}: a baud rate is a positive integer`);
  if (opts.address !== undefined && opts.address !== ANY_ADDRESS && !net.isIPv4(opts.address)) throw new UsageError(`--address ${opts.address}: an IPv4 address (e.g. 127.0.0.5) or 'any'`);
  const sim = await startSim({
    boardId: opts.board,
    firmware: opts.firmware,
    dir: opts.dir,
    uartPort: opts.uartPort === undefined ? 0 : parsePort(opts.uartPort),
    audioIn: opts.audioIn,
    audioOut: opts.audioOut,
    reinstall: opts.firmware !== undefined,
    consoleBaud,
    address4: opts.address,
    onLog: opts.quiet || opts.json ? undefined : (line) => process.stdout.write(`${line}\n`),
  });
  if (opts.json) printJson({ board: opts.board, url: sim.url, flashUrl: sim.flashUrl, address: opts.address ?? "127.0.0.1" });
  else process.stdout.write(`board ${opts.board} running; console at ${sim.url}, flash it at ${sim.flashUrl} (Ctrl-C stops it)\n`);
  sim.device.on("crash", (reason: string) => process.stderr.write(`board crashed: ${reason}; resetting\n`));
  await untilInterrupted();
  await sim.stop();
}
