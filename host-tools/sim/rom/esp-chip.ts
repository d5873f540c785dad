// What READ_REG / WRITE_REG see of a simulated ESP32-S3: the chip-detect magic register, the
// eFuse words esptool decodes into revision, package, embedded PSRAM and MAC, the UART clock
// divider, the SPI flash controller registers esptool drives to read the flash's JEDEC id, and
// the RAM the loader accepts code into. Addresses and bit fields are the ones esptool-js 0.7.0
// reads (lib/targets/esp32s3.js, which follows esptool's targets/esp32s3.py and the ESP32-S3
// Technical Reference Manual); the values are those of a plausible ESP32-S3 revision v0.2 in
// the package the manifest describes. Any other address reads as 0 and is remembered in
// `unmappedReads`: esptool-js reads the ESP32 (classic) eFuse and APB_CTL_DATE addresses
// 0x3ff5a00c, 0x3ff5a014 and 0x3ff6607c even on an S3, because its ESP32-S3 class inherits the
// ESP32 getChipRevision(); those are not mapped on an S3, and 0 is what makes it report
// revision 0 there, harmlessly.

import { createHash } from "node:crypto";
import type { BoardManifest } from "../../boards.ts";

/** The ESP32-S3 memory the ROM loader will load code into (MEM_BEGIN), from esptool-js's memory map. */
const RAM_RANGES: readonly [number, number][] = [
  [0x3fc88000, 0x3fd00000], // internal SRAM, data bus (DRAM)
  [0x40370000, 0x403e0000], // internal SRAM, instruction bus (IRAM)
  [0x600fe000, 0x60100000], // RTC fast memory
  [0x50000000, 0x50002000], // RTC slow memory
];

const EFUSE_BLOCK1 = 0x60007044; // MAC words 0-1, then the system data words
const EFUSE_BLOCK2 = 0x6000705c;
const UART0_CLKDIV = 0x60000014;
const UART_CLOCK_HZ = 80_000_000; // APB clock the ROM runs UART0 from
const SPI1_BASE = 0x60002000; // the SPI controller wired to the flash
const SPI_CMD = SPI1_BASE + 0x00;
const SPI_USR2 = SPI1_BASE + 0x20;
const SPI_W0 = SPI1_BASE + 0x58;
const SPI_CMD_USR = 1 << 18; // "run the user-defined transaction"; hardware clears it when done

/** Revision v0.2 (major 0, minor 2), eFuse block version v1.2: a common production S3. */
const CHIP_REVISION = { major: 0, minor: 2 };
const BLOCK_VERSION = { major: 1, minor: 2 };
/** An Espressif OUI, the first half of the factory MAC in BLOCK1. */
const ESPRESSIF_OUI = [0x7c, 0xdf, 0xa1];
/** JEDEC manufacturer and memory type of the module's quad SPI flash (GigaDevice GD25Q class). */
const FLASH_MANUFACTURER = 0xc8;
const FLASH_MEMORY_TYPE = 0x40;

/** Sparse byte-addressed RAM, in 4 KiB pages, with a record of what was loaded where. */
export class FakeRam {
  private pages = new Map<number, Uint8Array>();
  /** [start, end) ranges written, merged. */
  private loaded: [number, number][] = [];

  write(addr: number, bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; ) {
      const a = addr + i;
      const page = this.page(a >>> 12);
      const at = a & 0xfff;
      const n = Math.min(bytes.length - i, 4096 - at);
      page.set(bytes.subarray(i, i + n), at);
      i += n;
    }
    this.mark(addr, addr + bytes.length);
  }

  readWord(addr: number): number {
    let v = 0;
    for (let i = 3; i >= 0; i--) v = (v << 8) | (this.pages.get((addr + i) >>> 12)?.[(addr + i) & 0xfff] ?? 0);
    return v >>> 0;
  }

  /** True when addr lies in something loaded (an entry point must). */
  holds(addr: number): boolean {
    return this.loaded.some(([s, e]) => addr >= s && addr < e);
  }

  get bytesLoaded(): number {
    return this.loaded.reduce((n, [s, e]) => n + e - s, 0);
  }

  private page(n: number): Uint8Array {
    let p = this.pages.get(n);
    if (!p) this.pages.set(n, (p = new Uint8Array(4096)));
    return p;
  }

  private mark(start: number, end: number): void {
    if (end <= start) return;
    const all = [...this.loaded, [start, end] as [number, number]].sort((x, y) => x[0] - y[0]);
    const merged: [number, number][] = [];
    for (const r of all) {
      const last = merged[merged.length - 1];
      if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
      else merged.push([r[0], r[1]]);
    }
    this.loaded = merged;
  }
}

/** True when [addr, addr + length) lies inside one of the chip's RAMs. */
export function inChipRam(addr: number, length: number): boolean {
  return RAM_RANGES.some(([s, e]) => addr >= s && addr + length <= e);
}

export class Esp32s3Registers {
  readonly ram = new FakeRam();
  /** Addresses read that the model does not know (answered 0). */
  readonly unmappedReads = new Set<number>();
  /** Values written to registers without a model of their own, read back as written. */
  private written = new Map<number, number>();
  private baud: number;
  private readonly fixed = new Map<number, number>();
  readonly mac: Uint8Array;
  readonly jedecId: number;

