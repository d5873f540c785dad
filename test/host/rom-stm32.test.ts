// The STM32 ROM emulator (host-tools/sim/rom/stm32.ts) driven byte by byte through a fake
// RomPort: a SimFlash of the tincan-h7 manifest on a temp dir, a manual clock and timers.
//   node --import tsx --test test/host/rom-stm32.test.ts

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { loadBoard } from "../../host-tools/boards.ts";
import { SimFlash } from "../../host-tools/sim/flash.ts";
import { createStm32Rom, IDLE_MS } from "../../host-tools/sim/rom/stm32.ts";
import type { RomEmulator, RomPort } from "../../host-tools/sim/rom/types.ts";
import { openStm32Engine } from "../../host-tools/flash/stm32/client.ts";
import { parseGpioSequence } from "../../host-tools/flash/stm32/gpio-sequence.ts";
import { FlashEngineError } from "../../host-tools/flash/engine.ts";
import type { Link } from "../../host-tools/link/transport.ts";
import { ACK, NACK, addressBytes, xorAll } from "../../host-tools/flash/stm32/an3155.ts";
import { tempDir } from "./helpers.ts";

const board = loadBoard("tincan-h7");
const BASE = board.flash.baseAddress;
const SECTOR = board.flash.eraseBytes;
const dirs: string[] = [];
after(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

function harness() {
  const dir = tempDir("tincan-rom-stm32-");
  dirs.push(dir);
  const flash = new SimFlash(path.join(dir, "flash.bin"), board);
  let out: number[] = [];
  let now = 0;
  let apps = 0;
  const timers = new Set<{ at: number; fn: () => void }>();
  const port: RomPort = {
    board, flash,
    send: (b) => { out.push(...b); },
    setBaud: () => { throw new Error("the STM32 loader never changes baud"); },
    runApp: () => { apps++; },
    nowMs: () => now,
    setTimer: (ms, fn) => {
      const t = { at: now + ms, fn };
      timers.add(t);
      return () => { timers.delete(t); };
    },
  };
  const rom = createStm32Rom(port);
  return {
    rom, flash,
    get apps() { return apps; },
    get pendingTimers() { return timers.size; },
    /** Feeds bytes and returns what the loader answered to them. */
    feed(...bytes: (number | Uint8Array | number[])[]): number[] {
      out = [];
      rom.receive(Uint8Array.from(bytes.flatMap((b) => (typeof b === "number" ? [b] : [...b]))));
      return out;
    },
    feedWithErrors(bytes: number[], errors: number[]): number[] {
      out = [];
      rom.receive(Uint8Array.from(bytes), Uint8Array.from(errors));
      return out;
    },
    advance(ms: number): void {
      now += ms;
      for (const t of [...timers].sort((a, b) => a.at - b.at)) if (t.at <= now && timers.delete(t)) t.fn();
    },
  };
}

type H = ReturnType<typeof harness>;
const cmd = (c: number) => [c, c ^ 0xff];

function synced(): H {
  const h = harness();
  assert.deepEqual(h.feed(0x7f), [ACK]);
  return h;
}

function writeBlock(h: H, address: number, data: Uint8Array): number[] {
  const n = data.length - 1;
  return [...h.feed(cmd(0x31)), ...h.feed(addressBytes(address)), ...h.feed(n, data, xorAll(data, n))];
}

function readBlock(h: H, address: number, length: number): number[] {
  return [...h.feed(cmd(0x11)), ...h.feed(addressBytes(address)), ...h.feed(length - 1, (length - 1) ^ 0xff)];
}

function erase(h: H, sectors: number[]): number[] {
  const list = [(sectors.length - 1) >> 8, (sectors.length - 1) & 0xff, ...sectors.flatMap((s) => [s >> 8, s & 0xff])];
  return [...h.feed(cmd(0x44)), ...h.feed(list, xorAll(list))];
}

function eraseSpecial(h: H, code: number): number[] {
  return [...h.feed(cmd(0x44)), ...h.feed(code >> 8, code & 0xff, (code >> 8) ^ (code & 0xff))];
}

const pattern = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 0xff);

