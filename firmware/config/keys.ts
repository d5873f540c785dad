// The configuration keys of the device (docs/config.md): their names, kinds, limits and
// defaults, and each key's stable id in the stored form. Ids are never reused: a key that
// goes away leaves a gap, so a stored record always means what it meant when written.

import { CODEC_G722, CODEC_PCMU, CODEC_PCMA } from "../audio/codecs";
import { AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32, AEAD_AES_128_GCM, AEAD_AES_256_GCM } from "../media/srtp-defs";

/** How a key's text is checked and what typed value it yields. */
export const enum ValueKind {
  Aor,     // sip:user@domain or empty
  Uri,     // a sip:/sips: URI or empty
  Token,   // printable ASCII without spaces or quotes (an auth user name)
  Secret,  // printable ASCII; never read back
  Digits,  // DTMF digits 0-9 * # A-D; never read back
  Number,  // a decimal integer in min..max
  Enum,    // one of `choices`; the typed value is its index
  List,    // an ordered, duplicate-free subset of `choices`, at least one
  Address, // a transport address IPv4[:port] or [IPv6][:port] (else `defaultPort`), or empty
}

export class KeySpec {
  constructor(
    readonly id: u8,             // the record id in the stored form
    readonly name: string,
    readonly kind: ValueKind,
    readonly maxLength: i32,     // bytes of text the key can hold
    readonly min: i32,           // Number: the range
    readonly max: i32,
    readonly choices: StaticArray<string> | null,
    readonly defaultText: string,
    readonly defaultPort: i32 = 0, // Address: the port when the value names none
  ) {}

  get secret(): bool { return this.kind == ValueKind.Secret || this.kind == ValueKind.Digits; }
}

export const KEY_SIP_ACCOUNT: i32 = 0;
export const KEY_SIP_REGISTRAR: i32 = 1;
export const KEY_SIP_USERNAME: i32 = 2;
export const KEY_SIP_PASSWORD: i32 = 3;
export const KEY_SIP_TRANSPORT: i32 = 4;
export const KEY_SIP_EXPIRES: i32 = 5;
export const KEY_SIP_PORT: i32 = 6;
export const KEY_SIP_KEEPALIVE_S: i32 = 7;
export const KEY_CALL_AUTO_ANSWER: i32 = 8;
export const KEY_CALL_ANSWER_AFTER: i32 = 9;
export const KEY_CALL_TARGET: i32 = 10;
export const KEY_DOOR_CODE: i32 = 11;
export const KEY_DOOR_PULSE_MS: i32 = 12;
export const KEY_MEDIA_CODECS: i32 = 13;
export const KEY_MEDIA_SRTP: i32 = 14;
export const KEY_MEDIA_SUITES: i32 = 15;
export const KEY_MEDIA_PTIME: i32 = 16;
export const KEY_MEDIA_JITTER_MS: i32 = 17;
export const KEY_NAT_ICE: i32 = 18;
export const KEY_NAT_STUN_SERVER: i32 = 19;
export const KEY_NAT_TURN_SERVER: i32 = 20;
export const KEY_NAT_TURN_USERNAME: i32 = 21;
export const KEY_NAT_TURN_PASSWORD: i32 = 22;
export const KEY_NAT_KEEPALIVE_S: i32 = 23;
export const KEY_NAT_CONSENT_S: i32 = 24;
export const KEY_COUNT: i32 = 25; // at most 32: change masks are u32
/** Keys whose change means the user agent must register again (sip.keepalive_s is not one:
 *  the flow keepalive changes without a new registration). */
export const SIP_KEYS_MASK: u32 = 0x7f;
/** The nat.* keys: a change there means the ICE agent and TURN client take new settings. */
export const NAT_KEYS_MASK: u32 = <u32>0x7f << <u32>KEY_NAT_ICE;

export const MAX_LIST_ITEMS: i32 = 4;

// Typed values of the enumerated keys: their index in the choices below.
export const enum Transport { Udp = 0, Tcp = 1, Tls = 2 }
export const enum AutoAnswer { Off = 0, On = 1, Intercom = 2 }
export const enum SrtpPolicy { Mandatory = 0, Preferred = 1, Off = 2 }
export const enum OnOff { Off = 0, On = 1 }

const TRANSPORTS: StaticArray<string> = ["udp", "tcp", "tls"];
const AUTO_ANSWER: StaticArray<string> = ["off", "on", "intercom"];
const SRTP: StaticArray<string> = ["mandatory", "preferred", "off"];
const ON_OFF: StaticArray<string> = ["off", "on"];
const PTIMES: StaticArray<string> = ["10", "20", "30", "40", "60"];
export const PTIME_MS: StaticArray<i32> = [10, 20, 30, 40, 60];
export const CODEC_NAMES: StaticArray<string> = ["g722", "pcmu", "pcma"];
/** The codec ids of firmware/audio/codecs.ts, by position in CODEC_NAMES. */
export const CODEC_IDS: StaticArray<i32> = [CODEC_G722, CODEC_PCMU, CODEC_PCMA];
export const SUITE_NAMES: StaticArray<string> = ["AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32", "AEAD_AES_128_GCM", "AEAD_AES_256_GCM"];
/** The suite ids of firmware/media/srtp-defs.ts, by position in SUITE_NAMES. */
export const SUITE_IDS: StaticArray<i32> = [AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32, AEAD_AES_128_GCM, AEAD_AES_256_GCM];

