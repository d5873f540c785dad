// The signed app image (host-tools/flash/image.ts, docs/image.md): round trip with the real
// firmware, every tampered byte and every truncation refused with an ImageError, keys 0600 and
// never printed, and the `tincan keys` / `tincan image` commands as a person runs them.

import test from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { firmwareBytes, root, tempDir } from "./helpers.ts";
import { loadBoard } from "../../host-tools/boards.ts";
import { ABI_VERSION } from "../../host-tools/sim/abi.ts";
import {
  HEADER_SIZE, TRAILER_SIZE, ImageError, buildUnsigned, formatVersion, parseImage, parseVersion, signImage, verifyImage,
} from "../../host-tools/flash/image.ts";
import { generateSigningKey, keyId, loadPrivateKey, loadPublicKey, KeyError } from "../../host-tools/flash/keys.ts";

const sim = loadBoard("sim");
const firmware = firmwareBytes();
const { privateKey, publicKey } = crypto.generateKeyPairSync("ed25519");
const fields = { board: "sim", abiVersion: ABI_VERSION, version: parseVersion("1.2.3+45"), securityCounter: 7 };
const signed = signImage(buildUnsigned(firmware, fields), privateKey);

/** Runs fn and returns the ImageError it throws; fails the test on success or any other exception. */
function imageError(fn: () => unknown, what: string): ImageError {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  assert.ok(thrown !== undefined, `${what}: accepted`);
  assert.ok(thrown instanceof ImageError, `${what}: threw ${String(thrown)}, not an ImageError`);
  assert.equal(thrown.message.split("\n").length, 1, `${what}: message not one line`);
  assert.ok(thrown.message.length > 0);
  return thrown;
}

test("sign / verify round trip with the real firmware for board sim", () => {
  assert.equal(signed.length, HEADER_SIZE + firmware.length + TRAILER_SIZE);
  assert.deepEqual([...signed.subarray(0, 4)], [0x54, 0x43, 0x49, 0x4d]);
  assert.deepEqual([...signed.subarray(HEADER_SIZE + firmware.length, HEADER_SIZE + firmware.length + 4)], [0x54, 0x43, 0x53, 0x47]);
  const img = verifyImage(signed, publicKey, { board: sim, abiVersion: ABI_VERSION, minSecurityCounter: 7, name: "a.img" });
  assert.deepEqual(Buffer.from(img.module), Buffer.from(firmware));
  assert.equal(img.header.board, "sim");
  assert.equal(img.header.abiVersion, ABI_VERSION);
  assert.equal(img.header.securityCounter, 7);
  assert.equal(img.header.moduleLength, firmware.length);
  assert.equal(img.header.moduleSha256, crypto.createHash("sha256").update(firmware).digest("hex"));
  assert.equal(formatVersion(img.header.version), "1.2.3+45");
  assert.equal(img.signature?.keyId, keyId(publicKey));
  // The signature is plain Ed25519 over header + module, checkable without this code.
  const end = HEADER_SIZE + firmware.length;
  assert.ok(crypto.verify(null, signed.subarray(0, end), publicKey, signed.subarray(end + 36)));
  // The key id is SHA-256 of the raw 32-byte key (the last 32 bytes of the SPKI DER).
  const raw = publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  assert.equal(keyId(publicKey), crypto.createHash("sha256").update(raw).digest("hex"));
});

test("versions parse and format; bad ones are refused", () => {
  assert.deepEqual(parseVersion("1.2.3"), { major: 1, minor: 2, patch: 3, build: 0 });
  assert.deepEqual(parseVersion("255.0.65535+4294967295"), { major: 255, minor: 0, patch: 65535, build: 4294967295 });
  assert.equal(formatVersion(parseVersion("0.1.0")), "0.1.0");
  for (const bad of ["", "1.2", "1.2.3.4", "256.0.0", "1.256.0", "1.0.65536", "1.2.3+4294967296", "a.b.c", "1.2.3+", "-1.2.3"]) imageError(() => parseVersion(bad), bad);
});

