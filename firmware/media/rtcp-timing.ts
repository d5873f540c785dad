// RTCP timing: NTP timestamps, round-trip time (RFC 3550 §6.4.1) and the transmission interval
// (§6.3 / Appendix A.7). Pure functions: times and random values are arguments.

// NTP time and round-trip time

const NTP_UNIX_OFFSET: i64 = 2208988800; // seconds from 1900-01-01 to 1970-01-01

/** 64-bit NTP timestamp (32.32 seconds since 1900) of a Unix time in microseconds. */
export function ntpFromUnixUs(us: i64): u64 {
  let s = us / 1_000_000;
  let f = us % 1_000_000;
  if (f < 0) { f += 1_000_000; s--; } // floor, for times before 1970
  const frac = (<u64>f << 32) / 1_000_000;
  return (<u64>(s + NTP_UNIX_OFFSET) << 32) | frac;
}

/** The middle 32 bits of an NTP timestamp: the 16.16 "NTP short" format of LSR and DLSR. */
@inline export function ntpMiddle(ntp: u64): u32 { return <u32>(ntp >> 16); }

/** NTP short format of a Unix time in microseconds. */
export function ntpShortFromUnixUs(us: i64): u32 { return ntpMiddle(ntpFromUnixUs(us)); }

/** Round-trip time (RFC 3550 §6.4.1) in 1/65536 s from a report block's LSR and DLSR and the
 *  report's arrival time A (NTP short): A - LSR - DLSR, modulo 2^32. -1 when there is none to
 *  compute (LSR 0: the peer has had no SR from us) or when clock error makes it negative. */
export function rttNtpShort(arrival: u32, lsr: u32, dlsr: u32): i32 {
  if (lsr == 0) return -1;
  const rtt = arrival - lsr - dlsr;
  return <i32>rtt < 0 ? -1 : <i32>rtt;
}

/** 1/65536 s units to microseconds (exact to the microsecond, rounded down). */
export function ntpShortToUs(v: u32): i64 { return (<i64>v * 1_000_000) >> 16; }

/** Microseconds to 1/65536 s units, saturated at the 32-bit field (DLSR of a delay given in us). */
export function usToNtpShort(us: i64): u32 {
  if (us <= 0) return 0;
  if (us >= 65536 * 1_000_000) return 0xffffffff;
  const v = (us << 16) / 1_000_000;
  return v > 0xffffffff ? 0xffffffff : <u32>v;
}

// ---------------------------------------------------------------------------------------------
// Transmission interval (RFC 3550 §6.2, §6.3, A.7)

export const RTCP_MIN_INTERVAL_US: i64 = 5_000_000;
const MAX_INTERVAL_US: i64 = 0xffffffff; // 71.6 minutes: a saturation no real session reaches

/** The deterministic interval Td of RFC 3550 A.7 in microseconds, before randomisation:
 *  RTCP gets 5% of `sessionBps`; when senders are at most a quarter of the members, senders
 *  share 1/4 of it and receivers 3/4; Td = avgRtcpSize x n / bandwidth, at least 5 s (2.5 s
 *  before the first report). `avgRtcpSize` is in octets with the UDP and IP headers. -1 when
 *  there is no RTCP bandwidth or size to compute with. */
export function rtcpDeterministicIntervalUs(members: i32, senders: i32, sessionBps: i32, weSent: bool, avgRtcpSize: i32, initial: bool): i64 {
  if (sessionBps <= 0 || avgRtcpSize <= 0) return -1;
  if (members < 1) members = 1; // we are always a member
  if (senders < 0) senders = 0;
  if (senders > members) senders = members;
  let n = <i64>members;
  // RTCP bandwidth in octets/s is sessionBps x 5/100 / 8 = sessionBps / 160; num/den below is
  // the share of it the computation divides by (1, 1/4 or 3/4).
  let num: i64 = 1, den: i64 = 1;
  if (4 * <i64>senders <= <i64>members) {
    if (weSent) { num = 1; den = 4; n = <i64>senders; }
    else { num = 3; den = 4; n = <i64>(members - senders); }
  }
  // t_us = avg x n / (sessionBps / 160 x num / den) x 1e6 = avg x n x 160e6 x den / (sessionBps x num)
  let q = <i64>avgRtcpSize * n; // <= 2^31 x 2^31 = 2^62: saturate before scaling
  const limit: i64 = 1 << 32;
  if (q > limit) q = limit;
  let t = (q * 160_000_000 * den) / (<i64>sessionBps * num); // 2^32 x 2^27.3 x 4 fits in 2^62
  const tmin = initial ? RTCP_MIN_INTERVAL_US / 2 : RTCP_MIN_INTERVAL_US;
  if (t < tmin) t = tmin;
  if (t > MAX_INTERVAL_US) t = MAX_INTERVAL_US;
  return t;
}

/** The interval to the next report (A.7 rtcp_interval): Td x (0.5 + r) / (e - 3/2), with r in
 *  [0, 1) given as a 0.32 fixed-point fraction `random` (r = random / 2^32) from the caller's
 *  RNG. The division by e - 3/2 = 1.21828 compensates for timer reconsideration, which
 *  otherwise makes the mean interval shorter than Td. Microseconds, or -1 as above. */
export function rtcpIntervalUs(members: i32, senders: i32, sessionBps: i32, weSent: bool, avgRtcpSize: i32, initial: bool, random: u32): i64 {
  const td = rtcpDeterministicIntervalUs(members, senders, sessionBps, weSent, avgRtcpSize, initial);
  if (td < 0) return td;
  // 0.5 + r in 1/65536 units: 32768 .. 98303 (the low 16 bits of r are below the us grain).
  const factor = <i64>(32768 + (random >> 16));
  const t = (td * factor) >> 16; // <= 2^32 x 2^17
  return (t * 100_000) / 121_828;
}

/** Smooths avg_rtcp_size (RFC 3550 §6.3.3): avg = 1/16 size + 15/16 avg. Kept x 16 so the
 *  integer average does not drift down by truncation; return value x 16 too. Start it at
 *  16 x the size of the first report we expect to send. */
export function smoothAvgRtcpSize(avgX16: i32, packetSize: i32): i32 {
  if (packetSize < 0) packetSize = 0;
  if (packetSize > 0xffff) packetSize = 0xffff;
  return avgX16 - (avgX16 >> 4) + packetSize;
}

/** Timer reconsideration (§6.3.6): when the timer set at tp fires at `nowUs`, a report goes out
 *  only if tp + T (T recomputed now) has passed; otherwise the timer is set to tp + T. */
export function rtcpReconsider(tpUs: i64, nowUs: i64, intervalUs: i64): bool { return tpUs + intervalUs <= nowUs; }
