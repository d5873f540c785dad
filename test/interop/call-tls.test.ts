// The identity in use (issue 7): simulated boards provisioned as the factory does (a P-256 key
// made in the secure element, a device certificate from the factory intermediate for that key,
// the IDENTITY record with the chain and the root) register to kamailio 5.6 over mutual TLS
// with no password and call each other through it, audio both ways, no SIP in clear on the
// wire. Refused, each with its reason: a revoked board (in the intermediate's CRL), a board
// whose certificate comes from a foreign CA, a board with a good certificate for another
// account, an unprovisioned board, and a TLS client with no certificate at all. Last, the
// whole chain of issue 7: a board provisioned by the factory station (FactoryCa, FactoryDb, the
// console) registers to a kamailio that trusts that CA, and is refused once the CA revokes it.

import test, { before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import tls from "node:tls";
import { kamailioTlsUnavailable, startKamailio, type KamailioProxy } from "../peers/kamailio.ts";
import { startCapture, tsharkFields, tsharkUnavailable, type Capture } from "../peers/capture.ts";
import { runSimCall } from "../../host-tools/call/sim-call.ts";
import { CallClient } from "../../host-tools/call/client.ts";
import { TimedSink } from "../../host-tools/call/timed-audio.ts";
import { toneFrequency, rmsDbfs } from "../../host-tools/call/analysis.ts";
import { startSim, type RunningSim } from "../../host-tools/sim/run.ts";
import { tone } from "../../host-tools/sim/audio.ts";
import { ConsoleClient } from "../../host-tools/link/console.ts";
import { ConfigClient } from "../../host-tools/config/client.ts";
import { SecureElement } from "../../host-tools/sim/secure-element.ts";
import { encodeIdentityRecord } from "../../host-tools/provision/record.ts";
import { makeSerial } from "../../host-tools/provision/serial.ts";
import { makeRoot, makeIntermediate, issueDevice, issueServer, makeCrl, type TestCa } from "./tls-pki.ts";
import { tempDir } from "../host/helpers.ts";
import { FactoryCa } from "../../host-tools/provision/ca/index.ts";
import { FactoryDb } from "../../host-tools/provision/db.ts";
import { provisionBoard } from "../../host-tools/provision/station.ts";
import { loadBoard } from "../../host-tools/boards.ts";
import { generateKeyPairSync } from "node:crypto";

const skip = kamailioTlsUnavailable() ?? false;
const RATE = 16000;
const KEY_SLOT = 0;

interface Pki { root: TestCa; factory: TestCa; foreignRoot: TestCa; foreignFactory: TestCa }

/** Makes the board's key in its secure element and writes its IDENTITY record; the device certificate (DER). */
async function provision(dir: string, serial: string, issuer: TestCa, root: TestCa): Promise<Uint8Array> {
  fs.mkdirSync(dir, { recursive: true });
  const se = new SecureElement(path.join(dir, "secure-element.json"));
  assert.equal(se.keygen(KEY_SLOT), 0);
  const cert = await issueDevice(issuer, serial, se.publicKey(KEY_SLOT) as Uint8Array);
  fs.writeFileSync(path.join(dir, "identity.bin"), encodeIdentityRecord({ serial, certificates: [cert, issuer.der], trustAnchors: [root.der], keySlot: KEY_SLOT }));
  return cert;
}

let work = "";
let pki: Pki;
let k: KamailioProxy | undefined;
const serial = { a: "", b: "", revoked: "", foreign: "", other: "" };
const net = `127.${30 + (process.pid % 200)}.${Math.floor(Math.random() * 256)}`;

/** The board configuration for SIP over TLS to the kamailio under test, as the AOR of `user`. */
function tlsConfig(user: string, port = k!.tlsPort): { key: string; value: string }[] {
  return [
    { key: "sip.account", value: `sip:${user}@127.0.0.1` },
    { key: "sip.registrar", value: `sip:127.0.0.1:${port};transport=tls` },
    { key: "sip.transport", value: "tls" },
  ];
}

before(async () => {
  if (skip) return;
  work = tempDir("tincan-call-tls-");
  const root = await makeRoot("Tincan Test Root");
  const foreignRoot = await makeRoot("Another Maker Root");
  pki = { root, factory: await makeIntermediate(root, "Tincan Test Factory"), foreignRoot, foreignFactory: await makeIntermediate(foreignRoot, "Another Factory") };
  for (const name of Object.keys(serial) as (keyof typeof serial)[]) serial[name] = makeSerial("TSM");
  await provision(path.join(work, "call", "board-a"), serial.a, pki.factory, root);
  await provision(path.join(work, "board-b"), serial.b, pki.factory, root);
  const revoked = await provision(path.join(work, "board-revoked"), serial.revoked, pki.factory, root);
  await provision(path.join(work, "board-foreign"), serial.foreign, pki.foreignFactory, root);
  await provision(path.join(work, "board-other"), serial.other, pki.factory, root);
  // kamailio: a certificate for its IP address, the factory root as the only client anchor,
  // the CRLs of root and intermediate (the revoked board's certificate in the latter).
  const server = await issueServer(root, { ip: ["127.0.0.1"] });
  const files = { certificate: path.join(work, "kamailio.pem"), key: path.join(work, "kamailio.key"), ca: path.join(work, "ca.pem"), crl: path.join(work, "crl.pem") };
  fs.writeFileSync(files.certificate, server.cert);
  fs.writeFileSync(files.key, server.key, { mode: 0o600 });
  fs.writeFileSync(files.ca, root.pem);
  fs.writeFileSync(files.crl, (await makeCrl(root)) + (await makeCrl(pki.factory, [revoked])));
  k = await startKamailio({ users: [], tls: files });
});

after(async () => { await k?.stop(); });

interface Board { sim: RunningSim; console: ConsoleClient; call: CallClient; logs: string[]; speaker: TimedSink }

async function startBoard(dir: string, address: string, config: { key: string; value: string }[], toneHz = 440): Promise<Board> {
  const logs: string[] = [];
  const speaker = new TimedSink(RATE);
  const sim = await startSim({ boardId: "sim", dir, reinstall: true, address4: address, audioSource: tone(toneHz, RATE, -12), audioSink: speaker, onLog: (l) => logs.push(l) });
  const console = await ConsoleClient.open(sim.url);
  if (config.length > 0) await new ConfigClient(console).set(config);
  return { sim, console, call: new CallClient(console, { timeoutMs: 2000 }), logs, speaker };
}

async function stopBoard(b: Board): Promise<void> {
  await b.console.close().catch(() => {});
  await b.sim.stop().catch(() => {});
}

async function waitForLine(logs: string[], pattern: RegExp, ms: number): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const line = logs.find((l) => pattern.test(l));
    if (line !== undefined) return line;
    if (Date.now() > end) throw new Error(`no log line matching ${pattern}:\n${logs.slice(-20).join("\n")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("two provisioned boards register over TLS with no password and call through kamailio: tones both ways, no SIP in clear", { skip, timeout: 90_000 }, async () => {
  const proxy = k!;
  const capture: Capture | undefined = tsharkUnavailable() ? undefined : await startCapture(path.join(work, "tls.pcapng"), `tcp port ${proxy.tlsPort}`);
  const b = await startBoard(path.join(work, "board-b"), `${net}.12`, [...tlsConfig(serial.b), { key: "call.auto_answer", value: "on" }, { key: "call.answer_after", value: "0" }]);
  try {
    await b.call.waitFor((s) => s.registration === "registered" || s.registration === "failed", 15_000, "board B registering");
    assert.equal((await b.call.status()).registration, "registered", `board B:\n${b.logs.join("\n")}\n${proxy.log.slice(-3000)}`);
    b.speaker.arm();
    const r = await runSimCall({
      board: "sim", dir: path.join(work, "call"), seconds: 3, addressA: `${net}.11`,
      audioA: "tone:1000:-12", audioB: "tone:1000:-12", to: `sip:${serial.b}@127.0.0.1:${proxy.tlsPort}`,
      aConfig: tlsConfig(serial.a),
    });
    assert.equal(r.a.registration, "registered");
    assert.equal(r.aEnd.endReason, "hung up here");
    const heard = r.directions.find((d) => d.from === "peer")!;
    assert.ok(Math.abs(heard.toneHz! - 440) <= 2, `board A heard ${heard.toneHz} Hz from board B`);
    await b.call.waitFor((s) => s.state === "idle", 10_000, "board B hanging up");
    const atB = b.speaker.timed(320).samples;
    const middle = atB.subarray(Math.min(atB.length, RATE), Math.max(RATE + 1, atB.length - RATE / 2));
    assert.ok(middle.length > RATE, `board B recorded ${atB.length} samples`);
    assert.ok(Math.abs(toneFrequency(middle, RATE) - 1000) <= 2, `board B heard ${toneFrequency(middle, RATE).toFixed(1)} Hz from board A`);
    assert.ok(Math.abs(rmsDbfs(middle) - -12) <= 1.5, `board B heard ${rmsDbfs(middle).toFixed(1)} dBFS`);
    // kamailio saw each device by its certificate, no password anywhere.
    for (const s of [serial.a, serial.b]) {
      await proxy.waitForLog(new RegExp(`TLS DEVICE REGISTER from ${escape(s)}: certificate of ${escape(s)}`));
      await proxy.waitForLog(new RegExp(`REGISTERED ${escape(s)} expires=600 contact=<sip:${escape(s)}@[\\d.]+:5060;transport=tls>`));
    }
    await proxy.waitForLog(new RegExp(`TLS DEVICE INVITE from ${escape(serial.a)}`));
    await proxy.waitForLog(/IN-DIALOG BYE/);
    assert.doesNotMatch(proxy.log, /CHALLENGE/, "nobody was asked for a password");
    // The key stayed in the secure element: in no log line of the board, no other file of its.
    const dirB = path.join(work, "board-b");
    const key = (JSON.parse(fs.readFileSync(path.join(dirB, "secure-element.json"), "utf8")) as { slots: (string | null)[] }).slots[KEY_SLOT]!;
    assert.match(key, /^[0-9a-f]{64}$/);
    const forms = [key, Buffer.from(key, "hex").toString("base64url"), Buffer.from(key, "hex").toString("base64").replace(/=+$/, "")];
    const places: [string, Buffer][] = [["board B's log", Buffer.from(b.logs.join("\n"))], ...fs.readdirSync(dirB).filter((f) => f !== "secure-element.json" && fs.statSync(path.join(dirB, f)).isFile()).map((f): [string, Buffer] => [f, fs.readFileSync(path.join(dirB, f))])];
    for (const [where, bytes] of places) for (const f of [...forms.map((x) => Buffer.from(x)), Buffer.from(key, "hex")]) assert.equal(bytes.indexOf(f), -1, `board B's private key in ${where}`);
    if (capture) {
      await capture.stop();
      const payload = Buffer.concat(tsharkFields(capture.file, ["tcp.payload"], { filter: "tcp.len > 0" }).map(([hex]) => Buffer.from(hex.replace(/:/g, ""), "hex")));
      assert.ok(payload.length > 2000, `${payload.length} bytes of TCP payload captured`);
      for (const clear of ["SIP/2.0", "REGISTER ", "INVITE ", serial.a]) assert.equal(payload.indexOf(clear), -1, `'${clear}' in clear on the wire`);
      const hellos = tsharkFields(capture.file, ["tls.handshake.type"], { filter: "tls.handshake.type == 1", decodeAs: [`tcp.port==${proxy.tlsPort},tls`] });
      assert.ok(hellos.length >= 2, `${hellos.length} TLS ClientHellos: each board opened its flow with TLS`);
    }
  } finally {
    await capture?.stop().catch(() => {});
    await stopBoard(b);
  }
});

