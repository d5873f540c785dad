// tincan keys gen: a new Ed25519 image signing key (private key 0600, never printed; <file>.pub).

import { generateSigningKey } from "../flash/keys.ts";
import { printJson, UsageError } from "./common.ts";

export function keysGenCommand(opts: { out?: string; force?: boolean; json?: boolean }): void {
  if (!opts.out) throw new UsageError("keys gen: name the private key file with --out FILE");
  const key = generateSigningKey(opts.out, { force: opts.force });
  if (opts.json) return printJson({ keyId: key.keyId, privateKey: key.privateKeyFile, publicKey: key.publicKeyFile, algorithm: "ed25519" });
  process.stdout.write(`${key.privateKeyFile}: new Ed25519 signing key (mode 0600), key id ${key.keyId}; public key in ${key.publicKeyFile}\n`);
}
