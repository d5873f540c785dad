// The simulated device's UART on TCP, one client at a time (a serial port has one owner). A
// client that opens with a Telnet IAC speaks RFC 2217 (rfc2217://: baud, parity, DTR and RTS
// reach the device); any other client is a raw byte pipe (socket://, as ser2net serves it, and
// what socat bridges a pty to). While nobody is connected the output waits in a bounded buffer,
// like a USB bridge's FIFO, so a host that connects after boot still sees the boot log.

import net from "node:net";
import type { SimDevice } from "./device.ts";
import {
  CONTROL, CPO, DO, DONT, IAC, OPT_BINARY, OPT_COM_PORT, OPT_SGA, PARITY, SERVER_OFFSET, TelnetDecoder, WILL, WONT,
  comPortCommand, escapeData, negotiation, readU32be, u32be,
} from "../link/rfc2217.ts";

const BACKLOG_BYTES = 16 * 1024;

interface Client { socket: net.Socket; telnet?: TelnetDecoder; decided?: boolean; flushed?: boolean }

export class DeviceServer {
  private readonly server: net.Server;
  private client?: Client;
  /** Every open connection, the refused ones too: close() must not wait for any of them. */
  private readonly sockets = new Set<net.Socket>();
  private backlog: Uint8Array[] = [];
  private backlogBytes = 0;
  port = 0;

  constructor(private readonly device: SimDevice, readonly host = "127.0.0.1") {
    this.server = net.createServer((socket) => this.attach(socket));
    device.on("host", (bytes: Uint8Array) => this.output(bytes));
  }

  get url(): string { return `rfc2217://${this.host}:${this.port}`; }
  get rawUrl(): string { return `socket://${this.host}:${this.port}`; }

  listen(port = 0): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once("error", (e: NodeJS.ErrnoException) =>
        reject(new Error(e.code === "EADDRINUSE" ? `cannot listen on ${this.host}:${port}: the port is in use; pick another with --uart-port` : `cannot listen on ${this.host}:${port}: ${e.message}`)));
      this.server.listen(port, this.host, () => {
        this.port = (this.server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private attach(socket: net.Socket): void {
    socket.setNoDelay(true);
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    if (this.client) {
      // The port is open elsewhere: say so in plain text, then hang up.
      socket.end("tincan sim: this port is busy: another program has it open\r\n");
      return;
    }
    const client: Client = { socket };
    this.client = client;
    socket.on("data", (chunk: Buffer) => {
      if (!client.decided) {
        client.decided = true;
        if (chunk[0] === IAC) client.telnet = new TelnetDecoder();
        this.flush(client);
      }
      if (!client.telnet) return this.device.fromHost(chunk);
      for (const ev of client.telnet.push(chunk)) {
        if (ev.kind === "data") this.device.fromHost(ev.bytes);
        else if (ev.kind === "negotiate") this.negotiate(ev.verb, ev.option);
        else if (ev.option === OPT_COM_PORT && ev.payload.length > 0) this.comPort(ev.payload[0], ev.payload.subarray(1));
      }
    });
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      if (this.client !== client) return;
      this.client = undefined;
      this.device.host = {};
      if (client.telnet) this.device.setLines(undefined); // the bridge lets go of its lines
    });
    // A raw client may never send a byte: give it the backlog after a moment.
    setTimeout(() => { if (this.client === client) this.flush(client); }, 50).unref();
  }

  private flush(client: Client): void {
    if (client.flushed) return;
    client.flushed = true;
    for (const b of this.backlog) this.write(b);
    this.backlog = [];
    this.backlogBytes = 0;
  }

  private negotiate(verb: number, option: number): void {
    const ok = option === OPT_BINARY || option === OPT_SGA || option === OPT_COM_PORT;
    if (verb === WILL) this.raw(negotiation(ok ? DO : DONT, option));
    else if (verb === DO) this.raw(negotiation(ok && option !== OPT_COM_PORT ? WILL : WONT, option));
  }

  private comPort(sub: number, value: Uint8Array): void {
    const d = this.device;
    let answer = value;
    if (sub === CPO.SET_BAUDRATE && value.length === 4) {
      const baud = readU32be(value);
      if (baud > 0) d.host = { ...d.host, baud };
      answer = u32be(d.host.baud ?? d.baud);
    } else if (sub === CPO.SET_PARITY && value.length === 1) {
      if (value[0] === PARITY.none) d.host = { ...d.host, parity: false };
      else if (value[0] === PARITY.even) d.host = { ...d.host, parity: true };
      else if (value[0] !== 0) d.host = { ...d.host, parity: !d.parity }; // odd, mark, space: never what the device wants
    } else if (sub === CPO.SET_CONTROL && value.length === 1) {
      const v = value[0];
      if (v === CONTROL.DTR_ON || v === CONTROL.DTR_OFF) d.setLines({ dtr: v === CONTROL.DTR_ON });
      else if (v === CONTROL.RTS_ON || v === CONTROL.RTS_OFF) d.setLines({ rts: v === CONTROL.RTS_ON });
    }
    this.raw(comPortCommand(sub + SERVER_OFFSET, answer));
  }

  private output(bytes: Uint8Array): void {
    if (this.client?.flushed) return this.write(bytes);
    this.backlog.push(bytes);
    this.backlogBytes += bytes.length;
    while (this.backlogBytes > BACKLOG_BYTES) this.backlogBytes -= this.backlog.shift()!.length;
  }

  private write(bytes: Uint8Array): void {
    const c = this.client;
    if (!c || c.socket.destroyed) return;
    c.socket.write(c.telnet ? escapeData(bytes) : bytes);
  }

  private raw(bytes: Uint8Array): void {
    if (this.client && !this.client.socket.destroyed) this.client.socket.write(bytes);
  }
}
