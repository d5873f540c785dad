// The simulated tincan-h7 (host-tools/sim/device.ts with the STM32 ROM emulator) against the
// real stm32flash (Debian's 0.7), and Tincan's own STM32 flash engine against the same board:
//
//   stm32flash  through a pty: socat PTY,link=<tmp>/tty,raw,echo=0 TCP:<the device's raw socket>.
//               A Linux pty drops PARENB, so stm32flash runs with -m 8n1 there (and the raw socket
//               applies no parity model). Writes with -v (each 256-byte block read back), reads
//               back with -r, GO with -g. stm32flash 0.7 erases by sector number only what the
//               file covers (a write at 0x08100000 erases sector 8, bank 2's first); -o erases a
//               page-aligned range by number (7 and 8, across the banks) or, with no range,
//               the whole chip (EXTENDED ERASE 0xFFFF).
//   engine      over rfc2217:// with the manifest's DTR/RTS reset sequence, from a board that
//               booted normally: write, read back, run; and each tool reads what the other wrote.
//               Parity is checked here: an engine at 8N1 gets no answer past the sync.
//
//   node --import tsx --test test/interop/stm32flash.test.ts
// Needs stm32flash and socat (Debian packages stm32flash, socat).

import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { loadBoard } from "../../host-tools/boards.ts";
import { FlashEngineError } from "../../host-tools/flash/engine.ts";
import { openStm32Engine, openStm32Link } from "../../host-tools/flash/stm32/client.ts";
import { openLink } from "../../host-tools/link/transport.ts";
import { startDevice, type RunningDevice } from "../../host-tools/sim/device.ts";
import type { DeviceMode } from "../../host-tools/sim/device.ts";

const board = loadBoard("tincan-h7");
const SECTOR = board.flash.eraseBytes;
const BASE = board.flash.baseAddress;
let tmp = "";
const children = new Set<ChildProcess>();
const devices = new Set<RunningDevice>();

before(() => {
  for (const [tool, args] of [["stm32flash", ["-h"]], ["socat", ["-V"]]] as const) {
    const r = spawnSync(tool, args, { encoding: "utf8" });
    if (r.error !== undefined) throw new Error(`${tool} is not installed: install the Debian package ${tool}`);
  }
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tincan-stm32flash-"));
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const d of devices) await d.stop();
  if (tmp !== "") fs.rmSync(tmp, { recursive: true, force: true });
});

async function device(name: string, bootMode: "normal" | "rom"): Promise<RunningDevice> {
  const d = await startDevice({ boardId: "tincan-h7", dir: path.join(tmp, name), paced: true, bootMode });
  devices.add(d);
  return d;
}

/** A pty bridged to the device's raw socket; stm32flash opens the pty as if it were a tty. */
async function bridge(d: RunningDevice, name: string): Promise<{ tty: string; stop(): Promise<void> }> {
  const tty = path.join(tmp, `${name}.tty`);
  const port = /:(\d+)$/.exec(d.rawUrl)![1];
  const child = spawn("socat", [`PTY,link=${tty},raw,echo=0`, `TCP:127.0.0.1:${port}`], { stdio: ["ignore", "ignore", "pipe"] });
  children.add(child);
  let err = "";
  child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
  for (let i = 0; i < 100 && !fs.existsSync(tty); i++) await sleep(20);
  if (!fs.existsSync(tty)) throw new Error(`socat made no pty: ${err}`);
  return {
    tty,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await gone;
      }
      children.delete(child);
      await sleep(50); // the device server frees its one client slot when the TCP side closes
    },
  };
}

/** stm32flash, asynchronously: the simulated board answers from this very process. */
function stm32flash(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn("stm32flash", ["-m", "8n1", "-b", String(board.rom.romBaud), ...args], { stdio: ["ignore", "pipe", "pipe"] });
    children.add(child);
    let out = "";
    child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, out });
    });
  });
}

function waitMode(d: RunningDevice, want: (m: DeviceMode) => boolean, ms = 3000): Promise<DeviceMode> {
  if (want(d.device.mode)) return Promise.resolve(d.device.mode);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => { d.device.off("mode", on); reject(new Error(`device still ${d.device.mode} after ${ms} ms`)); }, ms);
    const on = (m: DeviceMode) => { if (want(m)) { clearTimeout(t); d.device.off("mode", on); resolve(m); } };
    d.device.on("mode", on);
  });
}

