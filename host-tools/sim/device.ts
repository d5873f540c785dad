// A whole simulated board as a flasher sees it: the flash chip (flash.bin), the fuses, the ROM
// loader (an emulator per rom.protocol), the second-stage bootloader (A/B slots, boot.ts), and
// the app (SimBoard running the module of the slot it chose), behind one UART whose DTR and
// RTS drive the reset circuit and whose bytes move at the line rate (wire.ts).
//
// Modes: "rom" (the loader talks on the UART), "app" (the firmware does), "halted" (no slot
// holds a bootable image: the bootloader said why and waits for a reset), "off" (held in reset
// or stopped).

import { EventEmitter } from "node:events";
import fs from "node:fs";
import path from "node:path";
import type { KeyObject } from "node:crypto";
import { loadBoard, type BoardManifest } from "../boards.ts";
import { devSigningKey, loadPublicKey } from "../flash/keys.ts";
import { romFactoryFor } from "./rom/index.ts";
import { DeviceServer } from "./device-server.ts";
import { SimFlash } from "./flash.ts";
import { Otp } from "./otp.ts";
import { SimBoard } from "./board.ts";
import { selectBoot, confirmBoot, checkSlot, writeBootRecord, readBootRecord, type BootChoice, type BootContext } from "./boot.ts";
import { ERR, BOOT_INFO_BYTES } from "./abi.ts";
import { Wire } from "./wire.ts";
import { pinsFor, type Lines } from "./reset-circuit.ts";
import type { RomEmulator, RomFactory } from "./rom/types.ts";
import { discardSink, silence, type AudioSink, type AudioSource } from "./audio.ts";
import { FirmwareError } from "./validate.ts";

export type DeviceMode = "rom" | "app" | "halted" | "off";

/** The RC delay on EN / NRST: the pin rises this long after the line releases it. */
export const RESET_RELEASE_MS = 5;

export interface SimDeviceOptions {
  board: BoardManifest;
  dir: string;
  trustedKey: KeyObject;
  rom?: RomFactory;
  /** UART at the line rate (default true); false delivers at once. */
  paced?: boolean;
  /** The app's console baud (default the manifest's console.baud): a factory build may run it faster. */
  consoleBaud?: number;
  audioIn?: AudioSource;
  audioOut?: AudioSink;
  /** Reset after the firmware crashes, as a watchdog does (default true). */
  resetOnCrash?: boolean;
  /** The board's IPv4 address on the host (default 127.0.0.1): several boards can share a port number on 127.0.0.x.
   *  "any": every interface, the address the default route leaves by (a board in a network namespace). */
  address4?: string;
}

/** What the host end of the UART is set to; undefined fields follow the device (a raw socket). */
export interface HostLine { baud?: number; parity?: boolean }

/**
 * Events: "mode" (mode), "log" (line: bootloader and firmware log lines), "host" (bytes the
 * device sent, after the wire), "crash" (reason).
 */
export class SimDevice extends EventEmitter {
  readonly board: BoardManifest;
  readonly flash: SimFlash;
  readonly otp: Otp;
  mode: DeviceMode = "off";
  app?: SimBoard;
  bootChoice?: BootChoice;
  haltReason?: string;
  boots = 0;
  /** The device UART's settings now. */
  baud: number;
  parity: boolean;
  host: HostLine = {};
  /** Bytes that arrived with a framing/parity error (host at another baud or framing). */
  lineErrors = 0;
  private rom?: RomEmulator;
  private lines?: Lines;
  private releaseTimer?: NodeJS.Timeout;
  private crashTimer?: NodeJS.Timeout;
  private readonly toHost: Wire;
  private readonly toDevice: Wire;
  private readonly bootCtx: BootContext;
  private generation = 0;
  /** One speaker for every boot: an app instance stopping must not close the device's sink. */
  private readonly audioOut: AudioSink;

  constructor(private readonly opts: SimDeviceOptions) {
    super();
    this.board = opts.board;
    this.flash = new SimFlash(path.join(opts.dir, "flash.bin"), opts.board);
    this.otp = new Otp(path.join(opts.dir, "otp.json"));
    this.baud = opts.consoleBaud ?? opts.board.console.baud;
    this.parity = false;
    const paced = opts.paced ?? true;
    this.toHost = new Wire({ paced, deliver: (b, baud) => this.deliverToHost(b, baud) });
    this.toDevice = new Wire({ paced, deliver: (b, baud) => this.deliverToDevice(b, baud) });
    const sink = opts.audioOut ?? discardSink();
    this.audioOut = { write: (samples) => sink.write(samples), close: () => {} };
    this.bootCtx = { board: opts.board, flash: this.flash, otp: this.otp, trustedKey: opts.trustedKey, log: (l) => this.bootLog(l) };
  }

