// The ESP32-S3 loader emulator (host-tools/sim/rom/esp.ts) driven directly, byte for byte, through
// a fake RomPort on a virtual clock: the ROM loader, the stub upload, the stub, and bad input.

import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { createHash, randomBytes } from "node:crypto";
import { getStubJsonByChipName } from "esptool-js";
import { loadBoard } from "../../host-tools/boards.ts";
import { SimFlash } from "../../host-tools/sim/flash.ts";
import type { RomPort } from "../../host-tools/sim/rom/types.ts";
import { createEspRom, type EspLoaderEmulator } from "../../host-tools/sim/rom/esp.ts";
import { StreamingInflater, InflateError } from "../../host-tools/sim/rom/esp-inflate.ts";
import { Cmd, SYNC_PAYLOAD, failureCode, xorChecksum } from "../../host-tools/sim/rom/esp-protocol.ts";
import { SlipDecoder, slipEncode } from "../../host-tools/link/slip.ts";
import { tempDir } from "./helpers.ts";

const board = loadBoard("tincan-s3");
const MAGIC_REG = 0x40001000;
const APP_B = board.flash.partitions.find((p) => p.role === "app_b")!.offset;
/** Each bench has an 8 MB flash file: removed when the tests end. */
const benchDirs: string[] = [];
after(() => {
  for (const d of benchDirs) fs.rmSync(d, { recursive: true, force: true });
});

interface Response { command: number; value: number; data: Uint8Array; status: Uint8Array }

/** A board's side of the emulator: flash on disk, UART bytes captured, timers on a virtual clock. */
class Bench {
  readonly flash: SimFlash;
  readonly rom: EspLoaderEmulator;
  /** What the host would see, in order: SLIP frames (raw), and text outside frames. */
  frames: Uint8Array[] = [];
  text = "";
  /** Every port call in order, to check what happened before what. */
  events: string[] = [];
  appRuns = 0;
  bauds: number[] = [];
  private now = 0;
  private timers: { at: number; fn: () => void; live: boolean }[] = [];
  private decoder = new SlipDecoder({ onFrame: (f) => this.frames.push(f), onText: (t) => (this.text += Buffer.from(t).toString("latin1")) }, { maxFrame: 70000 });

  constructor() {
    const dir = tempDir("tincan-rom-esp-");
    benchDirs.push(dir);
    this.flash = new SimFlash(path.join(dir, "flash.bin"), board);
    const port: RomPort = {
      board,
      flash: this.flash,
      send: (b) => {
        this.events.push("send");
        this.decoder.push(Uint8Array.from(b));
      },
      setBaud: (baud) => {
        this.events.push(`baud ${baud}`);
        this.bauds.push(baud);
      },
      runApp: () => {
        this.events.push("runApp");
        this.appRuns++;
      },
      nowMs: () => this.now,
      setTimer: (ms, fn) => {
        const t = { at: this.now + ms, fn, live: true };
        this.timers.push(t);
        return () => (t.live = false);
      },
    };
    this.rom = createEspRom(port) as EspLoaderEmulator;
  }

  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.live && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.now = due.at;
      due.live = false;
      due.fn();
    }
    this.now = end;
  }

  /** Sends one command frame; returns the responses it produced. */
  command(command: number, data: Uint8Array = new Uint8Array(0), checksum = 0): Response[] {
    return this.raw(slipEncode(request(command, data, checksum)));
  }

  raw(bytes: Uint8Array, errors?: Uint8Array): Response[] {
    const before = this.frames.length;
    this.rom.receive(bytes, errors);
    return this.frames.slice(before).map(parseResponse);
  }

  /** One command that must get exactly one response. */
  one(command: number, data?: Uint8Array, checksum?: number): Response {
    const r = this.command(command, data, checksum);
    assert.equal(r.length, 1, `0x${command.toString(16)} should get one response, got ${r.length}`);
    assert.equal(r[0].command, command);
    return r[0];
  }

  /** Uploads esptool-js's own ESP32-S3 stub as esptool-js does, and waits for OHAI. */
  async runStub(): Promise<void> {
    const stub = await getStubJsonByChipName("ESP32-S3");
    assert.ok(stub);
    for (const [bytes, at] of [[stub.decodedText, stub.text_start], [stub.decodedData, stub.data_start]] as const) {
      const blocks = Math.ceil(bytes.length / 0x1800);
      ok(this.one(Cmd.MEM_BEGIN, u32s(bytes.length, blocks, 0x1800, at)), "rom");
      for (let seq = 0; seq < blocks; seq++) {
        const part = bytes.subarray(seq * 0x1800, (seq + 1) * 0x1800);
        ok(this.one(Cmd.MEM_DATA, concat(u32s(part.length, seq, 0, 0), part), xorChecksum(part)), "rom");
      }
    }
    ok(this.one(Cmd.MEM_END, u32s(0, stub.entry)), "rom");
    const before = this.frames.length;
    this.advance(50);
    assert.deepEqual(this.frames.slice(before).map((f) => Buffer.from(f).toString("latin1")), ["OHAI"]);
    assert.equal(this.rom.mode, "stub");
  }
}

