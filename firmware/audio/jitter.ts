// Jitter buffer of one received RTP audio stream, fixed target depth. Sans-IO: the call core
// pushes each RTP packet with its arrival time, the frame loop pops one frame per tick.
//
// Playout model
//   - Frames live on a grid of the RTP timestamp: the play cursor is the timestamp of the frame
//     due at the next pop; a packet belongs to frame k = round((ts - cursor) / frameTs), so
//     sequence gaps (telephone-event packets share the stream) and timestamp gaps (DTX) are
//     both just frames with no packet. Slot = (cursor index + k) mod slots; a slot remembers
//     the frame's timestamp, so a slot left by another frame is never mistaken for this one.
//   - k < 0: its time has passed (late, or a duplicate of a frame already played); k >= slots:
//     too early (overflow). Both are dropped and counted.
//   - The first packet anchors the cursor. Playout starts at the first pop that finds
//     targetFrames frames of depth (cursor to newest held frame, holes included), or once
//     (target - 1) frames of time have passed since the anchor (what the depth takes to build
//     when nothing is lost). Until then pop says JB_NOT_STARTED
//     (play silence). If more than the target is held at the start, the oldest extra frames
//     are skipped, so the delay starts at the target.
//   - Once started, each pop plays the frame at the cursor (or JB_MISSING: conceal) and moves
//     the cursor one frame on, whatever happened: the playout clock is the frame loop.
//   - Delay held = (target - 1) frames + the phase between arrivals and pops. Target 1 plays a
//     frame at the first pop after it arrives; 2 (20..40 ms at 20 ms ptime) is right for a
//     clean link and keeps within half of baresip's 99 ms one-way budget.
//   - Clock drift, sender fast: frames pile up. If the depth at every pop of one second stayed
//     above the target, the excess oldest frames are skipped (counted in `skipped`).
//   - Sender slow, or its timestamps jumped: newer packets arrive late, each at least as late as
//     the one before (a burst after a stall gets less late each packet, and is left alone).
//     JB_SHIFT_RUN such packets, or JB_SHIFT_RUN in-sequence packets too early for the window,
//     re-anchor playout on the last one (JB_REANCHORED); the re-buffering pops say JB_MISSING.
//   - Marker bit on a packet that finds the buffer empty (a talkspurt after silence): re-anchor
//     there, re-buffering pops say JB_NOT_STARTED (silence continues). A sender that marks every
//     packet re-anchors only when the buffer ran dry, which costs nothing.
//   - A sequence number more than JB_SEQ_JUMP from the newest, or a new SSRC (onSsrc), is a new
//     source: everything held is dropped, the packet anchors afresh (JB_RESTARTED). SRTP's
//     replay check runs before us, so a stray ancient packet cannot cause this.
//   - A long loss just keeps answering JB_MISSING; missingRun tells the caller how long.
// Interarrival jitter is RFC 3550 A.8's estimator (x16 in integers), in timestamp units;
// targetForJitter() turns it into a fixed target for the next call or renegotiation.
// Memory: slots x JB_MAX_PAYLOAD bytes plus 19 bytes of bookkeeping per slot, all allocated in
// the constructor; push and pop allocate nothing.

import { rtpArrival } from "../media/rtp-stats";

export const JB_MAX_PAYLOAD: i32 = 480;      // 60 ms of G.722 or G.711
export const JB_DEFAULT_SLOTS: i32 = 16;     // 320 ms at 20 ms ptime
export const JB_SEQ_JUMP: i32 = 1000;        // 20 s of packets at 20 ms: beyond it, a new source
export const JB_SHIFT_RUN: i32 = 2;          // late or too-early newest packets before re-anchoring

// configure()
export const JB_OK: i32 = 0;
export const JB_ERR_CONFIG: i32 = -32;       // frameTs, clock, ptime outside 10..60 ms, or target
// push(): >= 0 stored
export const JB_STORED: i32 = 0;
export const JB_REANCHORED: i32 = 1;         // stored; playout re-anchored on it
export const JB_RESTARTED: i32 = 2;          // stored; a new source, the buffer was reset first
export const JB_DUPLICATE: i32 = -1;
export const JB_LATE: i32 = -2;              // its frame was already played or concealed
export const JB_OVERFLOW: i32 = -3;          // too far ahead of the cursor for the slots
export const JB_TOO_LARGE: i32 = -4;         // len > JB_MAX_PAYLOAD
export const JB_BAD_LENGTH: i32 = -5;        // len <= 0
export const JB_NOT_CONFIGURED: i32 = -6;
// pop(): >= 0 payload bytes written
export const JB_NOT_STARTED: i32 = -16;      // play silence
export const JB_MISSING: i32 = -17;          // conceal this frame
export const JB_OUT_TOO_SMALL: i32 = -18;    // the frame is larger than cap: dropped, conceal

