// JitterBuffer (firmware/audio/jitter.ts): playout of one RTP stream at a fixed target depth.
// A small simulator plays a planned stream (per packet: sequence number, timestamp, marker,
// arrival time or lost) against pops every 20 ms, and records what each pop returned.
import {
  JitterBuffer, JB_OK, JB_ERR_CONFIG, JB_STORED, JB_REANCHORED, JB_RESTARTED, JB_DUPLICATE,
  JB_LATE, JB_OVERFLOW, JB_TOO_LARGE, JB_BAD_LENGTH, JB_NOT_CONFIGURED, JB_NOT_STARTED,
  JB_MISSING, JB_OUT_TOO_SMALL, JB_MAX_PAYLOAD,
} from "../../firmware/audio/jitter";

const FRAME: u32 = 160;        // 20 ms at 8 kHz
const FRAME_US: i64 = 20000;
const MAXF: i32 = 4096;
const PAY = memory.data(JB_MAX_PAYLOAD + 64);
const OUT = memory.data(JB_MAX_PAYLOAD + 64);

// The plan: packet i of the stream.
const SEQ = new StaticArray<u32>(MAXF);
const TS = new StaticArray<u32>(MAXF);
const MARK = new StaticArray<bool>(MAXF);
const ARRIVE = new StaticArray<i64>(MAXF);    // < 0: lost
const PUSHED = new StaticArray<bool>(MAXF);
const PUSHRC = new StaticArray<i32>(MAXF);
// What pop j returned: the packet index it played, or its negative code; depth and run then.
const POPS = new StaticArray<i32>(MAXF);
const DEPTH = new StaticArray<i32>(MAXF);
const RUN = new StaticArray<u32>(MAXF);
let badPayloads = 0;

/** Packet i: frame length from 20 to 79 bytes, its index in the first 4 bytes, then a pattern. */
function lenOf(i: i32): i32 { return 20 + (i * 13) % 60; }
function writePayload(i: i32): i32 {
  const n = lenOf(i);
  store<u32>(PAY, <u32>i);
  for (let b = 4; b < n; b++) store<u8>(PAY + <usize>b, <u8>(i + b));
  return n;
}
function payloadOk(i: i32, n: i32): bool {
  if (n != lenOf(i)) return false;
  for (let b = 4; b < n; b++) if (load<u8>(OUT + <usize>b) != <u8>(i + b)) return false;
  return true;
}

/** An ideal stream of `count` packets: in order, arriving at i x interval + delay. */
function plan(count: i32, seq0: u32, ts0: u32, interval: i64 = FRAME_US, delay: i64 = 0): void {
  for (let i = 0; i < MAXF; i++) {
    SEQ[i] = (seq0 + <u32>i) & 0xffff;
    TS[i] = ts0 + <u32>i * FRAME;
    MARK[i] = false;
    ARRIVE[i] = i < count ? <i64>i * interval + delay : -1;
    PUSHED[i] = false;
    PUSHRC[i] = 999;
  }
}

/** `pops` pops at phase + j x 20 ms; before each, every packet that has arrived by then is
 *  pushed, in arrival order. */
function run(jb: JitterBuffer, pops: i32, phase: i64, cap: i32 = JB_MAX_PAYLOAD): void {
  badPayloads = 0;
  let lo = 0;
  for (let j = 0; j < pops; j++) {
    const t = phase + <i64>j * FRAME_US;
    while (true) {
      let best = -1;
      for (let i = lo; i < min(MAXF, lo + 256); i++) {
        if (PUSHED[i] || ARRIVE[i] < 0 || ARRIVE[i] > t) continue;
        if (best < 0 || ARRIVE[i] < ARRIVE[best]) best = i;
      }
      if (best < 0) break;
      const n = writePayload(best);
      PUSHRC[best] = jb.push(SEQ[best], TS[best], MARK[best], PAY, n, ARRIVE[best]);
      PUSHED[best] = true;
    }
    while (lo < MAXF && (PUSHED[lo] || ARRIVE[lo] < 0)) lo++;
    const r = jb.pop(t, OUT, cap);
    if (r > cap) badPayloads++;
    if (r >= 0) {
      const i = <i32>load<u32>(OUT);
      if (i < 0 || i >= MAXF || !payloadOk(i, r)) badPayloads++;
      POPS[j] = i;
    } else {
      POPS[j] = r;
    }
    DEPTH[j] = jb.lastDepth;
    RUN[j] = jb.missingRun;
  }
}

