// The factory CA with its file key store, checked by tools that share no code with it: openssl
// (verify, x509 -text, req -verify, crl, dgst) and Node's TLS. Also the passphrase: never in
// argv, a file or output; a wrong one is one clear error; typed on a terminal it is not echoed.

import "reflect-metadata";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import tls from "node:tls";
import * as x509 from "@peculiar/x509";
import { root, tempDir } from "./helpers.ts";
import { CaError, CsrError, FactoryCa, verifyCompactJws, type IssuedCertificate } from "../../host-tools/provision/ca/index.ts";
import { makeSerial } from "../../host-tools/provision/serial.ts";

const PASSPHRASE = "tincan test passphrase 7";
const webcrypto = crypto.webcrypto as unknown as Crypto;
const work = tempDir("tincan-ca-");
const mainDir = path.join(work, "main");
let ca: FactoryCa;

const openssl = (...args: string[]) => spawnSync("openssl", args, { encoding: "utf8", env: { ...process.env, TINCAN_CA_PASSPHRASE: PASSPHRASE } });
const file = (name: string, text: string | Uint8Array) => { const f = path.join(work, name); fs.writeFileSync(f, text); return f; };
const ecdsa = (hash = "SHA-256") => ({ name: "ECDSA", hash }) as EcdsaParams;

async function newKeys(curve = "P-256"): Promise<CryptoKeyPair> {
  return await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: curve }, true, ["sign", "verify"]) as CryptoKeyPair;
}

/** A device-style CSR: CN = chip id, the nonce as challengePassword (hex). signer: another key to sign it with. */
async function deviceCsr(p: { keys?: CryptoKeyPair; signer?: CryptoKeyPair; challenge?: string; hash?: string } = {}) {
  const keys = p.keys ?? await newKeys();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: "CN=0a1b2c3d4e5f", signingAlgorithm: ecdsa(p.hash),
    keys: { publicKey: keys.publicKey, privateKey: (p.signer ?? keys).privateKey },
    attributes: p.challenge === undefined ? [] : [new x509.ChallengePasswordAttribute(p.challenge)],
  }, webcrypto);
  return { keys, der: new Uint8Array(csr.rawData), pem: csr.toString("pem") };
}

async function issueDevice(target = ca): Promise<{ serial: string; cert: IssuedCertificate; keyPem: string; file: string }> {
  const nonce = crypto.randomBytes(32).toString("hex");
  const { keys, der } = await deviceCsr({ challenge: nonce });
  const serial = makeSerial("TSM");
  const cert = await target.issueDevice({ csrDer: der, serial, expectedChallenge: nonce });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
  const keyPem = crypto.createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" }).export({ format: "pem", type: "pkcs8" }) as string;
  return { serial, cert, keyPem, file: file(`${serial}.pem`, cert.pem) };
}

function verify(certFile: string, ...extra: string[]) {
  return openssl("verify", "-CAfile", path.join(mainDir, "root.pem"), "-untrusted", path.join(mainDir, "intermediate.pem"), ...extra, certFile);
}

