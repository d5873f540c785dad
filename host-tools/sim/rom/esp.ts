// The ESP32-S3 serial download mode, sans-IO: the ROM loader the chip starts in, and the esptool
// flasher stub it runs once a host uploads one (MEM_BEGIN/DATA/END with an entry point). The
// emulator answers every command at once (the device's UART model paces the wire; there is no
// flash timing model). Commands, codes and the differences between the two loaders are in
// esp-protocol.ts, esp-flash-write.ts and docs/flash-esp.md.
//
// Bad input never throws out of receive(): a frame that is not a request is dropped and counted
// (the stub also answers the ones it can name, as the real stub does), a request the loader
// cannot carry out gets the loader's error response.

import type { RomEmulator, RomFactory, RomPort } from "./types.ts";
import { EspSlipReceiver } from "./esp-slip.ts";
import { Cmd, type Failure, type Loader, type Request, SYNC_PAYLOAD, encodeResponse, parseRequest, statusBytes, words } from "./esp-protocol.ts";
import { ESP32S3_BANNER, Esp32s3Registers } from "./esp-chip.ts";
import { FlashDownload } from "./esp-flash-write.ts";
import { FlashReadSession, MAX_READ_PACKET } from "./esp-read-flash.ts";
import { RamLoad } from "./esp-ram-load.ts";
import { eraseRegion, flashOp, regionMd5 } from "./esp-flash-ops.ts";
import { slipEncode } from "../../link/slip.ts";

/** The chip this emulator models (GET_SECURITY_INFO / image header chip id). */
const ESP32S3_CHIP_ID = 9;
/** SYNC response value of the ROM, as the protocol page's trace shows it; the stub sends 0. */
const ROM_SYNC_VALUE = 0x55201207;
/** Time the stub takes from its entry point to "OHAI" (clock and flash init), and a reboot's pause. */
const STUB_START_MS = 10;
const REBOOT_PAUSE_MS = 10;
const BAUD_SWITCH_SLACK_MS = 5;
/** Baud rates the S3's UART divider can produce from its 80 MHz clock. */
const MIN_BAUD = 300;
const MAX_BAUD = 5_000_000;

type Mode = "rom" | "starting" | "stub" | "leaving" | "gone";

interface Reply {
  value?: number;
  data?: Uint8Array;
  failure?: Failure;
  /** The ROM answers SYNC (and an unknown command) eight times. */
  times?: number;
  /** Work done after the response is queued; the stub reports its failure on the next command. */
  after?: () => Failure | undefined | void;
  /** No response at all (RUN_USER_CODE). */
  silent?: boolean;
}

export interface EspRomStats {
  requests: number;
  responses: number;
  /** Frames that were not requests: too short, wrong direction byte, size field not the length. */
  malformed: { short: number; direction: number; size: number };
  /** Frames that arrived while the chip was busy starting the stub or rebooting. */
  ignored: number;
  /** MEM_END jumped somewhere nothing was loaded (a real chip would crash). */
  crashed: number;
  /** Exceptions from the simulator itself while handling a frame (should stay 0). */
  faults: number;
  lastFault?: string;
}

export class EspLoaderEmulator implements RomEmulator {
  mode: Mode = "rom";
  readonly regs: Esp32s3Registers;
  readonly stats: EspRomStats = { requests: 0, responses: 0, malformed: { short: 0, direction: 0, size: 0 }, ignored: 0, crashed: 0, faults: 0 };
  readonly slip: EspSlipReceiver;
  private readonly chipId: number;
  /** The UART's baud now, and the size of the last response queued (for its wire time). */
  private baud: number;
  private lastResponseBytes = 0;
  private download: FlashDownload | undefined;
  private mem: RamLoad | undefined;
  private reading: FlashReadSession | undefined;
  private pendingFailure: Failure | undefined;
  private timers: (() => void)[] = [];

  constructor(private readonly port: RomPort) {
    const rom = port.board.rom;
    if (rom.protocol !== "esp-serial" || rom.chip.chipId !== ESP32S3_CHIP_ID)
      throw new Error(`board ${port.board.id}: the ESP loader emulator models the ESP32-S3 (chip id ${ESP32S3_CHIP_ID}) only`);
    this.chipId = rom.chip.chipId;
    this.baud = rom.romBaud;
    this.regs = new Esp32s3Registers(port.board, port.flash.file);
    this.slip = new EspSlipReceiver((f) => this.frame(f));
    port.send(new TextEncoder().encode(ESP32S3_BANNER));
  }

  get loader(): Loader {
    return this.mode === "stub" ? "stub" : "rom";
  }

  receive(bytes: Uint8Array, errors?: Uint8Array): void {
    if (this.mode === "gone") return;
    this.slip.push(bytes, errors);
  }

  close(): void {
    for (const cancel of this.timers) cancel();
    this.timers = [];
    this.mode = "gone";
    this.download = this.mem = this.reading = undefined;
  }

