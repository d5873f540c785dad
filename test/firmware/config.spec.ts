// The configuration core (firmware/config/): keys, validation, defaults, the stored form, and
// the console commands over it (boards/CONSOLE.md "Configuration", docs/config.md).
//
// The expected stored forms marked "(Node)" were computed outside the firmware, in Node 20
// with zlib.crc32, from the layout in firmware/config/config.ts:
//   [1, 0, N >> 8, N & 255, ...records(id, length, text), ...crc32BE(all before)]

import {
  Config, ConfigStore, LOAD_OK, LOAD_EMPTY, LOAD_READ_FAILED, LOAD_CORRUPT, LOAD_FORMAT, LOAD_BAD_VALUES,
  COMMIT_SAVED, COMMIT_UNCHANGED, COMMIT_STORE_FAILED, BLOB_CAPACITY,
} from "../../firmware/config/config";
import {
  KEYS, KEY_COUNT, keyIndex, Transport, AutoAnswer, SrtpPolicy,
  KEY_SIP_ACCOUNT, KEY_SIP_REGISTRAR, KEY_SIP_USERNAME, KEY_SIP_PASSWORD, KEY_SIP_TRANSPORT, KEY_SIP_EXPIRES, KEY_SIP_PORT,
  KEY_SIP_KEEPALIVE_S, KEY_CALL_AUTO_ANSWER, KEY_CALL_ANSWER_AFTER, KEY_CALL_TARGET, KEY_DOOR_CODE, KEY_DOOR_PULSE_MS,
  KEY_MEDIA_CODECS, KEY_MEDIA_SRTP, KEY_MEDIA_SUITES, KEY_MEDIA_PTIME, KEY_MEDIA_JITTER_MS,
  KEY_NAT_ICE, KEY_NAT_STUN_SERVER, KEY_NAT_TURN_SERVER, KEY_NAT_TURN_USERNAME, KEY_NAT_TURN_PASSWORD,
  KEY_NAT_KEEPALIVE_S, KEY_NAT_CONSENT_S,
} from "../../firmware/config/keys";
import { parseHostPort, SOCKADDR_BYTES } from "../../firmware/lib/inet";
import { VALUE_OK, VALUE_BAD } from "../../firmware/config/values";
import {
  ConfigCommands, CMD_CONFIG_GET, CMD_CONFIG_SET, CMD_CONFIG_UNSET, CMD_CONFIG_RESET,
  TAG_KEY, TAG_VALUE, TAG_SECRET_SET, TAG_DEFAULT, TAG_REASON, TAG_VERSION, TAG_LOAD_ERRORS,
} from "../../firmware/config/commands";
import { STATUS_OK, STATUS_BAD_REQUEST, STATUS_INTERNAL } from "../../firmware/console/console";
import { TlvWriter, TlvReader } from "../../firmware/console/tlv";
import { CODEC_G722, CODEC_PCMU, CODEC_PCMA } from "../../firmware/audio/codecs";
import { AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32, AEAD_AES_256_GCM } from "../../firmware/media/srtp-defs";

const input = memory.data(4096);
const reply = memory.data(4096);
const scratch = memory.data(4096);

class MemoryStore extends ConfigStore {
  readonly data: StaticArray<u8> = new StaticArray<u8>(4096);
  length: i32 = -3; // ERR_NOT_FOUND until the first write
  writes: i32 = 0;
  failWith: i32 = 0;
  save(blob: usize, length: i32): i32 {
    if (this.failWith < 0) return this.failWith;
    memory.copy(changetype<usize>(this.data), blob, <usize>length);
    this.length = length;
    this.writes++;
    return 0;
  }
  /** Boots a new core from what was stored, as main.ts does with hal.nvs_read. */
  boot(): Config {
    const c = new Config();
    if (this.length > 0) memory.copy(c.blobAddress, changetype<usize>(this.data), <usize>min(this.length, BLOB_CAPACITY));
    c.load(this.length);
    return c;
  }
}

function put(s: string, at: usize = input): i32 {
  for (let i = 0; i < s.length; i++) store<u8>(at + <usize>i, <u8>s.charCodeAt(i));
  return s.length;
}

function hex(s: string, at: usize): i32 {
  let n = 0;
  for (let i = 0; i < s.length; i += 2) { store<u8>(at + <usize>n, <u8>I32.parseInt(s.substr(i, 2), 16)); n++; }
  return n;
}

function text(p: usize, len: i32): string { return String.UTF8.decodeUnsafe(p, <usize>len); }
function valueOf(c: Config, k: i32): string { return text(c.valueAddress(k), c.valueLength(k)); }
function reasonOf(c: Config): string { return text(c.reason.address, c.reason.length); }

/** The 20 bytes of a SOCKADDR as hex. */
function sockaddrHex(sa: usize): string {
  const digits = "0123456789abcdef";
  let s = "";
  for (let i = 0; i < SOCKADDR_BYTES; i++) {
    const b = <i32>load<u8>(sa + <usize>i);
    s += digits.charAt(b >> 4) + digits.charAt(b & 15);
  }
  return s;
}
const NO_SOCKADDR = "0000000000000000000000000000000000000000";

/** Stages key=value on c, returning the stage result. */
function stage(c: Config, key: string, value: string): i32 {
  const k = keyIndex(changetype<usize>(String.UTF8.encode(key)), key.length);
  expect(k).toBeGreaterThanOrEqual(0, key);
  return c.stage(k, input, put(value));
}

/** Checks one value alone: true if accepted (and then committed). */
function accepts(c: Config, store: MemoryStore, key: string, value: string): bool {
  c.begin();
  const ok = stage(c, key, value) == VALUE_OK;
  if (ok) c.commit(store);
  return ok;
}

// ---- console helpers ------------------------------------------------------------------------

const request = new TlvWriter();
const out = new TlvWriter();
const reader = new TlvReader();

function begin(): void { request.reset(input, 4096); }
function key(name: string): void { request.bytes(TAG_KEY, changetype<usize>(String.UTF8.encode(name)), name.length); }
function value(v: string): void { request.bytes(TAG_VALUE, changetype<usize>(String.UTF8.encode(v)), v.length); }

function send(h: ConfigCommands, command: u8): u8 {
  out.reset(reply, 2048);
  return h.handle(command, input, request.length, out, 0);
}

