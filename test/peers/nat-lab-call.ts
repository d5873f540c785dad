// The NAT lab set up for calls (test/interop/nat-call.test.ts, nat-baresip.test.ts): the
// topology of test/peers/netns.ts with kamailio (203.0.113.1:5060, NAT-aware registrar and
// proxy) and coturn (203.0.113.2:3478, STUN and TURN with one static user) in the public
// namespace, and simulated boards in the hosts, configured for that registrar and server and
// registered. Whatever a test adds (a board, a baresip) is stopped before the servers and the
// namespaces go. And what crosses the public segment: tshark there (br0 and lo), every datagram
// of the media path classified as STUN, TURN (looking inside) or SRTP/SRTCP that authenticates
// under a key of the captured SDP (HMAC-SHA1 by Node's crypto), or else plaintext / unknown.

import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { type HostName, type Topology, type TopologySpec, buildTopology, netnsUnavailable } from "./netns.ts";
import { kamailioNatUnavailable, startKamailio, type KamailioProxy, type KamailioUser } from "./kamailio.ts";
import { coturnUnavailable, startCoturn, type CoturnServer } from "./coturn.ts";
import { type NsBoard, NS_FIRMWARE, startNsBoard } from "./ns-board.ts";
import { tsharkFields } from "./capture.ts";
import { toneFrequency, rmsDbfs } from "../../host-tools/call/analysis.ts";

export const REGISTRAR = "203.0.113.1";
export const TURN_SERVER = "203.0.113.2";
export const STUN_PORT = 3478;
export const TURN_USER = { user: "tincan", password: "relay-secret" };
/** The boards' speaker rate. */
export const SPEAKER_RATE = 16000;

/** Why the lab cannot run here (namespaces, kamailio, coturn, the firmware), or undefined. */
export function natLabCallUnavailable(): string | undefined {
  const firmware = fs.existsSync(NS_FIRMWARE) ? undefined : `${NS_FIRMWARE} is missing: build it with 'npm run build'`;
  return netnsUnavailable() ?? kamailioNatUnavailable() ?? coturnUnavailable() ?? firmware;
}

export interface Stoppable { stop(): Promise<void> }

export interface NatLab {
  lab: Topology;
  k: KamailioProxy;
  turn: CoturnServer;
  users: KamailioUser[];
  /** Stops `part` with the lab (before the servers); returns it. */
  own<T extends Stoppable>(part: T): T;
  stop(): Promise<void>;
}

/** tshark in the public namespace: everything on br0 (routers <-> servers) and lo (coturn relaying to itself). */
export interface WireCapture {
  readonly file: string;
  /** Stops tshark and waits until the file is whole (SIGINT, then SIGKILL). */
  stop(): Promise<void>;
}

export async function startWireCapture(lab: Topology, file: string): Promise<WireCapture> {
  const child = lab.spawn("public", "tshark", ["-q", "-i", "br0", "-i", "lo", "-f", "udp", "-w", file], { stdio: ["ignore", "ignore", "pipe"] });
  let said = "";
  let exited = false;
  const gone = new Promise<void>((resolve) => child.once("exit", () => { exited = true; resolve(); }));
  child.stderr!.on("data", (d: Buffer) => { said += d.toString("utf8"); });
  const deadline = Date.now() + 10_000;
  while (!/Capturing on/.test(said)) {
    if (exited || Date.now() > deadline) { child.kill("SIGKILL"); throw new Error(`tshark did not start capturing in the public namespace: ${said.trim() || "no output"}`); }
    await sleep(20);
  }
  await sleep(200); // "Capturing on" comes as dumpcap opens the interfaces; the filter follows
  return {
    file,
    async stop() {
      if (exited) return;
      await sleep(100); // the last datagrams are still on their way through dumpcap
      child.kill("SIGINT");
      await Promise.race([gone, sleep(5000)]);
      if (!exited) { child.kill("SIGKILL"); await gone; }
    },
  };
}

export interface NatLabOptions {
  /** Capture the public namespace (startWireCapture) to this pcapng file, from before the servers start. */
  pcap?: string;
  /** coturn's --Verbose. */
  turnVerbose?: boolean;
}

