// Microphones and speakers for a call on simulated boards that remember when each frame
// crossed them: the one-way delay is measured from these stamps and the audio itself
// (analysis.ts pipelineDelay), the way it would be measured on a bench with two boards.

import { performance } from "node:perf_hooks";
import type { AudioSource, AudioSink } from "../sim/audio.ts";
import { WavWriter } from "../sim/wav.ts";

/** A microphone that hears silence until opened, then `samples` once, then silence. */
export class GatedSource implements AudioSource {
  readonly name: string;
  private at = -1;            // next sample to play; -1 while closed
  readonly frames: Int16Array[] = [];
  readonly times: number[] = [];

  constructor(readonly samples: Int16Array, name: string) { this.name = name; }

  open(): void { if (this.at < 0) this.at = 0; }
  get finished(): boolean { return this.at >= this.samples.length; }

  read(out: Int16Array): void {
    out.fill(0);
    if (this.at >= 0 && this.at < this.samples.length) {
      const n = Math.min(out.length, this.samples.length - this.at);
      out.set(this.samples.subarray(this.at, this.at + n));
      this.at += n;
    }
    if (this.at >= 0) { this.frames.push(Int16Array.from(out)); this.times.push(performance.now()); }
  }

  /** What the microphone gave since it opened, with the time of each frame. */
  timed(frameSize: number): { samples: Int16Array; frameSize: number; frameTimesMs: number[] } {
    return { samples: concat(this.frames), frameSize, frameTimesMs: this.times };
  }
}

/** A speaker that records every frame after it is armed (optionally into a WAV file too). */
export class TimedSink implements AudioSink {
  private armed = false;
  readonly frames: Int16Array[] = [];
  readonly times: number[] = [];
  private readonly wav?: WavWriter;

  constructor(sampleRate: number, file?: string) { if (file) this.wav = new WavWriter(file, sampleRate); }

  arm(): void { this.armed = true; }

  write(frame: Int16Array): void {
    if (!this.armed) return;
    this.frames.push(Int16Array.from(frame));
    this.times.push(performance.now());
    this.wav?.write(frame);
  }

  close(): void { this.wav?.close(); }

  timed(frameSize: number): { samples: Int16Array; frameSize: number; frameTimesMs: number[] } {
    return { samples: concat(this.frames), frameSize, frameTimesMs: this.times };
  }
}

function concat(frames: Int16Array[]): Int16Array {
  const out = new Int16Array(frames.reduce((n, f) => n + f.length, 0));
  let o = 0;
  for (const f of frames) { out.set(f, o); o += f.length; }
  return out;
}
