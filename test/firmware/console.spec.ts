// The console core (firmware/console/console.ts + system.ts), end to end on bytes: the spec
// builds request frames (boards/CONSOLE.md), SLIP-encodes them, feeds them to handle(), drains
// console.tx and decodes what the device queued.
//
// Expected frames marked "(Node)" were computed outside the firmware, in Node 20 with
// zlib.crc32 and a hand-written SLIP encoder, from the frame layout of boards/CONSOLE.md:
//   frame = [kind, command, id >> 8, id & 255, status, ...payload, ...crc32BE(all before)]
// so they check the firmware's CRC and encoder against an independent reference.
//
// The garbage-run counters were computed in Node by a separate model of the device's receive
// rules (CONSOLE.md "The device", and the drop table), fed the same LCG bytes.

import {
  Console, CommandHandler, KIND_REQUEST, KIND_RESPONSE, KIND_EVENT,
  STATUS_OK, STATUS_UNKNOWN_COMMAND, STATUS_BAD_REQUEST, STATUS_INTERNAL, MAX_FRAME, MAX_PAYLOAD,
} from "../../firmware/console/console";
import { SystemCommands, DeviceInfo, CMD_HELLO, CMD_STATS } from "../../firmware/console/system";
import { BootStatus } from "../../firmware/system/boot";
import { FrameLoop } from "../../firmware/audio/loop";
import { TlvWriter, TlvReader } from "../../firmware/console/tlv";
import { SlipDecoder, SlipEvent } from "../../firmware/console/slip";
import { crc32 } from "../../firmware/crypto/crc32";

const TX_CAPACITY: i32 = 4 * (2 * MAX_FRAME + 3); // the console's transmit ring

const raw = memory.data(4400); // a request being built (decoded form)
const wire = memory.data(8800); // the request SLIP-encoded
const payload = memory.data(4400); // request payloads
const txWire = memory.data(16468); // everything drained from console.tx
const frames = memory.data(16468); // decoded frames from txWire, back to back
const scratch = memory.data(8800); // expected bytes parsed from hex
const frameOffset = new StaticArray<i32>(16);
const frameLength = new StaticArray<i32>(16);
let frameCount = 0;

// ---------------------------------------------------------------------------------------------
// helpers

