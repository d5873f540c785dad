// TURN client (firmware/net/turn.ts, turn-attrs.ts). The "server" here is this spec: it reads
// the client's requests from the outbox with its own StunReader and answers with a StunWriter
// (both proven against RFC 5769 / 8489 vectors in stun.spec.ts). The long-term key is Node's
// crypto.createHash("md5") of "alice:tincan.test:secret" (and of "alice:other.realm:secret"),
// not the firmware's MD5. Real coturn is the other side in test/interop/turn-coturn.test.ts.
import { TurnClient } from "../../firmware/net/turn";
import { EntropyPool } from "../../firmware/sip/entropy";
import { StunReader } from "../../firmware/net/stun";
import { StunWriter } from "../../firmware/net/stun-writer";
import {
  STUN_OK, CLASS_REQUEST, CLASS_INDICATION, CLASS_SUCCESS, CLASS_ERROR, METHOD_BINDING, ATTR_USERNAME, ATTR_REALM,
  ATTR_NONCE, ATTR_MESSAGE_INTEGRITY, ATTR_FINGERPRINT, ATTR_XOR_MAPPED_ADDRESS, ATTR_ALTERNATE_SERVER,
} from "../../firmware/net/stun-attrs";
import {
  METHOD_ALLOCATE, METHOD_REFRESH, METHOD_SEND, METHOD_DATA, METHOD_CREATE_PERMISSION, METHOD_CHANNEL_BIND,
  ATTR_CHANNEL_NUMBER, ATTR_LIFETIME, ATTR_XOR_PEER_ADDRESS, ATTR_DATA, ATTR_XOR_RELAYED_ADDRESS, ATTR_REQUESTED_TRANSPORT,
  TURN_REQUIRED_TYPES, TURN_IDLE, TURN_ALLOCATING, TURN_READY, TURN_FAILED, TURN_RELEASING, TURN_OK, TURN_NOT_DATA,
  TURN_ERR_NOT_FROM_SERVER, TURN_ERR_NOT_TURN, TURN_ERR_TOO_SHORT, TURN_ERR_BAD_LENGTH, TURN_ERR_BAD_CHANNEL,
  TURN_ERR_UNKNOWN_CHANNEL, TURN_ERR_MALFORMED, TURN_ERR_NO_PERMISSION, TURN_ERR_UNEXPECTED, TURN_ERR_BAD_INTEGRITY,
  TURN_ERR_NOT_READY, TURN_ERR_NO_ROOM, TURN_ERR_BUSY, TURN_ERR_BAD_CONFIG, TURN_ERR_NOT_CONFIGURED, TURN_ERR_TIMEOUT,
  TURN_ERR_EXPIRED, TURN_ERR_TABLE_FULL, allocationRefreshUs, channelDataLength,
} from "../../firmware/net/turn-attrs";
import { sockaddrFromText, formatAddress, sockaddrPort, sockaddrEquals } from "../../firmware/lib/inet";
import { readU16BE, readU32BE } from "../../firmware/lib/bytes";

const S: i64 = 1_000_000;
const REQ = memory.data(2048);    // the client's last request, taken from the outbox
const MSG = memory.data(2048);    // what the server sends
const OUT = memory.data(2048);    // wrap()'s output
const PAYLOAD = memory.data(256);
const KEY = memory.data(16);
const ARG = memory.data(256);
const TEXT = memory.data(64);
const SERVER = memory.data(20);
const ALT = memory.data(20);
const PEER = memory.data(20);
const PEER2 = memory.data(20);
const SA = memory.data(20);
const KEY_HEX = "b4aa38127dcdc5463c5f13c4c34f153e";        // MD5("alice:tincan.test:secret")
const OTHER_KEY_HEX = "77b5ec04d3a80ecb2e10df783bec3ebc";  // MD5("alice:other.realm:secret")

// ---- helpers (top level: AssemblyScript closures cannot capture locals) ----
function hexDigit(c: i32): i32 { return c <= 57 ? c - 48 : (c | 32) - 87; }
function putHex(p: usize, s: string): i32 {
  for (let i = 0; i < s.length / 2; i++) store<u8>(p + <usize>i, <u8>((hexDigit(s.charCodeAt(2 * i)) << 4) | hexDigit(s.charCodeAt(2 * i + 1))));
  return s.length / 2;
}
function put(p: usize, s: string): i32 { for (let i = 0; i < s.length; i++) store<u8>(p + <usize>i, <u8>s.charCodeAt(i)); return s.length; }
function text(p: usize, n: i32): string { let s = ""; for (let i = 0; i < n; i++) s += String.fromCharCode(load<u8>(p + <usize>i)); return s; }
function addr(sa: usize): string { const n = formatAddress(sa, TEXT, 64); return text(TEXT, n) + " " + sockaddrPort(sa).toString(); }
function setAddr(sa: usize, ip: string, port: i32): void { const n = put(ARG, ip); expect(sockaddrFromText(sa, ARG, n, port)).toBe(true); }
function heapTop(): usize { const p = heap.alloc(0); heap.free(p); return p; }

let rng: u32 = 0x9e3779b9;
function random(): u32 { rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5; return rng; }

const pool = new EntropyPool(256);
function refill(): void { for (let i = 0; i < 256; i++) pool.data[i] = <u8>random(); pool.refilled(); }

const server = new StunReader();   // the server's view of the client's requests
for (let i = 0; i < TURN_REQUIRED_TYPES.length; i++) server.understand(<u32>TURN_REQUIRED_TYPES[i]);
const writer = new StunWriter();
let client = new TurnClient(pool, 4);
let reqLen: i32 = 0;
let msgLen: i32 = 0;

