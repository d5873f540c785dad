// One interface over the chips' ROM bootloader protocols, so that `tincan flash` plans the same
// way for every board: read what is there, write only what changed, verify, boot the app.
// Implementations: host-tools/flash/esp/ (ESP serial protocol, esptool-js as the engine) and
// host-tools/flash/stm32/ (ST AN3155 USART bootloader). Offsets are from the board's flash base
// (manifest flash.baseAddress), never absolute bus addresses.

import type { BoardManifest } from "../boards.ts";
import type { Link } from "../link/transport.ts";

/** Bytes done of bytes total, for a progress bar. */
export type Progress = (done: number, total: number) => void;

export interface FlashEngine {
  /** What the loader reported, e.g. "ESP32-S3 (revision v0.2)" or "STM32H74xxx/75xxx (0x450)". */
  readonly chip: string;
  /** The baud the link runs at now (after any baud change the engine made). */
  readonly baud: number;
  /** Bytes that crossed the link in each direction since open (for link-efficiency figures). */
  readonly wireBytes: { sent: number; received: number };
  read(offset: number, length: number, progress?: Progress): Promise<Uint8Array>;
  /**
   * Lowercase hex MD5 of a flash region computed on the chip (ESP SPI_FLASH_MD5), or undefined
   * when the loader cannot hash flash, in which case the planner reads the region back instead.
   */
  digest(offset: number, length: number): Promise<string | undefined>;
  /**
   * Erases the erase units that cover [offset, offset + data.length) and programs data there
   * (compressed on the wire where the protocol allows), then verifies it on the chip
   * (MD5 on ESP, read-back on STM32); rejects with FlashEngineError if it does not match.
   */
  write(offset: number, data: Uint8Array, progress?: Progress): Promise<void>;
  /** Leaves the loader and boots the board normally (hard reset / GO). */
  run(): Promise<void>;
}

export interface EngineOptions {
  /** The baud to run the transfer at (the loader starts at the manifest's rom.romBaud). */
  baud?: number;
  /** Skip the reset-into-loader sequence: the board is in its loader already. */
  noReset?: boolean;
  /** Lines of protocol detail, for --verbose. */
  log?: (line: string) => void;
}

/** A loader-protocol failure: one line saying what went wrong and, where it helps, what to do. */
export class FlashEngineError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message.replace(/\s*[\r\n]+\s*/g, " "));
    this.name = "FlashEngineError";
  }
}

export type OpenEngine = (board: BoardManifest, link: Link, opts?: EngineOptions) => Promise<FlashEngine>;
