// DTMF over RTP (RFC 4733 telephone-event, events 0..15 = 0-9 * # A-D): the payload codec, the
// sender of our key presses, the receiver of the far end's, and the door code they feed.
// Sans-IO; nothing allocates after construction (the string helpers run at configuration).
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// |     event     |E|R| volume    |          duration             |
//   volume: the tone's power as -dBm0 (0..63); duration: RTP timestamp units since the start.
//
// Sender. One packet per poll (one audio frame). The first packet of an event has the marker
// bit; every packet of it carries the RTP timestamp of its first frame and a duration growing
// by one frame each packet; the last carries E and is sent 3 times (RFC 4733 §2.5.1.4); then
// the next queued digit waits DTMF_GAP_MS. While `active`, the caller sends the event packet
// instead of that frame's audio (keeping the audio timestamp running): a receiver then never
// has to choose between the tone and the key click the microphone heard, and the stream keeps
// one packet per frame. Events are at most 5 s, so never need §2.5.1.3's segments.
//
// Receiver. A digit is reported at the first packet of its event, whichever arrives (a door
// opener should react fast, and the end packets may all be lost); an event is its RTP
// timestamp, so repeats, the 3 end packets and reordered packets of recent events count once,
// and the same digit pressed twice is two events. A payload of several 4-byte reports is read
// as contiguous events (each starts where the one before ended, §2.5.1.5); the first new digit
// is returned and the others wait in poll(). Reports of other events (flash, tones) are skipped.
// An event older than the newest one (within 10 s) is dropped as stale, so a late packet cannot
// reorder the digits of a door code. RED (RFC 2198) is another payload type: not handled here.

import { readU8, readU16BE, writeU8, writeU16BE } from "../lib/bytes";

export const TE_PAYLOAD_BYTES: i32 = 4;
export const DTMF_END_REPEATS: i32 = 3;
export const DTMF_GAP_MS: i32 = 40;        // silence between one event's last packet and the next
export const DTMF_MIN_TONE_MS: i32 = 40;   // ITU-T Q.24's shortest digit
export const DTMF_MAX_TONE_MS: i32 = 5000;
export const DTMF_QUEUE: i32 = 16;
export const DTMF_MAX_REPORTS: i32 = 8;    // reports in one received payload

export const DTMF_OK: i32 = 0;
export const DTMF_NO_DIGIT: i32 = -1;      // valid, nothing new
export const DTMF_ERR_SHORT: i32 = -2;     // payload or output buffer under 4 bytes
export const DTMF_ERR_LENGTH: i32 = -3;    // not a whole number of reports, or more than 8
export const DTMF_ERR_ARGUMENT: i32 = -4;  // event, duration or volume out of range
export const DTMF_ERR_QUEUE_FULL: i32 = -5;

/** One parsed report. */
export class TelephoneEvent {
  event: i32 = 0;
  end: bool = false;
  volume: i32 = 0;
  duration: u32 = 0;
}

/** Reads the first report of a payload; the R bit is ignored, as §2.3.3 asks. */
export function parseTelephoneEvent(p: usize, len: i32, e: TelephoneEvent): i32 {
  if (len < TE_PAYLOAD_BYTES) return DTMF_ERR_SHORT;
  const b1 = readU8(p + 1);
  e.event = <i32>readU8(p);
  e.end = (b1 & 0x80) != 0;
  e.volume = <i32>(b1 & 0x3f);
  e.duration = readU16BE(p + 2);
  return DTMF_OK;
}

/** Writes one report (R = 0); returns 4, DTMF_ERR_SHORT or DTMF_ERR_ARGUMENT. */
export function writeTelephoneEvent(p: usize, cap: i32, event: i32, end: bool, volume: i32, duration: u32): i32 {
  if (cap < TE_PAYLOAD_BYTES) return DTMF_ERR_SHORT;
  if (event < 0 || event > 255 || volume < 0 || volume > 63 || duration > 0xffff) return DTMF_ERR_ARGUMENT;
  writeU8(p, <u32>event);
  writeU8(p + 1, (end ? 0x80 : 0) | <u32>volume);
  writeU16BE(p + 2, duration);
  return TE_PAYLOAD_BYTES;
}

/** The event of a key: '0'..'9' 0..9, '*' 10, '#' 11, 'A'..'D' (or a..d) 12..15; else -1. */
export function dtmfEvent(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c == 0x2a) return 10;
  if (c == 0x23) return 11;
  if (c >= 0x41 && c <= 0x44) return c - 0x41 + 12;
  if (c >= 0x61 && c <= 0x64) return c - 0x61 + 12;
  return -1;
}