test("every single-byte change in a signed image is refused by verifyImage", () => {
  const n = signed.length;
  const positions = new Set<number>();
  for (let i = 0; i < HEADER_SIZE; i++) positions.add(i); // the whole header
  for (let i = n - TRAILER_SIZE; i < n; i++) positions.add(i); // the whole trailer
  const rnd = crypto.createHash("sha256").update("seed").digest();
  for (let k = 0; positions.size < 500; k++) positions.add(HEADER_SIZE + (rnd.readUInt32LE((k % 8) * 4) * (k + 1)) % firmware.length);
  const seen = new Set<string>();
  for (const pos of positions) {
    for (const flip of [0x01, 0x80, 0xff]) {
      const bad = Uint8Array.from(signed);
      bad[pos] ^= flip;
      const e = imageError(() => verifyImage(bad, publicKey, { board: sim, abiVersion: ABI_VERSION, name: "t.img" }), `byte ${pos} ^ 0x${flip.toString(16)}`);
      assert.match(e.message, /^t\.img: /);
      seen.add(e.message.replace(/\d+/g, "N").replace(/[0-9a-f]{8}\.\.\./g, "K"));
    }
  }
  assert.ok(positions.size >= 500);
  const all = [...seen].join("\n");
  assert.match(all, /module hash does not match its header/);
  assert.match(all, /signature does not verify/);
  assert.match(all, /not by the trusted key/);
  assert.match(all, /reserved header byte/);
});

test("every truncation gives an ImageError, never another exception", () => {
  const n = signed.length;
  const lengths = new Set<number>();
  for (let i = 0; i < 300; i++) lengths.add(i);
  for (let i = n - 300; i < n; i++) lengths.add(i);
  for (let i = 300; i < n - 300; i += 37) lengths.add(i);
  lengths.add(HEADER_SIZE + firmware.length); // exactly header + module: a valid but unsigned image
  for (const len of lengths) {
    const cut = signed.slice(0, len);
    const e = imageError(() => verifyImage(cut, publicKey, { name: "cut.img" }), `length ${len}`);
    if (len === HEADER_SIZE + firmware.length) {
      assert.match(e.message, /not signed/);
      assert.equal(parseImage(cut).signature, undefined);
    } else {
      imageError(() => parseImage(cut, "cut.img"), `parse length ${len}`);
    }
    if (len < HEADER_SIZE) assert.equal(e.message, `cut.img: truncated: ${len} bytes, the header alone is ${HEADER_SIZE}`);
  }
  // Extra bytes after the trailer are refused too.
  imageError(() => parseImage(Uint8Array.from([...signed, 0])), "one byte appended");
});

test("parseImage throws only ImageError on random and near-valid input", () => {
  const rnd = (n: number) => new Uint8Array(crypto.randomBytes(n));
  for (let i = 0; i < 300; i++) {
    const junk = rnd(i * 3);
    imageError(() => parseImage(junk), `random ${junk.length} bytes`);
    const near = Uint8Array.from(signed.subarray(0, HEADER_SIZE + 40 + i));
    near.set(rnd(8), 52 + (i % 8)); // random counter / module length
    try {
      parseImage(near);
    } catch (e) {
      assert.ok(e instanceof ImageError, String(e));
    }
  }
  imageError(() => parseImage(undefined as unknown as Uint8Array), "undefined");
  imageError(() => parseImage("TCIM" as unknown as Uint8Array), "a string");
});

test("wrong key, wrong board, wrong ABI, downgrade, unsigned: each refused with its reason", () => {
  const other = crypto.generateKeyPairSync("ed25519");
  const e1 = imageError(() => verifyImage(signed, other.publicKey, { name: "image.img" }), "wrong key");
  assert.equal(e1.message, `image.img: signed by key ${keyId(publicKey).slice(0, 8)}..., not by the trusted key ${keyId(other.publicKey).slice(0, 8)}...`);
  // Same key id, other signature: a signature by another key grafted under the trusted key's id.
  const forged = signImage(signed.subarray(0, HEADER_SIZE + firmware.length), other.privateKey);
  forged.set(signed.subarray(signed.length - 96, signed.length - 64), forged.length - 96);
  assert.match(imageError(() => verifyImage(forged, publicKey), "forged").message, /signature does not verify/);

  const h7 = loadBoard("tincan-h7");
  assert.equal(imageError(() => verifyImage(signed, publicKey, { board: h7, name: "image.img" }), "board").message, "image.img: built for board sim, not tincan-h7");
  assert.match(imageError(() => verifyImage(signed, publicKey, { abiVersion: ABI_VERSION + 1 }), "abi").message, new RegExp(`ABI version ${ABI_VERSION}, the runtime speaks ${ABI_VERSION + 1}`));
  const otherAbi = signImage(buildUnsigned(firmware, { ...fields, abiVersion: ABI_VERSION + 1 }), privateKey);
  assert.match(imageError(() => verifyImage(otherAbi, publicKey, { abiVersion: ABI_VERSION }), "abi +1").message, new RegExp(`ABI version ${ABI_VERSION + 1}`));
  assert.match(imageError(() => verifyImage(signed, publicKey, { minSecurityCounter: 8 }), "downgrade").message, /security counter 7 is below 8/);
  verifyImage(signed, publicKey, { minSecurityCounter: 0 });

  const unsigned = buildUnsigned(firmware, fields);
  assert.match(imageError(() => verifyImage(unsigned, publicKey), "unsigned").message, /not signed/);
  const parsed = parseImage(unsigned);
  assert.equal(parsed.signature, undefined);
  assert.equal(parsed.header.board, "sim");
});

