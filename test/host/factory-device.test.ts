// The device side of factory provisioning end to end: the built firmware in a simulated board,
// driven through the host's FactoryClient (boards/CONSOLE.md 0x20..0x26). The CSR is checked by
// OpenSSL, the challenge by node:crypto and @noble/curves, the certificates made by
// @peculiar/x509 with a throwaway CA. The private key must appear nowhere but the secure
// element's store, and a simulator killed during WRITE_IDENTITY leaves a whole record.

import "reflect-metadata";
import test from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import * as x509 from "@peculiar/x509";
import { p256 } from "@noble/curves/nist.js";
import { loadBoard } from "../../host-tools/boards.ts";
import { SimBoard } from "../../host-tools/sim/board.ts";
import { ERR } from "../../host-tools/sim/abi.ts";
import { ConsoleClient } from "../../host-tools/link/console.ts";
import type { Link } from "../../host-tools/link/transport.ts";
import { Status } from "../../host-tools/link/frame.ts";
import { FactoryClient, FactoryError, verifyChallenge } from "../../host-tools/provision/device-client.ts";
import { encodeIdentityRecord } from "../../host-tools/provision/record.ts";
import { firmwareBytes, root, tempDir } from "./helpers.ts";

const webcrypto = crypto.webcrypto as unknown as Crypto;
const EC = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGN = { name: "ECDSA", hash: "SHA-256" } as const;
type HalFn = (...args: number[]) => number | bigint | void;

/** A console link straight into a SimBoard's UART (no socket). */
function boardLink(board: SimBoard): Link {
  const data = new Set<(b: Uint8Array) => void>();
  let closed = false;
  board.on("uart", (b: Uint8Array) => { for (const cb of data) cb(Uint8Array.from(b)); });
  return {
    url: "sim://factory-test",
    get closed() { return closed; },
    write: async (bytes) => { board.feedUart(bytes); },
    onData: (cb) => { data.add(cb); return () => data.delete(cb); },
    onClose: () => () => {},
    setSignals: async () => {},
    setBaud: async () => {},
    close: async () => { closed = true; },
  };
}

/** Every byte the firmware and the runtime exchange through the HAL: data in and data out. */
class HalWatch {
  readonly seen: Buffer[] = [];
  private memory?: () => WebAssembly.Memory;
  // [input regions before the call, output regions after] as (ptrArg, lenArg | fixed | "ret")
  private static readonly REGIONS: Record<string, { in?: [number, number | string][]; out?: [number, number | string][] }> = {
    log: { in: [[1, 2]] }, panic: { in: [[0, 1]] }, uart_write: { in: [[0, 1]] }, udp_send: { in: [[1, "20"], [2, 3]] },
    tcp_send: { in: [[1, 2]] }, tcp_connect: { in: [[0, "20"]] }, tls_connect: { in: [[0, "20"], [1, 2]] },
    nvs_write: { in: [[0, 1], [2, 3]] }, nvs_read: { in: [[0, 1]], out: [[2, "ret"]] }, nvs_erase: { in: [[0, 1]] },
    se_sign: { in: [[1, 2]], out: [[3, "ret"]] }, se_public_key: { out: [[1, "ret"]] }, chip_id: { out: [[0, "ret"]] },
    identity_read: { out: [[0, "ret"]] }, identity_write: { in: [[0, 1]] }, board_id: { out: [[0, "ret"]] }, random_fill: { out: [[0, 1]] },
  };

  wrap = (imports: Record<string, HalFn>): Record<string, HalFn> => {
    const out: Record<string, HalFn> = {};
    for (const [name, fn] of Object.entries(imports)) {
      const r = HalWatch.REGIONS[name] ?? {};
      out[name] = (...args: number[]) => {
        this.seen.push(Buffer.from(`${name}(${args.join(",")})`));
        for (const [p, l] of r.in ?? []) this.grab(args[p]!, typeof l === "number" ? args[l]! : Number(l));
        const result = fn(...args);
        for (const [p, l] of r.out ?? []) this.grab(args[p]!, l === "ret" ? Math.min(Number(result), 4000) : typeof l === "number" ? args[l]! : Number(l));
        return result;
      };
    }
    return out;
  };

  attach(board: SimBoard): void { this.memory = () => (board.exports as unknown as { memory: WebAssembly.Memory }).memory; }