function configured(target: i32, slots: i32 = 16): JitterBuffer {
  const jb = new JitterBuffer(slots);
  expect(jb.configure(FRAME, target)).toBe(JB_OK);
  return jb;
}

describe("JitterBuffer configuration", () => {
  it("refuses a frame, clock, ptime or target out of range and keeps the old setting", () => {
    const jb = new JitterBuffer();
    expect(jb.push(0, 0, false, PAY, 10, 0)).toBe(JB_NOT_CONFIGURED);
    expect(jb.pop(0, OUT, 100)).toBe(JB_NOT_STARTED);
    expect(jb.configure(0, 2)).toBe(JB_ERR_CONFIG);
    expect(jb.configure(79, 2)).toBe(JB_ERR_CONFIG, "9.875 ms");
    expect(jb.configure(481, 2)).toBe(JB_ERR_CONFIG, "60.125 ms");
    expect(jb.configure(160, 0)).toBe(JB_ERR_CONFIG);
    expect(jb.configure(160, 9)).toBe(JB_ERR_CONFIG, "more than half the 16 slots");
    expect(jb.configure(160, 2, 7999)).toBe(JB_ERR_CONFIG);
    expect(jb.frameTs).toBe(0);
    expect(jb.configure(80, 1)).toBe(JB_OK, "10 ms");
    expect(jb.configure(480, 8)).toBe(JB_OK, "60 ms");
    expect(jb.configure(960, 2, 16000)).toBe(JB_OK, "60 ms at 16 kHz");
    expect(jb.frameUs).toBe(60000);
    expect(jb.configure(160, 2)).toBe(JB_OK);
    expect(jb.frameUs).toBe(20000);
    expect(jb.setTarget(0)).toBe(JB_ERR_CONFIG);
    expect(jb.setTarget(3)).toBe(JB_OK);
    expect(jb.targetFrames).toBe(3);
  });

  it("refuses empty and oversized payloads", () => {
    const jb = configured(2);
    expect(jb.push(1, 0, false, PAY, 0, 0)).toBe(JB_BAD_LENGTH);
    expect(jb.push(1, 0, false, PAY, -1, 0)).toBe(JB_BAD_LENGTH);
    expect(jb.push(1, 0, false, PAY, JB_MAX_PAYLOAD + 1, 0)).toBe(JB_TOO_LARGE);
    expect(jb.push(1, 0, false, PAY, JB_MAX_PAYLOAD, 0)).toBe(JB_STORED);
    expect(jb.rejected).toBe(3);
    expect(jb.pushed).toBe(4);
  });
});

