// One complete set of configuration values in fixed storage: each key's canonical text in its
// slot, and the typed value parsed from it (a number, an enum index, a list of choice indices).
// parseValue() is the one validator: console requests and stored records both go through it.

import { LineBuffer } from "../lib/text";
import { SipUri, URI_OK } from "../sip/uri";
import { parseIpv4, parseIpv6, parseHostPort, formatAddress, sockaddrFamily, sockaddrPort, FAMILY_IPV6 } from "../lib/inet";
import { KEYS, KEY_COUNT, KeySpec, ValueKind, SLOT_OFFSET, TEXT_BYTES, MAX_LIST_ITEMS, choiceIndex } from "./keys";

export const VALUE_OK: i32 = 0;
export const VALUE_BAD: i32 = -2;

export class ConfigValues {
  readonly text: StaticArray<u8> = new StaticArray<u8>(TEXT_BYTES);
  readonly length: StaticArray<i32> = new StaticArray<i32>(KEY_COUNT);
  /** Number keys: the value; Enum keys: the choice index; List keys: the item count. */
  readonly number: StaticArray<i32> = new StaticArray<i32>(KEY_COUNT);
  /** List keys: choice indices, MAX_LIST_ITEMS per key. */
  readonly items: StaticArray<u8> = new StaticArray<u8>(KEY_COUNT * MAX_LIST_ITEMS);
  /** Set by a person (and stored), rather than the default. */
  readonly explicit: StaticArray<bool> = new StaticArray<bool>(KEY_COUNT);

  @inline textAddress(k: i32): usize { return changetype<usize>(this.text) + <usize>unchecked(SLOT_OFFSET[k]); }
  @inline textLength(k: i32): i32 { return unchecked(this.length[k]); }
  @inline item(k: i32, i: i32): i32 { return <i32>unchecked(this.items[k * MAX_LIST_ITEMS + i]); }

  copyFrom(o: ConfigValues): void {
    memory.copy(changetype<usize>(this.text), changetype<usize>(o.text), <usize>TEXT_BYTES);
    memory.copy(changetype<usize>(this.length), changetype<usize>(o.length), <usize>(KEY_COUNT * 4));
    memory.copy(changetype<usize>(this.number), changetype<usize>(o.number), <usize>(KEY_COUNT * 4));
    memory.copy(changetype<usize>(this.items), changetype<usize>(o.items), <usize>(KEY_COUNT * MAX_LIST_ITEMS));
    memory.copy(changetype<usize>(this.explicit), changetype<usize>(o.explicit), <usize>KEY_COUNT);
  }

  /** Whether key k differs from o's: its text (which determines the typed value) or its origin. */
  differs(k: i32, o: ConfigValues): bool {
    const n = this.textLength(k);
    if (n != o.textLength(k) || unchecked(this.explicit[k]) != unchecked(o.explicit[k])) return true;
    return memory.compare(this.textAddress(k), o.textAddress(k), <usize>n) != 0;
  }
}

/** Restores key k to its default (not explicit). The defaults are valid by construction. */
export function setDefault(values: ConfigValues, k: i32, uri: SipUri, reason: LineBuffer): void {
  const spec = unchecked(KEYS[k]);
  const s = spec.defaultText;
  const scratch = values.textAddress(k); // parse the default from its own slot
  for (let i = 0; i < s.length; i++) store<u8>(scratch + <usize>i, <u8>s.charCodeAt(i));
  parseValue(values, k, scratch, s.length, uri, reason);
  unchecked(values.explicit[k] = false);
}

/**
 * Checks p[0..len) as the value of key k and, if it is good, stores its canonical text and
 * typed value in `values` (marked explicit). Otherwise writes "<key>: <why>" to reason and
 * returns VALUE_BAD; key k of `values` is then unspecified (the caller discards or resets it).
 * p may be the key's own slot (defaults are parsed in place).
 */
