// Board manifests: load boards/<id>.json, validate it against boards/schema.json, then check
// the rules a JSON schema cannot say (flash layout, roles, sizes). Host tools learn every board
// fact from here; nothing about a board is hard-coded elsewhere. See docs/boards.md.

import { readFileSync, readdirSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import type { ErrorObject, ValidateFunction } from "ajv";

export type McuFamily = "esp32s3" | "stm32h7" | "sim";
export type ResetMode = "esp-classic" | "esp-usb-jtag" | "stm32-dtr-rts" | "none";
export type UsbRole = "usb-serial-jtag" | "uart-bridge" | "dfu" | "cdc-acm";
export type PartitionRole =
  | "bootloader"
  | "partition_table"
  | "otadata"
  | "runtime"
  | "app_a"
  | "app_b"
  | "nvs"
  | "identity"
  | "coredump"
  | "storage";

export interface Partition {
  name: string;
  role: string;
  /** Bytes from flash.baseAddress (not an absolute address). */
  offset: number;
  size: number;
}

export interface MemoryRegion {
  name: string;
  address: number;
  bytes: number;
}

/** ESP ROM loader identity, as esptool reads it. */
export interface EspChip {
  name: string;
  /** Chip id of the image header and of GET_SECURITY_INFO. */
  chipId: number;
  /** Register the loader reads to tell chips apart (READ_REG) and the value it holds. */
  magicRegister: number;
  magicValue: number;
}

/** STM32 system-memory bootloader identity (AN2606 / AN3155). */
export interface Stm32Chip {
  name: string;
  /** What the Get ID command (0x02) answers. */
  productId: number;
  /** Where the one-byte bootloader ID lives in system memory, and the IDs known for the part. */
  bootloaderIdAddress: number;
  bootloaderIds: number[];
  /** USART protocol version the Get command (0x00) answers, e.g. 0x31 for V3.1. */
  protocolVersion: number;
  usart: string;
  txPin: string;
  rxPin: string;
}

export interface SimChip {
  name: string;
}

interface RomCommon {
  framing: "8N1" | "8E1";
  romBaud: number;
  defaultBaud: number;
  maxBaud: number;
  reset: ResetMode;
  /** stm32flash `-i` syntax, entry:exit (stm32-usart boards). */
  gpioSequence?: string;
}

export type BoardRom =
  | (RomCommon & { protocol: "esp-serial"; chip: EspChip })
  | (RomCommon & { protocol: "stm32-usart"; chip: Stm32Chip })
  | (RomCommon & { protocol: "sim"; chip: SimChip });

export interface UsbId {
  vid: string;
  pid: string;
  role: string;
  description: string;
  /** How to reset into the ROM loader through this port, when it differs from rom.reset. */
  reset?: ResetMode;
}

export interface BoardManifest {
  id: string;
  name: string;
  /** Model prefix of the board's serial numbers: 3 Crockford base32 characters (docs/provisioning.md). */
  serialPrefix?: string;
  /** The secure element's part and its execution times (the simulator waits them out). */
  secureElement?: { part: string; keygenMs: number; signMs: number };
  mcu: { family: McuFamily; part: string; core: string; clockHz: number; fpu: boolean };
  memory: { sramBytes: number; psramBytes: number; flashBytes: number; regions?: MemoryRegion[] };
  wasm: { runtime: string; memoryPages: number; codeBytesMax: number; memoryRegion?: string };
  flash: { baseAddress: number; eraseBytes: number; bankBytes?: number; partitions: Partition[] };
  rom: BoardRom;
  console: { baud: number };
  usb: UsbId[];
  audio: { sampleRateHz: number; frameMs: number; channels: number; bitsPerSample: number; codecChip: string };
  io: { id: number; name: string; direction: "in" | "out"; pin: string }[];
}

/** A manifest that cannot be used. The message is one line: the file, then the problem. */
export class BoardError extends Error {
  constructor(message: string) {
    super(message.replace(/\s*[\r\n]+\s*/g, " "));
    this.name = "BoardError";
  }
}

/** Roles every board has exactly once. */
const REQUIRED_ROLES = ["bootloader", "runtime", "otadata", "app_a", "app_b", "identity", "nvs"] as const;

/** The ABI's logical pins (gpio_write / gpio_read / on_gpio): the same ids on every board. */
const LOGICAL_IO: readonly { id: number; name: string; direction: "in" | "out" }[] = [
  { id: 0, name: "door_relay", direction: "out" },
  { id: 1, name: "status_led", direction: "out" },
  { id: 2, name: "call_button", direction: "in" },
];

const WASM_PAGE = 65536;
const SCHEMA_FILE = "schema.json";

/** The boards/ folder next to this file's folder (host-tools/ or dist/), or $TINCAN_BOARDS_DIR. */
export function boardsDir(): string {
  const fromEnv = process.env.TINCAN_BOARDS_DIR;
  if (fromEnv !== undefined && fromEnv !== "") return resolve(fromEnv);
  return builtinBoardsDir();
}

function builtinBoardsDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), "..", "boards");
}