describe("JitterBuffer playout", () => {
  it("plays every frame of an in-order stream, target 2: 20 ms plus the 5 ms phase", () => {
    const jb = configured(2);
    plan(200, 1000, 5000);
    run(jb, 201, 5000);
    expect(POPS[0]).toBe(JB_NOT_STARTED);
    for (let j = 1; j <= 200; j++) expect(POPS[j]).toBe(j - 1, "pop " + j.toString());
    expect(badPayloads).toBe(0);
    expect(jb.played).toBe(200);
    expect(jb.concealed).toBe(0);
    expect(jb.silent).toBe(1);
    expect(jb.delayUs).toBe(25000);
    expect(jb.lastDelayUs).toBe(25000);
    expect(DEPTH[100]).toBe(2);
    expect(jb.skipped).toBe(0);
  });

  it("plays at the first pop with target 1, and two pops later with target 3", () => {
    let jb = configured(1);
    plan(100, 7, 0);
    run(jb, 100, 5000);
    for (let j = 0; j < 100; j++) expect(POPS[j]).toBe(j);
    expect(jb.delayUs).toBe(5000);
    jb = configured(3);
    plan(100, 7, 0);
    run(jb, 102, 5000);
    expect(POPS[0]).toBe(JB_NOT_STARTED);
    expect(POPS[1]).toBe(JB_NOT_STARTED);
    for (let j = 2; j < 102; j++) expect(POPS[j]).toBe(j - 2);
    expect(jb.delayUs).toBe(45000);
  });

  it("plays 10 ms and 60 ms frames too", () => {
    const jb = new JitterBuffer();
    expect(jb.configure(80, 2)).toBe(JB_OK);
    for (let i = 0; i < 50; i++) {
      const n = writePayload(i);
      expect(jb.push(<u32>i, <u32>i * 80, false, PAY, n, <i64>i * 10000)).toBe(JB_STORED);
      const r = jb.pop(<i64>i * 10000 + 2000, OUT, 100);
      if (i == 0) expect(r).toBe(JB_NOT_STARTED);
      else expect(load<u32>(OUT)).toBe(<u32>(i - 1));
    }
    expect(jb.configure(480, 1)).toBe(JB_OK);
    for (let i = 0; i < 20; i++) {
      writePayload(i);
      expect(jb.push(<u32>i, <u32>i * 480, false, PAY, JB_MAX_PAYLOAD, <i64>i * 60000)).toBe(JB_STORED);
      expect(jb.pop(<i64>i * 60000 + 1000, OUT, JB_MAX_PAYLOAD)).toBe(JB_MAX_PAYLOAD);
      expect(load<u32>(OUT)).toBe(<u32>i);
    }
  });

  it("repairs reordering within the depth", () => {
    const jb = configured(3);
    plan(100, 40000, 123456);
    ARRIVE[10] = 11 * FRAME_US + 1000;   // 10 after 11
    ARRIVE[11] = 10 * FRAME_US + 5000;
    ARRIVE[20] = 22 * FRAME_US + 400;    // 20, 21, 22 arrive as 22, 21, 20
    ARRIVE[21] = 22 * FRAME_US + 200;
    ARRIVE[22] = 22 * FRAME_US;
    run(jb, 102, 5000);
    expect(PUSHRC[20]).toBe(JB_STORED);
    for (let j = 2; j <= 101; j++) expect(POPS[j]).toBe(j - 2);
    expect(jb.concealed).toBe(0);
    expect(jb.late).toBe(0);
  });

  it("answers JB_MISSING for exactly the lost frames, and counts the run", () => {
    const jb = configured(2);
    plan(100, 3, 0);
    ARRIVE[10] = -1;
    ARRIVE[11] = -1;
    ARRIVE[50] = -1;
    run(jb, 101, 5000);
    for (let j = 1; j <= 100; j++) {
      const lost = j == 11 || j == 12 || j == 51;
      expect(POPS[j]).toBe(lost ? JB_MISSING : j - 1, "pop " + j.toString());
    }
    expect(RUN[11]).toBe(1);
    expect(RUN[12]).toBe(2);
    expect(RUN[13]).toBe(0);
    expect(jb.concealed).toBe(3);
    expect(jb.played).toBe(97);
  });

  it("keeps concealing through a long burst of loss, then plays again", () => {
    const jb = configured(2);
    plan(300, 3, 0);
    for (let i = 100; i < 125; i++) ARRIVE[i] = -1;
    run(jb, 301, 5000);
    for (let j = 101; j <= 125; j++) expect(POPS[j]).toBe(JB_MISSING);
    expect(RUN[125]).toBe(25);
    for (let j = 126; j <= 300; j++) expect(POPS[j]).toBe(j - 1);
    expect(RUN[300]).toBe(0);
    expect(jb.concealed).toBe(25);
    expect(jb.reanchors).toBe(0);
  });

  it("counts duplicates, also of frames already played", () => {
    const jb = configured(1);
    const n = writePayload(0);
    expect(jb.push(10, 1600, false, PAY, n, 0)).toBe(JB_STORED);
    expect(jb.push(10, 1600, false, PAY, n, 1000)).toBe(JB_DUPLICATE);
    expect(jb.pop(5000, OUT, 100)).toBe(n);
    expect(jb.push(10, 1600, false, PAY, n, 6000)).toBe(JB_DUPLICATE, "after playout: a copy, not late");
    expect(jb.duplicates).toBe(2);
    expect(jb.late).toBe(0);
    expect(jb.played).toBe(1);
  });

  it("drops a late packet and counts it", () => {
    const jb = configured(2);
    plan(100, 3, 0);
    ARRIVE[7] = 7 * FRAME_US + 60000;
    run(jb, 101, 5000);
    expect(POPS[8]).toBe(JB_MISSING);
    expect(PUSHRC[7]).toBe(JB_LATE);
    expect(jb.late).toBe(1);
    expect(jb.reanchors).toBe(0);
    for (let j = 9; j <= 100; j++) expect(POPS[j]).toBe(j - 1);
  });

  it("never writes more than cap: a frame too large for it is dropped", () => {
    const jb = configured(1);
    memory.fill(OUT, 0xee, 128);
    expect(jb.push(1, 0, false, PAY, 100, 0)).toBe(JB_STORED);
    expect(jb.pop(1000, OUT, 99)).toBe(JB_OUT_TOO_SMALL);
    for (let i = 0; i < 128; i++) expect(load<u8>(OUT + <usize>i)).toBe(0xee);
    expect(jb.outTooSmall).toBe(1);
    expect(jb.push(2, 160, false, PAY, 100, 20000)).toBe(JB_STORED);
    expect(jb.pop(21000, OUT, -1)).toBe(JB_OUT_TOO_SMALL);
    expect(jb.push(3, 320, false, PAY, 100, 40000)).toBe(JB_STORED);
    expect(jb.pop(41000, OUT, 100)).toBe(100);
  });
});