/** The topology, kamailio and coturn; throws (leaving nothing behind) when one does not come up. */
export async function startNatLab(spec: TopologySpec, users: KamailioUser[], opts: NatLabOptions = {}): Promise<NatLab> {
  const lab = buildTopology(spec);
  const parts: Stoppable[] = [];
  const servers: { k?: KamailioProxy; turn?: CoturnServer } = {};
  let capture: WireCapture | undefined;
  const stop = async () => {
    await Promise.all(parts.splice(0).map((p) => p.stop().catch(() => {})));
    await servers.k?.stop();
    await servers.turn?.stop();
    await capture?.stop();
    lab.destroy();
  };
  try {
    if (opts.pcap !== undefined) capture = await startWireCapture(lab, opts.pcap);
    servers.k = await startKamailio({ users, listen: REGISTRAR, port: 5060, nat: true, spawn: (c, args, o) => lab.spawn("public", c, args, o) });
    servers.turn = await startCoturn({
      address: TURN_SERVER, port: STUN_PORT, users: [TURN_USER], extraArgs: opts.turnVerbose === true ? ["--Verbose"] : [],
      spawn: (c, args) => lab.spawn("public", c, args),
    });
  } catch (e) {
    await stop();
    throw e;
  }
  return { lab, k: servers.k, turn: servers.turn, users, own: (p) => { parts.push(p); return p; }, stop };
}

export interface LabBoardOptions {
  node: HostName;
  /** One of the lab's users: the board registers as sip:user@REGISTRAR. */
  user: string;
  /** The microphone's tone, Hz (-12 dBFS). */
  toneHz: number;
  autoAnswer?: boolean;
  /** nat.stun_server and nat.turn_server: coturn (default), or none (host candidates only). */
  servers?: boolean;
}

/** A board in `node` with a speaker recording, configured for the lab's registrar and coturn, registered. */
export async function startLabBoard(l: NatLab, o: LabBoardOptions): Promise<NsBoard> {
  const password = l.users.find((u) => u.user === o.user)?.password;
  if (password === undefined) throw new RangeError(`startLabBoard: ${o.user} is not one of the lab's users`);
  const board = l.own(await startNsBoard(l.lab, o.node, { audioIn: `tone:${o.toneHz}:-12`, speaker: true }));
  const server = `${TURN_SERVER}:${STUN_PORT}`;
  const nat = o.servers === false ? [] : [
    { key: "nat.stun_server", value: server }, { key: "nat.turn_server", value: server },
    { key: "nat.turn_username", value: TURN_USER.user }, { key: "nat.turn_password", value: TURN_USER.password },
  ];
  const answer = o.autoAnswer === true ? [{ key: "call.auto_answer", value: "on" }, { key: "call.answer_after", value: "0" }] : [];
  await board.config.set([
    { key: "sip.account", value: `sip:${o.user}@${REGISTRAR}` }, { key: "sip.registrar", value: `sip:${REGISTRAR}:5060` },
    { key: "sip.username", value: o.user }, { key: "sip.password", value: password }, ...nat, ...answer,
  ]);
  await board.call.waitFor((s) => s.registration === "registered", 15_000, `board ${o.node} registering`);
  return board;
}

/** The last `seconds` of a board's speaker carry the far end's tone. */
export function assertHearsTone(x: NsBoard, hz: number, seconds = 1): void {
  const s = x.speaker();
  assert.ok(s.length >= seconds * SPEAKER_RATE, `${x.node}'s speaker recorded ${s.length} samples`);
  const tail = s.subarray(s.length - seconds * SPEAKER_RATE);
  const level = rmsDbfs(tail);
  assert.ok(level > -30, `${x.node} hears something (${level.toFixed(1)} dBFS)`);
  const f = toneFrequency(tail, SPEAKER_RATE);
  assert.ok(Math.abs(f - hz) < 15, `${x.node} hears ${f.toFixed(1)} Hz, the far end's tone is ${hz} Hz`);
}

// ---- what crosses the public segment ----------------------------------------------------------

/** One SDES master key from an a=crypto line, with its SRTP and SRTCP authentication keys (RFC 3711 4.3). */
export interface SdesKey { suite: string; rtpAuth: Buffer; rtcpAuth: Buffer; rtpTagBytes: number }

const TAG_BYTES: Record<string, number> = { AES_CM_128_HMAC_SHA1_80: 10, AES_CM_128_HMAC_SHA1_32: 4 };

