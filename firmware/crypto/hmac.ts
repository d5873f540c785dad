// HMAC (RFC 2104, FIPS 198-1) over SHA-1 and SHA-256. SRTP MACs every packet with one key, so
// setKey runs the key pads through the compression once and keeps the two chaining states:
// each MAC then costs the message's blocks plus one outer block, two compressions fewer than
// hashing the pads every time.
//
// Use: setKey once; then per message begin(), update() any number of times, finish(out).
// setKey and finish leave the object begun, so begin() may be skipped for the next message.
// A key longer than the 64-byte block is hashed first (RFC 2104 2). Keys and pads are wiped
// from scratch memory; the two saved states stay (they are equivalent to the key).

import { Sha1 } from "./sha1";
import { Sha256 } from "./sha256";
import { MdHash } from "./md-hash";
import { wipe } from "./ct";

const PAD: usize = memory.data(64, 16); // K0 ^ ipad or K0 ^ opad while setKey runs

/** PAD = K0 (the key, or its digest when longer than the block, zero-padded to 64 bytes). */
function loadKey(hash: MdHash, key: usize, len: i32): void {
  memory.fill(PAD, 0, 64);
  if (len > 64) {
    hash.reset();
    hash.update(key, len);
    hash.finish(PAD);
  } else if (len > 0) {
    memory.copy(PAD, key, <usize>len);
  }
}

/** XORs every byte of PAD with b. */
function xorPad(b: u32): void {
  const w = b * 0x01010101;
  for (let i: usize = 0; i < 64; i += 4) store<u32>(PAD + i, load<u32>(PAD + i) ^ w);
}

/** HMAC over any of the hashes (the MAC is as long as the hash's digest). */
export class Hmac {
  private readonly inner: StaticArray<u32>; // chaining state after K0 ^ ipad
  private readonly outer: StaticArray<u32>; // chaining state after K0 ^ opad
  private readonly mac: StaticArray<u8>;    // the inner digest
  readonly macBytes: i32;

  constructor(private readonly hash: MdHash) {
    this.inner = new StaticArray<u32>(hash.stateWords);
    this.outer = new StaticArray<u32>(hash.stateWords);
    this.macBytes = hash.stateWords << 2;
    this.mac = new StaticArray<u8>(hash.stateWords << 2);
    this.setKey(0, 0); // an empty key until one is set
  }

  /** Any length (a negative one counts as empty). */
  setKey(key: usize, len: i32): void {
    const hash = this.hash;
    loadKey(hash, key, len);
    xorPad(0x36);
    hash.reset(); hash.update(PAD, 64); hash.saveState(changetype<usize>(this.inner));
    xorPad(0x36 ^ 0x5c);
    hash.reset(); hash.update(PAD, 64); hash.saveState(changetype<usize>(this.outer));
    wipe(PAD, 64);
    hash.reset();
    this.begin();
  }

  /** Starts a MAC (drops whatever was fed since the last finish). */
  begin(): void { this.hash.resume(changetype<usize>(this.inner), 64); }

  update(p: usize, len: i32): void { this.hash.update(p, len); }

  /** Writes the MAC (macBytes) at out (callers truncate, e.g. SRTP's 80 bits), then begins again. */
  finish(out: usize): void {
    const hash = this.hash;
    const mac = changetype<usize>(this.mac);
    hash.finish(mac);
    hash.resume(changetype<usize>(this.outer), 64);
    hash.update(mac, this.macBytes);
    hash.finish(out);
    wipe(mac, this.macBytes);
    this.begin();
  }
}

/** HMAC-SHA1: a 20-byte MAC (SRTP's auth tag, STUN's MESSAGE-INTEGRITY). */
export class HmacSha1 extends Hmac { constructor() { super(new Sha1()); } }

/** HMAC-SHA256: a 32-byte MAC (STUN's MESSAGE-INTEGRITY-SHA256). */
export class HmacSha256 extends Hmac { constructor() { super(new Sha256()); } }
