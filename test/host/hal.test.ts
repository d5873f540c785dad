// Every HAL import of the simulated board, called the way firmware calls it: pointers into
// the module's own linear memory, error codes instead of traps.

import test from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import fs from "node:fs";
import path from "node:path";
import { p256 } from "@noble/curves/nist.js";
import { ERR } from "../../host-tools/sim/abi.ts";
import { tempDir, virtualBoard, scratch } from "./helpers.ts";

type Hal = Record<string, (...a: number[]) => number>;
const halOf = (b: ReturnType<typeof virtualBoard>) => b.hal as unknown as Hal;

function put(bytes: Uint8Array, at: number, data: Uint8Array | string): number {
  const d = typeof data === "string" ? new TextEncoder().encode(data) : data;
  bytes.set(d, at);
  return d.length;
}

test("non-volatile store: write, read, erase, persist, refuse bad keys and sizes", () => {
  const dir = tempDir();
  const board = virtualBoard({ dir });
  const hal = halOf(board);
  const { ptr, bytes } = scratch(board);
  const k = put(bytes, 0, "cfg.account");
  const v = put(bytes, 64, "sip:door@example.org");
  assert.equal(hal.nvs_write(ptr, k, ptr + 64, v), ERR.OK);
  bytes.fill(0, 128, 256);
  assert.equal(hal.nvs_read(ptr, k, ptr + 128, 100), v);
  assert.equal(Buffer.from(bytes.subarray(128, 128 + v)).toString(), "sip:door@example.org");
  // A short buffer gets the full length back and only what fits.
  bytes.fill(0, 128, 256);
  assert.equal(hal.nvs_read(ptr, k, ptr + 128, 3), v);
  assert.equal(Buffer.from(bytes.subarray(128, 132)).toString("latin1"), "sip\0");
  // It survives a reboot and a new simulator process (a new board object on the same dir).
  board.stop();
  const again = virtualBoard({ dir });
  const s2 = scratch(again);
  put(s2.bytes, 0, "cfg.account");
  assert.equal(halOf(again).nvs_read(s2.ptr, k, s2.ptr + 128, 100), v);
  assert.equal(halOf(again).nvs_erase(s2.ptr, k), ERR.OK);
  assert.equal(halOf(again).nvs_read(s2.ptr, k, s2.ptr + 128, 100), ERR.NOT_FOUND);
  assert.equal(halOf(again).nvs_erase(s2.ptr, k), ERR.NOT_FOUND);
  // Keys: 1..15 bytes of [a-z0-9._-].
  const bad = put(s2.bytes, 0, "Bad Key");
  assert.equal(halOf(again).nvs_write(s2.ptr, bad, s2.ptr + 64, 1), ERR.INVALID);
  assert.equal(halOf(again).nvs_write(s2.ptr, 16, s2.ptr + 64, 1), ERR.INVALID);
  assert.equal(halOf(again).nvs_write(s2.ptr, 0, s2.ptr + 64, 1), ERR.INVALID);
  put(s2.bytes, 0, "big");
  assert.equal(halOf(again).nvs_write(s2.ptr, 3, s2.ptr, 4001), ERR.INVALID);
  // Pointers outside memory are refused, not trapped on.
  assert.equal(halOf(again).nvs_write(s2.ptr, 3, again.memoryBytes - 2, 10), ERR.BOUNDS);
  assert.equal(halOf(again).nvs_read(-4, 3, s2.ptr, 10), ERR.BOUNDS);
  // The file is never half-written: it is valid JSON after every write, and no temp file is left.
  JSON.parse(fs.readFileSync(path.join(dir, "nvs.json"), "utf8"));
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes("tmp")), []);
});

