// One-time-programmable fuses of the simulated board: the image security counter. Like eFuses
// (ESP32) or a monotonic counter in the STM32's secure area, it only goes up, and no flash
// write through the ROM loader can touch it. Kept in otp.json in the board directory.

import fs from "node:fs";
import path from "node:path";

export class Otp {
  private counter = 0;

  constructor(readonly file: string) {
    if (!fs.existsSync(file)) return;
    try {
      const doc = JSON.parse(fs.readFileSync(file, "utf8")) as { securityCounter?: unknown };
      if (typeof doc.securityCounter !== "number" || !Number.isInteger(doc.securityCounter) || doc.securityCounter < 0) throw new Error("securityCounter is not a non-negative integer");
      this.counter = doc.securityCounter;
    } catch (e) {
      throw new Error(`${file}: the board's fuses are unreadable (${(e as Error).message}); move the file away only if you mean to reset the board's security counter`);
    }
  }

  get securityCounter(): number { return this.counter; }

  /** Raises the counter to n (never lowers it); burnt at once, atomically. */
  raise(n: number): void {
    if (n <= this.counter) return;
    this.counter = n;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify({ securityCounter: n })}\n`);
    fs.renameSync(tmp, this.file);
  }
}
