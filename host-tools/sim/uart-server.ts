// Exposes a simulated board's console UART as raw TCP (the socket:// links of esptool and
// ser2net). While nobody is connected the output waits in a bounded buffer, like the FIFO of
// a USB-serial bridge, so a host that connects after boot still sees the boot log.

import net from "node:net";
import type { SimBoard } from "./board.ts";

const BACKLOG_BYTES = 16 * 1024;

export class UartServer {
  private readonly server: net.Server;
  private readonly clients = new Set<net.Socket>();
  private backlog: Buffer[] = [];
  private backlogBytes = 0;
  port = 0;

  constructor(private readonly board: SimBoard, readonly host = "127.0.0.1") {
    this.server = net.createServer((socket) => this.attach(socket));
    board.on("uart", (bytes: Uint8Array) => this.send(bytes));
  }

  get url(): string { return `socket://${this.host}:${this.port}`; }

  listen(port = 0): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once("error", (e: NodeJS.ErrnoException) => {
        reject(new Error(e.code === "EADDRINUSE" ? `cannot listen on ${this.host}:${port}: the port is in use; pick another with --uart-port` : `cannot listen on ${this.host}:${port}: ${e.message}`));
      });
      this.server.listen(port, this.host, () => {
        this.port = (this.server.address() as net.AddressInfo).port;
        resolve(this.url);
      });
    });
  }

  close(): Promise<void> {
    for (const c of this.clients) c.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private attach(socket: net.Socket): void {
    socket.setNoDelay(true);
    this.clients.add(socket);
    for (const chunk of this.backlog) socket.write(chunk);
    this.backlog = [];
    this.backlogBytes = 0;
    socket.on("data", (data) => this.board.feedUart(data));
    socket.on("error", () => socket.destroy());
    socket.on("close", () => this.clients.delete(socket));
  }

  private send(bytes: Uint8Array): void {
    if (this.clients.size > 0) {
      for (const c of this.clients) c.write(bytes);
      return;
    }
    this.backlog.push(Buffer.from(bytes));
    this.backlogBytes += bytes.length;
    while (this.backlogBytes > BACKLOG_BYTES) this.backlogBytes -= this.backlog.shift()!.length;
  }
}
