// Builds short ASCII lines (log messages) in a fixed buffer, without allocating.

export class LineBuffer {
  readonly data: StaticArray<u8>;
  length: i32 = 0;

  constructor(readonly capacity: i32) { this.data = new StaticArray<u8>(capacity); }

  clear(): LineBuffer { this.length = 0; return this; }

  text(s: string): LineBuffer {
    for (let i = 0; i < s.length && this.length < this.capacity; i++) {
      const c = s.charCodeAt(i);
      unchecked(this.data[this.length++] = c < 0x80 ? <u8>c : 0x3f);
    }
    return this;
  }

  bytes(p: usize, len: i32): LineBuffer {
    const n = min(max(len, 0), this.capacity - this.length);
    memory.copy(changetype<usize>(this.data) + <usize>this.length, p, <usize>n);
    this.length += n;
    return this;
  }

  /** Appends a decimal integer, all or nothing. */
  int(v: i64): LineBuffer {
    const negative = v < 0;
    let m: u64 = negative ? <u64>0 - <u64>v : <u64>v; // magnitude; exact for i64.MIN_VALUE too
    let digits = 1;
    for (let t = m; t >= 10; t /= 10) digits++;
    if (this.length + (negative ? 1 : 0) + digits > this.capacity) return this;
    if (negative) unchecked(this.data[this.length++] = 0x2d);
    for (let i = digits - 1; i >= 0; i--) {
      unchecked(this.data[this.length + i] = <u8>(0x30 + m % 10));
      m /= 10;
    }
    this.length += digits;
    return this;
  }

  get address(): usize { return changetype<usize>(this.data); }
}
