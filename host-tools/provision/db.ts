// The factory database (docs/provisioning.md, "Factory database"): one SQLite file in WAL mode
// that several station processes share. Every method is one write transaction, taken with
// BEGIN IMMEDIATE so two stations never both read and then fight over the write lock, and every
// change writes its audit row inside the same transaction. A serial exists only together with
// its chip id: allocate() draws a random serial and inserts it with the board's chip id and key
// in one statement, drawing again on the (2^-60-rare) collision.

import crypto from "node:crypto";
import type Database from "better-sqlite3";
import { makeSerial, SerialError } from "./serial.ts";
import { AuditLog, type Json } from "./db/audit.ts";
import { checkCertificateFor } from "./db/certificate.ts";
import { bulkFill } from "./db/fill.ts";
import { manifestOf, signManifest, type JwsMaker, type JwsSigner, type Manifest, type ManifestSigner } from "./db/manifest.ts";
import { buildReport, type FactoryReport } from "./db/report.ts";
import { DEFAULT_BUSY_TIMEOUT_MS, SCHEMA_VERSION, openConnection, withSqliteErrors } from "./db/schema.ts";
import { verifyDatabase, type VerifyResult } from "./db/verify.ts";
import {
  FactoryDbError, bad, canonicalChipId, canonicalSerial, canonicalSerialHex, checkBoardId, checkLabel, checkPublicKey, decodeDevice, oneLine,
  type CertificateRow, type DeviceRow, type DeviceState, type RawDevice,
} from "./db/rows.ts";

export { FactoryDbError, SCHEMA_VERSION, type CertificateRow, type DeviceRow, type DeviceState, type FactoryReport, type JwsMaker, type JwsSigner, type Manifest, type ManifestSigner, type VerifyResult };
export { verifyManifest, ManifestError } from "./db/manifest.ts";
export { DEVICE_STATES } from "./db/rows.ts";

export interface FactoryDbOptions {
  /** Who writes the audit rows of this connection (default: each device's own station). */
  station?: string;
  busyTimeoutMs?: number;
  /** Refuse to create a new file. */
  mustExist?: boolean;
  /** Test hooks: the clock and the serial body's random source. */
  now?: () => Date;
  random?: (size: number) => Uint8Array;
}

export interface AllocateRequest {
  chipId: string | Uint8Array;
  publicKey: Uint8Array;
  board: string;
  firmware: string;
  station: string;
  prefix: string;
}

const SERIAL_ATTEMPTS = 8;
const DEVICE_SELECT = `SELECT d.*, c.serial_hex AS cert_serial, c.der AS cert_der, c.issued_at AS cert_issued_at
  FROM devices d LEFT JOIN certificates c ON c.device_serial = d.serial AND c.revoked_at IS NULL`;

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));
const sha256 = (b: Uint8Array | string): string => crypto.createHash("sha256").update(b).digest("hex");

export class FactoryDb {
  private readonly audit: AuditLog;
  private readonly tx: Database.Transaction<(fn: () => unknown) => unknown>;
  private readonly q: Record<"byChip" | "bySerial" | "keyOwner" | "insert" | "update" | "certBySerial" | "certByDer" | "insertCert" | "revokeCert", Database.Statement>;

  private constructor(
    readonly file: string,
    private readonly conn: Database.Database,
    private readonly opts: FactoryDbOptions,
  ) {
    this.audit = new AuditLog(conn);
    this.tx = conn.transaction((fn: () => unknown) => fn());
    this.q = {
      byChip: conn.prepare(`${DEVICE_SELECT} WHERE d.chip_id = ?`),
      bySerial: conn.prepare(`${DEVICE_SELECT} WHERE d.serial = ?`),
      keyOwner: conn.prepare("SELECT serial FROM devices WHERE public_key = ?").pluck(),
      insert: conn.prepare(
        `INSERT INTO devices (serial, chip_id, public_key, board, firmware, station, state, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, 'allocated', ?, ?) ON CONFLICT (serial) DO NOTHING`,
      ),
      update: conn.prepare("UPDATE devices SET state = ?, failure_reason = ?, public_key = ?, updated_at = ? WHERE serial = ?"),
      certBySerial: conn.prepare("SELECT * FROM certificates WHERE serial_hex = ?"),
      certByDer: conn.prepare("SELECT serial_hex FROM certificates WHERE der = ?").pluck(),
      insertCert: conn.prepare("INSERT INTO certificates (serial_hex, device_serial, der, issued_at) VALUES (?, ?, ?, ?)"),
      revokeCert: conn.prepare("UPDATE certificates SET revoked_at = ?, revocation_reason = ? WHERE serial_hex = ? AND revoked_at IS NULL"),
    };
  }