function request(command: number, data: Uint8Array, checksum: number): Uint8Array {
  const out = new Uint8Array(8 + data.length);
  out[1] = command;
  out[2] = data.length & 0xff;
  out[3] = data.length >> 8;
  new DataView(out.buffer).setUint32(4, checksum >>> 0, true);
  out.set(data, 8);
  return out;
}

/** The loader's status bytes: four from the ESP32-S3 ROM, two from the stub. */
function parseResponse(f: Uint8Array): Response {
  assert.ok(f.length >= 10, `response frame too short: ${Buffer.from(f).toString("hex")}`);
  assert.equal(f[0], 0x01, "responses have direction 1");
  const size = f[2] | (f[3] << 8);
  assert.equal(f.length, 8 + size, "the size field covers data and status");
  return { command: f[1], value: new DataView(f.buffer, f.byteOffset).getUint32(4, true), data: f.subarray(8), status: new Uint8Array(0) };
}

function split(r: Response, loader: "rom" | "stub"): { body: Uint8Array; status: Uint8Array } {
  const n = loader === "rom" ? 4 : 2;
  assert.ok(r.data.length >= n);
  return { body: r.data.subarray(0, r.data.length - n), status: r.data.subarray(r.data.length - n) };
}

function ok(r: Response, loader: "rom" | "stub"): Uint8Array {
  const { body, status } = split(r, loader);
  assert.deepEqual([...status], loader === "rom" ? [0, 0, 0, 0] : [0, 0], `0x${r.command.toString(16)} failed with status ${Buffer.from(status).toString("hex")}`);
  return body;
}

/** Asserts a failure and its code: ROM status 1 + error byte, stub a 16-bit code high byte first. */
function failed(r: Response, loader: "rom" | "stub", code: number): void {
  const { status } = split(r, loader);
  if (loader === "rom") assert.deepEqual([status[0], status[1]], [1, code]);
  else assert.equal((status[0] << 8) | status[1], code);
}

function u32s(...v: number[]): Uint8Array {
  const out = new Uint8Array(v.length * 4);
  const dv = new DataView(out.buffer);
  v.forEach((x, i) => dv.setUint32(i * 4, x >>> 0, true));
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

function dataBlock(seq: number, payload: Uint8Array): Uint8Array {
  return concat(u32s(payload.length, seq, 0, 0), payload);
}

/** Deflate's bit order: fields least significant bit first, Huffman codes most significant first. */
class BitWriter {
  private out: number[] = [];
  private acc = 0;
  private n = 0;
  put(value: number, bits: number): this {
    for (let i = 0; i < bits; i++) this.bit((value >> i) & 1);
    return this;
  }
  code(value: number, bits: number): this {
    for (let i = bits - 1; i >= 0; i--) this.bit((value >> i) & 1);
    return this;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.n ? [...this.out, this.acc] : this.out);
  }
  private bit(b: number): void {
    this.acc |= b << this.n++;
    if (this.n === 8) {
      this.out.push(this.acc);
      this.acc = this.n = 0;
    }
  }
}

const md5 = (b: Uint8Array): string => createHash("md5").update(b).digest("hex");

/** Data that compresses some (text with noise) so deflate uses dynamic Huffman blocks. */
function image(size: number): Uint8Array {
  const out = Buffer.alloc(size);
  const noise = randomBytes(size);
  for (let i = 0; i < size; i++) out[i] = noise[i] % 5 === 0 ? noise[i] : "tincan intercom "[i % 16].charCodeAt(0);
  return out;
}

