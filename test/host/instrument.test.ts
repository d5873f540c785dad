// Tests of test/bench/instrument.ts (instruction counting for the benchmarks).
//
// The expected counts are derived independently of the instrumentation: from the instruction
// listing that the AssemblyScript compiler prints for the same module (directly for
// straight-line code, and by executing the listing with the small reference interpreter below
// for code with branches), and by hand from the instruction lists of hand-written modules.
import { test } from "node:test";
import assert from "node:assert/strict";
import asc from "assemblyscript/asc";
import binaryen from "binaryen";
import { instrumentForCounting } from "../bench/instrument.ts";

// ---------------------------------------------------------------- helpers

interface Compiled {
  binary: Uint8Array<ArrayBuffer>;
  text: string;
}

async function compileAS(source: string, optimizeLevel = 0): Promise<Compiled> {
  const res = await asc.compileString(
    { "input.ts": source },
    { optimizeLevel, shrinkLevel: 0, runtime: "stub", noAssert: true },
  );
  if (res.error || !res.binary || res.text === null) {
    throw new Error(`asc failed: ${res.error?.message ?? "no output"}\n${res.stderr.toString()}`);
  }
  return { binary: new Uint8Array(res.binary), text: res.text };
}

function wat(text: string): Uint8Array<ArrayBuffer> {
  const m = binaryen.parseText(text);
  try {
    m.setFeatures(binaryen.Features.All);
    assert.ok(m.validate(), "test module must validate");
    return new Uint8Array(m.emitBinary());
  } finally {
    m.dispose();
  }
}

type Exports = Record<string, (...args: number[]) => number> & {
  __icount_get: () => bigint;
  __icount_reset: () => void;
};

const abortImport = {
  abort(): never {
    throw new Error("abort called");
  },
};

async function instantiate(bytes: Uint8Array<ArrayBuffer>, env: Record<string, unknown> = {}): Promise<Exports> {
  const { instance } = await WebAssembly.instantiate(bytes, { env: { ...abortImport, ...env } });
  return instance.exports as unknown as Exports;
}

async function pair(bytes: Uint8Array<ArrayBuffer>, env: Record<string, unknown> = {}): Promise<{ plain: Exports; counted: Exports }> {
  const instrumented = instrumentForCounting(bytes);
  assert.ok(WebAssembly.validate(instrumented), "instrumented module must validate in the engine");
  return { plain: await instantiate(bytes, env), counted: await instantiate(instrumented, env) };
}

/** Runs one export on the instrumented instance; returns its result and the instructions counted. */
function counted(ex: Exports, name: string, ...args: number[]): { result: number; count: number } {
  ex.__icount_reset();
  const fn = ex[name];
  assert.ok(typeof fn === "function", `export ${name} missing`);
  const result = fn(...args);
  return { result, count: Number(ex.__icount_get()) };
}

// ---------------------------------------------------------------- reference interpreter
//
// Executes the stack-form listing that asc prints (one instruction a line), for the subset of
// instructions small integer programs compile to, counting every executed instruction except
// `end` and `else` — the counting rule of instrument.ts, implemented from the listing alone.

interface Ins {
  op: string;
  args: string[];
}
interface ListedFn {
  params: number;
  results: number;
  body: Ins[];
  /** For block/loop/if at index i: the index of its `else` (if) and `end`. */
  match: Map<number, { else?: number; end: number }>;
}
interface Listing {
  fns: Map<string, ListedFn>;
  /** Internal name -> params/results of imported functions. */
  imports: Map<string, { params: number; results: number }>;
}

function parseListing(text: string): Listing {
  const fns = new Map<string, ListedFn>();
  const imports = new Map<string, { params: number; results: number }>();
  const lines = text.split("\n");
  const countOf = (s: string, what: string): number => s.split(what).length - 1;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const imp = /^ \(import "[^"]*" "[^"]*" \(func (\$\S+)(.*)\)\)$/.exec(line);
    if (imp) {
      imports.set(imp[1]!, { params: countOf(imp[2]!, "(param "), results: countOf(imp[2]!, "(result ") });
      continue;
    }
    const head = /^ \(func (\$\S+)(.*)$/.exec(line);
    if (!head) continue;
    const body: Ins[] = [];
    for (i++; i < lines.length && lines[i] !== " )"; i++) {
      const t = lines[i]!.trim();
      if (t.startsWith("(local ")) continue;
      const [op, ...args] = t.split(/\s+/);
      body.push({ op: op!, args });
    }
    const match = new Map<number, { else?: number; end: number }>();
    const open: number[] = [];
    body.forEach((ins, k) => {
      if (ins.op === "block" || ins.op === "loop" || ins.op === "if") open.push(k);
      else if (ins.op === "else") match.set(open[open.length - 1]!, { else: k, end: -1 });
      else if (ins.op === "end") {
        const s = open.pop()!;
        match.set(s, { ...match.get(s), end: k });
      }
    });
    fns.set(head[1]!, { params: countOf(head[2]!, "(param "), results: countOf(head[2]!, "(result "), body, match });
  }
  return { fns, imports };
}

