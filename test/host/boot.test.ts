// The simulated board's bootloader: A/B slots, test-and-confirm, revert, downgrade refusal,
// never booting a slot that fails verification, and a torn boot-control record.

import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";

import { loadBoard } from "../../host-tools/boards.ts";
import { SimDevice, installImage } from "../../host-tools/sim/device.ts";
import { readBootRecord, writeBootRecord, checkSlot } from "../../host-tools/sim/boot.ts";
import { buildUnsigned, signImage, parseVersion } from "../../host-tools/flash/image.ts";
import { ABI_VERSION, SUPPORTED_ABI_VERSIONS } from "../../host-tools/sim/abi.ts";
import { RECORD_BYTES, slotToKeep } from "../../host-tools/flash/boot-control.ts";
import { firmwareBytes, tempDir } from "./helpers.ts";

const board = loadBoard("sim");
const keys = crypto.generateKeyPairSync("ed25519");
const module = firmwareBytes();

function image(version: string, securityCounter = 0, key = keys.privateKey): Uint8Array {
  return signImage(buildUnsigned(module, { board: "sim", abiVersion: ABI_VERSION, version: parseVersion(version), securityCounter }), key);
}

function device(dir = tempDir()): SimDevice {
  return new SimDevice({ board, dir, trustedKey: keys.publicKey, paced: false, resetOnCrash: false });
}

/** What a flasher does: the image into a slot, then a trial record for it. */
function stage(d: SimDevice, slot: 0 | 1, img: Uint8Array): void {
  const p = d.flash.partition(slot === 0 ? "app_a" : "app_b");
  d.flash.eraseCovering(p.offset, img.length);
  d.flash.write(p.offset, img);
  writeBootRecord(d.flash, slot, "trial");
}

const version = (d: SimDevice) => {
  const v = d.bootChoice!.image.header.version;
  return `${v.major}.${v.minor}.${v.patch}`;
};

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("a new image boots once in test mode, confirms itself after its self-check, and stays", async () => {
  const d = device();
  installImage(d, image("0.1.0", 1));
  d.reset();
  assert.equal(d.mode, "app");
  assert.equal(d.bootChoice!.testing, false);
  stage(d, 1, image("0.2.0", 2));
  d.reset();
  assert.equal(d.mode, "app");
  assert.equal(d.bootChoice!.role, "app_b");
  assert.equal(d.bootChoice!.testing, true);
  assert.equal(readBootRecord(d.flash)!.record.state, "testing");
  await waitFor(() => readBootRecord(d.flash)!.record.state === "confirmed");
  assert.equal(d.otp.securityCounter, 2, "confirming burns the image's counter into the fuses");
  d.reset();
  assert.equal(d.bootChoice!.role, "app_b");
  assert.equal(d.bootChoice!.testing, false);
  assert.equal(version(d), "0.2.0");
  d.stop();
});

test("an image that is reset before it confirms is reverted on the next boot", () => {
  const d = device();
  installImage(d, image("0.1.0"));
  stage(d, 1, image("0.2.0"));
  d.reset();
  assert.equal(d.bootChoice!.role, "app_b");
  assert.equal(d.bootChoice!.testing, true);
  d.reset(); // well before the 1 s self-check
  assert.equal(d.bootChoice!.role, "app_a");
  assert.equal(d.bootChoice!.testing, false);
  assert.deepEqual({ ...readBootRecord(d.flash)!.record, sequence: 0 }, { sequence: 0, slot: 0, state: "confirmed", fallbackConfirmed: false });
  d.reset();
  assert.equal(d.bootChoice!.role, "app_a", "the revert sticks");
  d.stop();
});

test("a slot whose hash or signature fails is never booted; the other slot boots instead", () => {
  for (const damage of ["module byte", "signature byte", "other key", "unsigned", "truncated"]) {
    const d = device();
    installImage(d, image("0.1.0"));
    let img = image("0.2.0");
    if (damage === "module byte") { img = Uint8Array.from(img); img[200] ^= 1; }
    if (damage === "signature byte") { img = Uint8Array.from(img); img[img.length - 1] ^= 1; }
    if (damage === "other key") img = image("0.2.0", 0, crypto.generateKeyPairSync("ed25519").privateKey);
    if (damage === "unsigned") img = buildUnsigned(module, { board: "sim", abiVersion: ABI_VERSION, version: parseVersion("0.2.0"), securityCounter: 0 });
    if (damage === "truncated") img = img.subarray(0, img.length - 4096);
    stage(d, 1, img);
    const logs: string[] = [];
    d.on("log", (l: string) => logs.push(l));
    d.reset();
    assert.equal(d.bootChoice!.role, "app_a", damage);
    assert.match(logs.join("\n"), /new image in app_b refused: app_b: .*; reverting to app_a/, damage);
    assert.equal(logs.filter((l) => l.startsWith("boot:")).length, 1, `one line says why (${damage})`);
    d.stop();
  }
});

