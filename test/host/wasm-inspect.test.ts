// Tests of host-tools/sim/wasm-inspect.ts: real modules compiled from AssemblyScript, hand-made
// modules for the corners, and fuzzing (every truncation, random byte flips).
import { test } from "node:test";
import assert from "node:assert/strict";
import asc from "assemblyscript/asc";
import {
  formatSig,
  inspectWasm,
  WasmInspectError,
  type WasmInfo,
} from "../../host-tools/sim/wasm-inspect.ts";

// ---------------------------------------------------------------- helpers

async function compileAS(source: string, options: Record<string, unknown> = {}): Promise<Uint8Array<ArrayBuffer>> {
  const res = await asc.compileString(
    { "input.ts": source },
    { optimizeLevel: 0, runtime: "stub", noAssert: true, ...options },
  );
  if (res.error || !res.binary) {
    throw new Error(`asc failed: ${res.error?.message ?? "no binary"}\n${res.stderr.toString()}`);
  }
  return new Uint8Array(res.binary);
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}
const str = (s: string): number[] => {
  const b = [...new TextEncoder().encode(s)];
  return [...uleb(b.length), ...b];
};
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, payload: number[]): number[] => [id, ...uleb(payload.length), ...payload];
const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const mod = (...sections: number[][]): Uint8Array<ArrayBuffer> => new Uint8Array([...HEADER, ...sections.flat()]);

const I32 = 0x7f;
const I64 = 0x7e;
const functype = (params: number[], results: number[]): number[] => [0x60, ...vec(params.map((p) => [p])), ...vec(results.map((r) => [r]))];

function expectError(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => inspectWasm(bytes),
    (e: unknown) => {
      assert.ok(e instanceof WasmInspectError, `expected WasmInspectError, got ${String(e)}`);
      assert.match(e.message, pattern);
      assert.ok(!e.message.includes("\n"), "message must be one line");
      return true;
    },
  );
}

/** Either a WasmInfo or a WasmInspectError (one line, never the internal-error safety net). */
function inspectOrError(bytes: Uint8Array): WasmInfo | WasmInspectError {
  try {
    return inspectWasm(bytes);
  } catch (e) {
    if (!(e instanceof WasmInspectError)) {
      assert.fail(`inspectWasm threw a non-WasmInspectError: ${e instanceof Error ? e.stack : String(e)}`);
    }
    assert.ok(!e.message.includes("\n"), `message must be one line: ${JSON.stringify(e.message)}`);
    assert.ok(!e.message.startsWith("internal error"), `bounds check missing: ${e.message}`);
    return e;
  }
}

