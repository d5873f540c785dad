// Byte links to a board's console, by URL: `socket://host:port` (raw TCP, as ser2net and the
// simulator serve it) or a serial device path (`/dev/ttyUSB0`, `COM3`) through serialport.
import net from 'node:net';
import { SerialPort } from 'serialport';
import { rfc2217Link } from './rfc2217-link.ts';

export interface Link {
  readonly url: string;
  /** True once the link is closed, by close() or by the other side. */
  readonly closed: boolean;
  /** Resolves when the bytes are handed to the OS; rejects with LinkError if the link is closed. */
  write(bytes: Uint8Array): Promise<void>;
  /** Received bytes, in order. Returns a function that removes the callback. */
  onData(cb: (chunk: Uint8Array) => void): () => void;
  /** Called once when the link ends: `err` is set when it was lost rather than closed by us. */
  onClose(cb: (err?: LinkError) => void): () => void;
  /** Drives DTR/RTS (serial and rfc2217://; a no-op on socket://). */
  setSignals(signals: { dtr?: boolean; rts?: boolean }): Promise<void>;
  /** Changes the line's baud (serial and rfc2217://; a no-op on socket://). */
  setBaud(baud: number): Promise<void>;
  close(): Promise<void>;
}

export interface LinkOptions {
  /** Serial baud rate, default 115200 (ignored by socket://). */
  baud?: number;
  /** Parity, default "none" (the STM32 ROM loader wants "even"); ignored by socket://. */
  parity?: 'none' | 'even';
  /** How long a socket:// connection may take, default 5000 ms. */
  connectTimeoutMs?: number;
}

export const DEFAULT_BAUD = 115200;

/** Every transport error: a single line naming the URL and what to do. */
export class LinkError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = 'LinkError';
  }
}

export type LinkTarget = { kind: 'socket' | 'rfc2217'; host: string; port: number } | { kind: 'serial'; path: string };

const USAGE = 'use socket://host:port, rfc2217://host:port or a serial device path such as /dev/ttyUSB0 or COM3';

/** Parses a link URL; throws LinkError for anything that is not one. */
export function parseLinkUrl(url: string): LinkTarget {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url);
  if (scheme) {
    const kind = scheme[1]!.toLowerCase();
    if (kind !== 'socket' && kind !== 'rfc2217') throw new LinkError(`unsupported link URL ${url}: ${USAGE}`);
    const m = /^[a-z0-9]+:\/\/(\[[0-9a-fA-F:.]+\]|[^\s:/[\]@]+)?(?::(\d*))?\/?$/i.exec(url);
    if (!m) throw new LinkError(`bad link URL ${url}: ${USAGE}`);
    if (!m[1]) throw new LinkError(`bad link URL ${url}: the host is missing (${kind}://127.0.0.1:5555)`);
    if (m[2] === undefined || m[2] === '') throw new LinkError(`bad link URL ${url}: the port is missing (${kind}://${m[1]}:5555)`);
    const port = Number(m[2]);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new LinkError(`bad link URL ${url}: port ${m[2]} is outside 1..65535`);
    const host = m[1].startsWith('[') ? m[1].slice(1, -1) : m[1];
    return { kind: kind as 'socket' | 'rfc2217', host, port };
  }
  if (url.startsWith('/') || /^COM\d+$/i.test(url) || url.startsWith('\\\\.\\')) return { kind: 'serial', path: url };
  throw new LinkError(`bad link URL '${url}': ${USAGE}`);
}

export async function openLink(url: string, opts: LinkOptions = {}): Promise<Link> {
  const target = parseLinkUrl(url);
  if (target.kind === 'socket') return socketLink(url, await connect(url, target.host, target.port, opts.connectTimeoutMs ?? 5000));
  const baud = opts.baud ?? DEFAULT_BAUD;
  if (!Number.isInteger(baud) || baud <= 0) throw new LinkError(`cannot open ${url}: baud rate ${baud} is not a positive integer`);
  if (target.kind !== 'serial') {
    const sock = await connect(url, target.host, target.port, opts.connectTimeoutMs ?? 5000);
    return rfc2217Link(url, sock, { baud, parity: opts.parity ?? 'none', listeners: new Listeners() });
  }
  return openSerial(url, target.path, baud, opts.parity ?? 'none');
}

