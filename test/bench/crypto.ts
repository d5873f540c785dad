// npx tsx test/bench/crypto.ts — the firmware's crypto cores (firmware/crypto/) in WASM on Node,
// beside Node's own crypto (OpenSSL, with AES-NI and SHA extensions where the CPU has them) in
// one run, plus exact WASM instruction counts (instrumented module, test/bench/instrument.ts).
// Figures go in docs/crypto.md.
//
// The WASM side runs its loops inside the module (test/bench/crypto-entry.ts), so a figure is
// the work, not a JS -> WASM call per operation. Node's side is measured the way a Node program
// has to call it: one createCipheriv / createHmac per packet, since the IV changes per packet;
// for a single AES block both a per-call figure (update() of 16 bytes on a reused ECB cipher)
// and a bulk one (16 KiB per update) are given. The ratio column divides by the per-call figure.
//
// libsrtp 2's srtp_protect (C, Debian's libsrtp2, through test/reference/libsrtp_ref.c) is the
// time target; it includes SRTP's framing, which the crypto-only rows here do not (the SRTP
// work's own benchmark is test/bench/srtp.ts). It is printed when the reference builds.
//
// Timings: median of 7 runs of about 50 ms each. Instruction counts: one operation on the
// instrumented module after one warm-up call (every operation here takes one path per length).

import crypto from "node:crypto";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import asc from "assemblyscript/asc";
import { packageRoot } from "../../host-tools/paths.ts";
import { instrumentForCounting } from "./instrument.ts";

const ENTRY = "test/bench/crypto-entry.ts";
// Passed with --config: asc then reads this file, not ./asconfig.json (firmware-only targets).
const CONFIG = "test/bench/crypto.asconfig.json";

const HEADER = 12;        // RTP header
const PAYLOAD = 160;      // G.722, 20 ms
const PACKET = HEADER + PAYLOAD;
const RUNS = 7;
const RUN_NS = 50e6;

interface CryptoExports {
  memory: WebAssembly.Memory;
  keyBuffer(): number;
  ivBuffer(): number;
  packetBuffer(): number;
  tagBuffer(): number;
  outBuffer(): number;
  setKeys(keyLen: number): number;
  aesBlocks(ct: number, n: number): void;
  aesCtPairs(n: number): void;
  ctr(ct: number, len: number, n: number): void;
  srtpPackets(ct: number, len: number, n: number): void;
  hmacSha1(len: number, n: number): void;
  hmacSha256(len: number, n: number): void;
  sha1Digest(len: number, n: number): void;
  sha256Digest(len: number, n: number): void;
  gcmSeal(aadLen: number, len: number, n: number): number;
  saveSealed(len: number): void;
  gcmOpen(aadLen: number, len: number, n: number): number;
  ghashBytes(len: number, n: number): void;
  setKeyOnly(which: number, keyLen: number, n: number): void;
  heapProbe(): number;
  __icount_get?(): bigint;
  __icount_reset?(): void;
}

/** Compiles the entry with asc, in memory; returns the module's bytes. */
export async function compileCryptoWasm(): Promise<Uint8Array> {
  const files = new Map<string, Uint8Array | string>();
  const argv = [ENTRY, "--config", CONFIG, "--baseDir", packageRoot(), "--outFile", "crypto.wasm"];
  const res = await asc.main(argv, { writeFile: (name: string, contents: Uint8Array | string) => { files.set(name, contents); } });
  if (res.error) throw new Error(`asc ${argv.join(" ")} failed: ${res.error.message}\n${res.stderr.toString()}`);
  const bin = files.get("crypto.wasm");
  if (!(bin instanceof Uint8Array)) throw new Error(`asc wrote no crypto.wasm (wrote: ${[...files.keys()].join(", ")})`);
  return bin;
}

function instantiate(wasm: Uint8Array): CryptoExports {
  const abort = (): never => { throw new Error("abort() in the crypto bench module"); };
  const instance = new WebAssembly.Instance(new WebAssembly.Module(Uint8Array.from(wasm)), { env: { abort } });
  return instance.exports as unknown as CryptoExports;
}

// The fixed inputs: keys 00..1f, an SRTP-like counter block (low 16 bits zero), an RTP-looking packet.
const KEY = Uint8Array.from({ length: 32 }, (_, i) => i);
const IV = Uint8Array.from([0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0, 0]);
const PKT = Uint8Array.from({ length: 256 }, (_, i) => (i < HEADER ? [0x80, 9, 0, 1, 0, 0, 0, 0xa0, 0x12, 0x34, 0xab, 0xcd][i]! : (i * 37 + 11) & 0xff));