  get bootContext(): BootContext { return this.bootCtx; }

  /** Power on: boot as the strap pins say (undriven lines: from flash). */
  powerOn(): void { this.start(pinsFor(this.board.rom.reset, this.lines).bootLoader); }

  /** A reset with the boot pin released: the bootloader boots an app slot. */
  reset(): void { this.start(false); }

  /** A reset with the boot pin held: the ROM loader (tests; hosts use DTR/RTS). */
  enterRom(): void { this.start(true); }

  stop(): void {
    this.generation++;
    this.shutdown();
    this.toHost.clear();
    this.toDevice.clear();
    if (this.releaseTimer) clearTimeout(this.releaseTimer);
    this.flash.close();
    this.opts.audioOut?.close();
  }

  /** DTR/RTS from the host (RFC 2217 SET-CONTROL); undefined: the host let go of the lines. */
  setLines(lines: Partial<Lines> | undefined): void {
    const before = pinsFor(this.board.rom.reset, this.lines);
    this.lines = lines === undefined ? undefined : { dtr: lines.dtr ?? this.lines?.dtr ?? false, rts: lines.rts ?? this.lines?.rts ?? false };
    const after = pinsFor(this.board.rom.reset, this.lines);
    if (after.inReset && !before.inReset) {
      if (this.releaseTimer) clearTimeout(this.releaseTimer);
      this.releaseTimer = undefined;
      this.shutdown();
    } else if (!after.inReset && before.inReset) {
      // The reset pin rises through its RC delay; the boot pin is sampled when it gets there.
      if (this.releaseTimer) clearTimeout(this.releaseTimer);
      this.releaseTimer = setTimeout(() => {
        this.releaseTimer = undefined;
        if (!pinsFor(this.board.rom.reset, this.lines).inReset) this.start(pinsFor(this.board.rom.reset, this.lines).bootLoader);
      }, RESET_RELEASE_MS);
    }
  }

  /** Bytes from the host, stamped with the host's line settings at the moment they were sent. */
  fromHost(bytes: Uint8Array): void {
    this.toDevice.send(bytes, this.host.baud ?? this.baud, this.host.parity ?? this.parity);
  }

  /** Bytes the device sends (ROM, bootloader, firmware). */
  private sendToHost = (bytes: Uint8Array): void => {
    if (this.mode === "app" && this.app) this.toHost.hold(this.app.takeSecureElementBusyMs());
    this.toHost.send(bytes, this.baud, this.parity);
  };

  /** The receiver samples at `receiverBaud`; bytes sent at `sentBaud` (3% apart or more) are garbage. */
  private static mismatch(sentBaud: number, receiverBaud: number): boolean {
    return Math.abs(sentBaud - receiverBaud) / receiverBaud > 0.03;
  }

  private deliverToHost(bytes: Uint8Array, sentBaud: number): void {
    // A host at another baud samples garbage; at another parity it still gets the data bits.
    const wrong = SimDevice.mismatch(sentBaud, this.host.baud ?? sentBaud);
    this.emit("host", wrong ? bytes.map((b) => b ^ 0xa5) : bytes);
  }

  private deliverToDevice(bytes: Uint8Array, sentBaud: number): void {
    if (this.mode === "off" || this.mode === "halted") return;
    const baudWrong = SimDevice.mismatch(sentBaud, this.baud);
    const parityWrong = (this.host.parity ?? this.parity) !== this.parity;
    let errors: Uint8Array | undefined;
    if (baudWrong || parityWrong) {
      errors = new Uint8Array(bytes.length);
      for (let i = 0; i < bytes.length; i++) {
        // A missing or extra parity bit lands on a stop/parity position: it is wrong whenever
        // the data bits hold an even number of ones (0x7F, seven ones, gets through: autobaud).
        errors[i] = baudWrong || popcount(bytes[i]) % 2 === 0 ? 1 : 0;
        if (errors[i]) this.lineErrors++;
      }
      if (baudWrong) bytes = bytes.map((b) => b ^ 0xa5);
    }
    if (this.mode === "rom") this.rom?.receive(bytes, errors);
    else if (this.mode === "app" && this.app) {
      if (errors) bytes = bytes.filter((_, i) => !errors![i]);
      if (bytes.length) this.app.feedUart(bytes);
    }
  }

