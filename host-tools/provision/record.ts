// The IDENTITY record (boards/ABI.md): what the factory writes into a board's identity
// partition and what the board's TLS presents. The firmware checks it again before writing.

export const IDENTITY_MAGIC = Buffer.from("TCID", "ascii");
export const IDENTITY_VERSION = 1;
export const IDENTITY_MAX = 4000;
const HEADER = 8;
const ENTRY_SERIAL = 0x01;
const ENTRY_CERTIFICATE = 0x02;
const ENTRY_TRUST_ANCHOR = 0x03;

export interface IdentityRecord {
  serial: string;
  /** DER: the device certificate first, then intermediates up to (not including) the root. */
  certificates: Uint8Array[];
  /** DER roots the device trusts for servers. */
  trustAnchors: Uint8Array[];
  /** Secure-element slot of the device key. */
  keySlot: number;
}

export class IdentityRecordError extends Error {}

export function encodeIdentityRecord(r: IdentityRecord): Buffer {
  if (!/^[\x21-\x7e]{1,64}$/.test(r.serial)) throw new IdentityRecordError(`serial ${JSON.stringify(r.serial)} is not 1..64 printable ASCII characters`);
  if (r.certificates.length === 0) throw new IdentityRecordError("an identity record needs the device certificate");
  if (!Number.isInteger(r.keySlot) || r.keySlot < 0 || r.keySlot > 3) throw new IdentityRecordError(`key slot ${r.keySlot} is not 0..3`);
  const entries: Buffer[] = [];
  const entry = (type: number, value: Uint8Array) => {
    if (value.length > 0xffff) throw new IdentityRecordError(`entry ${type} is ${value.length} bytes, more than 65535`);
    const h = Buffer.alloc(3);
    h[0] = type;
    h.writeUInt16BE(value.length, 1);
    entries.push(h, Buffer.from(value));
  };
  entry(ENTRY_SERIAL, Buffer.from(r.serial, "ascii"));
  for (const c of r.certificates) entry(ENTRY_CERTIFICATE, c);
  for (const t of r.trustAnchors) entry(ENTRY_TRUST_ANCHOR, t);
  const body = Buffer.concat(entries);
  const header = Buffer.alloc(HEADER);
  IDENTITY_MAGIC.copy(header, 0);
  header[4] = IDENTITY_VERSION;
  header[5] = r.keySlot;
  if (body.length > 0xffff) throw new IdentityRecordError("identity entries exceed 65535 bytes");
  header.writeUInt16BE(body.length, 6);
  const out = Buffer.concat([header, body]);
  if (out.length > IDENTITY_MAX) throw new IdentityRecordError(`the identity record is ${out.length} bytes; a board keeps at most ${IDENTITY_MAX}`);
  return out;
}

/** Parses a record; throws IdentityRecordError naming what is wrong. */
export function decodeIdentityRecord(bytes: Uint8Array): IdentityRecord {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < HEADER || !b.subarray(0, 4).equals(IDENTITY_MAGIC)) throw new IdentityRecordError("not an identity record (no TCID magic)");
  if (b[4] !== IDENTITY_VERSION) throw new IdentityRecordError(`identity record format ${b[4]} is not ${IDENTITY_VERSION}`);
  const keySlot = b[5];
  if (keySlot > 3) throw new IdentityRecordError(`key slot ${keySlot} is not 0..3`);
  const n = b.readUInt16BE(6);
  if (HEADER + n !== b.length) throw new IdentityRecordError(`identity record says ${n} bytes of entries, has ${b.length - HEADER}`);
  const serials: string[] = [];
  const certificates: Uint8Array[] = [];
  const trustAnchors: Uint8Array[] = [];
  let p = HEADER;
  while (p < b.length) {
    if (p + 3 > b.length) throw new IdentityRecordError(`identity record entry at ${p} is cut short`);
    const type = b[p];
    const len = b.readUInt16BE(p + 1);
    const value = b.subarray(p + 3, p + 3 + len);
    if (value.length !== len) throw new IdentityRecordError(`identity record entry ${type} at ${p} is cut short`);
    if (type === ENTRY_SERIAL) serials.push(value.toString("latin1"));
    else if (type === ENTRY_CERTIFICATE) certificates.push(Uint8Array.from(value));
    else if (type === ENTRY_TRUST_ANCHOR) trustAnchors.push(Uint8Array.from(value));
    p += 3 + len;
  }
  if (serials.length !== 1) throw new IdentityRecordError(`an identity record holds exactly one serial, this one ${serials.length}`);
  if (!/^[\x21-\x7e]{1,64}$/.test(serials[0])) throw new IdentityRecordError("the identity record's serial is not printable ASCII");
  if (certificates.length === 0) throw new IdentityRecordError("the identity record holds no certificate");
  return { serial: serials[0], certificates, trustAnchors, keySlot };
}