const pattern = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => ((i * 131 + seed * 17) ^ (i >> 8)) & 0xff);
const erased = (n: number) => new Uint8Array(n).fill(0xff);
const hexAddr = (a: number) => "0x" + a.toString(16).padStart(8, "0");

test("stm32flash identifies the board, writes with -v, reads back with -r, GO boots it", async () => {
  const d = await device("whole", "rom");
  const data = pattern(5000, 1); // not a multiple of 32 or 256: the last block is 136 bytes
  const file = path.join(tmp, "whole.bin");
  fs.writeFileSync(file, data);
  d.device.flash.write(SECTOR, pattern(64, 2)); // sector 1: not under the file, must survive
  const b = await bridge(d, "whole");

  const w = await stm32flash(["-w", file, "-v", b.tty]);
  assert.equal(w.code, 0, w.out);
  assert.match(w.out, /Version {6}: 0x31/);
  assert.match(w.out, /Option 1 {5}: 0x00/);
  assert.match(w.out, /Device ID {4}: 0x0450 \(STM32H74xxx\/75xxx\)/);
  assert.match(w.out, /Wrote and verified address 0x08001388 \(100\.00%\)/);
  assert.deepEqual(d.device.flash.read(0, data.length), data);
  assert.deepEqual(d.device.flash.read(data.length, 32), erased(32), "the tail of the last flash word is 0xFF");
  assert.deepEqual(d.device.flash.read(SECTOR, 64), pattern(64, 2), "only sector 0 was erased");

  const out = path.join(tmp, "whole.out");
  const r = await stm32flash(["-r", out, "-S", `${hexAddr(BASE)}:${data.length}`, b.tty]);
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(new Uint8Array(fs.readFileSync(out)), data);

  const g = await stm32flash(["-g", "0x0", b.tty]);
  assert.equal(g.code, 0, g.out);
  assert.match(g.out, /Starting execution at address 0x08000000\.\.\. done\./);
  // What it boots is not a signed image, so the second-stage bootloader halts: out of the ROM all the same.
  assert.equal(await waitMode(d, (m) => m === "app" || m === "halted"), "halted");
  await b.stop();
});

test("stm32flash's sector numbers run on across the banks (8 = bank 2's first); -o erases a range, then all", async () => {
  const d = await device("banks", "rom");
  for (const s of [0, 7, 8, 9]) d.device.flash.write(s * SECTOR + 0x100, pattern(64, s));
  const data = pattern(3000, 3);
  const file = path.join(tmp, "banks.bin");
  fs.writeFileSync(file, data);
  const b = await bridge(d, "banks");
  const w = await stm32flash(["-w", file, "-v", "-S", hexAddr(BASE + 8 * SECTOR), b.tty]);
  assert.equal(w.code, 0, w.out);
  assert.deepEqual(d.device.flash.read(8 * SECTOR, data.length), data, "sector 8 erased and written");
  for (const s of [0, 7, 9]) assert.deepEqual(d.device.flash.read(s * SECTOR + 0x100, 64), pattern(64, s), `sector ${s} kept`);
  const out = path.join(tmp, "banks.out");
  const r = await stm32flash(["-r", out, "-S", `${hexAddr(BASE + 8 * SECTOR)}:${data.length}`, b.tty]);
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(new Uint8Array(fs.readFileSync(out)), data);

  const range = await stm32flash(["-o", "-S", `${hexAddr(BASE + 7 * SECTOR)}:${2 * SECTOR}`, b.tty]);
  assert.equal(range.code, 0, range.out);
  assert.deepEqual(d.device.flash.read(7 * SECTOR + 0x100, 64), erased(64), "sector 7");
  assert.deepEqual(d.device.flash.read(8 * SECTOR, 64), erased(64), "sector 8");
  assert.deepEqual(d.device.flash.read(9 * SECTOR + 0x100, 64), pattern(64, 9), "sector 9 kept");
  assert.deepEqual(d.device.flash.read(0x100, 64), pattern(64, 0), "sector 0 kept");

  const all = await stm32flash(["-o", b.tty]);
  assert.equal(all.code, 0, all.out);
  for (const s of [0, 9]) assert.deepEqual(d.device.flash.read(s * SECTOR + 0x100, 64), erased(64), `mass erase: sector ${s}`);

  // -R: a reset stub written to RAM at 0x20004100 and a GO there. BOOT0 is still high, so the
  // board comes back into its ROM, ready for the next session.
  const reset = await stm32flash(["-R", b.tty]);
  assert.equal(reset.code, 0, reset.out);
  assert.match(reset.out, /Reset done/);
  assert.equal(d.device.mode, "rom");
  const again = await stm32flash([b.tty]);
  assert.equal(again.code, 0, again.out);
  await b.stop();
});

