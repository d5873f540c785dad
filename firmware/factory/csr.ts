// The device's certificate request: PKCS#10 (RFC 2986) in DER, signed by the secure element
// (proof that the device holds the key). Subject CN = the chip id in hex, the key as
// id-ecPublicKey on prime256v1 (RFC 5480), the station's nonce as the PKCS#9 challengePassword
// (RFC 2985 5.4.1) so an old request cannot be replayed, ecdsa-with-SHA256 (RFC 5758 3.2).

import {
  DerWriter, TAG_SEQUENCE, TAG_SET, TAG_BIT_STRING, TAG_UTF8_STRING, TAG_PRINTABLE_STRING, contextTag,
  OID_COMMON_NAME, OID_COMMON_NAME_LENGTH, OID_EC_PUBLIC_KEY, OID_EC_PUBLIC_KEY_LENGTH, OID_PRIME256V1, OID_PRIME256V1_LENGTH,
  OID_ECDSA_SHA256, OID_ECDSA_SHA256_LENGTH, OID_CHALLENGE_PASSWORD, OID_CHALLENGE_PASSWORD_LENGTH, EC_POINT_BYTES,
} from "./der";
import { Sha256 } from "../crypto/sha256";

export const SIGNATURE_BYTES: i32 = 64;
/** Room for the largest request: a 16-byte chip id, a 64-byte nonce (about 430 bytes). */
export const CSR_CAPACITY: i32 = 640;
export const CSR_TOO_LONG: i32 = -100;

/** What signs for the core: the secure element, through the HAL, in main.ts. */
export abstract class DigestSigner {
  /** ECDSA P-256 over the 32-byte digest at `digest` with the key in `slot`: writes r‖s
   *  (64 bytes, big-endian) at sig. Returns 64, or a negative ABI error. */
  abstract sign(slot: i32, digest: usize, sig: usize): i32;
}

export class CsrBuilder {
  readonly out: StaticArray<u8> = new StaticArray<u8>(CSR_CAPACITY);
  length: i32 = 0;
  private readonly w: DerWriter = new DerWriter();
  private readonly sha: Sha256 = new Sha256();
  private readonly digest: StaticArray<u8> = new StaticArray<u8>(32);
  private readonly signature: StaticArray<u8> = new StaticArray<u8>(SIGNATURE_BYTES);

  get address(): usize { return changetype<usize>(this.out); }

  /** Builds a request for the 65-byte point at publicKey into `out`. Returns its length, the
   *  signer's (negative) error, or CSR_TOO_LONG. */
  build(chipId: usize, chipIdLength: i32, publicKey: usize, nonce: usize, nonceLength: i32, signer: DigestSigner, slot: i32): i32 {
    const w = this.w;
    this.length = 0;
    w.reset(this.address, CSR_CAPACITY);
    const request = w.begin(TAG_SEQUENCE);
    const info = w.begin(TAG_SEQUENCE);
    w.smallInteger(0); // version v1
    const name = w.begin(TAG_SEQUENCE);
    const rdn = w.begin(TAG_SET);
    const cn = w.begin(TAG_SEQUENCE);
    w.oid(OID_COMMON_NAME, OID_COMMON_NAME_LENGTH);
    w.hexString(TAG_UTF8_STRING, chipId, chipIdLength);
    w.end(cn); w.end(rdn); w.end(name);
    const spki = w.begin(TAG_SEQUENCE);
    const algorithm = w.begin(TAG_SEQUENCE);
    w.oid(OID_EC_PUBLIC_KEY, OID_EC_PUBLIC_KEY_LENGTH);
    w.oid(OID_PRIME256V1, OID_PRIME256V1_LENGTH);
    w.end(algorithm);
    w.bitString(publicKey, EC_POINT_BYTES);
    w.end(spki);
    const attributes = w.begin(contextTag(0));
    const attribute = w.begin(TAG_SEQUENCE);
    w.oid(OID_CHALLENGE_PASSWORD, OID_CHALLENGE_PASSWORD_LENGTH);
    const values = w.begin(TAG_SET);
    w.hexString(TAG_PRINTABLE_STRING, nonce, nonceLength);
    w.end(values); w.end(attribute); w.end(attributes);
    w.end(info);
    if (w.overflow) return CSR_TOO_LONG;

    // The signature covers the DER of certificationRequestInfo, which starts where it was opened
    // (end() moves content back, never before its own mark).
    const digest = changetype<usize>(this.digest);
    const sig = changetype<usize>(this.signature);
    this.sha.reset();
    this.sha.update(w.address + <usize>info, w.length - info);
    this.sha.finish(digest);
    const signed = signer.sign(slot, digest, sig);
    if (signed < 0) return signed;
    if (signed != SIGNATURE_BYTES) return -1; // ERR_INVALID: not an r‖s pair

    const sigAlgorithm = w.begin(TAG_SEQUENCE);
    w.oid(OID_ECDSA_SHA256, OID_ECDSA_SHA256_LENGTH); // parameters absent (RFC 5758 3.2)
    w.end(sigAlgorithm);
    const bits = w.begin(TAG_BIT_STRING);
    w.byte(0); // no unused bits
    const value = w.begin(TAG_SEQUENCE); // Ecdsa-Sig-Value (RFC 5480 2.2 / SEC 1 C.5)
    w.unsignedInteger(sig, 32);
    w.unsignedInteger(sig + 32, 32);
    w.end(value); w.end(bits);
    w.end(request);
    if (w.overflow) return CSR_TOO_LONG;
    this.length = w.length;
    return w.length;
  }
}
