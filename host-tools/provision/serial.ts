// Device serial numbers: <prefix 3><body 12><check 1>, Crockford base32 upper case. The body is
// 60 random bits, so a serial says nothing about when or where a board was made and cannot be
// guessed from another one; the check character catches every single-character typo and every
// adjacent transposition. Format and reasoning: docs/provisioning.md, "Serial numbers".

import crypto from "node:crypto";
import type { BoardManifest } from "../boards.ts";

/** Crockford's base32 digits: no I, L, O (read as 1, 1, 0) and no U. */
export const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** Check symbols: the 32 digits and five more, because the check is a value mod 37. */
export const CHECK_SYMBOLS = CROCKFORD + "*~$=U";
export const PREFIX_LENGTH = 3;
export const BODY_LENGTH = 12;
export const SERIAL_LENGTH = PREFIX_LENGTH + BODY_LENGTH + 1;
const CHECK_MODULUS = 37;
/**
 * Check symbols makeSerial never produces (it draws again): X.520's serialNumber attribute, which
 * the device certificate carries, is a PrintableString and has no "*", "~" or "$"; they are shell
 * and file-name metacharacters too. checkSerial still accepts them: the format is unchanged.
 */
export const AVOIDED_CHECK_SYMBOLS = "*~$";
const MAX_DRAWS = 64;

export class SerialError extends Error {
  constructor(message: string) {
    super(message.replace(/\s*[\r\n]+\s*/g, " "));
    this.name = "SerialError";
  }
}

const DIGIT_VALUE = new Map<string, number>([...CROCKFORD].map((c, i) => [c, i]));

/** Where a serial or prefix is quoted in a message: printable, and never a screenful. */
function quoted(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text);
}

/** Crockford's check symbol of a string of base32 digits: its value as one number, mod 37. */
export function checkSymbol(digits: string): string {
  let rest = 0;
  for (const c of digits) {
    const v = DIGIT_VALUE.get(c);
    if (v === undefined) throw new SerialError(`${quoted(digits)}: not Crockford base32 (character ${quoted(c)})`);
    rest = (rest * 32 + v) % CHECK_MODULUS;
  }
  return CHECK_SYMBOLS[rest];
}

function checkPrefix(prefix: string): void {
  if (prefix.length !== PREFIX_LENGTH || ![...prefix].every((c) => DIGIT_VALUE.has(c)))
    throw new SerialError(`serial prefix ${quoted(prefix)} is not ${PREFIX_LENGTH} Crockford base32 characters (upper case, no I, L, O, U)`);
}

/**
 * A new serial for this model prefix: 12 body characters of 5 random bits each (a byte masked to
 * 5 bits is uniform, since 32 divides 256), drawn again in the 3 cases of 37 whose check symbol is
 * avoided (59.88 bits remain). `random` is injectable for tests only.
 */
export function makeSerial(prefix: string, random: (size: number) => Uint8Array = crypto.randomBytes): string {
  checkPrefix(prefix);
  for (let draw = 0; draw < MAX_DRAWS; draw++) {
    const bytes = random(BODY_LENGTH);
    if (bytes.length !== BODY_LENGTH) throw new SerialError(`the random source gave ${bytes.length} bytes, not ${BODY_LENGTH}`);
    let body = "";
    for (const b of bytes) body += CROCKFORD[b & 0x1f];
    const check = checkSymbol(prefix + body);
    if (!AVOIDED_CHECK_SYMBOLS.includes(check)) return prefix + body + check;
  }
  throw new SerialError(`the random source gave ${MAX_DRAWS} bodies in a row whose check symbol is one of ${AVOIDED_CHECK_SYMBOLS}: it is not random`);
}

/** What a person typed or a scanner read, in canonical form: upper case, no hyphens or spaces, I/L -> 1, O -> 0. */
export function normaliseSerial(text: string): string {
  return text.toUpperCase().replace(/[-\s]/g, "").replace(/[IL]/g, "1").replace(/O/g, "0");
}

/** The canonical serial, or a SerialError saying why the text is not one. */
export function checkSerial(text: string): string {
  const serial = normaliseSerial(text);
  if (serial.length !== SERIAL_LENGTH)
    throw new SerialError(`serial ${quoted(text)}: wrong length (${serial.length} characters without hyphens, a serial has ${SERIAL_LENGTH})`);
  const digits = serial.slice(0, -1);
  for (const [i, c] of [...digits].entries()) {
    if (!DIGIT_VALUE.has(c)) throw new SerialError(`serial ${quoted(text)}: not Crockford base32 (${quoted(c)} at position ${i + 1})`);
  }
  const got = serial[SERIAL_LENGTH - 1];
  if (!CHECK_SYMBOLS.includes(got)) throw new SerialError(`serial ${quoted(text)}: not Crockford base32 (check character ${quoted(got)})`);
  const want = checkSymbol(digits);
  if (got !== want) throw new SerialError(`serial ${quoted(text)}: check character is ${got}, expected ${want} (a typo?)`);
  return serial;
}

/** True when the text is a valid serial (after normalising). */
export function isSerial(text: string): boolean {
  try {
    checkSerial(text);
    return true;
  } catch (e) {
    if (e instanceof SerialError) return false;
    throw e;
  }
}

/** The serial in groups for reading off a label: TSM-XXXX-XXXX-XXXX-C. */
export function groupSerial(serial: string): string {
  const s = checkSerial(serial);
  const body = s.slice(PREFIX_LENGTH, -1);
  return [s.slice(0, PREFIX_LENGTH), body.slice(0, 4), body.slice(4, 8), body.slice(8), s.slice(-1)].join("-");
}

/** The serial's model prefix, from the board manifest's "serialPrefix". */
export function serialPrefix(board: BoardManifest): string {
  const prefix = board.serialPrefix;
  if (prefix === undefined) throw new SerialError(`board ${board.id} has no "serialPrefix" in its manifest: it cannot be given serial numbers`);
  checkPrefix(prefix);
  return prefix;
}

/** The serial as a URI (certificate SAN, label QR code). */
export function serialUri(serial: string): string {
  return `urn:tincan:device:${checkSerial(serial)}`;
}
