// The simulated board's UDP sockets: real datagram sockets on the host's loopback (or an
// address the caller chooses), behind small integer handles. With the address "any" (a board
// inside a network namespace of the NAT lab) they bind 0.0.0.0 and the board's address is the
// one of the interface the default route leaves by, looked up again as the network changes.

import dgram from "node:dgram";
import fs from "node:fs";
import os from "node:os";
import { ERR, SOCKADDR_BYTES } from "./abi.ts";

/** The address option that binds every interface and follows the default route. */
export const ANY_ADDRESS = "any";
/** How long a looked-up address is used before it is looked up again (a moved board sees its new one this soon). */
export const ADDRESS_REFRESH_MS = 200;

export const MAX_SOCKETS = 8;
const MAX_DATAGRAM = 65507;

export interface Datagram { handle: number; data: Buffer; family: 4 | 6; address: string; port: number }

interface Slot { socket: dgram.Socket; family: 4 | 6; requestedPort: number; boundPort?: number; failed?: string }

export class UdpTable {
  private readonly slots: (Slot | undefined)[] = new Array(MAX_SOCKETS).fill(undefined);
  dropped = 0; // datagrams the firmware never saw (closed handle, too long for its buffer)
  /** Datagrams the host's network refused to send (no route, address gone): lost, as on a radio. */
  sendErrors = 0;
  lastSendError?: string;
  private readonly route?: DefaultRouteAddress;

  constructor(
    private readonly onDatagram: (d: Datagram) => void,
    private readonly address4 = "127.0.0.1",
    private readonly address6 = "::1",
  ) {
    if (address4 === ANY_ADDRESS) this.route = new DefaultRouteAddress();
  }

  open(family: number, port: number): number {
    if ((family !== 4 && family !== 6) || !Number.isInteger(port) || port < 0 || port > 65535) return ERR.INVALID;
    const handle = this.slots.findIndex((s) => s === undefined);
    if (handle < 0) return ERR.NO_SPACE;
    const socket = dgram.createSocket(family === 4 ? "udp4" : "udp6");
    const slot: Slot = { socket, family, requestedPort: port };
    socket.on("error", (e) => { slot.failed = e.message; });
    socket.on("listening", () => { slot.boundPort = socket.address().port; });
    socket.on("message", (data, rinfo) => {
      if (this.slots[handle] !== slot) { this.dropped++; return; }
      this.onDatagram({ handle, data, family, address: rinfo.address, port: rinfo.port });
    });
    socket.bind(port, family === 4 ? bindAddress(this.address4) : this.address6);
    // A board's sockets do not keep the host process alive: its owner (the device server, a
    // console client, a test) decides how long the simulation runs.
    socket.unref();
    this.slots[handle] = slot;
    return handle;
  }

  localPort(handle: number): number {
    const slot = this.slots[handle];
    if (!slot) return ERR.NOT_FOUND;
    if (slot.failed) return ERR.IO;
    if (slot.boundPort !== undefined) return slot.boundPort;
    return slot.requestedPort !== 0 ? slot.requestedPort : ERR.BUSY; // binding to an ephemeral port is still under way
  }

  send(handle: number, addr: Uint8Array, data: Uint8Array): number {
    const slot = this.slots[handle];
    if (!slot) return ERR.NOT_FOUND;
    if (slot.failed) return ERR.IO;
    const dest = decodeSockaddr(addr);
    if (!dest || dest.family !== slot.family || dest.port === 0 || data.length > MAX_DATAGRAM) return ERR.INVALID;
    // A datagram the network refuses (no route while a board moves, its address just removed)
    // is lost and counted; the socket stays usable, as a board's would.
    const refused = (e: Error | null) => { if (e) { this.sendErrors++; this.lastSendError = e.message; } };
    try {
      slot.socket.send(Buffer.from(data), dest.port, dest.address, refused);
    } catch (e) {
      refused(e as Error);
    }
    return data.length;
  }

  close(handle: number): number {
    const slot = this.slots[handle];
    if (!slot) return ERR.NOT_FOUND;
    this.slots[handle] = undefined;
    try { slot.socket.close(); } catch { /* already closed */ }
    return ERR.OK;
  }

  closeAll(): void {
    for (let h = 0; h < MAX_SOCKETS; h++) if (this.slots[h]) this.close(h);
  }

