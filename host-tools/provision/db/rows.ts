// The factory database's rows as the program sees them, and the checks on both sides: input
// from the station is validated before it is written, and every row read back is validated
// again, so a row a tool edited by hand gives an error naming that row instead of a crash.

import crypto from "node:crypto";
import { SerialError, checkSerial } from "../serial.ts";

export const DEVICE_STATES = ["allocated", "issued", "written", "provisioned", "failed", "revoked"] as const;
export type DeviceState = (typeof DEVICE_STATES)[number];

export type FactoryDbErrorCode = "not-found" | "conflict" | "bad-state" | "bad-input" | "corrupt" | "schema" | "io";

/** Anything the factory database refuses or cannot do. The message is one line. */
export class FactoryDbError extends Error {
  constructor(
    message: string,
    readonly code: FactoryDbErrorCode,
  ) {
    super(message.replace(/\s*[\r\n]+\s*/g, " "));
    this.name = "FactoryDbError";
  }
}

export interface DeviceRow {
  serial: string;
  /** Lower-case hex. */
  chipId: string;
  /** Uncompressed SEC1 P-256 point, 65 bytes. */
  publicKey: Uint8Array;
  board: string;
  firmware: string;
  station: string;
  state: DeviceState;
  /** Why the board failed, when state is failed (the last failure). */
  failure?: string;
  createdAt: string;
  updatedAt: string;
  /** The current (unrevoked) certificate, DER, and its serial number in lower-case hex. */
  certificate?: Uint8Array;
  certificateSerial?: string;
  certificateIssuedAt?: string;
}

export interface CertificateRow {
  serialHex: string;
  deviceSerial: string;
  der: Uint8Array;
  issuedAt: string;
  revokedAt?: string;
  revocationReason?: string;
}

/** The devices columns as SQLite hands them over (types unchecked: a tool may have edited them). */
export interface RawDevice {
  id: unknown;
  serial: unknown;
  chip_id: unknown;
  public_key: unknown;
  board: unknown;
  firmware: unknown;
  station: unknown;
  state: unknown;
  failure_reason: unknown;
  created_at: unknown;
  updated_at: unknown;
  cert_serial?: unknown;
  cert_der?: unknown;
  cert_issued_at?: unknown;
}

export const BOARD_ID = /^[a-z0-9][a-z0-9-]{1,30}$/;
const LABEL_TEXT = /^[\x21-\x7e](?:[\x20-\x7e]{0,62}[\x21-\x7e])?$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function bad(message: string): FactoryDbError {
  return new FactoryDbError(message, "bad-input");
}

/** A chip id as stored: lower-case hex of 6..16 bytes (boards/ABI.md chip_id). */
export function canonicalChipId(chipId: string | Uint8Array): string {
  const hex = typeof chipId === "string" ? chipId.trim().toLowerCase() : Buffer.from(chipId).toString("hex");
  if (!/^(?:[0-9a-f]{2}){6,16}$/.test(hex)) throw bad(`chip id ${JSON.stringify(String(typeof chipId === "string" ? chipId : hex).slice(0, 40))} is not 6..16 bytes of hex`);
  return hex;
}

/** A certificate serial as stored: lower-case hex, no leading zero bytes, an even number of digits (as Node's X509Certificate prints it). */
export function canonicalSerialHex(serialHex: string): string {
  const t = serialHex.trim().toLowerCase().replace(/^0x/, "");
  if (!/^[0-9a-f]{1,64}$/.test(t)) throw bad(`certificate serial ${JSON.stringify(serialHex.slice(0, 70))} is not 1..64 hex digits`);
  const stripped = t.replace(/^0+/, "");
  return stripped.length % 2 === 1 ? `0${stripped}` : stripped === "" ? "00" : stripped;
}

/** An uncompressed P-256 point that is on the curve. */
export function checkPublicKey(publicKey: Uint8Array): Buffer {
  const key = Buffer.from(publicKey);
  if (key.length !== 65 || key[0] !== 0x04) throw bad(`the public key is ${key.length} bytes${key.length > 0 ? ` starting 0x${key[0].toString(16).padStart(2, "0")}` : ""}: an uncompressed P-256 point is 65 bytes starting 0x04`);
  try {
    crypto.createPublicKey({ key: { kty: "EC", crv: "P-256", x: key.subarray(1, 33).toString("base64url"), y: key.subarray(33).toString("base64url") }, format: "jwk" });
  } catch {
    throw bad("the public key is not a point on P-256");
  }
  return key;
}