test("refused: revoked, foreign CA, another account's certificate, unprovisioned; each with its reason", { skip, timeout: 90_000 }, async () => {
  const proxy = k!;
  const cases = [
    { name: "revoked", dir: "board-revoked", user: serial.revoked, host: 21 },
    { name: "foreign", dir: "board-foreign", user: serial.foreign, host: 22 },
    { name: "other", dir: "board-other", user: serial.a, host: 23 }, // a good certificate, but for another AOR
    { name: "unprovisioned", dir: "board-unprovisioned", user: makeSerial("TSM"), host: 24 },
  ];
  const boards = await Promise.all(cases.map((c) => startBoard(path.join(work, c.dir), `${net}.${c.host}`, tlsConfig(c.user))));
  try {
    const status = await Promise.all(boards.map((b, i) => b.call.waitFor((s) => s.registration === "failed", 20_000, `board ${cases[i].name} failing to register`)));
    for (const s of status) assert.equal(s.registration, "failed");
    const [revoked, foreign, other, unprovisioned] = boards;
    // The handshake refused the revoked and foreign boards: kamailio's alert says why (TLS 1.3:
    // after the board's side of the handshake, on its first read), the board fails for the network.
    await waitForLine(revoked.logs, /sim: tls handle \d+ to 127\.0\.0\.1:\d+: .*alert certificate revoked/, 5000);
    await waitForLine(foreign.logs, /sim: tls handle \d+ to 127\.0\.0\.1:\d+: .*alert unknown ca/, 5000);
    for (const b of [revoked, foreign]) {
      await waitForLine(b.logs, /TLS to 127\.0\.0\.1:\d+ (failed: handshake refused|closed by the server before any answer)/, 5000);
      await waitForLine(b.logs, /registration failed: network/, 5000);
    }
    // kamailio 5.6 logs the failed verification and who it was (not the X.509 error itself).
    await proxy.waitForLog(/TLS accept:.*certificate verify failed/);
    for (const host of [cases[0].host, cases[1].host]) await proxy.waitForLog(new RegExp(`tls_h_read_f\\(\\): src addr: ${escape(net)}\\.${host}:`));
    // A good certificate for someone else's account gets past TLS and is refused by the script.
    await waitForLine(other.logs, /registration failed: 403/, 5000);
    await proxy.waitForLog(new RegExp(`TLS REFUSED REGISTER .*certificate of ${escape(serial.other)} \\(urn:tincan:device:${escape(serial.other)}\\) is not for ${escape(serial.a)}`));
    // A board with no identity never dials: the HAL has nothing to present.
    await waitForLine(unprovisioned.logs, /TLS to 127\.0\.0\.1:\d+ not started: this board has no identity/, 5000);
    await waitForLine(unprovisioned.logs, /registration failed: network/, 5000);
    for (const s of [serial.revoked, serial.foreign, serial.other]) assert.doesNotMatch(proxy.log, new RegExp(`REGISTERED ${escape(s)}`));
    assert.doesNotMatch(proxy.log, new RegExp(`REGISTERED ${escape(cases[3].user)}`));
  } finally {
    await Promise.all(boards.map(stopBoard));
  }
});

