// tshark (Debian's tshark, Wireshark 4.0) dissects what Tincan puts on the wire: SRTP packets
// protected by the firmware (build/media.wasm) are valid RTP, field for field (version, payload
// type, marker, sequence number across the 65535 -> 0 wrap, timestamp, SSRC), and RTCP (SR, RR, SDES, BYE compounds, written by the firmware's RTCP writers in build/media.wasm)
// protected as SRTCP is valid RTCP. Captured live on lo with a capture filter; if this machine
// cannot capture (no permission, no lo), the same datagrams go into a pcap file tshark reads.
//
// Three ways tshark learns what the datagrams are:
//   decode-as    -d udp.port==P,rtp -d udp.port==P+1,rtcp      (no signalling)
//   heuristic    -o rtp.heuristic_rtp:TRUE                      (RTP found by its looks)
//   SDES in SIP  a SIP INVITE / 200 OK with SDP m=audio P RTP/SAVP and a=crypto in the same
//                capture: tshark then knows the streams are SRTP / SRTCP and shows the trailer:
//                srtp.auth_tag, srtcp.e, srtcp.index, srtcp.auth_tag. Checked for every suite:
//                  AES_CM_128_HMAC_SHA1_80  RTP tag (10 bytes), SRTCP E, index, tag (10 bytes)
//                  AES_CM_128_HMAC_SHA1_32  RTP tag (4 bytes); tshark 4.0 also takes SRTCP's tag
//                                           as 4 bytes (RFC 4568 6.2.2 keeps it at 80 bits, as
//                                           Tincan and libsrtp do), so it misplaces E||index:
//                                           only the RTCP headers are checked for this suite
//                  AEAD_AES_128/256_GCM     tshark 4.0 knows no tag length for GCM: no tags shown;
//                                           SRTCP's E||index is the last word and reads right
//
//   node --import tsx --test test/interop/srtp-tshark.test.ts
// Needs tshark (Debian package tshark; live capture as root or with dumpcap's capabilities) and
// build/media.wasm (npx tsx scripts/build.ts). TINCAN_TSHARK_PCAP=1 skips the live capture.

import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import dgram from "node:dgram";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ALL_SUITES, SUITES, TincanSrtp, type SrtpSuite, hex, tincanErrorName } from "../reference/libsrtp.ts";

const CTX = 2;
const FIELDS = [
  "frame.protocols", "udp.dstport",
  "rtp.version", "rtp.p_type", "rtp.marker", "rtp.seq", "rtp.timestamp", "rtp.ssrc", "rtp.setup-method", "srtp.auth_tag",
  "rtcp.version", "rtcp.pt", "rtcp.senderssrc", "rtcp.length", "srtcp.e", "srtcp.index", "srtcp.auth_tag",
  "_ws.malformed", "_ws.expert.severity",
] as const;
type Field = (typeof FIELDS)[number];
type Row = Record<Field, string>;

let tmp = "";
let liveFailed = "";
const children = new Set<ChildProcess>();

before(() => {
  const v = spawnSync("tshark", ["--version"], { encoding: "utf8" });
  if (v.error !== undefined) throw new Error("tshark is not installed: install the Debian package tshark");
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tincan-srtp-tshark-"));
});

after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  if (tmp !== "") fs.rmSync(tmp, { recursive: true, force: true });
});

// ---- packets -------------------------------------------------------------------------------

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s; };
}

function rtp(seq: number, ts: number, ssrc: number, marker: boolean, pt: number, payload: Uint8Array): Uint8Array {
  const p = new Uint8Array(12 + payload.length);
  const v = new DataView(p.buffer);
  p[0] = 0x80;
  p[1] = (marker ? 0x80 : 0) | pt;
  v.setUint16(2, seq & 0xffff);
  v.setUint32(4, ts >>> 0);
  v.setUint32(8, ssrc >>> 0);
  p.set(payload, 12);
  return p;
}

