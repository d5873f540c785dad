// FlashEngine for STM32 boards: ST's system-memory bootloader on USART (AN3155), reached over
// any Link (USB-serial bridge, rfc2217://, socket://). Resets the board into its bootloader with
// the manifest's DTR/RTS recipe, syncs, checks the chip is the manifest's, then reads, erases,
// writes and verifies in 256-byte blocks. docs/flash-stm32.md explains the protocol choices.

import type { BoardManifest, Stm32Chip } from "../../boards.ts";
import { openLink, type Link } from "../../link/transport.ts";
import { FlashEngineError, type FlashEngine, type OpenEngine, type Progress } from "../engine.ts";
import { CMD, MAX_BLOCK, hex } from "./an3155.ts";
import { GpioSequenceError, describeSteps, parseGpioSequence, runGpioSteps, type GpioSequence } from "./gpio-sequence.ts";
import { Stm32ProtocolError, Stm32Session } from "./session.ts";

/** Opens a link the way the STM32 loader wants it: the manifest's framing (8E1), its ROM baud. */
export function openStm32Link(url: string, board: BoardManifest, baud = board.rom.romBaud): Promise<Link> {
  return openLink(url, { baud, parity: board.rom.framing === "8E1" ? "even" : "none" });
}

/** Commands the engine cannot work without. */
const NEEDED = [
  [CMD.READ_MEMORY, "READ MEMORY"], [CMD.WRITE_MEMORY, "WRITE MEMORY"], [CMD.EXTENDED_ERASE, "EXTENDED ERASE"], [CMD.GO, "GO"],
] as const;

export const openStm32Engine: OpenEngine = async (board, link, opts = {}) => {
  if (board.rom.protocol !== "stm32-usart") throw new FlashEngineError(`board ${board.id} has no STM32 USART bootloader (rom.protocol is ${board.rom.protocol})`);
  const chip = board.rom.chip;
  const log = opts.log ?? (() => {});
  const baud = opts.baud ?? board.rom.romBaud;
  const framing = board.rom.framing;
  if (!Number.isInteger(baud) || baud <= 0 || baud > board.rom.maxBaud)
    throw new FlashEngineError(`baud ${baud} is outside what ${chip.name}'s bootloader takes (up to ${board.rom.maxBaud})`);
  let seq: GpioSequence | undefined;
  try {
    seq = board.rom.gpioSequence ? parseGpioSequence(board.rom.gpioSequence) : undefined;
  } catch (e) {
    throw new FlashEngineError(`board ${board.id}: ${(e as GpioSequenceError).message}`);
  }

  // The loader measures the baud from the first 0x7F (autobaud), so any rate it supports can be
  // chosen now; it cannot be changed later.
  if (opts.baud !== undefined) {
    try {
      await link.setBaud(baud);
    } catch (e) {
      throw new FlashEngineError(`cannot set ${link.url} to ${baud} baud: ${(e as Error).message}`);
    }
  }
  let linesRefused: string | undefined;
  let linesDriven = false;
  if (!opts.noReset && seq && seq.entry.length) {
    log(`reset into the bootloader: ${describeSteps(seq.entry)}`);
    try {
      await runGpioSteps(link, seq.entry);
      linesDriven = true;
    } catch (e) {
      // Maybe the board is in its bootloader already (BOOT0 strapped, reset by hand): try anyway.
      linesRefused = (e as Error).message;
      log(`cannot drive DTR/RTS: ${linesRefused}`);
    }
  }

  const session = new Stm32Session(link, { baud, log });
  const fail = (message: string, code?: string): never => {
    session.dispose();
    throw new FlashEngineError(message, code);
  };
  try {
    await session.sync();
  } catch (e) {
    if (!(e instanceof Stm32ProtocolError)) throw e;
    const hint = linesRefused ? ` (DTR/RTS could not be driven: ${linesRefused}; hold BOOT0 high, reset the board by hand and use --no-reset)` : "";
    fail(`no STM32 bootloader answered on ${link.url} at ${baud} ${framing} — is BOOT0 high / is this the right port?${hint}`, "NO_SYNC");
  }

  let info: { version: number; commands: number[] } | undefined;
  let pid = -1;
  try {
    info = await session.retry("GET", () => session.get(), 2);
    pid = await session.retry("GET ID", () => session.getId(), 2);
  } catch (e) {
    if (!(e instanceof Stm32ProtocolError)) throw e;
    // 0x7F gets through a parity mismatch (it has seven ones); most commands do not.
    fail(`the STM32 bootloader on ${link.url} answered the sync but not ${info ? "GET ID" : "GET"} (${e.message}) — is the link at ${framing} (${framing === "8E1" ? "even parity" : "no parity"})?`, "NO_ANSWER");
  }
  if (pid !== chip.productId)
    fail(`the chip on ${link.url} reports product id ${hex(pid, 3)}, but board ${board.id} is ${chip.name} (${hex(chip.productId, 3)}) — wrong --board or wrong port?`, "WRONG_CHIP");
  const missing = NEEDED.filter(([c]) => !info!.commands.includes(c)).map(([, name]) => name);
  if (missing.length) fail(`the bootloader on ${link.url} lacks ${missing.join(", ")}; this flasher needs them (AN3155 protocol V3.x)`, "NO_COMMAND");

  let blId = "";
  try {
    const [id] = await session.readMemory(chip.bootloaderIdAddress, 1);
    blId = `, bootloader ID ${hex(id!)}`;
  } catch (e) {
    if (!(e instanceof Stm32ProtocolError)) throw e;
    if (e.kind !== "nack") await session.resync(); // a NACK only means the ID byte is not readable
  }
  const version = `${info!.version >> 4}.${info!.version & 0xf}`;
  const engine = new Stm32Engine(board, chip, session, link, baud, `${chip.name} (${hex(pid, 3)}), USART protocol v${version}${blId}`,
    !opts.noReset && linesDriven && seq !== undefined && seq.exit.length > 0 ? seq : undefined, log);
  log(`connected: ${engine.chip}`);
  return engine;
};

