// The audit log: append-only (triggers refuse UPDATE and DELETE) and hash-chained, so an edit
// made by going round the triggers shows up in verify(). Row n's hash is
// SHA-256(prev_hash || canonical bytes of row n), prev_hash being row n-1's hash (32 zero bytes
// for row 1). The canonical bytes are the UTF-8 of the JSON array
// [seq, at, station, event, device, data, after], data and after being canonical JSON (sorted
// keys, no spaces). `after` is the device's state after a device event (its snapshot), which is
// how verify() notices an edit to the devices or certificates tables as well.

import crypto from "node:crypto";
import type Database from "better-sqlite3";
import type { DeviceRow } from "./rows.ts";

export const GENESIS_HASH = Buffer.alloc(32);

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** JSON with object keys sorted at every level and no whitespace: one text per value. */
export function canonicalJson(value: Json): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError("canonical JSON has no NaN or Infinity");
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.filter((k) => value[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(",")}}`;
}

export interface AuditRow {
  seq: number;
  at: string;
  station: string;
  event: string;
  device: string | null;
  /** Canonical JSON text. */
  data: string;
  /** The device's snapshot after the event (canonical JSON), for device events. */
  after: string | null;
}

export function auditRowBytes(r: AuditRow): Buffer {
  return Buffer.from(JSON.stringify([r.seq, r.at, r.station, r.event, r.device, r.data, r.after]), "utf8");
}

export function auditHash(prevHash: Uint8Array, r: AuditRow): Buffer {
  return crypto.createHash("sha256").update(prevHash).update(auditRowBytes(r)).digest();
}

/** What the audit log remembers of a device after each of its events. */
export function deviceSnapshot(d: DeviceRow): { [key: string]: Json } {
  return {
    serial: d.serial,
    chipId: d.chipId,
    publicKey: Buffer.from(d.publicKey).toString("hex"),
    board: d.board,
    firmware: d.firmware,
    station: d.station,
    state: d.state,
    failure: d.failure ?? null,
    certificate:
      d.certificate === undefined
        ? null
        : { serialHex: d.certificateSerial ?? null, sha256: crypto.createHash("sha256").update(d.certificate).digest("hex") },
  };
}

/**
 * canonicalJson(deviceSnapshot(d)), written out directly (keys in sorted order): verify() makes
 * one per device, a million on a big database. The tests hold it equal to canonicalJson.
 */
export function snapshotJson(d: DeviceRow): string {
  const q = JSON.stringify;
  const certificate = d.certificate === undefined
    ? "null"
    : `{"serialHex":${q(d.certificateSerial ?? null)},"sha256":"${crypto.createHash("sha256").update(d.certificate).digest("hex")}"}`;
  return `{"board":${q(d.board)},"certificate":${certificate},"chipId":${q(d.chipId)},"failure":${q(d.failure ?? null)},"firmware":${q(d.firmware)},` +
    `"publicKey":"${Buffer.from(d.publicKey.buffer, d.publicKey.byteOffset, d.publicKey.byteLength).toString("hex")}","serial":${q(d.serial)},"state":${q(d.state)},"station":${q(d.station)}}`;
}

/** Prepared statements of one connection. */
export class AuditLog {
  private readonly head: Database.Statement;
  private readonly insert: Database.Statement;

  constructor(conn: Database.Database) {
    this.head = conn.prepare("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
    this.insert = conn.prepare("INSERT INTO audit (seq, at, station, event, device, data, after, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  }

  /** Appends one row; call inside the write transaction of the change it records. */
  append(entry: { at: string; station: string; event: string; device?: DeviceRow; data: { [key: string]: Json } }): AuditRow & { hash: Buffer } {
    const last = this.head.get() as { seq: number; hash: Buffer } | undefined;
    const row: AuditRow = {
      seq: last === undefined ? 1 : last.seq + 1,
      at: entry.at,
      station: entry.station,
      event: entry.event,
      device: entry.device?.serial ?? null,
      data: canonicalJson(entry.data),
      after: entry.device === undefined ? null : snapshotJson(entry.device),
    };
    const prev = last === undefined ? GENESIS_HASH : last.hash;
    const hash = auditHash(prev, row);
    this.insert.run(row.seq, row.at, row.station, row.event, row.device, row.data, row.after, prev, hash);
    return { ...row, hash };
  }

  headRow(): { seq: number; hash: string } {
    const last = this.head.get() as { seq: number; hash: Buffer } | undefined;
    return last === undefined ? { seq: 0, hash: GENESIS_HASH.toString("hex") } : { seq: last.seq, hash: Buffer.from(last.hash).toString("hex") };
  }
}

/** Walks the whole chain. Problems name rows by seq, the first bad row first. */
export function verifyChain(conn: Database.Database, problems: string[]): { rows: number; head: { seq: number; hash: string } } {
  const rows = conn.prepare("SELECT seq, at, station, event, device, data, after, prev_hash, hash FROM audit ORDER BY seq").raw();
  let expectedSeq = 1;
  let prev: Uint8Array = GENESIS_HASH;
  let count = 0;
  for (const r of rows.iterate() as IterableIterator<unknown[]>) {
    count++;
    const [seq, at, station, event, device, data, after, prevHash, hash] = r;
    const where = `audit row ${String(seq)}`;
    if (typeof seq !== "number" || typeof at !== "string" || typeof station !== "string" || typeof event !== "string" ||
        (device !== null && typeof device !== "string") || typeof data !== "string" || (after !== null && typeof after !== "string") ||
        !(prevHash instanceof Uint8Array) || !(hash instanceof Uint8Array)) {
      problems.push(`${where}: a column has the wrong type (edited outside tincan)`);
      prev = hash instanceof Uint8Array ? hash : GENESIS_HASH;
      expectedSeq = (typeof seq === "number" ? seq : expectedSeq) + 1;
      continue;
    }
    if (seq !== expectedSeq) problems.push(`${where}: expected row ${expectedSeq} here (rows ${expectedSeq}..${seq - 1} are missing)`);
    if (!Buffer.from(prevHash).equals(prev)) problems.push(`${where}: prev_hash does not match row ${seq - 1}'s hash (a row before it was changed, removed or re-hashed)`);
    const recomputed = auditHash(prevHash, { seq, at, station, event, device: device as string | null, data, after: after as string | null });
    if (!recomputed.equals(hash)) problems.push(`${where}: its hash does not match its contents (the row was edited)`);
    prev = hash;
    expectedSeq = seq + 1;
  }
  return { rows: count, head: { seq: expectedSeq - 1, hash: Buffer.from(prev).toString("hex") } };
}