/** The text of the first TLV with `tag` in the reply, or "<none>". */
function field(tag: u8): string {
  reader.reset(reply, out.length);
  while (reader.next()) if (reader.tag == tag) return text(reader.value, reader.valueLength);
  return "<none>";
}

/** The reply's entries as "key=value" / "key:set" / "key:unset", "(d)" for defaults, joined by " ". */
function entries(): string {
  let s = "";
  reader.reset(reply, out.length);
  while (reader.next()) {
    if (reader.tag == TAG_KEY) s += (s.length > 0 ? " " : "") + text(reader.value, reader.valueLength);
    else if (reader.tag == TAG_VALUE) s += "=" + text(reader.value, reader.valueLength);
    else if (reader.tag == TAG_SECRET_SET) s += load<u8>(reader.value) == 1 ? ":set" : ":unset";
    else if (reader.tag == TAG_DEFAULT && load<u8>(reader.value) == 1) s += "(d)";
  }
  return s;
}

function u32Field(tag: u8): u32 {
  reader.reset(reply, out.length);
  while (reader.next()) if (reader.tag == tag && reader.valueLength == 4) return bswap<u32>(load<u32>(reader.value));
  return 0xffffffff;
}

// ---------------------------------------------------------------------------------------------

describe("defaults", () => {
  it("gives every key its documented default", () => {
    const c = new Config();
    expect(c.accountLength).toBe(0);
    expect(c.registrarLength).toBe(0);
    expect(c.usernameLength).toBe(0);
    expect(c.passwordLength).toBe(0);
    expect(c.transport).toBe(Transport.Udp);
    expect(c.expiresSeconds).toBe(600);
    expect(c.sipPort).toBe(5060);
    expect(c.autoAnswer).toBe(AutoAnswer.Off);
    expect(c.answerAfterSeconds).toBe(0);
    expect(c.targetLength).toBe(0);
    expect(c.doorEnabled).toBe(false);
    expect(c.doorPulseMs).toBe(1000);
    expect(c.codecCount).toBe(3);
    expect(c.codec(0)).toBe(CODEC_G722);
    expect(c.codec(1)).toBe(CODEC_PCMU);
    expect(c.codec(2)).toBe(CODEC_PCMA);
    expect(c.codec(3)).toBe(-1, "past the end");
    expect(c.srtpPolicy).toBe(SrtpPolicy.Mandatory);
    expect(c.suiteCount).toBe(2);
    expect(c.suite(0)).toBe(AES_CM_128_HMAC_SHA1_80);
    expect(c.suite(1)).toBe(AES_CM_128_HMAC_SHA1_32);
    expect(c.ptimeMs).toBe(20);
    expect(c.jitterTargetMs).toBe(0);
    expect(c.sipKeepaliveSeconds).toBe(25);
    expect(c.iceEnabled).toBe(true);
    expect(c.stunServerSet).toBe(false);
    expect(sockaddrHex(c.stunServerAddress)).toBe(NO_SOCKADDR);
    expect(c.turnServerSet).toBe(false);
    expect(sockaddrHex(c.turnServerAddress)).toBe(NO_SOCKADDR);
    expect(c.turnUsernameLength).toBe(0);
    expect(c.turnPasswordLength).toBe(0);
    expect(c.natKeepaliveSeconds).toBe(15);
    expect(c.consentIntervalSeconds).toBe(5);
    expect(c.natVersion).toBe(0);
    expect(valueOf(c, KEY_MEDIA_SUITES)).toBe("AES_CM_128_HMAC_SHA1_80,AES_CM_128_HMAC_SHA1_32");
    for (let k = 0; k < KEY_COUNT; k++) expect(c.isExplicit(k)).toBe(false, KEYS[k].name);
    expect(c.version).toBe(0);
  });

  it("has unique names and ids, and names that fit an nvs-style key", () => {
    for (let a = 0; a < KEY_COUNT; a++) {
      for (let b = a + 1; b < KEY_COUNT; b++) {
        expect(KEYS[a].id).not.toBe(KEYS[b].id);
        expect(KEYS[a].name).not.toBe(KEYS[b].name);
      }
      expect(KEYS[a].maxLength).toBeLessThanOrEqual(255, "a record length is one byte");
    }
  });

  it("keeps every key's stored id and its index constant", () => {
    // Ids are the stored form's meaning: a changed id would misread every stored configuration.
    const ids: StaticArray<u8> = [1, 2, 3, 4, 5, 6, 7, 25, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24];
    expect(KEY_COUNT).toBe(ids.length);
    for (let k = 0; k < KEY_COUNT; k++) expect(KEYS[k].id).toBe(ids[k], KEYS[k].name);
    const names: StaticArray<string> = ["sip.keepalive_s", "call.auto_answer", "media.jitter_ms", "nat.ice", "nat.stun_server",
      "nat.turn_server", "nat.turn_username", "nat.turn_password", "nat.keepalive_s", "nat.consent_s"];
    const indices: StaticArray<i32> = [KEY_SIP_KEEPALIVE_S, KEY_CALL_AUTO_ANSWER, KEY_MEDIA_JITTER_MS, KEY_NAT_ICE, KEY_NAT_STUN_SERVER,
      KEY_NAT_TURN_SERVER, KEY_NAT_TURN_USERNAME, KEY_NAT_TURN_PASSWORD, KEY_NAT_KEEPALIVE_S, KEY_NAT_CONSENT_S];
    for (let i = 0; i < names.length; i++) expect(KEYS[indices[i]].name).toBe(names[i]);
    // The largest stored form (every key at its longest) still fits the blob.
    let most = 4 + 4;
    for (let k = 0; k < KEY_COUNT; k++) most += 2 + KEYS[k].maxLength;
    expect(most).toBeLessThanOrEqual(BLOB_CAPACITY);
  });

  it("takes the user name from the account until one is set", () => {
    const c = new Config();
    const s = new MemoryStore();
    expect(accepts(c, s, "sip.account", "sip:door-17@example.org")).toBe(true);
    expect(valueOf(c, KEY_SIP_USERNAME)).toBe("door-17");
    expect(c.isExplicit(KEY_SIP_USERNAME)).toBe(false);
    expect(accepts(c, s, "sip.username", "auth-17")).toBe(true);
    expect(text(c.usernameAddress, c.usernameLength)).toBe("auth-17");
  });
});

