// The simulated board boots the real firmware as a microcontroller runtime would, and
// refuses what a runtime must refuse.

import { ABI_VERSION } from "../../host-tools/sim/abi.ts";
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import binaryen from "binaryen";
import { loadBoard } from "../../host-tools/boards.ts";
import { SimBoard } from "../../host-tools/sim/board.ts";
import { FirmwareError, validateFirmware } from "../../host-tools/sim/validate.ts";
import { tone, type AudioSink } from "../../host-tools/sim/audio.ts";
import { firmwareBytes, tempDir, virtualBoard } from "./helpers.ts";

const sim = loadBoard("sim");

test("boots, logs its board and ABI version, and keeps running", () => {
  const logs: string[] = [];
  const board = new SimBoard({ board: sim, firmware: firmwareBytes(), dir: tempDir(), clock: "virtual" });
  board.on("log", (line: string) => logs.push(line));
  board.boot();
  assert.equal(board.state, "running");
  assert.match(logs[0], new RegExp(`^I \\(0\\) tincan firmware 0\\.1\\.0 abi ${ABI_VERSION} board sim$`));
  board.runFor(3_000_000);
  assert.equal(board.state, "running");
  assert.equal(board.audioFrames, 150, "3 s of 20 ms frames");
});

test("100,000 audio frames in virtual time with no call: the speaker stays silent, heap flat", () => {
  const frames: Int16Array[] = [];
  let captured = 0;
  let loud = 0;
  const sink: AudioSink = { write: (f) => { if (frames.length < 3) frames.push(f); captured++; if (f.some((s) => s !== 0)) loud++; }, close() {} };
  const board = virtualBoard({ audioIn: tone(1000, 16000, -6), audioOut: sink });
  board.runFor(20_000 * 10); // warm up: every start-up allocation has happened
  const heapAfterWarmup = board.heapTop();
  const highWaterAfterWarmup = board.memoryHighWater();
  const started = board.audioFrames;
  board.runFor(20_000 * 100_000);
  assert.equal(board.state, "running");
  assert.equal(board.audioFrames - started, 100_000);
  assert.equal(captured, 100_010);
  assert.equal(board.heapTop(), heapAfterWarmup, "heap_top did not move");
  assert.equal(board.memoryHighWater(), highWaterAfterWarmup, "no byte above the high-water mark was written");
  assert.ok(heapAfterWarmup < board.memoryBytes * 0.6, `heap top ${heapAfterWarmup} inside ${board.memoryBytes} with room to spare`);
  // Hands-free: without a call the microphone never reaches the speaker (it would howl).
  assert.equal(loud, 0, "every idle frame is silence");
});

test("the status LED blinks once a second, driven by tick deadlines", () => {
  const board = virtualBoard();
  const changes: [number, number][] = [];
  board.on("gpio", (id: number, level: number) => changes.push([id, level]));
  board.runFor(10_000_000);
  // On at boot (before the listener), then off at 0.1 s, on at 1.0 s, ... on at 10.0 s.
  assert.equal(changes.length, 20);
  assert.ok(changes.every(([id], i) => id === 1 && changes[i][1] === (i % 2 === 0 ? 0 : 1)));
  assert.equal(board.pin(1), 1);
});

test("the call button reaches the firmware", () => {
  const board = virtualBoard();
  const logs: string[] = [];
  board.on("log", (l: string) => logs.push(l));
  board.setInput(2, 1);
  board.setInput(2, 0);
  // With no call.target configured the button has nothing to dial, and says so.
  assert.deepEqual(logs.map((l) => l.replace(/^I \(\d+\) /, "")), ["call button pressed", "call button: no call.target configured", "call button released"]);
  assert.throws(() => board.setInput(0, 1), /no input pin 0/);
});

// --- refusals ---------------------------------------------------------------------------

function module(build: (m: binaryen.Module) => void): Uint8Array {
  const m = new binaryen.Module();
  build(m);
  assert.ok(m.validate());
  const bytes = m.emitBinary();
  m.dispose();
  return bytes;
}

function refused(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(() => validateFirmware(bytes, sim, "x.wasm"), (e: unknown) => {
    assert.ok(e instanceof FirmwareError);
    assert.ok(!e.message.includes("\n"), "one line");
    assert.match(e.message, pattern);
    return true;
  });
  assert.throws(() => new SimBoard({ board: sim, firmware: bytes, firmwareName: "x.wasm", dir: tempDir(), clock: "virtual" }),
    (e: unknown) => e instanceof FirmwareError && pattern.test(e.message));
}

test("a module with an import outside the ABI is refused, naming it", () => {
  refused(module((m) => {
    m.addFunctionImport("bogus", "hal", "bogus", binaryen.none, binaryen.none);
    m.setMemory(8, 8, "memory");
  }), /^x\.wasm: imports hal\.bogus, which is not in boards\/ABI\.md$/);
  refused(module((m) => {
    m.addFunctionImport("fd_write", "wasi_snapshot_preview1", "fd_write", binaryen.createType([binaryen.i32, binaryen.i32, binaryen.i32, binaryen.i32]), binaryen.i32);
    m.setMemory(8, 8, "memory");
  }), /imports wasi_snapshot_preview1\.fd_write, which is not in boards\/ABI\.md/);
});

