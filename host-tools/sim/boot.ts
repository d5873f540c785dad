// The simulated board's second-stage bootloader: MCUboot's test-and-confirm semantics over the
// two app slots of the manifest and the boot-control record (host-tools/flash/boot-control.ts).
//
//  - trial record: boot that slot once in test mode (record -> testing first, so a reset
//    before the firmware confirms is remembered);
//  - testing record at boot: the image never confirmed itself; revert to the other slot;
//  - confirmed: boot that slot; if it does not verify, the other one.
// A slot boots only if its image verifies: structure, module hash, signature by the board's
// trusted key, board id, ABI version the runtime speaks, security counter not below the
// board's fuses. The firmware confirms through hal.boot_confirm, which also burns the image's
// security counter into the fuses: from then on older images are refused.

import type { KeyObject } from "node:crypto";
import type { BoardManifest } from "../boards.ts";
import { ImageError, HEADER_SIZE, TRAILER_SIZE, verifyImage, type ParsedImage } from "../flash/image.ts";
import { RECORD_BYTES, SLOT_ROLES, currentRecord, encodeRecord, nextRecord, otherSlot, type BootState, type CurrentRecord, type SlotIndex } from "../flash/boot-control.ts";
import { SUPPORTED_ABI_VERSIONS } from "./abi.ts";
import type { SimFlash } from "./flash.ts";
import { validateFirmware, FirmwareError } from "./validate.ts";
import type { Otp } from "./otp.ts";

export interface BootContext {
  board: BoardManifest;
  flash: SimFlash;
  otp: Otp;
  trustedKey: KeyObject;
  log: (line: string) => void;
}

export interface BootChoice { slot: SlotIndex; role: string; testing: boolean; image: ParsedImage }

export type SlotCheck = { ok: true; image: ParsedImage } | { ok: false; reason: string };

export function readBootRecord(flash: SimFlash): CurrentRecord | undefined {
  const ota = flash.partition("otadata");
  return currentRecord(flash.read(ota.offset, RECORD_BYTES), flash.read(ota.offset + flash.eraseBytes, RECORD_BYTES));
}

export function writeBootRecord(flash: SimFlash, slot: SlotIndex, state: BootState, fallbackConfirmed = false): void {
  const ota = flash.partition("otadata");
  const next = nextRecord(readBootRecord(flash), slot, state, fallbackConfirmed);
  const at = ota.offset + next.copy * flash.eraseBytes;
  flash.erase(at, flash.eraseBytes);
  flash.write(at, encodeRecord(next.record));
}

/** Reads a slot and checks everything a board checks before it runs an image. */
export function checkSlot(ctx: BootContext, slot: SlotIndex): SlotCheck {
  const role = SLOT_ROLES[slot];
  const p = ctx.flash.partition(role);
  const head = ctx.flash.read(p.offset, HEADER_SIZE);
  if (head.every((b) => b === 0xff)) return { ok: false, reason: `${role}: empty` };
  const moduleLength = new DataView(head.buffer).getUint32(56, true);
  // A foreign or corrupt header may claim any length: never read past the slot.
  const length = Math.min(HEADER_SIZE + moduleLength + TRAILER_SIZE, p.size);
  try {
    const image = verifyImage(ctx.flash.read(p.offset, length), ctx.trustedKey, { board: ctx.board, minSecurityCounter: ctx.otp.securityCounter, name: role });
    if (!SUPPORTED_ABI_VERSIONS.includes(image.header.abiVersion))
      return { ok: false, reason: `${role}: built against ABI version ${image.header.abiVersion}, the runtime speaks ${SUPPORTED_ABI_VERSIONS.join(", ")}` };
    validateFirmware(image.module, ctx.board, role); // what the WASM runtime checks before it instantiates
    return { ok: true, image };
  } catch (e) {
    if (e instanceof ImageError || e instanceof FirmwareError) return { ok: false, reason: e.message };
    throw e;
  }
}

/** Picks the slot to boot and updates the boot-control record; undefined: nothing bootable. */
export function selectBoot(ctx: BootContext): BootChoice | undefined {
  const current = readBootRecord(ctx.flash);
  const rec = current?.record ?? { sequence: 0, slot: 0 as SlotIndex, state: "confirmed" as BootState, fallbackConfirmed: false };
  const checks: SlotCheck[] = [checkSlot(ctx, 0), checkSlot(ctx, 1)];
  const say = (s: SlotIndex) => SLOT_ROLES[s];
  const boot = (slot: SlotIndex, testing: boolean): BootChoice => {
    const image = (checks[slot] as { image: ParsedImage }).image;
    if (!testing) ctx.otp.raise(image.header.securityCounter);
    return { slot, role: say(slot), testing, image };
  };
  const fallBack = (from: SlotIndex, why: string): BootChoice | undefined => {
    const other = otherSlot(from);
    if (!checks[other].ok) {
      ctx.log(`boot: ${why}; ${say(other)} is not bootable either (${(checks[other] as { reason: string }).reason})`);
      return undefined;
    }
    ctx.log(`boot: ${why}; reverting to ${say(other)}`);
    writeBootRecord(ctx.flash, other, "confirmed");
    return boot(other, false);
  };
  const reason = (s: SlotIndex) => (checks[s] as { reason: string }).reason;

  if (rec.state === "trial") {
    if (!checks[rec.slot].ok) return fallBack(rec.slot, `new image in ${say(rec.slot)} refused: ${reason(rec.slot)}`);
    writeBootRecord(ctx.flash, rec.slot, "testing", current?.record.fallbackConfirmed ?? false);
    ctx.log(`boot: ${say(rec.slot)} in test mode (version ${versionOf(checks[rec.slot])}); it must confirm itself`);
    return boot(rec.slot, true);
  }
  if (rec.state === "testing") {
    const other = otherSlot(rec.slot);
    if (checks[other].ok) return fallBack(rec.slot, `${say(rec.slot)} was not confirmed`);
    if (!checks[rec.slot].ok) return fallBack(rec.slot, `${say(rec.slot)} refused: ${reason(rec.slot)}`);
    ctx.log(`boot: ${say(rec.slot)} was not confirmed, but ${say(other)} holds nothing to revert to (${reason(other)}); testing it again`);
    return boot(rec.slot, true);
  }
  if (!checks[rec.slot].ok) return fallBack(rec.slot, `${say(rec.slot)} refused: ${reason(rec.slot)}`);
  ctx.log(`boot: ${say(rec.slot)} (version ${versionOf(checks[rec.slot])})`);
  return boot(rec.slot, false);
}

/** hal.boot_confirm: the running test image keeps its slot; its counter is burnt into the fuses. */
export function confirmBoot(ctx: BootContext, choice: BootChoice): void {
  if (!choice.testing) return;
  writeBootRecord(ctx.flash, choice.slot, "confirmed");
  ctx.otp.raise(choice.image.header.securityCounter);
  choice.testing = false;
  ctx.log(`boot: ${choice.role} confirmed`);
}

function versionOf(check: SlotCheck): string {
  if (!check.ok) return "?";
  const v = check.image.header.version;
  return `${v.major}.${v.minor}.${v.patch}${v.build ? `+${v.build}` : ""}`;
}
