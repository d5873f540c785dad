// Flashes one board through its ROM loader (a FlashEngine), the A/B way:
//   1. read the boot-control record and the running slot's header (what is on the board);
//   2. refuse a downgrade before anything is erased;
//   3. write the app image into the slot that is NOT running, only the erase units whose
//      contents differ (chip-side MD5 where the loader has it), and the runtime likewise;
//   4. write a "trial" boot record for that slot, the last step: until it lands, the board boots
//      what it booted before, so a cut cable or a reset at any byte leaves a bootable board;
//   5. leave the loader, and (unless told not to) watch the console until the new image answers
//      HELLO from its slot and has confirmed itself.
// An engine error part way is retried by reconnecting and planning again; the diff makes the
// retry cheap, since the units already written now match.

import crypto from "node:crypto";
import type { BoardManifest } from "../boards.ts";
import { openLink, type Link } from "../link/transport.ts";
import { ConsoleClient } from "../link/console.ts";
import type { Hello } from "../link/frame.ts";
import { RECORD_BYTES, SLOT_ROLES, currentRecord, encodeRecord, nextRecord, otherSlot, slotToKeep, type SlotIndex } from "./boot-control.ts";
import { FlashEngineError, type FlashEngine, type OpenEngine } from "./engine.ts";
import { HEADER_SIZE, IMAGE_MAGIC, TRAILER_SIZE, formatVersion, type ParsedImage } from "./image.ts";

export interface FlashJob {
  board: BoardManifest;
  port: string;
  /** The signed app image (already checked on the host: board, ABI, signature). */
  image: ParsedImage;
  imageBytes: Uint8Array;
  runtime?: Uint8Array;
  baud?: number;
  noReset?: boolean;
  /** Watch the console after the flash until the new image has booted and confirmed (default true). */
  checkBoot?: boolean;
  /** Reconnect-and-retry rounds after an engine error (default 2). */
  retries?: number;
  progress?: (phase: Phase, done: number, total: number) => void;
  log?: (line: string) => void;
  /** Where the engines come from (tests substitute). */
  openEngine?: OpenEngine;
}

export type Phase = "connect" | "compare" | "write" | "boot" | "done";

export interface FlashResult {
  port: string;
  board: string;
  chip: string;
  baud: number;
  slot: string | null;
  version: string;
  app: "written" | "already-running";
  runtime: "written" | "unchanged" | "none";
  unitsWritten: number;
  unitsUnchanged: number;
  bytesWritten: number;
  wire: { sent: number; received: number };
  seconds: number;
  attempts: number;
  booted?: { imageVersion: string; slot: string; confirmed: boolean };
}

const PERMANENT = new Set(["NO_ANSWER", "WRONG_CHIP", "BAUD", "RANGE", "ALIGN", "NO_FLASH", "FLASH_SIZE", "NO_SYNC", "SYNC"]);

export class FlashError extends Error {
  constructor(message: string) {
    super(message.replace(/\s*[\r\n]+\s*/g, " "));
    this.name = "FlashError";
  }
}

const md5 = (b: Uint8Array) => crypto.createHash("md5").update(b).digest("hex");
const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

export async function defaultOpenEngine(board: BoardManifest): Promise<OpenEngine> {
  if (board.rom.protocol === "esp-serial") return (await import("./esp/engine.ts")).openEspEngine;
  if (board.rom.protocol === "stm32-usart") return (await import("./stm32/client.ts")).openStm32Engine;
  throw new FlashError(`board ${board.id} has no ROM loader to flash through (rom.protocol ${board.rom.protocol})`);
}