  private grab(ptr: number, len: number): void {
    const buf = this.memory?.().buffer;
    if (!buf || !(len > 0) || ptr < 0 || ptr + len > buf.byteLength) return;
    this.seen.push(Buffer.from(new Uint8Array(buf, ptr, len)));
  }
}

function virtualSim(dir: string, watch?: HalWatch, logs: string[] = []): SimBoard {
  const board = new SimBoard({
    board: loadBoard("sim"), firmware: firmwareBytes(), dir, clock: "virtual",
    wallClockStartMs: Date.UTC(2026, 11, 1), wrapHal: watch?.wrap as never,
  });
  board.on("log", (l: string) => logs.push(l));
  watch?.attach(board);
  board.boot();
  assert.equal(board.state, "running", board.crashReason);
  return board;
}

/** A serial of the documented form: prefix, 12 random Crockford characters, mod-37 check. */
function serialNumber(prefix: string): string {
  const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  let body = prefix;
  for (const b of crypto.randomBytes(12)) body += alphabet[b & 31];
  let value = 0n;
  for (const c of body) value = value * 32n + BigInt(alphabet.indexOf(c));
  return body + "0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U"[Number(value % 37n)];
}

/** A throwaway CA that issues device certificates for CSRs (or for any public key). */
async function throwawayCa() {
  const keys = await webcrypto.subtle.generateKey(EC, false, ["sign", "verify"]) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: "CN=Tincan test root", keys, signingAlgorithm: SIGN,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  }, webcrypto);
  const issue = async (publicKey: x509.PublicKey | CryptoKey, serial: string): Promise<Buffer> => Buffer.from((await x509.X509CertificateGenerator.create({
    subject: `CN=${serial}, 2.5.4.5=${serial}, O=Tincan`, issuer: cert.subject, publicKey, signingKey: keys.privateKey, signingAlgorithm: SIGN,
    notBefore: new Date(Date.UTC(2026, 0, 1)), notAfter: new Date(Date.UTC(2046, 0, 1)),
    extensions: [
      new x509.BasicConstraintsExtension(false), new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: `urn:tincan:device:${serial}` }]),
    ],
  }, webcrypto)).rawData);
  return { der: Buffer.from(cert.rawData), issue };
}

function openssl(args: string[], input?: Buffer) {
  return spawnSync("openssl", args, { input, encoding: "utf8" });
}

/** Every encoding of the key a careless file or log could hold. */
function keyForms(key: Buffer): Buffer[] {
  return [key, Buffer.from(key.toString("hex")), Buffer.from(key.toString("hex").toUpperCase()), Buffer.from(key.toString("base64")), Buffer.from(key.toString("base64url"))];
}