test("autobaud: noise before 0x7F is ignored, 0x7F gets ACK, a second 0x7F is a command byte", () => {
  const h = harness();
  assert.deepEqual(h.feed(0x00, 0x55, 0xff, 0x79), []);
  assert.deepEqual(h.feed(0x7f), [ACK]);
  assert.deepEqual(h.feed(0x7f), [], "a lone 0x7F after sync waits for its complement, as on the chip");
  assert.deepEqual(h.feed(0x7f), [NACK], "0x7F is not the complement of 0x7F");
  assert.deepEqual(h.feed(cmd(0x01)), [ACK, 0x31, 0, 0, ACK], "in step again after the NACK");
});

test("GET answers the manifest's protocol version and the H7 loader's eleven commands", () => {
  const h = synced();
  const cmds = [0x00, 0x01, 0x02, 0x11, 0x21, 0x31, 0x44, 0x63, 0x73, 0x82, 0x92];
  const version = board.rom.protocol === "stm32-usart" ? board.rom.chip.protocolVersion : -1;
  assert.equal(version, 0x31);
  assert.deepEqual(h.feed(cmd(0x00)), [ACK, cmds.length, version, ...cmds, ACK]);
});

test("GET VERSION has two zero option bytes; GET ID answers the manifest's product id 0x450", () => {
  const h = synced();
  assert.deepEqual(h.feed(cmd(0x01)), [ACK, 0x31, 0x00, 0x00, ACK]);
  assert.deepEqual(h.feed(cmd(0x02)), [ACK, 1, 0x04, 0x50, ACK]);
});

test("write then read round trip in both banks; the data lands at the flash offset", () => {
  const h = synced();
  const a = pattern(256, 1);
  const b = pattern(256, 2);
  assert.deepEqual(writeBlock(h, BASE, a), [ACK, ACK, ACK]);
  assert.deepEqual(writeBlock(h, BASE + 0x100000 + 0x300, b), [ACK, ACK, ACK]);
  assert.deepEqual(readBlock(h, BASE, 256), [ACK, ACK, ACK, ...a]);
  assert.deepEqual(readBlock(h, BASE + 0x100000 + 0x300, 256), [ACK, ACK, ACK, ...b]);
  assert.deepEqual(h.flash.read(0, 256), a);
  assert.deepEqual(h.flash.read(0x100300, 256), b);
  assert.deepEqual(readBlock(h, BASE + 0x100, 5), [ACK, ACK, ACK, 0xff, 0xff, 0xff, 0xff, 0xff], "odd lengths read exactly");
});

test("a short write programs its flash word with 0xFF fill; that word cannot be programmed again", () => {
  const h = synced();
  assert.deepEqual(writeBlock(h, BASE + 0x40, Uint8Array.of(1, 2, 3, 4)), [ACK, ACK, ACK]);
  assert.deepEqual(h.flash.read(0x40, 32), Uint8Array.from([1, 2, 3, 4, ...new Array(28).fill(0xff)]));
  assert.deepEqual(writeBlock(h, BASE + 0x44, Uint8Array.of(5, 6, 7, 8)), [ACK, ACK, NACK], "same 32-byte flash word");
  assert.deepEqual(h.flash.read(0x44, 4), Uint8Array.of(0xff, 0xff, 0xff, 0xff), "nothing written by the refused write");
  assert.deepEqual(writeBlock(h, BASE + 0x60, Uint8Array.of(9, 9, 9, 9)), [ACK, ACK, ACK], "the next word is free");
  assert.deepEqual(writeBlock(h, BASE + 0x3c, pattern(8)), [ACK, ACK, NACK], "a write that spans into a used word is refused whole");
  assert.deepEqual(h.flash.read(0x20, 32), new Uint8Array(32).fill(0xff));
});

