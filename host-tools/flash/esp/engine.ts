// The FlashEngine of ESP boards, with esptool-js 0.7.0 (Espressif's own JavaScript esptool) doing
// the protocol work over a Tincan Link through the Web Serial adapter in webserial.ts: reset into
// download mode (its classic DTR/RTS sequence, or none with noReset), sync, identify the chip,
// upload and start its flasher stub, switch baud, then read (READ_FLASH, checked against the MD5
// the stub sends after the data), hash (SPI_FLASH_MD5 on the chip), write (compressed, verified
// by esptool-js against the chip's MD5) and reset into the app. Every esptool-js failure comes
// out as a one-line FlashEngineError; esptool-js's own chatter goes to opts.log or nowhere.

import { createHash } from "node:crypto";
import { constants as zlibConstants, deflateSync, inflateSync } from "node:zlib";
import { ESPLoader, Transport, type IEspLoaderTerminal } from "esptool-js";
import type { BoardManifest } from "../../boards.ts";
import { listPorts } from "../../link/ports.ts";
import type { Link } from "../../link/transport.ts";
import { FlashEngineError, type EngineOptions, type FlashEngine, type OpenEngine, type Progress } from "../engine.ts";
import { LinkSerialPort } from "./webserial.ts";

/** How long EN is held low for a hard reset (esptool's HardReset uses 100 ms). */
const RESET_PULSE_MS = 100;
/** How long to wait for the MD5 frame the stub sends after the last READ_FLASH packet. */
const READ_MD5_TIMEOUT_MS = 3000;
/** Without a reset, wait for the line to go quiet first (at most this long) and drop what came. */
const QUIET_MS = 60;
const QUIET_MAX_MS = 1000;
/** Sizes esptool-js knows from the JEDEC capacity byte (its DETECTED_FLASH_SIZES, in bytes). */
const FLASH_CAPACITY_MIN = 0x12;
const FLASH_CAPACITY_MAX = 0x1c;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const md5hex = (b: Uint8Array): string => createHash("md5").update(b).digest("hex");

/** esptool-js's terminal, one log line per line it prints (it writes "Connecting..." in pieces). */
function terminalFor(log: ((line: string) => void) | undefined): IEspLoaderTerminal {
  let partial = "";
  const emit = (text: string): void => {
    partial += text;
    const lines = partial.split(/\r?\n|\r/);
    partial = lines.pop() ?? "";
    for (const l of lines) if (l.trim() !== "") log?.(`esptool-js: ${l.trim()}`);
  };
  return { clean: () => {}, write: (s) => emit(s), writeLine: (s) => emit(`${s}\n`) };
}

