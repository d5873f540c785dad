// The factory database: the provisioning sequence and its state rules, idempotency, uniqueness
// by construction (serial collisions, shared keys, reused certificates), re-keying and
// re-issue, the audit chain and what verify() finds after edits made round tincan (a tampered,
// re-hashed or deleted audit row, an edited device), corrupt rows, several processes on one
// file, the report, and the signed manifest (checked with openssl, which shares no code with it).
// Certificates are made with the openssl CLI so the database's checks meet real X.509.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { FactoryDb, FactoryDbError, ManifestError, fillDevices, verifyManifest, type DeviceRow, type JwsSigner } from "../../host-tools/provision/db.ts";
import { factoryExportCommand, factoryReportCommand, factoryVerifyCommand } from "../../host-tools/commands/factory.ts";
import { checkSerial, makeSerial } from "../../host-tools/provision/serial.ts";
import { canonicalJson, deviceSnapshot, snapshotJson } from "../../host-tools/provision/db/audit.ts";
import { root as repo, tempDir } from "./helpers.ts";

const work = tempDir("tincan-factory-db-");
let fileNo = 0;
const freshFile = () => path.join(work, `f${fileNo++}.db`);
const openssl = (args: string[], input?: string | Buffer) => execFileSync("openssl", args, { input, stdio: ["pipe", "pipe", "pipe"] });

/** A CA made by openssl: root and intermediate (curve by name), the intermediate's key for signing. */
function makeCa(dir: string, curve: "P-256" | "P-384") {
  fs.mkdirSync(dir, { recursive: true });
  const f = (n: string) => path.join(dir, n);
  fs.writeFileSync(f("ca.ext"), "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\nsubjectKeyIdentifier=hash\n");
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", `ec_paramgen_curve:${curve}`, "-nodes", "-keyout", f("root.key"), "-subj", "/O=Test/CN=Test Root", "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE", "-out", f("root.pem")]);
  openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", `ec_paramgen_curve:${curve}`, "-nodes", "-keyout", f("int.key"), "-subj", "/O=Test/CN=Test Factory", "-out", f("int.csr")]);
  openssl(["x509", "-req", "-in", f("int.csr"), "-CA", f("root.pem"), "-CAkey", f("root.key"), "-set_serial", "2", "-days", "30", "-extfile", f("ca.ext"), "-out", f("int.pem")]);
  const der = (pem: string) => new crypto.X509Certificate(fs.readFileSync(pem)).raw;
  return { dir, rootPem: fs.readFileSync(f("root.pem"), "utf8"), intPem: f("int.pem"), intKey: f("int.key"), x5c: [der(f("int.pem")), der(f("root.pem"))].map((d) => d.toString("base64")) };
}
const ca = makeCa(path.join(work, "ca"), "P-256");

/** A device key pair: the private key for openssl, the public key as the board reports it. */
function deviceKey() {
  const { privateKey, publicKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = publicKey.export({ format: "jwk" });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, "base64url"), Buffer.from(jwk.y!, "base64url")]);
  return { pem: privateKey.export({ format: "pem", type: "pkcs8" }) as string, point };
}

/** A device certificate by openssl: CN and serialNumber = serial, for this key. */
function deviceCert(serial: string, key: { pem: string }, serialHex = crypto.randomBytes(16).toString("hex").replace(/^0/, "1")): { serialHex: string; der: Buffer } {
  const keyFile = path.join(work, `k${fileNo++}.pem`);
  fs.writeFileSync(keyFile, key.pem);
  const csr = openssl(["req", "-new", "-key", keyFile, "-subj", `/O=Tincan/CN=${serial}/serialNumber=${serial}`]);
  const der = openssl(["x509", "-req", "-CA", ca.intPem, "-CAkey", ca.intKey, "-set_serial", `0x${serialHex}`, "-days", "30", "-outform", "DER"], csr);
  return { serialHex, der };
}

let chipNo = 0;
const newChip = () => `c0ffee${(++chipNo).toString(16).padStart(10, "0")}`;
const request = (key = deviceKey(), chipId = newChip()) => ({ chipId, publicKey: key.point, board: "sim", firmware: "1.2.0", station: "line-1", prefix: "TSM", key });