test("extended erase of a sector list, across the banks (sectors 0..15), leaves the others", () => {
  const h = synced();
  for (const s of [0, 1, 8, 9]) assert.deepEqual(writeBlock(h, BASE + s * SECTOR, pattern(32, s)), [ACK, ACK, ACK]);
  assert.deepEqual(erase(h, [1, 9]), [ACK, ACK]);
  const erased = new Uint8Array(32).fill(0xff);
  assert.deepEqual(h.flash.read(1 * SECTOR, 32), erased);
  assert.deepEqual(h.flash.read(9 * SECTOR, 32), erased);
  assert.deepEqual(h.flash.read(0, 32), pattern(32, 0));
  assert.deepEqual(h.flash.read(8 * SECTOR, 32), pattern(32, 8));
  assert.deepEqual(writeBlock(h, BASE + SECTOR, pattern(32, 5)), [ACK, ACK, ACK], "an erased word takes a write again");
});

test("extended erase 0xFFFE erases bank 1, 0xFFFD bank 2, 0xFFFF all of the flash", () => {
  const h = synced();
  const put = () => { for (const off of [0, 0x0fffe0, 0x100000, 0x1fffe0]) h.flash.write(off, pattern(32, off)); };
  const holds = (off: number) => h.flash.read(off, 32).some((b) => b !== 0xff);
  put();
  assert.deepEqual(eraseSpecial(h, 0xfffe), [ACK, ACK]);
  assert.deepEqual([0, 0x0fffe0, 0x100000, 0x1fffe0].map(holds), [false, false, true, true]);
  h.flash.eraseAll();
  put();
  assert.deepEqual(eraseSpecial(h, 0xfffd), [ACK, ACK]);
  assert.deepEqual([0, 0x0fffe0, 0x100000, 0x1fffe0].map(holds), [true, true, false, false]);
  put();
  assert.deepEqual(eraseSpecial(h, 0xffff), [ACK, ACK]);
  assert.deepEqual([0, 0x0fffe0, 0x100000, 0x1fffe0].map(holds), [false, false, false, false]);
});

test("bad erases are NACKed and erase nothing: sector 16, bad checksums, unknown special code", () => {
  const h = synced();
  h.flash.write(0, pattern(32));
  assert.deepEqual(erase(h, [0, 16]), [ACK, NACK], "sector 16 does not exist; sector 0 is not erased either");
  assert.deepEqual(h.feed(cmd(0x44)), [ACK]);
  assert.deepEqual(h.feed(0x00, 0x00, 0x00, 0x00, 0x55), [NACK], "page list with a bad checksum");
  assert.deepEqual(h.feed(cmd(0x44)), [ACK]);
  assert.deepEqual(h.feed(0xff, 0xff, 0xff), [NACK], "mass erase with a bad checksum");
  assert.deepEqual(eraseSpecial(h, 0xfffc), [ACK, NACK]);
  assert.deepEqual(h.flash.read(0, 32), pattern(32));
});

test("GO to the flash base ACKs and boots the app; anywhere else in flash is NACKed", () => {
  const h = synced();
  assert.deepEqual([...h.feed(cmd(0x21)), ...h.feed(addressBytes(BASE + 4))], [ACK, NACK]);
  assert.equal(h.apps, 0);
  assert.deepEqual([...h.feed(cmd(0x21)), ...h.feed(addressBytes(BASE))], [ACK, ACK]);
  assert.equal(h.apps, 1);
  assert.deepEqual(h.feed(0x7f, ...cmd(0x00)), [], "the loader has left");
});

test("GO into free RAM ACKs and comes back as after a reset (waiting for 0x7F)", () => {
  const h = synced();
  assert.deepEqual([...h.feed(cmd(0x21)), ...h.feed(addressBytes(0x24000000))], [ACK, ACK]);
  assert.equal(h.apps, 0);
  assert.deepEqual(h.feed(...cmd(0x00)), [], "autobaud again: commands are noise");
  assert.deepEqual(h.feed(0x7f), [ACK]);
});

test("bad complement and bad address checksum are NACKed; the loader stays in step", () => {
  const h = synced();
  assert.deepEqual(h.feed(0x00, 0x00), [NACK]);
  assert.deepEqual(h.feed(0x11, 0xee), [ACK]);
  const a = addressBytes(BASE);
  a[4] ^= 1;
  assert.deepEqual(h.feed(a), [NACK]);
  assert.deepEqual(h.feed(cmd(0x02)), [ACK, 1, 0x04, 0x50, ACK]);
});