/** The key of an event 0..15 as a character code, else -1. */
export function dtmfChar(event: i32): i32 {
  if (event < 0 || event > 15) return -1;
  if (event < 10) return 0x30 + event;
  if (event == 10) return 0x2a;
  if (event == 11) return 0x23;
  return 0x41 + event - 12;
}

const IDLE: i32 = 0;
const TONE: i32 = 1;
const ENDING: i32 = 2;

export class DtmfSender {
  timestamp: u32 = 0;   // for the packet poll() just wrote: the event's first frame
  marker: bool = false;
  packets: u32 = 0;
  events: u32 = 0;
  readonly unitsPerFrame: u32;
  readonly frameUs: i64;
  private readonly qEvent: StaticArray<u8> = new StaticArray<u8>(DTMF_QUEUE);
  private readonly qFrames: StaticArray<u16> = new StaticArray<u16>(DTMF_QUEUE);
  private readonly qVolume: StaticArray<u8> = new StaticArray<u8>(DTMF_QUEUE);
  private qHead: i32 = 0;
  private qCount: i32 = 0;
  private state: i32 = IDLE;
  private event: i32 = 0;
  private volume: i32 = 0;
  private frames: u32 = 0;    // of the tone
  private frame: u32 = 0;     // sent so far
  private repeatsLeft: i32 = 0;
  private nextStartUs: i64 = i64.MIN_VALUE;

  /** The telephone-event clock (the audio's: 8000 for G.722 and G.711) and the frame time. */
  constructor(readonly clockRate: i32 = 8000, readonly frameMs: i32 = 20) {
    assert(clockRate >= 8000 && clockRate <= 48000 && frameMs >= 10 && frameMs <= 60, "DtmfSender clock or frame");
    this.unitsPerFrame = <u32>(clockRate / 1000 * frameMs);
    this.frameUs = <i64>frameMs * 1000;
  }

  /** Queues one event 0..15 of durationMs (40..5000, rounded up to whole frames) at volume
   *  0..63 (-dBm0; 10 is usual). DTMF_OK, DTMF_ERR_ARGUMENT or DTMF_ERR_QUEUE_FULL. */
  start(event: i32, durationMs: i32, volumeDb: i32): i32 {
    const frames = this.framesFor(durationMs, volumeDb);
    if (frames < 0) return frames;
    if (event < 0 || event > 15) return DTMF_ERR_ARGUMENT;
    if (this.qCount == DTMF_QUEUE) return DTMF_ERR_QUEUE_FULL;
    const at = (this.qHead + this.qCount) % DTMF_QUEUE;
    unchecked(this.qEvent[at] = <u8>event);
    unchecked(this.qFrames[at] = <u16>frames);
    unchecked(this.qVolume[at] = <u8>volumeDb);
    this.qCount++;
    return DTMF_OK;
  }

  /** Queues the keys of `keys` ("1234#"), all or none: returns how many, or an error. */
  startKeys(keys: string, durationMs: i32, volumeDb: i32): i32 {
    const frames = this.framesFor(durationMs, volumeDb);
    if (frames < 0) return frames;
    for (let i = 0; i < keys.length; i++) if (dtmfEvent(keys.charCodeAt(i)) < 0) return DTMF_ERR_ARGUMENT;
    if (keys.length > DTMF_QUEUE - this.qCount) return DTMF_ERR_QUEUE_FULL;
    for (let i = 0; i < keys.length; i++) this.start(dtmfEvent(keys.charCodeAt(i)), durationMs, volumeDb);
    return keys.length;
  }

  /** Frames of a tone, or DTMF_ERR_ARGUMENT; its duration must fit one 16-bit segment. */
  private framesFor(durationMs: i32, volumeDb: i32): i32 {
    if (volumeDb < 0 || volumeDb > 63 || durationMs < DTMF_MIN_TONE_MS || durationMs > DTMF_MAX_TONE_MS) return DTMF_ERR_ARGUMENT;
    const frames = (durationMs + this.frameMs - 1) / this.frameMs;
    return <u64>frames * <u64>this.unitsPerFrame > 0xffff ? DTMF_ERR_ARGUMENT : frames;
  }

  /** Sending an event now: poll() gives this frame's packet, the caller sends no audio. */
  get active(): bool { return this.state != IDLE; }
  /** Events queued and not started. */
  get pending(): i32 { return this.qCount; }

  /** Drops the queue; an event being sent still ends with its end packets. */
  cancel(): void { this.qCount = 0; }

