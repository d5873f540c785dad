// The far end of stun-fuzz.test.ts, written from the RFCs on Node's crypto and zlib, apart
// from the firmware: STUN messages (RFC 8489: header, attributes, MESSAGE-INTEGRITY with
// HMAC-SHA1, FINGERPRINT with CRC-32), XOR-MAPPED-ADDRESS and the ICE attributes (RFC 8445),
// the SRTP/SRTCP of AES_CM_128_HMAC_SHA1_80 (RFC 3711), and FarEnd: a simulated board whose
// datagrams are caught, that takes a call with ICE from the test (nothing really sent).

import crypto from "node:crypto";
import zlib from "node:zlib";
import assert from "node:assert/strict";
import { ConfigCommand, encodePairs } from "../../host-tools/config/client.ts";
import { CallCommand, decodeStatus, type CallStatus } from "../../host-tools/call/client.ts";
import { Kind, Status, decodeFrame, encodeFrame, MAX_FRAME, type Frame } from "../../host-tools/link/frame.ts";
import { SlipDecoder, slipEncode } from "../../host-tools/link/slip.ts";
import { decodeSockaddr, type Datagram, type UdpTable } from "../../host-tools/sim/udp.ts";
import type { SimBoard } from "../../host-tools/sim/board.ts";
import { virtualBoard } from "./helpers.ts";

export const COOKIE = 0x2112a442;
const FINGERPRINT_XOR = 0x5354554e;
export const BINDING = 0x001;
export const Cls = { REQUEST: 0, INDICATION: 1, SUCCESS: 2, ERROR: 3 } as const;
export const Attr = {
  MAPPED_ADDRESS: 0x0001, USERNAME: 0x0006, MESSAGE_INTEGRITY: 0x0008, ERROR_CODE: 0x0009, UNKNOWN_ATTRIBUTES: 0x000a,
  REALM: 0x0014, NONCE: 0x0015, MESSAGE_INTEGRITY_SHA256: 0x001c, XOR_MAPPED_ADDRESS: 0x0020, PRIORITY: 0x0024,
  USE_CANDIDATE: 0x0025, SOFTWARE: 0x8022, FINGERPRINT: 0x8028, ICE_CONTROLLED: 0x8029, ICE_CONTROLLING: 0x802a,
} as const;

export const stunType = (method: number, cls: number): number =>
  ((method & 0xf80) << 2) | ((method & 0x070) << 1) | (method & 0x00f) | ((cls & 2) << 7) | ((cls & 1) << 4);
const classOf = (type: number): number => ((type >> 7) & 2) | ((type >> 4) & 1);
const methodOf = (type: number): number => ((type >> 2) & 0xf80) | ((type >> 1) & 0x070) | (type & 0x00f);
export type Rand = () => number;

export interface StunAttr { type: number; value: Buffer }
export interface Stun {
  method: number; cls: number; tid: Buffer; attrs: StunAttr[]; raw: Buffer;
  integrityAt: number;    // offset of the first MESSAGE-INTEGRITY, or -1
  fingerprintAt: number;  // offset of FINGERPRINT, or -1
}

/** One datagram as STUN, or why it is not. strict: zero padding, nothing but FINGERPRINT after MESSAGE-INTEGRITY. */
export function decodeStun(b: Buffer, strict = false): Stun | string {
  if (b.length < 20) return `${b.length} bytes: shorter than a header`;
  const type = b.readUInt16BE(0);
  if (type & 0xc000) return "first two bits set";
  if (b.readUInt32BE(4) !== COOKIE) return "no magic cookie";
  const length = b.readUInt16BE(2);
  if (length % 4 || length !== b.length - 20) return `header length ${length} for a ${b.length - 20}-byte body`;
  const attrs: StunAttr[] = [];
  let integrityAt = -1, fingerprintAt = -1;
  for (let off = 20; off < b.length;) {
    if (fingerprintAt >= 0) return "an attribute after FINGERPRINT";
    const t = b.readUInt16BE(off), l = b.readUInt16BE(off + 2);
    const padded = (l + 3) & ~3;
    if (off + 4 + padded > b.length) return `attribute 0x${t.toString(16)} of ${l} bytes runs past the end`;
    if (strict && b.subarray(off + 4 + l, off + 4 + padded).some((x) => x !== 0)) return `attribute 0x${t.toString(16)} padded with non-zero bytes`;
    if (strict && integrityAt >= 0 && t !== Attr.FINGERPRINT) return `attribute 0x${t.toString(16)} after MESSAGE-INTEGRITY`;
    if (t === Attr.MESSAGE_INTEGRITY && integrityAt < 0) integrityAt = off;
    if (t === Attr.FINGERPRINT) fingerprintAt = off;
    attrs.push({ type: t, value: b.subarray(off + 4, off + 4 + l) });
    off += 4 + padded;
  }
  if (fingerprintAt >= 0 && !fingerprintOk(b, fingerprintAt)) return "FINGERPRINT wrong";
  return { method: methodOf(type), cls: classOf(type), tid: b.subarray(8, 20), attrs, raw: b, integrityAt, fingerprintAt };
}