  private setMode(mode: DeviceMode): void {
    this.mode = mode;
    this.emit("mode", mode);
  }

  private shutdown(): void {
    if (this.crashTimer) clearTimeout(this.crashTimer);
    this.crashTimer = undefined;
    this.rom?.close();
    this.rom = undefined;
    this.app?.removeAllListeners();
    this.app?.stop();
    this.app = undefined;
    this.toDevice.clear();
    if (this.mode !== "off") this.setMode("off");
  }

  private start(loader: boolean): void {
    this.shutdown();
    const gen = ++this.generation;
    this.boots++;
    this.haltReason = undefined;
    this.bootChoice = undefined;
    if (loader) {
      if (!this.opts.rom) return this.halt(`board ${this.board.id} has no ROM loader to enter`);
      this.baud = this.board.rom.romBaud;
      this.parity = this.board.rom.framing === "8E1";
      this.setMode("rom");
      this.rom = this.opts.rom({
        board: this.board,
        flash: this.flash,
        send: (b) => { if (gen === this.generation) this.sendToHost(Uint8Array.from(b)); },
        setBaud: (baud) => { if (gen === this.generation) this.baud = baud; },
        runApp: () => { if (gen === this.generation) setImmediate(() => { if (gen === this.generation) this.reset(); }); },
        nowMs: () => performance.now(),
        setTimer: (ms, fn) => {
          const t = setTimeout(() => { if (gen === this.generation) fn(); }, ms);
          return () => clearTimeout(t);
        },
      });
      return;
    }
    this.baud = this.opts.consoleBaud ?? this.board.console.baud;
    this.parity = false;
    let choice: BootChoice | undefined;
    try {
      choice = selectBoot(this.bootCtx);
    } catch (e) {
      return this.halt(`boot: cannot read the flash: ${(e as Error).message}`);
    }
    if (!choice) {
      const a = checkSlot(this.bootCtx, 0);
      const b = checkSlot(this.bootCtx, 1);
      return this.halt(`boot: no bootable image (${a.ok ? "app_a ok" : a.reason}; ${b.ok ? "app_b ok" : b.reason}); flash one with 'tincan flash'`);
    }
    this.bootChoice = choice;
    let app: SimBoard;
    try {
      app = new SimBoard({
        board: this.board,
        firmware: choice.image.module,
        firmwareName: choice.role,
        dir: this.opts.dir,
        clock: "real",
        audioIn: this.opts.audioIn ?? silence(),
        audioOut: this.audioOut,
        resetOnCrash: false,
        address4: this.opts.address4,
        otp: this.otp, // the device's fuses: one set, whichever app boots
        boot: { info: () => bootInfo(choice!), confirm: () => this.confirm(choice!) },
      });
    } catch (e) {
      if (!(e instanceof FirmwareError)) throw e;
      // The runtime refuses the module: a test boot reverts at the next reset; reset now.
      this.bootLog(`boot: the runtime refuses ${choice.role}: ${e.message}`);
      return this.afterCrash(gen);
    }
    this.app = app;
    app.on("uart", (bytes: Uint8Array) => { if (gen === this.generation) this.sendToHost(bytes); });
    app.on("log", (line: string) => this.emit("log", line));
    app.on("crash", (reason: string) => {
      this.emit("crash", reason);
      this.afterCrash(gen);
    });
    this.setMode("app");
    app.boot();
  }

  private afterCrash(gen: number): void {
    if (this.opts.resetOnCrash === false) return;
    this.crashTimer = setTimeout(() => { if (gen === this.generation) this.reset(); }, 100);
  }

  private confirm(choice: BootChoice): number {
    try {
      confirmBoot(this.bootCtx, choice);
      return ERR.OK;
    } catch {
      return ERR.IO;
    }
  }

  private halt(reason: string): void {
    this.haltReason = reason;
    this.bootLog(reason);
    this.setMode("halted");
  }

  private bootLog(line: string): void {
    this.emit("log", line);
    this.sendToHost(Buffer.from(`${line}\r\n`, "utf8"));
  }
}

