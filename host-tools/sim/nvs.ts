// The simulated board's non-volatile store: a key/value file under the board directory.
// Every write replaces the file atomically (write a temporary file, fsync, rename), so a
// crash of the simulator leaves the old store or the new one, as the ABI promises.

import fs from "node:fs";
import path from "node:path";
import { ERR, NVS_KEY_MAX, NVS_VALUE_MAX } from "./abi.ts";

const KEY_PATTERN = /^[a-z0-9._-]{1,15}$/;
const FORMAT = "tincan-nvs/1";
// Per entry, what a flash key/value store spends besides the value (ESP-IDF NVS: 32-byte entries).
const ENTRY_OVERHEAD = 32;

export class StoreError extends Error {}

export class NvsStore {
  private readonly entries = new Map<string, Buffer>();

  constructor(readonly file: string, readonly capacityBytes: number) {
    if (!fs.existsSync(file)) return;
    let doc: unknown;
    try {
      doc = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
      throw new StoreError(`${file}: the non-volatile store is not valid JSON (${(e as Error).message}); move it away to start the board with an empty store`);
    }
    const d = doc as { format?: unknown; entries?: unknown };
    if (d === null || typeof d !== "object" || d.format !== FORMAT || typeof d.entries !== "object" || d.entries === null) {
      throw new StoreError(`${file}: not a Tincan non-volatile store (expected format "${FORMAT}")`);
    }
    for (const [key, value] of Object.entries(d.entries as Record<string, unknown>)) {
      if (!KEY_PATTERN.test(key) || typeof value !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
        throw new StoreError(`${file}: corrupt entry ${JSON.stringify(key).slice(0, 40)}; move the file away to start with an empty store`);
      }
      this.entries.set(key, Buffer.from(value, "base64"));
    }
  }

  static validKey(key: string): boolean { return KEY_PATTERN.test(key) && key.length <= NVS_KEY_MAX; }

  read(key: string): Buffer | undefined { return this.entries.get(key); }

  keys(): string[] { return [...this.entries.keys()].sort(); }

  usedBytes(entries = this.entries): number {
    let n = 0;
    for (const [k, v] of entries) n += ENTRY_OVERHEAD + k.length + v.length;
    return n;
  }

  /** Returns 0 or an ABI error code. */
  write(key: string, value: Uint8Array): number {
    if (!NvsStore.validKey(key) || value.length > NVS_VALUE_MAX) return ERR.INVALID;
    const next = new Map(this.entries);
    next.set(key, Buffer.from(value));
    if (this.usedBytes(next) > this.capacityBytes) return ERR.NO_SPACE;
    return this.commit(next);
  }

  erase(key: string): number {
    if (!this.entries.has(key)) return ERR.NOT_FOUND;
    const next = new Map(this.entries);
    next.delete(key);
    return this.commit(next);
  }

  private commit(next: Map<string, Buffer>): number {
    const doc = { format: FORMAT, entries: Object.fromEntries([...next].map(([k, v]) => [k, v.toString("base64")])) };
    const tmp = `${this.file}.tmp-${process.pid}`;
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      const fd = fs.openSync(tmp, "w", 0o600);
      try {
        fs.writeSync(fd, JSON.stringify(doc));
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, this.file);
    } catch {
      fs.rmSync(tmp, { force: true });
      return ERR.IO;
    }
    this.entries.clear();
    for (const [k, v] of next) this.entries.set(k, v);
    return ERR.OK;
  }
}
