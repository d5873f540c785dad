// The factory CA with its keys in an HSM: SoftHSM2 through PKCS#11 (node-webcrypto-p11), on a
// token this test makes in its own directory. The keys are made in the token and never leave
// it (pkcs11-tool says so); what they sign is checked by openssl.

import "reflect-metadata";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import * as x509 from "@peculiar/x509";
import { root, tempDir } from "./helpers.ts";
import { CaError, FactoryCa, verifyCompactJws } from "../../host-tools/provision/ca/index.ts";
import { makeSerial } from "../../host-tools/provision/serial.ts";

const LIBRARY = "/usr/lib/softhsm/libsofthsm2.so";
const TOKEN = "tincan-ca-test";
const PIN = "246813";
const missing = spawnSync("softhsm2-util", ["--version"]).status !== 0 || !fs.existsSync(LIBRARY);
const skip = missing ? { skip: `softhsm2 is not installed (Debian softhsm2: softhsm2-util and ${LIBRARY})` } : {};

const work = tempDir("tincan-ca-hsm-");
const caDir = path.join(work, "ca");
const webcrypto = crypto.webcrypto as unknown as Crypto;
const openssl = (...args: string[]) => spawnSync("openssl", args, { encoding: "utf8" });
const file = (name: string, text: string | Uint8Array) => { const f = path.join(work, name); fs.writeFileSync(f, text); return f; };
let ca: FactoryCa | undefined;

