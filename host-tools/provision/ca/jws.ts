// Compact JWS (RFC 7515) signed by the factory intermediate: the factory manifest export. ES256
// or ES384 by the key's curve; the signature is r || s, fixed length (RFC 7518 3.4), which is
// what WebCrypto's ECDSA gives; x5c carries [intermediate, root] so a verifier that trusts the
// root can check it with nothing else.

import crypto from "node:crypto";
import type { Curve } from "./keystore.ts";
import { hashOf } from "./keystore.ts";
import { CaError } from "./errors.ts";

const b64url = (b: Uint8Array) => Buffer.from(b).toString("base64url");
export const jwsAlgorithm = (curve: Curve) => (curve === "P-384" ? "ES384" : "ES256");

export async function signCompactJws(p: {
  payload: Uint8Array; key: CryptoKey; curve: Curve; crypto: Crypto; chain: Uint8Array[]; header?: Record<string, unknown>;
}): Promise<string> {
  const header = { ...p.header, alg: jwsAlgorithm(p.curve), x5c: p.chain.map((der) => Buffer.from(der).toString("base64")) };
  const signingInput = `${b64url(Buffer.from(JSON.stringify(header), "utf8"))}.${b64url(p.payload)}`;
  const sig = new Uint8Array(await p.crypto.subtle.sign({ name: "ECDSA", hash: hashOf(p.curve) }, p.key, Buffer.from(signingInput, "ascii")));
  const expected = p.curve === "P-384" ? 96 : 64;
  if (sig.length !== expected) throw new CaError(`the signer returned a ${sig.length}-byte ECDSA signature, not ${expected} bytes of r || s`);
  return `${signingInput}.${b64url(sig)}`;
}

/**
 * Checks a compact JWS made by signCompactJws against a trusted root (DER): the x5c chain ends
 * in that root, the first certificate is signed by it, and the signature verifies. Returns the
 * payload and header. Throws CaError naming what fails.
 */
export function verifyCompactJws(jws: string, rootDer: Uint8Array): { payload: Buffer; header: Record<string, unknown> } {
  const parts = jws.split(".");
  if (parts.length !== 3) throw new CaError("not a compact JWS (three base64url parts)");
  let header: { alg?: string; x5c?: string[] } & Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(parts[0], "base64url").toString("utf8"));
  } catch {
    throw new CaError("the JWS header is not JSON");
  }
  const hash = header.alg === "ES256" ? "sha256" : header.alg === "ES384" ? "sha384" : undefined;
  if (!hash) throw new CaError(`JWS algorithm ${JSON.stringify(header.alg)} is not ES256 or ES384`);
  if (!Array.isArray(header.x5c) || header.x5c.length < 2) throw new CaError("the JWS header has no x5c chain [signer, root]");
  const signer = new crypto.X509Certificate(Buffer.from(header.x5c[0], "base64"));
  const root = new crypto.X509Certificate(Buffer.from(rootDer));
  if (!Buffer.from(header.x5c[header.x5c.length - 1], "base64").equals(root.raw)) throw new CaError("the JWS chain does not end in the trusted root");
  if (!signer.verify(root.publicKey)) throw new CaError("the JWS signer's certificate is not signed by the trusted root");
  const ok = crypto.verify(hash, Buffer.from(`${parts[0]}.${parts[1]}`, "ascii"), { key: signer.publicKey, dsaEncoding: "ieee-p1363" }, Buffer.from(parts[2], "base64url"));
  if (!ok) throw new CaError("the JWS signature does not verify");
  return { payload: Buffer.from(parts[1], "base64url"), header };
}
