// A Web Serial `SerialPort` (https://wicg.github.io/serial/) over a Tincan Link, so esptool-js's
// Transport, written for browsers, runs on Node over any link URL: a serial device, socket:// or
// rfc2217://. It follows the spec where esptool-js relies on it: `readable` and `writable` are
// null until open(), stay the same stream until that stream is cancelled or closed, and are
// made afresh on the next access after that (esptool-js takes a reader per chunk and closes its
// writer to flush). It also offers `setBaudRate`, the in-place baud change esptool-js prefers to
// closing and reopening the port, which would drop the DTR/RTS state and could reset the board.
// close() detaches from the link but leaves it open: the link belongs to whoever opened it.

import type { Link } from "../../link/transport.ts";

export interface LinkSerialPortOptions {
  usbVendorId?: number;
  usbProductId?: number;
  /** Where to report what the port swallows (a link without line control). */
  log?: (line: string) => void;
}

/** The Web Serial open() options this adapter honours (the link owns framing and parity). */
export interface OpenOptions {
  baudRate: number;
  dataBits?: number;
  stopBits?: number;
  parity?: string;
  bufferSize?: number;
  flowControl?: string;
}

export interface SignalOptions {
  dataTerminalReady?: boolean;
  requestToSend?: boolean;
  break?: boolean;
}

function invalidState(message: string): Error {
  const err = new Error(message);
  err.name = "InvalidStateError"; // the DOMException name Web Serial uses
  return err;
}

export class LinkSerialPort {
  /** Bytes that crossed the link through this port, each way. */
  readonly wire = { sent: 0, received: 0 };
  /** DTR and RTS as last set (both are sent every time: some links set all lines at once). */
  readonly lines = { dtr: false, rts: false };
  /** Set once the link has refused line control (the failure is logged, not thrown). */
  lineControlError: string | undefined;
  onconnect: ((ev: Event) => void) | null = null;
  ondisconnect: ((ev: Event) => void) | null = null;
  private isOpen = false;
  private reader: ReadableStream<Uint8Array> | null = null;
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  /** Received while no readable stream exists: the OS would buffer it too. */
  private pending: Uint8Array[] = [];
  private writer: WritableStream<Uint8Array> | null = null;
  private detach: (() => void)[] = [];

  constructor(private readonly link: Link, private readonly opts: LinkSerialPortOptions = {}) {}

  get connected(): boolean {
    return !this.link.closed;
  }

  getInfo(): { usbVendorId?: number; usbProductId?: number } {
    const info: { usbVendorId?: number; usbProductId?: number } = {};
    if (this.opts.usbVendorId !== undefined) info.usbVendorId = this.opts.usbVendorId;
    if (this.opts.usbProductId !== undefined) info.usbProductId = this.opts.usbProductId;
    return info;
  }

  async open(options: OpenOptions): Promise<void> {
    if (this.isOpen) throw invalidState(`${this.link.url}: the port is already open`);
    if (this.link.closed) throw invalidState(`${this.link.url}: the link is closed`);
    const baud = options.baudRate;
    if (!Number.isInteger(baud) || baud <= 0) throw new TypeError(`baudRate ${baud} is not a positive integer`);
    await this.link.setBaud(baud);
    this.isOpen = true;
    this.detach.push(
      this.link.onData((chunk) => this.deliver(chunk)),
      this.link.onClose(() => this.ended()),
    );
  }

  get readable(): ReadableStream<Uint8Array> | null {
    if (!this.isOpen) return null;
    this.reader ??= this.makeReadable();
    return this.reader;
  }

  get writable(): WritableStream<Uint8Array> | null {
    if (!this.isOpen || this.link.closed) return null;
    this.writer ??= this.makeWritable();
    return this.writer;
  }

  async setSignals(signals: SignalOptions): Promise<void> {
    if (!this.isOpen) throw invalidState(`${this.link.url}: the port is not open`);
    if (signals.dataTerminalReady !== undefined) this.lines.dtr = signals.dataTerminalReady;
    if (signals.requestToSend !== undefined) this.lines.rts = signals.requestToSend;
    try {
      await this.link.setSignals({ dtr: this.lines.dtr, rts: this.lines.rts });
    } catch (err) {
      // A link without modem lines must not end the session: the reset just does not happen,
      // and the sync that follows says whether the board is in its loader anyway.
      const why = err instanceof Error ? err.message : String(err);
      if (this.lineControlError !== why) this.opts.log?.(`${this.link.url}: cannot set DTR/RTS (${why}); carrying on without line control`);
      this.lineControlError = why;
    }
  }

  async getSignals(): Promise<{ dataCarrierDetect: boolean; clearToSend: boolean; ringIndicator: boolean; dataSetReady: boolean }> {
    if (!this.isOpen) throw invalidState(`${this.link.url}: the port is not open`);
    return { dataCarrierDetect: false, clearToSend: false, ringIndicator: false, dataSetReady: false };
  }

  /** The in-place baud change esptool-js looks for (BaudRateConfigurablePort). */
  async setBaudRate(baud: number): Promise<void> {
    if (!this.isOpen) throw invalidState(`${this.link.url}: the port is not open`);
    await this.link.setBaud(baud);
  }

  async close(): Promise<void> {
    if (!this.isOpen) return;
    this.isOpen = false;
    for (const off of this.detach) off();
    this.detach = [];
    this.endReadable();
    this.writer = null;
    this.pending = [];
  }

  async forget(): Promise<void> {
    await this.close();
  }

  private makeReadable(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({
      start: (c) => {
        this.controller = c;
        for (const chunk of this.pending) c.enqueue(chunk);
        this.pending = [];
        if (this.link.closed) this.endReadable();
      },
      cancel: () => {
        // A cancelled stream is gone; the next access to `readable` makes a new one.
        this.controller = undefined;
        this.reader = null;
      },
    });
  }

  private makeWritable(): WritableStream<Uint8Array> {
    const stream: WritableStream<Uint8Array> = new WritableStream<Uint8Array>({
      write: async (chunk) => {
        await this.link.write(chunk);
        this.wire.sent += chunk.length;
      },
      close: () => {
        if (this.writer === stream) this.writer = null;
      },
      abort: () => {
        if (this.writer === stream) this.writer = null;
      },
    });
    return stream;
  }

  private deliver(chunk: Uint8Array): void {
    this.wire.received += chunk.length;
    const copy = Uint8Array.from(chunk); // the link may reuse its buffer
    if (this.controller) this.controller.enqueue(copy);
    else this.pending.push(copy);
  }

  /** The link went away: readers see the end of the stream, as on an unplugged port. */
  private ended(): void {
    this.endReadable();
    this.writer = null;
  }

  private endReadable(): void {
    const c = this.controller;
    this.controller = undefined;
    this.reader = null;
    try {
      c?.close();
    } catch {
      // already closed or errored
    }
  }
}
