// DTMF (firmware/media/dtmf.ts): the RFC 4733 telephone-event payload, the sender, the
// receiver and the door code. The payload vectors are laid out bit by bit from RFC 4733 §2.3
// (event | E R volume | duration) and were checked with tshark 4.0's RTP event dissector.
import {
  TelephoneEvent, parseTelephoneEvent, writeTelephoneEvent, dtmfEvent, dtmfChar,
  DtmfSender, DtmfReceiver, DoorCode,
  DTMF_OK, DTMF_NO_DIGIT, DTMF_ERR_SHORT, DTMF_ERR_LENGTH, DTMF_ERR_ARGUMENT, DTMF_ERR_QUEUE_FULL,
  DTMF_QUEUE, DOOR_ACCEPTED, DOOR_OPEN, DOOR_WRONG, DOOR_LOCKED_OUT, DOOR_IGNORED, DOOR_ERR_DIGIT,
  DOOR_ERR_NO_CODE, DOOR_ERR_CODE,
} from "../../firmware/media/dtmf";

const BUF = memory.data(64);
const SECOND: i64 = 1_000_000;

/** Writes hex bytes (spaces ignored) at `at`; returns how many. */
function hex(s: string, at: usize): i32 {
  let n = 0;
  for (let i = 0; i < s.length; i += 2) {
    while (s.charCodeAt(i) == 0x20) i++;
    store<u8>(at + <usize>n, <u8>I32.parseInt(s.substr(i, 2), 16));
    n++;
  }
  return n;
}
function hexOf(at: usize, n: i32): string {
  let s = "";
  for (let i = 0; i < n; i++) {
    const b = <i32>load<u8>(at + <usize>i);
    s += (b < 16 ? "0" : "") + b.toString(16).toUpperCase();
  }
  return s;
}

describe("telephone-event payload", () => {
  it("parses event, E, volume and duration", () => {
    const e = new TelephoneEvent();
    hex("05 8A 03 20", BUF);
    expect(parseTelephoneEvent(BUF, 4, e)).toBe(DTMF_OK);
    expect(e.event).toBe(5);
    expect(e.end).toBe(true);
    expect(e.volume).toBe(10);
    expect(e.duration).toBe(800);
    hex("0B 4A 00 A0", BUF); // '#', R set: ignored
    expect(parseTelephoneEvent(BUF, 4, e)).toBe(DTMF_OK);
    expect(e.event).toBe(11);
    expect(e.end).toBe(false);
    expect(e.volume).toBe(10);
    expect(e.duration).toBe(160);
  });

  it("writes the same bytes, R clear", () => {
    expect(writeTelephoneEvent(BUF, 4, 5, true, 10, 800)).toBe(4);
    expect(hexOf(BUF, 4)).toBe("058A0320");
    expect(writeTelephoneEvent(BUF, 4, 11, false, 10, 160)).toBe(4);
    expect(hexOf(BUF, 4)).toBe("0B0A00A0");
    expect(writeTelephoneEvent(BUF, 4, 15, true, 63, 0xffff)).toBe(4);
    expect(hexOf(BUF, 4)).toBe("0FBFFFFF");
    expect(writeTelephoneEvent(BUF, 4, 0, false, 0, 0)).toBe(4);
    expect(hexOf(BUF, 4)).toBe("00000000");
  });

  it("rejects every truncation and every field out of range, writing nothing", () => {
    const e = new TelephoneEvent();
    hex("05 8A 03 20", BUF);
    for (let n = 0; n < 4; n++) expect(parseTelephoneEvent(BUF, n, e)).toBe(DTMF_ERR_SHORT);
    expect(parseTelephoneEvent(BUF, -1, e)).toBe(DTMF_ERR_SHORT);
    memory.fill(BUF, 0x77, 8);
    for (let n = 0; n < 4; n++) expect(writeTelephoneEvent(BUF, n, 1, false, 10, 160)).toBe(DTMF_ERR_SHORT);
    expect(writeTelephoneEvent(BUF, 4, 256, false, 10, 160)).toBe(DTMF_ERR_ARGUMENT);
    expect(writeTelephoneEvent(BUF, 4, -1, false, 10, 160)).toBe(DTMF_ERR_ARGUMENT);
    expect(writeTelephoneEvent(BUF, 4, 1, false, 64, 160)).toBe(DTMF_ERR_ARGUMENT);
    expect(writeTelephoneEvent(BUF, 4, 1, false, -1, 160)).toBe(DTMF_ERR_ARGUMENT);
    expect(writeTelephoneEvent(BUF, 4, 1, false, 10, 0x10000)).toBe(DTMF_ERR_ARGUMENT);
    expect(hexOf(BUF, 8)).toBe("7777777777777777");
  });

  it("maps the 16 keys to events 0..15 and back", () => {
    const keys = "0123456789*#ABCD";
    for (let i = 0; i < 16; i++) {
      expect(dtmfEvent(keys.charCodeAt(i))).toBe(i);
      expect(dtmfChar(i)).toBe(keys.charCodeAt(i));
    }
    expect(dtmfEvent(0x61)).toBe(12, "a");
    expect(dtmfEvent(0x64)).toBe(15, "d");
    const bad = "Eex /:@+-";
    for (let i = 0; i < bad.length; i++) expect(dtmfEvent(bad.charCodeAt(i))).toBe(-1);
    expect(dtmfChar(16)).toBe(-1);
    expect(dtmfChar(-1)).toBe(-1);
  });
});