  /** Opens or creates the database file and brings its schema up to date. */
  static open(file: string, opts: FactoryDbOptions = {}): FactoryDb {
    const at = (opts.now ?? (() => new Date()))().toISOString();
    const station = opts.station ?? "tincan";
    const { conn } = openConnection(file, { busyTimeoutMs: opts.busyTimeoutMs, mustExist: opts.mustExist }, (c) =>
      new AuditLog(c).append({ at, station, event: "database.created", data: { schema: SCHEMA_VERSION } }),
    );
    return new FactoryDb(file, conn, opts);
  }

  close(): void {
    this.conn.close();
  }

  deviceByChip(chipId: string | Uint8Array): DeviceRow | undefined {
    return this.read(() => this.findByChip(canonicalChipId(chipId)));
  }

  deviceBySerial(serial: string): DeviceRow | undefined {
    return this.read(() => this.findBySerial(canonicalSerial(serial)));
  }

  /** The device row of this chip, new (a fresh serial) or the one it already has. */
  allocate(req: AllocateRequest): DeviceRow {
    const chipId = canonicalChipId(req.chipId);
    const publicKey = checkPublicKey(req.publicKey);
    const board = checkBoardId(req.board);
    const firmware = checkLabel("firmware version", req.firmware);
    const station = checkLabel("station", req.station);
    try {
      makeSerial(req.prefix, () => new Uint8Array(12));
    } catch (e) {
      throw e instanceof SerialError ? bad(e.message) : e;
    }
    return this.write(() => {
      const existing = this.findByChip(chipId);
      if (existing !== undefined) {
        if (existing.board !== board) throw new FactoryDbError(`chip ${chipId} is already ${existing.serial}, a ${existing.board} board, not a ${board}`, "conflict");
        return existing;
      }
      this.refuseTakenKey(publicKey, undefined);
      const at = this.now();
      for (let attempt = 0; attempt < SERIAL_ATTEMPTS; attempt++) {
        const serial = makeSerial(req.prefix, this.opts.random);
        if (this.q.insert.run(serial, chipId, publicKey, board, firmware, station, at, at).changes === 1) {
          return this.logged(serial, "device.allocated", {}, this.opts.station ?? station);
        }
      }
      throw new FactoryDbError(`${SERIAL_ATTEMPTS} random serials in a row were already taken: the random source is broken`, "conflict");
    });
  }

  /** Records the device's certificate (checked against the device) and moves it to issued. */
  recordCertificate(serial: string, cert: { serialHex: string; der: Uint8Array }): DeviceRow {
    const s = canonicalSerial(serial);
    return this.write(() => {
      const d = this.mustFind(s);
      if (d.certificate !== undefined && same(d.certificate, cert.der) && d.state !== "failed") return d;
      if (d.state === "written" || d.state === "provisioned")
        throw new FactoryDbError(`${s} is ${d.state} with certificate ${d.certificateSerial}: revoke it before issuing another (--reissue)`, "bad-state");
      const serialHex = checkCertificateFor(d, cert.der, cert.serialHex);
      const data: { [key: string]: Json } = { certificate: { serialHex, sha256: sha256(cert.der) } };
      if (d.certificate !== undefined && same(d.certificate, cert.der)) {
        this.q.update.run("issued", null, Buffer.from(d.publicKey), this.now(), s);
        return this.logged(s, "certificate.recorded", data);
      }
      const taken = (this.q.certBySerial.get(serialHex) as { device_serial: string } | undefined)?.device_serial ?? this.q.certByDer.get(Buffer.from(cert.der));
      if (taken !== undefined) throw new FactoryDbError(`certificate ${serialHex} is already recorded (for ${String(taken)})`, "conflict");
      if (d.certificateSerial !== undefined) data.superseded = this.supersede(d.certificateSerial, "superseded");
      this.q.insertCert.run(serialHex, s, Buffer.from(cert.der), this.now());
      this.q.update.run("issued", null, Buffer.from(d.publicKey), this.now(), s);
      return this.logged(s, "certificate.recorded", data);
    });
  }

