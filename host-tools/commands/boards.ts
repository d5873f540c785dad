// tincan boards: the boards this tool knows (boards/*.json).

import { listBoards, partition } from "../boards.ts";
import { printJson } from "./common.ts";

export function boardsCommand(opts: { json?: boolean }): void {
  const boards = listBoards();
  if (opts.json) return printJson(boards);
  const kib = (n: number) => `${Math.round(n / 1024)} KiB`;
  for (const b of boards) {
    const usb = b.usb.map((u) => `${u.vid}:${u.pid}`).join(" ") || "-";
    process.stdout.write(`${b.id.padEnd(11)} ${b.name}\n`);
    process.stdout.write(`${"".padEnd(11)} ${b.mcu.part}, ${b.mcu.clockHz / 1e6} MHz; flash ${kib(b.memory.flashBytes)}; wasm ${b.wasm.memoryPages} pages (${b.wasm.memoryPages * 64} KiB), code <= ${kib(b.wasm.codeBytesMax)}\n`);
    process.stdout.write(`${"".padEnd(11)} rom ${b.rom.protocol} @ ${b.rom.defaultBaud} baud (max ${b.rom.maxBaud}); app slot ${kib(partition(b, "app_a").size)}; usb ${usb}\n`);
  }
}
