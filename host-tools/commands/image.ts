// tincan image sign|verify|info: the signed app image (host-tools/flash/image.ts, docs/image.md).

import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import { loadBoard } from "../boards.ts";
import { validateFirmware } from "../sim/validate.ts";
import { ABI_VERSION } from "../sim/abi.ts";
import { buildUnsigned, formatVersion, parseImage, parseVersion, signImage, verifyImage, type ParsedImage } from "../flash/image.ts";
import { keyId, loadPrivateKey, loadPublicKey } from "../flash/keys.ts";
import { printJson, UsageError } from "./common.ts";

function uint(value: string | undefined, what: string, max: number, dflt?: number): number | undefined {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n > max) throw new UsageError(`${what} ${value}: an integer 0..${max}`);
  return n;
}

function readFile(file: string): Uint8Array {
  try {
    return new Uint8Array(fs.readFileSync(file));
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** Temp file + rename: OUT is either the whole image or untouched. */
function writeAtomically(file: string, data: Uint8Array): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(4).toString("hex")}.part`);
  try {
    fs.writeFileSync(tmp, data, { flag: "wx" });
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`${file}: cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

function describe(img: ParsedImage, name: string) {
  const h = img.header;
  return {
    file: name,
    board: h.board,
    version: formatVersion(h.version),
    abiVersion: h.abiVersion,
    securityCounter: h.securityCounter,
    headerVersion: h.headerVersion,
    flags: h.flags,
    moduleBytes: h.moduleLength,
    moduleSha256: h.moduleSha256,
    moduleHashMatches: crypto.createHash("sha256").update(img.module).digest("hex") === h.moduleSha256,
    signed: img.signature !== undefined,
    keyId: img.signature?.keyId ?? null,
  };
}

export interface ImageSignOptions { key: string; board: string; version: string; securityCounter?: string; abi?: string; json?: boolean }

export function imageSignCommand(input: string, output: string, opts: ImageSignOptions): void {
  const version = parseVersion(opts.version);
  const securityCounter = uint(opts.securityCounter, "--security-counter", 0xffffffff, 0) as number;
  const abiVersion = uint(opts.abi, "--abi", 0xffff, ABI_VERSION) as number;
  const board = loadBoard(opts.board);
  const key = loadPrivateKey(opts.key);
  const module = readFile(input);
  validateFirmware(module, board, input);
  const image = signImage(buildUnsigned(module, { board: board.id, abiVersion, version, securityCounter }), key, output);
  writeAtomically(output, image);
  const info = describe(parseImage(image, output), output);
  if (opts.json) return printJson({ ...info, imageBytes: image.length });
  process.stdout.write(`${output}: signed image for board ${info.board}, version ${info.version}, abi ${abiVersion}, security counter ${securityCounter}, module ${module.length} bytes, key ${info.keyId}\n`);
}

export interface ImageVerifyOptions { key: string; board?: string; minCounter?: string; abi?: string; json?: boolean }

export function imageVerifyCommand(file: string, opts: ImageVerifyOptions): void {
  const minSecurityCounter = uint(opts.minCounter, "--min-counter", 0xffffffff);
  const abiVersion = uint(opts.abi, "--abi", 0xffff, ABI_VERSION);
  const board = opts.board === undefined ? undefined : loadBoard(opts.board);
  const publicKey = loadPublicKey(opts.key);
  const img = verifyImage(readFile(file), publicKey, { board, abiVersion, minSecurityCounter, name: file });
  const info = describe(img, file);
  if (opts.json) return printJson({ ok: true, ...info, trustedKeyId: keyId(publicKey) });
  process.stdout.write(`ok: ${file}: board ${info.board}, version ${info.version}, abi ${info.abiVersion}, security counter ${info.securityCounter}, signed by ${info.keyId}\n`);
}

export function imageInfoCommand(file: string, opts: { json?: boolean }): void {
  const info = describe(parseImage(readFile(file), file), file);
  if (opts.json) return printJson(info);
  const lines = [
    `image      ${file}`,
    `board      ${info.board}`,
    `version    ${info.version}`,
    `abi        ${info.abiVersion}`,
    `counter    ${info.securityCounter}`,
    `module     ${info.moduleBytes} bytes, sha256 ${info.moduleSha256}${info.moduleHashMatches ? "" : " (DOES NOT MATCH the module)"}`,
    `signed     ${info.signed ? `yes, key ${info.keyId}` : "no"}`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}