export function parseValue(values: ConfigValues, k: i32, p: usize, len: i32, uri: SipUri, reason: LineBuffer): i32 {
  const spec = unchecked(KEYS[k]);
  reason.clear().text(spec.name).text(": ");
  if (len < 0) { reason.text("no value"); return VALUE_BAD; }
  const kind = spec.kind;
  let ok = false;
  if (kind == ValueKind.Number) ok = parseNumber(values, k, spec, p, len, reason);
  else if (kind == ValueKind.Enum) ok = parseEnum(values, k, spec, p, len, reason);
  else if (kind == ValueKind.List) ok = parseList(values, k, spec, p, len, reason);
  else if (kind == ValueKind.Address) ok = parseAddress(values, k, spec, p, len, reason);
  else ok = checkText(spec, p, len, uri, reason) && copyText(values, k, p, len, kind == ValueKind.Digits);
  if (!ok) return VALUE_BAD;
  unchecked(values.explicit[k] = true);
  return VALUE_OK;
}

function copyText(values: ConfigValues, k: i32, p: usize, len: i32, upper: bool): bool {
  const out = values.textAddress(k);
  memory.copy(out, p, <usize>len);
  // DTMF A-D are upper case in the canonical text (RFC 4733 names them so).
  if (upper) for (let i = 0; i < len; i++) { const c = load<u8>(out + <usize>i); if (c >= 0x61) store<u8>(out + <usize>i, c & 0xdf); }
  unchecked(values.length[k] = len);
  unchecked(values.number[k] = 0);
  return true;
}

function checkText(spec: KeySpec, p: usize, len: i32, uri: SipUri, reason: LineBuffer): bool {
  if (len > spec.maxLength) { reason.text("longer than ").int(spec.maxLength).text(" characters"); return false; }
  const kind = spec.kind;
  for (let i = 0; i < len; i++) {
    const c = <u32>load<u8>(p + <usize>i);
    if (kind == ValueKind.Digits) {
      if (!((c >= 0x30 && c <= 0x39) || c == 0x2a || c == 0x23 || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x64))) {
        reason.text("only the digits 0-9, *, # and A-D are allowed"); return false;
      }
    } else if (kind == ValueKind.Secret) {
      if (c < 0x20 || c > 0x7e) { reason.text("only printable ASCII characters are allowed"); return false; }
    } else if (c <= 0x20 || c > 0x7e || ((c == 0x22 || c == 0x5c) && kind == ValueKind.Token)) {
      reason.text(kind == ValueKind.Token ? "only printable ASCII without spaces, quotes or backslashes is allowed" : "a URI is printable ASCII without spaces");
      return false;
    }
  }
  if (len == 0 || kind == ValueKind.Token || kind == ValueKind.Secret || kind == ValueKind.Digits) return true;
  if (uri.parse(p, 0, len) != URI_OK) { quote(reason, p, len); reason.text(" is not a sip: or sips: URI"); return false; }
  if (!validHost(p + <usize>uri.host.at, uri.host.len)) { quote(reason, p, len); reason.text(" has a bad host"); return false; }
  if (kind == ValueKind.Aor && (!uri.user.present || uri.user.at + uri.user.len + 1 != uri.host.at || uri.host.at + uri.host.len != len || !validUser(p + <usize>uri.user.at, uri.user.len))) {
    quote(reason, p, len); reason.text(" is not an address of record sip:user@domain (no password, port, parameters or headers)");
    return false;
  }
  return true;
}

/** A host name ([A-Za-z0-9.-], starting alphanumeric), an IPv4 address or a bracketed IPv6 one. */
function validHost(p: usize, len: i32): bool {
  if (len <= 0) return false;
  if (load<u8>(p) == 0x5b) {
    if (len < 3 || load<u8>(p + <usize>(len - 1)) != 0x5d) return false;
    const scratch = memory.data(16);
    return parseIpv6(p + 1, len - 2, scratch);
  }
  for (let i = 0; i < len; i++) {
    const c = <u32>load<u8>(p + <usize>i);
    const alnum = (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a);
    if (!alnum && (i == 0 || (c != 0x2d && c != 0x2e))) return false;
  }
  return true;
}