/** Callback bookkeeping shared by the transports. */
export class Listeners {
  data = new Set<(chunk: Uint8Array) => void>();
  close = new Set<(err?: LinkError) => void>();
  closed = false;

  emitData(chunk: Uint8Array): void {
    for (const cb of [...this.data]) cb(chunk);
  }
  emitClose(err?: LinkError): void {
    if (this.closed) return;
    this.closed = true;
    for (const cb of [...this.close]) cb(err);
    this.close.clear();
    this.data.clear();
  }
  onData(cb: (chunk: Uint8Array) => void): () => void {
    this.data.add(cb);
    return () => this.data.delete(cb);
  }
  onClose(cb: (err?: LinkError) => void): () => void {
    if (this.closed) {
      queueMicrotask(() => cb());
      return () => {};
    }
    this.close.add(cb);
    return () => this.close.delete(cb);
  }
}

const SOCKET_HINTS: Record<string, string> = {
  ECONNREFUSED: 'connection refused — is the board (tincan sim) running?',
  ENOTFOUND: 'unknown host — check the host name',
  EAI_AGAIN: 'host name lookup failed — check the host name and the network',
  EHOSTUNREACH: 'host unreachable — check the address and the network',
  ENETUNREACH: 'network unreachable — check the address and the network',
  ETIMEDOUT: 'connection timed out — check the host and the port',
  ECONNRESET: 'connection reset by the other side — is the board (tincan sim) still running?',
  EPIPE: 'connection closed by the other side',
  EADDRNOTAVAIL: 'address not available — check the host',
};

export function socketReason(err: NodeJS.ErrnoException): string {
  return (err.code && SOCKET_HINTS[err.code]) ?? err.message;
}

function connect(url: string, host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new LinkError(`cannot connect to ${url}: no answer within ${timeoutMs} ms — check the host and the port`, 'ETIMEDOUT'));
    }, timeoutMs);
    sock.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new LinkError(`cannot connect to ${url}: ${socketReason(err)}`, err.code));
    });
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.removeAllListeners('error');
      sock.setNoDelay(true);
      resolve(sock);
    });
  });
}

export function socketLink(url: string, sock: net.Socket, l = new Listeners(), onBytes?: (chunk: Buffer) => void): Link {
  let closing = false;
  let lost: LinkError | undefined;
  sock.on('data', onBytes ?? ((chunk: Buffer) => l.emitData(chunk)));
  sock.on('error', (err: NodeJS.ErrnoException) => {
    lost ??= new LinkError(`lost connection to ${url}: ${socketReason(err)}`, err.code);
  });
  sock.on('end', () => {
    lost ??= new LinkError(`lost connection to ${url}: closed by the other side — did the board (tincan sim) stop?`, 'EOF');
    sock.end();
  });
  sock.on('close', () => l.emitClose(closing ? undefined : lost ?? new LinkError(`lost connection to ${url}`, 'EOF')));
  return {
    url,
    get closed() { return l.closed; },
    write(bytes) {
      if (l.closed || closing || sock.destroyed || !sock.writable) return Promise.reject(new LinkError(`cannot write to ${url}: the link is closed`, 'CLOSED'));
      return new Promise((resolve, reject) => {
        sock.write(bytes, (err) => (err ? reject(new LinkError(`cannot write to ${url}: ${socketReason(err)}`, (err as NodeJS.ErrnoException).code)) : resolve()));
      });
    },
    onData: (cb) => l.onData(cb),
    onClose: (cb) => l.onClose(cb),
    setSignals: async () => {},
    setBaud: async () => {},
    close() {
      if (l.closed) return Promise.resolve();
      closing = true;
      return new Promise((resolve) => {
        l.onClose(() => resolve());
        sock.end();
        setTimeout(() => sock.destroy(), 500).unref();
      });
    },
  };
}

