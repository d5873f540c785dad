// The device console core (sans-IO): bytes from the UART in, framed responses out.
// handle() feeds received bytes; the transmit ring holds SLIP-encoded output for the caller
// to drain to the UART. Frame format, limits and drop rules: boards/CONSOLE.md.

import { readU8, readU16BE, writeU8, writeU16BE, readU32BE, writeU32BE, addressOf } from "../lib/bytes";
import { ByteRing } from "../lib/ring";
import { crc32 } from "../crypto/crc32";
import { SlipDecoder, SlipEvent, SLIP_END, SLIP_ESC, SLIP_ESC_END, SLIP_ESC_ESC } from "./slip";
import { TlvWriter } from "./tlv";

export const KIND_REQUEST: u8 = 0x01;
export const KIND_RESPONSE: u8 = 0x02;
export const KIND_EVENT: u8 = 0x03;

export const STATUS_OK: u8 = 0;
export const STATUS_UNKNOWN_COMMAND: u8 = 1;
export const STATUS_BAD_REQUEST: u8 = 2;
export const STATUS_BUSY: u8 = 3;
export const STATUS_DENIED: u8 = 4;
export const STATUS_INTERNAL: u8 = 5;

export const HEADER_BYTES: i32 = 5;
export const CRC_BYTES: i32 = 4;
export const MAX_PAYLOAD: i32 = 2048;
export const MIN_FRAME: i32 = HEADER_BYTES + CRC_BYTES;
export const MAX_FRAME: i32 = HEADER_BYTES + MAX_PAYLOAD + CRC_BYTES;
// Worst case on the wire: every byte escaped, plus two ENDs before and one after.
const MAX_ENCODED: i32 = 2 * MAX_FRAME + 3;

/** One console command family. The console owns framing; handlers own payloads. */
export abstract class CommandHandler {
  /** Answers one request: writes the response payload into `out`, returns a status. */
  abstract handle(command: u8, payload: usize, payloadLength: i32, out: TlvWriter, nowUs: i64): u8;
}

export class ConsoleCounters {
  framesAccepted: u32 = 0;
  crcErrors: u32 = 0;
  oversize: u32 = 0;
  malformed: u32 = 0;
  unknownCommands: u32 = 0;
  strayBytes: u32 = 0;
  txDropped: u32 = 0;
}

export class Console {
  readonly counters: ConsoleCounters = new ConsoleCounters();
  readonly tx: ByteRing = new ByteRing(4 * MAX_ENCODED);
  private readonly rx: SlipDecoder = new SlipDecoder(MAX_FRAME);
  private readonly reply: StaticArray<u8> = new StaticArray<u8>(MAX_FRAME);
  private readonly writer: TlvWriter = new TlvWriter();
  private readonly handlers: StaticArray<CommandHandler | null> = new StaticArray<CommandHandler | null>(256);

  register(command: u8, handler: CommandHandler): void {
    this.handlers[command] = handler;
  }

  /** Feeds len received bytes at p. */
  handle(p: usize, len: i32, nowUs: i64): void {
    for (let i = 0; i < len; i++) {
      const event = this.rx.push(load<u8>(p + <usize>i));
      if (event == SlipEvent.None) continue;
      if (event == SlipEvent.Frame) this.process(nowUs);
      else if (event == SlipEvent.Stray) this.counters.strayBytes++;
      else if (event == SlipEvent.Oversize) this.counters.oversize++;
      else this.counters.malformed++;
    }
  }

  /** Queues an unsolicited event frame (kind 3). False if the transmit ring is full. */
  emitEvent(command: u8, payload: usize, len: i32): bool {
    if (len < 0 || len > MAX_PAYLOAD) return false;
    const out = addressOf(this.reply);
    memory.copy(out + <usize>HEADER_BYTES, payload, <usize>len);
    return this.send(KIND_EVENT, command, 0, STATUS_OK, len);
  }

  private process(nowUs: i64): void {
    const frame = addressOf(this.rx.buffer);
    const len = this.rx.length;
    if (len < MIN_FRAME) { this.counters.malformed++; return; }
    const body = len - CRC_BYTES;
    if (crc32(frame, body) != readU32BE(frame + <usize>body)) { this.counters.crcErrors++; return; }
    if (<u8>readU8(frame) != KIND_REQUEST) { this.counters.malformed++; return; }
    this.counters.framesAccepted++;

    const command = <u8>readU8(frame + 1);
    const id = readU16BE(frame + 2);
    const handler = unchecked(this.handlers[command]);
    const out = addressOf(this.reply);
    this.writer.reset(out + <usize>HEADER_BYTES, MAX_PAYLOAD);
    let status = STATUS_UNKNOWN_COMMAND;
    if (handler === null) {
      this.counters.unknownCommands++;
    } else {
      status = handler.handle(command, frame + <usize>HEADER_BYTES, body - HEADER_BYTES, this.writer, nowUs);
      if (this.writer.overflow) { status = STATUS_INTERNAL; this.writer.length = 0; }
    }
    this.send(KIND_RESPONSE, command, id, status, this.writer.length);
  }

  /** Frames reply[HEADER..HEADER+payloadLength) and queues it SLIP-encoded. */
  private send(kind: u8, command: u8, id: u32, status: u8, payloadLength: i32): bool {
    const out = addressOf(this.reply);
    writeU8(out, kind);
    writeU8(out + 1, command);
    writeU16BE(out + 2, id);
    writeU8(out + 4, status);
    const body = HEADER_BYTES + payloadLength;
    writeU32BE(out + <usize>body, crc32(out, body));
    const total = body + CRC_BYTES;
    if (this.tx.free < encodedLength(out, total)) { this.counters.txDropped++; return false; }
    // Two ENDs first: a host that started listening in the middle of a frame takes the first
    // END as the end of that frame and the second as the start of this one (boards/CONSOLE.md).
    this.tx.pushByte(SLIP_END);
    this.tx.pushByte(SLIP_END);
    for (let i = 0; i < total; i++) {
      const b = load<u8>(out + <usize>i);
      if (b == SLIP_END) { this.tx.pushByte(SLIP_ESC); this.tx.pushByte(SLIP_ESC_END); }
      else if (b == SLIP_ESC) { this.tx.pushByte(SLIP_ESC); this.tx.pushByte(SLIP_ESC_ESC); }
      else this.tx.pushByte(b);
    }
    this.tx.pushByte(SLIP_END);
    return true;
  }
}

function encodedLength(p: usize, len: i32): i32 {
  let n = len + 3;
  for (let i = 0; i < len; i++) {
    const b = load<u8>(p + <usize>i);
    if (b == SLIP_END || b == SLIP_ESC) n++;
  }
  return n;
}
