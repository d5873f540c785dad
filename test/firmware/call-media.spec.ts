// One call's media session (firmware/call/media.ts), two of them back to back: SRTP both ways,
// 20, 40 and 60 ms packets (a peer's ptime), G.722 and PCMU, RTP timestamps on the codec's
// clock, DTMF events in place of audio, and nothing allocated per frame.
import { MediaSession } from "../../firmware/call/media";
import { EntropyPool } from "../../firmware/sip/entropy";
import { CODEC_G722, CODEC_PCMU } from "../../firmware/audio/codecs";
import { AES_CM_128_HMAC_SHA1_80 } from "../../firmware/media/srtp-defs";
import { sockaddrFromText } from "../../firmware/lib/inet";

const FRAME: i32 = 320;
const capture = new StaticArray<i16>(FRAME);
const playout = new StaticArray<i16>(FRAME);
const rx = new StaticArray<u8>(2048);

function pool(seed: u32): EntropyPool {
  const p = new EntropyPool(512);
  let x = seed;
  for (let i = 0; i < 512; i++) { x = x * 1103515245 + 12345; store<u8>(p.address + <usize>i, <u8>(x >> 16)); }
  p.refilled();
  return p;
}

function setAddress(sa: usize, ip: string, port: i32): void {
  const b = String.UTF8.encode(ip);
  sockaddrFromText(sa, changetype<usize>(b), b.byteLength, port);
}

function session(seed: u32, codec: i32, pt: i32, ptime: i32, peer: string, txKeyByte: u8, rxKeyByte: u8): MediaSession {
  const m = new MediaSession(pool(seed));
  const c = m.config;
  c.codec = codec; c.sendPt = pt; c.receivePt = pt; c.sendEventPt = 101; c.receiveEventPt = 101;
  c.ptimeMs = ptime; c.send = true; c.receive = true; c.jitterFrames = 2;
  c.suite = AES_CM_128_HMAC_SHA1_80; c.keyLength = 16; c.saltLength = 14;
  for (let i = 0; i < 30; i++) { c.txKey[i] = txKeyByte + <u8>i; c.rxKey[i] = rxKeyByte + <u8>i; }
  setAddress(c.remoteAddress, peer, 4000);
  setAddress(c.rtcpAddress, peer, 4000);
  return m;
}

const src = new StaticArray<u8>(20);

/** Moves a's queued packets to b; returns how many and remembers the RTP timestamps of a's audio. */
function deliver(a: MediaSession, b: MediaSession, now: i64, stamps: u32[]): i32 {
  let n = 0;
  while (a.outbox.length > 0) {
    const len = a.outbox.peekLength();
    memory.copy(changetype<usize>(rx), a.outbox.peekData(), <usize>len);
    a.outbox.pop();
    const pt = rx[1] & 0x7f;
    if (pt != 72 && pt != 73 && pt < 96) stamps.push(bswap<u32>(load<u32>(changetype<usize>(rx) + 4)));
    b.receive(changetype<usize>(rx), len, changetype<usize>(src), now);
    n++;
  }
  return n;
}

function tone(f: i32): void {
  for (let i = 0; i < FRAME; i++) capture[i] = <i16>(8000 * Math.sin(2 * Math.PI * 1000 * <f64>(f * FRAME + i) / 16000));
}

function call(codec: i32, pt: i32, ptime: i32, frames: i32): StaticArray<i32> {
  const a = session(1, codec, pt, ptime, "192.0.2.2", 1, 101);
  const b = session(2, codec, pt, 20, "192.0.2.1", 101, 1);
  expect(a.start(0, false)).toBe(true);
  expect(b.start(0, false)).toBe(true);
  const stamps: u32[] = [];
  let loud = 0;
  for (let f = 0; f < frames; f++) {
    const now = <i64>f * 20_000;
    tone(f);
    a.frame(changetype<usize>(capture), changetype<usize>(playout), FRAME, now);
    deliver(a, b, now, stamps);
    b.frame(changetype<usize>(capture), changetype<usize>(playout), FRAME, now);
    deliver(b, a, now, []);
    let peak = 0;
    for (let i = 0; i < FRAME; i++) peak = max(peak, abs<i32>(playout[i]));
    if (peak > 4000) loud++;
  }
  const r = new StaticArray<i32>(6);
  r[0] = <i32>a.stats.packetsSent;
  r[1] = <i32>b.stats.packetsReceived;
  r[2] = <i32>b.stats.srtpDropped;
  r[3] = loud;
  r[4] = stamps.length > 1 ? <i32>(stamps[1] - stamps[0]) : -1;
  r[5] = <i32>b.stats.framesConcealed;
  return r;
}