describe("validation", () => {
  it("accepts good values and stores them canonically", () => {
    const c = new Config();
    const s = new MemoryStore();
    expect(accepts(c, s, "sip.account", "sips:front.door@[2001:db8::1]")).toBe(true);
    expect(accepts(c, s, "sip.registrar", "sip:registrar.example.org:5080;transport=tcp")).toBe(true);
    expect(accepts(c, s, "sip.registrar", "")).toBe(true, "empty: direct IP calls only");
    expect(accepts(c, s, "sip.password", "correct horse battery staple")).toBe(true);
    expect(accepts(c, s, "sip.transport", "TCP")).toBe(true);
    expect(valueOf(c, KEY_SIP_TRANSPORT)).toBe("tcp");
    expect(c.transport).toBe(Transport.Tcp);
    expect(accepts(c, s, "sip.transport", "tls")).toBe(true);
    expect(c.transport).toBe(Transport.Tls);
    expect(accepts(c, s, "sip.transport", "tcp")).toBe(true);
    expect(accepts(c, s, "sip.expires", "0086400")).toBe(true);
    expect(valueOf(c, KEY_SIP_EXPIRES)).toBe("86400");
    expect(c.expiresSeconds).toBe(86400);
    expect(accepts(c, s, "sip.port", "5062")).toBe(true);
    expect(c.sipPort).toBe(5062);
    expect(accepts(c, s, "call.auto_answer", "intercom")).toBe(true);
    expect(c.autoAnswer).toBe(AutoAnswer.Intercom);
    expect(accepts(c, s, "call.answer_after", "60")).toBe(true);
    expect(accepts(c, s, "call.target", "sip:flat12@192.0.2.7")).toBe(true);
    expect(accepts(c, s, "door.code", "12*#abcd")).toBe(true);
    expect(text(c.doorCodeAddress, c.doorCodeLength)).toBe("12*#ABCD");
    expect(c.doorEnabled).toBe(true);
    expect(accepts(c, s, "door.pulse_ms", "100")).toBe(true);
    expect(accepts(c, s, "media.codecs", "PCMA,g722")).toBe(true);
    expect(valueOf(c, KEY_MEDIA_CODECS)).toBe("pcma,g722");
    expect(c.codecCount).toBe(2);
    expect(c.codec(0)).toBe(CODEC_PCMA);
    expect(c.codec(1)).toBe(CODEC_G722);
    expect(accepts(c, s, "media.srtp", "preferred")).toBe(true);
    expect(c.srtpPolicy).toBe(SrtpPolicy.Preferred);
    expect(accepts(c, s, "media.suites", "AEAD_AES_256_GCM")).toBe(true);
    expect(c.suiteCount).toBe(1);
    expect(c.suite(0)).toBe(AEAD_AES_256_GCM);
    expect(accepts(c, s, "media.ptime", "60")).toBe(true);
    expect(c.ptimeMs).toBe(60);
    expect(accepts(c, s, "media.jitter_ms", "200")).toBe(true);
    expect(c.jitterTargetMs).toBe(200);
    expect(accepts(c, s, "sip.keepalive_s", "0")).toBe(true);
    expect(c.sipKeepaliveSeconds).toBe(0);
    expect(accepts(c, s, "sip.keepalive_s", "600")).toBe(true);
    expect(c.sipKeepaliveSeconds).toBe(600);
    expect(accepts(c, s, "nat.ice", "OFF")).toBe(true);
    expect(valueOf(c, KEY_NAT_ICE)).toBe("off");
    expect(c.iceEnabled).toBe(false);
    expect(accepts(c, s, "nat.ice", "on")).toBe(true);
    expect(c.iceEnabled).toBe(true);
    expect(accepts(c, s, "nat.turn_username", "1700000000:door-17")).toBe(true);
    expect(text(c.turnUsernameAddress, c.turnUsernameLength)).toBe("1700000000:door-17");
    expect(accepts(c, s, "nat.turn_password", "relay pass")).toBe(true);
    expect(text(c.turnPasswordAddress, c.turnPasswordLength)).toBe("relay pass");
    expect(accepts(c, s, "nat.keepalive_s", "0")).toBe(true);
    expect(c.natKeepaliveSeconds).toBe(0);
    expect(accepts(c, s, "nat.keepalive_s", "300")).toBe(true);
    expect(c.natKeepaliveSeconds).toBe(300);
    expect(accepts(c, s, "nat.consent_s", "1")).toBe(true);
    expect(c.consentIntervalSeconds).toBe(1);
    expect(accepts(c, s, "nat.consent_s", "30")).toBe(true);
    expect(c.consentIntervalSeconds).toBe(30);
  });

  it("takes server addresses as IPv4[:port] or [IPv6][:port], canonically, into SOCKADDRs", () => {
    const c = new Config();
    const s = new MemoryStore();
    const stun = c.stunServerAddress;
    // Expected SOCKADDRs by boards/ABI.md: family, 0, port (big-endian), 16 address bytes.
    expect(accepts(c, s, "nat.stun_server", "192.0.2.1")).toBe(true);
    expect(valueOf(c, KEY_NAT_STUN_SERVER)).toBe("192.0.2.1:3478", "the default port is written out");
    expect(c.stunServerSet).toBe(true);
    expect(sockaddrHex(c.stunServerAddress)).toBe("04000d96c0000201000000000000000000000000");
    expect(accepts(c, s, "nat.stun_server", "198.51.100.200:19302")).toBe(true);
    expect(sockaddrHex(c.stunServerAddress)).toBe("04004b66c63364c8000000000000000000000000");
    expect(accepts(c, s, "nat.stun_server", "[2001:DB8:0:0:0:0:0:1]:3479")).toBe(true);
    expect(valueOf(c, KEY_NAT_STUN_SERVER)).toBe("[2001:db8::1]:3479", "RFC 5952 form");
    expect(sockaddrHex(c.stunServerAddress)).toBe("06000d9720010db8000000000000000000000001");
    expect(c.stunServerAddress).toBe(stun, "the SOCKADDR stays where it is");
    expect(accepts(c, s, "nat.turn_server", "[::ffff:192.0.2.9]")).toBe(true);
    expect(valueOf(c, KEY_NAT_TURN_SERVER)).toBe("[::ffff:c000:209]:3478");
    expect(sockaddrHex(c.turnServerAddress)).toBe("06000d9600000000000000000000ffffc0000209");
    expect(c.turnServerSet).toBe(true);
    expect(accepts(c, s, "nat.turn_server", "203.0.113.5:00443")).toBe(true);
    expect(valueOf(c, KEY_NAT_TURN_SERVER)).toBe("203.0.113.5:443");
    expect(accepts(c, s, "nat.turn_server", "[1:0:0:2:0:0:0:3]:65535")).toBe(true);
    expect(valueOf(c, KEY_NAT_TURN_SERVER)).toBe("[1:0:0:2::3]:65535");
    expect(accepts(c, s, "nat.turn_server", "")).toBe(true, "empty: no relay");
    expect(c.turnServerSet).toBe(false);
    expect(sockaddrHex(c.turnServerAddress)).toBe(NO_SOCKADDR);
    c.begin();
    c.stageDefault(KEY_NAT_STUN_SERVER);
    expect(c.commit(s)).toBe(COMMIT_SAVED);
    expect(c.stunServerSet).toBe(false);
    expect(sockaddrHex(c.stunServerAddress)).toBe(NO_SOCKADDR, "unset clears it");
  });

  it("refuses server addresses it cannot use, saying why", () => {
    const c = new Config();
    c.begin();
    const cases: StaticArray<string> = [
      "stun.example.org", "'stun.example.org' is not an IPv4 address or a bracketed IPv6 one (no host names: the device has no DNS resolver)",
      "stun.l.google.com:19302", "'stun.l.google.com:19302' is not an IPv4 address or a bracketed IPv6 one (no host names: the device has no DNS resolver)",
      "192.0.2.256", "'192.0.2.256' is not an IPv4 address or a bracketed IPv6 one (no host names: the device has no DNS resolver)",
      "01.2.3.4", "'01.2.3.4' is not an IPv4 address or a bracketed IPv6 one (no host names: the device has no DNS resolver)",
      " 192.0.2.1", "' 192.0.2.1' is not an IPv4 address or a bracketed IPv6 one (no host names: the device has no DNS resolver)",
      "192.0.2.1:0", "'192.0.2.1:0' has a bad port; a port is 1..65535",
      "192.0.2.1:65536", "'192.0.2.1:65536' has a bad port; a port is 1..65535",
      "192.0.2.1:", "'192.0.2.1:' has a bad port; a port is 1..65535",
      "192.0.2.1:3478x", "'192.0.2.1:3478x' has a bad port; a port is 1..65535",
      "192.0.2.1:3478 ", "'192.0.2.1:3478 ' has a bad port; a port is 1..65535",
      "192.0.2.1:003478", "'192.0.2.1:003478' has a bad port; a port is 1..65535",
      "192.0.2.1:34:78", "'192.0.2.1:34:78' has a bad port; a port is 1..65535",
      "[::1]:", "'[::1]:' has a bad port; a port is 1..65535",
      "[::1]:-1", "'[::1]:-1' has a bad port; a port is 1..65535",
      "2001:db8::1", "'2001:db8::1' is an IPv6 address without brackets; write [IPv6]:port",
      "::1:3478", "'::1:3478' is an IPv6 address without brackets; write [IPv6]:port",
      "[2001:db8::1", "'[2001:db8::1' has no closing ']'",
      "[192.0.2.1]:3478", "'[192.0.2.1]:3478' has no IPv6 address between its brackets",
      "[fe80::1%eth0]", "'[fe80::1%eth0]' has no IPv6 address between its brackets",
      "[]", "'[]' has no IPv6 address between its brackets",
      "[::1]3478", "'[::1]3478' has text after ']'; write [IPv6]:port",
    ];
    for (let i = 0; i < cases.length; i += 2) {
      expect(stage(c, "nat.stun_server", cases[i])).toBe(VALUE_BAD, cases[i]);
      expect(reasonOf(c)).toBe("nat.stun_server: " + cases[i + 1]);
    }
    let long = "[0000:0000:0000:0000:0000:ffff:192.168.100.200]:65535"; // 53: the longest good one
    expect(stage(c, "nat.turn_server", long)).toBe(VALUE_OK);
    expect(stage(c, "nat.turn_server", long + "5")).toBe(VALUE_BAD);
    expect(reasonOf(c)).toBe("nat.turn_server: longer than 53 characters");
    expect(stage(c, "nat.turn_username", "user name")).toBe(VALUE_BAD);
    expect(stage(c, "nat.ice", "yes")).toBe(VALUE_BAD);
    expect(reasonOf(c)).toBe("nat.ice: 'yes' is not one of off, on");
    expect(stage(c, "nat.keepalive_s", "301")).toBe(VALUE_BAD);
    expect(reasonOf(c)).toBe("nat.keepalive_s: '301' is outside 0..300");
    expect(stage(c, "nat.consent_s", "0")).toBe(VALUE_BAD);
    expect(reasonOf(c)).toBe("nat.consent_s: '0' is outside 1..30");
    expect(stage(c, "nat.consent_s", "31")).toBe(VALUE_BAD);
    expect(stage(c, "sip.keepalive_s", "601")).toBe(VALUE_BAD);
    expect(reasonOf(c)).toBe("sip.keepalive_s: '601' is outside 0..600");
  });

  it("parseHostPort: the default port, and a zeroed SOCKADDR on refusal", () => {
    const sa = scratch;
    expect(parseHostPort(input, put("192.0.2.1"), sa, 5349)).toBe(true);
    expect(sockaddrHex(sa)).toBe("040014e5c0000201000000000000000000000000");
    expect(parseHostPort(input, put("192.0.2.1"), sa, 0)).toBe(false, "no port and no default");
    expect(sockaddrHex(sa)).toBe(NO_SOCKADDR);
    expect(parseHostPort(input, put("[::1]:1"), sa, 3478)).toBe(true);
    expect(sockaddrHex(sa)).toBe("0600000100000000000000000000000000000001");
    expect(parseHostPort(input, put("[::1]:99999"), sa, 3478)).toBe(false);
    expect(sockaddrHex(sa)).toBe(NO_SOCKADDR);
    expect(parseHostPort(input, put("[192.0.2.1]"), sa, 3478)).toBe(false, "IPv4 in brackets");
    expect(sockaddrHex(sa)).toBe(NO_SOCKADDR);
    expect(parseHostPort(input, 0, sa, 3478)).toBe(false, "empty");
  });

  it("refuses bad values with a reason that names the key", () => {
    const c = new Config();
    c.begin();
    expect(stage(c, "sip.expires", "30")).toBe(VALUE_BAD);
    expect(reasonOf(c)).toBe("sip.expires: '30' is outside 60..86400");
    expect(stage(c, "sip.port", "0")).toBe(VALUE_BAD);
    expect(reasonOf(c)).toBe("sip.port: '0' is outside 1..65535");
    expect(stage(c, "sip.port", "-1")).toBe(VALUE_BAD);
    expect(reasonOf(c)).toBe("sip.port: '-1' is not a whole number");
    expect(stage(c, "door.pulse_ms", "")).toBe(VALUE_BAD);
    expect(stage(c, "door.pulse_ms", "9999999999")).toBe(VALUE_BAD, "ten digits");
    expect(stage(c, "sip.transport", "sctp")).toBe(VALUE_BAD);
    expect(reasonOf(c)).toBe("sip.transport: 'sctp' is not one of udp, tcp, tls");
    expect(stage(c, "media.ptime", "25")).toBe(VALUE_BAD);
    expect(reasonOf(c)).toBe("media.ptime: '25' is not one of 10, 20, 30, 40, 60");
    expect(stage(c, "media.codecs", "g722,opus")).toBe(VALUE_BAD);
    expect(reasonOf(c)).toBe("media.codecs: 'opus' is not one of g722, pcmu, pcma");
    expect(stage(c, "media.codecs", "g722,pcmu,g722")).toBe(VALUE_BAD);
    expect(reasonOf(c)).toBe("media.codecs: 'g722' is listed twice");
    expect(stage(c, "media.codecs", "")).toBe(VALUE_BAD);
    expect(reasonOf(c)).toBe("media.codecs: name one or more of g722, pcmu, pcma");
    expect(stage(c, "media.codecs", "g722,,pcmu")).toBe(VALUE_BAD);
    expect(stage(c, "media.suites", "AES_CM_128_HMAC_SHA1_80,")).toBe(VALUE_BAD);
    expect(stage(c, "sip.account", "door@example.org")).toBe(VALUE_BAD);
    expect(reasonOf(c)).toBe("sip.account: 'door@example.org' is not a sip: or sips: URI");
    expect(stage(c, "sip.account", "sip:example.org")).toBe(VALUE_BAD, "no user");
    expect(stage(c, "sip.account", "sip:door@example.org:5060")).toBe(VALUE_BAD, "port");
    expect(stage(c, "sip.account", "sip:door@example.org;transport=tcp")).toBe(VALUE_BAD, "parameters");
    expect(stage(c, "sip.account", "sip:door:pw@example.org")).toBe(VALUE_BAD, "password");
    expect(stage(c, "sip.account", "sip:do or@example.org")).toBe(VALUE_BAD, "space");
    expect(stage(c, "sip.account", "sip:door@-example.org")).toBe(VALUE_BAD, "host");
    expect(stage(c, "sip.account", "sip:door@[::1")).toBe(VALUE_BAD, "bracket");
    expect(stage(c, "sip.registrar", "http://example.org")).toBe(VALUE_BAD);
    expect(stage(c, "call.target", "sip:")).toBe(VALUE_BAD);
    expect(stage(c, "sip.username", "a\"b")).toBe(VALUE_BAD);
    expect(stage(c, "call.answer_after", "61")).toBe(VALUE_BAD);
    expect(stage(c, "media.jitter_ms", "201")).toBe(VALUE_BAD);
    let long = "sip:";
    for (let i = 0; i < 120; i++) long += "a";
    expect(stage(c, "call.target", long + "@example.org")).toBe(VALUE_BAD);
    expect(reasonOf(c)).toBe("call.target: longer than 128 characters");
  });

  it("never repeats a secret in its reason", () => {
    const c = new Config();
    c.begin();
    expect(stage(c, "nat.turn_password", "tab\there")).toBe(VALUE_BAD);
    expect(reasonOf(c)).toBe("nat.turn_password: only printable ASCII characters are allowed");
    let long = "";
    for (let i = 0; i < 65; i++) long += "p";
    expect(stage(c, "nat.turn_password", long)).toBe(VALUE_BAD);
    expect(reasonOf(c)).toBe("nat.turn_password: longer than 64 characters");
    expect(stage(c, "door.code", "1234X")).toBe(VALUE_BAD);
    expect(reasonOf(c)).toBe("door.code: only the digits 0-9, *, # and A-D are allowed");
    expect(stage(c, "door.code", "12345678901234567")).toBe(VALUE_BAD);
    expect(reasonOf(c)).toBe("door.code: longer than 16 characters");
    expect(stage(c, "sip.password", "s3cr\x01t")).toBe(VALUE_BAD);
    expect(reasonOf(c)).toBe("sip.password: only printable ASCII characters are allowed");
  });
});

