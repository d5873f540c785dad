// Flashing must never leave a board that does not boot. TINCAN_FAULT_TRIALS (default 100)
// trials of each fault, on the simulated tincan-s3 (ESP serial protocol, esptool-js engine)
// and tincan-h7 (AN3155), unpaced so the trials run fast:
//   - the link cut at a random byte of the transfer;
//   - the board reset at a random byte of the transfer;
//   - one byte of the transfer corrupted on the line: detected (checksums, MD5, read-back,
//     ACK protocol) and retried, and the flash completes.
// After each fault the board is reset and must boot an image (the old one or the new one,
// never neither); after the trials, a plain re-run flashes and boots the new image.
//
// Shared by flash-faults-esp.test.ts and flash-faults-stm32.test.ts (one file per board, so
// the two run side by side):
//   TINCAN_FAULT_TRIALS=10 node --import tsx --test test/interop/flash-faults-*.test.ts

import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import net from "node:net";
import { startDevice, installImage, type RunningDevice } from "../../host-tools/sim/device.ts";
import { buildUnsigned, signImage, parseVersion, parseImage, formatVersion, type ParsedImage } from "../../host-tools/flash/image.ts";
import { flashBoard, type FlashJob } from "../../host-tools/flash/flash-board.ts";
import { loadBoard } from "../../host-tools/boards.ts";
import { ABI_VERSION } from "../../host-tools/sim/abi.ts";
import { writeBootRecord, checkSlot } from "../../host-tools/sim/boot.ts";
import { firmwareBytes, tempDir } from "../host/helpers.ts";

const TRIALS = Number(process.env.TINCAN_FAULT_TRIALS ?? 100);
const keys = crypto.generateKeyPairSync("ed25519");

type Fault = "cut" | "reset" | "corrupt";

/** A TCP relay between the flasher and the board that counts host->board bytes and acts at byte N. */
class Relay {
  private server: net.Server;
  sent = 0;
  armed?: { at: number; fault: Fault; fired: boolean };
  port = 0;

  constructor(target: number, private readonly device: RunningDevice) {
    this.server = net.createServer((client) => {
      const board = net.connect(target, "127.0.0.1");
      client.setNoDelay(true);
      board.setNoDelay(true);
      const close = () => { client.destroy(); board.destroy(); };
      client.on("error", close);
      board.on("error", close);
      client.on("close", close);
      board.on("close", close);
      board.on("data", (d) => client.write(d));
      client.on("data", (d: Buffer) => {
        const a = this.armed;
        const start = this.sent;
        this.sent += d.length;
        if (!a || a.fired || this.sent <= a.at) return void board.write(d);
        a.fired = true;
        const k = a.at - start;
        if (a.fault === "cut") {
          board.write(d.subarray(0, k), () => close());
        } else if (a.fault === "reset") {
          board.write(d.subarray(0, k));
          this.device.device.reset();
          board.write(d.subarray(k));
        } else {
          // Noise hits the data line, not DTR/RTS: leave RFC 2217 commands (IAC ...) alone.
          const c = Buffer.from(d);
          const control = new Uint8Array(c.length);
          for (let i = 0; i < c.length; i++) if (c[i] === 0xff) control.fill(1, Math.max(0, i - 12), i + 12);
          let at = k;
          while (at < c.length && control[at]) at++;
          if (at < c.length) c[at] ^= 1 << (a.at % 8);
          else a.fired = false; // no data byte left in this chunk: the next one takes the hit
          if (!a.fired) a.at = this.sent;
          board.write(c);
        }
      });
    });
  }

  listen(): Promise<string> {
    return new Promise((r) => this.server.listen(0, "127.0.0.1", () => {
      this.port = (this.server.address() as net.AddressInfo).port;
      r(`rfc2217://127.0.0.1:${this.port}`);
    }));
  }

  close(): void { this.server.close(); }
}

function image(boardId: string, n: number) {
  const bytes = signImage(buildUnsigned(firmwareBytes(boardId), { board: boardId, abiVersion: ABI_VERSION, version: parseVersion(`1.0.${n}`), securityCounter: 1 }), keys.privateKey);
  return { image: parseImage(bytes), imageBytes: bytes };
}