export const attr = (m: Stun, type: number): Buffer | undefined => m.attrs.find((a) => a.type === type)?.value;

function fingerprintOk(b: Buffer, at: number): boolean {
  return b.readUInt16BE(at + 2) === 4 && ((zlib.crc32(b.subarray(0, at)) ^ FINGERPRINT_XOR) >>> 0) === b.readUInt32BE(at + 4);
}

/** The HMAC-SHA1 of a MESSAGE-INTEGRITY at offset `at`: over [0, at) with the length ending right after it. */
function mac(b: Buffer, at: number, key: Buffer): Buffer {
  const head = Buffer.from(b.subarray(0, 4));
  head.writeUInt16BE(at - 20 + 24, 2);
  return crypto.createHmac("sha1", key).update(head).update(b.subarray(4, at)).digest();
}

/** MESSAGE-INTEGRITY present, 20 bytes, and right for the key. */
export function integrityOk(m: Stun, key: Buffer): boolean {
  const at = m.integrityAt;
  return at >= 0 && m.raw.readUInt16BE(at + 2) === 20 && mac(m.raw, at, key).equals(m.raw.subarray(at + 4, at + 24));
}

/** Header and body bytes as they are, then MESSAGE-INTEGRITY (with a key) and FINGERPRINT, the length fixed to match. */
export function seal(body: Buffer, key: Buffer | undefined, fingerprint = true): Buffer {
  const out = Buffer.alloc(body.length + (key ? 24 : 0) + (fingerprint ? 8 : 0));
  body.copy(out);
  let at = body.length;
  if (key) {
    out.writeUInt16BE(Attr.MESSAGE_INTEGRITY, at); out.writeUInt16BE(20, at + 2);
    out.writeUInt16BE((at - 20 + 24) & 0xffff, 2);
    mac(out, at, key).copy(out, at + 4);
    at += 24;
  }
  if (fingerprint) {
    out.writeUInt16BE(Attr.FINGERPRINT, at); out.writeUInt16BE(4, at + 2);
    out.writeUInt16BE((at - 20 + 8) & 0xffff, 2);
    out.writeUInt32BE((zlib.crc32(out.subarray(0, at)) ^ FINGERPRINT_XOR) >>> 0, at + 4);
  }
  return out;
}

/** A header and zero-padded attributes (the length counting them), unsealed. */
export function encodeStun(type: number, tid: Buffer, attrs: StunAttr[]): Buffer {
  const parts = attrs.map((a) => {
    const p = Buffer.alloc(4 + ((a.value.length + 3) & ~3));
    p.writeUInt16BE(a.type, 0); p.writeUInt16BE(a.value.length & 0xffff, 2); a.value.copy(p, 4);
    return p;
  });
  const head = Buffer.alloc(20);
  head.writeUInt16BE(type, 0);
  head.writeUInt16BE(parts.reduce((n, p) => n + p.length, 0) & 0xffff, 2);
  head.writeUInt32BE(COOKIE, 4);
  tid.copy(head, 8);
  return Buffer.concat([head, ...parts]);
}

/** The attributes before any seal, read leniently (a mutant's framing may lie). */
export function unsealedAttrs(b: Buffer): StunAttr[] {
  const out: StunAttr[] = [];
  for (let off = 20; off + 4 <= b.length;) {
    const t = b.readUInt16BE(off), l = b.readUInt16BE(off + 2);
    if (t === Attr.MESSAGE_INTEGRITY || t === Attr.FINGERPRINT) break;
    out.push({ type: t, value: Buffer.from(b.subarray(off + 4, Math.min(b.length, off + 4 + l))) });
    off += 4 + ((l + 3) & ~3);
  }
  return out;
}

export const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32BE(n >>> 0); return b; };
export const u64 = (n: bigint): Buffer => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt.asUintN(64, n)); return b; };