class Stm32Engine implements FlashEngine {
  private readonly base: number;
  private readonly size: number;
  private readonly sector: number;

  constructor(
    board: BoardManifest,
    private readonly chipFacts: Stm32Chip,
    private readonly session: Stm32Session,
    private readonly link: Link,
    readonly baud: number,
    readonly chip: string,
    /** Set when the engine reset the board with DTR/RTS: run() resets it out again the same way. */
    private readonly exitSequence: GpioSequence | undefined,
    private readonly log: (line: string) => void,
  ) {
    this.base = board.flash.baseAddress;
    this.size = board.memory.flashBytes;
    this.sector = board.flash.eraseBytes;
  }

  get wireBytes(): { sent: number; received: number } {
    return { ...this.session.wire };
  }

  async read(offset: number, length: number, progress?: Progress): Promise<Uint8Array> {
    this.checkRange(offset, length);
    const out = new Uint8Array(length);
    for (let done = 0; done < length;) {
      const n = Math.min(MAX_BLOCK, length - done);
      out.set(await this.readBlock(offset + done, n), done);
      done += n;
      progress?.(done, length);
    }
    return out;
  }

  /** AN3155's Get Checksum (0xA1) is not in the H7 loader's command set: the planner reads back. */
  async digest(): Promise<string | undefined> {
    return undefined;
  }

