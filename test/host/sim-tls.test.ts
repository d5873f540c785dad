// The simulated board's hal.tls_connect against Node TLS servers made here: the client chain
// and key of the IDENTITY record and the secure element, the server checked against the
// record's trust anchors and the name, the TLS handle in the TCP handle space, failures as
// on_tcp closes (TLS 1.3's late refusal of the client certificate too), bad arguments as error
// codes, and the private key in no HAL call's memory, log line or event. Then the firmware on
// top: a provisioned board registering over TLS in virtual time, its RFC 5626 keepalives.

import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import tls from "node:tls";
import type { AddressInfo } from "node:net";
import { ERR } from "../../host-tools/sim/abi.ts";
import { halImports, type HalContext } from "../../host-tools/sim/hal-imports.ts";
import { SecureElement } from "../../host-tools/sim/secure-element.ts";
import { IdentityStore } from "../../host-tools/sim/identity.ts";
import { TcpTable, TCP_CONNECTED, TCP_CLOSED, TCP_DATA, type TcpEvent } from "../../host-tools/sim/tcp.ts";
import { UdpTable, encodeSockaddr } from "../../host-tools/sim/udp.ts";
import { TlsClient } from "../../host-tools/sim/tls.ts";
import { encodeIdentityRecord } from "../../host-tools/provision/record.ts";
import { makeRoot, makeIntermediate, issueDevice, issueServer, type TestCa } from "../interop/tls-pki.ts";
import { tempDir, virtualBoard } from "./helpers.ts";
import type { SimBoard } from "../../host-tools/sim/board.ts";
import type { Link } from "../../host-tools/link/transport.ts";
import { ConsoleClient } from "../../host-tools/link/console.ts";
import { ConfigClient } from "../../host-tools/config/client.ts";
import { CallClient } from "../../host-tools/call/client.ts";

const SERIAL = "TCS0AB1CD2EF3GH4";

interface Rig {
  hal: Record<string, (...a: number[]) => number>;
  bytes: Uint8Array;
  events: TcpEvent[];
  failures: string[];
  logs: string[];
  privateKey: Buffer;
  tcp: TcpTable;
  dir: string;
}

/** A HAL for one board (memory, secure element with a key in slot 1, identity) without firmware. */
async function rig(pki: Pki, opts: { record?: "none" | "corrupt" | "empty-slot" | "other-key" } = {}): Promise<Rig> {
  const dir = tempDir("tincan-sim-tls-");
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
  const se = new SecureElement(path.join(dir, "secure-element.json"));
  assert.equal(se.keygen(1), ERR.OK);
  if (opts.record === "other-key") assert.equal(se.keygen(0), ERR.OK);
  const point = se.publicKey(opts.record === "other-key" ? 0 : 1) as Uint8Array;
  const device = await issueDevice(pki.factory, SERIAL, point);
  const record = encodeIdentityRecord({ serial: SERIAL, certificates: [device, pki.factory.der], trustAnchors: [pki.root.der], keySlot: opts.record === "empty-slot" ? 2 : 1 });
  if (opts.record === "corrupt") fs.writeFileSync(path.join(dir, "identity.bin"), Buffer.concat([Buffer.from("TCID"), Buffer.alloc(12, 0xff)]));
  else if (opts.record !== "none") fs.writeFileSync(path.join(dir, "identity.bin"), record);
  const identity = new IdentityStore(path.join(dir, "identity.bin"), () => false);
  const events: TcpEvent[] = [];
  const tcp = new TcpTable((e) => events.push(e));
  const failures: string[] = [];
  const logs: string[] = [];
  const client = new TlsClient(tcp, identity, se, (h, peer, reason) => failures.push(`${h} ${peer} ${reason}`));
  // Only what these imports reach; the rest of the board is not needed.
  const ctx = {
    memory: () => memory, nowUs: () => 0, wallClockMs: () => Date.now(), boardId: "sim", se, identity, tcp, tls: client,
    udp: new UdpTable(() => {}), log: (_l: number, t: Uint8Array) => logs.push(Buffer.from(t).toString("latin1")),
  } as unknown as HalContext;
  const privateKey = Buffer.from((JSON.parse(fs.readFileSync(path.join(dir, "secure-element.json"), "utf8")) as { slots: (string | null)[] }).slots[1]!, "hex");
  return { hal: halImports(ctx) as unknown as Rig["hal"], bytes: new Uint8Array(memory.buffer), events, failures, logs, privateKey, tcp, dir };
}

