// Instruction counting for the benchmarks: rewrite a module so that it counts the WebAssembly
// instructions it executes, next to the nanoseconds (which vary from run to run, the count does
// not).
//
//   const counted = instrumentForCounting(wasm);
//   const { instance } = await WebAssembly.instantiate(counted, imports);
//   instance.exports.__icount_reset();
//   instance.exports.some_export(...);
//   const n: bigint = instance.exports.__icount_get();
//
// What is counted. The module is read with binaryen; every node of binaryen's expression tree
// is one executed instruction, the way an interpreter steps through the original code:
// `local.get`, `i32.add`, `call`, `br_if`, `if`, `block`, `loop`, `return`, `nop`, ... each
// count 1 per execution; `end` and `else` count nothing. Three details of the IR:
//   - a labelled block is a real `block` opcode (binaryen's reader keeps the label of every
//     `block` of the binary) and counts 1; an unlabelled block is binaryen's grouping of a
//     sequence (a function body, an `if` arm, a `loop` body) and counts 0. A branch to the label
//     of an `if` is read by binaryen as an extra labelled block inside the arm, which counts 1.
//   - `loop` counts 1 when it is entered; a branch back to it re-enters its body without
//     executing `loop` again (as interpreters do).
//   - binaryen's multivalue glue (tuple.make, tuple.extract) counts 0.
// A callee's instructions are counted in the callee (inclusive counts: an export's count
// includes everything it calls). Imported (host) functions count only their `call`.
//
// How. Each function is cut into runs: maximal stretches of instructions in execution order
// that are always executed entirely once the first one is. A run ends after an instruction
// that may transfer control (br, br_if, br_table, return, return_call*, unreachable, `if`), and
// a new one starts where control may arrive from elsewhere: function entry, a loop body (the
// target of branches back), each `if` arm, after an `if`, after a labelled block (the target of
// branches out of it). A call does not end a run: without exception handling (refused, below)
// the callee either returns to the next instruction or traps. At the start of every run one
//   global.set $__icount (i64.add (global.get $__icount) (i64.const <instructions in the run>))
// is inserted, wrapped in unlabelled blocks (and, where the run starts between an operand and
// the instruction that consumes it, a scratch local holds the operand) so that no label, type
// or evaluation order of the original code changes.
//
// Exactness: exact for every execution that completes normally (returns from the export),
// including early branches, br_table, loops and recursion. The one inexact case: a trap (or an
// exception thrown by a host import) in the middle of a run over-counts the rest of that run.
// Exception handling (try/throw/rethrow) and GC instructions are refused with an error rather
// than counted wrongly.
//
// The instrumented module is not optimised (that would change what is counted), only
// validated. The two functions added are not instrumented themselves:
//   __icount_get(): i64   the count since instantiation or the last reset
//   __icount_reset(): void
import binaryen from "binaryen";

type Ref = number;
type Getter = (expr: Ref) => Ref;
type Setter = (expr: Ref, child: Ref) => void;

/**
 * The expression wrapper classes of binaryen.js (binaryen.Block.getChildAt, ...), which its
 * type declarations leave out. Read from the runtime object and checked at start-up.
 */
type WrapperClass = Record<string, (...args: number[]) => number>;
const B = binaryen as unknown as Record<string, unknown>;

function wrapper(name: string): WrapperClass {
  const c = B[name];
  if (typeof c !== "function" && (typeof c !== "object" || c === null)) {
    throw new Error(`instrument: binaryen.${name} is missing from this binaryen build`);
  }
  return c as unknown as WrapperClass;
}

function exprId(name: string): number {
  const v = B[`${name}Id`];
  if (typeof v !== "number") throw new Error(`instrument: binaryen.${name}Id is missing from this binaryen build`);
  return v;
}

const Block = wrapper("Block");
const If = wrapper("If");
const Loop = wrapper("Loop");
const Const = wrapper("Const");
const Call = wrapper("Call");
const CallIndirect = wrapper("CallIndirect");
const Fn = wrapper("Function");

/** A fixed child slot of a wrapper class, e.g. slot("Binary", "Left"). */
function slot(cls: string, field: string): [Getter, Setter] {
  const w = wrapper(cls);
  const get = w[`get${field}`];
  const set = w[`set${field}`];
  if (typeof get !== "function" || typeof set !== "function") {
    throw new Error(`instrument: binaryen.${cls}.get/set${field} is missing from this binaryen build`);
  }
  return [get as Getter, set as Setter];
}

