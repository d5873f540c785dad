// TURN client (RFC 8656) over UDP: one allocation on one server with the long-term credential
// mechanism, permissions and channels for a few peers, and both framings of relayed data
// (Send/Data indications; ChannelData once a channel is bound). Sans-IO: requests go through a
// StunClient (retransmission) into an outbox for the server; wrap() and unwrap() work in the
// caller's buffers. Every table is made in the constructor; no call allocates. The peers'
// permissions and channels, and when each is refreshed, are TurnPeers' (turn-attrs.ts).

import { ERROR_ALLOCATION_MISMATCH } from "./turn-attrs";
import { SipOutbox } from "../sip/outbox";
import { EntropyPool } from "../sip/entropy";
import { SOCKADDR_BYTES, FAMILY_IPV4, FAMILY_IPV6, sockaddrEquals } from "../lib/inet";
import { readU16BE } from "../lib/bytes";
import { StunReader } from "./stun";
import { StunWriter } from "./stun-writer";
import { StunClient } from "./stun-client";
import {
  STUN_OK, CLASS_REQUEST, CLASS_INDICATION, CLASS_SUCCESS, CLASS_ERROR, ATTR_USERNAME, ATTR_REALM, ATTR_NONCE,
  ATTR_ALTERNATE_SERVER, ERROR_TRY_ALTERNATE, ERROR_UNAUTHENTICATED, ERROR_STALE_NONCE, longTermKey,
} from "./stun-attrs";
import {
  METHOD_ALLOCATE, METHOD_REFRESH, METHOD_SEND, METHOD_DATA, METHOD_CREATE_PERMISSION, METHOD_CHANNEL_BIND,
  ATTR_CHANNEL_NUMBER, ATTR_LIFETIME, ATTR_XOR_PEER_ADDRESS, ATTR_DATA, ATTR_XOR_RELAYED_ADDRESS,
  ATTR_REQUESTED_TRANSPORT, TURN_REQUIRED_TYPES, TRANSPORT_UDP, CHANNEL_DATA_HEADER,
  TURN_DEFAULT_LIFETIME_S, REFRESH_CHANNEL, REFRESH_PERMISSION, TurnPeers, earliest,
  TURN_IDLE, TURN_ALLOCATING, TURN_READY, TURN_FAILED, TURN_RELEASING, TURN_OK, TURN_NOT_DATA,
  TURN_ERR_NOT_FROM_SERVER, TURN_ERR_NOT_TURN, TURN_ERR_TOO_SHORT, TURN_ERR_UNKNOWN_CHANNEL, TURN_ERR_MALFORMED,
  TURN_ERR_NO_PERMISSION, TURN_ERR_UNEXPECTED, TURN_ERR_BAD_INTEGRITY, TURN_ERR_NOT_READY, TURN_ERR_NO_ROOM,
  TURN_ERR_BUSY, TURN_ERR_TABLE_FULL, TURN_ERR_BAD_CONFIG, TURN_ERR_NOT_CONFIGURED, TURN_ERR_TIMEOUT,
  TURN_ERR_EXPIRED, TURN_ERR_SERVER_TEXT, TURN_ERR_BAD_PEER,
  allocationRefreshUs, channelDataLength, writeChannelDataHeader,
} from "./turn-attrs";

export const TURN_MAX_TEXT: i32 = 128;      // bytes kept of user, password, realm, nonce (RFC 8489: realm and nonce < 128 characters)
export const TURN_MAX_REQUEST: i32 = 640;   // holds the largest request with all four at their maximum
export const TURN_MAX_PEERS: i32 = 64;
const ALLOCATE_RETRY_US: i64 = 400_000;
const ALLOCATE_RETRIES: i32 = 4;
const MAX_DROP_CODE: i32 = 32;

// Transaction owners: the kind in the high bits, the peer index in the low byte.
const KIND_ALLOCATE: i32 = 1 << 8, KIND_REFRESH: i32 = 2 << 8, KIND_RELEASE: i32 = 3 << 8;
const KIND_PERMISSION: i32 = 4 << 8, KIND_CHANNEL: i32 = 5 << 8;