describe("changes", () => {
  it("commits all staged keys at once or none", () => {
    const c = new Config();
    const s = new MemoryStore();
    c.begin();
    expect(stage(c, "sip.expires", "120")).toBe(VALUE_OK);
    expect(stage(c, "sip.port", "70000")).toBe(VALUE_BAD);
    // A caller stops at the first refusal; the values in force did not move.
    expect(c.expiresSeconds).toBe(600);
    expect(s.writes).toBe(0);
    c.begin();
    expect(stage(c, "sip.expires", "120")).toBe(VALUE_OK);
    expect(stage(c, "sip.port", "5070")).toBe(VALUE_OK);
    expect(c.commit(s)).toBe(COMMIT_SAVED);
    expect(c.expiresSeconds).toBe(120);
    expect(c.sipPort).toBe(5070);
    expect(s.writes).toBe(1);
    expect(c.version).toBe(1);
  });

  it("writes nothing when nothing changes, and nothing changes when the store fails", () => {
    const c = new Config();
    const s = new MemoryStore();
    expect(accepts(c, s, "sip.expires", "120")).toBe(true);
    c.begin();
    stage(c, "sip.expires", "0120");
    expect(c.commit(s)).toBe(COMMIT_UNCHANGED);
    expect(s.writes).toBe(1);
    s.failWith = -4;
    c.begin();
    stage(c, "sip.expires", "300");
    expect(c.commit(s)).toBe(COMMIT_STORE_FAILED);
    expect(reasonOf(c)).toBe("the store refused the new configuration (error -4): nothing changed");
    expect(c.expiresSeconds).toBe(120);
    expect(c.version).toBe(1);
    expect(c.saveErrors).toBe(1);
  });

  it("counts versions per key so the user agent knows when to register again", () => {
    const c = new Config();
    const s = new MemoryStore();
    expect(c.sipVersion).toBe(0);
    accepts(c, s, "media.ptime", "40");
    expect(c.version).toBe(1);
    expect(c.sipVersion).toBe(0, "a media key is not a SIP key");
    expect(c.changedAt(KEY_MEDIA_PTIME)).toBe(1);
    accepts(c, s, "sip.registrar", "sip:pbx.example.org");
    expect(c.sipVersion).toBe(2);
    expect(c.changedAt(KEY_SIP_REGISTRAR)).toBe(2);
    expect(c.changedAt(KEY_MEDIA_PTIME)).toBe(1);
    c.begin();
    c.stageDefault(KEY_SIP_REGISTRAR);
    expect(c.commit(s)).toBe(COMMIT_SAVED);
    expect(c.registrarLength).toBe(0);
    expect(c.isExplicit(KEY_SIP_REGISTRAR)).toBe(false);
    expect(c.sipVersion).toBe(3);
  });

  it("tells NAT changes apart: natVersion moves, sipVersion does not", () => {
    const c = new Config();
    const s = new MemoryStore();
    accepts(c, s, "nat.stun_server", "192.0.2.1");
    expect(c.natVersion).toBe(1);
    expect(c.sipVersion).toBe(0, "no new registration for a STUN server");
    accepts(c, s, "nat.turn_password", "pw");
    expect(c.natVersion).toBe(2);
    accepts(c, s, "nat.consent_s", "10");
    expect(c.natVersion).toBe(3);
    accepts(c, s, "sip.keepalive_s", "60");
    expect(c.version).toBe(4);
    expect(c.changedAt(KEY_SIP_KEEPALIVE_S)).toBe(4);
    expect(c.sipVersion).toBe(0, "the flow keepalive needs no new registration");
    expect(c.natVersion).toBe(3, "and is not a nat.* key");
    accepts(c, s, "media.ptime", "40");
    expect(c.natVersion).toBe(3);
    accepts(c, s, "sip.expires", "300");
    expect(c.natVersion).toBe(3);
    expect(c.sipVersion).toBe(6);
    c.begin();
    c.stageDefaults();
    expect(c.commit(s)).toBe(COMMIT_SAVED);
    expect(c.natVersion).toBe(7, "a reset changes nat.* keys too");
  });
});