test("write with a bad data checksum is NACKed and writes nothing", () => {
  const h = synced();
  const data = pattern(64);
  assert.deepEqual([...h.feed(cmd(0x31)), ...h.feed(addressBytes(BASE))], [ACK, ACK]);
  assert.deepEqual(h.feed(63, data, xorAll(data, 63) ^ 0x80), [NACK]);
  assert.deepEqual(h.flash.read(0, 64), new Uint8Array(64).fill(0xff));
});

test("writes outside flash and RAM, unaligned, ragged or crossing the end are NACKed", () => {
  const h = synced();
  const at = (address: number) => [...h.feed(cmd(0x31)), ...h.feed(addressBytes(address))];
  assert.deepEqual(at(BASE + board.memory.flashBytes), [ACK, NACK], "just past the flash");
  assert.deepEqual(at(0x1ff00000), [ACK, NACK], "system memory");
  assert.deepEqual(at(0x40000000), [ACK, NACK], "peripherals");
  assert.deepEqual(at(0x20000100), [ACK, NACK], "RAM the loader uses");
  assert.deepEqual(at(BASE + 2), [ACK, NACK], "not word aligned");
  assert.deepEqual(writeBlock(h, BASE + board.memory.flashBytes - 16, pattern(32)), [ACK, ACK, NACK], "crosses the end");
  assert.deepEqual(writeBlock(h, BASE, Uint8Array.of(1, 2, 3)), [ACK, ACK, NACK], "3 bytes: not a multiple of 4");
  assert.deepEqual(h.flash.read(0, 4), new Uint8Array(4).fill(0xff));
});

test("RAM writes land in a fake RAM that reads back; system memory has the bootloader ID and signature", () => {
  const h = synced();
  assert.deepEqual(writeBlock(h, 0x24000000, pattern(16)), [ACK, ACK, ACK]);
  assert.deepEqual(readBlock(h, 0x24000000, 16), [ACK, ACK, ACK, ...pattern(16)]);
  const chip = board.rom.protocol === "stm32-usart" ? board.rom.chip : undefined;
  assert.ok(chip);
  const idAt = readBlock(h, chip.bootloaderIdAddress, 1);
  assert.deepEqual(idAt, [ACK, ACK, ACK, chip.bootloaderIds.at(-1)]);
  assert.deepEqual(readBlock(h, 0x1ff1e880, 2), [ACK, ACK, ACK, 0x00, 0x08], "flash size register: 2048 KiB");
  const uid = readBlock(h, 0x1ff1e800, 12).slice(3);
  assert.equal(uid.length, 12);
  assert.ok(uid.some((b) => b !== 0xff), "a unique ID, not erased bytes");
});

test("reads of unmapped memory, of the loader's RAM or across the flash end are NACKed", () => {
  const h = synced();
  const at = (address: number) => [...h.feed(cmd(0x11)), ...h.feed(addressBytes(address))];
  assert.deepEqual(at(0x40000000), [ACK, NACK]);
  assert.deepEqual(at(0x1fff0000), [ACK, NACK], "past system memory");
  assert.deepEqual(at(0x20000000), [ACK, NACK]);
  assert.deepEqual(at(BASE + board.memory.flashBytes), [ACK, NACK]);
  assert.deepEqual(readBlock(h, BASE + board.memory.flashBytes - 16, 32), [ACK, ACK, NACK]);
  assert.deepEqual([...h.feed(cmd(0x11)), ...h.feed(addressBytes(BASE)), ...h.feed(0x0f, 0x0f)], [ACK, ACK, NACK], "length without its complement");
});

