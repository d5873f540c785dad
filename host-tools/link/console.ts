// The host side of the device console: requests and responses over a Link, log lines, events.
import { LineSplitter, SlipDecoder, slipEncode } from './slip.ts';
import type { DropReason } from './slip.ts';
import { Command, FrameError, Kind, MAX_FRAME, MAX_PAYLOAD, Status, commandName, decodeFrame, decodeHello, decodeStats, encodeFrame, statusName } from './frame.ts';
import type { Hello, Stats } from './frame.ts';
import { openLink } from './transport.ts';
import type { Link, LinkError, LinkOptions } from './transport.ts';

export interface RequestOptions {
  /** Time to wait for each attempt's response, default 1000 ms. */
  timeoutMs?: number;
  /** Attempts after the first one when a response does not arrive, default 2. */
  retries?: number;
}

export interface Response {
  status: number;
  payload: Uint8Array;
}

export interface ConsoleEvent {
  command: number;
  payload: Uint8Array;
}

/** Frames the host received and could not use, by reason. */
export interface ConsoleCounters {
  responses: number;
  events: number;
  unknownIds: number;
  unexpectedKind: number;
  crcErrors: number;
  badLength: number;
  oversize: number;
  malformed: number;
}

export class ConsoleError extends Error {
  constructor(message: string, readonly code: 'TIMEOUT' | 'CLOSED' | 'STATUS' | 'PAYLOAD', readonly status?: number) {
    super(message);
    this.name = 'ConsoleError';
  }
}

interface Pending {
  name: string;
  resolve: (r: Response) => void;
  fail: (err: Error) => void;
  ids: Set<number>;
}

export class ConsoleClient {
  readonly link: Link;
  readonly counters: ConsoleCounters = { responses: 0, events: 0, unknownIds: 0, unexpectedKind: 0, crcErrors: 0, badLength: 0, oversize: 0, malformed: 0 };
  private readonly slip: SlipDecoder;
  private readonly lines: LineSplitter;
  private readonly logCbs = new Set<(line: string) => void>();
  private readonly eventCbs = new Set<(ev: ConsoleEvent) => void>();
  private readonly dropCbs = new Set<(reason: string, detail: string) => void>();
  private readonly byId = new Map<number, Pending>();
  private lastId = 0;
  /** Why the console is unusable, once it is. */
  private closedWhy: string | undefined;

  static async open(url: string, opts: LinkOptions = {}): Promise<ConsoleClient> {
    return new ConsoleClient(await openLink(url, opts));
  }

  constructor(link: Link) {
    this.link = link;
    this.lines = new LineSplitter((line) => { for (const cb of [...this.logCbs]) cb(line); });
    this.slip = new SlipDecoder({
      onText: (chunk) => this.lines.push(chunk),
      onFrame: (bytes) => this.onFrame(bytes),
      onDrop: (reason, detail) => this.drop(reason, detail),
    }, { maxFrame: MAX_FRAME });
    link.onData((chunk) => this.slip.push(chunk));
    link.onClose((err) => this.onLinkClosed(err));
  }

  /** Log text from the board, one line at a time, without CR/LF. */
  onLog(cb: (line: string) => void): () => void {
    this.logCbs.add(cb);
    return () => this.logCbs.delete(cb);
  }

  /** Unsolicited frames (kind 3). */
  onEvent(cb: (ev: ConsoleEvent) => void): () => void {
    this.eventCbs.add(cb);
    return () => this.eventCbs.delete(cb);
  }

  /** Frames dropped on the host side (for `--verbose` diagnostics). */
  onDrop(cb: (reason: string, detail: string) => void): () => void {
    this.dropCbs.add(cb);
    return () => this.dropCbs.delete(cb);
  }