  /** A board re-keyed before its certificate was written: the new key, any unwritten certificate superseded. */
  setPublicKey(serial: string, publicKey: Uint8Array): DeviceRow {
    const s = canonicalSerial(serial);
    const key = checkPublicKey(publicKey);
    return this.write(() => {
      const d = this.mustFind(s);
      if (same(d.publicKey, key)) return d;
      if (d.state === "written" || d.state === "provisioned")
        throw new FactoryDbError(`${s} is ${d.state}: its certificate is on the board; revoke it before re-keying`, "bad-state");
      this.refuseTakenKey(key, s);
      const data: { [key: string]: Json } = { previousKey: Buffer.from(d.publicKey).toString("hex") };
      if (d.certificateSerial !== undefined) data.superseded = this.supersede(d.certificateSerial, "re-keyed before the certificate was written");
      this.q.update.run("allocated", null, key, this.now(), s);
      return this.logged(s, "device.rekeyed", data);
    });
  }

  /** The identity record is on the board. */
  markWritten(serial: string): DeviceRow {
    return this.advance(serial, "written", ["issued"], "device.written");
  }

  /** The board answered the challenge and is locked: done. */
  markProvisioned(serial: string): DeviceRow {
    return this.advance(serial, "provisioned", ["written", "failed"], "device.provisioned");
  }

  /** The board failed a step. A chip without a device row gets an audit row only (returns undefined). */
  markFailed(ref: string | { chipId: string } | { serial: string }, reason: string): DeviceRow | undefined {
    const why = oneLine(reason);
    return this.write(() => {
      const d = this.resolve(ref);
      if (d === undefined) {
        const chipId = canonicalChipId(typeof ref === "string" ? ref : "chipId" in ref ? ref.chipId : "");
        this.audit.append({ at: this.now(), station: this.opts.station ?? "tincan", event: "board.failed", data: { chipId, reason: why } });
        return undefined;
      }
      this.q.update.run("failed", why, Buffer.from(d.publicKey), this.now(), d.serial);
      return this.logged(d.serial, "device.failed", { reason: why, previous: d.state });
    });
  }

  /** Revokes a certificate: its device becomes revoked (written, provisioned) or allocated (issued). */
  revokeCertificate(serialHex: string, reason: string): DeviceRow {
    const hex = canonicalSerialHex(serialHex);
    const why = oneLine(reason);
    return this.write(() => {
      const cert = this.q.certBySerial.get(hex) as { device_serial: string; revoked_at: string | null } | undefined;
      if (cert === undefined) throw new FactoryDbError(`no certificate ${hex} in the factory database`, "not-found");
      const d = this.mustFind(cert.device_serial);
      if (cert.revoked_at !== null) return d;
      this.q.revokeCert.run(this.now(), why, hex);
      const next: DeviceState = d.state === "issued" ? "allocated" : d.state === "written" || d.state === "provisioned" ? "revoked" : d.state;
      this.q.update.run(next, d.failure ?? null, Buffer.from(d.publicKey), this.now(), d.serial);
      return this.logged(d.serial, "certificate.revoked", { certificate: hex, reason: why, previous: d.state });
    });
  }

  /** Every revoked certificate, oldest first (for a CRL). */
  revokedCertificates(): CertificateRow[] {
    const rows = this.read(() => this.conn.prepare("SELECT * FROM certificates WHERE revoked_at IS NOT NULL ORDER BY revoked_at, id").all()) as Record<string, unknown>[];
    return rows.map((r) => ({
      serialHex: String(r.serial_hex), deviceSerial: String(r.device_serial), der: Uint8Array.from(r.der as Uint8Array),
      issuedAt: String(r.issued_at), revokedAt: String(r.revoked_at), revocationReason: String(r.revocation_reason),
    }));
  }

  verify(): VerifyResult {
    return this.read(() => verifyDatabase(this.conn));
  }

  report(): FactoryReport {
    return this.read(() => buildReport(this.conn));
  }

  /** A signed manifest of the provisioned devices; refused while verify() finds problems. */
  async exportManifest(signer: ManifestSigner): Promise<string> {
    const check = this.verify();
    if (!check.ok) throw new FactoryDbError(`the factory database does not verify (${check.problems[0]}): run tincan factory verify`, "corrupt");
    const manifest = this.read(() =>
      this.conn.transaction((): Manifest => {
        const rows = this.conn.prepare(`${DEVICE_SELECT} WHERE d.state = 'provisioned' ORDER BY d.serial`).all() as RawDevice[];
        return manifestOf(rows.map(decodeDevice), this.audit.headRow(), this.now());
      })(),
    );
    const jws = await signManifest(manifest, signer);
    this.write(() => {
      this.audit.append({ at: this.now(), station: this.opts.station ?? "tincan", event: "manifest.exported", data: { devices: manifest.count, auditSeq: manifest.audit.seq, sha256: sha256(jws) } });
    });
    return jws;
  }

