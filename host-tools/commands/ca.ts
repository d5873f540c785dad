// tincan ca init|show|revoke|crl|issue-server: the factory CA (host-tools/provision/ca/,
// docs/ca.md). Secrets come from TINCAN_CA_PASSPHRASE / TINCAN_HSM_PIN or the terminal, never
// from an option, so they are never in argv.

import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Option, type Command } from "commander";
import { FactoryCa, REVOCATION_REASONS, type CaCertificate, type CaInfo, type Curve } from "../provision/ca/index.ts";
import { writeFileAtomic } from "../provision/ca/files.ts";
import { printJson, UsageError } from "./common.ts";

interface Helpers { run: <A extends unknown[]>(fn: (...args: A) => unknown) => (...args: A) => Promise<void> }
interface DirOptions { dir: string; json?: boolean }
export interface CaInitOptions extends DirOptions { curve: string; rootCurve: string; name: string; hsm?: string; token?: string; slot?: string }
export interface CaRevokeOptions extends DirOptions { reason: string }
export interface CaCrlOptions extends DirOptions { out: string; days?: string }
export interface CaIssueServerOptions extends DirOptions { dns?: string[]; ip?: string[]; out: string; days?: string; csr?: string }

const repeatable = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];
const dirOption = () => new Option("--dir <dir>", "the CA directory").env("TINCAN_CA_DIR").makeOptionMandatory();

/** Adds the subcommands under `tincan ca`. */
export function addCaCommands(ca: Command, h: Helpers): void {
  ca.command("init").description("make a root CA and a factory intermediate in DIR; keys in encrypted files, or in an HSM with --hsm")
    .addOption(dirOption())
    .option("--curve <curve>", "the intermediate's curve (it signs every device): P-256 or P-384", "P-256")
    .option("--root-curve <curve>", "the root's curve: P-256 or P-384", "P-384")
    .option("--name <text>", "common names '<text> Root CA' and '<text> Factory CA'", "Tincan")
    .option("--hsm <library>", "keep the keys in this PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so (PIN: TINCAN_HSM_PIN or asked)")
    .option("--token <label>", "the HSM token, by label")
    .option("--slot <index>", "the HSM token, by slot index (when it has no unique label)")
    .option("--json", "machine-readable output")
    .action(h.run((opts: CaInitOptions) => caInitCommand(opts)));
  ca.command("show").description("the CA's certificates, key store and revocations (no passphrase needed)")
    .addOption(dirOption()).option("--json", "machine-readable output")
    .action(h.run((opts: DirOptions) => caShowCommand(opts)));
  ca.command("revoke").description("put a certificate the intermediate issued on its CRL (then publish: tincan ca crl)")
    .argument("<serial-hex>", "the certificate's serial number, hex (openssl x509 -serial)")
    .addOption(dirOption())
    .addOption(new Option("--reason <reason>", "why").choices([...REVOCATION_REASONS]).default("unspecified"))
    .option("--json", "machine-readable output")
    .action(h.run((serial: string, opts: CaRevokeOptions) => caRevokeCommand(serial, opts)));
  ca.command("crl").description("sign fresh CRLs of the root and the intermediate: OUT/root.crl.pem, OUT/intermediate.crl.pem and both in OUT/crl.pem")
    .addOption(dirOption())
    .requiredOption("--out <dir>", "where to write the CRLs")
    .option("--days <n>", "until nextUpdate: publish again before then, or verifiers refuse every device", "30")
    .option("--json", "machine-readable output")
    .action(h.run((opts: CaCrlOptions) => caCrlCommand(opts)));
  ca.command("issue-server").description("a SIP server (kamailio) certificate: OUT/server.key (new P-256 key, 0600), server.pem, server-chain.pem, ca.pem")
    .addOption(dirOption())
    .option("--dns <name>", "a DNS name of the server (repeat for more)", repeatable)
    .option("--ip <address>", "an IP address of the server (repeat for more)", repeatable)
    .requiredOption("--out <dir>", "where to write the key and certificates")
    .option("--days <n>", "validity in days", "397")
    .option("--csr <file>", "certify the key of this PKCS#10 request (PEM or DER) instead of making a key")
    .option("--json", "machine-readable output")
    .action(h.run((opts: CaIssueServerOptions) => caIssueServerCommand(opts)));
}

