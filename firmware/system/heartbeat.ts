// Blinks the status LED once a second so a person can see the firmware is alive, and gives
// tick() a real timer to drive. Sans-IO: it says what level the LED should have; main.ts
// drives the pin.

export const HEARTBEAT_PERIOD_US: i64 = 1_000_000;
const ON_US: i64 = 100_000;

export class Heartbeat {
  private nextUs: i64 = 0;
  level: i32 = 0;
  changed: bool = false;

  start(nowUs: i64): void { this.nextUs = nowUs; }

  tick(nowUs: i64): void {
    this.changed = false;
    if (nowUs < this.nextUs) return;
    const phase = (nowUs % HEARTBEAT_PERIOD_US) < ON_US ? 1 : 0;
    this.changed = phase != this.level;
    this.level = phase;
    const base = nowUs - nowUs % HEARTBEAT_PERIOD_US;
    this.nextUs = phase == 1 ? base + ON_US : base + HEARTBEAT_PERIOD_US;
  }

  timeout(): i64 { return this.nextUs; }
}