  constructor(board: BoardManifest, identity: string) {
    const rom = board.rom;
    if (rom.protocol !== "esp-serial") throw new Error(`board ${board.id}: the ESP loader emulator needs /rom/protocol "esp-serial", not "${rom.protocol}"`);
    this.baud = rom.romBaud;
    // A stable MAC per board directory: the same simulated board always reports the same one.
    const h = createHash("sha256").update(identity).digest();
    this.mac = Uint8Array.from([...ESPRESSIF_OUI, h[0], h[1], h[2]]);
    const capacity = Math.round(Math.log2(board.memory.flashBytes));
    this.jedecId = (FLASH_MANUFACTURER | (FLASH_MEMORY_TYPE << 8) | (capacity << 16)) >>> 0;

    // Embedded PSRAM as the ESP32-S3R8 / R2 parts fuse it: 1 = 8 MB, 2 = 2 MB; vendor 1 = AP 3.3 V.
    const psram = board.memory.psramBytes;
    const psramCap = psram >= 8 << 20 ? 1 : psram >= 2 << 20 ? 2 : 0;
    const psramVendor = psramCap !== 0 ? 1 : 0;
    const m = this.mac;
    const w0 = ((m[2] << 24) | (m[3] << 16) | (m[4] << 8) | m[5]) >>> 0;
    const w1 = (m[0] << 8) | m[1];
    // BLOCK1 word 3: minor revision bits 0-2 at 18, package 0 (QFN56) at 21, block minor at 24,
    // embedded flash 0 (the module's flash is outside the package) at 27.
    const w3 = ((CHIP_REVISION.minor & 7) << 18) | (0 << 21) | (BLOCK_VERSION.minor << 24) | (0 << 27);
    const w4 = 0 | (psramCap << 3) | (psramVendor << 7);
    const w5 = (((CHIP_REVISION.minor >> 3) & 1) << 23) | (CHIP_REVISION.major << 24);
    this.fixed.set(rom.chip.magicRegister, rom.chip.magicValue >>> 0);
    this.fixed.set(EFUSE_BLOCK1 + 0, w0);
    this.fixed.set(EFUSE_BLOCK1 + 4, w1);
    this.fixed.set(EFUSE_BLOCK1 + 8, 0);
    this.fixed.set(EFUSE_BLOCK1 + 12, w3 >>> 0);
    this.fixed.set(EFUSE_BLOCK1 + 16, w4);
    this.fixed.set(EFUSE_BLOCK1 + 20, w5 >>> 0);
    this.fixed.set(EFUSE_BLOCK2 + 16, BLOCK_VERSION.major);
  }

  /** The UART's baud changed (CHANGE_BAUDRATE): its divider register follows. */
  setBaud(baud: number): void {
    this.baud = baud;
  }

  read(addr: number): number {
    addr >>>= 0;
    const fixed = this.fixed.get(addr);
    if (fixed !== undefined) return fixed;
    if (addr === UART0_CLKDIV) return Math.round(UART_CLOCK_HZ / this.baud) & 0xfffff;
    if (inChipRam(addr, 4)) return this.ram.readWord(addr);
    const w = this.written.get(addr);
    if (w !== undefined) return w;
    if (this.unmappedReads.size < 256) this.unmappedReads.add(addr);
    return 0;
  }

  /** WRITE_REG: value under mask; eFuses and the magic register are read-only. */
  write(addr: number, value: number, mask: number): void {
    addr >>>= 0;
    if (this.fixed.has(addr)) return;
    const old = inChipRam(addr, 4) ? this.ram.readWord(addr) : (this.written.get(addr) ?? 0);
    const merged = ((old & ~mask) | (value & mask)) >>> 0;
    if (inChipRam(addr, 4)) {
      this.ram.write(addr, Uint8Array.of(merged & 0xff, (merged >>> 8) & 0xff, (merged >>> 16) & 0xff, merged >>> 24));
      return;
    }
    this.unmappedReads.delete(addr);
    if (addr === SPI_CMD && merged & SPI_CMD_USR) {
      this.spiTransaction();
      this.written.set(addr, (merged & ~SPI_CMD_USR) >>> 0); // done at once: no flash timing model
      return;
    }
    this.written.set(addr, merged);
  }

  /** A user-defined SPI transaction: the command byte is the low byte of SPI_USR2. */
  private spiTransaction(): void {
    const command = (this.written.get(SPI_USR2) ?? 0) & 0xff;
    if (command === 0x9f) this.written.set(SPI_W0, this.jedecId); // RDID: manufacturer, type, capacity
    else if (command === 0x05 || command === 0x35) this.written.set(SPI_W0, 0); // RDSR/RDSR2: idle, unprotected
  }
}

/** What the ESP32-S3 ROM prints when it comes out of an EN (power-on) reset into download mode. */
export const ESP32S3_BANNER =
  "ESP-ROM:esp32s3-20210327\r\nBuild:Mar 27 2021\r\nrst:0x1 (POWERON),boot:0x0 (DOWNLOAD(USB/UART0))\r\nwaiting for download\r\n";
