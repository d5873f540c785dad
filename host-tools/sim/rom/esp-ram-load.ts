// RAM download (MEM_BEGIN / MEM_DATA): how esptool puts its flasher stub into the chip's SRAM.
// Blocks come in sequence order, each checked against the XOR checksum, and land one after the
// other from the announced address into the chip's fake RAM.

import type { FakeRam } from "./esp-chip.ts";
import { inChipRam } from "./esp-chip.ts";
import { type Failure, u32, xorChecksum } from "./esp-protocol.ts";

export class RamLoad {
  private nextSeq = 0;
  private written = 0;

  private constructor(
    private readonly ram: FakeRam,
    private readonly offset: number,
    private readonly size: number,
    private readonly blocks: number,
    private readonly blockSize: number,
  ) {}

  /** MEM_BEGIN's words: total size, number of blocks, block size, load address. */
  static begin(ram: FakeRam, [size, blocks, blockSize, offset]: number[]): RamLoad | Failure {
    // Code outside the chip's RAM could not be run; the real ROM would fault writing it.
    if (!inChipRam(offset, size)) return "badLength";
    return new RamLoad(ram, offset, size, blocks, blockSize);
  }

  /** One MEM_DATA: length, sequence number, two zero words, then the bytes. */
  block(data: Uint8Array, checksum: number): Failure | undefined {
    if (data.length < 16) return "notEnoughData";
    const declared = u32(data, 0);
    const seq = u32(data, 4);
    const payload = data.subarray(16);
    if (declared !== payload.length) return "tooMuchData";
    if (xorChecksum(payload) !== checksum) return "badChecksum";
    if (seq !== this.nextSeq || seq >= this.blocks) return "badSequence";
    if (payload.length > this.blockSize || this.written + payload.length > this.size) return "tooMuchData";
    this.ram.write(this.offset + this.written, payload);
    this.written += payload.length;
    this.nextSeq++;
    return undefined;
  }
}
