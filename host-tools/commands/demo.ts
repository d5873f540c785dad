// tincan demo: the README's first command. Boots a simulated board, talks to it over its
// socket:// link with the same code that talks to a real board, and shows what it says.

import fs from "node:fs";
import path from "node:path";
import { startSim } from "../sim/run.ts";
import { ConsoleClient } from "../link/console.ts";
import { parseWav } from "../sim/wav.ts";
import { formatHello } from "./console.ts";
import { UsageError } from "./common.ts";

export async function demoCommand(opts: { board: string; seconds: string; out?: string }): Promise<void> {
  const seconds = Number(opts.seconds);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) throw new UsageError(`--seconds ${opts.seconds}: a duration between 0 and 3600`);
  const outDir = opts.out ?? path.join(".tincan", "demo");
  fs.mkdirSync(outDir, { recursive: true });
  const wavOut = path.join(outDir, "speaker.wav");
  const sim = await startSim({ boardId: opts.board, dir: path.join(outDir, "board"), audioIn: "tone:440:-12", audioOut: wavOut, reinstall: true });
  const say = (s: string) => process.stdout.write(`${s}\n`);
  say(`simulated board '${opts.board}' booted; its console is at ${sim.url}`);
  const client = await ConsoleClient.open(sim.url);
  try {
    client.onLog((line) => say(`  board log | ${line}`));
    await new Promise((r) => setTimeout(r, 50)); // let the boot log arrive before the answers
    say("HELLO ->");
    say(formatHello(await client.hello()).replace(/^/gm, "  "));
    say(`playing a 440 Hz tone into the microphone for ${seconds} s (the firmware loops it through its G.722 encoder and decoder back to the speaker)...`);
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const stats = await client.stats();
    say("STATS ->");
    say(`  audio frames ${stats.audioFrames}, console frames ${stats.framesAccepted}, crc errors ${stats.crcErrors}, dropped ${stats.oversize + stats.malformed}`);
  } finally {
    await client.close();
    await sim.stop();
  }
  const wav = parseWav(fs.readFileSync(wavOut), wavOut);
  const rms = Math.sqrt(wav.samples.reduce((a, s) => a + s * s, 0) / Math.max(1, wav.samples.length));
  say(`speaker output: ${wavOut}, ${(wav.samples.length / wav.sampleRate).toFixed(2)} s at ${wav.sampleRate} Hz, level (RMS) ${(20 * Math.log10(rms / 32768 || 1e-9)).toFixed(1)} dBFS`);
}