/** Bytes kept in a fixed buffer: a credential, realm or nonce. */
class Text {
  readonly data: StaticArray<u8> = new StaticArray<u8>(TURN_MAX_TEXT);
  length: i32 = 0;
  @inline get ptr(): usize { return changetype<usize>(this.data); }
  set(p: usize, len: i32): bool {
    if (len < 0 || len > TURN_MAX_TEXT) return false;
    memory.copy(this.ptr, p, <usize>len);
    this.length = len;
    return true;
  }
  equals(p: usize, len: i32): bool { return len == this.length && memory.compare(this.ptr, p, <usize>len) == 0; }
}

export class TurnClient {
  state: i32 = TURN_IDLE;
  /** Why the client is FAILED: the server's error code (300..699) or a negative TURN_ERR_ value. */
  error: i32 = 0;
  /** Seconds the server last granted the allocation. */
  lifetime: u32 = 0;
  hasMapped: bool = false;
  /** unwrap(): the payload's length; `peer` holds its sender. */
  length: i32 = 0;
  /** The outbox entries' `connection` (-1: straight out of the socket). */
  route: i32 = -1;
  readonly stun: StunClient;
  readonly peers: i32;
  dropped: u32 = 0;
  channelDataSent: u32 = 0;
  indicationsSent: u32 = 0;
  channelDataReceived: u32 = 0;
  indicationsReceived: u32 = 0;
  staleNonces: u32 = 0;
  redirects: u32 = 0;
  refreshes: u32 = 0;
  peerFailures: u32 = 0;
  /** The last CreatePermission / ChannelBind failure (code or TURN_ERR_). */
  lastPeerError: i32 = 0;

  private readonly serverSa: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  private readonly relayedSa: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  private readonly mappedSa: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  private readonly peerSa: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  private readonly user: Text = new Text();
  private readonly password: Text = new Text();
  private readonly realm: Text = new Text();
  private readonly nonce: Text = new Text();
  private readonly key: StaticArray<u8> = new StaticArray<u8>(16);
  private keyReady: bool = false;
  private configured: bool = false;
  private readonly reader: StunReader = new StunReader();
  private readonly writer: StunWriter;
  private readonly request: StaticArray<u8> = new StaticArray<u8>(TURN_MAX_REQUEST);
  private readonly indicationId: StaticArray<u8> = new StaticArray<u8>(12);
  private readonly drops: StaticArray<u32> = new StaticArray<u32>(MAX_DROP_CODE);
  private now: i64 = 0;
  // The allocation's current request: did it carry credentials, was it retried after a 438...
  private authenticated: bool = false;
  private staleRetried: bool = false;
  private redirected: bool = false;
  private mismatchRetries: i32 = 0;
  private allocateRetryAt: i64 = -1; // a 437 answered: Allocate again then
  private refreshing: bool = false;
  private requestAt: i64 = 0;
  private refreshAt: i64 = -1;
  private expiresAt: i64 = -1;
  private readonly table: TurnPeers;

  /** writer may be another core's (a writer keeps nothing between messages; RAM is short). */
  constructor(readonly entropy: EntropyPool, peers: i32 = 4, outbox: SipOutbox = new SipOutbox(4096, 16), writer: StunWriter | null = null) {
    this.writer = writer !== null ? writer : new StunWriter();
    const n = min(max(peers, 1), TURN_MAX_PEERS);
    this.peers = n;
    this.stun = new StunClient(2 + 2 * n, TURN_MAX_REQUEST, outbox);
    this.table = new TurnPeers(n);
    for (let i = 0; i < TURN_REQUIRED_TYPES.length; i++) this.reader.understand(<u32>TURN_REQUIRED_TYPES[i]);
  }

  get outbox(): SipOutbox { return this.stun.outbox; }
  get server(): usize { return changetype<usize>(this.serverSa); }
  /** The relayed transport address (XOR-RELAYED-ADDRESS), valid while READY. */
  get relayed(): usize { return changetype<usize>(this.relayedSa); }
  /** The server-reflexive address the server saw (XOR-MAPPED-ADDRESS), when hasMapped. */
  get mapped(): usize { return changetype<usize>(this.mappedSa); }
  /** unwrap(): the peer the payload came from. */
  get peer(): usize { return changetype<usize>(this.peerSa); }
  /** Datagrams dropped with this TURN_ERR_ code. */
  dropsOf(code: i32): u32 { return code < 0 && -code < MAX_DROP_CODE ? unchecked(this.drops[-code]) : 0; }