function bootInfo(choice: BootChoice): Uint8Array {
  const out = new Uint8Array(BOOT_INFO_BYTES);
  const v = new DataView(out.buffer);
  const h = choice.image.header;
  out[0] = choice.slot;
  out[1] = choice.testing ? 1 : 0;
  out[2] = h.version.major;
  out[3] = h.version.minor;
  v.setUint16(4, h.version.patch);
  v.setUint32(6, h.version.build);
  v.setUint32(10, h.securityCounter);
  return out;
}

function popcount(b: number): number {
  let n = 0;
  for (; b; b &= b - 1) n++;
  return n;
}

export interface StartDeviceOptions {
  boardId: string;
  /** Board directory: flash.bin, otp.json, trusted-key.pub, the store and the secure element. */
  dir: string;
  listenPort?: number;
  paced?: boolean;
  consoleBaud?: number;
  /** "rom": power on with the boot pin held (download mode). */
  bootMode?: "normal" | "rom";
  /** The image signing key this board trusts; default: trusted-key.pub in dir, else the dev key (written there). */
  trustedKey?: KeyObject;
  /** A signed image for a board whose slots hold nothing bootable: put in app_a, as the factory would. */
  install?: Uint8Array;
  /** Install it even over a bootable image, unless the board boots exactly it already. */
  reinstall?: boolean;
  /** Log lines from the first boot on (bootloader and firmware). */
  onLog?: (line: string) => void;
  audioIn?: AudioSource;
  audioOut?: AudioSink;
  resetOnCrash?: boolean;
  address4?: string;
}

export interface RunningDevice {
  device: SimDevice;
  /** rfc2217://127.0.0.1:PORT: data plus baud, parity, DTR and RTS. */
  url: string;
  /** socket://127.0.0.1:PORT: the same UART as raw bytes. */
  rawUrl: string;
  stop(): Promise<void>;
}

export async function startDevice(opts: StartDeviceOptions): Promise<RunningDevice> {
  const board = loadBoard(opts.boardId);
  const trustedKey = opts.trustedKey ?? boardTrustedKey(opts.dir);
  const device = new SimDevice({
    board, dir: opts.dir, trustedKey, rom: await romFactoryFor(board), paced: opts.paced, consoleBaud: opts.consoleBaud,
    audioIn: opts.audioIn, audioOut: opts.audioOut, resetOnCrash: opts.resetOnCrash, address4: opts.address4,
  });
  if (opts.install) {
    const empty = !checkSlot(device.bootContext, 0).ok && !checkSlot(device.bootContext, 1).ok;
    if (empty || (opts.reinstall && !installed(device, opts.install))) installImage(device, opts.install);
  }
  const server = new DeviceServer(device);
  try {
    await server.listen(opts.listenPort ?? 0);
  } catch (e) {
    device.stop();
    throw e;
  }
  if (opts.onLog) device.on("log", opts.onLog);
  if (opts.bootMode === "rom") device.enterRom();
  else device.powerOn();
  return {
    device,
    url: server.url,
    rawUrl: server.rawUrl,
    async stop() {
      device.stop();
      await server.close();
    },
  };
}

/** The key set at manufacture: dir/trusted-key.pub; a new board directory gets the dev key's. */
export function boardTrustedKey(dir: string): KeyObject {
  const file = path.join(dir, "trusted-key.pub");
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(`${devSigningKey().file}.pub`, file);
  }
  return loadPublicKey(file);
}

/** True when app_a holds exactly this image and is the confirmed boot slot. */
function installed(device: SimDevice, image: Uint8Array): boolean {
  const rec = readBootRecord(device.flash)?.record;
  if (rec && (rec.slot !== 0 || rec.state !== "confirmed")) return false;
  const slot = device.flash.partition("app_a");
  return Buffer.from(device.flash.read(slot.offset, image.length)).equals(Buffer.from(image));
}

/** Writes a signed image into app_a and a confirmed boot record, as a factory programmer would. */
export function installImage(device: SimDevice, image: Uint8Array): void {
  const slot = device.flash.partition("app_a");
  if (image.length > slot.size) throw new FirmwareError(`the image (${image.length} bytes) does not fit app_a (${slot.size} bytes)`);
  device.flash.eraseCovering(slot.offset, image.length);
  device.flash.write(slot.offset, image);
  writeBootRecord(device.flash, 0, "confirmed");
}
