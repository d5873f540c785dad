// Where the simulated microphone's samples come from and where the speaker's go.

import fs from "node:fs";
import { parseWav, WavWriter, WavError } from "./wav.ts";

export interface AudioSource { name: string; read(out: Int16Array): void }
export interface AudioSink { write(frame: Int16Array): void; close(): void }

export function silence(): AudioSource {
  return { name: "silence", read: (out) => out.fill(0) };
}

/** A sine tone; amplitude in dBFS (default -12). */
export function tone(frequencyHz: number, sampleRate: number, dbfs = -12): AudioSource {
  const amplitude = 32767 * 10 ** (dbfs / 20);
  let n = 0;
  return {
    name: `tone ${frequencyHz} Hz`,
    read(out) {
      for (let i = 0; i < out.length; i++, n++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * frequencyHz * n) / sampleRate));
    },
  };
}

/** Plays a WAV file once, then silence (or loops it). */
export function wavSource(file: string, sampleRate: number, loop = false): AudioSource {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new WavError(`${file}: cannot read audio input (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const wav = parseWav(bytes, file);
  if (wav.sampleRate !== sampleRate) throw new WavError(`${file}: WAV is ${wav.sampleRate} Hz; the board captures at ${sampleRate} Hz (convert it, e.g. sox in.wav -r ${sampleRate} -c 1 -b 16 out.wav)`);
  let pos = 0;
  return {
    name: file,
    read(out) {
      for (let i = 0; i < out.length; i++) {
        if (pos >= wav.samples.length) {
          if (!loop || wav.samples.length === 0) { out[i] = 0; continue; }
          pos = 0;
        }
        out[i] = wav.samples[pos++];
      }
    },
  };
}

/** Parses --audio-in: "silence", "tone:440[:dBFS]" or a WAV path. */
export function audioSourceFromSpec(spec: string, sampleRate: number): AudioSource {
  if (spec === "silence") return silence();
  const m = /^tone:(\d+(?:\.\d+)?)(?::(-?\d+(?:\.\d+)?))?$/.exec(spec);
  if (m) {
    const hz = Number(m[1]);
    if (hz <= 0 || hz >= sampleRate / 2) throw new WavError(`--audio-in ${spec}: tone frequency must be between 0 and ${sampleRate / 2} Hz`);
    return tone(hz, sampleRate, m[2] === undefined ? -12 : Number(m[2]));
  }
  if (spec.startsWith("tone")) throw new WavError(`--audio-in ${spec}: write a tone as tone:HZ or tone:HZ:DBFS, e.g. tone:440:-12`);
  return wavSource(spec, sampleRate);
}

export function wavSink(file: string, sampleRate: number): AudioSink {
  const w = new WavWriter(file, sampleRate);
  return { write: (f) => w.write(f), close: () => w.close() };
}

export function discardSink(): AudioSink {
  return { write() {}, close() {} };
}