test("non-volatile store: full is ERR_NO_SPACE and keeps the old contents", () => {
  const board = virtualBoard();
  const hal = halOf(board);
  const { ptr, bytes } = scratch(board);
  let written = 0;
  let last = 0;
  for (let i = 0; i < 100; i++) {
    const k = put(bytes, 0, `k${i}`);
    last = hal.nvs_write(ptr, k, ptr + 32, 1000);
    if (last !== ERR.OK) break;
    written++;
  }
  assert.equal(last, ERR.NO_SPACE);
  assert.ok(written >= 13 && written < 17, `${written} KB-sized values fit a 16 KiB store`);
  put(bytes, 0, "k0");
  assert.equal(hal.nvs_read(ptr, 2, ptr + 32, 0), 1000);
});

test("secure element: keys are made inside, signatures verify, the private key never appears", () => {
  const dir = tempDir();
  const board = virtualBoard({ dir });
  const hal = halOf(board);
  const { ptr, bytes } = scratch(board);
  const logs: string[] = [];
  const uart: Buffer[] = [];
  board.on("log", (l: string) => logs.push(l));
  board.on("uart", (b: Uint8Array) => uart.push(Buffer.from(b)));
  assert.equal(hal.se_public_key(0, ptr, 65), ERR.NOT_FOUND);
  assert.equal(hal.se_keygen(0), ERR.OK);
  assert.equal(hal.se_keygen(4), ERR.INVALID);
  assert.equal(hal.se_public_key(0, ptr, 64), ERR.TOO_SMALL);
  assert.equal(hal.se_public_key(0, ptr, 65), 65);
  const pub = Uint8Array.from(bytes.subarray(0, 65));
  assert.equal(pub[0], 0x04);
  const digest = new Uint8Array(32).map((_, i) => i * 7);
  put(bytes, 100, digest);
  assert.equal(hal.se_sign(0, ptr + 100, 32, ptr + 200, 64), 64);
  const sig = Uint8Array.from(bytes.subarray(200, 264));
  assert.ok(p256.verify(sig, digest, pub, { prehash: false }));
  assert.equal(hal.se_sign(0, ptr + 100, 31, ptr + 200, 64), ERR.INVALID);
  assert.equal(hal.se_sign(1, ptr + 100, 32, ptr + 200, 64), ERR.NOT_FOUND);
  // The key store is private to the element: mode 0600, and its key is nowhere else.
  const store = path.join(dir, "secure-element.json");
  assert.equal(fs.statSync(store).mode & 0o777, 0o600);
  const secret = (JSON.parse(fs.readFileSync(store, "utf8")).slots as (string | null)[])[0]!;
  const everything = [...logs, ...uart.map((b) => b.toString("hex")), ...fs.readdirSync(dir).filter((f) => f !== "secure-element.json").map((f) => fs.readFileSync(path.join(dir, f), "latin1"))].join("\n");
  assert.ok(!everything.includes(secret));
  const memory = board.exports!.memory as WebAssembly.Memory;
  assert.ok(!Buffer.from(memory.buffer).toString("hex").includes(secret), "not in linear memory");
  // The same key after a reboot: the element is non-volatile.
  board.stop();
  const again = virtualBoard({ dir });
  const s2 = scratch(again);
  assert.equal(halOf(again).se_public_key(0, s2.ptr, 65), 65);
  assert.deepEqual(Uint8Array.from(s2.bytes.subarray(0, 65)), pub);
});

test("clock, random, board id, log and UART bounds", () => {
  const board = virtualBoard({ wallClockStartMs: 1_780_000_000_000 });
  const hal = board.hal as unknown as Record<string, (...a: number[]) => number | bigint>;
  const { ptr, bytes } = scratch(board);
  board.runFor(1_500_000);
  assert.equal(hal.clock_us(), 1_500_000n);
  assert.equal(hal.wall_clock_ms(), 1_780_000_001_500n);
  bytes.fill(0, 0, 64);
  assert.equal(hal.random_fill(ptr, 64), 64);
  assert.ok(bytes.subarray(0, 64).some((b) => b !== 0));
  assert.equal(hal.random_fill(board.memoryBytes - 8, 64), ERR.BOUNDS);
  assert.equal(hal.board_id(ptr, 2), ERR.TOO_SMALL);
  assert.equal(hal.board_id(ptr, 32), 3);
  assert.equal(Buffer.from(bytes.subarray(0, 3)).toString(), "sim");
  assert.equal(hal.uart_write(board.memoryBytes, 1), ERR.BOUNDS);
  const lines: string[] = [];
  board.on("log", (l: string) => lines.push(l));
  put(bytes, 0, Uint8Array.from([0x68, 0x69, 0xc0, 0x21]));
  hal.log(1, ptr, 4);
  hal.log(2, board.memoryBytes - 1, 10);
  assert.equal(lines[0], "W (1500) hi?!", "0xC0 never reaches the UART inside text");
  assert.match(lines[1], /log line out of bounds/);
});

