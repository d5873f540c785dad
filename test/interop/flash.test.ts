// Tincan's own flasher (`tincan flash`, host-tools/flash/) on the simulated tincan-s3 (ESP
// serial protocol through esptool-js) and tincan-h7 (AN3155), over rfc2217:// with the reset
// circuits driven by DTR/RTS: several boards in parallel, the new image boots and answers HELLO
// with its version, and every bad image is refused before a port is even opened.
//
//   node --import tsx --test test/interop/flash.test.ts     (needs npm run build: dist/tincan.mjs)

import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import net from "node:net";
import { spawn } from "node:child_process";
import { startDevice, type RunningDevice } from "../../host-tools/sim/device.ts";
import { buildUnsigned, signImage, parseVersion } from "../../host-tools/flash/image.ts";
import { ABI_VERSION } from "../../host-tools/sim/abi.ts";
import { ConsoleClient } from "../../host-tools/link/console.ts";
import { firmwareBytes, tempDir, root } from "../host/helpers.ts";

const keys = crypto.generateKeyPairSync("ed25519");
const cli = path.join(root, "dist", "tincan.mjs");
const work = tempDir("tincan-flash-");

function imageFile(boardId: string, version: string, counter = 1, tweak?: (b: Uint8Array) => Uint8Array, fields: Record<string, unknown> = {}): string {
  let bytes = signImage(buildUnsigned(firmwareBytes(boardId), { board: boardId, abiVersion: ABI_VERSION, version: parseVersion(version), securityCounter: counter, ...fields }), keys.privateKey);
  if (tweak) bytes = tweak(bytes);
  const file = path.join(work, `${boardId}-${version}-${crypto.randomBytes(3).toString("hex")}.img`);
  fs.writeFileSync(file, bytes);
  return file;
}

function device(boardId: string): Promise<RunningDevice> {
  return startDevice({ boardId, dir: tempDir(), trustedKey: keys.publicKey, paced: false });
}

function run(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args]);
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => resolve({ status: status ?? -1, stdout, stderr }));
  });
}

async function hello(d: RunningDevice) {
  const c = await ConsoleClient.open(d.rawUrl);
  try { return await c.hello({ timeoutMs: 2000 }); } finally { await c.close(); }
}

for (const boardId of ["tincan-s3", "tincan-h7"]) {
  test(`${boardId}: two boards flashed in parallel, then each boots the new image and says so in HELLO`, async () => {
    const boards = [await device(boardId), await device(boardId)];
    try {
      assert.equal(boards[0].device.mode, "halted", "a new board has nothing to boot");
      const first = await run("flash", "--board", boardId, "--port", boards[0].url, "--port", boards[1].url, "--json", imageFile(boardId, "0.1.0"));
      assert.equal(first.status, 0, first.stderr);
      const report = JSON.parse(first.stdout);
      assert.equal(report.boards.length, 2);
      for (const b of report.boards) {
        assert.equal(b.ok, true, b.error);
        assert.equal(b.result.slot, "app_b", "a board with no record runs app_a: the new image goes to app_b");
        assert.deepEqual(b.result.booted, { imageVersion: "0.1.0", slot: "app_b", confirmed: true });
      }
      const second = await run("flash", "--board", boardId, "--port", boards[0].url, "--json", imageFile(boardId, "0.2.0", 2));
      assert.equal(second.status, 0, second.stderr);
      assert.equal(JSON.parse(second.stdout).boards[0].result.slot, "app_a", "the next image goes to the slot not running");
      const h = await hello(boards[0]);
      assert.equal(h.boot?.imageVersion, "0.2.0");
      assert.equal(h.boot?.slot, "app_a");
      assert.equal(h.boot?.testing, false);
      assert.equal(h.boot?.securityCounter, 2);
      assert.equal((await hello(boards[1])).boot?.imageVersion, "0.1.0");
      // The same image again: nothing to write.
      const again = await run("flash", "--board", boardId, "--port", boards[0].url, "--json", imageFile(boardId, "0.2.0", 2));
      assert.equal(again.status, 0, again.stderr);
      assert.equal(JSON.parse(again.stdout).boards[0].result.app, "already-running");
      // A downgrade is refused before anything is written.
      const before = { ...boards[0].device.flash.stats };
      const down = await run("flash", "--board", boardId, "--port", boards[0].url, imageFile(boardId, "0.1.5", 1));
      assert.notEqual(down.status, 0);
      assert.match(down.stdout + down.stderr, /security counter 2; this image has 1: a downgrade, refused \(nothing was written\)/);
      assert.deepEqual(boards[0].device.flash.stats, before);
    } finally {
      for (const b of boards) await b.stop();
    }
  });
}

