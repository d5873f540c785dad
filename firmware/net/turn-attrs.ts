// TURN (RFC 8656) numbers on top of STUN's (stun-attrs.ts): methods, attributes, error codes,
// lifetimes, the client's result codes, ChannelData framing (12.5), and the client's table of
// peers (the state of each one's permission and channel). Used by turn.ts.

import { readU16BE, writeU16BE } from "../lib/bytes";
import { SOCKADDR_BYTES, sockaddrEquals } from "../lib/inet";

// Methods (RFC 8656 17). Send and Data are indications only.
export const METHOD_ALLOCATE: u32 = 0x003;
export const METHOD_REFRESH: u32 = 0x004;
export const METHOD_SEND: u32 = 0x006;
export const METHOD_DATA: u32 = 0x007;
export const METHOD_CREATE_PERMISSION: u32 = 0x008;
export const METHOD_CHANNEL_BIND: u32 = 0x009;

// Attributes (RFC 8656 18).
export const ATTR_CHANNEL_NUMBER: u32 = 0x000c;
export const ATTR_LIFETIME: u32 = 0x000d;
export const ATTR_XOR_PEER_ADDRESS: u32 = 0x0012;
export const ATTR_DATA: u32 = 0x0013;
export const ATTR_XOR_RELAYED_ADDRESS: u32 = 0x0016;
export const ATTR_REQUESTED_ADDRESS_FAMILY: u32 = 0x0017;
export const ATTR_EVEN_PORT: u32 = 0x0018;
export const ATTR_REQUESTED_TRANSPORT: u32 = 0x0019;
export const ATTR_DONT_FRAGMENT: u32 = 0x001a;
export const ATTR_RESERVATION_TOKEN: u32 = 0x0022;

/** The comprehension-required TURN types the client's StunReader is told it understands. */
export const TURN_REQUIRED_TYPES: StaticArray<u16> = [
  <u16>ATTR_CHANNEL_NUMBER, <u16>ATTR_LIFETIME, <u16>ATTR_XOR_PEER_ADDRESS, <u16>ATTR_DATA,
  <u16>ATTR_XOR_RELAYED_ADDRESS, <u16>ATTR_REQUESTED_ADDRESS_FAMILY, <u16>ATTR_EVEN_PORT,
  <u16>ATTR_REQUESTED_TRANSPORT, <u16>ATTR_DONT_FRAGMENT, <u16>ATTR_RESERVATION_TOKEN,
];

export const TRANSPORT_UDP: u32 = 17; // REQUESTED-TRANSPORT carries the IP protocol number

// Error codes (RFC 8656 19) besides STUN's 300, 401, 438.
export const ERROR_FORBIDDEN: i32 = 403;
export const ERROR_ALLOCATION_MISMATCH: i32 = 437;
export const ERROR_ADDRESS_FAMILY_NOT_SUPPORTED: i32 = 440;
export const ERROR_WRONG_CREDENTIALS: i32 = 441;
export const ERROR_UNSUPPORTED_TRANSPORT: i32 = 442;
export const ERROR_PEER_ADDRESS_FAMILY_MISMATCH: i32 = 443;
export const ERROR_ALLOCATION_QUOTA_REACHED: i32 = 486;
export const ERROR_INSUFFICIENT_CAPACITY: i32 = 508;

// Channels (RFC 8656 12): 0x4000..0x4FFF; 0x5000..0x7FFF also start with bits 01 but are reserved.
export const CHANNEL_MIN: u32 = 0x4000;
export const CHANNEL_MAX: u32 = 0x4fff;
export const CHANNEL_DATA_HEADER: i32 = 4;

// Lifetimes (RFC 8656 9, 12) and when the client refreshes: a minute before each runs out.
export const TURN_DEFAULT_LIFETIME_S: u32 = 600;
export const PERMISSION_LIFETIME_US: i64 = 300_000_000;
export const PERMISSION_REFRESH_US: i64 = 240_000_000;
export const CHANNEL_LIFETIME_US: i64 = 600_000_000;
export const CHANNEL_REFRESH_US: i64 = 540_000_000;
export const REFRESH_MARGIN_S: u32 = 60;

