// The libsrtp reference for Tincan's SRTP/SRTCP interop tests and benchmark: builds
// test/reference/libsrtp_ref.c (a stdin -> stdout packet filter over libsrtp 2) and runs it.
// Needs gcc and the Debian package libsrtp2-dev; ReferenceUnavailable says which is missing.
//
// Also the Tincan side those tests hold against it: TincanSrtp drives build/media.wasm (the
// firmware's SRTP/SRTCP compiled alone, no imports), so what is compared is what a board sends.
//
// Suites are Tincan's numbers: 1 AES_CM_128_HMAC_SHA1_80, 2 AES_CM_128_HMAC_SHA1_32,
// 3 AEAD_AES_128_GCM, 4 AEAD_AES_256_GCM. For suite 2 SRTCP keeps the 80-bit tag (RFC 4568
// 6.2.2): the harness sets libsrtp's RTCP policy to aes_cm_128_hmac_sha1_80 for it.

import fs from "node:fs";
import path from "node:path";
import { packageRoot } from "../../host-tools/paths.ts";
import { ReferenceUnavailable, harnessBinary, runHarness, type Harness } from "./harness.ts";

export { ReferenceUnavailable };

export type SrtpSuite = 1 | 2 | 3 | 4;

export interface SuiteInfo {
  name: string;
  keyLen: number;
  saltLen: number;
  /** Bytes SRTP appends to an RTP packet (the tag). */
  rtpTrailer: number;
  /** Bytes SRTCP appends to an RTCP packet (E flag + 31-bit index, then the tag). */
  rtcpTrailer: number;
}

export const SUITES: Record<SrtpSuite, SuiteInfo> = {
  1: { name: "AES_CM_128_HMAC_SHA1_80", keyLen: 16, saltLen: 14, rtpTrailer: 10, rtcpTrailer: 14 },
  2: { name: "AES_CM_128_HMAC_SHA1_32", keyLen: 16, saltLen: 14, rtpTrailer: 4, rtcpTrailer: 14 },
  3: { name: "AEAD_AES_128_GCM", keyLen: 16, saltLen: 12, rtpTrailer: 16, rtcpTrailer: 20 },
  4: { name: "AEAD_AES_256_GCM", keyLen: 32, saltLen: 12, rtpTrailer: 16, rtcpTrailer: 20 },
};

export const ALL_SUITES: SrtpSuite[] = [1, 2, 3, 4];

/** libsrtp's srtp_err_status_t values the harness reports for a refused packet. */
export const LIBSRTP_STATUS = {
  ok: 0,
  fail: 1,
  bad_param: 2,
  auth_fail: 7,
  cipher_fail: 8,
  replay_fail: 9,
  replay_old: 10,
  key_expired: 15,
} as const;

const STATUS_NAMES: Record<number, string> = Object.fromEntries(Object.entries(LIBSRTP_STATUS).map(([k, v]) => [v, k]));

export function libsrtpStatusName(status: number): string {
  return STATUS_NAMES[status] ?? `status ${status}`;
}

/** One result per input packet: the output packet, or libsrtp's error status (a number > 0). */
export type LibsrtpResult = Uint8Array | number;

export type LibsrtpCommand = "protect" | "unprotect" | "protect-rtcp" | "unprotect-rtcp";

export interface LibsrtpBench {
  protectNs: number;
  unprotectNs: number;
  /** Length of the protected packet (172 + the suite's tag). */
  protectedBytes: number;
}

