// What the bootloader says about this boot (hal.boot_info, boards/ABI.md `BOOT_INFO`) and when
// the firmware confirms a test boot. Sans-IO: main.ts reads boot_info into `raw`, asks `due()`
// on each tick and calls hal.boot_confirm when it says so.
//
// The self-check before confirming: init succeeded and the board then ran for CONFIRM_AFTER_US
// with its timers and audio frames flowing and no trap. An image that traps, hangs the frame
// loop or fails init never gets there, and the bootloader reverts it on the next reset.

import { LineBuffer } from "../lib/text";

export const BOOT_INFO_BYTES: i32 = 16;
export const CONFIRM_AFTER_US: i64 = 1_000_000;
export const SLOT_NONE: u8 = 255;

export class BootStatus {
  readonly raw: StaticArray<u8> = new StaticArray<u8>(BOOT_INFO_BYTES);
  /** False when the runtime did not boot this module from a slot (a bare module). */
  known: bool = false;
  slot: u8 = SLOT_NONE;
  testing: bool = false;
  readonly version: LineBuffer = new LineBuffer(24);
  securityCounter: u32 = 0;
  private confirmAtUs: i64 = -1;

  /** Takes the result of hal.boot_info (the length written, or an error code). */
  load(result: i32, bootUs: i64): void {
    this.known = result == BOOT_INFO_BYTES;
    if (!this.known) return;
    const r = this.raw;
    this.slot = unchecked(r[0]);
    this.testing = unchecked(r[1]) == 1;
    const patch = (<u32>unchecked(r[4]) << 8) | <u32>unchecked(r[5]);
    const build = be32(r, 6);
    this.securityCounter = be32(r, 10);
    this.version.clear().int(unchecked(r[2])).text(".").int(unchecked(r[3])).text(".").int(patch);
    if (build != 0) this.version.text("+").int(build);
    this.confirmAtUs = this.testing ? bootUs + CONFIRM_AFTER_US : -1;
  }

  /** Deadline for tick() while a confirmation is pending, or -1. */
  deadline(): i64 { return this.confirmAtUs; }

  due(nowUs: i64, audioFrames: u64): bool {
    return this.confirmAtUs >= 0 && nowUs >= this.confirmAtUs && audioFrames > 0;
  }

  /** The result of hal.boot_confirm: done on success; on failure try again a second later. */
  confirmed(result: i32, nowUs: i64): void {
    if (result >= 0) { this.testing = false; this.confirmAtUs = -1; }
    else this.confirmAtUs = nowUs + CONFIRM_AFTER_US;
  }
}

function be32(r: StaticArray<u8>, at: i32): u32 {
  return (<u32>unchecked(r[at]) << 24) | (<u32>unchecked(r[at + 1]) << 16) | (<u32>unchecked(r[at + 2]) << 8) | <u32>unchecked(r[at + 3]);
}
