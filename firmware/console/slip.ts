// SLIP (RFC 1055) receive side of the device (boards/CONSOLE.md). Nothing sends the device
// text, so after the first END every END delimits a frame: whatever noise preceded a request
// is one dropped frame, and the request itself, which starts with END, still gets through.
// Bytes before the first END since boot are stray. Decodes into a fixed buffer.

export const SLIP_END: u8 = 0xc0;
export const SLIP_ESC: u8 = 0xdb;
export const SLIP_ESC_END: u8 = 0xdc;
export const SLIP_ESC_ESC: u8 = 0xdd;

export const enum SlipEvent { None, Frame, Oversize, BadEscape, Stray }

export class SlipDecoder {
  readonly buffer: StaticArray<u8>;
  length: i32 = 0;
  private inFrame: bool = false;
  private escaped: bool = false;
  private broken: SlipEvent = SlipEvent.None; // why the current frame will be dropped
  private pendingStart: bool = false;

  constructor(readonly maxFrame: i32) {
    this.buffer = new StaticArray<u8>(maxFrame);
  }

  /** Feeds one byte. Frame: `buffer[0..length)` holds a whole frame until the next push. */
  push(b: u8): SlipEvent {
    if (this.pendingStart) { this.pendingStart = false; this.startFrame(); }
    if (!this.inFrame) {
      if (b == SLIP_END) { this.startFrame(); return SlipEvent.None; }
      return SlipEvent.Stray;
    }
    if (b == SLIP_END) {
      if (this.length == 0 && this.broken == SlipEvent.None && !this.escaped) return SlipEvent.None; // END END: empty, skip
      const result = this.broken != SlipEvent.None ? this.broken : this.escaped ? SlipEvent.BadEscape : SlipEvent.Frame;
      this.pendingStart = true; // the frame stays readable until the next byte arrives
      return result;
    }
    if (this.broken != SlipEvent.None) return SlipEvent.None;
    if (this.escaped) {
      this.escaped = false;
      if (b == SLIP_ESC_END) b = SLIP_END;
      else if (b == SLIP_ESC_ESC) b = SLIP_ESC;
      else { this.broken = SlipEvent.BadEscape; return SlipEvent.None; }
    } else if (b == SLIP_ESC) {
      this.escaped = true;
      return SlipEvent.None;
    }
    if (this.length == this.maxFrame) { this.broken = SlipEvent.Oversize; return SlipEvent.None; }
    unchecked(this.buffer[this.length++] = b);
    return SlipEvent.None;
  }

  private startFrame(): void {
    this.inFrame = true;
    this.escaped = false;
    this.length = 0;
    this.broken = SlipEvent.None;
  }
}
