// npx tsx test/bench/factory-db.ts — the factory database's cost per board as it fills up.
//
// For 0, 10k, 100k and 1,000,000 devices already in the database (bulk-filled in one
// transaction: provisioned stand-ins, one audit row each), the time of one board's provisioning
// transactions: allocate, recordCertificate, markWritten, markProvisioned (each its own
// BEGIN IMMEDIATE .. COMMIT with synchronous=FULL, so an fsync each). The certificate is made
// between the calls, untimed. Median and 95th percentile over the boards, and the ratio of the
// median to the empty database's: it must stay flat (every lookup is an index lookup). Wall time
// includes the four fsyncs, which on a shared disk vary more than the rest; the CPU time of the
// process (process.cpuUsage) is the cost the indexes decide. Then verify() on the 1M database
// (>= 1M audit rows). Figures only, no asserts on time.
//
// TINCAN_BENCH_QUICK=1: 0 and 10k only. TINCAN_BENCH_DIR: where the database files go (default:
// the system temp folder; they reach ~1.5 GB and are removed at the end).

import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { webcrypto } from "node:crypto";
import { FactoryDb, fillDevices } from "../../host-tools/provision/db.ts";

const quick = process.env.TINCAN_BENCH_QUICK === "1";
const LEVELS = quick ? [0, 10_000] : [0, 10_000, 100_000, 1_000_000];
const BOARDS = quick ? 100 : 300;
const WARMUP = 20;
const work = fs.mkdtempSync(path.join(process.env.TINCAN_BENCH_DIR ?? os.tmpdir(), "tincan-bench-factory-db-"));
const crypto = webcrypto as unknown as Crypto;
const ecdsa = { name: "ECDSA", namedCurve: "P-256" } as const;

const issuerKeys = (await crypto.subtle.generateKey(ecdsa, false, ["sign", "verify"])) as CryptoKeyPair;
let certNo = 1;

async function deviceKey(): Promise<{ keys: CryptoKeyPair; point: Uint8Array }> {
  const keys = (await crypto.subtle.generateKey(ecdsa, true, ["sign", "verify"])) as CryptoKeyPair;
  return { keys, point: new Uint8Array(await crypto.subtle.exportKey("raw", keys.publicKey)) };
}

async function certificateFor(serial: string, publicKey: CryptoKey): Promise<{ serialHex: string; der: Uint8Array }> {
  const serialHex = (0x10000000 + certNo++).toString(16);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialHex, subject: `CN=${serial}, O=Tincan`, issuer: "CN=Bench Factory CA", notBefore: new Date(), notAfter: new Date(Date.now() + 86_400_000),
    publicKey, signingKey: issuerKeys.privateKey, signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
  }, crypto);
  return { serialHex, der: new Uint8Array(cert.rawData) };
}

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)];

interface Level { devices: number; fillS: number; op: Record<"allocate" | "certificate" | "written" | "provisioned", number>; total: number; totalP95: number; cpu: number }

async function level(devices: number): Promise<{ level: Level; db: FactoryDb }> {
  const db = FactoryDb.open(path.join(work, `db-${devices}.db`));
  const t0 = process.hrtime.bigint();
  if (devices > 0) fillDevices(db, devices, "TSM");
  const fillS = ms(t0) / 1000;
  const per: Record<keyof Level["op"], number[]> = { allocate: [], certificate: [], written: [], provisioned: [] };
  const totals: number[] = [];
  const cpus: number[] = [];
  const cpuMs = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000;
  for (let i = 0; i < WARMUP + BOARDS; i++) {
    const key = await deviceKey();
    const chipId = `be${(i + 1).toString(16).padStart(14, "0")}`;
    let c = process.cpuUsage();
    let t = process.hrtime.bigint();
    const d = db.allocate({ chipId, publicKey: key.point, board: "sim", firmware: "1.0.0", station: "bench", prefix: "TSM" });
    const allocate = ms(t);
    let cpu = cpuMs(process.cpuUsage(c));
    const cert = await certificateFor(d.serial, key.keys.publicKey);
    c = process.cpuUsage();
    t = process.hrtime.bigint();
    db.recordCertificate(d.serial, cert);
    const certificate = ms(t);
    t = process.hrtime.bigint();
    db.markWritten(d.serial);
    const written = ms(t);
    t = process.hrtime.bigint();
    db.markProvisioned(d.serial);
    const provisioned = ms(t);
    cpu += cpuMs(process.cpuUsage(c));
    if (i < WARMUP) continue;
    cpus.push(cpu);
    per.allocate.push(allocate);
    per.certificate.push(certificate);
    per.written.push(written);
    per.provisioned.push(provisioned);
    totals.push(allocate + certificate + written + provisioned);
  }
  const op = { allocate: median(per.allocate), certificate: median(per.certificate), written: median(per.written), provisioned: median(per.provisioned) };
  return { level: { devices, fillS, op, total: median(totals), totalP95: p95(totals), cpu: median(cpus) }, db };
}

function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  process.stdout.write(rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ")).join("\n") + "\n");
}

const results: Level[] = [];
let verifyLine = "";
for (const n of LEVELS) {
  const { level: l, db } = await level(n);
  results.push(l);
  process.stderr.write(`${n} devices: filled in ${l.fillS.toFixed(1)} s, ${l.total.toFixed(3)} ms per board\n`);
  if (n === LEVELS[LEVELS.length - 1]) {
    const t0 = process.hrtime.bigint();
    const v = db.verify();
    const s = ms(t0) / 1000;
    verifyLine = `verify() of the ${n.toLocaleString("en")}-device database: ${v.rows.toLocaleString("en")} audit rows, ${v.devices.toLocaleString("en")} devices, ok=${v.ok}: ${s.toFixed(1)} s (${Math.round(v.rows / s).toLocaleString("en")} rows/s)`;
    const size = fs.statSync(db.file).size;
    verifyLine += `; database file ${(size / 2 ** 20).toFixed(0)} MiB`;
  }
  db.close();
  for (const f of fs.readdirSync(work)) fs.rmSync(path.join(work, f));
}

const empty = results[0];
const f3 = (x: number) => x.toFixed(3);
printTable([
  ["devices already", "fill (s)", "allocate", "certificate", "written", "provisioned", "per board ms", "p95 ms", "ratio", "CPU ms", "CPU ratio"],
  ...results.map((r) => [
    r.devices.toLocaleString("en"), r.devices === 0 ? "-" : r.fillS.toFixed(1), f3(r.op.allocate), f3(r.op.certificate), f3(r.op.written), f3(r.op.provisioned),
    f3(r.total), f3(r.totalP95), (r.total / empty.total).toFixed(2), f3(r.cpu), (r.cpu / empty.cpu).toFixed(2),
  ]),
]);
process.stdout.write(`${verifyLine}\n(${BOARDS} boards per level after ${WARMUP} warm-up; medians of wall time in ms per step and per board, ratio = to the empty database; CPU = the process's CPU time per board; files in ${work}; ${os.cpus().length} cores)\n`);
fs.rmSync(work, { recursive: true, force: true });