describe("stored form", () => {
  it("encodes only explicit values, canonically (Node)", () => {
    const c = new Config();
    const s = new MemoryStore();
    c.begin();
    stage(c, "sip.account", "sip:door@example.org");
    stage(c, "sip.expires", "0600");
    expect(c.commit(s)).toBe(COMMIT_SAVED);
    const n = hex("0100001b01147369703a646f6f72406578616d706c652e6f72670603363030a92d635d", scratch);
    expect(s.length).toBe(n);
    expect(memory.compare(changetype<usize>(s.data), scratch, <usize>n)).toBe(0);
    c.begin();
    c.stageDefaults();
    expect(c.commit(s)).toBe(COMMIT_SAVED);
    const e = hex("0100000099f8b879", scratch);
    expect(s.length).toBe(e);
    expect(memory.compare(changetype<usize>(s.data), scratch, <usize>e)).toBe(0, "reset: an empty record set");
  });

  it("round-trips every key through a reboot", () => {
    const c = new Config();
    const s = new MemoryStore();
    c.begin();
    stage(c, "sip.account", "sip:door@example.org");
    stage(c, "sip.password", "pw");
    stage(c, "door.code", "4711#");
    stage(c, "media.codecs", "pcmu");
    stage(c, "media.srtp", "off");
    stage(c, "call.auto_answer", "on");
    c.commit(s);
    const d = s.boot();
    expect(d.loadErrors).toBe(0);
    for (let k = 0; k < KEY_COUNT; k++) {
      expect(valueOf(d, k)).toBe(valueOf(c, k), KEYS[k].name);
      expect(d.isExplicit(k)).toBe(c.isExplicit(k), KEYS[k].name);
    }
    expect(text(d.passwordAddress, d.passwordLength)).toBe("pw");
    expect(d.codec(0)).toBe(CODEC_PCMU);
    expect(d.srtpPolicy).toBe(SrtpPolicy.Off);
    expect(d.version).toBe(0, "versions count changes since boot");
  });

  it("encodes and restores the NAT keys (Node)", () => {
    const c = new Config();
    const s = new MemoryStore();
    c.begin();
    stage(c, "nat.turn_password", "pw");
    stage(c, "nat.stun_server", "192.0.2.1");
    stage(c, "nat.turn_username", "relay-user");
    stage(c, "sip.keepalive_s", "040");
    expect(c.commit(s)).toBe(COMMIT_SAVED);
    // Records in table order: sip.keepalive_s (id 25), nat.stun_server (19), nat.turn_username (21), nat.turn_password (22).
    const n = hex("0100002419023430130e3139322e302e322e313a33343738150a72656c61792d7573657216027077614f60e8", scratch);
    expect(s.length).toBe(n);
    expect(memory.compare(changetype<usize>(s.data), scratch, <usize>n)).toBe(0);
    const d = s.boot();
    expect(d.loadErrors).toBe(0);
    expect(d.stunServerSet).toBe(true);
    expect(sockaddrHex(d.stunServerAddress)).toBe("04000d96c0000201000000000000000000000000", "filled at load");
    expect(text(d.turnUsernameAddress, d.turnUsernameLength)).toBe("relay-user");
    expect(text(d.turnPasswordAddress, d.turnPasswordLength)).toBe("pw");
    expect(d.sipKeepaliveSeconds).toBe(40);
    expect(d.turnServerSet).toBe(false);
    expect(d.iceEnabled).toBe(true);
  });

  it("loads a configuration stored before the NAT keys existed: they take their defaults (Node)", () => {
    // Written by the firmware of ids 1..17 (sip.account, sip.expires), as in "encodes only explicit values".
    const c = new Config();
    const n = hex("0100001b01147369703a646f6f72406578616d706c652e6f72670603363030a92d635d", c.blobAddress);
    expect(c.load(n)).toBe(LOAD_OK);
    expect(c.loadErrors).toBe(0);
    expect(c.accountLength).toBe(20);
    expect(c.iceEnabled).toBe(true);
    expect(c.stunServerSet).toBe(false);
    expect(c.turnServerSet).toBe(false);
    expect(c.natKeepaliveSeconds).toBe(15);
    expect(c.consentIntervalSeconds).toBe(5);
    expect(c.sipKeepaliveSeconds).toBe(25);
    for (let k = KEY_NAT_ICE; k <= KEY_NAT_CONSENT_S; k++) expect(c.isExplicit(k)).toBe(false, KEYS[k].name);
  });

  it("defaults a stored server address it refuses, keeping the rest (Node)", () => {
    // nat.stun_server=stun.example.org (a name), sip.port=5070, nat.turn_server=[2001:db8::7]:5349.
    const c = new Config();
    const n = hex("0100002c13107374756e2e6578616d706c652e6f726707043530373014125b323030313a6462383a3a375d3a35333439f330d21c", c.blobAddress);
    expect(c.load(n)).toBe(LOAD_BAD_VALUES);
    expect(reasonOf(c)).toBe("nat.stun_server: 'stun.example.org' is not an IPv4 address or a bracketed IPv6 one (no host names: the device has no DNS resolver)");
    expect(c.stunServerSet).toBe(false);
    expect(sockaddrHex(c.stunServerAddress)).toBe(NO_SOCKADDR);
    expect(c.sipPort).toBe(5070);
    expect(c.turnServerSet).toBe(true);
    expect(sockaddrHex(c.turnServerAddress)).toBe("060014e520010db8000000000000000000000007");
  });

  it("boots on defaults when nothing is stored", () => {
    const c = new Config();
    expect(c.load(-3)).toBe(LOAD_EMPTY);
    expect(c.loadErrors).toBe(0);
  });

  it("boots on defaults with a counted error when the stored form is bad", () => {
    const good = "0100001b01147369703a646f6f72406578616d706c652e6f72670603363030a92d635d";
    const c = new Config();
    let n = hex(good, c.blobAddress);
    expect(c.load(n)).toBe(LOAD_OK);
    expect(c.expiresSeconds).toBe(600);
    expect(c.accountLength).toBe(20);
    // Every single-bit flip is caught (by the format byte, the length or the CRC).
    for (let bit = 0; bit < n * 8; bit++) {
      const d = new Config();
      hex(good, d.blobAddress);
      const at = d.blobAddress + <usize>(bit >> 3);
      store<u8>(at, <u8>(<i32>load<u8>(at) ^ (1 << (bit & 7))));
      expect(d.load(n)).toBeLessThan(0, "bit " + bit.toString());
      expect(d.loadErrors).toBe(1);
      expect(d.accountLength).toBe(0, "defaults after a bad load");
    }
    const d = new Config();
    hex(good, d.blobAddress);
    expect(d.load(n - 1)).toBe(LOAD_CORRUPT);
    expect(reasonOf(d)).toBe("records length does not match its size");
    expect(d.load(3)).toBe(LOAD_CORRUPT);
    expect(d.load(BLOB_CAPACITY + 1)).toBe(LOAD_CORRUPT);
    expect(d.load(-7)).toBe(LOAD_READ_FAILED);
    expect(reasonOf(d)).toBe("read failed: store error -7");
    store<u8>(d.blobAddress, 2);
    expect(d.load(n)).toBe(LOAD_FORMAT);
    expect(d.loadErrors).toBe(5);
  });

  it("keeps the good keys and defaults the refused one (Node)", () => {
    const c = new Config();
    // sip.expires=30 (below its minimum) between two good records.
    const n = hex("0100002001147369703a646f6f72406578616d706c652e6f7267060233300704353037300098b2ab", c.blobAddress);
    expect(c.load(n)).toBe(LOAD_BAD_VALUES);
    expect(reasonOf(c)).toBe("sip.expires: '30' is outside 60..86400");
    expect(c.loadErrors).toBe(1);
    expect(c.expiresSeconds).toBe(600);
    expect(c.sipPort).toBe(5070);
    expect(c.accountLength).toBe(20);
  });

  it("skips records of keys it does not know (Node)", () => {
    const c = new Config();
    const n = hex("01000010630877686174657665720704353037306ef32cb1", c.blobAddress);
    expect(c.load(n)).toBe(LOAD_OK);
    expect(c.sipPort).toBe(5070);
  });

  it("survives random stored data", () => {
    let seed: u32 = 0x2545f491;
    const c = new Config();
    for (let round = 0; round < 3000; round++) {
      const n = <i32>(seed % 64);
      for (let i = 0; i < n; i++) { seed = seed * 1664525 + 1013904223; store<u8>(c.blobAddress + <usize>i, <u8>(seed >> 24)); }
      if (n >= 4) { store<u8>(c.blobAddress, 1); store<u8>(c.blobAddress + 2, 0); store<u8>(c.blobAddress + 3, <u8>(n - 8)); }
      c.load(n);
      seed = seed * 1664525 + 1013904223;
    }
    expect(c.loadErrors).toBeGreaterThan(2900);
  });
});