/** Number of instructions in a function's listing (what straight-line code executes). */
function listingLength(listing: Listing, name: string): number {
  const fn = listing.fns.get(name);
  assert.ok(fn, `no function ${name} in the listing`);
  return fn.body.filter((i) => i.op !== "end" && i.op !== "else").length;
}

class Trap extends Error {}

class Oracle {
  count = 0;
  constructor(
    private readonly listing: Listing,
    private readonly hostImports: Record<string, (...args: number[]) => number> = {},
  ) {}

  run(name: string, args: number[]): number[] {
    const fn = this.listing.fns.get(name);
    if (!fn) {
      const imp = this.listing.imports.get(name);
      const host = this.hostImports[name];
      if (!imp || !host) throw new Error(`oracle: unknown function ${name}`);
      const r = host(...args);
      return imp.results ? [r | 0] : [];
    }
    const locals = [...args];
    const stack: number[] = [];
    interface Label {
      name: string | undefined;
      kind: string;
      start: number;
      end: number;
      height: number;
      arity: number;
    }
    const labels: Label[] = [];
    const pop = (): number => {
      if (stack.length === 0) throw new Error(`oracle: stack underflow in ${name}`);
      return stack.pop()!;
    };
    const local = (a: string | undefined): number => {
      const m = /^\$(\d+)$/.exec(a ?? "");
      if (!m) throw new Error(`oracle: unsupported local ${a}`);
      return Number(m[1]);
    };
    const ret = (): number[] => stack.slice(stack.length - fn.results);
    let pc = 0;
    const branch = (target: string | undefined): void => {
      let idx = labels.length - 1;
      while (idx >= 0 && labels[idx]!.name !== target) idx--;
      if (idx < 0) throw new Error(`oracle: no label ${target}`);
      const l = labels[idx]!;
      if (l.kind === "loop") {
        labels.length = idx + 1;
        stack.length = l.height;
        pc = l.start + 1;
      } else {
        const vals = stack.slice(stack.length - l.arity);
        stack.length = l.height;
        stack.push(...vals);
        labels.length = idx;
        pc = l.end + 1;
      }
    };
    const bin: Record<string, (a: number, b: number) => number> = {
      "i32.add": (a, b) => (a + b) | 0,
      "i32.sub": (a, b) => (a - b) | 0,
      "i32.mul": (a, b) => Math.imul(a, b),
      "i32.div_s": (a, b) => {
        if (b === 0) throw new Trap("divide by zero");
        return (a / b) | 0;
      },
      "i32.rem_s": (a, b) => {
        if (b === 0) throw new Trap("remainder by zero");
        return a % b | 0;
      },
      "i32.and": (a, b) => a & b,
      "i32.or": (a, b) => a | b,
      "i32.xor": (a, b) => a ^ b,
      "i32.shl": (a, b) => a << b,
      "i32.shr_s": (a, b) => a >> b,
      "i32.shr_u": (a, b) => (a >>> b) | 0,
      "i32.eq": (a, b) => +(a === b),
      "i32.ne": (a, b) => +(a !== b),
      "i32.lt_s": (a, b) => +(a < b),
      "i32.gt_s": (a, b) => +(a > b),
      "i32.le_s": (a, b) => +(a <= b),
      "i32.ge_s": (a, b) => +(a >= b),
      "i32.lt_u": (a, b) => +(a >>> 0 < b >>> 0),
      "i32.gt_u": (a, b) => +(a >>> 0 > b >>> 0),
      "i32.le_u": (a, b) => +(a >>> 0 <= b >>> 0),
      "i32.ge_u": (a, b) => +(a >>> 0 >= b >>> 0),
    };
    while (pc < fn.body.length) {
      const { op, args: a } = fn.body[pc]!;
      if (op === "end") {
        labels.pop();
        pc++;
        continue;
      }
      if (op === "else") {
        // The end of a then-arm: continue at the matching `end`, which pops the label.
        pc = labels[labels.length - 1]!.end;
        continue;
      }
      this.count++;
      const hasResult = a.includes("(result");
      if (op in bin) {
        const b = pop();
        stack.push(bin[op]!(pop(), b));
        pc++;
        continue;
      }
      switch (op) {
        case "block":
        case "loop":
          labels.push({ name: a[0]?.startsWith("$") ? a[0] : undefined, kind: op, start: pc, end: fn.match.get(pc)!.end, height: stack.length, arity: hasResult ? 1 : 0 });
          pc++;
          break;
        case "if": {
          const c = pop();
          const m = fn.match.get(pc)!;
          labels.push({ name: a[0]?.startsWith("$") ? a[0] : undefined, kind: op, start: pc, end: m.end, height: stack.length, arity: hasResult ? 1 : 0 });
          pc = c !== 0 ? pc + 1 : m.else !== undefined ? m.else + 1 : m.end;
          break;
        }
        case "br":
          branch(a[0]);
          break;
        case "br_if":
          if (pop() !== 0) branch(a[0]);
          else pc++;
          break;
        case "br_table": {
          const i = pop() >>> 0;
          branch(a[Math.min(i, a.length - 1)]);
          break;
        }
        case "return":
          return ret();
        case "call": {
          const callee = a[0]!;
          const n = this.listing.fns.get(callee)?.params ?? this.listing.imports.get(callee)?.params;
          if (n === undefined) throw new Error(`oracle: unknown callee ${callee}`);
          const callArgs = stack.splice(stack.length - n, n);
          stack.push(...this.run(callee, callArgs));
          pc++;
          break;
        }
        case "local.get":
          stack.push(locals[local(a[0])] ?? 0);
          pc++;
          break;
        case "local.set":
          locals[local(a[0])] = pop();
          pc++;
          break;
        case "local.tee":
          locals[local(a[0])] = stack[stack.length - 1]!;
          pc++;
          break;
        case "i32.const":
          stack.push(Number(a[0]) | 0);
          pc++;
          break;
        case "i32.eqz":
          stack.push(+(pop() === 0));
          pc++;
          break;
        case "select": {
          const c = pop();
          const y = pop();
          const x = pop();
          stack.push(c !== 0 ? x : y);
          pc++;
          break;
        }
        case "drop":
          pop();
          pc++;
          break;
        case "nop":
          pc++;
          break;
        case "unreachable":
          throw new Trap("unreachable");
        default:
          throw new Error(`oracle: unsupported instruction ${op} in ${name}`);
      }
    }
    return ret();
  }