function sent(): i32 { return client.outbox.length; }
/** Takes the oldest datagram from the outbox into REQ and parses it; its length. */
function take(): i32 {
  expect(client.outbox.length).toBeGreaterThan(0, "the client sent nothing");
  reqLen = client.outbox.peekLength();
  memory.copy(REQ, client.outbox.peekData(), <usize>reqLen);
  expect(sockaddrEquals(client.outbox.peekAddress(), client.server)).toBe(true, "sent to the server");
  expect(client.outbox.peekConnection()).toBe(-1);
  client.outbox.pop();
  expect(server.parse(REQ, reqLen)).toBe(STUN_OK);
  return reqLen;
}
function expectRequest(method: u32, credentials: bool): void {
  take();
  expect(server.method).toBe(method);
  expect(server.messageClass).toBe(CLASS_REQUEST);
  expect(server.has(ATTR_FINGERPRINT)).toBe(true);
  expect(server.has(ATTR_USERNAME)).toBe(credentials);
  if (credentials) {
    expect(text(server.valuePtr(server.find(ATTR_USERNAME)), server.valueLen(server.find(ATTR_USERNAME)))).toBe("alice");
    expect(server.has(ATTR_REALM)).toBe(true);
    expect(server.has(ATTR_NONCE)).toBe(true);
    putHex(KEY, KEY_HEX);
    expect(server.checkMessageIntegrity(KEY, 16)).toBe(STUN_OK, "MESSAGE-INTEGRITY with MD5(user:realm:password)");
  } else expect(server.has(ATTR_MESSAGE_INTEGRITY)).toBe(false);
}
function nonceOf(): string { const i = server.find(ATTR_NONCE); return text(server.valuePtr(i), server.valueLen(i)); }
/** Starts the answer to the request in REQ. */
function reply(cls: u32): void { writer.begin(MSG, 2048, server.method, cls, REQ + 8); }
function replyError(code: i32, realm: string, nonce: string): void {
  reply(CLASS_ERROR);
  writer.addError(code);
  if (realm.length > 0) writer.addString(ATTR_REALM, realm);
  if (nonce.length > 0) writer.addString(ATTR_NONCE, nonce);
}
/** Seals (MESSAGE-INTEGRITY with the key, when asked; FINGERPRINT) and delivers it from the server. */
function deliver(integrity: bool): i32 {
  if (integrity) writer.addMessageIntegrity(KEY, putHex(KEY, KEY_HEX));
  writer.addFingerprint();
  msgLen = writer.finish();
  expect(msgLen).toBeGreaterThan(0);
  return client.unwrap(MSG, msgLen, SERVER);
}
function configure(c: TurnClient): i32 {
  setAddr(SERVER, "192.0.2.1", 3478);
  const u = put(ARG, "alice");
  put(ARG + 64, "secret");
  return c.configure(SERVER, ARG, u, ARG + 64, 6);
}
/** A fresh client taken through 401 -> authenticated Allocate; leaves the second Allocate in REQ. */
function challenged(now: i64): void {
  refill();
  client = new TurnClient(pool, 4);
  expect(configure(client)).toBe(TURN_OK);
  expect(client.allocate(now)).toBe(TURN_OK);
  expectRequest(METHOD_ALLOCATE, false);
  replyError(401, "tincan.test", "nonce-1");
  expect(deliver(false)).toBe(TURN_NOT_DATA);
  expectRequest(METHOD_ALLOCATE, true);
}
function allocateSuccess(lifetime: u32): i32 {
  reply(CLASS_SUCCESS);
  setAddr(SA, "203.0.113.5", 50000);
  writer.addAddress(ATTR_XOR_RELAYED_ADDRESS, SA, true);
  setAddr(SA, "198.51.100.7", 40000);
  writer.addAddress(ATTR_XOR_MAPPED_ADDRESS, SA, true);
  writer.addU32(ATTR_LIFETIME, lifetime);
  return deliver(true);
}
/** A READY client (allocation at t = 0, lifetime 600 s). */
function ready(): void {
  challenged(0);
  expect(allocateSuccess(600)).toBe(TURN_NOT_DATA);
  expect(client.state).toBe(TURN_READY);
}
function succeed(): i32 { reply(CLASS_SUCCESS); return deliver(true); }
function permitted(peer: usize): void {
  expect(client.permit(peer, 0)).toBeGreaterThanOrEqual(0);
  expectRequest(METHOD_CREATE_PERMISSION, true);
  expect(succeed()).toBe(TURN_NOT_DATA);
}
function bound(peer: usize, now: i64): i32 {
  const ch = client.bind(peer, now);
  expectRequest(METHOD_CHANNEL_BIND, true);
  expect(succeed()).toBe(TURN_NOT_DATA);
  return ch;
}
function payload(n: i32): void { for (let i = 0; i < n; i++) store<u8>(PAYLOAD + <usize>i, <u8>(i * 7 + 1)); }
/** A Data indication from peer with n payload bytes, in MSG; its length. */
function dataIndication(peer: usize, n: i32): i32 {
  putHex(ARG, "0102030405060708090a0b0c");
  writer.begin(MSG, 2048, METHOD_DATA, CLASS_INDICATION, ARG);
  writer.addAddress(ATTR_XOR_PEER_ADDRESS, peer, true);
  payload(n);
  writer.add(ATTR_DATA, PAYLOAD, n);
  return msgLen = writer.finish();
}
function channelData(channel: u32, n: i32): i32 {
  store<u8>(MSG, <u8>(channel >> 8)); store<u8>(MSG + 1, <u8>channel);
  store<u8>(MSG + 2, <u8>(n >> 8)); store<u8>(MSG + 3, <u8>n);
  payload(n);
  memory.copy(MSG + 4, PAYLOAD, <usize>n);
  return msgLen = 4 + n;
}

setAddr(PEER, "198.51.100.20", 6000);
setAddr(PEER2, "198.51.100.21", 6002);

