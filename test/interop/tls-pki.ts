// A small factory PKI for the TLS tests: a root, an intermediate that issues device
// certificates as the factory does (CN and 2.5.4.5 = serial, SAN urn:tincan:device:<serial>,
// clientAuth), a server certificate for an IP address, and CRLs. @peculiar/x509 on Node's
// WebCrypto, the provider passed explicitly.

import "reflect-metadata";
import { webcrypto, createPublicKey, KeyObject } from "node:crypto";
import * as x509 from "@peculiar/x509";

const crypto = webcrypto as unknown as Crypto;
const EC: EcKeyGenParams = { name: "ECDSA", namedCurve: "P-256" };
const SIGN: EcdsaParams = { name: "ECDSA", hash: "SHA-256" };
const DAY = 86_400_000;

export interface TestCa { cert: x509.X509Certificate; keys: CryptoKeyPair; der: Uint8Array; pem: string }

const der = (c: x509.X509Certificate) => new Uint8Array(c.rawData);
const wrap = (cert: x509.X509Certificate, keys: CryptoKeyPair): TestCa => ({ cert, keys, der: der(cert), pem: `${cert.toString("pem").trim()}\n` });
const newKeys = () => crypto.subtle.generateKey(EC, true, ["sign", "verify"]) as Promise<CryptoKeyPair>;
const serial = () => Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString("hex").replace(/^[89a-f]/, "1");

async function caExtensions(pub: CryptoKey, issuer: CryptoKey | undefined, pathLength?: number): Promise<x509.Extension[]> {
  const ext: x509.Extension[] = [
    new x509.BasicConstraintsExtension(true, pathLength, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    await x509.SubjectKeyIdentifierExtension.create(pub, false, crypto),
  ];
  if (issuer) ext.push(await x509.AuthorityKeyIdentifierExtension.create(issuer, false, crypto));
  return ext;
}

export async function makeRoot(name: string): Promise<TestCa> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(), name: `CN=${name}, O=Tincan`, keys, signingAlgorithm: SIGN,
    notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 3650 * DAY),
    extensions: await caExtensions(keys.publicKey, undefined),
  }, crypto);
  return wrap(cert, keys);
}

export async function makeIntermediate(root: TestCa, name: string): Promise<TestCa> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(), subject: `CN=${name}, O=Tincan`, issuer: root.cert.subject, publicKey: keys.publicKey,
    signingKey: root.keys.privateKey, signingAlgorithm: SIGN,
    notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 1825 * DAY),
    extensions: await caExtensions(keys.publicKey, root.keys.publicKey, 0),
  }, crypto);
  return wrap(cert, keys);
}

/** A device certificate for an uncompressed P-256 point (what se_public_key gives). */
export async function issueDevice(ca: TestCa, serialNumber: string, point: Uint8Array): Promise<Uint8Array> {
  const jwk = { kty: "EC", crv: "P-256", x: Buffer.from(point.subarray(1, 33)).toString("base64url"), y: Buffer.from(point.subarray(33, 65)).toString("base64url") };
  const spki = new Uint8Array(createPublicKey({ key: jwk, format: "jwk" }).export({ format: "der", type: "spki" }));
  const publicKey = await crypto.subtle.importKey("spki", spki, EC, true, ["verify"]);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(), subject: `CN=${serialNumber}, 2.5.4.5=${serialNumber}, O=Tincan`, issuer: ca.cert.subject,
    publicKey, signingKey: ca.keys.privateKey, signingAlgorithm: SIGN,
    notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 3650 * DAY),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: `urn:tincan:device:${serialNumber}` }]),
      await x509.SubjectKeyIdentifierExtension.create(publicKey, false, crypto),
      await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey, false, crypto),
    ],
  }, crypto);
  return der(cert);
}

/** A TLS server certificate for an IP address (or DNS names), with its PKCS#8 key in PEM. */
export async function issueServer(ca: TestCa, names: { ip?: string[]; dns?: string[] }): Promise<{ cert: string; key: string; der: Uint8Array }> {
  const keys = await newKeys();
  const san = [...(names.ip ?? []).map((value) => ({ type: "ip" as const, value })), ...(names.dns ?? []).map((value) => ({ type: "dns" as const, value }))];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(), subject: `CN=${names.dns?.[0] ?? names.ip?.[0] ?? "server"}, O=Tincan test`, issuer: ca.cert.subject,
    publicKey: keys.publicKey, signingKey: ca.keys.privateKey, signingAlgorithm: SIGN,
    notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 365 * DAY),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(san),
      await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey, false, crypto),
    ],
  }, crypto);
  const key = KeyObject.from(keys.privateKey as webcrypto.CryptoKey).export({ format: "pem", type: "pkcs8" }) as string;
  return { cert: `${cert.toString("pem").trim()}\n`, key, der: der(cert) };
}

/** The CA's CRL revoking these certificates (DER), as PEM with the label OpenSSL 3 reads. */
export async function makeCrl(ca: TestCa, revoked: Uint8Array[] = []): Promise<string> {
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.cert.subject, thisUpdate: new Date(Date.now() - DAY), nextUpdate: new Date(Date.now() + 30 * DAY),
    signingAlgorithm: SIGN, signingKey: ca.keys.privateKey,
    entries: revoked.map((c) => ({ serialNumber: new x509.X509Certificate(new Uint8Array(c)).serialNumber, revocationDate: new Date(Date.now() - 60_000), reason: x509.X509CrlReason.keyCompromise })),
    extensions: [await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey, false, crypto)],
  }, crypto);
  return `${x509.PemConverter.encode(crl.rawData, "X509 CRL").trim()}\n`;
}