  measure(name: string, args: number[]): { result: number; count: number } {
    this.count = 0;
    const r = this.run(`$input/${name}`, args);
    return { result: r[0] ?? 0, count: this.count };
  }
}

// ---------------------------------------------------------------- the programs

const PROGRAM = `
export function sum(n: i32): i32 { let s = 0; for (let i = 0; i < n; i++) s += i; return s; }
export function straight(a: i32, b: i32): i32 { return (a + b) * (a - 3); }
export function sel(x: i32): i32 { if (x > 10) { return x - 10; } else { return 1 + (x > 5 ? x * 2 : x); } }
function helper(x: i32): i32 { return x * 2 + 1; }
export function twice(x: i32): i32 { return helper(x) + helper(x + 1); }
export function find(n: i32, k: i32): i32 { for (let i = 0; i < n; i++) { if (i == k) break; } return k; }
export function firstDivisor(n: i32): i32 { for (let d = 2; d * d <= n; d++) { if (n % d == 0) return d; } return n; }
export function fib(n: i32): i32 { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
export function classify(x: i32): i32 {
  switch (x) { case 0: return 10; case 1: return 20; case 2: case 3: return 30; case 7: return 70; default: return -1; }
}
export function nested(n: i32): i32 {
  let c = 0;
  for (let i = 0; i < n; i++) { let j = 0; do { c += j ^ i; j++; } while (j < i); }
  return c;
}
@external("env", "probe") declare function probe(x: i32): i32;
export function useProbe(x: i32): i32 { return x * 3 + probe(x + 1) * (x > 2 ? probe(x) : 7); }
`;

