// @ts-nocheck: AssemblyScript, compiled by asc (test/bench/plc-wasm.ts); tsconfig.json takes in test/bench/**.
// Bench and interop entry: the firmware's Plc (firmware/audio/plc.ts) built alone with
// test/bench/plc.asconfig.json and driven from Node through one buffer in linear memory.
// Not firmware. Imports nothing but possibly env.abort.
import { Plc } from "../../firmware/audio/plc";

/** Room for the longest frame the bench hands over (120 ms at 16 kHz, with margin). */
const CAPACITY: i32 = 4096;
const frame = new StaticArray<i16>(CAPACITY);
const plc8 = new Plc(8000);
const plc16 = new Plc(16000);

function pick(rate: i32): Plc { return rate == 16000 ? plc16 : plc8; }

export function frameBuffer(): usize { return changetype<usize>(frame); }
export function frameCapacity(): i32 { return CAPACITY; }
/** A good frame of n samples in the buffer: Plc.received (may rewrite its start in place). */
export function received(rate: i32, n: i32): void { pick(rate).received(changetype<usize>(frame), n); }
/** A lost frame: Plc.conceal fills n samples of the buffer. */
export function conceal(rate: i32, n: i32): void { pick(rate).conceal(changetype<usize>(frame), n); }
export function reset(rate: i32): void { pick(rate).reset(); }
export function lostFrames(rate: i32): i32 { return pick(rate).lostFrames; }
/** Bytes of one Plc object's fields (its arrays are counted in docs/plc.md). */
export function objectBytes(): i32 { return offsetof<Plc>(); }
/** The stub allocator's next block: equal steps between two probes mean nothing else was
 *  allocated in between (the Plc must not allocate after construction). */
export function heapProbe(): usize { return heap.alloc(1); }
/** Heap bytes one new Plc(rate) takes with the stub runtime: object, arrays, headers, alignment. */
export function plcFootprint(rate: i32): usize {
  const a = heap.alloc(1);
  const b = heap.alloc(1);
  new Plc(rate);
  const c = heap.alloc(1);
  return c - b - (b - a);
}