/** When to refresh an allocation granted for lifetimeS: 60 s before it ends, or at half of it when that is later (short lifetimes). */
export function allocationRefreshUs(lifetimeS: u32): i64 {
  const margin = lifetimeS > REFRESH_MARGIN_S ? lifetimeS - REFRESH_MARGIN_S : 0;
  return <i64>max(margin, lifetimeS >> 1) * 1_000_000;
}

// TurnClient states.
export const TURN_IDLE: i32 = 0;
export const TURN_ALLOCATING: i32 = 1;
export const TURN_READY: i32 = 2;
export const TURN_FAILED: i32 = 3;
export const TURN_RELEASING: i32 = 4;

// Results. unwrap(): an offset >= 0 is data; TURN_NOT_DATA means the datagram was a response
// the client consumed; the errors below it are counted drops. Also the negative `error` values.
export const TURN_OK: i32 = 0;
export const TURN_NOT_DATA: i32 = -1;
export const TURN_ERR_NOT_FROM_SERVER: i32 = -2;  // the datagram's source is not the server
export const TURN_ERR_NOT_TURN: i32 = -3;         // first bits 10 or 11: neither STUN nor ChannelData
export const TURN_ERR_TOO_SHORT: i32 = -4;        // fewer than the 4 ChannelData header bytes
export const TURN_ERR_BAD_LENGTH: i32 = -5;       // ChannelData length past the datagram, or more than padding after it
export const TURN_ERR_BAD_CHANNEL: i32 = -6;      // a reserved channel number (0x5000..0x7FFF)
export const TURN_ERR_UNKNOWN_CHANNEL: i32 = -7;  // a channel this client has not bound
export const TURN_ERR_MALFORMED: i32 = -8;        // not valid STUN, or a TURN message missing what it needs
export const TURN_ERR_NO_PERMISSION: i32 = -9;    // data from / to a peer without a permission
export const TURN_ERR_UNEXPECTED: i32 = -10;      // a request, a Send, or another layer's STUN (Binding) from the server
export const TURN_ERR_BAD_INTEGRITY: i32 = -11;   // a response whose MESSAGE-INTEGRITY fails or is missing
export const TURN_ERR_NOT_READY: i32 = -12;       // no allocation (or one being made or released)
export const TURN_ERR_NO_ROOM: i32 = -13;         // output too small, payload too big
export const TURN_ERR_BUSY: i32 = -14;            // allocate() while an allocation exists
export const TURN_ERR_TABLE_FULL: i32 = -15;      // no free peer or transaction slot
export const TURN_ERR_BAD_CONFIG: i32 = -16;      // credential too long, server not IPv4/IPv6
export const TURN_ERR_NOT_CONFIGURED: i32 = -17;
export const TURN_ERR_TIMEOUT: i32 = -18;         // `error`: the server never answered
export const TURN_ERR_EXPIRED: i32 = -19;         // `error`: the allocation ran out unrefreshed
export const TURN_ERR_SERVER_TEXT: i32 = -20;     // `error`: REALM or NONCE longer than the client keeps
export const TURN_ERR_BAD_PEER: i32 = -21;        // a peer address of no known family
export const TURN_ERR_NO_CHANNEL: i32 = -22;      // all 4096 channel numbers used in this allocation

/**
 * Checks len bytes at p as one ChannelData message received over UDP: its payload length, or a
 * TURN_ERR_ code. Padding to 4 is optional over UDP (RFC 8656 12.5), so up to 3 bytes may follow.
 */
export function channelDataLength(p: usize, len: i32): i32 {
  if (len < CHANNEL_DATA_HEADER) return TURN_ERR_TOO_SHORT;
  const channel = readU16BE(p);
  if ((channel & 0xc000) != 0x4000) return TURN_ERR_NOT_TURN;
  if (channel > CHANNEL_MAX) return TURN_ERR_BAD_CHANNEL;
  const n = <i32>readU16BE(p + 2);
  if (n > len - CHANNEL_DATA_HEADER || len > ((CHANNEL_DATA_HEADER + n + 3) & ~3)) return TURN_ERR_BAD_LENGTH;
  return n;
}