/** One board through the whole sequence. */
function provision(db: FactoryDb, req = request()): DeviceRow {
  const d = db.allocate(req);
  db.recordCertificate(d.serial, deviceCert(d.serial, req.key));
  db.markWritten(d.serial);
  return db.markProvisioned(d.serial);
}

function refused(fn: () => unknown, code: FactoryDbError["code"], pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FactoryDbError, `expected a FactoryDbError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes("\n"));
    return true;
  });
}

/** A raw connection, the way a tool would edit the file. */
function raw(file: string, fn: (c: Database.Database) => void): void {
  const c = new Database(file);
  try {
    fn(c);
  } finally {
    c.close();
  }
}

const es256 = (): JwsSigner => ({
  alg: "ES256",
  x5c: ca.x5c,
  sign: async (data) => crypto.sign("sha256", data, { key: fs.readFileSync(ca.intKey), dsaEncoding: "ieee-p1363" }),
});

test("open: WAL, foreign keys, busy timeout, schema version; refuses other files", () => {
  const file = freshFile();
  FactoryDb.open(file).close();
  raw(file, (c) => {
    assert.equal(c.pragma("journal_mode", { simple: true }), "wal");
    assert.equal(c.pragma("user_version", { simple: true }), 1);
    assert.equal(c.prepare("SELECT event FROM audit").pluck().all().join(), "database.created");
  });
  const again = FactoryDb.open(file);
  assert.equal(again.verify().rows, 1);
  again.close();
  raw(file, (c) => c.pragma("user_version = 9"));
  refused(() => FactoryDb.open(file), "schema", /schema 9 is newer than this tool's \(1\)/);
  const other = freshFile();
  raw(other, (c) => c.exec("CREATE TABLE t (x)"));
  refused(() => FactoryDb.open(other), "schema", /not a factory database/);
  const junk = freshFile();
  fs.writeFileSync(junk, "this is not sqlite, just text ".repeat(200));
  refused(() => FactoryDb.open(junk), "io", /not a usable factory database|cannot open/);
  refused(() => FactoryDb.open(freshFile(), { mustExist: true }), "io", /no factory database there/);
});

test("the provisioning sequence: allocate, certificate, written, provisioned; each step audited; idempotent", () => {
  const db = FactoryDb.open(freshFile());
  const req = request();
  const a = db.allocate(req);
  assert.equal(checkSerial(a.serial), a.serial);
  assert.ok(a.serial.startsWith("TSM"));
  assert.equal(a.state, "allocated");
  assert.deepEqual(db.allocate({ ...req, chipId: req.chipId.toUpperCase() }), a, "the same chip gets the same row");
  const cert = deviceCert(a.serial, req.key);
  assert.equal(db.recordCertificate(a.serial, cert).state, "issued");
  assert.equal(db.recordCertificate(a.serial, cert).state, "issued", "the same certificate twice is one");
  refused(() => db.markProvisioned(a.serial), "bad-state", /is issued: it cannot become provisioned \(from written or failed only\)/);
  assert.equal(db.markWritten(a.serial).state, "written");
  assert.equal(db.markWritten(a.serial).state, "written");
  const p = db.markProvisioned(a.serial.toLowerCase());
  assert.equal(p.state, "provisioned");
  assert.equal(p.certificateSerial, cert.serialHex);
  assert.ok(Buffer.from(p.certificate!).equals(cert.der));
  assert.deepEqual(db.deviceByChip(req.chipId), p);
  assert.deepEqual(db.deviceBySerial(a.serial), p);
  assert.equal(db.deviceBySerial(makeSerial("TSM")), undefined);
  const v = db.verify();
  assert.deepEqual(v.problems, []);
  assert.equal(v.rows, 5); // created, allocated, recorded, written, provisioned
  refused(() => db.markWritten(db.allocate(request()).serial), "bad-state", /allocated with no current certificate/);
  db.close();
});

test("uniqueness: serial collisions are drawn again, a key or a certificate belongs to one board", () => {
  const fixed = (n: number) => new Uint8Array(n).fill(7);
  let calls = 0;
  const twiceThenRandom = (n: number) => (calls++ < 3 ? fixed(n) : crypto.randomBytes(n));
  const db = FactoryDb.open(freshFile(), { random: twiceThenRandom });
  const first = db.allocate(request());
  const second = db.allocate(request());
  assert.notEqual(first.serial, second.serial);
  assert.ok(calls >= 4, "two collisions, then a fresh serial");
  db.close();
  const stuck = FactoryDb.open(freshFile(), { random: fixed });
  stuck.allocate(request());
  const chip = newChip();
  refused(() => stuck.allocate(request(undefined, chip)), "conflict", /8 random serials in a row were already taken/);
  assert.equal(stuck.deviceByChip(chip), undefined, "no row left behind");
  stuck.close();

  const u = FactoryDb.open(freshFile());
  const key = deviceKey();
  const a = u.allocate(request(key));
  refused(() => u.allocate(request(key)), "conflict", new RegExp(`already belongs to ${a.serial}`));
  refused(() => u.allocate({ ...request(), board: "tincan-s3", chipId: a.chipId }), "conflict", /already .* a sim board, not a tincan-s3/);
  const bReq = request();
  const b = u.allocate(bReq);
  const certA = deviceCert(a.serial, key);
  u.recordCertificate(a.serial, certA);
  refused(() => u.recordCertificate(b.serial, deviceCert(b.serial, deviceKey())), "bad-input", /not for the device's public key/);
  refused(() => u.recordCertificate(b.serial, certA), "bad-input", /subject CN is .*not the device's serial/);
  refused(() => u.recordCertificate(b.serial, { ...deviceCert(b.serial, bReq.key), serialHex: "1234" }), "bad-input", /serial number is .*, not 1234/);
  refused(() => u.recordCertificate(b.serial, deviceCert(b.serial, bReq.key, certA.serialHex)), "conflict", /already recorded/);
  refused(() => u.recordCertificate(b.serial, { serialHex: "01", der: Buffer.from("not a certificate") }), "bad-input", /not X.509 DER/);
  assert.equal(u.deviceBySerial(b.serial)!.state, "allocated", "nothing of the refused attempts stuck");
  refused(() => u.allocate({ ...request(), publicKey: Buffer.alloc(64, 4) }), "bad-input", /64 bytes .*65 bytes starting 0x04/);
  refused(() => u.allocate({ ...request(), publicKey: Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]) }), "bad-input", /not a point on P-256/);
  refused(() => u.allocate({ ...request(), chipId: "xyz" }), "bad-input", /chip id "xyz"/);
  refused(() => u.allocate({ ...request(), prefix: "TSU" }), "bad-input", /serial prefix "TSU"/);
  refused(() => u.allocate({ ...request(), firmware: "1.0\nrm -rf" }), "bad-input", /firmware version/);
  assert.deepEqual(u.verify().problems, []);
  u.close();
});

test("re-keying supersedes an unwritten certificate; re-issue revokes, then a device has an old and a current certificate", () => {
  const db = FactoryDb.open(freshFile());
  const req = request();
  const d = db.allocate(req);
  const first = deviceCert(d.serial, req.key);
  db.recordCertificate(d.serial, first);
  const key2 = deviceKey();
  const rekeyed = db.setPublicKey(d.serial, key2.point);
  assert.equal(rekeyed.state, "allocated");
  assert.equal(rekeyed.certificate, undefined);
  assert.deepEqual(db.revokedCertificates().map((c) => [c.serialHex, c.revocationReason]), [[first.serialHex, "re-keyed before the certificate was written"]]);
  provisionFrom(db, d.serial, key2);
  refused(() => db.setPublicKey(d.serial, deviceKey().point), "bad-state", /is provisioned: .*revoke it before re-keying/);
  refused(() => db.recordCertificate(d.serial, deviceCert(d.serial, key2)), "bad-state", /revoke it before issuing another/);

  const current = db.deviceBySerial(d.serial)!;
  const revoked = db.revokeCertificate(current.certificateSerial!.toUpperCase(), "superseded");
  assert.equal(revoked.state, "revoked");
  assert.equal(db.revokeCertificate(current.certificateSerial!, "again").state, "revoked", "revoking twice is once");
  const key3 = deviceKey();
  db.setPublicKey(d.serial, key3.point);
  const again = provisionFrom(db, d.serial, key3);
  assert.equal(again.state, "provisioned");
  raw(db.file, (c) => {
    const certs = c.prepare("SELECT revoked_at IS NULL AS current FROM certificates WHERE device_serial = ?").pluck().all(d.serial);
    assert.deepEqual(certs.sort(), [0, 0, 1]);
  });
  refused(() => db.revokeCertificate("abcdef", "x"), "not-found", /no certificate abcdef/);
  assert.deepEqual(db.verify().problems, []);
  db.close();
});

function provisionFrom(db: FactoryDb, serial: string, key: { pem: string }): DeviceRow {
  db.recordCertificate(serial, deviceCert(serial, key));
  db.markWritten(serial);
  return db.markProvisioned(serial);
}

test("failures: by serial, by chip id, a board with no row; never exported; counted in the report", async () => {
  let day = Date.UTC(2026, 0, 5, 9);
  const db = FactoryDb.open(freshFile(), { now: () => new Date(day) });
  const good = provision(db);
  const badReq = request();
  const bad = db.allocate(badReq);
  db.recordCertificate(bad.serial, deviceCert(bad.serial, badReq.key));
  day += 86_400_000;
  assert.equal(db.markFailed(bad.serial, "the board's answer to the challenge does not verify")!.state, "failed");
  const other = db.allocate(request());
  assert.equal(db.markFailed(other.chipId, "CSR\nsigned by another key")!.failure, "CSR signed by another key");
  assert.equal(db.markFailed({ chipId: newChip() }, "no answer to HELLO"), undefined);
  assert.equal(db.markFailed(newChip(), "no answer to HELLO"), undefined);
  refused(() => db.markFailed(makeSerial("TSM"), "x"), "not-found", /no device/);
  refused(() => db.markFailed({ serial: makeSerial("TSM") }, "x"), "not-found", /no device/);
  const r = db.report();
  assert.equal(r.devices, 3);
  assert.deepEqual(r.byState, { allocated: 0, issued: 0, written: 0, provisioned: 1, failed: 2, revoked: 0 });
  assert.deepEqual(r.byBoard, [{ board: "sim", devices: 3, provisioned: 1, failed: 2 }]);
  assert.deepEqual(r.byDay, [
    { day: "2026-01-05", allocated: 2, provisioned: 1, failed: 0 },
    { day: "2026-01-06", allocated: 1, provisioned: 0, failed: 4 },
  ]);
  assert.deepEqual(r.failures.map((f) => [f.reason, f.count]), [["no answer to HELLO", 2], ["CSR signed by another key", 1], ["the board's answer to the challenge does not verify", 1]]);
  const manifest = verifyManifest(await db.exportManifest(es256()), ca.rootPem);
  assert.deepEqual(manifest.devices.map((d) => d.serial), [good.serial]);
  db.close();
});

test("the audit log: triggers refuse edits; verify() names the first bad row of a tampered, re-hashed or cut log", () => {
  const file = freshFile();
  const db = FactoryDb.open(file);
  const devices = [0, 1, 2, 3].map(() => provision(db));
  db.markFailed(devices[1].serial, "the challenge answer does not verify");
  db.close();
  raw(file, (c) => {
    assert.throws(() => c.prepare("UPDATE audit SET station = 'x' WHERE seq = 3").run(), /append-only: rows cannot be changed/);
    assert.throws(() => c.prepare("DELETE FROM audit WHERE seq = 3").run(), /append-only: rows cannot be deleted/);
  });
  const copy = (name: string, edit: (c: Database.Database) => void): string => {
    const f = path.join(work, `${name}.db`);
    raw(file, (c) => c.exec(`VACUUM INTO '${f}'`));
    raw(f, (c) => {
      c.exec("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;");
      edit(c);
    });
    return f;
  };
  const problems = (f: string) => {
    const d = FactoryDb.open(f);
    try {
      const v = d.verify();
      assert.equal(v.ok, false);
      return v.problems;
    } finally {
      d.close();
    }
  };
  // A station name changed in row 7: its own hash no longer matches.
  const edited = copy("edited", (c) => c.prepare("UPDATE audit SET station = 'line-9' WHERE seq = 7").run());
  assert.match(problems(edited)[0], /^audit row 7: its hash does not match its contents/);
  // Row 7 changed and re-hashed: row 8's link breaks.
  const rehashed = copy("rehashed", (c) => {
    const r = c.prepare("SELECT * FROM audit WHERE seq = 7").get() as { seq: number; at: string; station: string; event: string; device: string | null; data: string; after: string | null; prev_hash: Buffer };
    const data = r.data.replace(/"sha256":"[0-9a-f]+"/, `"sha256":"${"0".repeat(64)}"`);
    assert.notEqual(data, r.data);
    const hash = crypto.createHash("sha256").update(r.prev_hash).update(JSON.stringify([r.seq, r.at, r.station, r.event, r.device, data, r.after])).digest();
    c.prepare("UPDATE audit SET data = ?, hash = ? WHERE seq = 7").run(data, hash);
  });
  assert.match(problems(rehashed)[0], /^audit row 8: prev_hash does not match row 7's hash/);
  const cut = copy("cut", (c) => c.prepare("DELETE FROM audit WHERE seq = 5").run());
  assert.match(problems(cut)[0], /^audit row 6: expected row 5 here/);
  // A failed device made to look provisioned (so that it would be exported): its audit trail says otherwise.
  const promoted = copy("promoted", (c) => c.prepare("UPDATE devices SET state = 'provisioned', failure_reason = NULL WHERE id = 2").run());
  assert.deepEqual(problems(promoted), [`devices row 2 (${devices[1].serial}): state, failure differ from its last audit row (edited outside tincan)`]);
  const swapped = copy("swapped", (c) => c.prepare("UPDATE certificates SET der = randomblob(300) WHERE id = 3").run());
  assert.deepEqual(problems(swapped), [`devices row 3 (${devices[2].serial}): certificate differ from its last audit row (edited outside tincan)`]);
  const dropped = copy("dropped", (c) => { c.pragma("foreign_keys = OFF"); c.prepare("DELETE FROM devices WHERE id = 4").run(); });
  assert.match(problems(dropped).join(" | "), /certificates row \d+: refers to a missing row of devices.*in the audit log but not in devices/);
});

test("corrupt rows (a tool switched the checks off): a FactoryDbError naming the row, and verify() lists it", () => {
  const file = freshFile();
  const db = FactoryDb.open(file);
  const a = provision(db);
  const b = provision(db);
  raw(file, (c) => {
    c.pragma("ignore_check_constraints = ON");
    c.prepare("UPDATE devices SET state = 'shipped' WHERE serial = ?").run(a.serial);
    c.prepare("UPDATE devices SET public_key = zeroblob(64) WHERE serial = ?").run(b.serial);
  });
  refused(() => db.deviceBySerial(a.serial), "corrupt", new RegExp(`devices row 1 \\(${a.serial}\\): state "shipped" is not one of allocated, .*edited outside tincan`));
  refused(() => db.deviceByChip(b.chipId), "corrupt", new RegExp(`devices row 2 \\(${b.serial}\\): public_key is 64 bytes`));
  refused(() => db.markWritten(a.serial), "corrupt", /devices row 1/);
  refused(() => db.report(), "corrupt", /devices row 1 .*state "shipped"/);
  const v = db.verify();
  assert.equal(v.ok, false);
  assert.ok(v.problems.some((p) => /devices row 1 .*state "shipped"/.test(p)), v.problems.join(" | "));
  assert.ok(v.problems.some((p) => /devices row 2 .*public_key is 64 bytes/.test(p)), v.problems.join(" | "));
  db.close();
});

test("several station processes on one file: unique serials, one chain, created once", async () => {
  const file = freshFile();
  const script = path.join(work, "station.ts");
  fs.writeFileSync(script, `
    import crypto from "node:crypto";
    import { FactoryDb } from ${JSON.stringify(path.join(repo, "host-tools/provision/db.ts"))};
    const [file, station, count] = process.argv.slice(2);
    const db = FactoryDb.open(file, { station });
    for (let i = 0; i < Number(count); i++) {
      const jwk = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ format: "jwk" });
      const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, "base64url"), Buffer.from(jwk.y, "base64url")]);
      const d = db.allocate({ chipId: crypto.randomBytes(8), publicKey: point, board: "sim", firmware: "1.0.0", station, prefix: "TSM" });
      if (i % 3 === 0) db.markFailed(d.serial, "flaky fixture on " + station);
    }
    db.close();
  `);
  const run = (station: string) => new Promise<void>((resolve, reject) => {
    const p = spawn(process.execPath, ["--import", "tsx", script, file, station, "60"], { cwd: repo, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    p.stderr.on("data", (b) => (err += b));
    p.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${station} exited ${code}: ${err}`))));
  });
  await Promise.all(["s1", "s2", "s3", "s4"].map(run));
  const db = FactoryDb.open(file);
  const v = db.verify();
  assert.deepEqual(v.problems, []);
  assert.equal(v.devices, 240);
  assert.equal(v.rows, 1 + 240 + 80);
  raw(file, (c) => {
    assert.equal(c.prepare("SELECT count(DISTINCT serial) FROM devices").pluck().get(), 240);
    assert.equal(c.prepare("SELECT count(*) FROM audit WHERE event = 'database.created'").pluck().get(), 1);
  });
  assert.deepEqual(db.report().byStation.map((s) => [s.station, s.allocated, s.failed]), [["s1", 60, 20], ["s2", 60, 20], ["s3", 60, 20], ["s4", 60, 20]]);
  db.close();
});