  /**
   * Erases the sectors under [offset, offset + data.length), writes data in blocks that never
   * straddle a 256-byte boundary (so no flash word is written by two commands), then reads it
   * all back. Progress counts written bytes, then verified bytes: total is 2 * data.length.
   */
  async write(offset: number, data: Uint8Array, progress?: Progress): Promise<void> {
    this.checkRange(offset, data.length);
    if (data.length === 0) return;
    const total = 2 * data.length;
    const first = Math.floor(offset / this.sector);
    const last = Math.ceil((offset + data.length) / this.sector) - 1;
    const sectors = Array.from({ length: last - first + 1 }, (_, i) => first + i);
    this.log(`erase sector(s) ${sectors.join(", ")}`);
    await this.run1(`erase of sector(s) ${sectors.join(", ")}`, () => this.session.retry("EXTENDED ERASE", () => this.session.extendedErase(sectors), 3));

    // Whole words on the wire (AN3155): pad to 4-byte boundaries with 0xFF, which programs nothing.
    const start = offset - (offset % 4);
    const end = Math.ceil((offset + data.length) / 4) * 4;
    const padded = new Uint8Array(end - start).fill(0xff);
    padded.set(data, offset - start);
    for (let at = start; at < end;) {
      const n = Math.min(end - at, MAX_BLOCK - (at % MAX_BLOCK));
      await this.writeBlock(at, padded.subarray(at - start, at - start + n));
      at += n;
      progress?.(Math.min(at, offset + data.length) - offset, total);
    }

    for (let done = 0; done < data.length;) {
      const n = Math.min(MAX_BLOCK - ((offset + done) % MAX_BLOCK), data.length - done);
      const got = await this.readBlock(offset + done, n);
      const want = data.subarray(done, done + n);
      const bad = got.findIndex((b, i) => b !== want[i]);
      if (bad >= 0)
        throw new FlashEngineError(`verify failed at ${hex(this.base + offset + done + bad, 8)}: wrote ${hex(want[bad]!)}, read back ${hex(got[bad]!)}`, "VERIFY");
      done += n;
      progress?.(data.length + done, total);
    }
  }

  async run(): Promise<void> {
    if (this.exitSequence) {
      this.log(`reset into the app: ${describeSteps(this.exitSequence.exit)}`);
      this.session.dispose();
      try {
        await runGpioSteps(this.link, this.exitSequence.exit);
        return;
      } catch (e) {
        throw new FlashEngineError(`cannot reset the board out of its bootloader over ${this.link.url}: ${(e as Error).message}`);
      }
    }
    await this.run1("GO", () => this.session.retry("GO", () => this.session.go(this.base), 2));
    this.session.dispose();
  }

  private async readBlock(offset: number, n: number): Promise<Uint8Array> {
    const address = this.base + offset;
    return this.run1(`READ MEMORY at ${hex(address, 8)}`, () => this.session.retry("READ MEMORY", () => this.session.readMemory(address, n)));
  }

  /**
   * A failed write may still have programmed the block (only the ACK was lost), and a flash
   * word can be programmed once per erase, so before sending it again read what is there.
   */
  private async writeBlock(offset: number, bytes: Uint8Array): Promise<void> {
    const address = this.base + offset;
    const what = `WRITE MEMORY at ${hex(address, 8)}`;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.session.writeMemory(address, bytes);
      } catch (e) {
        if (!(e instanceof Stm32ProtocolError)) throw e;
        if (attempt >= 4) throw new FlashEngineError(`${what} failed ${attempt} times: ${e.message}`, "WRITE");
        this.log(`${what}: ${e.message}; checking what the flash holds`);
        if (e.kind !== "nack") await this.run1(what, () => this.session.resync());
        const now = await this.readBlock(offset, bytes.length);
        if (now.every((b, i) => b === bytes[i])) return this.log(`${what}: the block is in the flash; only its ACK was lost`);
        if (!now.every((b) => b === 0xff))
          throw new FlashEngineError(`${what} failed (${e.message}) and left other data there; write again (the sectors are erased first)`, "WRITE");
      }
    }
  }

  /** Runs op, turning a protocol failure that survived its retries into one FlashEngineError line. */
  private async run1<T>(what: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (e) {
      if (e instanceof Stm32ProtocolError) throw new FlashEngineError(`${what} on ${this.link.url}: ${e.message}`, e.kind.toUpperCase());
      throw e;
    }
  }

  private checkRange(offset: number, length: number): void {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > this.size)
      throw new FlashEngineError(`${hex(offset, 8)}+${length} is outside ${this.chipFacts.name}'s ${this.size}-byte flash`, "RANGE");
  }
}