function rtcpPacket(count: number, pt: number, body: Uint8Array): Uint8Array {
  const p = new Uint8Array(4 + body.length);
  p[0] = 0x80 | count;
  p[1] = pt;
  new DataView(p.buffer).setUint16(2, body.length / 4);
  p.set(body, 4);
  return p;
}

function words(...values: number[]): Uint8Array {
  const b = new Uint8Array(values.length * 4);
  const v = new DataView(b.buffer);
  values.forEach((x, i) => v.setUint32(i * 4, x >>> 0));
  return b;
}

const concat = (...parts: Uint8Array[]) => Uint8Array.from(Buffer.concat(parts));
const block = (ssrc: number, seq: number) => words(ssrc, (3 << 24) | 7, seq, 40, 0x12345678, 0x00010000);

function sdes(ssrc: number, cname: string): Uint8Array {
  const text = new TextEncoder().encode(cname);
  const n = Math.ceil((4 + 2 + text.length + 1) / 4) * 4;
  const body = new Uint8Array(n);
  new DataView(body.buffer).setUint32(0, ssrc);
  body[4] = 1;
  body[5] = text.length;
  body.set(text, 6);
  return rtcpPacket(1, 202, body);
}

/** The firmware's own writers (build/media.wasm: firmware/media/rtp.ts, rtcp.ts). */
interface Writers {
  memory: WebAssembly.Memory;
  buffer(): number;
  text_buffer(): number;
  rtp_write_header(marker: number, pt: number, seq: number, ts: number, ssrc: number): number;
  rtcp_set_block(i: number, ssrc: number, fraction: number, cumulative: number, highest: number, jitter: number, lsr: number, dlsr: number): number;
  rtcp_write_sr_sdes(ssrc: number, unixUs: bigint, rtpTs: number, packets: number, octets: number, n: number, cnameLen: number): number;
  rtcp_write_rr(ssrc: number, n: number, byeLen: number): number;
}

/** The RTP packet as the firmware writes its header, checked against the RFC 3550 layout. */
function firmwareRtp(media: TincanSrtp, seq: number, ts: number, ssrc: number, marker: boolean, pt: number, payload: Uint8Array): Uint8Array {
  const w = media.exports as unknown as Writers;
  assert.equal(w.rtp_write_header(marker ? 1 : 0, pt, seq & 0xffff, ts >>> 0, ssrc >>> 0), 12);
  const out = concat(new Uint8Array(w.memory.buffer, w.buffer(), 12), payload);
  assert.equal(hex(out), hex(rtp(seq, ts, ssrc, marker, pt, payload)), "the firmware's RTP header is RFC 3550's");
  return out;
}

/** RTCP compounds as the board writes them (the firmware's writers), each checked byte for
 *  byte against the same compound built here from RFC 3550's layouts, and the packet types. */