const INPUTS: Record<string, number[][]> = {
  sum: [[0], [1], [2], [7], [50]],
  straight: [[3, 4], [-5, 9], [0, 0]],
  sel: [[0], [5], [6], [10], [11], [100]],
  twice: [[3], [-8]],
  find: [[10, 0], [10, 1], [10, 5], [10, 100], [0, 3]],
  firstDivisor: [[2], [9], [15], [49], [97], [1]],
  fib: [[0], [1], [2], [7], [12]],
  classify: [[0], [1], [2], [3], [4], [7], [-1], [1000]],
  nested: [[0], [1], [2], [5], [9]],
  useProbe: [[0], [2], [3], [9]],
};

const probe = (x: number): number => (x * 5 - 1) | 0;

const compiled = new Map<number, Promise<Compiled>>();
const program = (level: number): Promise<Compiled> => {
  let p = compiled.get(level);
  if (!p) compiled.set(level, (p = compileAS(PROGRAM, level)));
  return p;
};

// ---------------------------------------------------------------- tests

for (const level of [0, 3]) {
  test(`-O${level}: results unchanged and counts equal the reference interpreter's`, async () => {
    const { binary, text } = await program(level);
    const { plain, counted: inst } = await pair(binary, { probe });
    const oracle = new Oracle(parseListing(text), { "$input/probe": probe });
    for (const [name, cases] of Object.entries(INPUTS)) {
      for (const args of cases) {
        const want = plain[name]!(...args);
        const got = counted(inst, name, ...args);
        const ref = oracle.measure(name, args);
        const what = `${name}(${args.join(", ")}) at -O${level}`;
        assert.equal(got.result, want, `${what}: result changed`);
        assert.equal(ref.result, want, `${what}: reference interpreter disagrees on the result`);
        assert.equal(got.count, ref.count, `${what}: instruction count`);
        assert.ok(got.count > 0, `${what}: nothing counted`);
      }
    }
  });
}

test("a pure loop's count grows exactly linearly with n", async () => {
  for (const level of [0, 3]) {
    const { binary } = await program(level);
    const { counted: inst } = await pair(binary, { probe });
    const c = (n: number): number => counted(inst, "sum", n).count;
    const n = 37;
    const [c0, c1, c2] = [c(0), c(n), c(2 * n)];
    assert.ok(c1 > c0, `-O${level}: count(n) ${c1} <= count(0) ${c0}`);
    assert.equal(c2 - c1, c1 - c0, `-O${level}: count(0)=${c0} count(n)=${c1} count(2n)=${c2}`);
    assert.equal((c1 - c0) % n, 0, `-O${level}: per-iteration cost is not an integer`);
  }
});

test("the -O0 sum loop costs what its listing says", async () => {
  const { binary, text } = await program(0);
  const body = parseListing(text).fns.get("$input/sum")!.body.map((i) => i.op);
  // Listing: <before loop> loop <header ... if> <then-arm ... br> end end <after loop>.
  const loopAt = body.indexOf("loop");
  const ifAt = body.indexOf("if");
  const armEnd = body.indexOf("end");
  const before = loopAt + 1; // up to and including `loop`, executed once
  const header = ifAt - loopAt; // the condition and `if`, executed n + 1 times
  const arm = armEnd - ifAt - 1; // the loop body and `br`, executed n times
  const after = body.length - armEnd - 2; // after both `end`s, executed once
  const { counted: inst } = await pair(binary, { probe });
  for (const n of [0, 1, 10, 123]) {
    assert.equal(counted(inst, "sum", n).count, before + (n + 1) * header + n * arm + after, `sum(${n})`);
  }
});

test("a straight-line function counts exactly the instructions of its listing", async () => {
  for (const level of [0, 3]) {
    const { binary, text } = await program(level);
    const listing = parseListing(text);
    const { plain, counted: inst } = await pair(binary, { probe });
    const n = listingLength(listing, "$input/straight");
    assert.ok(n >= 7, `-O${level}: listing of straight is ${n} instructions`);
    const r = counted(inst, "straight", 6, 7);
    assert.equal(r.result, plain.straight!(6, 7));
    assert.equal(r.count, n, `-O${level}: straight`);
  }
  // A function calling another: its own instructions plus the callee's, twice (-O0 keeps the calls).
  const { binary, text } = await program(0);
  const listing = parseListing(text);
  const { counted: inst } = await pair(binary, { probe });
  assert.equal(
    counted(inst, "twice", 4).count,
    listingLength(listing, "$input/twice") + 2 * listingLength(listing, "$input/helper"),
  );
});

