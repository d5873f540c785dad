// SlipDecoder (firmware/console/slip.ts): the device's SLIP receive side (boards/CONSOLE.md,
// "The device"): bytes before the first END since boot are stray; after it, every END ends the
// current frame and starts the next (plain RFC 1055), END END is an empty frame and skipped.
import { SlipDecoder, SlipEvent } from "../../firmware/console/slip";

const wire = memory.data(256);

/** Feeds bytes [from, from+n) of `wire`; every byte but the last must return None; returns the last event. */
function feed(d: SlipDecoder, n: i32): SlipEvent {
  let last = SlipEvent.None;
  for (let i = 0; i < n; i++) {
    last = d.push(load<u8>(wire + <usize>i));
    if (i < n - 1) expect<i32>(last).toBe(<i32>SlipEvent.None, "event before the last byte, at " + i.toString());
  }
  return last;
}

/** Writes the bytes of a hex string ("c0 01 02 c0", spaces ignored) at `wire`; returns the count. */
function hex(s: string): i32 {
  let n = 0;
  let i = 0;
  while (i < s.length) {
    if (s.charCodeAt(i) == 0x20) { i++; continue; }
    store<u8>(wire + <usize>n, <u8>I32.parseInt(s.substr(i, 2), 16));
    n++;
    i += 2;
  }
  return n;
}

function expectFrame(d: SlipDecoder, expected: string): void {
  const n = hex(expected); // reuses wire as the expected-bytes scratch: callers are done feeding
  expect(d.length).toBe(n);
  for (let i = 0; i < n; i++) {
    expect(load<u8>(changetype<usize>(d.buffer) + <usize>i)).toBe(load<u8>(wire + <usize>i), "frame byte " + i.toString());
  }
}

describe("SlipDecoder: frames", () => {
  it("delivers a frame with END before and after, on the closing END", () => {
    const d = new SlipDecoder(16);
    expect<i32>(feed(d, hex("c0 01 02 03 7f"))).toBe(<i32>SlipEvent.None);
    expect<i32>(d.push(0xc0)).toBe(<i32>SlipEvent.Frame);
    expectFrame(d, "01 02 03 7f");
  });

  it("decodes DB DC to C0 and DB DD to DB", () => {
    const d = new SlipDecoder(16);
    expect<i32>(feed(d, hex("c0 db dc 41 db dd db dd db dc c0"))).toBe(<i32>SlipEvent.Frame);
    expectFrame(d, "c0 41 db db c0");
  });

  it("skips END END (an empty frame) and still decodes the frame that follows", () => {
    const d = new SlipDecoder(16);
    expect<i32>(feed(d, hex("c0 c0 c0 c0 05 06 c0"))).toBe(<i32>SlipEvent.Frame);
    expectFrame(d, "05 06");
  });

  it("decodes back-to-back frames (END between them doubled)", () => {
    const d = new SlipDecoder(16);
    expect<i32>(feed(d, hex("c0 0a c0"))).toBe(<i32>SlipEvent.Frame);
    expectFrame(d, "0a");
    expect<i32>(feed(d, hex("c0 0b 0c c0"))).toBe(<i32>SlipEvent.Frame);
    expectFrame(d, "0b 0c");
  });

  it("accepts a frame of exactly maxFrame bytes", () => {
    const d = new SlipDecoder(4);
    expect<i32>(feed(d, hex("c0 01 02 03 04 c0"))).toBe(<i32>SlipEvent.Frame);
    expectFrame(d, "01 02 03 04");
  });

  it("counts maxFrame in decoded bytes: four escaped bytes (eight on the wire) fit maxFrame 4", () => {
    const d = new SlipDecoder(4);
    expect<i32>(feed(d, hex("c0 db dc db dd db dc db dd c0"))).toBe(<i32>SlipEvent.Frame);
    expectFrame(d, "c0 db c0 db");
  });
});