function rtcpCompounds(media: TincanSrtp, ssrc: number, peer: number): { packet: Uint8Array; types: string }[] {
  const w = media.exports as unknown as Writers;
  const text = (t: string) => { const b = new TextEncoder().encode(t); new Uint8Array(w.memory.buffer, w.text_buffer(), b.length).set(b); return b.length; };
  const take = (n: number) => { assert.ok(n > 0, `firmware RTCP writer: ${n}`); return Uint8Array.from(new Uint8Array(w.memory.buffer, w.buffer(), n)); };
  const setBlock = (i: number, s: number, seq: number) => assert.equal(w.rtcp_set_block(i, s >>> 0, 3, 7, seq, 40, 0x12345678, 0x00010000), 0);
  // NTP 0xe9000000.80000000 is Unix time 1,700,102,528.5 s.
  const unixUs = 1_700_102_528_500_000n;
  const sr = (blocks: Uint8Array[]) => rtcpPacket(blocks.length, 200, concat(words(ssrc, 0xe9000000, 0x80000000, 160000, 1000, 160000), ...blocks));
  const expected = [
    concat(sr([]), sdes(ssrc, "tincan@127.0.0.1")),
    concat(sr([block(peer, 65600)]), sdes(ssrc, "tincan@127.0.0.1")),
    rtcpPacket(2, 201, concat(words(ssrc), block(peer, 70000), block(peer ^ 1, 3))),
    rtcpPacket(0, 201, words(ssrc)),
    concat(rtcpPacket(1, 201, concat(words(ssrc), block(peer, 70123))), rtcpPacket(1, 203, concat(words(ssrc), Uint8Array.from([6, 0x68, 0x61, 0x6e, 0x67, 0x75, 0x70, 0])))),
  ];
  const written: Uint8Array[] = [];
  written.push(take(w.rtcp_write_sr_sdes(ssrc >>> 0, unixUs, 160000, 1000, 160000, 0, text("tincan@127.0.0.1"))));
  setBlock(0, peer, 65600);
  written.push(take(w.rtcp_write_sr_sdes(ssrc >>> 0, unixUs, 160000, 1000, 160000, 1, text("tincan@127.0.0.1"))));
  setBlock(0, peer, 70000);
  setBlock(1, peer ^ 1, 3);
  written.push(take(w.rtcp_write_rr(ssrc >>> 0, 2, -1)));
  written.push(take(w.rtcp_write_rr(ssrc >>> 0, 0, -1)));
  setBlock(0, peer, 70123);
  written.push(take(w.rtcp_write_rr(ssrc >>> 0, 1, text("hangup"))));
  written.forEach((p, i) => assert.equal(hex(p), hex(expected[i]!), `compound ${i}: the firmware's RTCP is RFC 3550's`));
  const types = ["200,202", "200,202", "201", "201", "201,203"];
  return written.map((packet, i) => ({ packet, types: types[i]! }));
}

interface Datagram { port: number; data: Uint8Array }

interface Sent {
  datagrams: Datagram[];
  /** The plaintext and protected bytes of each SRTP / SRTCP datagram, by index into datagrams. */
  rtp: Map<number, { plain: Uint8Array; protected: Uint8Array }>;
  rtcp: Map<number, { plain: Uint8Array; protected: Uint8Array; types: string; index: number; decrypted: Uint8Array }>;
  ssrc: number;
  key: Uint8Array;
  salt: Uint8Array;
}

/** 40 SRTP packets from sequence 65520 (a wrap) and the RTCP compounds, protected by Tincan. */
function tincanStream(suite: SrtpSuite, port: number, seed: number): Sent {
  const r = lcg(seed);
  const s = SUITES[suite];
  const key = Uint8Array.from({ length: s.keyLen }, () => r() >>> 24);
  const salt = Uint8Array.from({ length: s.saltLen }, () => r() >>> 24);
  const media = new TincanSrtp();
  media.open(CTX, suite, key, salt);
  media.open(CTX + 1, suite, key, salt); // the receiving side, for the round trip
  const ssrc = r() >>> 0;
  const sent: Sent = { datagrams: [], rtp: new Map(), rtcp: new Map(), ssrc, key, salt };
  const compounds = rtcpCompounds(media, ssrc, r() >>> 0);
  let rtcpIndex = 0;
  for (let i = 0; i < 40; i++) {
    const payload = Uint8Array.from({ length: i % 7 === 3 ? 1 + (r() % 300) : 160 }, () => r() >>> 24);
    const plain = firmwareRtp(media, 65520 + i, 0x40000000 + 160 * i, ssrc, i === 0, i === 20 ? 101 : 9, payload);
    const q = media.protect(CTX, plain);
    if (typeof q === "number") assert.fail(`Tincan refused to protect RTP: ${tincanErrorName(q)}`);
    sent.rtp.set(sent.datagrams.length, { plain, protected: q });
    sent.datagrams.push({ port, data: q });
    if (i % 8 === 4) {
      const c = compounds[rtcpIndex]!;
      const qc = media.protectRtcp(CTX, c.packet);
      if (typeof qc === "number") assert.fail(`Tincan refused to protect RTCP: ${tincanErrorName(qc)}`);
      const back = media.unprotectRtcp(CTX + 1, qc);
      if (typeof back === "number") assert.fail(`Tincan refused its own SRTCP: ${tincanErrorName(back)}`);
      assert.equal(hex(back), hex(c.packet), "Tincan's SRTCP round trip");
      sent.rtcp.set(sent.datagrams.length, { plain: c.packet, protected: qc, types: c.types, index: rtcpIndex, decrypted: back });
      sent.datagrams.push({ port: port + 1, data: qc });
      rtcpIndex++;
    }
  }
  assert.equal(rtcpIndex, compounds.length);
  return sent;
}

