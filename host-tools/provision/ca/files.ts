// How the CA writes its directory: every file whole or not at all (temp file, fsync, rename),
// new files never over old ones, and read-modify-write under a lock that a killed process
// does not leave held for ever.

import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { CaError } from "./errors.ts";

const errno = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

function tempName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(4).toString("hex")}.part`);
}

function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // Some file systems cannot fsync a directory; the rename is still atomic there.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Writes data to file atomically with the given mode (the temp file has that mode from its
 * creation, so a key is never readable by others, even for a moment). `replace: false` refuses
 * an existing file, also one made by another process at the same moment (link(2) is exclusive).
 */
export function writeFileAtomic(file: string, data: string | Uint8Array, opts: { mode?: number; replace: boolean }): void {
  const mode = opts.mode ?? 0o644;
  const temp = tempName(file);
  let fd: number | undefined;
  try {
    fd = fs.openSync(temp, "wx", mode);
    fs.fchmodSync(fd, mode);
    fs.writeSync(fd, typeof data === "string" ? Buffer.from(data, "utf8") : data);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    if (opts.replace) fs.renameSync(temp, file);
    else fs.linkSync(temp, file);
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    if (errno(e) === "EEXIST" && !opts.replace) throw new CaError(`${file}: already exists; not overwriting it`);
    throw new CaError(`${file}: cannot write (${errno(e)})`);
  } finally {
    fs.rmSync(temp, { force: true });
  }
  syncDir(path.dirname(file));
}

export function readText(file: string, what: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new CaError(`${file}: cannot read ${what} (${errno(e)})`);
  }
}

const LOCK_WAIT_MS = 10_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errno(e) === "EPERM";
  }
}

/** Runs fn holding DIR/ca.lock; a lock whose holder has died (a killed station) is taken over. */
export async function withLock<T>(dir: string, fn: () => Promise<T> | T): Promise<T> {
  const lock = path.join(dir, "ca.lock");
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fd = fs.openSync(lock, "wx", 0o600);
      fs.writeSync(fd, `${process.pid}\n`);
      fs.closeSync(fd);
      break;
    } catch (e) {
      if (errno(e) !== "EEXIST") throw new CaError(`${lock}: cannot lock the CA directory (${errno(e)})`);
      let holder: number;
      try {
        holder = Number.parseInt(fs.readFileSync(lock, "utf8"), 10);
      } catch {
        continue; // released between the two calls
      }
      // A lock with no pid yet is one being written this instant: wait for it like any other.
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && !alive(holder)) {
        fs.rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new CaError(`${lock}: the CA is busy (held by process ${holder || "?"} for over ${LOCK_WAIT_MS / 1000} s)`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}