const EMPTY: u8 = 0;
const HELD: u8 = 1;
const PLAYED: u8 = 2;

/** round(delta / f), rounding halves up, for either sign. */
@inline function frameOffset(delta: i32, f: i32): i32 {
  const x = <i64>delta + <i64>(f >> 1);
  return <i32>(x >= 0 ? x / <i64>f : -((-x + <i64>f - 1) / <i64>f));
}

export class JitterBuffer {
  // configuration
  frameTs: u32 = 0;          // timestamp units per frame; 0 until configure()
  targetFrames: i32 = 0;
  clockRate: i32 = 0;
  frameUs: i64 = 0;
  // statistics
  pushed: u32 = 0;           // push() calls
  stored: u32 = 0;           // packets kept
  played: u32 = 0;           // pops that returned a frame
  concealed: u32 = 0;        // pops that returned JB_MISSING
  silent: u32 = 0;           // pops that returned JB_NOT_STARTED
  late: u32 = 0;
  duplicates: u32 = 0;
  overflow: u32 = 0;         // packets too early for the window
  skipped: u32 = 0;          // frames skipped (held or not) to bring the depth back to the target
  rejected: u32 = 0;         // JB_TOO_LARGE, JB_BAD_LENGTH
  outTooSmall: u32 = 0;
  restarts: u32 = 0;
  reanchors: u32 = 0;
  missingRun: u32 = 0;       // consecutive JB_MISSING pops, 0 after a played frame
  lastDepth: i32 = 0;        // depth found by the last pop that played or concealed
  lastDelayUs: i64 = 0;      // time the last played frame spent here
  private delayX16: i64 = 0; // its running mean, x16 (gain 1/16)
  readonly slots: i32;
  private readonly mask: u32;
  private readonly data: StaticArray<u8>;
  private readonly slotTs: StaticArray<u32>;
  private readonly slotSeq: StaticArray<u16>;
  private readonly slotLen: StaticArray<i32>;
  private readonly slotArrival: StaticArray<i64>;
  private readonly slotState: StaticArray<u8>;
  private anchored: bool = false;
  private playing: bool = false;
  private waitConceal: bool = false;
  private anchorUs: i64 = 0;
  private playIndex: u32 = 0;
  private playTs: u32 = 0;
  private lastSeq: u32 = 0;
  private lateRun: i32 = 0;
  private lastLateK: i32 = 0;
  private overflowRun: i32 = 0;
  private holdPops: i32 = 50;
  private windowPops: i32 = 0;
  private windowMin: i32 = i32.MAX_VALUE;
  private ssrc: u32 = 0;
  private haveSsrc: bool = false;
  private ssrcChanged: bool = false; // the next packet reports JB_RESTARTED
  private transit: i32 = 0;
  private haveTransit: bool = false;
  private jitterX16: u64 = 0;

  constructor(slots: i32 = JB_DEFAULT_SLOTS) {
    assert(slots >= 4 && slots <= 64 && (slots & (slots - 1)) == 0, "JitterBuffer slots: a power of two, 4..64");
    this.slots = slots;
    this.mask = <u32>(slots - 1);
    this.data = new StaticArray<u8>(slots * JB_MAX_PAYLOAD);
    this.slotTs = new StaticArray<u32>(slots);
    this.slotSeq = new StaticArray<u16>(slots);
    this.slotLen = new StaticArray<i32>(slots);
    this.slotArrival = new StaticArray<i64>(slots);
    this.slotState = new StaticArray<u8>(slots);
  }

