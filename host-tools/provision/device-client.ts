// The factory commands of the device console (boards/CONSOLE.md, 0x20 IDENTITY .. 0x26
// IDENTITY_READ) over a ConsoleClient: what the station asks of a board. A refusal becomes a
// FactoryError carrying the board's own reason.

import crypto from "node:crypto";
import type { ConsoleClient, RequestOptions } from "../link/console.ts";
import { Status, TlvWriter, readTlvs, statusName } from "../link/frame.ts";
import { IDENTITY_MAX } from "./record.ts";

export const FactoryCommand = { IDENTITY: 0x20, KEYGEN: 0x21, CSR: 0x22, WRITE_IDENTITY: 0x23, CHALLENGE: 0x24, LOCK: 0x25, IDENTITY_READ: 0x26 } as const;
export const FactoryTag = {
  NONCE: 0x01, OFFSET: 0x01, CHUNK: 0x02, READ_LENGTH: 0x02, TOTAL: 0x03, DIGEST: 0x04, REASON: 0x05,
  STATE: 0x10, CHIP_ID: 0x11, PUBLIC_KEY: 0x12, SERIAL: 0x13, RECORD_LENGTH: 0x14, RECORD_SHA256: 0x15,
  CSR: 0x20, SIGNATURE: 0x21, RECORD_BYTES: 0x22,
} as const;
export const DEVICE_STATES = ["blank", "keyed", "written", "locked"] as const;
export type DeviceState = (typeof DEVICE_STATES)[number];
/** Largest chunk WRITE_IDENTITY and IDENTITY_READ move at once. */
export const CHUNK_MAX = 1024;
export const NONCE_MIN = 16;
export const NONCE_MAX = 64;
/** What CHALLENGE signs before the chip id and the nonce (boards/CONSOLE.md). */
export const CHALLENGE_PREFIX = Buffer.from("tincan-challenge/1", "ascii");

const COMMAND_NAMES: Record<number, string> = Object.fromEntries(Object.entries(FactoryCommand).map(([k, v]) => [v, k]));

export interface DeviceIdentity {
  state: DeviceState;
  chipId: Buffer;
  /** Uncompressed SEC1 point (65 bytes), once a key exists. */
  publicKey?: Buffer;
  /** From the written record. */
  serial?: string;
  recordLength?: number;
  recordSha256?: Buffer;
}

/** The board answered, and refused (or answered something this host cannot use). */
export class FactoryError extends Error {
  constructor(message: string, readonly status: number, readonly command: string, readonly reason?: string) {
    super(message);
    this.name = "FactoryError";
  }
}

export class FactoryClient {
  constructor(readonly console: ConsoleClient, readonly opts: RequestOptions = {}) {}

  async identity(): Promise<DeviceIdentity> {
    const t = fields(await this.call(FactoryCommand.IDENTITY, new Uint8Array(0)));
    const state = DEVICE_STATES[t.get(FactoryTag.STATE)?.[0] ?? -1];
    const chipId = t.get(FactoryTag.CHIP_ID);
    if (!state || !chipId) throw this.bad("IDENTITY", "no state or chip id");
    const id: DeviceIdentity = { state, chipId };
    const key = t.get(FactoryTag.PUBLIC_KEY);
    if (key) id.publicKey = point(key, this.bad("IDENTITY", "a public key that is not a 65-byte P-256 point"));
    const serial = t.get(FactoryTag.SERIAL);
    if (serial) id.serial = serial.toString("latin1");
    const length = t.get(FactoryTag.RECORD_LENGTH);
    if (length?.length === 4) id.recordLength = length.readUInt32BE(0);
    const sha = t.get(FactoryTag.RECORD_SHA256);
    if (sha?.length === 32) id.recordSha256 = sha;
    return id;
  }

  /** A new device key; resolves with its public point. */
  async keygen(): Promise<Buffer> {
    const key = fields(await this.call(FactoryCommand.KEYGEN, new Uint8Array(0))).get(FactoryTag.PUBLIC_KEY);
    return point(key, this.bad("KEYGEN", "no 65-byte public key in the answer"));
  }

  /** A PKCS#10 request (DER) for the device key, carrying the nonce as its challengePassword. */
  async csr(nonce: Uint8Array): Promise<Buffer> {
    checkNonce(nonce);
    const der = fields(await this.call(FactoryCommand.CSR, new TlvWriter().bytes(FactoryTag.NONCE, nonce).finish())).get(FactoryTag.CSR);
    if (!der?.length) throw this.bad("CSR", "no request in the answer");
    return der;
  }

  /** Sends the record in order in chunks of at most 1 KiB, the last with its length and SHA-256;
   *  the board checks it and writes it atomically. */
  async writeIdentity(record: Uint8Array, onProgress?: (sent: number, total: number) => void): Promise<void> {
    if (record.length === 0 || record.length > IDENTITY_MAX) throw new RangeError(`the identity record is ${record.length} bytes; a board keeps 1..${IDENTITY_MAX}`);
    const digest = crypto.createHash("sha256").update(record).digest();
    for (let offset = 0; offset < record.length; offset += CHUNK_MAX) {
      const chunk = record.subarray(offset, offset + CHUNK_MAX);
      const w = new TlvWriter().u32(FactoryTag.OFFSET, offset).bytes(FactoryTag.CHUNK, chunk);
      if (offset + chunk.length === record.length) w.u32(FactoryTag.TOTAL, record.length).bytes(FactoryTag.DIGEST, digest);
      await this.call(FactoryCommand.WRITE_IDENTITY, w.finish());
      onProgress?.(offset + chunk.length, record.length);
    }
  }