before(async () => {
  process.env.TINCAN_CA_PASSPHRASE = PASSPHRASE;
  (await FactoryCa.init(mainDir)).close();
  ca = await FactoryCa.open(mainDir);
});
after(() => {
  ca?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

test("init writes the CA files, keys 0600 in a 0700 directory, and refuses to overwrite a CA", async () => {
  for (const f of ["ca.json", "root.pem", "intermediate.pem", "chain.pem", "root.key", "intermediate.key"]) assert.ok(fs.existsSync(path.join(mainDir, f)), f);
  assert.equal(fs.statSync(mainDir).mode & 0o777, 0o700);
  for (const f of ["root.key", "intermediate.key"]) assert.equal(fs.statSync(path.join(mainDir, f)).mode & 0o777, 0o600, f);
  const config = JSON.parse(fs.readFileSync(path.join(mainDir, "ca.json"), "utf8"));
  assert.deepEqual([config.store.kind, config.root.curve, config.intermediate.curve, config.nextCrlNumber], ["file", "P-384", "P-256", 1]);
  const key = openssl("asn1parse", "-in", path.join(mainDir, "intermediate.key")).stdout;
  for (const word of ["PBES2", "PBKDF2", "hmacWithSHA256", "aes-256-cbc"]) assert.match(key, new RegExp(`:${word}`), word);
  assert.equal(openssl("pkey", "-in", path.join(mainDir, "root.key"), "-passin", "env:TINCAN_CA_PASSPHRASE", "-noout").status, 0, "openssl reads the key with the passphrase");
  assert.notEqual(spawnSync("openssl", ["pkey", "-in", path.join(mainDir, "root.key"), "-passin", "pass:wrong", "-noout"]).status, 0);
  const before = fs.readFileSync(path.join(mainDir, "root.pem"), "utf8");
  await assert.rejects(FactoryCa.init(mainDir), (e: Error) => e instanceof CaError && /already holds a CA/.test(e.message));
  assert.equal(fs.readFileSync(path.join(mainDir, "root.pem"), "utf8"), before);
  assert.equal(openssl("verify", "-CAfile", path.join(mainDir, "root.pem"), path.join(mainDir, "intermediate.pem")).status, 0);
});

test("root and intermediate carry the designed constraints", () => {
  const rootText = openssl("x509", "-in", path.join(mainDir, "root.pem"), "-noout", "-text").stdout;
  assert.match(rootText, /Basic Constraints: critical\s+CA:TRUE, pathlen:1/);
  assert.match(rootText, /Key Usage: critical\s+Certificate Sign, CRL Sign\n/);
  assert.match(rootText, /Subject Key Identifier/);
  assert.match(rootText, /ecdsa-with-SHA384[\s\S]*NIST CURVE: P-384/);
  const intText = openssl("x509", "-in", path.join(mainDir, "intermediate.pem"), "-noout", "-text").stdout;
  assert.match(intText, /Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
  assert.match(intText, /Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign\n/);
  assert.match(intText, /Name Constraints: critical\s+Permitted:\s+DirName:O = Tincan\n/);
  assert.match(intText, /NIST CURVE: P-256/);
  const years = (c: typeof ca.root) => (c.notAfter.getTime() - c.notBefore.getTime()) / (365.25 * 86_400_000);
  assert.ok(Math.abs(years(ca.root) - 25) < 0.01 && Math.abs(years(ca.intermediate) - 12) < 0.01);
});

test("a device certificate verifies with openssl and has the designed fields", async () => {
  const started = Date.now();
  const { serial, cert, file: certFile } = await issueDevice();
  const r = verify(certFile, "-purpose", "sslclient");
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /: OK/);
  const text = openssl("x509", "-in", certFile, "-noout", "-text").stdout;
  assert.match(text, new RegExp(`Subject: O = Tincan, serialNumber = ${serial}, CN = ${serial}\n`));
  assert.match(text, /Issuer: O = Tincan, CN = Tincan Factory CA/);
  assert.match(text, /Basic Constraints: critical\s+CA:FALSE/);
  assert.match(text, /Key Usage: critical\s+Digital Signature\n/);
  assert.match(text, /Extended Key Usage: ?\n\s+TLS Web Client Authentication\n/, "EKU clientAuth, not critical");
  assert.match(text, new RegExp(`Subject Alternative Name: ?\\n\\s+URI:urn:tincan:device:${serial}\\n`));
  assert.match(text, /Not After : Dec 31 23:59:59 9999 GMT/);
  assert.match(text, /NIST CURVE: P-256/);
  const ski = /Subject Key Identifier: ?\n\s+([0-9A-F:]+)/.exec(openssl("x509", "-in", path.join(mainDir, "intermediate.pem"), "-noout", "-text").stdout)![1];
  assert.match(text, new RegExp(`Authority Key Identifier: ?\\n\\s+(keyid:)?${ski}`));
  assert.equal(openssl("x509", "-in", certFile, "-noout", "-serial").stdout.trim(), `serial=${cert.serialHex.toUpperCase()}`);
  assert.match(cert.serialHex, /^[4-7][0-9a-f]{31}$/, "16 bytes, positive");
  const notBefore = new Date(openssl("x509", "-in", certFile, "-noout", "-startdate").stdout.trim().slice("notBefore=".length)).getTime();
  assert.ok(notBefore >= started - 5 * 60_000 - 2000 && notBefore <= Date.now() - 5 * 60_000 + 1000, "notBefore is five minutes back");
  const other = await issueDevice();
  assert.notEqual(other.cert.serialHex, cert.serialHex);
});

test("CSRs: openssl req -verify agrees; another key's signature, a wrong curve, a stale challenge and garbage are refused", async () => {
  const nonce = crypto.randomBytes(16).toString("hex");
  const good = await deviceCsr({ challenge: nonce });
  const checked = openssl("req", "-in", file("good.csr", good.pem), "-noout", "-verify");
  assert.match(checked.stdout + checked.stderr, /verify OK/);
  const v = await ca.verifyCsr(good.der);
  assert.equal(v.challenge, nonce);
  assert.equal(v.subject, "CN=0a1b2c3d4e5f");
  assert.deepEqual(Buffer.from(v.publicKey), Buffer.from(await webcrypto.subtle.exportKey("raw", good.keys.publicKey)));

  const forged = await deviceCsr({ challenge: nonce, signer: await newKeys() });
  const forgedCheck = openssl("req", "-in", file("forged.csr", forged.pem), "-noout", "-verify");
  // openssl 3.0 exits 0 either way; it says which.
  assert.match(forgedCheck.stdout + forgedCheck.stderr, /verify failure/, "openssl refuses it too");
  const refused = async (der: Uint8Array, pattern: RegExp, challenge = nonce) => {
    await assert.rejects(ca.issueDevice({ csrDer: der, serial: makeSerial("TSM"), expectedChallenge: challenge }), (e: Error) => {
      assert.ok(e instanceof CsrError, String(e));
      assert.doesNotMatch(e.message, /\n/);
      assert.match(e.message, pattern);
      return true;
    });
  };
  await refused(forged.der, /signed by another key/);
  await refused((await deviceCsr({ keys: await newKeys("P-384"), challenge: nonce, hash: "SHA-384" })).der, /secp384r1, not ECDSA P-256/);
  await refused(good.der, /not the nonce this station sent/, crypto.randomBytes(16).toString("hex"));
  await refused((await deviceCsr()).der, /no challengePassword/);
  await refused(good.der.subarray(0, 40), /not a PKCS#10/);

  // A request made by openssl itself is read the same way.
  const keyFile = file("ossl.key", crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "pem", type: "pkcs8" }));
  const cnf = file("req.cnf", `[req]\nprompt=no\ndistinguished_name=dn\nattributes=attrs\n[dn]\nCN=00aa11bb\n[attrs]\nchallengePassword=${nonce}\n`);
  const made = openssl("req", "-new", "-key", keyFile, "-config", cnf, "-outform", "DER", "-out", path.join(work, "ossl.csr"));
  assert.equal(made.status, 0, made.stderr);
  const issued = await ca.issueDevice({ csrDer: fs.readFileSync(path.join(work, "ossl.csr")), serial: makeSerial("TSM"), expectedChallenge: nonce });
  assert.equal(verify(file("ossl.pem", issued.pem)).status, 0);
});

test("the name constraint is in force: a certificate outside O=Tincan from the intermediate's key fails openssl verify", () => {
  const keyFile = file("foreign.key", crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "pem", type: "pkcs8" }));
  assert.equal(openssl("req", "-new", "-key", keyFile, "-subj", "/O=Elsewhere/CN=intruder", "-out", path.join(work, "foreign.csr")).status, 0);
  const signed = openssl("x509", "-req", "-in", path.join(work, "foreign.csr"), "-CA", path.join(mainDir, "intermediate.pem"), "-CAkey", path.join(mainDir, "intermediate.key"),
    "-passin", "env:TINCAN_CA_PASSPHRASE", "-set_serial", "0x1234", "-days", "1", "-out", path.join(work, "foreign.pem"));
  assert.equal(signed.status, 0, signed.stderr);
  const r = verify(path.join(work, "foreign.pem"));
  assert.notEqual(r.status, 0);
  assert.match(r.stdout + r.stderr, /permitted subtree violation/);
});

