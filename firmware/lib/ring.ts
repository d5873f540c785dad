// A fixed-capacity byte FIFO. Capacity is set once, at start-up; push refuses what does not
// fit (the caller counts the drop) instead of growing.

export class ByteRing {
  private readonly data: StaticArray<u8>;
  private head: i32 = 0; // next byte to read
  private size: i32 = 0;

  constructor(readonly capacity: i32) {
    assert(capacity > 0, "ByteRing needs a capacity");
    this.data = new StaticArray<u8>(capacity);
  }

  get length(): i32 { return this.size; }
  get free(): i32 { return this.capacity - this.size; }

  /** Appends len bytes from p, all or nothing. */
  push(p: usize, len: i32): bool {
    if (len < 0 || len > this.free) return false;
    let tail = (this.head + this.size) % this.capacity;
    for (let i = 0; i < len; i++) {
      unchecked(this.data[tail] = load<u8>(p + <usize>i));
      if (++tail == this.capacity) tail = 0;
    }
    this.size += len;
    return true;
  }

  pushByte(b: u8): bool {
    if (this.size == this.capacity) return false;
    unchecked(this.data[(this.head + this.size) % this.capacity] = b);
    this.size++;
    return true;
  }

  /** Address and length of the contiguous readable run at the head. */
  peekAddress(): usize { return changetype<usize>(this.data) + <usize>this.head; }
  peekLength(): i32 { return min(this.size, this.capacity - this.head); }

  /** Drops n bytes from the head (n <= length). */
  consume(n: i32): void {
    if (n <= 0) return;
    if (n > this.size) n = this.size;
    this.head = (this.head + n) % this.capacity;
    this.size -= n;
    if (this.size == 0) this.head = 0;
  }

  clear(): void { this.head = 0; this.size = 0; }
}