test("factory flow on a simulated board: key, CSR, identity, challenge, lock, reboot; the key stays in the secure element", async () => {
  const dir = tempDir("tincan-factory-");
  const watch = new HalWatch();
  const logs: string[] = [];
  let board = virtualSim(dir, watch, logs);
  const uart: Buffer[] = [];
  board.on("uart", (b: Uint8Array) => uart.push(Buffer.from(b)));
  let client = new FactoryClient(new ConsoleClient(boardLink(board)));

  const blank = await client.identity();
  const heapTop = board.heapTop();
  assert.equal(blank.state, "blank");
  assert.deepEqual(blank.chipId, board.otp.chipId);
  assert.equal(blank.chipId.length, 8);
  assert.equal(blank.publicKey, undefined);
  await assert.rejects(client.csr(crypto.randomBytes(16)), (e: FactoryError) => e.status === Status.DENIED && /KEYGEN first/.test(e.message));
  await assert.rejects(client.lock(), (e: FactoryError) => e.status === Status.DENIED && /no identity record written/.test(e.message));

  const publicKey = await client.keygen();
  assert.equal(publicKey.length, 65);
  assert.deepEqual((await client.identity()).publicKey, publicKey);
  assert.equal((await client.identity()).state, "keyed");

  // CSR: OpenSSL verifies the signature and reads the fields.
  const nonce = crypto.randomBytes(32);
  const csrDer = await client.csr(nonce);
  const csrFile = path.join(tempDir(), "device.csr");
  fs.writeFileSync(csrFile, csrDer);
  const verified = openssl(["req", "-inform", "DER", "-in", csrFile, "-verify", "-noout"]);
  assert.equal(verified.status, 0, verified.stderr);
  assert.match(verified.stdout + verified.stderr, /verify OK/i);
  const text = openssl(["req", "-inform", "DER", "-in", csrFile, "-noout", "-text"]).stdout;
  assert.match(text, new RegExp(`Subject: CN ?= ?${blank.chipId.toString("hex")}\\n`));
  assert.match(text, new RegExp(`challengePassword\\s*:${nonce.toString("hex")}\\n`));
  assert.match(text, /Public Key Algorithm: id-ecPublicKey/);
  assert.match(text, /ASN1 OID: prime256v1/);
  assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
  const pubHex = (text.match(/pub:\s*\n((?:\s+[0-9a-f:]+\n)+)/)?.[1] ?? "").replace(/[\s:]/g, "");
  assert.equal(pubHex, publicKey.toString("hex"), "the CSR carries the key KEYGEN reported");
  const tampered = Buffer.from(csrDer);
  tampered[tampered.length - 5] ^= 1;
  fs.writeFileSync(csrFile, tampered);
  const bad = openssl(["req", "-inform", "DER", "-in", csrFile, "-verify", "-noout"]);
  // OpenSSL 3.0 still exits 0 here: the verdict is in the text.
  assert.doesNotMatch(bad.stdout + bad.stderr, /verify OK/i, "a damaged signature fails (the check can fail)");
  assert.match(bad.stdout + bad.stderr, /verify failure/i);
  const request = new x509.Pkcs10CertificateRequest(new Uint8Array(csrDer));
  assert.equal(await request.verify(webcrypto), true);

  // WRITE_IDENTITY: a record over 1 KiB, so it goes in two chunks.
  const ca = await throwawayCa();
  const serial = serialNumber("TSM");
  const deviceCert = await ca.issue(request.publicKey, serial);
  const record = encodeIdentityRecord({ serial, certificates: [deviceCert, ca.der], trustAnchors: [ca.der], keySlot: 0 });
  assert.ok(record.length > 1024 && record.length <= 2048, `record of ${record.length} bytes`);
  const progress: number[] = [];
  await client.writeIdentity(record, (sent) => progress.push(sent));
  assert.deepEqual(progress, [1024, record.length]);
  const written = await client.identity();
  assert.equal(written.state, "written");
  assert.equal(written.serial, serial);
  assert.equal(written.recordLength, record.length);
  assert.deepEqual(written.recordSha256, crypto.createHash("sha256").update(record).digest());
  assert.deepEqual(await client.readIdentity(), record, "IDENTITY_READ gives the record back byte for byte");
  assert.deepEqual(fs.readFileSync(path.join(dir, "identity.bin")), record, "identity.bin is the raw record");

  // CHALLENGE: verifies against the certificate's key; not for another nonce or chip.
  const challenge = crypto.randomBytes(32);
  const sig = await client.challenge(challenge);
  const certKey = Buffer.from(new crypto.X509Certificate(deviceCert).publicKey.export({ format: "jwk" }).x!, "base64url");
  assert.deepEqual(certKey, publicKey.subarray(1, 33));
  assert.equal(verifyChallenge(publicKey, blank.chipId, challenge, sig), true);
  const message = Buffer.concat([Buffer.from("tincan-challenge/1"), blank.chipId, challenge]);
  assert.equal(p256.verify(sig, crypto.createHash("sha256").update(message).digest(), publicKey, { prehash: false, lowS: false }), true, "noble agrees");
  assert.equal(verifyChallenge(publicKey, blank.chipId, crypto.randomBytes(32), sig), false, "a replayed answer to another nonce");
  assert.equal(verifyChallenge(publicKey, Buffer.alloc(8, 1), challenge, sig), false, "another chip");
  const again = await client.challenge(challenge);
  assert.equal(verifyChallenge(publicKey, blank.chipId, challenge, again), true);
  assert.equal(verifyChallenge(Buffer.from(p256.getPublicKey(p256.utils.randomSecretKey(), false)), blank.chipId, challenge, sig), false, "another key");

  // A record whose certificate is for another key: refused with the reason, nothing changes.
  const strangerKey = (await webcrypto.subtle.generateKey(EC, true, ["sign", "verify"]) as CryptoKeyPair).publicKey;
  const foreign = encodeIdentityRecord({ serial, certificates: [await ca.issue(strangerKey, serial), ca.der], trustAnchors: [], keySlot: 0 });
  await assert.rejects(client.writeIdentity(foreign), (e: FactoryError) =>
    e.status === Status.BAD_REQUEST && e.reason === "the device certificate is for another key than the one in slot 0");
  assert.deepEqual(fs.readFileSync(path.join(dir, "identity.bin")), record);

  // LOCK: then no new key, no new record, ever.
  assert.equal(await client.lock(), "locked");
  assert.equal((await client.identity()).state, "locked");
  const store = fs.readFileSync(path.join(dir, "secure-element.json"));
  await assert.rejects(client.keygen(), (e: FactoryError) => e.status === Status.DENIED && /locked/.test(e.message));
  await assert.rejects(client.writeIdentity(record), (e: FactoryError) => e.status === Status.DENIED);
  const hal = board.hal as unknown as Record<string, (...a: number[]) => number>;
  assert.equal(hal.se_keygen(1), ERR.DENIED, "the secure element itself refuses, in every slot");
  assert.equal(hal.identity_write(0, 8), ERR.DENIED);
  assert.deepEqual(fs.readFileSync(path.join(dir, "secure-element.json")), store, "the keys did not change");
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, "otp.json"), "utf8")).locked, true);

  assert.equal(board.heapTop(), heapTop, "the factory commands allocate nothing per request");

  // A reboot (a new simulator on the same board directory): still locked, the same identity.
  board.stop();
  board = virtualSim(dir, watch, logs);
  client = new FactoryClient(new ConsoleClient(boardLink(board)));
  const after = await client.identity();
  assert.equal(after.state, "locked");
  assert.equal(after.serial, serial);
  assert.deepEqual(after.chipId, blank.chipId);
  assert.deepEqual(after.publicKey, publicKey);
  assert.deepEqual(after.recordSha256, written.recordSha256);
  assert.deepEqual(await client.readIdentity(), record);
  await assert.rejects(client.keygen(), (e: FactoryError) => e.status === Status.DENIED);
  assert.equal(verifyChallenge(publicKey, after.chipId, challenge, await client.challenge(challenge)), true);

  // The private key: in the secure element's store and nowhere else.
  const slots = JSON.parse(store.toString()).slots as (string | null)[];
  const privateKey = Buffer.from(slots[0]!, "hex");
  assert.deepEqual(Buffer.from(p256.getPublicKey(privateKey, false)), publicKey, "(the test found the right key)");
  assert.ok(keyForms(privateKey).some((f) => store.indexOf(f) >= 0), "the search finds the key where it is");
  const places: [string, Buffer][] = [];
  for (const name of fs.readdirSync(dir)) if (name !== "secure-element.json") places.push([name, fs.readFileSync(path.join(dir, name))]);
  places.push(["HAL call arguments", Buffer.concat(watch.seen)], ["logs", Buffer.from(logs.join("\n"))], ["UART", Buffer.concat(uart)]);
  places.push(["linear memory", Buffer.from((board.exports as unknown as { memory: WebAssembly.Memory }).memory.buffer)]);
  assert.ok(watch.seen.length > 100, `${watch.seen.length} HAL calls watched`);
  for (const [where, bytes] of places) for (const form of keyForms(privateKey)) assert.equal(bytes.indexOf(form), -1, `the private key appears in ${where}`);
  board.stop();
});

