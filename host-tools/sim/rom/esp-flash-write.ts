// One flash download (FLASH_BEGIN/DATA/END or FLASH_DEFL_BEGIN/DATA/END) as each ESP loader does
// it. The ROM erases the whole announced region at BEGIN and places block n at offset + n * block
// size, reading each block back after programming it; it "rounds the size up" for compressed
// writes. The stub takes the size as the exact byte count, erases each sector just before it
// first writes there (so an aborted download leaves the rest of the region as it was), and
// writes the bytes in order, ignoring the 0xFF padding of the last plain block.

import type { SimFlash } from "../flash.ts";
import { InflateError, StreamingInflater } from "./esp-inflate.ts";
import { type Failure, type Loader, words, xorChecksum, u32 } from "./esp-protocol.ts";

/** Largest block either loader takes (esptool sends 16 KiB blocks to the stub). */
export const MAX_BLOCK = 0x4000;

export class FlashDownload {
  /** Blocks accepted so far (also the sequence number the next block must carry). */
  nextSeq = 0;
  /** Bytes programmed so far (uncompressed). */
  written = 0;
  private compressedIn = 0;
  private readonly inflater: StreamingInflater | undefined;
  /** Stub: end of the erased part of the region (erase-unit aligned). */
  private erasedTo: number;

  private constructor(
    private readonly flash: SimFlash,
    readonly loader: Loader,
    readonly compressed: boolean,
    /** Where the data starts. */
    readonly offset: number,
    /** ROM: bytes erased at BEGIN; stub: the exact number of bytes that will be written. */
    readonly size: number,
    readonly numBlocks: number,
    readonly blockSize: number,
  ) {
    this.inflater = compressed ? new StreamingInflater() : undefined;
    this.erasedTo = Math.floor(offset / flash.eraseBytes) * flash.eraseBytes;
  }

  /** Starts a download from a BEGIN command's data field, or says why it cannot. */
  static begin(flash: SimFlash, loader: Loader, compressed: boolean, data: Uint8Array): FlashDownload | Failure {
    if (data.length !== 16 && data.length !== 20) return "badLength";
    const [size, numBlocks, blockSize, offset, encrypted = 0] = words(data);
    // Flash encryption is not emulated: an encrypted download would store other bytes.
    if (encrypted !== 0) return "flashFailed";
    if (blockSize === 0 || blockSize > MAX_BLOCK) return "badBlockSize";
    if (offset + size > flash.size) return "flashFailed";
    const d = new FlashDownload(flash, loader, compressed, offset, size, numBlocks, blockSize);
    if (loader === "rom") {
      const failed = d.guard(() => flash.eraseCovering(offset, size));
      if (failed) return failed;
    }
    return d;
  }

  /**
   * Checks a DATA command (header, length, checksum, sequence) and counts the block as received.
   * Nothing is written yet: the stub acknowledges a block before it programs it.
   */
  accept(data: Uint8Array, checksum: number): { payload: Uint8Array; seq: number } | Failure {
    if (data.length < 16) return "notEnoughData";
    const declared = u32(data, 0);
    const seq = u32(data, 4);
    const payload = data.subarray(16);
    if (declared !== payload.length) return "tooMuchData";
    if (xorChecksum(payload) !== checksum) return "badChecksum";
    if (seq !== this.nextSeq) return "badSequence";
    if (payload.length > this.blockSize) return "badBlockSize";
    if (this.loader === "rom" && seq >= this.numBlocks) return "tooMuchData";
    if (this.compressed) {
      // The host announced numBlocks * blockSize bytes of compressed data; more is not this stream.
      if (this.compressedIn + payload.length > this.numBlocks * this.blockSize) return "tooMuchData";
      if (this.inflater?.done) return "tooMuchData";
      this.compressedIn += payload.length;
    }
    this.nextSeq++;
    return { payload, seq };
  }

  /** Programs an accepted block (inflating it first when compressed). */
  apply(block: { payload: Uint8Array; seq: number }): Failure | undefined {
    const { payload, seq } = block;
    if (!this.compressed) {
      if (this.loader === "rom") return this.program(this.offset + seq * this.blockSize, payload);
      return this.program(this.offset + this.written, payload.subarray(0, this.size - this.written));
    }
    let out: Uint8Array;
    try {
      out = (this.inflater as StreamingInflater).push(payload);
    } catch (err) {
      if (err instanceof InflateError) return "inflate";
      throw err;
    }
    if (this.written + out.length > this.size) return "tooMuchData";
    return this.program(this.offset + this.written, out);
  }

  /** FLASH_END / FLASH_DEFL_END: the stub refuses to end a download that is missing bytes. */
  finish(): Failure | undefined {
    if (this.loader === "stub" && this.written !== this.size) return "badLength";
    return undefined;
  }

  private program(at: number, bytes: Uint8Array): Failure | undefined {
    if (bytes.length === 0) return undefined;
    // The chip's flash driver refuses a write past the end of the chip.
    if (at + bytes.length > this.flash.size) return "flashFailed";
    let back: Uint8Array | undefined;
    const failed = this.guard(() => {
      if (this.loader === "stub") this.eraseUpTo(at + bytes.length);
      this.flash.write(at, bytes);
      if (this.loader === "rom") back = this.flash.read(at, bytes.length);
    });
    if (failed) return failed;
    this.written += bytes.length;
    // The ROM reads each block back: a region that was not erased (NOR can only clear bits)
    // reads back different and is reported as a flash write error.
    if (back) for (let i = 0; i < bytes.length; i++) if (back[i] !== bytes[i]) return "flashVerify";
    return undefined;
  }

  private eraseUpTo(end: number): void {
    const unit = this.flash.eraseBytes;
    const target = Math.min(this.flash.size, Math.ceil(end / unit) * unit);
    if (target > this.erasedTo) {
      this.flash.erase(this.erasedTo, target - this.erasedTo);
      this.erasedTo = target;
    }
  }

  /** Runs a flash operation; a failing chip (or an injected fault) becomes a failed command. */
  private guard(op: () => void): Failure | undefined {
    try {
      op();
      return undefined;
    } catch {
      return "flashFailed";
    }
  }
}
