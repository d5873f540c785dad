// SRTCP packet transforms (RFC 3711 §3.4; RFC 7714 §9 for GCM). The session (srtp.ts) checks
// lengths, the version, the key lifetime and the replay window; these only seal and open.
//
//   AES-CM:  header(8) | encrypted rest | E|index(4) | tag(10)     tag = HMAC over all before it
//   GCM:     header(8) | encrypted rest | tag(16) | E|index(4)     AAD = header || E|index
// With E = 0 (authentication only, which we accept but never send) nothing is encrypted, and
// for GCM the whole packet then is AAD: RTCP || E|index, with an empty plaintext (RFC 7714 §9).

import { aesCtrXor } from "../crypto/ctr";
import { ctEqual } from "../crypto/ct";
import { readU32BE, writeU32BE } from "../lib/bytes";
import { SrtpTransform } from "./srtp-transform";
import { ERR_AUTH, ERR_NO_KEY, GCM_TAG, SRTCP_HEADER } from "./srtp-defs";

const E_FLAG: u32 = 0x80000000;

/** Offset of E||index in a protected packet of len bytes (len already checked long enough). */
export function srtcpIndexOffset(t: SrtpTransform, len: i32, tagLen: i32): i32 {
  return t.aead ? len - 4 : len - 4 - tagLen;
}

/** Encrypts the RTCP packet at p in place and appends the trailer (E = 1); returns the new length (ERR_NO_KEY if GCM refused). */
export function srtcpSeal(t: SrtpTransform, index: u32, p: usize, len: i32, tagLen: i32): i32 {
  const ei = E_FLAG | index;
  const iv = t.iv(readU32BE(p + 4), <u64>index);
  const body = p + <usize>SRTCP_HEADER;
  const bodyLen = len - SRTCP_HEADER;
  if (t.aead) {
    const aad = t.aad;
    memory.copy(aad, p, <usize>SRTCP_HEADER);
    writeU32BE(aad + <usize>SRTCP_HEADER, ei);
    if (!t.gcm.seal(iv, 12, aad, SRTCP_HEADER + 4, body, bodyLen, p + <usize>len, GCM_TAG)) return ERR_NO_KEY; // never sent in the clear
    writeU32BE(p + <usize>(len + GCM_TAG), ei);
    return len + GCM_TAG + 4;
  }
  aesCtrXor(t.aes, iv, body, bodyLen);
  writeU32BE(p + <usize>len, ei);
  const mac = t.mac(p, len + 4, 0, false);
  memory.copy(p + <usize>(len + 4), mac, <usize>tagLen);
  return len + 4 + tagLen;
}

/**
 * Verifies, then decrypts (if E = 1) the SRTCP packet at p; returns the RTCP length or
 * ERR_AUTH, in which case the packet is as it came.
 */
export function srtcpOpen(t: SrtpTransform, p: usize, len: i32, tagLen: i32): i32 {
  const eiAt = srtcpIndexOffset(t, len, tagLen);
  const ei = readU32BE(p + <usize>eiAt);
  const index = ei & ~E_FLAG;
  const encrypted = (ei & E_FLAG) != 0;
  const iv = t.iv(readU32BE(p + 4), <u64>index);
  if (t.aead) {
    const tagAt = eiAt - GCM_TAG;
    if (encrypted) {
      const aad = t.aad;
      memory.copy(aad, p, <usize>SRTCP_HEADER);
      writeU32BE(aad + <usize>SRTCP_HEADER, ei);
      const body = p + <usize>SRTCP_HEADER;
      return t.gcm.open(iv, 12, aad, SRTCP_HEADER + 4, body, tagAt - SRTCP_HEADER, p + <usize>tagAt, GCM_TAG) ? tagAt : ERR_AUTH;
    }
    // The AAD must be contiguous: park the tag, bring E||index up against the RTCP, verify,
    // and put the bytes back either way (the caller's packet is only ever changed on success).
    const save = t.save;
    memory.copy(save, p + <usize>tagAt, GCM_TAG);
    writeU32BE(p + <usize>tagAt, ei);
    const ok = t.gcm.open(iv, 12, p, tagAt + 4, p + <usize>(tagAt + 4), 0, save, GCM_TAG);
    memory.copy(p + <usize>tagAt, save, GCM_TAG);
    return ok ? tagAt : ERR_AUTH;
  }
  const tagAt = len - tagLen;
  const mac = t.mac(p, tagAt, 0, false);
  if (!ctEqual(mac, p + <usize>tagAt, tagLen)) return ERR_AUTH;
  if (encrypted) aesCtrXor(t.aes, iv, p + <usize>SRTCP_HEADER, eiAt - SRTCP_HEADER);
  return eiAt;
}
