// The simulated board's TCP: real stream sockets on the host, behind small integer handles,
// with what happens to them (connected, accepted, data, closed) queued as events for the
// firmware's on_tcp export, in order. A TLS connection (host-tools/sim/tls.ts) is one more
// socket here: its handle, data and events are those of any other connection. With the
// address "any" (udp.ts) it listens on every interface and lets the kernel pick the source
// address of a connection, as the board's route decides.

import net from "node:net";
import { ERR } from "./abi.ts";
import { ANY_ADDRESS, bindAddress, decodeSockaddr } from "./udp.ts";

export const MAX_TCP_HANDLES = 8;
const SEND_BUFFER_LIMIT = 64 * 1024; // bytes queued in Node before tcp_send answers ERR_BUSY

export const TCP_DATA = 0;
export const TCP_CONNECTED = 1;
export const TCP_ACCEPTED = 2;
export const TCP_CLOSED = 3;

export interface TcpEvent { handle: number; kind: number; data?: Buffer }

/** Where a connection goes, as tcp_connect's SOCKADDR said. */
export interface TcpDestination { family: 4 | 6; address: string; port: number }

/** How connectVia opens its socket: the socket, and the event that means it is up. */
export interface StreamOpener {
  /** localAddress: the board's address to connect from; undefined: the kernel chooses (address "any"). */
  open(dest: TcpDestination, localAddress: string | undefined): net.Socket;
  readyEvent: string;
  /** Told why the socket failed (a refused handshake, say); absent: failures are silent. */
  failed?: (handle: number, error: Error) => void;
}

const PLAIN_TCP: StreamOpener = {
  open: (dest, localAddress) => net.connect({ host: dest.address, port: dest.port, localAddress }),
  readyEvent: "connect",
};

interface Slot { socket?: net.Socket; server?: net.Server; family: 4 | 6; connected: boolean; peer?: { address: string; port: number } }

export class TcpTable {
  private readonly slots: (Slot | undefined)[] = new Array(MAX_TCP_HANDLES).fill(undefined);
  dropped = 0;

  constructor(
    private readonly onEvent: (e: TcpEvent) => void,
    private readonly address4 = "127.0.0.1",
    private readonly address6 = "::1",
  ) {}

  private freeHandle(): number { return this.slots.findIndex((s) => s === undefined); }

  listen(family: number, port: number): number {
    if ((family !== 4 && family !== 6) || !Number.isInteger(port) || port < 0 || port > 65535) return ERR.INVALID;
    const handle = this.freeHandle();
    if (handle < 0) return ERR.NO_SPACE;
    const server = net.createServer((socket) => {
      const h = this.freeHandle();
      if (h < 0) { this.dropped++; socket.destroy(); return; }
      const slot: Slot = { socket, family: family as 4 | 6, connected: true, peer: { address: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 } };
      this.slots[h] = slot;
      this.wire(h, slot);
      this.onEvent({ handle: h, kind: TCP_ACCEPTED });
    });
    const slot: Slot = { server, family: family as 4 | 6, connected: false };
    server.on("error", () => { /* the port is taken: the handle stays, nothing arrives */ });
    server.listen(port, family === 4 ? bindAddress(this.address4) : this.address6);
    server.unref(); // as the UDP sockets: the board's owner keeps the process alive, not the board
    this.slots[handle] = slot;
    return handle;
  }

  connect(addr: Uint8Array): number { return this.connectVia(addr, PLAIN_TCP); }

  /** A free handle exists (tls_connect checks before it does the work of a handshake). */
  hasRoom(): boolean { return this.freeHandle() >= 0; }

  /** Opens a connection with `opener` (plain TCP, or TLS over it): a handle at once, events later. */
  connectVia(addr: Uint8Array, opener: StreamOpener): number {
    const dest = decodeSockaddr(addr);
    if (!dest || dest.port === 0) return ERR.INVALID;
    const handle = this.freeHandle();
    if (handle < 0) return ERR.NO_SPACE;
    const local = dest.family === 4 ? (this.address4 === ANY_ADDRESS ? undefined : this.address4) : this.address6;
    const socket = opener.open(dest, local);
    const slot: Slot = { socket, family: dest.family, connected: false, peer: { address: dest.address, port: dest.port } };
    this.slots[handle] = slot;
    socket.on(opener.readyEvent, () => {
      if (this.slots[handle] !== slot) return;
      slot.connected = true;
      this.onEvent({ handle, kind: TCP_CONNECTED });
    });
    this.wire(handle, slot, opener.failed);
    return handle;
  }

  private wire(handle: number, slot: Slot, failed?: (handle: number, error: Error) => void): void {
    const socket = slot.socket!;
    socket.unref();
    socket.on("data", (data) => { if (this.slots[handle] === slot) this.onEvent({ handle, kind: TCP_DATA, data }); });
    // Reported to the firmware as a close; the opener may want to say why.
    socket.on("error", (e) => { if (this.slots[handle] === slot) failed?.(handle, e); });
    socket.on("close", () => {
      if (this.slots[handle] !== slot) return;
      this.slots[handle] = undefined;
      this.onEvent({ handle, kind: TCP_CLOSED });
    });
  }

  send(handle: number, data: Uint8Array): number {
    const slot = this.slots[handle];
    if (!slot || !slot.socket) return ERR.NOT_FOUND;
    if (!slot.connected) return ERR.BUSY;
    if (slot.socket.writableLength > SEND_BUFFER_LIMIT) return ERR.BUSY;
    slot.socket.write(Buffer.from(data));
    return data.length;
  }

  peer(handle: number): { family: 4 | 6; address: string; port: number } | undefined {
    const slot = this.slots[handle];
    return slot?.peer ? { family: slot.family, ...slot.peer } : undefined;
  }

  close(handle: number): number {
    const slot = this.slots[handle];
    if (!slot) return ERR.NOT_FOUND;
    this.slots[handle] = undefined;
    slot.socket?.destroy();
    slot.server?.close();
    return ERR.OK;
  }

  closeAll(): void { for (let h = 0; h < MAX_TCP_HANDLES; h++) if (this.slots[h]) this.close(h); }

  isOpen(handle: number): boolean { return this.slots[handle] !== undefined; }
}
