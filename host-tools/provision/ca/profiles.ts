// What each certificate the factory CA makes says (docs/ca.md, "Profiles"): the root, the
// factory intermediate, a device (IEEE 802.1AR-style IDevID) and a SIP server.

import crypto from "node:crypto";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { contextConstructed, sequence, tlv } from "./der.ts";
import { bufferSource, signingAlgorithm, type Curve } from "./keystore.ts";

export const ORGANIZATION = "Tincan";
export const DEVICE_URI_PREFIX = "urn:tincan:device:";
export const ROOT_YEARS = 25;
export const INTERMEDIATE_YEARS = 12;
/** Devices: no expiry (IEEE 802.1AR, 8.5: notAfter 99991231235959Z for a device identity). */
export const DEVICE_NOT_AFTER = new Date(Date.UTC(9999, 11, 31, 23, 59, 59));
/** Clock skew allowed between the station and whoever checks the certificate first. */
export const BACKDATE_MS = 5 * 60_000;

const OID_O = "2.5.4.10";
const OID_CN = "2.5.4.3";
// @peculiar/x509's "SN" means surname: the serialNumber attribute is written by its OID.
const OID_SERIAL_NUMBER = "2.5.4.5";
const OID_NAME_CONSTRAINTS = "2.5.29.30";

const { KeyUsageFlags: KU } = x509;

/** Subject names, most significant RDN first (the DER order): O, then what is below it. */
export const caName = (cn: string): x509.JsonName => [{ [OID_O]: [ORGANIZATION] }, { [OID_CN]: [cn] }];
export const deviceName = (serial: string): x509.JsonName => [{ [OID_O]: [ORGANIZATION] }, { [OID_SERIAL_NUMBER]: [serial] }, { [OID_CN]: [serial] }];
export const serverName = (cn: string): x509.JsonName => [{ [OID_O]: [ORGANIZATION] }, { [OID_CN]: [cn] }];

/** 16 random bytes, positive and exactly 16 long in DER (top bits 01): 126 bits of entropy. */
export function randomSerialHex(): string {
  const b = crypto.randomBytes(16);
  b[0] = (b[0] & 0x3f) | 0x40;
  return b.toString("hex");
}

function addYears(d: Date, years: number): Date {
  const r = new Date(d);
  r.setUTCFullYear(r.getUTCFullYear() + years);
  return r;
}

/**
 * The intermediate may only name subjects under O=Tincan (RFC 5280 4.2.1.10: a directoryName
 * subtree is a prefix of the subject's RDNs). Nothing else is constrained: URN SANs have no host
 * a URI constraint could match, and the SIP servers' DNS names are not known when the CA is made.
 */
function nameConstraints(): x509.Extension {
  const permittedName = Buffer.from(new x509.Name([{ [OID_O]: [ORGANIZATION] }]).toArrayBuffer());
  // GeneralSubtree { base: directoryName [4] EXPLICIT Name }, in permittedSubtrees [0] IMPLICIT.
  const value = sequence(contextConstructed(0, sequence(tlv(0xa4, permittedName))));
  return new x509.Extension(OID_NAME_CONSTRAINTS, true, bufferSource(value));
}

export interface Issuer { certificate: x509.X509Certificate; key: CryptoKey; curve: Curve }

async function keyIdOf(cert: x509.X509Certificate): Promise<string> {
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  if (!ski) throw new Error(`${cert.subject} has no subject key identifier`);
  return ski.keyId;
}

export async function rootCertificate(p: { keys: CryptoKeyPair; curve: Curve; cn: string; now: Date; crypto: Crypto }): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialHex(),
    name: caName(p.cn),
    notBefore: p.now,
    notAfter: addYears(p.now, ROOT_YEARS),
    keys: p.keys,
    signingAlgorithm: signingAlgorithm(p.curve),
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(KU.keyCertSign | KU.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(p.keys.publicKey, false, p.crypto),
    ],
  }, p.crypto);
}

export async function intermediateCertificate(p: { issuer: Issuer; publicKey: CryptoKey; cn: string; now: Date; crypto: Crypto }): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    subject: caName(p.cn),
    issuer: p.issuer.certificate.subjectName,
    notBefore: p.now,
    notAfter: addYears(p.now, INTERMEDIATE_YEARS),
    publicKey: p.publicKey,
    signingKey: p.issuer.key,
    signingAlgorithm: signingAlgorithm(p.issuer.curve),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      // digitalSignature as well: the intermediate signs the factory manifest (a JWS).
      new x509.KeyUsagesExtension(KU.keyCertSign | KU.cRLSign | KU.digitalSignature, true),
      nameConstraints(),
      await x509.SubjectKeyIdentifierExtension.create(p.publicKey, false, p.crypto),
      new x509.AuthorityKeyIdentifierExtension(await keyIdOf(p.issuer.certificate)),
    ],
  }, p.crypto);
}

/** publicKey: the subject's SPKI (DER), so a key from any provider fits any store's signer. */
export interface LeafParams { issuer: Issuer; publicKey: Uint8Array; now: Date; crypto: Crypto; serialHex: string }

export async function deviceCertificate(p: LeafParams & { serial: string }): Promise<x509.X509Certificate> {
  return leafCertificate(p, deviceName(p.serial), DEVICE_NOT_AFTER, x509.ExtendedKeyUsage.clientAuth,
    [{ type: "url", value: `${DEVICE_URI_PREFIX}${p.serial}` }]);
}

export async function serverCertificate(p: LeafParams & { dnsNames: string[]; ips: string[]; notAfter: Date }): Promise<x509.X509Certificate> {
  const names = [...p.dnsNames.map((value) => ({ type: "dns" as const, value })), ...p.ips.map((value) => ({ type: "ip" as const, value }))];
  return leafCertificate(p, serverName(p.dnsNames[0] ?? p.ips[0]), p.notAfter, x509.ExtendedKeyUsage.serverAuth, names);
}

/** An end-entity certificate: no CA, digitalSignature only, one extended key usage, its names. */
async function leafCertificate(p: LeafParams, subject: x509.JsonName, notAfter: Date, usage: string, names: x509.JsonGeneralNames): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.create({
    serialNumber: p.serialHex,
    subject,
    issuer: p.issuer.certificate.subjectName,
    notBefore: new Date(p.now.getTime() - BACKDATE_MS),
    notAfter,
    publicKey: bufferSource(p.publicKey),
    signingKey: p.issuer.key,
    signingAlgorithm: signingAlgorithm(p.issuer.curve),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(KU.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([usage], false),
      new x509.SubjectAlternativeNameExtension(names, false),
      await x509.SubjectKeyIdentifierExtension.create(bufferSource(p.publicKey), false, p.crypto),
      new x509.AuthorityKeyIdentifierExtension(await keyIdOf(p.issuer.certificate)),
    ],
  }, p.crypto);
}

export { keyIdOf };
