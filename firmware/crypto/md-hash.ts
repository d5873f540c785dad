// The framing SHA-1, SHA-256 (FIPS 180-4 5.1.1, 6.1, 6.2) and MD5 (RFC 1321 3.1-3.5) share:
// 64-byte blocks, the 0x80 pad and the 64-bit bit length, a state of 32-bit words written out;
// big-endian for the SHAs, little-endian for MD5. A subclass supplies the initial state and the
// compression function.

import { wipe } from "./ct";

export abstract class MdHash {
  protected readonly h: StaticArray<u32>;
  private readonly buf: StaticArray<u8> = new StaticArray<u8>(64);
  private fill: i32 = 0;    // bytes waiting in buf
  private total: u64 = 0;   // bytes hashed so far, including those in buf

  constructor(readonly stateWords: i32, readonly littleEndian: bool = false) { this.h = new StaticArray<u32>(stateWords); }

  /** Writes the initial state words at h. */
  protected abstract initialise(h: usize): void;
  /** One compression of the 64 bytes at block into the state at h. */
  protected abstract compress(h: usize, block: usize): void;

  reset(): void {
    this.initialise(changetype<usize>(this.h));
    this.fill = 0;
    this.total = 0;
  }

  /** Continues from a saved chaining state after `bytes` bytes (a multiple of 64): HMAC's pads. */
  resume(state: usize, bytes: u64): void {
    memory.copy(changetype<usize>(this.h), state, <usize>this.stateWords << 2);
    this.fill = 0;
    this.total = bytes;
  }

  /** The chaining state (native order) at `state`; valid after whole blocks only. */
  saveState(state: usize): void { memory.copy(state, changetype<usize>(this.h), <usize>this.stateWords << 2); }

  update(p: usize, len: i32): void {
    if (len <= 0) return;
    const h = changetype<usize>(this.h);
    const buf = changetype<usize>(this.buf);
    this.total += <u64>len;
    let off = 0;
    if (this.fill > 0) {
      const n = min(64 - this.fill, len);
      memory.copy(buf + <usize>this.fill, p, <usize>n);
      this.fill += n;
      off = n;
      if (this.fill < 64) return;
      this.compress(h, buf);
      this.fill = 0;
    }
    // Whole blocks straight from the caller's memory, no copy.
    for (; off + 64 <= len; off += 64) this.compress(h, p + <usize>off);
    if (off < len) {
      memory.copy(buf, p + <usize>off, <usize>(len - off));
      this.fill = len - off;
    }
  }

  /** Writes the digest (4 bytes per state word) at out, then resets for a new message. */
  finish(out: usize): void {
    const h = changetype<usize>(this.h);
    const buf = changetype<usize>(this.buf);
    const bits = this.total << 3;
    let n = this.fill;
    store<u8>(buf + <usize>n, 0x80);
    n++;
    if (n > 56) { // no room for the length: pad this block out, length in the next
      memory.fill(buf + <usize>n, 0, <usize>(64 - n));
      this.compress(h, buf);
      n = 0;
    }
    memory.fill(buf + <usize>n, 0, <usize>(56 - n));
    store<u64>(buf, this.littleEndian ? bits : bswap<u64>(bits), 56);
    this.compress(h, buf);
    if (this.littleEndian) memory.copy(out, h, <usize>this.stateWords << 2);
    else for (let i = 0; i < this.stateWords; i++) store<u32>(out + (<usize>i << 2), bswap<u32>(load<u32>(h + (<usize>i << 2))));
    wipe(buf, 64);
    this.reset();
  }
}