  /** Frame length in timestamp units (160 at 8 kHz, 20 ms), the fixed depth target (1..slots/2)
   *  and the RTP clock. Drops what is held (a ptime change moves the grid), keeps statistics.
   *  JB_ERR_CONFIG leaves everything as it was. */
  configure(frameTs: u32, targetFrames: i32, clockRate: i32 = 8000): i32 {
    if (clockRate < 8000 || clockRate > 48000 || frameTs == 0 || frameTs > 48000) return JB_ERR_CONFIG;
    const us = (<i64>frameTs * 1_000_000) / <i64>clockRate;
    if (us < 10_000 || us > 60_000 || targetFrames < 1 || targetFrames > this.slots >> 1) return JB_ERR_CONFIG;
    this.frameTs = frameTs;
    this.targetFrames = targetFrames;
    this.clockRate = clockRate;
    this.frameUs = us;
    this.holdPops = <i32>(1_000_000 / us);
    this.resync();
    return JB_OK;
  }

  /** A new target without touching the stream: a lower one is reached by skipping within a
   *  second, a higher one at the next re-anchor (talkspurt) or restart. */
  setTarget(frames: i32): i32 {
    if (frames < 1 || frames > this.slots >> 1) return JB_ERR_CONFIG;
    this.targetFrames = frames;
    return JB_OK;
  }

  /** Everything back to the state after configure(), statistics cleared too. */
  reset(): void {
    this.pushed = this.stored = this.played = this.concealed = this.silent = 0;
    this.late = this.duplicates = this.overflow = this.skipped = this.rejected = 0;
    this.outTooSmall = this.restarts = this.reanchors = this.missingRun = 0;
    this.lastDepth = 0;
    this.lastDelayUs = 0;
    this.delayX16 = 0;
    this.haveSsrc = false;
    this.ssrcChanged = false;
    this.resync();
  }

  /** The SSRC of each packet, before push(): a change is a new source. True when it resynced. */
  onSsrc(ssrc: u32): bool {
    const changed = this.haveSsrc && ssrc != this.ssrc;
    this.ssrc = ssrc;
    this.haveSsrc = true;
    if (changed && this.anchored) { this.restarts++; this.resync(); this.ssrcChanged = true; }
    return changed;
  }

  /** One RTP packet: 16-bit sequence number, timestamp, marker bit and the payload's `len` bytes
   *  at `payload`, which are copied in. Returns JB_STORED / JB_REANCHORED / JB_RESTARTED, or a
   *  negative JB_* code when it was dropped. */
  push(seq: u32, timestamp: u32, marker: bool, payload: usize, len: i32, nowUs: i64): i32 {
    this.pushed++;
    if (this.frameTs == 0) return JB_NOT_CONFIGURED;
    if (len <= 0) { this.rejected++; return JB_BAD_LENGTH; }
    if (len > JB_MAX_PAYLOAD) { this.rejected++; return JB_TOO_LARGE; }
    seq &= 0xffff;
    if (!this.anchored) {
      const code = this.ssrcChanged ? JB_RESTARTED : JB_STORED;
      this.ssrcChanged = false;
      return this.restartOn(seq, timestamp, payload, len, nowUs, code);
    }
    const dseq = (<i32>((seq - this.lastSeq) << 16)) >> 16;
    if (dseq > JB_SEQ_JUMP || dseq < -JB_SEQ_JUMP) {
      this.restarts++;
      return this.restartOn(seq, timestamp, payload, len, nowUs, JB_RESTARTED);
    }
    const n = this.slots;
    let k = frameOffset(<i32>(timestamp - this.playTs), <i32>this.frameTs);
    if (k > -n && k < n) {
      const s = this.slotOf(k);
      const st = unchecked(this.slotState[s]);
      // A played frame's copy has its sequence number too (a sender whose clock jumped back
      // reuses timestamps with new ones: that is lateness, handled below).
      if (unchecked(this.slotTs[s]) == this.nominal(k) && (st == HELD || (st == PLAYED && <u32>unchecked(this.slotSeq[s]) == seq))) {
        this.duplicates++;
        return JB_DUPLICATE;
      }
    }
    this.measure(timestamp, nowUs);
    const newest = dseq > 0;
    if (newest) this.lastSeq = seq;
    if (marker && newest && this.playing && this.scan(false) == 0) return this.reanchorOn(seq, timestamp, payload, len, nowUs, false);
    if (k < 0 && !this.playing && this.scan(false) - k <= n) {
      // Before playout starts, an older packet moves the cursor back to it, on the same grid.
      this.playIndex += <u32>k;
      this.playTs += <u32>(k * <i32>this.frameTs);
      k = 0;
    }
    if (k < 0) {
      if (newest) {
        this.lateRun = this.lateRun > 0 && k <= this.lastLateK ? this.lateRun + 1 : 1;
        this.lastLateK = k;
        if (this.lateRun >= JB_SHIFT_RUN) return this.reanchorOn(seq, timestamp, payload, len, nowUs, true);
      }
      this.late++;
      return JB_LATE;
    }
    if (k >= n) {
      if (newest && ++this.overflowRun >= JB_SHIFT_RUN) return this.reanchorOn(seq, timestamp, payload, len, nowUs, true);
      this.overflow++;
      return JB_OVERFLOW;
    }
    this.store(k, seq, payload, len, nowUs);
    this.lateRun = 0;
    this.overflowRun = 0;
    return JB_STORED;
  }