  /** r‖s (64 bytes) over SHA-256("tincan-challenge/1" ‖ chip id ‖ nonce): check with verifyChallenge. */
  async challenge(nonce: Uint8Array): Promise<Buffer> {
    checkNonce(nonce);
    const sig = fields(await this.call(FactoryCommand.CHALLENGE, new TlvWriter().bytes(FactoryTag.NONCE, nonce).finish())).get(FactoryTag.SIGNATURE);
    if (sig?.length !== 64) throw this.bad("CHALLENGE", "no 64-byte signature in the answer");
    return sig;
  }

  /** Burns the provisioning lock; resolves with the state the board reports (locked). */
  async lock(): Promise<DeviceState> {
    const state = DEVICE_STATES[fields(await this.call(FactoryCommand.LOCK, new Uint8Array(0))).get(FactoryTag.STATE)?.[0] ?? -1];
    if (state !== "locked") throw this.bad("LOCK", `the board reports state ${state ?? "none"} after LOCK`);
    return state;
  }

  /** The record in the board's identity partition, read back in chunks. */
  async readIdentity(): Promise<Buffer> {
    const { recordLength } = await this.identity();
    if (recordLength === undefined) throw new FactoryError(`${this.console.link.url}: the board holds no identity record`, Status.DENIED, "IDENTITY_READ");
    const parts: Buffer[] = [];
    for (let offset = 0; offset < recordLength;) {
      const want = Math.min(CHUNK_MAX, recordLength - offset);
      const req = new TlvWriter().u32(FactoryTag.OFFSET, offset).u16(FactoryTag.READ_LENGTH, want).finish();
      const part = fields(await this.call(FactoryCommand.IDENTITY_READ, req)).get(FactoryTag.RECORD_BYTES);
      if (!part || part.length !== want) throw this.bad("IDENTITY_READ", `${part?.length ?? 0} bytes at offset ${offset}, asked for ${want}`);
      parts.push(part);
      offset += want;
    }
    return Buffer.concat(parts);
  }

  /** One request; anything but OK becomes a FactoryError with the board's reason. */
  async call(command: number, payload: Uint8Array): Promise<Uint8Array> {
    const r = await this.console.request(command, payload, this.opts);
    if (r.status === Status.OK) return r.payload;
    const name = COMMAND_NAMES[command] ?? `command 0x${command.toString(16)}`;
    let reason: string | undefined;
    try {
      const t = readTlvs(r.payload).find((x) => x.tag === FactoryTag.REASON);
      if (t) reason = Buffer.from(t.value).toString("utf8");
    } catch { /* a refusal without a readable reason */ }
    const url = this.console.link.url;
    if (r.status === Status.UNKNOWN_COMMAND) throw new FactoryError(`the firmware on ${url} has no factory commands (${name}); flash firmware with ABI 5 or later`, r.status, name);
    throw new FactoryError(`${url}: ${name} ${statusName(r.status)}${reason ? `: ${reason}` : ""}`, r.status, name, reason);
  }

  private bad(command: string, what: string): FactoryError {
    return new FactoryError(`${this.console.link.url}: ${command} answered with ${what}`, Status.INTERNAL, command);
  }
}

/** The message CHALLENGE signs (before hashing). */
export function challengeMessage(chipId: Uint8Array, nonce: Uint8Array): Buffer {
  return Buffer.concat([CHALLENGE_PREFIX, chipId, nonce]);
}

/** Whether sig64 (r‖s) is the device key's answer to this nonce from this chip. */
export function verifyChallenge(publicKey65: Uint8Array, chipId: Uint8Array, nonce: Uint8Array, sig64: Uint8Array): boolean {
  if (publicKey65.length !== 65 || publicKey65[0] !== 0x04 || sig64.length !== 64) return false;
  let key: crypto.KeyObject;
  try {
    const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64url");
    key = crypto.createPublicKey({ format: "jwk", key: { kty: "EC", crv: "P-256", x: b64(publicKey65.subarray(1, 33)), y: b64(publicKey65.subarray(33)) } });
  } catch {
    return false; // not a point on the curve
  }
  return crypto.verify("sha256", challengeMessage(chipId, nonce), { key, dsaEncoding: "ieee-p1363" }, sig64);
}

function checkNonce(nonce: Uint8Array): void {
  if (nonce.length < NONCE_MIN || nonce.length > NONCE_MAX) throw new RangeError(`a nonce is ${NONCE_MIN}..${NONCE_MAX} bytes, got ${nonce.length}`);
}

/** The TLVs of an answer by tag (the last of each wins; unknown tags are kept and ignored). */
function fields(payload: Uint8Array): Map<number, Buffer> {
  const m = new Map<number, Buffer>();
  for (const { tag, value } of readTlvs(payload)) m.set(tag, Buffer.from(value));
  return m;
}

function point(key: Buffer | undefined, error: FactoryError): Buffer {
  if (key?.length !== 65 || key[0] !== 0x04) throw error;
  return key;
}
