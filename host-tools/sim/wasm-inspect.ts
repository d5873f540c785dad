// A small, dependency-free WebAssembly binary reader.
//
// The simulated board runs this over a firmware module BEFORE instantiating it (boards/ABI.md,
// "Lifecycle" step 1): it lists the imports with their signatures, the exports, the memories and
// the sizes of the code and data sections, so the caller can check them against the ABI and the
// board manifest and refuse a module with a message that names the problem.
//
// It reads the module structure only (type, import, function, memory, export, start; the code and
// data sections by size; every other section is skipped by its length). It does not validate
// function bodies; that stays the engine's job when the module is compiled.
//
// Contract: `inspectWasm` never throws anything but a `WasmInspectError`, whose message is one
// line, on any input whatsoever (truncated, garbage, hostile LEB128s, lengths past the end).

export class WasmInspectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WasmInspectError";
  }
}

export type ValType = "i32" | "i64" | "f32" | "f64" | "v128" | "funcref" | "externref";

export interface FuncSig {
  params: ValType[];
  results: ValType[];
}

export interface MemoryLimits {
  initial: number;
  maximum?: number;
  shared: boolean;
  memory64: boolean;
}

export type ExternKind = "func" | "table" | "memory" | "global" | "tag";

export interface WasmImport {
  module: string;
  name: string;
  kind: ExternKind;
  /** For "func" imports (and "tag" imports: the tag's type). */
  sig?: FuncSig;
  /** For "memory" imports. */
  memory?: MemoryLimits;
}

export interface WasmExport {
  name: string;
  kind: ExternKind;
  /** Index in the kind's index space (imports first, then definitions). */
  index: number;
  /** For funcs (and tags), resolved through the imports and the function section. */
  sig?: FuncSig;
}

export interface WasmInfo {
  imports: WasmImport[];
  exports: WasmExport[];
  /** Memories defined by the module (imported ones are in `imports`). */
  memories: MemoryLimits[];
  /** Size in bytes of the code section payload (0 without one). */
  codeBytes: number;
  /** Size in bytes of the data section payload (0 without one). */
  dataBytes: number;
  hasStart: boolean;
  totalBytes: number;
}

/** `(i32, i32) -> i64`, `() -> ()`, `(i32) -> (i32, i64)`. */
export function formatSig(sig: FuncSig): string {
  const results =
    sig.results.length === 1 ? sig.results[0] : `(${sig.results.join(", ")})`;
  return `(${sig.params.join(", ")}) -> ${results}`;
}

const KINDS: readonly ExternKind[] = ["func", "table", "memory", "global", "tag"];

const VALTYPES: ReadonlyMap<number, ValType> = new Map<number, ValType>([
  [0x7f, "i32"],
  [0x7e, "i64"],
  [0x7d, "f32"],
  [0x7c, "f64"],
  [0x7b, "v128"],
  [0x70, "funcref"],
  [0x6f, "externref"],
]);

const SECTION_NAMES: Record<number, string> = {
  0: "custom",
  1: "type",
  2: "import",
  3: "function",
  4: "table",
  5: "memory",
  6: "global",
  7: "export",
  8: "start",
  9: "element",
  10: "code",
  11: "data",
  12: "data count",
  13: "tag",
};

// The order non-custom sections must appear in (the tag section of the exception-handling
// proposal sits between memory and global).
const SECTION_ORDER: readonly number[] = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11];

const utf8 = new TextDecoder("utf-8", { fatal: true });

function hex(n: number): string {
  return "0x" + n.toString(16).padStart(2, "0");
}

/** A bounds-checked cursor over bytes[pos, end). */
class Reader {
  pos: number;
  end: number;
  context = "module header";

  constructor(
    readonly bytes: Uint8Array,
    pos: number,
    end: number,
  ) {
    this.pos = pos;
    this.end = end;
  }