// ---- capture -------------------------------------------------------------------------------

/** Binds sockets on the ports so the datagrams are delivered (no ICMP unreachable). */
async function sinks(ports: number[]): Promise<dgram.Socket[] | undefined> {
  const socks: dgram.Socket[] = [];
  for (const port of ports) {
    const s = dgram.createSocket("udp4");
    const ok = await new Promise<boolean>((resolve) => {
      s.once("error", () => resolve(false));
      s.bind(port, "127.0.0.1", () => resolve(true));
    });
    if (!ok) { s.close(); for (const x of socks) x.close(); return undefined; }
    s.on("message", () => {});
    socks.push(s);
  }
  return socks;
}

/** `count` consecutive free ports starting at an even one, with sockets bound on them. */
async function portBlock(count: number): Promise<{ base: number; socks: dgram.Socket[] }> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + 2 * Math.floor(Math.random() * 20000);
    const socks = await sinks(Array.from({ length: count }, (_, i) => base + i));
    if (socks !== undefined) return { base, socks };
  }
  throw new Error("no free block of UDP ports on 127.0.0.1");
}

function parseRows(text: string): Row[] {
  return text.split("\n").filter((l) => l.trim() !== "").map((line) => {
    const cols = line.split("\t");
    return Object.fromEntries(FIELDS.map((f, i) => [f, cols[i] ?? ""])) as Row;
  });
}

function tsharkArgs(extra: string[]): string[] {
  return [...extra, "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,", ...FIELDS.flatMap((f) => ["-e", f])];
}

/** Live: tshark -i lo -f "udp portrange A-B" -c N, then the datagrams are sent. */
async function captureLive(datagrams: Datagram[], ports: [number, number], extra: string[]): Promise<Row[] | string> {
  const args = ["-i", "lo", "-f", `udp portrange ${ports[0]}-${ports[1]}`, "-c", String(datagrams.length), "-a", "duration:20", "-l", "-n", ...tsharkArgs(extra)];
  const child = spawn("tshark", args, { stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => { out += d; });
  child.stderr.setEncoding("utf8").on("data", (d: string) => { err += d; });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => { children.delete(child); resolve(code); }));
  const t0 = Date.now();
  while (!/Capturing on/.test(err)) {
    if (child.exitCode !== null || Date.now() - t0 > 10000) {
      child.kill("SIGKILL");
      await exited;
      return `tshark could not capture on lo: ${err.trim().split("\n").filter((l) => !/^Running as/.test(l)).slice(0, 3).join(" | ")}`;
    }
    await sleep(20);
  }
  await sleep(300); // the capture filter is in place shortly after the banner
  const sock = dgram.createSocket("udp4");
  try {
    for (const d of datagrams) {
      await new Promise<void>((resolve, reject) => sock.send(d.data, d.port, "127.0.0.1", (e) => (e ? reject(e) : resolve())));
      await sleep(2);
    }
  } finally {
    sock.close();
  }
  const timer = setTimeout(() => child.kill("SIGKILL"), 25000);
  const code = await exited;
  clearTimeout(timer);
  if (code !== 0) assert.fail(`tshark exited with ${code}: ${err.trim().split("\n").slice(-3).join(" | ")}`);
  return parseRows(out);
}

