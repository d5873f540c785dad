// The factory CA (docs/ca.md): a root and a factory intermediate whose keys live in an HSM
// (PKCS#11) or in encrypted PKCS#8 files; device and SIP server certificates, revocation and
// CRLs, and JWS signatures for the factory manifest. What the station and `tincan ca` use.

import "reflect-metadata";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import * as x509 from "@peculiar/x509";
import { checkSerial } from "../serial.ts";
import { readConfig, writeConfig, type CaConfig } from "./config.ts";
import { buildCrl, checkReason, crlPem, normaliseSerialHex, readRevocations, writeRevocations, type Revocation, type RevocationReason } from "./crl.ts";
import { checkChallenge, verifyCsr, type VerifiedCsr } from "./csr.ts";
import { CaError, CsrError } from "./errors.ts";
import { FileKeyStore } from "./file-store.ts";
import { readText, withLock, writeFileAtomic } from "./files.ts";
import { HsmKeyStore, type HsmConfig } from "./hsm-store.ts";
import { signCompactJws } from "./jws.ts";
import { bufferSource, CURVES, type CaKeyStore, type Curve, type KeyRef, type StoreConfig } from "./keystore.ts";
import { deviceCertificate, intermediateCertificate, randomSerialHex, rootCertificate, serverCertificate, type Issuer } from "./profiles.ts";

export { verifyCsr, CaError, CsrError, type VerifiedCsr, type Curve, type Revocation, type RevocationReason };
export { REVOCATION_REASONS } from "./crl.ts";
export { verifyCompactJws } from "./jws.ts";

export interface CaCertificate { der: Uint8Array; pem: string; subject: string; serialHex: string; notBefore: Date; notAfter: Date; sha256: string; curve: Curve }
export interface IssuedCertificate { der: Uint8Array; pem: string; serialHex: string; notBefore: Date; notAfter: Date }
export interface CrlSet { number: number; thisUpdate: Date; nextUpdate: Date; root: { der: Uint8Array; pem: string }; intermediate: { der: Uint8Array; pem: string }; pem: string }
export interface InitOptions { rootCurve?: Curve; curve?: Curve; name?: string; hsm?: HsmConfig; now?: Date }
export interface CaInfo { dir: string; store: StoreConfig; root: CaCertificate; intermediate: CaCertificate; revoked: number; nextCrlNumber: number; created: string }

export const DEFAULT_SERVER_DAYS = 397;
export const DEFAULT_CRL_DAYS = 30;
const FILES = { root: "root.pem", intermediate: "intermediate.pem", chain: "chain.pem" };

function describeCert(der: Uint8Array, curve: Curve): CaCertificate {
  const c = new crypto.X509Certificate(Buffer.from(der));
  return {
    der, pem: c.toString(), subject: new x509.X509Certificate(Buffer.from(der)).subject, serialHex: normaliseSerialHex(c.serialNumber),
    notBefore: new Date(c.validFrom), notAfter: new Date(c.validTo), sha256: c.fingerprint256.replace(/:/g, "").toLowerCase(), curve,
  };
}

function readCert(dir: string, file: string, curve: Curve): CaCertificate {
  const text = readText(path.join(dir, file), "a CA certificate");
  try {
    return describeCert(new Uint8Array(x509.PemConverter.decodeFirst(text)), curve);
  } catch {
    throw new CaError(`${path.join(dir, file)}: not a PEM certificate`);
  }
}

async function openStore(dir: string, store: StoreConfig, creating: boolean): Promise<CaKeyStore> {
  return store.kind === "file" ? FileKeyStore.open(dir, { creating }) : HsmKeyStore.open(store);
}

/** Signs and verifies a test message: a key that does not belong to its certificate is found at open, not after issuing. */
async function checkKeyMatches(store: CaKeyStore, key: CryptoKey, cert: CaCertificate, role: string): Promise<void> {
  const probe = crypto.randomBytes(32);
  const hash = cert.curve === "P-384" ? "sha384" : "sha256";
  const sig = Buffer.from(await store.crypto.subtle.sign({ name: "ECDSA", hash: hash === "sha384" ? "SHA-384" : "SHA-256" }, key, bufferSource(probe)));
  const pub = new crypto.X509Certificate(Buffer.from(cert.der)).publicKey;
  if (!crypto.verify(hash, probe, { key: pub, dsaEncoding: "ieee-p1363" }, sig)) throw new CaError(`the ${role} key in the store is not the key of ${role}.pem`);
}

