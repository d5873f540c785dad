// The host side of AN3155 over a Link: one method per bootloader command, each with timeouts
// scaled to the line rate, and the recovery a serial line needs. A NACK leaves the loader back at
// "waiting for a command", so a NACKed block is simply sent again; after a timeout or a garbled
// answer nobody knows where the loader is, so resync() first walks it back into step.

import type { Link } from "../../link/transport.ts";
import { ACK, CMD, MAX_BLOCK, NACK, SYNC, addressBytes, commandBytes, hex, xorAll } from "./an3155.ts";
import { LinkReader, ReadTimeout } from "./link-reader.ts";

/** The loader answered, but not with what the protocol says: NACK, silence or another byte. */
export class Stm32ProtocolError extends Error {
  constructor(readonly kind: "nack" | "timeout" | "garbled", message: string) {
    super(message);
    this.name = "Stm32ProtocolError";
  }
}

export interface SessionOptions {
  /** The line rate, to scale timeouts. */
  baud: number;
  log?: (line: string) => void;
}

/** Per-sector and whole-flash erase budgets: stm32flash's, which cover ST's datasheet maxima. */
const SECTOR_ERASE_MS = 5000;
const MASS_ERASE_MS = 35000;

export class Stm32Session {
  private sent = 0;
  private readonly reader: LinkReader;
  private readonly log: (line: string) => void;

  constructor(private readonly link: Link, private readonly opts: SessionOptions) {
    this.reader = new LinkReader(link);
    this.log = opts.log ?? (() => {});
  }

  /** Bytes that crossed the link each way, the board's stray output included. */
  get wire(): { sent: number; received: number } {
    return { sent: this.sent, received: this.reader.received };
  }

  /** Time n bytes take on the wire at 8E1 (11 bits each). */
  wireMs(n: number): number {
    return (n * 11 * 1000) / this.opts.baud;
  }

  /** An answer of n bytes: the wire time twice over plus room for a busy host and OS. */
  private answerMs(n: number): number {
    return 1000 + 2 * this.wireMs(n);
  }

  async send(bytes: Uint8Array): Promise<void> {
    await this.link.write(bytes);
    this.sent += bytes.length;
  }

  private async readBytes(n: number, ms: number, what: string): Promise<Uint8Array> {
    try {
      return await this.reader.read(n, ms);
    } catch (e) {
      if (e instanceof ReadTimeout) throw new Stm32ProtocolError("timeout", `no answer to ${what} (${e.message})`);
      throw e;
    }
  }

  /** One ACK, or a Stm32ProtocolError saying what came instead. */
  private async ack(what: string, ms = this.answerMs(1)): Promise<void> {
    const [b] = await this.readBytes(1, ms, what);
    if (b === ACK) return;
    if (b === NACK) throw new Stm32ProtocolError("nack", `the loader refused ${what} (NACK)`);
    throw new Stm32ProtocolError("garbled", `got ${hex(b!)} instead of ACK to ${what}`);
  }

  private async command(code: number, what: string): Promise<void> {
    await this.send(commandBytes(code));
    await this.ack(what);
  }

  /**
   * Autobaud: 0x7F, answered ACK by a loader fresh out of reset. A loader synced before takes
   * the 0x7F as the first byte of a command and says nothing; a second 0x7F, not its complement,
   * gets NACK. Either way the loader ends up waiting for a command. Bytes that are neither ACK
   * nor NACK (the app's last output before the reset) are skipped. The third attempt is a
   * resync(), for a loader left in the middle of a command by a host that was killed.
   */
  async sync(attempts = 4): Promise<void> {
    const wait = 200 + this.wireMs(4);
    for (let i = 1; i <= attempts; i++) {
      const junk = (await this.reader.settle(20, 300)).length;
      if (junk) this.log(`sync: dropped ${junk} byte(s) that were on the line`);
      if (i === 3) {
        try {
          return await this.resync();
        } catch (e) {
          if (!(e instanceof Stm32ProtocolError)) throw e;
          continue;
        }
      }
      this.log(`sync: 0x7F (attempt ${i} of ${attempts})`);
      let answer = await this.syncByte(wait);
      if (answer === ACK || answer === NACK) return this.log(`sync: ${answer === ACK ? "ACK" : "NACK (synced before)"}`);
      answer = await this.syncByte(wait);
      if (answer === NACK) return this.log("sync: NACK to the second 0x7F");
      if (answer === ACK) {
        // A late ACK to the first 0x7F: the second one is now a pending command byte.
        if ((await this.syncByte(wait)) === NACK) return this.log("sync: late ACK, then NACK");
      }
    }
    throw new Stm32ProtocolError("timeout", `no ACK to 0x7F after ${attempts} attempts`);
  }

  /** Sends 0x7F and returns the first ACK or NACK within ms, skipping anything else. */
  private async syncByte(ms: number): Promise<number | undefined> {
    await this.send(Uint8Array.of(SYNC));
    const end = Date.now() + ms;
    for (;;) {
      const left = end - Date.now();
      if (left <= 0) return undefined;
      try {
        const b = await this.reader.byte(left);
        if (b === ACK || b === NACK) return b;
      } catch (e) {
        if (e instanceof ReadTimeout) return undefined;
        throw e;
      }
    }
  }

