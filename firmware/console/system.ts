// System commands of the console: HELLO and STATS (boards/CONSOLE.md).

import { CommandHandler, Console, STATUS_OK, STATUS_BAD_REQUEST, MAX_PAYLOAD } from "./console";
import { TlvWriter } from "./tlv";
import { FrameLoop } from "../audio/loop";
import { FIRMWARE_VERSION, ABI_VERSION } from "../version";
import { addressOf } from "../lib/bytes";
import { BootStatus } from "../system/boot";

export const CMD_HELLO: u8 = 0x01;
export const CMD_STATS: u8 = 0x02;

/** Facts about this device that main.ts learns from the board at boot. */
export class DeviceInfo {
  constructor(readonly boot: BootStatus) {}
  readonly boardId: StaticArray<u8> = new StaticArray<u8>(32);
  boardIdLength: i32 = 0;
  bootUs: i64 = 0;
}

export class SystemCommands extends CommandHandler {
  constructor(private device: DeviceInfo, private console: Console, private audio: FrameLoop) { super(); }

  handle(command: u8, payload: usize, payloadLength: i32, out: TlvWriter, nowUs: i64): u8 {
    if (payloadLength != 0) return STATUS_BAD_REQUEST;
    if (command == CMD_HELLO) {
      out.ascii(0x01, FIRMWARE_VERSION);
      out.u16(0x02, <u32>ABI_VERSION);
      out.bytes(0x03, addressOf(this.device.boardId), this.device.boardIdLength);
      out.u64(0x04, <u64>((nowUs - this.device.bootUs) / 1000));
      out.u16(0x05, <u32>MAX_PAYLOAD);
      const boot = this.device.boot;
      if (boot.known) {
        out.bytes(0x06, boot.version.address, boot.version.length);
        out.u8(0x07, <u32>boot.slot);
        out.u8(0x08, boot.testing ? 1 : 0);
        out.u32(0x09, boot.securityCounter);
      }
      return STATUS_OK;
    }
    const c = this.console.counters;
    out.u32(0x01, c.framesAccepted);
    out.u32(0x02, c.crcErrors);
    out.u32(0x03, c.oversize);
    out.u32(0x04, c.malformed);
    out.u32(0x05, c.unknownCommands);
    out.u32(0x06, c.strayBytes);
    out.u32(0x07, <u32>this.audio.frames);
    return STATUS_OK;
  }
}