describe("ESP32-S3 ROM loader", () => {
  test("prints the ROM banner when it comes out of reset", () => {
    const b = new Bench();
    assert.match(b.text, /ESP-ROM:esp32s3/);
    assert.match(b.text, /boot:0x0 \(DOWNLOAD\(USB\/UART0\)\)[\s\S]*waiting for download/);
  });

  test("SYNC: eight responses with a nonzero value and four zero status bytes", () => {
    const b = new Bench();
    const r = b.command(Cmd.SYNC, SYNC_PAYLOAD);
    assert.equal(r.length, 8);
    for (const x of r) {
      assert.equal(x.command, Cmd.SYNC);
      assert.notEqual(x.value, 0, "a zero value would tell esptool it talks to the stub");
      assert.deepEqual([...x.data], [0, 0, 0, 0]);
    }
  });

  test("SYNC with a corrupt pattern is refused", () => {
    const b = new Bench();
    const bad = Uint8Array.from(SYNC_PAYLOAD);
    bad[10] = 0x54;
    failed(b.one(Cmd.SYNC, bad), "rom", failureCode("rom", "badLength"));
  });

  test("READ_REG: the chip-detect magic register holds the manifest's value", () => {
    const b = new Bench();
    const chip = board.rom.protocol === "esp-serial" ? board.rom.chip : assert.fail("tincan-s3 is an ESP board");
    const r = b.one(Cmd.READ_REG, u32s(MAGIC_REG));
    assert.equal(chip.magicRegister, MAGIC_REG);
    assert.equal(r.value, chip.magicValue);
    ok(r, "rom");
  });

  test("READ_REG: eFuses decode to revision v0.2, QFN56, embedded 8 MB PSRAM and an Espressif MAC", () => {
    const b = new Bench();
    const reg = (a: number): number => b.one(Cmd.READ_REG, u32s(a)).value;
    const w3 = reg(0x60007050);
    const w4 = reg(0x60007054);
    const w5 = reg(0x60007058);
    assert.equal(((w5 >> 23) & 1) * 8 + ((w3 >> 18) & 7), 2, "minor revision");
    assert.equal((w5 >> 24) & 3, 0, "major revision");
    assert.equal((w3 >> 21) & 7, 0, "package QFN56");
    assert.equal((w4 >> 3) & 3, 1, "embedded PSRAM 8 MB (manifest psramBytes)");
    const mac0 = reg(0x60007044);
    const mac1 = reg(0x60007048) & 0xffff;
    assert.deepEqual([mac1 >> 8, mac1 & 0xff, mac0 >>> 24], [0x7c, 0xdf, 0xa1]);
    // The ESP32 (classic) revision registers esptool-js reads on any ESP32-family chip: unmapped, 0.
    assert.equal(reg(0x3ff6607c), 0);
    assert.ok(b.rom.regs.unmappedReads.has(0x3ff6607c));
    assert.ok(!b.rom.regs.unmappedReads.has(0x60007050));
  });

  test("WRITE_REG / READ_REG drive the SPI controller to read the flash JEDEC id", () => {
    const b = new Bench();
    const SPI = 0x60002000;
    ok(b.one(Cmd.WRITE_REG, u32s(SPI + 0x20, (7 << 28) | 0x9f, 0xffffffff, 0)), "rom"); // USR2: RDID
    ok(b.one(Cmd.WRITE_REG, u32s(SPI + 0x00, 1 << 18, 0xffffffff, 0)), "rom"); // CMD: USR
    assert.equal(b.one(Cmd.READ_REG, u32s(SPI)).value & (1 << 18), 0, "the transaction is done");
    const id = b.one(Cmd.READ_REG, u32s(SPI + 0x58)).value;
    assert.equal((id >> 16) & 0xff, Math.log2(board.memory.flashBytes), "capacity byte is the manifest's flash size");
    failed(b.one(Cmd.WRITE_REG, u32s(SPI, 0, 0)), "rom", failureCode("rom", "badLength"));
  });

  test("GET_SECURITY_INFO: 20 bytes with the manifest's chip id, nothing secured", () => {
    const b = new Bench();
    const body = ok(b.one(Cmd.GET_SECURITY_INFO), "rom");
    assert.equal(body.length, 20);
    const dv = new DataView(body.buffer, body.byteOffset);
    assert.equal(dv.getUint32(0, true), 0, "no security flags");
    assert.equal(dv.getUint32(12, true), 9);
  });

  test("FLASH_BEGIN erases the region, FLASH_DATA writes each block, FLASH_END leaves for the app", () => {
    const b = new Bench();
    b.flash.write(APP_B + 5000, Uint8Array.of(0, 0, 0)); // old contents, to be erased
    const data = randomBytes(2500);
    const blockSize = 0x400;
    const blocks = Math.ceil(data.length / blockSize);
    ok(b.one(Cmd.FLASH_BEGIN, u32s(data.length + 3000, blocks, blockSize, APP_B, 0)), "rom");
    assert.deepEqual([...b.flash.read(APP_B + 5000, 3)], [0xff, 0xff, 0xff], "the ROM erased at BEGIN");
    for (let seq = 0; seq < blocks; seq++) {
      const block = Buffer.alloc(blockSize, 0xff);
      data.copy(block, 0, seq * blockSize, (seq + 1) * blockSize);
      ok(b.one(Cmd.FLASH_DATA, dataBlock(seq, block), xorChecksum(block)), "rom");
    }
    assert.deepEqual(Buffer.from(b.flash.read(APP_B, data.length)), data);
    ok(b.one(Cmd.FLASH_END, u32s(0)), "rom");
    assert.equal(b.appRuns, 0, "the response goes out before the chip reboots");
    b.advance(100);
    assert.equal(b.appRuns, 1);
    assert.ok(b.events.lastIndexOf("send") < b.events.indexOf("runApp"));
    assert.deepEqual(b.command(Cmd.SYNC, SYNC_PAYLOAD), [], "the loader is gone");
  });

  test("FLASH_DEFL writes what the stream inflates to; SPI_FLASH_MD5 answers 32 hex digits", () => {
    const b = new Bench();
    const data = image(40000);
    const z = zlib.deflateSync(data, { level: 9 });
    const blockSize = 0x400;
    const blocks = Math.ceil(z.length / blockSize);
    const erase = Math.ceil(data.length / blockSize) * blockSize;
    ok(b.one(Cmd.FLASH_DEFL_BEGIN, u32s(erase, blocks, blockSize, APP_B, 0)), "rom");
    for (let seq = 0; seq < blocks; seq++) {
      const part = z.subarray(seq * blockSize, (seq + 1) * blockSize);
      ok(b.one(Cmd.FLASH_DEFL_DATA, dataBlock(seq, part), xorChecksum(part)), "rom");
    }
    assert.deepEqual(Buffer.from(b.flash.read(APP_B, data.length)), Buffer.from(data));
    const body = ok(b.one(Cmd.SPI_FLASH_MD5, u32s(APP_B, data.length, 0, 0)), "rom");
    assert.equal(Buffer.from(body).toString("latin1"), md5(data));
  });

  test("a bad data checksum is error 0x07 and the block is not written", () => {
    const b = new Bench();
    ok(b.one(Cmd.FLASH_BEGIN, u32s(4096, 1, 0x400, APP_B, 0)), "rom");
    const block = randomBytes(0x400);
    failed(b.one(Cmd.FLASH_DATA, dataBlock(0, block), xorChecksum(block) ^ 1), "rom", 0x07);
    assert.deepEqual([...b.flash.read(APP_B, 4)], [0xff, 0xff, 0xff, 0xff]);
    ok(b.one(Cmd.FLASH_DATA, dataBlock(0, block), xorChecksum(block)), "rom"); // the resend is taken
  });

  test("a block out of sequence, or past the announced blocks, is refused", () => {
    const b = new Bench();
    ok(b.one(Cmd.FLASH_BEGIN, u32s(0x800, 2, 0x400, APP_B, 0)), "rom");
    const block = randomBytes(0x400);
    failed(b.one(Cmd.FLASH_DATA, dataBlock(1, block), xorChecksum(block)), "rom", failureCode("rom", "badSequence"));
    ok(b.one(Cmd.FLASH_DATA, dataBlock(0, block), xorChecksum(block)), "rom");
    failed(b.one(Cmd.FLASH_DATA, dataBlock(0, block), xorChecksum(block)), "rom", failureCode("rom", "badSequence"));
    ok(b.one(Cmd.FLASH_DATA, dataBlock(1, block), xorChecksum(block)), "rom");
    failed(b.one(Cmd.FLASH_DATA, dataBlock(2, block), xorChecksum(block)), "rom", failureCode("rom", "tooMuchData"));
  });

  test("a region outside the flash is an error response, and nothing is touched", () => {
    const b = new Bench();
    const size = b.flash.size;
    failed(b.one(Cmd.FLASH_BEGIN, u32s(0x2000, 2, 0x1000, size - 0x1000, 0)), "rom", failureCode("rom", "flashFailed"));
    failed(b.one(Cmd.FLASH_DEFL_BEGIN, u32s(0x1000, 1, 0x1000, 0xffff_f000, 0)), "rom", failureCode("rom", "flashFailed"));
    failed(b.one(Cmd.SPI_FLASH_MD5, u32s(size - 16, 32, 0, 0)), "rom", 0x0a);
    // A block without a download in progress.
    failed(b.one(Cmd.FLASH_DATA, dataBlock(0, Uint8Array.of(1)), xorChecksum(Uint8Array.of(1))), "rom", failureCode("rom", "notInFlashMode"));
    assert.equal(b.flash.stats.unitsErased, 0);
  });

  test("a corrupt deflate stream is error 0x0b, immediately (the ROM writes before it answers)", () => {
    const b = new Bench();
    const z = Buffer.from(zlib.deflateSync(image(8000)));
    z[40] ^= 0xff;
    z[41] ^= 0x55;
    ok(b.one(Cmd.FLASH_DEFL_BEGIN, u32s(8192, 1, 0x4000, APP_B, 0)), "rom");
    failed(b.one(Cmd.FLASH_DEFL_DATA, dataBlock(0, z), xorChecksum(z)), "rom", 0x0b);
  });

  test("programming over data that was not erased fails the ROM's read-back check", () => {
    const b = new Bench();
    ok(b.one(Cmd.FLASH_BEGIN, u32s(0x400, 1, 0x400, APP_B, 0)), "rom");
    b.flash.write(APP_B + 10, Uint8Array.of(0x00)); // something programs behind the loader's back
    const block = Buffer.alloc(0x400, 0x5a);
    failed(b.one(Cmd.FLASH_DATA, dataBlock(0, block), xorChecksum(block)), "rom", 0x08);
  });

  test("a flash that fails mid-write is error 0x06, not an exception", () => {
    const b = new Bench();
    ok(b.one(Cmd.FLASH_BEGIN, u32s(0x400, 1, 0x400, APP_B, 0)), "rom");
    b.flash.faults.beforeWrite = () => {
      throw new Error("injected: the flash chip stopped answering");
    };
    const block = randomBytes(0x400);
    failed(b.one(Cmd.FLASH_DATA, dataBlock(0, block), xorChecksum(block)), "rom", 0x06);
    b.flash.faults = {};
    b.flash.close(); // the simulator's own fault: still an answer, counted
    failed(b.one(Cmd.SPI_FLASH_MD5, u32s(0, 16, 0, 0)), "rom", 0x06);
    assert.equal(b.rom.stats.faults, 0, "flash failures are the loader's errors, not faults");
  });

  test("an unknown command gets 'invalid message' (0x05), eight times as the ROM does", () => {
    const b = new Bench();
    const r = b.command(Cmd.READ_FLASH, u32s(0, 16, 16, 1)); // stub-only
    assert.equal(r.length, 8);
    for (const x of r) failed(x, "rom", 0x05);
  });

  test("malformed frames are dropped and counted, without a response", () => {
    const b = new Bench();
    const good = request(Cmd.READ_REG, u32s(MAGIC_REG), 0);
    // Bad escape (0xDB 0x01) inside an otherwise good frame.
    const escaped = slipEncode(good);
    const badEscape = concat(escaped.subarray(0, 5), Uint8Array.of(0xdb, 0x01), escaped.subarray(5));
    assert.deepEqual(b.raw(badEscape), []);
    assert.equal(b.rom.slip.drops.badEscape, 1);
    // Wrong direction byte.
    const dir = Uint8Array.from(good);
    dir[0] = 0x01;
    assert.deepEqual(b.raw(slipEncode(dir)), []);
    // Size field that does not match the length.
    const size = Uint8Array.from(good);
    size[2] = 9;
    assert.deepEqual(b.raw(slipEncode(size)), []);
    // Shorter than a header.
    assert.deepEqual(b.raw(slipEncode(Uint8Array.of(0, 0x0a, 0))), []);
    assert.deepEqual(b.rom.stats.malformed, { short: 1, direction: 1, size: 1 });
    // The loader is still fine.
    assert.equal(b.one(Cmd.READ_REG, u32s(MAGIC_REG)).value, 9);
  });

  test("bytes flagged with UART line errors are garbage: a host at the wrong baud gets no answer", () => {
    const b = new Bench();
    const frame = slipEncode(request(Cmd.SYNC, SYNC_PAYLOAD, 0));
    const errors = new Uint8Array(frame.length);
    errors[7] = 1;
    assert.deepEqual(b.raw(frame, errors), []);
    assert.equal(b.rom.slip.drops.lineError, 1);
    assert.deepEqual(b.raw(frame, new Uint8Array(frame.length).fill(1)), []);
    assert.equal(b.raw(frame).length, 8, "clean bytes still get through");
  });

  test("CHANGE_BAUDRATE: the response goes out at the old baud, then the UART switches", () => {
    const b = new Bench();
    const sendsBefore = b.events.length;
    ok(b.one(Cmd.CHANGE_BAUDRATE, u32s(921600, 0)), "rom");
    assert.deepEqual(b.bauds, [], "not before the response has left the UART");
    b.advance(20);
    assert.deepEqual(b.bauds, [921600]);
    assert.deepEqual(b.events.slice(sendsBefore), ["send", "baud 921600"]);
    failed(b.one(Cmd.CHANGE_BAUDRATE, u32s(0, 0)), "rom", 0x05);
    failed(b.one(Cmd.CHANGE_BAUDRATE, u32s(921600)), "rom", 0x05);
  });

  test("a MEM_END entry point outside what was loaded crashes the chip: no OHAI", () => {
    const b = new Bench();
    const code = randomBytes(64);
    ok(b.one(Cmd.MEM_BEGIN, u32s(64, 1, 0x1800, 0x40380000)), "rom");
    ok(b.one(Cmd.MEM_DATA, dataBlock(0, code), xorChecksum(code)), "rom");
    ok(b.one(Cmd.MEM_END, u32s(0, 0x40390000)), "rom");
    b.advance(100);
    assert.equal(b.frames.filter((f) => Buffer.from(f).toString("latin1") === "OHAI").length, 0);
    assert.equal(b.rom.stats.crashed, 1);
    assert.deepEqual(b.command(Cmd.SYNC, SYNC_PAYLOAD), [], "a crashed chip answers nothing");
    failed(new Bench().one(Cmd.MEM_BEGIN, u32s(64, 1, 0x1800, 0x10000000)), "rom", 0x05); // not RAM
  });

  test("random bytes never throw and never wedge the loader", () => {
    const b = new Bench();
    let seed = 7;
    const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let round = 0; round < 300; round++) {
      const chunk = new Uint8Array(1 + (next() % 600));
      for (let i = 0; i < chunk.length; i++) {
        const r = next() >>> 8;
        chunk[i] = r % 7 === 0 ? 0xc0 : r % 11 === 0 ? 0xdb : r & 0xff;
      }
      // Some garbage frames are well-formed commands with random fields.
      const cmd = [Cmd.FLASH_BEGIN, Cmd.FLASH_DATA, Cmd.FLASH_DEFL_BEGIN, Cmd.FLASH_DEFL_DATA, Cmd.MEM_BEGIN, Cmd.MEM_DATA, Cmd.WRITE_REG, Cmd.SPI_FLASH_MD5][next() % 8];
      b.rom.receive(chunk);
      b.rom.receive(slipEncode(request(cmd, chunk.subarray(0, next() % 40), next() & 0xff)));
      b.advance(5);
    }
    b.rom.receive(Uint8Array.of(0xc0)); // end any frame the garbage left open
    for (const f of b.frames) parseResponse(f); // whatever it answered is a well-formed response
    assert.ok(b.rom.stats.responses > 0 && b.rom.stats.malformed.size > 0, "the garbage reached the command decoder");
    assert.equal(b.rom.mode, "rom");
    assert.equal(b.rom.stats.faults, 0, b.rom.stats.lastFault);
    assert.equal(b.one(Cmd.READ_REG, u32s(MAGIC_REG)).value, 9);
  });
});