/** The same datagrams in a pcap file (LINKTYPE_IPV4: IPv4 + UDP headers we write), read with -r. */
function readPcap(datagrams: Datagram[], extra: string[]): Row[] {
  const records: Buffer[] = [];
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(228, 20); // LINKTYPE_IPV4
  records.push(head);
  datagrams.forEach((d, i) => {
    const ip = Buffer.alloc(28 + d.data.length);
    ip[0] = 0x45;
    ip.writeUInt16BE(ip.length, 2);
    ip.writeUInt16BE(i & 0xffff, 4);
    ip[8] = 64;
    ip[9] = 17;
    Buffer.from([127, 0, 0, 1, 127, 0, 0, 1]).copy(ip, 12);
    let sum = 0;
    for (let k = 0; k < 20; k += 2) sum += ip.readUInt16BE(k);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    ip.writeUInt16BE(~sum & 0xffff, 10);
    ip.writeUInt16BE(40000, 20);
    ip.writeUInt16BE(d.port, 22);
    ip.writeUInt16BE(8 + d.data.length, 24); // UDP checksum 0: none
    Buffer.from(d.data).copy(ip, 28);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(1700000000 + Math.floor(i / 50), 0);
    rec.writeUInt32LE((i % 50) * 20000, 4);
    rec.writeUInt32LE(ip.length, 8);
    rec.writeUInt32LE(ip.length, 12);
    records.push(rec, ip);
  });
  const file = path.join(tmp, `capture-${process.hrtime.bigint()}.pcap`);
  fs.writeFileSync(file, Buffer.concat(records));
  const r = spawnSync("tshark", ["-r", file, "-n", ...tsharkArgs(extra)], { encoding: "utf8", maxBuffer: 1 << 26, timeout: 30000 });
  if (r.error !== undefined) throw new Error(`tshark -r: ${r.error.message}`);
  if (r.status !== 0) assert.fail(`tshark -r exited with ${r.status}: ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`);
  return parseRows(r.stdout);
}

/** Dissects the datagrams: live capture first, the pcap file when this machine cannot capture. */
async function dissect(t: { diagnostic(m: string): void }, datagrams: Datagram[], ports: [number, number], extra: string[]): Promise<Row[]> {
  if (process.env.TINCAN_TSHARK_PCAP !== "1" && liveFailed === "") {
    const rows = await captureLive(datagrams, ports, extra);
    if (typeof rows !== "string") {
      t.diagnostic(`live capture on lo: ${rows.length} packets`);
      return rows;
    }
    liveFailed = rows;
  }
  t.diagnostic(`pcap file read with tshark -r (${liveFailed || "TINCAN_TSHARK_PCAP=1"})`);
  return readPcap(datagrams, extra);
}

// ---- checks --------------------------------------------------------------------------------

const isTrue = (v: string) => v === "1" || v === "True" || v === "true";

function checkRtp(row: Row, plain: Uint8Array, what: string): void {
  const v = new DataView(plain.buffer, plain.byteOffset, plain.byteLength);
  const want = {
    protocols: true,
    version: "2",
    pt: String(plain[1]! & 0x7f),
    marker: (plain[1]! & 0x80) !== 0,
    seq: String(v.getUint16(2)),
    ts: String(v.getUint32(4)),
    ssrc: `0x${v.getUint32(8).toString(16).padStart(8, "0")}`,
  };
  const got = {
    protocols: /:rtp(:|$)/.test(row["frame.protocols"]),
    version: row["rtp.version"],
    pt: row["rtp.p_type"],
    marker: isTrue(row["rtp.marker"]),
    seq: row["rtp.seq"],
    ts: row["rtp.timestamp"],
    ssrc: row["rtp.ssrc"].toLowerCase(),
  };
  assert.deepEqual(got, want, `${what}: tshark's RTP fields (${row["frame.protocols"]})`);
  assert.equal(row["_ws.malformed"], "", `${what}: tshark calls it malformed`);
}