describe("JitterBuffer wraparound, restarts and talkspurts", () => {
  it("plays across the sequence number wrap 65535 -> 0 and the timestamp wrap", () => {
    const jb = configured(2);
    plan(200, 65535 - 30, 0xffffffff - 20 * FRAME + 1);
    run(jb, 201, 5000);
    expect(SEQ[31]).toBe(0);
    expect(TS[19]).toBe(0xffffff60);
    expect(TS[20]).toBe(0, "the timestamp wraps between packets 19 and 20");
    for (let j = 1; j <= 200; j++) expect(POPS[j]).toBe(j - 1);
    expect(jb.restarts).toBe(0);
    expect(jb.concealed).toBe(0);
    expect(badPayloads).toBe(0);
  });

  it("resynchronises on a large sequence jump: the new source starts afresh", () => {
    const jb = configured(2);
    plan(100, 100, 0);
    for (let i = 50; i < 100; i++) { SEQ[i] = (SEQ[i] + 30000) & 0xffff; TS[i] += 0x76543210; }
    run(jb, 101, 5000);
    expect(PUSHRC[50]).toBe(JB_RESTARTED);
    expect(jb.restarts).toBe(1);
    for (let j = 1; j <= 49; j++) expect(POPS[j]).toBe(j - 1);
    expect(POPS[50]).toBe(JB_NOT_STARTED, "49 was dropped with the old source");
    for (let j = 51; j <= 100; j++) expect(POPS[j]).toBe(j - 1);
  });

  it("resynchronises when the caller reports a new SSRC", () => {
    const jb = configured(1);
    expect(jb.onSsrc(0xaaaa)).toBe(false);
    expect(jb.push(5, 800, false, PAY, 20, 0)).toBe(JB_STORED);
    expect(jb.onSsrc(0xaaaa)).toBe(false);
    expect(jb.onSsrc(0xbbbb)).toBe(true);
    expect(jb.restarts).toBe(1);
    expect(jb.pop(1000, OUT, 100)).toBe(JB_NOT_STARTED);
    expect(jb.push(6, 960, false, PAY, 20, 20000)).toBe(JB_RESTARTED);
    expect(jb.pop(21000, OUT, 100)).toBe(20);
  });

  it("re-anchors on the marker that ends a silence, the talkspurt plays from the target", () => {
    const jb = configured(2);
    plan(100, 500, 9000);
    // 2 s of DTX after packet 49: timestamps jump 100 frames, sequence numbers do not; the
    // talkspurt arrives 7 ms later in its period than before, which would make it late.
    for (let i = 50; i < 100; i++) { TS[i] += 100 * FRAME; ARRIVE[i] = <i64>(i + 100) * FRAME_US + 17000; }
    MARK[50] = true;
    run(jb, 201, 5000);
    expect(PUSHRC[50]).toBe(JB_REANCHORED);
    for (let i = 51; i < 100; i++) expect(PUSHRC[i]).toBe(JB_STORED);
    expect(jb.reanchors).toBe(1);
    expect(jb.late).toBe(0);
    for (let j = 1; j <= 50; j++) expect(POPS[j]).toBe(j - 1);
    for (let j = 51; j <= 150; j++) expect(POPS[j]).toBe(JB_MISSING, "silence " + j.toString());
    // packet 50 at 3017 ms; pop 151 at 3025 ms waits, 51 arrives at 3037 ms, pop 152 plays 50.
    expect(POPS[151]).toBe(JB_NOT_STARTED);
    for (let j = 152; j <= 200; j++) expect(POPS[j]).toBe(j - 102);
    expect(jb.delayUs).toBeLessThan(35000);
  });

  it("re-anchors after two newer packets equally late (timeline moved back)", () => {
    const jb = configured(2);
    plan(120, 500, 9000);
    // From packet 50 on the sender's clock jumped back by 3 frames.
    for (let i = 50; i < 120; i++) TS[i] -= 3 * FRAME;
    run(jb, 121, 5000);
    expect(PUSHRC[50]).toBe(JB_LATE);
    expect(PUSHRC[51]).toBe(JB_REANCHORED);
    expect(jb.reanchors).toBe(1);
    expect(jb.late).toBe(1);
    expect(POPS[50]).toBe(49);
    expect(POPS[51]).toBe(JB_MISSING, "re-buffering mid-stream conceals");
    for (let j = 52; j <= 120; j++) expect(POPS[j]).toBe(j - 1);
  });

  it("leaves a burst after a stall alone: its packets get less late, no re-anchor", () => {
    const jb = configured(2);
    plan(200, 1, 0);
    for (let i = 50; i < 60; i++) ARRIVE[i] = 60 * FRAME_US + <i64>(i - 50) * 100;
    run(jb, 201, 5000);
    expect(jb.reanchors).toBe(0);
    expect(jb.late).toBeGreaterThan(0);
    for (let j = 62; j <= 200; j++) expect(POPS[j]).toBe(j - 1);
  });

  it("re-anchors when in-sequence packets run past the window (timestamps jumped ahead)", () => {
    const jb = configured(2);
    plan(120, 1, 0);
    for (let i = 60; i < 120; i++) TS[i] += 40 * FRAME;
    run(jb, 121, 5000);
    expect(PUSHRC[60]).toBe(JB_OVERFLOW);
    expect(PUSHRC[61]).toBe(JB_REANCHORED);
    expect(jb.overflow).toBe(1);
    for (let j = 63; j <= 120; j++) expect(POPS[j]).toBe(j - 1);
  });

  it("starts on time when the packets that would give the depth are lost", () => {
    const jb = configured(3);
    plan(50, 1, 0);
    ARRIVE[1] = -1;
    ARRIVE[2] = -1;
    run(jb, 50, 5000);
    expect(POPS[0]).toBe(JB_NOT_STARTED);
    expect(POPS[1]).toBe(JB_NOT_STARTED);
    expect(POPS[2]).toBe(0, "45 ms after the first packet: when 3 frames would be there");
    expect(POPS[3]).toBe(JB_MISSING);
    expect(POPS[4]).toBe(JB_MISSING);
    expect(POPS[5]).toBe(3);
    expect(jb.skipped).toBe(0);
  });

  it("starts from the oldest packet when the first ones arrive reordered", () => {
    const jb = configured(2);
    plan(50, 1, 0);
    ARRIVE[0] = 1000;
    ARRIVE[1] = 0;
    run(jb, 50, 5000);
    expect(POPS[0]).toBe(0);
    expect(POPS[1]).toBe(1);
  });

  it("starts at the target depth when a burst arrives before the first pop", () => {
    const jb = configured(2);
    plan(50, 1, 0);
    for (let i = 0; i < 5; i++) ARRIVE[i] = <i64>i * 10;
    for (let i = 5; i < 50; i++) ARRIVE[i] = <i64>(i - 3) * FRAME_US;
    run(jb, 40, 5000);
    expect(POPS[0]).toBe(3);
    expect(jb.skipped).toBe(3);
    for (let j = 1; j < 40; j++) expect(POPS[j]).toBe(j + 3);
  });
});

