// Image signing keys: Ed25519, the private key as PKCS#8 PEM readable by its owner only (0600,
// from the moment the file exists), the public key next to it as <file>.pub (SPKI PEM). The
// private key is never printed. See docs/image.md.

import crypto, { type KeyObject } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { publicKeyId } from "./image.ts";

/** A key file that cannot be used or written. The message is one line. */
export class KeyError extends Error {
  constructor(message: string) {
    super(message.replace(/\s*[\r\n]+\s*/g, " "));
    this.name = "KeyError";
  }
}

const code = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e));

/** Hex SHA-256 of the raw 32-byte Ed25519 public key. */
export function keyId(publicKey: KeyObject): string {
  try {
    return publicKeyId(publicKey);
  } catch (e) {
    throw new KeyError((e as Error).message);
  }
}

/** Writes data to file with the given mode: O_EXCL on the file itself, or (overwrite) a 0600
 *  O_EXCL temp file renamed over it, so the file never exists with looser permissions or half-written. */
function writeFileSafely(file: string, data: string, mode: number, overwrite: boolean): void {
  const target = overwrite ? path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(4).toString("hex")}.part`) : file;
  let fd: number | undefined;
  try {
    fd = fs.openSync(target, "wx", mode);
    fs.fchmodSync(fd, mode);
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    if (overwrite) fs.renameSync(target, file);
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    const exists = (e as NodeJS.ErrnoException).code === "EEXIST" && target === file;
    if (!exists) fs.rmSync(target, { force: true });
    if (exists) throw new KeyError(`${file}: already exists; not overwriting a key (use --force to replace it)`);
    throw new KeyError(`${file}: cannot write (${code(e)})`);
  }
}

export interface GeneratedKey { keyId: string; privateKeyFile: string; publicKeyFile: string }

/** A new Ed25519 signing key: `file` (PKCS#8 PEM, 0600) and `file.pub` (SPKI PEM). */
export function generateSigningKey(file: string, opts: { force?: boolean } = {}): GeneratedKey {
  const force = Boolean(opts.force);
  const pubFile = `${file}.pub`;
  if (!force) {
    for (const f of [file, pubFile]) {
      if (fs.existsSync(f)) throw new KeyError(`${f}: already exists; not overwriting a key (use --force to replace it)`);
    }
  }
  const { privateKey, publicKey } = crypto.generateKeyPairSync("ed25519");
  const priv = privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  const pub = publicKey.export({ format: "pem", type: "spki" }).toString();
  writeFileSafely(file, priv, 0o600, force);
  try {
    writeFileSafely(pubFile, pub, 0o644, force);
  } catch (e) {
    if (!force) fs.rmSync(file, { force: true });
    throw e;
  }
  return { keyId: keyId(publicKey), privateKeyFile: file, publicKeyFile: pubFile };
}

function readKeyFile(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new KeyError(`${file}: cannot read the key (${code(e)})`);
  }
}

/** The Ed25519 private key in file; refuses a file that group or others can read (like ssh). */
export function loadPrivateKey(file: string): KeyObject {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw new KeyError(`${file}: cannot read the key (${code(e)})`);
  }
  if (!st.isFile()) throw new KeyError(`${file}: not a regular file`);
  if (process.platform !== "win32" && (st.mode & 0o077) !== 0) {
    const mode = (st.mode & 0o777).toString(8).padStart(4, "0");
    throw new KeyError(`${file}: permissions ${mode} are too open: a signing key must be readable by its owner only (chmod 600 ${file})`);
  }
  const text = readKeyFile(file);
  let key: KeyObject;
  try {
    key = crypto.createPrivateKey(text);
  } catch {
    throw new KeyError(`${file}: not a private key in PEM (PKCS#8) form`);
  }
  if (key.asymmetricKeyType !== "ed25519") throw new KeyError(`${file}: a ${key.asymmetricKeyType} key, not Ed25519`);
  return key;
}

/** The Ed25519 public key in file: a .pub (SPKI PEM), or a private key file it derives from. */
export function loadPublicKey(file: string): KeyObject {
  const text = readKeyFile(file);
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) return crypto.createPublicKey(loadPrivateKey(file));
  let key: KeyObject;
  try {
    key = crypto.createPublicKey(text);
  } catch {
    throw new KeyError(`${file}: not a public key in PEM (SPKI) form`);
  }
  if (key.asymmetricKeyType !== "ed25519") throw new KeyError(`${file}: a ${key.asymmetricKeyType} key, not Ed25519`);
  return key;
}

/** The development signing key (docs/image.md): $TINCAN_DEV_KEY or .tincan/dev.key, made on first use. */
export function devSigningKey(file = process.env.TINCAN_DEV_KEY || path.join(".tincan", "dev.key")): { file: string; privateKey: KeyObject; publicKey: KeyObject } {
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    try {
      generateSigningKey(file);
    } catch (e) {
      if (!(e instanceof KeyError && /already exists/.test(e.message))) throw e; // another process made it first
    }
  }
  return { file, privateKey: loadPrivateKey(file), publicKey: loadPublicKey(`${file}.pub`) };
}