/** XOR-MAPPED-ADDRESS of an IPv4 address and port. */
export function xorAddress(address: string, port: number): Buffer {
  const v = Buffer.alloc(8);
  v[1] = 0x01;
  v.writeUInt16BE(port ^ (COOKIE >>> 16), 2);
  v.writeUInt32BE((address.split(".").reduce((n, x) => n * 256 + Number(x), 0) ^ COOKIE) >>> 0, 4);
  return v;
}

/** "a.b.c.d:port" of an XOR-MAPPED-ADDRESS value (IPv4 only), or undefined. */
export function readXorAddress(v: Buffer): string | undefined {
  if (v.length !== 8 || v[1] !== 0x01) return undefined;
  const a = (v.readUInt32BE(4) ^ COOKIE) >>> 0;
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}:${v.readUInt16BE(2) ^ (COOKIE >>> 16)}`;
}

// ---- SRTP / SRTCP, AES_CM_128_HMAC_SHA1_80 -------------------------------------------------

interface Keys { enc: Buffer; auth: Buffer; salt: Buffer }

/** One direction's SRTP and SRTCP keys from the 30-byte inline key||salt of an a=crypto line. */
export class Srtp {
  private readonly rtp: Keys;
  private readonly rtcp: Keys;
  constructor(inline: Buffer) {
    const key = inline.subarray(0, 16), salt = inline.subarray(16, 30);
    const derive = (label: number, n: number) => {
      const iv = Buffer.alloc(16);
      salt.copy(iv);
      iv[7] ^= label; // key_id = label || 48-bit index (0: no key derivation rate), against the salt's low bits
      return crypto.createCipheriv("aes-128-ctr", key, iv).update(Buffer.alloc(n));
    };
    this.rtp = { enc: derive(0, 16), auth: derive(1, 20), salt: derive(2, 14) };
    this.rtcp = { enc: derive(3, 16), auth: derive(4, 20), salt: derive(5, 14) };
  }

  private static iv(k: Keys, ssrc: number, index: bigint): Buffer {
    const iv = Buffer.alloc(16);
    k.salt.copy(iv);
    iv.writeUInt32BE((iv.readUInt32BE(4) ^ ssrc) >>> 0, 4);
    const x = (BigInt(iv.readUIntBE(8, 6)) ^ index) & 0xffffffffffffn;
    iv.writeUIntBE(Number(x), 8, 6);
    return iv;
  }

  /** A protected RTP packet: 12-byte header + payload; roc: the rollover counter of its sequence number. */
  protectRtp(packet: Buffer, roc: number): Buffer {
    const seq = packet.readUInt16BE(2), ssrc = packet.readUInt32BE(8);
    const iv = Srtp.iv(this.rtp, ssrc, (BigInt(roc) << 16n) | BigInt(seq));
    const body = crypto.createCipheriv("aes-128-ctr", this.rtp.enc, iv).update(packet.subarray(12));
    const out = Buffer.concat([packet.subarray(0, 12), body]);
    return Buffer.concat([out, this.tag(this.rtp.auth, out, u32(roc))]);
  }

  private tag(auth: Buffer, data: Buffer, extra: Buffer): Buffer {
    return crypto.createHmac("sha1", auth).update(data).update(extra).digest().subarray(0, 10);
  }

  rtpAuthentic(p: Buffer, roc: number): boolean {
    return p.length > 22 && this.tag(this.rtp.auth, p.subarray(0, p.length - 10), u32(roc)).equals(p.subarray(p.length - 10));
  }

  /** SRTCP: header, encrypted rest, E||index, then the tag over all of that. */
  rtcpAuthentic(p: Buffer): boolean {
    return p.length >= 8 + 4 + 10 && this.tag(this.rtcp.auth, p.subarray(0, p.length - 10), Buffer.alloc(0)).equals(p.subarray(p.length - 10));
  }
}

// ---- the board, and the call it takes from us ----------------------------------------------

export const PEER = "192.0.2.9";              // the far end's address as the board sees it
export const OURS = `${PEER}:40000`;          // our one host candidate
export const SIP_HANDLE = 0, MEDIA_HANDLE = 1; // main.ts opens the SIP socket, then the media one

export interface Sent { handle: number; to: string; data: Buffer }
export interface Call {
  boardUfrag: string; boardKey: Buffer; boardMedia: string; boardSrtp: Srtp; ourSrtp: Srtp; tieBreaker: bigint;
  username: Buffer;  // "boardUfrag:ourUfrag", the USERNAME of our checks
}

export class FarEnd {
  readonly sent: Sent[] = [];
  readonly ufrag = "fzU1";
  readonly key = Buffer.from("FuzzFarEndPassword0123+/", "latin1"); // our ice-pwd: the board's checks carry it
  c!: Call;
  private callFrom = 0;  // sent[] index where the call began: its checks may go out before connect()
  private readonly frames: Frame[] = [];
  private id = 0;
  private readonly inject: { queueDatagram(d: Datagram): void };
  private readonly udp: UdpTable;

  private constructor(readonly board: SimBoard, readonly address: string, private readonly rand: Rand) {
    this.inject = board as unknown as { queueDatagram(d: Datagram): void }; // a socket's "message" path, run synchronously
    const udp = (board as unknown as { udp: UdpTable }).udp;
    this.udp = udp;
    udp.send = (handle: number, addr: Uint8Array, data: Uint8Array): number => {
      const d = decodeSockaddr(addr);
      this.sent.push({ handle, to: d ? `${d.address}:${d.port}` : "?", data: Buffer.from(data) });
      return data.length;
    };
    const decoder = new SlipDecoder({ onFrame: (f) => this.frames.push(decodeFrame(f)) }, { maxFrame: MAX_FRAME });
    board.on("uart", (b: Uint8Array) => decoder.push(b));
  }

  /** A board on a loopback address of its own (its sockets must bind), set to answer calls. */
  static async boot(seed: number, rand: Rand): Promise<FarEnd> {
    const address = `127.45.${(seed >>> 8) & 0xff}.${2 + (seed % 250)}`;
    const far = new FarEnd(virtualBoard({ address4: address }), address, rand);
    const logs: string[] = [];
    far.board.on("log", (l: string) => logs.push(l));
    // The ports bind on the host's event loop: give it turns until the board has learnt them.
    for (let i = 0; i < 200 && !logs.some((l) => l.includes("SIP on port")); i++) {
      await new Promise((r) => setTimeout(r, 5));
      far.board.runFor(10_000);
    }
    assert.ok(logs.some((l) => l.includes("SIP on port")), `the board learnt its addresses: ${logs.join(" | ")}`);
    far.board.runFor(1_000_000 - far.board.nowUs()); // the same virtual time however long the host took
    const settings = [["sip.account", `sip:door@${address}`], ["call.auto_answer", "on"], ["nat.ice", "on"]];
    assert.equal(far.ask(ConfigCommand.SET, encodePairs(settings.map(([key, value]) => ({ key, value })))).status, Status.OK, "configured");
    far.board.runFor(100_000);
    return far;
  }

  ask(command: number, payload: Uint8Array): Frame {
    this.frames.length = 0;
    this.board.feedUart(slipEncode(encodeFrame({ kind: Kind.REQUEST, command, id: ++this.id & 0xffff, status: 0, payload })));
    const reply = this.frames.find((f) => f.kind === Kind.RESPONSE && f.id === (this.id & 0xffff));
    assert.ok(reply, `the console answered command ${command}`);
    return reply;
  }

  status(): CallStatus { return decodeStatus(this.ask(CallCommand.STATUS, new Uint8Array(0)).payload); }

  deliver(handle: number, data: Buffer, from: string): void {
    const [address, port] = from.split(":");
    this.inject.queueDatagram({ handle, data, family: 4, address, port: Number(port) });
  }

  tid(): Buffer { return Buffer.from(Array.from({ length: 12 }, () => this.rand() & 0xff)); }

  /** Our connectivity check, as a controlling agent (RFC 8445 7.2.2). */
  check(useCandidate: boolean, tid = this.tid()): Buffer {
    return seal(encodeStun(stunType(BINDING, Cls.REQUEST), tid, [
      { type: Attr.USERNAME, value: this.c.username }, { type: Attr.PRIORITY, value: u32(0x6e7fffff) },
      { type: Attr.ICE_CONTROLLING, value: u64(this.c.tieBreaker) },
      ...(useCandidate ? [{ type: Attr.USE_CANDIDATE, value: Buffer.alloc(0) }] : [])]), this.c.boardKey);
  }

  /** Our success answer to the board's check `tid` (it came from `to`). */
  answer(tid: Buffer, to = this.c.boardMedia): Buffer {
    const [a, p] = to.split(":");
    return seal(encodeStun(stunType(BINDING, Cls.SUCCESS), tid, [{ type: Attr.XOR_MAPPED_ADDRESS, value: xorAddress(a, Number(p)) }]), this.key);
  }

  /** The board's checks (or consent checks) to us in sent[from..], sealed with our password. */
  checksIn(from: number): Stun[] {
    return this.sent.slice(from).filter((s) => s.handle === MEDIA_HANDLE && s.to === OURS && s.data[0] < 4)
      .map((s) => decodeStun(s.data, true)).filter((m): m is Stun => typeof m !== "string" && m.cls === Cls.REQUEST && integrityOk(m, this.key));
  }

  /** INVITE with our ICE credentials, host candidate and SRTP key; the board answers (auto_answer), we ACK. */
  call(): Call {
    const key = Buffer.from(Array.from({ length: 30 }, () => this.rand() & 0xff));
    this.callFrom = this.sent.length;
    const sdp = `v=0\r\no=- 1 1 IN IP4 ${PEER}\r\ns=-\r\nc=IN IP4 ${PEER}\r\nt=0 0\r\nm=audio 40000 RTP/SAVP 9 101\r\n` +
      "a=rtpmap:9 G722/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=rtcp-mux\r\na=sendrecv\r\na=ptime:20\r\n" +
      `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${key.toString("base64")}\r\na=ice-ufrag:${this.ufrag}\r\n` +
      `a=ice-pwd:${this.key.toString("latin1")}\r\na=candidate:1 1 UDP 2130706431 ${PEER} 40000 typ host\r\n`;
    const head = (method: string, toTag: string) => `${method} sip:door@${this.address} SIP/2.0\r\n` +
      `Via: SIP/2.0/UDP ${PEER}:5060;branch=z9hG4bKfz${method}\r\nMax-Forwards: 70\r\nFrom: <sip:hall@${PEER}>;tag=fz1\r\n` +
      `To: <sip:door@${this.address}>${toTag}\r\nCall-ID: stunfuzz@${PEER}\r\nCSeq: 1 ${method}\r\nContact: <sip:hall@${PEER}:5060>\r\n`;
    const sip = `${PEER}:5060`;
    this.deliver(SIP_HANDLE, Buffer.from(`${head("INVITE", "")}Content-Type: application/sdp\r\nContent-Length: ${sdp.length}\r\n\r\n${sdp}`, "latin1"), sip);
    let ok: string | undefined;
    for (let i = 0; i < 100 && !ok; i++) {
      this.board.runFor(10_000);
      ok = this.sent.map((s) => s.data.toString("latin1")).find((t) => /^SIP\/2\.0 200 /.test(t) && /^CSeq: 1 INVITE/im.test(t));
    }
    assert.ok(ok, `the board answered the INVITE 200: ${this.sent.map((s) => s.data.toString("latin1", 0, 40)).join(" | ")}`);
    const field = (re: RegExp) => { const m = re.exec(ok!); assert.ok(m, `the 200's SDP has ${re.source}:\n${ok}`); return m[1]; };
    this.deliver(SIP_HANDLE, Buffer.from(`${head("ACK", field(/^To:.*(;tag=[^;\s>]+)/im))}Content-Length: 0\r\n\r\n`, "latin1"), sip);
    const port = Number(field(/^m=audio (\d+) /m));
    assert.equal(this.udp.localPort(MEDIA_HANDLE), port, "the media socket is handle 1");
    field(new RegExp(`^a=candidate:(\\S+) 1 UDP \\d+ ${this.address.replaceAll(".", "\\.")} ${port} typ host`, "mi"));
    const boardUfrag = field(/^a=ice-ufrag:(\S+)/m);
    this.c = {
      boardUfrag, boardKey: Buffer.from(field(/^a=ice-pwd:(\S+)/m), "latin1"), boardMedia: `${this.address}:${port}`,
      boardSrtp: new Srtp(Buffer.from(field(/^a=crypto:\d+ AES_CM_128_HMAC_SHA1_80 inline:([A-Za-z0-9+/=]+)/m), "base64")),
      ourSrtp: new Srtp(key), tieBreaker: (BigInt(this.rand()) << 32n) | BigInt(this.rand()),
      username: Buffer.from(`${boardUfrag}:${this.ufrag}`, "latin1"),
    };
    return this.c;
  }

  /** ICE up with us controlling: our nominating check every 50 ms, the board's checks answered; its status then. */
  connect(): CallStatus {
    let s = this.status();
    for (let t = 0, seen = this.callFrom; t < 200 && s.ice.state !== "connected"; t++) {
      if (t % 5 === 0) this.deliver(MEDIA_HANDLE, this.check(true), OURS);
      this.board.runFor(10_000);
      for (const m of this.checksIn(seen)) this.deliver(MEDIA_HANDLE, this.answer(m.tid), OURS);
      seen = this.sent.length;
      s = this.status();
    }
    assert.equal(s.ice.state, "connected", `ICE connected with the test as the far end: ${JSON.stringify(s.ice)}`);
    assert.equal(s.state, "active", "the call is up");
    return s;
  }
}
