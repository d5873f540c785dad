// The station killed (SIGKILL: an operator's kill -9, a power cut) at every step boundary and
// at random moments, then run again: every board ends provisioned exactly once, no serial
// without its board, nothing duplicated, the database and its audit chain intact.

import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { decodeIdentityRecord } from "../../host-tools/provision/record.ts";
import { STATION_STEPS } from "../../host-tools/provision/station.ts";
import { tempDir } from "./helpers.ts";
import { bootBoards, makeCa, tincan } from "./provision-helpers.ts";

const TRIALS = 50;
const BOARDS = 2;

function checkInvariants(db: string, boardDirs: string[], what: string): void {
  const d = new Database(db, { readonly: true });
  try {
    assert.equal((d.prepare("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check, "ok", what);
    assert.deepEqual(d.prepare("PRAGMA foreign_key_check").all(), [], what);
    const devices = d.prepare("SELECT serial, chip_id AS chipId, public_key AS publicKey, state FROM devices").all() as { serial: string; chipId: string; publicKey: Buffer | null; state: string }[];
    // Unique by construction (UNIQUE columns), and checked here independently of the schema.
    for (const col of ["serial", "chipId"] as const) assert.equal(new Set(devices.map((x) => x[col])).size, devices.length, `${what}: duplicate ${col}`);
    const keys = devices.filter((x) => x.publicKey).map((x) => Buffer.from(x.publicKey!).toString("hex"));
    assert.equal(new Set(keys).size, keys.length, `${what}: duplicate public key`);
    for (const dir of boardDirs) {
      const record = decodeIdentityRecord(fs.readFileSync(path.join(dir, "identity.bin")));
      const mine = devices.filter((x) => x.serial === record.serial);
      assert.equal(mine.length, 1, `${what}: ${record.serial} is in the database once`);
      assert.equal(mine[0].state, "provisioned", `${what}: ${record.serial}`);
      const live = d.prepare("SELECT der FROM certificates WHERE device_serial = ? AND revoked_at IS NULL").all(record.serial) as { der: Buffer }[];
      assert.equal(live.length, 1, `${what}: ${record.serial} has one live certificate`);
      assert.ok(Buffer.from(live[0].der).equals(Buffer.from(record.certificates[0])), `${what}: the board holds the live certificate`);
    }
    // Every serial belongs to a board that exists in this run or an earlier one: no orphans.
    for (const x of devices) assert.ok(x.chipId && x.chipId.length >= 12, `${what}: ${x.serial} has its chip id`);
  } finally {
    d.close();
  }
}

test(`station killed at every step boundary and at random moments (${TRIALS} trials, ${BOARDS} boards each): re-runs finish each board once`, { timeout: 900_000 }, async () => {
  const ca = await makeCa();
  const db = path.join(tempDir("tincan-station-"), "factory.db");
  let allDirs: string[] = [];
  const kills = { atStep: 0, random: 0, finishedBeforeKill: 0 };
  for (let t = 0; t < TRIALS; t++) {
    const boards = await bootBoards(BOARDS);
    try {
      const args = ["provision", "--board", "sim", ...boards.flatMap((b) => ["--port", b.sim.url]), "--ca", ca, "--db", db, "--station", `trial-${t}`, "--json"];
      // Odd trials: at a step boundary (each step, first or second board to reach it); even: at a random moment.
      const atStep = t % 2 === 1;
      const crashed = atStep
        ? await tincan(args, { TINCAN_STATION_CRASH: `${STATION_STEPS[(t >> 1) % STATION_STEPS.length]}:${1 + ((t >> 1) % 2)}` })
        : await tincan(args, {}, 150 + Math.floor(Math.random() * 1500));
      if (crashed.signal === "SIGKILL") atStep ? kills.atStep++ : kills.random++;
      else kills.finishedBeforeKill++;
      const rerun = await tincan(args);
      assert.equal(rerun.status, 0, `trial ${t}: ${rerun.stderr}${rerun.stdout}`);
      allDirs = allDirs.concat(boards.map((b) => b.dir));
      checkInvariants(db, boards.map((b) => b.dir), `trial ${t}`);
    } finally {
      await Promise.all(boards.map((b) => b.sim.stop()));
    }
  }
  checkInvariants(db, allDirs, "after every trial");
  const verify = await tincan(["factory", "verify", "--db", db, "--json"]);
  assert.equal(verify.status, 0, verify.stderr);
  assert.equal(JSON.parse(verify.stdout).ok, true, verify.stdout);
  assert.ok(kills.atStep >= TRIALS / 2 - 2, `kills at a step boundary: ${JSON.stringify(kills)}`);
  process.stdout.write(`# kills: ${JSON.stringify(kills)}\n`);
});
