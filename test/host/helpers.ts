// Shared by the host tests: the built firmware, boards, and throwaway board directories.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadBoard } from "../../host-tools/boards.ts";
import { packageRoot } from "../../host-tools/paths.ts";
import { SimBoard, type SimOptions } from "../../host-tools/sim/board.ts";

export const root = packageRoot();

export function firmwareBytes(boardId = "sim"): Uint8Array {
  const file = boardId === "sim" ? path.join(root, "build", "firmware.wasm") : path.join(root, "build", "boards", boardId, "firmware.wasm");
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run 'npm run build' first (npm test does)`);
  return fs.readFileSync(file);
}

export function tempDir(prefix = "tincan-test-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A simulated board on the virtual clock, booted. */
export function virtualBoard(overrides: Partial<SimOptions> = {}): SimBoard {
  const board = new SimBoard({
    board: loadBoard("sim"),
    firmware: firmwareBytes(),
    dir: tempDir(),
    clock: "virtual",
    wallClockStartMs: Date.UTC(2026, 11, 1),
    ...overrides,
  });
  board.boot();
  return board;
}

/** Copies a region of the board's linear memory (test scratch: the UDP receive buffer). */
export function scratch(board: SimBoard): { ptr: number; bytes: Uint8Array } {
  const ex = board.exports as { udp_rx_buffer(): number; memory: WebAssembly.Memory };
  const ptr = ex.udp_rx_buffer();
  return { ptr, bytes: new Uint8Array(ex.memory.buffer, ptr, 2048) };
}