/** RFC 3261 25.1 user: unreserved, user-unreserved (less ';' and '?') and %HH escapes. */
function validUser(p: usize, len: i32): bool {
  for (let i = 0; i < len; i++) {
    const c = <u32>load<u8>(p + <usize>i);
    if ((c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a)) continue;
    if (c == 0x25) {
      if (i + 2 >= len || !isHex(load<u8>(p + <usize>(i + 1))) || !isHex(load<u8>(p + <usize>(i + 2)))) return false;
      i += 2;
      continue;
    }
    // - _ . ! ~ * ' ( ) & = + $ , /
    if (c == 0x2d || c == 0x5f || c == 0x2e || c == 0x21 || c == 0x7e || c == 0x2a || c == 0x27 || c == 0x28 || c == 0x29 ||
      c == 0x26 || c == 0x3d || c == 0x2b || c == 0x24 || c == 0x2c || c == 0x2f) continue;
    return false;
  }
  return len > 0;
}

@inline function isHex(c: u32): bool { return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66); }

function parseNumber(values: ConfigValues, k: i32, spec: KeySpec, p: usize, len: i32, reason: LineBuffer): bool {
  let v: i64 = 0;
  let ok = len > 0 && len <= 9;
  for (let i = 0; ok && i < len; i++) {
    const c = <u32>load<u8>(p + <usize>i);
    if (c < 0x30 || c > 0x39) ok = false;
    else v = v * 10 + <i64>(c - 0x30);
  }
  if (!ok) { quote(reason, p, len); reason.text(" is not a whole number"); return false; }
  if (v < <i64>spec.min || v > <i64>spec.max) {
    quote(reason, p, len); reason.text(" is outside ").int(spec.min).text("..").int(spec.max);
    return false;
  }
  // Canonical text: no leading zeros.
  const out = values.textAddress(k);
  let digits = 1;
  for (let t = v; t >= 10; t /= 10) digits++;
  let m = v;
  for (let i = digits - 1; i >= 0; i--) { store<u8>(out + <usize>i, <u8>(0x30 + m % 10)); m /= 10; }
  unchecked(values.length[k] = digits);
  unchecked(values.number[k] = <i32>v);
  return true;
}

// Scratch SOCKADDR (boards/ABI.md, 20 bytes) for checking transport addresses.
const ADDRESS_SCRATCH: usize = memory.data(20);

/** A transport address or empty (none). The canonical text is the address in RFC 5952 form
 *  ([IPv6] in brackets) with the port always written, so `get` shows the port in force. */
function parseAddress(values: ConfigValues, k: i32, spec: KeySpec, p: usize, len: i32, reason: LineBuffer): bool {
  unchecked(values.number[k] = 0);
  if (len == 0) { unchecked(values.length[k] = 0); return true; }
  if (len > spec.maxLength) { reason.text("longer than ").int(spec.maxLength).text(" characters"); return false; }
  const sa = ADDRESS_SCRATCH;
  if (!parseHostPort(p, len, sa, spec.defaultPort)) { addressProblem(p, len, reason); return false; }
  // sa holds everything now, so p may be the slot being written (defaults are parsed in place).
  const out = values.textAddress(k);
  const v6 = sockaddrFamily(sa) == FAMILY_IPV6;
  let n = 0;
  if (v6) store<u8>(out + <usize>(n++), 0x5b);
  n += formatAddress(sa, out + <usize>n, spec.maxLength - n);
  if (v6) store<u8>(out + <usize>(n++), 0x5d);
  store<u8>(out + <usize>(n++), 0x3a);
  const port = sockaddrPort(sa);
  let digits = 1;
  for (let t = port; t >= 10; t /= 10) digits++;
  let m = port;
  for (let i = digits - 1; i >= 0; i--) { store<u8>(out + <usize>(n + i), <u8>(0x30 + m % 10)); m /= 10; }
  unchecked(values.length[k] = n + digits);
  return true;
}