test("bytes flagged with parity or framing errors are dropped before the protocol sees them", () => {
  const h = harness();
  assert.deepEqual(h.feedWithErrors([0x7f], [1]), [], "no sync from a damaged 0x7F");
  assert.deepEqual(h.feedWithErrors([0x7f], [0]), [ACK]);
  assert.deepEqual(h.feedWithErrors([0x00, 0xff], [0, 1]), [], "the complement was damaged: still waiting for it");
  assert.deepEqual(h.feedWithErrors([0xff], [0]), [ACK, 11, 0x31, 0x00, 0x01, 0x02, 0x11, 0x21, 0x31, 0x44, 0x63, 0x73, 0x82, 0x92, ACK]);
});

test("a truncated command is dropped after the idle time; then 0x7F 0x7F gets NACK", () => {
  const h = synced();
  assert.deepEqual(h.feed(cmd(0x11)), [ACK]);
  assert.deepEqual(h.feed(0x08, 0x00), []);
  h.advance(IDLE_MS - 1);
  assert.deepEqual(h.feed(0x00), [], "still collecting the address");
  h.advance(IDLE_MS);
  assert.equal(h.pendingTimers, 0);
  assert.deepEqual(h.feed(0x7f), []);
  assert.deepEqual(h.feed(0x7f), [NACK]);
  assert.deepEqual(h.feed(cmd(0x02)), [ACK, 1, 0x04, 0x50, ACK]);
});

test("a truncated command followed at once by 0x7F bytes ends in a NACK, never stuck", () => {
  const h = synced();
  assert.deepEqual([...h.feed(cmd(0x31)), ...h.feed(addressBytes(BASE)), ...h.feed(0x07, 1, 2)], [ACK, ACK]);
  let answer: number[] = [];
  let sent = 0;
  while (answer.length === 0 && sent < 20) { answer = h.feed(0x7f); sent++; }
  assert.deepEqual(answer, [NACK], "the block's checksum cannot match");
  assert.equal(sent, 7, "six more data bytes, then the checksum byte: NACK");
  assert.deepEqual(h.flash.read(0, 8), new Uint8Array(8).fill(0xff));
});

test("a flash fault during a write is a NACK, not a throw, and the loader goes on", () => {
  const h = synced();
  h.flash.faults.beforeWrite = () => { throw new Error("power cut"); };
  assert.deepEqual(writeBlock(h, BASE, pattern(32)), [ACK, ACK, NACK]);
  h.flash.faults = {};
  assert.deepEqual(writeBlock(h, BASE, pattern(32)), [ACK, ACK, ACK]);
});

test("commands the H7 loader lacks are NACKed; protection commands are harmless", () => {
  const h = synced();
  for (const c of [0x43, 0xa1, 0x50, 0x51, 0x32, 0xff]) assert.deepEqual(h.feed(cmd(c)), [NACK], `0x${c.toString(16)}`);
  assert.deepEqual(h.feed(cmd(0x82)), [ACK, NACK], "readout protect is refused");
  assert.deepEqual(h.feed(cmd(0x63)), [ACK]);
  assert.deepEqual(h.feed(0x00, 0x03, 0x03), [NACK], "write protect takes its sector list, then refuses");
  h.flash.write(0, pattern(32));
  assert.deepEqual(h.feed(cmd(0x73)), [ACK, ACK], "write unprotect: nothing to lift, then a reset");
  assert.deepEqual(h.feed(cmd(0x00)), [], "autobaud after the reset");
  assert.deepEqual(h.feed(0x7f), [ACK]);
  assert.deepEqual(h.feed(cmd(0x92)), [ACK, ACK]);
  assert.deepEqual(h.feed(0x7f), [ACK]);
  assert.deepEqual(h.flash.read(0, 32), pattern(32), "no protection was set, so nothing was erased");
});

test("close() cancels the idle timer and silences the loader", () => {
  const h = synced();
  h.feed(cmd(0x11));
  assert.equal(h.pendingTimers, 1);
  h.rom.close();
  assert.equal(h.pendingTimers, 0);
  assert.deepEqual(h.feed(addressBytes(BASE), 0x7f, ...cmd(0x00)), []);
});

