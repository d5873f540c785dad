// A P-256 public key as the board and the factory database hold it: the uncompressed SEC1
// point (0x04 || X || Y, 65 bytes).

import type { KeyObject } from "node:crypto";

/** The key's uncompressed point, or undefined when it is not a P-256 key. */
export function p256Point(key: KeyObject): Buffer | undefined {
  if (key.asymmetricKeyType !== "ec") return undefined;
  const jwk = key.export({ format: "jwk" });
  if (jwk.crv !== "P-256" || !jwk.x || !jwk.y) return undefined;
  return Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, "base64url"), Buffer.from(jwk.y, "base64url")]);
}
