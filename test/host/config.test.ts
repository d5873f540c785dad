// The device configuration end to end: `tincan config` (host-tools/cli.ts through tsx) against
// the real firmware in a simulated board, over its socket:// console; persistence across power
// cycles; the host's checks against the firmware's own.

import test from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import net from "node:net";
import { startSim, type RunningSim } from "../../host-tools/sim/run.ts";
import { NvsStore } from "../../host-tools/sim/nvs.ts";
import { ConsoleClient } from "../../host-tools/link/console.ts";
import { ConfigClient, ConfigRefusedError, ConfigCommand, encodePairs, encodeKeys } from "../../host-tools/config/client.ts";
import { CONFIG_KEYS, ConfigValueError, checkValue, requireKey } from "../../host-tools/config/keys.ts";
import { Status, encodeFrame, decodeFrame, Kind, MAX_FRAME } from "../../host-tools/link/frame.ts";
import { SlipDecoder, slipEncode } from "../../host-tools/link/slip.ts";
import { root, tempDir, virtualBoard } from "./helpers.ts";

const firmware = path.join(root, "build", "firmware.wasm");
const cliTs = path.join(root, "host-tools", "cli.ts");

interface Run { status: number | null; stdout: string; stderr: string }

/** Runs `tincan ARGS` without blocking this process (the simulated board runs in it). */
function tincan(args: string[], stdin?: string): Promise<Run> {
  const child = spawn(process.execPath, ["--import", "tsx", cliTs, ...args], { cwd: root, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  child.stdin.end(stdin ?? "");
  const timer = setTimeout(() => child.kill(), 60_000);
  return new Promise((resolve) => child.on("close", (status) => { clearTimeout(timer); resolve({ status, stdout, stderr }); }));
}

function boot(dir: string, logs: string[] = []): Promise<RunningSim> {
  return startSim({ boardId: "sim", dir, firmware, onLog: (l) => logs.push(l) });
}

function oneErrorLine(r: Run, pattern: RegExp, what: string): void {
  assert.notEqual(r.status, 0, `${what}: exit status`);
  assert.equal(r.stderr.trim().split("\n").length, 1, `${what}: ${r.stderr}`);
  assert.match(r.stderr, /^error: /, what);
  assert.match(r.stderr, pattern, what);
  assert.equal(r.stdout, "", what);
}

/** Transport addresses for the host/firmware cross-check: good and bad, the edges of each rule. */
const ADDRESS_SAMPLES = [
  "192.0.2.1", "192.0.2.1:3479", "255.255.255.255:65535", "0.0.0.0:1", "[2001:DB8:0:0:0:0:0:1]", "[::ffff:1.2.3.4]:1", "[::]", "[::1]:00080",
  "[1:2:3:4:5:6:7::]", "[1::2:3:4:5:6:7]", "[::1.2.3.4]", "[0:0:1:0:0:1:0:0]", "[1:0:0:2:0:0:0:3]", "[1:2:3:4:5:6:1.2.3.4]",
  "[0000:0000:0000:0000:0000:ffff:192.168.100.200]:65535", "[0000:0000:0000:0000:0000:ffff:192.168.100.200]:655350",
  "2001:db8::1", "2001:db8::1:3478", "::1", "stun.example.org", "stun.example.org:3478", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:",
  "1.2.3.4:3478x", "1.2.3.4:003478", "1.2.3.4:34:78", "[192.0.2.1]:3478", "[::1", "[::1]x", "[::1]:", "[fe80::1%eth0]", "01.2.3.4",
  "1.2.3", "1.2.3.4.5", "1.2.3.04", " 1.2.3.4", "[ ::1]", "[1:2:3:4:5:6:7:8:9]", "[::1.2.3]", "[1:2:3:4:5:6:7:1.2.3.4]", "[:1]", "[1:::2]",
  "[1::2::3]", "[12345::]", "[g::1]", "[1:2:3:4:5:6:7:8]", "[1:2:3:4:5:6:7:8::]", "[::1.2.3.4:5]", "[::01.2.3.4]", "[]", "[]:1", "x",
];

type Listing = { version: number; loadErrors: number; keys: Record<string, { value?: string; secret?: boolean; set?: boolean; default: boolean }> };

test("tincan config set / get: values persist across power cycles, secrets never come back", async () => {
  const dir = tempDir();
  let sim = await boot(dir);
  const outputs: string[] = [];
  const run = async (args: string[], stdin?: string) => { const r = await tincan(args, stdin); outputs.push(r.stdout, r.stderr); return r; };
  try {
    const set = await run(["config", "set", "--port", sim.url, "sip.account=sip:door@example.org", "sip.password=hunter2-secret",
      "sip.expires=900", "media.codecs=PCMU,g722", "door.code=4711#", "call.auto_answer=intercom",
      "nat.stun_server=[2001:DB8::0:5]", "nat.turn_password=relay-s3cret-pw"]);
    assert.equal(set.status, 0, set.stderr);
    assert.match(set.stdout, /^stored sip\.account, sip\.password, sip\.expires, media\.codecs, door\.code, call\.auto_answer, nat\.stun_server, nat\.turn_password \(configuration version 1\)\n$/);

    const text = await run(["config", "get", "--port", sim.url]);
    assert.equal(text.status, 0, text.stderr);
    const lines = text.stdout.trim().split("\n");
    assert.equal(lines.length, CONFIG_KEYS.length);
    assert.ok(lines.includes("sip.account=sip:door@example.org"), text.stdout);
    assert.ok(lines.includes("sip.username=door  # default"), "the user name defaults to the account's user");
    assert.ok(lines.includes("sip.password  # secret, set"));
    assert.ok(lines.includes("door.code  # secret, set"));
    assert.ok(lines.includes("media.codecs=pcmu,g722"), "stored canonically");
    assert.ok(lines.includes("sip.port=5060  # default"));
    assert.ok(lines.includes("nat.stun_server=[2001:db8::5]:3478"), "RFC 5952, the default port written out");
    assert.ok(lines.includes("nat.turn_password  # secret, set"));
    assert.ok(lines.includes("nat.ice=on  # default"));

    const password = await run(["config", "set", "--port", sim.url, "sip.password"], "from-stdin-pw\n");
    assert.equal(password.status, 0, password.stderr);
    assert.match(password.stdout, /version 2\)/);

    const powerCycles = 2;
    for (let i = 0; i < powerCycles; i++) {
      await sim.stop();
      sim = await boot(dir);
      const json = await run(["config", "get", "--port", sim.url, "--json"]);
      assert.equal(json.status, 0, json.stderr);
      const l = JSON.parse(json.stdout) as Listing;
      assert.equal(l.version, 0, "versions count changes since boot");
      assert.equal(l.loadErrors, 0);
      assert.deepEqual(l.keys["sip.account"], { value: "sip:door@example.org", default: false });
      assert.deepEqual(l.keys["sip.expires"], { value: "900", default: false });
      assert.deepEqual(l.keys["sip.password"], { secret: true, set: true, default: false });
      assert.deepEqual(l.keys["door.code"], { secret: true, set: true, default: false });
      assert.deepEqual(l.keys["call.auto_answer"], { value: "intercom", default: false });
      assert.deepEqual(l.keys["media.srtp"], { value: "mandatory", default: true });
      assert.deepEqual(l.keys["nat.stun_server"], { value: "[2001:db8::5]:3478", default: false });
      assert.deepEqual(l.keys["nat.turn_password"], { secret: true, set: true, default: false });
      assert.deepEqual(l.keys["sip.keepalive_s"], { value: "25", default: true });
    }
    const some = await run(["config", "get", "--port", sim.url, "media.ptime", "sip.expires"]);
    assert.equal(some.stdout, "media.ptime=20  # default\nsip.expires=900\n");

    const unset = await run(["config", "unset", "--port", sim.url, "sip.expires", "door.code"]);
    assert.equal(unset.status, 0, unset.stderr);
    const after = JSON.parse((await run(["config", "get", "--port", sim.url, "--json", "sip.expires", "door.code"])).stdout) as Listing;
    assert.deepEqual(after.keys["sip.expires"], { value: "600", default: true });
    assert.deepEqual(after.keys["door.code"], { secret: true, set: false, default: true });

    const reset = await run(["config", "reset", "--port", sim.url, "--json"]);
    assert.equal(reset.status, 0, reset.stderr);
    assert.equal(JSON.parse(reset.stdout).version, 2);
    await sim.stop();
    sim = await boot(dir);
    const fresh = JSON.parse((await run(["config", "get", "--port", sim.url, "--json"])).stdout) as Listing;
    for (const k of CONFIG_KEYS) assert.equal(fresh.keys[k.name]!.default, true, `${k.name} is back to its default after a reset and a reboot`);
    assert.equal(fresh.keys["sip.password"]!.set, false);

    for (const out of outputs) {
      assert.ok(!out.includes("hunter2"), "the password never comes back");
      assert.ok(!out.includes("from-stdin-pw"));
      assert.ok(!out.includes("4711"), "nor the door code");
      assert.ok(!out.includes("relay-s3cret"), "nor the TURN password");
    }
  } finally {
    await sim.stop();
  }
});

test("bad values and unknown keys: one error line, a non-zero exit, nothing changed", async () => {
  const sim = await boot(tempDir());
  try {
    const cases: [string[], RegExp][] = [
      [["set", "sip.expires=30"], /^error: sip\.expires: '30' is outside 60\.\.86400; nothing was changed\n$/],
      [["set", "sip.port=5070", "media.srtp=sometimes"], /media\.srtp: 'sometimes' is not one of mandatory, preferred, off/],
      [["set", "sip.bogus=1"], /^error: unknown key 'sip\.bogus'/],
      [["set", "sip.account=door@example.org"], /sip\.account: 'door@example\.org' is not a sip: or sips: URI/],
      [["set", "door.code=12x4"], /^error: door\.code: only the digits 0-9, \*, # and A-D are allowed; nothing was changed\n$/],
      [["set", "nat.turn_server=turn.example.org"], /^error: nat\.turn_server: 'turn\.example\.org' is not an IPv4 address or a bracketed IPv6 one \(no host names: the device has no DNS resolver\); nothing was changed\n$/],
      [["set", "sip.expires"], /write key=value/],
      [["set", "sip.port=1", "sip.port=2"], /sip\.port: named twice/],
      [["get", "nope"], /unknown key 'nope'/],
      [["unset", "media.nope"], /unknown key 'media\.nope'/],
    ];
    for (const [args, pattern] of cases) {
      const r = await tincan(["config", ...args, "--port", sim.url]);
      oneErrorLine(r, pattern, args.join(" "));
      assert.ok(!r.stderr.includes("12x4"), "a secret is not repeated in an error");
    }
    const l = JSON.parse((await tincan(["config", "get", "--port", sim.url, "--json"])).stdout) as Listing;
    assert.equal(l.version, 0, "nothing was changed");
    assert.equal(l.keys["sip.port"]!.value, "5060");
    oneErrorLine(await tincan(["config", "get"]), /no --port given/, "no port");
    oneErrorLine(await tincan(["config", "get", "--port", "socket://127.0.0.1:1"]), /socket:\/\/127\.0\.0\.1:1.*refused/, "nothing listens");
  } finally {
    await sim.stop();
  }
});

test("the board checks again: it refuses what the host would, with the same reason", async () => {
  const sim = await boot(tempDir());
  const client = await ConsoleClient.open(sim.url);
  const config = new ConfigClient(client);
  try {
    const values: [string, string][] = [
      ["sip.account", "sip:door@example.org"], ["sip.account", "sips:a.b@[2001:db8::1]"], ["sip.account", "sip:door@example.org:5060"],
      ["sip.account", "sip:door:pw@example.org"], ["sip.account", "sip:example.org"], ["sip.account", "sip:d%41@x"], ["sip.account", "sip:d%4@x"],
      ["sip.account", "sip:door@-x"], ["sip.account", "sip:door@[::1"], ["sip.account", "SIP:door@x"], ["sip.account", ""],
      ["sip.registrar", "sip:pbx.example.org;transport=tcp"], ["sip.registrar", "sip:pbx:0"], ["sip.registrar", "sip:pbx:65536"],
      ["sip.registrar", "tel:+123"], ["sip.registrar", "sip:a b"], ["sip.username", "a\"b"], ["sip.username", "user@realm"],
      ["sip.password", "with space"], ["sip.password", "tab\there"], ["sip.transport", "TCP"], ["sip.transport", "sctp"],
      ["sip.expires", "59"], ["sip.expires", "86400"], ["sip.expires", "00600"], ["sip.expires", "6e2"], ["sip.expires", ""],
      ["sip.port", "65536"], ["call.auto_answer", "Intercom"], ["call.answer_after", "61"], ["call.target", "sip:192.0.2.1"],
      ["door.code", "*0#ABcd"], ["door.code", "12345678901234567"], ["door.pulse_ms", "99"], ["media.codecs", "g722,g722"],
      ["media.codecs", "opus"], ["media.codecs", ""], ["media.codecs", "pcma,"], ["media.suites", "AEAD_AES_128_GCM,aes_cm_128_hmac_sha1_80"],
      ["media.srtp", "OFF"], ["media.ptime", "25"], ["media.ptime", "60"], ["media.jitter_ms", "201"],
      ["sip.keepalive_s", "0"], ["sip.keepalive_s", "601"], ["nat.ice", "Off"], ["nat.ice", "true"],
      ["nat.turn_username", "1700000000:door"], ["nat.turn_username", "a b"], ["nat.turn_password", "with space"], ["nat.turn_password", "\u00e9"],
      ["nat.keepalive_s", "300"], ["nat.keepalive_s", "301"], ["nat.consent_s", "0"], ["nat.consent_s", "030"],
      ...ADDRESS_SAMPLES.map((v): [string, string] => ["nat.stun_server", v]),
      ["nat.turn_server", "[2001:db8::7]:5349"], ["nat.turn_server", ""],
    ];
    for (const [key, value] of values) {
      const secret = requireKey(key).secret; // the board never shows a secret: compare only the verdict
      let host: string;
      try {
        const canonical = checkValue(requireKey(key), value);
        host = `ok ${secret ? "<secret>" : canonical}`;
      } catch (e) {
        assert.ok(e instanceof ConfigValueError);
        host = `refused ${e.message}`;
      }
      let board: string;
      try {
        await config.set([{ key, value }]);
        const got = (await config.get([key])).entries[0]!;
        assert.equal(got.secret, secret);
        board = `ok ${secret ? "<secret>" : got.value}`;
      } catch (e) {
        assert.ok(e instanceof ConfigRefusedError, String(e));
        assert.equal(e.status, Status.BAD_REQUEST);
        assert.equal(e.key, key);
        board = `refused ${e.message}`;
      }
      assert.equal(board, host, `${key}=${value}`);
    }
    // All or nothing at the board too, and an unknown key named as such.
    const before = await config.get(["sip.port"]);
    await assert.rejects(config.set([{ key: "sip.port", value: "5999" }, { key: "media.ptime", value: "11" }]), /media\.ptime: '11' is not one of/);
    await assert.rejects(config.set([{ key: "sip.port", value: "5999" }, { key: "x.y", value: "1" }]), /^ConfigRefusedError: unknown key 'x\.y'$/);
    assert.deepEqual(await config.get(["sip.port"]), before);
  } finally {
    await client.close();
    await sim.stop();
  }
});

test("server addresses: the host's canonical form and reasons, without a board", () => {
  const stun = requireKey("nat.stun_server");
  const cases: [string, string][] = [
    ["192.0.2.1", "192.0.2.1:3478"], ["[2001:DB8:0:0:0:0:0:1]:3479", "[2001:db8::1]:3479"], ["[::ffff:192.0.2.9]", "[::ffff:c000:209]:3478"],
    ["203.0.113.5:00443", "203.0.113.5:443"], ["[1:0:0:2:0:0:0:3]:65535", "[1:0:0:2::3]:65535"], ["", ""],
  ];
  for (const [value, canonical] of cases) assert.equal(checkValue(stun, value), canonical, value);
  const refused: [string, RegExp][] = [
    ["stun.example.org", /^nat\.stun_server: 'stun\.example\.org' is not an IPv4 address or a bracketed IPv6 one \(no host names: the device has no DNS resolver\)$/],
    ["192.0.2.1:0", /^nat\.stun_server: '192\.0\.2\.1:0' has a bad port; a port is 1\.\.65535$/],
    ["2001:db8::1", /without brackets; write \[IPv6\]:port$/],
    ["[192.0.2.1]", /has no IPv6 address between its brackets$/],
    ["[::1", /has no closing '\]'$/],
    ["[::1]3478", /has text after '\]'; write \[IPv6\]:port$/],
    [`[${"0".repeat(60)}]`, /^nat\.stun_server: longer than 53 characters$/],
  ];
  for (const [value, pattern] of refused) assert.throws(() => checkValue(stun, value), (e: unknown) => e instanceof ConfigValueError && pattern.test(e.message), value);
  // The canonical form names the same address and port as the input: both through libuv's
  // inet_pton/inet_ntop (net.SocketAddress), a parser and printer independent of ours.
  let good = 0;
  for (const value of ADDRESS_SAMPLES) {
    let canonical: string;
    try { canonical = checkValue(stun, value); } catch { continue; }
    const split = (t: string) => {
      const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(t)!;
      return { host: m[1] ?? m[2]!, port: Number(m[3] ?? 3478) };
    };
    const a = split(value);
    const b = split(canonical);
    const norm = (h: string) => new net.SocketAddress({ address: h, family: net.isIPv6(h) ? "ipv6" : "ipv4" }).address;
    assert.equal(norm(b.host), norm(a.host), value);
    assert.equal(b.port, a.port, value);
    good++;
  }
  assert.ok(good >= 14, `${good} good samples`);
  for (const key of CONFIG_KEYS) assert.doesNotThrow(() => checkValue(key, key.default), `${key.name}'s default is valid`);
});

test("a corrupt stored configuration boots on defaults, with a warning and a counted error", async () => {
  const dir = tempDir();
  // A stored form whose CRC does not match (as a torn or bit-rotted write would leave it).
  const store = new NvsStore(path.join(dir, "nvs.json"), 16384);
  assert.equal(store.write("config", Uint8Array.from([1, 0, 0, 5, 7, 3, 0x35, 0x30, 0x37, 0, 0, 0, 0])), 0);
  const logs: string[] = [];
  const sim = await boot(dir, logs);
  try {
    assert.equal(sim.board.state, "running");
    assert.ok(logs.some((l) => /^W \(\d+\) stored configuration: CRC check failed; every key is back to its default$/.test(l)), logs.join("\n"));
    const r = await tincan(["config", "get", "--port", sim.url]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^warning: the board could not use .* stored configuration/);
    assert.match(r.stdout, /^sip\.port=5060  # default$/m);
    const json = JSON.parse((await tincan(["config", "get", "--port", sim.url, "--json"])).stdout) as Listing;
    assert.equal(json.loadErrors, 1);
    // A good write replaces the bad form.
    assert.equal((await tincan(["config", "set", "--port", sim.url, "sip.port=5070"])).status, 0);
  } finally {
    await sim.stop();
  }
  const again = await boot(dir);
  try {
    const json = JSON.parse((await tincan(["config", "get", "--port", again.url, "--json", "sip.port"])).stdout) as Listing;
    assert.equal(json.loadErrors, 0);
    assert.equal(json.keys["sip.port"]!.value, "5070");
  } finally {
    await again.stop();
  }
});

test("tincan config keys lists every key without a board", async () => {
  const r = await tincan(["config", "keys", "--json"]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual((JSON.parse(r.stdout) as { name: string }[]).map((k) => k.name), CONFIG_KEYS.map((k) => k.name));
});

test("configuration commands allocate nothing: heap_top stays flat over a thousand requests", () => {
  const board = virtualBoard();
  const statuses: number[] = [];
  const decoder = new SlipDecoder({ onFrame: (f) => statuses.push(decodeFrame(f).status) }, { maxFrame: MAX_FRAME });
  board.on("uart", (b: Uint8Array) => decoder.push(b));
  const send = (command: number, payload: Uint8Array, id: number) =>
    board.feedUart(slipEncode(encodeFrame({ kind: Kind.REQUEST, command, id, status: 0, payload })));
  const round = (i: number) => {
    send(ConfigCommand.SET, encodePairs([{ key: "sip.expires", value: String(60 + (i % 100)) }, { key: "media.codecs", value: i % 2 ? "pcmu" : "g722,pcma" }]), 4 * i);
    send(ConfigCommand.SET, encodePairs([{ key: "sip.port", value: "99999" }]), 4 * i + 1);
    send(ConfigCommand.GET, encodeKeys([]), 4 * i + 2);
    send(ConfigCommand.UNSET, encodeKeys(["bogus.key"]), 4 * i + 3);
  };
  round(0);
  const before = board.heapTop();
  for (let i = 1; i < 1000; i++) round(i & 0x3fff);
  assert.equal(board.heapTop(), before, "heap_top did not move");
  assert.equal(board.state, "running");
  assert.equal(statuses.length, 4000);
  assert.deepEqual([...new Set(statuses)].sort(), [Status.OK, Status.BAD_REQUEST]);
});