describe("esptool flasher stub on the emulated ESP32-S3", () => {
  test("uploading the stub ends with OHAI; the stub then syncs with value 0 and two status bytes", async () => {
    const b = new Bench();
    await b.runStub();
    const r = b.command(Cmd.SYNC, SYNC_PAYLOAD);
    assert.equal(r.length, 8);
    for (const x of r) {
      assert.equal(x.value, 0);
      assert.deepEqual([...x.data], [0, 0]);
    }
    assert.equal(b.one(Cmd.READ_REG, u32s(MAGIC_REG)).value, 9);
    assert.equal(ok(b.one(Cmd.GET_SECURITY_INFO), "stub").length, 20);
  });

  test("frames sent while the stub starts up are ignored", async () => {
    const b = new Bench();
    const stub = (await getStubJsonByChipName("ESP32-S3"))!;
    const text = stub.decodedText.subarray(0, 0x1800);
    ok(b.one(Cmd.MEM_BEGIN, u32s(text.length, 1, 0x1800, stub.text_start)), "rom");
    ok(b.one(Cmd.MEM_DATA, dataBlock(0, text), xorChecksum(text)), "rom");
    ok(b.one(Cmd.MEM_END, u32s(0, stub.text_start)), "rom");
    assert.deepEqual(b.command(Cmd.READ_REG, u32s(MAGIC_REG)), []);
    assert.equal(b.rom.stats.ignored, 1);
    b.advance(50);
    assert.equal(b.rom.mode, "stub");
  });

  test("FLASH_DEFL: exact size, erased just in time, MD5 as 16 raw bytes", async () => {
    const b = new Bench();
    await b.runStub();
    const neighbour = APP_B + 0x10000;
    b.flash.write(neighbour, Uint8Array.of(1, 2, 3)); // in the next sector: must survive
    const data = image(0x10000 - 100);
    const z = zlib.deflateSync(data);
    const blockSize = 0x4000;
    const blocks = Math.ceil(z.length / blockSize);
    ok(b.one(Cmd.FLASH_DEFL_BEGIN, u32s(data.length, blocks, blockSize, APP_B)), "stub");
    for (let seq = 0; seq < blocks; seq++) {
      const part = z.subarray(seq * blockSize, (seq + 1) * blockSize);
      ok(b.one(Cmd.FLASH_DEFL_DATA, dataBlock(seq, part), xorChecksum(part)), "stub");
    }
    ok(b.one(Cmd.FLASH_DEFL_END, u32s(1)), "stub");
    assert.equal(b.rom.mode, "stub", "FLASH_DEFL_END 1 stays in the stub");
    assert.deepEqual(Buffer.from(b.flash.read(APP_B, data.length)), Buffer.from(data));
    assert.deepEqual([...b.flash.read(neighbour, 3)], [1, 2, 3]);
    const digest = ok(b.one(Cmd.SPI_FLASH_MD5, u32s(APP_B, data.length, 0, 0)), "stub");
    assert.equal(Buffer.from(digest).toString("hex"), md5(data));
  });

  test("a corrupt deflate stream is acknowledged, then reported (0xC700) on the next command", async () => {
    const b = new Bench();
    await b.runStub();
    const z = Buffer.from(zlib.deflateSync(image(20000)));
    for (let i = 30; i < 60; i++) z[i] ^= 0xa5;
    ok(b.one(Cmd.FLASH_DEFL_BEGIN, u32s(20000, 1, 0x4000, APP_B)), "stub");
    ok(b.one(Cmd.FLASH_DEFL_DATA, dataBlock(0, z.subarray(0, 0x4000)), xorChecksum(z.subarray(0, 0x4000))), "stub");
    failed(b.one(Cmd.FLASH_DEFL_END, u32s(1)), "stub", 0xc700);
    assert.equal(b.one(Cmd.READ_REG, u32s(MAGIC_REG)).value, 9, "only one command carries the failure");
  });

  test("inflating past the announced size is refused (0xC900)", async () => {
    const b = new Bench();
    await b.runStub();
    const z = zlib.deflateSync(image(10000));
    ok(b.one(Cmd.FLASH_DEFL_BEGIN, u32s(5000, 1, 0x4000, APP_B)), "stub");
    ok(b.one(Cmd.FLASH_DEFL_DATA, dataBlock(0, z), xorChecksum(z)), "stub");
    failed(b.one(Cmd.READ_REG, u32s(MAGIC_REG)), "stub", 0xc900);
  });

  test("FLASH_END before all bytes arrived is refused; checksum and bad region codes are the stub's", async () => {
    const b = new Bench();
    await b.runStub();
    ok(b.one(Cmd.FLASH_BEGIN, u32s(0x5000, 2, 0x4000, APP_B)), "stub");
    const block = randomBytes(0x4000);
    failed(b.one(Cmd.FLASH_DATA, dataBlock(0, block), xorChecksum(block) ^ 0x80), "stub", 0xc100);
    ok(b.one(Cmd.FLASH_DATA, dataBlock(0, block), xorChecksum(block)), "stub");
    failed(b.one(Cmd.FLASH_END, u32s(1)), "stub", 0xc000);
    failed(b.one(Cmd.FLASH_BEGIN, u32s(0x2000, 1, 0x4000, b.flash.size - 0x1000)), "stub", 0xc400);
    failed(b.one(Cmd.FLASH_BEGIN, u32s(0x2000, 1, 0x8000, APP_B)), "stub", 0xc200);
    failed(b.one(Cmd.SPI_FLASH_MD5, u32s(b.flash.size, 1, 0, 0)), "stub", 0xc400);
  });

  test("READ_FLASH: one packet in flight, acknowledged by byte count, then the MD5", async () => {
    const b = new Bench();
    await b.runStub();
    const data = randomBytes(10000);
    b.flash.write(APP_B, data);
    const before = b.frames.length;
    b.rom.receive(slipEncode(request(Cmd.READ_FLASH, u32s(APP_B, data.length, 4096, 64), 0)));
    ok(parseResponse(b.frames[before]), "stub");
    const packets = (): Uint8Array[] => b.frames.slice(before + 1);
    assert.equal(packets().length, 1, "one packet before the first acknowledgement");
    let got = Buffer.from(packets()[0]);
    assert.equal(got.length, 4096);
    b.rom.receive(slipEncode(u32s(got.length)));
    assert.equal(packets().length, 2);
    got = Buffer.concat([got, packets()[1]]);
    b.rom.receive(slipEncode(u32s(got.length)));
    got = Buffer.concat([got, packets()[2]]);
    assert.equal(got.length, data.length);
    assert.equal(packets().length, 3, "no MD5 until the last packet is acknowledged");
    b.rom.receive(slipEncode(u32s(got.length)));
    assert.equal(Buffer.from(packets()[3]).toString("hex"), md5(data));
    assert.deepEqual(got, data);
    assert.equal(b.one(Cmd.READ_REG, u32s(MAGIC_REG)).value, 9, "back to commands");
    failed(b.one(Cmd.READ_FLASH, u32s(b.flash.size - 10, 20, 4096, 1)), "stub", 0xc400);
    failed(b.one(Cmd.READ_FLASH, u32s(0, 20, 0, 1)), "stub", 0xc000);
  });

  test("ERASE_REGION wants whole sectors; ERASE_FLASH erases the chip", async () => {
    const b = new Bench();
    await b.runStub();
    b.flash.write(APP_B, Uint8Array.of(0));
    failed(b.one(Cmd.ERASE_REGION, u32s(APP_B + 1, 4096)), "stub", 0xc000);
    ok(b.one(Cmd.ERASE_REGION, u32s(APP_B, 4096)), "stub");
    assert.equal(b.flash.read(APP_B, 1)[0], 0xff);
    b.flash.write(0, Uint8Array.of(0));
    ok(b.one(Cmd.ERASE_FLASH), "stub");
    assert.equal(b.flash.read(0, 1)[0], 0xff);
  });

  test("CHANGE_BAUDRATE with the stub's (new, old) words; unknown commands are 0xC300", async () => {
    const b = new Bench();
    await b.runStub();
    ok(b.one(Cmd.CHANGE_BAUDRATE, u32s(460800, 115200)), "stub");
    b.advance(20);
    assert.deepEqual(b.bauds, [460800]);
    failed(b.one(0x7e), "stub", 0xc300);
  });

  test("the stub answers malformed frames it can name, and counts them", async () => {
    const b = new Bench();
    await b.runStub();
    const good = request(Cmd.READ_REG, u32s(MAGIC_REG), 0);
    const size = Uint8Array.from(good);
    size[2] = 2;
    failed(b.raw(slipEncode(size))[0], "stub", 0xc000);
    const dir = Uint8Array.from(good);
    dir[0] = 7;
    failed(b.raw(slipEncode(dir))[0], "stub", 0xc300);
    assert.deepEqual(b.rom.stats.malformed, { short: 0, direction: 1, size: 1 });
  });

  test("RUN_USER_CODE sends nothing and boots the app; FLASH_END 0 reboots after its response", async () => {
    const b = new Bench();
    await b.runStub();
    assert.deepEqual(b.command(Cmd.RUN_USER_CODE), []);
    b.advance(5);
    assert.equal(b.appRuns, 1);

    const c = new Bench();
    await c.runStub();
    ok(c.one(Cmd.FLASH_BEGIN, u32s(0, 0, 0x4000, 0)), "stub");
    ok(c.one(Cmd.FLASH_END, u32s(0)), "stub");
    c.advance(50);
    assert.equal(c.appRuns, 1);
  });

  test("close() cancels the pending OHAI", async () => {
    const b = new Bench();
    const code = randomBytes(16);
    ok(b.one(Cmd.MEM_BEGIN, u32s(16, 1, 0x1800, 0x40380000)), "rom");
    ok(b.one(Cmd.MEM_DATA, dataBlock(0, code), xorChecksum(code)), "rom");
    ok(b.one(Cmd.MEM_END, u32s(0, 0x40380000)), "rom");
    b.rom.close();
    const before = b.frames.length;
    b.advance(100);
    assert.equal(b.frames.length, before);
  });
});

