// The Tincan app image: what goes into an app slot (app_a / app_b) and what a board's runtime
// checks at boot before it instantiates the module. In the spirit of MCUboot's image format: a
// fixed header, the payload, then a signature trailer (MCUboot's ED25519 TLV as the model).
// See docs/image.md.
//
// All integers little-endian.
//
//   offset  size  field
//   ------  ----  -----------------------------------------------------------------------
//        0     4  magic "TCIM" (0x54 0x43 0x49 0x4D)
//        4     2  header version, u16 = 1
//        6     2  header size, u16 = 128
//        8     2  ABI version the module was built against (boards/ABI.md), u16
//       10     2  flags, u16 = 0 (no flag is defined: any bit set is refused)
//       12    32  board id, ASCII, NUL-padded (non-empty; only NULs after the first NUL)
//       44     1  version major, u8
//       45     1  version minor, u8
//       46     2  version patch, u16
//       48     4  version build, u32 (0 = none; shown as "+BUILD" otherwise)
//       52     4  security counter, u32 (monotonic; a board refuses an image below its own)
//       56     4  module length in bytes, u32
//       60    32  SHA-256 of the module
//       92    36  reserved, must be zero
//      128     n  the WASM module (n = module length)
//    128+n     4  trailer magic "TCSG" (0x54 0x43 0x53 0x47)
//    132+n    32  key id: SHA-256 of the raw 32-byte Ed25519 public key
//    164+n    64  Ed25519 signature over bytes 0 .. 128+n (header + module)
//    228+n        end; an unsigned image ends at 128+n
//
// parseImage checks the structure only and never throws anything but ImageError, whatever the
// bytes. verifyImage adds the module hash, the signature by the trusted key, the board, the ABI
// version and the security counter.

import crypto, { type KeyObject } from "node:crypto";
import type { BoardManifest } from "../boards.ts";

export const IMAGE_MAGIC = 0x4d494354; // "TCIM" as a little-endian u32
export const TRAILER_MAGIC = 0x47534354; // "TCSG"
export const HEADER_VERSION = 1;
export const HEADER_SIZE = 128;
export const BOARD_ID_BYTES = 32;
export const TRAILER_SIZE = 4 + 32 + 64;
const RESERVED_OFFSET = 92;
const U32_MAX = 0xffffffff;

/** An image that cannot be used. The message is one line: the name, then the problem. */
export class ImageError extends Error {
  constructor(message: string) {
    super(message.replace(/\s*[\r\n]+\s*/g, " "));
    this.name = "ImageError";
  }
}

export interface ImageVersion { major: number; minor: number; patch: number; build: number }

export interface ImageFields {
  board: string;
  abiVersion: number;
  version: ImageVersion;
  securityCounter: number;
}

export interface ImageHeader extends ImageFields {
  headerVersion: number;
  headerSize: number;
  flags: number;
  moduleLength: number;
  /** Hex SHA-256 of the module, as the header says. */
  moduleSha256: string;
}

export interface ImageSignature {
  /** Hex SHA-256 of the raw public key. */
  keyId: string;
  signature: Uint8Array;
}

export interface ParsedImage {
  header: ImageHeader;
  module: Uint8Array;
  /** Header + module: what the signature covers. */
  signed: Uint8Array;
  signature?: ImageSignature;
}

export interface VerifyOptions {
  /** Refuse an image built for another board. */
  board?: BoardManifest;
  /** Refuse an image built against another ABI version. */
  abiVersion?: number;
  /** Refuse an image whose security counter is below this (a downgrade). */
  minSecurityCounter?: number;
  name?: string;
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
const sha256 = (b: Uint8Array) => new Uint8Array(crypto.createHash("sha256").update(b).digest());
const short = (id: string) => `${id.slice(0, 8)}...`;
const isUint = (n: number, max: number) => Number.isInteger(n) && n >= 0 && n <= max;

export function formatVersion(v: ImageVersion): string {
  return `${v.major}.${v.minor}.${v.patch}${v.build !== 0 ? `+${v.build}` : ""}`;
}

/** "1.2.3" or "1.2.3+45": major and minor 0..255, patch 0..65535, build 0..2^32-1. */
export function parseVersion(text: string): ImageVersion {
  const m = /^(\d{1,10})\.(\d{1,10})\.(\d{1,10})(?:\+(\d{1,10}))?$/.exec(text.trim());
  if (!m) throw new ImageError(`version "${text}": expected MAJOR.MINOR.PATCH or MAJOR.MINOR.PATCH+BUILD (numbers)`);
  const v = { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), build: m[4] === undefined ? 0 : Number(m[4]) };
  if (v.major > 255 || v.minor > 255) throw new ImageError(`version "${text}": major and minor must be 0..255`);
  if (v.patch > 0xffff) throw new ImageError(`version "${text}": patch must be 0..65535`);
  if (v.build > U32_MAX) throw new ImageError(`version "${text}": build must be 0..4294967295`);
  return v;
}

