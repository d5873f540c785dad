// The simulated board: boots firmware.wasm the way a microcontroller WASM runtime does
// (validate, instantiate, init, then events and timers), and implements the HAL on the PC.
// Two clocks: "real" follows the wall clock (interop, demos); "virtual" jumps from event to
// event, so an hour of 20 ms frames runs in seconds and every run is the same.

import { EventEmitter } from "node:events";
import path from "node:path";
import { frameSamples, partition, type BoardManifest } from "../boards.ts";
import { ABI_VERSION, SUPPORTED_ABI_VERSIONS, ERR, LOG_LEVEL_LETTERS } from "./abi.ts";
import { validateFirmware, FirmwareError } from "./validate.ts";
import { halImports } from "./hal-imports.ts";
import { NvsStore } from "./nvs.ts";
import { SecureElement } from "./secure-element.ts";
import { Otp } from "./otp.ts";
import { IdentityStore } from "./identity.ts";
import { UdpTable, encodeSockaddr, type Datagram } from "./udp.ts";
import { TcpTable, TCP_DATA, type TcpEvent } from "./tcp.ts";
import { TlsClient } from "./tls.ts";
import { silence, discardSink, type AudioSource, type AudioSink } from "./audio.ts";

export interface SimOptions {
  board: BoardManifest;
  firmware: Uint8Array;
  firmwareName?: string;
  /** Where the board keeps its non-volatile store and secure element. */
  dir: string;
  clock?: "real" | "virtual";
  audioIn?: AudioSource;
  audioOut?: AudioSink;
  /** Reboot after a crash, as a watchdog would (default false: stay crashed, for tests). */
  resetOnCrash?: boolean;
  /** UTC time at boot for the virtual clock (default: now). */
  wallClockStartMs?: number;
  /** The bootloader that chose this module (host-tools/sim/device.ts); absent for a bare module. */
  boot?: BootHooks;
  /** The board's network addresses (default 127.0.0.1 and ::1): its sockets bind there. IPv4
   *  "any": bind 0.0.0.0 and report the default route's address (a board in a network namespace). */
  address4?: string;
  address6?: string;
  /** The board's fuses (chip id, lock, security counter); default: otp.json in dir. A SimDevice
   *  passes its own, so one board has one set of fuses. */
  otp?: Otp;
  /** Tests that watch every HAL call: gets the import object, returns the one to instantiate with. */
  wrapHal?: (imports: ReturnType<typeof halImports>) => ReturnType<typeof halImports>;
}

/** What hal.boot_info and hal.boot_confirm reach. */
export interface BootHooks {
  /** The BOOT_INFO structure (boards/ABI.md). */
  info(): Uint8Array;
  /** Confirms a test boot: an ERR code. */
  confirm(): number;
}

interface FirmwareExports {
  memory: WebAssembly.Memory;
  tincan_abi_version(): number;
  init(): number;
  tick(now: bigint): bigint;
  on_uart(len: number): void;
  on_udp(handle: number, len: number): void;
  on_tcp(handle: number, event: number, len: number): void;
  tcp_rx_buffer(): number;
  tcp_rx_capacity(): number;
  on_audio(samples: number): void;
  on_gpio(id: number, level: number): void;
  uart_rx_buffer(): number;
  uart_rx_capacity(): number;
  udp_rx_buffer(): number;
  udp_rx_capacity(): number;
  udp_rx_address(): number;
  audio_capture_buffer(): number;
  audio_playout_buffer(): number;
  audio_capacity(): number;
  heap_top(): number;
  [name: string]: unknown;
}

export type BoardState = "off" | "running" | "crashed";

/**
 * Events: "uart" (bytes the board sent), "log" (line, level), "gpio" (id, level),
 * "crash" (reason), "boot".
 */
export class SimBoard extends EventEmitter {
  readonly board: BoardManifest;
  readonly clock: "real" | "virtual";
  state: BoardState = "off";
  crashReason?: string;
  boots = 0;
  audioFrames = 0;
  udpDelivered = 0;
  udpDropped = 0;
  /** The HAL import object of the current boot (tests call it directly). */
  hal: ReturnType<typeof halImports> = {};