function hex(s: string, at: usize = scratch): i32 {
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

function expectBytes(p: usize, len: i32, expectedHex: string, what: string): void {
  const n = hex(expectedHex);
  expect(len).toBe(n, what + ": length");
  for (let i = 0; i < min(len, n); i++) {
    expect(load<u8>(p + <usize>i)).toBe(load<u8>(scratch + <usize>i), what + ": byte " + i.toString());
  }
}

/** SLIP-encodes raw[0..n) into wire, END on both sides; returns the wire length. */
function slipEncode(n: i32): i32 {
  let k = 0;
  put(k++, 0xc0);
  for (let i = 0; i < n; i++) {
    const b = load<u8>(raw + <usize>i);
    if (b == 0xc0) { put(k++, 0xdb); put(k++, 0xdc); }
    else if (b == 0xdb) { put(k++, 0xdb); put(k++, 0xdd); }
    else put(k++, b);
  }
  put(k++, 0xc0);
  return k;
}

function put(k: i32, b: u8): void { store<u8>(wire + <usize>k, b); }

/** Builds a frame in raw (header, payload[0..len), CRC-32 BE) and SLIP-encodes it into wire. */
function buildFrame(kind: u8, command: u8, id: u32, status: u8, len: i32): i32 {
  store<u8>(raw, kind);
  store<u8>(raw + 1, command);
  store<u8>(raw + 2, <u8>(id >> 8));
  store<u8>(raw + 3, <u8>id);
  store<u8>(raw + 4, status);
  memory.copy(raw + 5, payload, <usize>len);
  const crc = crc32(raw, 5 + len);
  store<u8>(raw + <usize>(5 + len), <u8>(crc >> 24));
  store<u8>(raw + <usize>(6 + len), <u8>(crc >> 16));
  store<u8>(raw + <usize>(7 + len), <u8>(crc >> 8));
  store<u8>(raw + <usize>(8 + len), <u8>crc);
  return slipEncode(9 + len);
}

function request(command: u8, id: u32, len: i32): i32 { return buildFrame(KIND_REQUEST, command, id, 0, len); }

function feed(c: Console, wireLen: i32, nowUs: i64): void { c.handle(wire, wireLen, nowUs); }

function sendHello(c: Console, id: u32, nowUs: i64): void { feed(c, request(CMD_HELLO, id, 0), nowUs); }

/** Drains console.tx into txWire (both contiguous runs); returns the byte count. */
function drain(c: Console): i32 {
  let n = 0;
  while (c.tx.length > 0) {
    const run = c.tx.peekLength();
    memory.copy(txWire + <usize>n, c.tx.peekAddress(), <usize>run);
    n += run;
    c.tx.consume(run);
  }
  return n;
}

/** Drains console.tx and decodes it into frames; returns the number of frames. */
function drainFrames(c: Console): i32 {
  const n = drain(c);
  const d = new SlipDecoder(MAX_FRAME);
  frameCount = 0;
  let at = 0;
  if (n > 0) expect(load<u8>(txWire)).toBe(0xc0, "the device's output starts with END");
  if (n > 0) expect(load<u8>(txWire + <usize>(n - 1))).toBe(0xc0, "the device's output ends with END");
  for (let i = 0; i < n; i++) {
    const ev = d.push(load<u8>(txWire + <usize>i));
    if (ev == SlipEvent.None) continue;
    expect<i32>(ev).toBe(<i32>SlipEvent.Frame, "device output decodes cleanly");
    if (ev != SlipEvent.Frame || frameCount == 16) continue;
    memory.copy(frames + <usize>at, changetype<usize>(d.buffer), <usize>d.length);
    unchecked(frameOffset[frameCount] = at);
    unchecked(frameLength[frameCount] = d.length);
    at += d.length;
    frameCount++;
  }
  return frameCount;
}

function frameAt(k: i32): usize { return frames + <usize>unchecked(frameOffset[k]); }
function lengthAt(k: i32): i32 { return unchecked(frameLength[k]); }

function be16(p: usize): u32 { return (<u32>load<u8>(p) << 8) | <u32>load<u8>(p + 1); }
function be32(p: usize): u32 { return (be16(p) << 16) | be16(p + 2); }
function be64(p: usize): u64 { return (<u64>be32(p) << 32) | <u64>be32(p + 4); }

/** Checks header fields and the CRC (recomputed with the firmware's crc32) of decoded frame k. */
function expectFrameHeader(k: i32, kind: u8, command: u8, id: u32, status: u8, payloadLength: i32): void {
  const f = frameAt(k);
  const n = lengthAt(k);
  expect(n).toBe(9 + payloadLength, "frame length");
  expect(load<u8>(f)).toBe(kind, "kind");
  expect(load<u8>(f + 1)).toBe(command, "command");
  expect(be16(f + 2)).toBe(id, "id");
  expect(load<u8>(f + 4)).toBe(status, "status");
  expect(be32(f + <usize>(n - 4))).toBe(crc32(f, n - 4), "CRC-32 BE over header + payload");
}

function expectCounters(c: Console, accepted: u32, crc: u32, oversize: u32, malformed: u32, unknown: u32, stray: u32): void {
  expect(c.counters.framesAccepted).toBe(accepted, "framesAccepted");
  expect(c.counters.crcErrors).toBe(crc, "crcErrors");
  expect(c.counters.oversize).toBe(oversize, "oversize");
  expect(c.counters.malformed).toBe(malformed, "malformed");
  expect(c.counters.unknownCommands).toBe(unknown, "unknownCommands");
  expect(c.counters.strayBytes).toBe(stray, "strayBytes");
  expect(c.counters.txDropped).toBe(0, "txDropped");
}

let audio: FrameLoop = new FrameLoop(8);

/** A console wired as main.ts wires it: SystemCommands for HELLO and STATS, board "sim", booted at 1 s. */
function device(): Console {
  const c = new Console();
  const info = new DeviceInfo(new BootStatus());
  const id = "sim";
  for (let i = 0; i < id.length; i++) info.boardId[i] = <u8>id.charCodeAt(i);
  info.boardIdLength = id.length;
  info.bootUs = 1_000_000;
  audio = new FrameLoop(8);
  const system = new SystemCommands(info, c, audio);
  c.register(CMD_HELLO, system);
  c.register(CMD_STATS, system);
  return c;
}

// HELLO response payload for board "sim", uptime 2500 ms (Node):
// 01 0005 "0.1.0" | 02 0002 0005 | 03 0003 "sim" | 04 0008 00000000000009c4 | 05 0002 0800
const HELLO_PAYLOAD = "010005302e312e30 020002 0005 030003 73696d 040008 00000000000009c4 050002 0800";
const HELLO_1234 = "0201123400 " + HELLO_PAYLOAD + " bba00870"; // (Node)

/** One HELLO response for id queued, exactly HELLO_PAYLOAD (uptime 2500 ms). */
function expectHelloReply(c: Console, id: u32): void {
  expect(drainFrames(c)).toBe(1, "one response queued");
  if (frameCount != 1) return;
  expectFrameHeader(0, KIND_RESPONSE, CMD_HELLO, id, STATUS_OK, 35);
  expectBytes(frameAt(0) + 5, lengthAt(0) - 9, HELLO_PAYLOAD, "HELLO payload");
}

// ---------------------------------------------------------------------------------------------
// custom handlers

/** Answers with the request payload as one TLV (tag 0x01). */
class EchoHandler extends CommandHandler {
  handle(command: u8, p: usize, len: i32, out: TlvWriter, nowUs: i64): u8 {
    out.bytes(0x01, p, len);
    return STATUS_OK;
  }
}

/** Writes `size` bytes of TLV value (tag 0x01), then optionally one more u16 TLV. */
class BigHandler extends CommandHandler {
  constructor(private size: i32, private extra: bool) { super(); }
  handle(command: u8, p: usize, len: i32, out: TlvWriter, nowUs: i64): u8 {
    memory.fill(scratch, 0x5a, <usize>this.size);
    out.bytes(0x01, scratch, this.size);
    if (this.extra) out.u16(0x02, 0xbeef);
    return STATUS_OK;
  }
}

/** A pseudo-random byte generator: x = x * 1664525 + 1013904223 (mod 2^32), byte = x >>> 24. */
let lcgState: u32 = 0;
function lcgNext(): u8 {
  lcgState = lcgState * 1664525 + 1013904223;
  return <u8>(lcgState >>> 24);
}
const DENSE: StaticArray<u8> = [0xc0, 0xdb, 0xdc, 0xdd, 0x01, 0x02, 0x00, 0xff];
/** Like lcgNext, but half the bytes are drawn from the SLIP specials and small values. */
function lcgDense(): u8 {
  const r = lcgNext();
  return r < 128 ? unchecked(DENSE[r & 7]) : r;
}

// ---------------------------------------------------------------------------------------------

describe("Console: HELLO", () => {
  it("answers HELLO with version, ABI, board id, uptime and max payload", () => {
    const c = device();
    sendHello(c, 0x1234, 3_500_000);
    expect(drainFrames(c)).toBe(1);
    expectFrameHeader(0, KIND_RESPONSE, CMD_HELLO, 0x1234, STATUS_OK, 35);
    // the whole frame, CRC included, against the Node reference
    expectBytes(frameAt(0), lengthAt(0), HELLO_1234, "HELLO response frame");
    // and field by field, through the TLV reader
    const r = new TlvReader();
    r.reset(frameAt(0) + 5, lengthAt(0) - 9);
    expect(r.next()).toBe(true);
    expect(r.tag).toBe(0x01);
    expectBytes(r.value, r.valueLength, "302e312e30", "firmware version \"0.1.0\"");
    expect(r.next()).toBe(true);
    expect(r.tag).toBe(0x02);
    expect(r.valueLength).toBe(2);
    expect(be16(r.value)).toBe(5, "ABI version");
    expect(r.next()).toBe(true);
    expect(r.tag).toBe(0x03);
    expectBytes(r.value, r.valueLength, "73696d", "board id \"sim\"");
    expect(r.next()).toBe(true);
    expect(r.tag).toBe(0x04);
    expect(r.valueLength).toBe(8);
    expect(be64(r.value)).toBe(2500, "uptime ms = (3_500_000 - 1_000_000) / 1000");
    expect(r.next()).toBe(true);
    expect(r.tag).toBe(0x05);
    expect(r.valueLength).toBe(2);
    expect(be16(r.value)).toBe(2048, "max payload");
    expect(r.next()).toBe(false);
    expect(r.truncated).toBe(false);
    expectCounters(c, 1, 0, 0, 0, 0, 0);
  });

  it("puts exactly END END, the frame and END on the wire (nothing needs escaping here)", () => {
    const c = device();
    sendHello(c, 0x1234, 3_500_000);
    const n = drain(c);
    expectBytes(txWire, n, "c0 c0 " + HELLO_1234 + " c0", "response on the wire");
  });

  it("answers HELLO with a payload BAD_REQUEST and an empty payload", () => {
    const c = device();
    hex("010000", payload); // a TLV: HELLO takes none
    feed(c, request(CMD_HELLO, 0x0007, 3), 3_500_000);
    expect(drainFrames(c)).toBe(1);
    expectFrameHeader(0, KIND_RESPONSE, CMD_HELLO, 0x0007, STATUS_BAD_REQUEST, 0);
    expectBytes(frameAt(0), lengthAt(0), "0201000702 a51134f3", "BAD_REQUEST response (Node)");
    expectCounters(c, 1, 0, 0, 0, 0, 0);
  });

  it("echoes request id 0xFFFF", () => {
    const c = device();
    sendHello(c, 0xffff, 3_500_000);
    expect(drainFrames(c)).toBe(1);
    expectFrameHeader(0, KIND_RESPONSE, CMD_HELLO, 0xffff, STATUS_OK, 35);
    expectBytes(frameAt(0), lengthAt(0), "0201ffff00 " + HELLO_PAYLOAD + " 0e3252cd", "HELLO id 0xFFFF (Node)");
  });

  it("answers each of several requests in one handle() call, in order", () => {
    const c = device();
    let n = request(CMD_HELLO, 0x0001, 0);
    memory.copy(wire + 4400, wire, <usize>n); // keep the first one
    const n2 = request(CMD_HELLO, 0x0002, 0);
    memory.copy(wire + <usize>(4400 + n), wire, <usize>n2);
    c.handle(wire + 4400, n + n2, 3_500_000);
    expect(drainFrames(c)).toBe(2);
    expectFrameHeader(0, KIND_RESPONSE, CMD_HELLO, 0x0001, STATUS_OK, 35);
    expectFrameHeader(1, KIND_RESPONSE, CMD_HELLO, 0x0002, STATUS_OK, 35);
    expectCounters(c, 2, 0, 0, 0, 0, 0);
  });

  it("decodes a request fed one byte per handle() call", () => {
    const c = device();
    const n = request(CMD_HELLO, 0x1234, 0);
    for (let i = 0; i < n; i++) c.handle(wire + <usize>i, 1, 3_500_000);
    expect(drainFrames(c)).toBe(1);
    expectBytes(frameAt(0), lengthAt(0), HELLO_1234, "HELLO response frame");
  });
});

describe("Console: escaping", () => {
  it("round-trips id 0x0CFE, whose request CRC is C0 DB 8C 9F", () => {
    const c = device();
    const n = request(CMD_HELLO, 0x0cfe, 0);
    // the request on the wire (Node): 01 01 0c fe 00 | c0 db 8c 9f, escaped
    expectBytes(wire, n, "c0 0101 0cfe 00 dbdc dbdd 8c9f c0", "request encoding");
    feed(c, n, 3_500_000);
    expect(drainFrames(c)).toBe(1);
    expectFrameHeader(0, KIND_RESPONSE, CMD_HELLO, 0x0cfe, STATUS_OK, 35);
    expectBytes(frameAt(0), lengthAt(0), "02010cfe00 " + HELLO_PAYLOAD + " d014199b", "response (Node)");
    expectCounters(c, 1, 0, 0, 0, 0, 0);
  });

  it("round-trips id 0xC0DB: escaped in the request and in the echoed response", () => {
    const c = device();
    const n = request(CMD_HELLO, 0xc0db, 0);
    expectBytes(wire, n, "c0 0101 dbdc dbdd 00 b09d335c c0", "request encoding (Node)");
    feed(c, n, 3_500_000);
    const w = drain(c);
    expectBytes(txWire, w, "c0 c0 0201 dbdc dbdd 00 " + HELLO_PAYLOAD + " 00 86 a9 44 c0", "response on the wire (Node; the id escaped)");
  });

  it("round-trips a payload full of C0 and DB through an echo handler", () => {
    const c = device();
    c.register(0x10, new EchoHandler());
    const len = hex("c0 db db c0 00 dc dd c0", payload);
    feed(c, request(0x10, 0x0102, len), 0);
    expect(drainFrames(c)).toBe(1);
    expectFrameHeader(0, KIND_RESPONSE, 0x10, 0x0102, STATUS_OK, 3 + len);
    expectBytes(frameAt(0) + 5, lengthAt(0) - 9, "01 0008 c0dbdbc000dcddc0", "echoed TLV");
  });
});

describe("Console: bad input", () => {
  it("drops a frame with a bad CRC without a reply, counts it, and STATS reports it", () => {
    const c = device();
    const n = request(CMD_HELLO, 0x1234, 0);
    store<u8>(wire + <usize>(n - 2), load<u8>(wire + <usize>(n - 2)) ^ 0x01); // last CRC byte (not a special)
    feed(c, n, 3_500_000);
    expect(c.tx.length).toBe(0, "no reply to a frame whose id cannot be trusted");
    expectCounters(c, 0, 1, 0, 0, 0, 0);

    const cap = memory.data(16); // three audio frames through the loop STATS reads
    for (let i = 0; i < 3; i++) audio.process(cap, cap, 4);
    feed(c, request(CMD_STATS, 0x0002, 0), 3_500_000);
    expect(drainFrames(c)).toBe(1);
    expectFrameHeader(0, KIND_RESPONSE, CMD_STATS, 0x0002, STATUS_OK, 49);
    expectBytes(frameAt(0) + 5, lengthAt(0) - 9,
      "01000400000001 02000400000001 03000400000000 04000400000000 05000400000000 06000400000000 07000400000003",
      "STATS: accepted 1 (this STATS), crcErrors 1, audio frames 3");
  });

  it("answers an unknown command UNKNOWN_COMMAND and counts it", () => {
    const c = device();
    feed(c, request(0x7f, 0x0042, 0), 0);
    expect(drainFrames(c)).toBe(1);
    expectFrameHeader(0, KIND_RESPONSE, 0x7f, 0x0042, STATUS_UNKNOWN_COMMAND, 0);
    expectBytes(frameAt(0), lengthAt(0), "027f004201 3af609a6", "UNKNOWN_COMMAND response (Node)");
    expectCounters(c, 1, 0, 0, 0, 1, 0);
  });

  it("answers UNKNOWN_COMMAND for every unregistered number (0x00, 0x03, 0xFF)", () => {
    const c = device();
    feed(c, request(0x00, 1, 0), 0);
    feed(c, request(0x03, 2, 0), 0);
    feed(c, request(0xff, 3, 0), 0);
    expect(drainFrames(c)).toBe(3);
    expectFrameHeader(0, KIND_RESPONSE, 0x00, 1, STATUS_UNKNOWN_COMMAND, 0);
    expectFrameHeader(1, KIND_RESPONSE, 0x03, 2, STATUS_UNKNOWN_COMMAND, 0);
    expectFrameHeader(2, KIND_RESPONSE, 0xff, 3, STATUS_UNKNOWN_COMMAND, 0);
    expectCounters(c, 3, 0, 0, 0, 3, 0);
  });

  it("drops short frames (8 bytes, 1 byte) as malformed, without a reply", () => {
    const c = device();
    feed(c, hex("c0 0101123400 e7763d c0", wire), 0); // a HELLO missing its last CRC byte
    feed(c, hex("c0 01 c0", wire), 0);
    expect(c.tx.length).toBe(0);
    expectCounters(c, 0, 0, 0, 2, 0, 0);
  });

  it("drops response-, event- and kind-0 frames sent to the device as malformed (CRC valid)", () => {
    const c = device();
    feed(c, buildFrame(KIND_RESPONSE, CMD_HELLO, 0x1234, 0, 0), 0);
    feed(c, buildFrame(KIND_EVENT, CMD_HELLO, 0, 0, 0), 0);
    feed(c, buildFrame(0x00, CMD_HELLO, 1, 0, 0), 0);
    expect(c.tx.length).toBe(0);
    expectCounters(c, 0, 0, 0, 3, 0, 0);
  });

  it("drops a frame with a bad SLIP escape as malformed", () => {
    const c = device();
    feed(c, hex("c0 0101 db41 00 e7763d21 c0", wire), 0);
    expect(c.tx.length).toBe(0);
    expectCounters(c, 0, 0, 0, 1, 0, 0);
  });

  it("counts bytes before the first END as stray, then answers HELLO", () => {
    const c = device();
    const n = hex("626f6f74206e6f6973650d0a", wire); // "boot noise\r\n"
    feed(c, n, 0);
    expectCounters(c, 0, 0, 0, 0, 0, 12);
    sendHello(c, 0x1234, 3_500_000);
    expectHelloReply(c, 0x1234);
    expectCounters(c, 1, 0, 0, 0, 0, 12);
  });

  it("after the first END, noise between requests is one dropped frame, not stray, and the next request is answered", () => {
    const c = device();
    sendHello(c, 0x1234, 3_500_000);
    expectHelloReply(c, 0x1234);
    feed(c, hex("6e6f697365", wire), 0); // "noise", no END
    sendHello(c, 0x1234, 3_500_000); // its END closes "noise" as a 5-byte frame
    expectHelloReply(c, 0x1234);
    expectCounters(c, 2, 0, 0, 1, 0, 0);
  });

  it("accepts a frame of exactly 2057 decoded bytes (payload 2048)", () => {
    const c = device();
    memory.fill(payload, 0x11, MAX_PAYLOAD);
    feed(c, request(CMD_HELLO, 0x0007, MAX_PAYLOAD), 3_500_000);
    expect(drainFrames(c)).toBe(1);
    expectFrameHeader(0, KIND_RESPONSE, CMD_HELLO, 0x0007, STATUS_BAD_REQUEST, 0); // HELLO takes no payload
    expectCounters(c, 1, 0, 0, 0, 0, 0);
  });

  it("drops a frame of 2058 decoded bytes (valid CRC) as oversize, and answers the next HELLO", () => {
    const c = device();
    memory.fill(payload, 0x11, MAX_PAYLOAD + 1);
    feed(c, request(CMD_HELLO, 0x0007, MAX_PAYLOAD + 1), 3_500_000);
    expect(c.tx.length).toBe(0);
    expectCounters(c, 0, 0, 1, 0, 0, 0);
    sendHello(c, 0x1234, 3_500_000);
    expectHelloReply(c, 0x1234);
    expectCounters(c, 1, 0, 1, 0, 0, 0);
  });

  it("drops a 4000-byte run of non-END bytes as one oversize frame, and answers the next HELLO", () => {
    const c = device();
    store<u8>(wire, 0xc0);
    memory.fill(wire + 1, 0x41, 4000);
    store<u8>(wire + 4001, 0xc0);
    feed(c, 4002, 0);
    expectCounters(c, 0, 0, 1, 0, 0, 0);
    sendHello(c, 0x1234, 3_500_000);
    expectHelloReply(c, 0x1234);
  });
});

describe("Console: handlers and events", () => {
  it("answers STATUS_INTERNAL with an empty payload when a handler's reply overflows 2048 bytes", () => {
    const c = device();
    c.register(0x30, new BigHandler(2045, true)); // 3 + 2045 = 2048, then 5 more
    feed(c, request(0x30, 0x0009, 0), 0);
    expect(drainFrames(c)).toBe(1);
    expectFrameHeader(0, KIND_RESPONSE, 0x30, 0x0009, STATUS_INTERNAL, 0);
    expectBytes(frameAt(0), lengthAt(0), "0230000905 ed61131a", "INTERNAL response (Node)");
    expectCounters(c, 1, 0, 0, 0, 0, 0);
  });

  it("sends a handler reply of exactly 2048 bytes (a 2057-byte response frame)", () => {
    const c = device();
    c.register(0x30, new BigHandler(2045, false));
    feed(c, request(0x30, 0x000a, 0), 0);
    expect(drainFrames(c)).toBe(1);
    expectFrameHeader(0, KIND_RESPONSE, 0x30, 0x000a, STATUS_OK, MAX_PAYLOAD);
    const f = frameAt(0);
    expect(load<u8>(f + 5)).toBe(0x01);
    expect(be16(f + 6)).toBe(2045);
    expect(load<u8>(f + 8)).toBe(0x5a);
    expect(load<u8>(f + 5 + 2047)).toBe(0x5a);
  });

  it("emitEvent queues a kind-3 frame with id 0 and status 0", () => {
    const c = device();
    const len = hex("11c022", payload);
    expect(c.emitEvent(0x60, payload, len)).toBe(true);
    const n = drain(c);
    expectBytes(txWire, n, "c0 c0 0360000000 11dbdc22 6365cb82 c0", "event on the wire (Node)");
    expectCounters(c, 0, 0, 0, 0, 0, 0);
  });

  it("emitEvent refuses a payload over 2048 bytes or a negative length, queueing nothing", () => {
    const c = device();
    expect(c.emitEvent(0x60, payload, MAX_PAYLOAD + 1)).toBe(false);
    expect(c.emitEvent(0x60, payload, -1)).toBe(false);
    expect(c.tx.length).toBe(0);
    expect(c.counters.txDropped).toBe(0);
  });

  it("emitEvent refuses a frame the transmit ring cannot hold whole, and counts the drop", () => {
    const c = device();
    memory.fill(payload, 0, MAX_PAYLOAD);
    // each event: 2057 bytes, none of them C0/DB (CRC 809d6cf0, Node), + 3 ENDs = 2060 on the wire
    for (let i = 0; i < 7; i++) expect(c.emitEvent(0x60, payload, MAX_PAYLOAD)).toBe(true, "event " + i.toString());
    expect(c.tx.length).toBe(7 * 2060);
    expect(c.emitEvent(0x60, payload, MAX_PAYLOAD)).toBe(false); // 2060 > 16468 - 14420 free
    expect(c.tx.length).toBe(7 * 2060, "nothing of the refused frame queued");
    expect(c.counters.txDropped).toBe(1);
    // a small event still fits
    expect(c.emitEvent(0x61, payload, 0)).toBe(true);
    expect(c.tx.length).toBe(7 * 2060 + 12);
    expect(TX_CAPACITY).toBe(16468);
  });
});

describe("Console: garbage", () => {
  it("survives 4096 LCG bytes (seed 1) with exact counters, then answers HELLO", () => {
    const c = device();
    lcgState = 1;
    for (let i = 0; i < 4096; i++) store<u8>(wire + <usize>i, lcgNext());
    expect(load<u8>(wire)).toBe(0x3c); // first LCG bytes (Node): 3c 5e 81 b4
    expect(load<u8>(wire + 3)).toBe(0xb4);
    for (let at = 0; at < 4096; at += 97) c.handle(wire + <usize>at, min(97, 4096 - at), 0);
    expect(c.tx.length).toBe(0);
    expectCounters(c, 0, 15, 0, 9, 0, 29); // (Node model)
    sendHello(c, 0x1234, 3_500_000);
    expectHelloReply(c, 0x1234);
    expectCounters(c, 1, 16, 0, 9, 0, 29); // HELLO's END closed an 11-byte garbage frame: one more CRC error
  });

  it("survives 6000 dense LCG bytes full of END/ESC (seed 8) with exact counters, then answers HELLO", () => {
    const c = device();
    lcgState = 8;
    for (let i = 0; i < 6000; i++) store<u8>(wire + <usize>i, lcgDense());
    expect(load<u8>(wire + 1)).toBe(0xdb); // (Node): 02 db 01 f6 b7 9a
    expect(load<u8>(wire + 5)).toBe(0x9a);
    c.handle(wire, 6000, 0);
    expect(c.tx.length).toBe(0);
    expectCounters(c, 0, 60, 0, 290, 0, 45); // (Node model)
    sendHello(c, 0x1234, 3_500_000);
    expectHelloReply(c, 0x1234);
    expectCounters(c, 1, 60, 0, 291, 0, 45); // the open garbage frame ended in a bad escape
  });
});