export async function flashBoard(job: FlashJob): Promise<FlashResult> {
  const started = performance.now();
  const result: FlashResult = {
    port: job.port, board: job.board.id, chip: "", baud: 0, slot: null, version: formatVersion(job.image.header.version),
    app: "written", runtime: job.runtime ? "unchanged" : "none", unitsWritten: 0, unitsUnchanged: 0, bytesWritten: 0,
    wire: { sent: 0, received: 0 }, seconds: 0, attempts: 0,
  };
  const open = job.openEngine ?? (await defaultOpenEngine(job.board));
  const retries = job.retries ?? 2;
  for (;;) {
    result.attempts++;
    let link: Link | undefined;
    try {
      job.progress?.("connect", 0, 1);
      link = await openLink(job.port, { baud: job.board.rom.romBaud, parity: job.board.rom.framing === "8E1" ? "even" : "none" });
      const engine = await open(job.board, link, { baud: job.baud, noReset: job.noReset, log: job.log });
      result.chip = engine.chip;
      result.baud = engine.baud;
      await flashWith(engine, job, result);
      job.progress?.("boot", 0, 1);
      await engine.run();
      result.wire.sent += engine.wireBytes.sent;
      result.wire.received += engine.wireBytes.received;
      await link.close();
      link = undefined;
      break;
    } catch (e) {
      await link?.close().catch(() => {});
      // A link fault (a cut, noise, a reset) is worth another round; a loader that never
      // answered, the wrong chip or an impossible request will not do better the second time.
      const permanent = e instanceof FlashEngineError && PERMANENT.has(e.code ?? "");
      const retryable = !permanent && (e instanceof FlashEngineError || (e as Error).name === "LinkError");
      if (!retryable || result.attempts > retries) {
        if (e instanceof FlashError) throw e;
        const message = (e as Error).message;
        throw new FlashError(message.includes(job.port) ? message : `${job.port}: ${message}`);
      }
      job.log?.(`${job.port}: ${(e as Error).message}; reconnecting (attempt ${result.attempts + 1})`);
    }
  }
  if (job.checkBoot !== false && result.slot !== null) result.booted = await watchBoot(job, result.slot);
  result.seconds = (performance.now() - started) / 1000;
  job.progress?.("done", 1, 1);
  return result;
}

async function flashWith(engine: FlashEngine, job: FlashJob, result: FlashResult): Promise<void> {
  const { board } = job;
  const unit = board.flash.eraseBytes;
  const part = (role: string) => {
    const p = board.flash.partitions.find((x) => x.role === role);
    if (!p) throw new FlashError(`board ${board.id} has no ${role} partition`);
    return p;
  };
  job.progress?.("compare", 0, 1);
  const ota = part("otadata");
  const current = currentRecord(await engine.read(ota.offset, RECORD_BYTES), await engine.read(ota.offset + unit, RECORD_BYTES));
  // The slot to keep is the last confirmed image (the board's fallback); an image on trial or
  // under test has not passed its self-check and may be overwritten (boot-control.ts).
  const keep = slotToKeep(current);
  const running = keep.slot;
  const runningPart = part(SLOT_ROLES[running]);
  const head = await engine.read(runningPart.offset, HEADER_SIZE);
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const h = job.image.header;
  if (view.getUint32(0, true) === IMAGE_MAGIC) {
    const theirs = view.getUint32(52, true);
    if (h.securityCounter < theirs)
      throw new FlashError(`${job.port}: the board runs an image with security counter ${theirs}; this image has ${h.securityCounter}: a downgrade, refused (nothing was written)`);
  }
  // The running slot booted, so it verified: the same header (which holds the module's SHA-256)
  // and the same signature block mean the same image.
  const sigAt = job.imageBytes.length - TRAILER_SIZE;
  const same = equal(head, job.imageBytes.subarray(0, HEADER_SIZE)) &&
    equal(await engine.read(runningPart.offset + sigAt, TRAILER_SIZE), job.imageBytes.subarray(sigAt));
  if (same && (!current || current.record.state !== "trial")) {
    result.app = "already-running";
    result.slot = SLOT_ROLES[running];
  }

  // Work out what to write before writing anything, so the progress bar has a true total.
  const writes: { offset: number; data: Uint8Array }[] = [];
  // Which erase units differ: one chip-side MD5 of the whole region, then of sixteenths of it,
  // then of single units only inside sixteenths that differ. One changed unit of 256 costs 33
  // hashes instead of 256; a wholly new region, 273.
  const plan = async (offset: number, data: Uint8Array) => {
    const units = Math.ceil(data.length / unit);
    const whole = await engine.digest(offset, data.length);
    if (whole === md5(data)) { result.unitsUnchanged += units; return false; }
    const changed = new Array<boolean>(units).fill(true);
    // An erased region (a new board, a slot never used) differs everywhere: no finer hashing.
    const erased = whole !== undefined && whole === md5(new Uint8Array(data.length).fill(0xff));
    if (whole !== undefined && !erased) {
      const span = Math.max(1, Math.ceil(units / 16));
      for (let first = 0; first < units; first += span) {
        const last = Math.min(units, first + span);
        const range = (a: number, b: number) => [a * unit, Math.min(data.length, b * unit)] as const;
        const same = async (a: number, b: number) => {
          const [start, end] = range(a, b);
          return (await engine.digest(offset + start, end - start)) === md5(data.subarray(start, end));
        };
        if (span > 1 && await same(first, last)) { changed.fill(false, first, last); continue; }
        for (let i = first; i < last; i++) changed[i] = !(await same(i, i + 1));
      }
    }
    let run: { offset: number; start: number; end: number } | undefined;
    const flush = () => { if (run) writes.push({ offset: run.offset, data: data.subarray(run.start, run.end) }); run = undefined; };
    for (let i = 0; i < units; i++) {
      const start = i * unit, end = Math.min(data.length, start + unit);
      if (!changed[i]) { result.unitsUnchanged++; flush(); continue; }
      result.unitsWritten++;
      if (run) run.end = end;
      else run = { offset: offset + start, start, end };
    }
    flush();
    return true;
  };
  if (job.runtime) {
    const rt = part("runtime");
    if (job.runtime.length > rt.size) throw new FlashError(`${job.port}: the runtime (${job.runtime.length} bytes) does not fit the runtime partition (${rt.size} bytes)`);
    if (await plan(rt.offset, job.runtime)) result.runtime = "written";
  }
  let target: SlotIndex | undefined;
  if (result.app === "written") {
    target = otherSlot(running);
    const p = part(SLOT_ROLES[target]);
    if (job.imageBytes.length > p.size) throw new FlashError(`${job.port}: the image (${job.imageBytes.length} bytes) does not fit ${p.name} (${p.size} bytes)`);
    await plan(p.offset, job.imageBytes);
    result.slot = SLOT_ROLES[target];
  }
  const total = writes.reduce((n, w) => n + w.data.length, 0) + (target !== undefined ? RECORD_BYTES : 0);
  let done = 0;
  job.progress?.("write", 0, total);
  for (const w of writes) {
    const base = done;
    await engine.write(w.offset, w.data, (d) => job.progress?.("write", base + d, total));
    done += w.data.length;
    result.bytesWritten += w.data.length;
  }
  if (target !== undefined) {
    // The commit point: from here on the board tries the new image at its next boot.
    const next = nextRecord(current, target, "trial", keep.confirmed);
    await engine.write(ota.offset + next.copy * unit, encodeRecord(next.record));
    result.bytesWritten += RECORD_BYTES;
    result.unitsWritten++;
    job.progress?.("write", total, total);
  }
}