  /** The server (a SOCKADDR) and the credentials, as bytes (no SASLprep). Only when IDLE or FAILED. */
  configure(server: usize, user: usize, userLen: i32, password: usize, passwordLen: i32): i32 {
    if (this.state != TURN_IDLE && this.state != TURN_FAILED) return TURN_ERR_BUSY;
    const family = load<u8>(server);
    if ((family != FAMILY_IPV4 && family != FAMILY_IPV6) || userLen <= 0 || !this.user.set(user, userLen) || !this.password.set(password, passwordLen)) {
      this.configured = false;
      return TURN_ERR_BAD_CONFIG;
    }
    memory.copy(this.server, server, <usize>SOCKADDR_BYTES);
    this.configured = true;
    this.state = TURN_IDLE;
    this.error = 0;
    return TURN_OK;
  }

  get isConfigured(): bool { return this.configured; }
  get allocated(): bool { return this.state == TURN_READY; }

  /** No TURN server any more (the configuration changed): whatever was allocated is forgotten. */
  unconfigure(): void { this.reset(); this.configured = false; }

  /**
   * Forgets the allocation without telling the server: our address changed, so the old 5-tuple
   * is gone and the server cannot be reached through it; the allocation expires there.
   */
  forget(): void { this.reset(); }

  /** Starts an allocation: an Allocate without credentials, to learn the realm and nonce from the 401. */
  allocate(now: i64): i32 {
    this.now = now;
    if (!this.configured) return TURN_ERR_NOT_CONFIGURED;
    if (this.state != TURN_IDLE && this.state != TURN_FAILED) return TURN_ERR_BUSY;
    this.reset();
    memory.copy(changetype<usize>(this.indicationId), this.entropy.take(12), 12);
    this.state = TURN_ALLOCATING;
    const r = this.sendAllocate(now);
    if (r != TURN_OK) this.fail(r);
    return r;
  }

  /** Deletes the allocation (Refresh, LIFETIME 0); IDLE on the answer, or when the one try times out. */
  release(now: i64): void {
    this.now = now;
    if (this.state == TURN_READY) {
      this.cancelAll();
      this.table.clear();
      this.state = TURN_RELEASING;
      this.staleRetried = false;
      if (this.sendRefresh(KIND_RELEASE, now) != TURN_OK) this.reset();
    } else if (this.state != TURN_RELEASING) this.reset();
  }

  /** Asks for a permission for the peer's IP (CreatePermission); the peer's slot, or a TURN_ERR_ code. */
  permit(peer: usize, now: i64): i32 {
    this.now = now;
    const i = this.claim(peer);
    if (i < 0 || !this.table.wantsPermission(i)) return i;
    const r = this.sendPermission(i, false, now);
    return r == TURN_OK ? i : r;
  }

  /** Binds a channel to the peer (ChannelBind; it installs the permission too): the channel number, or a TURN_ERR_ code. */
  bind(peer: usize, now: i64): i32 {
    this.now = now;
    const i = this.claim(peer);
    if (i < 0) return i;
    if (this.table.hasChannel(i)) return <i32>this.table.channel(i);
    const channel = this.table.newChannel(i);
    if (channel < 0) return channel;
    const r = this.sendChannelBind(i, false, now);
    if (r != TURN_OK) { this.table.requestFailed(i, true); return r; }
    return channel;
  }

  /**
   * Frames len bytes at data for the peer into out (cap bytes; must not overlap data, except
   * out == data - 4 for ChannelData): ChannelData when the peer's channel is bound, else a Send
   * indication. The bytes to send to the server, or a TURN_ERR_ code.
   */
  wrap(data: usize, len: i32, peer: usize, out: usize, cap: i32): i32 {
    if (this.state != TURN_READY) return TURN_ERR_NOT_READY;
    if (len < 0 || len > 0xffff - 64) return TURN_ERR_NO_ROOM;
    const t = this.table;
    const i = t.find(peer);
    if (i >= 0 && t.bound(i)) {
      if (CHANNEL_DATA_HEADER + len > cap) return TURN_ERR_NO_ROOM;
      memory.copy(out + <usize>CHANNEL_DATA_HEADER, data, <usize>len);
      writeChannelDataHeader(out, t.channel(i), len);
      t.touch(i);
      this.channelDataSent++;
      return CHANNEL_DATA_HEADER + len;
    }
    if (!t.permitted(peer)) return TURN_ERR_NO_PERMISSION;
    t.touchIp(peer);
    const id = changetype<usize>(this.indicationId);
    store<u32>(id + 8, load<u32>(id + 8) + 1); // ids of indications need only differ
    const w = this.writer;
    w.begin(out, cap, METHOD_SEND, CLASS_INDICATION, id);
    w.addAddress(ATTR_XOR_PEER_ADDRESS, peer, true);
    w.add(ATTR_DATA, data, len);
    const n = w.finish();
    if (n < 0) return TURN_ERR_NO_ROOM;
    this.indicationsSent++;
    return n;
  }

