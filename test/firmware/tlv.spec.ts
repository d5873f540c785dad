// TLV payloads (firmware/console/tlv.ts): tag u8, length u16 BE, value (boards/CONSOLE.md).
import { TlvWriter, TlvReader } from "../../firmware/console/tlv";

const SENTINEL: u8 = 0xee;
const region = memory.data(128);
const src = memory.data(64);
const scratch = memory.data(128);

function clearRegion(): void { memory.fill(region, SENTINEL, 128); }

function hex(s: string, at: usize): i32 {
  let n = 0;
  let i = 0;
  while (i < s.length) {
    if (s.charCodeAt(i) == 0x20) { i++; continue; }
    store<u8>(at + <usize>n, <u8>I32.parseInt(s.substr(i, 2), 16));
    n++;
    i += 2;
  }
  return n;
}

/** region[0..n) must equal the hex bytes, and region[n] must still be the sentinel. */
function expectRegion(expectedHex: string): void {
  const n = hex(expectedHex, scratch);
  for (let i = 0; i < n; i++) {
    expect(load<u8>(region + <usize>i)).toBe(load<u8>(scratch + <usize>i), "byte " + i.toString());
  }
  expect(load<u8>(region + <usize>n)).toBe(SENTINEL, "byte after the TLVs untouched");
}

describe("TlvWriter", () => {
  it("writes u16, u32 and u64 big-endian with tag and length", () => {
    clearRegion();
    const w = new TlvWriter();
    w.reset(region, 64);
    w.u16(0x02, 0xa1b2);
    w.u32(0x03, 0x01020304);
    w.u64(0x04, 0x1122334455667788);
    expect(w.length).toBe(5 + 7 + 11);
    expect(w.overflow).toBe(false);
    expectRegion("02 0002 a1b2  03 0004 01020304  04 0008 1122334455667788");
  });

  it("u16 and u32 keep only their width of the value", () => {
    clearRegion();
    const w = new TlvWriter();
    w.reset(region, 64);
    w.u16(0x01, 0x12345678); // 16 bits: 5678
    w.u32(0x02, 0xffffffff);
    expectRegion("01 0002 5678  02 0004 ffffffff");
  });

  it("writes an ASCII string and raw bytes", () => {
    clearRegion();
    hex("00 c0 db ff", src);
    const w = new TlvWriter();
    w.reset(region, 64);
    w.ascii(0x01, "0.1.0");
    w.bytes(0x03, src, 4);
    expect(w.length).toBe(8 + 7);
    expectRegion("01 0005 302e312e30  03 0004 00c0dbff");
  });

  it("writes zero-length values as a bare header", () => {
    clearRegion();
    const w = new TlvWriter();
    w.reset(region, 64);
    w.ascii(0x07, "");
    w.bytes(0x08, src, 0);
    expect(w.length).toBe(6);
    expectRegion("07 0000  08 0000");
  });

  it("writes at the base it is given (an offset inside a larger buffer)", () => {
    clearRegion();
    const w = new TlvWriter();
    w.reset(region + 5, 16);
    w.u16(0x09, 0x0102);
    expectRegion("eeeeeeeeee 09 0002 0102");
  });

  it("fills the region exactly to cap without overflowing", () => {
    clearRegion();
    const w = new TlvWriter();
    w.reset(region, 12);
    w.u32(0x01, 0xaabbccdd); // 7
    w.u16(0x02, 0x0102); // 5 -> 12 == cap
    expect(w.length).toBe(12);
    expect(w.overflow).toBe(false);
    expectRegion("01 0004 aabbccdd  02 0002 0102");
  });

  it("sets overflow instead of writing past cap, and leaves the byte after cap untouched", () => {
    clearRegion();
    const w = new TlvWriter();
    w.reset(region, 10);
    w.u32(0x01, 0xaabbccdd); // 7 bytes, fits
    w.u16(0x02, 0x0102); // 5 more: 12 > 10
    expect(w.overflow).toBe(true);
    expect(w.length).toBe(7);
    expectRegion("01 0004 aabbccdd"); // region[7] is the sentinel
    for (let i = 7; i <= 10; i++) expect(load<u8>(region + <usize>i)).toBe(SENTINEL, "byte " + i.toString());
  });

  it("overflow on every kind of write: bytes, ascii, u64", () => {
    clearRegion();
    const w = new TlvWriter();
    w.reset(region, 6);
    w.bytes(0x01, src, 4); // 7 > 6
    expect(w.overflow).toBe(true);
    w.reset(region, 6);
    w.ascii(0x01, "abcd");
    expect(w.overflow).toBe(true);
    w.reset(region, 10);
    w.u64(0x01, 1); // 11 > 10
    expect(w.overflow).toBe(true);
    expect(w.length).toBe(0);
    expect(load<u8>(region)).toBe(SENTINEL, "nothing written");
    expect(load<u8>(region + 10)).toBe(SENTINEL);
  });

  it("stays overflowed: a later write that would fit is refused too (the reply is discarded)", () => {
    clearRegion();
    const w = new TlvWriter();
    w.reset(region, 8);
    w.u64(0x01, 1); // 11 > 8
    w.u16(0x02, 0x0102); // 5 would fit, but the payload is already incomplete
    expect(w.overflow).toBe(true);
    expect(w.length).toBe(0);
    expect(load<u8>(region)).toBe(SENTINEL);
  });

  it("reset clears length and overflow", () => {
    clearRegion();
    const w = new TlvWriter();
    w.reset(region, 4);
    w.u32(0x01, 1);
    expect(w.overflow).toBe(true);
    w.reset(region, 64);
    expect(w.overflow).toBe(false);
    expect(w.length).toBe(0);
    w.u16(0x05, 0x0a0b);
    expectRegion("05 0002 0a0b");
  });
});