function curveOf(value: string, option: string): Curve {
  const v = value.toUpperCase();
  if (v !== "P-256" && v !== "P-384") throw new UsageError(`${option} ${value}: P-256 or P-384`);
  return v;
}

function positive(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${option} ${value}: a positive whole number`);
  return n;
}

const certJson = (c: CaCertificate) => ({ subject: c.subject, serialHex: c.serialHex, curve: c.curve, notBefore: c.notBefore.toISOString(), notAfter: c.notAfter.toISOString(), sha256: c.sha256 });
const infoJson = (i: CaInfo) => ({ dir: i.dir, store: i.store, root: certJson(i.root), intermediate: certJson(i.intermediate), revoked: i.revoked, nextCrlNumber: i.nextCrlNumber, created: i.created });

function printInfo(i: CaInfo, heading: string): void {
  const store = i.store.kind === "file" ? "encrypted PKCS#8 files (ca.json, *.key)" : `PKCS#11 ${i.store.library}, token ${i.store.token !== undefined ? JSON.stringify(i.store.token) : `slot ${i.store.slot}`}`;
  const line = (role: string, c: CaCertificate) => `  ${role.padEnd(12)} ${c.subject}  ${c.curve}  ${c.notBefore.toISOString().slice(0, 10)} .. ${c.notAfter.toISOString().slice(0, 10)}  serial ${c.serialHex}\n${" ".repeat(15)}sha256 ${c.sha256}\n`;
  process.stdout.write(`${heading}\n  keys         ${store}\n${line("root", i.root)}${line("intermediate", i.intermediate)}  revoked      ${i.revoked} certificate${i.revoked === 1 ? "" : "s"}; next CRL number ${i.nextCrlNumber}\n`);
}

export async function caInitCommand(opts: CaInitOptions): Promise<void> {
  const curve = curveOf(opts.curve, "--curve");
  const rootCurve = curveOf(opts.rootCurve, "--root-curve");
  if ((opts.token !== undefined || opts.slot !== undefined) && !opts.hsm) throw new UsageError("--token and --slot name a token of an HSM: give --hsm LIBRARY too");
  if (opts.hsm && (opts.token === undefined) === (opts.slot === undefined)) throw new UsageError("--hsm: name its token with --token LABEL or --slot INDEX (one of the two)");
  const slot = opts.slot === undefined ? undefined : Number(opts.slot);
  if (slot !== undefined && (!Number.isInteger(slot) || slot < 0)) throw new UsageError(`--slot ${opts.slot}: a slot index, 0 or more`);
  const hsm = opts.hsm ? { library: path.resolve(opts.hsm), token: opts.token, slot } : undefined;
  const ca = await FactoryCa.init(opts.dir, { curve, rootCurve, name: opts.name, hsm });
  ca.close();
  const info = FactoryCa.describe(opts.dir);
  if (opts.json) printJson(infoJson(info));
  else printInfo(info, `${opts.dir}: new factory CA; give devices chain.pem's intermediate, trust root.pem`);
}

export function caShowCommand(opts: DirOptions): void {
  const info = FactoryCa.describe(opts.dir);
  if (opts.json) printJson(infoJson(info));
  else printInfo(info, `${opts.dir}: factory CA made ${info.created}`);
}

