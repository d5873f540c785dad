// CA keys in an HSM through PKCS#11 (node-webcrypto-p11; SoftHSM2 in the tests). Keys are made
// in the token, sensitive and never extractable; signing happens there. SoftHSM offers only raw
// CKM_ECDSA: node-webcrypto-p11 then hashes in software and sends the digest (its EcdsaProvider
// falls back to "ECDSA" when the token lacks CKM_ECDSA_SHA256), so nothing extra is needed here.

import crypto from "node:crypto";
import { Crypto as Pkcs11Crypto } from "node-webcrypto-p11";
import { CaError } from "./errors.ts";
import type { CaKeyStore, Curve, KeyRef, KeyRole } from "./keystore.ts";
import { obtainSecret, PIN_VARIABLE } from "./secrets.ts";

export interface HsmConfig { library: string; token?: string; slot?: number }

type P11Key = CryptoKey & { id?: string };
const reason = (e: unknown) => (e as Error).message.split("\n")[0];

/** The index of the slot whose token has this label (node-webcrypto-p11 opens slots by index). */
function slotIndexOf(library: string, label: string): number {
  const probe = loadModule(library, 0);
  try {
    const slots = (probe.slot as unknown as { module: { getSlots(present: boolean): { length: number; items(i: number): { getToken(): { label: string } } } } }).module.getSlots(true);
    const labels: string[] = [];
    for (let i = 0; i < slots.length; i++) {
      const l = slots.items(i).getToken().label.trim();
      if (l === label) return i;
      labels.push(JSON.stringify(l));
    }
    throw new CaError(`${library}: no token labelled ${JSON.stringify(label)} (tokens: ${labels.join(", ") || "none"})`);
  } finally {
    release(probe);
  }
}

function loadModule(library: string, slot: number): Pkcs11Crypto {
  try {
    return new Pkcs11Crypto({ library, slot, readWrite: true, name: "tincan-ca" });
  } catch (e) {
    throw new CaError(`${library}: cannot open PKCS#11 slot ${slot} (${reason(e)})`);
  }
}

// PKCS#11 return values (the specification's numbers).
const CKR_PIN_INCORRECT = 0xa0;
const CKR_PIN_LEN_RANGE = 0xa2;
const CKR_PIN_LOCKED = 0xa4;
const CKR_USER_ALREADY_LOGGED_IN = 0x100;

/**
 * A token's login belongs to the whole process, not to a session: a second store on a token
 * that is logged in already cannot have its PIN checked by C_Login. So each login is counted,
 * the last store to close logs out, and a PIN given while logged in must match the one that
 * logged in (kept only as a salted hash, in memory).
 */
const logins = new Map<string, { salt: Buffer; pinHash: Buffer; count: number }>();
const pinHash = (salt: Buffer, pin: string) => crypto.createHash("sha256").update(salt).update(pin, "utf8").digest();

function login(p11: Pkcs11Crypto, token: string, pin: string): void {
  const held = logins.get(token);
  try {
    p11.session.login(pin);
    const salt = crypto.randomBytes(16);
    logins.set(token, { salt, pinHash: pinHash(salt, pin), count: 1 });
  } catch (e) {
    const code = (e as { code?: number }).code;
    if (code === CKR_USER_ALREADY_LOGGED_IN && held && crypto.timingSafeEqual(held.pinHash, pinHash(held.salt, pin))) held.count++;
    else if (code === CKR_USER_ALREADY_LOGGED_IN && held) throw new CaError(`the token refused the PIN (${PIN_VARIABLE} or the one typed)`);
    else if (code === CKR_USER_ALREADY_LOGGED_IN) throw new CaError("the token is logged in already by other code in this process; the PIN cannot be checked");
    else if (code === CKR_PIN_INCORRECT || code === CKR_PIN_LEN_RANGE) throw new CaError(`the token refused the PIN (${PIN_VARIABLE} or the one typed)`);
    else if (code === CKR_PIN_LOCKED) throw new CaError("the token's PIN is locked (too many wrong PINs): its security officer must reset it");
    else throw new CaError(`the token refused the login (${reason(e)})`);
  }
  p11.isLoggedIn = true;
}