/** A board id, firmware version or station name: printable ASCII, one line, at most 64 characters. */
export function checkLabel(what: string, value: string): string {
  if (typeof value !== "string" || !LABEL_TEXT.test(value)) throw bad(`${what} ${JSON.stringify(String(value).slice(0, 70))} is not 1..64 printable ASCII characters`);
  return value;
}

export function checkBoardId(board: string): string {
  if (typeof board !== "string" || !BOARD_ID.test(board)) throw bad(`board id ${JSON.stringify(String(board).slice(0, 40))} is not a board id (boards/*.json)`);
  return board;
}

/** A reason as stored: one line, at most 500 characters. */
export function oneLine(reason: string): string {
  const line = String(reason).replace(/\s+/g, " ").trim();
  if (line === "") throw bad("a reason is needed");
  return line.length > 500 ? `${line.slice(0, 497)}...` : line;
}

export function canonicalSerial(serial: string): string {
  try {
    return checkSerial(serial);
  } catch (e) {
    if (e instanceof SerialError) throw bad(e.message);
    throw e;
  }
}

/** A row read back, checked field by field; a bad field is a FactoryDbError naming the row. */
export function decodeDevice(raw: RawDevice): DeviceRow {
  const where = `devices row ${String(raw.id)}${typeof raw.serial === "string" ? ` (${raw.serial.slice(0, 20)})` : ""}`;
  const corrupt = (what: string): never => {
    throw new FactoryDbError(`${where}: ${what}; the row was edited outside tincan (run tincan factory verify)`, "corrupt");
  };
  const text = (v: unknown, name: string): string => (typeof v === "string" ? v : corrupt(`${name} is ${v === null ? "NULL" : typeof v}, not text`));
  const serial = text(raw.serial, "serial");
  if (checkSerialQuiet(serial) !== serial) corrupt(`serial ${JSON.stringify(serial.slice(0, 20))} is not a valid serial number`);
  const chipId = text(raw.chip_id, "chip_id");
  if (!/^(?:[0-9a-f]{2}){6,16}$/.test(chipId)) corrupt(`chip_id ${JSON.stringify(chipId.slice(0, 40))} is not 6..16 bytes of lower-case hex`);
  const key = raw.public_key;
  if (!(key instanceof Uint8Array)) corrupt(`public_key is ${key === null ? "NULL" : typeof key}, not a blob`);
  const publicKey = key as Uint8Array;
  if (publicKey.length !== 65 || publicKey[0] !== 0x04) corrupt(`public_key is ${publicKey.length} bytes, not a 65-byte uncompressed P-256 point`);
  const state = text(raw.state, "state");
  if (!(DEVICE_STATES as readonly string[]).includes(state)) corrupt(`state ${JSON.stringify(state.slice(0, 20))} is not one of ${DEVICE_STATES.join(", ")}`);
  const failure = raw.failure_reason === null ? undefined : text(raw.failure_reason, "failure_reason");
  const createdAt = text(raw.created_at, "created_at");
  const updatedAt = text(raw.updated_at, "updated_at");
  for (const [name, t] of [["created_at", createdAt], ["updated_at", updatedAt]] as const) {
    if (!ISO_TIME.test(t)) corrupt(`${name} ${JSON.stringify(t.slice(0, 30))} is not an ISO 8601 UTC time`);
  }
  const row: DeviceRow = {
    serial,
    chipId,
    publicKey: Uint8Array.from(publicKey),
    board: text(raw.board, "board"),
    firmware: text(raw.firmware, "firmware"),
    station: text(raw.station, "station"),
    state: state as DeviceState,
    createdAt,
    updatedAt,
  };
  if (failure !== undefined) row.failure = failure;
  if (raw.cert_serial !== undefined && raw.cert_serial !== null) {
    if (!(raw.cert_der instanceof Uint8Array)) corrupt("its current certificate's der is not a blob");
    row.certificateSerial = text(raw.cert_serial, "certificate serial_hex");
    row.certificate = Uint8Array.from(raw.cert_der as Uint8Array);
    row.certificateIssuedAt = text(raw.cert_issued_at, "certificate issued_at");
  }
  return row;
}

function checkSerialQuiet(serial: string): string | undefined {
  try {
    return checkSerial(serial);
  } catch {
    return undefined;
  }
}