const URI_MAX: i32 = 128;
/** "[" + the longest IPv6 text (45, with a dotted quad) + "]:65535". */
export const ADDRESS_MAX: i32 = 53;
/** RFC 8489 18.6 / RFC 8656: the STUN and TURN port over UDP and TCP. */
export const STUN_PORT: i32 = 3478;

// The order of this table is the order `get` lists the keys in.
export const KEYS: StaticArray<KeySpec> = [
  new KeySpec(1, "sip.account", ValueKind.Aor, URI_MAX, 0, 0, null, ""),
  new KeySpec(2, "sip.registrar", ValueKind.Uri, URI_MAX, 0, 0, null, ""),
  new KeySpec(3, "sip.username", ValueKind.Token, 64, 0, 0, null, ""),
  new KeySpec(4, "sip.password", ValueKind.Secret, 64, 0, 0, null, ""),
  new KeySpec(5, "sip.transport", ValueKind.Enum, 3, 0, 0, TRANSPORTS, "udp"),
  new KeySpec(6, "sip.expires", ValueKind.Number, 5, 60, 86400, null, "600"),
  new KeySpec(7, "sip.port", ValueKind.Number, 5, 1, 65535, null, "5060"),
  new KeySpec(25, "sip.keepalive_s", ValueKind.Number, 3, 0, 600, null, "25"),
  new KeySpec(8, "call.auto_answer", ValueKind.Enum, 8, 0, 0, AUTO_ANSWER, "off"),
  new KeySpec(9, "call.answer_after", ValueKind.Number, 2, 0, 60, null, "0"),
  new KeySpec(10, "call.target", ValueKind.Uri, URI_MAX, 0, 0, null, ""),
  new KeySpec(11, "door.code", ValueKind.Digits, 16, 0, 0, null, ""),
  new KeySpec(12, "door.pulse_ms", ValueKind.Number, 5, 100, 10000, null, "1000"),
  new KeySpec(13, "media.codecs", ValueKind.List, 14, 0, 0, CODEC_NAMES, "g722,pcmu,pcma"),
  new KeySpec(14, "media.srtp", ValueKind.Enum, 9, 0, 0, SRTP, "mandatory"),
  new KeySpec(15, "media.suites", ValueKind.List, 81, 0, 0, SUITE_NAMES, "AES_CM_128_HMAC_SHA1_80,AES_CM_128_HMAC_SHA1_32"),
  new KeySpec(16, "media.ptime", ValueKind.Enum, 2, 0, 0, PTIMES, "20"),
  new KeySpec(17, "media.jitter_ms", ValueKind.Number, 3, 0, 200, null, "0"),
  new KeySpec(18, "nat.ice", ValueKind.Enum, 3, 0, 0, ON_OFF, "on"),
  new KeySpec(19, "nat.stun_server", ValueKind.Address, ADDRESS_MAX, 0, 0, null, "", STUN_PORT),
  new KeySpec(20, "nat.turn_server", ValueKind.Address, ADDRESS_MAX, 0, 0, null, "", STUN_PORT),
  new KeySpec(21, "nat.turn_username", ValueKind.Token, 64, 0, 0, null, ""),
  new KeySpec(22, "nat.turn_password", ValueKind.Secret, 64, 0, 0, null, ""),
  new KeySpec(23, "nat.keepalive_s", ValueKind.Number, 3, 0, 300, null, "15"),
  new KeySpec(24, "nat.consent_s", ValueKind.Number, 2, 1, 30, null, "5"),
];

/** Where each key's text lives in a ConfigValues text area; computed once. */
export const SLOT_OFFSET = new StaticArray<i32>(KEY_COUNT);
export let TEXT_BYTES: i32 = 0;
for (let k = 0; k < KEY_COUNT; k++) {
  unchecked(SLOT_OFFSET[k] = TEXT_BYTES);
  TEXT_BYTES += unchecked(KEYS[k]).maxLength;
}

@inline function lower(c: u32): u32 { return c >= 0x41 && c <= 0x5a ? c | 0x20 : c; }

/** True when p[0..len) is `s`, ASCII case-insensitively. */
export function bytesAre(p: usize, len: i32, s: string, anyCase: bool): bool {
  if (len != s.length) return false;
  for (let i = 0; i < len; i++) {
    const a = <u32>load<u8>(p + <usize>i);
    const b = <u32>s.charCodeAt(i);
    if (anyCase ? lower(a) != lower(b) : a != b) return false;
  }
  return true;
}

/** The index of the key named p[0..len), or -1. Names are exact (lower case). */
export function keyIndex(p: usize, len: i32): i32 {
  for (let k = 0; k < KEY_COUNT; k++) if (bytesAre(p, len, unchecked(KEYS[k]).name, false)) return k;
  return -1;
}

/** The index of the key whose stored id is `id`, or -1. */
export function keyById(id: u32): i32 {
  for (let k = 0; k < KEY_COUNT; k++) if (<u32>unchecked(KEYS[k]).id == id) return k;
  return -1;
}

/** The index of the choice p[0..len) names (any case), or -1. */
export function choiceIndex(choices: StaticArray<string>, p: usize, len: i32): i32 {
  for (let i = 0; i < choices.length; i++) if (bytesAre(p, len, unchecked(choices[i]), true)) return i;
  return -1;
}