test("if/else: each arm costs its own instructions", async () => {
  const { binary, text } = await program(0);
  const body = parseListing(text).fns.get("$input/sel")!.body.map((i) => i.op);
  const ifAt = body.indexOf("if");
  const elseAt = body.indexOf("else");
  // then path: the condition and `if`, then the then-arm (up to `else`), which returns.
  const thenPath = ifAt + 1 + (elseAt - ifAt - 1);
  const { plain, counted: inst } = await pair(binary, { probe });
  for (const x of [11, 50]) {
    const r = counted(inst, "sel", x);
    assert.equal(r.result, plain.sel!(x));
    assert.equal(r.count, thenPath, `sel(${x})`);
  }
  // The two else paths differ by the arms of the inner ternary: (x * 2) is 3 instructions, (x) is 1.
  assert.equal(counted(inst, "sel", 6).count - counted(inst, "sel", 5).count, 2);
});

test("hand-written code: early branches out of a run are not counted past the branch", async () => {
  const bytes = wat(`(module
    (func (export "early") (param i32) (result i32)
      ;; block local.get br_if | nop nop nop | i32.const
      (block $b (br_if $b (local.get 0)) (nop) (nop) (nop))
      (i32.const 7))
    (func (export "brValue") (param i32) (result i32)
      ;; block i32.const i32.const local.get br_if | i32.add
      (block $x (result i32)
        (i32.add (i32.const 100) (br_if $x (i32.const 5) (local.get 0)))))
    (func (export "table") (param i32) (result i32)
      ;; block block block local.get br_table | (0:) i32.const return | (1:) i32.const return | (2:) i32.const
      (block $c (block $b (block $a (br_table $a $b $c (local.get 0)))
        (return (i32.const 10)))
        (return (i32.const 20)))
      (i32.const 30))
    (func (export "retInLoop") (param i32) (result i32) (local i32)
      ;; loop | local.get local.get i32.eq if | (then) local.get return | local.get i32.const i32.add local.set br
      (loop $l
        (if (i32.eq (local.get 1) (local.get 0)) (then (return (local.get 1))))
        (local.set 1 (i32.add (local.get 1) (i32.const 1)))
        (br $l))
      (unreachable))
    (func (export "brIfLoop") (param i32) (result i32)
      ;; loop | local.get i32.const i32.sub local.tee br_if | (after the loop) i32.const
      (loop $l
        (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
      (i32.const 1))
  )`);
  const { plain, counted: inst } = await pair(bytes);
  const check = (name: string, arg: number, count: number): void => {
    const r = counted(inst, name, arg);
    assert.equal(r.result, plain[name]!(arg), `${name}(${arg}) result`);
    assert.equal(r.count, count, `${name}(${arg}) count`);
  };
  check("early", 1, 4); // block, local.get, br_if taken, i32.const
  check("early", 0, 7); // ... plus the three nops
  check("brValue", 1, 5); // branch taken with 5: the add never runs
  check("brValue", 0, 6); // not taken: 100 + 5
  check("table", 0, 7); // 3 blocks, local.get, br_table, i32.const 10, return
  check("table", 1, 7); // 3 blocks, local.get, br_table, i32.const 20, return
  check("table", 2, 6); // the default: 3 blocks, local.get, br_table, i32.const 30
  check("table", 9, 6);
  check("retInLoop", 0, 1 + 4 + 2); // loop, header, then-arm
  check("retInLoop", 3, 1 + 3 * (4 + 5) + 4 + 2);
  // brIfLoop(n): loop once, 5 per iteration, the last br_if falls through to i32.const.
  check("brIfLoop", 1, 1 + 5 + 1);
  check("brIfLoop", 5, 1 + 5 * 5 + 1);
});

