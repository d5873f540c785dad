// One-time-programmable fuses of the simulated board: the image security counter, the chip id
// and the provisioning lock. Like eFuses (ESP32) or a monotonic counter in the STM32's secure
// area, they only go one way (the counter up, the lock on), and no flash write through the ROM
// loader can touch them. Kept in otp.json in the board directory; the chip id is made (8 random
// bytes) when the file is first created, as a chip factory burns it once.

import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

const CHIP_ID_BYTES = 8;

interface Fuses { securityCounter: number; chipId: string; locked: boolean }

export class Otp {
  private fuses: Fuses;

  constructor(readonly file: string) {
    if (!fs.existsSync(file)) {
      this.fuses = { securityCounter: 0, chipId: newChipId(), locked: false };
      this.burn(this.fuses);
      return;
    }
    let doc: { securityCounter?: unknown; chipId?: unknown; locked?: unknown };
    try {
      doc = JSON.parse(fs.readFileSync(file, "utf8"));
      if (typeof doc.securityCounter !== "number" || !Number.isInteger(doc.securityCounter) || doc.securityCounter < 0) throw new Error("securityCounter is not a non-negative integer");
      if (doc.chipId !== undefined && (typeof doc.chipId !== "string" || !/^[0-9a-f]{12,32}$/.test(doc.chipId) || doc.chipId.length % 2 !== 0)) throw new Error("chipId is not 6..16 bytes of lower-case hex");
      if (doc.locked !== undefined && typeof doc.locked !== "boolean") throw new Error("locked is not true or false");
    } catch (e) {
      throw new Error(`${file}: the board's fuses are unreadable (${(e as Error).message}); move the file away only if you mean to reset the board's fuses`);
    }
    this.fuses = { securityCounter: doc.securityCounter, chipId: (doc.chipId as string | undefined) ?? newChipId(), locked: doc.locked === true };
    // A board directory from before chip ids: its chip gets one now, kept from then on.
    if (doc.chipId === undefined) this.burn(this.fuses);
  }

  get securityCounter(): number { return this.fuses.securityCounter; }

  /** The chip's unique id (hal.chip_id). */
  get chipId(): Buffer { return Buffer.from(this.fuses.chipId, "hex"); }

  /** The provisioning lock (hal.device_locked). */
  get locked(): boolean { return this.fuses.locked; }

  /** Raises the counter to n (never lowers it); burnt at once, atomically. */
  raise(n: number): void {
    if (n <= this.fuses.securityCounter) return;
    this.burn({ ...this.fuses, securityCounter: n });
  }

  /** Burns the provisioning lock (hal.device_lock); true also when it was burnt already. */
  lock(): boolean {
    if (this.fuses.locked) return true;
    try {
      this.burn({ ...this.fuses, locked: true });
      return true;
    } catch {
      return false;
    }
  }

  /** Writes the fuses (temporary file, fsync, rename), then takes them as the state. */
  private burn(next: Fuses): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      const fd = fs.openSync(tmp, "w");
      try {
        fs.writeSync(fd, `${JSON.stringify(next)}\n`);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, this.file);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    }
    this.fuses = next;
  }
}

function newChipId(): string { return crypto.randomBytes(CHIP_ID_BYTES).toString("hex"); }
