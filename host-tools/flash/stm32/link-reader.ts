// Turns a Link's stream of chunks into "give me n bytes within t ms", which is how a
// request/answer protocol like AN3155 reads. One reader per link, one read at a time (the
// protocol is strictly half duplex); bytes that arrive while nobody reads are kept in order.

import { LinkError, type Link } from "../../link/transport.ts";

/** Nothing, or not enough, arrived in time. */
export class ReadTimeout extends Error {
  constructor(readonly wanted: number, readonly got: number, readonly ms: number) {
    super(`${got} of ${wanted} byte(s) arrived within ${Math.round(ms)} ms`);
    this.name = "ReadTimeout";
  }
}

interface Waiter { n: number; resolve: (b: Uint8Array) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }

export class LinkReader {
  /** Bytes received since the reader was made. */
  received = 0;
  private buf = new Uint8Array(0);
  private waiter?: Waiter;
  private lost?: Error;
  private readonly offData: () => void;
  private readonly offClose: () => void;

  constructor(private readonly link: Link) {
    this.offData = link.onData((chunk) => {
      this.received += chunk.length;
      const next = new Uint8Array(this.buf.length + chunk.length);
      next.set(this.buf);
      next.set(chunk, this.buf.length);
      this.buf = next;
      this.wake();
    });
    this.offClose = link.onClose((err) => {
      this.lost = err ?? new LinkError(`${link.url}: the link was closed`, "CLOSED");
      this.wake();
    });
  }

  /** Exactly n bytes, or ReadTimeout after ms, or the link's error if it goes away. */
  read(n: number, ms: number): Promise<Uint8Array> {
    if (this.waiter) return Promise.reject(new Error("LinkReader: one read at a time"));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new ReadTimeout(n, this.buf.length, ms));
      }, ms);
      this.waiter = { n, resolve, reject, timer };
      this.wake();
    });
  }

  async byte(ms: number): Promise<number> {
    return (await this.read(1, ms))[0]!;
  }

  /** Drops what has arrived and not been read; returns how many bytes that was. */
  discard(): number {
    const n = this.buf.length;
    this.buf = new Uint8Array(0);
    return n;
  }

  /**
   * Waits until nothing has arrived for quietMs (at most maxMs in all), keeping what came:
   * the answers to a burst of bytes, or the tail of a board's output before a reset.
   */
  async settle(quietMs: number, maxMs: number): Promise<Uint8Array> {
    const start = Date.now();
    let seen = -1;
    while (seen !== this.buf.length && Date.now() - start < maxMs) {
      seen = this.buf.length;
      await new Promise((r) => setTimeout(r, quietMs));
      if (this.lost) throw this.lost;
    }
    const got = this.buf;
    this.buf = new Uint8Array(0);
    return got;
  }

  dispose(): void {
    this.offData();
    this.offClose();
    if (this.waiter) {
      clearTimeout(this.waiter.timer);
      this.waiter.reject(new LinkError(`${this.link.url}: the flash engine stopped reading`, "CLOSED"));
      this.waiter = undefined;
    }
  }

  private wake(): void {
    const w = this.waiter;
    if (!w) return;
    if (this.buf.length >= w.n) {
      clearTimeout(w.timer);
      this.waiter = undefined;
      const out = this.buf.slice(0, w.n);
      this.buf = this.buf.slice(w.n);
      w.resolve(out);
    } else if (this.lost) {
      clearTimeout(w.timer);
      this.waiter = undefined;
      w.reject(this.lost);
    }
  }
}
