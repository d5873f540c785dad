// TLV payloads of console frames (boards/CONSOLE.md): tag u8, length u16 BE, value.

import { writeU8, writeU16BE, writeU32BE, writeU64BE, readU8, readU16BE } from "../lib/bytes";

/** Writes TLVs into a fixed region; sets `overflow` instead of writing past its end. */
export class TlvWriter {
  private base: usize = 0;
  private cap: i32 = 0;
  length: i32 = 0;
  overflow: bool = false;

  reset(base: usize, cap: i32): void {
    this.base = base; this.cap = cap; this.length = 0; this.overflow = false;
  }

  private open(tag: u8, len: i32): usize {
    if (this.overflow || len < 0 || len > 0xffff || this.length + 3 + len > this.cap) { this.overflow = true; return 0; }
    const p = this.base + <usize>this.length;
    writeU8(p, tag);
    writeU16BE(p + 1, <u32>len);
    this.length += 3 + len;
    return p + 3;
  }

  bytes(tag: u8, src: usize, len: i32): void {
    const p = this.open(tag, len);
    if (p != 0) memory.copy(p, src, <usize>len);
  }
  ascii(tag: u8, s: string): void {
    const p = this.open(tag, s.length);
    if (p == 0) return;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      store<u8>(p + <usize>i, c < 0x80 ? <u8>c : 0x3f);
    }
  }
  u8(tag: u8, v: u32): void { const p = this.open(tag, 1); if (p != 0) store<u8>(p, <u8>v); }
  u16(tag: u8, v: u32): void { const p = this.open(tag, 2); if (p != 0) writeU16BE(p, v); }
  u32(tag: u8, v: u32): void { const p = this.open(tag, 4); if (p != 0) writeU32BE(p, v); }
  u64(tag: u8, v: u64): void { const p = this.open(tag, 8); if (p != 0) writeU64BE(p, v); }
}

/** Walks the TLVs of a payload in place. `next()` is false at the end or on a truncated TLV
 *  (then `truncated` is set). */
export class TlvReader {
  private p: usize = 0;
  private end: usize = 0;
  tag: u8 = 0;
  value: usize = 0;
  valueLength: i32 = 0;
  truncated: bool = false;

  reset(base: usize, len: i32): void {
    this.p = base; this.end = base + <usize>len; this.truncated = false;
  }

  next(): bool {
    if (this.p == this.end) return false;
    if (this.end - this.p < 3) { this.truncated = true; return false; }
    const len = <i32>readU16BE(this.p + 1);
    if (<usize>len > this.end - this.p - 3) { this.truncated = true; return false; }
    this.tag = <u8>readU8(this.p);
    this.value = this.p + 3;
    this.valueLength = len;
    this.p += 3 + <usize>len;
    return true;
  }
}