describe("configure and allocate", () => {
  it("refuses bad input and calls out of order", () => {
    refill();
    const c = new TurnClient(pool, 2);
    expect(c.allocate(0)).toBe(TURN_ERR_NOT_CONFIGURED);
    memory.fill(SA, 0, 20);
    expect(c.configure(SA, ARG, 5, ARG, 6)).toBe(TURN_ERR_BAD_CONFIG);
    setAddr(SA, "192.0.2.1", 3478);
    expect(c.configure(SA, ARG, 0, ARG, 6)).toBe(TURN_ERR_BAD_CONFIG);
    expect(c.configure(SA, ARG, 257, ARG, 6)).toBe(TURN_ERR_BAD_CONFIG);
    expect(c.allocate(0)).toBe(TURN_ERR_NOT_CONFIGURED);
    expect(configure(c)).toBe(TURN_OK);
    expect(c.permit(PEER, 0)).toBe(TURN_ERR_NOT_READY);
    expect(c.bind(PEER, 0)).toBe(TURN_ERR_NOT_READY);
    expect(c.wrap(PAYLOAD, 10, PEER, OUT, 2048)).toBe(TURN_ERR_NOT_READY);
    expect(c.allocate(0)).toBe(TURN_OK);
    expect(c.state).toBe(TURN_ALLOCATING);
    expect(c.allocate(0)).toBe(TURN_ERR_BUSY);
    expect(configure(c)).toBe(TURN_ERR_BUSY);
  });

  it("first Allocate: REQUESTED-TRANSPORT UDP, FINGERPRINT, no credentials", () => {
    refill();
    client = new TurnClient(pool, 4);
    configure(client);
    client.allocate(0);
    expectRequest(METHOD_ALLOCATE, false);
    expect(server.count).toBe(2);
    expect(server.u32Value(ATTR_REQUESTED_TRANSPORT)).toBe(0x11000000);
    expect(reqLen).toBe(20 + 8 + 8);
    expect(sent()).toBe(0);
  });

  it("401 -> Allocate with USERNAME, REALM, NONCE, MESSAGE-INTEGRITY; 200 -> READY with relayed, mapped, lifetime", () => {
    challenged(0);
    expect(nonceOf()).toBe("nonce-1");
    expect(text(server.valuePtr(server.find(ATTR_REALM)), server.valueLen(server.find(ATTR_REALM)))).toBe("tincan.test");
    expect(server.u32Value(ATTR_REQUESTED_TRANSPORT)).toBe(0x11000000);
    expect(allocateSuccess(600)).toBe(TURN_NOT_DATA);
    expect(client.state).toBe(TURN_READY);
    expect(addr(client.relayed)).toBe("203.0.113.5 50000");
    expect(client.hasMapped).toBe(true);
    expect(addr(client.mapped)).toBe("198.51.100.7 40000");
    expect(client.lifetime).toBe(600);
    expect(client.error).toBe(0);
  });

  it("drops a success without a valid MESSAGE-INTEGRITY and keeps waiting", () => {
    challenged(0);
    reply(CLASS_SUCCESS);
    setAddr(SA, "203.0.113.5", 50000);
    writer.addAddress(ATTR_XOR_RELAYED_ADDRESS, SA, true);
    expect(deliver(false)).toBe(TURN_ERR_BAD_INTEGRITY);
    reply(CLASS_SUCCESS);
    writer.addAddress(ATTR_XOR_RELAYED_ADDRESS, SA, true);
    writer.addMessageIntegrity(KEY, putHex(KEY, OTHER_KEY_HEX));
    writer.addFingerprint();
    expect(client.unwrap(MSG, writer.finish(), SERVER)).toBe(TURN_ERR_BAD_INTEGRITY);
    expect(client.dropsOf(TURN_ERR_BAD_INTEGRITY)).toBe(2);
    expect(client.state).toBe(TURN_ALLOCATING);
    expect(allocateSuccess(600)).toBe(TURN_NOT_DATA);
    expect(client.state).toBe(TURN_READY);
    // the same answer again: a duplicate, consumed and counted by the transaction layer
    expect(client.unwrap(MSG, msgLen, SERVER)).toBe(TURN_NOT_DATA);
    expect(client.stun.unmatched).toBe(1);
  });

  it("a success without XOR-RELAYED-ADDRESS fails the allocation", () => {
    challenged(0);
    reply(CLASS_SUCCESS);
    writer.addU32(ATTR_LIFETIME, 600);
    expect(deliver(true)).toBe(TURN_NOT_DATA);
    expect(client.state).toBe(TURN_FAILED);
    expect(client.error).toBe(TURN_ERR_MALFORMED);
  });

  it("wrong password: a second 401 ends in FAILED with 401", () => {
    challenged(0);
    replyError(401, "tincan.test", "nonce-2");
    expect(deliver(false)).toBe(TURN_NOT_DATA);
    expect(client.state).toBe(TURN_FAILED);
    expect(client.error).toBe(401);
    expect(sent()).toBe(0);
    // and a new try starts over without credentials
    expect(client.allocate(10 * S)).toBe(TURN_OK);
    expectRequest(METHOD_ALLOCATE, false);
  });

  it("a 401 without REALM or NONCE fails with 401", () => {
    refill();
    client = new TurnClient(pool, 4);
    configure(client);
    client.allocate(0);
    take();
    replyError(401, "tincan.test", "");
    deliver(false);
    expect(client.state).toBe(TURN_FAILED);
    expect(client.error).toBe(401);
  });

  it("438 Stale Nonce: one retry with the new nonce; a second 438 fails", () => {
    challenged(0);
    replyError(438, "tincan.test", "nonce-2");
    expect(deliver(false)).toBe(TURN_NOT_DATA);
    expectRequest(METHOD_ALLOCATE, true);
    expect(nonceOf()).toBe("nonce-2");
    expect(client.staleNonces).toBe(1);
    replyError(438, "tincan.test", "nonce-3");
    deliver(false);
    expect(client.state).toBe(TURN_FAILED);
    expect(client.error).toBe(438);
  });

  it("a 438 with a new realm recomputes the key", () => {
    challenged(0);
    replyError(438, "other.realm", "nonce-2");
    deliver(false);
    take();
    expect(server.checkMessageIntegrity(KEY, putHex(KEY, OTHER_KEY_HEX))).toBe(STUN_OK);
    expect(server.checkMessageIntegrity(KEY, putHex(KEY, KEY_HEX))).not.toBe(STUN_OK);
  });

  it("300 Try Alternate: follows ALTERNATE-SERVER once, starting without credentials", () => {
    challenged(0);
    reply(CLASS_ERROR);
    writer.addError(300);
    setAddr(ALT, "192.0.2.99", 3479);
    writer.addAddress(ATTR_ALTERNATE_SERVER, ALT, false);
    expect(deliver(true)).toBe(TURN_NOT_DATA);
    expect(addr(client.server)).toBe("192.0.2.99 3479");
    expect(client.redirects).toBe(1);
    expectRequest(METHOD_ALLOCATE, false);
    // the old server is no longer heard
    replyError(401, "tincan.test", "n");
    expect(deliver(false)).toBe(TURN_ERR_NOT_FROM_SERVER);
    memory.copy(SERVER, ALT, 20);
    reply(CLASS_ERROR);
    writer.addError(300);
    writer.addAddress(ATTR_ALTERNATE_SERVER, ALT, false);
    deliver(false);
    expect(client.state).toBe(TURN_FAILED);
    expect(client.error).toBe(300);
  });

  it("437 (the server still holds the last allocation on our 5-tuple): Allocate again 400 ms on, 4 times, then FAILED", () => {
    challenged(0);
    let now: i64 = 0;
    for (let k = 0; k < 4; k++) {
      reply(CLASS_ERROR);
      writer.addError(437);
      expect(deliver(true)).toBe(TURN_NOT_DATA);
      expect(client.state).toBe(TURN_ALLOCATING, "still allocating after 437 number " + (k + 1).toString());
      expect(sent()).toBe(0, "nothing at once");
      const t = client.timeout();
      expect(t - now).toBe(400_000, "the retry is 400 ms on");
      now = t;
      client.tick(now);
      expectRequest(METHOD_ALLOCATE, true);
    }
    reply(CLASS_ERROR);
    writer.addError(437);
    expect(deliver(true)).toBe(TURN_NOT_DATA);
    expect(client.state).toBe(TURN_FAILED);
    expect(client.error).toBe(437);
  });

  it("437, then the allocation goes through on the retry", () => {
    challenged(0);
    reply(CLASS_ERROR);
    writer.addError(437);
    deliver(true);
    client.tick(client.timeout());
    expectRequest(METHOD_ALLOCATE, true);
    expect(allocateSuccess(600)).toBe(TURN_NOT_DATA);
    expect(client.state).toBe(TURN_READY);
  });

  it("403, 441, 486, 508 end in FAILED with the code", () => {
    const codes: i32[] = [403, 441, 486, 508, 400];
    for (let k = 0; k < codes.length; k++) {
      challenged(0);
      reply(CLASS_ERROR);
      writer.addError(codes[k]);
      expect(deliver(true)).toBe(TURN_NOT_DATA);
      expect(client.state).toBe(TURN_FAILED);
      expect(client.error).toBe(codes[k]);
    }
  });

  it("no answer: 7 sends, then FAILED with TURN_ERR_TIMEOUT at 39.5 s", () => {
    refill();
    client = new TurnClient(pool, 4);
    configure(client);
    client.allocate(0);
    let sends = 0;
    let t: i64 = 0;
    while (client.state == TURN_ALLOCATING && t < 100 * S) {
      while (sent() > 0) { take(); sends++; }
      t = client.timeout();
      expect(t).toBeGreaterThanOrEqual(0);
      client.tick(t);
    }
    expect(sends).toBe(7);
    expect(t).toBe(39_500_000);
    expect(client.error).toBe(TURN_ERR_TIMEOUT);
  });
});

