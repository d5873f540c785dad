// The receive side of the ESP loaders' SLIP framing (0xC0 delimits, 0xDB 0xDC / 0xDB 0xDD escape
// 0xC0 / 0xDB). A frame that cannot be trusted is dropped whole and counted, never half-used:
// a bad escape, a byte the UART flagged (framing or parity error: a host at another baud), or a
// frame longer than any command. Bytes between frames are ignored, as the ROM ignores them.

const END = 0xc0;
const ESC = 0xdb;
const ESC_END = 0xdc;
const ESC_ESC = 0xdd;

/** Header (8) plus the largest data field a 16-bit size can announce. */
export const MAX_FRAME = 8 + 0xffff;

export interface SlipDrops {
  /** 0xDB followed by something other than 0xDC or 0xDD. */
  badEscape: number;
  /** A byte of the frame arrived with a UART framing or parity error. */
  lineError: number;
  /** Longer than MAX_FRAME. */
  oversize: number;
}

export class EspSlipReceiver {
  readonly drops: SlipDrops = { badEscape: 0, lineError: 0, oversize: 0 };
  /** Complete, well-formed frames delivered. */
  frames = 0;
  private buf = new Uint8Array(1024);
  private len = 0;
  private inFrame = false;
  private escaped = false;
  /** Why the current frame will be dropped at its END, if it will. */
  private spoiled: keyof SlipDrops | undefined;

  constructor(private readonly onFrame: (frame: Uint8Array) => void) {}

  /** Feeds received bytes; `errors[i]` nonzero marks bytes[i] as garbled on the line. */
  push(bytes: Uint8Array, errors?: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      const garbled = errors !== undefined && errors[i] !== 0;
      if (!this.inFrame) {
        // A garbled byte that reads as 0xC0 is not a delimiter: the ROM would see noise.
        if (b === END && !garbled) this.start();
        continue;
      }
      if (garbled) {
        this.spoiled ??= "lineError";
        continue;
      }
      if (b === END) {
        this.finish();
        continue;
      }
      if (this.escaped) {
        this.escaped = false;
        if (b === ESC_END) this.append(END);
        else if (b === ESC_ESC) this.append(ESC);
        else this.spoiled ??= "badEscape";
      } else if (b === ESC) this.escaped = true;
      else this.append(b);
    }
  }

  /** Forgets a partly received frame (the loader changed, or the board left the loader). */
  reset(): void {
    this.inFrame = false;
    this.len = 0;
    this.escaped = false;
    this.spoiled = undefined;
  }

  private start(): void {
    this.inFrame = true;
    this.len = 0;
    this.escaped = false;
    this.spoiled = undefined;
  }

  private finish(): void {
    const spoiled = this.spoiled ?? (this.escaped ? "badEscape" : undefined);
    const len = this.len;
    // END END is an end followed by a start: an empty frame is the start of the next one.
    this.start();
    if (spoiled !== undefined) {
      this.drops[spoiled]++;
      return;
    }
    if (len === 0) return;
    this.frames++;
    this.onFrame(this.buf.slice(0, len));
  }

  private append(b: number): void {
    if (this.spoiled !== undefined) return;
    if (this.len >= MAX_FRAME) {
      this.spoiled = "oversize";
      return;
    }
    if (this.len === this.buf.length) {
      const bigger = new Uint8Array(Math.min(MAX_FRAME, this.buf.length * 2));
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.len++] = b;
  }
}