describe("JitterBuffer clock drift", () => {
  it("sender 1% fast for 60 s: the depth stays bounded, the excess frames are skipped", () => {
    const jb = configured(2);
    plan(3030, 1, 0, 19800);
    run(jb, 3000, 5000);
    let maxDepth = 0;
    for (let j = 0; j < 3000; j++) maxDepth = max(maxDepth, DEPTH[j]);
    expect(maxDepth).toBeLessThanOrEqual(4);
    expect(jb.skipped).toBeGreaterThanOrEqual(25);
    expect(jb.skipped).toBeLessThanOrEqual(35);
    expect(jb.overflow).toBe(0);
    expect(jb.concealed).toBe(0);
    expect(jb.lastDelayUs).toBeLessThanOrEqual(60000);
    expect(badPayloads).toBe(0);
  });

  it("sender 1% slow for 60 s: re-anchors now and then, plays nearly everything", () => {
    const jb = configured(2);
    plan(2970, 1, 0, 20200);
    run(jb, 3000, 5000);
    expect(jb.reanchors).toBeGreaterThan(0);
    expect(jb.played).toBeGreaterThan(2800);
    expect(jb.late).toBeLessThan(60);
    expect(badPayloads).toBe(0);
  });
});

describe("JitterBuffer jitter and target", () => {
  it("measures no jitter on a constant delay and RFC 3550 A.8's value on an alternating one", () => {
    let jb = configured(2);
    plan(200, 1, 77, FRAME_US, 3000);
    run(jb, 200, 5000);
    expect(jb.jitter).toBe(0);
    expect(jb.targetForJitter(jb.jitter)).toBe(1);
    jb = configured(2);
    plan(400, 1, 77);
    for (let i = 1; i < 400; i += 2) ARRIVE[i] += 2000; // 2 ms = 16 units, |D| = 16 every packet
    run(jb, 400, 5000);
    expect(jb.jitter).toBeGreaterThanOrEqual(15);
    expect(jb.jitter).toBeLessThanOrEqual(16);
    expect(jb.targetForJitter(jb.jitter)).toBe(2);
  });

  it("turns jitter into a target of 1 + ceil(2 x jitter / frame), at most half the slots", () => {
    const jb = configured(2);
    expect(jb.targetForJitter(0)).toBe(1);
    expect(jb.targetForJitter(1)).toBe(2);
    expect(jb.targetForJitter(80)).toBe(2);
    expect(jb.targetForJitter(81)).toBe(3);
    expect(jb.targetForJitter(480)).toBe(7);
    expect(jb.targetForJitter(0xffffffff)).toBe(8);
    expect(new JitterBuffer().targetForJitter(500)).toBe(1, "unconfigured");
  });
});

