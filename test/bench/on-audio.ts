// npm run bench: what one audio frame and one console request cost the firmware in the
// simulator, in nanoseconds (noisy) and in WASM instructions (exact, from an instrumented
// copy of the same module). Figures go in docs/firmware.md.

import { performance } from "node:perf_hooks";
import { loadBoard, frameSamples } from "../../host-tools/boards.ts";
import { SimBoard } from "../../host-tools/sim/board.ts";
import { tone } from "../../host-tools/sim/audio.ts";
import { slipEncode } from "../../host-tools/link/slip.ts";
import { encodeFrame, Kind, Command } from "../../host-tools/link/frame.ts";
import { instrumentForCounting } from "./instrument.ts";
import { firmwareBytes, tempDir } from "../host/helpers.ts";

interface Exports {
  memory: WebAssembly.Memory;
  on_audio(n: number): void;
  on_uart(n: number): void;
  tick(now: bigint): bigint;
  uart_rx_buffer(): number;
  audio_capture_buffer(): number;
  __icount_get?(): bigint;
  __icount_reset?(): void;
}

const board = loadBoard("sim");
const samples = frameSamples(board);
const frameUs = board.audio.frameMs * 1000;
const hello = slipEncode(encodeFrame({ kind: Kind.REQUEST, command: Command.HELLO, id: 1, status: 0, payload: new Uint8Array(0) }));

function boot(wasm: Uint8Array): { sim: SimBoard; ex: Exports } {
  const sim = new SimBoard({ board, firmware: wasm, dir: tempDir("tincan-bench-"), clock: "virtual", audioIn: tone(440, board.audio.sampleRateHz) });
  sim.boot();
  if (sim.state !== "running") throw new Error(`board did not boot: ${sim.crashReason}`);
  const ex = sim.exports as unknown as Exports;
  const capture = new Int16Array(ex.memory.buffer, ex.audio_capture_buffer(), samples);
  tone(440, board.audio.sampleRateHz).read(capture);
  return { sim, ex };
}

/** Median of `rounds` timings of `n` calls, in ns per call. */
function time(n: number, rounds: number, fn: () => void): number {
  const per: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    per.push(((performance.now() - t0) * 1e6) / n);
  }
  per.sort((a, b) => a - b);
  return per[Math.floor(per.length / 2)];
}

function count(ex: Exports, n: number, fn: () => void): number {
  ex.__icount_reset!();
  for (let i = 0; i < n; i++) fn();
  return Number(ex.__icount_get!()) / n;
}

const plain = boot(firmwareBytes());
const counted = boot(instrumentForCounting(firmwareBytes()));
const feedHello = (ex: Exports) => () => {
  new Uint8Array(ex.memory.buffer, ex.uart_rx_buffer(), hello.length).set(hello);
  ex.on_uart(hello.length);
};

const rows: [string, number, number, string][] = [];
const audioNs = time(20_000, 9, () => plain.ex.on_audio(samples));
const audioInstr = count(counted.ex, 1000, () => counted.ex.on_audio(samples));
rows.push([`on_audio (${samples} samples: G.722 encode + decode)`, audioNs, audioInstr, `${((audioNs / (frameUs * 1000)) * 100).toFixed(4)} % of a ${board.audio.frameMs} ms frame`]);

const simFrameNs = time(1, 5, () => plain.sim.runFor(frameUs * 5000)) / 5000;
rows.push(["simulated frame (HAL copy in/out + on_audio + ticks)", simFrameNs, Number.NaN, `${(simFrameNs / audioNs).toFixed(1)}x on_audio alone`]);

const helloNs = time(5000, 7, feedHello(plain.ex));
const helloInstr = count(counted.ex, 100, feedHello(counted.ex));
rows.push(["on_uart: one HELLO request -> response frame", helloNs, helloInstr, `${hello.length} bytes in`]);

let now = 1_000_000n;
const tickNs = time(20_000, 7, () => { now += 1000n; plain.ex.tick(now); });
let now2 = 1_000_000n;
const tickInstr = count(counted.ex, 1000, () => { now2 += 1000n; counted.ex.tick(now2); });
rows.push(["tick (no timer due)", tickNs, tickInstr, ""]);

const s3 = loadBoard("tincan-s3");
const cyclesPerFrame = (s3.mcu.clockHz * board.audio.frameMs) / 1000;
console.log(`Tincan firmware benchmarks (node ${process.version}, ${new Date().toISOString().slice(0, 10)})`);
console.log("");
console.log("| path | ns per call (median) | WASM instructions per call | note |");
console.log("|---|---:|---:|---|");
for (const [name, ns, instr, note] of rows) {
  console.log(`| ${name} | ${ns.toFixed(0)} | ${Number.isNaN(instr) ? "-" : instr.toFixed(0)} | ${note} |`);
}
console.log("");
console.log(`On a ${s3.mcu.clockHz / 1e6} MHz ESP32-S3 a ${board.audio.frameMs} ms frame is ${cyclesPerFrame.toLocaleString("en")} cycles;`);
console.log(`the frame loop's ${audioInstr.toFixed(0)} instructions (G.722 both ways) are ${((audioInstr / cyclesPerFrame) * 100).toFixed(3)} % of it at 1 cycle per instruction (WAMR AOT)`);
console.log(`and ${((audioInstr * 20 / cyclesPerFrame) * 100).toFixed(3)} % at 20 cycles per instruction (an interpreter, WAMR fast-interp or wasm3).`);
plain.sim.stop();
counted.sim.stop();