test("non-zero reserved bytes, flags or board padding are refused even when signed", () => {
  for (const [offset, what] of [[92, /reserved header byte at offset 92/], [127, /reserved header byte at offset 127/], [10, /flags/], [40, /NUL-padded/]] as const) {
    const raw = buildUnsigned(firmware, fields);
    raw[offset] = 1;
    // Signed over the bad header by the trusted key: the structure check still refuses it.
    const re = Uint8Array.from([...raw, ...new Uint8Array(TRAILER_SIZE)]);
    const end = raw.length;
    new DataView(re.buffer).setUint32(end, 0x47534354, true);
    re.set(crypto.createHash("sha256").update(publicKey.export({ format: "der", type: "spki" }).subarray(-32)).digest(), end + 4);
    re.set(crypto.sign(null, raw, privateKey), end + 36);
    assert.match(imageError(() => verifyImage(re, publicKey), `offset ${offset}`).message, what);
    assert.match(imageError(() => parseImage(raw), `offset ${offset}`).message, what);
  }
  imageError(() => buildUnsigned(firmware, { ...fields, board: "x".repeat(33) }), "long board id");
  imageError(() => buildUnsigned(firmware, { ...fields, securityCounter: -1 }), "negative counter");
});

test("generateSigningKey: 0600 private key, .pub next to it, no overwrite without force", () => {
  const dir = tempDir();
  const file = path.join(dir, "dev.key");
  const k = generateSigningKey(file);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.match(fs.readFileSync(file, "utf8"), /^-----BEGIN PRIVATE KEY-----/);
  assert.match(fs.readFileSync(`${file}.pub`, "utf8"), /^-----BEGIN PUBLIC KEY-----/);
  assert.equal(keyId(loadPublicKey(`${file}.pub`)), k.keyId);
  assert.equal(keyId(loadPublicKey(file)), k.keyId, "the public key derives from the private key file");
  assert.equal(keyId(crypto.createPublicKey(loadPrivateKey(file))), k.keyId);
  const before = fs.readFileSync(file, "utf8");
  assert.throws(() => generateSigningKey(file), (e: unknown) => e instanceof KeyError && /already exists/.test(e.message));
  assert.equal(fs.readFileSync(file, "utf8"), before, "refusing leaves the key alone");
  const k2 = generateSigningKey(file, { force: true });
  assert.notEqual(k2.keyId, k.keyId);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(fs.readdirSync(dir).sort(), ["dev.key", "dev.key.pub"], "no temp files left");
  fs.chmodSync(file, 0o640);
  assert.throws(() => loadPrivateKey(file), /permissions 0640 are too open.*chmod 600/);
  fs.writeFileSync(path.join(dir, "junk"), "not a key", { mode: 0o600 });
  assert.throws(() => loadPrivateKey(path.join(dir, "junk")), KeyError);
  assert.throws(() => loadPublicKey(path.join(dir, "junk")), KeyError);
});

// ---- the commands, as a person runs them (host-tools/cli.ts through tsx) ----

const tincan = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", path.join(root, "host-tools", "cli.ts"), ...args], { encoding: "utf8", timeout: 60_000, cwd: root });

