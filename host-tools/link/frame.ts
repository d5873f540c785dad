// Console frames and TLV payloads (boards/CONSOLE.md).
import { crc32 } from './crc32.ts';

export const Kind = { REQUEST: 0x01, RESPONSE: 0x02, EVENT: 0x03 } as const;
export const Command = { HELLO: 0x01, STATS: 0x02 } as const;
export const Status = { OK: 0, UNKNOWN_COMMAND: 1, BAD_REQUEST: 2, BUSY: 3, DENIED: 4, INTERNAL: 5 } as const;

export const HEADER_BYTES = 5;
export const CRC_BYTES = 4;
export const MAX_PAYLOAD = 2048;
export const MIN_FRAME = HEADER_BYTES + CRC_BYTES; // 9
export const MAX_FRAME = MIN_FRAME + MAX_PAYLOAD; // 2057

const STATUS_NAMES = new Map<number, string>(Object.entries(Status).map(([k, v]) => [v, k]));
const COMMAND_NAMES = new Map<number, string>(Object.entries(Command).map(([k, v]) => [v, k]));

/** `OK`, `BUSY`, ... or `status 9` for a code this host does not know. */
export function statusName(code: number): string {
  return STATUS_NAMES.get(code) ?? `status ${code}`;
}

/** `HELLO`, `STATS`, ... or `command 0x2A`. */
export function commandName(code: number): string {
  return COMMAND_NAMES.get(code) ?? `command 0x${code.toString(16).toUpperCase().padStart(2, '0')}`;
}

export interface Frame {
  kind: number;
  command: number;
  id: number;
  status: number;
  payload: Uint8Array;
}

export type FrameErrorReason = 'short' | 'long' | 'crc';

export class FrameError extends Error {
  constructor(readonly reason: FrameErrorReason, message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

export class TlvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlvError';
  }
}

function checkByte(name: string, v: number, max = 0xff): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`frame ${name} must be an integer 0..${max}, got ${v}`);
}

/** Builds the decoded frame bytes (header, payload, CRC); SLIP-encode them to send. */
export function encodeFrame(f: Frame): Uint8Array {
  checkByte('kind', f.kind);
  checkByte('command', f.command);
  checkByte('id', f.id, 0xffff);
  checkByte('status', f.status);
  if (f.payload.length > MAX_PAYLOAD) throw new RangeError(`frame payload is ${f.payload.length} bytes, the console accepts at most ${MAX_PAYLOAD}`);
  const out = new Uint8Array(MIN_FRAME + f.payload.length);
  const dv = new DataView(out.buffer);
  out[0] = f.kind;
  out[1] = f.command;
  dv.setUint16(2, f.id);
  out[4] = f.status;
  out.set(f.payload, HEADER_BYTES);
  const end = HEADER_BYTES + f.payload.length;
  dv.setUint32(end, crc32(out.subarray(0, end)));
  return out;
}