describe("refresh", () => {
  it("allocation refresh timing: lifetime - 60 s, or half a short lifetime", () => {
    expect(allocationRefreshUs(600)).toBe(540 * S);
    expect(allocationRefreshUs(3600)).toBe(3540 * S);
    expect(allocationRefreshUs(120)).toBe(60 * S);
    expect(allocationRefreshUs(100)).toBe(50 * S);
    expect(allocationRefreshUs(1)).toBe(0);
  });

  it("sends Refresh (credentials, no LIFETIME) at 540 s, then every granted lifetime - 60 s", () => {
    ready();
    expect(client.timeout()).toBe(540 * S);
    client.tick(540 * S - 1);
    expect(sent()).toBe(0);
    client.tick(540 * S);
    expectRequest(METHOD_REFRESH, true);
    expect(server.has(ATTR_LIFETIME)).toBe(false);
    reply(CLASS_SUCCESS);
    writer.addU32(ATTR_LIFETIME, 300);
    expect(deliver(true)).toBe(TURN_NOT_DATA);
    expect(client.lifetime).toBe(300);
    expect(client.refreshes).toBe(1);
    expect(client.timeout()).toBe(780 * S);
  });

  it("a 438 on Refresh retries once with the new nonce; 437 fails the allocation", () => {
    ready();
    client.tick(540 * S);
    take();
    replyError(438, "tincan.test", "nonce-9");
    deliver(false);
    expectRequest(METHOD_REFRESH, true);
    expect(nonceOf()).toBe("nonce-9");
    reply(CLASS_ERROR);
    writer.addError(437);
    deliver(true);
    expect(client.state).toBe(TURN_FAILED);
    expect(client.error).toBe(437);
  });

  it("an unanswered Refresh is tried again; the allocation expires at 600 s", () => {
    ready();
    client.tick(540 * S);
    let refreshes = 0;
    for (let guard = 0; guard < 100 && client.state == TURN_READY; guard++) {
      while (sent() > 0) { take(); if (server.method == METHOD_REFRESH && load<u8>(REQ + 8) != 0xff) refreshes++; }
      client.tick(client.timeout());
    }
    expect(client.state).toBe(TURN_FAILED);
    expect(client.error).toBe(TURN_ERR_EXPIRED);
    expect(refreshes).toBeGreaterThan(7);
  });

  it("release: Refresh LIFETIME 0, IDLE on the answer", () => {
    ready();
    permitted(PEER);
    client.release(1 * S);
    expect(client.state).toBe(TURN_RELEASING);
    expectRequest(METHOD_REFRESH, true);
    expect(server.u32Value(ATTR_LIFETIME)).toBe(0);
    expect(succeed()).toBe(TURN_NOT_DATA);
    expect(client.state).toBe(TURN_IDLE);
    expect(client.timeout()).toBe(-1);
    expect(client.wrap(PAYLOAD, 10, PEER, OUT, 2048)).toBe(TURN_ERR_NOT_READY);
  });

  it("release gives up after one try's timeout", () => {
    ready();
    client.release(1 * S);
    while (client.state == TURN_RELEASING) { while (sent() > 0) take(); client.tick(client.timeout()); }
    expect(client.state).toBe(TURN_IDLE);
    expect(client.timeout()).toBe(-1);
  });
});