  private readonly module: WebAssembly.Module;
  private instance?: WebAssembly.Instance;
  private fw?: FirmwareExports;
  private readonly nvs: NvsStore;
  private readonly se: SecureElement;
  /** Fuses: chip id, provisioning lock, security counter. */
  readonly otp: Otp;
  /** The identity partition (identity.bin). */
  readonly identity: IdentityStore;
  private readonly udp: UdpTable;
  private audioIn: AudioSource;
  private readonly audioOut: AudioSink;
  private readonly gpio = new Map<number, number>();
  private readonly uartQueue: Uint8Array[] = [];
  private readonly udpQueue: Datagram[] = [];
  private readonly tcp: TcpTable;
  private readonly tcpQueue: TcpEvent[] = [];
  private readonly tls: TlsClient;
  private virtualNowUs = 0;
  private realBootMs = 0;
  private bootUs = 0;
  private nextTickUs = -1;
  private audio?: { periodUs: number; samples: number; nextUs: number };
  private timer?: NodeJS.Timeout;
  private pendingPanic?: string;
  private inFirmware = false;

  /** Milliseconds the secure element worked since the last call (SimDevice holds the UART that long). */
  takeSecureElementBusyMs(): number { return this.se.takeBusyMs(); }

  constructor(private readonly opts: SimOptions) {
    super();
    this.board = opts.board;
    this.clock = opts.clock ?? "real";
    const name = opts.firmwareName ?? "firmware";
    validateFirmware(opts.firmware, opts.board, name);
    try {
      this.module = new WebAssembly.Module(Uint8Array.from(opts.firmware));
    } catch (e) {
      throw new FirmwareError(`${name}: the WASM runtime refuses the module: ${(e as Error).message}`);
    }
    this.nvs = new NvsStore(path.join(opts.dir, "nvs.json"), partition(opts.board, "nvs").size);
    this.otp = opts.otp ?? new Otp(path.join(opts.dir, "otp.json"));
    const seTiming = opts.board.secureElement ?? { keygenMs: 0, signMs: 0 };
    this.se = new SecureElement(path.join(opts.dir, "secure-element.json"), () => this.otp.locked, seTiming);
    this.identity = new IdentityStore(path.join(opts.dir, "identity.bin"), () => this.otp.locked);
    this.udp = new UdpTable((d) => this.queueDatagram(d), opts.address4 ?? "127.0.0.1", opts.address6 ?? "::1");
    this.tcp = new TcpTable((e) => { this.tcpQueue.push(e); this.drainInputs(); }, opts.address4 ?? "127.0.0.1", opts.address6 ?? "::1");
    this.tls = new TlsClient(this.tcp, this.identity, this.se,
      (handle, peer, reason) => this.printLog(1, Buffer.from(`sim: tls handle ${handle} to ${peer}: ${reason}`)));
    this.audioIn = opts.audioIn ?? silence();
    this.audioOut = opts.audioOut ?? discardSink();
    for (const pin of opts.board.io) this.gpio.set(pin.id, 0);
  }

  /** Microseconds since this boot. */
  nowUs(): number {
    if (this.clock === "virtual") return this.virtualNowUs - this.bootUs;
    return (performance.now() - this.realBootMs) * 1000;
  }

