// The ESP loaders' one-shot flash commands: SPI_FLASH_MD5 (both loaders) and the stub's
// ERASE_FLASH / ERASE_REGION. A region outside the chip, or a flash that fails, is the loader's
// error, never an exception out of the emulator.

import { createHash } from "node:crypto";
import type { SimFlash } from "../flash.ts";
import type { Failure, Loader } from "./esp-protocol.ts";

/** Runs a flash operation; a failing chip (or an injected fault) becomes a failed command. */
export function flashOp(op: () => void): Failure | undefined {
  try {
    op();
    return undefined;
  } catch {
    return "flashFailed";
  }
}

/** ERASE_REGION: both the address and the length must be whole erase units (4 KiB sectors). */
export function eraseRegion(flash: SimFlash, addr: number, size: number): Failure | undefined {
  if (addr % flash.eraseBytes !== 0 || size % flash.eraseBytes !== 0) return "badLength";
  if (addr + size > flash.size) return "flashFailed";
  return flashOp(() => flash.erase(addr, size));
}

/** SPI_FLASH_MD5: the ROM answers 32 lowercase hex characters, the stub the 16 raw bytes. */
export function regionMd5(flash: SimFlash, loader: Loader, addr: number, size: number): Uint8Array | Failure {
  if (addr + size > flash.size) return loader === "rom" ? "readLength" : "flashFailed";
  let digest: Buffer;
  try {
    digest = createHash("md5").update(flash.read(addr, size)).digest();
  } catch {
    return "flashFailed";
  }
  return loader === "rom" ? new TextEncoder().encode(digest.toString("hex")) : new Uint8Array(digest);
}