  /**
   * Walks a loader of unknown state back to "waiting for a command": 0x7F bytes, in growing
   * bursts, complete whatever field it was collecting (or sync it, if it was reset) until it
   * answers; then one more 0x7F or two settle whether a command byte is pending. 0x7F is the
   * only filler that is also safe for a loader in autobaud.
   */
  async resync(): Promise<void> {
    this.log("resync");
    await this.reader.settle(30 + this.wireMs(2), 2000);
    let answered = false;
    for (const burst of [1, 8, 64, 264]) {
      await this.send(new Uint8Array(burst).fill(SYNC));
      const replies = await this.reader.settle(60 + this.wireMs(burst + 2), 3000 + this.wireMs(burst));
      if (replies.length > 0) { answered = true; break; }
    }
    if (!answered) throw new Stm32ProtocolError("timeout", "the loader does not answer any more");
    const wait = 200 + this.wireMs(4);
    if ((await this.syncByte(wait)) === NACK) return;
    if ((await this.syncByte(wait)) === NACK) return;
    throw new Stm32ProtocolError("garbled", "the loader could not be brought back in step");
  }

  /** Runs op up to `attempts` times: again at once after a NACK, after resync() otherwise. */
  async retry<T>(what: string, op: () => Promise<T>, attempts = 4): Promise<T> {
    for (let i = 1; ; i++) {
      try {
        return await op();
      } catch (e) {
        if (!(e instanceof Stm32ProtocolError) || i >= attempts) throw e;
        this.log(`${what}: ${e.message}; trying again (${i + 1} of ${attempts})`);
        if (e.kind !== "nack") await this.resync();
      }
    }
  }

  async get(): Promise<{ version: number; commands: number[] }> {
    await this.command(CMD.GET, "GET");
    const [n] = await this.readBytes(1, this.answerMs(1), "GET");
    const rest = await this.readBytes(n! + 1, this.answerMs(n! + 2), "GET");
    await this.ack("GET");
    return { version: rest[0]!, commands: [...rest.subarray(1)] };
  }

  async getId(): Promise<number> {
    await this.command(CMD.GET_ID, "GET ID");
    const [n] = await this.readBytes(1, this.answerMs(1), "GET ID");
    const pid = await this.readBytes(n! + 1, this.answerMs(n! + 2), "GET ID");
    await this.ack("GET ID");
    return (pid[0]! << 8) | pid[1]!; // extra bytes, if a loader sent any, are not part of the id
  }

  async readMemory(address: number, length: number): Promise<Uint8Array> {
    if (length < 1 || length > MAX_BLOCK) throw new RangeError(`READ MEMORY moves 1..${MAX_BLOCK} bytes, not ${length}`);
    const what = `READ MEMORY at ${hex(address, 8)}`;
    await this.command(CMD.READ_MEMORY, what);
    await this.send(addressBytes(address));
    await this.ack(what);
    await this.send(Uint8Array.of(length - 1, (length - 1) ^ 0xff));
    await this.ack(what);
    return this.readBytes(length, this.answerMs(length), what);
  }

  /** data: 4..256 bytes, a multiple of 4 (AN3155), at a word-aligned address. */
  async writeMemory(address: number, data: Uint8Array): Promise<void> {
    if (data.length < 4 || data.length > MAX_BLOCK || data.length % 4 !== 0 || address % 4 !== 0)
      throw new RangeError(`WRITE MEMORY takes 4..${MAX_BLOCK} bytes in whole words at a word address, not ${data.length} at ${hex(address, 8)}`);
    const what = `WRITE MEMORY at ${hex(address, 8)}`;
    await this.command(CMD.WRITE_MEMORY, what);
    await this.send(addressBytes(address));
    await this.ack(what);
    const frame = new Uint8Array(data.length + 2);
    frame[0] = data.length - 1;
    frame.set(data, 1);
    frame[data.length + 1] = xorAll(data, data.length - 1);
    await this.send(frame);
    await this.ack(what, 1000 + this.answerMs(data.length + 2)); // the flash programs before the ACK
  }

  /** Sectors by number, or one of the special codes (ERASE_SPECIAL). */
  async extendedErase(target: number[] | { special: number }): Promise<void> {
    let frame: Uint8Array;
    let ms: number;
    let what: string;
    if (Array.isArray(target)) {
      if (target.length < 1 || target.length > 0xfff0) throw new RangeError(`an erase list holds 1..65520 sectors, not ${target.length}`);
      const n = target.length - 1;
      frame = Uint8Array.from([n >> 8, n & 0xff, ...target.flatMap((s) => [s >> 8, s & 0xff]), 0]);
      frame[frame.length - 1] = xorAll(frame.subarray(0, frame.length - 1));
      ms = this.answerMs(1) + target.length * SECTOR_ERASE_MS;
      what = `EXTENDED ERASE of sector${target.length > 1 ? "s" : ""} ${target.join(", ")}`;
    } else {
      const c = target.special;
      frame = Uint8Array.of(c >> 8, c & 0xff, (c >> 8) ^ (c & 0xff));
      ms = MASS_ERASE_MS;
      what = `EXTENDED ERASE ${hex(c, 4)}`;
    }
    await this.command(CMD.EXTENDED_ERASE, what);
    await this.send(frame);
    await this.ack(what, ms);
  }

  async go(address: number): Promise<void> {
    const what = `GO ${hex(address, 8)}`;
    await this.command(CMD.GO, what);
    await this.send(addressBytes(address));
    await this.ack(what);
  }

  /** Stops listening to the link (it stays open for whoever talks to the board next). */
  dispose(): void {
    this.reader.dispose();
  }
}
