// The tincan command as a person runs it: the built bundle, one-line errors, --json output.

import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { root } from "./helpers.ts";

const cli = path.join(root, "dist", "tincan.mjs");
const tincan = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 30_000 });

test("--help lists every subcommand", () => {
  const r = tincan("--help");
  assert.equal(r.status, 0);
  for (const cmd of ["boards", "ports", "sim", "monitor", "hello", "demo"]) assert.match(r.stdout, new RegExp(`^  ${cmd}\\b`, "m"));
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
  for (const args of [["hello"], ["hello", "--port", "socket://127.0.0.1:1", "--timeout", "-5"], ["hello", "--port", "ftp://x"], ["demo", "--seconds", "0"], ["sim", "--uart-port", "99999"]]) {
    const r = tincan(...args);
    assert.notEqual(r.status, 0, args.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /^error: /);
  }
});

test("the demo boots a board, talks to it over its link and records the speaker", () => {
  const out = path.join(root, ".tincan", `demo-test-${process.pid}`);
  const r = tincan("demo", "--seconds", "0.5", "--out", out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /board log \| I \(\d+\) tincan firmware 0\.1\.0 abi 1 board sim/);
  assert.match(r.stdout, /board +sim\n.*firmware +0\.1\.0\n.*abi +1/);
  assert.match(r.stdout, /audio frames (\d+)/);
  assert.ok(Number(/audio frames (\d+)/.exec(r.stdout)![1]) >= 20);
  assert.match(r.stdout, /level \(RMS\) -15\.\d dBFS/, "the -12 dBFS tone came back out of the speaker");
});
