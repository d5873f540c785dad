// Random tokens for tags, branches, Call-IDs and cnonces (RFC 3261 19.3: globally unique,
// 32 bits of randomness at least). The cores never call the board's generator: main.ts refills
// this pool from hal.random_fill whenever `low` says so, before it hands the user agent an event.

const HEX = "0123456789abcdef";

export class EntropyPool {
  readonly data: StaticArray<u8>;
  private used: i32;

  constructor(readonly capacity: i32) {
    this.data = new StaticArray<u8>(capacity);
    this.used = capacity; // empty until the first refill
  }

  get address(): usize { return changetype<usize>(this.data); }
  get low(): bool { return this.used > this.capacity / 2; }

  /** The caller wrote `capacity` fresh random bytes into data. */
  refilled(): void { this.used = 0; }

  /** Takes n random bytes (n <= capacity); reuses the pool when empty rather than failing, counted. */
  take(n: i32): usize {
    if (this.used + n > this.capacity) { this.used = 0; this.reused++; }
    const p = changetype<usize>(this.data) + <usize>this.used;
    this.used += n;
    return p;
  }

  reused: u32 = 0;

  /** Writes `chars` lowercase hex characters of fresh randomness at out. */
  hex(out: usize, chars: i32): void {
    const bytes = (chars + 1) >> 1;
    const p = this.take(bytes);
    for (let i = 0; i < chars; i++) {
      const b = <i32>load<u8>(p + <usize>(i >> 1));
      store<u8>(out + <usize>i, <u8>HEX.charCodeAt((i & 1) == 0 ? b >> 4 : b & 0xf));
    }
  }

  u32(): u32 { return load<u32>(this.take(4)); }
}
