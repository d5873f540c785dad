// Heartbeat (firmware/system/heartbeat.ts): the status LED is on for 100 ms at each second
// boundary; timeout() is the next transition; changed is true only on a transition.
import { Heartbeat, HEARTBEAT_PERIOD_US } from "../../firmware/system/heartbeat";

function expectState(h: Heartbeat, level: i32, changed: bool, timeout: i64): void {
  expect(h.level).toBe(level, "level");
  expect(h.changed).toBe(changed, "changed");
  expect(h.timeout()).toBe(timeout, "timeout");
}

describe("Heartbeat", () => {
  it("has a one-second period", () => {
    expect(HEARTBEAT_PERIOD_US).toBe(1_000_000);
  });

  it("booted at 0: on at once until 100 ms, off until 1 s", () => {
    const h = new Heartbeat();
    h.start(0);
    expect(h.timeout()).toBe(0, "first deadline is now");
    h.tick(0);
    expectState(h, 1, true, 100_000);
    h.tick(100_000);
    expectState(h, 0, true, 1_000_000);
    h.tick(1_000_000);
    expectState(h, 1, true, 1_100_000);
    h.tick(1_100_000);
    expectState(h, 0, true, 2_000_000);
  });

  it("a tick before the deadline changes nothing (and clears changed)", () => {
    const h = new Heartbeat();
    h.start(0);
    h.tick(0);
    expect(h.changed).toBe(true);
    h.tick(99_999);
    expectState(h, 1, false, 100_000);
    h.tick(100_000);
    h.tick(500_000);
    expectState(h, 0, false, 1_000_000);
    h.tick(999_999);
    expectState(h, 0, false, 1_000_000);
  });

  it("a second tick at the same time reports no change", () => {
    const h = new Heartbeat();
    h.start(0);
    h.tick(0);
    h.tick(100_000);
    expect(h.changed).toBe(true);
    h.tick(100_000);
    expectState(h, 0, false, 1_000_000);
  });

  it("driven at its own deadlines for 10 s: 20 transitions, on exactly at each second", () => {
    const h = new Heartbeat();
    h.start(0);
    let transitions = 0;
    let onAt: i64 = 0;
    for (let i = 0; i < 20; i++) {
      const t = h.timeout();
      h.tick(t);
      expect(h.changed).toBe(true, "tick at a deadline is a transition");
      transitions++;
      if (h.level == 1) {
        expect(t % 1_000_000).toBe(0, "on at a second boundary");
        onAt = t;
      } else {
        expect(t - onAt).toBe(100_000, "off 100 ms after on");
      }
    }
    expect(transitions).toBe(20);
    expect(h.level).toBe(0);
    expect(h.timeout()).toBe(10_000_000);
  });

  it("booted mid-second: stays off (no change) until the next second boundary", () => {
    const h = new Heartbeat();
    h.start(1_234_567);
    expect(h.timeout()).toBe(1_234_567);
    h.tick(1_234_567);
    expectState(h, 0, false, 2_000_000);
    h.tick(2_000_000);
    expectState(h, 1, true, 2_100_000);
  });

  it("booted inside an on-window (50 ms past a boundary): on until that window ends", () => {
    const h = new Heartbeat();
    h.start(3_050_000);
    h.tick(3_050_000);
    expectState(h, 1, true, 3_100_000);
  });

  it("a late tick follows wall time: lands in the on-window, or skips a missed window", () => {
    const h = new Heartbeat();
    h.start(0);
    h.tick(0);
    h.tick(100_000); // off, next 1 s
    h.tick(1_050_000); // 50 ms late: still in the window
    expectState(h, 1, true, 1_100_000);
    h.tick(1_100_000); // off, next 2 s
    h.tick(2_150_000); // 150 ms late: the 2 s window is over, stays off
    expectState(h, 0, false, 3_000_000);
    h.tick(5_000_000); // seconds late, exactly on a boundary
    expectState(h, 1, true, 5_100_000);
  });
});
