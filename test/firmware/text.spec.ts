// LineBuffer (firmware/lib/text.ts): short ASCII log lines built in a fixed buffer.
import { LineBuffer } from "../../firmware/lib/text";

const src = memory.data(32);

function expectText(b: LineBuffer, s: string): void {
  expect(b.length).toBe(s.length, "length of \"" + s + "\"");
  for (let i = 0; i < min(b.length, s.length); i++) {
    expect(load<u8>(b.address + <usize>i)).toBe(<u8>s.charCodeAt(i), "char " + i.toString() + " of \"" + s + "\"");
  }
}

describe("LineBuffer: text", () => {
  it("starts empty; text appends ASCII; calls chain", () => {
    const b = new LineBuffer(32);
    expect(b.length).toBe(0);
    expect(b.capacity).toBe(32);
    expect(b.address).toBe(changetype<usize>(b.data));
    b.text("tincan ").text("firmware");
    expectText(b, "tincan firmware");
  });

  it("replaces non-ASCII characters by ?", () => {
    const b = new LineBuffer(16);
    b.text("caf\u00e9 \u00c0");
    expectText(b, "caf? ?");
  });

  it("truncates text at capacity", () => {
    const b = new LineBuffer(8);
    b.text("abcdef").text("ghijkl");
    expectText(b, "abcdefgh");
    b.text("more");
    expectText(b, "abcdefgh");
  });

  it("clear empties it for reuse", () => {
    const b = new LineBuffer(8);
    b.text("abcdefgh");
    expect(b.clear()).toBe(b);
    expect(b.length).toBe(0);
    b.text("xy");
    expectText(b, "xy");
  });
});

describe("LineBuffer: int", () => {
  it("writes 0", () => {
    const b = new LineBuffer(8);
    b.int(0);
    expectText(b, "0");
  });

  it("writes single digits, 9/10 boundaries and powers of ten", () => {
    const b = new LineBuffer(64);
    b.int(7).text(" ").int(9).text(" ").int(10).text(" ").int(99).text(" ").int(100).text(" ").int(1_000_000);
    expectText(b, "7 9 10 99 100 1000000");
  });

  it("writes negative numbers", () => {
    const b = new LineBuffer(32);
    b.int(-1).text(" ").int(-42).text(" ").int(-1000);
    expectText(b, "-1 -42 -1000");
  });

  it("writes large i64 values (i64.MAX_VALUE, -i64.MAX_VALUE, 2^32)", () => {
    const b = new LineBuffer(64);
    b.int(i64.MAX_VALUE).text(" ").int(-i64.MAX_VALUE).text(" ").int(4294967296);
    expectText(b, "9223372036854775807 -9223372036854775807 4294967296");
  });

  it("writes a number that fills the capacity exactly", () => {
    const b = new LineBuffer(5);
    b.text("x=").int(123);
    expectText(b, "x=123");
  });

  it("writes nothing of a number that does not fit", () => {
    const b = new LineBuffer(6);
    b.text("n=").int(12345);
    expectText(b, "n=");
    b.int(1234);
    expectText(b, "n=1234");
  });

  it("appends after an int", () => {
    const b = new LineBuffer(32);
    b.text("error ").int(-5).text(" at ").int(3);
    expectText(b, "error -5 at 3");
  });
});

// ---------------------------------------------------------------------------------------------
// Regressions: int() once negated v in i64, which overflows for i64.MIN_VALUE, and wrote the
// "-" before checking that the digits fit, leaving a lone "-".
describe("LineBuffer.int edge cases", () => {
  it("writes i64.MIN_VALUE as -9223372036854775808", () => {
    const b = new LineBuffer(32);
    b.int(i64.MIN_VALUE);
    expectText(b, "-9223372036854775808");
  });

  it("writes nothing, not a lone \"-\", of a negative number that does not fit", () => {
    const b = new LineBuffer(4);
    b.text("e=").int(-123); // "-123" needs 4, 2 left
    expectText(b, "e=");
  });
});

describe("LineBuffer: bytes", () => {
  it("appends raw bytes", () => {
    const b = new LineBuffer(16);
    for (let i = 0; i < 3; i++) store<u8>(src + <usize>i, <u8>"sim".charCodeAt(i));
    b.text("board ").bytes(src, 3);
    expectText(b, "board sim");
  });

  it("appends zero bytes as nothing", () => {
    const b = new LineBuffer(16);
    b.text("a").bytes(src, 0);
    expectText(b, "a");
  });

  it("truncates bytes at capacity", () => {
    const b = new LineBuffer(8);
    for (let i = 0; i < 10; i++) store<u8>(src + <usize>i, <u8>(0x30 + i)); // "0123456789"
    b.text("ab").bytes(src, 10);
    expectText(b, "ab012345");
    b.bytes(src, 3);
    expectText(b, "ab012345");
  });
});
