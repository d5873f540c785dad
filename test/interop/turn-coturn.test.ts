// The firmware's TURN client (firmware/net/turn.ts) against real coturn on loopback: Allocate
// (401, then 200), Send/Data indications and ChannelData relayed to and from a Node UDP peer
// (which must see the relayed address as the source: coturn really relays), Refresh, 438 Stale
// Nonce, 300 Try Alternate, release, a wrong password, a STUN-only server; and tshark's dissection
// of everything on the main server's port. The firmware side is test/interop/turn-entry.ts,
// built here with asc; Node owns the sockets and the clock (µs, with a virtual offset to reach
// refresh times without waiting for them).
//
//   node --import tsx --test test/interop/turn-coturn.test.ts
// Needs coturn (turnserver) and tshark; skips with the reason when they are missing.

import assert from "node:assert/strict";
import crypto from "node:crypto";
import dgram from "node:dgram";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import asc from "assemblyscript/asc";
import { packageRoot } from "../../host-tools/paths.ts";
import { type CoturnServer, coturnUnavailable, startCoturn } from "../peers/coturn.ts";
import { allocatePorts, type PortBlock } from "../peers/ports.ts";
import { type Capture, startCapture, tsharkFields, tsharkUnavailable } from "../peers/capture.ts";

const root = packageRoot();
const ENTRY = "test/interop/turn-entry.ts";
const CONFIG = "test/interop/turn.asconfig.json";
const skip = coturnUnavailable() ?? tsharkUnavailable() ?? false;

// firmware/net/turn-attrs.ts
const TURN_READY = 2, TURN_FAILED = 3, TURN_IDLE = 0;
const TURN_ERR_NO_PERMISSION = -9, TURN_ERR_TIMEOUT = -18, TURN_NOT_DATA = -1;

interface TurnExports {
  memory: WebAssembly.Memory;
  bufferPtr(): number; outputPtr(): number; addressPtr(): number; textPtr(): number; bufferBytes(): number;
  entropyPtr(): number; entropyBytes(): number; refilled(): void; entropyLow(): number;
  create(peers: number): number;
  configure(c: number, userLen: number, passwordLen: number): number;
  allocate(c: number, now: number): number; release(c: number, now: number): void;
  permit(c: number, now: number): number; bind(c: number, now: number): number;
  wrap(c: number, len: number): number; unwrap(c: number, len: number, now: number): number;
  tick(c: number, now: number): void; timeout(c: number): number;
  state(c: number): number; error(c: number): number; lifetime(c: number): number; hasMapped(c: number): number;
  relayed(c: number): number; mapped(c: number): number; server(c: number): number; peer(c: number): number; length(c: number): number;
  dropped(c: number): number; refreshes(c: number): number; staleNonces(c: number): number; redirects(c: number): number;
  retransmissions(c: number): number; unmatched(c: number): number;
  outCount(c: number): number; outData(c: number): number; outLength(c: number): number; outAddress(c: number): number; outPop(c: number): void;
}

interface Endpoint { address: string; port: number }
const text = (e: Endpoint): string => `${e.address}:${e.port}`;

async function build(): Promise<TurnExports> {
  const files = new Map<string, Uint8Array | string>();
  const argv = [ENTRY, "--config", CONFIG, "--baseDir", root, "--outFile", "turn.wasm"];
  const res = await asc.main(argv, { writeFile: (name: string, contents: Uint8Array | string) => { files.set(name, contents); } });
  if (res.error) throw new Error(`asc ${argv.join(" ")} failed: ${res.error.message}\n${res.stderr.toString()}`);
  const bin = files.get("turn.wasm");
  assert.ok(bin instanceof Uint8Array, "asc wrote no turn.wasm");
  let memory: WebAssembly.Memory | undefined;
  const abort = (msg: number, file: number, line: number, col: number): never => {
    const s = (p: number): string => p === 0 ? "?" : Buffer.from(memory!.buffer, p, new DataView(memory!.buffer).getUint32(p - 4, true)).toString("utf16le");
    throw new Error(`abort: ${s(msg)} at ${s(file)}:${line}:${col}`);
  };
  const { instance } = await WebAssembly.instantiate(new Uint8Array(bin), { env: { abort } });
  const fw = instance.exports as unknown as TurnExports;
  memory = fw.memory;
  return fw;
}