before(() => {
  if (missing) return;
  fs.mkdirSync(path.join(work, "tokens"));
  // SoftHSM reads SOFTHSM2_CONF when the module is initialised: set before any PKCS#11 call.
  process.env.SOFTHSM2_CONF = file("softhsm2.conf", `directories.tokendir = ${path.join(work, "tokens")}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const init = spawnSync("softhsm2-util", ["--init-token", "--free", "--label", TOKEN, "--pin", PIN, "--so-pin", "97531"], { encoding: "utf8" });
  assert.equal(init.status, 0, init.stderr);
  process.env.TINCAN_HSM_PIN = PIN;
  delete process.env.TINCAN_CA_PASSPHRASE;
});
after(() => {
  ca?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

test("init makes both keys inside the token, sensitive and never extractable; nothing secret in the CA directory", skip, async () => {
  const made = await FactoryCa.init(caDir, { hsm: { library: LIBRARY, token: TOKEN } });
  made.close();
  const config = JSON.parse(fs.readFileSync(path.join(caDir, "ca.json"), "utf8"));
  assert.deepEqual(config.store, { kind: "pkcs11", library: LIBRARY, token: TOKEN });
  assert.match(config.root.key.id, /^[0-9a-f]+$/);
  assert.deepEqual(fs.readdirSync(caDir).filter((f) => f.endsWith(".key")), [], "no key files");
  for (const f of fs.readdirSync(caDir)) assert.ok(!fs.readFileSync(path.join(caDir, f)).includes(PIN), `${f} does not hold the PIN`);
  const objects = spawnSync("pkcs11-tool", ["--module", LIBRARY, "--token-label", TOKEN, "--login", "--pin", PIN, "--list-objects"], { encoding: "utf8" });
  assert.equal(objects.status, 0, objects.stderr);
  for (const role of ["root", "intermediate"]) {
    const entry = new RegExp(`Private Key Object; EC\\s+label:\\s+(tincan-${role}-[0-9a-f]+)\\s+ID:\\s+([0-9a-f]+)\\s+Usage:[^\\n]*sign[^\\n]*\\n\\s+Access:\\s+([^\\n]+)`).exec(objects.stdout);
    assert.ok(entry, `${role} key in the token:\n${objects.stdout}`);
    assert.equal(entry[2], config[role].key.id);
    assert.match(entry[3], /\bsensitive\b.*never extractable/);
  }
  // SoftHSM signs only with raw CKM_ECDSA (no ECDSA-SHA256): the hashing is done on the host.
  const mechanisms = spawnSync("pkcs11-tool", ["--module", LIBRARY, "--token-label", TOKEN, "-M"], { encoding: "utf8" }).stdout;
  assert.match(mechanisms, /^\s*ECDSA,/m);
  assert.doesNotMatch(mechanisms, /ECDSA-SHA256/);
  const text = openssl("x509", "-in", path.join(caDir, "intermediate.pem"), "-noout", "-text").stdout;
  assert.match(text, /Signature Algorithm: ecdsa-with-SHA384[\s\S]*CA:TRUE, pathlen:0/);
  assert.equal(openssl("verify", "-CAfile", path.join(caDir, "root.pem"), path.join(caDir, "intermediate.pem")).status, 0);
});

test("a device certificate signed in the token verifies with openssl; so do its CRLs and its JWS", skip, async () => {
  ca = await FactoryCa.open(caDir);
  assert.equal(ca.kind, "pkcs11");
  const keys = await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]) as CryptoKeyPair;
  const nonce = crypto.randomBytes(32).toString("hex");
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: "CN=00112233", keys, signingAlgorithm: { name: "ECDSA", hash: "SHA-256" } as EcdsaParams, attributes: [new x509.ChallengePasswordAttribute(nonce)] }, webcrypto);
  const serial = makeSerial("TSM");
  const cert = await ca.issueDevice({ csrDer: new Uint8Array(csr.rawData), serial, expectedChallenge: nonce });
  const certFile = file("device.pem", cert.pem);
  const v = openssl("verify", "-CAfile", path.join(caDir, "root.pem"), "-untrusted", path.join(caDir, "intermediate.pem"), "-purpose", "sslclient", certFile);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  assert.match(openssl("x509", "-in", certFile, "-noout", "-subject").stdout, new RegExp(`O = Tincan, serialNumber = ${serial}, CN = ${serial}`));

  await ca.revoke(cert.serialHex, "keyCompromise");
  const crls = await ca.crl();
  for (const [name, pem] of [["root", crls.root.pem], ["intermediate", crls.intermediate.pem]]) {
    const r = openssl("crl", "-in", file(`${name}.crl`, pem), "-noout", "-CAfile", path.join(caDir, "chain.pem"));
    assert.match(r.stderr, /verify OK/, `${name} CRL: ${r.stderr}`);
  }
  const refused = openssl("verify", "-crl_check_all", "-CRLfile", file("crls.pem", crls.pem), "-CAfile", path.join(caDir, "root.pem"), "-untrusted", path.join(caDir, "intermediate.pem"), certFile);
  assert.match(refused.stdout + refused.stderr, /certificate revoked/);

  const payload = Buffer.from("manifest");
  assert.deepEqual(verifyCompactJws(await ca.signJws(payload), ca.root.der).payload, payload);
});

test("a wrong PIN or an unknown token is one clear error", skip, async () => {
  const wrongPin = (e: Error) => e instanceof CaError && /refused the PIN/.test(e.message) && !e.message.includes("000000");
  process.env.TINCAN_HSM_PIN = "000000";
  try {
    // While the token is logged in (a store is open) C_Login cannot check a PIN; the CA still does.
    assert.ok(ca);
    await assert.rejects(FactoryCa.open(caDir), wrongPin);
    const sig = await ca.signJws(Buffer.from("still logged in"));
    assert.ok(verifyCompactJws(sig, ca.root.der));
    ca.close();
    ca = undefined;
    await assert.rejects(FactoryCa.open(caDir), wrongPin);
  } finally {
    process.env.TINCAN_HSM_PIN = PIN;
  }
  (await FactoryCa.open(caDir)).close();
  await assert.rejects(FactoryCa.init(path.join(work, "other"), { hsm: { library: LIBRARY, token: "no-such-token" } }), /no token labelled "no-such-token" \(tokens: "tincan-ca-test"/);
  assert.ok(!fs.existsSync(path.join(work, "other", "ca.json")), "nothing half-made");
});

test("tincan ca init --hsm LIB --token LABEL (PIN from TINCAN_HSM_PIN) and show --json", skip, () => {
  const driver = file("tincan-ca.mts", [
    `import { Command } from ${JSON.stringify(path.join(root, "node_modules/commander/esm.mjs"))};`,
    `import { addCaCommands } from ${JSON.stringify(path.join(root, "host-tools/commands/ca.ts"))};`,
    `import { fail } from ${JSON.stringify(path.join(root, "host-tools/commands/common.ts"))};`,
    `const program = new Command("tincan");`,
    `addCaCommands(program.command("ca"), { run: (fn) => async (...a) => { try { await fn(...a); } catch (e) { fail(e, false); } } });`,
    `await program.parseAsync(process.argv);`,
  ].join("\n"));
  const tincan = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", driver, "ca", ...args], { cwd: root, encoding: "utf8", timeout: 60_000 });
  const dir = path.join(work, "cli-ca");
  const made = tincan("init", "--dir", dir, "--hsm", LIBRARY, "--token", TOKEN, "--curve", "P-384", "--json");
  assert.equal(made.status, 0, made.stderr);
  const shown = JSON.parse(tincan("show", "--dir", dir, "--json").stdout);
  assert.deepEqual([shown.store.kind, shown.store.token, shown.intermediate.curve], ["pkcs11", TOKEN, "P-384"]);
  assert.ok(!made.stdout.includes(PIN) && !made.stderr.includes(PIN));
  const bad = tincan("init", "--dir", path.join(work, "cli-bad"), "--hsm", LIBRARY);
  assert.match(bad.stderr, /^error: --hsm: name its token with --token LABEL or --slot INDEX[^\n]*\n$/);
});