test("bad images are refused on the host before any port is opened, each with one line", async () => {
  const d = await device("tincan-s3");
  try {
    let connections = 0;
    const probe = net.createServer((s) => { connections++; s.destroy(); });
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", () => r()));
    const port = `rfc2217://127.0.0.1:${(probe.address() as net.AddressInfo).port}`;
    const cases: [string, string, RegExp][] = [
      ["wrong board", imageFile("tincan-h7", "1.0.0"), /built for board tincan-h7, not tincan-s3/],
      ["unsigned", imageFile("tincan-s3", "1.0.0", 1, (b) => b.subarray(0, b.length - 100)), /not signed/],
      ["tampered", imageFile("tincan-s3", "1.0.0", 1, (b) => { const c = Uint8Array.from(b); c[500] ^= 4; return c; }), /module hash does not match/],
      ["truncated", imageFile("tincan-s3", "1.0.0", 1, (b) => b.subarray(0, 3000)), /truncated/],
      ["wrong ABI", imageFile("tincan-s3", "1.0.0", 1, undefined, { abiVersion: ABI_VERSION + 1 }), new RegExp(`ABI version ${ABI_VERSION + 1}, the runtime speaks ${ABI_VERSION}`)],
      ["forged", imageFile("tincan-s3", "1.0.0", 1, (b) => { const c = Uint8Array.from(b); c[c.length - 1] ^= 1; return c; }), /signature does not verify/],
    ];
    for (const [what, file, re] of cases) {
      const args = ["flash", "--board", "tincan-s3", "--port", port, file];
      if (what === "forged") {
        const pub = path.join(work, "trusted.pub");
        fs.writeFileSync(pub, keys.publicKey.export({ format: "pem", type: "spki" }));
        args.splice(1, 0, "--key", pub);
      }
      const r = await run(...args);
      assert.equal(r.status, 1, `${what}: ${r.stderr}`);
      assert.match(r.stderr, re, what);
      assert.equal(r.stderr.trim().split("\n").length, 1, `${what}: one line`);
    }
    assert.equal(connections, 0, "no port was opened for a bad image");
    probe.close();
  } finally {
    await d.stop();
  }
});

test("the wrong chip, a missing port and a busy port: one line each; the exit status names the failed board", async () => {
  const s3 = await device("tincan-s3");
  const h7 = await device("tincan-h7");
  try {
    const wrongChip = await run("flash", "--board", "tincan-h7", "--port", s3.url, imageFile("tincan-h7", "1.0.0"));
    assert.notEqual(wrongChip.status, 0);
    assert.match(wrongChip.stdout, /FAILED/);
    const esp = await run("flash", "--board", "tincan-s3", "--port", h7.url, imageFile("tincan-s3", "1.0.0"));
    assert.notEqual(esp.status, 0);
    assert.match(esp.stdout, /FAILED/);

    const busy = net.connect(Number(new URL(s3.url).port), "127.0.0.1");
    await new Promise((r) => busy.once("connect", r));
    await new Promise((r) => setTimeout(r, 50));
    const img = imageFile("tincan-s3", "1.0.0");
    const r = await run("flash", "--board", "tincan-s3", "--port", "/dev/tincan-no-such-port", "--port", s3.url, "--json", img);
    busy.destroy();
    assert.equal(r.status, 64 + 0b11, "both boards failed: bits 0 and 1");
    const report = JSON.parse(r.stdout);
    assert.match(report.boards[0].error, /no such device/);
    assert.match(report.boards[1].error, /busy/);
    await new Promise((res) => setTimeout(res, 100));
    const ok = await run("flash", "--board", "tincan-s3", "--port", "/dev/tincan-no-such-port", "--port", s3.url, "--json", img);
    assert.equal(ok.status, 64 + 0b01, "only the first board failed");
  } finally {
    await s3.stop();
    await h7.stop();
  }
});