const LIBSRTP: Harness = {
  name: "libsrtp-ref",
  source: "libsrtp_ref.c",
  flags: () => [["-lsrtp2"]],
  noHeaders: /srtp2\/srtp\.h: No such file/,
  noHeadersHint: "libsrtp2 headers not found (srtp2/srtp.h): install the Debian package libsrtp2-dev",
  noLibrary: /cannot find -lsrtp2|undefined reference to `srtp_/,
  noLibraryHint: "libsrtp2 not found by the linker (-lsrtp2): install the Debian package libsrtp2-dev",
};

/** The path of the built harness, build/reference/libsrtp-ref (built when stale). */
export function libsrtpBinary(): string {
  return harnessBinary(LIBSRTP);
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

function checkKeys(suite: SrtpSuite, key: Uint8Array, salt: Uint8Array): void {
  const s = SUITES[suite];
  if (s === undefined) throw new Error(`SRTP suite ${String(suite)}: expected 1, 2, 3 or 4`);
  if (key.length !== s.keyLen) throw new Error(`${s.name} takes a ${s.keyLen}-byte master key, not ${key.length}`);
  if (salt.length !== s.saltLen) throw new Error(`${s.name} takes a ${s.saltLen}-byte master salt, not ${salt.length}`);
}

function runLibsrtpHarness(args: string[], input: Uint8Array): Uint8Array {
  return runHarness(LIBSRTP, args, input, args[0]);
}

/** Packets in the harness's input framing: u16 big-endian length, then the bytes. */
export function frame(packets: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of packets) {
    if (p.length > 0xffff) throw new Error(`a packet of ${p.length} bytes: the harness takes at most 65535`);
    total += 2 + p.length;
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of packets) {
    out[o] = p.length >> 8;
    out[o + 1] = p.length & 0xff;
    out.set(p, o + 2);
    o += 2 + p.length;
  }
  return out;
}

/** The harness's output framing: u8 status, u16 big-endian length, the bytes. */
export function unframe(bytes: Uint8Array, expected: number): LibsrtpResult[] {
  const out: LibsrtpResult[] = [];
  let o = 0;
  while (o < bytes.length) {
    if (o + 3 > bytes.length) throw new Error(`libsrtp-ref output ends inside a record header at byte ${o}`);
    const status = bytes[o]!;
    const len = (bytes[o + 1]! << 8) | bytes[o + 2]!;
    o += 3;
    if (o + len > bytes.length) throw new Error(`libsrtp-ref output ends inside a ${len}-byte packet at byte ${o}`);
    out.push(status === 0 ? bytes.slice(o, o + len) : status);
    o += len;
  }
  if (out.length !== expected) throw new Error(`libsrtp-ref returned ${out.length} results for ${expected} packets`);
  return out;
}

/**
 * Runs one libsrtp session (ssrc_any_outbound for protect, ssrc_any_inbound for unprotect) over
 * all `packets` in order: one result per packet, the output bytes or libsrtp's error status.
 * `window` is the SRTP replay window (64..32767, libsrtp's default 128).
 */
export function runLibsrtp(command: LibsrtpCommand, suite: SrtpSuite, key: Uint8Array, salt: Uint8Array, packets: Uint8Array[], window = 128): LibsrtpResult[] {
  checkKeys(suite, key, salt);
  const out = runLibsrtpHarness([command, String(suite), hex(key), hex(salt), String(window)], frame(packets));
  return unframe(out, packets.length);
}

/**
 * libsrtp's SRTP (or, with rtcp, SRTCP) protection of `packets` in one outbound session.
 * Throws if libsrtp refuses one (for RTP: a repeated or too old index, as its sender checks).
 */
export function libsrtpProtect(suite: SrtpSuite, key: Uint8Array, salt: Uint8Array, packets: Uint8Array[], rtcp = false): Uint8Array[] {
  const results = runLibsrtp(rtcp ? "protect-rtcp" : "protect", suite, key, salt, packets);
  return results.map((r, i) => {
    if (typeof r === "number") throw new Error(`libsrtp refused to protect packet ${i}: ${libsrtpStatusName(r)}`);
    return r;
  });
}

/** libsrtp's unprotection in one inbound session: each packet back, or libsrtp's error status. */
export function libsrtpUnprotect(suite: SrtpSuite, key: Uint8Array, salt: Uint8Array, packets: Uint8Array[], rtcp = false, window = 128): LibsrtpResult[] {
  return runLibsrtp(rtcp ? "unprotect-rtcp" : "unprotect", suite, key, salt, packets, window);
}

/**
 * libsrtp's speed here: ns per protect and per unprotect of a 172-byte G.722 RTP packet
 * (12-byte header, 160-byte payload), median of 7 runs of about 0.3 s each.
 */
export function benchLibsrtp(suite: SrtpSuite, key: Uint8Array, salt: Uint8Array, packetsPerRun = 0): LibsrtpBench {
  checkKeys(suite, key, salt);
  const out = new TextDecoder().decode(runLibsrtpHarness(["bench", String(suite), hex(key), hex(salt), String(packetsPerRun)], new Uint8Array(0)));
  let parsed: unknown;
  try {
    parsed = JSON.parse(out);
  } catch {
    throw new Error(`libsrtp-ref bench printed something that is not JSON: ${out.trim().slice(0, 200)}`);
  }
  const { protectNs, unprotectNs, protectedBytes } = parsed as Record<string, unknown>;
  if (typeof protectNs !== "number" || typeof unprotectNs !== "number" || typeof protectedBytes !== "number") {
    throw new Error(`libsrtp-ref bench printed unexpected JSON: ${out.trim().slice(0, 200)}`);
  }
  return { protectNs, unprotectNs, protectedBytes };
}

// ---- the Tincan side: build/media.wasm ---------------------------------------------------

/** What build/media.wasm exports (the firmware's SRTP/SRTCP alone; it imports nothing). */
export interface MediaExports {
  memory: WebAssembly.Memory;
  /** A 2048-byte packet buffer. */
  buffer(): number;
  /** 64 bytes: master key at [0, keyLen), master salt at [32, 32 + saltLen). */
  key_buffer(): number;
  srtp_open(ctx: number, suite: number, keyLen: number, saltLen: number, replayWindow: number): number;
  srtp_protect(ctx: number, len: number): number;
  srtp_unprotect(ctx: number, len: number): number;
  srtcp_protect(ctx: number, len: number): number;
  srtcp_unprotect(ctx: number, len: number): number;
  srtp_drops(ctx: number, reason: number): number;
  heap_top(): number;
}

/** Tincan's SRTP error codes (negative returns of srtp_protect and friends). */
export const TINCAN_ERRORS: Record<number, string> = {
  [-1]: "malformed",
  [-2]: "bad version",
  [-3]: "auth failure",
  [-4]: "replay",
  [-5]: "too old",
  [-6]: "no key",
  [-7]: "exhausted",
  [-8]: "no room",
};

export const TINCAN_AUTH = -3;
export const TINCAN_REPLAY = -4;
export const TINCAN_TOO_OLD = -5;

export function tincanErrorName(code: number): string {
  return TINCAN_ERRORS[code] ?? `error ${code}`;
}

export const MEDIA_BUFFER_BYTES = 2048;

/** build/media.wasm, or the module TINCAN_MEDIA_WASM names (to test another build of it). */
export function mediaModulePath(): string {
  return process.env.TINCAN_MEDIA_WASM || path.join(packageRoot(), "build", "media.wasm");
}

export function loadMediaModule(file = mediaModulePath()): Uint8Array {
  try {
    return fs.readFileSync(file);
  } catch {
    throw new Error(`${file}: media module not found; build it with 'npx tsx scripts/build.ts'`);
  }
}

export type SrtpOp = "protect" | "unprotect" | "protect-rtcp" | "unprotect-rtcp";

/** The firmware's SRTP/SRTCP contexts (0..3) in build/media.wasm, one packet at a time. */
export class TincanSrtp {
  readonly exports: MediaExports;

  /** `wasm`: the module's bytes (default build/media.wasm), possibly instrumented. */
  constructor(wasm: Uint8Array = loadMediaModule()) {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(Uint8Array.from(wasm)), {});
    this.exports = instance.exports as unknown as MediaExports;
    for (const name of ["buffer", "key_buffer", "srtp_open", "srtp_protect", "srtp_unprotect", "srtcp_protect", "srtcp_unprotect"]) {
      if (typeof (this.exports as unknown as Record<string, unknown>)[name] !== "function") {
        throw new Error(`build/media.wasm does not export ${name}(); rebuild it with 'npx tsx scripts/build.ts'`);
      }
    }
  }

  /** (Re)opens context `ctx` with a master key and salt; throws on a refusal. */
  open(ctx: number, suite: SrtpSuite, key: Uint8Array, salt: Uint8Array, replayWindow = 128): void {
    checkKeys(suite, key, salt);
    const kb = new Uint8Array(this.exports.memory.buffer, this.exports.key_buffer(), 64);
    kb.fill(0);
    kb.set(key, 0);
    kb.set(salt, 32);
    const r = this.exports.srtp_open(ctx, suite, key.length, salt.length, replayWindow);
    kb.fill(0);
    if (r < 0) throw new Error(`srtp_open(${ctx}, ${SUITES[suite].name}, window ${replayWindow}) failed: ${tincanErrorName(r)} (${r})`);
  }

  /** One packet through `op` on context `ctx`: the result bytes (a copy), or Tincan's error code (< 0). */
  run(op: SrtpOp, ctx: number, packet: Uint8Array): Uint8Array | number {
    if (packet.length > MEDIA_BUFFER_BYTES) throw new Error(`a packet of ${packet.length} bytes: the media buffer holds ${MEDIA_BUFFER_BYTES}`);
    const ex = this.exports;
    const at = ex.buffer();
    new Uint8Array(ex.memory.buffer, at, packet.length).set(packet);
    let n: number;
    switch (op) {
      case "protect": n = ex.srtp_protect(ctx, packet.length); break;
      case "unprotect": n = ex.srtp_unprotect(ctx, packet.length); break;
      case "protect-rtcp": n = ex.srtcp_protect(ctx, packet.length); break;
      default: n = ex.srtcp_unprotect(ctx, packet.length); break;
    }
    if (n < 0) return n;
    if (n > MEDIA_BUFFER_BYTES) throw new Error(`${op} returned ${n} bytes, more than the ${MEDIA_BUFFER_BYTES}-byte buffer`);
    return new Uint8Array(ex.memory.buffer, at, n).slice();
  }

  protect(ctx: number, rtp: Uint8Array): Uint8Array | number { return this.run("protect", ctx, rtp); }
  unprotect(ctx: number, srtp: Uint8Array): Uint8Array | number { return this.run("unprotect", ctx, srtp); }
  protectRtcp(ctx: number, rtcp: Uint8Array): Uint8Array | number { return this.run("protect-rtcp", ctx, rtcp); }
  unprotectRtcp(ctx: number, srtcp: Uint8Array): Uint8Array | number { return this.run("unprotect-rtcp", ctx, srtcp); }
}