export async function caRevokeCommand(serial: string, opts: CaRevokeOptions): Promise<void> {
  const ca = await FactoryCa.open(opts.dir);
  try {
    const r = await ca.revoke(serial, opts.reason);
    if (opts.json) printJson(r);
    else if (r.already) process.stdout.write(`${r.serialHex} was already revoked (${r.reason}, ${r.revokedAt})\n`);
    else process.stdout.write(`revoked ${r.serialHex} (${r.reason}); publish new CRLs with tincan ca crl --dir ${opts.dir} --out DIR\n`);
  } finally {
    ca.close();
  }
}

export async function caCrlCommand(opts: CaCrlOptions): Promise<void> {
  const days = positive(opts.days, "--days");
  const ca = await FactoryCa.open(opts.dir);
  try {
    const set = await ca.crl({ days });
    fs.mkdirSync(opts.out, { recursive: true });
    const files = { root: path.join(opts.out, "root.crl.pem"), intermediate: path.join(opts.out, "intermediate.crl.pem"), both: path.join(opts.out, "crl.pem") };
    writeFileAtomic(files.root, set.root.pem, { replace: true });
    writeFileAtomic(files.intermediate, set.intermediate.pem, { replace: true });
    writeFileAtomic(files.both, set.pem, { replace: true });
    const revoked = ca.revocations().length;
    if (opts.json) printJson({ number: set.number, thisUpdate: set.thisUpdate.toISOString(), nextUpdate: set.nextUpdate.toISOString(), revoked, files });
    else process.stdout.write(`CRL number ${set.number} of the root and the intermediate (${revoked} revoked), next update ${set.nextUpdate.toISOString()}: ${files.both}\n`);
  } finally {
    ca.close();
  }
}

export async function caIssueServerCommand(opts: CaIssueServerOptions): Promise<void> {
  const days = positive(opts.days, "--days");
  if (!opts.dns?.length && !opts.ip?.length) throw new UsageError("name the server with --dns NAME or --ip ADDRESS (at least one)");
  const files = { key: path.join(opts.out, "server.key"), certificate: path.join(opts.out, "server.pem"), chain: path.join(opts.out, "server-chain.pem"), root: path.join(opts.out, "ca.pem") };
  for (const f of Object.values(files)) if (fs.existsSync(f)) throw new UsageError(`${f}: already exists; not overwriting it`);
  let csrDer: Uint8Array | undefined;
  if (opts.csr) {
    const text = fs.readFileSync(opts.csr);
    const pem = /-----BEGIN (NEW )?CERTIFICATE REQUEST-----([^-]+)-----END/.exec(text.toString("latin1"));
    csrDer = pem ? Buffer.from(pem[2], "base64") : text;
  }
  const ca = await FactoryCa.open(opts.dir);
  try {
    const key = csrDer ? undefined : crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
    const cert = await ca.issueServer({ publicKey: key?.publicKey, csrDer, dnsNames: opts.dns, ips: opts.ip, days });
    fs.mkdirSync(opts.out, { recursive: true });
    const done: string[] = [];
    const write = (file: string, text: string, mode?: number) => {
      writeFileAtomic(file, text, { mode, replace: false });
      done.push(file);
    };
    try {
      // The key is unencrypted (kamailio reads it unattended) but readable by its owner only.
      if (key) write(files.key, key.privateKey.export({ format: "pem", type: "pkcs8" }) as string, 0o600);
      write(files.certificate, cert.pem);
      write(files.chain, cert.pem + ca.intermediate.pem);
      write(files.root, ca.root.pem);
    } catch (e) {
      for (const f of done) fs.rmSync(f, { force: true });
      throw e;
    }
    const written = key ? files : { ...files, key: undefined };
    if (opts.json) printJson({ serialHex: cert.serialHex, notAfter: cert.notAfter.toISOString(), files: written });
    else process.stdout.write(`server certificate ${cert.serialHex} for ${[...(opts.dns ?? []), ...(opts.ip ?? [])].join(", ")} until ${cert.notAfter.toISOString().slice(0, 10)}: ${files.chain}${key ? `, key ${files.key}` : ""}\n`);
  } finally {
    ca.close();
  }
}