describe("streaming inflater", () => {
  test("matches node:zlib for every level, split at arbitrary points", () => {
    let seed = 3;
    const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (const size of [0, 1, 1000, 70000]) {
      for (const level of [0, 1, 6, 9]) {
        const data = image(size);
        const z = zlib.deflateSync(data, { level });
        const inf = new StreamingInflater();
        const out: Uint8Array[] = [];
        for (let at = 0; at < z.length; ) {
          const n = 1 + (next() % 700);
          out.push(inf.push(z.subarray(at, at + n)));
          at += n;
        }
        assert.ok(inf.done, `size ${size} level ${level}`);
        assert.deepEqual(Buffer.concat(out), Buffer.from(data));
      }
    }
  });

  test("rejects a wrong Adler-32, a bad header and a bad block type", () => {
    const z = Buffer.from(zlib.deflateSync(image(3000)));
    z[z.length - 1] ^= 1;
    assert.throws(() => new StreamingInflater().push(z), InflateError);
    assert.throws(() => new StreamingInflater().push(Uint8Array.of(0x78, 0x9d)), /header/);
    assert.throws(() => new StreamingInflater().push(Uint8Array.of(0x78, 0x9c, 0x07)), /block type/);
    // A fixed-Huffman block whose first symbol is a match (length 3, distance 1): nothing to copy.
    const bits = new BitWriter();
    bits.put(1, 1).put(1, 2); // final block, fixed Huffman
    bits.code(0b0000001, 7); // length symbol 257 (3 bytes)
    bits.code(0b00000, 5); // distance symbol 0 (1 byte back)
    assert.throws(() => new StreamingInflater().push(concat(Uint8Array.of(0x78, 0x9c), bits.bytes())), /before the start/);
  });
});
