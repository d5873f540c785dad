// tincan factory verify: the audit chain, SQLite's own checks, the rules every state keeps, and
// each device row against the snapshot its last audit row recorded (an edit to the devices or
// certificates tables that went round tincan shows up there).

import type Database from "better-sqlite3";
import { canonicalJson, deviceSnapshot, snapshotJson, verifyChain, type Json } from "./audit.ts";
import { FactoryDbError, decodeDevice, type DeviceState, type RawDevice } from "./rows.ts";

export interface VerifyResult {
  ok: boolean;
  /** Audit rows checked. */
  rows: number;
  devices: number;
  /** The last audit row: a signed manifest carries it, so a later truncation of the log shows. */
  head: { seq: number; hash: string };
  problems: string[];
}

const MAX_PROBLEMS = 100;

/** Current unrevoked certificates each state allows. */
const CURRENT_CERTIFICATES: Record<DeviceState, readonly number[]> = {
  allocated: [0],
  issued: [1],
  written: [1],
  provisioned: [1],
  failed: [0, 1],
  revoked: [0],
};

export function verifyDatabase(conn: Database.Database): VerifyResult {
  // Reading the whole file through mmap rather than read() calls halves integrity_check on a big database.
  const mmap = conn.pragma("mmap_size", { simple: true }) as number;
  conn.pragma(`mmap_size = ${2 ** 34}`);
  try {
    return check(conn);
  } finally {
    conn.pragma(`mmap_size = ${mmap}`);
  }
}

function check(conn: Database.Database): VerifyResult {
  const problems: string[] = [];
  return conn.transaction(() => {
    const chain = verifyChain(conn, problems);

    const integrity = conn.pragma("integrity_check") as { integrity_check: string }[];
    if (integrity.length !== 1 || integrity[0].integrity_check !== "ok")
      for (const r of integrity.slice(0, 10)) problems.push(`integrity_check: ${r.integrity_check}`);
    for (const r of (conn.pragma("foreign_key_check") as { table: string; rowid: number; parent: string }[]).slice(0, 10))
      problems.push(`${r.table} row ${r.rowid}: refers to a missing row of ${r.parent}`);

    const counts = conn.prepare(
      `SELECT d.id, d.serial, d.state, count(c.id) AS n FROM devices d
       LEFT JOIN certificates c ON c.device_serial = d.serial AND c.revoked_at IS NULL GROUP BY d.id`,
    ).raw();
    for (const [id, serial, state, n] of counts.iterate() as IterableIterator<[number, string, string, number]>) {
      const allowed = CURRENT_CERTIFICATES[state as DeviceState];
      if (allowed !== undefined && !allowed.includes(n))
        problems.push(`devices row ${id} (${serial}): ${state} with ${n} unrevoked certificates (${allowed.join(" or ")} expected)`);
    }

    let devices = 0;
    const rows = conn.prepare(
      `SELECT d.*, c.serial_hex AS cert_serial, c.der AS cert_der, c.issued_at AS cert_issued_at,
         (SELECT a.after FROM audit a WHERE a.device = d.serial ORDER BY a.seq DESC LIMIT 1) AS last_after
       FROM devices d LEFT JOIN certificates c ON c.device_serial = d.serial AND c.revoked_at IS NULL ORDER BY d.id`,
    );
    for (const raw of rows.iterate() as IterableIterator<RawDevice & { last_after: unknown }>) {
      devices++;
      const where = `devices row ${String(raw.id)} (${String(raw.serial).slice(0, 20)})`;
      try {
        const device = decodeDevice(raw);
        if (typeof raw.last_after !== "string") {
          problems.push(`${where}: has no audit row (inserted outside tincan)`);
          continue;
        }
        if (raw.last_after !== snapshotJson(device)) problems.push(`${where}: ${differences(raw.last_after, device)} differ from its last audit row (edited outside tincan)`);
      } catch (e) {
        if (!(e instanceof FactoryDbError)) throw e;
        problems.push(e.message);
      }
    }
    const orphans = conn.prepare("SELECT DISTINCT device FROM audit WHERE device IS NOT NULL AND device NOT IN (SELECT serial FROM devices) LIMIT 10").pluck();
    for (const serial of orphans.all() as string[]) problems.push(`device ${serial}: in the audit log but not in devices (the row was deleted)`);

    const shown = problems.slice(0, MAX_PROBLEMS);
    if (problems.length > MAX_PROBLEMS) shown.push(`... and ${problems.length - MAX_PROBLEMS} more problems`);
    return { ok: problems.length === 0, rows: chain.rows, devices, head: chain.head, problems: shown };
  })();
}

/** The fields of the device that its recorded snapshot does not match. */
function differences(recordedText: string, device: ReturnType<typeof decodeDevice>): string {
  let recorded: { [key: string]: Json } = {};
  try {
    recorded = JSON.parse(recordedText) as { [key: string]: Json };
  } catch {
    return "all fields (the audit snapshot is not JSON)";
  }
  const now = deviceSnapshot(device);
  const fields = Object.keys(now).filter((k) => canonicalJson(now[k]) !== canonicalJson(recorded[k] ?? null));
  return fields.length > 0 ? fields.join(", ") : "the snapshot's form";
}