describe("JitterBuffer robustness", () => {
  it("survives random input: pops never exceed cap, nothing past cap is touched", () => {
    const jb = configured(2);
    let seed: u32 = 12345;
    let seq: u32 = 0;
    let ts: u32 = 0;
    let now: i64 = 0;
    let bad = 0;
    for (let i = 0; i < 40000; i++) {
      seed = seed * 1103515245 + 12345;
      const r = seed >> 8;
      now += <i64>(r % 9000);
      if ((r & 3) == 0) {
        const cap = <i32>((r >> 4) % 520) - 10;
        memory.fill(OUT, 0xa5, JB_MAX_PAYLOAD + 64);
        const n = jb.pop(now, OUT, cap);
        if (n > cap) bad++;
        const from = max(0, max(n, cap));
        for (let b = from; b < JB_MAX_PAYLOAD + 64; b++) if (load<u8>(OUT + <usize>b) != 0xa5) { bad++; break; }
      } else {
        const kind = (r >> 4) & 15;
        if (kind == 0) seq = seed & 0xffff; else if (kind < 4) seq += (r >> 10) & 7; else seq++;
        if (kind == 1) ts = seed; else if (kind == 2) ts -= (r >> 12) & 4095; else ts += FRAME * ((r >> 9) & 3);
        const len = <i32>((r >> 3) % 500) - 5;
        jb.push(seq, ts, (r & 64) != 0, PAY, len, now);
      }
      if (jb.depth > 16 || jb.held > 16 || jb.depth < jb.held) bad++;
    }
    expect(bad).toBe(0);
    expect(jb.pushed).toBeGreaterThan(25000);
  });

  it("allocates nothing per packet or frame", () => {
    const jb = configured(2);
    plan(3000, 1, 0, 19900);
    ARRIVE[100] = -1;
    run(jb, 10, 5000); // warm up
    const before = probe();
    run(jb, 3000, 5000);
    expect(probe()).toBe(before);
  });
});

function probe(): usize {
  const p = heap.alloc(16);
  heap.free(p);
  return p;
}