// The sender polled every 20 ms from t = 0, the audio timestamp starting at 1000.
const SENT = memory.data(4 * 512);
const SENT_TS = new StaticArray<u32>(512);
const SENT_MARK = new StaticArray<bool>(512);
const SENT_FRAME = new StaticArray<i32>(512);
let sentCount = 0;

function drive(tx: DtmfSender, frames: i32): void {
  sentCount = 0;
  for (let f = 0; f < frames; f++) {
    const n = tx.poll(<i64>f * 20000, 1000 + <u32>f * 160, SENT + <usize>(sentCount * 4), 4);
    if (n == 4) {
      SENT_TS[sentCount] = tx.timestamp;
      SENT_MARK[sentCount] = tx.marker;
      SENT_FRAME[sentCount] = f;
      sentCount++;
    } else {
      expect(n).toBe(0);
    }
  }
}
function sentHex(i: i32): string { return hexOf(SENT + <usize>(i * 4), 4); }

describe("DtmfSender", () => {
  it("sends one digit: marker first, one timestamp, growing duration, the end 3 times", () => {
    const tx = new DtmfSender();
    expect(tx.active).toBe(false);
    expect(tx.start(1, 100, 10)).toBe(DTMF_OK);
    expect(tx.pending).toBe(1);
    expect(tx.poll(0, 1000, BUF, 4)).toBe(4);
    expect(tx.active).toBe(true, "the caller sends no audio this frame");
    const tx2 = new DtmfSender();
    tx2.start(1, 100, 10);
    drive(tx2, 12);
    expect(sentCount).toBe(7);
    const want = ["010A00A0", "010A0140", "010A01E0", "010A0280", "018A0320", "018A0320", "018A0320"];
    for (let i = 0; i < 7; i++) {
      expect(sentHex(i)).toBe(want[i], "packet " + i.toString());
      expect(SENT_TS[i]).toBe(1000);
      expect(SENT_MARK[i]).toBe(i == 0);
      expect(SENT_FRAME[i]).toBe(i, "one per frame");
    }
    expect(tx2.active).toBe(false);
    expect(tx2.packets).toBe(7);
    expect(tx2.events).toBe(1);
  });

  it("rounds a tone up to whole frames", () => {
    const tx = new DtmfSender();
    tx.start(0, 70, 10);
    drive(tx, 10);
    expect(sentCount).toBe(6);
    expect(sentHex(3)).toBe("008A0280", "4 frames: 640");
    expect(sentHex(5)).toBe("008A0280");
  });

  it("sends a queued sequence 1234# with a 40 ms gap between events", () => {
    const tx = new DtmfSender();
    expect(tx.startKeys("1234#", 100, 10)).toBe(5);
    drive(tx, 60);
    expect(sentCount).toBe(35);
    const keys: StaticArray<i32> = [1, 2, 3, 4, 11];
    for (let e = 0; e < 5; e++) {
      const first = e * 7;
      expect(SENT_MARK[first]).toBe(true);
      expect(<i32>load<u8>(SENT + <usize>(first * 4))).toBe(keys[e]);
      // 7 packets in 7 frames, then 2 frames of audio (40 ms), then the next event
      expect(SENT_FRAME[first]).toBe(e * 9);
      expect(SENT_TS[first]).toBe(1000 + <u32>(e * 9 * 160));
      for (let i = 1; i < 7; i++) {
        expect(SENT_MARK[first + i]).toBe(false);
        expect(SENT_TS[first + i]).toBe(SENT_TS[first]);
      }
    }
    expect(tx.pending).toBe(0);
  });

  it("refuses bad arguments and a full queue, queueing nothing", () => {
    const tx = new DtmfSender();
    expect(tx.start(16, 100, 10)).toBe(DTMF_ERR_ARGUMENT);
    expect(tx.start(-1, 100, 10)).toBe(DTMF_ERR_ARGUMENT);
    expect(tx.start(1, 39, 10)).toBe(DTMF_ERR_ARGUMENT);
    expect(tx.start(1, 5001, 10)).toBe(DTMF_ERR_ARGUMENT);
    expect(tx.start(1, 100, 64)).toBe(DTMF_ERR_ARGUMENT);
    expect(tx.start(1, 100, -1)).toBe(DTMF_ERR_ARGUMENT);
    expect(tx.startKeys("12x", 100, 10)).toBe(DTMF_ERR_ARGUMENT);
    expect(tx.startKeys("12", 10, 10)).toBe(DTMF_ERR_ARGUMENT);
    expect(tx.pending).toBe(0);
    expect(tx.start(1, 5000, 0)).toBe(DTMF_OK, "5 s at 8 kHz fits 16 bits");
    expect(tx.startKeys("0123456789*#ABCDD", 100, 10)).toBe(DTMF_ERR_QUEUE_FULL);
    expect(tx.pending).toBe(1);
    for (let i = 1; i < DTMF_QUEUE; i++) expect(tx.start(2, 100, 10)).toBe(DTMF_OK);
    expect(tx.start(2, 100, 10)).toBe(DTMF_ERR_QUEUE_FULL);
    const wide = new DtmfSender(48000, 20);
    expect(wide.start(1, 1360, 10)).toBe(DTMF_OK);
    expect(wide.start(1, 1380, 10)).toBe(DTMF_ERR_ARGUMENT, "69 frames x 960 > 65535");
  });

  it("with cap under 4 answers DTMF_ERR_SHORT and changes nothing", () => {
    const tx = new DtmfSender();
    tx.start(9, 100, 10);
    expect(tx.poll(0, 5, BUF, 3)).toBe(DTMF_ERR_SHORT);
    expect(tx.pending).toBe(1);
    expect(tx.active).toBe(false);
    expect(tx.poll(20000, 165, BUF, 4)).toBe(4);
    expect(tx.marker).toBe(true);
    expect(tx.timestamp).toBe(165);
    expect(hexOf(BUF, 4)).toBe("090A00A0");
    expect(tx.poll(40000, 325, BUF, 0)).toBe(DTMF_ERR_SHORT);
    expect(tx.poll(40000, 325, BUF, 4)).toBe(4);
    expect(hexOf(BUF, 4)).toBe("090A0140");
  });

  it("cancel() drops the queue but ends the event being sent", () => {
    const tx = new DtmfSender();
    tx.startKeys("123", 100, 10);
    tx.poll(0, 0, BUF, 4);
    tx.cancel();
    expect(tx.pending).toBe(0);
    let ends = 0;
    for (let f = 1; f < 30; f++) if (tx.poll(<i64>f * 20000, <u32>f * 160, BUF, 4) == 4 && (load<u8>(BUF + 1) & 0x80) != 0) ends++;
    expect(ends).toBe(3);
    expect(tx.events).toBe(1);
  });
});