/** Operand list of a wrapper class with getNumOperands/getOperandAt/setOperandAt. */
function operandSlots(cls: string): (expr: Ref) => [Getter, Setter][] {
  const w = wrapper(cls);
  return (expr) => {
    const n = w.getNumOperands!(expr);
    const slots: [Getter, Setter][] = [];
    for (let i = 0; i < n; i++) {
      slots.push([(e) => w.getOperandAt!(e, i), (e, c) => void w.setOperandAt!(e, i, c)]);
    }
    return slots;
  };
}

interface Kind {
  /** Child slots in evaluation order (a getter may return 0 for an absent optional child). */
  slots: (expr: Ref) => [Getter, Setter][];
  /** Instructions this node counts for itself. */
  cost: number;
  /** True when control may leave the run after this node. */
  endsRun: (expr: Ref) => boolean;
}

const never = (_expr: Ref): boolean => false;
const always = (_expr: Ref): boolean => true;

function fixed(cls: string, ...fields: string[]): (expr: Ref) => [Getter, Setter][] {
  const slots = fields.map((f) => slot(cls, f));
  return () => slots;
}

/** Every expression kind other than block, loop and if, by binaryen expression id. */
const KINDS = new Map<number, Kind>();
{
  const leaf = (): [Getter, Setter][] => [];
  const simple = (name: string, slots: (expr: Ref) => [Getter, Setter][], endsRun = never, cost = 1): void => {
    KINDS.set(exprId(name), { slots, cost, endsRun });
  };
  for (const name of ["Nop", "LocalGet", "GlobalGet", "Const", "MemorySize", "RefNull", "RefFunc", "DataDrop", "AtomicFence", "TableSize"]) {
    simple(name, leaf);
  }
  simple("Unreachable", leaf, always);
  simple("Break", fixed("Break", "Value", "Condition"), always);
  simple("Switch", fixed("Switch", "Value", "Condition"), always);
  simple("Return", fixed("Return", "Value"), always);
  simple("Call", operandSlots("Call"), (e) => Boolean(Call.isReturn!(e)));
  const ciOperands = operandSlots("CallIndirect");
  const ciTarget = slot("CallIndirect", "Target");
  simple("CallIndirect", (e) => [...ciOperands(e), ciTarget], (e) => Boolean(CallIndirect.isReturn!(e)));
  simple("LocalSet", fixed("LocalSet", "Value"));
  simple("GlobalSet", fixed("GlobalSet", "Value"));
  simple("Load", fixed("Load", "Ptr"));
  simple("Store", fixed("Store", "Ptr", "Value"));
  simple("Unary", fixed("Unary", "Value"));
  simple("Binary", fixed("Binary", "Left", "Right"));
  simple("Select", fixed("Select", "IfTrue", "IfFalse", "Condition"));
  simple("Drop", fixed("Drop", "Value"));
  simple("MemoryGrow", fixed("MemoryGrow", "Delta"));
  simple("TableGet", fixed("TableGet", "Index"));
  simple("TableSet", fixed("TableSet", "Index", "Value"));
  simple("TableGrow", fixed("TableGrow", "Value", "Delta"));
  simple("AtomicRMW", fixed("AtomicRMW", "Ptr", "Value"));
  simple("AtomicCmpxchg", fixed("AtomicCmpxchg", "Ptr", "Expected", "Replacement"));
  simple("AtomicWait", fixed("AtomicWait", "Ptr", "Expected", "Timeout"));
  simple("AtomicNotify", fixed("AtomicNotify", "Ptr", "NotifyCount"));
  simple("SIMDExtract", fixed("SIMDExtract", "Vec"));
  simple("SIMDReplace", fixed("SIMDReplace", "Vec", "Value"));
  simple("SIMDShuffle", fixed("SIMDShuffle", "Left", "Right"));
  simple("SIMDTernary", fixed("SIMDTernary", "A", "B", "C"));
  simple("SIMDShift", fixed("SIMDShift", "Vec", "Shift"));
  simple("SIMDLoad", fixed("SIMDLoad", "Ptr"));
  simple("SIMDLoadStoreLane", fixed("SIMDLoadStoreLane", "Ptr", "Vec"));
  simple("MemoryInit", fixed("MemoryInit", "Dest", "Offset", "Size"));
  simple("MemoryCopy", fixed("MemoryCopy", "Dest", "Source", "Size"));
  simple("MemoryFill", fixed("MemoryFill", "Dest", "Value", "Size"));
  simple("RefIsNull", fixed("RefIsNull", "Value"));
  simple("RefAs", fixed("RefAs", "Value"));
  simple("RefEq", fixed("RefEq", "Left", "Right"));
  simple("RefI31", fixed("RefI31", "Value"));
  simple("I31Get", fixed("I31Get", "I31"));
  simple("TupleMake", operandSlots("TupleMake"), never, 0);
  simple("TupleExtract", fixed("TupleExtract", "Tuple"), never, 0);
}