test("revocation: both CRLs parse with openssl, the CRL number grows, and -crl_check_all refuses only the revoked device", async () => {
  const revoked = await issueDevice();
  const kept = await issueDevice();
  const r1 = await ca.revoke(revoked.cert.serialHex.toUpperCase(), "keyCompromise");
  assert.equal(r1.already, false);
  assert.equal((await ca.revoke(revoked.cert.serialHex, "superseded")).already, true, "revoking twice is harmless");
  await assert.rejects(ca.revoke(ca.intermediate.serialHex), /CA certificate/);
  await assert.rejects(ca.revoke("xyz"), /not a certificate serial/);
  await assert.rejects(ca.revoke(kept.cert.serialHex, "because"), /revocation reason/);
  const first = await ca.crl();
  const set = await ca.crl({ days: 7 });
  assert.equal(set.number, first.number + 1);
  assert.match(set.pem, /^-----BEGIN X509 CRL-----\n[\s\S]+-----END X509 CRL-----\n-----BEGIN X509 CRL-----\n[\s\S]+-----END X509 CRL-----\n$/);
  const rootCrl = openssl("crl", "-in", file("root.crl", set.root.pem), "-noout", "-text", "-CAfile", path.join(mainDir, "root.pem"));
  assert.match(rootCrl.stderr, /verify OK/);
  assert.match(rootCrl.stdout, new RegExp(`Issuer: O = Tincan, CN = Tincan Root CA[\\s\\S]*CRL Number: ?\\n\\s+${set.number}\\n[\\s\\S]*No Revoked Certificates`));
  const intCrl = openssl("crl", "-in", file("int.crl", set.intermediate.pem), "-noout", "-text", "-CAfile", path.join(mainDir, "chain.pem"));
  assert.match(intCrl.stderr, /verify OK/);
  assert.match(intCrl.stdout, new RegExp(`Serial Number: ${revoked.cert.serialHex.toUpperCase()}\\s+Revocation Date[^\\n]+\\n\\s+CRL entry extensions:\\s+X509v3 CRL Reason Code: ?\\n\\s+Key Compromise`));
  assert.doesNotMatch(intCrl.stdout, new RegExp(kept.cert.serialHex.toUpperCase()));
  const next = /Next Update: (.+)\n/.exec(intCrl.stdout)![1];
  assert.ok(Math.abs(new Date(next).getTime() - Date.now() - 7 * 86_400_000) < 60_000, `nextUpdate ${next} is 7 days ahead`);
  const crls = file("crls.pem", set.pem);
  const refused = verify(revoked.file, "-crl_check_all", "-CRLfile", crls);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stdout + refused.stderr, /certificate revoked/);
  const ok = verify(kept.file, "-crl_check_all", "-CRLfile", crls);
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  const list = await Promise.all(Array.from({ length: 8 }, async () => ca.revoke((await issueDevice()).cert.serialHex, "superseded")));
  assert.equal(new Set(ca.revocations().map((r) => r.serialHex)).size, ca.revocations().length);
  for (const r of list) assert.ok(ca.revocations().some((x) => x.serialHex === r.serialHex), "no revocation lost to a concurrent one");
});