test("the simulator's identity partition and fuses: bounds, sizes, a corrupt file, an old fuses file", async () => {
  const dir = tempDir("tincan-factory-");
  // A fuses file from before chip ids: it gets one, kept from then on.
  fs.writeFileSync(path.join(dir, "otp.json"), JSON.stringify({ securityCounter: 3 }));
  fs.writeFileSync(path.join(dir, "identity.bin"), Buffer.from("garbage, no magic"));
  const logs: string[] = [];
  let board = virtualSim(dir, undefined, logs);
  const fuses = JSON.parse(fs.readFileSync(path.join(dir, "otp.json"), "utf8"));
  assert.match(fuses.chipId, /^[0-9a-f]{16}$/);
  assert.equal(fuses.securityCounter, 3);
  assert.equal(fuses.locked, false);
  assert.ok(logs.some((l) => /identity\.bin: no TCID magic/.test(l)), logs.join("\n"));
  assert.ok(logs.some((l) => /identity: the identity partition cannot be read: error -7/.test(l)), "the firmware says so too");
  const hal = board.hal as unknown as Record<string, (...a: number[]) => number>;
  const mem = () => new Uint8Array((board.exports as unknown as { memory: WebAssembly.Memory }).memory.buffer);
  const at = (board.exports as unknown as { udp_rx_buffer(): number }).udp_rx_buffer();
  assert.equal(hal.identity_read(at, 100), ERR.IO, "a corrupt partition reads as ERR_IO, not a crash");
  assert.equal(hal.chip_id(at, 7), ERR.TOO_SMALL);
  assert.equal(hal.chip_id(at, 16), 8);
  assert.deepEqual(Buffer.from(mem().subarray(at, at + 8)).toString("hex"), fuses.chipId);
  assert.equal(hal.chip_id(mem().length - 4, 16), ERR.BOUNDS);
  assert.equal(hal.identity_write(at, 4001), ERR.NO_SPACE);
  assert.equal(hal.identity_write(at, -1), ERR.INVALID);
  mem().set(Buffer.from("XXXX"), at);
  assert.equal(hal.identity_write(at, 8), ERR.INVALID, "no TCID magic");
  mem().set(Buffer.from("TCID\x01\x00\x00\x00"), at);
  assert.equal(hal.identity_write(mem().length - 4, 8), ERR.BOUNDS);
  assert.equal(hal.identity_write(at, 8), ERR.OK, "the partition takes any record with the magic (the firmware checks the rest)");
  assert.equal(hal.identity_read(at + 100, 4), 8, "the full length, and only cap bytes copied");
  assert.equal(hal.identity_read(at, -1), ERR.BOUNDS);
  assert.equal(hal.identity_read(mem().length - 2, 8), ERR.BOUNDS);
  assert.equal(hal.device_locked(), 0);
  assert.equal(hal.device_lock(), ERR.OK);
  assert.equal(hal.device_lock(), ERR.OK, "OK also when already locked");
  assert.equal(hal.device_locked(), 1);
  assert.equal(hal.identity_write(at, 8), ERR.DENIED);
  assert.equal(hal.se_keygen(0), ERR.DENIED);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes("tmp")), [], "no temporary file left");
  board.stop();
  board = virtualSim(dir, undefined, logs);
  assert.equal((board.hal as unknown as Record<string, () => number>).device_locked(), 1, "the fuse stays burnt");
  assert.equal(board.otp.chipId.toString("hex"), fuses.chipId, "the chip id stays");
  board.stop();
});

