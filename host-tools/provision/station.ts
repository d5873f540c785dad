// The factory station's work on one board (docs/provisioning.md): HELLO, check, KEYGEN, CSR,
// serial, certificate, WRITE_IDENTITY, CHALLENGE, LOCK, commit, label. Every step is taken from
// what the board and the factory database say now, so a station killed anywhere and run again
// finishes the same board with the same serial, never a second one.

import crypto, { X509Certificate } from "node:crypto";
import type { BoardManifest } from "../boards.ts";
import type { ConsoleClient } from "../link/console.ts";
import { FactoryClient, verifyChallenge, type DeviceIdentity } from "./device-client.ts";
import { encodeIdentityRecord, decodeIdentityRecord } from "./record.ts";
import { p256Point } from "./ec-point.ts";
import { checkSerial, serialPrefix } from "./serial.ts";
import type { FactoryDb, DeviceRow } from "./db.ts";
import { verifyCsr, type FactoryCa } from "./ca/index.ts";

export type StationStep = "hello" | "identity" | "keygen" | "csr" | "serial" | "certificate" | "write" | "challenge" | "lock" | "commit";
export const STATION_STEPS: StationStep[] = ["hello", "identity", "keygen", "csr", "serial", "certificate", "write", "challenge", "lock", "commit"];

export class ProvisionError extends Error {
  constructor(message: string, readonly step: StationStep) { super(message); }
}

export interface StationContext {
  board: BoardManifest;
  ca: FactoryCa;
  db: FactoryDb;
  station: string;
  /** Revoke the current certificate and issue a new one (a board not locked yet). */
  reissue?: boolean;
  /** Called as each step starts. */
  onStep?(step: StationStep): void;
  /** Called at each step boundary before it starts (fault-injection tests stop the process here). */
  beforeStep?(step: StationStep): void;
  timeoutMs?: number;
}

