// The STM32 system-memory bootloader on USART (ST AN3155), as a sans-IO state machine. After
// reset it waits for 0x7F (autobaud) and answers ACK; from then on every command is a byte and
// its complement, answered ACK, NACK, or ACK plus data, and each later field (address, length,
// data, page list) is checked by its own checksum. What it answers, and why, is in
// docs/flash-stm32.md; memory comes from ./stm32-memory.ts and chip facts from ./stm32-family.ts.
//
// Robustness: bytes with a parity or framing error are dropped (they never reach the protocol,
// so a host with the wrong parity hears nothing); a bad complement or checksum is NACKed and the
// loader goes back to waiting for a command; a host that stops in the middle of a command is
// forgotten after IDLE_MS, so nothing can leave the loader stuck. receive() never throws.

import type { RomEmulator, RomFactory, RomPort } from "./types.ts";
import { ACK, CMD, ERASE_SPECIAL, NACK, SYNC, xorAll } from "../../flash/stm32/an3155.ts";
import { stm32Family } from "./stm32-family.ts";
import { Stm32Memory } from "./stm32-memory.ts";
import type { Stm32Chip } from "../../boards.ts";

/** How long a half-received command waits for its next byte before the loader drops it. */
export const IDLE_MS = 2000;

type Phase = "autobaud" | "command" | "complement" | "collect" | "closed";

const u32 = (b: Uint8Array) => ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;

class Stm32Rom implements RomEmulator {
  private phase: Phase = "autobaud";
  private command = 0;
  private need = 0;
  private got: number[] = [];
  private then?: (bytes: Uint8Array) => void;
  private cancelIdle?: () => void;
  private lastByteMs = 0;
  private readonly memory: Stm32Memory;
  private readonly chip: Stm32Chip;
  private readonly commands: readonly number[];

  constructor(private readonly port: RomPort) {
    if (port.board.rom.protocol !== "stm32-usart") throw new Error(`board ${port.board.id} has no STM32 USART bootloader (rom.protocol is ${port.board.rom.protocol})`);
    const facts = stm32Family(port.board.mcu.family);
    this.chip = port.board.rom.chip;
    this.commands = facts.commands;
    this.memory = new Stm32Memory(port.board, port.flash, facts);
  }

