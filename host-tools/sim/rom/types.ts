// What a simulated board's ROM bootloader emulator sees of the board, and what the board asks
// of it. An emulator is a sans-IO state machine: the device (host-tools/sim/device.ts) feeds it
// the bytes its UART received and gives it a way to send bytes back; the device's UART model
// paces both directions at the line rate, so an emulator never deals with time on the wire.

import type { BoardManifest } from "../../boards.ts";
import type { SimFlash } from "../flash.ts";

export interface RomPort {
  readonly board: BoardManifest;
  readonly flash: SimFlash;
  /** Queue bytes for the host; the device's UART sends them at its current baud. */
  send(bytes: Uint8Array): void;
  /**
   * Switch the device's UART to another baud (ESP CHANGE_BAUDRATE). Bytes already queued by
   * send() still go out at the old rate; the new rate applies to what is sent after the call.
   */
  setBaud(baud: number): void;
  /** Leave the bootloader and boot the board normally (STM32 GO, ESP FLASH_END with reboot). */
  runApp(): void;
  /** Milliseconds on the device's clock. */
  nowMs(): number;
  /** Runs fn after ms milliseconds unless the board resets first; returns a cancel function. */
  setTimer(ms: number, fn: () => void): () => void;
}

export interface RomEmulator {
  /**
   * Bytes the UART received, in order. `errors`, when given, has one entry per byte: nonzero
   * when that byte arrived with a framing or parity error (host at another baud or framing),
   * which a real UART flags and a real ROM treats as garbage.
   */
  receive(bytes: Uint8Array, errors?: Uint8Array): void;
  /** The board is leaving the bootloader (reset or power off): cancel timers, drop state. */
  close(): void;
}

/**
 * Called each time the board comes out of reset into its loader; an emulator may send its
 * boot banner from here, as the real ROM prints one after reset.
 */
export type RomFactory = (port: RomPort) => RomEmulator;