  /** One frame tick: writes the frame due now at `out` (at most `cap` bytes) and returns its
   *  length, or JB_MISSING / JB_NOT_STARTED / JB_OUT_TOO_SMALL (then nothing is written). */
  pop(nowUs: i64, out: usize, cap: i32): i32 {
    if (this.frameTs == 0 || !this.anchored) { this.silent++; return JB_NOT_STARTED; }
    let depth = this.scan(true);
    if (!this.playing) {
      // The time the depth takes to build up when nothing is lost.
      const waited = nowUs - this.anchorUs >= <i64>(this.targetFrames - 1) * this.frameUs;
      if (depth < this.targetFrames && !waited) {
        if (this.waitConceal) { this.concealed++; this.missingRun++; return JB_MISSING; }
        this.silent++;
        return JB_NOT_STARTED;
      }
      this.playing = true;
      if (depth > this.targetFrames) { this.skip(depth - this.targetFrames); depth = this.targetFrames; }
    }
    if (depth < this.windowMin) this.windowMin = depth;
    if (++this.windowPops >= this.holdPops) {
      const excess = this.windowMin - this.targetFrames;
      this.windowPops = 0;
      this.windowMin = i32.MAX_VALUE;
      if (excess > 0) { this.skip(excess); depth -= excess; }
    }
    this.lastDepth = depth;
    const s = this.slotOf(0);
    let result = JB_MISSING;
    if (unchecked(this.slotState[s]) == HELD && unchecked(this.slotTs[s]) == this.playTs) {
      const len = unchecked(this.slotLen[s]);
      if (len > cap) {
        this.outTooSmall++;
        result = JB_OUT_TOO_SMALL;
      } else {
        memory.copy(out, this.slotAddress(s), <usize>len);
        const d = nowUs - unchecked(this.slotArrival[s]);
        this.lastDelayUs = d;
        this.delayX16 = this.played == 0 ? d << 4 : this.delayX16 + d - ((this.delayX16 + 8) >> 4);
        this.played++;
        this.missingRun = 0;
        result = len;
      }
      unchecked(this.slotState[s] = PLAYED);
    } else {
      unchecked(this.slotState[s] = EMPTY);
      this.concealed++;
      this.missingRun++;
    }
    this.playIndex++;
    this.playTs += this.frameTs;
    return result;
  }

  /** Frames from the cursor to the newest held one, holes included. */
  get depth(): i32 { return this.anchored ? this.scan(false) : 0; }

  /** Frames actually held. */
  get held(): i32 {
    if (!this.anchored) return 0;
    let count = 0;
    for (let k = 0; k < this.slots; k++) if (this.holds(k)) count++;
    return count;
  }

  get started(): bool { return this.playing; }

  /** RFC 3550 A.8 interarrival jitter, timestamp units. */
  get jitter(): u32 { return <u32>(this.jitterX16 >> 4); }

  /** Mean time a played frame spent in the buffer, microseconds. */
  get delayUs(): i64 { return this.delayX16 >> 4; }

  /** The fixed target for a measured jitter: 1 + ceil(2 x jitter / frame), the one frame that
   *  must be whole plus twice the jitter (most late arrivals of a roughly normal delay spread),
   *  within 1..slots/2. A link with no measurable jitter gets 1, a clean LAN 2. */
  targetForJitter(jitterTs: u32): i32 {
    if (this.frameTs == 0) return 1;
    const extra = (2 * <u64>jitterTs + <u64>this.frameTs - 1) / <u64>this.frameTs;
    const max = this.slots >> 1;
    return extra >= <u64>(max - 1) ? max : 1 + <i32>extra;
  }