/** Writes a ChannelData header for len payload bytes (which follow at out + 4, unpadded: UDP). */
export function writeChannelDataHeader(out: usize, channel: u32, len: i32): void {
  writeU16BE(out, channel);
  writeU16BE(out + 2, <u32>len);
}

const PERM_NONE: u8 = 0, PERM_PENDING: u8 = 1, PERM_ACTIVE: u8 = 2;
const CHAN_NONE: u8 = 0, CHAN_PENDING: u8 = 1, CHAN_BOUND: u8 = 2;
export const REFRESH_NONE: i32 = 0, REFRESH_PERMISSION: i32 = 1, REFRESH_CHANNEL: i32 = 2;

/**
 * The peers of one allocation, a slot each: its transport address, its permission (the
 * server keeps them per IP) and its channel, with when each was installed and whether the peer
 * was used since. A bound peer is refreshed with ChannelBind, which renews its permission too
 * (RFC 8656 12), so every 240 s while in use; a peer unused when its refresh comes due lapses.
 */
export class TurnPeers {
  private readonly addresses: StaticArray<u8>;
  private readonly channels: StaticArray<u16>;
  private readonly perm: StaticArray<u8>;
  private readonly chan: StaticArray<u8>;
  private readonly permAt: StaticArray<i64>;      // when the request that installed it went out
  private readonly chanAt: StaticArray<i64>;
  private readonly permSentAt: StaticArray<i64>;  // the CreatePermission out, or -1
  private readonly chanSentAt: StaticArray<i64>;  // the ChannelBind out, or -1
  private readonly used: StaticArray<u8>;         // sent to or heard from since the last refresh
  private readonly idle: StaticArray<u8>;         // unused when due: lapsing
  private readonly permRetried: StaticArray<u8>;  // the request out is a retry after 438
  private readonly chanRetried: StaticArray<u8>;
  private nextChannel: u32 = CHANNEL_MIN;

  constructor(readonly size: i32) {
    this.addresses = new StaticArray<u8>(size * SOCKADDR_BYTES);
    this.channels = new StaticArray<u16>(size);
    this.perm = new StaticArray<u8>(size);
    this.chan = new StaticArray<u8>(size);
    this.permAt = new StaticArray<i64>(size);
    this.chanAt = new StaticArray<i64>(size);
    this.permSentAt = new StaticArray<i64>(size);
    this.chanSentAt = new StaticArray<i64>(size);
    this.used = new StaticArray<u8>(size);
    this.idle = new StaticArray<u8>(size);
    this.permRetried = new StaticArray<u8>(size);
    this.chanRetried = new StaticArray<u8>(size);
    this.clear();
  }

  @inline address(i: i32): usize { return changetype<usize>(this.addresses) + <usize>(i * SOCKADDR_BYTES); }
  @inline channel(i: i32): u32 { return <u32>unchecked(this.channels[i]); }

  clear(): void {
    for (let i = 0; i < this.size; i++) {
      unchecked(this.perm[i] = PERM_NONE);
      unchecked(this.chan[i] = CHAN_NONE);
      unchecked(this.permSentAt[i] = -1);
      unchecked(this.chanSentAt[i] = -1);
      unchecked(this.used[i] = 0);
      unchecked(this.idle[i] = 0);
    }
    this.nextChannel = CHANNEL_MIN; // a new allocation has no bindings
  }

  inUse(i: i32): bool {
    return unchecked(this.perm[i]) != PERM_NONE || unchecked(this.chan[i]) != CHAN_NONE ||
      unchecked(this.permSentAt[i]) >= 0 || unchecked(this.chanSentAt[i]) >= 0;
  }

  find(sa: usize): i32 {
    for (let i = 0; i < this.size; i++) if (this.inUse(i) && sockaddrEquals(this.address(i), sa)) return i;
    return -1;
  }