const BLOCK = exprId("Block");
const IF = exprId("If");
const LOOP = exprId("Loop");
const EH = new Set([exprId("Try"), exprId("Throw"), exprId("Rethrow"), exprId("Pop")]);

/** binaryen expression id -> name, for error messages. */
const ID_NAMES = new Map<number, string>();
for (const [k, v] of Object.entries(B)) {
  if (/^[A-Z]\w*Id$/.test(k) && typeof v === "number") ID_NAMES.set(v, k.slice(0, -2));
}

interface Run {
  /** The i64.const of the run's increment, 0 for a run in dead code (no increment). */
  konst: Ref;
  count: number;
}

/** Instruments one function body. */
class FunctionInstrumenter {
  /** A new run must start before the next instruction executes. */
  private pending = true;
  private run: Run = { konst: 0, count: 0 };
  /** Scratch locals by type, appended after the function's own locals. */
  readonly extraVars: number[] = [];
  private readonly scratch = new Map<number, number>();

  constructor(
    private readonly m: binaryen.Module,
    private readonly counter: string,
    private readonly firstFreeLocal: number,
    private readonly fnName: string,
  ) {}

  instrument(body: Ref): Ref {
    this.pending = true;
    const out = this.visit(body);
    this.closeRun();
    return out;
  }

  private closeRun(): void {
    const { konst, count } = this.run;
    if (konst !== 0) {
      Const.setValueI64Low!(konst, count % 0x1_0000_0000 | 0);
      Const.setValueI64High!(konst, Math.floor(count / 0x1_0000_0000) | 0);
    }
  }

  /** Ends the current run, starts a new one, and returns its increment expression. */
  private newRun(): Ref {
    this.closeRun();
    const m = this.m;
    const konst = m.i64.const(0, 0);
    this.run = { konst, count: 0 };
    this.pending = false;
    return m.global.set(this.counter, m.i64.add(m.global.get(this.counter, binaryen.i64), konst));
  }

  private scratchLocal(type: number): number {
    let index = this.scratch.get(type);
    if (index === undefined) {
      index = this.firstFreeLocal + this.extraVars.length;
      this.extraVars.push(type);
      this.scratch.set(type, index);
    }
    return index;
  }

  /** Visits an expression; returns it, or a block that replaces it. */
  private visit(expr: Ref): Ref {
    let entry = 0;
    if (this.pending) entry = this.newRun();
    const out = this.visitNode(expr);
    if (entry === 0) return out;
    return this.m.block(null, [entry, out], binaryen.getExpressionType(out));
  }

  /**
   * Called when a run must start between the last child of an instruction and the instruction
   * itself: puts the increment right after the child (holding its value in a scratch local).
   */
  private afterChild(child: Ref): Ref {
    const type = binaryen.getExpressionType(child);
    if (type === binaryen.unreachable) {
      // The child never completes: what follows is dead code, counted in a run never entered.
      this.closeRun();
      this.run = { konst: 0, count: 0 };
      this.pending = false;
      return child;
    }
    const m = this.m;
    const incr = this.newRun();
    if (type === binaryen.none) return m.block(null, [child, incr], binaryen.none);
    const t = this.scratchLocal(type);
    return m.block(null, [m.local.set(t, child), incr, m.local.get(t, type)], type);
  }

  /** Visits the child slots in evaluation order, replacing children where needed. */
  private visitSlots(expr: Ref, slots: [Getter, Setter][]): void {
    let last: [Getter, Setter] | null = null;
    for (const s of slots) {
      const child = s[0](expr);
      if (child === 0) continue;
      const out = this.visit(child);
      if (out !== child) s[1](expr, out);
      last = s;
    }
    if (this.pending && last !== null) last[1](expr, this.afterChild(last[0](expr)));
  }