/** Small deterministic PRNG (mulberry32), so a failing case can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRMWARE_LIKE = `
@external("hal", "clock_us") declare function clock_us(): i64;
@external("hal", "log") declare function log(level: i32, ptr: i32, len: i32): void;
@external("hal", "udp_send") declare function udp_send(h: i32, a: i32, d: i32, l: i32): i32;
export const ABI_VERSION: i32 = 1;
export function tincan_abi_version(): i32 { return 1; }
export function tick(now: i64): i64 { log(2, 0, 0); return clock_us() + now; }
export function on_udp(h: i32, len: i32): void { udp_send(h, 0, 16, len); }
const greeting = "hello tincan";
export function greeting_ptr(): usize { return changetype<usize>(greeting); }
export function mix(a: f64, b: i32): f64 { return a * <f64>b; }
`;

let firmwareLike: Promise<Uint8Array<ArrayBuffer>> | undefined;
const getFirmwareLike = (): Promise<Uint8Array<ArrayBuffer>> =>
  (firmwareLike ??= compileAS(FIRMWARE_LIKE, { initialMemory: 3, maximumMemory: 3, debug: true }));

// ---------------------------------------------------------------- real modules

test("an AssemblyScript module: imports with signatures, exports, memory limits", async () => {
  const bytes = await getFirmwareLike();
  assert.ok(WebAssembly.validate(bytes), "fixture must be a valid module");
  const info = inspectWasm(bytes);

  const imports = info.imports.map((i) => `${i.module}.${i.name}:${i.kind}:${i.sig ? formatSig(i.sig) : "-"}`).sort();
  assert.deepEqual(imports, [
    "hal.clock_us:func:() -> i64",
    "hal.log:func:(i32, i32, i32) -> ()",
    "hal.udp_send:func:(i32, i32, i32, i32) -> i32",
  ]);

  assert.deepEqual(info.memories, [{ initial: 3, maximum: 3, shared: false, memory64: false }]);

  const byName = new Map(info.exports.map((e) => [e.name, e]));
  assert.equal(byName.get("memory")?.kind, "memory");
  assert.equal(byName.get("memory")?.index, 0);
  assert.equal(byName.get("ABI_VERSION")?.kind, "global");
  const sigOf = (n: string): string => {
    const e = byName.get(n);
    assert.ok(e, `export ${n} missing`);
    assert.equal(e.kind, "func");
    assert.ok(e.sig, `export ${n} has no signature`);
    return formatSig(e.sig);
  };
  assert.equal(sigOf("tincan_abi_version"), "() -> i32");
  assert.equal(sigOf("tick"), "(i64) -> i64");
  assert.equal(sigOf("on_udp"), "(i32, i32) -> ()");
  assert.equal(sigOf("greeting_ptr"), "() -> i32");
  assert.equal(sigOf("mix"), "(f64, i32) -> f64");
  // Defined functions are indexed after the 3 imported ones.
  for (const n of ["tincan_abi_version", "tick", "on_udp", "greeting_ptr", "mix"]) {
    assert.ok(byName.get(n)!.index >= 3, `${n} index ${byName.get(n)!.index}`);
  }

  // Cross-check the export and import lists against the engine's own reader.
  const m = new WebAssembly.Module(bytes);
  const jsKind = (k: string): string => (k === "function" ? "func" : k);
  assert.deepEqual(
    info.exports.map((e) => [e.name, e.kind]),
    WebAssembly.Module.exports(m).map((e) => [e.name, jsKind(e.kind)]),
  );
  assert.deepEqual(
    info.imports.map((e) => [e.module, e.name, e.kind]),
    WebAssembly.Module.imports(m).map((e) => [e.module, e.name, jsKind(e.kind)]),
  );

  assert.equal(info.totalBytes, bytes.length);
  assert.ok(info.codeBytes > 0 && info.codeBytes < bytes.length);
  assert.ok(info.dataBytes >= "hello tincan".length * 2, `dataBytes ${info.dataBytes}`);
  assert.equal(info.hasStart, false);
});

test("code and data sizes are the section payload sizes", () => {
  // One function () -> () with body `end`; one active data segment of 5 bytes.
  const code = vec([[...uleb(2), 0x00, 0x0b]]);
  const data = vec([[0x00, 0x41, 0x00, 0x0b, ...vec([[1], [2], [3], [4], [5]])]]);
  const bytes = mod(
    section(1, vec([functype([], [])])),
    section(3, vec([[0]])),
    section(5, vec([[0x00, 1]])),
    section(8, [0]),
    section(10, code),
    section(11, data),
  );
  assert.ok(WebAssembly.validate(bytes));
  const info = inspectWasm(bytes);
  assert.equal(info.codeBytes, code.length);
  assert.equal(info.dataBytes, data.length);
  assert.equal(info.hasStart, true);
  assert.deepEqual(info.memories, [{ initial: 1, shared: false, memory64: false }]);
});

test("an empty module and a module of custom sections only", () => {
  assert.deepEqual(inspectWasm(mod()), {
    imports: [],
    exports: [],
    memories: [],
    codeBytes: 0,
    dataBytes: 0,
    hasStart: false,
    totalBytes: 8,
  });
  const info = inspectWasm(mod(section(0, [...str("name"), 1, 2, 3]), section(0, str("other"))));
  assert.equal(info.totalBytes, 8 + 10 + 8);
});

test("imported memories and tags, shared and 64-bit limits are reported", () => {
  const bytes = mod(
    section(1, vec([functype([I32, I64], [I64]), functype([], [])])),
    section(
      2,
      vec([
        [...str("env"), ...str("mem"), 0x02, 0x03, ...uleb(2), ...uleb(16)], // shared, max 16
        [...str("env"), ...str("f"), 0x00, 0x00],
        [...str("env"), ...str("t"), 0x04, 0x00, 0x01],
        [...str("env"), ...str("g"), 0x03, I32, 0x01],
        [...str("env"), ...str("tab"), 0x01, 0x70, 0x00, 0x01],
      ]),
    ),
    section(5, vec([[0x05, ...uleb(0x1_0000_0000), ...uleb(0x2_0000_0000)], [0x04, 7]])),
    section(7, vec([[...str("f"), 0x00, 0x00], [...str("m"), 0x02, 0x01], [...str("tab"), 0x01, 0x00], [...str("t"), 0x04, 0x00]])),
  );
  const info = inspectWasm(bytes);
  assert.deepEqual(info.imports[0], {
    module: "env",
    name: "mem",
    kind: "memory",
    memory: { initial: 2, maximum: 16, shared: true, memory64: false },
  });
  assert.equal(formatSig(info.imports[1]!.sig!), "(i32, i64) -> i64");
  assert.equal(info.imports[2]!.kind, "tag");
  assert.equal(formatSig(info.imports[2]!.sig!), "() -> ()");
  assert.equal(info.imports[3]!.kind, "global");
  assert.equal(info.imports[4]!.kind, "table");
  assert.deepEqual(info.memories, [
    { initial: 0x1_0000_0000, maximum: 0x2_0000_0000, shared: false, memory64: true },
    { initial: 7, shared: false, memory64: true },
  ]);
  assert.deepEqual(
    info.exports.map((e) => [e.name, e.kind, e.index, e.sig && formatSig(e.sig)]),
    [
      ["f", "func", 0, "(i32, i64) -> i64"],
      ["m", "memory", 1, undefined],
      ["tab", "table", 0, undefined],
      ["t", "tag", 0, "() -> ()"],
    ],
  );
});

test("formatSig", () => {
  assert.equal(formatSig({ params: [], results: [] }), "() -> ()");
  assert.equal(formatSig({ params: ["i32", "i32"], results: ["i64"] }), "(i32, i32) -> i64");
  assert.equal(formatSig({ params: ["f64"], results: ["i32", "externref"] }), "(f64) -> (i32, externref)");
});

// ---------------------------------------------------------------- bad input

test("bad headers are refused with a clear message", () => {
  expectError(new Uint8Array([]), /too short/);
  expectError(new Uint8Array([0x00, 0x61, 0x73]), /too short/);
  expectError(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1, 0, 0, 0]), /bad magic/);
  expectError(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x02, 0, 0, 0]), /unsupported binary version 2/);
  expectError(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]), /version/);
  expectError("not bytes" as unknown as Uint8Array, /not a Uint8Array/);
});

test("malformed sections are refused with a clear message", () => {
  // Section length past the end.
  expectError(new Uint8Array([...HEADER, 0x01, 0x10, 0x00]), /runs past the end/);
  // LEB128 overflow: a u32 in 6 bytes, and a 5th byte with bits above 32.
  expectError(new Uint8Array([...HEADER, 0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]), /LEB128 overflows u32/);
  expectError(new Uint8Array([...HEADER, 0x01, 0xff, 0xff, 0xff, 0xff, 0x1f]), /LEB128 overflows u32/);
  // A LEB128 cut short by the end of the file.
  expectError(new Uint8Array([...HEADER, 0x01, 0x80]), /unexpected end inside a LEB128/);
  // A non-function type form (GC struct, 0x5f).
  expectError(mod(section(1, vec([[0x5f, 0x00]]))), /only function types \(0x60\)/);
  // Unknown value type.
  expectError(mod(section(1, vec([[0x60, 0x01, 0x40, 0x00]]))), /unknown value type 0x40/);
  // A count larger than the section.
  expectError(mod(section(1, [...uleb(1000), 0x60])), /type count 1000 exceeds/);
  // A section whose contents are shorter than its declared size.
  expectError(mod(section(1, [...vec([functype([], [])]), 0x00])), /does not match its contents/);
  // Unknown section id, duplicated and out-of-order sections.
  expectError(mod(section(42, [])), /unknown section id 42/);
  expectError(mod(section(1, vec([])), section(1, vec([]))), /duplicated or out of order/);
  expectError(mod(section(3, vec([])), section(1, vec([]))), /duplicated or out of order/);
  // Import with a type index past the type section, and an unknown import kind.
  expectError(mod(section(1, vec([])), section(2, vec([[...str("hal"), ...str("x"), 0x00, 0x05]]))), /type index 5 out of range/);
  expectError(mod(section(2, vec([[...str("hal"), ...str("x"), 0x09]]))), /unknown kind 0x09/);
  // Invalid UTF-8 in a name.
  expectError(mod(section(2, vec([[0x02, 0xc3, 0x28, ...str("x"), 0x00, 0x00]]))), /not valid UTF-8/);
  // Limits flags we do not know.
  expectError(mod(section(5, vec([[0x08, 0x01]]))), /unknown limits flags 0x08/);
  // Exports out of range and duplicated.
  expectError(mod(section(7, vec([[...str("f"), 0x00, 0x00]]))), /refers to func 0, but there are 0/);
  expectError(
    mod(section(5, vec([[0x00, 1]])), section(7, vec([[...str("m"), 0x02, 0x00], [...str("m"), 0x02, 0x00]]))),
    /duplicate export name "m"/,
  );
  // Start function out of range; function count and code count disagree.
  expectError(mod(section(8, [0x03])), /start function 3 out of range/);
  expectError(mod(section(1, vec([functype([], [])])), section(3, vec([[0]]))), /declares 1 functions but the code section has 0/);
  // A custom section without room for its name.
  expectError(mod(section(0, [0x05, 0x61])), /custom section name length 5 runs past the end/);
});

// ---------------------------------------------------------------- fuzz

test("every truncation of a real module gives a WasmInfo or a WasmInspectError", { timeout: 120_000 }, async () => {
  const bytes = await getFirmwareLike();
  let accepted = 0;
  for (let len = 0; len < bytes.length; len++) {
    const prefix = bytes.subarray(0, len);
    const res = inspectOrError(prefix);
    if (!(res instanceof WasmInspectError)) accepted++;
    // A prefix the engine accepts as a module must not be refused by us.
    if (WebAssembly.validate(prefix)) {
      assert.ok(!(res instanceof WasmInspectError), `length ${len}: engine accepts it, we said: ${String(res)}`);
    }
  }
  // The full module and (at least) the bare header are accepted; most prefixes are not.
  assert.ok(!(inspectOrError(bytes) instanceof WasmInspectError));
  assert.ok(accepted >= 1 && accepted < bytes.length / 2, `accepted ${accepted} of ${bytes.length} prefixes`);
});

test("2,000 random byte flips give a WasmInfo or a WasmInspectError", { timeout: 120_000 }, async () => {
  const original = await getFirmwareLike();
  const rand = prng(0x7c0ffee);
  let refused = 0;
  for (let i = 0; i < 2000; i++) {
    const bytes = original.slice();
    const flips = 1 + Math.floor(rand() * 4);
    for (let f = 0; f < flips; f++) {
      const at = Math.floor(rand() * bytes.length);
      bytes[at] = rand() < 0.5 ? Math.floor(rand() * 256) : bytes[at]! ^ (1 << Math.floor(rand() * 8));
    }
    const res = inspectOrError(bytes);
    if (res instanceof WasmInspectError) {
      refused++;
      // What the engine compiles we must not refuse (our reader is structural, never stricter
      // than the engine on the sections it reads).
      assert.ok(!WebAssembly.validate(bytes), `case ${i}: engine accepts it, we said: ${res.message}`);
    }
  }
  assert.ok(refused > 0, "some flips must break the module");
});

test("random garbage after a valid header gives a WasmInfo or a WasmInspectError", { timeout: 120_000 }, () => {
  const rand = prng(42);
  for (let i = 0; i < 2000; i++) {
    const len = Math.floor(rand() * 64);
    const bytes = new Uint8Array(8 + len);
    bytes.set(HEADER);
    for (let j = 8; j < bytes.length; j++) bytes[j] = rand() < 0.3 ? Math.floor(rand() * 14) : Math.floor(rand() * 256);
    inspectOrError(bytes);
  }
});