function load(ex: CryptoExports, keyLen: number): void {
  new Uint8Array(ex.memory.buffer, ex.keyBuffer(), 32).set(KEY);
  new Uint8Array(ex.memory.buffer, ex.ivBuffer(), 16).set(IV);
  new Uint8Array(ex.memory.buffer, ex.packetBuffer(), 256).set(PKT);
  if (!ex.setKeys(keyLen)) throw new Error(`setKeys(${keyLen}) refused`);
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

/** ns per operation: `run(n)` performs n operations; n chosen so a run takes about RUN_NS. */
function time(run: (n: number) => void): number {
  let n = 1;
  for (;;) { // calibrate (also the warm-up)
    const t0 = process.hrtime.bigint();
    run(n);
    const dt = Number(process.hrtime.bigint() - t0);
    if (dt > RUN_NS / 10) { n = Math.max(1, Math.round((n * RUN_NS) / dt)); break; }
    n *= 4;
  }
  const per: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = process.hrtime.bigint();
    run(n);
    per.push(Number(process.hrtime.bigint() - t0) / n);
  }
  return median(per);
}

/** WASM instructions of one operation, after a warm-up one. */
function count(ex: CryptoExports, run: (n: number) => void, per = 1): number {
  run(1);
  ex.__icount_reset!();
  run(1);
  return Number(ex.__icount_get!()) / per;
}

interface Row { name: string; wasmNs: number; nodeNs: number; note: string; instr: number }

function nodeAesBlock(keyLen: number): { call: number; bulk: number } {
  const c = crypto.createCipheriv(`aes-${keyLen * 8}-ecb`, KEY.subarray(0, keyLen), null);
  c.setAutoPadding(false);
  const block = Buffer.from(PKT.subarray(0, 16));
  const call = time((n) => { for (let i = 0; i < n; i++) c.update(block); });
  const big = Buffer.alloc(16384, 7);
  const bulk = time((n) => { for (let i = 0; i < n; i++) c.update(big); }) / 1024;
  return { call, bulk };
}

function nodeSrtpPacket(): number {
  const key = KEY.subarray(0, 16);
  const authKey = KEY.subarray(0, 20);
  const pkt = Buffer.from(PKT.subarray(0, PACKET));
  const roc = Buffer.alloc(4);
  return time((n) => {
    for (let i = 0; i < n; i++) {
      const c = crypto.createCipheriv("aes-128-ctr", key, IV);
      c.update(pkt.subarray(HEADER)); // the payload, as SRTP encrypts it (output discarded)
      crypto.createHmac("sha1", authKey).update(pkt).update(roc).digest();
    }
  });
}

function nodeCtr(len: number): number {
  const key = KEY.subarray(0, 16);
  const data = Buffer.from(PKT.subarray(HEADER, HEADER + len));
  return time((n) => { for (let i = 0; i < n; i++) crypto.createCipheriv("aes-128-ctr", key, IV).update(data); });
}

function nodeHmac(alg: "sha1" | "sha256", keyLen: number, len: number): number {
  const key = KEY.subarray(0, keyLen);
  const data = Buffer.from(PKT.subarray(0, len));
  return time((n) => { for (let i = 0; i < n; i++) crypto.createHmac(alg, key).update(data).digest(); });
}

function nodeHash(alg: "sha1" | "sha256", len: number): number {
  const data = Buffer.from(PKT.subarray(0, len));
  return time((n) => { for (let i = 0; i < n; i++) crypto.createHash(alg).update(data).digest(); });
}

function nodeGcm(keyLen: number): { seal: number; open: number } {
  const key = KEY.subarray(0, keyLen);
  const iv = IV.subarray(0, 12);
  const aad = Buffer.from(PKT.subarray(0, HEADER));
  const pt = Buffer.from(PKT.subarray(HEADER, PACKET));
  const alg = `aes-${keyLen * 8}-gcm` as crypto.CipherGCMTypes;
  const seal = time((n) => {
    for (let i = 0; i < n; i++) {
      const c = crypto.createCipheriv(alg, key, iv);
      c.setAAD(aad); c.update(pt); c.final(); c.getAuthTag();
    }
  });
  const c = crypto.createCipheriv(alg, key, iv);
  c.setAAD(aad);
  const ct = Buffer.concat([c.update(pt), c.final()]);
  const tag = c.getAuthTag();
  const open = time((n) => {
    for (let i = 0; i < n; i++) {
      const d = crypto.createDecipheriv(alg, key, iv);
      d.setAAD(aad); d.setAuthTag(tag); d.update(ct); d.final();
    }
  });
  return { seal, open };
}