// Runs the sender into a receiver and a door code; `drop` picks packets the network loses.
function roundTrip(tx: DtmfSender, rx: DtmfReceiver, door: DoorCode, frames: i32, drop: i32, base: i32 = 0): i32 {
  let opened = 0;
  let lastDoor = DOOR_ACCEPTED;
  for (let f = base; f < base + frames; f++) {
    const now = <i64>f * 20000;
    const n = tx.poll(now, 1000 + <u32>f * 160, BUF, 16);
    if (n <= 0) continue;
    const isEnd = (load<u8>(BUF + 1) & 0x80) != 0;
    if (drop == 1 && isEnd) continue;           // every end packet lost
    if (drop == 2 && !isEnd) continue;          // only the end packets arrive
    const times = drop == 3 ? 2 : 1;            // every packet twice
    for (let t = 0; t < times; t++) {
      const d = rx.handle(tx.timestamp, BUF, n, now + 30000);
      if (d >= 0) {
        lastDoor = door.digit(d, now + 30000);
        if (lastDoor == DOOR_OPEN) opened++;
      }
    }
  }
  return opened;
}

describe("DtmfReceiver", () => {
  it("round trip: sender -> receiver -> door code, each digit once, at its first packet", () => {
    const tx = new DtmfSender();
    const rx = new DtmfReceiver();
    const door = new DoorCode();
    expect(door.setCode("1234#")).toBe(DTMF_OK);
    tx.startKeys("1234#", 100, 10);
    // first packet of '1' only: the digit is there before the tone ends
    expect(rx.handle(1000, BUF, hex("01 0A 00 A0", BUF), 0)).toBe(1);
    rx.reset();
    const opened = roundTrip(tx, rx, door, 60, 0);
    expect(opened).toBe(1);
    expect(rx.digits).toBe(1 + 5, "counters survive reset()");
    expect(rx.packets).toBe(35 + 1);
    expect(rx.duplicates).toBe(30);
    expect(rx.ends).toBe(15);
    expect(door.opens).toBe(1);
  });

  it("reports digits whose end packets were all lost, and a digit pressed twice, twice", () => {
    const tx = new DtmfSender();
    const rx = new DtmfReceiver();
    const door = new DoorCode();
    door.setCode("155#");
    tx.startKeys("155#", 100, 10);
    expect(roundTrip(tx, rx, door, 50, 1)).toBe(1);
    expect(rx.digits).toBe(4);
    expect(rx.ends).toBe(0);
  });

  it("reports a digit of which only the end packets arrive, once", () => {
    const tx = new DtmfSender();
    const rx = new DtmfReceiver();
    const door = new DoorCode();
    door.setCode("42");
    tx.startKeys("42", 100, 10);
    expect(roundTrip(tx, rx, door, 40, 2)).toBe(1);
    expect(rx.digits).toBe(2);
    expect(rx.duplicates).toBe(4);
  });

  it("counts duplicated packets once", () => {
    const tx = new DtmfSender();
    const rx = new DtmfReceiver();
    const door = new DoorCode();
    door.setCode("90");
    tx.startKeys("90", 100, 10);
    expect(roundTrip(tx, rx, door, 40, 3)).toBe(1);
    expect(rx.digits).toBe(2);
    expect(rx.duplicates).toBe(28 - 2);
  });

  it("takes a late packet of the previous event as a duplicate, an older event as stale", () => {
    const rx = new DtmfReceiver();
    expect(rx.handle(1000, BUF, hex("07 0A 00 A0", BUF), 0)).toBe(7);
    expect(rx.handle(2440, BUF, hex("07 0A 00 A0", BUF), 1)).toBe(7, "same digit, new timestamp");
    expect(rx.handle(1000, BUF, hex("07 8A 03 20", BUF), 2)).toBe(DTMF_NO_DIGIT);
    expect(rx.duplicates).toBe(1);
    expect(rx.handle(500, BUF, hex("03 0A 00 A0", BUF), 3)).toBe(DTMF_NO_DIGIT);
    expect(rx.stale).toBe(1);
    expect(rx.handle(2440 + 80001, BUF, hex("03 0A 00 A0", BUF), 4)).toBe(3);
    expect(rx.handle(2440, BUF, hex("03 0A 00 A0", BUF), 5)).toBe(DTMF_NO_DIGIT, "in the history");
    expect(rx.handle(82441 - 80000, BUF, hex("03 0A 00 A0", BUF), 6)).toBe(DTMF_NO_DIGIT, "10 s older");
    expect(rx.stale).toBe(2);
    // more than 10 s older: another stream (the peer restarted), taken as new
    expect(rx.handle(82441 - 90000, BUF, hex("03 0A 00 A0", BUF), 7)).toBe(3);
  });

  it("crosses the timestamp wrap", () => {
    const rx = new DtmfReceiver();
    expect(rx.handle(0xffffff00, BUF, hex("01 0A 00 A0", BUF), 0)).toBe(1);
    expect(rx.handle(0x00000100, BUF, hex("02 0A 00 A0", BUF), 1)).toBe(2);
    expect(rx.handle(0xffffff00, BUF, hex("01 8A 03 20", BUF), 2)).toBe(DTMF_NO_DIGIT);
    expect(rx.handle(0xffffff80, BUF, hex("05 0A 00 A0", BUF), 3)).toBe(DTMF_NO_DIGIT);
    expect(rx.stale).toBe(1);
  });

  it("counts and drops every malformed length", () => {
    const rx = new DtmfReceiver();
    hex("01 0A 00 A0 02 0A 00 A0 03 0A 00 A0 04 0A 00 A0 05 0A 00 A0 06 0A 00 A0 07 0A 00 A0 08 0A 00 A0 09 0A 00 A0", BUF);
    for (let n = 0; n < 4; n++) expect(rx.handle(100, BUF, n, 0)).toBe(DTMF_ERR_SHORT, n.toString());
    expect(rx.handle(100, BUF, -4, 0)).toBe(DTMF_ERR_SHORT);
    for (let n = 5; n < 8; n++) expect(rx.handle(100, BUF, n, 0)).toBe(DTMF_ERR_LENGTH, n.toString());
    expect(rx.handle(100, BUF, 36, 0)).toBe(DTMF_ERR_LENGTH, "9 reports");
    expect(rx.malformed).toBe(9);
    expect(rx.digits).toBe(0);
    expect(rx.packets).toBe(0);
  });

  it("reads a payload of several contiguous events: the first returned, the rest in poll()", () => {
    const rx = new DtmfReceiver();
    const n = hex("01 8A 03 20 02 8A 01 90 03 0A 00 A0", BUF); // 1 for 800, 2 for 400, then 3
    expect(rx.handle(5000, BUF, n, 0)).toBe(1);
    expect(rx.pending).toBe(2);
    expect(rx.poll()).toBe(2);
    expect(rx.poll()).toBe(3);
    expect(rx.poll()).toBe(DTMF_NO_DIGIT);
    expect(rx.digits).toBe(3);
    // the next packet of 3 alone, at its own start
    expect(rx.handle(5000 + 800 + 400, BUF, hex("03 8A 01 40", BUF), 1)).toBe(DTMF_NO_DIGIT);
    expect(rx.lastEvent).toBe(3);
    expect(rx.lastDuration).toBe(320);
    expect(rx.lastEnded).toBe(true);
    // eight reports: the limit
    for (let i = 0; i < 8; i++) hex("0A 8A 00 A0", BUF + <usize>(4 * i));
    expect(rx.handle(90000, BUF, 32, 2)).toBe(10);
    expect(rx.pending).toBe(7);
  });

  it("skips events other than DTMF, and follows a long event into its next segment", () => {
    const rx = new DtmfReceiver();
    expect(rx.handle(100, BUF, hex("10 0A 00 A0", BUF), 0)).toBe(DTMF_NO_DIGIT, "flash");
    expect(rx.ignored).toBe(1);
    expect(rx.handle(1000, BUF, hex("03 0A FF FF", BUF), 0)).toBe(3);
    expect(rx.handle(1000 + 0xffff, BUF, hex("03 0A 00 A0", BUF), 1)).toBe(DTMF_NO_DIGIT);
    expect(rx.segments).toBe(1);
    expect(rx.handle(1000 + 0xffff, BUF, hex("03 8A 01 40", BUF), 2)).toBe(DTMF_NO_DIGIT);
    expect(rx.handle(1000 + 0xffff + 2000, BUF, hex("03 0A 00 A0", BUF), 3)).toBe(3, "ended: a new press");
  });

  it("says when a tone is on, and forgets events on reset()", () => {
    const rx = new DtmfReceiver();
    expect(rx.toneOn(0)).toBe(false);
    rx.handle(1000, BUF, hex("06 0A 00 A0", BUF), 0);
    expect(rx.toneOn(100000)).toBe(true);
    expect(rx.toneOn(300000)).toBe(false, "no packet for 300 ms");
    rx.handle(1000, BUF, hex("06 8A 03 20", BUF), 100000);
    expect(rx.toneOn(110000)).toBe(false, "ended");
    rx.reset();
    expect(rx.handle(1000, BUF, hex("06 0A 00 A0", BUF), 0)).toBe(6);
  });
});