  isOpen(handle: number): boolean { return this.slots[handle] !== undefined; }

  /** The board's own address of a family (what its sockets bind to, or with "any" where the default route leaves now), or undefined. */
  address(family: 4 | 6): string | undefined {
    if (family === 6) return this.address6;
    return this.route ? this.route.current() : this.address4;
  }
}

/** What a socket binds to for an address option: "any" is every interface. */
export function bindAddress(address4: string): string { return address4 === ANY_ADDRESS ? "0.0.0.0" : address4; }

/**
 * The IPv4 address the kernel would send from by the default route: the first address of the
 * interface the lowest-metric default route uses (/proc/net/route, which shows the reader's own
 * network namespace), else the first non-loopback IPv4 of an interface that is up. Looked up
 * at most every ADDRESS_REFRESH_MS: net_address may be asked often and must stay cheap.
 */
export class DefaultRouteAddress {
  private cached?: string;
  private readAt = -Infinity;

  constructor(private readonly now: () => number = () => performance.now()) {}

  current(): string | undefined {
    const t = this.now();
    if (t - this.readAt >= ADDRESS_REFRESH_MS) {
      this.cached = defaultRouteAddress();
      this.readAt = t;
    }
    return this.cached;
  }
}

function defaultRouteAddress(): string | undefined {
  // os.networkInterfaces() lists only interfaces that are up and running (libuv skips the rest).
  const interfaces = os.networkInterfaces();
  const ipv4 = (name: string) => interfaces[name]?.find((a) => a.family === "IPv4" && !a.internal)?.address;
  const via = defaultRouteInterface();
  const onRoute = via === undefined ? undefined : ipv4(via);
  if (onRoute !== undefined) return onRoute;
  for (const name of Object.keys(interfaces)) {
    const a = ipv4(name);
    if (a !== undefined) return a;
  }
  return undefined;
}

const RTF_UP = 0x1;

/** The interface of the default route with the lowest metric, from /proc/net/route (Linux), or undefined. */
function defaultRouteInterface(): string | undefined {
  let table: string;
  try {
    table = fs.readFileSync("/proc/net/route", "utf8");
  } catch {
    return undefined; // not Linux: the interface list alone decides
  }
  let best: { name: string; metric: number } | undefined;
  for (const line of table.split("\n").slice(1)) {
    const [name, destination, , flags, , , metric, mask] = line.trim().split(/\s+/);
    if (name === undefined || destination !== "00000000" || mask !== "00000000" || (parseInt(flags ?? "0", 16) & RTF_UP) === 0) continue;
    const m = Number(metric);
    if (best === undefined || m < best.metric) best = { name, metric: m };
  }
  return best?.name;
}

export function decodeSockaddr(b: Uint8Array): { family: 4 | 6; port: number; address: string } | undefined {
  if (b.length < SOCKADDR_BYTES) return undefined;
  const port = (b[2] << 8) | b[3];
  if (b[0] === 4) return { family: 4, port, address: `${b[4]}.${b[5]}.${b[6]}.${b[7]}` };
  if (b[0] === 6) {
    const groups: string[] = [];
    for (let i = 0; i < 8; i++) groups.push(((b[4 + 2 * i] << 8) | b[5 + 2 * i]).toString(16));
    return { family: 6, port, address: groups.join(":") };
  }
  return undefined;
}

export function encodeSockaddr(out: Uint8Array, family: 4 | 6, address: string, port: number): void {
  out.fill(0, 0, SOCKADDR_BYTES);
  out[0] = family;
  out[2] = port >> 8;
  out[3] = port & 0xff;
  if (family === 4) {
    address.split(".").forEach((part, i) => { out[4 + i] = Number(part) & 0xff; });
    return;
  }
  const [head, tail = ""] = address.split("%")[0].split("::");
  const h = head ? head.split(":") : [];
  const t = address.includes("::") && tail ? tail.split(":") : [];
  const groups = [...h, ...new Array(8 - h.length - t.length).fill("0"), ...t];
  groups.forEach((g, i) => {
    const v = parseInt(g, 16) || 0;
    out[4 + 2 * i] = v >> 8;
    out[5 + 2 * i] = v & 0xff;
  });
}
