// The ROM loader emulator of each protocol a manifest can name (rom.protocol). Loaded lazily,
// so a board without a loader does not pull the others in.
import type { BoardManifest } from "../../boards.ts";
import type { RomFactory } from "./types.ts";

export async function romFactoryFor(board: BoardManifest): Promise<RomFactory | undefined> {
  switch (board.rom.protocol) {
    case "esp-serial":
      return (await import("./esp.ts")).createEspRom;
    case "stm32-usart":
      return (await import("./stm32.ts")).createStm32Rom;
    default:
      return undefined; // the sim board has no ROM loader: its image is installed directly
  }
}
