// What the database checks before it records a device certificate: it parses, it is the
// certificate the caller says (serial number), and it is this device's (CN = its serial, its
// public key). Chain and signature are the CA's and the station's business, not the database's.

import { X509Certificate } from "node:crypto";
import { bad, canonicalSerialHex } from "./rows.ts";
import { p256Point } from "../ec-point.ts";

export function checkCertificateFor(device: { serial: string; publicKey: Uint8Array }, der: Uint8Array, serialHex: string): string {
  const want = canonicalSerialHex(serialHex);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(der));
  } catch (e) {
    throw bad(`${device.serial}: the certificate is not X.509 DER (${(e as Error).message})`);
  }
  const got = canonicalSerialHex(cert.serialNumber);
  if (got !== want) throw bad(`${device.serial}: the certificate's serial number is ${got}, not ${want}`);
  const cn = cert.subject.split("\n").filter((l) => l.startsWith("CN=")).map((l) => l.slice(3));
  if (cn.length !== 1 || cn[0] !== device.serial) throw bad(`${device.serial}: the certificate's subject CN is ${JSON.stringify(cn.join(","))}, not the device's serial`);
  const point = p256Point(cert.publicKey);
  if (point === undefined || !point.equals(Buffer.from(device.publicKey))) throw bad(`${device.serial}: the certificate is not for the device's public key`);
  return want;
}
