// The address space the STM32 ROM emulator's READ MEMORY, WRITE MEMORY, GO and EXTENDED ERASE
// see: the flash (the board's SimFlash, offsets from the manifest's flash base), the system
// memory (bootloader ID byte and electronic signature; the rest reads as erased flash because the
// real bootloader's code is not ours to ship), and the SRAM regions of the manifest, kept in a
// throwaway buffer per region. Everything else is unmapped, and the ROM answers NACK.

import { createHash } from "node:crypto";
import type { BoardManifest, Stm32Chip } from "../../boards.ts";
import type { SimFlash } from "../flash.ts";
import type { Stm32FamilyFacts } from "./stm32-family.ts";

export type Refusal = { ok: false; why: string };
export type Read = { ok: true; data: Uint8Array } | Refusal;
export type Done = { ok: true } | Refusal;

interface Ram { name: string; start: number; end: number; bytes?: Uint8Array }

const hexa = (n: number) => "0x" + n.toString(16).padStart(8, "0");

export class Stm32Memory {
  readonly flashBase: number;
  readonly flashEnd: number;
  readonly sectorBytes: number;
  readonly sectorCount: number;
  readonly bankBytes: number;
  readonly bankCount: number;
  private readonly system: Uint8Array;
  private readonly ram: Ram[];

  constructor(private readonly board: BoardManifest, private readonly flash: SimFlash, private readonly facts: Stm32FamilyFacts) {
    this.flashBase = board.flash.baseAddress;
    this.flashEnd = this.flashBase + flash.size;
    this.sectorBytes = board.flash.eraseBytes;
    this.sectorCount = flash.size / this.sectorBytes;
    this.bankBytes = board.flash.bankBytes ?? flash.size;
    this.bankCount = flash.size / this.bankBytes;
    this.system = systemImage(board, flash, facts);
    this.ram = (board.memory.regions ?? []).map((r) => ({ name: r.name, start: r.address, end: r.address + r.bytes }));
  }

  /** Whether a READ MEMORY may start here (the ROM checks the address before the length). */
  readable(address: number): boolean {
    return this.area(address, 1) !== undefined;
  }

  read(address: number, length: number): Read {
    const a = this.area(address, length);
    if (!a) return refuse(`${hexa(address)}+${length} is not inside one readable area`);
    if (a.kind === "flash") return { ok: true, data: this.flash.read(address - this.flashBase, length) };
    if (a.kind === "system") {
      const at = address - this.facts.systemMemory.start;
      return { ok: true, data: this.system.slice(at, at + length) };
    }
    const at = address - a.ram.start;
    return { ok: true, data: a.ram.bytes ? a.ram.bytes.slice(at, at + length) : new Uint8Array(length) };
  }

  /** Whether a WRITE MEMORY may start here: flash or free RAM, never system memory. */
  writable(address: number): boolean {
    const a = this.area(address, 1);
    return a !== undefined && a.kind !== "system";
  }

  write(address: number, data: Uint8Array): Done {
    const a = this.area(address, data.length);
    if (!a || a.kind === "system") return refuse(`${hexa(address)}+${data.length} is not inside one writable area`);
    if (a.kind === "ram") {
      a.ram.bytes ??= new Uint8Array(a.ram.end - a.ram.start);
      a.ram.bytes.set(data, address - a.ram.start);
      return { ok: true };
    }
    return this.programFlash(address - this.flashBase, data);
  }

  /** GO: only the flash base boots the board; free RAM is a program we cannot run. */
  goTarget(address: number): "app" | "ram" | undefined {
    if (address === this.flashBase) return "app";
    const a = this.area(address, 4);
    return a?.kind === "ram" ? "ram" : undefined;
  }

  eraseSectors(sectors: number[]): Done {
    const bad = sectors.find((s) => s >= this.sectorCount);
    if (bad !== undefined) return refuse(`sector ${bad} does not exist (the flash has sectors 0..${this.sectorCount - 1})`);
    for (const s of sectors) this.flash.erase(s * this.sectorBytes, this.sectorBytes);
    return { ok: true };
  }

  /** Bank 1 or 2 (EXTENDED ERASE 0xFFFE / 0xFFFD). */
  eraseBank(bank: number): Done {
    if (bank < 1 || bank > this.bankCount) return refuse(`the flash has ${this.bankCount} bank(s), not a bank ${bank}`);
    this.flash.erase((bank - 1) * this.bankBytes, this.bankBytes);
    return { ok: true };
  }

  eraseAll(): Done {
    this.flash.eraseAll();
    return { ok: true };
  }

  /**
   * The flash programs whole flash words, each with an ECC code computed over the word: bytes
   * of a word that the host did not send are programmed as 0xFF, and a word that holds anything
   * but 0xFF has been programmed since its last erase and cannot be programmed again (its ECC
   * would no longer match), so such a write is refused whole, before anything is written.
   */
  private programFlash(offset: number, data: Uint8Array): Done {
    const w = this.facts.flashWordBytes;
    const first = Math.floor(offset / w) * w;
    const end = Math.ceil((offset + data.length) / w) * w;
    const old = this.flash.read(first, end - first);
    const used = old.findIndex((b) => b !== 0xff);
    if (used >= 0) {
      const word = first + Math.floor(used / w) * w;
      return refuse(`the flash word at ${hexa(this.flashBase + word)} is programmed already; erase its sector first`);
    }
    const words = new Uint8Array(end - first).fill(0xff);
    words.set(data, offset - first);
    this.flash.write(first, words);
    return { ok: true };
  }

  private area(address: number, length: number):
    | { kind: "flash" } | { kind: "system" } | { kind: "ram"; ram: Ram } | undefined {
    const end = address + length;
    if (length < 1 || address < 0 || end > 0x1_0000_0000) return undefined;
    if (address >= this.flashBase && end <= this.flashEnd) return { kind: "flash" };
    const sys = this.facts.systemMemory;
    if (address >= sys.start && end <= sys.end) return { kind: "system" };
    const reserved = this.facts.bootloaderRam;
    if (address < reserved.end && end > reserved.start) return undefined;
    const ram = this.ram.find((r) => address >= r.start && end <= r.end);
    return ram ? { kind: "ram", ram } : undefined;
  }
}

function refuse(why: string): Refusal {
  return { ok: false, why };
}

/**
 * System memory as the host reads it: erased flash except the bootloader ID byte (the newest
 * ID the manifest lists) and the electronic signature: a unique ID that stays the same for one
 * simulated board (a hash of its flash file's path) and the flash size in KiB.
 */
function systemImage(board: BoardManifest, flash: SimFlash, facts: Stm32FamilyFacts): Uint8Array {
  const sys = facts.systemMemory;
  const image = new Uint8Array(sys.end - sys.start).fill(0xff);
  const chip = board.rom.chip as Stm32Chip;
  const id = chip.bootloaderIds[chip.bootloaderIds.length - 1];
  const inside = (a: number, n: number) => a >= sys.start && a + n <= sys.end;
  if (id !== undefined && inside(chip.bootloaderIdAddress, 1)) image[chip.bootloaderIdAddress - sys.start] = id;
  if (inside(facts.uidAddress, 12)) image.set(createHash("sha256").update(flash.file).digest().subarray(0, 12), facts.uidAddress - sys.start);
  if (inside(facts.flashSizeAddress, 2)) {
    const kib = flash.size / 1024;
    image.set([kib & 0xff, kib >> 8], facts.flashSizeAddress - sys.start);
  }
  return image;
}