describe("permissions and channels", () => {
  it("CreatePermission carries the peer as XOR-PEER-ADDRESS; Send indications only once it is granted", () => {
    ready();
    expect(client.permit(PEER, 0)).toBe(0);
    expectRequest(METHOD_CREATE_PERMISSION, true);
    expect(server.address(ATTR_XOR_PEER_ADDRESS, true, SA)).toBe(STUN_OK);
    expect(addr(SA)).toBe("198.51.100.20 6000");
    payload(160);
    expect(client.wrap(PAYLOAD, 160, PEER, OUT, 2048)).toBe(TURN_ERR_NO_PERMISSION);
    expect(client.permit(PEER, 0)).toBe(0);
    expect(sent()).toBe(0); // one request at a time
    expect(succeed()).toBe(TURN_NOT_DATA);
    const n = client.wrap(PAYLOAD, 160, PEER, OUT, 2048);
    expect(n).toBe(20 + 12 + 4 + 160);
    expect(server.parse(OUT, n)).toBe(STUN_OK);
    expect(server.method).toBe(METHOD_SEND);
    expect(server.messageClass).toBe(CLASS_INDICATION);
    expect(server.count).toBe(2);
    expect(server.address(ATTR_XOR_PEER_ADDRESS, true, SA)).toBe(STUN_OK);
    expect(addr(SA)).toBe("198.51.100.20 6000");
    const d = server.find(ATTR_DATA);
    expect(server.valueLen(d)).toBe(160);
    expect(memory.compare(server.valuePtr(d), PAYLOAD, 160)).toBe(0);
    // the permission is per IP: another port of the same host may be sent to
    setAddr(SA, "198.51.100.20", 7000);
    expect(client.wrap(PAYLOAD, 160, SA, OUT, 2048)).toBe(196);
    expect(client.wrap(PAYLOAD, 160, PEER2, OUT, 2048)).toBe(TURN_ERR_NO_PERMISSION);
    expect(client.wrap(PAYLOAD, 160, PEER, OUT, 195)).toBe(TURN_ERR_NO_ROOM);
    expect(client.indicationsSent).toBe(2);
  });

  it("ChannelBind: CHANNEL-NUMBER 0x4000 then 0x4001; ChannelData once bound (4 bytes + payload, unpadded)", () => {
    ready();
    expect(client.bind(PEER, 0)).toBe(0x4000);
    expectRequest(METHOD_CHANNEL_BIND, true);
    expect(server.u32Value(ATTR_CHANNEL_NUMBER)).toBe(0x40000000);
    expect(server.address(ATTR_XOR_PEER_ADDRESS, true, SA)).toBe(STUN_OK);
    expect(addr(SA)).toBe("198.51.100.20 6000");
    expect(client.bind(PEER, 0)).toBe(0x4000);
    expect(sent()).toBe(0);
    payload(161);
    expect(client.wrap(PAYLOAD, 161, PEER, OUT, 2048)).toBe(TURN_ERR_NO_PERMISSION);
    expect(succeed()).toBe(TURN_NOT_DATA);
    const n = client.wrap(PAYLOAD, 161, PEER, OUT, 2048);
    expect(n).toBe(4 + 161);
    expect(readU16BE(OUT)).toBe(0x4000);
    expect(readU16BE(OUT + 2)).toBe(161);
    expect(memory.compare(OUT + 4, PAYLOAD, 161)).toBe(0);
    expect(channelDataLength(OUT, n)).toBe(161);
    expect(client.wrap(PAYLOAD, 161, PEER, OUT, 164)).toBe(TURN_ERR_NO_ROOM);
    expect(bound(PEER2, 0)).toBe(0x4001);
    expect(client.channelDataSent).toBe(1);
  });

  it("a failed ChannelBind leaves the peer unbound and counts it", () => {
    ready();
    client.bind(PEER, 0);
    take();
    reply(CLASS_ERROR);
    writer.addError(400);
    deliver(true);
    expect(client.state).toBe(TURN_READY);
    expect(client.peerFailures).toBe(1);
    expect(client.lastPeerError).toBe(400);
    expect(client.wrap(PAYLOAD, 10, PEER, OUT, 2048)).toBe(TURN_ERR_NO_PERMISSION);
    expect(client.bind(PEER, 0)).toBe(0x4001); // a new number: 0x4000 is not reused
  });

  it("a 438 on CreatePermission is retried once", () => {
    ready();
    client.permit(PEER, 0);
    take();
    replyError(438, "tincan.test", "nonce-5");
    deliver(false);
    expectRequest(METHOD_CREATE_PERMISSION, true);
    expect(nonceOf()).toBe("nonce-5");
    expect(succeed()).toBe(TURN_NOT_DATA);
    expect(client.wrap(PAYLOAD, 10, PEER, OUT, 2048)).toBeGreaterThan(0);
  });

  it("the peer table fills up with four IPs; more ports of one IP share its slot (a permission is per IP)", () => {
    ready();
    for (let i = 0; i < 4; i++) { setAddr(SA, "198.51.100." + (30 + i).toString(), 1000); expect(client.permit(SA, 0)).toBe(i); }
    while (sent() > 0) take();
    setAddr(SA, "198.51.100.99", 2000);
    expect(client.permit(SA, 0)).toBe(TURN_ERR_TABLE_FULL);
    setAddr(SA, "198.51.100.31", 2000);
    expect(client.permit(SA, 0)).toBe(1, "the slot of 198.51.100.31");
    expect(sent()).toBe(0, "no second CreatePermission for an IP that has one");
    // A channel for that address can still be bound on the slot it took over.
    expect(client.bind(SA, 0)).toBeGreaterThanOrEqual(0x4000);
  });

  it("refreshes a permission at 240 s while in use; lets it lapse at 300 s when not", () => {
    ready();
    permitted(PEER);
    expect(client.timeout()).toBe(240 * S);
    client.wrap(PAYLOAD, 10, PEER, OUT, 2048);
    client.tick(240 * S);
    expectRequest(METHOD_CREATE_PERMISSION, true);
    expect(succeed()).toBe(TURN_NOT_DATA);
    // not used since: no refresh at 480 s, gone at 540 s
    expect(client.timeout()).toBe(480 * S);
    client.tick(480 * S);
    expect(sent()).toBe(0);
    expect(client.timeout()).toBe(540 * S);
    client.tick(540 * S);
    take(); // the allocation's own Refresh, due at 540 s too
    expect(server.method).toBe(METHOD_REFRESH);
    expect(client.wrap(PAYLOAD, 10, PEER, OUT, 2048)).toBe(TURN_ERR_NO_PERMISSION);
  });

  it("a lapsing permission used again is refreshed at the next tick", () => {
    ready();
    permitted(PEER);
    client.tick(240 * S);
    expect(sent()).toBe(0);
    expect(client.timeout()).toBe(300 * S);
    expect(client.wrap(PAYLOAD, 10, PEER, OUT, 2048)).toBeGreaterThan(0);
    expect(client.timeout()).toBe(240 * S);
    client.tick(250 * S);
    expectRequest(METHOD_CREATE_PERMISSION, true);
  });

  it("a bound peer in use is refreshed with ChannelBind every 240 s (renewing its permission too)", () => {
    ready();
    bound(PEER, 0);
    expect(client.timeout()).toBe(240 * S);
    client.wrap(PAYLOAD, 10, PEER, OUT, 2048);
    client.tick(240 * S);
    expectRequest(METHOD_CHANNEL_BIND, true);
    expect(server.u32Value(ATTR_CHANNEL_NUMBER)).toBe(0x40000000);
    expect(succeed()).toBe(TURN_NOT_DATA);
    // heard from (ChannelData in) rather than sent to: still in use
    channelData(0x4000, 20);
    expect(client.unwrap(MSG, msgLen, SERVER)).toBe(4);
    client.tick(480 * S);
    expectRequest(METHOD_CHANNEL_BIND, true);
  });

  it("an unused bound peer: permission gone at 300 s (wrap refuses), channel forgotten at 600 s", () => {
    ready();
    bound(PEER, 0);
    client.tick(240 * S);
    expect(sent()).toBe(0);
    client.tick(300 * S);
    expect(client.wrap(PAYLOAD, 10, PEER, OUT, 2048)).toBe(TURN_ERR_NO_PERMISSION);
    channelData(0x4000, 8);
    expect(client.unwrap(MSG, msgLen, SERVER)).toBe(4); // the channel is still the server's until 600 s
  });
});