/** Watches the console until the new image answers HELLO from its slot, confirmed. */
async function watchBoot(job: FlashJob, slot: string): Promise<{ imageVersion: string; slot: string; confirmed: boolean }> {
  const deadline = Date.now() + 15_000;
  let last: Hello | undefined;
  let lastError = "";
  while (Date.now() < deadline) {
    let client: ConsoleClient | undefined;
    try {
      client = await ConsoleClient.open(job.port, { baud: job.board.console.baud });
      while (Date.now() < deadline) {
        last = await client.hello({ timeoutMs: 1000 });
        if (last.boot && last.boot.slot === slot && !last.boot.testing) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      break;
    } catch (e) {
      lastError = (e as Error).message;
      await new Promise((r) => setTimeout(r, 250));
    } finally {
      await client?.close().catch(() => {});
    }
  }
  if (!last?.boot) throw new FlashError(`${job.port}: flashed, but the board did not answer HELLO from the new image within 15 s${lastError ? ` (${lastError})` : ""}`);
  const b = last.boot;
  const want = formatVersion(job.image.header.version);
  if (b.slot !== slot || b.imageVersion !== want)
    throw new FlashError(`${job.port}: flashed ${want} into ${slot}, but the board runs ${b.imageVersion} from ${b.slot} (it refused or reverted the new image; its boot log says why)`);
  if (b.testing) throw new FlashError(`${job.port}: the new image ${want} booted from ${slot} but did not confirm itself within 15 s; the next reset reverts it`);
  return { imageVersion: b.imageVersion, slot: b.slot, confirmed: true };
}
