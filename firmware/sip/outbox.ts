// Datagrams and stream segments waiting to be sent: the SIP cores put what they want on the
// wire here (copied, so the writer that built a message can be reused at once), and main.ts
// drains it through the HAL after each event. A full outbox refuses the message and counts it:
// SIP's retransmission recovers, as it would from a lost datagram.

import { SOCKADDR_BYTES } from "../lib/inet";

export class SipOutbox {
  private readonly data: StaticArray<u8>;
  private readonly addresses: StaticArray<u8>;
  private readonly offsets: StaticArray<i32>;
  private readonly lengths: StaticArray<i32>;
  private readonly connections: StaticArray<i32>;
  private head: i32 = 0;   // first queued entry
  private count: i32 = 0;
  private used: i32 = 0;   // bytes of data in use, from the head entry's offset on
  refused: u32 = 0;

  constructor(readonly capacityBytes: i32, readonly slots: i32) {
    this.data = new StaticArray<u8>(capacityBytes);
    this.addresses = new StaticArray<u8>(slots * SOCKADDR_BYTES);
    this.offsets = new StaticArray<i32>(slots);
    this.lengths = new StaticArray<i32>(slots);
    this.connections = new StaticArray<i32>(slots);
  }

  get length(): i32 { return this.count; }

  /**
   * Queues len bytes at p for the SOCKADDR at sa; `connection` is the stream the message
   * belongs on (-1: a datagram). False (and counted) when there is no room.
   */
  push(p: usize, len: i32, sa: usize, connection: i32 = -1): bool {
    if (len <= 0 || len > this.capacityBytes || this.count == this.slots) { this.refused++; return false; }
    // Entries are contiguous from the head's offset; wrap to 0 when the tail has no room.
    let offset = 0;
    if (this.count > 0) {
      const last = (this.head + this.count - 1) % this.slots;
      offset = unchecked(this.offsets[last]) + unchecked(this.lengths[last]);
      const start = unchecked(this.offsets[this.head]);
      if (offset >= start) {
        if (offset + len > this.capacityBytes) {
          if (len > start) { this.refused++; return false; }
          offset = 0;
        }
      } else if (offset + len > start) { this.refused++; return false; }
    }
    const slot = (this.head + this.count) % this.slots;
    memory.copy(changetype<usize>(this.data) + <usize>offset, p, <usize>len);
    memory.copy(changetype<usize>(this.addresses) + <usize>(slot * SOCKADDR_BYTES), sa, <usize>SOCKADDR_BYTES);
    unchecked(this.offsets[slot] = offset);
    unchecked(this.lengths[slot] = len);
    unchecked(this.connections[slot] = connection);
    this.count++;
    this.used += len;
    return true;
  }

  /** The oldest entry: its bytes, length, destination and connection. Valid until pop(). */
  peekData(): usize { return changetype<usize>(this.data) + <usize>unchecked(this.offsets[this.head]); }
  peekLength(): i32 { return unchecked(this.lengths[this.head]); }
  peekAddress(): usize { return changetype<usize>(this.addresses) + <usize>(this.head * SOCKADDR_BYTES); }
  peekConnection(): i32 { return unchecked(this.connections[this.head]); }

  pop(): void {
    if (this.count == 0) return;
    this.used -= unchecked(this.lengths[this.head]);
    this.head = (this.head + 1) % this.slots;
    this.count--;
    if (this.count == 0) { this.head = 0; this.used = 0; }
  }

  clear(): void { this.head = 0; this.count = 0; this.used = 0; }
}
