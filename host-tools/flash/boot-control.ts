// The boot-control record: which app slot boots and in which state, kept in the `otadata`
// partition (two erase units, one copy each, like ESP-IDF's otadata). Written by the flasher
// (a new image to try) and by the bootloader and firmware (tried, confirmed, reverted). A new
// record always goes into the copy that does not hold the current one: erase it, then program
// 32 bytes. A power cut in between leaves that copy erased or half-written, its CRC fails, and
// the other copy, the previous record, stays in force. See docs/boot.md.
//
//   offset size field (little-endian)
//        0    4 magic "TCBC"
//        4    4 sequence number: the valid copy with the higher one is current
//        8    1 slot: 0 = app_a, 1 = app_b
//        9    1 state: 1 = trial (boot it once in test mode), 2 = testing (booted once, not yet
//                 confirmed: the next reset reverts), 3 = confirmed
//       10    1 flags: bit 0 = the other slot holds the last confirmed image (so a flasher
//                 may overwrite this slot while it is on trial or under test); others zero
//       11   17 reserved, zero
//       28    4 CRC-32 (IEEE) of bytes 0..28

import { crc32 } from "../link/crc32.ts";

export const RECORD_BYTES = 32;
const MAGIC = 0x43424354; // "TCBC"

export type SlotIndex = 0 | 1;
export const SLOT_ROLES = ["app_a", "app_b"] as const;
export type BootState = "trial" | "testing" | "confirmed";
const STATE_CODES: Record<BootState, number> = { trial: 1, testing: 2, confirmed: 3 };

export interface BootRecord {
  sequence: number;
  slot: SlotIndex;
  state: BootState;
  /** The other slot holds the last confirmed image (meaningful for trial and testing). */
  fallbackConfirmed: boolean;
}

/** What the flash holds: the current record and which copy (0 or 1) holds it. */
export interface CurrentRecord { record: BootRecord; copy: 0 | 1 }

export function encodeRecord(r: BootRecord): Uint8Array {
  const out = new Uint8Array(RECORD_BYTES);
  const v = new DataView(out.buffer);
  v.setUint32(0, MAGIC, true);
  v.setUint32(4, r.sequence >>> 0, true);
  out[8] = r.slot;
  out[9] = STATE_CODES[r.state];
  out[10] = r.fallbackConfirmed ? 1 : 0;
  v.setUint32(28, crc32(out.subarray(0, 28)), true);
  return out;
}

/** A record, or undefined for an erased, torn or foreign copy. */
export function decodeRecord(bytes: Uint8Array): BootRecord | undefined {
  if (bytes.length < RECORD_BYTES) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, RECORD_BYTES);
  if (v.getUint32(0, true) !== MAGIC) return undefined;
  if (v.getUint32(28, true) !== crc32(bytes.subarray(0, 28))) return undefined;
  const slot = bytes[8];
  const state = (Object.keys(STATE_CODES) as BootState[]).find((s) => STATE_CODES[s] === bytes[9]);
  if ((slot !== 0 && slot !== 1) || !state || bytes[10] > 1) return undefined;
  for (let i = 11; i < 28; i++) if (bytes[i] !== 0) return undefined;
  return { sequence: v.getUint32(4, true), slot, state, fallbackConfirmed: bytes[10] === 1 };
}

/** The current record from the two copies (each the first RECORD_BYTES of its erase unit). */
export function currentRecord(copy0: Uint8Array, copy1: Uint8Array): CurrentRecord | undefined {
  const a = decodeRecord(copy0);
  const b = decodeRecord(copy1);
  if (a && b) return b.sequence > a.sequence ? { record: b, copy: 1 } : { record: a, copy: 0 };
  if (a) return { record: a, copy: 0 };
  if (b) return { record: b, copy: 1 };
  return undefined;
}

/** The next record and the copy it must go into (never the current one's). */
export function nextRecord(current: CurrentRecord | undefined, slot: SlotIndex, state: BootState, fallbackConfirmed = false): { record: BootRecord; copy: 0 | 1 } {
  if (!current) return { record: { sequence: 1, slot, state, fallbackConfirmed }, copy: 0 };
  return { record: { sequence: (current.record.sequence + 1) >>> 0, slot, state, fallbackConfirmed }, copy: current.copy === 0 ? 1 : 0 };
}

/**
 * The slot a flasher must keep: the last confirmed image. A confirmed record's own slot; for
 * a trial or test, the other slot if the record says it holds the confirmed image, else the
 * trial's own slot (it may be the only image on the board). No record: app_a.
 */
export function slotToKeep(current: CurrentRecord | undefined): { slot: SlotIndex; confirmed: boolean } {
  if (!current) return { slot: 0, confirmed: false };
  const r = current.record;
  if (r.state === "confirmed") return { slot: r.slot, confirmed: true };
  return r.fallbackConfirmed ? { slot: otherSlot(r.slot), confirmed: true } : { slot: r.slot, confirmed: false };
}

export const otherSlot = (s: SlotIndex): SlotIndex => (s === 0 ? 1 : 0);
