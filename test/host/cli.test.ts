// The tincan command as a person runs it: the built bundle, one-line errors, --json output.

import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { root, tempDir } from "./helpers.ts";
import { parseWav } from "../../host-tools/sim/wav.ts";

const cli = path.join(root, "dist", "tincan.mjs");
const tincan = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 30_000 });

test("--help lists every subcommand; --version prints the tool's", () => {
  const r = tincan("--help");
  assert.equal(r.status, 0);
  for (const cmd of ["boards", "ports", "sim", "monitor", "hello", "demo", "codec", "keys", "image", "config", "ca", "provision", "factory"]) assert.match(r.stdout, new RegExp(`^  ${cmd}\\b`, "m"));
  assert.equal(tincan("--version").stdout.trim(), JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).version);
});

test("tincan boards --json lists the three manifests", () => {
  const r = tincan("boards", "--json");
  assert.equal(r.status, 0, r.stderr);
  const boards = JSON.parse(r.stdout) as { id: string; wasm: { memoryPages: number } }[];
  assert.deepEqual(boards.map((b) => b.id), ["sim", "tincan-h7", "tincan-s3"]);
  assert.match(tincan("boards").stdout, /tincan-s3 .*\n.*ESP32-S3/);
});

test("tincan ports --json answers a list (udev installed by .ci/run)", () => {
  const r = tincan("ports", "--json");
  assert.equal(r.status, 0, r.stderr);
  const ports = JSON.parse(r.stdout);
  assert.ok(Array.isArray(ports));
  for (const p of ports) assert.ok(typeof p.path === "string" && Array.isArray(p.boards));
});

test("usage errors are one line with a non-zero exit", () => {
  for (const args of [["hello"], ["hello", "--board", "tincan-s3"], ["hello", "--board", "nope"], ["hello", "--port", "socket://127.0.0.1:1", "--timeout", "-5"], ["hello", "--port", "ftp://x"], ["demo", "--seconds", "0"], ["sim", "--uart-port", "99999"]]) {
    const r = tincan(...args);
    assert.notEqual(r.status, 0, args.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /^error: /);
  }
});

test("the demo (npm start) makes a call between two simulated boards and reports it", () => {
  const out = path.join(root, ".tincan", `demo-test-${process.pid}`);
  const r = tincan("demo", "--seconds", "2", "--out", out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /connected \(G722, SRTP AES_CM_128_HMAC_SHA1_80\)/);
  assert.match(r.stdout, /^A: G722, SRTP AES_CM_128_HMAC_SHA1_80, setup \d+\.\d+ ms$/m);
  assert.match(r.stdout, /^B -> A: one-way delay \d+\.\d ms .* tone 1000\.\d Hz level -1[2-3]\.\d dBFS$/m, "B's 1 kHz, -12 dBFS tone reached A");
  // Speech reached B: 0.8 leaves room for the frames a loaded CI machine delivers late (each
  // costs a concealed stretch); no audio, or the wrong audio, correlates under 0.2.
  assert.match(r.stdout, /^A -> B: one-way delay \d+\.\d ms .*correlation 0\.[89]\d\d/m, "A's speech reached B");
  assert.match(r.stdout, /ended: A hung up here, B hung up by the other side/);
  for (const f of ["speaker-a.wav", "speaker-b.wav"]) assert.ok(parseWav(fs.readFileSync(path.join(out, f)), f).samples.length > 16000, f);
});

/** Starts `tincan ARGS` and resolves once stdout matches `ready`. */
function startCli(args: string[], ready: RegExp) {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  const matched = new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tincan ${args.join(" ")}: no ${ready} in ${JSON.stringify(out)} / ${JSON.stringify(err)}`)), 15_000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = ready.exec(out);
      if (m) { clearTimeout(timer); resolve(m); }
    });
  });
  const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
  return { child, matched, exited, output: () => out, errors: () => err };
}

test("two terminals: tincan sim serves its console, tincan monitor shows the log and answers typed commands", async () => {
  const wav = path.join(tempDir(), "speaker.wav");
  const sim = startCli(["sim", "--board", "sim", "--dir", tempDir(), "--audio-in", "tone:440", "--audio-out", wav], /console at (socket:\/\/127\.0\.0\.1:\d+)/);
  const url = (await sim.matched)[1];
  try {
    const monitor = startCli(["monitor", "--port", url], /tincan firmware 0\.1\.0 abi 5 board sim/);
    await monitor.matched; // the boot log, buffered by the simulated UART until someone connected
    monitor.child.stdin.write("hello\n");
    const answered = startWaiting(monitor, /board +sim\n/);
    await answered;
    monitor.child.kill("SIGINT");
    assert.equal(await monitor.exited, 0, monitor.errors());
  } finally {
    sim.child.kill("SIGINT");
  }
  assert.equal(await sim.exited, 0, sim.errors());
  const speaker = parseWav(fs.readFileSync(wav), wav); // complete, header sizes patched, after Ctrl-C
  assert.equal(speaker.sampleRate, 16000);
  // Hands-free: without a call the speaker stays silent (playing the microphone back would howl).
  assert.ok(speaker.samples.length >= 320 && speaker.samples.every((s) => s === 0), "silence while idle");
});

function startWaiting(proc: ReturnType<typeof startCli>, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${pattern} in ${JSON.stringify(proc.output())}`)), 10_000);
    const check = () => { if (pattern.test(proc.output())) { clearTimeout(timer); resolve(); } };
    proc.child.stdout.on("data", check);
    check();
  });
}