test("a TLS client with no certificate is refused in the handshake, before any SIP", { skip, timeout: 30_000 }, async () => {
  const proxy = k!;
  const outcome = await new Promise<{ connected: boolean; error?: string; answered: boolean }>((resolve) => {
    let connected = false;
    let answered = false;
    const sock = tls.connect({ host: "127.0.0.1", port: proxy.tlsPort!, ca: [pki.root.pem], checkServerIdentity: (_h, c) => tls.checkServerIdentity("127.0.0.1", c) });
    sock.on("secureConnect", () => {
      connected = true;
      sock.write(`REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bKx\r\nFrom: <sip:nobody@127.0.0.1>;tag=1\r\nTo: <sip:nobody@127.0.0.1>\r\nCall-ID: x\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n`);
    });
    sock.on("data", () => { answered = true; });
    sock.on("error", (e) => resolve({ connected, error: `${(e as NodeJS.ErrnoException).code ?? ""} ${e.message}`, answered }));
    sock.on("close", () => resolve({ connected, answered }));
    setTimeout(() => { sock.destroy(); resolve({ connected, answered, error: "timeout" }); }, 10_000).unref();
  });
  assert.equal(outcome.answered, false, "no SIP answer to a client without a certificate");
  assert.match(outcome.error ?? "", /CERTIFICATE_REQUIRED|certificate required|HANDSHAKE_FAILURE|handshake failure/i, `the refusal: ${outcome.error}`);
  await proxy.waitForLog(/peer did not return a certificate|no certificate/i);
});