describe("unwrap", () => {
  it("ChannelData: payload offset 4, length, peer; optional padding up to 4", () => {
    ready();
    bound(PEER, 0);
    bound(PEER2, 0);
    channelData(0x4001, 13);
    expect(client.unwrap(MSG, 17, SERVER)).toBe(4);
    expect(client.length).toBe(13);
    expect(addr(client.peer)).toBe("198.51.100.21 6002");
    expect(client.unwrap(MSG, 20, SERVER)).toBe(4); // padded to 4
    expect(client.unwrap(MSG, 21, SERVER)).toBe(TURN_ERR_BAD_LENGTH);
    for (let n = 0; n < 17; n++) {
      const r = client.unwrap(MSG, n, SERVER);
      expect(r).toBe(n < 4 ? TURN_ERR_TOO_SHORT : TURN_ERR_BAD_LENGTH, n.toString());
    }
    channelData(0x4000, 0);
    expect(client.unwrap(MSG, 4, SERVER)).toBe(4);
    expect(client.length).toBe(0);
    expect(addr(client.peer)).toBe("198.51.100.20 6000");
    expect(client.channelDataReceived).toBe(3);
  });

  it("ChannelData refusals: unknown channel, reserved channel, not from the server, not TURN", () => {
    ready();
    bound(PEER, 0);
    channelData(0x4002, 8);
    expect(client.unwrap(MSG, msgLen, SERVER)).toBe(TURN_ERR_UNKNOWN_CHANNEL);
    channelData(0x5000, 8);
    expect(client.unwrap(MSG, msgLen, SERVER)).toBe(TURN_ERR_BAD_CHANNEL);
    channelData(0x7fff, 8);
    expect(client.unwrap(MSG, msgLen, SERVER)).toBe(TURN_ERR_BAD_CHANNEL);
    channelData(0x4000, 8);
    expect(client.unwrap(MSG, msgLen, PEER)).toBe(TURN_ERR_NOT_FROM_SERVER);
    store<u8>(MSG, 0x80); // an RTP version-2 byte
    expect(client.unwrap(MSG, msgLen, SERVER)).toBe(TURN_ERR_NOT_TURN);
    store<u8>(MSG, 0xc0);
    expect(client.unwrap(MSG, msgLen, SERVER)).toBe(TURN_ERR_NOT_TURN);
    expect(client.dropsOf(TURN_ERR_UNKNOWN_CHANNEL)).toBe(1);
    expect(client.dropsOf(TURN_ERR_BAD_CHANNEL)).toBe(2);
    expect(client.dropsOf(TURN_ERR_NOT_FROM_SERVER)).toBe(1);
    expect(client.dropsOf(TURN_ERR_NOT_TURN)).toBe(2);
    expect(client.dropped).toBe(6);
  });

  it("Data indication: the DATA value's offset, its length and the peer", () => {
    ready();
    permitted(PEER);
    const n = dataIndication(PEER, 160);
    expect(client.unwrap(MSG, n, SERVER)).toBe(20 + 12 + 4);
    expect(client.length).toBe(160);
    expect(addr(client.peer)).toBe("198.51.100.20 6000");
    expect(memory.compare(MSG + 36, PAYLOAD, 160)).toBe(0);
    expect(client.indicationsReceived).toBe(1);
    // any port of a permitted IP
    setAddr(SA, "198.51.100.20", 1);
    expect(client.unwrap(MSG, dataIndication(SA, 3), SERVER)).toBe(36);
  });

  it("Data indication refusals: no permission, missing DATA or peer, unknown required attribute, truncation", () => {
    ready();
    permitted(PEER);
    expect(client.unwrap(MSG, dataIndication(PEER2, 10), SERVER)).toBe(TURN_ERR_NO_PERMISSION);
    putHex(ARG, "0102030405060708090a0b0c");
    writer.begin(MSG, 2048, METHOD_DATA, CLASS_INDICATION, ARG);
    writer.addAddress(ATTR_XOR_PEER_ADDRESS, PEER, true);
    expect(client.unwrap(MSG, writer.finish(), SERVER)).toBe(TURN_ERR_MALFORMED);
    writer.begin(MSG, 2048, METHOD_DATA, CLASS_INDICATION, ARG);
    writer.add(ATTR_DATA, PAYLOAD, 10);
    expect(client.unwrap(MSG, writer.finish(), SERVER)).toBe(TURN_ERR_MALFORMED);
    writer.begin(MSG, 2048, METHOD_DATA, CLASS_INDICATION, ARG);
    writer.addAddress(ATTR_XOR_PEER_ADDRESS, PEER, true);
    writer.add(ATTR_DATA, PAYLOAD, 10);
    writer.add(0x7f33, PAYLOAD, 4);
    expect(client.unwrap(MSG, writer.finish(), SERVER)).toBe(TURN_ERR_MALFORMED);
    writer.begin(MSG, 2048, METHOD_DATA, CLASS_INDICATION, ARG);
    writer.add(ATTR_XOR_PEER_ADDRESS, PAYLOAD, 7); // an address of the wrong length
    writer.add(ATTR_DATA, PAYLOAD, 10);
    expect(client.unwrap(MSG, writer.finish(), SERVER)).toBe(TURN_ERR_MALFORMED);
    const n = dataIndication(PEER, 17);
    for (let k = 0; k < n; k++) {
      const r = client.unwrap(MSG, k, SERVER);
      expect(r).toBe(k < 4 ? TURN_ERR_TOO_SHORT : TURN_ERR_MALFORMED, k.toString());
    }
    expect(client.unwrap(MSG, n, SERVER)).toBe(36);
  });

  it("requests, Send indications and Binding answers from the server are not the client's", () => {
    ready();
    putHex(ARG, "0102030405060708090a0b0c");
    writer.begin(MSG, 2048, METHOD_BINDING, CLASS_REQUEST, ARG);
    expect(client.unwrap(MSG, writer.finish(), SERVER)).toBe(TURN_ERR_UNEXPECTED);
    writer.begin(MSG, 2048, METHOD_SEND, CLASS_INDICATION, ARG);
    expect(client.unwrap(MSG, writer.finish(), SERVER)).toBe(TURN_ERR_UNEXPECTED);
    writer.begin(MSG, 2048, METHOD_ALLOCATE, CLASS_REQUEST, ARG);
    expect(client.unwrap(MSG, writer.finish(), SERVER)).toBe(TURN_ERR_UNEXPECTED);
    // a Binding answer (the ICE agent's srflx check to the same server) is left to the caller
    writer.begin(MSG, 2048, METHOD_BINDING, CLASS_SUCCESS, ARG);
    writer.addAddress(ATTR_XOR_MAPPED_ADDRESS, PEER, true);
    expect(client.unwrap(MSG, writer.finish(), SERVER)).toBe(TURN_ERR_UNEXPECTED);
    expect(client.stun.unmatched).toBe(0);
    expect(client.dropsOf(TURN_ERR_UNEXPECTED)).toBe(4);
  });

  it("a response of the wrong method for its transaction fails that request", () => {
    ready();
    client.permit(PEER, 0);
    take();
    writer.begin(MSG, 2048, METHOD_CHANNEL_BIND, CLASS_SUCCESS, REQ + 8);
    expect(deliver(true)).toBe(TURN_ERR_MALFORMED);
    expect(client.peerFailures).toBe(1);
    expect(client.wrap(PAYLOAD, 10, PEER, OUT, 2048)).toBe(TURN_ERR_NO_PERMISSION);
  });
});

