// The factory station end to end: `tincan ca init`, `tincan provision` and `tincan factory`
// (dist/tincan.mjs, as a station runs it) against simulated boards running the real firmware;
// the certificates checked by openssl, the database read back with SQLite directly.

import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import Database from "better-sqlite3";
import { decodeIdentityRecord } from "../../host-tools/provision/record.ts";
import { FactoryCommand } from "../../host-tools/provision/device-client.ts";
import { verifyManifest } from "../../host-tools/provision/db.ts";
import { SlipDecoder, slipEncode } from "../../host-tools/link/slip.ts";
import { decodeFrame, encodeFrame, Kind } from "../../host-tools/link/frame.ts";
import { tempDir } from "./helpers.ts";
import { bootBoards, makeCa, tincan } from "./provision-helpers.ts";

function openssl(args: string[], input?: Buffer): { status: number | null; out: string } {
  const r = spawnSync("openssl", args, { input, encoding: "utf8" });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const pem = (der: Uint8Array, label = "CERTIFICATE") => `-----BEGIN ${label}-----\n${Buffer.from(der).toString("base64").replace(/.{64}/g, "$&\n").replace(/\n?$/, "\n")}-----END ${label}-----\n`;

/** What the factory database says, read with SQLite itself (not through FactoryDb). */
function dbRows(file: string) {
  const db = new Database(file, { readonly: true });
  try {
    return {
      devices: db.prepare("SELECT serial, chip_id AS chipId, state FROM devices ORDER BY serial").all() as { serial: string; chipId: string; state: string }[],
      certificates: db.prepare("SELECT * FROM certificates").all() as Record<string, unknown>[],
      integrity: (db.prepare("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check,
    };
  } finally {
    db.close();
  }
}

test("two boards provisioned in parallel: certificates openssl verifies, labels, and a re-run verifies without re-issuing", async () => {
  const ca = await makeCa();
  const work = tempDir("tincan-station-");
  const db = path.join(work, "factory.db");
  const labels = path.join(work, "labels");
  const boards = await bootBoards(2);
  try {
    const args = ["provision", "--board", "sim", ...boards.flatMap((b) => ["--port", b.sim.url]), "--ca", ca, "--db", db, "--station", "line-1", "--labels", labels, "--json"];
    const first = await tincan(args);
    assert.equal(first.status, 0, first.stderr);
    const report = JSON.parse(first.stdout) as { boards: { ok: boolean; result: { serial: string; outcome: string; chipId: string } }[] };
    assert.deepEqual(report.boards.map((b) => [b.ok, b.result.outcome]), [[true, "provisioned"], [true, "provisioned"]]);
    const serials = report.boards.map((b) => b.result.serial);
    assert.notEqual(serials[0], serials[1]);
    for (const s of serials) assert.match(s, /^TSM[0-9A-HJKMNP-TV-Z]{12}[0-9A-HJKMNP-TV-Z*~$=U]$/);

    for (const [i, b] of boards.entries()) {
      const record = decodeIdentityRecord(fs.readFileSync(path.join(b.dir, "identity.bin")));
      assert.equal(record.serial, serials[i]);
      const files = tempDir("tincan-verify-");
      fs.writeFileSync(path.join(files, "device.pem"), pem(record.certificates[0]));
      fs.writeFileSync(path.join(files, "chain.pem"), record.certificates.slice(1).map((c) => pem(c)).join(""));
      fs.writeFileSync(path.join(files, "root.pem"), pem(record.trustAnchors[0]));
      const v = openssl(["verify", "-CAfile", path.join(files, "root.pem"), "-untrusted", path.join(files, "chain.pem"), "-purpose", "sslclient", path.join(files, "device.pem")]);
      assert.equal(v.status, 0, v.out);
      const text = openssl(["x509", "-in", path.join(files, "device.pem"), "-noout", "-text"]).out;
      assert.match(text, new RegExp(`Subject: .*CN ?= ?${serials[i].replace(/[*$]/g, "\\$&")}`));
      assert.match(text, new RegExp(`serialNumber ?= ?${serials[i].replace(/[*$]/g, "\\$&")}`));
      assert.match(text, new RegExp(`URI:urn:tincan:device:${serials[i].replace(/[*$]/g, "\\$&")}`));
      assert.match(text, /TLS Web Client Authentication/);
      assert.match(fs.readFileSync(path.join(labels, `${serials[i]}.svg`), "utf8"), /<svg/);
    }
    const rows = dbRows(db);
    assert.deepEqual(rows.devices.map((d) => d.state), ["provisioned", "provisioned"]);
    assert.equal(rows.certificates.length, 2);
    assert.equal(rows.integrity, "ok");

    const again = await tincan(args);
    assert.equal(again.status, 0, again.stderr);
    const second = JSON.parse(again.stdout) as typeof report;
    assert.deepEqual(second.boards.map((b) => [b.result.serial, b.result.outcome]), serials.map((s) => [s, "verified"]));
    assert.equal(dbRows(db).certificates.length, 2, "a re-run issues nothing");

    const verify = await tincan(["factory", "verify", "--db", db, "--json"]);
    assert.equal(verify.status, 0, verify.stderr);
    assert.equal(JSON.parse(verify.stdout).ok, true);

    const reissue = await tincan(["provision", "--board", "sim", "--port", boards[0].sim.url, "--ca", ca, "--db", db, "--reissue"]);
    assert.notEqual(reissue.status, 0);
    assert.match(reissue.stdout + reissue.stderr, /locked: its identity can never be rewritten/);
  } finally {
    await Promise.all(boards.map((b) => b.sim.stop()));
  }
});

/**
 * A man in the middle on a board's console (a tampered jig): it forwards everything, keeps the
 * board's CHALLENGE answers, and in replay mode swaps each new answer for the first one kept.
 */
async function challengeReplayer(target: string) {
  const [host, port] = target.replace("socket://", "").split(":");
  const kept: Uint8Array[] = [];
  let replay = false;
  const server = net.createServer((client) => {
    const board = net.connect(Number(port), host);
    const decoder = new SlipDecoder({
      onText: (text) => client.write(text),
      onFrame: (bytes) => {
        const f = decodeFrame(bytes);
        if (f.kind === Kind.RESPONSE && f.command === FactoryCommand.CHALLENGE) {
          if (replay && kept.length) f.payload = kept[0];
          else kept.push(f.payload);
        }
        client.write(slipEncode(encodeFrame(f)));
      },
    });
    board.on("data", (d) => decoder.push(d));
    client.on("data", (d) => board.write(d));
    const end = () => { client.destroy(); board.destroy(); };
    client.on("close", end);
    board.on("close", end);
    client.on("error", end);
    board.on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    url: `socket://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    kept,
    replay(on: boolean) { replay = on; },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

test("a replayed challenge answer fails the board: marked failed, never exported, and only --reissue verifies it again", async () => {
  const ca = await makeCa();
  const work = tempDir("tincan-station-");
  const db = path.join(work, "factory.db");
  const [board, other] = await bootBoards(2);
  const mitm = await challengeReplayer(board.sim.url);
  try {
    const base = ["--board", "sim", "--ca", ca, "--db", db];
    const first = await tincan(["provision", ...base, "--port", mitm.url, "--port", other.sim.url, "--json"]);
    assert.equal(first.status, 0, first.stderr);
    assert.equal(mitm.kept.length, 1, "the station challenged the board once");
    const serial = (JSON.parse(first.stdout) as { boards: { result: { serial: string } }[] }).boards[0].result.serial;

    mitm.replay(true);
    const replayed = await tincan(["provision", ...base, "--port", mitm.url, "--json"]);
    assert.equal(replayed.status, 65, replayed.stdout + replayed.stderr);
    const out = JSON.parse(replayed.stdout) as { boards: { ok: boolean; error: string; step: string }[] };
    assert.equal(out.boards[0].step, "challenge");
    assert.match(out.boards[0].error, /does not verify against its certificate: marked failed/);
    assert.equal(dbRows(db).devices.find((d) => d.serial === serial)?.state, "failed");

    const exported = await tincan(["factory", "export", "--db", db, "--ca", ca]);
    assert.equal(exported.status, 0, exported.stderr);
    const manifest = verifyManifest(exported.stdout, fs.readFileSync(path.join(ca, "root.pem"), "utf8"));
    assert.deepEqual(manifest.devices.map((d) => d.serial), dbRows(db).devices.filter((d) => d.state === "provisioned").map((d) => d.serial));
    assert.ok(!manifest.devices.some((d) => d.serial === serial), "a failed board is not exported");
    assert.equal(manifest.count, 1);

    mitm.replay(false);
    const refused = await tincan(["provision", ...base, "--port", board.sim.url]);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stdout + refused.stderr, /was marked failed \(the board's answer to the challenge does not verify/);
    const again = await tincan(["provision", ...base, "--port", board.sim.url, "--reissue", "--json"]);
    assert.equal(again.status, 0, again.stdout + again.stderr);
    assert.equal(dbRows(db).devices.find((d) => d.serial === serial)?.state, "provisioned");
    assert.equal(dbRows(db).certificates.length, 2, "re-verified, not re-issued");
  } finally {
    await mitm.close();
    await Promise.all([board.sim.stop(), other.sim.stop()]);
  }
});

test("two stations share one factory database: four boards, four serials, one audit chain", async () => {
  const ca = await makeCa();
  const db = path.join(tempDir("tincan-station-"), "factory.db");
  const boards = await bootBoards(4);
  try {
    const station = (name: string, bs: typeof boards) => tincan(["provision", "--board", "sim", ...bs.flatMap((b) => ["--port", b.sim.url]), "--ca", ca, "--db", db, "--station", name, "--json"]);
    const runs = await Promise.all([station("line-1", boards.slice(0, 2)), station("line-2", boards.slice(2))]);
    for (const r of runs) assert.equal(r.status, 0, r.stderr + r.stdout);
    const rows = dbRows(db);
    assert.equal(rows.devices.length, 4);
    assert.ok(rows.devices.every((d) => d.state === "provisioned"));
    assert.equal(new Set(rows.devices.map((d) => d.serial)).size, 4);
    const verify = await tincan(["factory", "verify", "--db", db, "--json"]);
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    const report = await tincan(["factory", "report", "--db", db, "--json"]);
    assert.equal(report.status, 0, report.stderr);
    assert.match(report.stdout, /line-1/);
    assert.match(report.stdout, /line-2/);
  } finally {
    await Promise.all(boards.map((b) => b.sim.stop()));
  }
});