  /**
   * The peer's slot; else a slot of the same IP without a channel, now this address's (a
   * permission is per IP, so it carries over, and a channel can still be bound on it); else a
   * free one; else TURN_ERR_TABLE_FULL. Asking again for a lapsing peer keeps it.
   */
  claim(sa: usize): i32 {
    const i = this.find(sa);
    if (i >= 0) { if (unchecked(this.idle[i]) != 0) this.touch(i); return i; }
    for (let j = 0; j < this.size; j++) {
      if (!this.inUse(j) || !sameIp(this.address(j), sa) || unchecked(this.chan[j]) != CHAN_NONE || unchecked(this.chanSentAt[j]) >= 0) continue;
      memory.copy(this.address(j), sa, <usize>SOCKADDR_BYTES);
      this.touch(j);
      return j;
    }
    for (let j = 0; j < this.size; j++) {
      if (this.inUse(j)) continue;
      memory.copy(this.address(j), sa, <usize>SOCKADDR_BYTES);
      unchecked(this.used[j] = 0);
      unchecked(this.idle[j] = 0);
      return j;
    }
    return TURN_ERR_TABLE_FULL;
  }

  /** Marks the peer in use: a lapsing one is refreshed at the next tick. */
  @inline touch(i: i32): void { unchecked(this.used[i] = 1); unchecked(this.idle[i] = 0); }

  touchIp(sa: usize): void { for (let i = 0; i < this.size; i++) if (this.inUse(i) && sameIp(this.address(i), sa)) this.touch(i); }

  /** Whether some peer with this IP has a permission (RFC 8656 9: permissions are per IP). */
  permitted(sa: usize): bool {
    for (let i = 0; i < this.size; i++) if (unchecked(this.perm[i]) == PERM_ACTIVE && sameIp(this.address(i), sa)) return true;
    return false;
  }

  /** True when ChannelData may go to the peer: bound, with a live permission. */
  @inline bound(i: i32): bool { return unchecked(this.chan[i]) == CHAN_BOUND && unchecked(this.perm[i]) == PERM_ACTIVE; }
  @inline hasChannel(i: i32): bool { return unchecked(this.chan[i]) != CHAN_NONE; }
  @inline wantsPermission(i: i32): bool { return unchecked(this.perm[i]) == PERM_NONE && unchecked(this.permSentAt[i]) < 0; }

  /** The slot holding this channel number (bound, or being bound), or -1. */
  byChannel(channel: u32): i32 {
    for (let i = 0; i < this.size; i++) if (unchecked(this.chan[i]) != CHAN_NONE && <u32>unchecked(this.channels[i]) == channel) return i;
    return -1;
  }

  /** Gives the peer a fresh number, never reused within the allocation (RFC 8656 12's rebinding rule); or TURN_ERR_NO_CHANNEL. */
  newChannel(i: i32): i32 {
    if (this.nextChannel > CHANNEL_MAX) return TURN_ERR_NO_CHANNEL;
    unchecked(this.channels[i] = <u16>this.nextChannel);
    this.nextChannel++;
    unchecked(this.chan[i] = CHAN_PENDING);
    return <i32>unchecked(this.channels[i]);
  }

  permissionSent(i: i32, now: i64, retry: bool): void {
    if (unchecked(this.perm[i]) == PERM_NONE) unchecked(this.perm[i] = PERM_PENDING);
    unchecked(this.permSentAt[i] = now);
    unchecked(this.permRetried[i] = retry ? 1 : 0);
  }
  channelSent(i: i32, now: i64, retry: bool): void { unchecked(this.chanSentAt[i] = now); unchecked(this.chanRetried[i] = retry ? 1 : 0); }
  @inline retried(i: i32, channel: bool): bool { return unchecked((channel ? this.chanRetried : this.permRetried)[i]) != 0; }

  permissionGranted(i: i32): void {
    unchecked(this.perm[i] = PERM_ACTIVE);
    unchecked(this.permAt[i] = unchecked(this.permSentAt[i]));
    unchecked(this.permSentAt[i] = -1);
  }

