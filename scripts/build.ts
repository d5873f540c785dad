// npm run build: the firmware for every board (memory fixed to that board's manifest) and the
// host tools bundle. build/firmware.wasm is the sim board's image, the default everywhere.
//   tsx scripts/build.ts [--firmware-only] [--debug]

import fs from "node:fs";
import path from "node:path";
import asc from "assemblyscript/asc";
import * as esbuild from "esbuild";
import { listBoards } from "../host-tools/boards.ts";
import { packageRoot } from "../host-tools/paths.ts";

const root = packageRoot();
const args = new Set(process.argv.slice(2));

async function buildFirmware(boardId: string, pages: number, target: "release" | "debug", outFile: string): Promise<void> {
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  const argv = ["firmware/main.ts", "--target", target, "--outFile", outFile, "--initialMemory", String(pages), "--maximumMemory", String(pages)];
  if (target === "debug") argv.push("--textFile", outFile.replace(/\.wasm$/, ".wat"));
  const { error, stderr } = await asc.main(argv, { stdout: process.stdout, stderr: process.stderr });
  if (error) {
    throw new Error(`firmware build for ${boardId} failed: ${error.message}${stderr ? `\n${stderr.toString()}` : ""}`);
  }
}

async function main(): Promise<void> {
  process.chdir(root);
  const boards = listBoards();
  for (const board of boards) {
    const out = path.join("build", "boards", board.id, "firmware.wasm");
    await buildFirmware(board.id, board.wasm.memoryPages, "release", out);
    if (board.id === "sim") fs.copyFileSync(out, path.join("build", "firmware.wasm"));
    console.log(`firmware  ${out}  ${fs.statSync(out).size} bytes, ${board.wasm.memoryPages} pages`);
  }
  // The codecs alone, for the host tools, tests and benchmarks (no board, no imports).
  const codec = await asc.main(["firmware/codec-module.ts", "--target", "codec", "--outFile", "build/codec.wasm"], { stdout: process.stdout, stderr: process.stderr });
  if (codec.error) throw new Error(`codec module build failed: ${codec.error.message}`);
  console.log(`codecs    build/codec.wasm  ${fs.statSync("build/codec.wasm").size} bytes`);
  // SRTP/SRTCP alone, for the host tests, the fuzzer and the benchmarks (no board, no imports).
  const media = await asc.main(["firmware/media-module.ts", "--target", "media", "--outFile", "build/media.wasm"], { stdout: process.stdout, stderr: process.stderr });
  if (media.error) throw new Error(`media module build failed: ${media.error.message}`);
  console.log(`media     build/media.wasm  ${fs.statSync("build/media.wasm").size} bytes`);
  if (args.has("--debug")) {
    const sim = boards.find((b) => b.id === "sim")!;
    await buildFirmware("sim", sim.wasm.memoryPages, "debug", path.join("build", "firmware.debug.wasm"));
  }
  if (args.has("--firmware-only")) return;
  fs.mkdirSync("dist", { recursive: true });
  await esbuild.build({
    entryPoints: ["host-tools/cli.ts"],
    outfile: "dist/tincan.mjs",
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    banner: { js: "#!/usr/bin/env node" },
    logLevel: "warning",
  });
  fs.chmodSync("dist/tincan.mjs", 0o755);
  console.log(`host tools dist/tincan.mjs  ${fs.statSync("dist/tincan.mjs").size} bytes`);
}

main().catch((e) => {
  console.error(`error: ${(e as Error).message}`);
  process.exit(1);
});
