// Packet indexes and the replay window (RFC 3711 §3.3.1, §3.3.2 and Appendix A).
//
// The SRTP index is 48 bits, ROC (32) || SEQ (16); only SEQ travels. `top` is the highest index
// authenticated so far, so ROC = top >> 16 and s_l = top & 0xffff. The window remembers which of
// the `size` indexes top-size+1 .. top arrived, as bits of a ring indexed by index mod capacity:
// advancing top only clears the bits it passes over, so a packet costs O(1), not a shift of the
// whole mask.

export const REPLAY_MIN: i32 = 128;   // RFC 3711 asks for at least 64; the brief 128
export const REPLAY_MAX: i32 = 1024;  // far below 2^15, which index estimation needs

/**
 * The index v of a packet with sequence number seq (Appendix A), given the highest index
 * received. Before the first packet ROC is 0 and the packet is taken as it comes (§3.3.1).
 * Returns -1 when the guess is ROC - 1 with ROC = 0 (a packet "before" the stream: too old),
 * and may return 2^48 or more when ROC would pass 2^32 - 1 (the caller refuses that).
 */
export function estimateIndex(started: bool, top: u64, seq: u32): i64 {
  if (!started) return <i64>seq;
  const roc = <i64>(top >>> 16);
  const sl = <i32>(top & 0xffff);
  const s = <i32>seq;
  let v = roc;
  if (sl < 32768) {
    if (s - sl > 32768) v = roc - 1;
  } else if (sl - 32768 > s) {
    v = roc + 1;
  }
  if (v < 0) return -1;
  return (v << 16) | <i64>s;
}

export class ReplayWindow {
  private bits: StaticArray<u32>;
  private mask: u64;
  /** Bits allocated: the largest window setSize accepts (a power of two). */
  readonly capacity: i32;
  /** Packets right of top - size are checked; older ones are too old. */
  size: i32;
  top: u64 = 0;
  started: bool = false;

  constructor(window: i32) {
    const want = window < REPLAY_MIN ? REPLAY_MIN : window > REPLAY_MAX ? REPLAY_MAX : window;
    let cap = 32;
    while (cap < want) cap <<= 1;
    this.capacity = cap;
    this.mask = <u64>(cap - 1);
    this.size = want;
    this.bits = new StaticArray<u32>(cap >> 5);
  }

  /** Changes the window (REPLAY_MIN .. capacity) and forgets every index; false if out of range. */
  setSize(window: i32): bool {
    if (window < REPLAY_MIN || window > this.capacity) return false;
    this.size = window;
    this.reset();
    return true;
  }

  reset(): void {
    memory.fill(changetype<usize>(this.bits), 0, <usize>(this.capacity >> 3));
    this.top = 0;
    this.started = false;
  }

  /** 0 if index may be new, else ERR_REPLAY (-4) or ERR_TOO_OLD (-5). Changes nothing. */
  check(index: u64): i32 {
    if (!this.started || index > this.top) return 0;
    if (this.top - index >= <u64>this.size) return -5;
    return this.bit(index) ? -4 : 0;
  }

  /** Records an authenticated index; moves top forward if it is past it. */
  accept(index: u64): void {
    if (!this.started || (index > this.top && index - this.top >= <u64>this.capacity)) {
      memory.fill(changetype<usize>(this.bits), 0, <usize>(this.capacity >> 3));
      this.top = index;
      this.started = true;
    } else if (index > this.top) {
      this.clearRange(this.top + 1, <i32>(index - this.top));
      this.top = index;
    }
    const pos = <i32>(index & this.mask);
    const w = changetype<usize>(this.bits) + <usize>((pos >> 5) << 2);
    store<u32>(w, load<u32>(w) | (1 << (pos & 31)));
  }

  /** Sets top without a packet (tests, and a signalled ROC): marks it as seen. */
  force(index: u64): void {
    this.started = false;
    this.accept(index);
  }

  private bit(index: u64): bool {
    const pos = <i32>(index & this.mask);
    return (load<u32>(changetype<usize>(this.bits) + <usize>((pos >> 5) << 2)) >>> (pos & 31)) & 1 ? true : false;
  }

  // Clears the bits of n (< capacity) indexes from first on: they are now in the window, unseen.
  private clearRange(first: u64, n: i32): void {
    const base = changetype<usize>(this.bits);
    let pos = <i32>(first & this.mask);
    while (n > 0) {
      const w = base + <usize>((pos >> 5) << 2);
      if ((pos & 31) == 0 && n >= 32) {
        store<u32>(w, 0);
        n -= 32;
        pos = (pos + 32) & <i32>this.mask;
      } else {
        store<u32>(w, load<u32>(w) & ~(1 << (pos & 31)));
        n--;
        pos = (pos + 1) & <i32>this.mask;
      }
    }
  }
}