  /** Instantiates the firmware and runs init; in real time also starts the scheduler. */
  boot(): void {
    this.stopTimer();
    this.udp.closeAll();
    this.tcp.closeAll();
    this.tcpQueue.length = 0;
    this.audio = undefined;
    this.nextTickUs = -1;
    this.pendingPanic = undefined;
    this.crashReason = undefined;
    this.bootUs = this.virtualNowUs;
    this.realBootMs = performance.now();
    const memory = () => (this.fw ? this.fw.memory : new WebAssembly.Memory({ initial: 0 }));
    const wallStart = this.opts.wallClockStartMs ?? Date.now();
    const imports = halImports({
      memory,
      nowUs: () => this.nowUs(),
      wallClockMs: () => (this.clock === "virtual" ? wallStart + this.virtualNowUs / 1000 : Date.now()),
      boardId: this.board.id,
      nvs: this.nvs,
      se: this.se,
      otp: this.otp,
      identity: this.identity,
      udp: this.udp,
      tcp: this.tcp,
      tls: this.tls,
      log: (level, text) => this.printLog(level, text),
      panic: (reason) => { this.pendingPanic = reason; },
      uartWrite: (bytes) => { this.emit("uart", bytes); return bytes.length; },
      audioConfigure: (rate, samples) => this.configureAudio(rate, samples),
      gpioWrite: (id, level) => this.writePin(id, level),
      gpioRead: (id) => this.gpio.get(id) ?? ERR.NOT_FOUND,
      bootInfo: () => this.opts.boot?.info(),
      bootConfirm: () => (this.opts.boot ? this.opts.boot.confirm() : ERR.NOT_FOUND),
    });
    this.hal = this.opts.wrapHal ? this.opts.wrapHal(imports) : imports;
    this.fw = undefined;
    this.state = "running";
    this.boots++;
    const broken = this.identity.corrupt;
    if (broken) this.printLog(1, Buffer.from(`sim: ${this.identity.file}: ${broken}; identity_read answers ERR_IO until a record is written`));
    try {
      this.instance = new WebAssembly.Instance(this.module, { hal: this.hal });
    } catch (e) {
      this.crash(e);
      return;
    }
    this.fw = this.instance.exports as unknown as FirmwareExports;
    const version = this.call(() => this.fw!.tincan_abi_version());
    if (this.state !== "running") return;
    if (!SUPPORTED_ABI_VERSIONS.includes(version as number)) {
      this.crash(new Error(`firmware speaks ABI version ${version}; this simulator implements ${SUPPORTED_ABI_VERSIONS.join(", ")}`));
      return;
    }
    const status = this.call(() => this.fw!.init());
    if (this.state !== "running") return;
    if (status !== 0) {
      this.crash(new Error(`firmware init failed with error ${status}`));
      return;
    }
    this.runTick();
    this.emit("boot");
    this.schedule();
  }

  /** Delivers bytes to the console UART, as if a host had sent them. */
  feedUart(bytes: Uint8Array): void {
    this.uartQueue.push(Uint8Array.from(bytes));
    this.drainInputs();
  }

  /** Sets an input pin (the call button) and tells the firmware. */
  setInput(id: number, level: 0 | 1): void {
    const pin = this.board.io.find((p) => p.id === id);
    if (!pin || pin.direction !== "in") throw new Error(`board ${this.board.id} has no input pin ${id}`);
    if (this.gpio.get(id) === level) return;
    this.gpio.set(id, level);
    if (this.state !== "running") return;
    this.call(() => this.fw!.on_gpio(id, level));
    this.runTick();
    this.schedule();
  }

  pin(id: number): number | undefined { return this.gpio.get(id); }

  /** Swaps the microphone source (tests, demos). */
  setAudioSource(source: AudioSource): void { this.audioIn = source; }

  /** Virtual clock only: runs every timer and audio frame due in the next `us` microseconds. */
  runFor(us: number): void {
    if (this.clock !== "virtual") throw new Error("runFor needs the virtual clock");
    const end = this.virtualNowUs + us;
    while (this.state === "running") {
      const next = this.nextEventUs();
      if (next === undefined || next > end) break;
      this.virtualNowUs = Math.max(this.virtualNowUs, next);
      this.runDue();
    }
    if (this.state === "running" || this.virtualNowUs < end) this.virtualNowUs = Math.max(this.virtualNowUs, end);
  }

  /** Diagnostics: the firmware's heap top (boards/ABI.md `heap_top`). */
  heapTop(): number { return this.fw ? (this.fw.heap_top() >>> 0) : 0; }