  /**
   * A datagram from src. ChannelData or a Data indication: the payload's offset in p (`length`
   * bytes, from `peer`). A response to one of the client's requests: handled, TURN_NOT_DATA.
   * Anything else: a counted drop, its TURN_ERR_ code. now < 0: the time of the last call.
   */
  unwrap(p: usize, len: i32, src: usize, now: i64 = -1): i32 {
    if (now >= 0) this.now = now;
    if (!sockaddrEquals(src, this.server)) return this.drop(TURN_ERR_NOT_FROM_SERVER);
    if (len < CHANNEL_DATA_HEADER) return this.drop(TURN_ERR_TOO_SHORT);
    const top = load<u8>(p) >> 6;
    if (top == 1) return this.channelData(p, len);
    if (top != 0) return this.drop(TURN_ERR_NOT_TURN);
    const r = this.reader;
    if (r.parse(p, len) != STUN_OK) return this.drop(TURN_ERR_MALFORMED);
    // Another layer's STUN from the server (a Binding answer to the ICE agent): the caller hands it on.
    if (methodKind(r.method) < 0) return this.drop(TURN_ERR_UNEXPECTED);
    if (r.messageClass == CLASS_SUCCESS || r.messageClass == CLASS_ERROR) return this.response();
    if (r.messageClass != CLASS_INDICATION || r.method != METHOD_DATA) return this.drop(TURN_ERR_UNEXPECTED);
    const d = r.find(ATTR_DATA);
    if (r.unrecognisedCount > 0 || d < 0 || r.address(ATTR_XOR_PEER_ADDRESS, true, this.peer) != STUN_OK) return this.drop(TURN_ERR_MALFORMED);
    if (!this.table.permitted(this.peer)) return this.drop(TURN_ERR_NO_PERMISSION);
    this.table.touchIp(this.peer);
    this.length = r.valueLen(d);
    this.indicationsReceived++;
    return <i32>(r.valuePtr(d) - p);
  }

  tick(now: i64): void {
    this.now = now;
    this.stun.tick(now);
    for (let slot = this.stun.nextTimedOut(); slot >= 0; slot = this.stun.nextTimedOut()) {
      const owner = this.stun.owner(slot);
      this.stun.release(slot);
      this.failed(owner & ~0xff, owner & 0xff, TURN_ERR_TIMEOUT);
    }
    if (this.state == TURN_ALLOCATING && this.allocateRetryAt >= 0 && now >= this.allocateRetryAt) {
      this.allocateRetryAt = -1;
      this.resend(KIND_ALLOCATE, 0, true);
    }
    if (this.state != TURN_READY) return;
    if (now >= this.expiresAt) { this.fail(TURN_ERR_EXPIRED); return; }
    if (!this.refreshing && now >= this.refreshAt) {
      this.staleRetried = false;
      // No slot free: try again a second later rather than spin.
      if (this.sendRefresh(KIND_REFRESH, now) != TURN_OK) this.refreshAt = now + 1_000_000;
    }
    for (let i = 0; i < this.peers; i++) {
      const what = this.table.due(i, now);
      const r = what == REFRESH_CHANNEL ? this.sendChannelBind(i, false, now) : what == REFRESH_PERMISSION ? this.sendPermission(i, false, now) : TURN_OK;
      if (r != TURN_OK) this.table.giveUp(i);
    }
  }

