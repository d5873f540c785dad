// How a board's reset and boot-mode pins hang off the USB-serial bridge's DTR and RTS, per
// manifest rom.reset. Lines a host has never driven leave the pins to their pull resistors:
// out of reset, boot from flash.
//
//  - esp-classic: the two-transistor auto-reset circuit of Espressif's dev boards. EN is low
//    while RTS is asserted and DTR is not; IO0 is low while DTR is asserted and RTS is not.
//    The chip samples IO0 when EN rises: low means download mode (esptool's ClassicReset).
//  - stm32-dtr-rts: DTR asserted holds NRST low; BOOT0 is high while RTS is deasserted; the
//    part samples BOOT0 when NRST rises (stm32flash -i "-rts,dtr,-dtr:rts,dtr,-dtr").

import type { ResetMode } from "../boards.ts";

export interface Lines { dtr: boolean; rts: boolean }
export interface Pins { inReset: boolean; bootLoader: boolean }

export function pinsFor(mode: ResetMode, lines: Lines | undefined): Pins {
  if (!lines) return { inReset: false, bootLoader: false };
  switch (mode) {
    case "esp-classic":
    case "esp-usb-jtag":
      return { inReset: lines.rts && !lines.dtr, bootLoader: lines.dtr && !lines.rts };
    case "stm32-dtr-rts":
      return { inReset: lines.dtr, bootLoader: !lines.rts };
    default:
      return { inReset: false, bootLoader: false };
  }
}
