// npx tsx test/bench/flash.ts — flashing figures on the paced emulators (every byte at the line
// rate: 10 bit times at 8N1, 11 at 8E1). Figures go in docs/flashing.md.
//
// tincan-s3 (esptool-js as the engine, stub, deflate), the image a real board gets: a 1 MiB
// native runtime (stand-in: test/bench/runtime-standin.ts) plus the signed WASM app, at 115200,
// 460800 and 921600 baud:
//   wall        the whole `flashBoard` run: reset into the loader, stub upload at 115200,
//               baud change, compare, write, verify, reset out
//   throughput  image bytes / wall time, and its ratio to the line rate (baud / 10 bytes/s)
//   efficiency  (deflated bytes x bit times / baud) / actual time, for the whole run and for
//               the write phase alone (first to last byte of progress)
//   re-flash    one 4 KiB unit of the runtime changed, the app the same: time / full time
//   parallel    4 boards at once at 921600: time / one board's
// tincan-h7 (AN3155, no compression, read-back verify) at 115200 8E1: tincan flash beside
// stm32flash (Debian) writing and verifying the same 128 KiB on the same emulated board.
//
// TINCAN_BENCH_QUICK=1 runs 921600 only, for a smoke test.

import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { spawn } from "node:child_process";
import { startDevice, type RunningDevice } from "../../host-tools/sim/device.ts";
import { flashBoard, type FlashResult } from "../../host-tools/flash/flash-board.ts";
import { buildUnsigned, signImage, parseVersion, parseImage } from "../../host-tools/flash/image.ts";
import { loadBoard } from "../../host-tools/boards.ts";
import { ABI_VERSION } from "../../host-tools/sim/abi.ts";
import { runtimeStandIn } from "./runtime-standin.ts";

const keys = crypto.generateKeyPairSync("ed25519");
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tincan-bench-flash-"));
const quick = process.env.TINCAN_BENCH_QUICK === "1";

function app(boardId: string) {
  const module = fs.readFileSync(path.join(root, "build", "boards", boardId, "firmware.wasm"));
  const bytes = signImage(buildUnsigned(module, { board: boardId, abiVersion: ABI_VERSION, version: parseVersion("1.0.0"), securityCounter: 1 }), keys.privateKey);
  return { image: parseImage(bytes), imageBytes: bytes };
}

async function device(boardId: string): Promise<RunningDevice> {
  return startDevice({ boardId, dir: fs.mkdtempSync(path.join(tmp, "dev-")), trustedKey: keys.publicKey, paced: true });
}

interface Timed { result: FlashResult; writeSeconds: number }

async function timedFlash(d: RunningDevice, boardId: string, baud: number, runtime?: Uint8Array): Promise<Timed> {
  let first = 0, last = 0;
  const result = await flashBoard({
    board: loadBoard(boardId), port: d.url, ...app(boardId), runtime, baud, checkBoot: false,
    progress: (phase) => {
      if (phase !== "write") return;
      const now = performance.now();
      if (!first) first = now;
      last = now;
    },
  });
  // The board boots the new image after the flash leaves the loader; the next flash must find it
  // booted (a trial record still pending would rightly make it write the app again).
  for (let i = 0; i < 500 && d.device.mode !== "app"; i++) await new Promise((r) => setTimeout(r, 10));
  return { result, writeSeconds: (last - first) / 1000 };
}

const deflated = (b: Uint8Array) => zlib.deflateSync(b, { level: 9 }).length;
const f2 = (n: number) => n.toFixed(2);

