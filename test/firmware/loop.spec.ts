// FrameLoop (firmware/audio/loop.ts): for now a loopback from capture to playout.
import { FrameLoop } from "../../firmware/audio/loop";

const CAP: i32 = 8;
// capture and playout with two guard samples past capacity
const capture = memory.data((CAP + 2) * 2);
const playout = memory.data((CAP + 2) * 2);

function setup(): void {
  for (let i = 0; i < CAP + 2; i++) {
    store<i16>(capture + <usize>(i * 2), <i16>(i * 1000 - 3000)); // -3000, -2000, ... mixed signs
    store<i16>(playout + <usize>(i * 2), <i16>0x5555);
  }
}
function cap(i: i32): i16 { return load<i16>(capture + <usize>(i * 2)); }
function out(i: i32): i16 { return load<i16>(playout + <usize>(i * 2)); }

describe("FrameLoop", () => {
  it("copies a frame of valid length from capture to playout and counts it", () => {
    setup();
    const l = new FrameLoop(CAP);
    l.process(capture, playout, 5);
    for (let i = 0; i < 5; i++) expect(out(i)).toBe(cap(i), "sample " + i.toString());
    expect(out(0)).toBe(-3000);
    expect(out(4)).toBe(1000);
    for (let i = 5; i < CAP + 2; i++) expect(out(i)).toBe(<i16>0x5555, "past the frame, sample " + i.toString());
    expect(l.frames).toBe(1);
    expect(l.rejected).toBe(0);
  });

  it("accepts exactly capacity samples and touches nothing past them", () => {
    setup();
    const l = new FrameLoop(CAP);
    l.process(capture, playout, CAP);
    for (let i = 0; i < CAP; i++) expect(out(i)).toBe(cap(i));
    expect(out(CAP)).toBe(<i16>0x5555);
    expect(l.frames).toBe(1);
    expect(l.rejected).toBe(0);
  });

  it("accepts a single sample", () => {
    setup();
    const l = new FrameLoop(CAP);
    l.process(capture, playout, 1);
    expect(out(0)).toBe(-3000);
    expect(out(1)).toBe(<i16>0x5555);
    expect(l.frames).toBe(1);
  });

  it("counts frames over many calls", () => {
    setup();
    const l = new FrameLoop(CAP);
    for (let i = 0; i < 1000; i++) l.process(capture, playout, 1 + i % CAP);
    expect(l.frames).toBe(1000);
    expect(l.rejected).toBe(0);
  });

  it("rejects 0 samples: counts it, zero-fills the whole playout buffer, frames unchanged", () => {
    setup();
    const l = new FrameLoop(CAP);
    l.process(capture, playout, 0);
    for (let i = 0; i < CAP; i++) expect(out(i)).toBe(0, "sample " + i.toString());
    expect(out(CAP)).toBe(<i16>0x5555, "nothing past capacity");
    expect(l.rejected).toBe(1);
    expect(l.frames).toBe(0);
  });

  it("rejects a negative length", () => {
    setup();
    const l = new FrameLoop(CAP);
    l.process(capture, playout, -1);
    l.process(capture, playout, i32.MIN_VALUE);
    for (let i = 0; i < CAP; i++) expect(out(i)).toBe(0);
    expect(out(CAP)).toBe(<i16>0x5555);
    expect(l.rejected).toBe(2);
    expect(l.frames).toBe(0);
  });

  it("rejects capacity + 1 and larger", () => {
    setup();
    const l = new FrameLoop(CAP);
    l.process(capture, playout, CAP + 1);
    for (let i = 0; i < CAP; i++) expect(out(i)).toBe(0);
    expect(out(CAP)).toBe(<i16>0x5555, "over-capacity frame copied nothing past capacity");
    l.process(capture, playout, i32.MAX_VALUE);
    expect(l.rejected).toBe(2);
    expect(l.frames).toBe(0);
  });

  it("a rejected frame between good ones only bumps rejected", () => {
    setup();
    const l = new FrameLoop(CAP);
    l.process(capture, playout, 4);
    l.process(capture, playout, 0);
    l.process(capture, playout, 4);
    expect(l.frames).toBe(2);
    expect(l.rejected).toBe(1);
    for (let i = 0; i < 4; i++) expect(out(i)).toBe(cap(i));
    for (let i = 4; i < CAP; i++) expect(out(i)).toBe(0, "still zero from the rejected frame");
  });
});