let fw: TurnExports;
const t0 = performance.now();
let offsetUs = 0; // virtual time added to the real clock: refreshes come due without waiting
const now = (): number => Math.floor((performance.now() - t0) * 1000) + offsetUs;

const bytes = (p: number, n: number): Buffer => Buffer.from(new Uint8Array(fw.memory.buffer, p, n));
function setSockaddr(e: Endpoint): void {
  const b = Buffer.alloc(20);
  b[0] = 4;
  b.writeUInt16BE(e.port, 2);
  e.address.split(".").forEach((o, i) => { b[4 + i] = Number(o); });
  new Uint8Array(fw.memory.buffer, fw.addressPtr(), 20).set(b);
}
function sockaddr(p: number): Endpoint {
  const b = bytes(p, 20);
  assert.equal(b[0], 4, "an IPv4 SOCKADDR");
  return { address: [...b.subarray(4, 8)].join("."), port: b.readUInt16BE(2) };
}
function refill(): void {
  if (!fw.entropyLow()) return;
  new Uint8Array(fw.memory.buffer, fw.entropyPtr(), fw.entropyBytes()).set(crypto.randomBytes(fw.entropyBytes()));
  fw.refilled();
}

/** A STUN message type and its attributes, read by Node (not by the firmware). */
function stunOf(b: Buffer): { type: number; attrs: Map<number, Buffer> } | undefined {
  if (b.length < 20 || (b[0]! & 0xc0) !== 0 || b.readUInt32BE(4) !== 0x2112a442) return undefined;
  const attrs = new Map<number, Buffer>();
  for (let off = 20; off + 4 <= b.length;) {
    const t = b.readUInt16BE(off), l = b.readUInt16BE(off + 2);
    if (!attrs.has(t)) attrs.set(t, b.subarray(off + 4, off + 4 + l));
    off += 4 + ((l + 3) & ~3);
  }
  return { type: b.readUInt16BE(0), attrs };
}
const errorCode = (m: { attrs: Map<number, Buffer> }): number | undefined => {
  const v = m.attrs.get(0x0009);
  return v === undefined ? undefined : (v[2]! & 7) * 100 + v[3]!;
};

interface Wire { dir: "out" | "in"; type: number | "channel"; length: number }

/** One board socket (a UDP 5-tuple towards the server) and the TURN clients reading it. */
class Board {
  readonly wire: Wire[] = [];
  readonly inbox: { client: number; from: Endpoint; data: Buffer }[] = [];
  readonly results: number[] = [];
  private readonly clients = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private constructor(readonly socket: dgram.Socket) {
    socket.on("message", (msg, rinfo) => this.receive(msg, { address: rinfo.address, port: rinfo.port }));
    this.timer = setInterval(() => this.poll(), 5);
  }
  static async open(): Promise<Board> {
    const s = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => s.bind(0, "127.0.0.1", resolve));
    return new Board(s);
  }
  get address(): Endpoint { const a = this.socket.address(); return { address: a.address, port: a.port }; }

  client(server: CoturnServer, user = "u", password = "p", peers = 4): number {
    const c = fw.create(peers);
    setSockaddr({ address: server.address, port: server.port });
    const t = new Uint8Array(fw.memory.buffer, fw.textPtr(), 512);
    t.set(Buffer.from(user + password));
    assert.equal(fw.configure(c, user.length, password.length), 0);
    this.clients.add(c);
    return c;
  }

  /** Sends what the client queued. */
  pump(c: number): void {
    while (fw.outCount(c) > 0) {
      const data = bytes(fw.outData(c), fw.outLength(c));
      const to = sockaddr(fw.outAddress(c));
      fw.outPop(c);
      this.send(data, to);
    }
  }
  send(data: Buffer, to: Endpoint): void {
    const m = stunOf(data);
    this.wire.push({ dir: "out", type: m ? m.type : "channel", length: data.length });
    this.socket.send(data, to.port, to.address);
  }
  private receive(msg: Buffer, from: Endpoint): void {
    const m = stunOf(msg);
    this.wire.push({ dir: "in", type: m ? m.type : "channel", length: msg.length });
    for (const c of this.clients) {
      refill();
      new Uint8Array(fw.memory.buffer, fw.bufferPtr(), msg.length).set(msg);
      setSockaddr(from);
      const r = fw.unwrap(c, msg.length, now());
      this.results.push(r);
      if (r >= 0) this.inbox.push({ client: c, from: sockaddr(fw.peer(c)), data: bytes(fw.bufferPtr() + r, fw.length(c)) });
      this.pump(c);
    }
  }
  poll(): void {
    for (const c of this.clients) {
      const t = fw.timeout(c);
      if (t >= 0 && t <= now()) { refill(); fw.tick(c, now()); }
      this.pump(c);
    }
  }
  /** payload to the peer through client c: the datagram's length on the wire. */
  relay(c: number, payload: Buffer, peer: Endpoint): number {
    new Uint8Array(fw.memory.buffer, fw.bufferPtr(), payload.length).set(payload);
    setSockaddr(peer);
    const n = fw.wrap(c, payload.length);
    if (n > 0) this.send(bytes(fw.outputPtr(), n), sockaddr(fw.server(c)));
    return n;
  }
  close(): void { clearInterval(this.timer); this.socket.close(); }
}

