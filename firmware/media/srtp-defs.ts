// SRTP facts shared by the session, SRTCP and the key derivation: the suites, their sizes and
// the error codes. A separate file so srtp.ts and srtcp.ts can both use them without importing
// each other.

// Suites (RFC 4568 §6.2 names; RFC 7714 §14 for the GCM ones). The numbers are ours.
export const AES_CM_128_HMAC_SHA1_80: i32 = 1;
export const AES_CM_128_HMAC_SHA1_32: i32 = 2;
export const AEAD_AES_128_GCM: i32 = 3;
export const AEAD_AES_256_GCM: i32 = 4;

// Errors: every entry point returns one of these (negative) or a length. The drop counters are
// indexed by the negated code, so -ERR_x is also the reason code the caller reads them with.
export const ERR_MALFORMED: i32 = -1; // too short, header runs past the end, bad argument length
export const ERR_VERSION: i32 = -2;   // RTP/RTCP version is not 2
export const ERR_AUTH: i32 = -3;      // tag (HMAC or GCM) did not verify; nothing was changed
export const ERR_REPLAY: i32 = -4;    // index already seen (or, sending, already used)
export const ERR_TOO_OLD: i32 = -5;   // index left of the replay window
export const ERR_NO_KEY: i32 = -6;    // no key set, or setKey given a bad suite / lengths
export const ERR_EXHAUSTED: i32 = -7; // key lifetime reached (RFC 3711 §9.2): re-key
export const ERR_NO_ROOM: i32 = -8;   // the buffer cannot hold the tag / trailer
export const DROP_REASONS: i32 = 9;   // reasons 1..8; slot 0 unused

// RFC 3711 §9.2: at most 2^48 SRTP and 2^31 SRTCP packets under one master key.
export const MAX_SRTP_INDEX: i64 = 0xffffffffffff;
export const MAX_SRTCP_INDEX: u32 = 0x7fffffff;

export const GCM_TAG: i32 = 16;       // RFC 7714 §12: the 16-octet tag, the only one it allows
export const HMAC_SHA1_KEY: i32 = 20; // RFC 3711 §4.3: n_a = 160 bits for HMAC-SHA1
export const SRTCP_HEADER: i32 = 8;   // the part of an SRTCP packet never encrypted (§3.4)

export function suiteIsAead(suite: i32): bool { return suite == AEAD_AES_128_GCM || suite == AEAD_AES_256_GCM; }

export function suiteValid(suite: i32): bool { return suite >= AES_CM_128_HMAC_SHA1_80 && suite <= AEAD_AES_256_GCM; }

/** Master (and session encryption) key bytes. */
export function suiteKeyLength(suite: i32): i32 { return suite == AEAD_AES_256_GCM ? 32 : 16; }

/** Master (and session) salt bytes: 112 bits for AES-CM (RFC 3711), 96 for GCM (RFC 7714 §12). */
export function suiteSaltLength(suite: i32): i32 { return suiteIsAead(suite) ? 12 : 14; }

export function srtpTagLength(suite: i32): i32 {
  if (suiteIsAead(suite)) return GCM_TAG;
  return suite == AES_CM_128_HMAC_SHA1_32 ? 4 : 10;
}

/**
 * SRTCP keeps the 80-bit tag for the _32 suite: RFC 3711 §7.5 allows short tags only for
 * media, and libsrtp (the reference our peers use) builds its RTCP policy of that profile
 * with HMAC-SHA1-80.
 */
export function srtcpTagLength(suite: i32): i32 { return suiteIsAead(suite) ? GCM_TAG : 10; }