test("Node's TLS accepts the chain (name constraints included) both ways, and refuses a revoked device", async () => {
  const serverKey = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
  const server = await ca.issueServer({ publicKey: serverKey.publicKey, dnsNames: ["sip.tincan.test"], ips: ["127.0.0.1"], days: 30 });
  assert.equal(verify(file("server.pem", server.pem), "-purpose", "sslserver").status, 0);
  const good = await issueDevice();
  const bad = await issueDevice();
  await ca.revoke(bad.cert.serialHex, "keyCompromise");
  const crls = await ca.crl();
  // rejectUnauthorized off only so the server can say why it refuses (Node's verdict is still computed).
  const srv = tls.createServer({ key: serverKey.privateKey.export({ format: "pem", type: "pkcs8" }), cert: server.pem + ca.intermediate.pem, ca: [ca.root.pem], crl: [crls.root.pem, crls.intermediate.pem], requestCert: true, rejectUnauthorized: false },
    (s) => s.end(s.authorized ? `hello ${(s.getPeerCertificate() as { subject: { CN: string } }).subject.CN}` : `refused ${String(s.authorizationError)}`));
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  const dial = (d: typeof good) => new Promise<string>((resolve) => {
    let got = "";
    // The client checks the server too: chained to the root, and 127.0.0.1 among its SANs.
    const c = tls.connect({ host: "127.0.0.1", port, ca: [ca.root.pem], key: d.keyPem, cert: d.cert.pem + ca.intermediate.pem });
    c.on("data", (b) => { got += b; });
    c.on("error", (e) => resolve(`client error: ${e.message}`));
    c.on("close", () => resolve(got));
  });
  try {
    assert.equal(await dial(good), `hello ${good.serial}`);
    assert.equal(await dial(bad), "refused CERT_REVOKED");
  } finally {
    srv.close();
  }
});

