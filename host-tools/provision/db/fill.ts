// Bulk fill for benchmarks: `count` provisioned devices in one transaction, each with one
// audit row, so the database verifies. Their keys and certificates are random stand-in bytes
// (unique, not parseable): the figures measure the indexes, not the X.509.

import crypto from "node:crypto";
import type Database from "better-sqlite3";
import { makeSerial } from "../serial.ts";
import type { AuditLog } from "./audit.ts";
import type { DeviceRow } from "./rows.ts";

export function bulkFill(conn: Database.Database, audit: AuditLog, count: number, prefix: string, board = "sim", at = new Date().toISOString()): void {
  const insertDevice = conn.prepare(
    `INSERT INTO devices (serial, chip_id, public_key, board, firmware, station, state, created_at, updated_at)
     VALUES (?, ?, ?, ?, 'bench', 'bulk-fill', 'provisioned', ?, ?) ON CONFLICT (serial) DO NOTHING`,
  );
  const insertCert = conn.prepare("INSERT INTO certificates (serial_hex, device_serial, der, issued_at) VALUES (?, ?, ?, ?)");
  const base = (conn.prepare("SELECT coalesce(max(id), 0) FROM devices").pluck().get() as number) + 1;
  // Random bytes 64 KiB at a time: one randomBytes call per device costs a fifth of the fill.
  let pool: Buffer = Buffer.alloc(0);
  let used = 0;
  const take = (n: number): Buffer => {
    if (used + n > pool.length) {
      pool = crypto.randomBytes(65536);
      used = 0;
    }
    used += n;
    return pool.subarray(used - n, used);
  };
  const fill = conn.transaction(() => {
    for (let i = 0; i < count; i++) {
      const random = take(64 + 16 + 64);
      const publicKey = Buffer.concat([Buffer.from([4]), random.subarray(0, 64)]);
      // "fb" + a counter: unique, and never a real chip's id in a bench database.
      const chipId = `fb${(base + i).toString(16).padStart(14, "0")}`;
      let serial = makeSerial(prefix, take);
      while (insertDevice.run(serial, chipId, publicKey, board, at, at).changes === 0) serial = makeSerial(prefix, take);
      random[64] |= 0x10; // no leading zero digit: already the canonical form
      const certificateSerial = random.subarray(64, 80).toString("hex");
      const der = Buffer.concat([Buffer.from([0x30, 0x40]), random.subarray(80)]);
      insertCert.run(certificateSerial, serial, der, at);
      const device: DeviceRow = {
        serial, chipId, publicKey, board, firmware: "bench", station: "bulk-fill", state: "provisioned", createdAt: at, updatedAt: at,
        certificate: der, certificateSerial, certificateIssuedAt: at,
      };
      audit.append({ at, station: "bulk-fill", event: "device.provisioned", device, data: { bulk: true } });
    }
  });
  // A cache that holds the indexes being filled: random keys otherwise spill pages to the WAL mid-transaction.
  const cache = conn.pragma("cache_size", { simple: true }) as number;
  conn.pragma("cache_size = -1048576");
  try {
    fill.immediate();
  } finally {
    conn.pragma(`cache_size = ${cache}`);
  }
}