/** One line for any failure: ours as they are, esptool-js's and the link's with where and what. */
function engineError(url: string, what: string, err: unknown): FlashEngineError {
  if (err instanceof FlashEngineError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  if (err instanceof Error && err.name === "LinkError") return new FlashEngineError(`${what}: ${msg}`, "LINK");
  if (/Failed to connect/i.test(msg))
    return new FlashEngineError(`no answer from the ESP ROM loader on ${url}: check the cable and power; hold BOOT while pressing RESET, then retry with --no-reset`, "NO_ANSWER");
  if (/Serial data stream stopped|No serial data received|Timeout/i.test(msg))
    return new FlashEngineError(`the loader on ${url} stopped answering during ${what} (${msg}); reset the board and retry, or try a lower --baud`, "TIMEOUT");
  if (/MD5 of file does not match/i.test(msg))
    return new FlashEngineError(`${what} on ${url}: the chip's MD5 of the written region does not match the data`, "VERIFY");
  return new FlashEngineError(`${what} on ${url} failed: ${msg}`, "PROTOCOL");
}

export const openEspEngine: OpenEngine = async (board: BoardManifest, link: Link, opts: EngineOptions = {}) => {
  const rom = board.rom;
  if (rom.protocol !== "esp-serial") throw new FlashEngineError(`board ${board.id} does not use the ESP serial loader (its rom.protocol is ${rom.protocol})`);
  const baud = opts.baud ?? rom.defaultBaud;
  if (!Number.isInteger(baud) || baud <= 0 || baud > rom.maxBaud)
    throw new FlashEngineError(`baud ${baud} is not usable on board ${board.id}: use 1..${rom.maxBaud}`, "BAUD");

  // esptool-js picks its reset from the port's USB id: the S3's own USB-Serial-JTAG (303a:1001)
  // takes a different DTR/RTS sequence from a USB-UART bridge's auto-reset circuit.
  const usb = await usbIdOf(link.url);
  const port = new LinkSerialPort(link, { log: opts.log, usbVendorId: usb?.vid, usbProductId: usb?.pid });
  // esptool-js types its port as a browser SerialPort; the adapter implements what it uses.
  const transport = new Transport(port as unknown as ConstructorParameters<typeof Transport>[0], false, true);
  // Transport.trace() prints with console.log even with tracing off (e.g. "readLoop exited").
  transport.trace = (message: string) => opts.log?.(`esptool-js: ${message}`);
  const loader = new ESPLoader({ transport, baudrate: baud, romBaudrate: rom.romBaud, terminal: terminalFor(opts.log) });

  let chip = "";
  const lost = new Promise<never>((_, reject) => {
    link.onClose((err) => reject(err ?? new FlashEngineError(`${link.url}: the link was closed`, "LINK")));
  });
  lost.catch(() => {});
  try {
    // esptool-js notices a vanished link only at its next timeout: race it against the link.
    await Promise.race([lost, (async () => {
      // A board already in its loader may still be sending its boot banner or the answers to an
      // earlier tool's SYNCs. esptool-js meets stray bytes by sending SYNC again at once, and the
      // ROM answers each SYNC eight times: its answers to the real commands then sit behind a
      // growing backlog. Starting on a quiet line avoids that; the reset sequence does the same.
      if (opts.noReset) await quietLine(link, QUIET_MS, QUIET_MAX_MS);
      await loader.detectChip(opts.noReset ? "no_reset" : "default_reset");
      const found = loader.chip;
      if (found.IMAGE_CHIP_ID !== rom.chip.chipId)
        throw new FlashEngineError(`the chip on ${link.url} is an ${found.CHIP_NAME}, board ${board.id} needs an ${rom.chip.name}`, "WRONG_CHIP");
      chip = loader.secureDownloadMode ? found.CHIP_NAME : await found.getChipDescription(loader);
      if (!loader.secureDownloadMode) {
        opts.log?.(`chip: ${chip}, MAC ${await found.readMac(loader)}`);
        await found.postConnect?.(loader);
      }
      // The ROM takes CHANGE_BAUDRATE too: switching first uploads the stub (about 10 KB) at
      // the fast rate instead of at 115200, a second saved on every flash. The stub keeps the
      // UART divider the ROM set.
      if (baud !== rom.romBaud) await loader.changeBaud();
      await loader.runStub();
      await checkFlashChip(loader, board, link.url, opts.log);
    })()]);
  } catch (err) {
    await transport.disconnect().catch(() => {});
    throw engineError(link.url, "connecting", err);
  }
  return new EspEngine(board, link, port, transport, loader, chip, opts.log);
};

/** The USB VID:PID of a serial device path (undefined for sockets or when the OS does not say). */
async function usbIdOf(url: string): Promise<{ vid?: number; pid?: number } | undefined> {
  if (/^[a-z0-9+.-]+:\/\//i.test(url)) return undefined;
  try {
    const port = (await listPorts()).find((p) => p.path === url);
    return port ? { vid: port.vid, pid: port.pid } : undefined;
  } catch {
    return undefined;
  }
}

/** Resolves once the link has been silent for quietMs (or after maxMs), discarding what arrives. */
function quietLine(link: Link, quietMs: number, maxMs: number): Promise<void> {
  return new Promise((resolve) => {
    let last = Date.now();
    const start = last;
    const off = link.onData(() => (last = Date.now()));
    const tick = setInterval(() => {
      const now = Date.now();
      if (now - last >= quietMs || now - start >= maxMs || link.closed) {
        clearInterval(tick);
        off();
        resolve();
      }
    }, 10);
  });
}

/** The JEDEC id through the SPI registers, as esptool does: a chip smaller than the manifest says is refused. */
async function checkFlashChip(loader: ESPLoader, board: BoardManifest, url: string, log?: (line: string) => void): Promise<void> {
  if (loader.secureDownloadMode) return; // register access is refused there
  const id = await loader.readFlashId();
  log?.(`flash id 0x${id.toString(16).padStart(6, "0")}`);
  if (id === 0xffffff || id === 0) throw new FlashEngineError(`${url}: the ${board.rom.chip.name} gets no answer from its flash chip (JEDEC id 0x${id.toString(16)}): check the flash wiring`, "NO_FLASH");
  const capacity = (id >> 16) & 0xff;
  if (capacity >= FLASH_CAPACITY_MIN && capacity <= FLASH_CAPACITY_MAX && 2 ** capacity < board.memory.flashBytes)
    throw new FlashEngineError(`${url}: the flash chip holds ${2 ** capacity} bytes, board ${board.id} needs ${board.memory.flashBytes}`, "FLASH_SIZE");
}

class EspEngine implements FlashEngine {
  private busy: Promise<unknown> = Promise.resolve();
  private left = false;
  private readonly url: string;
  /** Rejects when the link goes away: esptool-js itself would only notice at its next timeout. */
  private readonly lost: Promise<never>;

  constructor(
    private readonly board: BoardManifest,
    link: Link,
    private readonly port: LinkSerialPort,
    private readonly transport: Transport,
    private readonly loader: ESPLoader,
    readonly chip: string,
    private readonly log?: (line: string) => void,
  ) {
    this.url = link.url;
    this.lost = new Promise<never>((_, reject) => {
      link.onClose((err) => reject(err ?? new FlashEngineError(`${link.url}: the link was closed`, "LINK")));
    });
    this.lost.catch(() => {});
  }

  get baud(): number {
    return this.transport.baudrate; // esptool-js falls back to the ROM baud if the switch failed
  }

  get wireBytes(): { sent: number; received: number } {
    return { ...this.port.wire };
  }

  read(offset: number, length: number, progress?: Progress): Promise<Uint8Array> {
    return this.serial("reading flash", async () => {
      this.checkRegion(offset, length);
      if (length === 0) return new Uint8Array(0);
      const data = await this.loader.readFlash(this.address(offset), length, (_packet, got, total) => progress?.(got, total));
      // The stub ends READ_FLASH with the MD5 of what it read; esptool-js leaves that frame unread.
      const digest = await this.transport.read(READ_MD5_TIMEOUT_MS);
      if (Buffer.from(digest).toString("hex") !== md5hex(data))
        throw new FlashEngineError(`reading 0x${offset.toString(16)}+${length} from ${this.url}: the data does not match the MD5 the chip sent`, "VERIFY");
      return data;
    });
  }

  digest(offset: number, length: number): Promise<string | undefined> {
    return this.serial("hashing flash", async () => {
      this.checkRegion(offset, length);
      const hex = await this.loader.flashMd5sum(this.address(offset), length);
      // Without the stub (secure download mode) the ROM answers 32 ASCII hex digits, which
      // esptool-js hex-encodes once more.
      return hex.length === 64 ? Buffer.from(hex, "hex").toString("latin1").toLowerCase() : hex.toLowerCase();
    });
  }

  write(offset: number, data: Uint8Array, progress?: Progress): Promise<void> {
    return this.serial("writing flash", async () => {
      // esptool-js pads the data to 4 bytes with 0xFF; from an aligned offset the padding stays
      // inside the last erase unit, so nothing outside [offset, offset + length) is erased.
      if (offset % 4 !== 0) throw new FlashEngineError(`cannot write at 0x${offset.toString(16)}: ESP flash writes start on a 4-byte boundary`, "ALIGN");
      this.checkRegion(offset, Math.ceil(data.length / 4) * 4);
      if (data.length === 0) return;
      await this.deflateAndWrite(offset, data, progress);
    });
  }

  /**
   * esptool-js's writeFlash, less its cost: it re-inflates every block it has just deflated,
   * through pako with a one-byte output chunk, only to size each block's timeout; at 921600
   * baud that kept the line idle 20-35 ms after each 16 KiB block. The same FLASH_DEFL_BEGIN /
   * DATA / END commands (esptool-js's own), deflated and sized with Node's zlib, then the
   * chip's MD5 of the region against ours.
   */
  private async deflateAndWrite(offset: number, data: Uint8Array, progress?: Progress): Promise<void> {
    const image = new Uint8Array(Math.ceil(data.length / 4) * 4).fill(0xff);
    image.set(data);
    const packed = new Uint8Array(deflateSync(image, { level: 9 }));
    const address = this.address(offset);
    const size = this.loader.FLASH_WRITE_SIZE;
    await this.loader.flashDeflBegin(image.length, packed.length, address);
    let inflated = 0;
    let timeout = 3000;
    for (let at = 0, seq = 0; at < packed.length; at += size, seq++) {
      const block = packed.subarray(at, at + size);
      // Bytes this block inflates to, for its timeout (erase + write time per MB).
      const upTo = at + block.length >= packed.length ? image.length : inflateSync(packed.subarray(0, at + block.length), { finishFlush: zlibConstants.Z_SYNC_FLUSH }).length;
      const blockTimeout = Math.max(3000, this.loader.timeoutPerMb(this.loader.ERASE_WRITE_TIMEOUT_PER_MB, upTo - inflated));
      inflated = upTo;
      // The stub acknowledges a block on receipt and writes it while the next one arrives, so
      // a block waits for the one before it: its timeout is the previous block's.
      await this.loader.flashDeflBlock(block, seq, timeout);
      timeout = blockTimeout;
      progress?.(Math.min(data.length, inflated), data.length);
    }
    await this.loader.flashDeflFinish(false, timeout);
    const theirs = await this.loader.flashMd5sum(address, image.length);
    if (theirs.toLowerCase() !== md5hex(image)) throw new FlashEngineError(`writing flash on ${this.url}: the chip's MD5 of the written region does not match the data`, "VERIFY");
    this.log?.(`wrote ${image.length} bytes at 0x${address.toString(16)} (${packed.length} deflated); the chip's MD5 verified`);
  }

  run(): Promise<void> {
    return this.serial("resetting into the app", async () => {
      // EN low (RTS asserted, DTR not), then released with IO0 high: the chip boots from flash.
      // Not esptool-js's after("hard_reset"): in 0.7.0 it only releases RTS, which resets nothing
      // on the classic auto-reset circuit when RTS is already released.
      await this.port.setSignals({ dataTerminalReady: false, requestToSend: true });
      await sleep(RESET_PULSE_MS);
      await this.port.setSignals({ dataTerminalReady: false, requestToSend: false });
      this.left = true;
      await this.transport.disconnect(); // stop reading the link; the link stays the caller's
    });
  }

  /** esptool-js runs one command at a time: queue the calls. */
  private serial<T>(what: string, op: () => Promise<T>): Promise<T> {
    const run = this.busy.then(async () => {
      if (this.left) throw new FlashEngineError(`${what}: the board on ${this.url} has left its loader (run() was called)`, "CLOSED");
      try {
        return await Promise.race([op(), this.lost]);
      } catch (err) {
        throw engineError(this.url, what, err);
      }
    });
    this.busy = run.catch(() => {});
    return run;
  }

  private checkRegion(offset: number, length: number): void {
    const size = this.board.memory.flashBytes;
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > size)
      throw new FlashEngineError(`0x${offset.toString(16)}+${length} is outside the ${size}-byte flash of board ${this.board.id}`, "RANGE");
  }

  private address(offset: number): number {
    return this.board.flash.baseAddress + offset;
  }
}