  /** Once per audio frame. `streamTimestamp` is the RTP timestamp this frame's audio would
   *  carry. Returns the payload length written at `out` (then send it with `timestamp` and
   *  `marker`, the next sequence number and the telephone-event payload type), 0 when there is
   *  nothing to send (send audio), or DTMF_ERR_SHORT if cap < 4 (nothing changes). */
  poll(nowUs: i64, streamTimestamp: u32, out: usize, cap: i32): i32 {
    if (this.state == IDLE) {
      if (this.qCount == 0 || nowUs < this.nextStartUs) return 0;
      if (cap < TE_PAYLOAD_BYTES) return DTMF_ERR_SHORT;
      this.event = <i32>unchecked(this.qEvent[this.qHead]);
      this.frames = <u32>unchecked(this.qFrames[this.qHead]);
      this.volume = <i32>unchecked(this.qVolume[this.qHead]);
      this.qHead = (this.qHead + 1) % DTMF_QUEUE;
      this.qCount--;
      this.frame = 0;
      this.timestamp = streamTimestamp;
      this.state = TONE;
      this.events++;
    }
    if (cap < TE_PAYLOAD_BYTES) return DTMF_ERR_SHORT;
    if (this.state == TONE) {
      this.frame++;
      this.marker = this.frame == 1;
      if (this.frame == this.frames) { this.state = ENDING; this.repeatsLeft = DTMF_END_REPEATS; }
    } else {
      this.marker = false;
    }
    const ending = this.state == ENDING;
    writeTelephoneEvent(out, cap, this.event, ending, this.volume, this.frame * this.unitsPerFrame);
    if (ending && --this.repeatsLeft == 0) {
      this.state = IDLE;
      this.nextStartUs = nowUs + this.frameUs + <i64>DTMF_GAP_MS * 1000;
    }
    this.packets++;
    return TE_PAYLOAD_BYTES;
  }
}

export class DtmfReceiver {
  packets: u32 = 0;
  digits: u32 = 0;
  duplicates: u32 = 0;   // reports of an event already reported
  ends: u32 = 0;         // reports with E
  malformed: u32 = 0;
  ignored: u32 = 0;      // reports of events other than 0..15
  stale: u32 = 0;
  segments: u32 = 0;     // continuations of a long event (§2.5.1.3)
  lastEvent: i32 = -1;   // the newest event: its digit, start, longest duration, end seen
  lastTimestamp: u32 = 0;
  lastDuration: u32 = 0;
  lastEnded: bool = false;
  lastPacketUs: i64 = 0;
  private readonly history: StaticArray<u32> = new StaticArray<u32>(8); // recent event starts
  private historyCount: i32 = 0;
  private historyNext: i32 = 0;
  private readonly queue: StaticArray<u8> = new StaticArray<u8>(DTMF_MAX_REPORTS);
  private qHead: i32 = 0;
  private qCount: i32 = 0;
  private readonly staleUnits: u32;

  constructor(clockRate: i32 = 8000) { this.staleUnits = <u32>clockRate * 10; }

  /** One telephone-event payload with its RTP timestamp. Returns a new digit 0..15 (once per
   *  event), DTMF_NO_DIGIT, or DTMF_ERR_SHORT / DTMF_ERR_LENGTH for a malformed payload. */
  handle(timestamp: u32, payload: usize, len: i32, nowUs: i64): i32 {
    if (len < TE_PAYLOAD_BYTES) { this.malformed++; return DTMF_ERR_SHORT; }
    if (len % TE_PAYLOAD_BYTES != 0 || len > DTMF_MAX_REPORTS * TE_PAYLOAD_BYTES) { this.malformed++; return DTMF_ERR_LENGTH; }
    this.packets++;
    this.lastPacketUs = nowUs;
    let first = DTMF_NO_DIGIT;
    let start = timestamp;
    for (let at = 0; at < len; at += TE_PAYLOAD_BYTES) {
      const p = payload + <usize>at;
      const event = <i32>readU8(p);
      const end = (readU8(p + 1) & 0x80) != 0;
      const duration = readU16BE(p + 2);
      if (end) this.ends++;
      if (event > 15) this.ignored++;
      else if (this.isNew(start, event, end, duration)) {
        this.digits++;
        if (first < 0) first = event;
        else if (this.qCount < DTMF_MAX_REPORTS) unchecked(this.queue[(this.qHead + this.qCount++) % DTMF_MAX_REPORTS] = <u8>event);
      }
      start += duration;
    }
    return first;
  }

