// The embedded default key store: each CA key an encrypted PKCS#8 PEM file (pkcs8.ts) in the CA
// directory, mode 0600, under one passphrase (TINCAN_CA_PASSPHRASE or the terminal). In memory
// the keys are non-extractable WebCrypto keys of Node's own provider.

import crypto, { webcrypto } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { CaError } from "./errors.ts";
import { writeFileAtomic } from "./files.ts";
import { bufferSource, type CaKeyStore, type Curve, type KeyRef, type KeyRole } from "./keystore.ts";
import { decryptPkcs8, encryptPkcs8 } from "./pkcs8.ts";
import { obtainSecret, PASSPHRASE_VARIABLE } from "./secrets.ts";

export const MIN_PASSPHRASE = 8;
const nodeCrypto = webcrypto as unknown as Crypto;

export class FileKeyStore implements CaKeyStore {
  readonly kind = "file" as const;
  readonly crypto = nodeCrypto;
  #passphrase: string | undefined;

  private constructor(private readonly dir: string, passphrase: string) {
    this.#passphrase = passphrase;
  }

  /** Asks for the passphrase: a new one (at least MIN_PASSPHRASE characters, typed twice) when creating. */
  static async open(dir: string, opts: { creating: boolean }): Promise<FileKeyStore> {
    const passphrase = await obtainSecret({
      variable: PASSPHRASE_VARIABLE,
      what: opts.creating ? "new CA key passphrase" : "CA key passphrase",
      confirm: opts.creating,
      minLength: opts.creating ? MIN_PASSPHRASE : undefined,
    });
    return new FileKeyStore(dir, passphrase);
  }

  private secret(): string {
    if (this.#passphrase === undefined) throw new CaError("the CA key store is sealed: open the CA again");
    return this.#passphrase;
  }

  async generate(role: KeyRole, curve: Curve): Promise<{ ref: KeyRef; keys: CryptoKeyPair }> {
    const { privateKey, publicKey } = crypto.generateKeyPairSync("ec", { namedCurve: curve });
    const file = `${role}.key`;
    const der = privateKey.export({ format: "der", type: "pkcs8" });
    try {
      writeFileAtomic(path.join(this.dir, file), encryptPkcs8(der, this.secret()), { mode: 0o600, replace: false });
      const keys = {
        privateKey: await this.crypto.subtle.importKey("pkcs8", bufferSource(der), { name: "ECDSA", namedCurve: curve }, false, ["sign"]),
        publicKey: await this.crypto.subtle.importKey("spki", bufferSource(publicKey.export({ format: "der", type: "spki" })), { name: "ECDSA", namedCurve: curve }, true, ["verify"]),
      };
      return { ref: { file }, keys };
    } finally {
      der.fill(0);
    }
  }

  async load(role: KeyRole, ref: KeyRef, curve: Curve): Promise<CryptoKey> {
    if (!("file" in ref) || path.basename(ref.file) !== ref.file) throw new CaError(`ca.json: the ${role} key is not a file in the CA directory`);
    const file = path.join(this.dir, ref.file);
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch (e) {
      throw new CaError(`${file}: cannot read the ${role} key (${(e as NodeJS.ErrnoException).code})`);
    }
    if ((st.mode & 0o077) !== 0) throw new CaError(`${file}: permissions ${(st.mode & 0o777).toString(8)} are too open for a CA key (chmod 600 ${file})`);
    const key = decryptPkcs8(fs.readFileSync(file, "utf8"), this.secret(), file);
    if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== (curve === "P-256" ? "prime256v1" : "secp384r1")) {
      throw new CaError(`${file}: not an ECDSA ${curve} key as ca.json says`);
    }
    const der = key.export({ format: "der", type: "pkcs8" });
    try {
      return await this.crypto.subtle.importKey("pkcs8", bufferSource(der), { name: "ECDSA", namedCurve: curve }, false, ["sign"]);
    } finally {
      der.fill(0);
    }
  }

  async discard(ref: KeyRef): Promise<void> {
    if ("file" in ref) fs.rmSync(path.join(this.dir, ref.file), { force: true });
  }

  seal(): void {
    this.#passphrase = undefined;
  }

  close(): void {
    this.seal();
  }
}
