// One progress bar per board, redrawn in place on a terminal; on a pipe or a log file, a plain
// line at each phase and every quarter of the write, so CI logs stay readable.

export interface BarState { label: string; phase: string; done: number; total: number; note?: string }

const WIDTH = 30;
const REDRAW_MS = 100;

export class ProgressBars {
  private readonly bars: BarState[];
  private drawn = 0;
  private lastDraw = 0;
  private readonly lastLine = new Map<number, string>();

  constructor(private readonly out: NodeJS.WriteStream, labels: string[], private readonly tty = Boolean(out.isTTY)) {
    this.bars = labels.map((label) => ({ label, phase: "waiting", done: 0, total: 0 }));
  }

  update(i: number, phase: string, done: number, total: number): void {
    const b = this.bars[i];
    b.phase = phase;
    b.done = done;
    b.total = total;
    if (this.tty) {
      const now = Date.now();
      if (now - this.lastDraw >= REDRAW_MS || done === total) this.draw();
      return;
    }
    const quarter = total > 0 ? Math.floor((4 * done) / total) : 0;
    const key = `${phase}:${phase === "write" ? quarter : ""}`;
    if (this.lastLine.get(i) === key) return;
    this.lastLine.set(i, key);
    this.out.write(`${b.label}: ${phase}${phase === "write" && total > 0 ? ` ${Math.floor((100 * done) / total)}% (${done}/${total} bytes)` : ""}\n`);
  }

  finish(i: number, note: string): void {
    const b = this.bars[i];
    b.phase = "done";
    b.note = note;
    if (this.tty) this.draw();
    else this.out.write(`${b.label}: ${note}\n`);
  }

  private draw(): void {
    this.lastDraw = Date.now();
    const width = Math.max(...this.bars.map((b) => b.label.length));
    const lines = this.bars.map((b) => {
      const frac = b.total > 0 ? Math.min(1, b.done / b.total) : b.phase === "done" ? 1 : 0;
      const fill = Math.round(frac * WIDTH);
      const bar = `[${"#".repeat(fill)}${".".repeat(WIDTH - fill)}]`;
      const tail = b.note ?? `${b.phase}${b.phase === "write" ? ` ${Math.floor(frac * 100)}%` : ""}`;
      return `${b.label.padEnd(width)} ${bar} ${tail}`;
    });
    if (this.drawn) this.out.write(`\x1b[${this.drawn}A`);
    for (const l of lines) this.out.write(`\x1b[2K${l}\n`);
    this.drawn = lines.length;
  }
}