function escape(s: string): string { return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }

test("the factory's own chain: a board provisioned by the station registers with no password, and is refused once revoked", { skip, timeout: 120_000 }, async () => {
  const dir = path.join(work, "factory");
  fs.mkdirSync(dir, { recursive: true });
  process.env.TINCAN_CA_PASSPHRASE ??= "tls-test-passphrase";
  const ca = await FactoryCa.init(path.join(dir, "ca"), { name: "Tincan TLS Test" });
  const db = FactoryDb.open(path.join(dir, "factory.db"));
  let proxy: KamailioProxy | undefined;
  let board: Board | undefined;
  try {
    // The registrar's certificate from the same CA; kamailio sends the intermediate along.
    const serverKey = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const server = await ca.issueServer({ publicKey: serverKey.publicKey, ips: ["127.0.0.1"] });
    const files = { certificate: path.join(dir, "kamailio.pem"), key: path.join(dir, "kamailio.key"), ca: path.join(dir, "root.pem"), crl: path.join(dir, "crl.pem") };
    fs.writeFileSync(files.certificate, server.pem + ca.intermediate.pem);
    fs.writeFileSync(files.key, serverKey.privateKey.export({ format: "pem", type: "pkcs8" }) as string, { mode: 0o600 });
    fs.writeFileSync(files.ca, ca.root.pem);
    fs.writeFileSync(files.crl, (await ca.crl()).pem);
    proxy = await startKamailio({ users: [], tls: files });
    // The station provisions a fresh board over its console, as on the factory line.
    board = await startBoard(path.join(dir, "board"), `${net}.31`, []);
    const result = await provisionBoard(board.console, { board: loadBoard("sim"), ca, db, station: "tls-test", timeoutMs: 10_000 });
    assert.equal(result.outcome, "provisioned");
    await new ConfigClient(board.console).set(tlsConfig(result.serial, proxy.tlsPort));
    await board.call.waitFor((st) => st.registration === "registered" || st.registration === "failed", 15_000, "registering");
    assert.equal((await board.call.status()).registration, "registered", `${board.logs.join("\n")}\n${proxy.log.slice(-3000)}`);
    await proxy.waitForLog(new RegExp(`TLS DEVICE REGISTER from ${escape(result.serial)}: certificate of ${escape(result.serial)}`));
    // Revoked: a new CRL, the registrar restarted with it on the same port. The board's flow
    // drops, it registers again at once, and the handshake refuses it.
    await ca.revoke(result.certificateSerial, "keyCompromise");
    fs.writeFileSync(files.crl, (await ca.crl()).pem);
    const port = proxy.port;
    await proxy.stop();
    proxy = await startKamailio({ users: [], tls: files, port });
    await waitForLine(board.logs, /alert certificate revoked/, 20_000);
    await board.call.waitFor((st) => st.registration === "failed", 10_000, "the revoked board failing to register");
    assert.doesNotMatch(proxy.log, new RegExp(`REGISTERED ${escape(result.serial)}`));
  } finally {
    if (board) await stopBoard(board);
    await proxy?.stop();
    db.close();
    ca.close();
  }
});

