// SRTP / SRTCP (firmware/media/srtp.ts and its parts). Where the vectors come from:
//   RFC 3711 Appendix B.2 (AES-CM keystream) and B.3 (key derivation), RFC 6188 §7.2 (AES-256
//   key derivation), RFC 7714 §16 and §17 (AES-GCM SRTP and SRTCP, session keys given directly).
//   "Node" vectors were computed before writing this spec with Node 20's crypto (OpenSSL:
//   aes-128/256-ctr for the KDF and AES-CM, createHmac("sha1"), aes-128/256-gcm), following
//   RFC 3711 §4 and RFC 7714 §8-§11 (the 96-bit GCM master salt padded with two zero bytes for
//   the KDF, RFC 7714 erratum 4938). That same Node code reproduces the B.3 and §16/§17 values.
import {
  SrtpSession, rtpHeaderLength,
  AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32, AEAD_AES_128_GCM, AEAD_AES_256_GCM,
  ERR_MALFORMED, ERR_VERSION, ERR_AUTH, ERR_REPLAY, ERR_TOO_OLD, ERR_NO_KEY, ERR_EXHAUSTED, ERR_NO_ROOM,
} from "../../firmware/media/srtp";
import { SrtpTransform } from "../../firmware/media/srtp-transform";
import { srtpKdf } from "../../firmware/media/srtp-kdf";
import { estimateIndex } from "../../firmware/media/srtp-replay";
import { Aes } from "../../firmware/crypto/aes";
import { aesCtrKeystream } from "../../firmware/crypto/ctr";

const CAP: i32 = 2048;
const PKT = memory.data(2048);
const ORIG = memory.data(2048);
const COPY = memory.data(2048);
const KEY = memory.data(64);
const SALT = memory.data(32);
const AUTH = memory.data(32);
const OUT = memory.data(128);
const BLOCK = memory.data(16);
const SLOT: i32 = 96;
const STORE = memory.data(400 * 96); // protected packets kept for reordering and replay
const LENS = memory.data(400 * 4);
const SSRC: u32 = 0xcafebabe;

// ---- helpers (top level: AssemblyScript closures cannot capture locals) ----