/** libsrtp 2's srtp_protect / srtp_unprotect of the same packet shape, if the reference builds. */
async function libsrtpFigures(): Promise<string[]> {
  try {
    const ref = await import("../reference/libsrtp.ts");
    const lines: string[] = [];
    for (const suite of [1, 3, 4] as const) {
      const info = ref.SUITES[suite];
      const r = ref.benchLibsrtp(suite, KEY.subarray(0, info.keyLen), KEY.subarray(0, info.saltLen));
      lines.push(`| libsrtp 2 ${info.name} | ${r.protectNs.toFixed(0)} | ${r.unprotectNs.toFixed(0)} |`);
    }
    return lines;
  } catch (e) {
    return [`| libsrtp 2 | unavailable: ${e instanceof Error ? e.message.split("\n")[0] : String(e)} | |`];
  }
}

async function main(): Promise<void> {
  const wasm = await compileCryptoWasm();
  const ex = instantiate(wasm);
  const cx = instantiate(instrumentForCounting(wasm));
  nodeAesBlock(16); nodeSrtpPacket(); nodeGcm(16); // warm OpenSSL and V8 up before anything is kept
  const rows: Row[] = [];
  const add = (name: string, wasmNs: number, nodeNs: number, instr: number, note = "") => rows.push({ name, wasmNs, nodeNs, instr, note });

  for (const keyLen of [16, 32]) {
    load(ex, keyLen); load(cx, keyLen);
    const bits = keyLen * 8;
    const node = nodeAesBlock(keyLen);
    const tableNs = time((n) => ex.aesBlocks(0, n));
    add(`AES-${bits} one block, T-tables (Aes)`, tableNs, node.call, count(cx, (n) => cx.aesBlocks(0, n)),
      `Node bulk (16 KiB per update, AES-NI pipelined): ${node.bulk.toFixed(1)} ns/block, WASM ${(tableNs / node.bulk).toFixed(1)}x that`);
    add(`AES-${bits} one block, bitsliced (AesCt.encryptBlock)`, time((n) => ex.aesBlocks(1, n)), node.call,
      count(cx, (n) => cx.aesBlocks(1, n)), "a full two-block pass");
    add(`AES-${bits} per block, bitsliced two at a time (AesCt.encrypt2 / 2)`, time((n) => ex.aesCtPairs(n)) / 2, node.call,
      count(cx, (n) => cx.aesCtPairs(n), 2), "what CTR gets from AesCt");
  }

  load(ex, 16); load(cx, 16);
  const srtpNode = nodeSrtpPacket();
  add(`SRTP AES-CM-128 + HMAC-SHA1-80 packet (${PACKET} bytes): CTR over ${PAYLOAD}, HMAC over ${PACKET}+4, T-tables`,
    time((n) => ex.srtpPackets(0, PACKET, n)), srtpNode, count(cx, (n) => cx.srtpPackets(0, PACKET, n)), "Node: createCipheriv + createHmac per packet");
  add("  the same with the bitsliced AES (AesCt)", time((n) => ex.srtpPackets(1, PACKET, n)), srtpNode,
    count(cx, (n) => cx.srtpPackets(1, PACKET, n)));
  add(`  of which AES-CTR over ${PAYLOAD} bytes (T-tables)`, time((n) => ex.ctr(0, PAYLOAD, n)), nodeCtr(PAYLOAD), count(cx, (n) => cx.ctr(0, PAYLOAD, n)));
  add(`  of which AES-CTR over ${PAYLOAD} bytes (bitsliced)`, time((n) => ex.ctr(1, PAYLOAD, n)), nodeCtr(PAYLOAD), count(cx, (n) => cx.ctr(1, PAYLOAD, n)));
  add(`  of which HMAC-SHA1 over ${PACKET + 4} bytes (20-byte key, pads precomputed)`, time((n) => ex.hmacSha1(PACKET + 4, n)),
    nodeHmac("sha1", 20, PACKET + 4), count(cx, (n) => cx.hmacSha1(PACKET + 4, n)), "4 compressions");

  for (const keyLen of [16, 32]) {
    load(ex, keyLen); load(cx, keyLen);
    const node = nodeGcm(keyLen);
    const sealNs = time((n) => ex.gcmSeal(HEADER, PACKET, n));
    add(`AES-${keyLen * 8}-GCM seal, ${PAYLOAD} bytes + ${HEADER} bytes AAD, 16-byte tag (GHASH: Ghash4, the 4-bit table)`, sealNs, node.seal, count(cx, (n) => cx.gcmSeal(HEADER, PACKET, n)));
    ex.gcmSeal(HEADER, PACKET, 1); ex.saveSealed(PACKET);
    cx.gcmSeal(HEADER, PACKET, 1); cx.saveSealed(PACKET);
    if (!ex.gcmOpen(HEADER, PACKET, 1) || !cx.gcmOpen(HEADER, PACKET, 1)) throw new Error("gcmOpen refused its own seal");
    add(`AES-${keyLen * 8}-GCM open (verify, then decrypt) of the same (Ghash4)`, time((n) => ex.gcmOpen(HEADER, PACKET, n)), node.open,
      count(cx, (n) => cx.gcmOpen(HEADER, PACKET, n)), "includes a 172-byte memory.copy per open (restoring the ciphertext)");
  }

  load(ex, 16); load(cx, 16);
  add("GHASH, per 16-byte block (constant time: masked integer multiplies, no table)", time((n) => ex.ghashBytes(PAYLOAD, n)) / 10, Number.NaN,
    count(cx, (n) => cx.ghashBytes(PAYLOAD, n), 10), "Node has no GHASH alone");
  add("setKey: Aes, 128-bit key", time((n) => ex.setKeyOnly(0, 16, n)), Number.NaN, count(cx, (n) => cx.setKeyOnly(0, 16, n)), "key expansion with the table-free S-box");
  add("setKey: AesCt, 128-bit key", time((n) => ex.setKeyOnly(1, 16, n)), Number.NaN, count(cx, (n) => cx.setKeyOnly(1, 16, n)), "plus 11 round keys bitsliced");
  add("setKey: AesGcm, 128-bit key", time((n) => ex.setKeyOnly(2, 16, n)), Number.NaN, count(cx, (n) => cx.setKeyOnly(2, 16, n)), "AES, H = E(0), Ghash4's 16-entry table of multiples of H");
  add("setKey: HmacSha1, 20-byte key", time((n) => ex.setKeyOnly(3, 16, n)), Number.NaN, count(cx, (n) => cx.setKeyOnly(3, 16, n)), "two compressions (the pads)");
  add("SHA-1 of 64 bytes (2 compressions)", time((n) => ex.sha1Digest(64, n)), nodeHash("sha1", 64), count(cx, (n) => cx.sha1Digest(64, n)));
  add("SHA-256 of 64 bytes (2 compressions)", time((n) => ex.sha256Digest(64, n)), nodeHash("sha256", 64), count(cx, (n) => cx.sha256Digest(64, n)));
  add("HMAC-SHA256 over 100 bytes (a STUN request; 32-byte key)", time((n) => ex.hmacSha256(100, n)), nodeHmac("sha256", 32, 100), count(cx, (n) => cx.hmacSha256(100, n)), "3 compressions");

  // No allocation after construction: the stub heap does not move across thousands of operations.
  const before = ex.heapProbe();
  ex.srtpPackets(0, PACKET, 2000); ex.srtpPackets(1, PACKET, 200); ex.gcmSeal(HEADER, PACKET, 2000);
  ex.saveSealed(PACKET); ex.gcmOpen(HEADER, PACKET, 2000); ex.hmacSha256(100, 2000); ex.aesCtPairs(100);
  const after = ex.heapProbe();
  const heapNote = after - before === 16 ? "heap flat (two 1-byte probes 16 bytes apart)" : `HEAP MOVED by ${after - before - 16} bytes`;

  const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
  console.log(`Crypto cores (firmware/crypto/) in WASM on Node ${process.versions.node} (V8 ${process.versions.v8}), OpenSSL ${process.versions.openssl}; ${new Date().toISOString().slice(0, 10)}`);
  console.log(`CPU: ${os.cpus()[0]?.model ?? "?"}; ${heapNote}`);
  console.log("");
  console.log("| operation | Tincan WASM ns | Node crypto ns | WASM / Node | WASM instructions | µs at 240 MHz, 1 instr/cycle | note |");
  console.log("|---|---:|---:|---:|---:|---:|---|");
  for (const r of rows) {
    const node = Number.isNaN(r.nodeNs) ? "-" : fmt(r.nodeNs);
    const ratio = Number.isNaN(r.nodeNs) ? "-" : (r.wasmNs / r.nodeNs).toFixed(2);
    console.log(`| ${r.name} | ${fmt(r.wasmNs)} | ${node} | ${ratio} | ${Math.round(r.instr).toLocaleString("en-US")} | ${(r.instr / 240).toFixed(1)} | ${r.note} |`);
  }
  console.log("");
  console.log("The time target: libsrtp 2 (C) protecting and unprotecting the same packet shape (its own framing included):");
  console.log("");
  console.log("| libsrtp 2 | srtp_protect ns | srtp_unprotect ns |");
  console.log("|---|---:|---:|");
  for (const line of await libsrtpFigures()) console.log(line);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  });
}
