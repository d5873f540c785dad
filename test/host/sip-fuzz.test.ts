// The SIP port of the built firmware, fuzzed in a simulated board on the virtual clock: mutants
// of a dozen valid messages (a call in, a call out, registration with a digest challenge,
// CANCEL, BYE, OPTIONS, MESSAGE) go in through the board's own datagram path. The seeds follow
// the conversation: responses answer what the board really sent, ACK and BYE carry its tags,
// the call button and the clock move it between states. Asserted: the board never crashes, heap
// top and memory high-water mark stay where warm-up left them, and every datagram it sends on
// the SIP socket is well-formed SIP. SIP_FUZZ_SEED and SIP_FUZZ_MESSAGES change the run.

import { test } from "node:test";
import crypto from "node:crypto";
import assert from "node:assert/strict";
import { ConfigCommand, encodePairs } from "../../host-tools/config/client.ts";
import { CallCommand, decodeStatus } from "../../host-tools/call/client.ts";
import { Kind, Status, decodeFrame, encodeFrame, MAX_FRAME, type Frame } from "../../host-tools/link/frame.ts";
import { SlipDecoder, slipEncode } from "../../host-tools/link/slip.ts";
import { decodeSockaddr, type Datagram, type UdpTable } from "../../host-tools/sim/udp.ts";
import type { SimBoard } from "../../host-tools/sim/board.ts";
import { virtualBoard } from "./helpers.ts";

const TOTAL = Number(process.env.SIP_FUZZ_MESSAGES ?? 100_000);
const SEED = Number(process.env.SIP_FUZZ_SEED ?? 4475) >>> 0;
const WARM_UP = Math.min(5_000, TOTAL >> 2);
const PEER = "192.0.2.9";          // the fuzzer's address as the board sees it (nothing is really sent)
const REGISTRAR = "192.0.2.10";
const QUIET_EVERY = 50;
const SIP_HANDLE = 0;              // main.ts opens the SIP socket first; UdpTable hands out the lowest free handle