test("an ABI import with the wrong signature is refused", () => {
  refused(module((m) => {
    m.addFunctionImport("log", "hal", "log", binaryen.i32, binaryen.none);
    m.setMemory(8, 8, "memory");
  }), /imports hal\.log as \(i32\) -> \(\), but the ABI says \(i32, i32, i32\) -> \(\)/);
});

test("an oversize or growable memory is refused", () => {
  refused(module((m) => m.setMemory(9, 9, "memory")), /memory of 9 pages \(576 KiB\) exceeds board sim's 8 pages \(512 KiB\)/);
  refused(module((m) => m.setMemory(1, 16, "memory")), /memory must be fixed \(initial = maximum\), but it is 1 pages up to 16/);
  refused(module((m) => m.setMemory(1, -1 >>> 0, "memory")), /memory must be fixed/);
  refused(module((m) => m.setMemory(1, 1)), /does not export its memory/);
});

test("a module missing a required export is refused", () => {
  refused(module((m) => m.setMemory(8, 8, "memory")), /does not export function tincan_abi_version, which the ABI requires/);
});

test("a truncated or non-WASM file is refused with one line", () => {
  const fw = firmwareBytes();
  for (const len of [0, 3, 7, 9, 100, fw.length >> 1, fw.length - 1]) {
    refused(fw.subarray(0, len), /^x\.wasm: not a valid WASM module: /);
  }
  refused(new TextEncoder().encode("#!/bin/sh\necho this is not wasm\n"), /not a valid WASM module/);
});

test("the built firmware is refused by a board too small for it", () => {
  const tiny = { ...sim, id: "tiny", wasm: { ...sim.wasm, memoryPages: 2 } };
  assert.throws(() => validateFirmware(firmwareBytes(), tiny), /exceeds board tiny's 2 pages/);
  const cramped = { ...sim, id: "cramped", wasm: { ...sim.wasm, codeBytesMax: 100 } };
  assert.throws(() => validateFirmware(firmwareBytes(), cramped), /code of \d+ bytes exceeds board cramped's budget of 100 bytes/);
});

test("a corrupt non-volatile store stops the boot with a clear error, and is not overwritten", () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, "nvs.json"), "{ this is not json");
  assert.throws(() => virtualBoard({ dir }), /nvs\.json: the non-volatile store is not valid JSON/);
  assert.equal(fs.readFileSync(path.join(dir, "nvs.json"), "utf8"), "{ this is not json");
  fs.writeFileSync(path.join(dir, "nvs.json"), JSON.stringify({ format: "tincan-nvs/1", entries: { "BAD KEY": "AAAA" } }));
  assert.throws(() => virtualBoard({ dir }), /corrupt entry "BAD KEY"/);
});

test("a firmware trap crashes the board cleanly, with the panic reason, and never escapes", () => {
  const crashy = module((m) => {
    m.addFunctionImport("panic", "hal", "panic", binaryen.createType([binaryen.i32, binaryen.i32]), binaryen.none);
    m.setMemory(8, 8, "memory", [{ offset: m.i32.const(16), data: new TextEncoder().encode("out of cheese") }]);
    const i = binaryen.i32, l = binaryen.i64, none = binaryen.none;
    const sig = (p: number[], r: number) => [binaryen.createType(p), r] as const;
    const fn = (name: string, [p, r]: readonly [number, number], body: binaryen.ExpressionRef) => { m.addFunction(name, p, r, [], body); m.addFunctionExport(name, name); };
    fn("tincan_abi_version", sig([], i), m.i32.const(ABI_VERSION));
    fn("init", sig([], i), m.i32.const(0));
    fn("tick", sig([l], l), m.i64.const(-1, -1));
    fn("on_uart", sig([i], none), m.block(null, [m.call("panic", [m.i32.const(16), m.i32.const(13)], none), m.unreachable()]));
    fn("on_udp", sig([i, i], none), m.nop());
    fn("on_tcp", sig([i, i, i], none), m.nop());
    fn("on_audio", sig([i], none), m.nop());
    fn("on_gpio", sig([i, i], none), m.nop());
    for (const name of ["uart_rx_buffer", "uart_rx_capacity", "udp_rx_buffer", "udp_rx_capacity", "udp_rx_address", "tcp_rx_buffer", "tcp_rx_capacity", "audio_capture_buffer", "audio_playout_buffer", "audio_capacity", "heap_top"]) {
      fn(name, sig([], i), m.i32.const(name.endsWith("capacity") ? 512 : 1024));
    }
  });
  const board = new SimBoard({ board: sim, firmware: crashy, dir: tempDir(), clock: "virtual" });
  const crashes: string[] = [];
  board.on("crash", (r: string) => crashes.push(r));
  board.boot();
  assert.equal(board.state, "running");
  board.feedUart(new Uint8Array([1, 2, 3]));
  assert.equal(board.state, "crashed");
  assert.equal(crashes.length, 1);
  assert.match(crashes[0], /^out of cheese \(.*unreachable.*\)$/);
  board.feedUart(new Uint8Array([1])); // ignored, no second crash
  board.runFor(1_000_000);
  assert.equal(crashes.length, 1);
});