describe("console commands", () => {
  it("GET lists every key; secrets only say whether they are set", () => {
    const s = new MemoryStore();
    const c = new Config();
    const h = new ConfigCommands(c, s);
    begin();
    key("sip.account"); value("sip:door@example.org");
    key("sip.password"); value("hunter2");
    key("nat.turn_password"); value("relay-s3cret");
    expect(send(h, CMD_CONFIG_SET)).toBe(STATUS_OK);
    expect(u32Field(TAG_VERSION)).toBe(1);
    begin();
    expect(send(h, CMD_CONFIG_GET)).toBe(STATUS_OK);
    expect(u32Field(TAG_VERSION)).toBe(1);
    expect(u32Field(TAG_LOAD_ERRORS)).toBe(0);
    expect(entries()).toBe(
      "sip.account=sip:door@example.org sip.registrar=(d) sip.username=door(d) sip.password:set sip.transport=udp(d) " +
      "sip.expires=600(d) sip.port=5060(d) sip.keepalive_s=25(d) call.auto_answer=off(d) call.answer_after=0(d) call.target=(d) door.code:unset(d) " +
      "door.pulse_ms=1000(d) media.codecs=g722,pcmu,pcma(d) media.srtp=mandatory(d) " +
      "media.suites=AES_CM_128_HMAC_SHA1_80,AES_CM_128_HMAC_SHA1_32(d) media.ptime=20(d) media.jitter_ms=0(d) " +
      "nat.ice=on(d) nat.stun_server=(d) nat.turn_server=(d) nat.turn_username=(d) nat.turn_password:set " +
      "nat.keepalive_s=15(d) nat.consent_s=5(d)");
    // The password's bytes appear nowhere in the reply.
    const secret = String.UTF8.encode("hunter2");
    for (let i = 0; i + 7 <= out.length; i++) expect(memory.compare(reply + <usize>i, changetype<usize>(secret), 7)).not.toBe(0);
    const relay = String.UTF8.encode("relay-s3cret");
    for (let i = 0; i + 12 <= out.length; i++) expect(memory.compare(reply + <usize>i, changetype<usize>(relay), 12)).not.toBe(0);
    begin();
    key("media.ptime"); key("sip.password");
    expect(send(h, CMD_CONFIG_GET)).toBe(STATUS_OK);
    expect(entries()).toBe("media.ptime=20(d) sip.password:set", "in the order asked");
  });

  it("SET is all or nothing, and says which key was refused and why", () => {
    const s = new MemoryStore();
    const c = new Config();
    const h = new ConfigCommands(c, s);
    begin();
    key("sip.expires"); value("120");
    key("media.srtp"); value("sometimes");
    expect(send(h, CMD_CONFIG_SET)).toBe(STATUS_BAD_REQUEST);
    expect(field(TAG_KEY)).toBe("media.srtp");
    expect(field(TAG_REASON)).toBe("media.srtp: 'sometimes' is not one of mandatory, preferred, off");
    expect(c.expiresSeconds).toBe(600);
    expect(s.writes).toBe(0);
    begin();
    key("sip.expires"); value("120");
    key("sip.bogus"); value("1");
    expect(send(h, CMD_CONFIG_SET)).toBe(STATUS_BAD_REQUEST);
    expect(field(TAG_REASON)).toBe("unknown key 'sip.bogus'");
    begin();
    key("sip.expires"); value("120"); key("sip.expires"); value("130");
    expect(send(h, CMD_CONFIG_SET)).toBe(STATUS_BAD_REQUEST);
    expect(field(TAG_REASON)).toBe("sip.expires: named twice");
    begin();
    key("sip.expires");
    expect(send(h, CMD_CONFIG_SET)).toBe(STATUS_BAD_REQUEST);
    expect(field(TAG_REASON)).toBe("sip.expires: no value given");
    begin();
    value("120");
    expect(send(h, CMD_CONFIG_SET)).toBe(STATUS_BAD_REQUEST);
    begin();
    expect(send(h, CMD_CONFIG_SET)).toBe(STATUS_BAD_REQUEST);
    expect(field(TAG_REASON)).toBe("SET needs at least one key and value");
    begin();
    key("door.code"); value("99x");
    expect(send(h, CMD_CONFIG_SET)).toBe(STATUS_BAD_REQUEST);
    expect(field(TAG_REASON)).toBe("door.code: only the digits 0-9, *, # and A-D are allowed");
    expect(s.writes).toBe(0);
    expect(c.expiresSeconds).toBe(600);
    s.failWith = -7;
    begin();
    key("sip.expires"); value("120");
    expect(send(h, CMD_CONFIG_SET)).toBe(STATUS_INTERNAL);
    expect(field(TAG_REASON)).toBe("the store refused the new configuration (error -7): nothing changed");
    expect(c.expiresSeconds).toBe(600);
  });

  it("UNSET and RESET restore defaults; GET of an unknown key is refused", () => {
    const s = new MemoryStore();
    const c = new Config();
    const h = new ConfigCommands(c, s);
    begin();
    key("sip.port"); value("5070"); key("door.code"); value("1234");
    expect(send(h, CMD_CONFIG_SET)).toBe(STATUS_OK);
    begin();
    key("door.code");
    expect(send(h, CMD_CONFIG_UNSET)).toBe(STATUS_OK);
    expect(c.doorEnabled).toBe(false);
    expect(c.sipPort).toBe(5070);
    begin();
    key("nope");
    expect(send(h, CMD_CONFIG_UNSET)).toBe(STATUS_BAD_REQUEST);
    begin();
    expect(send(h, CMD_CONFIG_UNSET)).toBe(STATUS_BAD_REQUEST);
    begin();
    expect(send(h, CMD_CONFIG_RESET)).toBe(STATUS_OK);
    expect(c.sipPort).toBe(5060);
    expect(u32Field(TAG_VERSION)).toBe(3);
    expect(s.boot().sipPort).toBe(5060, "the reset was stored");
    begin();
    key("media.ptime");
    expect(send(h, CMD_CONFIG_RESET)).toBe(STATUS_BAD_REQUEST, "RESET takes no payload");
    begin();
    key("Sip.Port");
    expect(send(h, CMD_CONFIG_GET)).toBe(STATUS_BAD_REQUEST);
    expect(field(TAG_REASON)).toBe("unknown key 'Sip.Port'");
  });

  it("refuses truncated TLVs and survives random payloads", () => {
    const s = new MemoryStore();
    const c = new Config();
    const h = new ConfigCommands(c, s);
    store<u8>(input, TAG_KEY); store<u8>(input + 1, 0); store<u8>(input + 2, 9); // claims 9 bytes, has 0
    out.reset(reply, 2048);
    expect(h.handle(CMD_CONFIG_SET, input, 3, out, 0)).toBe(STATUS_BAD_REQUEST);
    expect(field(TAG_REASON)).toBe("malformed payload: a TLV runs past its end");
    let seed: u32 = 7;
    for (let round = 0; round < 5000; round++) {
      const n = <i32>(seed % 48);
      for (let i = 0; i < n; i++) {
        seed = seed * 1664525 + 1013904223;
        const b = <u8>(seed >> 24);
        // Mostly small tags and lengths, so that some TLVs are whole.
        store<u8>(input + <usize>i, i % 5 == 0 ? b & 3 : i % 5 == 1 ? 0 : i % 5 == 2 ? b & 7 : b);
      }
      out.reset(reply, 2048);
      const status = h.handle(<u8>(CMD_CONFIG_GET + (seed & 3)), input, n, out, 0);
      expect(status == STATUS_OK || status == STATUS_BAD_REQUEST).toBe(true);
      seed = seed * 1664525 + 1013904223;
    }
    expect(s.boot().loadErrors).toBe(0, "whatever was stored is a valid stored form");
  });
});