test("the security counter never goes down: a downgrade is refused at boot", async () => {
  const d = device();
  installImage(d, image("0.1.0", 5));
  d.reset();
  assert.equal(d.otp.securityCounter, 5, "a confirmed boot burns its counter");
  stage(d, 1, image("0.0.9", 4));
  const logs: string[] = [];
  d.on("log", (l: string) => logs.push(l));
  d.reset();
  assert.equal(d.bootChoice!.role, "app_a");
  assert.match(logs.join("\n"), /security counter 4 is below 5: a downgrade, refused/);
  d.stop();
});

test("nothing bootable: the board halts with one line naming both slots, and a later flash boots", () => {
  const d = device();
  const logs: string[] = [];
  d.on("log", (l: string) => logs.push(l));
  d.reset();
  assert.equal(d.mode, "halted");
  assert.match(d.haltReason!, /no bootable image \(app_a: empty; app_b: empty\)/);
  stage(d, 0, image("0.1.0"));
  d.reset();
  assert.equal(d.mode, "app");
  d.stop();
});

test("a torn boot-control record (cut between erase and program) leaves the previous one in force", () => {
  const d = device();
  installImage(d, image("0.1.0"));
  stage(d, 1, image("0.2.0"));
  const before = readBootRecord(d.flash)!;
  // The flasher confirms app_a again but the power fails after the erase of the other copy.
  const ota = d.flash.partition("otadata");
  const other = ota.offset + (before.copy === 0 ? 1 : 0) * d.flash.eraseBytes;
  d.flash.erase(other, d.flash.eraseBytes);
  assert.deepEqual(readBootRecord(d.flash), before);
  // ... or half way through programming it.
  d.flash.write(other, new Uint8Array(RECORD_BYTES / 2).fill(0x12));
  assert.deepEqual(readBootRecord(d.flash), before);
  d.reset();
  assert.equal(d.bootChoice!.role, "app_b", "the trial record still in force");
  d.stop();
});

test("an image for another board or another ABI is refused by the board", () => {
  const d = device();
  const other = signImage(buildUnsigned(module, { board: "tincan-s3", abiVersion: ABI_VERSION, version: parseVersion("1.0.0"), securityCounter: 0 }), keys.privateKey);
  const abi = signImage(buildUnsigned(module, { board: "sim", abiVersion: ABI_VERSION + 1, version: parseVersion("1.0.0"), securityCounter: 0 }), keys.privateKey);
  stage(d, 0, other);
  assert.match((checkSlot(d.bootContext, 0) as { reason: string }).reason, /built for board tincan-s3, not sim/);
  stage(d, 0, abi);
  assert.match((checkSlot(d.bootContext, 0) as { reason: string }).reason, new RegExp(`built against ABI version ${ABI_VERSION + 1}, the runtime speaks ${SUPPORTED_ABI_VERSIONS.join(", ")}`));
  d.reset();
  assert.equal(d.mode, "halted");
  d.stop();
});

test("HELLO-visible boot info: the firmware logs its image version and slot", async () => {
  const d = device();
  installImage(d, image("0.3.1"));
  const logs: string[] = [];
  d.on("log", (l: string) => logs.push(l));
  d.reset();
  await waitFor(() => logs.some((l) => /image 0\.3\.1 in app_a/.test(l)));
  d.stop();

});

test("the record tells a flasher which slot to keep: the confirmed image, also while another is on trial or under test", () => {
  const d = device();
  assert.deepEqual(slotToKeep(readBootRecord(d.flash)), { slot: 0, confirmed: false }, "a new board: app_a, nothing confirmed");
  installImage(d, image("0.1.0"));
  assert.deepEqual(slotToKeep(readBootRecord(d.flash)), { slot: 0, confirmed: true });
  writeBootRecord(d.flash, 1, "trial", true); // what tincan flash writes after keeping app_a
  stage(d, 1, image("0.2.0"));
  writeBootRecord(d.flash, 1, "trial", true);
  assert.deepEqual(slotToKeep(readBootRecord(d.flash)), { slot: 0, confirmed: true });
  d.reset(); // trial -> testing keeps the flag
  assert.equal(readBootRecord(d.flash)!.record.state, "testing");
  assert.equal(readBootRecord(d.flash)!.record.fallbackConfirmed, true);
  assert.deepEqual(slotToKeep(readBootRecord(d.flash)), { slot: 0, confirmed: true }, "app_b is under test: app_a stays");
  writeBootRecord(d.flash, 1, "trial", false); // a trial over a slot that held nothing confirmed
  assert.deepEqual(slotToKeep(readBootRecord(d.flash)), { slot: 1, confirmed: false }, "the only image stays");
  d.stop();
});