  /** Benchmarks only: `count` provisioned stand-in devices (db/fill.ts), in one transaction. */
  bulkFill(count: number, prefix: string, board = "sim"): void {
    this.guard(() => bulkFill(this.conn, this.audit, count, prefix, board, this.now()));
  }

  // --- inside transactions ---

  private advance(serial: string, to: DeviceState, from: DeviceState[], event: string): DeviceRow {
    const s = canonicalSerial(serial);
    return this.write(() => {
      const d = this.mustFind(s);
      if (d.state === to) return d;
      if (!from.includes(d.state) || d.certificate === undefined)
        throw new FactoryDbError(`${s} is ${d.state}${d.certificate === undefined ? " with no current certificate" : ""}: it cannot become ${to} (from ${from.join(" or ")} only)`, "bad-state");
      this.q.update.run(to, null, Buffer.from(d.publicKey), this.now(), s);
      return this.logged(s, event, { previous: d.state });
    });
  }

  private supersede(certificateSerial: string, reason: string): string {
    this.q.revokeCert.run(this.now(), reason, certificateSerial);
    return certificateSerial;
  }

  /** Re-reads the device and appends its audit row, the device's state after the change in it. */
  private logged(serial: string, event: string, data: { [key: string]: Json }, station?: string): DeviceRow {
    const d = this.mustFind(serial);
    this.audit.append({ at: d.updatedAt, station: station ?? this.opts.station ?? d.station, event, device: d, data });
    return d;
  }

  private refuseTakenKey(publicKey: Buffer, self: string | undefined): void {
    const owner = this.q.keyOwner.get(publicKey) as string | undefined;
    if (owner !== undefined && owner !== self) throw new FactoryDbError(`that public key already belongs to ${owner}: two boards cannot share a key`, "conflict");
  }

  private resolve(ref: string | { chipId: string } | { serial: string }): DeviceRow | undefined {
    if (typeof ref !== "string") return "serial" in ref ? this.mustFind(canonicalSerial(ref.serial)) : this.findByChip(canonicalChipId(ref.chipId));
    // A 16-hex-digit chip id can also pass as a serial (1 in 37): look both up.
    const isChip = /^(?:[0-9a-f]{2}){6,16}$/i.test(ref.trim());
    let bySerial: DeviceRow | undefined;
    try {
      bySerial = this.findBySerial(canonicalSerial(ref));
    } catch (e) {
      if (!(e instanceof FactoryDbError && e.code === "bad-input")) throw e;
    }
    const byChip = isChip ? this.findByChip(canonicalChipId(ref)) : undefined;
    if (bySerial !== undefined && byChip !== undefined && bySerial.serial !== byChip.serial)
      throw new FactoryDbError(`${ref} is both ${bySerial.serial}'s serial and ${byChip.serial}'s chip id: say which`, "conflict");
    const d = bySerial ?? byChip;
    if (d === undefined && !isChip) throw new FactoryDbError(`no device ${ref.slice(0, 40)} in the factory database`, "not-found");
    return d;
  }

  private findByChip(chipId: string): DeviceRow | undefined {
    const raw = this.q.byChip.get(chipId) as RawDevice | undefined;
    return raw === undefined ? undefined : decodeDevice(raw);
  }

  private findBySerial(serial: string): DeviceRow | undefined {
    const raw = this.q.bySerial.get(serial) as RawDevice | undefined;
    return raw === undefined ? undefined : decodeDevice(raw);
  }

  private mustFind(serial: string): DeviceRow {
    const d = this.findBySerial(serial);
    if (d === undefined) throw new FactoryDbError(`no device ${serial} in the factory database`, "not-found");
    return d;
  }

  private now(): string {
    return (this.opts.now ?? (() => new Date()))().toISOString();
  }

  private write<T>(fn: () => T): T {
    return this.guard(() => this.tx.immediate(fn) as T);
  }

  private read<T>(fn: () => T): T {
    return this.guard(fn);
  }

  private guard<T>(fn: () => T): T {
    return withSqliteErrors(this.file, this.opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS, fn);
  }
}

/** Benchmarks only: fills the database with `count` provisioned stand-in devices. */
export function fillDevices(db: FactoryDb, count: number, prefix: string, board = "sim"): void {
  db.bulkFill(count, prefix, board);
}