test("20 000 random bytes (some flagged) never throw, and the loader can be brought back in step", () => {
  const h = synced();
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  for (let i = 0; i < 200; i++) {
    const bytes = Array.from({ length: 100 }, rnd);
    const errors = bytes.map(() => (rnd() < 8 ? 1 : 0));
    h.feedWithErrors(bytes, errors);
    if (i % 50 === 0) h.advance(IDLE_MS);
  }
  if (h.apps > 0) return; // a random GO to the flash base, checksum and all: the loader left
  h.advance(IDLE_MS);
  // What a host does: 0x7F; ACK (autobaud) or NACK (a command byte was pending) means in step;
  // silence means our 0x7F is now the pending command byte, and a second one gets NACK.
  let r = h.feed(0x7f);
  if (r.length === 0) r = h.feed(0x7f);
  assert.ok(r[0] === ACK || r[0] === NACK, `answer ${r}`);
  assert.deepEqual(h.feed(cmd(0x02)), [ACK, 1, 0x04, 0x50, ACK]);
});

// ---- the flash engine (host-tools/flash/stm32/client.ts) against the emulator --------------
// An in-memory Link wired to the emulator, with the tincan-h7 reset circuit (DTR asserted holds
// NRST low; BOOT0 high while RTS is released) and hooks that lose or damage bytes on the way.


interface Bench {
  link: Link;
  flash: SimFlash;
  lines: { dtr: boolean; rts: boolean };
  /** ROM emulators started (one per reset into the bootloader) and app boots. */
  roms: number;
  apps: number;
  inRom(): boolean;
  /** Rewrites what the ROM sends (drop bytes, damage them); return undefined to pass it on. */
  toHost?: (bytes: Uint8Array) => Uint8Array | undefined;
  toRom?: (bytes: Uint8Array) => Uint8Array | undefined;
  refuseLines?: boolean;
  log: string[];
}

function bench(opts: { startInRom: boolean; boardOverride?: typeof board }): Bench {
  const dir = tempDir("tincan-rom-stm32-engine-");
  dirs.push(dir);
  const flash = new SimFlash(path.join(dir, "flash.bin"), board);
  const data = new Set<(c: Uint8Array) => void>();
  let rom: RomEmulator | undefined;
  const b: Bench = {
    flash, lines: { dtr: false, rts: false }, roms: 0, apps: 0, log: [],
    inRom: () => rom !== undefined,
    link: {
      url: "mem://h7",
      closed: false,
      write: async (bytes) => {
        const x = b.toRom?.(bytes) ?? bytes;
        setImmediate(() => rom?.receive(x));
      },
      onData: (cb) => { data.add(cb); return () => data.delete(cb); },
      onClose: () => () => {},
      setSignals: async (s) => {
        if (b.refuseLines) throw new Error("the port has no modem control lines (DTR/RTS)");
        const wasReset = b.lines.dtr;
        b.lines = { dtr: s.dtr ?? b.lines.dtr, rts: s.rts ?? b.lines.rts };
        if (b.lines.dtr && !wasReset) { rom?.close(); rom = undefined; }
        if (!b.lines.dtr && wasReset) boot(!b.lines.rts);
      },
      setBaud: async () => {},
      close: async () => {},
    },
  };
  const boot = (loader: boolean) => {
    rom?.close();
    rom = undefined;
    if (!loader) { b.apps++; return; }
    b.roms++;
    rom = createStm32Rom({
      board: opts.boardOverride ?? board, flash,
      send: (bytes) => {
        const x = b.toHost?.(bytes) ?? bytes;
        if (x.length) setImmediate(() => { for (const cb of data) cb(Uint8Array.from(x)); });
      },
      setBaud: () => {},
      runApp: () => setImmediate(() => boot(false)),
      nowMs: () => performance.now(),
      setTimer: (ms, fn) => { const t = setTimeout(fn, ms); return () => clearTimeout(t); },
    });
  };
  if (opts.startInRom) boot(true);
  return b;
}

const open = (b: Bench, o: { noReset?: boolean } = {}, manifest = board) => openStm32Engine(manifest, b.link, { ...o, log: (l) => b.log.push(l) });

