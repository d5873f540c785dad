// Builds and runs the C reference harnesses of the tests (spandsp_ref.c, libsrtp_ref.c): each a
// stdin -> stdout filter over a library nobody here wrote, compiled on demand into
// build/reference/ (a temporary name, then a rename, so concurrent test processes never run a
// half-written binary) and rebuilt when its source is newer.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { packageRoot } from "../../host-tools/paths.ts";

/** The reference cannot run here: a tool or library is not installed. The message names the package. */
export class ReferenceUnavailable extends Error {
  override name = "ReferenceUnavailable";
}

export interface Harness {
  /** The program's name, build/reference/<name>. */
  name: string;
  /** Its C source in test/reference/. */
  source: string;
  /** Compiler/linker flags to try in order (the first that links wins). */
  flags(): string[][];
  /** gcc output meaning the library's headers are missing, and the one-line hint then. */
  noHeaders: RegExp;
  noHeadersHint: string;
  /** gcc output meaning the linker cannot find the library, and the hint then. */
  noLibrary: RegExp;
  noLibraryHint: string;
}

const MAX_BUFFER = 1 << 30;
const built = new Map<string, string>();

/** The path of a harness's binary, building it first when it is missing or stale. */
export function harnessBinary(h: Harness): string {
  const known = built.get(h.name);
  if (known !== undefined && fs.existsSync(known)) return known;
  const src = path.join(packageRoot(), "test", "reference", h.source);
  const out = path.join(packageRoot(), "build", "reference", h.name);
  const outStat = fs.statSync(out, { throwIfNoEntry: false });
  if (outStat === undefined || outStat.mtimeMs < fs.statSync(src).mtimeMs) compile(h, src, out);
  built.set(h.name, out);
  return out;
}

function compile(h: Harness, src: string, out: string): void {
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  let lastError = "";
  try {
    for (const flags of h.flags()) {
      const r = spawnSync("gcc", ["-O2", "-std=c99", "-Wall", "-o", tmp, src, ...flags], { encoding: "utf8" });
      if (r.error !== undefined) {
        if ((r.error as NodeJS.ErrnoException).code === "ENOENT") throw new ReferenceUnavailable("gcc is not installed: install the Debian package gcc");
        throw new Error(`cannot run gcc: ${r.error.message}`);
      }
      if (r.status === 0) {
        fs.renameSync(tmp, out);
        return;
      }
      lastError = r.stderr;
      if (h.noHeaders.test(r.stderr)) throw new ReferenceUnavailable(h.noHeadersHint);
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  if (h.noLibrary.test(lastError)) throw new ReferenceUnavailable(h.noLibraryHint);
  throw new Error(`cannot build ${path.basename(out)} from ${src}: ${lastError.trim().split("\n").slice(0, 3).join(" | ")}`);
}

/** Runs a harness: `args` as its command line, `input` on stdin; returns stdout, or throws
 *  with the program's own one-line error. `label` names the call in that error. */
export function runHarness(h: Harness, args: string[], input: Uint8Array, label = args.join(" ")): Uint8Array {
  const r = spawnSync(harnessBinary(h), args, { input, maxBuffer: MAX_BUFFER });
  // EPIPE: the program exited (on an error) before reading all of stdin; its exit says why.
  const epipe = (r.error as NodeJS.ErrnoException | undefined)?.code === "EPIPE" && r.status !== null;
  if (r.error !== undefined && !epipe) throw new Error(`${h.name} ${label}: ${r.error.message}`);
  if (epipe && r.status === 0) throw new Error(`${h.name} ${label}: exited without reading all its input`);
  if (r.status !== 0) {
    const why = r.stderr.toString("utf8").trim() || (r.signal !== null ? `killed by ${r.signal}` : `exit ${r.status}`);
    throw new Error(`${h.name} ${label} failed: ${why}`);
  }
  return new Uint8Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.byteLength);
}
