// tincan sim: boot a simulated board and keep it running until Ctrl-C.

import { startSim } from "../sim/run.ts";
import { parsePort, untilInterrupted, printJson } from "./common.ts";

export interface SimCommandOptions {
  board: string; firmware?: string; dir?: string; uartPort?: string; audioIn?: string; audioOut?: string; json?: boolean; quiet?: boolean;
}

export async function simCommand(opts: SimCommandOptions): Promise<void> {
  const sim = await startSim({
    boardId: opts.board,
    firmware: opts.firmware,
    dir: opts.dir,
    uartPort: opts.uartPort === undefined ? 0 : parsePort(opts.uartPort),
    audioIn: opts.audioIn,
    audioOut: opts.audioOut,
    reinstall: opts.firmware !== undefined,
    onLog: opts.quiet || opts.json ? undefined : (line) => process.stdout.write(`${line}\n`),
  });
  if (opts.json) printJson({ board: opts.board, url: sim.url, flashUrl: sim.flashUrl });
  else process.stdout.write(`board ${opts.board} running; console at ${sim.url}, flash it at ${sim.flashUrl} (Ctrl-C stops it)\n`);
  sim.device.on("crash", (reason: string) => process.stderr.write(`board crashed: ${reason}; resetting\n`));
  await untilInterrupted();
  await sim.stop();
}
