// The reset-into-bootloader recipe of a board (manifest rom.gpioSequence), in stm32flash's `-i`
// syntax: "entry:exit", each a list of signals; `dtr` / `rts` asserts the line, `-dtr` / `-rts`
// releases it; ',' waits 100 ms before the next signal, '&' goes on at once. stm32flash also
// knows `brk` and GPIO numbers (a Linux host's own pins); a USB-serial link has only DTR and RTS.

import type { Link } from "../../link/transport.ts";

export interface GpioStep {
  line: "dtr" | "rts";
  asserted: boolean;
  /** Pause after this step (100 ms after a ',', none after '&' or at the end). */
  pauseMs: number;
}

export interface GpioSequence {
  entry: GpioStep[];
  exit: GpioStep[];
}

export class GpioSequenceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GpioSequenceError";
  }
}

const COMMA_PAUSE_MS = 100;

export function parseGpioSequence(text: string): GpioSequence {
  const parts = text.split(":");
  if (parts.length > 2) throw new GpioSequenceError(`GPIO sequence "${text}" has more than one ':' (entry:exit)`);
  return { entry: parseSteps(text, parts[0]!), exit: parseSteps(text, parts[1] ?? "") };
}

function parseSteps(whole: string, part: string): GpioStep[] {
  const steps: GpioStep[] = [];
  if (part.trim() === "") return steps;
  const tokens = part.split(/([,&])/);
  for (let i = 0; i < tokens.length; i += 2) {
    const raw = tokens[i]!.trim();
    const m = /^(-?)([a-z0-9]+)$/i.exec(raw);
    if (!m) throw new GpioSequenceError(`GPIO sequence "${whole}": "${raw}" is not a signal (dtr, rts, -dtr or -rts)`);
    const name = m[2]!.toLowerCase();
    if (name !== "dtr" && name !== "rts")
      throw new GpioSequenceError(`GPIO sequence "${whole}": "${m[2]}" cannot be driven over a serial link; only dtr and rts can`);
    const sep = tokens[i + 1];
    steps.push({ line: name, asserted: m[1] === "", pauseMs: sep === "," ? COMMA_PAUSE_MS : 0 });
  }
  return steps;
}

/** Drives the steps over the link's modem lines; rejects with the link's error if it refuses. */
export async function runGpioSteps(link: Link, steps: GpioStep[], sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))): Promise<void> {
  for (const s of steps) {
    await link.setSignals(s.line === "dtr" ? { dtr: s.asserted } : { rts: s.asserted });
    if (s.pauseMs) await sleep(s.pauseMs);
  }
}

export function describeSteps(steps: GpioStep[]): string {
  return steps.map((s, i) => `${s.asserted ? "" : "-"}${s.line}${i < steps.length - 1 ? (s.pauseMs ? "," : "&") : ""}`).join("");
}