/** The raw 32-byte Ed25519 public key of a key object (public, or private from which it derives). */
export function rawPublicKey(key: KeyObject): Uint8Array {
  const pub = key.type === "private" ? crypto.createPublicKey(key) : key;
  if (pub.asymmetricKeyType !== "ed25519") throw new ImageError(`the key is ${pub.asymmetricKeyType ?? pub.type}, not Ed25519`);
  const x = pub.export({ format: "jwk" }).x;
  if (typeof x !== "string") throw new ImageError("the Ed25519 key has no public part");
  return new Uint8Array(Buffer.from(x, "base64url"));
}

/** Hex SHA-256 of the raw public key: what the trailer names the signer by. */
export function publicKeyId(key: KeyObject): string {
  return hex(sha256(rawPublicKey(key)));
}

/** Header + module, unsigned. */
export function buildUnsigned(module: Uint8Array, fields: ImageFields): Uint8Array {
  const board = Buffer.from(fields.board, "latin1");
  if (board.length === 0 || board.length > BOARD_ID_BYTES || !/^[\x21-\x7e]+$/.test(fields.board))
    throw new ImageError(`board id "${fields.board}": 1..${BOARD_ID_BYTES} printable ASCII characters`);
  if (!isUint(fields.abiVersion, 0xffff)) throw new ImageError(`ABI version ${fields.abiVersion}: must be 0..65535`);
  if (!isUint(fields.securityCounter, U32_MAX)) throw new ImageError(`security counter ${fields.securityCounter}: must be 0..4294967295`);
  const v = fields.version;
  if (!isUint(v.major, 255) || !isUint(v.minor, 255) || !isUint(v.patch, 0xffff) || !isUint(v.build, U32_MAX))
    throw new ImageError(`version ${v.major}.${v.minor}.${v.patch}+${v.build}: out of range`);
  if (module.length > U32_MAX) throw new ImageError(`module of ${module.length} bytes: too large`);
  const out = new Uint8Array(HEADER_SIZE + module.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, IMAGE_MAGIC, true);
  dv.setUint16(4, HEADER_VERSION, true);
  dv.setUint16(6, HEADER_SIZE, true);
  dv.setUint16(8, fields.abiVersion, true);
  dv.setUint16(10, 0, true);
  out.set(board, 12);
  dv.setUint8(44, v.major);
  dv.setUint8(45, v.minor);
  dv.setUint16(46, v.patch, true);
  dv.setUint32(48, v.build, true);
  dv.setUint32(52, fields.securityCounter, true);
  dv.setUint32(56, module.length, true);
  out.set(sha256(module), 60);
  out.set(module, HEADER_SIZE);
  return out;
}