/** `tincan sim` in a child process, for power cuts: killed with SIGKILL, nothing flushed. */
function startSimProcess(dir: string): Promise<{ child: ReturnType<typeof spawn>; url: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(root, "host-tools", "cli.ts"), "sim", "--board", "sim", "--dir", dir], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill("SIGKILL"); reject(new Error(`tincan sim did not start: ${out}`)); }, 30_000);
    child.stderr!.on("data", (d) => (out += d));
    child.stdout!.on("data", (d) => {
      out += d;
      const m = /console at (socket:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) { clearTimeout(timer); resolve({ child, url: m[1]! }); }
    });
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`tincan sim exited (${code}): ${out}`)); });
  });
}

test("power cuts during WRITE_IDENTITY: identity.bin is always wholly A or wholly B", { timeout: 600_000 }, async (t) => {
  const dir = tempDir("tincan-factory-cut-");
  const file = path.join(dir, "identity.bin");
  let sim = await startSimProcess(dir);
  let console = await ConsoleClient.open(sim.url);
  let client = new FactoryClient(console, { timeoutMs: 3000 });
  await client.keygen();
  const request = new x509.Pkcs10CertificateRequest(new Uint8Array(await client.csr(crypto.randomBytes(16))));
  const ca = await throwawayCa();
  const serialA = serialNumber("TSM");
  const serialB = serialNumber("TSM");
  const certA = await ca.issue(request.publicKey, serialA);
  const certB = await ca.issue(request.publicKey, serialB);
  const A = encodeIdentityRecord({ serial: serialA, certificates: [certA, ca.der], trustAnchors: [ca.der], keySlot: 0 });
  const B = encodeIdentityRecord({ serial: serialB, certificates: [certB, ca.der], trustAnchors: [ca.der, ca.der, ca.der], keySlot: 0 });
  const seen = { absent: 0, A: 0, B: 0 };
  const trials = 32;
  for (let trial = 0; trial < trials; trial++) {
    if (trial > 0) {
      sim = await startSimProcess(dir);
      console = await ConsoleClient.open(sim.url);
      client = new FactoryClient(console, { timeoutMs: 3000 });
    }
    const writes = (async () => {
      for (let i = trial; ; i++) await client.writeIdentity(i % 2 === 0 ? A : B);
    })().catch(() => { /* the board went away under it */ });
    await new Promise((r) => setTimeout(r, Math.random() * 700));
    const exited = new Promise((r) => sim.child.once("exit", r));
    sim.child.kill("SIGKILL");
    await exited;
    await console.close().catch(() => {});
    await writes;
    if (!fs.existsSync(file)) { seen.absent++; continue; }
    const bytes = fs.readFileSync(file);
    const which = bytes.equals(A) ? "A" : bytes.equals(B) ? "B" : undefined;
    assert.ok(which, `trial ${trial}: identity.bin is ${bytes.length} bytes, neither A (${A.length}) nor B (${B.length})`);
    seen[which]++;
  }
  t.diagnostic(`after ${trials} cuts: ${JSON.stringify(seen)}`);
  assert.ok(seen.A > 0 && seen.B > 0, `both records were seen: ${JSON.stringify(seen)}`);
  // The board boots after the last cut and serves what the file holds.
  sim = await startSimProcess(dir);
  console = await ConsoleClient.open(sim.url);
  client = new FactoryClient(console, { timeoutMs: 3000 });
  const id = await client.identity();
  if (fs.existsSync(file)) assert.deepEqual(await client.readIdentity(), fs.readFileSync(file));
  assert.ok(id.state === "written" || id.state === "keyed");
  await console.close();
  sim.child.kill("SIGINT");
  await new Promise((r) => sim.child.once("exit", r));
});

