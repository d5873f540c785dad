// The device console, end to end: the real firmware in the simulated board, the real link code.

import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync, spawn } from "node:child_process";
import path from "node:path";
import { ConsoleClient } from "../../host-tools/link/console.ts";
import { SlipDecoder, slipEncode } from "../../host-tools/link/slip.ts";
import { encodeFrame, decodeFrame, decodeHello, decodeStats, Kind, Command, Status, MAX_FRAME, type Frame } from "../../host-tools/link/frame.ts";
import { crc32 } from "../../host-tools/link/crc32.ts";
import { startSim } from "../../host-tools/sim/run.ts";
import { root, tempDir, virtualBoard } from "./helpers.ts";

const cli = path.join(root, "dist", "tincan.mjs");

test("HELLO round-trips over socket:// through the link code", async () => {
  const sim = await startSim({ boardId: "sim", dir: tempDir(), firmware: path.join(root, "build", "firmware.wasm") });
  const client = await ConsoleClient.open(sim.url);
  try {
    const logs: string[] = [];
    client.onLog((l) => logs.push(l));
    const hello = await client.hello();
    assert.equal(hello.boardId, "sim");
    assert.equal(hello.abiVersion, 5);
    assert.equal(hello.firmwareVersion, "0.1.0");
    assert.equal(hello.maxPayload, 2048);
    assert.ok(hello.uptimeMs >= 0 && hello.uptimeMs < 10_000);
    const stats = await client.stats();
    assert.equal(stats.framesAccepted, 2);
    assert.equal(stats.crcErrors, 0);
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(logs.some((l) => /^I \(\d+\) tincan firmware 0\.1\.0 abi 5 board sim$/.test(l)), "the boot log came over the same link");
  } finally {
    await client.close();
    await sim.stop();
  }
});

test("tincan hello --json and a one-line error when nothing listens", async () => {
  const sim = await startSim({ boardId: "sim", dir: tempDir() });
  try {
    const child = spawn(process.execPath, [cli, "hello", "--port", sim.url, "--json"]);
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const code = await new Promise((r) => child.on("close", r));
    assert.equal(code, 0);
    assert.equal(JSON.parse(out).boardId, "sim");
  } finally {
    await sim.stop();
  }
  const r = spawnSync(process.execPath, [cli, "hello", "--port", "socket://127.0.0.1:1"], { encoding: "utf8" });
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, /^error: .*socket:\/\/127\.0\.0\.1:1.*refused/);
});

test("tincan sim refuses a truncated firmware image with one line", () => {
  const r = spawnSync(process.execPath, [cli, "sim", "--firmware", path.join(root, "package.json")], { encoding: "utf8" });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^error: .*package\.json: not a valid WASM module: .*\n$/);
  const missing = spawnSync(process.execPath, [cli, "sim", "--board", "nope"], { encoding: "utf8" });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /^error: .*nope.*\n$/);
});

/** A board on the virtual clock with a frame collector on its UART. */
function consoleBoard() {
  const board = virtualBoard();
  const frames: Frame[] = [];
  const decoder = new SlipDecoder({ onFrame: (f) => frames.push(decodeFrame(f)) }, { maxFrame: MAX_FRAME });
  board.on("uart", (b: Uint8Array) => decoder.push(b));
  const send = (bytes: Uint8Array) => board.feedUart(bytes);
  const request = (command: number, id: number, payload = new Uint8Array(0)) =>
    slipEncode(encodeFrame({ kind: Kind.REQUEST, command, id, status: 0, payload }));
  return { board, frames, send, request };
}