// The fuzz run's helpers: no expect() (it allocates), so the heap can be watched.
const PEER3 = memory.data(20);
const RELAYED = memory.data(20);
setAddr(PEER3, "198.51.100.22", 6004);
setAddr(RELAYED, "203.0.113.5", 50000);
function rawTake(): void {
  reqLen = client.outbox.peekLength();
  memory.copy(REQ, client.outbox.peekData(), <usize>reqLen);
  client.outbox.pop();
  server.parse(REQ, reqLen);
}
function rawDeliver(integrity: bool): i32 {
  if (integrity) writer.addMessageIntegrity(KEY, putHex(KEY, KEY_HEX));
  writer.addFingerprint();
  msgLen = writer.finish();
  return client.unwrap(MSG, msgLen, SERVER);
}
function rawSucceed(): void { reply(CLASS_SUCCESS); rawDeliver(true); }
/** Back to READY on the same client (nothing allocated): PEER bound, PEER2 permitted, PEER3's CreatePermission left out. */
function restore(now: i64): void {
  while (sent() > 0) client.outbox.pop();
  client.release(now);
  if (client.state == TURN_RELEASING) { rawTake(); rawSucceed(); }
  client.release(now);
  client.allocate(now);
  rawTake(); replyError(401, "tincan.test", "nonce-1"); rawDeliver(false);
  rawTake(); reply(CLASS_SUCCESS); writer.addAddress(ATTR_XOR_RELAYED_ADDRESS, RELAYED, true); writer.addU32(ATTR_LIFETIME, 600); rawDeliver(true);
  client.bind(PEER, now); rawTake(); rawSucceed();
  client.permit(PEER2, now); rawTake(); rawSucceed();
  client.permit(PEER3, now); rawTake();
}