/** mulberry32: small, fast, and the same on every run for a seed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

// ---- what a well-formed SIP datagram is (RFC 3261 7, 25), strictly -----------------------

const TOKEN = /^[A-Za-z0-9.!%*_+`'~-]+$/;
const MANDATORY = ["via", "from", "to", "call-id", "cseq"];

interface Parsed { start: string; status: number; method: string; headers: Map<string, string[]> }

/** The datagram as SIP, or why it is not. */
function parseSip(data: Buffer): Parsed | string {
  const text = data.toString("latin1");
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return "no empty line after the headers";
  const lines = text.slice(0, end).split("\r\n");
  const start = lines[0];
  const response = /^SIP\/2\.0 ([1-6][0-9][0-9]) [^\r\n]*$/.exec(start);
  const request = /^([A-Za-z0-9.!%*_+`'~-]+) [!-~]+ SIP\/2\.0$/.exec(start);
  if (!response && !request) return `bad start line ${JSON.stringify(start)}`;
  const headers = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    if (line.includes("\n")) return `bare LF in ${JSON.stringify(line)}`;
    const colon = line.indexOf(":");
    if (colon <= 0 || !TOKEN.test(line.slice(0, colon))) return `bad header line ${JSON.stringify(line)}`;
    const name = line.slice(0, colon).toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  for (const name of MANDATORY) if (!headers.has(name)) return `no ${name}`;
  const length = headers.get("content-length");
  if (!length || length.length !== 1 || Number(length[0]) !== data.length - end - 4) return `Content-Length ${length} for a ${data.length - end - 4}-byte body`;
  return { start, status: response ? Number(response[1]) : 0, method: request ? request[1] : "", headers };
}

const isAck = (m: Buffer): boolean => m.subarray(0, 4).toString("latin1") === "ACK ";
const first = (p: Parsed, name: string): string => p.headers.get(name)?.[0] ?? "";
const tagOf = (value: string): string => /;tag=([^;>\s]+)/i.exec(value.replace(/<[^>]*>/, ""))?.[1] ?? "";

// ---- seeds that follow the conversation ----------------------------------------------------

const OFFER = "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\nm=audio 40000 RTP/SAVP 9 0 101\r\n" +
  "a=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n" +
  "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:DZrWrpNMb8lNL8ID8dv7amZGQlKCzoBG4FyRcMR5\r\na=ptime:20\r\n";
const ANSWER = "v=0\r\no=- 2 2 IN IP4 192.0.2.11\r\ns=-\r\nc=IN IP4 192.0.2.11\r\nt=0 0\r\nm=audio 41000 RTP/SAVP 9 101\r\n" +
  "a=rtpmap:9 G722/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n" +
  "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:ux66OQWOsl7vlcX1MLwRmeFRyrp5PmLYVjwhU56w\r\n";

class Conversation {
  generation = 0;        // our incoming call's identity changes with it
  boardTag = "";         // the tag the board put in To when it answered that call
  register?: Parsed;     // the board's last REGISTER
  invite?: Parsed;       // the board's last INVITE (a call out)
  branch = 0;
  constructor(readonly boardAddress: string) {}

  /** Learns tags, branches and Call-IDs from a datagram the board sent. */
  learn(p: Parsed): void {
    if (p.method === "REGISTER") this.register = p;
    else if (p.method === "INVITE") this.invite = p;
    else if (p.status > 100 && first(p, "call-id") === this.callId && /INVITE$/.test(first(p, "cseq"))) this.boardTag = tagOf(first(p, "to")) || this.boardTag;
  }

  get callId(): string { return `fz${this.generation}@${PEER}`; }

  private request(method: string, cseq: number, branch: string, toTag: string, extra: string, body = "", type = "application/sdp"): string {
    return `${method} sip:door@${this.boardAddress} SIP/2.0\r\nVia: SIP/2.0/UDP ${PEER}:5060;branch=z9hG4bK${branch};rport\r\nMax-Forwards: 70\r\n` +
      `From: "Fuzz" <sip:hall@${PEER}>;tag=ft${this.generation}\r\nTo: <sip:door@${this.boardAddress}>${toTag ? `;tag=${toTag}` : ""}\r\n` +
      `Call-ID: ${this.callId}\r\nCSeq: ${cseq} ${method}\r\nContact: <sip:hall@${PEER}:5060>\r\n${extra}` +
      (body ? `Content-Type: ${type}\r\n` : "") + `Content-Length: ${body.length}\r\n\r\n${body}`;
  }

  /** A response to request p of the board, from the peer it went to. */
  private respond(p: Parsed | undefined, status: string, extra: string, body = ""): string {
    if (!p) return `SIP/2.0 ${status}\r\nVia: SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bKnothing\r\nFrom: <sip:door@x>;tag=1\r\nTo: <sip:y@x>\r\nCall-ID: none\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n`;
    const vias = (p.headers.get("via") ?? []).map((v) => `Via: ${v}\r\n`).join("");
    const to = first(p, "to");
    return `SIP/2.0 ${status}\r\n${vias}From: ${first(p, "from")}\r\nTo: ${to}${tagOf(to) ? "" : ";tag=peer1"}\r\nCall-ID: ${first(p, "call-id")}\r\n` +
      `CSeq: ${first(p, "cseq")}\r\n${extra}` + (body ? "Content-Type: application/sdp\r\n" : "") + `Content-Length: ${body.length}\r\n\r\n${body}`;
  }

  seeds(rand: () => number): string[] {
    const g = this.generation;
    const fresh = () => `fz${g}x${this.branch++}`;
    const nonce = (rand() >>> 0).toString(16);
    return [
      this.request("INVITE", 1, `fz${g}i`, "", "Supported: replaces\r\nCall-Info: <sip:x>;answer-after=0\r\n", OFFER),
      this.request("ACK", 1, fresh(), this.boardTag, ""),
      this.request("BYE", 2, fresh(), this.boardTag, ""),
      this.request("CANCEL", 1, `fz${g}i`, "", ""),
      this.request("OPTIONS", 7, fresh(), "", "Accept: application/sdp\r\n"),
      this.request("MESSAGE", 8, fresh(), "", "", "hello door", "text/plain"),
      this.request("INVITE", 3, fresh(), this.boardTag, "", OFFER.replace("a=sendrecv", "a=sendonly")),
      this.respond(this.register, "401 Unauthorized", `WWW-Authenticate: Digest realm="fuzz.test", nonce="${nonce}", qop="auth", algorithm=MD5, opaque="0a"\r\n`),
      this.respond(this.register, "200 OK", `Contact: <sip:door@${this.boardAddress}:5060>;expires=60\r\n`),
      this.respond(this.invite, "180 Ringing", ""),
      this.respond(this.invite, "200 OK", `Contact: <sip:hall@192.0.2.11:5060>\r\nRecord-Route: <sip:${REGISTRAR};lr>\r\n`, ANSWER),
      this.respond(this.invite, "407 Proxy Authentication Required", `Proxy-Authenticate: Digest realm="fuzz.test", nonce="${nonce}", algorithm=SHA-256\r\n`),
    ];
  }
}

// ---- mutations ---------------------------------------------------------------------------

const SPECIAL = [0x0d, 0x0a, 0x3a, 0x3b, 0x2c, 0x22, 0x3c, 0x3e, 0x20, 0x09, 0x00, 0x25, 0x5c, 0x3d, 0x40, 0xff];
const NUMBERS = ["0", "-1", "4294967295", "4294967296", "2147483648", "99999999999999999999", "000000000000000000000001", "65536", "256", ""];
const NAMES = ["Via", "v", "From", "f", "To", "t", "Call-ID", "i", "CSeq", "Content-Length", "l", "Max-Forwards", "Require", "Contact", "m",
  "Record-Route", "Route", "WWW-Authenticate", "Proxy-Authenticate", "Expires", "Call-Info", "Alert-Info", "Content-Type", "c", "X-Fuzz"];

function mutate(seed: Buffer, other: Buffer, rand: () => number): Buffer {
  let b = Buffer.from(seed);
  const at = (n: number) => (n <= 0 ? 0 : rand() % n);
  const lines = () => b.toString("latin1").split("\r\n");
  const join = (l: string[]) => Buffer.from(l.join("\r\n"), "latin1");
  const rounds = 1 + (rand() % 4);
  for (let r = 0; r < rounds; r++) {
    switch (rand() % 14) {
      case 0: if (b.length) b[at(b.length)] ^= 1 << (rand() % 8); break;
      case 1: if (b.length) b[at(b.length)] = rand() & 0xff; break;
      case 2: { const i = at(b.length + 1); const ins = Buffer.from(Array.from({ length: 1 + (rand() % 16) }, () => (rand() & 1 ? SPECIAL[rand() % SPECIAL.length] : rand() & 0xff))); b = Buffer.concat([b.subarray(0, i), ins, b.subarray(i)]); break; }
      case 3: { const i = at(b.length); b = Buffer.concat([b.subarray(0, i), b.subarray(i + 1 + (rand() % 32))]); break; }
      case 4: b = b.subarray(0, at(b.length + 1)); break;
      case 5: { const l = lines(); const i = at(l.length); l.splice(i, 0, ...Array.from({ length: 1 + (rand() % 80 === 0 ? 70 : rand() % 3) }, () => l[i])); b = join(l); break; }
      case 6: { const l = lines(); l.splice(at(l.length), 1); b = join(l); break; }
      case 7: { const s = b.toString("latin1"); const runs = [...s.matchAll(/[0-9]+/g)]; if (runs.length) { const m = runs[at(runs.length)]; b = Buffer.from(s.slice(0, m.index) + NUMBERS[rand() % NUMBERS.length] + s.slice(m.index! + m[0].length), "latin1"); } break; }
      case 8: { const l = lines(); const name = rand() & 1 ? NAMES[rand() % NAMES.length] : Array.from({ length: 1 + (rand() % 12) }, () => String.fromCharCode(33 + (rand() % 94))).join(""); l.splice(1 + at(l.length - 1), 0, `${name}:${rand() & 1 ? " " : ""}${lines()[at(l.length)] ?? ""}`); b = join(l); break; }
      case 9: { const s = b.toString("latin1"); b = Buffer.from(rand() & 1 ? s.replaceAll("\r\n", "\n") : s.replace(/\r\n/g, (m) => (rand() % 4 === 0 ? ["\n", "\r", "\r\n ", "\n\r"][rand() % 4] : m)), "latin1"); break; }
      case 10: b = Buffer.concat([b.subarray(0, at(b.length + 1)), other.subarray(at(other.length + 1))]); break;
      case 11: { const l = lines(); const i = at(l.length), j = at(l.length); [l[i], l[j]] = [l[j], l[i]]; b = join(l); break; }
      case 12: { const l = lines(); const i = 1 + at(l.length - 1); if (l[i]) l[i] = l[i].replace(/^[^:]*/, NAMES[rand() % NAMES.length]); b = join(l); break; }
      default: { const i = at(b.length + 1); const pad = Buffer.alloc(rand() % 9000, 0x61 + (rand() % 26)); b = Buffer.concat([b.subarray(0, i), pad, b.subarray(i)]); break; }
    }
  }
  return b;
}

// ---- the board -----------------------------------------------------------------------------

interface Sent { handle: number; to: string; data: Buffer }
interface Fuzzed { board: SimBoard; sent: Sent[]; address: string; callState: () => string }

/** Boots a board whose datagrams the test catches instead of the host's network. */
async function fuzzBoard(): Promise<Fuzzed> {
  // A loopback address of its own (the SIP port must bind), the same for a seed: runs reproduce.
  const address = `127.44.${(SEED >>> 8) & 0xff}.${2 + (SEED % 250)}`;
  const board = virtualBoard({ address4: address });
  const sent: Sent[] = [];
  const udp = (board as unknown as { udp: UdpTable }).udp;
  udp.send = (handle: number, addr: Uint8Array, data: Uint8Array): number => {
    const d = decodeSockaddr(addr);
    sent.push({ handle, to: d ? `${d.address}:${d.port}` : "?", data: Buffer.from(data) });
    return data.length;
  };
  const logs: string[] = [];
  board.on("log", (l: string) => logs.push(l));
  // The media socket binds to an ephemeral port: the host reports it on its next turn.
  for (let i = 0; i < 200 && !logs.some((l) => l.includes("SIP on port")); i++) {
    await new Promise((r) => setTimeout(r, 5));
    board.runFor(10_000);
  }
  assert.ok(logs.some((l) => l.includes("SIP on port")), `the board learned its addresses: ${logs.join(" | ")}`);
  assert.equal(udp.localPort(SIP_HANDLE), 5060, "the SIP socket is handle 0, bound to sip.port");
  board.runFor(1_000_000 - board.nowUs()); // the same virtual time however long the host took to bind
  const frames: Frame[] = [];
  const decoder = new SlipDecoder({ onFrame: (f) => frames.push(decodeFrame(f)) }, { maxFrame: MAX_FRAME });
  board.on("uart", (b: Uint8Array) => decoder.push(b));
  let id = 0;
  const ask = (command: number, payload: Uint8Array): Frame => {
    frames.length = 0;
    board.feedUart(slipEncode(encodeFrame({ kind: Kind.REQUEST, command, id: ++id & 0xffff, status: 0, payload })));
    const reply = frames.find((f) => f.kind === Kind.RESPONSE && f.id === (id & 0xffff));
    assert.ok(reply, `the console answered command ${command}`);
    return reply;
  };
  const settings = [["sip.account", `sip:door@${address}`], ["sip.registrar", `sip:${REGISTRAR}`], ["sip.username", "door"],
    ["sip.password", "secret"], ["call.target", "sip:hall@192.0.2.11"], ["sip.expires", "60"]];
  assert.equal(ask(ConfigCommand.SET, encodePairs(settings.map(([key, value]) => ({ key, value })))).status, Status.OK, "configured");
  const callState = () => decodeStatus(ask(CallCommand.STATUS, new Uint8Array(0)).payload).state;
  board.runFor(100_000);
  return { board, sent, address, callState };
}

test(`SIP port: ${TOTAL} mutated messages (seed ${SEED}), no crash, heap flat, every datagram sent well-formed SIP`, async () => {
  const started = performance.now();
  // The board's tags, branches and keys come from hal.random_fill: seeded too, so a run reproduces.
  const randomFill = crypto.randomFillSync;
  const boardRandom = prng(SEED ^ 0x5eed);
  crypto.randomFillSync = (<T extends NodeJS.ArrayBufferView>(out: T): T => {
    const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    for (let i = 0; i < bytes.length; i++) bytes[i] = boardRandom() & 0xff;
    return out;
  }) as typeof crypto.randomFillSync;
  try {
    const fuzzed = await fuzzBoard();
    try { run(fuzzed, started); } finally { fuzzed.board.stop(); }
  } finally {
    crypto.randomFillSync = randomFill;
  }
});

function run({ board, sent, address, callState }: Fuzzed, started: number): void {
  const rand = prng(SEED);
  const talk = new Conversation(address);
  const inject = board as unknown as { queueDatagram(d: Datagram): void }; // a socket's "message" path, run synchronously
  const deliver = (data: Buffer) => inject.queueDatagram({ handle: SIP_HANDLE, data, family: 4, address: PEER, port: 5060 });
  const counts = { responses: 0, statuses: new Map<number, number>(), methods: new Map<string, number>(), oversize: 0, unmutated: 0, bareCr: 0, keepalives: 0 };
  // Faults that leave the board running are collected (the first of each kind) and asserted at the end.
  const faults = new Map<string, string>();
  const fault = (kind: string, i: number, what: string) => { if (!faults.has(kind)) faults.set(kind, `message ${i}: ${what}`); };
  const show = (b: Buffer) => JSON.stringify(b.toString("latin1"));
  let checked = 0;
  const check = (i: number, message: Buffer) => {
    for (; checked < sent.length; checked++) {
      const s = sent[checked];
      if (s.handle !== SIP_HANDLE) continue;
      // The registrar flow's keepalive (RFC 5626 4.4.2) shares the socket: a 20-byte STUN Binding request, to the registrar only.
      if (s.data.length >= 20 && s.data[0] < 4 && s.data.readUInt32BE(4) === 0x2112a442) {
        if (s.data.length !== 20 || s.data.readUInt16BE(0) !== 0x0001 || s.data.readUInt16BE(2) !== 0 || s.to !== `${REGISTRAR}:5060`) fault("bad keepalive", i, `sent to ${s.to}: ${s.data.toString("hex")}`);
        counts.keepalives++;
        continue;
      }
      const p = parseSip(s.data);
      if (typeof p === "string") { fault(`malformed: ${p.replace(/ .*/, "")}`, i, `sent to ${s.to} (${p}):\n${show(s.data)}\nafter receiving ${show(message)}`); continue; }
      if (p.status) {
        counts.responses++;
        counts.statuses.set(p.status, (counts.statuses.get(p.status) ?? 0) + 1);
        // Every datagram in comes from PEER:5060, so every response goes there (18.2.2, RFC 3581).
        if (s.to !== `${PEER}:5060`) fault("response elsewhere", i, `a ${p.status} went to ${s.to}, after ${show(message)}`);
        if (isAck(message) && /\sACK$/.test(first(p, "cseq"))) fault("answered an ACK", i, `${show(s.data)}\nto ${show(message)}`); // 17: never
        if (/\r(?!\n)/.test(s.data.toString("latin1"))) counts.bareCr++;
      } else counts.methods.set(p.method, (counts.methods.get(p.method) ?? 0) + 1);
      talk.learn(p);
    }
    if (sent.length > 10_000) { sent.length = 0; checked = 0; }
  };
  check(-1, Buffer.alloc(0));
  // Liveness: after a quiet spell a plain OPTIONS is answered 200 (not 503, not silence).
  const probe = (i: number): number => {
    const from = sent.length;
    const callId = `probe${i}@${PEER}`;
    const options = Buffer.from(`OPTIONS sip:door@${address} SIP/2.0\r\nVia: SIP/2.0/UDP ${PEER}:5060;branch=z9hG4bKprobe${i}\r\nMax-Forwards: 70\r\n` +
      `From: <sip:probe@${PEER}>;tag=p${i}\r\nTo: <sip:door@${address}>\r\nCall-ID: ${callId}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`, "latin1");
    deliver(options);
    const reply = sent.slice(from).map((d) => parseSip(d.data)).find((p) => typeof p !== "string" && p.status > 0 && first(p, "call-id") === callId);
    check(i, options);
    return reply && typeof reply !== "string" ? reply.status : 0;
  };
  let heap = 0, highWater = 0;
  for (let i = 0; i < TOTAL; i++) {
    if (i % 3_000 === 2_999) { talk.generation++; talk.boardTag = ""; }
    // A quiet spell of 64*T1 now and then: transactions end (timers J, H, L, M), so new requests
    // find a free one rather than a 503 (the agent keeps 8).
    if (i % QUIET_EVERY === 0) {
      const before = callState();
      board.runFor(33_000_000);
      const answer = probe(i);
      if (answer !== 200) fault("stopped answering", i, `after a 33 s quiet spell a plain OPTIONS got ${answer || "no answer"}: transactions outlived 64*T1`);
      // Hanging up takes at most 64*T1 (a BYE's timer F; RFC 3261 9.1 for a CANCELled INVITE).
      if (before === "ending" && callState() === "ending") fault("stuck hanging up", i, "the call was still ending after a 33 s quiet spell");
    }
    if (i % 1_000 === 500) { board.setInput(2, 1); board.setInput(2, 0); } // answer, hang up, or call out
    const seeds = talk.seeds(rand);
    const seed = Buffer.from(seeds[rand() % seeds.length], "latin1");
    let message: Buffer = seed;
    if (rand() % 8 === 0) counts.unmutated++;
    else message = mutate(seed, Buffer.from(seeds[rand() % seeds.length], "latin1"), rand);
    if (message.length > 8192) counts.oversize++; // the board's receive buffer: the sim drops these, as a board would
    deliver(message);
    if (board.state !== "running") assert.fail(`seed ${SEED}, message ${i}: the board crashed (${board.crashReason}) on ${show(message)}`);
    check(i, message);
    board.runFor(rand() % 4_000); // 2 ms on average: timers, retransmissions, refreshes and audio frames run too
    if (board.state !== "running") assert.fail(`seed ${SEED}, message ${i}: the board crashed (${board.crashReason}) after ${show(message)}`);
    check(i, Buffer.alloc(0)); // what timers sent: no message to blame
    if (i === WARM_UP) { heap = board.heapTop(); highWater = board.memoryHighWater(); }
    if (i > WARM_UP && i % 1_000 === 0) {
      assert.equal(board.heapTop(), heap, `seed ${SEED}, message ${i}: heap_top moved`);
      assert.equal(board.memoryHighWater(), highWater, `seed ${SEED}, message ${i}: memory above the warm-up high-water mark was written`);
    }
  }
  assert.equal(board.heapTop(), heap, "heap_top did not move after warm-up");
  assert.equal(board.memoryHighWater(), highWater, "no byte above the warm-up high-water mark was written");
  assert.ok(heap < board.memoryBytes, `heap top ${heap} inside ${board.memoryBytes}`);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const statuses = [...counts.statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}x${n}`).join(" ");
  const methods = [...counts.methods].map(([m, n]) => `${m}x${n}`).join(" ");
  console.log(`sip-fuzz: ${TOTAL} messages in ${seconds} s; heap top ${heap}, high-water ${highWater} of ${board.memoryBytes}; ${counts.unmutated} unmutated, ${counts.oversize} over 8192 bytes (dropped by the sim), ${counts.keepalives} STUN keepalives; ` +
    `board sent requests ${methods}; responses ${statuses}; ${counts.bareCr} responses echo a bare CR`);
  assert.deepEqual([...faults].map(([kind, what]) => `${kind}: seed ${SEED}, ${what}`), [], "faults");
  // The fuzz must reach the interesting states, not only the parser's refusals.
  for (const s of [180, 200, 400, 481]) assert.ok((counts.statuses.get(s) ?? 0) > 0, `the board answered ${s} at least once: ${statuses}`);
  for (const m of ["REGISTER", "INVITE", "ACK", "BYE"]) assert.ok((counts.methods.get(m) ?? 0) > 0, `the board sent a ${m}: ${methods}`);
}