/** The AES-CM key derivation with key_derivation_rate 0: `len` bytes for `label`. */
function deriveKey(masterKey: Buffer, masterSalt: Buffer, label: number, len: number): Buffer {
  const iv = Buffer.alloc(16);
  masterSalt.copy(iv, 0, 0, 14);
  iv[7] ^= label; // key_id = label || 0, right-aligned against the 112-bit salt
  return crypto.createCipheriv("aes-128-ctr", masterKey, iv).update(Buffer.alloc(len));
}

interface Datagram { src: string; dst: string; srcIp: string; ipBytes: number; payload: Buffer; sip: boolean }

function readDatagrams(pcap: string): Datagram[] {
  const rows = tsharkFields(pcap, ["ip.src", "udp.srcport", "ip.dst", "udp.dstport", "ip.len", "udp.payload"], { filter: "udp && !icmp" });
  return rows.map((r) => ({
    src: `${r[0]}:${r[1]}`, dst: `${r[2]}:${r[3]}`, srcIp: r[0]!, ipBytes: Number(r[4]), payload: Buffer.from(r[5] ?? "", "hex"),
    sip: (r[0] === REGISTRAR && r[1] === "5060") || (r[2] === REGISTRAR && r[3] === "5060"),
  }));
}

/** The SRTP keys of every a=crypto line in the captured SIP (offers, answers, re-INVITEs). */
export function sdesKeys(pcap: string): SdesKey[] {
  const keys: SdesKey[] = [];
  for (const d of readDatagrams(pcap)) {
    if (!d.sip) continue;
    for (const m of d.payload.toString("latin1").matchAll(/a=crypto:\d+ (AES_CM_128_HMAC_SHA1_(?:80|32)) inline:([A-Za-z0-9+/=]+)/g)) {
      const material = Buffer.from(m[2]!, "base64");
      if (material.length !== 30) continue;
      const key = material.subarray(0, 16);
      const salt = material.subarray(16);
      keys.push({ suite: m[1]!, rtpAuth: deriveKey(key, salt, 0x01, 20), rtcpAuth: deriveKey(key, salt, 0x04, 20), rtpTagBytes: TAG_BYTES[m[1]!]! });
    }
  }
  return keys;
}

function hmacTag(key: Buffer, parts: Buffer[], bytes: number): Buffer {
  const h = crypto.createHmac("sha1", key);
  for (const p of parts) h.update(p);
  return h.digest().subarray(0, bytes);
}

/** SRTP: the tag over header+payload||ROC (ROC 0 or 1: a call wraps the sequence at most once). */
function authenticatesRtp(p: Buffer, keys: SdesKey[]): boolean {
  return keys.some((k) => {
    if (p.length <= 12 + k.rtpTagBytes) return false;
    const body = p.subarray(0, p.length - k.rtpTagBytes);
    const tag = p.subarray(p.length - k.rtpTagBytes);
    return [0, 1].some((roc) => { const r = Buffer.alloc(4); r.writeUInt32BE(roc); return hmacTag(k.rtpAuth, [body, r], k.rtpTagBytes).equals(tag); });
  });
}

/** SRTCP: E||index and an 80-bit tag at the end (RFC 4568 keeps it at 80 bits for both suites). */
function authenticatesRtcp(p: Buffer, keys: SdesKey[]): boolean {
  return p.length > 8 + 14 && keys.some((k) => hmacTag(k.rtcpAuth, [p.subarray(0, p.length - 10)], 10).equals(p.subarray(p.length - 10)));
}

/** A compound RTCP packet with a BYE in it (walking the packets' length words). */
function hasBye(p: Buffer): boolean {
  for (let at = 0; at + 4 <= p.length; at += 4 * (p.readUInt16BE(at + 2) + 1)) if (p[at + 1] === 203) return true;
  return false;
}

