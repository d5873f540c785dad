// The simulated board's flash chip: one file (flash.bin in the board directory), the size of the
// manifest's flash, with NOR semantics: erase sets a whole erase unit to 0xFF, programming can
// only clear bits (new = old AND data), so a tool that forgets to erase gets corrupt data, as on
// the real part. Writes go straight to the file (pwrite), so a simulator killed mid-flash leaves
// exactly the bytes that were programmed: what a power cut leaves.

import fs from "node:fs";
import path from "node:path";
import type { BoardManifest, Partition } from "../boards.ts";

export class FlashError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FlashError";
  }
}

/** Hooks tests use to inject faults: throw from one to stop the operation part way. */
export interface FlashFaults {
  beforeErase?(offset: number, length: number): void;
  beforeWrite?(offset: number, length: number): void;
}

const CHUNK = 1 << 20;

export class SimFlash {
  readonly size: number;
  readonly eraseBytes: number;
  /** Address of offset 0 on the chip's bus (0 for SPI flash, 0x08000000 on an STM32). */
  readonly baseAddress: number;
  faults: FlashFaults = {};
  /** Bytes programmed and erase units erased since the simulator started (benchmarks, tests). */
  stats = { bytesWritten: 0, unitsErased: 0 };
  private fd: number;

  constructor(readonly file: string, readonly board: BoardManifest) {
    this.size = board.memory.flashBytes;
    this.eraseBytes = board.flash.eraseBytes;
    this.baseAddress = board.flash.baseAddress;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const exists = fs.existsSync(file);
    this.fd = fs.openSync(file, exists ? "r+" : "w+");
    const have = fs.fstatSync(this.fd).size;
    if (have !== this.size) {
      if (exists && have !== 0) {
        fs.closeSync(this.fd);
        throw new FlashError(`${file}: holds ${have} bytes, but board ${board.id} has ${this.size} bytes of flash; move it away to start with an erased flash`);
      }
      this.fillErased(0, this.size); // a new chip comes erased
    }
  }

  /** The partition with this role, from the manifest. */
  partition(role: string): Partition {
    const p = this.board.flash.partitions.find((x) => x.role === role);
    if (!p) throw new FlashError(`board ${this.board.id} has no partition with role "${role}"`);
    return p;
  }

  read(offset: number, length: number): Uint8Array {
    this.check(offset, length, "read");
    const out = new Uint8Array(length);
    fs.readSync(this.fd, out, 0, length, offset);
    return out;
  }

  /** Programs bytes (NOR: each byte becomes old AND new). */
  write(offset: number, data: Uint8Array): void {
    this.check(offset, data.length, "write");
    this.faults.beforeWrite?.(offset, data.length);
    const old = this.read(offset, data.length);
    for (let i = 0; i < data.length; i++) old[i] &= data[i];
    fs.writeSync(this.fd, old, 0, old.length, offset);
    this.stats.bytesWritten += data.length;
  }

  /** Erases whole erase units; offset and length must be aligned to them. */
  erase(offset: number, length: number): void {
    this.check(offset, length, "erase");
    if (offset % this.eraseBytes !== 0 || length % this.eraseBytes !== 0)
      throw new FlashError(`erase at 0x${offset.toString(16)} length 0x${length.toString(16)} is not aligned to the ${this.eraseBytes}-byte erase unit`);
    this.faults.beforeErase?.(offset, length);
    this.fillErased(offset, length);
    this.stats.unitsErased += length / this.eraseBytes;
  }

  /** Erases the units that cover [offset, offset+length). */
  eraseCovering(offset: number, length: number): void {
    if (length === 0) return;
    const start = Math.floor(offset / this.eraseBytes) * this.eraseBytes;
    const end = Math.ceil((offset + length) / this.eraseBytes) * this.eraseBytes;
    this.erase(start, end - start);
  }

  eraseAll(): void { this.erase(0, this.size); }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }

  private fillErased(offset: number, length: number): void {
    const ff = Buffer.alloc(Math.min(CHUNK, length), 0xff);
    for (let at = offset; at < offset + length; at += ff.length) fs.writeSync(this.fd, ff, 0, Math.min(ff.length, offset + length - at), at);
  }

  private check(offset: number, length: number, what: string): void {
    if (this.fd < 0) throw new FlashError(`${this.file}: the flash is closed`);
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > this.size)
      throw new FlashError(`${what} at 0x${offset.toString(16)} length 0x${length.toString(16)} is outside the ${this.size}-byte flash`);
  }
}
