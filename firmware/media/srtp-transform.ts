// One set of session keys — SRTP's or SRTCP's — and the scratch their packets need: the cipher
// (AES-CM + HMAC-SHA1, or AES-GCM), the session salt, and the IV / MAC / AAD buffers. Every
// buffer is made here, once, so protecting a packet allocates nothing.

import { Aes } from "../crypto/aes";
import { AesGcm } from "../crypto/gcm";
import { HmacSha1 } from "../crypto/hmac";
import { wipe } from "../crypto/ct";
import { srtpKdf } from "./srtp-kdf";
import { HMAC_SHA1_KEY } from "./srtp-defs";

export class SrtpTransform {
  readonly aes: Aes = new Aes();
  readonly gcm: AesGcm = new AesGcm();
  readonly hmac: HmacSha1 = new HmacSha1();
  aead: bool = false;
  private salt: StaticArray<u8> = new StaticArray<u8>(14);
  private ivBuf: StaticArray<u8> = new StaticArray<u8>(16);
  private macBuf: StaticArray<u8> = new StaticArray<u8>(20);
  private word: StaticArray<u8> = new StaticArray<u8>(4);
  private aadBuf: StaticArray<u8> = new StaticArray<u8>(12);
  private saveBuf: StaticArray<u8> = new StaticArray<u8>(16);
  private keyBuf: StaticArray<u8> = new StaticArray<u8>(32);
  private authBuf: StaticArray<u8> = new StaticArray<u8>(HMAC_SHA1_KEY);

  /** 12 bytes of AAD scratch (SRTCP GCM: header || E || index). */
  get aad(): usize { return changetype<usize>(this.aadBuf); }
  /** 16 bytes of scratch for moving a tag out of the way. */
  get save(): usize { return changetype<usize>(this.saveBuf); }

  /**
   * Derives this transform's three session keys from the master key held by prf (labels
   * firstLabel, +1, +2: 0 for SRTP, 3 for SRTCP) and keys the ciphers. The session salt is 14
   * bytes for AES-CM and 12 for GCM, the same as the master salt.
   */
  derive(prf: Aes, masterSalt: usize, saltLen: i32, firstLabel: i32, encLen: i32, aead: bool): bool {
    const key = changetype<usize>(this.keyBuf);
    const auth = changetype<usize>(this.authBuf);
    const block = changetype<usize>(this.ivBuf);
    srtpKdf(prf, masterSalt, saltLen, firstLabel, block, key, encLen);
    if (!aead) srtpKdf(prf, masterSalt, saltLen, firstLabel + 1, block, auth, HMAC_SHA1_KEY);
    const salt = changetype<usize>(this.saveBuf); // 14 bytes of scratch, before install copies it
    srtpKdf(prf, masterSalt, saltLen, firstLabel + 2, block, salt, saltLen);
    const ok = this.install(key, encLen, auth, salt, saltLen, aead);
    wipe(key, 32);
    wipe(auth, HMAC_SHA1_KEY);
    wipe(salt, 16);
    return ok;
  }

  /** Keys the ciphers with session keys given directly (derive, and the RFC 7714 vectors). */
  install(encKey: usize, encLen: i32, authKey: usize, salt: usize, saltLen: i32, aead: bool): bool {
    this.aead = aead;
    memory.fill(changetype<usize>(this.salt), 0, 14);
    memory.copy(changetype<usize>(this.salt), salt, <usize>saltLen);
    if (aead) return this.gcm.setKey(encKey, encLen);
    this.hmac.setKey(authKey, HMAC_SHA1_KEY);
    return this.aes.setKey(encKey, encLen);
  }

  /** Overwrites every key with zeros, so a cleared session holds no secret. */
  clear(): void {
    const zero = changetype<usize>(this.keyBuf);
    wipe(zero, 32);
    this.aes.setKey(zero, 16);
    this.gcm.setKey(zero, 16);
    this.hmac.setKey(zero, HMAC_SHA1_KEY);
    wipe(changetype<usize>(this.salt), 14);
    this.aead = false;
  }

  /**
   * The per-packet IV in the scratch buffer; returns its address.
   * AES-CM (RFC 3711 §4.1.1): (salt * 2^16) XOR (SSRC * 2^64) XOR (index * 2^16), 16 bytes:
   *   salt[0..14) || 00 00, SSRC over bytes 4..8, index over bytes 8..14.
   * GCM (RFC 7714 §8.1, §9.1): (00 00 || SSRC || index) XOR salt, 12 bytes: SSRC over 2..6,
   *   index over 6..12. SRTP's index is ROC || SEQ; SRTCP's (31 bits) fills the same 48-bit
   *   field with its top 17 bits zero, which is exactly RFC 7714's 0x0000 || 0 || index.
   */
  iv(ssrc: u32, index: u64): usize {
    const iv = changetype<usize>(this.ivBuf);
    memory.copy(iv, changetype<usize>(this.salt), 14);
    store<u16>(iv + 14, 0);
    const at: usize = this.aead ? 2 : 4;
    xorBE32(iv + at, ssrc);
    xorBE16(iv + at + 4, <u32>(index >>> 32));
    xorBE32(iv + at + 6, <u32>index);
    return iv;
  }

  /** HMAC-SHA1 over len bytes at p, then, if withWord, the 32-bit big-endian word. Returns the MAC. */
  mac(p: usize, len: i32, word: u32, withWord: bool): usize {
    const h = this.hmac;
    h.begin();
    h.update(p, len);
    if (withWord) {
      const w = changetype<usize>(this.word);
      store<u32>(w, bswap<u32>(word));
      h.update(w, 4);
    }
    const out = changetype<usize>(this.macBuf);
    h.finish(out);
    return out;
  }
}

@inline function xorBE32(p: usize, v: u32): void {
  store<u32>(p, load<u32>(p) ^ bswap<u32>(v));
}

@inline function xorBE16(p: usize, v: u32): void {
  store<u16>(p, load<u16>(p) ^ bswap<u16>(<u16>v));
}
