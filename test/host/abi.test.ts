// boards/ABI.md is the contract: its tables, the simulator's tables and the built modules agree.

import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { HAL_IMPORTS, FIRMWARE_EXPORTS, ABI_VERSION, type AbiFunction } from "../../host-tools/sim/abi.ts";
import { inspectWasm } from "../../host-tools/sim/wasm-inspect.ts";
import { validateFirmware } from "../../host-tools/sim/validate.ts";
import { loadBoard, listBoards } from "../../host-tools/boards.ts";
import { root, firmwareBytes } from "./helpers.ts";

const abiDoc = fs.readFileSync(path.join(root, "boards", "ABI.md"), "utf8");

/** Rows of the markdown table under `heading`: name -> signature. */
function abiTable(heading: string): Map<string, AbiFunction> {
  const start = abiDoc.indexOf(heading);
  assert.ok(start >= 0, `ABI.md has a section "${heading}"`);
  const rows = new Map<string, AbiFunction>();
  const lines = abiDoc.slice(start).split("\n").slice(1);
  let inTable = false;
  for (const line of lines) {
    if (line.startsWith("## ")) break;
    if (!line.startsWith("|")) { if (inTable) break; continue; }
    inTable = true;
    const cells = line.split("|").slice(1, -1).map((c) => c.trim());
    const m = /^`(\w+)`$/.exec(cells[0]);
    if (!m || m[1] === "memory") continue;
    const types = (cell: string) => (cell === "" ? [] : cell.split(",").map((p) => p.trim().split(/\s+/).pop() as "i32" | "i64"));
    rows.set(m[1], { params: types(cells[1]), results: types(cells[2]) });
  }
  return rows;
}

test("ABI.md's import table is the simulator's", () => {
  const doc = abiTable("## Imports (module `hal`)");
  assert.deepEqual([...doc.keys()].sort(), Object.keys(HAL_IMPORTS).sort());
  for (const [name, sig] of doc) assert.deepEqual(sig, HAL_IMPORTS[name], `hal.${name}`);
});

test("ABI.md's export table is the simulator's", () => {
  const doc = abiTable("## Exports");
  assert.deepEqual([...doc.keys()].sort(), Object.keys(FIRMWARE_EXPORTS).sort());
  for (const [name, sig] of doc) assert.deepEqual(sig, FIRMWARE_EXPORTS[name], name);
});

test("only i32 and i64 cross the ABI", () => {
  for (const fn of [...Object.values(HAL_IMPORTS), ...Object.values(FIRMWARE_EXPORTS)]) {
    for (const t of [...fn.params, ...fn.results]) assert.ok(t === "i32" || t === "i64");
  }
});

test("ABI and firmware versions agree everywhere", () => {
  const docVersion = Number(/\*\*ABI version: (\d+)\*\*/.exec(abiDoc)?.[1]);
  assert.equal(docVersion, ABI_VERSION);
  const versionTs = fs.readFileSync(path.join(root, "firmware", "version.ts"), "utf8");
  assert.equal(Number(/ABI_VERSION: i32 = (\d+)/.exec(versionTs)?.[1]), ABI_VERSION);
  const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
  assert.equal(/FIRMWARE_VERSION = "([^"]+)"/.exec(versionTs)?.[1], pkg.version);
  assert.match(abiDoc, new RegExp(`\\|\\s*${ABI_VERSION}\\s*\\|`), "the version history lists the current version");
});

for (const board of ["sim", "tincan-s3", "tincan-h7"]) {
  test(`built firmware for ${board} imports only the ABI and exports all of it`, () => {
    const info = inspectWasm(firmwareBytes(board));
    assert.ok(info.imports.length > 0);
    for (const imp of info.imports) {
      assert.equal(imp.module, "hal", `${imp.module}.${imp.name}`);
      assert.equal(imp.kind, "func");
      assert.deepEqual(imp.sig, HAL_IMPORTS[imp.name], `hal.${imp.name} is in ABI.md with this signature`);
    }
    for (const [name, sig] of Object.entries(FIRMWARE_EXPORTS)) {
      const e = info.exports.find((x) => x.name === name);
      assert.ok(e, `exports ${name}`);
      assert.deepEqual(e.sig, sig, name);
    }
    assert.ok(info.exports.some((e) => e.name === "memory" && e.kind === "memory"));
  });
}

test("firmware memory is fixed and fits the sim and tincan-s3 budgets", () => {
  const info = inspectWasm(firmwareBytes("sim"));
  assert.equal(info.memories.length, 1);
  const [m] = info.memories;
  assert.equal(m.maximum, m.initial, "initial = maximum");
  for (const id of ["sim", "tincan-s3"]) {
    const b = loadBoard(id);
    assert.ok(m.initial <= b.wasm.memoryPages, `${m.initial} pages <= ${id}'s ${b.wasm.memoryPages}`);
    assert.ok(info.codeBytes <= b.wasm.codeBytesMax);
    validateFirmware(firmwareBytes("sim"), b);
  }
});

test("each board's build has exactly that board's memory and passes its validation", () => {
  for (const b of listBoards()) {
    const info = inspectWasm(firmwareBytes(b.id));
    assert.equal(info.memories[0].initial, b.wasm.memoryPages);
    validateFirmware(firmwareBytes(b.id), b);
  }
});