export class FactoryCa {
  private constructor(
    readonly dir: string,
    private config: CaConfig,
    private readonly store: CaKeyStore,
    readonly root: CaCertificate,
    readonly intermediate: CaCertificate,
    private readonly rootIssuer: Issuer,
    private readonly intermediateIssuer: Issuer,
  ) {}

  get kind(): StoreConfig["kind"] { return this.store.kind; }

  /** Makes a new CA in dir (refusing one that is there); keys in the HSM when opts.hsm is given. */
  static async init(dir: string, opts: InitOptions = {}): Promise<FactoryCa> {
    const rootCurve = opts.rootCurve ?? "P-384";
    const curve = opts.curve ?? "P-256";
    for (const c of [rootCurve, curve]) if (!CURVES.includes(c)) throw new CaError(`curve ${JSON.stringify(c)}: one of ${CURVES.join(", ")}`);
    const name = opts.name ?? "Tincan";
    if (!/^[\x20-\x7e]{1,40}$/.test(name)) throw new CaError(`CA name ${JSON.stringify(name)}: 1..40 printable ASCII characters`);
    if (fs.existsSync(path.join(dir, "ca.json"))) throw new CaError(`${dir} already holds a CA (ca.json); not overwriting it`);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const storeConfig: StoreConfig = opts.hsm ? { kind: "pkcs11", library: opts.hsm.library, token: opts.hsm.token, slot: opts.hsm.token === undefined ? opts.hsm.slot : undefined } : { kind: "file" };
    return withLock(dir, async () => {
      const store = await openStore(dir, storeConfig, true);
      const made: KeyRef[] = [];
      const written: string[] = [];
      const write = (file: string, text: string) => {
        writeFileAtomic(path.join(dir, file), text, { replace: false });
        written.push(file);
      };
      try {
        const now = opts.now ?? new Date();
        const rootKeys = await store.generate("root", rootCurve);
        made.push(rootKeys.ref);
        if ("file" in rootKeys.ref) written.push(rootKeys.ref.file);
        const rootCert = await rootCertificate({ keys: rootKeys.keys, curve: rootCurve, cn: `${name} Root CA`, now, crypto: store.crypto });
        const intKeys = await store.generate("intermediate", curve);
        made.push(intKeys.ref);
        if ("file" in intKeys.ref) written.push(intKeys.ref.file);
        const rootIssuer = { certificate: rootCert, key: rootKeys.keys.privateKey, curve: rootCurve };
        const intCert = await intermediateCertificate({ issuer: rootIssuer, publicKey: intKeys.keys.publicKey, cn: `${name} Factory CA`, now, crypto: store.crypto });
        write(FILES.root, rootCert.toString("pem") + "\n");
        write(FILES.intermediate, intCert.toString("pem") + "\n");
        write(FILES.chain, `${intCert.toString("pem")}\n${rootCert.toString("pem")}\n`);
        writeRevocations(dir, []);
        written.push("revoked.json");
        const config: CaConfig = {
          format: 1, store: storeConfig,
          root: { curve: rootCurve, key: rootKeys.ref }, intermediate: { curve, key: intKeys.ref },
          nextCrlNumber: 1, created: now.toISOString(),
        };
        writeConfig(dir, config, { replace: false });
        store.seal();
        const root = describeCert(new Uint8Array(rootCert.rawData), rootCurve);
        const intermediate = describeCert(new Uint8Array(intCert.rawData), curve);
        return new FactoryCa(dir, config, store, root, intermediate, rootIssuer, { certificate: intCert, key: intKeys.keys.privateKey, curve });
      } catch (e) {
        for (const f of written) fs.rmSync(path.join(dir, f), { force: true });
        for (const ref of made) await store.discard(ref).catch(() => {});
        store.close();
        throw e;
      }
    });
  }