test("tincan keys gen / image sign|verify|info: one-line errors, --json, the key never printed", () => {
  const dir = tempDir();
  const key = path.join(dir, "dev.key");
  const img = path.join(dir, "app.img");
  const wasm = path.join(root, "build", "firmware.wasm");
  const outputs: string[] = [];
  const run = (...args: string[]) => {
    const r = tincan(...args);
    outputs.push(r.stdout, r.stderr);
    return r;
  };
  const refused = (r: ReturnType<typeof tincan>, pattern: RegExp) => {
    assert.equal(r.status, 1, `expected exit 1: ${r.stdout}${r.stderr}`);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /^error: /);
    assert.match(r.stderr, pattern);
  };

  const gen = run("keys", "gen", "--out", key, "--json");
  assert.equal(gen.status, 0, gen.stderr);
  const g = JSON.parse(gen.stdout) as { keyId: string; privateKey: string; publicKey: string };
  assert.equal(g.keyId, keyId(loadPublicKey(`${key}.pub`)));
  assert.equal(g.publicKey, `${key}.pub`);
  assert.equal(fs.statSync(key).mode & 0o777, 0o600);
  refused(run("keys", "gen", "--out", key), /already exists.*--force/);

  const sign = run("image", "sign", "--key", key, "--board", "sim", "--version", "2.0.1+9", "--security-counter", "3", wasm, img, "--json");
  assert.equal(sign.status, 0, sign.stderr);
  const s = JSON.parse(sign.stdout) as { board: string; version: string; securityCounter: number; keyId: string; signed: boolean };
  assert.deepEqual([s.board, s.version, s.securityCounter, s.keyId, s.signed], ["sim", "2.0.1+9", 3, g.keyId, true]);
  verifyImage(fs.readFileSync(img), loadPublicKey(`${key}.pub`), { board: sim, abiVersion: ABI_VERSION });

  const ok = run("image", "verify", "--key", `${key}.pub`, "--board", "sim", "--min-counter", "3", img);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^ok: .*board sim, version 2\.0\.1\+9/);
  assert.equal(ok.stdout.trim().split("\n").length, 1);
  const okJson = run("image", "verify", "--key", key, img, "--json");
  assert.equal(okJson.status, 0, okJson.stderr);
  assert.equal((JSON.parse(okJson.stdout) as { ok: boolean }).ok, true);

  refused(run("image", "verify", "--key", `${key}.pub`, "--board", "tincan-s3", img), /built for board sim, not tincan-s3/);
  refused(run("image", "verify", "--key", `${key}.pub`, "--min-counter", "4", img), /security counter 3 is below 4/);
  refused(run("image", "verify", "--key", `${key}.pub`, "--abi", "9", img), new RegExp(`ABI version ${ABI_VERSION}, the runtime speaks 9`));
  const other = path.join(dir, "other.key");
  assert.equal(run("keys", "gen", "--out", other).status, 0);
  refused(run("image", "verify", "--key", `${other}.pub`, img), /not by the trusted key/);

  const bytes = fs.readFileSync(img);
  const tampered = path.join(dir, "tampered.img");
  const t = Buffer.from(bytes);
  t[HEADER_SIZE + 1000] ^= 1;
  fs.writeFileSync(tampered, t);
  refused(run("image", "verify", "--key", `${key}.pub`, tampered), /module hash does not match/);
  const truncated = path.join(dir, "truncated.img");
  fs.writeFileSync(truncated, bytes.subarray(0, 100));
  refused(run("image", "verify", "--key", `${key}.pub`, truncated), /truncated: 100 bytes, the header alone is 128/);
  refused(run("image", "info", truncated), /truncated/);
  const unsigned = path.join(dir, "unsigned.img");
  fs.writeFileSync(unsigned, bytes.subarray(0, bytes.length - TRAILER_SIZE));
  refused(run("image", "verify", "--key", `${key}.pub`, unsigned), /not signed/);
  const info = run("image", "info", unsigned, "--json");
  assert.equal(info.status, 0, info.stderr);
  const i = JSON.parse(info.stdout) as { signed: boolean; keyId: string | null; moduleBytes: number; board: string };
  assert.deepEqual([i.signed, i.keyId, i.moduleBytes, i.board], [false, null, fs.statSync(wasm).size, "sim"]);
  assert.match(run("image", "info", img).stdout, /signed +yes, key [0-9a-f]{64}/);

  // A module that does not fit the board is refused before anything is written.
  const h7img = path.join(dir, "h7.img");
  refused(run("image", "sign", "--key", key, "--board", "tincan-h7", "--version", "1.0.0", wasm, h7img), /memory of \d+ pages .*exceeds board tincan-h7/);
  refused(run("image", "sign", "--key", key, "--board", "sim", "--version", "1.0.0", `${key}.pub`, h7img), /not a valid WASM module/);
  refused(run("image", "sign", "--key", key, "--board", "sim", "--version", "1.0", wasm, h7img), /version "1\.0"/);
  assert.equal(fs.existsSync(h7img), false);

  // A key readable by others is refused by image sign.
  fs.chmodSync(key, 0o644);
  refused(run("image", "sign", "--key", key, "--board", "sim", "--version", "1.0.0", wasm, h7img), /permissions 0644 are too open.*chmod 600/);
  assert.equal(fs.existsSync(h7img), false);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith(".part")), [], "no half-written files");

  // The private keys never appear in anything the commands printed.
  for (const k of [key, other]) {
    const pem = fs.readFileSync(k, "utf8");
    const body = pem.split("\n").filter((l) => l && !l.startsWith("-----")).join("");
    const der = crypto.createPrivateKey(pem).export({ format: "der", type: "pkcs8" });
    const seed = der.subarray(-32);
    for (const out of outputs) {
      assert.ok(!out.includes(body), "the private key PEM was printed");
      assert.ok(!out.includes("PRIVATE KEY"));
      for (const enc of [seed.toString("hex"), seed.toString("base64"), seed.toString("base64url")]) assert.ok(!out.includes(enc), "the private key seed was printed");
    }
  }
});