  private frame(frame: Uint8Array): void {
    try {
      this.handleFrame(frame);
    } catch (err) {
      // A fault of the simulator itself (the flash file closed under us, say), not of the input:
      // counted and kept for the tests, answered as a failed flash operation when it can be.
      this.stats.faults++;
      this.stats.lastFault = err instanceof Error ? err.message : String(err);
      if (frame.length >= 8 && frame[0] === 0 && this.mode !== "gone") this.respond(frame[1], { failure: "flashFailed" });
    }
  }

  private handleFrame(frame: Uint8Array): void {
    if (this.mode === "starting" || this.mode === "leaving" || this.mode === "gone") {
      this.stats.ignored++;
      return;
    }
    if (this.reading) {
      this.reading.frame(frame);
      if (this.reading.finished) this.endRead();
      return;
    }
    const req = parseRequest(frame);
    if (typeof req === "string") {
      this.stats.malformed[req]++;
      // The stub answers a frame it can name (esp-flasher-stub handle_command); the ROM stays silent.
      if (this.loader === "stub" && req !== "short") this.respond(frame[1], { failure: req === "direction" ? "unknownCommand" : "badLength" });
      return;
    }
    this.stats.requests++;
    if (this.pendingFailure) {
      // The stub acknowledged the previous block before programming it; its failure answers this command.
      this.respond(req.command, { failure: this.pendingFailure });
      this.pendingFailure = undefined;
      return;
    }
    const reply = this.handle(req);
    if (!reply.silent) this.respond(req.command, reply);
    if (reply.failure === undefined && reply.after) {
      const failure = reply.after();
      if (failure) this.pendingFailure = failure;
    }
  }

  private respond(command: number, r: Reply): void {
    const loader = this.loader;
    const frame = encodeResponse(command, r.value ?? 0, r.failure === undefined ? (r.data ?? new Uint8Array(0)) : new Uint8Array(0), statusBytes(loader, r.failure));
    for (let i = 0; i < (r.times ?? 1); i++) {
      this.port.send(frame);
      this.stats.responses++;
    }
    this.lastResponseBytes = frame.length * (r.times ?? 1);
  }

  private handle(req: Request): Reply {
    const { command, data } = req;
    const rom = this.loader === "rom";
    const len = (n: number): Reply | undefined => (data.length === n ? undefined : { failure: "badLength" });
    switch (command) {
      case Cmd.SYNC:
        if (data.length !== 36 || (rom && !SYNC_PAYLOAD.every((b, i) => data[i] === b))) return { failure: "badLength" };
        return { value: rom ? ROM_SYNC_VALUE : 0, times: 8 };
      case Cmd.READ_REG:
        return len(4) ?? { value: this.regs.read(words(data)[0]) };
      case Cmd.WRITE_REG: {
        if (data.length === 0 || data.length % 16 !== 0) return { failure: "badLength" };
        const w = words(data);
        for (let i = 0; i < w.length; i += 4) this.regs.write(w[i], w[i + 1], w[i + 2]); // w[i + 3]: a delay, not modelled
        return {};
      }
      case Cmd.GET_SECURITY_INFO:
        return len(0) ?? { data: this.securityInfo() };
      case Cmd.SPI_ATTACH:
        // The ROM takes a second, zero word; the stub only the pin word.
        return data.length === 4 || (rom && data.length === 8) ? {} : { failure: "badLength" };
      case Cmd.SPI_SET_PARAMS:
        return len(24) ?? {};
      case Cmd.CHANGE_BAUDRATE:
        return len(8) ?? this.changeBaud(words(data));
      case Cmd.FLASH_BEGIN:
      case Cmd.FLASH_DEFL_BEGIN:
        return this.beginDownload(command === Cmd.FLASH_DEFL_BEGIN, data);
      case Cmd.FLASH_DATA:
      case Cmd.FLASH_DEFL_DATA:
        return this.downloadBlock(command === Cmd.FLASH_DEFL_DATA, req);
      case Cmd.FLASH_END:
      case Cmd.FLASH_DEFL_END:
        return len(4) ?? this.endDownload(words(data)[0]);
      case Cmd.SPI_FLASH_MD5: {
        if (data.length !== 16) return { failure: "badLength" };
        const [addr, size] = words(data);
        const md5 = regionMd5(this.port.flash, this.loader, addr, size);
        return typeof md5 === "string" ? { failure: md5 } : { data: md5 };
      }
      case Cmd.MEM_BEGIN: {
        if (data.length !== 16) return { failure: "badLength" };
        const load = RamLoad.begin(this.regs.ram, words(data));
        this.mem = typeof load === "string" ? undefined : load;
        return typeof load === "string" ? { failure: load } : {};
      }
      case Cmd.MEM_DATA:
        return this.mem ? { failure: this.mem.block(data, req.checksum) } : { failure: "notInFlashMode" };
      case Cmd.MEM_END:
        return len(8) ?? this.memEnd(words(data));
    }
    if (rom) return { failure: "unknownCommand", times: 8 }; // esptool-js: "the ROM repeats an unsupported command response 8 times"
    switch (command) {
      case Cmd.ERASE_FLASH:
        return len(0) ?? { failure: flashOp(() => this.port.flash.eraseAll()) };
      case Cmd.ERASE_REGION:
        return len(8) ?? { failure: eraseRegion(this.port.flash, words(data)[0], words(data)[1]) };
      case Cmd.READ_FLASH:
        return len(16) ?? this.readFlash(words(data));
      case Cmd.RUN_USER_CODE:
        this.leave(0);
        return { silent: true };
    }
    return { failure: "unknownCommand" };
  }

