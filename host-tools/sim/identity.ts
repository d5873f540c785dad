// The simulated board's identity partition: identity.bin in the board directory holds exactly
// the raw IDENTITY record (boards/ABI.md); no file, no record. A write replaces the file
// atomically (temporary file, fsync, rename, fsync of the directory), so a simulator killed in
// the middle leaves the whole old record or the whole new one, as identity_write promises.
// The format is the firmware's to check; this store checks only what the ABI says it refuses.

import fs from "node:fs";
import path from "node:path";
import { ERR, IDENTITY_MAX } from "./abi.ts";

const MAGIC = Buffer.from("TCID", "ascii");
const TMP_MARK = ".tmp-";

export class IdentityStore {
  private current?: Buffer;
  private broken?: string;

  /** `locked` is the board's provisioning fuse (the Otp owns it). */
  constructor(readonly file: string, private readonly locked: () => boolean) {
    this.removeStaleTemporaries();
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
      this.broken = `cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
      return;
    }
    if (bytes.length > IDENTITY_MAX) this.broken = `${bytes.length} bytes, more than a record (${IDENTITY_MAX})`;
    else if (!hasMagic(bytes)) this.broken = "no TCID magic: not an identity record";
    else this.current = bytes;
  }

  /** Why the file found at open could not be used (undefined: it was fine, or absent). */
  get corrupt(): string | undefined { return this.broken; }

  /** The record, for the board's own use (its TLS client); undefined when none is usable. */
  record(): Buffer | undefined { return this.current ? Buffer.from(this.current) : undefined; }

  /** identity_read: the record, or ERR.NOT_FOUND (none written), ERR.IO (the file is corrupt). */
  read(): Buffer | number {
    if (this.current) return this.current;
    return this.broken ? ERR.IO : ERR.NOT_FOUND;
  }

  /** identity_write: ERR.OK, or ERR.DENIED (locked), ERR.NO_SPACE, ERR.INVALID, ERR.IO. */
  write(record: Uint8Array): number {
    if (this.locked()) return ERR.DENIED;
    if (record.length > IDENTITY_MAX) return ERR.NO_SPACE;
    if (!hasMagic(record)) return ERR.INVALID;
    const bytes = Buffer.from(record);
    const tmp = `${this.file}${TMP_MARK}${process.pid}`;
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      const fd = fs.openSync(tmp, "w", 0o644);
      try {
        fs.writeSync(fd, bytes);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, this.file);
      syncDirectory(path.dirname(this.file));
    } catch {
      fs.rmSync(tmp, { force: true });
      return ERR.IO;
    }
    this.current = bytes;
    this.broken = undefined;
    return ERR.OK;
  }

  /** A simulator killed between write and rename leaves its temporary file; it never counts. */
  private removeStaleTemporaries(): void {
    const dir = path.dirname(this.file);
    const prefix = `${path.basename(this.file)}${TMP_MARK}`;
    let names: string[] = [];
    try { names = fs.readdirSync(dir); } catch { return; }
    for (const n of names) if (n.startsWith(prefix)) fs.rmSync(path.join(dir, n), { force: true });
  }
}

function hasMagic(b: Uint8Array): boolean {
  return b.length >= MAGIC.length && Buffer.from(b.buffer, b.byteOffset, MAGIC.length).equals(MAGIC);
}

/** The rename is durable once the directory entry is (POSIX); best effort where it cannot be. */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch { /* some file systems refuse fsync on a directory */ } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