describe("media session", () => {
  it("G.722 in 20 ms packets over SRTP: every frame heard", () => {
    const r = call(CODEC_G722, 9, 20, 200);
    expect(r[0]).toBe(200);
    expect(r[1]).toBe(200);
    expect(r[2]).toBe(0, "every packet authenticated");
    expect(r[3]).toBeGreaterThan(190, "the tone plays at B");
    expect(r[4]).toBe(160, "G.722's RTP clock is 8 kHz: 160 a frame");
  });

  it("40 and 60 ms packets when the peer asks: fewer packets, the same audio", () => {
    const r40 = call(CODEC_G722, 9, 40, 200);
    expect(r40[0]).toBe(100);
    expect(r40[4]).toBe(320, "a 40 ms packet carries 320 timestamp units");
    expect(r40[3]).toBeGreaterThan(185);
    const r60 = call(CODEC_PCMU, 0, 60, 201);
    expect(r60[0]).toBe(67);
    expect(r60[4]).toBe(480);
    expect(r60[3]).toBeGreaterThan(180, "PCMU through the 2:1 resampler both ways");
    expect(r60[2]).toBe(0);
  });

  it("a ptime that is not whole 20 ms frames gets 20 ms packets", () => {
    const r = call(CODEC_PCMU, 0, 30, 100);
    expect(r[0]).toBe(100);
    expect(r[4]).toBe(160, "PCMU: 160 timestamp units a 20 ms frame");
  });

  it("DTMF events replace audio and keep the RTP clock; the digit arrives once", () => {
    const a = session(3, CODEC_PCMU, 0, 20, "192.0.2.2", 1, 101);
    const b = session(4, CODEC_PCMU, 0, 20, "192.0.2.1", 101, 1);
    a.start(0, false);
    b.start(0, false);
    a.dtmfOut.start(5, 100, 10);
    const stamps: u32[] = [];
    const frameOf: i32[] = [];
    for (let f = 0; f < 40; f++) {
      const now = <i64>f * 20_000;
      tone(f);
      a.frame(changetype<usize>(capture), changetype<usize>(playout), FRAME, now);
      const had = stamps.length;
      deliver(a, b, now, stamps);
      for (let k = had; k < stamps.length; k++) frameOf.push(f);
      b.frame(changetype<usize>(capture), changetype<usize>(playout), FRAME, now);
    }
    expect(b.takeDigit()).toBe(5);
    expect(b.takeDigit()).toBe(-1, "once");
    // Audio after the event continues on the 8 kHz clock as if audio never stopped: 160 a frame.
    expect(stamps.length).toBeGreaterThan(20);
    expect(frameOf[0]).toBeGreaterThan(5, "the event took the first frames");
    for (let k = 1; k < stamps.length; k++) expect(<i32>(stamps[k] - stamps[0])).toBe(160 * (frameOf[k] - frameOf[0]));
  });

  it("allocates nothing per frame or packet", () => {
    call(CODEC_G722, 9, 40, 20); // warm up
    const a = session(5, CODEC_G722, 9, 20, "192.0.2.2", 1, 101);
    const afterConstruction = heapTop();
    a.start(0, false);
    for (let f = 0; f < 500; f++) {
      a.frame(changetype<usize>(capture), changetype<usize>(playout), FRAME, <i64>f * 20_000);
      while (a.outbox.length > 0) a.outbox.pop();
      a.tick(<i64>f * 20_000);
    }
    expect(heapTop()).toBe(afterConstruction, "frames, packets and RTCP left the heap alone");
  });
});

function heapTop(): usize { const p = heap.alloc(0); heap.free(p); return p; }