  /** flags, flash_crypt_cnt, 7 key purposes, chip id, API version: nothing secured on this board. */
  private securityInfo(): Uint8Array {
    const out = new Uint8Array(20);
    new DataView(out.buffer).setUint32(12, this.chipId, true);
    return out;
  }

  /**
   * New baud first, then (ROM) 0 or (stub) the baud the host believes it runs at. The ROM ignores
   * the second word; so does the stub esptool-js 0.7.0 uploads, which sets the rate outright.
   * The divider changes once the response has left the UART at the old rate (a switch before
   * its last stop bit would garble it): the wire time of the response, and a little slack.
   */
  private changeBaud([baud]: number[]): Reply {
    if (baud < MIN_BAUD || baud > MAX_BAUD) return { failure: "badLength" };
    return {
      after: () => {
        const drainMs = Math.ceil((this.lastResponseBytes * 10 * 1000) / this.baud) + BAUD_SWITCH_SLACK_MS;
        this.later(drainMs, () => {
          this.baud = baud;
          this.regs.setBaud(baud);
          this.port.setBaud(baud);
        });
      },
    };
  }

  private beginDownload(compressed: boolean, data: Uint8Array): Reply {
    this.download = undefined;
    const d = FlashDownload.begin(this.port.flash, this.loader, compressed, data);
    if (typeof d === "string") return { failure: d };
    this.download = d;
    return {};
  }

  private downloadBlock(compressed: boolean, req: Request): Reply {
    const d = this.download;
    if (!d || d.compressed !== compressed) return { failure: "notInFlashMode" };
    const block = d.accept(req.data, req.checksum);
    if (typeof block === "string") return { failure: block };
    // The ROM programs the block before it answers; the stub answers first, then programs it.
    if (this.loader === "rom") return { failure: d.apply(block) };
    return { after: () => d.apply(block) };
  }

  private endDownload(flag: number): Reply {
    // ROM: 0 reboots, 1 "runs user code": either way the loader is left (esptool sends no
    // FLASH_END to the ROM for that reason). Stub: 0 reboots, 1 stays in the stub.
    if (this.loader === "rom") return { after: () => this.leave(REBOOT_PAUSE_MS) };
    const d = this.download;
    if (!d) return { failure: "notInFlashMode" };
    const failure = d.finish();
    if (failure) return { failure };
    this.download = undefined;
    return flag === 0 ? { after: () => this.leave(REBOOT_PAUSE_MS) } : {};
  }

  /** Execute flag (0 = jump to the entry point, as esptool sends it) and entry point. */
  private memEnd([flag, entry]: number[]): Reply {
    if (!this.mem) return { failure: "notInFlashMode" };
    this.mem = undefined;
    if (flag !== 0) return {};
    return { after: () => this.jump(entry) };
  }

  /**
   * Runs uploaded code. Whatever was loaded is taken to be the esptool flasher stub (its Xtensa
   * code is not executed): after its start-up time it greets the host with the SLIP frame "OHAI"
   * and answers from then on as the stub. An entry point outside what was loaded crashes the chip.
   */
  private jump(entry: number): void {
    if (!this.regs.ram.holds(entry)) {
      this.stats.crashed++;
      this.mode = "gone";
      return;
    }
    this.mode = "starting";
    this.download = undefined;
    this.later(STUB_START_MS, () => {
      this.mode = "stub";
      this.slip.reset();
      this.port.send(slipEncode(new TextEncoder().encode("OHAI")));
    });
  }

  /**
   * Offset, length, packet size, packets in flight. The stub finds a bad packet size or region
   * only while reading and reports it on the next command, after the host has waited for data
   * that never comes; the emulator refuses them in the response instead.
   */
  private readFlash([offset, length, packetSize]: number[]): Reply {
    if (packetSize === 0 || packetSize > MAX_READ_PACKET) return { failure: "badLength" };
    if (offset + length > this.port.flash.size) return { failure: "flashFailed" };
    return {
      after: () => {
        this.reading = new FlashReadSession(this.port.flash, offset, length, packetSize, (b) => this.port.send(b));
        this.reading.start();
        if (this.reading.finished) this.endRead();
      },
    };
  }

  private endRead(): void {
    if (this.reading?.failed) this.pendingFailure = "flashFailed";
    this.reading = undefined;
  }

  /** Leaves the loader for the app once the last response had time to go out. */
  private leave(pauseMs: number): void {
    this.mode = "leaving";
    this.later(pauseMs, () => {
      this.mode = "gone";
      this.port.runApp();
    });
  }

  private later(ms: number, fn: () => void): void {
    const cancel = this.port.setTimer(ms, () => {
      this.timers = this.timers.filter((c) => c !== cancel);
      fn();
    });
    this.timers.push(cancel);
  }
}

export const createEspRom: RomFactory = (port) => new EspLoaderEmulator(port);