interface Pki { root: TestCa; factory: TestCa; foreign: TestCa; server: { cert: string; key: string }; foreignServer: { cert: string; key: string } }

let pkiPromise: Promise<Pki> | undefined;
function pki(): Promise<Pki> {
  pkiPromise ??= (async () => {
    const root = await makeRoot("Tincan Test Root");
    const foreign = await makeRoot("Someone Else's Root");
    return {
      root, foreign, factory: await makeIntermediate(root, "Tincan Test Factory"),
      server: await issueServer(root, { ip: ["127.0.0.1"], dns: ["registrar.tincan.test"] }),
      foreignServer: await issueServer(foreign, { ip: ["127.0.0.1"] }),
    };
  })();
  return pkiPromise;
}

interface Server { port: number; received: Buffer[]; peers: tls.TLSSocket[]; close(): Promise<void> }

async function server(opts: tls.TlsOptions, onSocket?: (sock: tls.TLSSocket, index: number) => void): Promise<Server> {
  const received: Buffer[] = [];
  const peers: tls.TLSSocket[] = [];
  const s = tls.createServer({ requestCert: true, rejectUnauthorized: true, ...opts }, (sock) => {
    peers.push(sock);
    onSocket?.(sock, peers.length - 1);
    sock.on("data", (d) => received.push(d));
    sock.on("error", () => {});
  });
  s.on("tlsClientError", () => {});
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  return {
    port: (s.address() as AddressInfo).port, received, peers,
    close: () => new Promise<void>((resolve) => { for (const p of peers) p.destroy(); s.close(() => resolve()); }),
  };
}

/** Writes a SOCKADDR at 0 and the name at 64; returns their pointers and the name length. */
function dial(r: Rig, port: number, name = "", address = "127.0.0.1"): number {
  encodeSockaddr(r.bytes.subarray(0, 20), 4, address, port);
  r.bytes.set(Buffer.from(name, "latin1"), 64);
  return r.hal.tls_connect(0, 64, name.length);
}

