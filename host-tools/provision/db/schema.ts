// The factory database's schema, versioned with PRAGMA user_version: migration N takes a
// database from version N-1 to N, inside one write transaction, so several stations opening the
// same file at once migrate it exactly once. CHECK constraints and unique indexes refuse bad
// rows at the source; the program checks them again when it reads (rows.ts), because a tool can
// switch the checks off.

import Database from "better-sqlite3";
import { FactoryDbError } from "./rows.ts";

const MIGRATIONS: string[] = [
  // 1: devices, their certificates, the hash-chained audit log.
  `
  CREATE TABLE devices (
    id INTEGER PRIMARY KEY,
    serial TEXT NOT NULL UNIQUE,
    chip_id TEXT NOT NULL UNIQUE,
    public_key BLOB NOT NULL UNIQUE,
    board TEXT NOT NULL,
    firmware TEXT NOT NULL,
    station TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('allocated', 'issued', 'written', 'provisioned', 'failed', 'revoked')),
    failure_reason TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (length(serial) = 16),
    CHECK (length(public_key) = 65)
  ) STRICT;

  CREATE TABLE certificates (
    id INTEGER PRIMARY KEY,
    serial_hex TEXT NOT NULL UNIQUE,
    device_serial TEXT NOT NULL REFERENCES devices(serial),
    der BLOB NOT NULL UNIQUE,
    issued_at TEXT NOT NULL,
    revoked_at TEXT,
    revocation_reason TEXT,
    CHECK ((revoked_at IS NULL) = (revocation_reason IS NULL))
  ) STRICT;
  CREATE INDEX certificates_by_device ON certificates(device_serial);
  -- At most one unrevoked certificate per device, by construction.
  CREATE UNIQUE INDEX certificates_current ON certificates(device_serial) WHERE revoked_at IS NULL;

  CREATE TABLE audit (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    station TEXT NOT NULL,
    event TEXT NOT NULL,
    device TEXT,
    data TEXT NOT NULL,
    after TEXT,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL
  ) STRICT;
  CREATE INDEX audit_by_device ON audit(device, seq) WHERE device IS NOT NULL;
  CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: rows cannot be changed'); END;
  CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: rows cannot be deleted'); END;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
export const DEFAULT_BUSY_TIMEOUT_MS = 10_000;

export interface OpenOptions {
  /** How long a writer waits for another station's transaction, ms. */
  busyTimeoutMs?: number;
  /** Refuse to create the file (verify and report of a database that must be there). */
  mustExist?: boolean;
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Opens (creating if needed) and migrates the database file; WAL, foreign keys, a busy timeout. onCreate runs in the creating transaction. */
export function openConnection(file: string, opts: OpenOptions = {}, onCreate?: (conn: Database.Database) => void): { conn: Database.Database; created: boolean } {
  let conn: Database.Database;
  try {
    conn = new Database(file, { fileMustExist: opts.mustExist ?? false, timeout: opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
  } catch (e) {
    if (opts.mustExist && (e as { code?: string }).code === "SQLITE_CANTOPEN") throw new FactoryDbError(`${file}: no factory database there`, "io");
    throw new FactoryDbError(`${file}: cannot open the factory database: ${describe(e)}`, "io");
  }
  try {
    conn.pragma("foreign_keys = ON");
    // Durable commits: a board the database calls provisioned stays so after a power cut.
    conn.pragma("synchronous = FULL");
    // 64 MiB of page cache (the default is 2 MiB): the upper levels of every index stay in memory on a million devices.
    conn.pragma("cache_size = -65536");
    if (conn.pragma("journal_mode", { simple: true }) !== "wal") conn.pragma("journal_mode = WAL");
    let created = false;
    conn.transaction(() => {
      const version = conn.pragma("user_version", { simple: true }) as number;
      checkVersion(file, version);
      if (version === 0) {
        const n = (conn.prepare("SELECT count(*) AS n FROM sqlite_schema").get() as { n: number }).n;
        if (n > 0) throw new FactoryDbError(`${file}: an SQLite database that is not a factory database (it has tables but no schema version)`, "schema");
      }
      for (let v = version; v < MIGRATIONS.length; v++) conn.exec(MIGRATIONS[v]);
      conn.pragma(`user_version = ${MIGRATIONS.length}`);
      created = version === 0;
      if (created) onCreate?.(conn);
    }).immediate();
    return { conn, created };
  } catch (e) {
    conn.close();
    if (e instanceof FactoryDbError) throw e;
    throw new FactoryDbError(`${file}: not a usable factory database: ${describe(e)}`, "io");
  }
}

function checkVersion(file: string, version: number): void {
  if (version > MIGRATIONS.length)
    throw new FactoryDbError(`${file}: factory database schema ${version} is newer than this tool's (${MIGRATIONS.length}): update tincan`, "schema");
}

/** Runs fn, turning SQLite's errors into one-line FactoryDbErrors; ours pass through. */
export function withSqliteErrors<T>(file: string, busyTimeoutMs: number, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof Database.SqliteError)) throw e;
    if (e.code.startsWith("SQLITE_BUSY")) throw new FactoryDbError(`${file}: the database stayed locked by another station for ${busyTimeoutMs} ms: ${e.message}`, "io");
    if (e.code.startsWith("SQLITE_CONSTRAINT")) throw new FactoryDbError(`${file}: refused by the schema: ${e.message}`, "conflict");
    throw new FactoryDbError(`${file}: ${e.message} (${e.code})`, "io");
  }
}