function serialReason(err: Error): string {
  const m = err.message;
  if (/no such file|ENOENT|cannot find the file/i.test(m)) return "no such device — run 'tincan ports' to list serial ports";
  if (/permission denied|EACCES|access denied/i.test(m)) return "permission denied — add yourself to the 'dialout' group (sudo usermod -aG dialout $USER) and log in again";
  if (/inappropriate ioctl|ENOTTY/i.test(m)) return 'the port has no modem control lines (DTR/RTS)';
  if (/busy|lock/i.test(m)) return 'the port is busy — close the other program (a serial monitor?) that has it open';
  return m.replace(/^Error: /, '').replace(/\s*\n[\s\S]*$/, '');
}

function openSerial(url: string, path: string, baud: number, parity: 'none' | 'even'): Promise<Link> {
  return new Promise((resolve, reject) => {
    let port: SerialPort;
    try {
      port = new SerialPort({ path, baudRate: baud, dataBits: 8, stopBits: 1, parity, autoOpen: false });
    } catch (err) {
      reject(new LinkError(`cannot open ${url}: ${serialReason(err as Error)}`));
      return;
    }
    port.open((err) => {
      if (err) reject(new LinkError(`cannot open ${url}: ${serialReason(err)}`));
      else resolve(serialLink(url, port));
    });
  });
}

function serialLink(url: string, port: SerialPort): Link {
  const l = new Listeners();
  let closing = false;
  let lost: LinkError | undefined;
  let lines = { dtr: true, rts: true }; // what opening a port asserts on Linux, macOS and Windows
  port.on('data', (chunk: Buffer) => l.emitData(chunk));
  port.on('error', (err: Error) => {
    lost ??= new LinkError(`lost ${url}: ${serialReason(err)}`);
  });
  port.on('close', (err?: Error & { disconnected?: boolean }) => {
    if (closing) l.emitClose();
    else l.emitClose(lost ?? new LinkError(`lost ${url}: ${err?.disconnected ? 'the device was disconnected — check the USB cable' : 'the port closed'}`, 'DISCONNECTED'));
  });
  return {
    url,
    get closed() { return l.closed; },
    write(bytes) {
      if (l.closed || closing || !port.isOpen) return Promise.reject(new LinkError(`cannot write to ${url}: the port is closed`, 'CLOSED'));
      return new Promise((resolve, reject) => {
        port.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), (err) => (err ? reject(new LinkError(`cannot write to ${url}: ${serialReason(err)}`)) : resolve()));
      });
    },
    onData: (cb) => l.onData(cb),
    onClose: (cb) => l.onClose(cb),
    setSignals(signals) {
      if (l.closed) return Promise.reject(new LinkError(`cannot set DTR/RTS on ${url}: the port is closed`, 'CLOSED'));
      // serialport sets every line on each call (unspecified ones to defaults), so send both.
      const next = { dtr: signals.dtr ?? lines.dtr, rts: signals.rts ?? lines.rts };
      return new Promise((resolve, reject) => {
        port.set(next, (err) => {
          if (err) return reject(new LinkError(`cannot set DTR/RTS on ${url}: ${serialReason(err)}`));
          lines = next;
          resolve();
        });
      });
    },
    setBaud(baud) {
      if (l.closed) return Promise.reject(new LinkError(`cannot change the baud of ${url}: the port is closed`, 'CLOSED'));
      return new Promise((resolve, reject) => {
        port.update({ baudRate: baud }, (err) => (err ? reject(new LinkError(`cannot set ${url} to ${baud} baud: ${serialReason(err)}`)) : resolve()));
      });
    },
    close() {
      if (l.closed) return Promise.resolve();
      closing = true;
      return new Promise((resolve) => {
        l.onClose(() => resolve());
        port.close((err) => { if (err) l.emitClose(); });
      });
    },
  };
}