test("gpio sequences: stm32flash -i syntax, entry before ':' and exit after; only dtr and rts", () => {
  assert.deepEqual(parseGpioSequence("-rts,dtr,-dtr:rts,dtr,-dtr"), {
    entry: [{ line: "rts", asserted: false, pauseMs: 100 }, { line: "dtr", asserted: true, pauseMs: 100 }, { line: "dtr", asserted: false, pauseMs: 0 }],
    exit: [{ line: "rts", asserted: true, pauseMs: 100 }, { line: "dtr", asserted: true, pauseMs: 100 }, { line: "dtr", asserted: false, pauseMs: 0 }],
  });
  assert.deepEqual(parseGpioSequence("dtr&-rts"), { entry: [{ line: "dtr", asserted: true, pauseMs: 0 }, { line: "rts", asserted: false, pauseMs: 0 }], exit: [] });
  assert.deepEqual(parseGpioSequence(":-dtr").entry, []);
  assert.throws(() => parseGpioSequence("-rts,brk"), /brk.*only dtr and rts/);
  assert.throws(() => parseGpioSequence("3,-3"), /cannot be driven/);
  assert.throws(() => parseGpioSequence("dtr:rts:dtr"), /more than one ':'/);
  assert.throws(() => parseGpioSequence("dtr,,rts"), /not a signal/);
});

test("engine: the manifest's reset sequence enters the loader; write (unaligned, two sectors), read back, run boots the app", async () => {
  const b = bench({ startInRom: false });
  for (const s of [0, 1, 2]) b.flash.write(s * SECTOR, pattern(64, s));
  const e = await open(b);
  assert.equal(b.roms, 1);
  assert.match(e.chip, /^STM32H74xxx\/75xxx \(0x450\), USART protocol v3\.1, bootloader ID 0x92$/);
  assert.equal(await e.digest(0, 16), undefined);
  const data = pattern(1000, 9);
  const offset = SECTOR - 301; // ends 699 bytes into sector 1, starts mid-word
  const seen: [number, number][] = [];
  await e.write(offset, data, (d, t) => seen.push([d, t]));
  assert.deepEqual(b.flash.read(offset, data.length), data);
  assert.deepEqual(b.flash.read(0, 64), new Uint8Array(64).fill(0xff), "sector 0 was erased (it is under the range)");
  assert.deepEqual(b.flash.read(2 * SECTOR, 64), pattern(64, 2), "sector 2 was not");
  assert.deepEqual(seen.at(-1), [2000, 2000]);
  assert.ok(seen.every(([d], i) => i === 0 || d >= seen[i - 1]![0]), "progress only goes up");
  assert.deepEqual(await e.read(offset, data.length), data);
  assert.ok(e.wireBytes.sent > 1000 && e.wireBytes.received > 2000, JSON.stringify(e.wireBytes));
  await e.run();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(b.apps, 1, "the exit sequence (rts,dtr,-dtr) reset the board into its app");
  assert.equal(b.inRom(), false);
});

test("engine: a lost write ACK is recovered by reading back what the flash holds", async () => {
  const b = bench({ startInRom: true });
  const e = await open(b, { noReset: true });
  // Drop the ACK that follows the third block's data: the block is programmed, the host never hears so.
  let frames = 0;
  let dropNext = false;
  b.toRom = (bytes) => { if (bytes.length === 258 && ++frames === 3) dropNext = true; return undefined; };
  b.toHost = (bytes) => {
    if (!dropNext || bytes.length !== 1 || bytes[0] !== ACK) return undefined;
    dropNext = false;
    return new Uint8Array(0);
  };
  const data = pattern(1024, 4);
  await e.write(0, data);
  assert.equal(frames, 4, "four blocks, none sent twice (a second try would be NACKed: its flash words are programmed)");
  assert.deepEqual(b.flash.read(0, 1024), data);
  assert.ok(b.log.some((l) => /only its ACK was lost/.test(l)), b.log.join("\n"));
});

