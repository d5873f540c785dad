// Where the package's own files are, both from the TypeScript sources (host-tools/) and from
// the bundle (dist/tincan.mjs): each sits one folder below the package root.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (fs.existsSync(path.join(dir, "package.json")) && fs.existsSync(path.join(dir, "boards"))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
}

/** The firmware image a board runs when none is named: the release build. */
export function defaultFirmwarePath(boardId: string): string {
  const root = packageRoot();
  const perBoard = path.join(root, "build", "boards", boardId, "firmware.wasm");
  return fs.existsSync(perBoard) ? perBoard : path.join(root, "build", "firmware.wasm");
}
