// The simulated board's secure element: ECDSA P-256 keys in slots, like an ATECC608 or an
// ESP32-S3's eFuse-backed key storage. The private keys live only in this object and in its
// own store file (mode 0600) under the board directory; the ABI lets the firmware ask for a
// public key or a signature, never for a private key.

import fs from "node:fs";
import path from "node:path";
import { createPrivateKey, type KeyObject } from "node:crypto";
import { p256 } from "@noble/curves/nist.js";
import { ERR, SE_SLOTS } from "./abi.ts";
import { StoreError } from "./nvs.ts";

const FORMAT = "tincan-se/1";

// @noble/curves builds its base-point tables on first use (about 30 ms). Building them at power-on
// keeps that out of the first KEYGEN, whose time is the part's (the manifest's secureElement).
let tablesBuilt = false;
function buildTables(): void {
  if (tablesBuilt) return;
  p256.getPublicKey(p256.utils.randomSecretKey(), false);
  tablesBuilt = true;
}

export class SecureElement {
  private readonly keys: (Uint8Array | undefined)[] = new Array(SE_SLOTS).fill(undefined);

  /** Time the element has spent on key pairs and signatures since the last takeBusyMs(). */
  private busyMs = 0;

  /**
   * `locked` is the board's provisioning fuse (the Otp owns it): once burnt, no new keys.
   * `timing` is the part's execution time per operation (the manifest's secureElement): the
   * simulated board holds its UART answer back that long, as a real MCU waits on the chip.
   */
  constructor(readonly file: string, private readonly locked: () => boolean = () => false, private readonly timing: { keygenMs: number; signMs: number } = { keygenMs: 0, signMs: 0 }) {
    buildTables();
    if (!fs.existsSync(file)) return;
    let doc: { format?: unknown; slots?: unknown };
    try {
      doc = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch {
      throw new StoreError(`${file}: the secure-element store is not valid JSON`);
    }
    if (doc?.format !== FORMAT || !Array.isArray(doc.slots) || doc.slots.length !== SE_SLOTS) {
      throw new StoreError(`${file}: not a Tincan secure-element store (expected format "${FORMAT}")`);
    }
    doc.slots.forEach((hex: unknown, slot: number) => {
      if (hex === null) return;
      const key = typeof hex === "string" && /^[0-9a-f]{64}$/.test(hex) ? Buffer.from(hex, "hex") : undefined;
      if (!key || !p256.utils.isValidSecretKey(key)) throw new StoreError(`${file}: slot ${slot} holds no valid P-256 key`);
      this.keys[slot] = key;
    });
  }

  /** Makes a new key pair in `slot`; 0 or an ABI error (ERR.DENIED once the board is locked). */
  keygen(slot: number): number {
    if (!this.validSlot(slot)) return ERR.INVALID;
    if (this.locked()) return ERR.DENIED;
    const previous = this.keys[slot];
    this.busyMs += this.timing.keygenMs;
    this.keys[slot] = p256.utils.randomSecretKey();
    if (!this.save()) { this.keys[slot] = previous; return ERR.IO; }
    return ERR.OK;
  }

  /** Uncompressed SEC1 public key (65 bytes), or an ABI error. */
  publicKey(slot: number): Uint8Array | number {
    if (!this.validSlot(slot)) return ERR.INVALID;
    const key = this.keys[slot];
    if (!key) return ERR.NOT_FOUND;
    return p256.getPublicKey(key, false);
  }

  /** r || s (64 bytes) over a 32-byte digest, or an ABI error. */
  sign(slot: number, digest: Uint8Array): Uint8Array | number {
    if (!this.validSlot(slot) || digest.length !== 32) return ERR.INVALID;
    const key = this.keys[slot];
    if (!key) return ERR.NOT_FOUND;
    this.busyMs += this.timing.signMs;
    return p256.sign(digest, key, { prehash: false, format: "compact" });
  }

  /** The element's busy time since the last call (the runtime's UART waits that long). */
  takeBusyMs(): number {
    const ms = this.busyMs;
    this.busyMs = 0;
    return ms;
  }

  /**
   * Simulator only, no HAL import reaches it: the slot's key as a KeyObject for node:tls, which
   * then signs the handshake inside this process, as a TLS stack would inside the element.
   */
  tlsKey(slot: number): KeyObject | number {
    if (!this.validSlot(slot)) return ERR.INVALID;
    const key = this.keys[slot];
    if (!key) return ERR.NOT_FOUND;
    const pub = p256.getPublicKey(key, false);
    const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64url");
    return createPrivateKey({ format: "jwk", key: { kty: "EC", crv: "P-256", d: b64(key), x: b64(pub.subarray(1, 33)), y: b64(pub.subarray(33)) } });
  }

  private validSlot(slot: number): boolean { return Number.isInteger(slot) && slot >= 0 && slot < SE_SLOTS; }

  private save(): boolean {
    const doc = { format: FORMAT, slots: this.keys.map((k) => (k ? Buffer.from(k).toString("hex") : null)) };
    const tmp = `${this.file}.tmp-${process.pid}`;
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      fs.writeFileSync(tmp, JSON.stringify(doc), { mode: 0o600 });
      fs.renameSync(tmp, this.file);
      return true;
    } catch {
      fs.rmSync(tmp, { force: true });
      return false;
    }
  }
}
