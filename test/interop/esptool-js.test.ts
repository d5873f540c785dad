// esptool-js 0.7.0 (Espressif's JavaScript esptool, not ours) flashing the simulated tincan-s3
// through the Tincan engine: the Web Serial adapter over a Link from openLink(), the device's
// RFC 2217 server, its classic auto-reset circuit, line-rate UART, and the ROM/stub emulator.

import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createHash, randomBytes } from "node:crypto";
import { loadBoard, type BoardManifest } from "../../host-tools/boards.ts";
import { startDevice, type RunningDevice } from "../../host-tools/sim/device.ts";
import { openLink, LinkError, type Link } from "../../host-tools/link/transport.ts";
import { openEspEngine } from "../../host-tools/flash/esp/engine.ts";
import { LinkSerialPort } from "../../host-tools/flash/esp/webserial.ts";
import { FlashEngineError } from "../../host-tools/flash/engine.ts";

const board = loadBoard("tincan-s3");
const APP_B = board.flash.partitions.find((p) => p.role === "app_b")!.offset;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tincan-esptool-js-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const md5 = (b: Uint8Array): string => createHash("md5").update(b).digest("hex");

/** Half noise, half text: the stub's inflate path gets both stored and Huffman blocks. */
function file(size: number): Uint8Array {
  const out = Buffer.alloc(size, "tincan intercom firmware ");
  randomBytes(size / 2).copy(out);
  return out;
}

async function withDevice(name: string, bootMode: "normal" | "rom", fn: (d: RunningDevice) => Promise<void>): Promise<void> {
  const d = await startDevice({ boardId: "tincan-s3", dir: path.join(tmp, name), paced: true, bootMode });
  try {
    await fn(d);
  } finally {
    await d.stop();
  }
}

function modeChange(d: RunningDevice, want: (m: string) => boolean, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`device mode is still ${d.device.mode} after ${ms} ms`)), ms);
    const on = (m: string): void => {
      if (!want(m)) return;
      clearTimeout(t);
      d.device.off("mode", on);
      resolve(m);
    };
    d.device.on("mode", on);
  });
}