async function esp(): Promise<void> {
  const { data: runtime, source } = runtimeStandIn();
  const appBytes = app("tincan-s3").imageBytes;
  const imageBytes = runtime.length + appBytes.length;
  const compressed = deflated(runtime) + deflated(appBytes);
  console.log(`tincan-s3: runtime stand-in ${source}; app ${appBytes.length} bytes; ${imageBytes} bytes in all, ${compressed} deflated (${f2(imageBytes / compressed)}x)`);
  console.log("baud     wall s  write s  KiB/s   x line  eff. run  eff. write  re-flash 1 unit  (ratio)");
  const rows: string[] = [];
  for (const baud of quick ? [921600] : [115200, 460800, 921600]) {
    const d = await device("tincan-s3");
    try {
      const full = await timedFlash(d, "tincan-s3", baud, runtime);
      const wall = full.result.seconds;
      const lineSeconds = (compressed * 10) / baud;
      const changed = Uint8Array.from(runtime);
      for (let i = 0; i < 4096; i++) changed[512 * 1024 + i] ^= 0x5a;
      const re = await timedFlash(d, "tincan-s3", baud, changed);
      if (re.result.unitsWritten !== 1 || re.result.app !== "already-running") throw new Error(`re-flash wrote ${re.result.unitsWritten} units (app ${re.result.app})`);
      const row = `${String(baud).padEnd(8)} ${f2(wall).padStart(6)}  ${f2(full.writeSeconds).padStart(7)}  ${(imageBytes / 1024 / wall).toFixed(1).padStart(6)}  ${f2(imageBytes / wall / (baud / 10)).padStart(6)}  ${f2(lineSeconds / wall).padStart(8)}  ${f2(lineSeconds / full.writeSeconds).padStart(10)}  ${f2(re.result.seconds).padStart(9)} s       ${f2(re.result.seconds / wall)}`;
      console.log(row);
      rows.push(row);
    } finally {
      await d.stop();
    }
  }
  const n = 4;
  const one = await device("tincan-s3");
  const single = (await timedFlash(one, "tincan-s3", 921600, runtime)).result.seconds;
  await one.stop();
  const many = await Promise.all(Array.from({ length: n }, () => device("tincan-s3")));
  const t0 = performance.now();
  await Promise.all(many.map((d) => timedFlash(d, "tincan-s3", 921600, runtime)));
  const parallel = (performance.now() - t0) / 1000;
  for (const d of many) await d.stop();
  console.log(`parallel: ${n} boards at 921600 in ${f2(parallel)} s, one board ${f2(single)} s: ratio ${f2(parallel / single)}`);
}

function stm32flash(pty: string, file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn("stm32flash", ["-m", "8n1", "-b", "115200", "-w", file, "-v", "-S", "0x08100000", pty], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (code) => (code === 0 ? resolve((performance.now() - t0) / 1000) : reject(new Error(`stm32flash exited ${code}: ${err.trim().split("\n").pop()}`))));
  });
}

async function stm32(): Promise<void> {
  const size = 128 * 1024;
  const { data } = runtimeStandIn(size);
  // tincan: the same 128 KiB as the runtime partition's first sector, plus the app image.
  const d = await device("tincan-h7");
  let ours: FlashResult;
  try {
    ours = (await timedFlash(d, "tincan-h7", 115200, data)).result;
  } finally {
    await d.stop();
  }
  const d2 = await startDevice({ boardId: "tincan-h7", dir: fs.mkdtempSync(path.join(tmp, "dev-")), trustedKey: keys.publicKey, paced: true, bootMode: "rom" });
  const pty = path.join(tmp, "tty-h7");
  const file = path.join(tmp, "h7.bin");
  fs.writeFileSync(file, Buffer.concat([data, app("tincan-h7").imageBytes]));
  const socat = spawn("socat", [`PTY,link=${pty},raw,echo=0`, `TCP:127.0.0.1:${new URL(d2.rawUrl).port}`], { stdio: "ignore" });
  try {
    for (let i = 0; i < 100 && !fs.existsSync(pty); i++) await new Promise((r) => setTimeout(r, 20));
    const theirs = await stm32flash(pty, file);
    const bytes = data.length + app("tincan-h7").imageBytes.length;
    console.log(`tincan-h7 at 115200 8E1, ${bytes} bytes written and verified: tincan ${f2(ours.seconds)} s (${(bytes / 1024 / ours.seconds).toFixed(1)} KiB/s), stm32flash ${f2(theirs)} s: ratio ${f2(ours.seconds / theirs)}`);
  } finally {
    socat.kill();
    await d2.stop();
  }
}

await esp();
if (!quick) await stm32();
fs.rmSync(tmp, { recursive: true, force: true });