  /** The next instant tick() has work, or -1. */
  timeout(): i64 {
    let t = this.stun.timeout();
    if (this.state == TURN_ALLOCATING && this.allocateRetryAt >= 0) t = earliest(t, this.allocateRetryAt);
    if (this.state != TURN_READY) return t;
    t = earliest(t, this.expiresAt);
    if (!this.refreshing) t = earliest(t, this.refreshAt);
    for (let i = 0; i < this.peers; i++) t = earliest(t, this.table.nextEvent(i));
    return t;
  }

  // ---- requests ----

  private begin(method: u32): void {
    this.writer.begin(changetype<usize>(this.request), TURN_MAX_REQUEST, method, CLASS_REQUEST, this.entropy.take(12));
  }

  /** Adds the credentials (when asked), MESSAGE-INTEGRITY and FINGERPRINT, and hands the request to the StunClient. */
  private post(owner: i32, credentials: bool, now: i64): i32 {
    const w = this.writer;
    if (credentials) {
      w.add(ATTR_USERNAME, this.user.ptr, this.user.length);
      w.add(ATTR_REALM, this.realm.ptr, this.realm.length);
      w.add(ATTR_NONCE, this.nonce.ptr, this.nonce.length);
      w.addMessageIntegrity(changetype<usize>(this.key), 16);
    }
    w.addFingerprint();
    const n = w.finish();
    if (n < 0) return TURN_ERR_NO_ROOM;
    return this.stun.send(changetype<usize>(this.request), n, this.server, this.route, owner, now) < 0 ? TURN_ERR_TABLE_FULL : TURN_OK;
  }

  private sendAllocate(now: i64): i32 {
    this.begin(METHOD_ALLOCATE);
    this.writer.addU32(ATTR_REQUESTED_TRANSPORT, TRANSPORT_UDP << 24);
    this.requestAt = now;
    return this.post(KIND_ALLOCATE, this.authenticated, now);
  }

  private sendRefresh(kind: i32, now: i64): i32 {
    this.begin(METHOD_REFRESH);
    if (kind == KIND_RELEASE) this.writer.addU32(ATTR_LIFETIME, 0);
    this.requestAt = now;
    const r = this.post(kind, true, now);
    this.refreshing = r == TURN_OK && kind == KIND_REFRESH;
    return r;
  }

  private sendPermission(i: i32, retry: bool, now: i64): i32 {
    this.begin(METHOD_CREATE_PERMISSION);
    this.writer.addAddress(ATTR_XOR_PEER_ADDRESS, this.table.address(i), true);
    const r = this.post(KIND_PERMISSION | i, true, now);
    if (r == TURN_OK) this.table.permissionSent(i, now, retry);
    return r;
  }

  private sendChannelBind(i: i32, retry: bool, now: i64): i32 {
    this.begin(METHOD_CHANNEL_BIND);
    this.writer.addU32(ATTR_CHANNEL_NUMBER, this.table.channel(i) << 16);
    this.writer.addAddress(ATTR_XOR_PEER_ADDRESS, this.table.address(i), true);
    const r = this.post(KIND_CHANNEL | i, true, now);
    if (r == TURN_OK) this.table.channelSent(i, now, retry);
    return r;
  }

  // ---- responses ----

  private response(): i32 {
    const r = this.reader;
    let code = 0;
    if (r.messageClass == CLASS_ERROR) {
      code = r.errorCode;
      if (code < 0) return this.drop(TURN_ERR_MALFORMED);
    }
    // RFC 8489 9.2.5: once credentials are in use, only 401 and 438 may come without a valid MAC.
    if (this.keyReady && code != ERROR_UNAUTHENTICATED && code != ERROR_STALE_NONCE &&
        r.checkIntegrity(changetype<usize>(this.key), 16) != STUN_OK) return this.drop(TURN_ERR_BAD_INTEGRITY);
    const slot = this.stun.match(r, this.server);
    if (slot < 0) return TURN_NOT_DATA; // a duplicate or a stray: StunClient counts it
    const owner = this.stun.owner(slot);
    this.stun.release(slot);
    const kind = owner & ~0xff, i = owner & 0xff;
    if (r.method != methodOf(kind) || (code == 0 && r.unrecognisedCount > 0)) {
      this.failed(kind, i, TURN_ERR_MALFORMED);
      return this.drop(TURN_ERR_MALFORMED);
    }
    if (code == 0) this.succeeded(kind, i);
    else this.rejected(kind, i, code);
    return TURN_NOT_DATA;
  }