// The console moves a record in about 0.2 s and the file write takes well under a millisecond, so
// random cuts of `tincan sim` seldom land inside the write itself. Here a process does nothing but
// write the two records through the store, about 1,500 times a second, and is killed at random:
// a store that wrote in place (open, truncate, write) leaves a short file in about 12 of 30 cuts.
test("power cuts inside the file write: the identity store leaves wholly A or wholly B", { timeout: 300_000 }, async (t) => {
  const dir = tempDir("tincan-factory-store-");
  const file = path.join(dir, "identity.bin");
  const A = Buffer.concat([Buffer.from("TCID\x01\x00"), crypto.randomBytes(1500)]);
  const B = Buffer.concat([Buffer.from("TCID\x01\x00"), crypto.randomBytes(3900)]);
  fs.writeFileSync(path.join(dir, "a.bin"), A);
  fs.writeFileSync(path.join(dir, "b.bin"), B);
  const script = `
    import fs from "node:fs";
    import { IdentityStore } from ${JSON.stringify(path.join(root, "host-tools", "sim", "identity.ts"))};
    const dir = ${JSON.stringify(dir)};
    const records = [fs.readFileSync(dir + "/a.bin"), fs.readFileSync(dir + "/b.bin")];
    const store = new IdentityStore(dir + "/identity.bin", () => false);
    process.stdout.write("ready\\n");
    for (let i = 0; ; i++) if (store.write(records[i % 2]) !== 0) process.exit(3);
  `;
  const seen = { absent: 0, A: 0, B: 0 };
  const trials = 30;
  for (let trial = 0; trial < trials; trial++) {
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve) => child.stdout!.once("data", () => resolve()));
    await new Promise((r) => setTimeout(r, 5 + Math.random() * 120));
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    child.kill("SIGKILL");
    assert.equal(await exited, null, "killed, not exited on its own");
    if (!fs.existsSync(file)) { seen.absent++; continue; }
    const bytes = fs.readFileSync(file);
    const which = bytes.equals(A) ? "A" : bytes.equals(B) ? "B" : undefined;
    assert.ok(which, `cut ${trial}: identity.bin is ${bytes.length} bytes, neither A (${A.length}) nor B (${B.length})`);
    seen[which]++;
  }
  t.diagnostic(`after ${trials} cuts: ${JSON.stringify(seen)}`);
  assert.ok(seen.A > 0 && seen.B > 0, JSON.stringify(seen));
});
