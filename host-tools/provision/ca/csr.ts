// A device's PKCS#10 request (boards/CONSOLE.md, CSR): checked before anything is issued. Its
// signature is the proof that whoever sent it holds the private key of the public key in it.

import "reflect-metadata";
import crypto, { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { CsrError } from "./errors.ts";
import { p256Point } from "../ec-point.ts";

const OID_CHALLENGE_PASSWORD = "1.2.840.113549.1.9.7";
const nodeCrypto = webcrypto as unknown as Crypto;

export interface VerifiedCsr {
  /** The key, uncompressed SEC1: 0x04 || X || Y (65 bytes). */
  publicKey: Uint8Array;
  /** The key as SubjectPublicKeyInfo DER. */
  spki: Uint8Array;
  /** The request's subject, e.g. CN=<chip id, hex>; the CA does not copy it into certificates. */
  subject: string;
  /** The PKCS#9 challengePassword: the station's nonce in hex, for freshness. */
  challenge?: string;
}

/** Parses and checks a request: P-256 key, ECDSA with SHA-256, signed by that key. Throws CsrError. */
export async function verifyCsr(der: Uint8Array): Promise<VerifiedCsr> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(Buffer.from(der));
  } catch (e) {
    throw new CsrError(`not a PKCS#10 certificate request in DER (${(e as Error).message.split("\n")[0]})`);
  }
  const spki = new Uint8Array(csr.publicKey.rawData);
  let key: crypto.KeyObject;
  try {
    key = crypto.createPublicKey({ key: Buffer.from(spki), format: "der", type: "spki" });
  } catch {
    throw new CsrError("the request's public key cannot be read");
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType !== "ec" || curve !== "prime256v1") throw new CsrError(`the request's key is ${key.asymmetricKeyType}${curve ? ` ${curve}` : ""}, not ECDSA P-256`);
  const alg = csr.signatureAlgorithm as { name?: string; hash?: { name?: string } };
  if (alg.name !== "ECDSA" || alg.hash?.name !== "SHA-256") throw new CsrError(`the request is signed with ${alg.name ?? "an unknown algorithm"}${alg.hash?.name ? `/${alg.hash.name}` : ""}, not ECDSA with SHA-256`);
  let valid: boolean;
  try {
    valid = await csr.verify(nodeCrypto);
  } catch {
    valid = false;
  }
  if (!valid) throw new CsrError("the request's signature does not verify with the key it carries: it is signed by another key (no proof of possession)");
  const publicKey = p256Point(key)!; // checked to be P-256 above
  return { publicKey, spki, subject: csr.subject, challenge: challengeOf(csr) };
}

function challengeOf(csr: x509.Pkcs10CertificateRequest): string | undefined {
  const attrs = csr.getAttributes(OID_CHALLENGE_PASSWORD);
  if (attrs.length > 1) throw new CsrError("the request carries more than one challengePassword");
  if (attrs.length === 0) return undefined;
  const attr = attrs[0];
  if (attr instanceof x509.ChallengePasswordAttribute) return attr.password;
  throw new CsrError("the request's challengePassword cannot be read");
}

/** The nonce the station sent as the challenge text the device puts in its request: lower-case hex. */
export function challengeText(expected: Uint8Array | string): string {
  return typeof expected === "string" ? expected : Buffer.from(expected).toString("hex");
}

/** Refuses a request that does not carry the expected challenge (a stale or replayed request). */
export function checkChallenge(csr: VerifiedCsr, expected: Uint8Array | string): void {
  const want = challengeText(expected).toLowerCase();
  if (csr.challenge === undefined) throw new CsrError("the request carries no challengePassword (the station's nonce)");
  const got = Buffer.from(csr.challenge.toLowerCase(), "utf8");
  const wantBytes = Buffer.from(want, "utf8");
  if (got.length !== wantBytes.length || !crypto.timingSafeEqual(got, wantBytes)) {
    throw new CsrError("the request's challenge is not the nonce this station sent (a stale or replayed request)");
  }
}