  /** The next digit of a payload that held several new events, or DTMF_NO_DIGIT. */
  poll(): i32 {
    if (this.qCount == 0) return DTMF_NO_DIGIT;
    const d = <i32>unchecked(this.queue[this.qHead]);
    this.qHead = (this.qHead + 1) % DTMF_MAX_REPORTS;
    this.qCount--;
    return d;
  }

  get pending(): i32 { return this.qCount; }

  /** A tone is sounding at the far end: its event has not ended and was heard within 200 ms. */
  toneOn(nowUs: i64): bool { return this.lastEvent >= 0 && !this.lastEnded && nowUs - this.lastPacketUs <= 200_000; }

  /** Forget every event (a new SSRC or call). Counters stay. */
  reset(): void {
    this.historyCount = 0;
    this.historyNext = 0;
    this.qCount = 0;
    this.lastEvent = -1;
    this.lastEnded = false;
  }

  private isNew(start: u32, event: i32, end: bool, duration: u32): bool {
    for (let i = 0; i < this.historyCount; i++) {
      if (unchecked(this.history[i]) != start) continue;
      this.duplicates++;
      if (start == this.lastTimestamp) {
        if (duration > this.lastDuration) this.lastDuration = duration;
        if (end) this.lastEnded = true;
      }
      return false;
    }
    if (this.lastEvent >= 0) {
      const back = this.lastTimestamp - start;
      if (back != 0 && back <= this.staleUnits) { this.stale++; return false; }
      // A long event goes on in a new segment at +0xFFFF: the same digit, not a new one.
      const on = start - this.lastTimestamp;
      const continues = event == this.lastEvent && !this.lastEnded && this.lastDuration == 0xffff && on <= 0x1ffff;
      this.remember(start, event, end, duration);
      if (continues) { this.segments++; return false; }
      return true;
    }
    this.remember(start, event, end, duration);
    return true;
  }

  private remember(start: u32, event: i32, end: bool, duration: u32): void {
    unchecked(this.history[this.historyNext] = start);
    this.historyNext = (this.historyNext + 1) & 7;
    if (this.historyCount < 8) this.historyCount++;
    this.lastEvent = event;
    this.lastTimestamp = start;
    this.lastDuration = duration;
    this.lastEnded = end;
  }
}

// ---- the door code ----

export const DOOR_CODE_MAX: i32 = 16;
export const DOOR_ACCEPTED: i32 = 0;       // digit taken, no verdict yet
export const DOOR_OPEN: i32 = 1;           // the entry ends with the code
export const DOOR_WRONG: i32 = 2;          // a whole code's worth of digits that did not match
export const DOOR_LOCKED_OUT: i32 = 3;     // ... and that was the last wrong attempt allowed
export const DOOR_IGNORED: i32 = -1;       // locked out: the digit does not count
export const DOOR_ERR_DIGIT: i32 = -2;     // not an event 0..15
export const DOOR_ERR_NO_CODE: i32 = -3;   // no code configured
export const DOOR_ERR_CODE: i32 = -4;      // setCode: empty, longer than 16, or not 0-9 * # A-D

/** Fires when the digits entered end with the code. Every `code length` digits entered without
 *  an opening is one wrong attempt (a pause that clears an entry holding untried windows is one
 *  too), so sliding along a de Bruijn sequence tests at most that many codes per attempt;
 *  maxWrong attempts in a row lock it for lockoutUs, doubled for each further lockout before
 *  an opening (at most 8 x). A pause longer than interDigitUs clears the entry. */
export class DoorCode {
  digits: u32 = 0;
  opens: u32 = 0;
  wrongAttempts: u32 = 0;
  lockouts: u32 = 0;
  ignored: u32 = 0;
  timeouts: u32 = 0;
  private readonly code: StaticArray<u8> = new StaticArray<u8>(DOOR_CODE_MAX);
  private codeLength: i32 = 0;
  private readonly entry: StaticArray<u8> = new StaticArray<u8>(DOOR_CODE_MAX); // ring of the last digits
  private entryCount: i32 = 0;
  private entryNext: i32 = 0;
  private sinceVerdict: i32 = 0;
  private lastDigitUs: i64 = 0;
  private wrongRun: i32 = 0;
  private lockoutRun: i32 = 0;
  private locked: bool = false;
  private lockedUntilUs: i64 = 0;

  constructor(readonly maxWrong: i32 = 5, readonly lockoutUs: i64 = 60_000_000, readonly interDigitUs: i64 = 5_000_000) {}