/** Why parseHostPort refused p[0..len): its steps again, naming the first that fails. */
function addressProblem(p: usize, len: i32, reason: LineBuffer): void {
  quote(reason, p, len);
  const sa = ADDRESS_SCRATCH;
  if (load<u8>(p) == 0x5b) {
    const close = indexOf(p, len, 0x5d, 1);
    if (close < 0) { reason.text(" has no closing ']'"); return; }
    if (!parseIpv6(p + 1, close - 1, sa)) { reason.text(" has no IPv6 address between its brackets"); return; }
    if (close + 1 < len && load<u8>(p + <usize>(close + 1)) != 0x3a) { reason.text(" has text after ']'; write [IPv6]:port"); return; }
  } else {
    const colon = indexOf(p, len, 0x3a, 0);
    if (colon >= 0 && indexOf(p, len, 0x3a, colon + 1) >= 0 && parseIpv6(p, len, sa)) {
      reason.text(" is an IPv6 address without brackets; write [IPv6]:port"); return;
    }
    if (!parseIpv4(p, colon < 0 ? len : colon, sa)) {
      reason.text(" is not an IPv4 address or a bracketed IPv6 one (no host names: the device has no DNS resolver)"); return;
    }
  }
  reason.text(" has a bad port; a port is 1..65535");
}

function indexOf(p: usize, len: i32, c: u8, from: i32): i32 {
  for (let i = from; i < len; i++) if (load<u8>(p + <usize>i) == c) return i;
  return -1;
}

function parseEnum(values: ConfigValues, k: i32, spec: KeySpec, p: usize, len: i32, reason: LineBuffer): bool {
  const choices = spec.choices!;
  const i = choiceIndex(choices, p, len);
  if (i < 0) { quote(reason, p, len); reason.text(" is not one of "); listChoices(reason, choices); return false; }
  unchecked(values.number[k] = i);
  writeChoice(values, k, 0, unchecked(choices[i]));
  unchecked(values.length[k] = unchecked(choices[i]).length);
  return true;
}

function parseList(values: ConfigValues, k: i32, spec: KeySpec, p: usize, len: i32, reason: LineBuffer): bool {
  const choices = spec.choices!;
  let count = 0;
  let seen: u32 = 0;
  let start = 0;
  if (len == 0) { reason.text("name one or more of "); listChoices(reason, choices); return false; }
  // Collect the items first: the text may be parsed in place, and canonical names can differ in case only.
  for (let i = 0; i <= len; i++) {
    if (i < len && load<u8>(p + <usize>i) != 0x2c) continue;
    const c = choiceIndex(choices, p + <usize>start, i - start);
    if (c < 0) {
      if (i == start) reason.text("an empty item in the list; name one or more of ");
      else { quote(reason, p + <usize>start, i - start); reason.text(" is not one of "); }
      listChoices(reason, choices);
      return false;
    }
    if ((seen & (1 << c)) != 0) { quote(reason, p + <usize>start, i - start); reason.text(" is listed twice"); return false; }
    seen |= 1 << c;
    unchecked(values.items[k * MAX_LIST_ITEMS + count] = <u8>c);
    count++;
    start = i + 1;
  }
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (i > 0) { store<u8>(values.textAddress(k) + <usize>at, 0x2c); at++; }
    const name = unchecked(choices[values.item(k, i)]);
    writeChoice(values, k, at, name);
    at += name.length;
  }
  unchecked(values.length[k] = at);
  unchecked(values.number[k] = count);
  return true;
}

function writeChoice(values: ConfigValues, k: i32, at: i32, name: string): void {
  const out = values.textAddress(k) + <usize>at;
  for (let i = 0; i < name.length; i++) store<u8>(out + <usize>i, <u8>name.charCodeAt(i));
}

function listChoices(reason: LineBuffer, choices: StaticArray<string>): void {
  for (let i = 0; i < choices.length; i++) reason.text(i == 0 ? "" : ", ").text(unchecked(choices[i]));
}

/** Appends 'value' (at most 40 bytes, unprintable bytes as '?'). Only used for non-secret keys. */
export function quote(reason: LineBuffer, p: usize, len: i32): void {
  reason.text("'");
  const n = min(len, 40);
  for (let i = 0; i < n; i++) {
    const c = load<u8>(p + <usize>i);
    if (c >= 0x20 && c < 0x7f) reason.bytes(p + <usize>i, 1);
    else reason.text("?");
  }
  reason.text(n < len ? "...'" : "'");
}