  /** Diagnostics: the highest non-zero byte of linear memory + 1 (runtime-independent). */
  memoryHighWater(): number {
    if (!this.fw) return 0;
    const words = new Uint32Array(this.fw.memory.buffer);
    for (let i = words.length - 1; i >= 0; i--) if (words[i] !== 0) return (i + 1) * 4;
    return 0;
  }

  get memoryBytes(): number { return this.fw ? this.fw.memory.buffer.byteLength : 0; }

  /** The raw exports, for benchmarks that add their own (instruction counters). */
  get exports(): Record<string, unknown> | undefined { return this.fw; }

  stop(): void {
    this.stopTimer();
    this.udp.closeAll();
    this.tcp.closeAll();
    this.tcpQueue.length = 0;
    this.audioOut.close();
    if (this.state === "running") this.state = "off";
  }

  // --- scheduling -------------------------------------------------------------------------

  private nextEventUs(): number | undefined {
    const candidates: number[] = [];
    if (this.nextTickUs >= 0) candidates.push(this.bootUs + this.nextTickUs);
    if (this.audio) candidates.push(this.bootUs + this.audio.nextUs);
    return candidates.length ? Math.min(...candidates) : undefined;
  }

  /** Runs the audio frames and the timer that are due now. */
  private runDue(): void {
    const now = this.nowUs();
    let frames = 0;
    // In real time the event loop may be late: catch up, but never more than 5 frames at once.
    while (this.state === "running" && this.audio && this.audio.nextUs <= now && frames < 5) {
      this.audioFrame();
      frames++;
    }
    if (this.audio && this.audio.nextUs <= now - 5 * this.audio.periodUs) this.audio.nextUs = now; // drop the backlog
    if (this.state === "running" && this.nextTickUs >= 0 && this.nextTickUs <= now) this.runTick();
  }