test("GPIO and audio configuration follow the board manifest", () => {
  const board = virtualBoard();
  const hal = halOf(board);
  assert.equal(hal.gpio_write(0, 1), ERR.OK);
  assert.equal(hal.gpio_read(0), 1);
  assert.equal(hal.gpio_write(0, 2), ERR.INVALID);
  assert.equal(hal.gpio_write(2, 1), ERR.DENIED, "the call button is an input");
  assert.equal(hal.gpio_write(9, 1), ERR.NOT_FOUND);
  assert.equal(hal.gpio_read(9), ERR.NOT_FOUND);
  assert.equal(hal.audio_configure(8000, 160), ERR.UNSUPPORTED);
  assert.equal(hal.audio_configure(16000, 321), ERR.UNSUPPORTED);
  assert.equal(hal.audio_configure(0, 0), ERR.OK);
  const frames = board.audioFrames;
  board.runFor(1_000_000);
  assert.equal(board.audioFrames, frames, "stopped audio delivers no frames");
  assert.equal(hal.audio_configure(16000, 320), ERR.OK);
  board.runFor(1_000_000);
  assert.equal(board.audioFrames, frames + 50);
});

test("UDP: open, send, receive into the firmware, close", async () => {
  const board = virtualBoard();
  const hal = halOf(board);
  const { ptr, bytes } = scratch(board);
  const peer = dgram.createSocket("udp4");
  await new Promise<void>((r) => peer.bind(0, "127.0.0.1", () => r()));
  const peerPort = peer.address().port;
  assert.equal(hal.udp_open(5, 0), ERR.INVALID);
  assert.equal(hal.udp_open(4, 70000), ERR.INVALID);
  const h = hal.udp_open(4, 0);
  assert.ok(h >= 0);
  // The sockaddr the firmware writes: family 4, port big-endian, 127.0.0.1.
  const addr = Uint8Array.from([4, 0, peerPort >> 8, peerPort & 0xff, 127, 0, 0, 1, ...new Array(12).fill(0)]);
  put(bytes, 1024, addr);
  put(bytes, 1100, "ping");
  const got = new Promise<[Buffer, dgram.RemoteInfo]>((r) => peer.once("message", (m, ri) => r([m, ri])));
  assert.equal(hal.udp_send(h, ptr + 1024, ptr + 1100, 4), 4);
  const [msg, rinfo] = await got;
  assert.equal(msg.toString(), "ping");
  assert.equal(hal.udp_local_port(h), rinfo.port);
  // A datagram to the board reaches on_udp.
  const before = board.udpDelivered;
  peer.send("pong", rinfo.port, "127.0.0.1");
  for (let i = 0; i < 100 && board.udpDelivered === before; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(board.udpDelivered, before + 1);
  assert.equal(hal.udp_send(h, ptr + 1024, ptr + 1100, -1), ERR.BOUNDS);
  assert.equal(hal.udp_send(7, ptr + 1024, ptr + 1100, 4), ERR.NOT_FOUND);
  assert.equal(hal.udp_close(h), ERR.OK);
  assert.equal(hal.udp_close(h), ERR.NOT_FOUND);
  const handles = Array.from({ length: 9 }, () => hal.udp_open(4, 0));
  assert.equal(handles.at(-1), ERR.NO_SPACE, "eight sockets at most");
  board.stop();
  peer.close();
});
