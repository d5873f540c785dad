// The manifest the cloud side imports: every provisioned device (serial, chip id, board,
// certificate), signed by the factory intermediate as a compact JWS (RFC 7515) with ES256 or
// ES384 (RFC 7518 3.4: the signature is r || s, fixed length) and the signing chain in x5c.

import crypto, { X509Certificate } from "node:crypto";

export const MANIFEST_TYPE = "tincan-factory-manifest";
const JWS_TYP = "tincan-manifest+json";

export interface JwsSigner {
  alg: "ES256" | "ES384";
  /** Base64 (not url) DER certificates: the signing certificate first, then up the chain. */
  x5c: string[];
  /** Signs data (SHA-256 or SHA-384 inside, by alg); returns r || s. */
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/** A signer that makes the whole compact JWS itself (FactoryCa.signJws): alg and x5c are its own. */
export interface JwsMaker {
  signJws(payload: Uint8Array, header?: Record<string, unknown>): Promise<string>;
}

export type ManifestSigner = JwsSigner | JwsMaker;

export interface ManifestDevice {
  serial: string;
  chipId: string;
  board: string;
  /** Base64 DER. */
  certificate: string;
}

export interface Manifest {
  type: typeof MANIFEST_TYPE;
  version: 1;
  issuedAt: string;
  /** The audit log's last row when the manifest was made. */
  audit: { seq: number; hash: string };
  count: number;
  devices: ManifestDevice[];
}

export class ManifestError extends Error {
  constructor(message: string) {
    super(message.replace(/\s*[\r\n]+\s*/g, " "));
    this.name = "ManifestError";
  }
}

/** The manifest of these (provisioned) devices, made at this audit head. */
export function manifestOf(devices: { serial: string; chipId: string; board: string; certificate?: Uint8Array }[], audit: Manifest["audit"], issuedAt: string): Manifest {
  const list = devices.map((d) => ({ serial: d.serial, chipId: d.chipId, board: d.board, certificate: Buffer.from(d.certificate ?? []).toString("base64") }));
  return { type: MANIFEST_TYPE, version: 1, issuedAt, audit, count: list.length, devices: list };
}

const ALGS = {
  ES256: { hash: "sha256", curve: "P-256", bytes: 64 },
  ES384: { hash: "sha384", curve: "P-384", bytes: 96 },
} as const;

const b64url = (b: Uint8Array | string): string => Buffer.from(b).toString("base64url");

export async function signManifest(manifest: Manifest, signer: ManifestSigner): Promise<string> {
  if ("signJws" in signer) {
    const payload = Buffer.from(JSON.stringify(manifest), "utf8");
    const jws = await signer.signJws(payload, { typ: JWS_TYP });
    // Checked before anyone relies on it: the payload is ours and the signature verifies.
    if (jws.split(".")[1] !== b64url(payload)) throw new ManifestError("the signer's JWS does not carry the manifest it was given");
    verifyManifest(jws);
    return jws;
  }
  const alg = ALGS[signer.alg];
  if (alg === undefined) throw new ManifestError(`JWS algorithm ${String(signer.alg)} is not ES256 or ES384`);
  if (signer.x5c.length === 0) throw new ManifestError("the signer gave no certificate chain (x5c)");
  const header = { alg: signer.alg, typ: JWS_TYP, x5c: signer.x5c };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(manifest))}`;
  const signature = await signer.sign(Buffer.from(input, "ascii"));
  if (signature.length !== alg.bytes)
    throw new ManifestError(`the signer returned ${signature.length} bytes; an ${signer.alg} JWS signature is r || s, ${alg.bytes} bytes (not DER)`);
  return `${input}.${b64url(signature)}`;
}

function parseCert(b64: unknown, i: number): X509Certificate {
  if (typeof b64 !== "string") throw new ManifestError(`x5c[${i}] is not a string`);
  try {
    return new X509Certificate(Buffer.from(b64, "base64"));
  } catch {
    throw new ManifestError(`x5c[${i}] is not a base64 DER certificate`);
  }
}

function checkValid(cert: X509Certificate, what: string, now: Date): void {
  if (now < new Date(cert.validFrom) || now > new Date(cert.validTo)) throw new ManifestError(`${what} (${cert.subject.replace(/\n/g, ", ")}) is not valid now (${cert.validFrom} .. ${cert.validTo})`);
}

/**
 * Checks a manifest JWS: the signature by x5c[0], and when rootPem is given, the chain x5c up to
 * that root, every certificate valid now. Returns the manifest; throws ManifestError.
 */
export function verifyManifest(jws: string, rootPem?: string, now = new Date()): Manifest {
  const parts = jws.trim().split(".");
  if (parts.length !== 3) throw new ManifestError("not a compact JWS (three base64url parts separated by dots)");
  let header: { alg?: unknown; typ?: unknown; x5c?: unknown; crit?: unknown };
  let manifest: Manifest;
  try {
    header = JSON.parse(Buffer.from(parts[0], "base64url").toString("utf8"));
    manifest = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
  } catch {
    throw new ManifestError("the JWS header or payload is not base64url JSON");
  }
  const alg = ALGS[header.alg as keyof typeof ALGS];
  if (alg === undefined) throw new ManifestError(`JWS algorithm ${JSON.stringify(header.alg)} is not ES256 or ES384`);
  if (header.typ !== JWS_TYP) throw new ManifestError(`JWS typ ${JSON.stringify(header.typ)} is not ${JWS_TYP}`);
  if (header.crit !== undefined) throw new ManifestError("the JWS has critical header parameters this reader does not know");
  if (!Array.isArray(header.x5c) || header.x5c.length === 0) throw new ManifestError("the JWS carries no x5c certificate chain");
  const chain = header.x5c.map(parseCert);
  const signer = chain[0];
  const jwk = signer.publicKey.export({ format: "jwk" });
  if (jwk.crv !== alg.curve) throw new ManifestError(`${header.alg} needs a ${alg.curve} key; the signing certificate's is ${String(jwk.crv ?? signer.publicKey.asymmetricKeyType)}`);
  const signature = Buffer.from(parts[2], "base64url");
  if (signature.length !== alg.bytes) throw new ManifestError(`the signature is ${signature.length} bytes, not ${alg.bytes}`);
  const ok = crypto.verify(alg.hash, Buffer.from(`${parts[0]}.${parts[1]}`, "ascii"), { key: signer.publicKey, dsaEncoding: "ieee-p1363" }, signature);
  if (!ok) throw new ManifestError("the JWS signature does not verify against x5c[0]");

  if (rootPem !== undefined) {
    let root: X509Certificate;
    try {
      root = new X509Certificate(rootPem);
    } catch {
      throw new ManifestError("the root given is not a PEM certificate");
    }
    for (const [i, cert] of chain.entries()) checkValid(cert, `x5c[${i}]`, now);
    checkValid(root, "the root", now);
    for (let i = 0; i + 1 < chain.length; i++) {
      if (!chain[i].checkIssued(chain[i + 1]) || !chain[i].verify(chain[i + 1].publicKey)) throw new ManifestError(`x5c[${i}] is not signed by x5c[${i + 1}]`);
    }
    const top = chain[chain.length - 1];
    const anchored = top.raw.equals(root.raw) || (top.checkIssued(root) && top.verify(root.publicKey));
    if (!anchored) throw new ManifestError("the JWS certificate chain does not lead to the given root");
  }
  if (manifest?.type !== MANIFEST_TYPE || manifest.version !== 1 || !Array.isArray(manifest.devices) || manifest.count !== manifest.devices.length)
    throw new ManifestError("the JWS payload is not a version 1 tincan factory manifest");
  return manifest;
}