export interface ProvisionResult {
  serial: string;
  chipId: string;
  /** provisioned: this run finished it; verified: it was provisioned already and checks out. */
  outcome: "provisioned" | "verified";
  certificateSerial: string;
  firmware: string;
  steps: StationStep[];
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && crypto.timingSafeEqual(a, b);

/** Provisions (or verifies) the board on `console`. Throws ProvisionError naming the step. */
export async function provisionBoard(console: ConsoleClient, ctx: StationContext): Promise<ProvisionResult> {
  const steps: StationStep[] = [];
  const step = async <T>(name: StationStep, fn: () => Promise<T> | T): Promise<T> => {
    ctx.beforeStep?.(name);
    ctx.onStep?.(name);
    steps.push(name);
    try {
      return await fn();
    } catch (e) {
      if (e instanceof ProvisionError) throw e;
      throw new ProvisionError(`${name}: ${(e as Error).message}`, name);
    }
  };
  const timeoutMs = ctx.timeoutMs ?? 3000;
  const device = new FactoryClient(console, { timeoutMs });

  const hello = await step("hello", () => console.hello({ timeoutMs }));
  if (hello.boardId !== ctx.board.id) throw new ProvisionError(`the board on this port is a ${hello.boardId}, not a ${ctx.board.id}`, "hello");
  if ((hello.abiVersion ?? 0) < 5) throw new ProvisionError(`firmware ${hello.firmwareVersion} (ABI ${hello.abiVersion}) has no factory commands: flash firmware with ABI 5 or later`, "hello");
  const firmware = hello.firmwareVersion;

  let id = await step("identity", () => device.identity());
  const chipId = hex(id.chipId);
  let row = ctx.db.deviceByChip(chipId);

  if (id.state === "locked" || id.state === "written") {
    const existing = await readRecord(device, id);
    if (id.state === "locked") {
      // A locked board cannot take a new certificate: --reissue only re-verifies one marked failed.
      if (row?.state === "failed" && !ctx.reissue) throw new ProvisionError(`${row.serial} was marked failed (${row.failure ?? "no reason recorded"}); check the board and the line, then --reissue to verify it again`, "identity");
      if (ctx.reissue && row?.state !== "failed") throw new ProvisionError(`${existing.serial} is locked: its identity can never be rewritten; revoke it with tincan ca revoke and retire the board`, "identity");
      return finishLocked(device, ctx, id, existing, row, firmware, steps, step);
    }
    // Written, not locked: a station stopped after WRITE_IDENTITY. Carry on if the database agrees.
    if (!ctx.reissue && row && row.serial === existing.serial && row.certificate && same(row.certificate, existing.certificates[0])) {
      if (row.state === "issued") ctx.db.markWritten(row.serial);
      return challengeLockCommit(device, ctx, id, existing.certificates[0], row.serial, firmware, steps, step);
    }
  }
  if (row && row.state === "failed" && !ctx.reissue) throw new ProvisionError(`${row.serial} was marked failed (${row.failure ?? "no reason recorded"}); check the board, then --reissue to provision it again`, "identity");
  if (row && (row.state === "provisioned" || row.state === "revoked") && !ctx.reissue) {
    throw new ProvisionError(`chip ${chipId} is ${row.state} as ${row.serial} in the factory database but the board is ${id.state}: someone rewrote it; investigate before re-provisioning (--reissue)`, "identity");
  }

  // A key: reuse the board's (the CSR proves possession) unless this is a re-issue.
  if (id.state === "blank" || ctx.reissue) {
    await step("keygen", () => device.keygen());
    id = await device.identity();
  }
  const publicKey = id.publicKey!;
  const nonce = crypto.randomBytes(32);
  const csrDer = await step("csr", async () => {
    const der = await device.csr(nonce);
    const csr = await verifyCsr(der);
    if (!same(csr.publicKey, publicKey)) throw new Error("the CSR is not for the key the board reports");
    if (csr.challenge !== nonce.toString("hex")) throw new Error("the CSR does not carry this station's nonce (a replayed request?)");
    return der;
  });

  row = await step("serial", () => {
    const r = ctx.db.allocate({ chipId, publicKey, board: ctx.board.id, firmware, station: ctx.station, prefix: serialPrefix(ctx.board) });
    checkSerial(r.serial);
    return r;
  });
  const serial = row.serial;

  const certificate = await step("certificate", async () => {
    // Reuse a certificate already issued for this very key (a station stopped before writing it).
    if (!ctx.reissue && row!.certificate && row!.publicKey && same(row!.publicKey, publicKey) && certificateKeyIs(row!.certificate, publicKey)) return row!.certificate;
    if (row!.certificateSerial) {
      await ctx.ca.revoke(row!.certificateSerial, ctx.reissue ? "superseded" : "keyCompromise");
      ctx.db.revokeCertificate(row!.certificateSerial, ctx.reissue ? "superseded" : "re-keyed before the certificate was written");
    }
    if (!row!.publicKey || !same(row!.publicKey, publicKey)) ctx.db.setPublicKey(serial, publicKey);
    const issued = await ctx.ca.issueDevice({ csrDer, serial, expectedChallenge: nonce.toString("hex") });
    ctx.db.recordCertificate(serial, { serialHex: issued.serialHex, der: issued.der });
    return issued.der;
  });

  await step("write", async () => {
    const record = encodeIdentityRecord({ serial, certificates: [certificate, ctx.ca.intermediate.der], trustAnchors: [ctx.ca.root.der], keySlot: 0 });
    await device.writeIdentity(record);
    const after = await device.identity();
    if (after.serial !== serial || !after.recordSha256 || !same(after.recordSha256, crypto.createHash("sha256").update(record).digest())) throw new Error("the board does not report the identity just written");
    ctx.db.markWritten(serial);
  });
  return challengeLockCommit(device, ctx, id, certificate, serial, firmware, steps, step);
}

type Step = <T>(name: StationStep, fn: () => Promise<T> | T) => Promise<T>;

async function challengeLockCommit(device: FactoryClient, ctx: StationContext, id: DeviceIdentity, certificate: Uint8Array, serial: string, firmware: string, steps: StationStep[], step: Step): Promise<ProvisionResult> {
  await challenge(device, ctx, id, certificate, serial, step);
  await step("lock", () => device.lock());
  await step("commit", () => ctx.db.markProvisioned(serial));
  return { serial, chipId: hex(id.chipId), outcome: "provisioned", certificateSerial: new X509Certificate(certificate).serialNumber.toLowerCase(), firmware, steps };
}

/** A locked board: verify it, and commit it if a station stopped between LOCK and commit. */
async function finishLocked(device: FactoryClient, ctx: StationContext, id: DeviceIdentity, record: ReturnType<typeof decodeIdentityRecord>, row: DeviceRow | undefined, firmware: string, steps: StationStep[], step: Step): Promise<ProvisionResult> {
  const certificate = record.certificates[0];
  if (!row || row.serial !== record.serial) throw new ProvisionError(`the board is locked as ${record.serial}, which the factory database ${row ? `knows as chip ${row.chipId}'s ${row.serial}` : "does not know"}: not a board of this factory`, "identity");
  if (!row.certificate || !same(row.certificate, certificate)) throw new ProvisionError(`${record.serial}: the board's certificate is not the one the factory database holds`, "identity");
  await challenge(device, ctx, id, certificate, record.serial, step);
  let outcome: ProvisionResult["outcome"] = "verified";
  if (row.state !== "provisioned") {
    await step("commit", () => ctx.db.markProvisioned(record.serial));
    outcome = "provisioned";
  }
  return { serial: record.serial, chipId: hex(id.chipId), outcome, certificateSerial: new X509Certificate(certificate).serialNumber.toLowerCase(), firmware, steps };
}

/** The board proves it holds the certificate's key: a fresh nonce, checked against the chain. */
async function challenge(device: FactoryClient, ctx: StationContext, id: DeviceIdentity, certificate: Uint8Array, serial: string, step: Step): Promise<void> {
  await step("challenge", async () => {
    const cert = new X509Certificate(certificate);
    const intermediate = new X509Certificate(ctx.ca.intermediate.der);
    const root = new X509Certificate(ctx.ca.root.der);
    if (!cert.verify(intermediate.publicKey) || !intermediate.verify(root.publicKey)) throw new Error(`${serial}: the certificate does not chain to this factory's CA`);
    const point = spkiPoint(cert);
    const nonce = crypto.randomBytes(32);
    const sig = await device.challenge(nonce);
    if (!verifyChallenge(point, id.chipId, nonce, sig)) {
      ctx.db.markFailed(serial, "the board's answer to the challenge does not verify against its certificate");
      throw new Error("the board's answer to the challenge does not verify against its certificate: marked failed");
    }
  });
}

async function readRecord(device: FactoryClient, id: DeviceIdentity) {
  const bytes = await device.readIdentity();
  if (id.recordSha256 && !same(crypto.createHash("sha256").update(bytes).digest(), id.recordSha256)) throw new ProvisionError("the identity read back does not match the digest the board reports", "identity");
  return decodeIdentityRecord(bytes);
}

function spkiPoint(cert: X509Certificate): Uint8Array {
  const point = p256Point(cert.publicKey);
  if (!point) throw new Error("the device certificate's key is not P-256");
  return point;
}

function certificateKeyIs(der: Uint8Array, point: Uint8Array): boolean {
  try { return same(spkiPoint(new X509Certificate(der)), point); } catch { return false; }
}
