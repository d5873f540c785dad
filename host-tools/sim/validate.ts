// Checks a firmware module against the ABI and the board before anything runs it, as a
// native runtime must: refuse with one line that names the problem.

import { inspectWasm, WasmInspectError, formatSig, type WasmInfo, type FuncSig } from "./wasm-inspect.ts";
import { HAL_IMPORTS, FIRMWARE_EXPORTS, formatAbiSig, type AbiFunction } from "./abi.ts";
import type { BoardManifest } from "../boards.ts";

export class FirmwareError extends Error {}

const sameSig = (a: FuncSig, b: AbiFunction) =>
  a.params.length === b.params.length && a.results.length === b.results.length &&
  a.params.every((t, i) => t === b.params[i]) && a.results.every((t, i) => t === b.results[i]);

export function validateFirmware(bytes: Uint8Array, board: BoardManifest, name = "firmware"): WasmInfo {
  let info: WasmInfo;
  try {
    info = inspectWasm(bytes);
  } catch (e) {
    if (e instanceof WasmInspectError) throw new FirmwareError(`${name}: not a valid WASM module: ${e.message}`);
    throw e;
  }
  for (const imp of info.imports) {
    const where = `${imp.module}.${imp.name}`;
    if (imp.kind !== "func") throw new FirmwareError(`${name}: imports a ${imp.kind} (${where}); the ABI allows only functions of module "hal"`);
    const abi = imp.module === "hal" ? HAL_IMPORTS[imp.name] : undefined;
    if (!abi) throw new FirmwareError(`${name}: imports ${where}, which is not in boards/ABI.md`);
    if (!imp.sig || !sameSig(imp.sig, abi)) {
      throw new FirmwareError(`${name}: imports ${where} as ${imp.sig ? formatSig(imp.sig) : "?"}, but the ABI says ${formatAbiSig(abi)}`);
    }
  }
  const exports = new Map(info.exports.map((e) => [e.name, e]));
  const mem = exports.get("memory");
  if (!mem || mem.kind !== "memory") throw new FirmwareError(`${name}: does not export its memory as "memory"`);
  if (info.memories.length !== 1) throw new FirmwareError(`${name}: must define exactly one memory (defines ${info.memories.length})`);
  const m = info.memories[0];
  if (m.shared || m.memory64) throw new FirmwareError(`${name}: memory must be a plain 32-bit, unshared memory`);
  if (m.maximum === undefined || m.maximum !== m.initial) {
    throw new FirmwareError(`${name}: memory must be fixed (initial = maximum), but it is ${m.initial} pages up to ${m.maximum ?? "unlimited"}`);
  }
  const budget = board.wasm.memoryPages;
  if (m.initial > budget) {
    throw new FirmwareError(`${name}: memory of ${m.initial} pages (${m.initial * 64} KiB) exceeds board ${board.id}'s ${budget} pages (${budget * 64} KiB)`);
  }
  if (info.codeBytes > board.wasm.codeBytesMax) {
    throw new FirmwareError(`${name}: code of ${info.codeBytes} bytes exceeds board ${board.id}'s budget of ${board.wasm.codeBytesMax} bytes`);
  }
  for (const [exportName, abi] of Object.entries(FIRMWARE_EXPORTS)) {
    const e = exports.get(exportName);
    if (!e || e.kind !== "func") throw new FirmwareError(`${name}: does not export function ${exportName}, which the ABI requires`);
    if (!e.sig || !sameSig(e.sig, abi)) {
      throw new FirmwareError(`${name}: exports ${exportName} as ${e.sig ? formatSig(e.sig) : "?"}, but the ABI says ${formatAbiSig(abi)}`);
    }
  }
  return info;
}
