// Revocation: the list of revoked certificate serials kept in DIR/revoked.json, and the CRLs
// (RFC 5280 section 5) made from it, one per CA: kamailio (OpenSSL with CRL checks on the whole
// chain) wants a current CRL from every CA in a client's chain, the root's included.

import fs from "node:fs";
import path from "node:path";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { integer } from "./der.ts";
import { CaError } from "./errors.ts";
import { readText, writeFileAtomic } from "./files.ts";
import { keyIdOf, type Issuer } from "./profiles.ts";
import { bufferSource, signingAlgorithm } from "./keystore.ts";

/** RFC 5280 5.3.1 reasons a factory has use for (no certificateHold: a device is not suspended). */
export const REVOCATION_REASONS = ["unspecified", "keyCompromise", "affiliationChanged", "superseded", "cessationOfOperation", "privilegeWithdrawn"] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

export interface Revocation { serialHex: string; reason: RevocationReason; revokedAt: string }

const OID_CRL_NUMBER = "2.5.29.20";
export const REVOCATIONS_FILE = "revoked.json";

/** A certificate serial as the CA writes it: lower-case hex, no separators, no leading zero bytes. */
export function normaliseSerialHex(text: string): string {
  const hex = text.trim().replace(/[:\s]/g, "").toLowerCase();
  if (!/^[0-9a-f]+$/.test(hex) || hex.length > 40) throw new CaError(`${JSON.stringify(text)} is not a certificate serial (hex, at most 20 bytes)`);
  const even = hex.length % 2 ? `0${hex}` : hex;
  const trimmed = even.replace(/^(00)+(?=..)/, "");
  if (/^0+$/.test(trimmed)) throw new CaError("certificate serial 0 is not one this CA issues");
  return trimmed;
}

export function checkReason(reason: string): RevocationReason {
  if (!(REVOCATION_REASONS as readonly string[]).includes(reason)) throw new CaError(`revocation reason ${JSON.stringify(reason)}: one of ${REVOCATION_REASONS.join(", ")}`);
  return reason as RevocationReason;
}

export function readRevocations(dir: string): Revocation[] {
  const file = path.join(dir, REVOCATIONS_FILE);
  if (!fs.existsSync(file)) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(readText(file, "the revocation list"));
  } catch (e) {
    if (e instanceof CaError) throw e;
    throw new CaError(`${file}: not JSON (${(e as Error).message})`);
  }
  const list = (parsed as { revoked?: unknown }).revoked;
  if (!Array.isArray(list)) throw new CaError(`${file}: no "revoked" list`);
  return list.map((r: Partial<Revocation>, i) => {
    if (typeof r.serialHex !== "string" || typeof r.revokedAt !== "string" || Number.isNaN(Date.parse(r.revokedAt))) throw new CaError(`${file}: entry ${i} is damaged`);
    return { serialHex: normaliseSerialHex(r.serialHex), reason: checkReason(String(r.reason)), revokedAt: r.revokedAt };
  });
}

export function writeRevocations(dir: string, list: Revocation[]): void {
  writeFileAtomic(path.join(dir, REVOCATIONS_FILE), `${JSON.stringify({ format: 1, revoked: list }, null, 2)}\n`, { replace: true });
}

export interface CrlParams { issuer: Issuer; revoked: Revocation[]; number: number; thisUpdate: Date; nextUpdate: Date; crypto: Crypto }

export async function buildCrl(p: CrlParams): Promise<x509.X509Crl> {
  return x509.X509CrlGenerator.create({
    issuer: p.issuer.certificate.subjectName,
    thisUpdate: p.thisUpdate,
    nextUpdate: p.nextUpdate,
    signingKey: p.issuer.key,
    signingAlgorithm: signingAlgorithm(p.issuer.curve),
    extensions: [
      new x509.AuthorityKeyIdentifierExtension(await keyIdOf(p.issuer.certificate)),
      new x509.Extension(OID_CRL_NUMBER, false, bufferSource(integer(p.number))),
    ],
    entries: p.revoked.map((r) => ({
      serialNumber: r.serialHex,
      revocationDate: new Date(r.revokedAt),
      // RFC 5280 5.3.1: "unspecified" is said by leaving the reason code out.
      reason: r.reason === "unspecified" ? undefined : x509.X509CrlReason[r.reason],
    })),
  }, p.crypto);
}

/** PEM with the label OpenSSL 3 reads ("X509 CRL"; it refuses the bare "CRL"). */
export function crlPem(der: Uint8Array): string {
  return `${x509.PemConverter.encode(bufferSource(der), "X509 CRL")}\n`;
}