test("the manifest: a compact JWS of provisioned devices only, ES256 and ES384, verified here and by openssl", async () => {
  const db = FactoryDb.open(freshFile());
  const provisioned = [provision(db), provision(db), provision(db)];
  const revoked = provision(db);
  db.revokeCertificate(revoked.certificateSerial!, "keyCompromise");
  db.allocate(request());
  const jws = await db.exportManifest(es256());
  const m = verifyManifest(jws, ca.rootPem);
  assert.equal(m.count, 3);
  assert.deepEqual(m.devices.map((d) => d.serial), provisioned.map((d) => d.serial).sort());
  for (const d of m.devices) {
    const p = provisioned.find((x) => x.serial === d.serial)!;
    assert.equal(d.chipId, p.chipId);
    assert.equal(d.board, "sim");
    assert.ok(Buffer.from(d.certificate, "base64").equals(Buffer.from(p.certificate!)));
  }
  assert.equal(m.audit.seq, db.verify().rows - 1, "the manifest names the audit head before its own export row");
  // openssl: the signature (r || s made DER) over the signing input, with the intermediate's key.
  const [h, p, sig] = jws.split(".");
  const raw64 = Buffer.from(sig, "base64url");
  const int = (b: Buffer) => { let x = b; while (x.length > 1 && x[0] === 0 && x[1] < 0x80) x = x.subarray(1); if (x[0] >= 0x80) x = Buffer.concat([Buffer.from([0]), x]); return Buffer.concat([Buffer.from([2, x.length]), x]); };
  const body = Buffer.concat([int(raw64.subarray(0, 32)), int(raw64.subarray(32))]);
  const sigFile = path.join(work, "jws.sig");
  const pubFile = path.join(work, "int.pub");
  fs.writeFileSync(sigFile, Buffer.concat([Buffer.from([0x30, body.length]), body]));
  fs.writeFileSync(pubFile, openssl(["x509", "-in", ca.intPem, "-pubkey", "-noout"]));
  assert.match(openssl(["dgst", "-sha256", "-verify", pubFile, "-signature", sigFile], `${h}.${p}`).toString(), /Verified OK/);
  openssl(["verify", "-CAfile", path.join(ca.dir, "root.pem"), ca.intPem]);

  const tampered = `${h}.${Buffer.from(Buffer.from(p, "base64url").toString().replace(/"count":3/, '"count":3 ')).toString("base64url")}.${sig}`;
  assert.throws(() => verifyManifest(tampered), (e: unknown) => e instanceof ManifestError && /signature does not verify/.test(e.message));
  const foreign = makeCa(path.join(work, "foreign"), "P-256");
  assert.throws(() => verifyManifest(jws, foreign.rootPem), /does not lead to the given root/);
  await assert.rejects(db.exportManifest({ ...es256(), sign: async (d) => crypto.sign("sha256", d, fs.readFileSync(ca.intKey)) }), /r \|\| s, 64 bytes \(not DER\)/);
  await assert.rejects(db.exportManifest({ ...es256(), alg: "ES384" }), /returned 64 bytes; an ES384 JWS signature is r \|\| s, 96 bytes/);

  const ca384 = makeCa(path.join(work, "ca384"), "P-384");
  const jws384 = await db.exportManifest({ alg: "ES384", x5c: ca384.x5c, sign: async (d) => crypto.sign("sha384", d, { key: fs.readFileSync(ca384.intKey), dsaEncoding: "ieee-p1363" }) });
  assert.equal(JSON.parse(Buffer.from(jws384.split(".")[0], "base64url").toString()).alg, "ES384");
  assert.equal(verifyManifest(jws384, ca384.rootPem).count, 3);
  assert.throws(() => verifyManifest(jws384, ca.rootPem), /does not lead to the given root/);
  db.close();
});