describe("esptool-js against the simulated tincan-s3", { timeout: 120_000 }, () => {
  test("resets into download mode over RFC 2217, writes (compressed, MD5-verified), hashes, reads back, resets to the app", async () => {
    await withDevice("classic", "normal", async (d) => {
      assert.notEqual(d.device.mode, "rom", "the board starts outside its loader: the reset must get it there");
      const link = await openLink(d.url);
      try {
        const log: string[] = [];
        const engine = await openEspEngine(board, link, { log: (l) => log.push(l) });
        assert.equal(d.device.mode, "rom");
        assert.match(engine.chip, /^ESP32-S3 \(QFN56\) \(revision v0\.2\)$/);
        assert.equal(engine.baud, board.rom.defaultBaud);
        assert.equal(d.device.baud, board.rom.defaultBaud, "the device's UART followed CHANGE_BAUDRATE");
        assert.ok(log.some((l) => /Stub running/.test(l)), "esptool-js ran its flasher stub");

        const data = file(96 * 1024);
        const progress: [number, number][] = [];
        const sentBefore = engine.wireBytes.sent;
        await engine.write(APP_B, data, (done, total) => progress.push([done, total]));
        assert.deepEqual(progress[progress.length - 1], [data.length, data.length]);
        assert.ok(engine.wireBytes.sent - sentBefore < data.length * 0.75, "the data went compressed");
        assert.ok(log.some((l) => /the chip's MD5 verified/.test(l)), "the engine checked the chip's MD5");
        assert.deepEqual(Buffer.from(d.device.flash.read(APP_B, data.length)), Buffer.from(data), "the simulated flash holds the file");

        assert.equal(await engine.digest(APP_B, data.length), md5(data));
        const back = await engine.read(APP_B, data.length);
        assert.deepEqual(Buffer.from(back), Buffer.from(data));
        assert.equal(await engine.digest(APP_B + data.length, 4096), md5(Buffer.alloc(4096, 0xff)), "the rest of the sector stayed erased");

        const boots = d.device.boots;
        const left = modeChange(d, (m) => m === "app" || m === "halted", 5000);
        await engine.run();
        await left; // app_b holds no signed image, so the bootloader halts: it left the ROM
        assert.equal(d.device.boots, boots + 1);
        await assert.rejects(engine.digest(0, 16), (e: unknown) => e instanceof FlashEngineError && e.code === "CLOSED");
      } finally {
        await link.close();
      }
    });
  });

  test("noReset: a board held in download mode, over raw socket:// without line control", async () => {
    await withDevice("held", "rom", async (d) => {
      const link = await openLink(d.rawUrl);
      try {
        const engine = await openEspEngine(board, link, { noReset: true, baud: 921600 });
        assert.match(engine.chip, /^ESP32-S3/);
        assert.equal(engine.baud, 921600);
        const data = file(8 * 1024);
        await engine.write(0x1000, data);
        assert.deepEqual(Buffer.from(await engine.read(0x1000, data.length)), Buffer.from(data));
        await assert.rejects(engine.read(board.memory.flashBytes - 8, 16), (e: unknown) => e instanceof FlashEngineError && e.code === "RANGE");
        await assert.rejects(engine.write(0x1001, data), /4-byte boundary/);
      } finally {
        await link.close();
      }
    });
  });

  test("refuses a chip that is not the manifest's, in one line", async () => {
    await withDevice("wrong-chip", "rom", async (d) => {
      const c3: BoardManifest = structuredClone(board);
      if (c3.rom.protocol !== "esp-serial") assert.fail("tincan-s3 is an ESP board");
      c3.id = "tincan-c3";
      c3.rom.chip = { name: "ESP32-C3", chipId: 5, magicRegister: 0x40001000, magicValue: 0x1b31506f };
      const link = await openLink(d.url);
      try {
        const log: string[] = [];
        await assert.rejects(openEspEngine(c3, link, { log: (l) => log.push(l) }), (e: unknown) => {
          assert.ok(e instanceof FlashEngineError);
          assert.equal(e.message, `the chip on ${d.url} is an ESP32-S3, board tincan-c3 needs an ESP32-C3`);
          return true;
        });
        assert.ok(log.some((l) => /Detecting chip type/.test(l)), "it got as far as identifying the chip");
        assert.ok(!log.some((l) => /Uploading stub/.test(l)), "refused before anything was uploaded");
      } finally {
        await link.close();
      }
    });
  });

  test("no board in download mode: a one-line error, not a hang", async () => {
    await withDevice("silent", "normal", async (d) => {
      const link = await openLink(d.rawUrl); // socket://: DTR/RTS go nowhere, the board stays put
      try {
        await assert.rejects(openEspEngine(board, link, { noReset: true }), (e: unknown) => {
          assert.ok(e instanceof FlashEngineError);
          assert.equal(e.code, "NO_ANSWER");
          assert.doesNotMatch(e.message, /\n/);
          return true;
        });
      } finally {
        await link.close();
      }
    });
  });
});

/** A Link that records what it is asked and refuses DTR/RTS, as a bare TCP bridge would. */
function fakeLink(): Link & { written: Uint8Array[]; push(b: Uint8Array): void; bauds: number[] } {
  const data = new Set<(c: Uint8Array) => void>();
  const written: Uint8Array[] = [];
  const bauds: number[] = [];
  return {
    url: "fake://bridge",
    closed: false,
    written,
    bauds,
    push: (b) => data.forEach((cb) => cb(b)),
    write: async (b) => void written.push(Uint8Array.from(b)),
    onData: (cb) => (data.add(cb), () => data.delete(cb)),
    onClose: () => () => {},
    setSignals: async () => {
      throw new LinkError("fake://bridge: the bridge has no modem lines");
    },
    setBaud: async (b) => void bauds.push(b),
    close: async () => {},
  };
}

describe("the Web Serial adapter esptool-js runs on", () => {
  test("keeps one readable alive across chunks and readers, and counts wire bytes", async () => {
    const link = fakeLink();
    const port = new LinkSerialPort(link, { usbVendorId: 0x10c4, usbProductId: 0xea60 });
    assert.equal(port.readable, null, "no streams before open()");
    await port.open({ baudRate: 115200 });
    assert.deepEqual(link.bauds, [115200]);
    link.push(Uint8Array.of(1, 2));
    const r1 = port.readable!.getReader();
    assert.deepEqual([...(await r1.read()).value!], [1, 2]);
    r1.releaseLock();
    link.push(Uint8Array.of(3));
    const r2 = port.readable!.getReader(); // esptool-js takes a new reader for every chunk
    assert.deepEqual([...(await r2.read()).value!], [3]);
    r2.releaseLock();
    const w = port.writable!.getWriter();
    await w.write(Uint8Array.of(9, 9, 9));
    await w.close(); // esptool-js's flushOutput closes its writer...
    const w2 = port.writable!.getWriter(); // ...and writes again later
    await w2.write(Uint8Array.of(8));
    w2.releaseLock();
    assert.deepEqual(port.wire, { sent: 4, received: 3 });
    assert.deepEqual(port.getInfo(), { usbVendorId: 0x10c4, usbProductId: 0xea60 });
    await port.setBaudRate(460800);
    assert.deepEqual(link.bauds, [115200, 460800]);
    await port.close();
    assert.equal(port.readable, null);
  });

  test("a link that refuses line control is logged once and does not stop the flow", async () => {
    const link = fakeLink();
    const logs: string[] = [];
    const port = new LinkSerialPort(link, { log: (l) => logs.push(l) });
    await port.open({ baudRate: 115200 });
    await port.setSignals({ dataTerminalReady: false, requestToSend: true });
    await port.setSignals({ requestToSend: false });
    assert.deepEqual(port.lines, { dtr: false, rts: false }, "both line states are kept");
    assert.equal(logs.length, 1);
    assert.match(logs[0], /no modem lines/);
    assert.match(port.lineControlError ?? "", /no modem lines/);
    const w = port.writable!.getWriter();
    await w.write(Uint8Array.of(0xc0));
    w.releaseLock();
    assert.equal(link.written.length, 1);
    await port.close();
  });
});