test("signJws: ES256 (and ES384 for a P-384 intermediate), r||s checked by openssl dgst, x5c [intermediate, root]", async () => {
  const alt = path.join(work, "alt");
  (await FactoryCa.init(alt, { curve: "P-384", name: "Alt" })).close();
  const altCa = await FactoryCa.open(alt);
  try {
    for (const [signer, alg, size, hash] of [[ca, "ES256", 64, "-sha256"], [altCa, "ES384", 96, "-sha384"]] as const) {
      const payload = Buffer.from(JSON.stringify({ devices: [{ serial: makeSerial("TSM") }] }));
      const jws = await signer.signJws(payload, { typ: "tincan-manifest+jws" });
      const [h, p, s] = jws.split(".");
      const header = JSON.parse(Buffer.from(h, "base64url").toString());
      assert.equal(header.alg, alg);
      assert.deepEqual(header.x5c.map((c: string) => Buffer.from(c, "base64")), [Buffer.from(signer.intermediate.der), Buffer.from(signer.root.der)]);
      assert.deepEqual(Buffer.from(p, "base64url"), payload);
      const raw = Buffer.from(s, "base64url");
      assert.equal(raw.length, size);
      const int = (b: Buffer) => { let v = b; while (v.length > 1 && v[0] === 0 && !(v[1] & 0x80)) v = v.subarray(1); if (v[0] & 0x80) v = Buffer.concat([Buffer.from([0]), v]); return Buffer.concat([Buffer.from([2, v.length]), v]); };
      const body = Buffer.concat([int(raw.subarray(0, size / 2)), int(raw.subarray(size / 2))]);
      const sigFile = file(`${alg}.sig`, Buffer.concat([Buffer.from([0x30, body.length]), body]));
      const pub = file(`${alg}.pub`, new crypto.X509Certificate(Buffer.from(signer.intermediate.der)).publicKey.export({ format: "pem", type: "spki" }));
      const r = openssl("dgst", hash, "-verify", pub, "-signature", sigFile, file(`${alg}.in`, `${h}.${p}`));
      assert.match(r.stdout, /Verified OK/, r.stderr);
      assert.deepEqual(verifyCompactJws(jws, signer.root.der).payload, payload);
      assert.throws(() => verifyCompactJws(`${h}.${Buffer.from("{}").toString("base64url")}.${s}`, signer.root.der), /does not verify/);
    }
    const foreign = await altCa.signJws(Buffer.from("x"));
    assert.throws(() => verifyCompactJws(foreign, ca.root.der), /trusted root/);
    // A key file that is not the certificate's key is found at open, before it signs anything.
    const swapped = path.join(work, "swapped");
    fs.cpSync(mainDir, swapped, { recursive: true });
    fs.copyFileSync(path.join(alt, "root.key"), path.join(swapped, "root.key"));
    await assert.rejects(FactoryCa.open(swapped), /root key in the store is not the key of root.pem/);
  } finally {
    altCa.close();
  }
});

