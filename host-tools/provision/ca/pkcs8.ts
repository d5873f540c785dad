// Encrypted PKCS#8 (RFC 5958 EncryptedPrivateKeyInfo) with PBES2 (RFC 8018): PBKDF2 with
// HMAC-SHA-256 and AES-256-CBC. Written here rather than by KeyObject.export, whose PBKDF2 runs
// only 2048 iterations; read back by Node (OpenSSL), so `openssl pkey` reads the files too.

import crypto from "node:crypto";
import { integer, objectIdentifier, octetString, sequence, derNull } from "./der.ts";
import { CaError } from "./errors.ts";

/** OWASP's 2023 figure for PBKDF2-HMAC-SHA-256; about 0.2 s per key here. */
export const PBKDF2_ITERATIONS = 600_000;

const OID_PBES2 = "1.2.840.113549.1.5.13";
const OID_PBKDF2 = "1.2.840.113549.1.5.12";
const OID_HMAC_SHA256 = "1.2.840.113549.2.9";
const OID_AES256_CBC = "2.16.840.1.101.3.4.1.42";

function pem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der).toString("base64").replace(/.{64}/g, "$&\n").replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** The private key (unencrypted PKCS#8 DER) sealed under the passphrase, as PEM. */
export function encryptPkcs8(pkcs8Der: Uint8Array, passphrase: string, iterations = PBKDF2_ITERATIONS): string {
  const salt = crypto.randomBytes(16);
  const iv = crypto.randomBytes(16);
  const key = crypto.pbkdf2Sync(Buffer.from(passphrase, "utf8"), salt, iterations, 32, "sha256");
  const cipher = crypto.createCipheriv("aes-256-cbc", key, iv);
  const encrypted = Buffer.concat([cipher.update(pkcs8Der), cipher.final()]);
  key.fill(0);
  const kdf = sequence(objectIdentifier(OID_PBKDF2), sequence(octetString(salt), integer(iterations), integer(32), sequence(objectIdentifier(OID_HMAC_SHA256), derNull())));
  const scheme = sequence(objectIdentifier(OID_AES256_CBC), octetString(iv));
  const algorithm = sequence(objectIdentifier(OID_PBES2), sequence(kdf, scheme));
  return pem(sequence(algorithm, octetString(encrypted)), "ENCRYPTED PRIVATE KEY");
}

/** The key in an encrypted PKCS#8 PEM file; one error for a wrong passphrase or a damaged file. */
export function decryptPkcs8(pemText: string, passphrase: string, file: string): crypto.KeyObject {
  if (!pemText.includes("-----BEGIN ENCRYPTED PRIVATE KEY-----")) throw new CaError(`${file}: not an encrypted PKCS#8 key (no ENCRYPTED PRIVATE KEY block)`);
  try {
    return crypto.createPrivateKey({ key: pemText, format: "pem", passphrase });
  } catch {
    throw new CaError(`${file}: wrong passphrase (or a damaged key file); nothing was changed`);
  }
}
