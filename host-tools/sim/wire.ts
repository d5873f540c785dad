// One direction of a simulated UART: bytes leave at the line rate (start bit, 8 data bits,
// parity bit if any, stop bit: 10 or 11 bit times per byte at the baud of the moment they were
// queued), so a flash at 115200 baud takes as long as it does on a real cable. Unpaced wires
// deliver at once (fault trials, where only correctness counts).

export interface WireOptions {
  paced: boolean;
  /** Bytes that finished crossing, with the baud they were sent at. */
  deliver: (bytes: Uint8Array, baud: number) => void;
}

interface Chunk { bytes: Uint8Array; byteMs: number; baud: number; at: number }

export function byteTimeMs(baud: number, parity: boolean): number {
  return ((parity ? 11 : 10) * 1000) / baud;
}

export class Wire {
  private queue: Chunk[] = [];
  /** When the last delivered byte finished on the wire (ms, performance.now()). */
  private cursor = 0;
  private timer?: NodeJS.Timeout;
  /** Bytes delivered so far. */
  delivered = 0;

  constructor(private readonly opts: WireOptions) {}

  send(bytes: Uint8Array, baud: number, parity: boolean): void {
    if (bytes.length === 0) return;
    if (!this.opts.paced) {
      this.delivered += bytes.length;
      this.opts.deliver(bytes, baud);
      return;
    }
    // An idle line starts sending now; a busy one carries on from where its last byte ended,
    // so a timer that fires late costs no line time.
    if (this.queue.length === 0) this.cursor = Math.max(this.cursor, performance.now());
    this.queue.push({ bytes: Uint8Array.from(bytes), byteMs: byteTimeMs(baud, parity), baud, at: 0 });
    if (!this.timer) this.timer = setTimeout(this.pump, 0);
  }

  /** The sender is busy for `ms` more (its MCU waits on a slow part): the line stays idle that long. */
  hold(ms: number): void {
    if (!this.opts.paced || ms <= 0) return;
    this.cursor = Math.max(this.cursor, performance.now()) + ms;
  }

  /** Bytes waiting to go out. */
  get pending(): number { return this.queue.reduce((n, c) => n + c.bytes.length - c.at, 0); }

  /** Drops what has not gone out yet (the far end reset). */
  clear(): void {
    this.queue = [];
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private pump = (): void => {
    this.timer = undefined;
    const now = performance.now();
    while (this.queue.length) {
      const c = this.queue[0];
      const left = c.bytes.length - c.at;
      const fit = Math.min(left, Math.floor((now - this.cursor) / c.byteMs));
      if (fit > 0) {
        const part = c.bytes.subarray(c.at, c.at + fit);
        c.at += fit;
        this.cursor += fit * c.byteMs;
        this.delivered += fit;
        this.opts.deliver(part, c.baud);
      }
      if (c.at < c.bytes.length) {
        const waitMs = Math.max(1, this.cursor + c.byteMs - now);
        this.timer = setTimeout(this.pump, waitMs);
        return;
      }
      this.queue.shift();
    }
  };
}