test("a wrong passphrase, or none without a terminal, is one clear error that does not echo it", async () => {
  process.env.TINCAN_CA_PASSPHRASE = "not the passphrase";
  try {
    await assert.rejects(FactoryCa.open(mainDir), (e: Error) => e instanceof CaError && /root\.key: wrong passphrase/.test(e.message) && !e.message.includes("not the passphrase"));
    delete process.env.TINCAN_CA_PASSPHRASE;
    await assert.rejects(FactoryCa.open(mainDir), /no CA key passphrase: set TINCAN_CA_PASSPHRASE, or run on a terminal/);
  } finally {
    process.env.TINCAN_CA_PASSPHRASE = PASSPHRASE;
  }
});

// --- tincan ca, as a person runs it (the commands are wired here as host-tools/cli.ts wires them)

const driver = path.join(work, "tincan-ca.mts");
fs.writeFileSync(driver, [
  `import { Command } from ${JSON.stringify(path.join(root, "node_modules/commander/esm.mjs"))};`,
  `import { addCaCommands } from ${JSON.stringify(path.join(root, "host-tools/commands/ca.ts"))};`,
  `import { fail } from ${JSON.stringify(path.join(root, "host-tools/commands/common.ts"))};`,
  `const program = new Command("tincan");`,
  `const run = (fn) => async (...a) => { try { await fn(...a); } catch (e) { fail(e, false); } };`,
  `addCaCommands(program.command("ca"), { run });`,
  `await program.parseAsync(process.argv);`,
].join("\n"));
const cliEnv = (passphrase?: string) => { const env = { ...process.env }; delete env.TINCAN_CA_PASSPHRASE; if (passphrase !== undefined) env.TINCAN_CA_PASSPHRASE = passphrase; return env; };
const tincan = (passphrase: string | undefined, ...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", driver, "ca", ...args], { cwd: root, encoding: "utf8", env: cliEnv(passphrase), timeout: 60_000 });

test("tincan ca init/show/revoke/crl/issue-server: --json output, one-line errors, the passphrase nowhere", async () => {
  const dir = path.join(work, "cli-ca");
  const out = path.join(work, "cli-out");
  const secret = "cli passphrase 9 zebra";
  const runs = [tincan(secret, "init", "--dir", dir, "--json")];
  const info = JSON.parse(runs[0].stdout);
  assert.deepEqual([info.store.kind, info.root.curve, info.intermediate.curve], ["file", "P-384", "P-256"]);
  assert.equal(JSON.parse(tincan(undefined, "show", "--dir", dir, "--json").stdout).intermediate.sha256, info.intermediate.sha256, "show needs no passphrase");
  runs.push(tincan(secret, "issue-server", "--dir", dir, "--dns", "sip.tincan.test", "--ip", "127.0.0.1", "--out", out, "--json"));
  const server = JSON.parse(runs[1].stdout);
  assert.equal(fs.statSync(server.files.key).mode & 0o777, 0o600);
  const chain = openssl("verify", "-purpose", "sslserver", "-CAfile", server.files.root, "-untrusted", path.join(dir, "intermediate.pem"), server.files.certificate);
  assert.equal(chain.status, 0, chain.stdout + chain.stderr);
  assert.match(openssl("x509", "-in", server.files.certificate, "-noout", "-ext", "subjectAltName,extendedKeyUsage").stdout, /Extended Key Usage: ?\n\s+TLS Web Server Authentication\n[\s\S]*DNS:sip\.tincan\.test, IP Address:127\.0\.0\.1/);
  runs.push(tincan(secret, "revoke", server.serialHex, "--dir", dir, "--reason", "superseded", "--json"));
  assert.equal(JSON.parse(runs[2].stdout).reason, "superseded");
  runs.push(tincan(secret, "crl", "--dir", dir, "--out", out, "--json"));
  const crl = JSON.parse(runs[3].stdout);
  assert.equal(crl.number, 1);
  assert.match(openssl("crl", "-in", crl.files.intermediate, "-noout", "-text").stdout, new RegExp(server.serialHex.toUpperCase()));
  for (const [args, pattern] of [
    [["init", "--dir", dir], /already holds a CA/],
    [["init", "--dir", path.join(work, "x"), "--passphrase", secret], /unknown option '--passphrase'/],
    [["init", "--dir", path.join(work, "y"), "--curve", "P-521"], /--curve P-521: P-256 or P-384/],
    [["issue-server", "--dir", dir, "--out", path.join(work, "z")], /--dns NAME or --ip ADDRESS/],
    [["crl", "--dir", path.join(work, "none"), "--out", out], /no CA here/],
  ] as const) {
    const r = tincan(secret, ...args);
    assert.notEqual(r.status, 0, args.join(" "));
    assert.match(r.stderr, /^error: [^\n]+\n$/, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
  }
  const wrong = tincan("wrong passphrase!", "crl", "--dir", dir, "--out", out);
  assert.equal(wrong.status, 1);
  assert.match(wrong.stderr, /^error: \S+root\.key: wrong passphrase[^\n]*\n$/);
  const none = spawnSync(process.execPath, ["--import", "tsx", driver, "ca", "crl", "--dir", dir, "--out", out], { cwd: root, encoding: "utf8", env: cliEnv(), input: "" });
  assert.match(none.stderr, /^error: no CA key passphrase: set TINCAN_CA_PASSPHRASE, or run on a terminal to be asked for it\n$/);
  const everything = [...runs, wrong, none].map((r) => r.stdout + r.stderr).join("\n");
  assert.ok(!everything.includes(secret), "the passphrase is never printed");
  for (const d of [dir, out]) {
    for (const f of fs.readdirSync(d)) assert.ok(!fs.readFileSync(path.join(d, f)).includes(secret), `${f} does not hold the passphrase`);
  }
});

test("typed on a terminal, the passphrase is asked twice at init, never echoed, and opens the keys", { skip: spawnSync("script", ["--version"]).status !== 0 && "needs script(1) from util-linux for a terminal" }, async () => {
  const dir = path.join(work, "tty-ca");
  const typed = "typed on the tty 42";
  const command = [process.execPath, "--import", "tsx", driver, "ca", "init", "--dir", dir].map((a) => `'${a}'`).join(" ");
  const p = spawn("script", ["-qec", command, "/dev/null"], { cwd: root, env: cliEnv(), stdio: ["pipe", "pipe", "pipe"] });
  let screen = "";
  let answered = 0;
  p.stdout.on("data", (b: Buffer) => {
    screen += b.toString();
    // Type only once the prompt is up (raw mode on), as a person would.
    for (const asks = (screen.match(/passphrase( again)?: /g) ?? []).length; answered < asks; answered++) p.stdin.write(`${typed}\r`);
  });
  const code = await new Promise<number | null>((resolve) => p.on("exit", resolve));
  assert.equal(code, 0, screen);
  assert.equal(answered, 2, screen);
  assert.ok(!screen.includes(typed), `echoed: ${screen}`);
  assert.equal(spawnSync("openssl", ["pkey", "-in", path.join(dir, "intermediate.key"), "-passin", `pass:${typed}`, "-noout"]).status, 0);
});