/** Parses decoded frame bytes; throws FrameError for a wrong length or a CRC mismatch. */
export function decodeFrame(bytes: Uint8Array): Frame {
  if (bytes.length < MIN_FRAME) throw new FrameError('short', `frame of ${bytes.length} bytes is shorter than ${MIN_FRAME}`);
  if (bytes.length > MAX_FRAME) throw new FrameError('long', `frame of ${bytes.length} bytes is longer than ${MAX_FRAME}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.length - CRC_BYTES;
  const want = dv.getUint32(end);
  const got = crc32(bytes.subarray(0, end));
  if (want !== got) throw new FrameError('crc', `frame CRC mismatch: carries 0x${hex32(want)}, computed 0x${hex32(got)}`);
  return { kind: bytes[0]!, command: bytes[1]!, id: dv.getUint16(2), status: bytes[4]!, payload: bytes.slice(HEADER_BYTES, end) };
}

function hex32(v: number): string {
  return v.toString(16).toUpperCase().padStart(8, '0');
}

// ---- TLV ------------------------------------------------------------------------------

export interface Tlv {
  tag: number;
  value: Uint8Array;
}

/** Appends TLVs (tag u8, length u16 big-endian, value). */
export class TlvWriter {
  private parts: Uint8Array[] = [];
  private size = 0;

  bytes(tag: number, value: Uint8Array): this {
    checkByte('TLV tag', tag);
    if (value.length > 0xffff) throw new RangeError(`TLV 0x${tag.toString(16)} value of ${value.length} bytes is longer than 65535`);
    const head = new Uint8Array([tag, value.length >> 8, value.length & 0xff]);
    this.parts.push(head, value.slice());
    this.size += 3 + value.length;
    return this;
  }
  string(tag: number, value: string): this {
    return this.bytes(tag, new TextEncoder().encode(value));
  }
  u8(tag: number, v: number): this {
    checkByte('TLV u8 value', v);
    return this.bytes(tag, new Uint8Array([v]));
  }
  u16(tag: number, v: number): this {
    checkByte('TLV u16 value', v, 0xffff);
    return this.bytes(tag, new Uint8Array([v >> 8, v & 0xff]));
  }
  u32(tag: number, v: number): this {
    checkByte('TLV u32 value', v, 0xffffffff);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v);
    return this.bytes(tag, b);
  }
  u64(tag: number, v: number | bigint): this {
    const big = BigInt(v);
    if (big < 0n || big > 0xffffffffffffffffn) throw new RangeError(`TLV u64 value out of range: ${v}`);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, big);
    return this.bytes(tag, b);
  }
  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const p of this.parts) { out.set(p, o); o += p.length; }
    return out;
  }
}

/** Splits a payload into TLVs; throws TlvError if one is cut short. */
export function readTlvs(payload: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  let o = 0;
  while (o < payload.length) {
    if (payload.length - o < 3) throw new TlvError(`truncated TLV at offset ${o}: ${payload.length - o} bytes left, a TLV header needs 3`);
    const tag = payload[o]!;
    const len = (payload[o + 1]! << 8) | payload[o + 2]!;
    if (o + 3 + len > payload.length) throw new TlvError(`truncated TLV 0x${tag.toString(16).padStart(2, '0')} at offset ${o}: length ${len}, only ${payload.length - o - 3} bytes left`);
    out.push({ tag, value: payload.slice(o + 3, o + 3 + len) });
    o += 3 + len;
  }
  return out;
}

// ---- typed fields -------------------------------------------------------------------

type FieldType = 'string' | 'u16' | 'u32' | 'u64';
type FieldValue<T extends FieldType> = T extends 'string' ? string : number;
type Fields = Record<string, { tag: number; type: FieldType }>;
type Decoded<F extends Fields> = { [K in keyof F]: FieldValue<F[K]['type']> };

const WIDTH: Record<Exclude<FieldType, 'string'>, number> = { u16: 2, u32: 4, u64: 8 };

function decodeFields<F extends Fields>(what: string, fields: F, payload: Uint8Array): Decoded<F> {
  const byTag = new Map<number, string>();
  for (const [name, f] of Object.entries(fields)) byTag.set(f.tag, name);
  const got: Record<string, string | number> = {};
  for (const { tag, value } of readTlvs(payload)) {
    const name = byTag.get(tag);
    if (name === undefined) continue; // unknown tags are skipped
    const type = fields[name]!.type;
    if (type === 'string') {
      got[name] = new TextDecoder('utf-8').decode(value);
      continue;
    }
    if (value.length !== WIDTH[type]) throw new TlvError(`${what} field ${name} (tag 0x${hexTag(tag)}) is ${value.length} bytes, expected ${WIDTH[type]} (${type})`);
    const dv = new DataView(value.buffer, value.byteOffset, value.byteLength);
    if (type === 'u16') got[name] = dv.getUint16(0);
    else if (type === 'u32') got[name] = dv.getUint32(0);
    else {
      const big = dv.getBigUint64(0);
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new TlvError(`${what} field ${name} (tag 0x${hexTag(tag)}) = ${big} is too large`);
      got[name] = Number(big);
    }
  }
  for (const [name, f] of Object.entries(fields)) {
    if (!(name in got)) throw new TlvError(`${what} lacks field ${name} (tag 0x${hexTag(f.tag)})`);
  }
  return got as Decoded<F>;
}

function encodeFields<F extends Fields>(fields: F, v: Decoded<F>): Uint8Array {
  const w = new TlvWriter();
  for (const [name, f] of Object.entries(fields)) {
    const x = v[name as keyof F];
    if (f.type === 'string') w.string(f.tag, x as string);
    else w[f.type](f.tag, x as number);
  }
  return w.finish();
}

function hexTag(tag: number): string {
  return tag.toString(16).toUpperCase().padStart(2, '0');
}

const HELLO_FIELDS = {
  firmwareVersion: { tag: 0x01, type: 'string' },
  abiVersion: { tag: 0x02, type: 'u16' },
  boardId: { tag: 0x03, type: 'string' },
  uptimeMs: { tag: 0x04, type: 'u64' },
  maxPayload: { tag: 0x05, type: 'u16' },
} as const satisfies Fields;

const STATS_FIELDS = {
  framesAccepted: { tag: 0x01, type: 'u32' },
  crcErrors: { tag: 0x02, type: 'u32' },
  oversize: { tag: 0x03, type: 'u32' },
  malformed: { tag: 0x04, type: 'u32' },
  unknownCommands: { tag: 0x05, type: 'u32' },
  strayBytes: { tag: 0x06, type: 'u32' },
  audioFrames: { tag: 0x07, type: 'u32' },
} as const satisfies Fields;

export interface Hello {
  firmwareVersion: string;
  abiVersion: number;
  boardId: string;
  uptimeMs: number;
  maxPayload: number;
  /** Present when a bootloader started the firmware from an app slot (ABI 2). */
  boot?: HelloBoot;
}

export interface HelloBoot {
  imageVersion: string;
  slot: 'app_a' | 'app_b';
  /** A test boot: reverted at the next reset unless the firmware confirms it. */
  testing: boolean;
  securityCounter: number;
}

export interface Stats {
  framesAccepted: number;
  crcErrors: number;
  oversize: number;
  malformed: number;
  unknownCommands: number;
  strayBytes: number;
  audioFrames: number;
}

/** Decodes a HELLO response payload; every field is required, unknown tags are skipped. */
export function decodeHello(payload: Uint8Array): Hello {
  const hello: Hello = decodeFields('HELLO response', HELLO_FIELDS, payload);
  const tags = new Map<number, Uint8Array>();
  for (const { tag, value } of readTlvs(payload)) tags.set(tag, value);
  const version = tags.get(0x06), slot = tags.get(0x07), testing = tags.get(0x08), counter = tags.get(0x09);
  if (version && slot?.length === 1 && testing?.length === 1 && counter?.length === 4) {
    hello.boot = {
      imageVersion: new TextDecoder('utf-8').decode(version),
      slot: slot[0] === 0 ? 'app_a' : 'app_b',
      testing: testing[0] === 1,
      securityCounter: new DataView(counter.buffer, counter.byteOffset, 4).getUint32(0),
    };
  }
  return hello;
}

/** Decodes a STATS response payload; every field is required, unknown tags are skipped. */
export function decodeStats(payload: Uint8Array): Stats {
  return decodeFields('STATS response', STATS_FIELDS, payload);
}

/** The HELLO response payload (the device side; for the simulator and tests). */
export function encodeHello(h: Hello): Uint8Array {
  return encodeFields(HELLO_FIELDS, h);
}

/** The STATS response payload (the device side; for the simulator and tests). */
export function encodeStats(s: Stats): Uint8Array {
  return encodeFields(STATS_FIELDS, s);
}