  receive(bytes: Uint8Array, errors?: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) {
      if (errors?.[i]) continue; // a UART flags it; the loader never sees a byte it can trust
      if (this.phase === "closed") return;
      this.byte(bytes[i]!);
    }
  }

  close(): void {
    this.stopIdle();
    this.phase = "closed";
  }

  private byte(b: number): void {
    switch (this.phase) {
      case "autobaud":
        // Only 0x7F lets the real loader measure the baud; anything else is line noise to it.
        if (b !== SYNC) return;
        this.phase = "command";
        return this.reply(ACK);
      case "command":
        this.command = b;
        this.phase = "complement";
        return;
      case "complement":
        this.phase = "command";
        if ((this.command ^ b) !== 0xff) this.reply(NACK);
        else this.dispatch(this.command);
        return;
      case "collect":
        return this.collect(b);
      case "closed":
        return;
    }
  }

  private collect(b: number): void {
    this.got.push(b);
    this.lastByteMs = this.port.nowMs();
    if (this.got.length < this.need) return;
    this.stopIdle();
    this.phase = "command";
    const field = Uint8Array.from(this.got);
    const then = this.then!;
    this.got = [];
    this.then = undefined;
    try {
      then(field);
    } catch {
      // A flash fault (SimFlash.faults) or anything unforeseen: the loader reports failure.
      this.stopIdle();
      this.phase = "command";
      this.reply(NACK);
    }
  }

  /** Collects the next n bytes of the current command, then hands them to fn. */
  private expect(n: number, fn: (bytes: Uint8Array) => void): void {
    this.phase = "collect";
    this.need = n;
    this.got = [];
    this.then = fn;
    this.armIdle();
  }

  private dispatch(code: number): void {
    if (!this.commands.includes(code)) return this.reply(NACK);
    switch (code) {
      case CMD.GET:
        return this.reply(ACK, this.commands.length, this.chip.protocolVersion, ...this.commands, ACK);
      case CMD.GET_VERSION:
        // Two option bytes follow the version; AN3155 has them 0x00 "for compatibility".
        return this.reply(ACK, this.chip.protocolVersion, 0x00, 0x00, ACK);
      case CMD.GET_ID:
        return this.reply(ACK, 1, (this.chip.productId >> 8) & 0xff, this.chip.productId & 0xff, ACK);
      case CMD.READ_MEMORY:
        this.reply(ACK);
        return this.expect(5, (a) => this.readAddress(a));
      case CMD.WRITE_MEMORY:
        this.reply(ACK);
        return this.expect(5, (a) => this.writeAddress(a));
      case CMD.GO:
        this.reply(ACK);
        return this.expect(5, (a) => this.go(a));
      case CMD.EXTENDED_ERASE:
        this.reply(ACK);
        return this.expect(2, (n) => this.eraseCount(n));
      case CMD.WRITE_PROTECT:
        // Not modelled: take the sector list so the host stays in step, then refuse it.
        this.reply(ACK);
        return this.expect(1, ([n]) => this.expect(n! + 2, () => this.reply(NACK)));
      case CMD.READOUT_PROTECT:
        // Refused: a simulated board that locked itself would be of no use to anyone.
        return this.reply(ACK, NACK);
      case CMD.WRITE_UNPROTECT:
      case CMD.READOUT_UNPROTECT:
        // Nothing is protected in the model, so there is nothing to lift (and, RDP being level 0
        // already, nothing to mass-erase); the real loader then resets itself, back to autobaud.
        this.reply(ACK, ACK);
        this.phase = "autobaud";
        return;
      default:
        return this.reply(NACK);
    }
  }

  /** Parses address + checksum; undefined (and a NACK) when the checksum is wrong. */
  private address(field: Uint8Array): number | undefined {
    if (xorAll(field) !== 0) {
      this.reply(NACK);
      return undefined;
    }
    return u32(field);
  }

  private readAddress(field: Uint8Array): void {
    const address = this.address(field);
    if (address === undefined) return;
    if (!this.memory.readable(address)) return this.reply(NACK);
    this.reply(ACK);
    this.expect(2, ([n, check]) => {
      if ((n! ^ check!) !== 0xff) return this.reply(NACK);
      const r = this.memory.read(address, n! + 1);
      if (!r.ok) return this.reply(NACK);
      const out = new Uint8Array(1 + r.data.length);
      out[0] = ACK;
      out.set(r.data, 1);
      this.port.send(out);
    });
  }

  private writeAddress(field: Uint8Array): void {
    const address = this.address(field);
    if (address === undefined) return;
    // AN3155: writes are word aligned; a start the flash or RAM cannot take is refused at once.
    if (address % 4 !== 0 || !this.memory.writable(address)) return this.reply(NACK);
    this.reply(ACK);
    this.expect(1, ([n]) =>
      this.expect(n! + 2, (rest) => {
        const data = rest.subarray(0, n! + 1);
        if (xorAll(data, n!) !== rest[n! + 1]) return this.reply(NACK);
        if (data.length % 4 !== 0) return this.reply(NACK);
        this.reply(this.memory.write(address, data).ok ? ACK : NACK);
      }),
    );
  }

  private go(field: Uint8Array): void {
    const address = this.address(field);
    if (address === undefined) return;
    const target = this.memory.goTarget(address);
    if (!target) return this.reply(NACK);
    this.reply(ACK);
    if (target === "app") {
      this.close();
      this.port.runApp();
      return;
    }
    // Code loaded into RAM cannot run here. What hosts put there is a reset stub (stm32flash -R
    // does): the chip resets and, BOOT0 still high, comes back into this loader.
    this.phase = "autobaud";
  }

  private eraseCount(field: Uint8Array): void {
    const code = (field[0]! << 8) | field[1]!;
    if (code >= 0xfff0) {
      return this.expect(1, ([check]) => {
        if (check !== (field[0]! ^ field[1]!)) return this.reply(NACK);
        if (code === ERASE_SPECIAL.MASS) return this.reply(this.memory.eraseAll().ok ? ACK : NACK);
        if (code === ERASE_SPECIAL.BANK1) return this.reply(this.memory.eraseBank(1).ok ? ACK : NACK);
        if (code === ERASE_SPECIAL.BANK2) return this.reply(this.memory.eraseBank(2).ok ? ACK : NACK);
        return this.reply(NACK);
      });
    }
    const count = code + 1;
    this.expect(2 * count + 1, (rest) => {
      if ((xorAll(field) ^ xorAll(rest)) !== 0) return this.reply(NACK);
      const sectors: number[] = [];
      for (let i = 0; i < count; i++) sectors.push((rest[2 * i]! << 8) | rest[2 * i + 1]!);
      // Every number is checked before any sector is erased, so a bad list erases nothing.
      this.reply(this.memory.eraseSectors(sectors).ok ? ACK : NACK);
    });
  }

  private reply(...bytes: number[]): void {
    this.port.send(Uint8Array.from(bytes));
  }

  /** One timer per command, not per byte: when it fires it checks how long the line was quiet. */
  private armIdle(): void {
    this.stopIdle();
    this.lastByteMs = this.port.nowMs();
    const check = (): void => {
      this.cancelIdle = undefined;
      if (this.phase !== "collect") return;
      const quiet = this.port.nowMs() - this.lastByteMs;
      if (quiet < IDLE_MS) {
        this.cancelIdle = this.port.setTimer(IDLE_MS - quiet, check);
        return;
      }
      this.got = [];
      this.then = undefined;
      this.phase = "command";
    };
    this.cancelIdle = this.port.setTimer(IDLE_MS, check);
  }

  private stopIdle(): void {
    this.cancelIdle?.();
    this.cancelIdle = undefined;
  }
}

export const createStm32Rom: RomFactory = (port) => new Stm32Rom(port);