/** A path as the messages show it: relative to the working directory when it lies inside it. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
}

let validator: ValidateFunction | undefined;

/** The schema is the program's own (boards/ beside the code), compiled once, whatever dir is read. */
function validate(): ValidateFunction {
  if (validator !== undefined) return validator;
  const path = join(builtinBoardsDir(), SCHEMA_FILE);
  let schema: unknown;
  try {
    schema = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new BoardError(`${shown(path)}: cannot load the board schema: ${describe(err)}`);
  }
  const ajv = new Ajv({ allErrors: false, strict: true });
  validator = ajv.compile(schema as object);
  return validator;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code !== undefined ? `${code} (${err.message})` : err.message;
  }
  return String(err);
}

function schemaMessage(e: ErrorObject): string {
  const where = e.instancePath === "" ? "/" : e.instancePath;
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "additionalProperties":
      return `${where}: unknown field "${String(p.additionalProperty)}" (not in boards/schema.json)`;
    case "required":
      return `${where}: missing field "${String(p.missingProperty)}"`;
    case "enum":
      return `${where} must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
    case "const":
      return `${where} must be ${JSON.stringify(p.allowedValue)}`;
    default:
      return `${where} ${e.message ?? "is invalid"}`;
  }
}

/**
 * Offset of the first JSON syntax error in text (JSON.parse on Node 20 does not always say where).
 * A small recursive-descent scan of RFC 8259 syntax; only run once JSON.parse has failed.
 */
function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const lit = (word: string): void => {
    if (text.startsWith(word, i)) i += word.length;
    else fail();
  };
  const str = (): void => {
    i++; // opening quote
    while (i < text.length && text[i] !== '"') {
      const c = text.charCodeAt(i);
      if (c < 0x20) fail();
      if (text[i] === "\\") {
        i++;
        if (text[i] === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail();
          i += 5;
        } else if (i < text.length && '"\\/bfnrt'.includes(text[i])) i++;
        else fail();
      } else i++;
    }
    if (i >= text.length) fail();
    i++;
  };
  const num = (): void => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i));
    if (m === null) fail();
    else i += m[0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        str();
        ws();
        if (text[i] !== ":") fail();
        i++;
        value();
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "}") {
          i++;
          return;
        } else fail();
      }
    } else if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "]") {
          i++;
          return;
        } else fail();
      }
    } else if (c === '"') str();
    else if (c === "t") lit("true");
    else if (c === "f") lit("false");
    else if (c === "n") lit("null");
    else if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) num();
    else fail();
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
  } catch (at) {
    if (typeof at === "number") return at;
    throw at;
  }
  return i;
}

/** Where JSON.parse failed, as line and column, with V8's own words. */
function jsonErrorMessage(text: string, err: unknown): string {
  const reason = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, " ");
  const before = text.slice(0, jsonErrorOffset(text)).split("\n");
  const line = before.length;
  const column = before[before.length - 1].length + 1;
  return `line ${line}, column ${column}: ${reason}`;
}

const hex = (n: number): string => "0x" + n.toString(16);

/** The rules beyond the schema. Returns the first problem, or undefined. */
function semanticProblem(b: BoardManifest): string | undefined {
  const { flash, memory, wasm } = b;
  const flashEnd = memory.flashBytes;

  if (flash.bankBytes !== undefined && flashEnd % flash.bankBytes !== 0)
    return `/flash/bankBytes ${flash.bankBytes} does not divide /memory/flashBytes ${flashEnd}`;
  if (flash.bankBytes !== undefined && flash.bankBytes % flash.eraseBytes !== 0)
    return `/flash/bankBytes ${flash.bankBytes} is not a multiple of /flash/eraseBytes ${flash.eraseBytes}`;

  const names = new Set<string>();
  const roles = new Map<string, Partition>();
  for (const [i, p] of flash.partitions.entries()) {
    const at = `/flash/partitions/${i} (${p.name})`;
    if (names.has(p.name)) return `${at}: partition name "${p.name}" is used twice`;
    names.add(p.name);
    if (roles.has(p.role)) return `${at}: role "${p.role}" is given twice (also partition "${roles.get(p.role)?.name}")`;
    roles.set(p.role, p);
    if (p.offset % flash.eraseBytes !== 0)
      return `${at}: offset ${hex(p.offset)} is not aligned to the ${flash.eraseBytes}-byte erase unit`;
    if (p.size % flash.eraseBytes !== 0)
      return `${at}: size ${hex(p.size)} is not a multiple of the ${flash.eraseBytes}-byte erase unit`;
    if (p.offset + p.size > flashEnd)
      return `${at}: ends at ${hex(p.offset + p.size)}, past the end of the ${flashEnd}-byte flash (${hex(flashEnd)})`;
    if (flash.bankBytes !== undefined && Math.floor(p.offset / flash.bankBytes) !== Math.floor((p.offset + p.size - 1) / flash.bankBytes))
      return `${at}: crosses a flash bank boundary (banks of ${flash.bankBytes} bytes)`;
  }
  const sorted = [...flash.partitions].sort((x, y) => x.offset - y.offset);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    const cur = sorted[i];
    if (cur.offset < prev.offset + prev.size)
      return `/flash/partitions: "${cur.name}" at ${hex(cur.offset)} overlaps "${prev.name}" (${hex(prev.offset)}..${hex(prev.offset + prev.size)})`;
  }
  for (const role of REQUIRED_ROLES) {
    if (!roles.has(role)) return `/flash/partitions: no partition with role "${role}" (every board needs ${REQUIRED_ROLES.join(", ")})`;
  }
  const a = roles.get("app_a") as Partition;
  const bSlot = roles.get("app_b") as Partition;
  if (a.size !== bSlot.size) return `/flash/partitions: app_a (${a.size} bytes) and app_b (${bSlot.size} bytes) must be the same size`;
  const ota = roles.get("otadata") as Partition;
  // Two copies of the boot-control record, one per erase unit, so erasing one never touches the other.
  if (ota.size !== 2 * flash.eraseBytes)
    return `/flash/partitions: otadata (${ota.size} bytes) must be exactly two erase units (${2 * flash.eraseBytes} bytes)`;
  if (wasm.codeBytesMax > a.size)
    return `/wasm/codeBytesMax ${wasm.codeBytesMax} does not fit an app slot (${a.size} bytes)`;

  const wasmBytes = wasm.memoryPages * WASM_PAGE;
  if (memory.regions !== undefined) {
    const total = memory.regions.reduce((s, r) => s + r.bytes, 0);
    if (total !== memory.sramBytes + memory.psramBytes)
      return `/memory/regions add up to ${total} bytes, not sramBytes + psramBytes = ${memory.sramBytes + memory.psramBytes}`;
    const seen = new Set<string>();
    for (const r of memory.regions) {
      if (seen.has(r.name)) return `/memory/regions: region "${r.name}" is listed twice`;
      seen.add(r.name);
    }
  }
  if (wasm.memoryRegion !== undefined) {
    let room: number | undefined;
    if (memory.regions !== undefined) {
      room = memory.regions.find((r) => r.name === wasm.memoryRegion)?.bytes;
      if (room === undefined)
        return `/wasm/memoryRegion "${wasm.memoryRegion}" is not in /memory/regions (${memory.regions.map((r) => r.name).join(", ")})`;
    } else if (wasm.memoryRegion === "sram") room = memory.sramBytes;
    else if (wasm.memoryRegion === "psram") room = memory.psramBytes;
    else return `/wasm/memoryRegion "${wasm.memoryRegion}" must be "sram" or "psram" when /memory/regions is absent`;
    if (wasmBytes > room)
      return `/wasm/memoryPages ${wasm.memoryPages} (${wasmBytes} bytes) does not fit region "${wasm.memoryRegion}" (${room} bytes)`;
  } else if (wasmBytes > memory.sramBytes + memory.psramBytes) {
    return `/wasm/memoryPages ${wasm.memoryPages} (${wasmBytes} bytes) exceeds the board's RAM`;
  }

  const rom = b.rom;
  if ((b.mcu.family === "sim") !== (rom.protocol === "sim"))
    return `/rom/protocol "${rom.protocol}" does not go with /mcu/family "${b.mcu.family}"`;
  const resets = [rom.reset, ...b.usb.map((u) => u.reset)].filter((r): r is ResetMode => r !== undefined);
  for (const r of resets) {
    if (r.startsWith("esp-") && rom.protocol !== "esp-serial") return `reset "${r}" needs /rom/protocol "esp-serial"`;
    if (r.startsWith("stm32-") && rom.protocol !== "stm32-usart") return `reset "${r}" needs /rom/protocol "stm32-usart"`;
  }
  if (rom.romBaud > rom.maxBaud) return `/rom/romBaud ${rom.romBaud} is above /rom/maxBaud ${rom.maxBaud}`;
  if (rom.defaultBaud > rom.maxBaud) return `/rom/defaultBaud ${rom.defaultBaud} is above /rom/maxBaud ${rom.maxBaud}`;
  if (rom.gpioSequence !== undefined && rom.protocol !== "stm32-usart")
    return `/rom/gpioSequence is only for /rom/protocol "stm32-usart"`;

  const usbSeen = new Set<string>();
  for (const [i, u] of b.usb.entries()) {
    const key = `${u.vid}:${u.pid}`;
    if (usbSeen.has(key)) return `/usb/${i}: ${key} is listed twice`;
    usbSeen.add(key);
  }

  const { sampleRateHz, frameMs } = b.audio;
  if ((sampleRateHz * frameMs) % 1000 !== 0)
    return `/audio: ${frameMs} ms at ${sampleRateHz} Hz is not a whole number of samples`;

  const ioIds = new Set<number>();
  const ioNames = new Set<string>();
  for (const [i, pin] of b.io.entries()) {
    if (ioIds.has(pin.id)) return `/io/${i}: id ${pin.id} is used twice`;
    if (ioNames.has(pin.name)) return `/io/${i}: name "${pin.name}" is used twice`;
    ioIds.add(pin.id);
    ioNames.add(pin.name);
  }
  for (const want of LOGICAL_IO) {
    const got = b.io.find((p) => p.id === want.id);
    if (got === undefined || got.name !== want.name || got.direction !== want.direction)
      return `/io: logical pin ${want.id} must be "${want.name}" (${want.direction}) on every board (ABI gpio ids)`;
  }
  return undefined;
}