  /** A ChannelBind success: the channel, and the permission it implies. */
  channelBound(i: i32): void {
    const at = unchecked(this.chanSentAt[i]);
    unchecked(this.chan[i] = CHAN_BOUND);
    unchecked(this.chanAt[i] = at);
    if (unchecked(this.perm[i]) != PERM_ACTIVE || unchecked(this.permAt[i]) < at) unchecked(this.permAt[i] = at);
    unchecked(this.perm[i] = PERM_ACTIVE);
    unchecked(this.chanSentAt[i] = -1);
  }

  /** A CreatePermission (channel false) or ChannelBind that failed: a first one leaves nothing, a refresh lets the peer lapse. */
  requestFailed(i: i32, channel: bool): void {
    if (channel) {
      unchecked(this.chanSentAt[i] = -1);
      if (unchecked(this.chan[i]) == CHAN_PENDING) unchecked(this.chan[i] = CHAN_NONE);
      else unchecked(this.idle[i] = 1);
    } else {
      unchecked(this.permSentAt[i] = -1);
      if (unchecked(this.perm[i]) == PERM_PENDING) unchecked(this.perm[i] = PERM_NONE);
      else unchecked(this.idle[i] = 1);
    }
  }

  /** Ends what has run out, and says what refresh to send now (REFRESH_*) for a peer in use. */
  due(i: i32, now: i64): i32 {
    if (unchecked(this.perm[i]) == PERM_ACTIVE && now >= unchecked(this.permAt[i]) + PERMISSION_LIFETIME_US) unchecked(this.perm[i] = PERM_NONE);
    if (unchecked(this.chan[i]) == CHAN_BOUND && now >= unchecked(this.chanAt[i]) + CHANNEL_LIFETIME_US) unchecked(this.chan[i] = CHAN_NONE);
    if (unchecked(this.idle[i]) != 0) return REFRESH_NONE;
    const at = this.refreshAt(i);
    if (at < 0 || now < at) return REFRESH_NONE;
    if (unchecked(this.used[i]) == 0) { unchecked(this.idle[i] = 1); return REFRESH_NONE; }
    unchecked(this.used[i] = 0);
    return unchecked(this.chan[i]) == CHAN_BOUND ? REFRESH_CHANNEL : REFRESH_PERMISSION;
  }

  /** A request for the peer could not be sent: let it lapse rather than retry at every tick. */
  @inline giveUp(i: i32): void { unchecked(this.idle[i] = 1); }

  /** The next instant due() has work for the peer, or -1. */
  nextEvent(i: i32): i64 {
    let t: i64 = -1;
    if (unchecked(this.perm[i]) == PERM_ACTIVE) t = earliest(t, unchecked(this.permAt[i]) + PERMISSION_LIFETIME_US);
    if (unchecked(this.chan[i]) == CHAN_BOUND) t = earliest(t, unchecked(this.chanAt[i]) + CHANNEL_LIFETIME_US);
    if (unchecked(this.idle[i]) == 0) t = earliest(t, this.refreshAt(i));
    return t;
  }

  private refreshAt(i: i32): i64 {
    if (unchecked(this.chan[i]) == CHAN_BOUND) {
      if (unchecked(this.chanSentAt[i]) >= 0) return -1;
      const c = unchecked(this.chanAt[i]) + CHANNEL_REFRESH_US;
      return unchecked(this.perm[i]) == PERM_ACTIVE ? min(unchecked(this.permAt[i]) + PERMISSION_REFRESH_US, c) : c;
    }
    if (unchecked(this.perm[i]) != PERM_ACTIVE || unchecked(this.permSentAt[i]) >= 0) return -1;
    return unchecked(this.permAt[i]) + PERMISSION_REFRESH_US;
  }
}

/** Same family and address (ports aside). */
export function sameIp(a: usize, b: usize): bool { return load<u8>(a) == load<u8>(b) && memory.compare(a + 4, b + 4, 16) == 0; }

/** The earlier of two instants, -1 meaning none. */
@inline export function earliest(a: i64, b: i64): i64 { return a < 0 ? b : b < 0 ? a : min(a, b); }