  fail(what: string, at: number = this.pos): never {
    throw new WasmInspectError(`invalid wasm: ${what} (${this.context}, offset ${at})`);
  }

  remaining(): number {
    return this.end - this.pos;
  }

  u8(): number {
    if (this.pos >= this.end) this.fail("unexpected end");
    return this.bytes[this.pos++]!;
  }

  /** Unsigned LEB128 of at most `bits` bits (32 or 64), as a safe JS number. */
  uleb(bits: 32 | 64 = 32): number {
    const start = this.pos;
    const maxBytes = Math.ceil(bits / 7);
    let result = 0n;
    let shift = 0n;
    for (let i = 0; ; i++) {
      if (this.pos >= this.end) this.fail("unexpected end inside a LEB128", start);
      const b = this.bytes[this.pos++]!;
      if (i === maxBytes - 1) {
        // Last allowed byte: no continuation bit, and no bits beyond `bits`.
        const unused = bits - 7 * (maxBytes - 1); // payload bits left for this byte
        if ((b & 0x80) !== 0 || b >> unused !== 0) this.fail(`LEB128 overflows u${bits}`, start);
      }
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if ((b & 0x80) === 0) break;
    }
    if (result > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`value too large (${result})`, start);
    return Number(result);
  }

  /** A vector count, rejected early when it cannot fit the remaining bytes (>= 1 byte each). */
  count(what: string): number {
    const at = this.pos;
    const n = this.uleb();
    if (n > this.remaining()) this.fail(`${what} count ${n} exceeds the remaining ${this.remaining()} bytes`, at);
    return n;
  }

  skip(n: number): void {
    if (n > this.remaining()) this.fail(`length ${n} runs past the end (${this.remaining()} bytes left)`);
    this.pos += n;
  }

  name(what: string): string {
    const at = this.pos;
    const len = this.uleb();
    if (len > this.remaining()) this.fail(`${what} length ${len} runs past the end`, at);
    const raw = this.bytes.subarray(this.pos, this.pos + len);
    this.pos += len;
    try {
      return utf8.decode(raw);
    } catch {
      return this.fail(`${what} is not valid UTF-8`, at);
    }
  }

  valtype(): ValType {
    const at = this.pos;
    const b = this.u8();
    const t = VALTYPES.get(b);
    if (t === undefined) this.fail(`unknown value type ${hex(b)}`, at);
    return t;
  }

  /** Limits of a memory (or table); flags bit 0 = has maximum, bit 1 = shared, bit 2 = 64-bit. */
  limits(): MemoryLimits {
    const at = this.pos;
    const flags = this.u8();
    if (flags > 0x07) this.fail(`unknown limits flags ${hex(flags)}`, at);
    const memory64 = (flags & 0x04) !== 0;
    const bits = memory64 ? 64 : 32;
    const initial = this.uleb(bits);
    const lim: MemoryLimits = { initial, shared: (flags & 0x02) !== 0, memory64 };
    if (flags & 0x01) lim.maximum = this.uleb(bits);
    return lim;
  }
}

interface SectionHeader {
  id: number;
  start: number;
  end: number;
}

/**
 * Read the structure of a WebAssembly binary. Throws `WasmInspectError` (one line) when the bytes
 * are not a well-formed module, and never anything else.
 */
export function inspectWasm(bytes: Uint8Array): WasmInfo {
  if (!(bytes instanceof Uint8Array)) {
    throw new WasmInspectError("invalid wasm: input is not a Uint8Array");
  }
  try {
    return inspect(bytes);
  } catch (e) {
    if (e instanceof WasmInspectError) throw e;
    // Not expected: every read is bounds-checked. Kept as a safety net so the contract holds;
    // the fuzz tests fail if this path is ever taken.
    const msg = e instanceof Error ? e.message : String(e);
    throw new WasmInspectError(`internal error while reading wasm: ${msg.replace(/\s+/g, " ")}`);
  }
}

