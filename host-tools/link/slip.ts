// SLIP (RFC 1055) framing of the console UART, and the split of the byte stream into log text
// and frames described in boards/CONSOLE.md.

export const END = 0xc0;
export const ESC = 0xdb;
export const ESC_END = 0xdc;
export const ESC_ESC = 0xdd;

/** Largest decoded frame the console allows (5 header + 2048 payload + 4 CRC). */
export const DEFAULT_MAX_FRAME = 2057;

/** Encodes one frame as END, escaped bytes, END. */
export function slipEncode(frame: Uint8Array): Uint8Array {
  let extra = 0;
  for (const b of frame) if (b === END || b === ESC) extra++;
  const out = new Uint8Array(frame.length + extra + 2);
  let o = 0;
  out[o++] = END;
  for (const b of frame) {
    if (b === END) { out[o++] = ESC; out[o++] = ESC_END; }
    else if (b === ESC) { out[o++] = ESC; out[o++] = ESC_ESC; }
    else out[o++] = b;
  }
  out[o++] = END;
  return out;
}

export type DropReason = 'oversize' | 'malformed';

export interface SlipHandlers {
  /** Bytes seen outside frames (log text, or noise), in arrival order. */
  onText?: (chunk: Uint8Array) => void;
  /** One complete decoded frame (never empty). The array is the caller's to keep. */
  onFrame?: (frame: Uint8Array) => void;
  /** A frame was dropped: `oversize` (grew past maxFrame), `malformed` (bad escape). */
  onDrop?: (reason: DropReason, detail: string) => void;
}

export interface SlipCounters {
  frames: number;
  emptyFrames: number;
  oversize: number;
  malformed: number;
  textBytes: number;
}

type State = 'text' | 'frame' | 'escape' | 'skip';

/**
 * Incremental decoder. Outside a frame, bytes are text until an END; inside a frame, bytes
 * are collected until the next END. An END that closes an empty frame is taken as the start
 * of the next frame ("two ENDs in a row: an end followed by a start"), so `END END f END`
 * still yields `f`. A frame that grows past `maxFrame` decoded bytes is dropped and the
 * decoder skips to the next END; an ESC followed by anything but ESC_END/ESC_ESC makes the
 * frame malformed (dropped at its END).
 */
export class SlipDecoder {
  readonly maxFrame: number;
  readonly counters: SlipCounters = { frames: 0, emptyFrames: 0, oversize: 0, malformed: 0, textBytes: 0 };
  private readonly h: SlipHandlers;
  private state: State = 'text';
  private buf: Uint8Array;
  private len = 0;
  private skipReason: DropReason = 'oversize';

  constructor(handlers: SlipHandlers = {}, opts: { maxFrame?: number } = {}) {
    const max = opts.maxFrame ?? DEFAULT_MAX_FRAME;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxFrame must be a positive integer, got ${max}`);
    this.maxFrame = max;
    this.h = handlers;
    this.buf = new Uint8Array(max);
  }

  /** True while the decoder is between a frame's start END and its end END. */
  get inFrame(): boolean {
    return this.state !== 'text';
  }

  push(chunk: Uint8Array): void {
    let textStart = this.state === 'text' ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.state === 'text') {
        if (b !== END) continue;
        this.emitText(chunk, textStart, i);
        textStart = -1;
        this.startFrame();
        continue;
      }
      if (b === END) {
        if (this.finishFrame()) {
          this.state = 'text';
          textStart = i + 1;
        }
        continue;
      }
      switch (this.state) {
        case 'skip':
          break;
        case 'escape':
          if (b === ESC_END) this.add(END);
          else if (b === ESC_ESC) this.add(ESC);
          else this.skip('malformed', `bad SLIP escape 0xDB 0x${hex(b)} at decoded offset ${this.len}`);
          if (this.state === 'escape') this.state = 'frame';
          break;
        case 'frame':
          if (b === ESC) this.state = 'escape';
          else this.add(b);
          break;
      }
    }
    if (textStart >= 0) this.emitText(chunk, textStart, chunk.length);
  }

  /** Forgets any partial frame and returns to text. */
  reset(): void {
    this.state = 'text';
    this.len = 0;
  }

  private emitText(chunk: Uint8Array, from: number, to: number): void {
    if (to <= from) return;
    this.counters.textBytes += to - from;
    this.h.onText?.(chunk.slice(from, to));
  }

  private startFrame(): void {
    this.state = 'frame';
    this.len = 0;
  }

  /** Handles the END that closes a frame; returns false when that END starts a new frame. */
  private finishFrame(): boolean {
    if (this.state === 'skip') {
      this.len = 0;
      return true;
    }
    if (this.state === 'escape') {
      this.drop('malformed', `frame ends inside a SLIP escape after ${this.len} bytes`);
      return true;
    }
    if (this.len === 0) {
      this.counters.emptyFrames++;
      return false;
    }
    this.counters.frames++;
    const frame = this.buf.slice(0, this.len);
    this.len = 0;
    this.h.onFrame?.(frame);
    return true;
  }

  private add(b: number): void {
    if (this.len >= this.maxFrame) {
      this.skip('oversize', `frame longer than ${this.maxFrame} bytes`);
      return;
    }
    this.buf[this.len++] = b;
  }

  private skip(reason: DropReason, detail: string): void {
    this.drop(reason, detail);
    this.state = 'skip';
  }

  private drop(reason: DropReason, detail: string): void {
    this.counters[reason]++;
    this.len = 0;
    this.h.onDrop?.(reason, detail);
  }
}

/**
 * Turns text chunks into lines: splits on LF, strips CR, decodes UTF-8 (invalid bytes become
 * U+FFFD). A line longer than `maxLine` bytes is delivered in pieces of that size.
 */
export class LineSplitter {
  private readonly decoder = new TextDecoder('utf-8');
  private parts: Uint8Array[] = [];
  private partLen = 0;

  constructor(private readonly onLine: (line: string) => void, private readonly maxLine = 16384) {}

  push(chunk: Uint8Array): void {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] === 0x0a) {
        this.keep(chunk.subarray(start, i));
        this.emit();
        start = i + 1;
      } else if (this.partLen + (i + 1 - start) >= this.maxLine) {
        this.keep(chunk.subarray(start, i + 1));
        this.emit();
        start = i + 1;
      }
    }
    this.keep(chunk.subarray(start));
  }

  /** Delivers a last line that had no LF (call when the stream ends). */
  flush(): void {
    if (this.partLen > 0) this.emit();
  }

  private keep(part: Uint8Array): void {
    if (part.length === 0) return;
    this.parts.push(part.slice());
    this.partLen += part.length;
  }

  private emit(): void {
    const all = new Uint8Array(this.partLen);
    let o = 0;
    for (const p of this.parts) { all.set(p, o); o += p.length; }
    this.parts = [];
    this.partLen = 0;
    this.onLine(this.decoder.decode(all).replace(/\r/g, ''));
  }
}

function hex(b: number): string {
  return b.toString(16).toUpperCase().padStart(2, '0');
}