async function until(what: string, done: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const kinds = (r: Rig, h: number) => r.events.filter((e) => e.handle === h && e.kind !== TCP_DATA).map((e) => e.kind);

test("a trusted server: mutual TLS with the record's chain, plaintext both ways in the TCP handle space", async () => {
  const p = await pki();
  const srv = await server({ cert: p.server.cert, key: p.server.key, ca: [p.root.pem] }); // the intermediate must come from the board
  const r = await rig(p);
  try {
    const plain = r.hal.tcp_connect(0); // a TCP handle first: TLS handles share the table
    const h = dial(r, srv.port);
    assert.ok(h >= 0 && h !== plain, `handle ${h}`);
    await until("the handshake", () => kinds(r, h).includes(TCP_CONNECTED));
    await until("the server's view", () => srv.peers.length === 1);
    const peer = srv.peers[0];
    assert.equal(peer.authorized, true, `the server verified the board: ${peer.authorizationError}`);
    assert.equal(peer.getPeerCertificate().subject.CN, SERIAL);
    assert.equal(peer.getPeerCertificate().subjectaltname, `URI:urn:tincan:device:${SERIAL}`);
    r.bytes.set(Buffer.from("REGISTER sip:x SIP/2.0\r\n"), 200);
    assert.equal(r.hal.tcp_send(h, 200, 24), 24);
    await until("the request at the server", () => Buffer.concat(srv.received).toString().includes("REGISTER"));
    peer.write("SIP/2.0 200 OK\r\n");
    await until("the answer", () => r.events.some((e) => e.handle === h && e.kind === TCP_DATA && e.data!.toString() === "SIP/2.0 200 OK\r\n"));
    assert.equal(r.hal.tcp_peer(h, 300), ERR.OK);
    assert.deepEqual([...r.bytes.subarray(300, 308)], [4, 0, srv.port >> 8, srv.port & 0xff, 127, 0, 0, 1]);
    assert.equal(r.hal.tcp_close(h), ERR.OK);
    await until("the server seeing the close", () => peer.destroyed || peer.readableEnded);
    assert.equal(r.hal.tcp_send(h, 200, 4), ERR.NOT_FOUND);
    // By DNS name (SNI and the name check), and with the name given as an IP literal.
    const byName = dial(r, srv.port, "registrar.tincan.test");
    const byIp = dial(r, srv.port, "127.0.0.1");
    await until("both handshakes", () => kinds(r, byName).includes(TCP_CONNECTED) && kinds(r, byIp).includes(TCP_CONNECTED));
    const sni = srv.peers.map((sock) => (sock as tls.TLSSocket & { servername?: string | false }).servername);
    assert.ok(sni.includes("registrar.tincan.test"), `SNI carried the DNS name: ${sni.join(", ")}`);
    assert.equal(sni.filter((n) => n === "127.0.0.1").length, 0, "an IP literal never goes in SNI (RFC 6066 3)");
    assert.deepEqual(r.failures, []);
  } finally {
    r.tcp.closeAll();
    await srv.close();
  }
});

test("a server the record does not trust, or not the name asked for: on_tcp closed, never connected", async () => {
  const p = await pki();
  const foreign = await server({ cert: p.foreignServer.cert, key: p.foreignServer.key, ca: [p.root.pem] });
  const ours = await server({ cert: p.server.cert, key: p.server.key, ca: [p.root.pem] });
  const r = await rig(p);
  try {
    const untrusted = dial(r, foreign.port);
    const wrongDns = dial(r, ours.port, "pbx.example.org");
    const wrongIp = dial(r, ours.port, "127.0.0.2");
    for (const h of [untrusted, wrongDns, wrongIp]) {
      assert.ok(h >= 0);
      await until(`handle ${h} closing`, () => kinds(r, h).includes(TCP_CLOSED));
      assert.deepEqual(kinds(r, h), [TCP_CLOSED], `handle ${h}: closed without ever being connected`);
    }
    assert.match(r.failures.find((f) => f.startsWith(`${untrusted} `)) ?? "", /certificate/i);
    assert.match(r.failures.find((f) => f.startsWith(`${wrongDns} `)) ?? "", /pbx\.example\.org|ALTNAME/);
    assert.match(r.failures.find((f) => f.startsWith(`${wrongIp} `)) ?? "", /127\.0\.0\.2|ALTNAME/);
  } finally {
    r.tcp.closeAll();
    await foreign.close();
    await ours.close();
  }
});

test("a server that refuses the board's certificate: TLS 1.3 connects then closes on the first read, TLS 1.2 never connects", async () => {
  const p = await pki();
  const tls13 = await server({ cert: p.server.cert, key: p.server.key, ca: [p.foreign.pem], minVersion: "TLSv1.3" });
  const tls12 = await server({ cert: p.server.cert, key: p.server.key, ca: [p.foreign.pem], maxVersion: "TLSv1.2" });
  const r = await rig(p);
  try {
    const late = dial(r, tls13.port);
    const early = dial(r, tls12.port);
    await until("both closes", () => kinds(r, late).includes(TCP_CLOSED) && kinds(r, early).includes(TCP_CLOSED));
    assert.deepEqual(kinds(r, late), [TCP_CONNECTED, TCP_CLOSED], "TLS 1.3: the refusal comes after the handshake");
    assert.deepEqual(kinds(r, early), [TCP_CLOSED], "TLS 1.2: the handshake itself fails");
    // (Node's TLS 1.3 server hangs up without an alert; OpenSSL servers such as kamailio send one.)
  } finally {
    r.tcp.closeAll();
    await tls13.close();
    await tls12.close();
  }
});

test("bad arguments and missing identity are error codes, never a trap or a connection", async () => {
  const p = await pki();
  const r = await rig(p);
  const size = r.bytes.length;
  encodeSockaddr(r.bytes.subarray(0, 20), 4, "127.0.0.1", 5061);
  assert.equal(r.hal.tls_connect(size - 10, 64, 0), ERR.BOUNDS, "SOCKADDR past the end");
  assert.equal(r.hal.tls_connect(-1, 64, 0), ERR.BOUNDS);
  assert.equal(r.hal.tls_connect(0, size - 3, 10), ERR.BOUNDS, "name past the end");
  assert.equal(r.hal.tls_connect(0, 64, -1), ERR.INVALID);
  assert.equal(r.hal.tls_connect(0, 64, 254), ERR.INVALID, "longer than a DNS name");
  for (const bad of ["has space", "-lead.example", "a..b", "ünï", "999.1.1.1", "x_y.example"]) assert.equal(dial(r, 5061, bad), ERR.INVALID, bad);
  r.bytes[0] = 5;
  assert.equal(r.hal.tls_connect(0, 64, 0), ERR.INVALID, "family 5");
  assert.equal(dial(r, 0), ERR.INVALID, "port 0");
  assert.equal(r.events.length, 0);
  assert.equal(dial(await rig(p, { record: "none" }), 5061), ERR.NOT_FOUND, "no IDENTITY record");
  assert.equal(dial(await rig(p, { record: "empty-slot" }), 5061), ERR.NOT_FOUND, "the record's slot holds no key");
  assert.equal(dial(await rig(p, { record: "corrupt" }), 5061), ERR.IO, "a record that does not parse");
  assert.equal(dial(await rig(p, { record: "other-key" }), 5061), ERR.IO, "a certificate that is not the slot's key");
  // A full table: NO_SPACE.
  encodeSockaddr(r.bytes.subarray(0, 20), 4, "127.0.0.1", 5061);
  const handles: number[] = [];
  for (let i = 0; i < 8; i++) handles.push(r.hal.tcp_connect(0));
  assert.ok(handles.every((h) => h >= 0));
  assert.equal(dial(r, 5061), ERR.NO_SPACE);
  r.tcp.closeAll();
});

test("the private key is in no HAL call's memory, log line, event or file other than the secure element's", async () => {
  const p = await pki();
  const srv = await server({ cert: p.server.cert, key: p.server.key, ca: [p.root.pem] });
  const refusing = await server({ cert: p.server.cert, key: p.server.key, ca: [p.foreign.pem] });
  const r = await rig(p);
  try {
    const ok = dial(r, srv.port);
    const refused = dial(r, refusing.port);
    await until("both outcomes", () => kinds(r, ok).includes(TCP_CONNECTED) && kinds(r, refused).includes(TCP_CLOSED));
    srv.peers[0].write("hello");
    await until("data", () => r.events.some((e) => e.kind === TCP_DATA));
    const d = r.privateKey;
    const forms = [d, Buffer.from(d.toString("hex")), Buffer.from(d.toString("base64url")), Buffer.from(d.toString("base64").replace(/=+$/, ""))];
    const haystacks: [string, Buffer][] = [
      ["linear memory", Buffer.from(r.bytes)],
      ["log lines", Buffer.from([...r.logs, ...r.failures].join("\n"))],
      ["on_tcp data", Buffer.concat(r.events.filter((e) => e.data).map((e) => e.data!))],
      ...fs.readdirSync(r.dir).filter((f) => f !== "secure-element.json").map((f): [string, Buffer] => [f, fs.readFileSync(path.join(r.dir, f))]),
    ];
    for (const [where, hay] of haystacks) for (const f of forms) assert.equal(hay.indexOf(f), -1, `the private key appears in ${where}`);
    assert.ok(fs.readFileSync(path.join(r.dir, "secure-element.json"), "utf8").includes(d.toString("hex")), "the check can fail: the store holds it");
  } finally {
    r.tcp.closeAll();
    await srv.close();
    await refusing.close();
  }
});

// ---- the firmware's side: a provisioned board registering over TLS, in virtual time ----------

/** A console link straight into a SimBoard's UART (no socket). */
function uartLink(board: SimBoard): Link {
  const data = new Set<(b: Uint8Array) => void>();
  board.on("uart", (b: Uint8Array) => { for (const cb of data) cb(Uint8Array.from(b)); });
  return {
    url: "sim://tls-test", closed: false,
    write: async (bytes) => { board.feedUart(bytes); },
    onData: (cb) => { data.add(cb); return () => data.delete(cb); },
    onClose: () => () => {}, setSignals: async () => {}, setBaud: async () => {}, close: async () => {},
  };
}

/** A registrar in miniature: 200 OK to every REGISTER, each connection and what came on it kept. */
async function registrar(p: Pki): Promise<Server & { registers: number; text: (i: number) => string }> {
  const texts: string[] = [];
  let registers = 0;
  const s = await server({ cert: p.server.cert, key: p.server.key, ca: [p.root.pem] }, (sock, i) => {
    texts[i] = "";
    sock.on("data", (d: Buffer) => {
      texts[i] += d.toString("latin1");
      for (const m of texts[i].matchAll(/REGISTER [^]*?\r\n\r\n/g)) {
        texts[i] = texts[i].replace(m[0], "<REGISTER>");
        registers++;
        const h = (name: string) => new RegExp(`^${name}: (.*)$`, "mi").exec(m[0])?.[1]?.trimEnd() ?? "";
        sock.write(`SIP/2.0 200 OK\r\nVia: ${h("Via")}\r\nFrom: ${h("From")}\r\nTo: ${h("To")};tag=r\r\nCall-ID: ${h("Call-ID")}\r\nCSeq: ${h("CSeq")}\r\nContact: ${h("Contact")};expires=600\r\nContent-Length: 0\r\n\r\n`);
      }
    });
  });
  return {
    port: s.port, received: s.received, peers: s.peers, close: s.close,
    get registers() { return registers; },
    text: (i: number) => texts[i] ?? "",
  };
}

test("a provisioned board registers over TLS with no password, pings its flow every 90 s, and registers again over a new flow when the pong stops", { timeout: 60_000 }, async () => {
  const p = await pki();
  const reg = await registrar(p);
  const dir = tempDir("tincan-sim-tls-board-");
  const se = new SecureElement(path.join(dir, "secure-element.json"));
  assert.equal(se.keygen(0), ERR.OK);
  const device = await issueDevice(p.factory, SERIAL, se.publicKey(0) as Uint8Array);
  fs.writeFileSync(path.join(dir, "identity.bin"), encodeIdentityRecord({ serial: SERIAL, certificates: [device, p.factory.der], trustAnchors: [p.root.der], keySlot: 0 }));
  const board = virtualBoard({ dir, address4: `127.${40 + (process.pid % 200)}.${Math.floor(Math.random() * 256)}.9` });
  const logs: string[] = [];
  board.on("log", (l: string) => logs.push(l));
  const console = new ConsoleClient(uartLink(board));
  const call = new CallClient(console, { timeoutMs: 2000 });
  const run = async (what: string, done: () => boolean, stepUs = 20_000) => until(what, () => { board.runFor(stepUs); return done(); }, 10_000);
  try {
    await new ConfigClient(console).set([
      { key: "sip.account", value: `sip:${SERIAL}@127.0.0.1` },
      { key: "sip.registrar", value: `sip:127.0.0.1:${reg.port};transport=tls` },
      { key: "sip.transport", value: "tls" },
    ]);
    await run("the first REGISTER", () => reg.registers === 1).catch((e) => { throw new Error(`${(e as Error).message}\n${logs.join("\n")}`); });
    assert.match(reg.text(0), /^<REGISTER>$/, "nothing but the REGISTER on the flow yet");
    assert.equal(reg.peers[0].getPeerCertificate().subject.CN, SERIAL);
    await run("registered", () => false, 0).catch(() => {});
    assert.equal((await call.status()).registration, "registered", logs.join("\n"));
    // 90 s idle: a CRLFCRLF ping on the flow; the registrar answers with a CRLF pong.
    board.runFor(90_000_000);
    await until("the ping", () => reg.text(0).endsWith("\r\n\r\n"));
    reg.peers[0].write("\r\n");
    await new Promise((r) => setTimeout(r, 50));
    board.runFor(10_500_000);
    assert.equal(reg.peers[0].destroyed, false, "the pong kept the flow");
    // The next ping goes unanswered: 10 s later the board drops the flow and registers anew.
    board.runFor(80_000_000);
    await until("the second ping", () => reg.text(0).split("\r\n\r\n").length >= 3);
    board.runFor(10_500_000);
    await run("a REGISTER on a new flow", () => reg.registers === 2 && reg.peers.length === 2).catch((e) => { throw new Error(`${(e as Error).message}: ${reg.registers} ${reg.peers.length} ${JSON.stringify(reg.text(0))}\n${logs.join("\n")}`); });
    await until("the old flow closed", () => reg.peers[0].destroyed || reg.peers[0].readableEnded);
    await run("registered again", () => false, 0).catch(() => {});
    assert.equal((await call.status()).registration, "registered");
    assert.ok(!logs.some((l) => /registration failed/.test(l)), logs.join("\n"));
  } finally {
    board.stop();
    await reg.close();
  }
});
