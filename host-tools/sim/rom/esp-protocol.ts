// The ESP serial loader protocol as both of the chip's loaders speak it: the ROM loader and the
// flasher stub esptool uploads. Facts from Espressif's "Serial Protocol" page
// (docs.espressif.com/projects/esptool/en/latest/advanced-topics/serial-protocol.html), the stub's
// sources (github.com/espressif/esp-flasher-stub src/commands.h, src/command_handler.c) and
// esptool's error table; see docs/flash-esp.md.

import { slipEncode } from "../../link/slip.ts";

export const Cmd = {
  FLASH_BEGIN: 0x02,
  FLASH_DATA: 0x03,
  FLASH_END: 0x04,
  MEM_BEGIN: 0x05,
  MEM_END: 0x06,
  MEM_DATA: 0x07,
  SYNC: 0x08,
  WRITE_REG: 0x09,
  READ_REG: 0x0a,
  SPI_SET_PARAMS: 0x0b,
  SPI_ATTACH: 0x0d,
  CHANGE_BAUDRATE: 0x0f,
  FLASH_DEFL_BEGIN: 0x10,
  FLASH_DEFL_DATA: 0x11,
  FLASH_DEFL_END: 0x12,
  SPI_FLASH_MD5: 0x13,
  GET_SECURITY_INFO: 0x14,
  // Flasher stub only.
  ERASE_FLASH: 0xd0,
  ERASE_REGION: 0xd1,
  READ_FLASH: 0xd2,
  RUN_USER_CODE: 0xd3,
} as const;

/** Seed of the XOR checksum over the data of MEM_DATA, FLASH_DATA and FLASH_DEFL_DATA. */
export const CHECKSUM_SEED = 0xef;

/** The 36-byte SYNC payload: 07 07 12 20, then 32 x 0x55. */
export const SYNC_PAYLOAD = Uint8Array.from([0x07, 0x07, 0x12, 0x20, ...new Array<number>(32).fill(0x55)]);

/**
 * Why a command failed, in the emulator's words. Each loader reports it with its own code:
 * the ROM as status 1 and an error byte, the stub as a 16-bit code sent high byte first.
 */
export type Failure =
  | "badLength" // a field or the data length is wrong for the command
  | "badChecksum"
  | "badBlockSize"
  | "badSequence"
  | "unknownCommand"
  | "flashFailed" // the flash operation could not be done (outside the chip, write did not take)
  | "flashVerify" // ROM only: the block read back differs from what was sent
  | "readLength" // ROM only: a read or hash request reaches past the chip
  | "notInFlashMode"
  | "inflate"
  | "notEnoughData"
  | "tooMuchData";

/** ROM loader error bytes ("ROM Loader Errors" in the protocol page). */
const ROM_ERROR: Record<Failure, number> = {
  badLength: 0x05, // "Received message is invalid" (parameters or length field is invalid)
  badChecksum: 0x07, // "Invalid CRC in message"
  badBlockSize: 0x05,
  badSequence: 0x05,
  unknownCommand: 0x05,
  flashFailed: 0x06, // "Failed to act on received message"
  flashVerify: 0x08, // "flash write error": the block read back does not match
  readLength: 0x0a, // "flash read length error"
  notInFlashMode: 0x06,
  inflate: 0x0b, // "Deflate error"
  notEnoughData: 0x05,
  tooMuchData: 0x05,
};

/** Flasher stub response codes (esp-flasher-stub src/commands.h). */
const STUB_CODE: Record<Failure, number> = {
  badLength: 0xc000,
  badChecksum: 0xc100,
  badBlockSize: 0xc200,
  // The stub has no sequence check and no code for one; the emulator checks sequence numbers
  // anyway (a resent block would be written twice) and reports them with the stub's catch-all.
  badSequence: 0xc000,
  unknownCommand: 0xc300, // RESPONSE_INVALID_COMMAND, what the stub answers for a command it lacks
  flashFailed: 0xc400,
  flashVerify: 0xc400,
  readLength: 0xc400,
  notInFlashMode: 0xc600,
  inflate: 0xc700,
  notEnoughData: 0xc800,
  tooMuchData: 0xc900,
};

export type Loader = "rom" | "stub";

/**
 * Status bytes at the end of every response's data: the ESP32-S3 ROM sends four (status, error,
 * two reserved), the stub two (its code, high byte first).
 */
export function statusBytes(loader: Loader, failure?: Failure): Uint8Array {
  if (loader === "rom") return Uint8Array.of(failure === undefined ? 0 : 1, failure === undefined ? 0 : ROM_ERROR[failure], 0, 0);
  const code = failure === undefined ? 0 : STUB_CODE[failure];
  return Uint8Array.of(code >> 8, code & 0xff);
}

/** The code a loader puts on the wire for a failure (for tests and logs). */
export function failureCode(loader: Loader, failure: Failure): number {
  return loader === "rom" ? ROM_ERROR[failure] : STUB_CODE[failure];
}

export interface Request {
  command: number;
  checksum: number;
  data: Uint8Array;
}

/** Why a frame is not a request at all. */
export type FrameProblem = "short" | "direction" | "size";

/** Splits a decoded frame into a request, or says why it is not one. */
export function parseRequest(frame: Uint8Array): Request | FrameProblem {
  if (frame.length < 8) return "short";
  if (frame[0] !== 0x00) return "direction";
  const size = frame[2] | (frame[3] << 8);
  if (frame.length !== 8 + size) return "size";
  return { command: frame[1], checksum: u32(frame, 4), data: frame.subarray(8) };
}

/** One SLIP-framed response: direction 1, the command, size, value, data then status bytes. */
export function encodeResponse(command: number, value: number, data: Uint8Array, status: Uint8Array): Uint8Array {
  const body = new Uint8Array(8 + data.length + status.length);
  body[0] = 0x01;
  body[1] = command;
  const size = data.length + status.length;
  body[2] = size & 0xff;
  body[3] = size >> 8;
  putU32(body, 4, value);
  body.set(data, 8);
  body.set(status, 8 + data.length);
  return slipEncode(body);
}

export function xorChecksum(data: Uint8Array): number {
  let c = CHECKSUM_SEED;
  for (const b of data) c ^= b;
  return c;
}

export function u32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

export function putU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = (v >>> 24) & 0xff;
}

/** The little-endian 32-bit words of a data field (its length must be a multiple of 4). */
export function words(data: Uint8Array): number[] {
  const out: number[] = [];
  for (let at = 0; at + 4 <= data.length; at += 4) out.push(u32(data, at));
  return out;
}