function hexDigit(c: i32): i32 {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Writes the hex string (spaces ignored) at p; returns the byte count. */
function putHex(p: usize, s: string): i32 {
  let n = 0;
  let hi = -1;
  for (let i = 0; i < s.length; i++) {
    const d = hexDigit(s.charCodeAt(i));
    if (d < 0) continue;
    if (hi < 0) hi = d;
    else { store<u8>(p + <usize>n, <u8>((hi << 4) | d)); n++; hi = -1; }
  }
  return n;
}

/** True if the n bytes at p are the hex string s (and s has exactly n bytes). */
function isHex(p: usize, n: i32, s: string): bool {
  const m = putHex(COPY, s);
  return m == n && memory.compare(p, COPY, <usize>n) == 0;
}

function sameBytes(a: usize, b: usize, n: i32): bool { return memory.compare(a, b, <usize>n) == 0; }

function flipBit(p: usize, bit: i32): void {
  const at = p + <usize>(bit >> 3);
  const mask: i32 = 0x80 >> (bit & 7);
  store<u8>(at, load<u8>(at) ^ <u8>mask);
}

function keyLenOf(suite: i32): i32 { return suite == AEAD_AES_256_GCM ? 32 : 16; }
function saltLenOf(suite: i32): i32 { return suite >= AEAD_AES_128_GCM ? 12 : 14; }
function tagOf(suite: i32): i32 { return suite >= AEAD_AES_128_GCM ? 16 : suite == AES_CM_128_HMAC_SHA1_32 ? 4 : 10; }
function rtcpTagOf(suite: i32): i32 { return suite >= AEAD_AES_128_GCM ? 16 : 10; }

/** A session keyed with the spec's master key (0x10, 0x11, ...) and salt (0xa0, 0xa1, ...). */
function keyed(suite: i32, window: i32 = 128): SrtpSession {
  const s = new SrtpSession(window);
  for (let i = 0; i < 32; i++) { store<u8>(KEY + <usize>i, <u8>(0x10 + i)); store<u8>(SALT + <usize>i, <u8>(0xa0 + i)); }
  expect(s.setKey(suite, KEY, keyLenOf(suite), SALT, saltLenOf(suite))).toBe(0);
  return s;
}

/** An RTP packet at p: seq, our SSRC, cc CSRCs, an optional one-word extension, payload bytes from seq. */
function rtp(p: usize, seq: u32, payload: i32, cc: i32 = 0, ext: bool = false): i32 {
  store<u8>(p, <u8>(0x80 | (ext ? 0x10 : 0) | cc));
  store<u8>(p + 1, 0x09);
  store<u16>(p + 2, bswap<u16>(<u16>seq));
  store<u32>(p + 4, bswap<u32>(seq * 160));
  store<u32>(p + 8, bswap<u32>(SSRC));
  let n = 12;
  for (let i = 0; i < cc; i++) { store<u32>(p + <usize>n, bswap<u32>(0x01020304 + <u32>i)); n += 4; }
  if (ext) { store<u32>(p + <usize>n, bswap<u32>(0xbede0001)); store<u32>(p + <usize>(n + 4), bswap<u32>(0x10aabb00)); n += 8; }
  for (let i = 0; i < payload; i++) store<u8>(p + <usize>(n + i), <u8>(seq * 7 + <u32>i * 13));
  return n + payload;
}

/** An RTCP sender-report-like packet at p with body bytes after the 8-byte header. */
function rtcp(p: usize, body: i32, fillByte: u8): i32 {
  store<u32>(p, bswap<u32>(0x80c80000 | <u32>((8 + body) / 4 - 1)));
  store<u32>(p + 4, bswap<u32>(SSRC));
  memory.fill(p + 8, fillByte, <usize>body);
  return 8 + body;
}

/** Protects an RTP packet as if the sender were at SRTP index `index` (a fresh sender each time). */
function protectAt(suite: i32, index: i64, p: usize, payload: i32): i32 {
  const tx = keyed(suite);
  tx.testSetSendIndex(index - 1, 0);
  const n = rtp(p, <u32>(index & 0xffff), payload);
  return tx.protect(p, n, CAP);
}

function slot(i: i32): usize { return STORE + <usize>(i * SLOT); }
function slotLen(i: i32): i32 { return load<i32>(LENS + <usize>(i << 2)); }
function keep(i: i32, p: usize, n: i32): void { memory.copy(slot(i), p, <usize>n); store<i32>(LENS + <usize>(i << 2), n); }
function deliver(rx: SrtpSession, i: i32): i32 { memory.copy(PKT, slot(i), <usize>slotLen(i)); return rx.unprotect(PKT, slotLen(i)); }

// ---- vectors ----

const B3_KEY = "E1F97A0D3E018BE0D64FA32C06DE4139";
const B3_SALT = "0EC675AD498AFEEBB6960B3AABE6";
const RFC7714_KEY128 = "000102030405060708090a0b0c0d0e0f";
const RFC7714_KEY256 = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const RFC7714_SALT = "517569642070726f2071756f";
const RFC7714_RTP = "8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973 20646976 69736120 696e2070 61727465 73207472 6573";
const RFC7714_RTCP = "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61 deadbeef deadbeef deadbeef deadbeef deadbeef";
// The spec's RTP packet for the whole-pipeline vectors: CC = 1, one extension word, 20 bytes 0xab.
const KAT_RTP = "9109 1234 decafbad cafebabe 01020304 bede0001 10aabb00 abababababababababababababababababababab";
const KAT_RTCP = "80c80006 cafebabe cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd";

function katRtp(suite: i32): string {
  if (suite == 1) return "91091234decafbadcafebabe01020304bede000110aabb006865aa119c34fee2f0623e902e78515158e5553aef3355e1c66e1e70f99c";
  if (suite == 2) return "91091234decafbadcafebabe01020304bede000110aabb006865aa119c34fee2f0623e902e78515158e5553aef3355e1";
  if (suite == 3) return "91091234decafbadcafebabe01020304bede000110aabb007620ca09b3ce07d0a374788f0baf8d63ba577d7a0bd8fa5ec8d8441bdb8ce043b4ee722a";
  return "91091234decafbadcafebabe01020304bede000110aabb006f3a3eee9a63089beade13b97ea0711794cce653043e8e8d33cc1e5a33ff3dfa15c51ed4";
}

function katRtcp(suite: i32): string {
  if (suite <= 2) return "80c80006cafebabe708858ae0d125a3b528795e0e3e68ace6de10ec8800000007d52a2db8e4b65f47489";
  if (suite == 3) return "80c80006cafebabef8e4dfb285f67352b1564adca07850f777a7af624a0c288d2a85146c7ed953531ec47f1e80000000";
  return "80c80006cafebabe91c4e034e36b03ca4bb82ee066c2a88c69b7df6ebe6f5057036f03d616d1caa358f123d980000000";
}

/** SRTCP index 7 with E = 0 (authentication only), Node. */
function katRtcpE0(suite: i32): string {
  if (suite <= 2) return "80c80006cafebabecdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd000000075d4684cf22ac6de9d144";
  if (suite == 3) return "80c80006cafebabecdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd5614f7d56e2d0cef54073102d09af58400000007";
  return "80c80006cafebabecdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdbb9283d1d45025edb3680cb5e00667a900000007";
}

function kdfIs(keyHex: string, saltHex: string, label: i32, n: i32, want: string): bool {
  const prf = new Aes();
  const kl = putHex(KEY, keyHex);
  const sl = putHex(SALT, saltHex);
  prf.setKey(KEY, kl);
  srtpKdf(prf, SALT, sl, label, BLOCK, OUT, n);
  return isHex(OUT, n, want);
}

// ---- RFC 3711 Appendix B.2: the AES-CM IV and keystream ----

describe("AES-CM IV and keystream (RFC 3711 B.2)", () => {
  it("builds the IV F0F1..FD0000 from the B.2 salt with SSRC 0, ROC 0, SEQ 0", () => {
    const t = new SrtpTransform();
    putHex(KEY, "2B7E151628AED2A6ABF7158809CF4F3C");
    putHex(SALT, "F0F1F2F3F4F5F6F7F8F9FAFBFCFD");
    expect(t.install(KEY, 16, AUTH, SALT, 14, false)).toBe(true);
    expect(isHex(t.iv(0, 0), 16, "F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000")).toBe(true);
  });

  it("places the SSRC at bytes 4..8 and the 48-bit index at 8..14 (zero salt)", () => {
    const t = new SrtpTransform();
    memory.fill(SALT, 0, 14);
    t.install(KEY, 16, AUTH, SALT, 14, false);
    expect(isHex(t.iv(0x01020304, 0x112233445566), 16, "00000000 01020304 112233445566 0000")).toBe(true);
  });

  it("GCM IV: SSRC at bytes 2..6, ROC||SEQ at 6..12, XOR the salt (RFC 7714 §16: 51753c6580c2726f20718414)", () => {
    const t = new SrtpTransform();
    putHex(KEY, RFC7714_KEY128);
    putHex(SALT, RFC7714_SALT);
    t.install(KEY, 16, AUTH, SALT, 12, true);
    expect(isHex(t.iv(0x5501a0b2, 0xf17b), 12, "51753c6580c2726f20718414")).toBe(true);
    // §17, SRTCP: SSRC "Mars", SRTCP index 0x5d4
    expect(isHex(t.iv(0x4d617273, 0x5d4), 12, "517524055203726f207170bb")).toBe(true);
  });

  it("gives the B.2 keystream at counters 0000..0002 and FEFF..FF01", () => {
    const t = new SrtpTransform();
    putHex(KEY, "2B7E151628AED2A6ABF7158809CF4F3C");
    putHex(SALT, "F0F1F2F3F4F5F6F7F8F9FAFBFCFD");
    t.install(KEY, 16, AUTH, SALT, 14, false);
    aesCtrKeystream(t.aes, t.iv(0, 0), OUT, 48);
    expect(isHex(OUT, 48, "E03EAD0935C95E80E166B16DD92B4EB4 D23513162B02D0F72A43A2FE4A5F97AB 41E95B3BB0A2E8DD477901E4FCA894C0")).toBe(true);
    memory.copy(BLOCK, t.iv(0, 0), 16);
    store<u16>(BLOCK + 14, bswap<u16>(0xfeff));
    aesCtrKeystream(t.aes, BLOCK, OUT, 48);
    expect(isHex(OUT, 48, "EC8CDF7398607CB0F2D21675EA9EA1E4 362B7C3C6773516318A077D7FC5073AE 6A2CC3787889374FBEB4C81B17BA6C44")).toBe(true);
  });

  it("protect encrypts a zero payload into exactly that keystream", () => {
    const s = new SrtpSession();
    putHex(KEY, "2B7E151628AED2A6ABF7158809CF4F3C");
    putHex(SALT, "F0F1F2F3F4F5F6F7F8F9FAFBFCFD");
    memory.fill(AUTH, 0x55, 20);
    expect(s.testInstallSessionKeys(AES_CM_128_HMAC_SHA1_80, KEY, AUTH, SALT)).toBe(0);
    putHex(PKT, "80000000 00000000 00000000");
    memory.fill(PKT + 12, 0, 48);
    expect(s.protect(PKT, 60, CAP)).toBe(70);
    expect(isHex(PKT + 12, 48, "E03EAD0935C95E80E166B16DD92B4EB4 D23513162B02D0F72A43A2FE4A5F97AB 41E95B3BB0A2E8DD477901E4FCA894C0")).toBe(true);
  });
});

// ---- key derivation: RFC 3711 B.3, RFC 6188 §7.2, and the GCM salt ----

describe("key derivation (RFC 3711 §4.3, B.3; RFC 6188 §7.2; RFC 7714 §11)", () => {
  it("derives the B.3 SRTP cipher key, salt and the 94-byte auth keystream", () => {
    expect(kdfIs(B3_KEY, B3_SALT, 0, 16, "C61E7A93744F39EE10734AFE3FF7A087")).toBe(true);
    expect(kdfIs(B3_KEY, B3_SALT, 2, 14, "30CBBC08863D8C85D49DB34A9AE1")).toBe(true);
    expect(kdfIs(B3_KEY, B3_SALT, 1, 94,
      "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCE" +
      "E049646C43D9327AD175578EF72270986371C10C9A369AC2F94A8C5FBCDDDC25" +
      "6D6E919A48B610EF17C2041E474035766B68642C59BBFC2F34DB60DBDFB2")).toBe(true);
  });

  it("derives the SRTCP keys with labels 3, 4, 5 (Node)", () => {
    expect(kdfIs(B3_KEY, B3_SALT, 3, 16, "4c1aa45a81f73d61c800bbb00fbb1eaa")).toBe(true);
    expect(kdfIs(B3_KEY, B3_SALT, 4, 20, "8d54534feb49ae8e7993a6bd0b844fc323a93dfd")).toBe(true);
    expect(kdfIs(B3_KEY, B3_SALT, 5, 14, "9581c7ad87b3e530bf3e4454a8b3")).toBe(true);
  });

  it("derives the RFC 6188 §7.2 AES-256 keys", () => {
    const k = "f0f04914b513f2763a1b1fa130f10e2998f6f6e43e4309d1e622a0e332b9f1b6";
    const s = "3b04803de51ee7c96423ab5b78d2";
    expect(kdfIs(k, s, 0, 32, "5ba1064e30ec51613cad926c5a28ef731ec7fb397f70a960653caf06554cd8c4")).toBe(true);
    expect(kdfIs(k, s, 2, 14, "fa31791685ca444a9e07c6c64e93")).toBe(true);
    expect(kdfIs(k, s, 1, 20, "fd9c32d39ed5fbb5a9dc96b30818454d1313dc05")).toBe(true);
  });

  it("pads a 96-bit GCM master salt with two zero bytes (erratum 4938), 128 and 256 (Node)", () => {
    expect(kdfIs(RFC7714_KEY128, RFC7714_SALT, 0, 16, "b1bb5ee1803c7cb022c25343feb23261")).toBe(true);
    expect(kdfIs(RFC7714_KEY128, RFC7714_SALT, 2, 12, "52fa33dcddd7c677e513ce75")).toBe(true);
    expect(kdfIs(RFC7714_KEY256, RFC7714_SALT, 0, 32, "55a897acc260e7906b03359810579a2d9fe41f1985acf2e07a9e4a6ac284d8e1")).toBe(true);
    expect(kdfIs(RFC7714_KEY256, RFC7714_SALT, 3, 32, "a272bf8833ee0a30f1d0b5c82d954d324691abc9a59595b747e9e3136900e344")).toBe(true);
    expect(kdfIs(RFC7714_KEY256, RFC7714_SALT, 5, 12, "735dd67e86c2c58ead4dcc25")).toBe(true);
  });

  it("every suite, master key -> KDF -> protect, matches the Node pipeline for SRTP and SRTCP", () => {
    for (let suite = 1; suite <= 4; suite++) {
      const tx = keyed(suite);
      const n = putHex(PKT, KAT_RTP);
      const m = tx.protect(PKT, n, CAP);
      expect(m).toBe(n + tagOf(suite));
      expect(isHex(PKT, m, katRtp(suite))).toBe(true);
      const c = putHex(PKT, KAT_RTCP);
      const mc = tx.protectRtcp(PKT, c, CAP);
      expect(mc).toBe(c + 4 + rtcpTagOf(suite));
      expect(isHex(PKT, mc, katRtcp(suite))).toBe(true);
    }
  });
});

// ---- RFC 7714 §16 (SRTP) and §17 (SRTCP) AES-GCM vectors ----

function gcmSession(suite: i32): SrtpSession {
  const s = new SrtpSession();
  putHex(KEY, suite == AEAD_AES_256_GCM ? RFC7714_KEY256 : RFC7714_KEY128);
  putHex(SALT, RFC7714_SALT);
  expect(s.testInstallSessionKeys(suite, KEY, AUTH, SALT)).toBe(0);
  return s;
}

describe("AES-GCM (RFC 7714 §16, §17)", () => {
  it("§16.1.1 / 16.1.2: AEAD_AES_128_GCM SRTP encryption and decryption", () => {
    const want = "8040f17b8041f8d35501a0b2 f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a51c7d19b36de3adf8833 899d7f27beb16a9152cf765ee4390cce";
    const n = putHex(PKT, RFC7714_RTP);
    const m = gcmSession(AEAD_AES_128_GCM).protect(PKT, n, CAP);
    expect(m).toBe(n + 16);
    expect(isHex(PKT, m, want)).toBe(true);
    expect(gcmSession(AEAD_AES_128_GCM).unprotect(PKT, m)).toBe(n);
    expect(isHex(PKT, n, RFC7714_RTP)).toBe(true);
  });

  it("§16.2: AEAD_AES_256_GCM SRTP encryption and decryption", () => {
    const want = "8040f17b8041f8d35501a0b2 32b1de78a822fe12ef9f78fa332e33aab18012389a58e2f3b50b2a0276ffae0f1ba63799b87b 7aa3db36dfffd6b0f9bb7878d7a76c13";
    const n = putHex(PKT, RFC7714_RTP);
    const m = gcmSession(AEAD_AES_256_GCM).protect(PKT, n, CAP);
    expect(isHex(PKT, m, want)).toBe(true);
    expect(gcmSession(AEAD_AES_256_GCM).unprotect(PKT, m)).toBe(n);
    expect(isHex(PKT, n, RFC7714_RTP)).toBe(true);
  });

  it("§17.1: AEAD_AES_128_GCM SRTCP, index 0x5d4, E = 1, tag before E||index", () => {
    const want = "81c8000d4d617273 63e94885dcdab67ca727d7662f6b7e997ff5c0f76c06f32dc676a5f1730d6fda4ce09b4686303ded0bb9275bc84aa458 96cf4d2fc5abf87245d9eade 800005d4";
    const tx = gcmSession(AEAD_AES_128_GCM);
    tx.testSetSendIndex(-1, 0x5d4);
    const n = putHex(PKT, RFC7714_RTCP);
    const m = tx.protectRtcp(PKT, n, CAP);
    expect(m).toBe(n + 20);
    expect(isHex(PKT, m, want)).toBe(true);
    expect(tx.srtcpIndex).toBe(0x5d5);
    expect(gcmSession(AEAD_AES_128_GCM).unprotectRtcp(PKT, m)).toBe(n);
    expect(isHex(PKT, n, RFC7714_RTCP)).toBe(true);
  });

  it("§17.2: AEAD_AES_256_GCM SRTCP encryption and decryption", () => {
    const want = "81c8000d4d617273 d50ae4d1f5ce5d304ba297e47d470c282c3ece5dbffe0a50a2eaa5c1110555be8415f658c61de0476f1b6fad1d1eb30c 4446839f57ff6f6cb26ac3be 800005d4";
    const tx = gcmSession(AEAD_AES_256_GCM);
    tx.testSetSendIndex(-1, 0x5d4);
    const n = putHex(PKT, RFC7714_RTCP);
    const m = tx.protectRtcp(PKT, n, CAP);
    expect(isHex(PKT, m, want)).toBe(true);
    expect(gcmSession(AEAD_AES_256_GCM).unprotectRtcp(PKT, m)).toBe(n);
    expect(isHex(PKT, n, RFC7714_RTCP)).toBe(true);
  });
});

// ---- round trips ----

describe("round trip", () => {
  it("every suite: 64 packets of 0..63 payload bytes, with and without CSRCs and extension", () => {
    for (let suite = 1; suite <= 4; suite++) {
      const tx = keyed(suite);
      const rx = keyed(suite);
      for (let i = 0; i < 64; i++) {
        const n = rtp(PKT, <u32>(1000 + i), i, i & 3, (i & 4) != 0);
        memory.copy(ORIG, PKT, <usize>n);
        const m = tx.protect(PKT, n, CAP);
        expect(m).toBe(n + tagOf(suite));
        if (i > 0) expect(sameBytes(PKT, ORIG, n)).toBe(false); // the payload is encrypted
        expect(sameBytes(PKT, ORIG, rtpHeaderLength(ORIG, n))).toBe(true); // the header is not
        expect(rx.unprotect(PKT, m)).toBe(n);
        expect(sameBytes(PKT, ORIG, n)).toBe(true);
      }
      expect(rx.drops(0)).toBe(0);
    }
  });

  it("every suite: SRTCP of 0..63 body bytes", () => {
    for (let suite = 1; suite <= 4; suite++) {
      const tx = keyed(suite);
      const rx = keyed(suite);
      for (let i = 0; i < 64; i++) {
        const n = rtcp(PKT, i, <u8>i);
        memory.copy(ORIG, PKT, <usize>n);
        const m = tx.protectRtcp(PKT, n, CAP);
        expect(m).toBe(n + 4 + rtcpTagOf(suite));
        expect(sameBytes(PKT, ORIG, 8)).toBe(true);
        expect(rx.unprotectRtcp(PKT, m)).toBe(n);
        expect(sameBytes(PKT, ORIG, n)).toBe(true);
      }
    }
  });

  it("the sender refuses an index it already used (keystream reuse)", () => {
    const tx = keyed(AEAD_AES_128_GCM);
    expect(tx.protect(PKT, rtp(PKT, 10, 20), CAP)).toBeGreaterThan(0);
    expect(tx.protect(PKT, rtp(PKT, 10, 20), CAP)).toBe(ERR_REPLAY);
    expect(tx.protect(PKT, rtp(PKT, 9, 20), CAP)).toBe(ERR_REPLAY);
    expect(tx.protect(PKT, rtp(PKT, 11, 20), CAP)).toBeGreaterThan(0);
    expect(tx.sentIndex).toBe(11);
    expect(tx.drops(-ERR_REPLAY)).toBe(2);
  });

  it("a wrong key fails authentication, for SRTP and SRTCP, every suite", () => {
    for (let suite = 1; suite <= 4; suite++) {
      const tx = keyed(suite);
      const rx = new SrtpSession();
      for (let i = 0; i < 32; i++) store<u8>(KEY + <usize>i, <u8>(0x11 + i));
      expect(rx.setKey(suite, KEY, keyLenOf(suite), SALT, saltLenOf(suite))).toBe(0);
      const n = rtp(PKT, 5, 40);
      memory.copy(ORIG, PKT, <usize>n);
      const m = tx.protect(PKT, n, CAP);
      memory.copy(COPY + 1024, PKT, <usize>m);
      expect(rx.unprotect(PKT, m)).toBe(ERR_AUTH);
      expect(sameBytes(PKT, COPY + 1024, m)).toBe(true); // left as it came
      const c = tx.protectRtcp(PKT, rtcp(PKT, 20, 1), CAP);
      expect(rx.unprotectRtcp(PKT, c)).toBe(ERR_AUTH);
      expect(rx.drops(-ERR_AUTH)).toBe(2);
      expect(rx.receivedIndex).toBe(-1);
    }
  });
});

// ---- the rollover counter ----

describe("rollover counter (RFC 3711 §3.3.1, Appendix A)", () => {
  it("estimates v from s_l and ROC as Appendix A says", () => {
    expect(estimateIndex(false, 0, 40000)).toBe(40000);              // first packet: ROC 0
    expect(estimateIndex(true, 100, 200)).toBe(200);                 // ahead, same ROC
    expect(estimateIndex(true, 100, 100 + 32768)).toBe(100 + 32768); // SEQ - s_l = 2^15: still ROC
    expect(estimateIndex(true, 100, 100 + 32769)).toBe(-1);          // ROC - 1 with ROC 0: before the stream
    expect(estimateIndex(true, 0x30064, 100 + 32769)).toBe(0x20000 + 100 + 32769); // ROC - 1
    expect(estimateIndex(true, 0x1fff0, 5)).toBe(0x20005);           // s_l >= 2^15, SEQ small: ROC + 1
    expect(estimateIndex(true, 0x1fff0, 0xfff0 - 32768)).toBe(0x10000 + 0xfff0 - 32768); // s_l - 2^15 == SEQ: ROC
    expect(estimateIndex(true, 0x1fff0, 0xfff0 - 32769)).toBe(0x20000 + 0xfff0 - 32769); // ROC + 1
    expect(estimateIndex(true, 0xffffffffffff, 0)).toBe(0x1000000000000); // past 2^48: the caller refuses
  });

  it("crosses 65535 -> 0 in order: ROC becomes 1, s_l follows", () => {
    const tx = keyed(AES_CM_128_HMAC_SHA1_80);
    const rx = keyed(AES_CM_128_HMAC_SHA1_80);
    for (let i = 0; i < 20; i++) {
      const seq = <u32>((65526 + i) & 0xffff);
      const n = rtp(PKT, seq, 30);
      memory.copy(ORIG, PKT, <usize>n);
      expect(rx.unprotect(PKT, tx.protect(PKT, n, CAP))).toBe(n);
      expect(sameBytes(PKT, ORIG, n)).toBe(true);
      expect(rx.highestSequence).toBe(seq);
      expect(rx.rolloverCounter).toBe(65526 + i >= 65536 ? 1 : 0);
    }
    expect(tx.sentIndex).toBe(65536 + 9);
    expect(rx.receivedIndex).toBe(65536 + 9);
  });

  it("reordering by up to 99 packets around the wrap: all 300 pass, decrypt right, then replay or too old", () => {
    for (let suite = 1; suite <= 4; suite += 2) {
      const tx = keyed(suite);
      const rx = keyed(suite);
      const first: i64 = 65536 * 2 - 150; // ROC 1 -> 2
      tx.testSetSendIndex(first - 1, 0);
      for (let i = 0; i < 300; i++) {
        const n = rtp(PKT, <u32>((first + i) & 0xffff), 20);
        keep(i, PKT, tx.protect(PKT, n, CAP));
      }
      rx.testSetReceiveIndex(first - 1);
      let bad = 0;
      for (let block = 0; block < 3; block++) {
        for (let k = 99; k >= 0; k--) {
          const i = block * 100 + k;
          const n = rtp(ORIG, <u32>((first + i) & 0xffff), 20);
          if (deliver(rx, i) != n || !sameBytes(PKT, ORIG, n)) bad++;
        }
      }
      expect(bad).toBe(0);
      expect(rx.rolloverCounter).toBe(2);
      expect(rx.highestSequence).toBe(<u32>((first + 299) & 0xffff));
      // Again: the newest 128 are replays, the 172 before them are left of the window.
      let replays = 0;
      let old = 0;
      for (let i = 0; i < 300; i++) {
        const r = deliver(rx, i);
        if (r == ERR_REPLAY) replays++;
        if (r == ERR_TOO_OLD) old++;
      }
      expect(replays).toBe(128);
      expect(old).toBe(172);
      expect(rx.rolloverCounter).toBe(2);
    }
  });

  it("holds the ROC through 4 wraps with gaps of 1000 packets", () => {
    const tx = keyed(AEAD_AES_128_GCM);
    const rx = keyed(AEAD_AES_128_GCM);
    let bad = 0;
    for (let i = 0; i < 280; i++) {
      const seq = <u32>((i * 1000 + 60000) & 0xffff);
      const n = rtp(PKT, seq, 8);
      if (rx.unprotect(PKT, tx.protect(PKT, n, CAP)) != n) bad++;
    }
    expect(bad).toBe(0);
    const last: i64 = 279 * 1000 + 60000;
    expect(rx.receivedIndex).toBe(last);
    expect(rx.rolloverCounter).toBe(<u32>(last >> 16));
  });

  it("a jump of 2^15 - 1 forward is followed on both halves of s_l; 2^15 + 1 looks old and changes nothing", () => {
    const suite = AES_CM_128_HMAC_SHA1_80;
    // s_l < 2^15
    let rx = keyed(suite);
    rx.testSetReceiveIndex(0x50000 + 100);
    expect(rx.unprotect(PKT, protectAt(suite, 0x50000 + 100 + 32767, PKT, 10))).toBe(22);
    expect(rx.receivedIndex).toBe(0x50000 + 100 + 32767);
    // s_l >= 2^15: the jump crosses the wrap, ROC + 1
    rx = keyed(suite);
    rx.testSetReceiveIndex(0x5ff00);
    expect(rx.unprotect(PKT, protectAt(suite, 0x5ff00 + 32767, PKT, 10))).toBe(22);
    expect(rx.rolloverCounter).toBe(6);
    // 2^15 + 1 ahead is indistinguishable from 2^15 - 1 behind: refused, state kept
    rx = keyed(suite);
    rx.testSetReceiveIndex(0x5ff00);
    expect(rx.unprotect(PKT, protectAt(suite, 0x5ff00 + 32769, PKT, 10))).toBe(ERR_TOO_OLD);
    expect(rx.receivedIndex).toBe(0x5ff00);
    expect(rx.unprotect(PKT, protectAt(suite, 0x5ff01, PKT, 10))).toBe(22);
  });

  it("a packet 'before' ROC 0 (ROC - 1 with ROC = 0) is too old, not a trap", () => {
    const rx = keyed(AES_CM_128_HMAC_SHA1_80);
    rx.testSetReceiveIndex(10);
    const m = protectAt(AES_CM_128_HMAC_SHA1_80, 40000, PKT, 10);
    expect(rx.unprotect(PKT, m)).toBe(ERR_TOO_OLD);
    expect(rx.drops(-ERR_TOO_OLD)).toBe(1);
  });
});

// ---- the replay window ----

describe("replay window (RFC 3711 §3.3.2)", () => {
  it("takes an out-of-order packet once, refuses it after; the window edge is exactly 128", () => {
    const tx = keyed(AES_CM_128_HMAC_SHA1_80);
    const rx = keyed(AES_CM_128_HMAC_SHA1_80);
    for (let i = 0; i < 200; i++) keep(i, PKT, tx.protect(PKT, rtp(PKT, <u32>(1000 + i), 4), CAP));
    expect(deliver(rx, 0)).toBe(16);
    expect(deliver(rx, 127)).toBe(16);
    expect(deliver(rx, 1)).toBe(16);      // 126 behind: in the window
    expect(deliver(rx, 1)).toBe(ERR_REPLAY);
    expect(deliver(rx, 0)).toBe(ERR_REPLAY); // 127 behind: still in
    expect(deliver(rx, 128)).toBe(16);
    expect(deliver(rx, 0)).toBe(ERR_TOO_OLD); // 128 behind: out
    expect(deliver(rx, 2)).toBe(16);      // 126 behind, never seen
    expect(rx.drops(-ERR_REPLAY)).toBe(2);
    expect(rx.drops(-ERR_TOO_OLD)).toBe(1);
    expect(rx.drops(0)).toBe(3);
  });

  it("a jump wider than the ring clears it: indexes behind the new top are new again", () => {
    const tx = keyed(AES_CM_128_HMAC_SHA1_80);
    const rx = keyed(AES_CM_128_HMAC_SHA1_80);
    for (let i = 0; i < 12; i++) keep(i, PKT, tx.protect(PKT, rtp(PKT, <u32>(i * 500), 4), CAP)); // 0, 500, .., 5500
    for (let i = 0; i < 12; i++) expect(deliver(rx, i)).toBe(16);
    expect(rx.unprotect(PKT, protectAt(AES_CM_128_HMAC_SHA1_80, 5500 - 100, PKT, 4))).toBe(16);
    expect(rx.unprotect(PKT, protectAt(AES_CM_128_HMAC_SHA1_80, 5500 - 100, PKT, 4))).toBe(ERR_REPLAY);
    expect(rx.unprotect(PKT, protectAt(AES_CM_128_HMAC_SHA1_80, 5500 - 127, PKT, 4))).toBe(16);
    expect(rx.unprotect(PKT, protectAt(AES_CM_128_HMAC_SHA1_80, 5500 - 128, PKT, 4))).toBe(ERR_TOO_OLD);
    expect(deliver(rx, 11)).toBe(ERR_REPLAY);
  });

  it("a configured window (1024, and 200 in a 1024 ring) moves the edge exactly", () => {
    const rx = keyed(AES_CM_128_HMAC_SHA1_80, 1024);
    expect(rx.replayWindow).toBe(1024);
    rx.testSetReceiveIndex(5000);
    expect(rx.unprotect(PKT, protectAt(AES_CM_128_HMAC_SHA1_80, 5000 - 1023, PKT, 4))).toBe(16);
    expect(rx.unprotect(PKT, protectAt(AES_CM_128_HMAC_SHA1_80, 5000 - 1023, PKT, 4))).toBe(ERR_REPLAY);
    expect(rx.unprotect(PKT, protectAt(AES_CM_128_HMAC_SHA1_80, 5000 - 1024, PKT, 4))).toBe(ERR_TOO_OLD);
    expect(rx.setReplayWindow(200)).toBe(0);
    expect(rx.setReplayWindow(127)).toBe(ERR_MALFORMED);
    expect(rx.setReplayWindow(1025)).toBe(ERR_MALFORMED);
    expect(rx.setReplayWindow(200)).toBe(0);
    rx.testSetReceiveIndex(5000);
    expect(rx.unprotect(PKT, protectAt(AES_CM_128_HMAC_SHA1_80, 5000 - 199, PKT, 4))).toBe(16);
    expect(rx.unprotect(PKT, protectAt(AES_CM_128_HMAC_SHA1_80, 5000 - 200, PKT, 4))).toBe(ERR_TOO_OLD);
    const small = keyed(AES_CM_128_HMAC_SHA1_80, 128);
    expect(small.setReplayWindow(256)).toBe(ERR_MALFORMED); // past the ring made in the constructor
  });

  it("SRTCP has its own window over the SRTCP index", () => {
    for (let suite = 1; suite <= 4; suite += 3) {
      const tx = keyed(suite);
      const rx = keyed(suite);
      for (let i = 0; i < 140; i++) keep(i, PKT, tx.protectRtcp(PKT, rtcp(PKT, 16, 7), CAP));
      expect(rx.unprotect(PKT, protectAt(suite, 5, PKT, 4))).toBe(16); // SRTP index 5 ...
      memory.copy(PKT, slot(5), <usize>slotLen(5));
      expect(rx.unprotectRtcp(PKT, slotLen(5))).toBe(24);               // ... does not block SRTCP index 5
      memory.copy(PKT, slot(5), <usize>slotLen(5));
      expect(rx.unprotectRtcp(PKT, slotLen(5))).toBe(ERR_REPLAY);
      memory.copy(PKT, slot(139), <usize>slotLen(139));
      expect(rx.unprotectRtcp(PKT, slotLen(139))).toBe(24);
      memory.copy(PKT, slot(12), <usize>slotLen(12));
      expect(rx.unprotectRtcp(PKT, slotLen(12))).toBe(24);              // 127 behind the newest: in
      memory.copy(PKT, slot(11), <usize>slotLen(11));
      expect(rx.unprotectRtcp(PKT, slotLen(11))).toBe(ERR_TOO_OLD);     // 128 behind: out
    }
  });
});

// ---- tampering and truncation: every bit, every length ----

/** What flipping `bit` of an SRTP packet must give: the exact error where the field decides it. */
function rtpFlipOk(bit: i32, r: i32): bool {
  const byte = bit >> 3;
  const b = 7 - (bit & 7);
  if (byte == 0 && b >= 6) return r == ERR_VERSION;
  if (byte == 0 && b != 5) return r == ERR_MALFORMED || r == ERR_AUTH;  // X or CC: the header length moves
  if (byte == 2 || byte == 3) return r == ERR_AUTH || r == ERR_REPLAY || r == ERR_TOO_OLD; // SEQ: another index
  if (byte == 18 || byte == 19) return r == ERR_MALFORMED || r == ERR_AUTH; // extension length (1 CSRC before it)
  return r == ERR_AUTH;
}

function tamperRtp(suite: i32): void {
  const tx = keyed(suite);
  const rx = keyed(suite);
  for (let seq: u32 = 65534; seq < 65538; seq++) {
    const n = rtp(PKT, seq & 0xffff, 24, 1, true);
    expect(rx.unprotect(PKT, tx.protect(PKT, n, CAP))).toBe(n);
  }
  const plain = rtp(PKT, 2, 24, 1, true);
  const n = tx.protect(PKT, plain, CAP);
  memory.copy(ORIG, PKT, <usize>n);
  let wrong = 0;
  let changed = 0;
  let moved = 0;
  for (let bit = 0; bit < n * 8; bit++) {
    memory.copy(PKT, ORIG, <usize>n);
    flipBit(PKT, bit);
    memory.copy(COPY + 1024, PKT, <usize>n);
    const r = rx.unprotect(PKT, n);
    if (!rtpFlipOk(bit, r)) wrong++;
    if (!sameBytes(PKT, COPY + 1024, n)) changed++;
    if (rx.rolloverCounter != 1 || rx.highestSequence != 1) moved++;
  }
  expect(wrong).toBe(0);
  expect(changed).toBe(0);
  expect(moved).toBe(0);
  expect(rx.drops(0)).toBe(<u32>(n * 8));
  memory.copy(PKT, ORIG, <usize>n);
  expect(rx.unprotect(PKT, n)).toBe(plain); // the window did not record the index
}

function rtcpFlipOk(bit: i32, r: i32, eiAt: i32): bool {
  const byte = bit >> 3;
  if (byte == 0 && 7 - (bit & 7) >= 6) return r == ERR_VERSION;
  if (byte >= eiAt && byte < eiAt + 4) return r == ERR_AUTH || r == ERR_REPLAY || r == ERR_TOO_OLD;
  return r == ERR_AUTH;
}

function tamperRtcp(suite: i32): void {
  const tx = keyed(suite);
  const rx = keyed(suite);
  for (let i = 0; i < 3; i++) expect(rx.unprotectRtcp(PKT, tx.protectRtcp(PKT, rtcp(PKT, 20, 9), CAP))).toBe(28);
  const n = tx.protectRtcp(PKT, rtcp(PKT, 20, 9), CAP);
  memory.copy(ORIG, PKT, <usize>n);
  const eiAt = suite >= AEAD_AES_128_GCM ? n - 4 : n - 4 - rtcpTagOf(suite);
  let wrong = 0;
  let changed = 0;
  for (let bit = 0; bit < n * 8; bit++) {
    memory.copy(PKT, ORIG, <usize>n);
    flipBit(PKT, bit);
    memory.copy(COPY + 1024, PKT, <usize>n);
    if (!rtcpFlipOk(bit, rx.unprotectRtcp(PKT, n), eiAt)) wrong++;
    if (!sameBytes(PKT, COPY + 1024, n)) changed++;
  }
  expect(wrong).toBe(0);
  expect(changed).toBe(0);
  expect(rx.drops(0)).toBe(<u32>(n * 8));
  memory.copy(PKT, ORIG, <usize>n);
  expect(rx.unprotectRtcp(PKT, n)).toBe(28);
}

function truncate(suite: i32): void {
  const tx = keyed(suite);
  const rx = keyed(suite);
  expect(rx.unprotect(PKT, tx.protect(PKT, rtp(PKT, 7, 30, 2, true), CAP))).toBeGreaterThan(0);
  const plain = rtp(PKT, 8, 30, 2, true);
  const n = tx.protect(PKT, plain, CAP);
  memory.copy(ORIG, PKT, <usize>n);
  let accepted = 0;
  for (let len = 0; len < n; len++) {
    memory.copy(PKT, ORIG, <usize>n);
    if (rx.unprotect(PKT, len) >= 0) accepted++;
  }
  expect(accepted).toBe(0);
  expect(rx.drops(0)).toBe(<u32>n);
  expect(rx.unprotect(PKT, -1)).toBe(ERR_MALFORMED);
  expect(rx.receivedIndex).toBe(7);
  memory.copy(PKT, ORIG, <usize>n);
  expect(rx.unprotect(PKT, n)).toBe(plain);
  const c = tx.protectRtcp(PKT, rtcp(PKT, 24, 3), CAP);
  memory.copy(ORIG, PKT, <usize>c);
  accepted = 0;
  for (let len = 0; len < c; len++) {
    memory.copy(PKT, ORIG, <usize>c);
    if (rx.unprotectRtcp(PKT, len) >= 0) accepted++;
  }
  expect(accepted).toBe(0);
  memory.copy(PKT, ORIG, <usize>c);
  expect(rx.unprotectRtcp(PKT, c)).toBe(32);
}

describe("tampering", () => {
  it("AES_CM_128_HMAC_SHA1_80: every flipped bit of an SRTP packet fails, state unchanged", () => { tamperRtp(AES_CM_128_HMAC_SHA1_80); });
  it("AES_CM_128_HMAC_SHA1_32: every flipped bit fails, state unchanged", () => { tamperRtp(AES_CM_128_HMAC_SHA1_32); });
  it("AEAD_AES_128_GCM: every flipped bit fails, state unchanged", () => { tamperRtp(AEAD_AES_128_GCM); });
  it("AEAD_AES_256_GCM: every flipped bit fails, state unchanged", () => { tamperRtp(AEAD_AES_256_GCM); });
  it("every suite: every flipped bit of an SRTCP packet fails, the packet left as it came", () => {
    for (let suite = 1; suite <= 4; suite++) tamperRtcp(suite);
  });
  it("every suite: every truncation 0..full-1 of SRTP and SRTCP is refused, the full packet still passes", () => {
    for (let suite = 1; suite <= 4; suite++) truncate(suite);
  });
});

// ---- malformed input, keys, room ----

describe("malformed input and keys", () => {
  it("finds the header length through CSRCs and the extension, refusing what runs past the end", () => {
    expect(rtpHeaderLength(PKT, rtp(PKT, 1, 0))).toBe(12);
    expect(rtpHeaderLength(PKT, rtp(PKT, 1, 0, 15))).toBe(72);
    expect(rtpHeaderLength(PKT, rtp(PKT, 1, 0, 2, true))).toBe(28);
    expect(rtpHeaderLength(PKT, 11)).toBe(ERR_MALFORMED);
    rtp(PKT, 1, 0, 15);
    expect(rtpHeaderLength(PKT, 71)).toBe(ERR_MALFORMED);
    rtp(PKT, 1, 0, 0, true);
    expect(rtpHeaderLength(PKT, 15)).toBe(ERR_MALFORMED); // the extension header itself is cut
    store<u16>(PKT + 14, bswap<u16>(0xffff));             // an extension of 65535 words
    expect(rtpHeaderLength(PKT, 2048)).toBe(ERR_MALFORMED);
    store<u8>(PKT, 0x40);
    expect(rtpHeaderLength(PKT, 20)).toBe(ERR_VERSION);
  });

  it("protect refuses short, bad-version and roomless packets, counting each reason", () => {
    const tx = keyed(AES_CM_128_HMAC_SHA1_80);
    expect(tx.protect(PKT, rtp(PKT, 1, 0), CAP)).toBe(22); // an empty payload is fine
    expect(tx.protect(PKT, 11, CAP)).toBe(ERR_MALFORMED);
    expect(tx.protect(PKT, -5, CAP)).toBe(ERR_MALFORMED);
    const n = rtp(PKT, 2, 20);
    store<u8>(PKT, 0x00);
    expect(tx.protect(PKT, n, CAP)).toBe(ERR_VERSION);
    rtp(PKT, 2, 20);
    expect(tx.protect(PKT, n, n + 9)).toBe(ERR_NO_ROOM);
    expect(tx.protect(PKT, n, n - 1)).toBe(ERR_NO_ROOM);
    expect(tx.protect(PKT, n, n + 10)).toBe(n + 10);
    expect(tx.protectRtcp(PKT, rtcp(PKT, 8, 0), 16 + 13)).toBe(ERR_NO_ROOM);
    expect(tx.protectRtcp(PKT, 7, CAP)).toBe(ERR_MALFORMED);
    rtcp(PKT, 8, 0);
    store<u8>(PKT, 0xc0);
    expect(tx.protectRtcp(PKT, 16, CAP)).toBe(ERR_VERSION);
    expect(tx.drops(-ERR_MALFORMED)).toBe(3);
    expect(tx.drops(-ERR_VERSION)).toBe(2);
    expect(tx.drops(-ERR_NO_ROOM)).toBe(3);
    expect(tx.drops(0)).toBe(8);
    expect(tx.drops(99)).toBe(0);
  });

  it("refuses bad suites and lengths with ERR_NO_KEY and stays keyless", () => {
    const s = new SrtpSession();
    expect(s.protect(PKT, rtp(PKT, 1, 10), CAP)).toBe(ERR_NO_KEY);
    expect(s.unprotect(PKT, 40)).toBe(ERR_NO_KEY);
    expect(s.protectRtcp(PKT, rtcp(PKT, 8, 0), CAP)).toBe(ERR_NO_KEY);
    expect(s.unprotectRtcp(PKT, 40)).toBe(ERR_NO_KEY);
    expect(s.setKey(0, KEY, 16, SALT, 14)).toBe(ERR_NO_KEY);
    expect(s.setKey(5, KEY, 16, SALT, 14)).toBe(ERR_NO_KEY);
    expect(s.setKey(AES_CM_128_HMAC_SHA1_80, KEY, 32, SALT, 14)).toBe(ERR_NO_KEY);
    expect(s.setKey(AES_CM_128_HMAC_SHA1_80, KEY, 16, SALT, 12)).toBe(ERR_NO_KEY);
    expect(s.setKey(AEAD_AES_128_GCM, KEY, 16, SALT, 14)).toBe(ERR_NO_KEY);
    expect(s.setKey(AEAD_AES_256_GCM, KEY, 16, SALT, 12)).toBe(ERR_NO_KEY);
    expect(s.suite).toBe(0);
    expect(s.setKey(AEAD_AES_256_GCM, KEY, 32, SALT, 12)).toBe(0);
    expect(s.suite).toBe(AEAD_AES_256_GCM);
    expect(s.setKey(9, KEY, 32, SALT, 12)).toBe(ERR_NO_KEY); // a failed re-key drops the old key
    expect(s.protect(PKT, rtp(PKT, 1, 10), CAP)).toBe(ERR_NO_KEY);
    expect(s.drops(-ERR_NO_KEY)).toBe(5);
  });
});

// ---- SRTCP index and E flag ----

describe("SRTCP index and E flag (RFC 3711 §3.4)", () => {
  it("numbers packets 0, 1, 2 .. with E = 1 just before the tag (AES-CM) or at the end (GCM)", () => {
    for (let suite = 1; suite <= 4; suite++) {
      const tx = keyed(suite);
      for (let i: u32 = 0; i < 3; i++) {
        expect(tx.srtcpIndex).toBe(i);
        const n = rtcp(PKT, 12, 0x42);
        const m = tx.protectRtcp(PKT, n, CAP);
        const eiAt = suite >= AEAD_AES_128_GCM ? m - 4 : m - 4 - 10;
        expect(bswap<u32>(load<u32>(PKT + <usize>eiAt))).toBe(0x80000000 | i);
        let plain = 0;
        for (let k = 8; k < n; k++) if (load<u8>(PKT + <usize>k) == 0x42) plain++;
        expect(plain).toBeLessThan(4); // encrypted, not the 0x42 fill
      }
    }
  });

  it("accepts E = 0 (authentication only) and leaves the body as sent (Node vectors)", () => {
    for (let suite = 1; suite <= 4; suite++) {
      const rx = keyed(suite);
      const m = putHex(PKT, katRtcpE0(suite));
      expect(rx.unprotectRtcp(PKT, m)).toBe(28);
      expect(isHex(PKT, 28, KAT_RTCP)).toBe(true);
      memory.copy(PKT, COPY + 1024, 0);
      putHex(PKT, katRtcpE0(suite));
      expect(rx.unprotectRtcp(PKT, m)).toBe(ERR_REPLAY);
      const rx2 = keyed(suite);
      putHex(PKT, katRtcpE0(suite));
      flipBit(PKT, 8 * 20 + 3); // a body bit
      memory.copy(ORIG, PKT, <usize>m);
      expect(rx2.unprotectRtcp(PKT, m)).toBe(ERR_AUTH);
      expect(sameBytes(PKT, ORIG, m)).toBe(true); // the GCM path moved the tag and put it back
    }
  });
});

// ---- key lifetime ----

describe("key lifetime (RFC 3711 §9.2)", () => {
  it("protects SRTP index 2^48 - 1, then refuses with ERR_EXHAUSTED and raises needsRekey", () => {
    const tx = keyed(AES_CM_128_HMAC_SHA1_80);
    tx.testSetSendIndex(0xfffffffffffe, 0);
    expect(tx.needsRekey).toBe(false);
    expect(tx.protect(PKT, rtp(PKT, 0xffff, 10), CAP)).toBe(32);
    expect(tx.sentIndex).toBe(0xffffffffffff);
    expect(tx.protect(PKT, rtp(PKT, 0, 10), CAP)).toBe(ERR_EXHAUSTED);
    expect(tx.needsRekey).toBe(true);
    expect(tx.drops(-ERR_EXHAUSTED)).toBe(1);
    expect(tx.setKey(AES_CM_128_HMAC_SHA1_80, KEY, 16, SALT, 14)).toBe(0); // a new key starts afresh
    expect(tx.needsRekey).toBe(false);
    expect(tx.protect(PKT, rtp(PKT, 0, 10), CAP)).toBe(32);
  });

  it("protects SRTCP index 2^31 - 1, then refuses", () => {
    const tx = keyed(AEAD_AES_128_GCM);
    tx.testSetSendIndex(-1, 0x7fffffff);
    const m = tx.protectRtcp(PKT, rtcp(PKT, 8, 0), CAP);
    expect(m).toBe(36);
    expect(bswap<u32>(load<u32>(PKT + 32))).toBe(0xffffffff);
    expect(tx.needsRekey).toBe(false);
    expect(tx.protectRtcp(PKT, rtcp(PKT, 8, 0), CAP)).toBe(ERR_EXHAUSTED);
    expect(tx.needsRekey).toBe(true);
  });

  it("a receiver at ROC 2^32 - 1 refuses the packet that would wrap it", () => {
    const rx = keyed(AES_CM_128_HMAC_SHA1_80);
    rx.testSetReceiveIndex(0xfffffffffff0);
    expect(rx.unprotect(PKT, protectAt(AES_CM_128_HMAC_SHA1_80, 0xfffffffffff8, PKT, 4))).toBe(16);
    const tx = keyed(AES_CM_128_HMAC_SHA1_80);
    tx.testSetSendIndex(0xfffffffffff0, 0);
    expect(tx.protect(PKT, rtp(PKT, 2, 4), CAP)).toBe(ERR_EXHAUSTED); // what the peer cannot send either
    store<u16>(PKT + 2, bswap<u16>(2));
    expect(rx.unprotect(PKT, 26)).toBe(ERR_EXHAUSTED);
    expect(rx.needsRekey).toBe(true);
    expect(rx.receivedIndex).toBe(0xfffffffffff8);
  });
});

// ---- allocation ----

function probe(): usize {
  const p = heap.alloc(16);
  heap.free(p);
  return p;
}

describe("allocation", () => {
  it("allocates nothing per packet: 100,000 SRTP and 10,000 SRTCP packets each way", () => {
    const tx = keyed(AES_CM_128_HMAC_SHA1_80);
    const rx = keyed(AES_CM_128_HMAC_SHA1_80);
    const gtx = keyed(AEAD_AES_128_GCM);
    const grx = keyed(AEAD_AES_128_GCM);
    const before = probe();
    let bad = 0;
    for (let i = 0; i < 100000; i++) {
      const n = rtp(PKT, <u32>(i & 0xffff), 20);
      if (rx.unprotect(PKT, tx.protect(PKT, n, CAP)) != n) bad++;
      if (i % 10 == 0) {
        if (grx.unprotect(PKT, gtx.protect(PKT, n, CAP)) != n) bad++;
        const c = rtcp(PKT, 20, 1);
        if (rx.unprotectRtcp(PKT, tx.protectRtcp(PKT, c, CAP)) != c) bad++;
      }
    }
    const after = probe();
    expect(bad).toBe(0);
    expect(after).toBe(before);
  });
});