/**
 * The RTCP fields tshark shows. SRTCP leaves only the first 8 bytes of a compound in the clear
 * (header and sender SSRC), so for a protected one (whole = false) only the first packet's type
 * and length can be read; for a plaintext compound every packet's type.
 */
function checkRtcpHeaders(row: Row, c: { plain: Uint8Array; types: string }, ssrc: number, what: string, whole: boolean): void {
  assert.match(row["frame.protocols"], /:rtcp(:|$)/, `${what}: dissected as RTCP (${row["frame.protocols"]})`);
  if (whole) {
    assert.equal(row["rtcp.pt"], c.types, `${what}: RTCP packet types`);
    assert.equal(row["_ws.malformed"], "", `${what}: tshark calls it malformed`);
  } else {
    assert.equal(row["rtcp.pt"].split(",")[0], c.types.split(",")[0], `${what}: RTCP packet type`);
  }
  assert.equal(row["rtcp.version"].split(",")[0], "2", `${what}: RTCP version`);
  assert.equal(row["rtcp.senderssrc"].split(",")[0]!.toLowerCase(), `0x${ssrc.toString(16).padStart(8, "0")}`, `${what}: RTCP sender SSRC`);
  const firstLen = new DataView(c.plain.buffer, c.plain.byteOffset).getUint16(2);
  assert.equal(row["rtcp.length"].split(",")[0], String(firstLen), `${what}: RTCP length of the first packet`);
}


// ---- the tests -----------------------------------------------------------------------------

test("tshark decodes Tincan's SRTP as RTP and SRTCP as RTCP (-d udp.port==P,rtp -d udp.port==P+1,rtcp)", async (t) => {
  const { base, socks } = await portBlock(2);
  try {
    const sent = tincanStream(1, base, 0x75000001);
    // After the stream, what Tincan's srtcp_unprotect makes of its SRTCP: whole RTCP compounds.
    const clear = [...sent.rtcp.values()];
    const datagrams = [...sent.datagrams, ...clear.map((c) => ({ port: base + 1, data: c.decrypted }))];
    const rows = await dissect(t, datagrams, [base, base + 1], ["-d", `udp.port==${base},rtp`, "-d", `udp.port==${base + 1},rtcp`]);
    assert.equal(rows.length, datagrams.length, `tshark dissected ${rows.length} of the ${datagrams.length} datagrams`);
    for (const [i, d] of sent.rtp) checkRtp(rows[i]!, d.plain, `datagram ${i}`);
    for (const [i, c] of sent.rtcp) checkRtcpHeaders(rows[i]!, c, sent.ssrc, `datagram ${i} (SRTCP)`, false);
    clear.forEach((c, k) => checkRtcpHeaders(rows[sent.datagrams.length + k]!, c, sent.ssrc, `unprotected SRTCP ${k}`, true));
    const seqs = [...sent.rtp.keys()].map((i) => Number(rows[i]!["rtp.seq"]));
    assert.ok(seqs.includes(65535) && seqs.includes(0), "the sequence numbers tshark shows wrap");
  } finally {
    for (const s of socks) s.close();
  }
});

test("tshark finds Tincan's SRTP as RTP by heuristics (-o rtp.heuristic_rtp:TRUE)", async (t) => {
  const { base, socks } = await portBlock(2);
  try {
    const sent = tincanStream(3, base, 0x75000002);
    const only = { ...sent, datagrams: [...sent.rtp.keys()].map((i) => sent.datagrams[i]!) };
    const rows = await dissect(t, only.datagrams, [base, base], ["-o", "rtp.heuristic_rtp:TRUE"]);
    assert.equal(rows.length, only.datagrams.length);
    [...sent.rtp.values()].forEach((d, k) => checkRtp(rows[k]!, d.plain, `SRTP packet ${k}`));
  } finally {
    for (const s of socks) s.close();
  }
});

