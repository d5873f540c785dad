// Where the CA keys live, behind one interface: a WebCrypto CryptoKey and the provider it
// belongs to, so @peculiar/x509 signs with either store the same way (the provider is always
// passed explicitly, never installed as the global one).

export type Curve = "P-256" | "P-384";
export const CURVES: Curve[] = ["P-256", "P-384"];
export type KeyRole = "root" | "intermediate";

/** A key's place in its store, as ca.json records it. */
export type KeyRef = { file: string } | { label: string; id: string };

export type StoreConfig =
  | { kind: "file" }
  | { kind: "pkcs11"; library: string; token?: string; slot?: number };

export interface CaKeyStore {
  readonly kind: StoreConfig["kind"];
  /** The WebCrypto implementation the keys belong to. */
  readonly crypto: Crypto;
  /** A new key pair for role, made inside the store; the private key is never extractable. */
  generate(role: KeyRole, curve: Curve): Promise<{ ref: KeyRef; keys: CryptoKeyPair }>;
  /** The private key at ref, for signing. */
  load(role: KeyRole, ref: KeyRef, curve: Curve): Promise<CryptoKey>;
  /** Deletes a key generate() made, when making the CA failed after it. */
  discard(ref: KeyRef): Promise<void>;
  /** Generating and loading are done: drop the passphrase or PIN. */
  seal(): void;
  close(): void;
}

export const hashOf = (curve: Curve) => (curve === "P-384" ? "SHA-384" : "SHA-256");
export const signingAlgorithm = (curve: Curve) => ({ name: "ECDSA", hash: hashOf(curve) }) as EcdsaParams;

/** Node's Buffers are never shared memory, but TypeScript's DOM types cannot know that. */
export const bufferSource = (b: Uint8Array) => b as Uint8Array<ArrayBuffer>;
