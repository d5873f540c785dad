// Log lines the cores write while handling an event, for main.ts to hand to hal.log after it:
// a fixed ring of line buffers. When it is full the oldest line is dropped (and counted): a log
// never blocks or allocates.

import { LineBuffer } from "./text";

export const LEVEL_ERROR: i32 = 0;
export const LEVEL_WARN: i32 = 1;
export const LEVEL_INFO: i32 = 2;

export class LogQueue {
  private readonly lines: StaticArray<LineBuffer>;
  private readonly levels: StaticArray<i32>;
  private head: i32 = 0;
  count: i32 = 0;
  dropped: u32 = 0;

  constructor(readonly slots: i32, lineBytes: i32) {
    const lines = new StaticArray<LineBuffer>(slots);
    for (let i = 0; i < slots; i++) unchecked(lines[i] = new LineBuffer(lineBytes));
    this.lines = lines;
    this.levels = new StaticArray<i32>(slots);
  }

  info(): LineBuffer { return this.add(LEVEL_INFO); }
  warn(): LineBuffer { return this.add(LEVEL_WARN); }
  error(): LineBuffer { return this.add(LEVEL_ERROR); }

  private add(level: i32): LineBuffer {
    if (this.count == this.slots) { this.pop(); this.dropped++; }
    const i = (this.head + this.count) % this.slots;
    this.count++;
    unchecked(this.levels[i] = level);
    return unchecked(this.lines[i]).clear();
  }

  /** The oldest line and its level. */
  peek(): LineBuffer { return unchecked(this.lines[this.head]); }
  peekLevel(): i32 { return unchecked(this.levels[this.head]); }

  pop(): void {
    if (this.count == 0) return;
    this.head = (this.head + 1) % this.slots;
    this.count--;
  }
}