  private visitNode(expr: Ref): Ref {
    const id = binaryen.getExpressionId(expr);
    if (id === BLOCK) {
      const named = !!Block.getName!(expr);
      if (named) this.run.count += 1;
      const n = Block.getNumChildren!(expr);
      for (let i = 0; i < n; i++) {
        const child = Block.getChildAt!(expr, i);
        const out = this.visit(child);
        if (out !== child) Block.setChildAt!(expr, i, out);
      }
      if (named) this.pending = true; // branches out of the block arrive after its end
      return expr;
    }
    if (id === LOOP) {
      this.run.count += 1;
      this.pending = true; // branches back arrive at the start of the body
      const body = Loop.getBody!(expr);
      const out = this.visit(body);
      if (out !== body) Loop.setBody!(expr, out);
      return expr;
    }
    if (id === IF) {
      this.visitSlots(expr, [[If.getCondition as Getter, If.setCondition as Setter]]);
      this.run.count += 1;
      const t = If.getIfTrue!(expr);
      this.pending = true;
      const tOut = this.visit(t);
      if (tOut !== t) If.setIfTrue!(expr, tOut);
      const f = If.getIfFalse!(expr);
      if (f !== 0) {
        this.pending = true;
        const fOut = this.visit(f);
        if (fOut !== f) If.setIfFalse!(expr, fOut);
      }
      this.pending = true; // both arms (or the condition's false path) join after the `if`
      return expr;
    }
    const kind = KINDS.get(id);
    if (kind === undefined) {
      const name = ID_NAMES.get(id) ?? `expression id ${id}`;
      const why = EH.has(id) ? " (exception handling is not supported)" : "";
      throw new Error(`instrumentForCounting: cannot count ${name} in function ${this.fnName}${why}`);
    }
    this.visitSlots(expr, kind.slots(expr));
    this.run.count += kind.cost;
    if (kind.endsRun(expr)) this.pending = true;
    return expr;
  }
}

function uniqueName(taken: (name: string) => boolean, base: string): string {
  if (!taken(base)) return base;
  for (let i = 1; ; i++) if (!taken(`${base}_${i}`)) return `${base}_${i}`;
}

/**
 * Returns a copy of `wasm` that counts its executed instructions, with two more exports:
 * `__icount_get(): i64` and `__icount_reset(): void`. See the comment at the top of this file for
 * what is counted and how exact it is. Throws an Error when the module cannot be read or uses
 * instructions that cannot be counted exactly.
 */
export function instrumentForCounting(wasm: Uint8Array): Uint8Array<ArrayBuffer> {
  // binaryen's reader aborts on malformed input; let the engine refuse it with a clean error.
  if (!WebAssembly.validate(wasm as Uint8Array<ArrayBuffer>)) {
    throw new Error("instrumentForCounting: not a valid WebAssembly module");
  }
  const m = binaryen.readBinary(wasm);
  try {
    m.setFeatures(binaryen.Features.All);
    if (m.getExport("__icount_get") !== 0 || m.getExport("__icount_reset") !== 0) {
      throw new Error("instrumentForCounting: the module is already instrumented (exports __icount_get)");
    }
    const counter = uniqueName((n) => m.getGlobal(n) !== 0, "__icount");
    m.addGlobal(counter, binaryen.i64, true, m.i64.const(0, 0));

    interface Rewrite {
      info: binaryen.FunctionInfo;
      body: Ref;
      extraVars: number[];
    }
    const funcs: Ref[] = [];
    for (let i = 0; i < m.getNumFunctions(); i++) funcs.push(m.getFunctionByIndex(i));
    const rewrites: Rewrite[] = [];
    for (const f of funcs) {
      const info = binaryen.getFunctionInfo(f);
      if (!info.body) continue; // an import
      const numLocals = Fn.getNumLocals!(f);
      const fi = new FunctionInstrumenter(m, counter, numLocals, info.name);
      const body = fi.instrument(info.body);
      if (fi.extraVars.length === 0) {
        if (body !== info.body) Fn.setBody!(f, body);
      } else {
        rewrites.push({ info, body, extraVars: fi.extraVars });
      }
    }
    // binaryen.js cannot add locals to a function: re-create those that need scratch locals
    // (references to functions are by name, so calls, exports, tables and start still hold).
    for (const { info, body, extraVars } of rewrites) {
      m.removeFunction(info.name);
      m.addFunction(info.name, info.params, info.results, [...info.vars, ...extraVars], body);
    }

    const getName = uniqueName((n) => m.getFunction(n) !== 0, "__icount_get");
    const resetName = uniqueName((n) => m.getFunction(n) !== 0, "__icount_reset");
    m.addFunction(getName, binaryen.none, binaryen.i64, [], m.global.get(counter, binaryen.i64));
    m.addFunction(resetName, binaryen.none, binaryen.none, [], m.global.set(counter, m.i64.const(0, 0)));
    m.addFunctionExport(getName, "__icount_get");
    m.addFunctionExport(resetName, "__icount_reset");

    if (!m.validate()) {
      throw new Error("instrumentForCounting: the instrumented module does not validate (binaryen printed why)");
    }
    return new Uint8Array(m.emitBinary());
  } finally {
    m.dispose();
  }
}
