// @ts-nocheck: AssemblyScript, compiled by asc (test/bench/crypto.ts); tsconfig.json takes in test/bench/**.
// Bench entry: the firmware's crypto cores (firmware/crypto/) built alone with
// test/bench/crypto.asconfig.json, driven from Node through buffers in linear memory. The loops
// run inside WASM so that a measurement is not a measurement of JS -> WASM calls. Not firmware.
import { Aes, AesCt } from "../../firmware/crypto/aes";
import { aesCtrXor, aesCtCtrXor } from "../../firmware/crypto/ctr";
import { AesGcm, Ghash } from "../../firmware/crypto/gcm";
import { HmacSha1, HmacSha256 } from "../../firmware/crypto/hmac";
import { Sha1 } from "../../firmware/crypto/sha1";
import { Sha256 } from "../../firmware/crypto/sha256";

const KEY = memory.data(32, 16);     // key bytes, written by the host
const IV = memory.data(16, 16);      // counter block / GCM IV
const PACKET = memory.data(256, 16); // an RTP packet (or any data); the host writes it
const SAVED = memory.data(256, 16);  // a copy to restore between opens
const TAG = memory.data(32, 16);
const OUT = memory.data(32, 16);
const ROC = memory.data(4, 4);

const aes = new Aes();
const aesCt = new AesCt();
const gcm = new AesGcm();
const hmac1 = new HmacSha1();
const hmac256 = new HmacSha256();
const sha1 = new Sha1();
const sha256 = new Sha256();
const ghash = new Ghash();

export function keyBuffer(): usize { return KEY; }
export function ivBuffer(): usize { return IV; }
export function packetBuffer(): usize { return PACKET; }
export function tagBuffer(): usize { return TAG; }
export function outBuffer(): usize { return OUT; }

/** Keys every primitive from KEY: AES and GCM with keyLen bytes, HMAC with 20 (SRTP's auth key). */
export function setKeys(keyLen: i32): bool {
  hmac1.setKey(KEY, 20);
  hmac256.setKey(KEY, 32);
  return aes.setKey(KEY, keyLen) && aesCt.setKey(KEY, keyLen) && gcm.setKey(KEY, keyLen);
}

/** GHASH over len bytes of PACKET (H from the key bytes), n times: the multiply alone. */
export function ghashBytes(len: i32, n: i32): void {
  ghash.setKey(KEY);
  for (let i = 0; i < n; i++) ghash.update(PACKET, len);
}

/** n key setups: 0 Aes, 1 AesCt, 2 AesGcm (AES + H + GHASH key parts), 3 HmacSha1 (20 bytes). */
export function setKeyOnly(which: i32, keyLen: i32, n: i32): void {
  for (let i = 0; i < n; i++) {
    if (which == 0) aes.setKey(KEY, keyLen);
    else if (which == 1) aesCt.setKey(KEY, keyLen);
    else if (which == 2) gcm.setKey(KEY, keyLen);
    else hmac1.setKey(KEY, 20);
  }
}

/** n block encryptions of PACKET[0..16) in place, table AES (ct = 0) or bitsliced (ct = 1). */
export function aesBlocks(ct: i32, n: i32): void {
  if (ct) for (let i = 0; i < n; i++) aesCt.encryptBlock(PACKET, PACKET);
  else for (let i = 0; i < n; i++) aes.encryptBlock(PACKET, PACKET);
}

/** n passes of the bitsliced cipher over two blocks (its native width). */
export function aesCtPairs(n: i32): void {
  for (let i = 0; i < n; i++) aesCt.encrypt2(PACKET, PACKET);
}

/** CTR keystream XORed over len bytes of PACKET, n times. */
export function ctr(ct: i32, len: i32, n: i32): void {
  if (ct) for (let i = 0; i < n; i++) aesCtCtrXor(aesCt, IV, PACKET, len);
  else for (let i = 0; i < n; i++) aesCtrXor(aes, IV, PACKET, len);
}

/**
 * SRTP AES-CM-80's per-packet crypto, n times: CTR over the payload (bytes 12..len of the
 * packet), then HMAC-SHA1 over the packet and the 4-byte ROC, tag written after the packet
 * (10 bytes used, 20 computed). The SRTP framing itself (header parse, IV build) is not here.
 */
export function srtpPackets(ct: i32, len: i32, n: i32): void {
  for (let i = 0; i < n; i++) {
    if (ct) aesCtCtrXor(aesCt, IV, PACKET + 12, len - 12);
    else aesCtrXor(aes, IV, PACKET + 12, len - 12);
    hmac1.begin();
    hmac1.update(PACKET, len);
    hmac1.update(ROC, 4);
    hmac1.finish(OUT);
  }
}

/** HMAC-SHA1 of len bytes, n times. */
export function hmacSha1(len: i32, n: i32): void {
  for (let i = 0; i < n; i++) { hmac1.begin(); hmac1.update(PACKET, len); hmac1.finish(OUT); }
}

/** HMAC-SHA256 of len bytes, n times. */
export function hmacSha256(len: i32, n: i32): void {
  for (let i = 0; i < n; i++) { hmac256.begin(); hmac256.update(PACKET, len); hmac256.finish(OUT); }
}

/** SHA-1 / SHA-256 of len bytes, n times. */
export function sha1Digest(len: i32, n: i32): void {
  for (let i = 0; i < n; i++) { sha1.update(PACKET, len); sha1.finish(OUT); }
}
export function sha256Digest(len: i32, n: i32): void {
  for (let i = 0; i < n; i++) { sha256.update(PACKET, len); sha256.finish(OUT); }
}

/** GCM seal of PACKET[aadLen..len) with PACKET[0..aadLen) as AAD, IV from IV, 16-byte tag, n times. */
export function gcmSeal(aadLen: i32, len: i32, n: i32): bool {
  let ok = true;
  for (let i = 0; i < n; i++) ok = gcm.seal(IV, 12, PACKET, aadLen, PACKET + <usize>aadLen, len - aadLen, TAG, 16) && ok;
  return ok;
}

/** Saves PACKET (after a seal) so gcmOpen can restore the ciphertext before each open. */
export function saveSealed(len: i32): void { memory.copy(SAVED, PACKET, <usize>len); }

/** n opens of the saved sealed packet (each restores the ciphertext first: a 160-byte copy). */
export function gcmOpen(aadLen: i32, len: i32, n: i32): bool {
  let ok = true;
  for (let i = 0; i < n; i++) {
    memory.copy(PACKET, SAVED, <usize>len);
    ok = gcm.open(IV, 12, PACKET, aadLen, PACKET + <usize>aadLen, len - aadLen, TAG, 16) && ok;
  }
  return ok;
}

/** The stub allocator's next block: equal steps between probes mean nothing was allocated. */
export function heapProbe(): usize { return heap.alloc(1); }