function inspect(bytes: Uint8Array): WasmInfo {
  const r = new Reader(bytes, 0, bytes.length);
  if (bytes.length < 8) r.fail(`file too short for a module header (${bytes.length} bytes)`, 0);
  if (bytes[0] !== 0x00 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    r.fail("bad magic (not a WebAssembly binary)", 0);
  }
  const version = bytes[4]! | (bytes[5]! << 8) | (bytes[6]! << 16) | (bytes[7]! << 24);
  if (version !== 1) {
    // 0x0d 0x00 0x01 0x00 is the component-model layer.
    r.fail(`unsupported binary version ${version >>> 0} (only core modules, version 1)`, 4);
  }
  r.pos = 8;

  const types: FuncSig[] = [];
  const imports: WasmImport[] = [];
  const funcTypes: number[] = []; // type index of every function, imports first
  const exports: WasmExport[] = [];
  const memories: MemoryLimits[] = [];
  let importedFuncs = 0;
  let tables = 0;
  let memCount = 0;
  let globals = 0;
  const tagTypes: number[] = [];
  let definedFuncs = 0;
  let codeBodies: number | null = null;
  let codeBytes = 0;
  let dataBytes = 0;
  let hasStart = false;
  let lastOrder = -1;

  const sig = (typeIndex: number, at: number, s: Reader): FuncSig => {
    const t = types[typeIndex];
    if (t === undefined) s.fail(`type index ${typeIndex} out of range (${types.length} types)`, at);
    return t;
  };

  while (r.pos < r.end) {
    r.context = "section header";
    const headerAt = r.pos;
    const id = r.u8();
    const size = r.uleb();
    if (size > r.remaining()) {
      r.fail(`section ${SECTION_NAMES[id] ?? id} size ${size} runs past the end (${r.remaining()} bytes left)`, headerAt);
    }
    const sec: SectionHeader = { id, start: r.pos, end: r.pos + size };
    r.pos = sec.end;

    if (id !== 0) {
      const order = SECTION_ORDER.indexOf(id);
      if (order < 0) r.fail(`unknown section id ${id}`, headerAt);
      if (order <= lastOrder) {
        r.fail(`${SECTION_NAMES[id]} section is duplicated or out of order`, headerAt);
      }
      lastOrder = order;
    }

    const s = new Reader(bytes, sec.start, sec.end);
    s.context = `${SECTION_NAMES[id] ?? "unknown"} section`;

    switch (id) {
      case 0: {
        s.name("custom section name");
        s.pos = s.end;
        break;
      }
      case 1: {
        const n = s.count("type");
        for (let i = 0; i < n; i++) {
          const at = s.pos;
          const form = s.u8();
          if (form !== 0x60) {
            s.fail(`type ${i} has form ${hex(form)}; only function types (0x60) are supported`, at);
          }
          const params: ValType[] = [];
          const np = s.count("parameter");
          for (let j = 0; j < np; j++) params.push(s.valtype());
          const results: ValType[] = [];
          const nr = s.count("result");
          for (let j = 0; j < nr; j++) results.push(s.valtype());
          types.push({ params, results });
        }
        break;
      }
      case 2: {
        const n = s.count("import");
        for (let i = 0; i < n; i++) {
          const module = s.name("import module name");
          const name = s.name("import name");
          const kindAt = s.pos;
          const k = s.u8();
          const kind = KINDS[k];
          if (kind === undefined) s.fail(`import ${JSON.stringify(module + "." + name)} has unknown kind ${hex(k)}`, kindAt);
          const imp: WasmImport = { module, name, kind };
          switch (kind) {
            case "func": {
              const at = s.pos;
              const ti = s.uleb();
              imp.sig = sig(ti, at, s);
              funcTypes.push(ti);
              importedFuncs++;
              break;
            }
            case "table": {
              s.valtype();
              s.limits();
              tables++;
              break;
            }
            case "memory": {
              imp.memory = s.limits();
              memCount++;
              break;
            }
            case "global": {
              s.valtype();
              const at = s.pos;
              const mut = s.u8();
              if (mut > 1) s.fail(`unknown global mutability ${hex(mut)}`, at);
              globals++;
              break;
            }
            case "tag": {
              const at = s.pos;
              const attr = s.u8();
              if (attr !== 0) s.fail(`unknown tag attribute ${hex(attr)}`, at);
              const tiAt = s.pos;
              const ti = s.uleb();
              imp.sig = sig(ti, tiAt, s);
              tagTypes.push(ti);
              break;
            }
          }
          imports.push(imp);
        }
        break;
      }
      case 3: {
        const n = s.count("function");
        for (let i = 0; i < n; i++) {
          const at = s.pos;
          const ti = s.uleb();
          sig(ti, at, s);
          funcTypes.push(ti);
        }
        definedFuncs = n;
        break;
      }
      case 4: {
        // Only the count is needed (to check export indices); entries are skipped.
        tables += s.count("table");
        s.pos = s.end;
        break;
      }
      case 5: {
        const n = s.count("memory");
        for (let i = 0; i < n; i++) memories.push(s.limits());
        memCount += n;
        break;
      }
      case 13: {
        const n = s.count("tag");
        for (let i = 0; i < n; i++) {
          const at = s.pos;
          const attr = s.u8();
          if (attr !== 0) s.fail(`unknown tag attribute ${hex(attr)}`, at);
          const tiAt = s.pos;
          const ti = s.uleb();
          sig(ti, tiAt, s);
          tagTypes.push(ti);
        }
        break;
      }
      case 6: {
        globals += s.count("global");
        s.pos = s.end;
        break;
      }
      case 7: {
        const n = s.count("export");
        const seen = new Set<string>();
        for (let i = 0; i < n; i++) {
          const nameAt = s.pos;
          const name = s.name("export name");
          if (seen.has(name)) s.fail(`duplicate export name ${JSON.stringify(name)}`, nameAt);
          seen.add(name);
          const kindAt = s.pos;
          const k = s.u8();
          const kind = KINDS[k];
          if (kind === undefined) s.fail(`export ${JSON.stringify(name)} has unknown kind ${hex(k)}`, kindAt);
          const idxAt = s.pos;
          const index = s.uleb();
          const space = { func: funcTypes.length, table: tables, memory: memCount, global: globals, tag: tagTypes.length }[kind];
          if (index >= space) {
            s.fail(`export ${JSON.stringify(name)} refers to ${kind} ${index}, but there are ${space}`, idxAt);
          }
          const exp: WasmExport = { name, kind, index };
          if (kind === "func") exp.sig = sig(funcTypes[index]!, idxAt, s);
          if (kind === "tag") exp.sig = sig(tagTypes[index]!, idxAt, s);
          exports.push(exp);
        }
        break;
      }
      case 8: {
        const at = s.pos;
        const fi = s.uleb();
        if (fi >= funcTypes.length) s.fail(`start function ${fi} out of range (${funcTypes.length} functions)`, at);
        hasStart = true;
        break;
      }
      case 10: {
        codeBodies = s.uleb();
        codeBytes = size;
        s.pos = s.end;
        break;
      }
      case 11: {
        dataBytes = size;
        s.pos = s.end;
        break;
      }
      default: {
        // element (9), data count (12): not needed, skipped by length.
        s.pos = s.end;
        break;
      }
    }
    if (s.pos !== s.end) {
      s.fail(`section size ${size} does not match its contents (${s.pos - sec.start} bytes read)`, s.pos);
    }
  }

  if ((codeBodies ?? 0) !== definedFuncs) {
    r.context = "code section";
    r.fail(`the function section declares ${definedFuncs} functions but the code section has ${codeBodies ?? 0} bodies`, r.end);
  }

  return { imports, exports, memories, codeBytes, dataBytes, hasStart, totalBytes: bytes.length };
}