/** Feeds the keys of `keys` to `door` `stepUs` apart from `t`; returns the last verdict. */
function enter(door: DoorCode, keys: string, t: i64, stepUs: i64 = 500_000): i32 {
  let rc = 0;
  for (let i = 0; i < keys.length; i++) rc = door.digit(dtmfEvent(keys.charCodeAt(i)), t + <i64>i * stepUs);
  return rc;
}

describe("DoorCode", () => {
  it("accepts codes of 1..16 keys of 0-9 * # A-D, and nothing else", () => {
    const door = new DoorCode();
    expect(door.digit(1, 0)).toBe(DOOR_ERR_NO_CODE);
    expect(door.setCode("")).toBe(DOOR_ERR_CODE);
    expect(door.setCode("12345678901234567")).toBe(DOOR_ERR_CODE);
    expect(door.setCode("12x4")).toBe(DOOR_ERR_CODE);
    expect(door.setCode("1234567890*#ABcd")).toBe(DTMF_OK);
    expect(enter(door, "1234567890*#ABCD", 0)).toBe(DOOR_OPEN);
    const text = memory.data(8);
    expect(door.setCodeAscii(text, hex("2A 30 23", text))).toBe(DTMF_OK, "*0#");
    expect(enter(door, "*0#", 0)).toBe(DOOR_OPEN);
    store<u8>(text + 1, 0x45);
    expect(door.setCodeAscii(text, 3)).toBe(DOOR_ERR_CODE);
    expect(door.setCodeAscii(text, 0)).toBe(DOOR_ERR_CODE);
    expect(door.setCodeAscii(text, 17)).toBe(DOOR_ERR_CODE);
    expect(door.digit(16, 0)).toBe(DOOR_ERR_DIGIT);
    expect(door.digit(-1, 0)).toBe(DOOR_ERR_DIGIT);
  });

  it("opens when the entry ends with the code", () => {
    const door = new DoorCode();
    door.setCode("1234");
    expect(door.digit(1, 0)).toBe(DOOR_ACCEPTED);
    expect(door.digit(2, 1)).toBe(DOOR_ACCEPTED);
    expect(door.digit(3, 2)).toBe(DOOR_ACCEPTED);
    expect(door.digit(4, 3)).toBe(DOOR_OPEN);
    expect(door.entered).toBe(0);
    expect(enter(door, "91234", 10 * SECOND)).toBe(DOOR_OPEN, "a stray key first");
    expect(enter(door, "1294", 20 * SECOND)).toBe(DOOR_WRONG);
    expect(enter(door, "1234", 22 * SECOND)).toBe(DOOR_OPEN, "a typo, then the code");
    expect(door.opens).toBe(3);
    expect(door.wrongAttempts).toBe(2, "9123 was a whole code's worth too");
  });

  it("locks out for 60 s after 5 wrong codes, then opens again", () => {
    const door = new DoorCode();
    door.setCode("1234");
    for (let i = 0; i < 4; i++) expect(enter(door, "0000", <i64>i * 3 * SECOND)).toBe(DOOR_WRONG);
    expect(enter(door, "0000", 12 * SECOND)).toBe(DOOR_LOCKED_OUT);
    const locked = 12 * SECOND + 1_500_000;
    expect(door.isLocked(locked)).toBe(true);
    expect(door.timeout()).toBe(locked + 60 * SECOND);
    expect(enter(door, "1234", locked + SECOND)).toBe(DOOR_IGNORED, "the right code does not count");
    expect(door.opens).toBe(0);
    expect(door.ignored).toBe(4);
    expect(enter(door, "1234", locked + 58 * SECOND)).toBe(DOOR_IGNORED);
    expect(door.ignored).toBe(8);
    expect(enter(door, "1234", locked + 60 * SECOND)).toBe(DOOR_OPEN);
    expect(door.lockouts).toBe(1);
  });

  it("doubles the lockout while wrong codes go on, up to 8 x", () => {
    const door = new DoorCode();
    door.setCode("1234");
    let t: i64 = 0;
    const want: StaticArray<i64> = [60, 120, 240, 480, 480];
    for (let round = 0; round < 5; round++) {
      expect(enter(door, "55555555555555555555", t, 1000)).toBe(DOOR_LOCKED_OUT);
      const start = t + 19 * 1000;
      expect(door.isLocked(start + want[round] * SECOND - 1)).toBe(true);
      expect(door.isLocked(start + want[round] * SECOND)).toBe(false);
      t = start + want[round] * SECOND;
    }
    expect(enter(door, "1234", t)).toBe(DOOR_OPEN);
    expect(enter(door, "55555555555555555555", t + 10 * SECOND, 1000)).toBe(DOOR_LOCKED_OUT);
    expect(door.isLocked(t + 10 * SECOND + 19000 + 60 * SECOND)).toBe(false, "back to 60 s after an opening");
  });

  it("clears the entry after a 5 s pause", () => {
    const door = new DoorCode();
    door.setCode("1234");
    expect(enter(door, "12", 0)).toBe(DOOR_ACCEPTED);
    expect(door.timeout()).toBe(500_000 + 5 * SECOND + 1);
    expect(enter(door, "34", 500_000 + 5 * SECOND + 1)).toBe(DOOR_ACCEPTED, "12 was forgotten");
    expect(door.timeouts).toBe(1);
    expect(door.wrongAttempts).toBe(0, "a short entry is not an attempt");
    expect(door.entered).toBe(2);
    expect(enter(door, "1234", 12 * SECOND)).toBe(DOOR_OPEN);
    expect(door.wrongAttempts).toBe(0);
    expect(door.timeout()).toBe(-1);
    // A pause after untried windows ("2345" was tried, "3456"'s window was not judged) counts.
    door.setCode("9999");
    expect(enter(door, "12345", 20 * SECOND)).toBe(DOOR_ACCEPTED);
    expect(door.wrongAttempts).toBe(1);
    expect(door.tick(30 * SECOND)).toBe(DOOR_WRONG);
    expect(door.wrongAttempts).toBe(2);
  });

  it("holds a random key stream to a few codes per lockout", () => {
    const door = new DoorCode();
    door.setCode("4711");
    let seed: u32 = 99;
    let accepted = 0;
    for (let i = 0; i < 20000; i++) {
      seed = seed * 1103515245 + 12345;
      const rc = door.digit(<i32>((seed >> 16) % 10), <i64>i * 100_000);
      if (rc >= 0) accepted++;
    }
    expect(door.opens).toBe(0);
    expect(door.lockouts).toBeGreaterThan(2);
    expect(accepted).toBeLessThanOrEqual(<i32>(door.lockouts + 1) * 5 * 4);
    expect(door.ignored).toBeGreaterThan(19000);
  });
});

function probe(): usize {
  const p = heap.alloc(16);
  heap.free(p);
  return p;
}

describe("DTMF allocation", () => {
  it("allocates nothing per packet, frame or digit", () => {
    const tx = new DtmfSender();
    const rx = new DtmfReceiver();
    const door = new DoorCode();
    door.setCode("1234#");
    const before = probe();
    let opened = 0;
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < 5; i++) tx.start(i == 4 ? 11 : i + 1, 60, 10);
      opened += roundTrip(tx, rx, door, 40, round & 3, round * 40);
    }
    expect(probe()).toBe(before);
    expect(opened).toBe(200);
  });
});