export function faultTests(boardId: string): void {
  test(`${boardId}: a board flashed once and never booted, flashed again and cut: the first image stays`, async () => {
    const board = loadBoard(boardId);
    const dev = await startDevice({ boardId, dir: tempDir(), trustedKey: keys.publicKey, paced: false, resetOnCrash: false, bootMode: "rom" });
    const relay = new Relay(Number(new URL(dev.url).port), dev);
    const url = await relay.listen();
    try {
      // What a first flash leaves before the board ever boots: the image in app_b, a trial record.
      const first = image(boardId, 0).imageBytes;
      const slot = dev.device.flash.partition("app_b");
      dev.device.flash.eraseCovering(slot.offset, first.length);
      dev.device.flash.write(slot.offset, first);
      writeBootRecord(dev.device.flash, 1, "trial");
      relay.armed = { at: 6000, fault: "cut", fired: false };
      await assert.rejects(flashBoard({ board, port: url, ...image(boardId, 1), checkBoot: false, retries: 0, noReset: true }));
      dev.device.reset();
      assert.equal(dev.device.mode, "app", dev.device.haltReason);
      assert.equal(formatVersion(dev.device.bootChoice!.image.header.version), "1.0.0");
    } finally {
      relay.close();
      await dev.stop();
    }
  });

  test(`${boardId}: an image under test that has not confirmed is the one overwritten, never the confirmed one`, async () => {
    const board = loadBoard(boardId);
    const dev = await startDevice({ boardId, dir: tempDir(), trustedKey: keys.publicKey, paced: false, resetOnCrash: false, bootMode: "rom" });
    try {
      installImage(dev.device, image(boardId, 0).imageBytes); // app_a, confirmed
      const testing = image(boardId, 1).imageBytes;
      const slot = dev.device.flash.partition("app_b");
      dev.device.flash.eraseCovering(slot.offset, testing.length);
      dev.device.flash.write(slot.offset, testing);
      writeBootRecord(dev.device.flash, 1, "testing", true); // booted once, never confirmed; app_a is the confirmed fallback
      const r = await flashBoard({ board, port: dev.url, ...image(boardId, 2), checkBoot: false, retries: 0, noReset: true });
      assert.equal(r.slot, "app_b", "the unconfirmed image's slot takes the new one; app_a stays the fallback");
      assert.equal(formatVersion(dev.device.bootContext && (checkSlot(dev.device.bootContext, 0) as { image: ParsedImage }).image.header.version), "1.0.0");
    } finally {
      await dev.stop();
    }
  });

  test(`${boardId}: ${TRIALS} trials each of a cut link, a reset and a corrupted byte; the board always boots`, { timeout: 60 * 60_000 }, async () => {
    const board = loadBoard(boardId);
    const dev = await startDevice({ boardId, dir: tempDir(), trustedKey: keys.publicKey, paced: false, resetOnCrash: false });
    const port = Number(new URL(dev.url).port);
    const relay = new Relay(port, dev);
    const url = await relay.listen();
    const job = (n: number, retries = 0): FlashJob => ({ board, port: url, ...image(boardId, n), checkBoot: false, retries });
    try {
      // Calibrate: how many bytes a flash sends, so faults land anywhere in it.
      relay.sent = 0;
      await flashBoard(job(0));
      const span = relay.sent;
      let n = 1;
      const seconds: Record<Fault, number> = { cut: 0, reset: 0, corrupt: 0 };
      const outcomes: Record<Fault, { failed: number; completed: number }> = { cut: { failed: 0, completed: 0 }, reset: { failed: 0, completed: 0 }, corrupt: { failed: 0, completed: 0 } };
      for (const fault of ["cut", "reset", "corrupt"] as Fault[]) {
        for (let t = 0; t < TRIALS; t++, n++) {
          relay.sent = 0;
          relay.armed = { at: 1 + crypto.randomInt(span - 1), fault, fired: false };
          const want = `1.0.${n}`;
          const before = ([0, 1] as const).map((slot) => checkSlot(dev.device.bootContext, slot)).filter((c) => c.ok).map((c) => formatVersion((c as { image: ParsedImage }).image.header.version));
          let completed = false;
          const began = performance.now();
          try {
            await flashBoard(job(n, fault === "corrupt" ? 3 : 0));
            completed = true;
          } catch (e) {
            assert.ok(!(e as Error).message.includes("\n"), "one line");
            if (fault === "corrupt") throw new Error(`trial ${t}: a corrupted byte at ${relay.armed.at} was not recovered: ${(e as Error).message}`);
          }
          outcomes[fault][completed ? "completed" : "failed"]++;
          seconds[fault] += (performance.now() - began) / 1000;
          // A completed flash has left the loader and booted the new image (in test mode: a
          // second reset now would rightly revert it). A failed one may have left the board in
          // its loader: reset it, as a person would.
          await new Promise((r) => setTimeout(r, 20));
          if (!completed) dev.device.reset();
          assert.equal(dev.device.mode, "app", `${fault} trial ${t} at byte ${relay.armed.at}: the board must boot (${dev.device.haltReason ?? ""})`);
          const running = formatVersion(dev.device.bootChoice!.image.header.version);
          // The new image or one that was on the board before, nothing else. A completed flash
          // boots the new one, unless a reset landed after its commit (during the reset out of
          // the loader): two resets before an image confirms itself revert it, as they must.
          assert.ok(running === want || before.includes(running), `${fault} trial ${t}: boots ${running}, neither the new ${want} nor one of ${before.join(", ")}`);
          if (completed && fault !== "reset") assert.equal(running, want, `${fault} trial ${t}: a completed flash boots the new image`);
        }
      }
      relay.armed = undefined;
      const last = await flashBoard({ ...job(n), checkBoot: true, port: dev.url });
      assert.equal(last.booted?.imageVersion, `1.0.${n}`);
      const mean = Object.fromEntries(Object.entries(seconds).map(([k, v]) => [k, +(v / TRIALS).toFixed(2)]));
      console.log(`${boardId}: ${JSON.stringify(outcomes)} over ${span} bytes per flash; mean seconds per trial ${JSON.stringify(mean)}`);
    } finally {
      relay.close();
      await dev.stop();
    }
  });
}
