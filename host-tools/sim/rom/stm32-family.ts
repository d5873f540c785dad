// What the STM32 ROM emulator needs to know about a chip family beyond its board manifest: the
// facts of the silicon and of ST's bootloader that no board changes. Each figure names its
// source; docs/flash-stm32.md has the links.

import type { McuFamily } from "../../boards.ts";
import { CMD } from "../../flash/stm32/an3155.ts";

export interface Stm32FamilyFacts {
  /** System memory (the ROM bootloader's flash), readable with READ MEMORY: [start, end). */
  systemMemory: { start: number; end: number };
  /** 96-bit unique device ID and the 16-bit flash size in KiB (device electronic signature). */
  uidAddress: number;
  flashSizeAddress: number;
  /** RAM the bootloader itself uses: READ, WRITE and GO there are refused (AN3155, protocol V2.2 on). */
  bootloaderRam: { start: number; end: number };
  /** Bytes the flash programs at once, with their ECC: each is written once between erases. */
  flashWordBytes: number;
  /** What GET answers after the version byte: the commands this family's USART bootloader has. */
  commands: readonly number[];
}

const FAMILIES: Partial<Record<McuFamily, Stm32FamilyFacts>> = {
  stm32h7: {
    // RM0433 memory map: system memory 0x1FF00000-0x1FF1FFFF (128 KiB); the bootloader ID byte
    // (manifest rom.chip.bootloaderIdAddress, AN2606) and the electronic signature (RM0433
    // "Device electronic signature": UID at 0x1FF1E800, flash size at 0x1FF1E880) live in it.
    systemMemory: { start: 0x1ff00000, end: 0x1ff20000 },
    uidAddress: 0x1ff1e800,
    flashSizeAddress: 0x1ff1e880,
    // stm32flash's device table for 0x450: RAM from 0x20004100 is free, below it the bootloader's.
    bootloaderRam: { start: 0x20000000, end: 0x20004100 },
    // RM0433: the H74x/75x embedded flash programs 256-bit flash words, each with its own ECC.
    flashWordBytes: 32,
    // AN2606, STM32H74xxx/75xxx bootloader: USART protocol V3.1 with the V3.x command set (no
    // legacy Erase 0x43, no Get Checksum 0xA1).
    commands: [
      CMD.GET, CMD.GET_VERSION, CMD.GET_ID, CMD.READ_MEMORY, CMD.GO, CMD.WRITE_MEMORY,
      CMD.EXTENDED_ERASE, CMD.WRITE_PROTECT, CMD.WRITE_UNPROTECT, CMD.READOUT_PROTECT, CMD.READOUT_UNPROTECT,
    ],
  },
};

export function stm32Family(family: McuFamily): Stm32FamilyFacts {
  const f = FAMILIES[family];
  if (!f) throw new Error(`the STM32 ROM emulator knows no chip family "${family}" (it knows ${Object.keys(FAMILIES).join(", ")})`);
  return f;
}