  private schedule(): void {
    if (this.clock !== "real" || this.state !== "running") return;
    this.stopTimer();
    const next = this.nextEventUs();
    if (next === undefined) return;
    const delayMs = Math.max(0, (next - this.bootUs - this.nowUs()) / 1000);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.runDue();
      this.schedule();
    }, delayMs);
  }

  private stopTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private runTick(): void {
    if (this.state !== "running") return;
    const now = this.nowUs();
    const next = this.call(() => this.fw!.tick(BigInt(Math.floor(now))));
    if (this.state !== "running") return;
    const n = Number(next as bigint);
    // A deadline in the past means "as soon as possible": one microsecond on, so time advances.
    this.nextTickUs = n < 0 ? -1 : Math.max(n, Math.floor(now) + 1);
  }

  private audioFrame(): void {
    const a = this.audio!;
    const fw = this.fw!;
    const frame = new Int16Array(a.samples);
    this.audioIn.read(frame);
    new Int16Array(fw.memory.buffer, fw.audio_capture_buffer() >>> 0, a.samples).set(frame);
    this.call(() => fw.on_audio(a.samples));
    if (this.state !== "running") return;
    this.audioOut.write(Int16Array.from(new Int16Array(fw.memory.buffer, fw.audio_playout_buffer() >>> 0, a.samples)));
    this.audioFrames++;
    a.nextUs += a.periodUs;
  }

  private drainInputs(): void {
    if (this.state !== "running" || this.inFirmware) return;
    const fw = this.fw!;
    while (this.state === "running" && this.uartQueue.length) {
      const chunk = this.uartQueue.shift()!;
      const cap = fw.uart_rx_capacity();
      for (let off = 0; off < chunk.length && this.state === "running"; off += cap) {
        const part = chunk.subarray(off, off + cap);
        new Uint8Array(fw.memory.buffer, fw.uart_rx_buffer() >>> 0, part.length).set(part);
        this.call(() => fw.on_uart(part.length));
      }
      this.runTick();
    }
    while (this.state === "running" && this.udpQueue.length) {
      const d = this.udpQueue.shift()!;
      if (!this.udp.isOpen(d.handle) || d.data.length > fw.udp_rx_capacity()) { this.udpDropped++; continue; }
      new Uint8Array(fw.memory.buffer, fw.udp_rx_buffer() >>> 0, d.data.length).set(d.data);
      encodeSockaddr(new Uint8Array(fw.memory.buffer, fw.udp_rx_address() >>> 0, 20), d.family, d.address, d.port);
      this.call(() => fw.on_udp(d.handle, d.data.length));
      this.udpDelivered++;
      this.runTick();
    }
    while (this.state === "running" && this.tcpQueue.length) {
      const e = this.tcpQueue.shift()!;
      if (e.kind !== TCP_DATA || !e.data) { this.call(() => fw.on_tcp(e.handle, e.kind, 0)); this.runTick(); continue; }
      const cap = fw.tcp_rx_capacity();
      for (let off = 0; off < e.data.length && this.state === "running"; off += cap) {
        const part = e.data.subarray(off, off + cap);
        new Uint8Array(fw.memory.buffer, fw.tcp_rx_buffer() >>> 0, part.length).set(part);
        this.call(() => fw.on_tcp(e.handle, TCP_DATA, part.length));
      }
      this.runTick();
    }
    this.schedule();
  }

  private queueDatagram(d: Datagram): void {
    if (this.udpQueue.length >= 256) { this.udpDropped++; return; }
    this.udpQueue.push(d);
    this.drainInputs();
  }

  // --- HAL pieces that need the board ----------------------------------------------------

  private configureAudio(rate: number, samples: number): number {
    if (rate === 0 && samples === 0) { this.audio = undefined; return ERR.OK; }
    const a = this.board.audio;
    if (rate !== a.sampleRateHz || samples !== frameSamples(this.board)) return ERR.UNSUPPORTED;
    const periodUs = (samples * 1_000_000) / rate;
    this.audio = { periodUs, samples, nextUs: this.nowUs() + periodUs };
    return ERR.OK;
  }

  private writePin(id: number, level: number): number {
    const pin = this.board.io.find((p) => p.id === id);
    if (!pin) return ERR.NOT_FOUND;
    if (pin.direction !== "out") return ERR.DENIED;
    if (level !== 0 && level !== 1) return ERR.INVALID;
    if (this.gpio.get(id) !== level) {
      this.gpio.set(id, level);
      this.emit("gpio", id, level);
    }
    return ERR.OK;
  }

  private printLog(level: number, text: Uint8Array): void {
    // 0xC0/0xC1 never occur in UTF-8; keeping them out of the text keeps console frames
    // unambiguous on the shared UART (boards/CONSOLE.md).
    const clean = Buffer.from(text.map((b) => (b === 0xc0 || b === 0xc1 || b === 0x0a || b === 0x0d ? 0x3f : b)));
    const letter = LOG_LEVEL_LETTERS[level] ?? "I";
    const line = `${letter} (${Math.floor(this.nowUs() / 1000)}) ${clean.toString("utf8")}`;
    this.emit("log", line, level);
    this.emit("uart", Buffer.from(`${line}\r\n`, "utf8"));
  }

  /** Calls into the firmware; a trap crashes the board instead of escaping. */
  private call<T>(fn: () => T): T | undefined {
    this.inFirmware = true;
    try {
      return fn();
    } catch (e) {
      this.crash(e);
      return undefined;
    } finally {
      this.inFirmware = false;
    }
  }

  private crash(e: unknown): void {
    const trap = e instanceof Error ? e.message : String(e);
    this.crashReason = this.pendingPanic ? `${this.pendingPanic} (${trap})` : trap;
    this.state = "crashed";
    this.stopTimer();
    this.audio = undefined;
    this.printLog(0, Buffer.from(`board crashed: ${this.crashReason}`));
    this.emit("crash", this.crashReason);
    if (this.opts.resetOnCrash) {
      setTimeout(() => { if (this.state === "crashed") this.boot(); }, 100).unref();
    }
  }
}

export { ABI_VERSION };
