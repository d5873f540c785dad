// Board manifests and their loader: the three shipped boards pass, and every kind of broken
// manifest is refused with a one-line BoardError that says what is wrong. Broken manifests are
// written into a temporary folder, never into boards/.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  BoardError,
  boardsDir,
  frameSamples,
  listBoards,
  loadBoard,
  loadBoardFile,
  matchUsb,
  partition,
} from "../../host-tools/boards.ts";
import type { BoardManifest } from "../../host-tools/boards.ts";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const BOARDS = join(REPO, "boards");

function fresh(): string {
  return mkdtempSync(join(tmpdir(), "tincan-boards-"));
}

/** A deep copy of a shipped manifest, as parsed JSON, to break on purpose. */
function copyOf(id: string): Record<string, any> {
  return JSON.parse(readFileSync(join(BOARDS, `${id}.json`), "utf8"));
}

/** Write `data` as <dir>/<file>.json and return its path. */
function put(dir: string, file: string, data: unknown): string {
  const path = join(dir, `${file}.json`);
  writeFileSync(path, typeof data === "string" ? data : JSON.stringify(data, null, 2));
  return path;
}

/** Load `data` from a temp folder; it must be refused with a one-line message matching every pattern. */
function refused(data: unknown, patterns: RegExp[], file = "tincan-s3"): string {
  const dir = fresh();
  try {
    const path = put(dir, file, data);
    let caught: unknown;
    try {
      loadBoardFile(path);
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof BoardError, `expected a BoardError, got ${String(caught)}`);
    const msg = caught.message;
    assert.ok(!msg.includes("\n"), `message is not one line: ${JSON.stringify(msg)}`);
    assert.ok(msg.includes(`${file}.json`), `message does not name the file: ${msg}`);
    for (const p of patterns) assert.match(msg, p);
    return msg;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const SHIPPED = ["sim", "tincan-h7", "tincan-s3"];
/** Every manifest in boards/ (a board added later is checked too). */
const ALL = readdirSync(BOARDS)
  .filter((f) => f.endsWith(".json") && f !== "schema.json")
  .map((f) => f.slice(0, -5))
  .sort();

test("every shipped manifest loads and passes, listed in id order", () => {
  for (const id of SHIPPED) assert.ok(ALL.includes(id), `boards/${id}.json is missing`);
  const boards = listBoards(BOARDS);
  assert.deepEqual(
    boards.map((b) => b.id),
    ALL,
  );
  for (const id of ALL) {
    const b = loadBoard(id, BOARDS);
    assert.equal(b.id, id);
    for (const role of ["bootloader", "runtime", "otadata", "app_a", "app_b", "identity", "nvs"]) {
      assert.equal(b.flash.partitions.filter((p) => p.role === role).length, 1, `${id}: one ${role}`);
    }
  }
});

test("boardsDir() is the repo's boards/ folder, and TINCAN_BOARDS_DIR overrides it", () => {
  const saved = process.env.TINCAN_BOARDS_DIR;
  try {
    delete process.env.TINCAN_BOARDS_DIR;
    assert.equal(boardsDir(), BOARDS);
    assert.deepEqual(
      listBoards().map((b) => b.id),
      ALL,
    );
    const dir = fresh();
    try {
      put(dir, "sim", copyOf("sim"));
      process.env.TINCAN_BOARDS_DIR = dir;
      assert.equal(boardsDir(), dir);
      assert.deepEqual(
        listBoards().map((b) => b.id),
        ["sim"],
      );
      assert.equal(loadBoard("sim").id, "sim");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    if (saved === undefined) delete process.env.TINCAN_BOARDS_DIR;
    else process.env.TINCAN_BOARDS_DIR = saved;
  }
});

test("the sim board's budget is the S3's, so an image that fits sim fits the S3", () => {
  const sim = loadBoard("sim", BOARDS);
  const s3 = loadBoard("tincan-s3", BOARDS);
  assert.equal(sim.wasm.memoryPages, s3.wasm.memoryPages);
  assert.equal(sim.wasm.codeBytesMax, s3.wasm.codeBytesMax);
  assert.deepEqual(sim.memory, s3.memory);
  assert.deepEqual(sim.flash, s3.flash);
  assert.deepEqual(sim.audio.sampleRateHz, s3.audio.sampleRateHz);
  assert.equal(frameSamples(sim), frameSamples(s3));
  assert.equal(sim.rom.protocol, "sim");
  assert.deepEqual(sim.usb, []);
  assert.equal(sim.audio.codecChip, "none");
});

test("the logical io ids are the same on every board", () => {
  for (const b of listBoards(BOARDS)) {
    const byId = new Map(b.io.map((p) => [p.id, `${p.name}/${p.direction}`]));
    assert.equal(byId.get(0), "door_relay/out", b.id);
    assert.equal(byId.get(1), "status_led/out", b.id);
    assert.equal(byId.get(2), "call_button/in", b.id);
  }
});

test("datasheet figures of the S3 and H7 manifests", () => {
  const s3 = loadBoard("tincan-s3", BOARDS);
  assert.equal(s3.rom.protocol, "esp-serial");
  if (s3.rom.protocol === "esp-serial") {
    assert.equal(s3.rom.chip.chipId, 9);
    assert.equal(s3.rom.chip.magicRegister, 0x40001000);
  }
  assert.equal(s3.rom.romBaud, 115200);
  assert.equal(s3.memory.sramBytes, 512 * 1024);
  assert.equal(s3.flash.eraseBytes, 4096);
  assert.equal(partition(s3, "bootloader").offset, 0);
  assert.equal(s3.audio.codecChip, "ES8311");
  assert.deepEqual(
    s3.usb.map((u) => `${u.vid}:${u.pid}/${u.role}`),
    ["303a:1001/usb-serial-jtag", "10c4:ea60/uart-bridge"],
  );

  const h7 = loadBoard("tincan-h7", BOARDS);
  assert.equal(h7.rom.protocol, "stm32-usart");
  if (h7.rom.protocol === "stm32-usart") {
    assert.equal(h7.rom.chip.productId, 0x450);
    assert.equal(h7.rom.chip.bootloaderIdAddress, 0x1ff1e7fe);
    assert.equal(h7.rom.chip.protocolVersion, 0x31);
    assert.deepEqual([h7.rom.chip.txPin, h7.rom.chip.rxPin], ["PA9", "PA10"]);
  }
  assert.equal(h7.rom.framing, "8E1");
  assert.equal(h7.rom.maxBaud, 115200);
  assert.equal(h7.flash.baseAddress, 0x08000000);
  assert.equal(h7.flash.eraseBytes, 128 * 1024);
  assert.equal(h7.memory.flashBytes, 2 * 1024 * 1024);
  assert.equal(h7.wasm.memoryPages, 6);
  const axi = h7.memory.regions?.find((r) => r.name === h7.wasm.memoryRegion);
  assert.deepEqual(axi, { name: "axi-sram", address: 0x24000000, bytes: 512 * 1024 });
  assert.ok(h7.wasm.codeBytesMax <= partition(h7, "app_a").size);
  assert.equal(h7.audio.codecChip, "SGTL5000");
  assert.deepEqual(
    h7.usb.map((u) => `${u.vid}:${u.pid}/${u.role}`),
    ["0403:6001/uart-bridge", "0483:df11/dfu"],
  );
});

test("an unchanged copy loads from a temp folder (the refusals below are the edits' doing)", () => {
  const dir = fresh();
  try {
    for (const id of SHIPPED) put(dir, id, copyOf(id));
    assert.deepEqual(
      listBoards(dir).map((b) => b.id),
      SHIPPED,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a typo'd field is refused, naming the field", () => {
  const m = copyOf("tincan-s3");
  m.wasm.memoryPagez = m.wasm.memoryPages;
  refused(m, [/\/wasm/, /unknown field "memoryPagez"/]);

  const top = copyOf("tincan-s3");
  top.flsh = {};
  refused(top, [/unknown field "flsh"/]);

  const part = copyOf("tincan-s3");
  part.flash.partitions[0].ofset = 0;
  refused(part, [/\/flash\/partitions\/0/, /unknown field "ofset"/]);

  const chip = copyOf("tincan-s3");
  chip.rom.chip.productId = 0x450; // an STM32 field on an ESP chip
  refused(chip, [/\/rom\/chip/, /unknown field "productId"/]);
});

test("a wrong type is refused, naming the path", () => {
  const m = copyOf("tincan-s3");
  m.wasm.memoryPages = "8";
  refused(m, [/\/wasm\/memoryPages must be integer/]);

  const e = copyOf("tincan-h7");
  e.rom.framing = "8O1";
  refused(e, [/\/rom\/framing must be one of "8N1", "8E1"/], "tincan-h7");

  const r = copyOf("tincan-s3");
  delete r.console;
  refused(r, [/missing field "console"/]);
});

test("overlapping partitions are refused", () => {
  const m = copyOf("tincan-s3");
  const b = m.flash.partitions.find((p: any) => p.role === "app_b");
  b.offset -= 4096;
  refused(m, [/overlaps/, /app_b/, /app_a/]);
});

test("a partition past the end of flash is refused", () => {
  const m = copyOf("tincan-s3");
  const b = m.flash.partitions.find((p: any) => p.role === "app_b");
  b.offset = 0x700000;
  refused(m, [/app_b/, /past the end/]);
});

test("a missing app_b is refused", () => {
  const m = copyOf("tincan-s3");
  m.flash.partitions = m.flash.partitions.filter((p: any) => p.role !== "app_b");
  refused(m, [/no partition with role "app_b"/]);
});

test("a manifest whose id is not its file name is refused", () => {
  const m = copyOf("tincan-s3");
  refused(m, [/\/id "tincan-s3" must equal the file name "tincan-s4"/], "tincan-s4");
});

test("invalid JSON is refused with where it broke", () => {
  const good = readFileSync(join(BOARDS, "tincan-s3.json"), "utf8");
  const text = good.replace('"io": [', '"io": [,');
  const lines = good.slice(0, good.indexOf('"io": [')).split("\n");
  const line = lines.length;
  const column = lines[lines.length - 1].length + '"io": ['.length + 1;
  refused(text, [/invalid JSON/, new RegExp(`line ${line}, column ${column}:`)]);
  refused(good.replace('"fpu": true', '"fpu": true,'), [/invalid JSON/]);
  refused("", [/invalid JSON: line 1, column 1/]);
});

test("misaligned, unequal and oversized slots are refused", () => {
  const mis = copyOf("tincan-h7");
  mis.flash.partitions.find((p: any) => p.role === "identity").offset += 4096;
  refused(mis, [/identity/, /not aligned to the 131072-byte erase unit/], "tincan-h7");

  const uneq = copyOf("tincan-s3");
  uneq.flash.partitions.find((p: any) => p.role === "app_b").size -= 4096;
  refused(uneq, [/app_a .* and app_b .* must be the same size/]);

  const big = copyOf("tincan-h7");
  big.wasm.codeBytesMax = 524288 + 1;
  refused(big, [/codeBytesMax 524289 does not fit an app slot \(524288 bytes\)/], "tincan-h7");

  const twice = copyOf("tincan-s3");
  twice.flash.partitions.find((p: any) => p.name === "runtime").role = "nvs";
  refused(twice, [/role "nvs" is given twice/]);

  const bank = copyOf("tincan-h7");
  const ota = bank.flash.partitions.find((p: any) => p.role === "otadata");
  const ident = bank.flash.partitions.find((p: any) => p.role === "identity");
  ident.offset = ota.offset; // otadata (two sectors) moved to the last sector of bank 1: it runs into bank 2
  ota.offset = 0x0e0000;
  refused(bank, [/crosses a flash bank boundary/], "tincan-h7");
});

test("a WASM memory larger than its region is refused", () => {
  const m = copyOf("tincan-h7");
  m.wasm.memoryPages = 9; // 576 KiB > 512 KiB AXI SRAM
  refused(m, [/memoryPages 9 .* does not fit region "axi-sram"/], "tincan-h7");
});

test("the logical io pins are enforced", () => {
  const m = copyOf("tincan-s3");
  m.io[2].direction = "out";
  refused(m, [/logical pin 2 must be "call_button" \(in\)/]);
});

test("loadBoard refuses an unknown id and lists the known ones", () => {
  assert.throws(
    () => loadBoard("tincan-z9", BOARDS),
    (err: unknown) =>
      err instanceof BoardError &&
      /unknown board "tincan-z9"/.test(err.message) &&
      err.message.includes(`(known boards: ${ALL.join(", ")})`) &&
      !err.message.includes("\n"),
  );
  assert.throws(() => loadBoard("../boards/sim", BOARDS), /unknown board/);
});

test("an unreadable file is refused", () => {
  const dir = fresh();
  try {
    assert.throws(
      () => loadBoardFile(join(dir, "nope.json")),
      (err: unknown) => err instanceof BoardError && /nope\.json: cannot read/.test(err.message) && /ENOENT/.test(err.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("listBoards throws on one bad manifest among good ones", () => {
  const dir = fresh();
  try {
    put(dir, "sim", copyOf("sim"));
    const bad = copyOf("tincan-s3");
    bad.audio.channels = 2;
    put(dir, "tincan-s3", bad);
    assert.throws(() => listBoards(dir), (err: unknown) => err instanceof BoardError && /tincan-s3\.json: \/audio\/channels must be 1/.test(err.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("partition() and frameSamples()", () => {
  const s3 = loadBoard("tincan-s3", BOARDS);
  assert.deepEqual(partition(s3, "app_b"), { name: "app_b", role: "app_b", offset: 0x400000, size: 0x200000 });
  assert.throws(() => partition(s3, "coredump"), (err: unknown) => err instanceof BoardError && /no partition with role "coredump"/.test(err.message));
  assert.equal(frameSamples(s3), 320);
  const odd = { ...s3, audio: { ...s3.audio, sampleRateHz: 8000, frameMs: 30 } } as BoardManifest;
  assert.equal(frameSamples(odd), 240);
});

test("matchUsb compares hex without regard to case", () => {
  const boards = listBoards(BOARDS).filter((b) => SHIPPED.includes(b.id));
  const hit = (vid: string, pid: string) => matchUsb(boards, vid, pid).map((m) => `${m.board.id}/${m.role}`);
  assert.deepEqual(hit("303A", "1001"), ["tincan-s3/usb-serial-jtag"]);
  assert.deepEqual(hit("10c4", "EA60"), ["tincan-s3/uart-bridge"]);
  assert.deepEqual(hit("0483", "DF11"), ["tincan-h7/dfu"]);
  assert.deepEqual(hit("0x0403", "6001"), ["tincan-h7/uart-bridge"]);
  assert.deepEqual(hit("1234", "5678"), []);
  // Two boards on the same bridge chip: both are returned.
  const s3 = loadBoard("tincan-s3", BOARDS);
  const twin = { ...s3, id: "twin" } as BoardManifest;
  assert.deepEqual(
    matchUsb([s3, twin], "10C4", "ea60").map((m) => m.board.id),
    ["tincan-s3", "twin"],
  );
});

test("boardsDir() works from an esbuild bundle in dist/ (../boards from the bundle)", async () => {
  const esbuild = await import("esbuild");
  const root = fresh();
  try {
    mkdirSync(join(root, "dist"));
    cpSync(BOARDS, join(root, "boards"), { recursive: true });
    const entry = join(root, "entry.ts");
    writeFileSync(
      entry,
      `import { boardsDir, listBoards } from ${JSON.stringify(join(REPO, "host-tools", "boards.ts"))};\n` +
        `console.log(JSON.stringify({ dir: boardsDir(), ids: listBoards().map((b) => b.id) }));\n`,
    );
    const out = join(root, "dist", "tincan.mjs");
    esbuild.buildSync({ entryPoints: [entry], bundle: true, platform: "node", format: "esm", outfile: out, logLevel: "silent" });
    const env = { ...process.env };
    delete env.TINCAN_BOARDS_DIR;
    const got = JSON.parse(execFileSync(process.execPath, [out], { env, encoding: "utf8" }));
    assert.deepEqual(got, { dir: join(root, "boards"), ids: ALL });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