describe("SlipDecoder: stray bytes and delimiting", () => {
  it("reports each byte before the first END since boot as Stray", () => {
    const d = new SlipDecoder(16);
    expect<i32>(d.push(0x49)).toBe(<i32>SlipEvent.Stray); // "I"
    expect<i32>(d.push(0x20)).toBe(<i32>SlipEvent.Stray);
    expect<i32>(d.push(0x0a)).toBe(<i32>SlipEvent.Stray);
    expect<i32>(d.push(0xdb)).toBe(<i32>SlipEvent.Stray); // ESC means nothing outside a frame
    expect<i32>(feed(d, hex("c0 01 c0"))).toBe(<i32>SlipEvent.Frame);
    expectFrame(d, "01");
  });

  it("after the first END, bytes after a closing END are the next frame, not Stray", () => {
    const d = new SlipDecoder(16);
    expect<i32>(feed(d, hex("c0 01 c0"))).toBe(<i32>SlipEvent.Frame);
    expect<i32>(d.push(0x4f)).toBe(<i32>SlipEvent.None);
    expect<i32>(d.push(0x4b)).toBe(<i32>SlipEvent.None);
    expect<i32>(d.push(0xc0)).toBe(<i32>SlipEvent.Frame);
    expectFrame(d, "4f 4b");
  });

  it("noise before a request costs one frame, never the request (which starts with its own END)", () => {
    const d = new SlipDecoder(16);
    expect<i32>(feed(d, hex("c0 01 c0"))).toBe(<i32>SlipEvent.Frame);
    expect<i32>(feed(d, hex("55 aa c0"))).toBe(<i32>SlipEvent.Frame); // the noise, as a frame
    expectFrame(d, "55 aa");
    expect<i32>(feed(d, hex("05 06 c0"))).toBe(<i32>SlipEvent.Frame); // the request
    expectFrame(d, "05 06");
  });

  it("keeps a delivered frame readable until the next byte arrives", () => {
    const d = new SlipDecoder(16);
    expect<i32>(feed(d, hex("c0 0a 0b 0c c0"))).toBe(<i32>SlipEvent.Frame);
    expectFrame(d, "0a 0b 0c");
    expect<i32>(d.push(0x77)).toBe(<i32>SlipEvent.None);
    expect(d.length).toBe(1);
    expect(load<u8>(changetype<usize>(d.buffer))).toBe(0x77);
  });
});

describe("SlipDecoder: bad escape", () => {
  it("reports BadEscape on the closing END for DB followed by anything but DC/DD", () => {
    const d = new SlipDecoder(16);
    expect<i32>(feed(d, hex("c0 01 db 41 02 03"))).toBe(<i32>SlipEvent.None);
    expect<i32>(d.push(0xc0)).toBe(<i32>SlipEvent.BadEscape);
  });

  it("reports BadEscape for DB right before the closing END", () => {
    const d = new SlipDecoder(16);
    expect<i32>(feed(d, hex("c0 01 02 db c0"))).toBe(<i32>SlipEvent.BadEscape);
  });

  it("reports BadEscape for a frame that is only DB (not an empty frame)", () => {
    const d = new SlipDecoder(16);
    expect<i32>(feed(d, hex("c0 db c0"))).toBe(<i32>SlipEvent.BadEscape);
  });

  it("recovers: the next frame decodes", () => {
    const d = new SlipDecoder(16);
    expect<i32>(feed(d, hex("c0 01 db 00 c0"))).toBe(<i32>SlipEvent.BadEscape);
    expect<i32>(feed(d, hex("c0 db dd 09 c0"))).toBe(<i32>SlipEvent.Frame);
    expectFrame(d, "db 09");
  });
});

describe("SlipDecoder: oversize", () => {
  it("reports Oversize on the closing END for maxFrame + 1 bytes", () => {
    const d = new SlipDecoder(4);
    expect<i32>(feed(d, hex("c0 01 02 03 04 05"))).toBe(<i32>SlipEvent.None);
    expect<i32>(d.push(0xc0)).toBe(<i32>SlipEvent.Oversize);
  });

  it("skips everything up to the next END, escapes and bad escapes included", () => {
    const d = new SlipDecoder(4);
    expect<i32>(feed(d, hex("c0 01 02 03 04 05 db dc db 41 06 c0"))).toBe(<i32>SlipEvent.Oversize);
  });

  it("recovers for the next frame", () => {
    const d = new SlipDecoder(4);
    expect<i32>(feed(d, hex("c0 01 02 03 04 05 06 07 08 c0"))).toBe(<i32>SlipEvent.Oversize);
    expect<i32>(feed(d, hex("c0 0a 0b 0c 0d c0"))).toBe(<i32>SlipEvent.Frame);
    expectFrame(d, "0a 0b 0c 0d");
  });
});