/** Signs an image (header + module; a trailer already there is replaced). Returns the signed image. */
export function signImage(image: Uint8Array, privateKey: KeyObject, name = "image"): Uint8Array {
  const parsed = parseImage(image, name);
  if (hex(sha256(parsed.module)) !== parsed.header.moduleSha256) throw new ImageError(`${name}: module hash does not match its header (tampered or corrupt)`);
  if (privateKey.type !== "private" || privateKey.asymmetricKeyType !== "ed25519") throw new ImageError(`${name}: the signing key must be an Ed25519 private key`);
  const signature = crypto.sign(null, parsed.signed, privateKey);
  const out = new Uint8Array(parsed.signed.length + TRAILER_SIZE);
  out.set(parsed.signed, 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(parsed.signed.length, TRAILER_MAGIC, true);
  out.set(sha256(rawPublicKey(privateKey)), parsed.signed.length + 4);
  out.set(signature, parsed.signed.length + 36);
  return out;
}

/** Structure checks only. Throws ImageError, and nothing else, on any input. */
export function parseImage(bytes: Uint8Array, name = "image"): ParsedImage {
  try {
    return parseStructure(bytes, name);
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw new ImageError(`${name}: malformed image (${e instanceof Error ? e.message : String(e)})`);
  }
}

function parseStructure(bytes: Uint8Array, name: string): ParsedImage {
  if (!(bytes instanceof Uint8Array)) throw new ImageError(`${name}: not a byte array`);
  if (bytes.length < HEADER_SIZE) throw new ImageError(`${name}: truncated: ${bytes.length} bytes, the header alone is ${HEADER_SIZE}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0, true) !== IMAGE_MAGIC) throw new ImageError(`${name}: not a Tincan image (no "TCIM" magic at the start)`);
  const headerVersion = dv.getUint16(4, true);
  if (headerVersion !== HEADER_VERSION) throw new ImageError(`${name}: header version ${headerVersion} is not supported (this tool reads version ${HEADER_VERSION})`);
  const headerSize = dv.getUint16(6, true);
  if (headerSize !== HEADER_SIZE) throw new ImageError(`${name}: header size ${headerSize}, expected ${HEADER_SIZE}`);
  const flags = dv.getUint16(10, true);
  if (flags !== 0) throw new ImageError(`${name}: unknown header flags 0x${flags.toString(16).padStart(4, "0")} (none are defined)`);
  const idBytes = bytes.subarray(12, 12 + BOARD_ID_BYTES);
  const nul = idBytes.indexOf(0);
  const idLen = nul < 0 ? BOARD_ID_BYTES : nul;
  if (idLen === 0) throw new ImageError(`${name}: the header has no board id`);
  for (let i = 0; i < idLen; i++) {
    if (idBytes[i] < 0x21 || idBytes[i] > 0x7e) throw new ImageError(`${name}: the board id is not printable ASCII (byte 0x${idBytes[i].toString(16).padStart(2, "0")} at offset ${12 + i})`);
  }
  for (let i = idLen; i < BOARD_ID_BYTES; i++) {
    if (idBytes[i] !== 0) throw new ImageError(`${name}: the board id is not NUL-padded (byte at offset ${12 + i} after its end is not zero)`);
  }
  const board = Buffer.from(idBytes.subarray(0, idLen)).toString("latin1");
  for (let i = RESERVED_OFFSET; i < HEADER_SIZE; i++) {
    if (bytes[i] !== 0) throw new ImageError(`${name}: reserved header byte at offset ${i} is not zero`);
  }
  const header: ImageHeader = {
    headerVersion,
    headerSize,
    abiVersion: dv.getUint16(8, true),
    flags,
    board,
    version: { major: dv.getUint8(44), minor: dv.getUint8(45), patch: dv.getUint16(46, true), build: dv.getUint32(48, true) },
    securityCounter: dv.getUint32(52, true),
    moduleLength: dv.getUint32(56, true),
    moduleSha256: hex(bytes.subarray(60, 92)),
  };
  const end = HEADER_SIZE + header.moduleLength;
  if (bytes.length < end)
    throw new ImageError(`${name}: truncated: ${bytes.length} bytes, the header says ${HEADER_SIZE} + a ${header.moduleLength}-byte module = ${end}`);
  const module = bytes.subarray(HEADER_SIZE, end);
  const signed = bytes.subarray(0, end);
  const rest = bytes.length - end;
  if (rest === 0) return { header, module, signed };
  if (rest < 4 || dv.getUint32(end, true) !== TRAILER_MAGIC)
    throw new ImageError(`${name}: ${rest} bytes after the module are not a signature block (no "TCSG" magic at offset ${end})`);
  if (rest < TRAILER_SIZE) throw new ImageError(`${name}: truncated: the signature block is ${rest} bytes, expected ${TRAILER_SIZE}`);
  if (rest > TRAILER_SIZE) throw new ImageError(`${name}: ${rest - TRAILER_SIZE} unexpected bytes after the signature block`);
  return {
    header,
    module,
    signed,
    signature: { keyId: hex(bytes.subarray(end + 4, end + 36)), signature: bytes.slice(end + 36, end + TRAILER_SIZE) },
  };
}

/** Everything a board checks before it runs an image; returns the parsed image or throws ImageError. */
/**
 * Without a key (a host that does not hold the board's trusted key) everything is checked but
 * the signature itself: its block must still be there.
 */
export function verifyImage(bytes: Uint8Array, publicKey: KeyObject | undefined, opts: VerifyOptions = {}): ParsedImage {
  const name = opts.name ?? "image";
  const img = parseImage(bytes, name);
  const h = img.header;
  if (hex(sha256(img.module)) !== h.moduleSha256) throw new ImageError(`${name}: module hash does not match its header (tampered or corrupt)`);
  if (!img.signature) throw new ImageError(`${name}: not signed (no signature block after the module)`);
  if (publicKey) verifySignature(img as ParsedImage & { signature: ImageSignature }, publicKey, name);
  if (opts.board && h.board !== opts.board.id) throw new ImageError(`${name}: built for board ${h.board}, not ${opts.board.id}`);
  if (opts.abiVersion !== undefined && h.abiVersion !== opts.abiVersion)
    throw new ImageError(`${name}: built against ABI version ${h.abiVersion}, the runtime speaks ${opts.abiVersion}`);
  if (opts.minSecurityCounter !== undefined && h.securityCounter < opts.minSecurityCounter)
    throw new ImageError(`${name}: security counter ${h.securityCounter} is below ${opts.minSecurityCounter}: a downgrade, refused`);
  return img;
}

function verifySignature(img: ParsedImage & { signature: ImageSignature }, publicKey: KeyObject, name: string): void {
  let trusted: string;
  try {
    trusted = publicKeyId(publicKey);
  } catch (e) {
    throw new ImageError(`${name}: the trusted key is unusable: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (img.signature.keyId !== trusted)
    throw new ImageError(`${name}: signed by key ${short(img.signature.keyId)}, not by the trusted key ${short(trusted)}`);
  let ok = false;
  try {
    ok = crypto.verify(null, img.signed, publicKey, img.signature.signature);
  } catch {
    ok = false;
  }
  if (!ok) throw new ImageError(`${name}: the signature does not verify (tampered or corrupt)`);
}
