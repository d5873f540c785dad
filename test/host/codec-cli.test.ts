// tincan codec encode|decode: files in, files out, bad input refused before anything is written.

import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { wavHeader, parseWav } from "../../host-tools/sim/wav.ts";
import { WasmCodec } from "../../host-tools/codec/wasm-codec.ts";
import { root, tempDir } from "./helpers.ts";

const cli = path.join(root, "dist", "tincan.mjs");
const tincan = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 30_000 });

function toneWav(file: string, rate: number, samples: number, freq = 440): Int16Array {
  const pcm = Int16Array.from({ length: samples }, (_, i) => Math.round(12000 * Math.sin((2 * Math.PI * freq * i) / rate)));
  fs.writeFileSync(file, Buffer.concat([wavHeader(rate, pcm.byteLength), Buffer.from(pcm.buffer)]));
  return pcm;
}

function snrDb(ref: Int16Array, got: Int16Array, delay: number): number {
  let s = 0, n = 0;
  for (let i = delay + 100; i < ref.length - 100; i++) { s += ref[i - delay] ** 2; n += (ref[i - delay] - got[i]) ** 2; }
  return 10 * Math.log10(s / n);
}

test("a WAV through G.722 and back: the firmware's codec, files on disk", () => {
  const dir = tempDir();
  const pcm = toneWav(path.join(dir, "in.wav"), 16000, 16000);
  const enc = tincan("codec", "encode", "--codec", "g722", path.join(dir, "in.wav"), path.join(dir, "out.g722"), "--json");
  assert.equal(enc.status, 0, enc.stderr);
  assert.equal(JSON.parse(enc.stdout).bytes, 8000);
  const codes = fs.readFileSync(path.join(dir, "out.g722"));
  const direct = new WasmCodec();
  direct.openEncoder("g722", 1);
  assert.deepEqual(new Uint8Array(codes), direct.encode(pcm), "the same bytes as the codec module gives");
  const dec = tincan("codec", "decode", "--codec", "g722", path.join(dir, "out.g722"), path.join(dir, "back.wav"));
  assert.equal(dec.status, 0, dec.stderr);
  const back = parseWav(fs.readFileSync(path.join(dir, "back.wav")));
  assert.equal(back.sampleRate, 16000);
  assert.equal(back.samples.length, 16000);
  assert.ok(snrDb(pcm, back.samples, 22) > 20, "G.722's 22-sample delay, then a clean tone");
});

test("PCMU and PCMA on raw s16le at 8 kHz", () => {
  const dir = tempDir();
  const pcm = Int16Array.from({ length: 8000 }, (_, i) => Math.round(9000 * Math.sin(i / 5)));
  fs.writeFileSync(path.join(dir, "in.raw"), Buffer.from(pcm.buffer));
  for (const codec of ["pcmu", "pcma"]) {
    assert.equal(tincan("codec", "encode", "--codec", codec, path.join(dir, "in.raw"), path.join(dir, `x.${codec}`)).status, 0);
    assert.equal(fs.statSync(path.join(dir, `x.${codec}`)).size, 8000, "one byte per sample");
    assert.equal(tincan("codec", "decode", "--codec", codec, path.join(dir, `x.${codec}`), path.join(dir, `${codec}.raw`)).status, 0);
    const back = new Int16Array(fs.readFileSync(path.join(dir, `${codec}.raw`)).buffer.slice(0));
    assert.ok(snrDb(pcm, back, 0) > 30, `${codec} round trip`);
  }
});

test("bad input is refused with one line, and no output file appears", () => {
  const dir = tempDir();
  const out = path.join(dir, "out.bin");
  fs.writeFileSync(path.join(dir, "odd.raw"), Buffer.alloc(321));
  toneWav(path.join(dir, "8k.wav"), 8000, 800);
  fs.writeFileSync(path.join(dir, "fake.wav"), "this is not audio at all");
  const stereo = Buffer.concat([wavHeader(16000, 400), Buffer.alloc(400)]);
  stereo.writeUInt16LE(2, 22);
  fs.writeFileSync(path.join(dir, "stereo.wav"), stereo);
  const cases: [string[], RegExp][] = [
    [["encode", "--codec", "g722", path.join(dir, "odd.raw"), out], /321 bytes is an odd length/],
    [["encode", "--codec", "g722", path.join(dir, "8k.wav"), out], /WAV is 8000 Hz; this codec takes 16000 Hz/],
    [["encode", "--codec", "g722", path.join(dir, "fake.wav"), out], /not a WAV file/],
    [["encode", "--codec", "g722", path.join(dir, "stereo.wav"), out], /2 channels; need mono/],
    [["encode", "--codec", "opus", path.join(dir, "8k.wav"), out], /--codec opus: choose g722, pcmu or pcma/],
    [["encode", "--codec", "g722", "--mode", "4", path.join(dir, "8k.wav"), out], /--mode 4/],
    [["encode", "--codec", "pcmu", "--mode", "2", path.join(dir, "8k.wav"), out], /--mode applies to g722 only/],
    [["decode", "--codec", "g722", path.join(dir, "missing.g722"), out], /missing\.g722: cannot read \(no such file\)/],
  ];
  for (const [args, pattern] of cases) {
    const r = tincan("codec", ...args);
    assert.notEqual(r.status, 0, args.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, pattern);
    assert.ok(!fs.existsSync(out), "nothing written");
  }
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes(".part")), []);
});

test("an odd number of samples is finished with one silent sample for G.722", () => {
  const dir = tempDir();
  toneWav(path.join(dir, "odd.wav"), 16000, 321);
  const r = tincan("codec", "encode", "--codec", "g722", path.join(dir, "odd.wav"), path.join(dir, "o.g722"), "--json");
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).padded, true);
  assert.equal(fs.statSync(path.join(dir, "o.g722")).size, 161);
});