describe("TlvReader", () => {
  it("walks every TLV: tag, value address and length", () => {
    const n = hex("01 0003 616263  02 0000  7f 0002 beef", region);
    const r = new TlvReader();
    r.reset(region, n);
    expect(r.next()).toBe(true);
    expect(r.tag).toBe(0x01);
    expect(r.valueLength).toBe(3);
    expect(r.value).toBe(region + 3);
    expect(load<u8>(r.value + 2)).toBe(0x63);
    expect(r.next()).toBe(true);
    expect(r.tag).toBe(0x02);
    expect(r.valueLength).toBe(0);
    expect(r.value).toBe(region + 9);
    expect(r.next()).toBe(true);
    expect(r.tag).toBe(0x7f);
    expect(r.valueLength).toBe(2);
    expect(r.value).toBe(region + 12);
    expect(load<u8>(r.value)).toBe(0xbe);
    expect(r.next()).toBe(false);
    expect(r.truncated).toBe(false);
  });

  it("reads what the writer wrote", () => {
    const w = new TlvWriter();
    w.reset(region, 64);
    w.u32(0x11, 0xdeadbeef);
    w.ascii(0x12, "sim");
    const r = new TlvReader();
    r.reset(region, w.length);
    expect(r.next()).toBe(true);
    expect(r.tag).toBe(0x11);
    expect(r.valueLength).toBe(4);
    expect(bswap<u32>(load<u32>(r.value))).toBe(0xdeadbeef);
    expect(r.next()).toBe(true);
    expect(r.tag).toBe(0x12);
    expect(r.valueLength).toBe(3);
    expect(r.next()).toBe(false);
    expect(r.truncated).toBe(false);
  });

  it("an empty payload has no TLVs and is not truncated", () => {
    const r = new TlvReader();
    r.reset(region, 0);
    expect(r.next()).toBe(false);
    expect(r.truncated).toBe(false);
  });

  it("flags a truncated header (1 and 2 bytes left)", () => {
    const n = hex("01 0001 aa  05 00", region);
    const r = new TlvReader();
    r.reset(region, n);
    expect(r.next()).toBe(true);
    expect(r.tag).toBe(0x01);
    expect(r.next()).toBe(false);
    expect(r.truncated).toBe(true);

    const r1 = new TlvReader();
    r1.reset(region, 1);
    expect(r1.next()).toBe(false);
    expect(r1.truncated).toBe(true);
  });

  it("flags a truncated value (length 5, 3 bytes present)", () => {
    const n = hex("09 0005 010203", region);
    const r = new TlvReader();
    r.reset(region, n);
    expect(r.next()).toBe(false);
    expect(r.truncated).toBe(true);
  });

  it("flags a length that runs one byte past the end, and accepts one that ends exactly", () => {
    hex("09 0004 01020304", region);
    const r = new TlvReader();
    r.reset(region, 6); // value 4 bytes, 3 present
    expect(r.next()).toBe(false);
    expect(r.truncated).toBe(true);
    r.reset(region, 7);
    expect(r.truncated).toBe(false);
    expect(r.next()).toBe(true);
    expect(r.valueLength).toBe(4);
    expect(r.next()).toBe(false);
    expect(r.truncated).toBe(false);
  });

  it("flags a huge length (0xFFFF) without reading past the end", () => {
    const n = hex("01 ffff 00", region);
    const r = new TlvReader();
    r.reset(region, n);
    expect(r.next()).toBe(false);
    expect(r.truncated).toBe(true);
  });

  it("reset clears truncated", () => {
    const r = new TlvReader();
    r.reset(region, 2);
    r.next();
    expect(r.truncated).toBe(true);
    r.reset(region, 0);
    expect(r.truncated).toBe(false);
  });
});

describe("TlvWriter refuses bad lengths", () => {
  it("treats a negative or over-u16 length as overflow, writing nothing", () => {
    const buf = memory.data(64);
    memory.fill(buf, 0xaa, 64);
    const w = new TlvWriter();
    w.reset(buf, 64);
    w.bytes(1, buf, -1);
    expect(w.overflow).toBe(true);
    expect(w.length).toBe(0);
    expect(load<u8>(buf)).toBe(0xaa);
  });
  it("writes non-ASCII characters as '?'", () => {
    const buf = memory.data(16);
    const w = new TlvWriter();
    w.reset(buf, 16);
    w.ascii(2, "\u00c0b");
    expect(load<u8>(buf + 3)).toBe(0x3f);
    expect(load<u8>(buf + 4)).toBe(0x62);
  });
});
