// DIR/ca.json: what kind of key store holds the CA keys and where each key is, the curves, and
// the next CRL number. No secret is ever in it.

import fs from "node:fs";
import path from "node:path";
import { CaError } from "./errors.ts";
import { readText, writeFileAtomic } from "./files.ts";
import { CURVES, type Curve, type KeyRef, type StoreConfig } from "./keystore.ts";

export const CONFIG_FILE = "ca.json";
export const CONFIG_FORMAT = 1;

export interface CaKeyEntry { curve: Curve; key: KeyRef }

export interface CaConfig {
  format: number;
  store: StoreConfig;
  root: CaKeyEntry;
  intermediate: CaKeyEntry;
  nextCrlNumber: number;
  created: string;
}

export const configPath = (dir: string) => path.join(dir, CONFIG_FILE);

export function readConfig(dir: string): CaConfig {
  const file = configPath(dir);
  if (!fs.existsSync(file)) throw new CaError(`${dir}: no CA here (no ${CONFIG_FILE}); make one with tincan ca init --dir ${dir}`);
  let c: CaConfig;
  try {
    c = JSON.parse(readText(file, "the CA configuration"));
  } catch (e) {
    if (e instanceof CaError) throw e;
    throw new CaError(`${file}: not JSON (${(e as Error).message})`);
  }
  const bad = (what: string): never => { throw new CaError(`${file}: ${what}`); };
  if (c.format !== CONFIG_FORMAT) bad(`format ${JSON.stringify(c.format)} is not ${CONFIG_FORMAT}`);
  const kind = (c.store as { kind?: unknown } | undefined)?.kind;
  if (kind !== "file" && kind !== "pkcs11") bad(`store kind ${JSON.stringify(kind)} is not "file" or "pkcs11"`);
  if (c.store.kind === "pkcs11") {
    if (typeof c.store.library !== "string" || c.store.library === "") bad("a pkcs11 store needs its library");
    if (c.store.token === undefined && !Number.isInteger(c.store.slot)) bad("a pkcs11 store needs a token label or a slot index");
  }
  for (const role of ["root", "intermediate"] as const) {
    const e = c[role];
    if (!e || !CURVES.includes(e.curve)) bad(`${role}: curve ${JSON.stringify(e?.curve)} is not ${CURVES.join(" or ")}`);
    const ok = c.store.kind === "file" ? typeof (e.key as { file?: unknown }).file === "string" : typeof (e.key as { id?: unknown }).id === "string";
    if (!ok) bad(`${role}: no key reference for a ${c.store.kind} store`);
  }
  if (!Number.isSafeInteger(c.nextCrlNumber) || c.nextCrlNumber < 1) bad(`nextCrlNumber ${JSON.stringify(c.nextCrlNumber)} is not a positive integer`);
  return c;
}

export function writeConfig(dir: string, c: CaConfig, opts: { replace: boolean }): void {
  writeFileAtomic(configPath(dir), `${JSON.stringify(c, null, 2)}\n`, { replace: opts.replace });
}