function sipMessage(first: string, sipPort: number, body: string): string {
  return [
    first,
    `Via: SIP/2.0/UDP 127.0.0.1:${sipPort};branch=z9hG4bK-tincan-1`,
    "From: <sip:door@127.0.0.1>;tag=a1",
    `To: <sip:flat@127.0.0.1>${first.startsWith("SIP/") ? ";tag=b2" : ""}`,
    "Call-ID: tincan-srtp-tshark@127.0.0.1",
    "CSeq: 1 INVITE",
    `Contact: <sip:door@127.0.0.1:${sipPort}>`,
    "Content-Type: application/sdp",
    `Content-Length: ${Buffer.byteLength(body)}`,
    "",
    body,
  ].join("\r\n");
}

function sdpBody(port: number, suite: SrtpSuite, key: Uint8Array, salt: Uint8Array): string {
  return [
    "v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
    `m=audio ${port} RTP/SAVP 9 101`, "a=rtpmap:9 G722/8000", "a=rtpmap:101 telephone-event/8000",
    `a=crypto:1 ${SUITES[suite].name} inline:${Buffer.concat([key, salt]).toString("base64")}`, "",
  ].join("\r\n");
}

for (const suite of ALL_SUITES) {
  const name = SUITES[suite].name;
  test(`tshark recognises Tincan's ${name} SRTP and SRTCP from SDES in SIP (rtp.setup-method SDP, tags, SRTCP index)`, async (t) => {
    const { base, socks } = await portBlock(4); // RTP, RTCP, the offerer's RTP (unused), SIP
    const sipPort = base + 3;
    try {
      const sent = tincanStream(suite, base, 0x75100000 + suite);
      const offer = sipMessage("INVITE sip:flat@127.0.0.1 SIP/2.0", sipPort, sdpBody(base + 2, suite, sent.key, sent.salt));
      const answer = sipMessage("SIP/2.0 200 OK", sipPort, sdpBody(base, suite, sent.key, sent.salt));
      const enc = new TextEncoder();
      const datagrams: Datagram[] = [{ port: sipPort, data: enc.encode(offer) }, { port: sipPort, data: enc.encode(answer) }, ...sent.datagrams];
      const rows = await dissect(t, datagrams, [base, sipPort], ["-d", `udp.port==${sipPort},sip`]);
      assert.equal(rows.length, datagrams.length, `tshark dissected ${rows.length} of ${datagrams.length} datagrams`);
      assert.match(rows[1]!["frame.protocols"], /sip:sdp/, "the 200 OK's SDP");
      const media = rows.slice(2);
      const tagLen = SUITES[suite].rtpTrailer;
      for (const [i, d] of sent.rtp) {
        const row = media[i]!;
        checkRtp(row, d.plain, `${name} datagram ${i}`);
        assert.equal(row["rtp.setup-method"], "SDP", `datagram ${i}: tshark ties the stream to the SDP`);
        if (suite <= 2) {
          assert.equal(row["srtp.auth_tag"], hex(d.protected.subarray(d.protected.length - tagLen)), `datagram ${i}: tshark's SRTP auth tag is Tincan's ${tagLen}-byte tag`);
        } else {
          assert.equal(row["srtp.auth_tag"], "", "tshark 4.0 shows no GCM tag");
        }
      }
      for (const [i, c] of sent.rtcp) {
        const row = media[i]!;
        checkRtcpHeaders(row, c, sent.ssrc, `${name} datagram ${i}`, false);
        if (suite === 2) continue; // tshark takes SRTCP's tag as 32 bits too (see the top)
        assert.ok(isTrue(row["srtcp.e"]), `datagram ${i}: SRTCP E flag (encrypted) is set`);
        assert.equal(row["srtcp.index"], String(c.index), `datagram ${i}: SRTCP index (Tincan counts from 0)`);
        if (suite === 1) {
          const p = c.protected;
          assert.equal(row["srtcp.auth_tag"], hex(p.subarray(p.length - 10)), `datagram ${i}: SRTCP auth tag`);
        }
      }
    } finally {
      for (const s of socks) s.close();
    }
  });
}