  private succeeded(kind: i32, i: i32): void {
    const r = this.reader;
    if (kind == KIND_ALLOCATE) {
      if (r.address(ATTR_XOR_RELAYED_ADDRESS, true, this.relayed) != STUN_OK) { this.fail(TURN_ERR_MALFORMED); return; }
      this.hasMapped = r.xorMappedAddress(this.mapped) == STUN_OK;
      this.state = TURN_READY;
      this.granted();
    } else if (kind == KIND_REFRESH) {
      this.refreshing = false;
      this.refreshes++;
      this.granted();
    } else if (kind == KIND_RELEASE) {
      this.reset();
    } else if (kind == KIND_PERMISSION) this.table.permissionGranted(i);
    else this.table.channelBound(i);
  }

  /** LIFETIME of an Allocate or Refresh success, timed from when the request went out. */
  private granted(): void {
    const v = this.reader.u32Value(ATTR_LIFETIME);
    const s: u32 = v < 0 ? TURN_DEFAULT_LIFETIME_S : <u32>v;
    if (s == 0) { this.fail(TURN_ERR_EXPIRED); return; }
    this.lifetime = s;
    this.expiresAt = this.requestAt + <i64>s * 1_000_000;
    this.refreshAt = this.requestAt + allocationRefreshUs(s);
  }

  private rejected(kind: i32, i: i32, code: i32): void {
    const allocation = kind <= KIND_RELEASE;
    if (code == ERROR_STALE_NONCE && !(allocation ? this.staleRetried : this.table.retried(i, kind == KIND_CHANNEL))) {
      const learnt = this.learn();
      if (learnt != TURN_OK) { this.failed(kind, i, learnt == TURN_ERR_SERVER_TEXT ? learnt : code); return; }
      this.staleNonces++;
      if (allocation) this.staleRetried = true;
      this.resend(kind, i, true);
      return;
    }
    if (kind == KIND_ALLOCATE && code == ERROR_UNAUTHENTICATED && !this.authenticated) {
      const learnt = this.learn();
      if (learnt != TURN_OK) { this.fail(learnt == TURN_ERR_SERVER_TEXT ? learnt : code); return; }
      this.authenticated = true;
      this.resend(kind, i, false);
      return;
    }
    // 437: the server still holds an allocation on our 5-tuple (the last call's, deleted a
    // moment ago: coturn lets it go a little later). Ask again a few times, 400 ms apart.
    if (kind == KIND_ALLOCATE && code == ERROR_ALLOCATION_MISMATCH && this.mismatchRetries < ALLOCATE_RETRIES) {
      this.mismatchRetries++;
      this.allocateRetryAt = this.now + ALLOCATE_RETRY_US;
      return;
    }
    if (kind == KIND_ALLOCATE && code == ERROR_TRY_ALTERNATE && !this.redirected &&
        this.reader.address(ATTR_ALTERNATE_SERVER, false, this.server) == STUN_OK) {
      // Another server: its own realm and nonce, so start again without credentials.
      this.redirected = true;
      this.redirects++;
      this.authenticated = false;
      this.keyReady = false;
      this.staleRetried = false;
      this.resend(kind, i, false);
      return;
    }
    this.failed(kind, i, code);
  }

  /** NONCE (and REALM, recomputing the key when it changes) from a 401 or 438. */
  private learn(): i32 {
    const r = this.reader;
    const n = r.find(ATTR_NONCE), m = r.find(ATTR_REALM);
    if (n < 0 || (m < 0 && !this.keyReady)) return TURN_ERR_MALFORMED;
    if (!this.nonce.set(r.valuePtr(n), r.valueLen(n))) return TURN_ERR_SERVER_TEXT;
    if (m >= 0 && !(this.keyReady && this.realm.equals(r.valuePtr(m), r.valueLen(m)))) {
      if (!this.realm.set(r.valuePtr(m), r.valueLen(m))) return TURN_ERR_SERVER_TEXT;
      longTermKey(this.user.ptr, this.user.length, this.realm.ptr, this.realm.length, this.password.ptr, this.password.length, changetype<usize>(this.key));
      this.keyReady = true;
    }
    return TURN_OK;
  }