/** What a datagram is (RFC 7983's first byte), looking inside TURN's Send/Data indications and ChannelData. */
function classify(p: Buffer, keys: SdesKey[]): string {
  if (p.length >= 20 && p[0]! <= 3 && p.readUInt32BE(4) === 0x2112a442) {
    const type = p.readUInt16BE(0);
    const indication = (type & 0x0110) === 0x0010;
    const method = (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
    if (indication && (method === 0x006 || method === 0x007)) {
      for (let at = 20; at + 4 <= p.length;) {
        const attr = p.readUInt16BE(at);
        const len = p.readUInt16BE(at + 2);
        if (attr === 0x0013) return `${method === 0x006 ? "send" : "data"}(${classify(p.subarray(at + 4, at + 4 + len), keys)})`;
        at += 4 + ((len + 3) & ~3);
      }
    }
    return "stun";
  }
  if (p.length >= 4 && p[0]! >= 0x40 && p[0]! <= 0x4f) return `channel(${classify(p.subarray(4, 4 + p.readUInt16BE(2)), keys)})`;
  if (p.length >= 12 && p[0]! >> 6 === 2) {
    const rtcp = p[1]! >= 192 && p[1]! <= 223;
    if (rtcp) return authenticatesRtcp(p, keys) ? "srtcp" : hasBye(p) ? "plain-rtcp-bye" : "plain-rtcp";
    return authenticatesRtp(p, keys) ? "srtp" : "plain-rtp";
  }
  return "unknown";
}

export interface WireFlow { src: string; dst: string; packets: number; ipBytes: number; kinds: Map<string, number> }

export interface WireSummary {
  /** Every UDP flow but the SIP to and from kamailio, largest first. */
  flows: WireFlow[];
  plainRtp: number;
  /** Plaintext RTCP other than a closing BYE; and the closing BYEs in clear, by source address. */
  plainRtcp: number;
  plainByes: string[];
  /** Datagrams that are none of STUN, TURN, SRTP, SRTCP: "src > dst: first bytes". */
  unknown: string[];
  /** Authenticated SRTP datagrams (bare or wrapped) by the IP address that put them on the segment. */
  srtpBySource: Map<string, number>;
}

export function classifyWire(pcap: string, keys: SdesKey[]): WireSummary {
  const flows = new Map<string, WireFlow>();
  const w: WireSummary = { flows: [], plainRtp: 0, plainRtcp: 0, plainByes: [], unknown: [], srtpBySource: new Map() };
  for (const d of readDatagrams(pcap)) {
    if (d.sip) continue;
    const kind = classify(d.payload, keys);
    const key = `${d.src}>${d.dst}`;
    const f = flows.get(key) ?? { src: d.src, dst: d.dst, packets: 0, ipBytes: 0, kinds: new Map<string, number>() };
    flows.set(key, f);
    f.packets++;
    f.ipBytes += d.ipBytes;
    f.kinds.set(kind, (f.kinds.get(kind) ?? 0) + 1);
    if (kind.includes("plain-rtp")) w.plainRtp++;
    if (kind.includes("plain-rtcp-bye")) w.plainByes.push(d.src);
    else if (kind.includes("plain-rtcp")) w.plainRtcp++;
    if (kind.includes("unknown")) w.unknown.push(`${d.src} > ${d.dst}: ${d.payload.subarray(0, 8).toString("hex")}`);
    if (/\bsrtp\b/.test(kind)) w.srtpBySource.set(d.srcIp, (w.srtpBySource.get(d.srcIp) ?? 0) + 1);
  }
  w.flows = [...flows.values()].sort((a, b) => b.ipBytes - a.ipBytes);
  return w;
}

/** Bare SRTP datagrams from one IP address to another (a direct path between them). */
export function srtpBetween(w: WireSummary, fromIp: string, toIp: string): number {
  let n = 0;
  for (const f of w.flows) if (f.src.startsWith(`${fromIp}:`) && f.dst.startsWith(`${toIp}:`)) n += f.kinds.get("srtp") ?? 0;
  return n;
}

/** The flows as comment lines for the test's output: who, how much (IP bytes), what. */
export function printWire(title: string, w: WireSummary, names: Record<string, string>): string {
  const who = (a: string) => { const ip = a.slice(0, a.lastIndexOf(":")); return `${a} (${names[ip] ?? ip})`; };
  const lines = w.flows.map((f) => `#   ${who(f.src)} -> ${who(f.dst)}: ${f.packets} datagrams, ${f.ipBytes} bytes; ${[...f.kinds].map(([k, n]) => `${n} ${k}`).join(", ")}`);
  return `# media path on the public segment, ${title}:\n${lines.join("\n")}\n`;
}
