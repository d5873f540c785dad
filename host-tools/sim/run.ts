// Starts a simulated board for a person or a test: firmware from a file, a board directory,
// the console UART on socket://127.0.0.1:PORT, audio from a source to a sink.

import fs from "node:fs";
import path from "node:path";
import { loadBoard } from "../boards.ts";
import { defaultFirmwarePath } from "../paths.ts";
import { SimBoard } from "./board.ts";
import { UartServer } from "./uart-server.ts";
import { audioSourceFromSpec, wavSink, discardSink } from "./audio.ts";
import { FirmwareError } from "./validate.ts";

export interface RunningSim { board: SimBoard; url: string; stop(): Promise<void> }

export interface StartSimOptions {
  boardId: string;
  firmware?: string;
  dir?: string;
  uartPort?: number;
  audioIn?: string;
  audioOut?: string;
  clock?: "real" | "virtual";
  resetOnCrash?: boolean;
}

export function readFirmware(file: string): Uint8Array {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new FirmwareError(`${file}: firmware image not found; build it with 'npm run build' or name one with --firmware`);
    throw new FirmwareError(`${file}: cannot read firmware image (${code ?? (e as Error).message})`);
  }
}

export async function startSim(opts: StartSimOptions): Promise<RunningSim> {
  const manifest = loadBoard(opts.boardId);
  const firmwarePath = opts.firmware ?? defaultFirmwarePath(manifest.id);
  const dir = opts.dir ?? path.join(".tincan", "sim", manifest.id);
  const rate = manifest.audio.sampleRateHz;
  const audioIn = audioSourceFromSpec(opts.audioIn ?? "silence", rate);
  const board = new SimBoard({
    board: manifest,
    firmware: readFirmware(firmwarePath),
    firmwareName: firmwarePath,
    dir,
    clock: opts.clock ?? "real",
    audioIn,
    audioOut: opts.audioOut ? wavSink(opts.audioOut, rate) : discardSink(),
    resetOnCrash: opts.resetOnCrash ?? true,
  });
  const server = new UartServer(board);
  const url = await server.listen(opts.uartPort ?? 0);
  board.boot();
  if (board.state === "crashed") {
    board.stop();
    await server.close();
    throw new FirmwareError(`${firmwarePath}: the board did not boot: ${board.crashReason}`);
  }
  return {
    board,
    url,
    async stop() {
      board.stop();
      await server.close();
    },
  };
}