// Server datagrams a fuzz run starts from: each kind the client reads.
const SEED = memory.data(2048 * 6);
const SEED_LEN = new StaticArray<i32>(6);
function seed(k: i32, n: i32): void { memory.copy(SEED + <usize>(k * 2048), MSG, <usize>n); SEED_LEN[k] = n; }

/** Seeds for the current state: ChannelData, a Data indication, and answers to PEER3's CreatePermission (in REQ). */
function seeds(): void {
  seed(0, channelData(0x4000, 40));
  seed(1, dataIndication(PEER2, 50));
  replyError(438, "tincan.test", "nonce-x"); writer.addFingerprint(); seed(2, writer.finish());
  reply(CLASS_SUCCESS); writer.addMessageIntegrity(KEY, putHex(KEY, KEY_HEX)); writer.addFingerprint(); seed(3, writer.finish());
  reply(CLASS_SUCCESS); writer.addAddress(ATTR_XOR_RELAYED_ADDRESS, RELAYED, true); writer.addAddress(ATTR_XOR_MAPPED_ADDRESS, PEER, true);
  writer.addU32(ATTR_LIFETIME, 600); writer.addMessageIntegrity(KEY, putHex(KEY, KEY_HEX)); writer.addFingerprint(); seed(4, writer.finish());
  replyError(401, "tincan.test", "nonce-y"); seed(5, writer.finish());
}

describe("robustness", () => {
  it("100,000 random mutations of server datagrams: no trap, every result accounted for, a flat heap", () => {
    refill();
    client = new TurnClient(pool, 4);
    configure(client);
    restore(0);
    expect(client.state).toBe(TURN_READY);
    seeds();
    let top: usize = 0;
    let data = 0, consumed = 0, refused = 0, odd = 0, failures = 0;
    for (let i = 0; i < 100_000; i++) {
      const k = <i32>(random() % 6);
      let n = SEED_LEN[k];
      memory.copy(MSG, SEED + <usize>(k * 2048), <usize>n);
      const flips = 1 + <i32>(random() % 4);
      for (let f = 0; f < flips; f++) {
        const what = random() % 4;
        if (what == 0) store<u8>(MSG + <usize>(random() % <u32>max(n, 1)), <u8>random());
        else if (what == 1) n = <i32>(random() % <u32>(n + 1));
        else if (what == 2) store<u8>(MSG + <usize>(random() % 4), <u8>random()); // the header: type, length
        else n = min(2048, n + <i32>(random() % 8));
      }
      const t: i64 = <i64>i * 10;
      const r = client.unwrap(MSG, n, SERVER, t);
      if (r >= 0) { data++; if (r + client.length > n) odd++; }
      else if (r == TURN_NOT_DATA) consumed++;
      else if (r < TURN_ERR_NO_ROOM) odd++;
      else refused++;
      if ((i & 1023) == 0) {
        // Start over (release, 401, Allocate, bind, permit), so mutated answers meet live transactions.
        client.tick(t);
        if (client.state != TURN_READY) failures++;
        restore(t);
        seeds();
        if (i == 8192) top = heapTop();
      }
    }
    const after = heapTop(); // before any expect(), which allocates
    expect(after).toBe(top, "the heap grew");
    expect(odd).toBe(0);
    expect(data).toBeGreaterThan(1000);
    expect(refused).toBeGreaterThan(10000);
    expect(consumed + data + refused).toBe(100_000);
    expect(client.peerFailures + <u32>failures).toBeGreaterThan(0); // some mutations reached the response paths
    expect(client.state).toBe(TURN_READY);
  });

  it("the per-packet paths allocate nothing across 5,000 packets each way", () => {
    ready();
    bound(PEER, 0);
    permitted(PEER2);
    payload(160);
    const before = heapTop();
    let wrong = 0;
    for (let i = 0; i < 5000; i++) {
      if (client.wrap(PAYLOAD, 160, PEER, OUT, 2048) != 164) wrong++;
      if (client.wrap(PAYLOAD, 160, PEER2, OUT, 2048) != 196) wrong++;
      channelData(0x4000, 160);
      if (client.unwrap(MSG, msgLen, SERVER) != 4) wrong++;
      if (client.unwrap(MSG, dataIndication(PEER2, 160), SERVER) != 36) wrong++;
    }
    expect(heapTop()).toBe(before);
    expect(wrong).toBe(0);
  });
});