test("tables, call_indirect and the start function still work after functions are re-created", async () => {
  const bytes = wat(`(module
    (type $un (func (param i32) (result i32)))
    (table 2 funcref)
    (elem (i32.const 0) $double $pick)
    (global $started (mut i32) (i32.const 0))
    (start $init)
    (func $init (global.set $started (i32.const 41)))
    (func $double (param i32) (result i32) (i32.add (local.get 0) (local.get 0)))
    ;; (if (result i32) ...) as the last operand of i32.add: needs a scratch local, so the
    ;; function is re-created with one more local.
    (func $pick (param i32) (result i32)
      (i32.add (i32.const 1) (if (result i32) (local.get 0) (then (i32.const 10)) (else (i32.const 20)))))
    (func (export "started") (result i32) (global.get $started))
    (func (export "via") (param i32 i32) (result i32) (call_indirect (type $un) (local.get 1) (local.get 0))))`);
  const { plain, counted: inst } = await pair(bytes);
  assert.equal(inst.started!(), 41);
  for (const [slot, x] of [[0, 5], [1, 0], [1, 3]] as const) {
    const r = counted(inst, "via", slot, x);
    assert.equal(r.result, plain.via!(slot, x), `via(${slot}, ${x})`);
    // via: local.get local.get call_indirect = 3; double: 3; pick: i32.const local.get if, an arm, i32.add = 5
    assert.equal(r.count, 3 + (slot === 0 ? 3 : 5), `via(${slot}, ${x}) count`);
  }
  assert.throws(() => instrumentForCounting(new Uint8Array([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0])), /not a valid WebAssembly module/);
});

test("host imports count only their call, and their results flow through unchanged", async () => {
  const { binary, text } = await program(0);
  let calls = 0;
  const env = { probe: (x: number): number => (calls++, probe(x)) };
  const { plain, counted: inst } = await pair(binary, env);
  const oracle = new Oracle(parseListing(text), { "$input/probe": probe });
  for (const x of [0, 3, 9]) {
    const want = plain.useProbe!(x);
    calls = 0;
    const r = counted(inst, "useProbe", x);
    assert.equal(r.result, want);
    assert.equal(calls, x > 2 ? 2 : 1, "the instrumented module calls the host as often as the original");
    assert.equal(r.count, oracle.measure("useProbe", [x]).count);
  }
});

test("the instrumented module keeps its exports, memory and data, and adds the counter", async () => {
  const { binary } = await compileAS(
    `const msg = "tincan";
     export function msgPtr(): usize { return changetype<usize>(msg); }
     export function msgLen(): i32 { return msg.length; }
     export function crc(ptr: usize, len: i32): u32 {
       let c: u32 = 0xffffffff;
       for (let i = 0; i < len; i++) {
         c ^= load<u8>(ptr + i);
         for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & (0 - (c & 1)));
       }
       return ~c;
     }`,
    3,
  );
  const instrumented = instrumentForCounting(binary);
  const names = (b: Uint8Array<ArrayBuffer>): string[] => WebAssembly.Module.exports(new WebAssembly.Module(b)).map((e) => `${e.name}:${e.kind}`);
  assert.deepEqual(names(instrumented).sort(), [...names(binary), "__icount_get:function", "__icount_reset:function"].sort());

  const plain = await instantiate(binary);
  const inst = await instantiate(instrumented);
  const mem = (ex: Exports): WebAssembly.Memory => (ex as unknown as { memory: WebAssembly.Memory }).memory;
  const text = (ex: Exports): string =>
    String.fromCharCode(...new Uint16Array(mem(ex).buffer, ex.msgPtr!(), ex.msgLen!()));
  assert.equal(text(inst), "tincan");
  assert.equal(text(inst), text(plain));

  // CRC-32 of the message bytes: same result, and a count exactly linear in the length.
  const ptr = plain.msgPtr!();
  const len = plain.msgLen!() * 2;
  assert.equal(counted(inst, "crc", ptr, len).result, plain.crc!(ptr, len));
  const c = (n: number): number => counted(inst, "crc", ptr, n).count;
  assert.equal(c(2 * 6) - c(6), c(6) - c(0));
  assert.equal(c(6), c(6), "counts are deterministic");

  // The counter accumulates across calls until reset.
  inst.__icount_reset();
  assert.equal(inst.__icount_get(), 0n);
  inst.crc!(ptr, 4);
  const once = inst.__icount_get();
  inst.crc!(ptr, 4);
  assert.equal(inst.__icount_get(), 2n * once);
});

test("refuses modules it cannot count exactly, and a module instrumented twice", () => {
  const eh = wat(`(module
    (tag $e (param i32))
    (func (export "f") (result i32)
      (try (result i32) (do (throw $e (i32.const 1))) (catch $e (pop i32)))))`);
  assert.throws(() => instrumentForCounting(eh), /exception handling is not supported/);

  const once = instrumentForCounting(wat(`(module (func (export "f") (result i32) (i32.const 1)))`));
  assert.throws(() => instrumentForCounting(once), /already instrumented/);
});