  /** Opens the CA in dir: asks for the passphrase (or HSM PIN), loads both keys and checks them against their certificates. */
  static async open(dir: string): Promise<FactoryCa> {
    const config = readConfig(dir);
    const root = readCert(dir, FILES.root, config.root.curve);
    const intermediate = readCert(dir, FILES.intermediate, config.intermediate.curve);
    if (!new crypto.X509Certificate(Buffer.from(intermediate.der)).verify(new crypto.X509Certificate(Buffer.from(root.der)).publicKey)) {
      throw new CaError(`${dir}: intermediate.pem is not signed by root.pem`);
    }
    const store = await openStore(dir, config.store, false);
    try {
      const rootKey = await store.load("root", config.root.key, config.root.curve);
      const intKey = await store.load("intermediate", config.intermediate.key, config.intermediate.curve);
      store.seal();
      await checkKeyMatches(store, rootKey, root, "root");
      await checkKeyMatches(store, intKey, intermediate, "intermediate");
      const issuer = (c: CaCertificate, key: CryptoKey): Issuer => ({ certificate: new x509.X509Certificate(Buffer.from(c.der)), key, curve: c.curve });
      return new FactoryCa(dir, config, store, root, intermediate, issuer(root, rootKey), issuer(intermediate, intKey));
    } catch (e) {
      store.close();
      throw e;
    }
  }

  /** What `tincan ca show` prints: certificates and state, without opening the keys. */
  static describe(dir: string): CaInfo {
    const config = readConfig(dir);
    return {
      dir, store: config.store,
      root: readCert(dir, FILES.root, config.root.curve), intermediate: readCert(dir, FILES.intermediate, config.intermediate.curve),
      revoked: readRevocations(dir).length, nextCrlNumber: config.nextCrlNumber, created: config.created,
    };
  }

  verifyCsr(der: Uint8Array): Promise<VerifiedCsr> {
    return verifyCsr(der);
  }

  /** A device certificate for serial, on the key of a verified CSR carrying expectedChallenge. */
  async issueDevice(p: { csrDer: Uint8Array; serial: string; expectedChallenge: Uint8Array | string; now?: Date }): Promise<IssuedCertificate> {
    const serial = checkSerial(p.serial);
    const csr = await verifyCsr(p.csrDer);
    checkChallenge(csr, p.expectedChallenge);
    const serialHex = randomSerialHex();
    const cert = await deviceCertificate({ issuer: this.intermediateIssuer, publicKey: csr.spki, now: p.now ?? new Date(), crypto: this.store.crypto, serialHex, serial });
    return this.issued(cert, serialHex);
  }

  /** A SIP server (kamailio) certificate: serverAuth, the names as SANs; the key from publicKey (SPKI DER or KeyObject) or a CSR. */
  async issueServer(p: { publicKey?: Uint8Array | crypto.KeyObject; csrDer?: Uint8Array; dnsNames?: string[]; ips?: string[]; days?: number; now?: Date }): Promise<IssuedCertificate> {
    const dnsNames = (p.dnsNames ?? []).map((n) => n.toLowerCase());
    const ips = p.ips ?? [];
    if (dnsNames.length + ips.length === 0) throw new CaError("a server certificate needs at least one DNS name or IP address");
    for (const n of dnsNames) {
      if (n.length > 253 || !/^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(n)) throw new CaError(`${JSON.stringify(n)} is not a DNS name`);
    }
    for (const ip of ips) if (net.isIP(ip) === 0) throw new CaError(`${JSON.stringify(ip)} is not an IPv4 or IPv6 address`);
    const days = p.days ?? DEFAULT_SERVER_DAYS;
    if (!Number.isInteger(days) || days < 1) throw new CaError(`validity ${days} days: a positive whole number of days`);
    const now = p.now ?? new Date();
    const notAfter = new Date(now.getTime() + days * 86_400_000);
    if (notAfter > this.intermediate.notAfter) throw new CaError(`${days} days runs past the intermediate's expiry (${this.intermediate.notAfter.toISOString()})`);
    let spki: Uint8Array;
    if ((p.publicKey === undefined) === (p.csrDer === undefined)) throw new CaError("give the server's public key or its CSR, one of the two");
    if (p.csrDer) {
      let csr: x509.Pkcs10CertificateRequest;
      try {
        csr = new x509.Pkcs10CertificateRequest(Buffer.from(p.csrDer));
      } catch {
        throw new CsrError("not a PKCS#10 certificate request in DER");
      }
      if (!(await csr.verify(crypto.webcrypto as unknown as Crypto).catch(() => false))) throw new CsrError("the request is signed by another key than the one it carries (no proof of possession)");
      spki = new Uint8Array(csr.publicKey.rawData);
    } else {
      const key = p.publicKey instanceof crypto.KeyObject ? p.publicKey : crypto.createPublicKey({ key: Buffer.from(p.publicKey!), format: "der", type: "spki" });
      spki = key.export({ format: "der", type: "spki" });
    }
    const serialHex = randomSerialHex();
    const cert = await serverCertificate({ issuer: this.intermediateIssuer, publicKey: spki, now, crypto: this.store.crypto, serialHex, dnsNames, ips, notAfter });
    return this.issued(cert, serialHex);
  }