async function until(what: string, cond: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function allocated(board: Board, server: CoturnServer, user = "u", password = "p"): Promise<number> {
  const c = board.client(server, user, password);
  refill();
  assert.equal(fw.allocate(c, now()), 0);
  board.pump(c);
  await until(`an allocation on ${server.port}`, () => fw.state(c) !== 1);
  return c;
}

/** A Node UDP socket standing for the far end, and what reaches it. */
async function openPeer(): Promise<{ socket: dgram.Socket; endpoint: Endpoint; got: { from: Endpoint; data: Buffer }[] }> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const got: { from: Endpoint; data: Buffer }[] = [];
  socket.on("message", (data, r) => got.push({ from: { address: r.address, port: r.port }, data }));
  return { socket, endpoint: { address: "127.0.0.1", port: socket.address().port }, got };
}

/** Moves virtual time forward and lets the client act on it. */
async function advance(board: Board, c: number, us: number): Promise<void> {
  offsetUs += us;
  board.poll();
  await sleep(20);
}

const servers: Record<"main" | "stale" | "alternate" | "stunOnly", CoturnServer> = {} as never;
const relayPorts: PortBlock[] = [];
let capture: Capture | undefined;
let captureDir = "";
const figures: Record<string, number> = {};

describe("TURN client against coturn", { skip }, () => {
  before(async () => {
    const built = build(); // asc takes a few seconds: the servers start meanwhile
    // relay ports of their own, below the ephemeral range (test/peers/ports.ts says why)
    for (let i = 0; i < 3; i++) relayPorts.push(await allocatePorts(16));
    const range = (i: number) => ({ minPort: relayPorts[i]!.first, maxPort: relayPorts[i]!.first + 15 });
    servers.main = await startCoturn({ ...range(0) });
    captureDir = fs.mkdtempSync(path.join(os.tmpdir(), "tincan-turn-"));
    [servers.stale, servers.alternate, servers.stunOnly, capture, fw] = await Promise.all([
      startCoturn({ ...range(1), staleNonceS: 1 }),
      startCoturn({ ...range(2), alternateServer: text(servers.main) }),
      startCoturn({ stunOnly: true }),
      startCapture(path.join(captureDir, "turn.pcapng"), `udp port ${servers.main.port}`),
      built,
    ]);
  });

  after(async () => {
    await capture?.stop().catch(() => {});
    await Promise.all(Object.values(servers).map((s) => s.stop()));
    for (const b of relayPorts) b.release();
    if (captureDir) fs.rmSync(captureDir, { recursive: true, force: true });
    if (Object.keys(figures).length > 0) console.log(`TURN bytes on the wire (UDP payload): ${JSON.stringify(figures)}`);
  });

  it("Allocate: 401 with realm and nonce, then 200 with the relayed and the mapped address", async () => {
    const board = await Board.open();
    try {
      const c = await allocated(board, servers.main);
      assert.equal(fw.state(c), TURN_READY, `state ${fw.state(c)}, error ${fw.error(c)}`);
      Object.assign(figures, { allocate: board.wire[0]!.length, unauthorized: board.wire[1]!.length, allocateAuth: board.wire[2]!.length, allocateOk: board.wire[3]!.length });
      const answers = board.wire.filter((w) => w.dir === "in").map((w) => w.type);
      assert.deepEqual(answers, [0x0113, 0x0103], "Allocate error (401), then Allocate success");
      const relayed = sockaddr(fw.relayed(c));
      assert.equal(relayed.address, "127.0.0.1");
      assert.ok(relayed.port >= relayPorts[0]!.first && relayed.port < relayPorts[0]!.first + 16, `relayed port ${relayed.port} in coturn's range`);
      assert.equal(fw.hasMapped(c), 1);
      assert.deepEqual(sockaddr(fw.mapped(c)), board.address, "XOR-MAPPED-ADDRESS is the board socket");
      assert.equal(fw.lifetime(c), 600);
      await servers.main.waitForLog(/ALLOCATE processed, success/);
    } finally { board.close(); }
  });

  it("Send and Data indications after CreatePermission: the peer hears the relayed address", async (t: TestContext) => {
    const board = await Board.open();
    const peer = await openPeer();
    try {
      const c = await allocated(board, servers.main);
      const relayed = sockaddr(fw.relayed(c));
      const payload = crypto.randomBytes(160);
      assert.equal(board.relay(c, payload, peer.endpoint), TURN_ERR_NO_PERMISSION);
      setSockaddr(peer.endpoint);
      assert.ok(fw.permit(c, now()) >= 0);
      board.pump(c);
      await until("the permission", () => board.wire.some((w) => w.type === 0x0108));
      figures.createPermission = board.wire.find((w) => w.type === 0x0008)!.length;
      figures.createPermissionOk = board.wire.find((w) => w.type === 0x0108)!.length;
      const sent = board.relay(c, payload, peer.endpoint);
      assert.equal(sent, 196);
      await until("the payload at the peer", () => peer.got.length > 0);
      assert.deepEqual(peer.got[0]!.from, relayed, "coturn relayed it from the allocation");
      assert.ok(peer.got[0]!.data.equals(payload));
      const back = crypto.randomBytes(160);
      peer.socket.send(back, relayed.port, relayed.address);
      await until("the Data indication", () => board.inbox.length > 0);
      assert.ok(board.inbox[0]!.data.equals(back));
      assert.deepEqual(board.inbox[0]!.from, peer.endpoint);
      const inbound = board.wire.filter((w) => w.dir === "in" && w.type === 0x0017);
      assert.equal(inbound.length, 1);
      figures.sendIndication = sent;
      figures.dataIndication = inbound[0]!.length;
      t.diagnostic(`160-byte payload: Send indication ${sent} bytes, coturn's Data indication ${inbound[0]!.length} bytes`);
    } finally { board.close(); peer.socket.close(); }
  });

  it("ChannelBind, then ChannelData both ways (coturn's padding accepted)", async (t: TestContext) => {
    const board = await Board.open();
    const peer = await openPeer();
    try {
      const c = await allocated(board, servers.main);
      const relayed = sockaddr(fw.relayed(c));
      setSockaddr(peer.endpoint);
      assert.equal(fw.bind(c, now()), 0x4000);
      board.pump(c);
      await until("the channel", () => board.wire.some((w) => w.type === 0x0109));
      const payload = crypto.randomBytes(160);
      const sent = board.relay(c, payload, peer.endpoint);
      assert.equal(sent, 164);
      await until("the payload at the peer", () => peer.got.length > 0);
      assert.deepEqual(peer.got[0]!.from, relayed);
      assert.ok(peer.got[0]!.data.equals(payload));
      for (const n of [160, 161, 1]) {
        const before = board.inbox.length;
        const back = crypto.randomBytes(n);
        peer.socket.send(back, relayed.port, relayed.address);
        await until(`ChannelData of ${n} bytes`, () => board.inbox.length > before);
        assert.ok(board.inbox[before]!.data.equals(back));
        assert.deepEqual(board.inbox[before]!.from, peer.endpoint);
      }
      const inbound = board.wire.filter((w) => w.dir === "in" && w.type === "channel").map((w) => w.length);
      figures.channelDataOut = sent;
      figures.channelDataIn = inbound[0]!;
      t.diagnostic(`ChannelData from coturn for 160, 161, 1 payload bytes: ${inbound.join(", ")} bytes`);
      assert.equal(inbound[0], 164);
      assert.equal(fw.dropped(c), 0);
    } finally { board.close(); peer.socket.close(); }
  });

  it("Refresh at lifetime - 60 s (virtual clock): coturn renews, the channel still relays", async () => {
    const board = await Board.open();
    const peer = await openPeer();
    try {
      const c = await allocated(board, servers.main);
      const relayed = sockaddr(fw.relayed(c));
      setSockaddr(peer.endpoint);
      fw.bind(c, now());
      board.pump(c);
      await until("the channel", () => board.wire.some((w) => w.type === 0x0109));
      board.relay(c, Buffer.from("keep me"), peer.endpoint); // in use: the binding is refreshed too
      await advance(board, c, 540_000_000);
      await until("the Refresh success", () => fw.refreshes(c) === 1);
      assert.equal(fw.state(c), TURN_READY);
      assert.equal(fw.lifetime(c), 600);
      assert.ok(board.wire.some((w) => w.type === 0x0104), "Refresh success on the wire");
      assert.equal(board.wire.filter((w) => w.type === 0x0109).length, 2, "ChannelBind refreshed with it");
      peer.socket.send(Buffer.from("still here"), relayed.port, relayed.address);
      await until("relayed data after the refresh", () => board.inbox.some((m) => m.data.toString() === "still here"));
      await servers.main.waitForLog(/REFRESH processed, success/);
      const size = (type: number): number => board.wire.find((w) => w.type === type)!.length;
      Object.assign(figures, { refresh: size(0x0004), refreshOk: size(0x0104), channelBind: size(0x0009), channelBindOk: size(0x0109) });
    } finally { board.close(); peer.socket.close(); }
  });

  it("438 Stale Nonce (coturn --stale-nonce=1): the Refresh is retried once with the new nonce", async () => {
    const board = await Board.open();
    try {
      const c = await allocated(board, servers.stale);
      assert.equal(fw.state(c), TURN_READY, `error ${fw.error(c)}`);
      // The nonce goes stale (coturn checks its 1 s lifetime in whole seconds: wait well past it).
      await sleep(2500);
      await advance(board, c, 540_000_000);
      await until("the Refresh success", () => fw.refreshes(c) === 1);
      assert.equal(fw.staleNonces(c), 1);
      assert.equal(fw.state(c), TURN_READY);
      const refreshes = board.wire.filter((w) => w.type === 0x0004 || w.type === 0x0114 || w.type === 0x0104).map((w) => w.type);
      assert.deepEqual(refreshes, [0x0004, 0x0114, 0x0004, 0x0104], "Refresh, 438, Refresh, success");
    } finally { board.close(); }
  });

  it("300 Try Alternate: the client follows ALTERNATE-SERVER once and allocates there", async () => {
    const board = await Board.open();
    try {
      const c = await allocated(board, servers.alternate);
      assert.equal(fw.state(c), TURN_READY, `error ${fw.error(c)}`);
      assert.equal(fw.redirects(c), 1);
      assert.deepEqual(sockaddr(fw.server(c)), { address: servers.main.address, port: servers.main.port });
      const relayed = sockaddr(fw.relayed(c));
      assert.ok(relayed.port >= relayPorts[0]!.first && relayed.port < relayPorts[0]!.first + 16, "relayed by the main server");
    } finally { board.close(); }
  });

  it("release: Refresh LIFETIME 0 deletes the allocation (before: 437 on the same 5-tuple; after: a new one)", async () => {
    const board = await Board.open();
    try {
      const a = await allocated(board, servers.main);
      assert.equal(fw.state(a), TURN_READY);
      const b = await allocated(board, servers.main);
      assert.equal(fw.state(b), TURN_FAILED);
      assert.equal(fw.error(b), 437, "Allocation Mismatch while the first one lives");
      fw.release(a, now());
      board.pump(a);
      await until("the release", () => fw.state(a) === TURN_IDLE);
      // coturn closes the 5-tuple's session a moment after the deallocation; then it is gone
      await servers.main.waitForLog(new RegExp(`closed .*remote 127\\.0\\.0\\.1:${board.address.port}\\b`));
      refill();
      assert.equal(fw.allocate(b, now()), 0);
      board.pump(b);
      await until("the second allocation", () => fw.state(b) !== 1);
      assert.equal(fw.state(b), TURN_READY, `error ${fw.error(b)}`);
    } finally { board.close(); }
  });

  it("a wrong password: 401, Allocate with credentials, 401 again: FAILED with 401", async () => {
    const board = await Board.open();
    try {
      const c = await allocated(board, servers.main, "u", "wrong");
      assert.equal(fw.state(c), TURN_FAILED);
      assert.equal(fw.error(c), 401);
      await sleep(600); // past the first retransmission time: nothing more goes out
      assert.deepEqual(board.wire.map((w) => `${w.dir} ${w.type}`), ["out 3", "in 275", "out 3", "in 275"]);
      assert.equal(fw.retransmissions(c), 0);
    } finally { board.close(); }
  });

  it("STUN-only coturn: Binding answered with the board's address; Allocate ignored until the client gives up", async () => {
    const board = await Board.open();
    try {
      const id = crypto.randomBytes(12);
      const binding = Buffer.concat([Buffer.from([0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42]), id]);
      const answer = new Promise<Buffer>((resolve) => board.socket.once("message", resolve));
      board.socket.send(binding, servers.stunOnly.port, servers.stunOnly.address);
      const m = stunOf(await answer)!;
      assert.equal(m.type, 0x0101);
      const x = m.attrs.get(0x0020)!;
      assert.equal(x.readUInt16BE(2) ^ 0x2112, board.address.port);
      const c = board.client(servers.stunOnly);
      refill();
      fw.allocate(c, now());
      board.pump(c);
      for (let i = 0; i < 10 && fw.state(c) === 1; i++) {
        await sleep(20);
        const due = fw.timeout(c);
        if (due > now()) offsetUs += due - now();
        board.poll();
      }
      assert.equal(fw.state(c), TURN_FAILED);
      assert.equal(fw.error(c), TURN_ERR_TIMEOUT);
      assert.equal(board.wire.filter((w) => w.dir === "out" && w.type === 0x0003).length, 7, "Rc = 7 sends");
      assert.equal(board.wire.filter((w) => w.dir === "in" && w.type !== 0x0101).length, 0, "coturn answered no Allocate");
    } finally { board.close(); }
  });

  it("tshark dissects the traffic on the main server's port as TURN", async () => {
    await sleep(300);
    await capture!.stop();
    const rows = tsharkFields(capture!.file, ["udp.length", "stun.type", "stun.channel", "stun.att.error.class", "stun.att.error", "stun.att.crc32.status"], {
      decodeAs: [`udp.port==${servers.main.port},stun`],
    });
    const types = new Set(rows.map((r) => r[1]).filter((x) => x));
    for (const type of ["0x0003", "0x0113", "0x0103", "0x0008", "0x0108", "0x0016", "0x0017", "0x0009", "0x0109", "0x0004", "0x0104"]) {
      assert.ok(types.has(type), `tshark saw STUN type ${type} (saw ${[...types].join(", ")})`);
    }
    const channel = rows.filter((r) => r[2] === "0x4000");
    assert.ok(channel.length >= 4, "ChannelData on channel 0x4000 both ways");
    assert.ok(channel.some((r) => r[0] === String(8 + 164)), "a 164-byte ChannelData datagram");
    assert.ok(rows.some((r) => r[1] === "0x0113" && r[3] === "4" && r[4] === "1"), "the 401");
    assert.ok(rows.some((r) => r[1] === "0x0113" && r[3] === "4" && r[4] === "37"), "the 437");
    assert.ok(rows.every((r) => r[5] !== "0"), "no FINGERPRINT tshark finds bad");
    assert.ok(TURN_NOT_DATA < 0);
  });
});