  private resend(kind: i32, i: i32, retry: bool): void {
    const now = this.now;
    let r: i32;
    if (kind == KIND_ALLOCATE) r = this.sendAllocate(now);
    else if (kind == KIND_PERMISSION) r = this.sendPermission(i, retry, now);
    else if (kind == KIND_CHANNEL) r = this.sendChannelBind(i, retry, now);
    else r = this.sendRefresh(kind, now);
    if (r != TURN_OK) this.failed(kind, i, r);
  }

  /** A request of this kind ended without success (an error code, or TURN_ERR_TIMEOUT...). */
  private failed(kind: i32, i: i32, code: i32): void {
    if (kind == KIND_ALLOCATE) { if (this.state == TURN_ALLOCATING) this.fail(code); return; }
    if (kind == KIND_RELEASE) { if (this.state == TURN_RELEASING) this.reset(); return; }
    if (kind == KIND_REFRESH) {
      this.refreshing = false;
      // Unanswered: try again while the allocation lasts (tick() fails it at expiry).
      if (code == TURN_ERR_TIMEOUT) this.refreshAt = this.now;
      else if (this.state == TURN_READY) this.fail(code);
      return;
    }
    if (i >= this.peers) return;
    this.peerFailures++;
    this.lastPeerError = code;
    this.table.requestFailed(i, kind == KIND_CHANNEL);
  }

  // ---- peers ----

  /** The peer's slot in the table; a TURN_ERR_ code when not READY, the address is unusable or the table is full. */
  private claim(peer: usize): i32 {
    if (this.state != TURN_READY) return TURN_ERR_NOT_READY;
    const family = load<u8>(peer);
    if (family != FAMILY_IPV4 && family != FAMILY_IPV6) return TURN_ERR_BAD_PEER;
    return this.table.claim(peer);
  }

  private channelData(p: usize, len: i32): i32 {
    const n = channelDataLength(p, len);
    if (n < 0) return this.drop(n);
    const i = this.table.byChannel(readU16BE(p));
    if (i < 0) return this.drop(TURN_ERR_UNKNOWN_CHANNEL);
    memory.copy(this.peer, this.table.address(i), <usize>SOCKADDR_BYTES);
    this.table.touch(i);
    this.length = n;
    this.channelDataReceived++;
    return CHANNEL_DATA_HEADER;
  }

  // ---- state ----

  private drop(code: i32): i32 {
    this.dropped++;
    if (-code < MAX_DROP_CODE) unchecked(this.drops[-code]++);
    return code;
  }

  private fail(code: i32): void {
    this.cancelAll();
    this.table.clear();
    this.state = TURN_FAILED;
    this.error = code;
  }

  /** Back to IDLE: no allocation, no peers, no transactions; credentials and server stay. */
  private reset(): void {
    this.cancelAll();
    this.table.clear();
    this.state = TURN_IDLE;
    this.error = 0;
    this.lifetime = 0;
    this.hasMapped = false;
    this.authenticated = false;
    this.keyReady = false;
    this.staleRetried = false;
    this.redirected = false;
    this.mismatchRetries = 0;
    this.allocateRetryAt = -1;
    this.refreshing = false;
    this.refreshAt = -1;
    this.expiresAt = -1;
  }

  private cancelAll(): void {
    this.stun.cancelOwner(KIND_ALLOCATE);
    this.stun.cancelOwner(KIND_REFRESH);
    this.stun.cancelOwner(KIND_RELEASE);
    for (let i = 0; i < this.peers; i++) { this.stun.cancelOwner(KIND_PERMISSION | i); this.stun.cancelOwner(KIND_CHANNEL | i); }
    this.refreshing = false;
  }
}

/** TURN's methods: 0 for Allocate..Data, -1 for any other (Binding). */
function methodKind(method: u32): i32 { return method >= METHOD_ALLOCATE && method <= METHOD_CHANNEL_BIND && method != 0x005 ? 0 : -1; }

function methodOf(kind: i32): u32 {
  if (kind == KIND_ALLOCATE) return METHOD_ALLOCATE;
  if (kind == KIND_PERMISSION) return METHOD_CREATE_PERMISSION;
  if (kind == KIND_CHANNEL) return METHOD_CHANNEL_BIND;
  return METHOD_REFRESH;
}