test("bad console input: counted drops and error replies, never a trap", () => {
  const { board, frames, send, request } = consoleBoard();
  send(new Uint8Array([0x41, 0x42, 0x43])); // stray bytes before the first END since boot
  const badCrc = encodeFrame({ kind: Kind.REQUEST, command: Command.HELLO, id: 7, status: 0, payload: new Uint8Array(0) });
  badCrc[badCrc.length - 1] ^= 0x55;
  send(slipEncode(badCrc));
  send(new Uint8Array([0xc0, 1, 2, 3, 0xc0])); // too short
  send(new Uint8Array([0x41, 0x42, 0x43])); // noise between frames: one more malformed frame
  send(new Uint8Array([0xc0, ...new Uint8Array(3000).fill(7), 0xc0])); // oversize
  send(new Uint8Array([0xc0, 0xdb, 0x01, 0xc0])); // bad escape
  send(request(0x7e, 9)); // unknown command
  send(request(Command.HELLO, 10, new Uint8Array([1]))); // payload where none belongs
  send(request(Command.STATS, 11));
  assert.equal(board.state, "running");
  assert.deepEqual(frames.map((f) => [f.id, f.status]), [[9, Status.UNKNOWN_COMMAND], [10, Status.BAD_REQUEST], [11, Status.OK]]);
  const stats = decodeStats(frames[2].payload);
  assert.equal(stats.crcErrors, 1);
  assert.equal(stats.malformed, 3);
  assert.equal(stats.strayBytes, 3);
  assert.equal(stats.oversize, 1);
  assert.equal(stats.unknownCommands, 1);
  assert.equal(stats.framesAccepted, 3);
});

test("100,000 random frames: the board keeps answering HELLO", () => {
  const { board, frames, send, request } = consoleBoard();
  let seed = 0x12345678;
  const rand = () => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed; };
  const randomBytes = (n: number) => Uint8Array.from({ length: n }, () => rand() & 0xff);
  let helloId = 0;
  let expectedReplies = 0;
  for (let i = 0; i < 100_000; i++) {
    const kind = rand() % 6;
    if (kind === 0) send(randomBytes(rand() % 64)); // noise, in and out of frames
    else if (kind === 1) send(slipEncode(randomBytes(rand() % 80))); // random frame bodies
    else if (kind === 2) { // valid frame, random command and payload: answered (or not, if it is a response kind)
      send(request(rand() & 0xff, rand() & 0xffff, randomBytes(rand() % 32)));
      expectedReplies++;
    } else if (kind === 3) { // a valid frame with one bit flipped
      const f = encodeFrame({ kind: Kind.REQUEST, command: Command.HELLO, id: 1, status: 0, payload: randomBytes(rand() % 16) });
      f[rand() % f.length] ^= 1 << (rand() % 8);
      send(slipEncode(f));
    } else if (kind === 4) send(new Uint8Array([0xc0, ...randomBytes(2100 + (rand() % 200)), 0xc0])); // oversize
    else { // a real HELLO every so often
      if (i % 1000 < 995) continue;
      const before = frames.length;
      send(request(Command.HELLO, ++helloId & 0xffff));
      const reply = frames.slice(before).find((f) => f.kind === Kind.RESPONSE && f.id === (helloId & 0xffff) && f.command === Command.HELLO);
      assert.ok(reply, `HELLO ${helloId} answered after ${i} frames`);
      assert.equal(decodeHello(reply.payload).boardId, "sim");
    }
    assert.equal(board.state, "running", `still running after frame ${i}`);
  }
  assert.ok(helloId > 50);
  assert.ok(frames.length >= expectedReplies, "every valid request was answered");
  const before = frames.length;
  send(new Uint8Array([0xc0])); // close whatever frame the noise left open
  send(request(Command.HELLO, 0xbeef));
  assert.equal(frames.at(-1)?.id, 0xbeef, `final HELLO answered (${frames.length - before} replies)`);
  assert.equal(crc32("123456789"), 0xcbf43926);
});

test("a host that starts listening mid-frame is in step again at the next frame", () => {
  const board = virtualBoard();
  const wire: number[] = [];
  board.on("uart", (b: Uint8Array) => wire.push(...b));
  const hello = (id: number) => slipEncode(encodeFrame({ kind: Kind.REQUEST, command: Command.HELLO, id, status: 0, payload: new Uint8Array(0) }));
  const start = wire.length;
  board.feedUart(hello(1));
  const second = wire.length;
  board.setInput(2, 1); // a log line between the two responses
  board.feedUart(hello(2));
  for (let cut = start + 3; cut < second - 1; cut++) {
    const got: Frame[] = [];
    const d = new SlipDecoder({ onFrame: (f) => { try { got.push(decodeFrame(f)); } catch { /* the torn first frame */ } } });
    d.push(Uint8Array.from(wire.slice(cut)));
    assert.deepEqual(got.map((f) => f.id), [2], `listening from byte ${cut - start} of the first response`);
  }
});