test("engine over rfc2217: the reset sequence takes a normally booted board into its ROM; write, read back, run", async () => {
  const d = await device("engine", "normal");
  assert.equal(await waitMode(d, (m) => m !== "off"), "halted", "an empty board halts in its second-stage bootloader");
  const modes: DeviceMode[] = [];
  d.device.on("mode", (m: DeviceMode) => modes.push(m));
  const link = await openStm32Link(d.url, board);
  const log: string[] = [];
  const e = await openStm32Engine(board, link, { log: (l) => log.push(l) });
  assert.equal(d.device.mode, "rom");
  assert.match(e.chip, /^STM32H74xxx\/75xxx \(0x450\)/);
  assert.equal(e.baud, 115200);
  const data = pattern(2000, 4);
  const offset = board.flash.bankBytes! + 0x1234; // bank 2, not word aligned
  await e.write(offset, data);
  assert.deepEqual(d.device.flash.read(offset, data.length), data);
  assert.deepEqual(await e.read(offset - 4, 8), Uint8Array.from([0xff, 0xff, 0xff, 0xff, ...data.subarray(0, 4)]));
  await e.run();
  assert.equal(await waitMode(d, (m) => m === "app" || m === "halted"), "halted");
  assert.deepEqual(modes.filter((m, i) => m !== modes[i - 1]), ["off", "rom", "off", "halted"], `modes ${modes}; log:\n${log.join("\n")}`);
  await link.close();
  await sleep(50);
});

test("what the engine writes stm32flash reads, and what stm32flash writes the engine reads", async () => {
  const d = await device("cross", "rom");
  const mine = pattern(1500, 5);
  const theirs = pattern(1700, 6);
  let link = await openStm32Link(d.url, board);
  let e = await openStm32Engine(board, link);
  await e.write(2 * SECTOR, mine);
  await link.close();
  await sleep(50);

  const b = await bridge(d, "cross");
  const out = path.join(tmp, "cross.out");
  const r = await stm32flash(["-r", out, "-S", `${hexAddr(BASE + 2 * SECTOR)}:${mine.length}`, b.tty]);
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(new Uint8Array(fs.readFileSync(out)), mine);
  const file = path.join(tmp, "cross.bin");
  fs.writeFileSync(file, theirs);
  const w = await stm32flash(["-w", file, "-v", "-S", `${hexAddr(BASE + 4 * SECTOR)}:${theirs.length}`, b.tty]);
  assert.equal(w.code, 0, w.out);
  await b.stop();

  link = await openStm32Link(d.url, board);
  e = await openStm32Engine(board, link);
  assert.deepEqual(await e.read(4 * SECTOR, theirs.length), theirs);
  assert.deepEqual(await e.read(2 * SECTOR, mine.length), mine, "stm32flash's page erase of sector 4 left sector 2 alone");
  await link.close();
  await sleep(50);
});

test("engine at the wrong parity: 0x7F gets through (seven ones) but GET does not, and the error says 8E1", async () => {
  const d = await device("parity", "rom");
  const link = await openLink(d.url, { baud: board.rom.romBaud, parity: "none" });
  await assert.rejects(openStm32Engine(board, link), (e: Error) =>
    e instanceof FlashEngineError && e.code === "NO_ANSWER" && /answered the sync but not GET .* is the link at 8E1 \(even parity\)\?$/.test(e.message));
  assert.ok(d.device.lineErrors > 0, "the device's UART saw parity errors");
  await link.close();
  await sleep(50);
});

test("engine on a raw socket:// (no DTR/RTS) to a board not in its ROM: no answer, and the error says what to check", async () => {
  const d = await device("raw", "normal");
  await waitMode(d, (m) => m !== "off");
  const link = await openLink(d.rawUrl);
  await assert.rejects(openStm32Engine(board, link), (e: Error) =>
    e instanceof FlashEngineError && e.code === "NO_SYNC" && e.message === `no STM32 bootloader answered on ${d.rawUrl} at 115200 8E1 — is BOOT0 high / is this the right port?`);
  await link.close();
  await sleep(50);
});