  // ---- inside ----

  private resync(): void {
    for (let i = 0; i < this.slots; i++) unchecked(this.slotState[i] = EMPTY);
    this.anchored = false;
    this.playing = false;
    this.haveTransit = false;
    this.jitterX16 = 0;
    this.lateRun = 0;
    this.overflowRun = 0;
  }

  private restartOn(seq: u32, ts: u32, payload: usize, len: i32, nowUs: i64, code: i32): i32 {
    this.resync();
    this.lastSeq = seq;
    this.anchor(ts, nowUs, false);
    this.measure(ts, nowUs);
    this.store(0, seq, payload, len, nowUs);
    return code;
  }

  private reanchorOn(seq: u32, ts: u32, payload: usize, len: i32, nowUs: i64, conceal: bool): i32 {
    this.reanchors++;
    this.anchor(ts, nowUs, conceal);
    this.haveTransit = false; // a timeline shift is not jitter
    this.measure(ts, nowUs);
    this.store(0, seq, payload, len, nowUs);
    return JB_REANCHORED;
  }

  private anchor(ts: u32, nowUs: i64, conceal: bool): void {
    for (let i = 0; i < this.slots; i++) unchecked(this.slotState[i] = EMPTY);
    this.playTs = ts;
    this.anchored = true;
    this.playing = false;
    this.waitConceal = conceal;
    this.anchorUs = nowUs;
    this.lateRun = 0;
    this.overflowRun = 0;
    this.windowPops = 0;
    this.windowMin = i32.MAX_VALUE;
  }

  private store(k: i32, seq: u32, payload: usize, len: i32, nowUs: i64): void {
    const s = this.slotOf(k);
    unchecked(this.slotSeq[s] = <u16>seq);
    memory.copy(this.slotAddress(s), payload, <usize>len);
    unchecked(this.slotLen[s] = len);
    unchecked(this.slotTs[s] = this.nominal(k));
    unchecked(this.slotArrival[s] = nowUs);
    unchecked(this.slotState[s] = HELD);
    this.stored++;
  }

  /** Drops the `count` frames at the cursor, held or not, and moves past them. */
  private skip(count: i32): void {
    for (let i = 0; i < count; i++) {
      const s = this.slotOf(0);
      if (unchecked(this.slotState[s]) == HELD) unchecked(this.slotState[s] = PLAYED);
      this.playIndex++;
      this.playTs += this.frameTs;
      this.skipped++;
    }
  }

  /** A.8 with the arrival on the RTP clock. A difference larger than the window is a timeline
   *  shift, not jitter: it only rebases. */
  private measure(ts: u32, nowUs: i64): void {
    const transit = <i32>(rtpArrival(nowUs, this.clockRate) - ts);
    if (this.haveTransit) {
      let d = <i64>(<i32>(transit - this.transit));
      if (d < 0) d = -d;
      if (d <= <i64>this.slots * <i64>this.frameTs) this.jitterX16 = this.jitterX16 + <u64>d - ((this.jitterX16 + 8) >> 4);
    }
    this.transit = transit;
    this.haveTransit = true;
  }

  /** Depth: 1 + offset of the newest held frame in the window, 0 if none. `clean` empties
   *  slots held by frames that are not on the grid any more. */
  private scan(clean: bool): i32 {
    let span = 0;
    for (let k = 0; k < this.slots; k++) {
      if (this.holds(k)) span = k + 1;
      else if (clean && unchecked(this.slotState[this.slotOf(k)]) == HELD) unchecked(this.slotState[this.slotOf(k)] = EMPTY);
    }
    return span;
  }

  @inline private holds(k: i32): bool {
    const s = this.slotOf(k);
    return unchecked(this.slotState[s]) == HELD && unchecked(this.slotTs[s]) == this.nominal(k);
  }

  @inline private slotOf(k: i32): i32 { return <i32>((this.playIndex + <u32>k) & this.mask); }
  @inline private nominal(k: i32): u32 { return this.playTs + <u32>(k * <i32>this.frameTs); }
  @inline private slotAddress(s: i32): usize { return changetype<usize>(this.data) + <usize>(s * JB_MAX_PAYLOAD); }
}