/** Load and check one manifest file. */
export function loadBoardFile(path: string): BoardManifest {
  const abs = resolve(path);
  const where = shown(abs);
  let text: string;
  try {
    text = readFileSync(abs, "utf8");
  } catch (err) {
    throw new BoardError(`${where}: cannot read the manifest: ${describe(err)}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new BoardError(`${where}: invalid JSON: ${jsonErrorMessage(text, err)}`);
  }
  const check = validate();
  if (!check(data)) {
    const first = check.errors?.[0];
    throw new BoardError(`${where}: ${first !== undefined ? schemaMessage(first) : "does not match boards/schema.json"}`);
  }
  const board = data as BoardManifest;
  const fileId = basename(abs).replace(/\.json$/i, "");
  if (board.id !== fileId) throw new BoardError(`${where}: /id "${board.id}" must equal the file name "${fileId}"`);
  const problem = semanticProblem(board);
  if (problem !== undefined) throw new BoardError(`${where}: ${problem}`);
  return board;
}

/** Ids of the manifests in dir (file names), without loading them. */
function knownIds(dir: string): string[] {
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch (err) {
    throw new BoardError(`${shown(dir)}: cannot list the boards folder: ${describe(err)}`);
  }
  return files
    .filter((f) => f.endsWith(".json") && f !== SCHEMA_FILE)
    .map((f) => f.slice(0, -".json".length))
    .sort();
}

/** Load boards/<id>.json (or <dir>/<id>.json). */
export function loadBoard(id: string, dir: string = boardsDir()): BoardManifest {
  const known = knownIds(dir);
  if (!known.includes(id)) {
    const list = known.length > 0 ? known.join(", ") : "none";
    throw new BoardError(`${shown(dir)}: unknown board "${id}" (known boards: ${list})`);
  }
  return loadBoardFile(join(dir, `${id}.json`));
}

/** Every manifest in dir, sorted by id. One bad manifest throws. */
export function listBoards(dir: string = boardsDir()): BoardManifest[] {
  return knownIds(dir)
    .map((id) => loadBoardFile(join(dir, `${id}.json`)))
    .sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
}

/** The one partition with this role, or a BoardError. */
export function partition(board: BoardManifest, role: string): Partition {
  const p = board.flash.partitions.find((x) => x.role === role);
  if (p === undefined) {
    const have = board.flash.partitions.map((x) => x.role).join(", ");
    throw new BoardError(`board ${board.id}: no partition with role "${role}" (it has ${have})`);
  }
  return p;
}

/** Samples in one audio frame (320 for 20 ms at 16 kHz). */
export function frameSamples(board: BoardManifest): number {
  return (board.audio.sampleRateHz * board.audio.frameMs) / 1000;
}

/** Boards (and the port's role on each) that list this USB VID:PID. Hex, any case, "0x" optional. */
export function matchUsb(boards: BoardManifest[], vid: string, pid: string): { board: BoardManifest; role: string }[] {
  const norm = (s: string): string => s.trim().toLowerCase().replace(/^0x/, "").padStart(4, "0");
  const v = norm(vid);
  const p = norm(pid);
  const out: { board: BoardManifest; role: string }[] = [];
  for (const board of boards) {
    for (const u of board.usb) {
      if (norm(u.vid) === v && norm(u.pid) === p) out.push({ board, role: u.role });
    }
  }
  return out;
}