  /** The code, as text ("1234", "*0#"). DTMF_OK or DOOR_ERR_CODE (the old code stays). */
  setCode(text: string): i32 {
    if (text.length == 0 || text.length > DOOR_CODE_MAX) return DOOR_ERR_CODE;
    for (let i = 0; i < text.length; i++) if (dtmfEvent(text.charCodeAt(i)) < 0) return DOOR_ERR_CODE;
    for (let i = 0; i < text.length; i++) unchecked(this.code[i] = <u8>dtmfEvent(text.charCodeAt(i)));
    this.codeLength = text.length;
    this.clearEntry();
    return DTMF_OK;
  }

  /** The same from `len` ASCII bytes at p (a configuration record). */
  setCodeAscii(p: usize, len: i32): i32 {
    if (len <= 0 || len > DOOR_CODE_MAX) return DOOR_ERR_CODE;
    for (let i = 0; i < len; i++) if (dtmfEvent(<i32>load<u8>(p + <usize>i)) < 0) return DOOR_ERR_CODE;
    for (let i = 0; i < len; i++) unchecked(this.code[i] = <u8>dtmfEvent(<i32>load<u8>(p + <usize>i)));
    this.codeLength = len;
    this.clearEntry();
    return DTMF_OK;
  }

  /** No code: the door relay is disabled (every digit answers DOOR_ERR_NO_CODE). */
  clearCode(): void {
    this.codeLength = 0;
    this.clearEntry();
  }

  /** One received digit (event 0..15). */
  digit(event: i32, nowUs: i64): i32 {
    if (this.codeLength == 0) return DOOR_ERR_NO_CODE;
    if (event < 0 || event > 15) return DOOR_ERR_DIGIT;
    this.tick(nowUs); // a pause may clear the entry or end a lockout first
    if (this.locked) { this.ignored++; return DOOR_IGNORED; }
    this.digits++;
    unchecked(this.entry[this.entryNext] = <u8>event);
    this.entryNext = (this.entryNext + 1) % DOOR_CODE_MAX;
    if (this.entryCount < DOOR_CODE_MAX) this.entryCount++;
    this.sinceVerdict++;
    this.lastDigitUs = nowUs;
    if (this.matches()) {
      this.opens++;
      this.wrongRun = 0;
      this.lockoutRun = 0;
      this.clearEntry();
      return DOOR_OPEN;
    }
    return this.sinceVerdict >= this.codeLength ? this.wrong(nowUs) : DOOR_ACCEPTED;
  }

  /** Runs the timers: clears an entry after the inter-digit pause, ends a lockout. Returns
   *  DOOR_WRONG or DOOR_LOCKED_OUT when a cleared entry counted as an attempt, else 0. */
  tick(nowUs: i64): i32 {
    if (this.locked && nowUs >= this.lockedUntilUs) this.locked = false;
    if (this.entryCount == 0 || nowUs - this.lastDigitUs <= this.interDigitUs) return DOOR_ACCEPTED;
    this.timeouts++;
    const tried = this.entryCount >= this.codeLength && this.sinceVerdict > 0;
    this.clearEntry();
    return tried ? this.wrong(nowUs) : DOOR_ACCEPTED;
  }

  /** When tick() next has work, or -1. */
  timeout(): i64 {
    let t: i64 = -1;
    if (this.entryCount > 0) t = this.lastDigitUs + this.interDigitUs + 1;
    if (this.locked && (t < 0 || this.lockedUntilUs < t)) t = this.lockedUntilUs;
    return t;
  }

  isLocked(nowUs: i64): bool { return this.locked && nowUs < this.lockedUntilUs; }

  /** Digits in the current entry (at most 16 are kept). */
  get entered(): i32 { return this.entryCount; }

  private wrong(nowUs: i64): i32 {
    this.wrongAttempts++;
    this.sinceVerdict = 0;
    if (++this.wrongRun < this.maxWrong) return DOOR_WRONG;
    this.lockouts++;
    this.wrongRun = 0;
    this.locked = true;
    this.lockedUntilUs = nowUs + (this.lockoutUs << <i64>min(this.lockoutRun, 3));
    this.lockoutRun++;
    this.clearEntry();
    return DOOR_LOCKED_OUT;
  }

  private matches(): bool {
    const n = this.codeLength;
    if (this.entryCount < n) return false;
    for (let i = 0; i < n; i++) {
      const at = (this.entryNext - n + i + DOOR_CODE_MAX) % DOOR_CODE_MAX;
      if (unchecked(this.entry[at]) != unchecked(this.code[i])) return false;
    }
    return true;
  }

  private clearEntry(): void {
    this.entryCount = 0;
    this.entryNext = 0;
    this.sinceVerdict = 0;
  }
}