/** Closes the session, logging out if this was the last login on the token, and leaves the
 *  module initialised (C_Finalize would end every other store's session in this process). */
function release(c: Pkcs11Crypto, token?: string): void {
  const held = token === undefined ? undefined : logins.get(token);
  if (held && c.isLoggedIn && --held.count === 0) {
    logins.delete(token!);
    try { c.session.logout(); } catch { /* already gone */ }
  }
  c.isLoggedIn = false;
  try { c.session.close(); } catch { /* already gone */ }
}

export class HsmKeyStore implements CaKeyStore {
  readonly kind = "pkcs11" as const;
  readonly crypto: Crypto;

  private constructor(private readonly p11: Pkcs11Crypto, private readonly token: string, readonly config: HsmConfig & { slot: number }) {
    this.crypto = p11 as unknown as Crypto;
  }

  static async open(config: HsmConfig): Promise<HsmKeyStore> {
    if (config.token === undefined && config.slot === undefined) throw new CaError("name the HSM token by its label (--token) or slot index (--slot)");
    const slot = config.token !== undefined ? slotIndexOf(config.library, config.token) : config.slot!;
    const pin = await obtainSecret({ variable: PIN_VARIABLE, what: "HSM user PIN" });
    const p11 = loadModule(config.library, slot);
    const token = `${config.library}#${p11.token.serialNumber}`;
    try {
      login(p11, token, pin);
    } catch (e) {
      release(p11);
      throw e;
    }
    return new HsmKeyStore(p11, token, { ...config, slot });
  }

  async generate(role: KeyRole, curve: Curve): Promise<{ ref: KeyRef; keys: CryptoKeyPair }> {
    const label = `tincan-${role}-${crypto.randomBytes(4).toString("hex")}`;
    let keys: CryptoKeyPair;
    try {
      // token: a persistent object; sensitive + not extractable: the private value never leaves.
      keys = await this.p11.subtle.generateKey({ name: "ECDSA", namedCurve: curve, token: true, sensitive: true, label } as EcKeyGenParams, false, ["sign", "verify"]) as CryptoKeyPair;
    } catch (e) {
      throw new CaError(`the token could not make an ECDSA ${curve} key (${reason(e)})`);
    }
    const id = (keys.privateKey as P11Key).id;
    const match = id && /^private-[0-9a-f]+-([0-9a-f]+)$/.exec(id);
    if (!match) throw new CaError(`the token gave the new key an unexpected id ${JSON.stringify(id)}`);
    return { ref: { label, id: match[1] }, keys };
  }

  /** The token object whose CKA_ID is ref.id (its handle, the middle of the index, may change between sessions). */
  private async indexOf(kind: "private" | "public", ref: KeyRef): Promise<string | undefined> {
    if (!("id" in ref)) throw new CaError("ca.json: a pkcs11 CA key needs its token id");
    const all = await this.p11.keyStorage.keys();
    return all.find((k) => k.startsWith(`${kind}-`) && k.endsWith(`-${ref.id}`));
  }

  async load(role: KeyRole, ref: KeyRef, curve: Curve): Promise<CryptoKey> {
    const index = await this.indexOf("private", ref);
    if (!index) throw new CaError(`the ${role} key (${"label" in ref ? ref.label : "?"}) is not in the token at slot ${this.config.slot}`);
    const key = await this.p11.keyStorage.getItem(index, { name: "ECDSA", namedCurve: curve } as EcKeyImportParams, false, ["sign"]);
    return key as unknown as CryptoKey;
  }

  async discard(ref: KeyRef): Promise<void> {
    for (const kind of ["private", "public"] as const) {
      const index = await this.indexOf(kind, ref).catch(() => undefined);
      if (index) await this.p11.keyStorage.removeItem(index).catch(() => {});
    }
  }

  seal(): void {
    // The PIN was used once, to log in; the session stays logged in until close().
  }

  close(): void {
    release(this.p11, this.token);
  }
}