  private issued(cert: x509.X509Certificate, serialHex: string): IssuedCertificate {
    const der = new Uint8Array(cert.rawData);
    // Checked with Node's own X.509 code, not the signer's: a faulty token is caught here.
    if (!new crypto.X509Certificate(Buffer.from(der)).verify(new crypto.X509Certificate(Buffer.from(this.intermediate.der)).publicKey)) throw new CaError("the certificate just signed does not verify against the intermediate");
    return { der, pem: cert.toString("pem") + "\n", serialHex, notBefore: cert.notBefore, notAfter: cert.notAfter };
  }

  /** Puts a certificate the intermediate issued on its CRL (idempotent: `already` when it was). */
  async revoke(serialHex: string, reason: RevocationReason | string = "unspecified", now = new Date()): Promise<Revocation & { already: boolean }> {
    const serial = normaliseSerialHex(serialHex);
    const why = checkReason(reason);
    if (serial === this.intermediate.serialHex || serial === this.root.serialHex) throw new CaError(`${serial} is a CA certificate's serial; only certificates the intermediate issued are revoked here`);
    return withLock(this.dir, () => {
      const list = readRevocations(this.dir);
      const found = list.find((r) => r.serialHex === serial);
      if (found) return { ...found, already: true };
      const entry: Revocation = { serialHex: serial, reason: why, revokedAt: now.toISOString() };
      writeRevocations(this.dir, [...list, entry]);
      return { ...entry, already: false };
    });
  }

  revocations(): Revocation[] {
    return readRevocations(this.dir);
  }

  /** Fresh CRLs of both CAs, with the next CRL number (one number for the pair; ca.json keeps the count). */
  async crl(opts: { days?: number; now?: Date } = {}): Promise<CrlSet> {
    const days = opts.days ?? DEFAULT_CRL_DAYS;
    if (!Number.isInteger(days) || days < 1 || days > 3660) throw new CaError(`CRL validity ${days} days: a whole number 1..3660`);
    return withLock(this.dir, async () => {
      const config = readConfig(this.dir);
      const number = config.nextCrlNumber;
      const thisUpdate = opts.now ?? new Date();
      const nextUpdate = new Date(thisUpdate.getTime() + days * 86_400_000);
      const common = { number, thisUpdate, nextUpdate, crypto: this.store.crypto };
      const rootCrl = await buildCrl({ ...common, issuer: this.rootIssuer, revoked: [] });
      const intCrl = await buildCrl({ ...common, issuer: this.intermediateIssuer, revoked: readRevocations(this.dir) });
      this.config = { ...config, nextCrlNumber: number + 1 };
      writeConfig(this.dir, this.config, { replace: true });
      const root = { der: new Uint8Array(rootCrl.rawData), pem: crlPem(new Uint8Array(rootCrl.rawData)) };
      const intermediate = { der: new Uint8Array(intCrl.rawData), pem: crlPem(new Uint8Array(intCrl.rawData)) };
      return { number, thisUpdate, nextUpdate, root, intermediate, pem: root.pem + intermediate.pem };
    });
  }

  /** A compact JWS over payload by the intermediate (ES256 or ES384), x5c [intermediate, root]. */
  signJws(payload: Uint8Array, header: Record<string, unknown> = {}): Promise<string> {
    return signCompactJws({ payload, header, key: this.intermediateIssuer.key, curve: this.intermediate.curve, crypto: this.store.crypto, chain: [this.intermediate.der, this.root.der] });
  }

  close(): void {
    this.store.close();
  }
}

/** Makes a CA in dir and closes it again; what it made, as `tincan ca show` says it. */
export async function initCa(dir: string, opts: InitOptions = {}): Promise<CaInfo> {
  const ca = await FactoryCa.init(dir, opts);
  ca.close();
  return FactoryCa.describe(dir);
}