test("tincan factory verify|export|report, on a database that a tool then edits", async () => {
  const file = freshFile();
  const db = FactoryDb.open(file);
  provision(db);
  provision(db);
  db.close();
  const out: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((s: string) => (out.push(s), true)) as typeof process.stdout.write;
  try {
    assert.equal(factoryVerifyCommand({ db: file }).ok, true);
    assert.equal(factoryReportCommand({ db: file }).byState.provisioned, 2);
    const outFile = path.join(work, "manifest.jws");
    const signer = async () => ({ signer: es256(), close: () => {} });
    assert.equal((await factoryExportCommand({ db: file, ca: "unused", out: outFile }, signer)).devices, 2);
    assert.equal(verifyManifest(fs.readFileSync(outFile, "utf8"), ca.rootPem).count, 2);
    raw(file, (c) => { c.exec("DROP TRIGGER audit_no_update"); c.prepare("UPDATE audit SET at = '2020-01-01T00:00:00.000Z' WHERE seq = 2").run(); });
    assert.equal(factoryVerifyCommand({ db: file }).ok, false);
    assert.equal(process.exitCode, 1);
    process.exitCode = 0;
    await assert.rejects(factoryExportCommand({ db: file, ca: "unused", out: outFile }, signer), /does not verify \(audit row 2: its hash does not match/);
  } finally {
    process.stdout.write = write;
  }
  const text = out.join("");
  assert.match(text, /ok: 9 audit rows chain to [0-9a-f]{16}\.\.\., 2 devices agree/);
  assert.match(text, /2 devices: allocated 0, issued 0, written 0, provisioned 2, failed 0, revoked 0/);
  assert.match(text, /manifest of 2 provisioned devices/);
  assert.match(text, /1 problem\n  audit row 2: its hash does not match its contents/);
  assert.throws(() => factoryVerifyCommand({ db: path.join(work, "missing.db") }), /no factory database there/);
  assert.equal(fs.existsSync(path.join(work, "missing.db")), false);
});

test("the fast snapshot writer is canonical JSON of the snapshot", () => {
  const db = FactoryDb.open(freshFile());
  const p = provision(db);
  const f = db.markFailed(db.allocate(request()).serial, 'quote " backslash \\ unicode \u00e9 \u2603')!;
  for (const d of [p, f, { ...p, certificate: undefined, certificateSerial: undefined }]) assert.equal(snapshotJson(d), canonicalJson(deviceSnapshot(d)));
  db.close();
});

test("tincan factory export with the real factory CA (FactoryCa.signJws): the manifest verifies against its root", async () => {
  const { initCa } = await import("../../host-tools/provision/ca/index.ts");
  const dir = path.join(work, "real-ca");
  const before = process.env.TINCAN_CA_PASSPHRASE;
  process.env.TINCAN_CA_PASSPHRASE = "factory-db test passphrase";
  try {
    const info = await initCa(dir, {});
    const db = FactoryDb.open(freshFile());
    provision(db);
    db.close();
    const out = path.join(work, "real.jws");
    const write = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    try {
      assert.equal((await factoryExportCommand({ db: db.file, ca: dir, out })).devices, 1);
    } finally {
      process.stdout.write = write;
    }
    const m = verifyManifest(fs.readFileSync(out, "utf8"), info.root.pem);
    assert.equal(m.count, 1);
  } finally {
    if (before === undefined) delete process.env.TINCAN_CA_PASSPHRASE;
    else process.env.TINCAN_CA_PASSPHRASE = before;
  }
});

test("the benchmarks' bulk fill leaves a database that verifies, and the station's calls work on it", () => {
  const db = FactoryDb.open(freshFile());
  fillDevices(db, 2000, "TSM");
  const d = provision(db);
  const v = db.verify();
  assert.deepEqual(v.problems, []);
  assert.equal(v.devices, 2001);
  assert.equal(db.report().byState.provisioned, 2001);
  assert.equal(db.deviceBySerial(d.serial)!.state, "provisioned");
  db.close();
});