  /**
   * Sends a request and resolves with the response's status and payload (any status). Each
   * attempt gets a fresh id (1..0xFFFF, wrapping to 1); a late response to an earlier attempt
   * of the same request is accepted too. Rejects with ConsoleError on timeout or a lost link.
   */
  async request(command: number, payload: Uint8Array = new Uint8Array(0), opts: RequestOptions = {}): Promise<Response> {
    const timeoutMs = opts.timeoutMs ?? 1000;
    const retries = opts.retries ?? 2;
    if (!Number.isInteger(command) || command < 0 || command > 0xff) throw new RangeError(`command must be 0..255, got ${command}`);
    if (payload.length > MAX_PAYLOAD) throw new RangeError(`${commandName(command)} payload is ${payload.length} bytes, the console accepts at most ${MAX_PAYLOAD}`);
    const name = commandName(command);
    if (this.closedWhy !== undefined) throw new ConsoleError(`cannot send ${name}: ${this.closedWhy}`, 'CLOSED');
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const pending: Pending = { name, ids: new Set(), resolve: () => {}, fail: () => {} };
    const done = new Promise<Response>((resolve, reject) => {
      pending.resolve = (r) => finish(() => resolve(r));
      pending.fail = (e) => finish(() => reject(e));
    });
    const finish = (act: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      for (const id of pending.ids) this.byId.delete(id);
      act();
    };
    const attempt = (n: number): void => {
      if (settled) return;
      const id = this.nextId();
      pending.ids.add(id);
      this.byId.set(id, pending);
      timer = setTimeout(() => {
        if (n < retries) attempt(n + 1);
        else pending.fail(new ConsoleError(`no response from ${this.link.url} to ${name} after ${retries + 1} attempt(s) of ${timeoutMs} ms — is the firmware running${this.link.url.startsWith('socket://') ? '' : ' and the baud rate right'}?`, 'TIMEOUT'));
      }, timeoutMs);
      const bytes = slipEncode(encodeFrame({ kind: Kind.REQUEST, command, id, status: 0, payload }));
      this.link.write(bytes).catch((err: Error) => pending.fail(this.lostError(name, this.closedWhy ?? err.message)));
    };
    attempt(0);
    return done;
  }

  async hello(opts?: RequestOptions): Promise<Hello> {
    return decodeHello(await this.ok(Command.HELLO, opts));
  }

  async stats(opts?: RequestOptions): Promise<Stats> {
    return decodeStats(await this.ok(Command.STATS, opts));
  }

  async close(): Promise<void> {
    this.closedWhy ??= `the console on ${this.link.url} was closed`;
    this.rejectAll(this.closedWhy);
    await this.link.close();
  }

  private async ok(command: number, opts?: RequestOptions): Promise<Uint8Array> {
    const r = await this.request(command, new Uint8Array(0), opts);
    if (r.status !== Status.OK) throw new ConsoleError(`${this.link.url} answered ${commandName(command)} with ${statusName(r.status)}`, 'STATUS', r.status);
    return r.payload;
  }

  private nextId(): number {
    for (let i = 0; i < 0xffff; i++) {
      this.lastId = this.lastId >= 0xffff ? 1 : this.lastId + 1;
      if (!this.byId.has(this.lastId)) return this.lastId;
    }
    throw new ConsoleError(`too many requests in flight on ${this.link.url}`, 'CLOSED');
  }

  private onFrame(bytes: Uint8Array): void {
    let f;
    try {
      f = decodeFrame(bytes);
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      if (err.reason === 'crc') this.counters.crcErrors++;
      else this.counters.badLength++;
      this.emitDrop(err.reason, err.message);
      return;
    }
    if (f.kind === Kind.RESPONSE) {
      const p = this.byId.get(f.id);
      if (!p) {
        this.counters.unknownIds++;
        this.emitDrop('unknown-id', `response ${commandName(f.command)} with id ${f.id} matches no request`);
        return;
      }
      this.counters.responses++;
      p.resolve({ status: f.status, payload: f.payload });
    } else if (f.kind === Kind.EVENT) {
      this.counters.events++;
      for (const cb of [...this.eventCbs]) cb({ command: f.command, payload: f.payload });
    } else {
      this.counters.unexpectedKind++;
      this.emitDrop('kind', `frame of kind ${f.kind} from the device`);
    }
  }

  private drop(reason: DropReason, detail: string): void {
    this.counters[reason]++;
    this.emitDrop(reason, detail);
  }

  private emitDrop(reason: string, detail: string): void {
    for (const cb of [...this.dropCbs]) cb(reason, detail);
  }

  private onLinkClosed(err?: LinkError): void {
    this.lines.flush();
    this.closedWhy ??= err ? err.message : `the console on ${this.link.url} was closed`;
    this.rejectAll(this.closedWhy);
  }

  private lostError(name: string, why: string): ConsoleError {
    return new ConsoleError(`${name} got no response: ${why}`, 'CLOSED');
  }

  private rejectAll(why: string): void {
    for (const p of new Set(this.byId.values())) p.fail(this.lostError(p.name, why));
    this.byId.clear();
  }
}
