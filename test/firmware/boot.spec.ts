// BootStatus: reading hal.boot_info's BOOT_INFO and deciding when a test boot confirms.
import { BootStatus, BOOT_INFO_BYTES, CONFIRM_AFTER_US } from "../../firmware/system/boot";

function info(slot: u8, state: u8, major: u8, minor: u8, patch: u16, build: u32, counter: u32): BootStatus {
  const b = new BootStatus();
  const r = b.raw;
  r[0] = slot; r[1] = state; r[2] = major; r[3] = minor;
  r[4] = <u8>(patch >> 8); r[5] = <u8>patch;
  r[6] = <u8>(build >> 24); r[7] = <u8>(build >> 16); r[8] = <u8>(build >> 8); r[9] = <u8>build;
  r[10] = <u8>(counter >> 24); r[11] = <u8>(counter >> 16); r[12] = <u8>(counter >> 8); r[13] = <u8>counter;
  return b;
}

function text(b: BootStatus): string {
  let s = "";
  for (let i = 0; i < b.version.length; i++) s += String.fromCharCode(load<u8>(b.version.address + <usize>i));
  return s;
}

describe("BootStatus", () => {
  it("reads slot, state, version and counter (big-endian fields)", () => {
    const b = info(1, 1, 2, 10, 300, 0, 0x01020304);
    b.load(BOOT_INFO_BYTES, 0);
    expect(b.known).toBe(true);
    expect(b.slot).toBe(1);
    expect(b.testing).toBe(true);
    expect(text(b)).toBe("2.10.300");
    expect(b.securityCounter).toBe(0x01020304);
    const c = info(0, 0, 1, 0, 0, 77, 0);
    c.load(BOOT_INFO_BYTES, 0);
    expect(text(c)).toBe("1.0.0+77");
    expect(c.testing).toBe(false);
  });

  it("an error from boot_info (no bootloader) means unknown, and nothing to confirm", () => {
    const b = info(0, 1, 1, 0, 0, 0, 0);
    b.load(-3, 0);
    expect(b.known).toBe(false);
    expect(b.deadline()).toBe(-1);
    expect(b.due(10 * CONFIRM_AFTER_US, 100)).toBe(false);
  });

  it("a test boot confirms after CONFIRM_AFTER_US and at least one audio frame, and retries a failed confirm", () => {
    const b = info(0, 1, 1, 0, 0, 0, 0);
    b.load(BOOT_INFO_BYTES, 5_000);
    expect(b.deadline()).toBe(5_000 + CONFIRM_AFTER_US);
    expect(b.due(5_000 + CONFIRM_AFTER_US - 1, 10)).toBe(false, "too early");
    expect(b.due(5_000 + CONFIRM_AFTER_US, 0)).toBe(false, "no audio frame yet");
    expect(b.due(5_000 + CONFIRM_AFTER_US, 1)).toBe(true);
    b.confirmed(-7, 2_000_000);
    expect(b.testing).toBe(true);
    expect(b.deadline()).toBe(2_000_000 + CONFIRM_AFTER_US, "retry a second later");
    b.confirmed(0, 3_000_000);
    expect(b.testing).toBe(false);
    expect(b.deadline()).toBe(-1);
    expect(b.due(10_000_000, 100)).toBe(false, "confirmed once");
  });

  it("a confirmed boot never asks to confirm", () => {
    const b = info(1, 0, 1, 0, 0, 0, 0);
    b.load(BOOT_INFO_BYTES, 0);
    expect(b.deadline()).toBe(-1);
    expect(b.due(100 * CONFIRM_AFTER_US, 100)).toBe(false);
  });
});
