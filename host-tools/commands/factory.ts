// tincan factory verify|export|report --db FILE: the factory database (host-tools/provision/db.ts,
// docs/provisioning.md). verify checks the audit chain and every rule and exits 1 on a problem;
// export writes the signed manifest of provisioned devices (the CA's passphrase or HSM PIN comes
// from the environment or the terminal, as for tincan ca); report counts.

import fs from "node:fs";
import { Option, type Command } from "commander";
import { FactoryDb, type FactoryReport, type ManifestSigner, type VerifyResult } from "../provision/db.ts";
import { FactoryCa } from "../provision/ca/index.ts";
import { printJson, UsageError } from "./common.ts";

interface Helpers { run: <A extends unknown[]>(fn: (...args: A) => unknown) => (...args: A) => Promise<void> }
export interface FactoryOptions { db: string; json?: boolean }
export interface FactoryExportOptions extends FactoryOptions { ca: string; out?: string }

const dbOption = () => new Option("--db <file>", "the factory database (SQLite)").env("TINCAN_FACTORY_DB").makeOptionMandatory();

/** Adds the subcommands under `tincan factory`. */
export function addFactoryCommands(factory: Command, h: Helpers): void {
  factory.command("verify").description("check the audit chain, SQLite's integrity and every device against its audit trail; exit 1 on any problem")
    .addOption(dbOption()).option("--json", "machine-readable output")
    .action(h.run((opts: FactoryOptions) => factoryVerifyCommand(opts)));
  factory.command("export").description("write the manifest of provisioned devices, signed by the factory intermediate (compact JWS)")
    .addOption(dbOption())
    .addOption(new Option("--ca <dir>", "the CA directory (tincan ca init)").env("TINCAN_CA_DIR").makeOptionMandatory())
    .option("--out <file>", "where to write the JWS (default: standard output)")
    .option("--json", "machine-readable summary")
    .action(h.run((opts: FactoryExportOptions) => factoryExportCommand(opts)));
  factory.command("report").description("devices by state and board; provisioned and failed by day and station; failure reasons")
    .addOption(dbOption()).option("--json", "machine-readable output")
    .action(h.run((opts: FactoryOptions) => factoryReportCommand(opts)));
}

function openDb(opts: FactoryOptions): FactoryDb {
  if (!opts.db) throw new UsageError("name the factory database with --db FILE");
  return FactoryDb.open(opts.db, { mustExist: true });
}

export function factoryVerifyCommand(opts: FactoryOptions): VerifyResult {
  const db = openDb(opts);
  try {
    const result = db.verify();
    if (opts.json) printJson(result);
    else if (result.ok) process.stdout.write(`${opts.db}: ok: ${result.rows} audit rows chain to ${result.head.hash.slice(0, 16)}..., ${result.devices} devices agree with their audit trail\n`);
    else process.stdout.write(`${opts.db}: ${result.problems.length} problem${result.problems.length === 1 ? "" : "s"}\n${result.problems.map((p) => `  ${p}\n`).join("")}`);
    if (!result.ok) process.exitCode = 1;
    return result;
  } finally {
    db.close();
  }
}

/** The signer of the manifest: the CA's intermediate, through FactoryCa.signJws. */
async function caSigner(dir: string): Promise<{ signer: ManifestSigner; close(): void }> {
  const ca = await FactoryCa.open(dir);
  return { signer: ca, close: () => ca.close() };
}

export async function factoryExportCommand(opts: FactoryExportOptions, openSigner = caSigner): Promise<{ devices: number; bytes: number }> {
  if (!opts.ca) throw new UsageError("export: name the CA directory with --ca DIR (its intermediate signs the manifest)");
  const db = openDb(opts);
  try {
    const { signer, close } = await openSigner(opts.ca);
    let jws: string;
    try {
      jws = await db.exportManifest(signer);
    } finally {
      close();
    }
    const devices = (JSON.parse(Buffer.from(jws.split(".")[1], "base64url").toString("utf8")) as { count: number }).count;
    if (opts.out !== undefined) {
      const tmp = `${opts.out}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, `${jws}\n`, { mode: 0o644 });
      fs.renameSync(tmp, opts.out);
    } else if (!opts.json) process.stdout.write(`${jws}\n`);
    const summary = { devices, bytes: jws.length };
    if (opts.json) printJson({ ...summary, out: opts.out ?? null, ...(opts.out === undefined ? { jws } : {}) });
    else if (opts.out !== undefined) process.stdout.write(`${opts.out}: manifest of ${devices} provisioned devices, ${jws.length} bytes, signed by the factory intermediate\n`);
    return summary;
  } finally {
    db.close();
  }
}

export function factoryReportCommand(opts: FactoryOptions): FactoryReport {
  const db = openDb(opts);
  try {
    const r = db.report();
    if (opts.json) printJson(r);
    else process.stdout.write(formatReport(r));
    return r;
  } finally {
    db.close();
  }
}

function table(title: string, rows: (string | number)[][]): string {
  if (rows.length <= 1) return `${title}: none\n`;
  const cells = rows.map((r) => r.map(String));
  const widths = cells[0].map((_, c) => Math.max(...cells.map((r) => r[c].length)));
  const lines = cells.map((r) => `  ${r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join("  ")}`);
  return `${title}\n${lines.join("\n")}\n`;
}

export function formatReport(r: FactoryReport): string {
  const states = Object.entries(r.byState).map(([s, n]) => `${s} ${n}`).join(", ");
  return [
    `${r.devices} devices: ${states}\n`,
    table("by board", [["board", "devices", "provisioned", "failed"], ...r.byBoard.map((b) => [b.board, b.devices, b.provisioned, b.failed])]),
    table("by day (UTC)", [["day", "allocated", "provisioned", "failed"], ...r.byDay.map((d) => [d.day, d.allocated, d.provisioned, d.failed])]),
    table("by station", [["station", "allocated", "provisioned", "failed"], ...r.byStation.map((s) => [s.station, s.allocated, s.provisioned, s.failed])]),
    table("failures", [["reason", "count", "last"], ...r.failures.map((f) => [f.reason, f.count, f.last])]),
  ].join("");
}