test("engine: a write frame damaged on the way is NACKed and sent again", async () => {
  const b = bench({ startInRom: true });
  const e = await open(b, { noReset: true });
  let damaged = 0;
  b.toRom = (bytes) => {
    if (bytes.length !== 258 || damaged) return undefined;
    damaged++;
    const x = Uint8Array.from(bytes);
    x[100] ^= 0x10;
    return x;
  };
  const data = pattern(512, 5);
  await e.write(SECTOR * 3, data);
  assert.equal(damaged, 1);
  assert.deepEqual(b.flash.read(SECTOR * 3, 512), data);
  assert.ok(b.log.some((l) => /refused WRITE MEMORY.*NACK/.test(l)), b.log.join("\n"));
});

test("engine: a garbled ACK before read data is caught, the loader resynced and the block read again", async () => {
  const b = bench({ startInRom: true });
  b.flash.write(0, pattern(256, 6));
  const e = await open(b, { noReset: true });
  let hit = false;
  b.toHost = (bytes) => {
    if (hit || bytes.length !== 257) return undefined;
    hit = true;
    const x = Uint8Array.from(bytes);
    x[0] = 0x55;
    return x;
  };
  assert.deepEqual(await e.read(0, 256), pattern(256, 6));
  assert.ok(hit);
  assert.ok(b.log.includes("resync"), b.log.join("\n"));
});

test("engine: a chip that is not the manifest's is refused in one line", async () => {
  const b = bench({ startInRom: true });
  const other = structuredClone(board);
  if (other.rom.protocol === "stm32-usart") other.rom.chip.productId = 0x449;
  await assert.rejects(open(b, { noReset: true }, other), (e: Error) =>
    e instanceof FlashEngineError && e.code === "WRONG_CHIP" && /reports product id 0x450, but board tincan-h7 is .*\(0x449\)/.test(e.message) && !e.message.includes("\n"));
});

test("engine: a link that refuses DTR/RTS is tolerated when the board is in its loader; run() then uses GO", async () => {
  const b = bench({ startInRom: true });
  b.refuseLines = true;
  const e = await open(b);
  assert.ok(b.log.some((l) => /cannot drive DTR\/RTS/.test(l)));
  await e.write(0, pattern(64));
  await e.run();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(b.apps, 1, "GO 0x08000000 booted the app");
});

test("engine: no loader and no line control: the error says what to check", async () => {
  const b = bench({ startInRom: false });
  b.refuseLines = true;
  await assert.rejects(open(b), (e: Error) =>
    e instanceof FlashEngineError && e.code === "NO_SYNC" &&
    /^no STM32 bootloader answered on mem:\/\/h7 at 115200 8E1 — is BOOT0 high \/ is this the right port\? \(DTR\/RTS could not be driven/.test(e.message));
});

test("engine: a second session on a loader synced before, and one on a loader left mid-write, both sync", async () => {
  const b = bench({ startInRom: true });
  await open(b, { noReset: true });
  const again = await open(b, { noReset: true });
  assert.ok(b.log.some((l) => /NACK/.test(l)), "the second 0x7F was NACKed: synced before");
  // A host killed half way through a block: WRITE, address, and 10 of the 258 frame bytes.
  await again.write(0, pattern(32));
  await b.link.write(Uint8Array.of(0x31, 0xce));
  await b.link.write(addressBytes(BASE + 0x1000));
  await b.link.write(Uint8Array.of(0xff, ...pattern(9)));
  await new Promise((r) => setTimeout(r, 20));
  const third = await open(b, { noReset: true });
  assert.deepEqual(await third.read(0, 32), pattern(32));
  assert.equal(b.roms, 1, "no reset was needed");
});

test("engine: ranges outside the flash are refused before anything is sent", async () => {
  const b = bench({ startInRom: true });
  const e = await open(b, { noReset: true });
  const sent = e.wireBytes.sent;
  await assert.rejects(e.read(board.memory.flashBytes - 4, 8), (x: Error) => x instanceof FlashEngineError && x.code === "RANGE");
  await assert.rejects(e.write(-1, pattern(4)), (x: Error) => x instanceof FlashEngineError && x.code === "RANGE");
  assert.equal(e.wireBytes.sent, sent);
});
