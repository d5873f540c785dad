// The flasher stub's READ_FLASH (0xD2) data phase. After its normal response the stub sends the
// region as raw SLIP frames of the requested packet size; the host answers each with a 4-byte
// frame holding the total bytes it has received so far; when everything is sent and acknowledged
// the stub sends the 16-byte MD5 of what it read, and goes back to commands. The stub esptool-js
// 0.7.0 uploads (esp-flasher-stub) keeps one packet in flight whatever the host asks for, because
// esptool cannot keep up otherwise (src/command_handler.c); so does this model. A frame that is
// not an acknowledgement ends the phase early, as in the stub.

import { createHash, type Hash } from "node:crypto";
import type { SimFlash } from "../flash.ts";
import { slipEncode } from "../../link/slip.ts";
import { u32 } from "./esp-protocol.ts";

/** The stub's read buffer: a larger packet size is refused. */
export const MAX_READ_PACKET = 4096;
/** Packets the stub sends ahead of the host's acknowledgements, whatever the host asks. */
const IN_FLIGHT = 1;

export class FlashReadSession {
  private offset: number;
  private remaining: number;
  private acked = 0;
  private unacked = 0;
  private readonly md5: Hash = createHash("md5");
  /** Set once the MD5 frame has been sent: the stub is back to commands. */
  finished = false;
  /** Set when the flash could not be read; the stub reports it on the next command. */
  failed = false;

  constructor(
    private readonly flash: SimFlash,
    offset: number,
    private readonly size: number,
    private readonly packetSize: number,
    private readonly send: (bytes: Uint8Array) => void,
  ) {
    this.offset = offset;
    this.remaining = size;
  }

  /** Sends what flow control allows now (call once after the READ_FLASH response). */
  start(): void {
    this.pump();
  }

  /** A frame from the host while the data phase runs. */
  frame(frame: Uint8Array): void {
    if (this.finished) return;
    if (frame.length !== 4) {
      this.end();
      return;
    }
    this.acked = u32(frame, 0);
    if (this.unacked > 0) this.unacked--;
    this.pump();
  }

  private pump(): void {
    while (this.remaining > 0 && this.unacked < IN_FLIGHT) {
      const n = Math.min(this.remaining, this.packetSize);
      let data: Uint8Array;
      try {
        data = this.flash.read(this.offset, n);
      } catch {
        this.failed = true;
        this.finished = true;
        return;
      }
      this.md5.update(data);
      this.send(slipEncode(data));
      this.offset += n;
      this.remaining -= n;
      this.unacked++;
    }
    if (this.remaining === 0 && this.acked >= this.size) this.end();
  }

  private end(): void {
    this.finished = true;
    this.send(slipEncode(new Uint8Array(this.md5.digest())));
  }
}
