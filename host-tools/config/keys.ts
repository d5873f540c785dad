// The device's configuration keys as the host knows them (docs/config.md), and the same checks
// the firmware makes (firmware/config/values.ts), so that a bad value is refused before it is
// sent. The board stays the authority: it checks again and names what it refuses.

import net from "node:net";

export type KeyKind = "aor" | "uri" | "token" | "secret" | "digits" | "number" | "enum" | "list" | "address";

export interface ConfigKey {
  name: string;
  kind: KeyKind;
  maxLength: number;
  min?: number;
  max?: number;
  choices?: readonly string[];
  /** address: the port when the value names none. */
  defaultPort?: number;
  default: string;
  /** Write-only: the board says whether it is set, never what it is. */
  secret: boolean;
  about: string;
}

const URI_MAX = 128;
const ADDRESS_MAX = 53; // "[" + the longest IPv6 text (45) + "]:65535"
const STUN_PORT = 3478; // RFC 8489 / RFC 8656, over UDP and TCP
const key = (name: string, kind: KeyKind, maxLength: number, dflt: string, about: string, extra: Partial<ConfigKey> = {}): ConfigKey =>
  ({ name, kind, maxLength, default: dflt, secret: kind === "secret" || kind === "digits", about, ...extra });

export const CONFIG_KEYS: readonly ConfigKey[] = [
  key("sip.account", "aor", URI_MAX, "", "the device's SIP address of record, sip:user@domain"),
  key("sip.registrar", "uri", URI_MAX, "", "registrar URI; empty: no registration, direct IP calls only"),
  key("sip.username", "token", 64, "", "authentication user name; empty: the account's user"),
  key("sip.password", "secret", 64, "", "authentication password (write-only)"),
  key("sip.transport", "enum", 3, "udp", "SIP transport", { choices: ["udp", "tcp", "tls"] }),
  key("sip.expires", "number", 5, "600", "registration lifetime, seconds", { min: 60, max: 86400 }),
  key("sip.port", "number", 5, "5060", "local SIP port", { min: 1, max: 65535 }),
  key("sip.keepalive_s", "number", 3, "25", "registrar flow keepalive over UDP, seconds; 0: off", { min: 0, max: 600 }),
  key("call.auto_answer", "enum", 8, "off", "answer incoming calls: off, on, or intercom (when the caller asks for it)", { choices: ["off", "on", "intercom"] }),
  key("call.answer_after", "number", 2, "0", "seconds before auto-answering", { min: 0, max: 60 }),
  key("call.target", "uri", URI_MAX, "", "the URI the call button dials; empty: the button dials nothing"),
  key("door.code", "digits", 16, "", "DTMF code that opens the door (0-9 * # A-D, write-only); empty: relay disabled"),
  key("door.pulse_ms", "number", 5, "1000", "door relay pulse, milliseconds", { min: 100, max: 10000 }),
  key("media.codecs", "list", 14, "g722,pcmu,pcma", "codecs in order of preference", { choices: ["g722", "pcmu", "pcma"] }),
  key("media.srtp", "enum", 9, "mandatory", "SRTP policy", { choices: ["mandatory", "preferred", "off"] }),
  key("media.suites", "list", 81, "AES_CM_128_HMAC_SHA1_80,AES_CM_128_HMAC_SHA1_32", "SRTP suites in order of preference",
    { choices: ["AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32", "AEAD_AES_128_GCM", "AEAD_AES_256_GCM"] }),
  key("media.ptime", "enum", 2, "20", "audio packet length, milliseconds", { choices: ["10", "20", "30", "40", "60"] }),
  key("media.jitter_ms", "number", 3, "0", "jitter buffer target depth, ms; 0: automatic", { min: 0, max: 200 }),
  key("nat.ice", "enum", 3, "on", "ICE candidates and connectivity checks in calls", { choices: ["off", "on"] }),
  key("nat.stun_server", "address", ADDRESS_MAX, "", "STUN server, IPv4[:port] or [IPv6][:port] (port 3478 if none); empty: none",
    { defaultPort: STUN_PORT }),
  key("nat.turn_server", "address", ADDRESS_MAX, "", "TURN relay, IPv4[:port] or [IPv6][:port] (port 3478 if none); empty: no relay",
    { defaultPort: STUN_PORT }),
  key("nat.turn_username", "token", 64, "", "TURN user name (long-term credentials)"),
  key("nat.turn_password", "secret", 64, "", "TURN password (write-only)"),
  key("nat.keepalive_s", "number", 3, "15", "STUN binding keepalive on the media path, seconds; 0: off", { min: 0, max: 300 }),
  key("nat.consent_s", "number", 2, "5", "consent freshness check interval (RFC 7675), seconds", { min: 1, max: 30 }),
];

const BY_NAME = new Map(CONFIG_KEYS.map((k) => [k.name, k]));

export function findKey(name: string): ConfigKey | undefined { return BY_NAME.get(name); }

export class ConfigValueError extends Error {}

/** The key of that name, or a ConfigValueError naming the problem. */
export function requireKey(name: string): ConfigKey {
  const k = BY_NAME.get(name);
  if (!k) throw new ConfigValueError(`unknown key '${name.slice(0, 40)}' ('tincan config keys' lists them)`);
  return k;
}

/** Checks a value as the firmware does; returns its canonical text or throws ConfigValueError
 *  with the firmware's reason ("<key>: <why>"). Secrets are never repeated in a reason. */
export function checkValue(k: ConfigKey, value: string): string {
  const why = (text: string): never => { throw new ConfigValueError(`${k.name}: ${text}`); };
  const q = `'${value.length > 40 ? `${value.slice(0, 40)}...` : value}'`;
  switch (k.kind) {
    case "number": {
      if (!/^[0-9]{1,9}$/.test(value)) why(`${q} is not a whole number`);
      const n = Number(value);
      if (n < k.min! || n > k.max!) why(`${q} is outside ${k.min}..${k.max}`);
      return String(n);
    }
    case "enum": {
      const c = k.choices!.find((x) => x.toLowerCase() === value.toLowerCase());
      if (c === undefined) why(`${q} is not one of ${k.choices!.join(", ")}`);
      return c!;
    }
    case "list": {
      if (value === "") why(`name one or more of ${k.choices!.join(", ")}`);
      const out: string[] = [];
      for (const item of value.split(",")) {
        if (item === "") why(`an empty item in the list; name one or more of ${k.choices!.join(", ")}`);
        const c = k.choices!.find((x) => x.toLowerCase() === item.toLowerCase());
        if (c === undefined) why(`'${item}' is not one of ${k.choices!.join(", ")}`);
        if (out.includes(c!)) why(`'${item}' is listed twice`);
        out.push(c!);
      }
      return out.join(",");
    }
    case "address":
      return checkAddress(k, value, q, why);
    default: // the text kinds, below
  }
  if (Buffer.byteLength(value) > k.maxLength) why(`longer than ${k.maxLength} characters`);
  if (k.kind === "digits") {
    if (!/^[0-9*#A-Da-d]*$/.test(value)) why("only the digits 0-9, *, # and A-D are allowed");
    return value.toUpperCase();
  }
  if (k.kind === "secret") {
    if (!/^[\x20-\x7e]*$/.test(value)) why("only printable ASCII characters are allowed");
    return value;
  }
  if (!/^[\x21-\x7e]*$/.test(value) || (k.kind === "token" && /["\\]/.test(value))) {
    why(k.kind === "token" ? "only printable ASCII without spaces, quotes or backslashes is allowed" : "a URI is printable ASCII without spaces");
  }
  if (value === "" || k.kind === "token") return value;
  const uri = parseSipUri(value);
  if (!uri) why(`${q} is not a sip: or sips: URI`);
  if (!validHost(uri!.host)) why(`${q} has a bad host`);
  if (k.kind === "aor" && (uri!.user === undefined || uri!.password || uri!.rest !== "" || !validUser(uri!.user))) {
    why(`${q} is not an address of record sip:user@domain (no password, port, parameters or headers)`);
  }
  return value;
}

/** A transport address as firmware/lib/inet.ts parseHostPort takes it; the canonical text is the
 *  RFC 5952 address ([IPv6] in brackets) and the port, always written. */
function checkAddress(k: ConfigKey, value: string, q: string, why: (text: string) => never): string {
  if (value === "") return value;
  if (Buffer.byteLength(value) > k.maxLength) why(`longer than ${k.maxLength} characters`);
  let host: string;
  let port: string | undefined;
  if (value.startsWith("[")) {
    const close = value.indexOf("]");
    if (close < 0) why(`${q} has no closing ']'`);
    host = value.slice(1, close);
    if (!isIpv6(host)) why(`${q} has no IPv6 address between its brackets`);
    const rest = value.slice(close + 1);
    if (rest !== "" && !rest.startsWith(":")) why(`${q} has text after ']'; write [IPv6]:port`);
    if (rest !== "") port = rest.slice(1);
  } else {
    const colon = value.indexOf(":");
    if (colon >= 0 && value.indexOf(":", colon + 1) >= 0 && isIpv6(value)) why(`${q} is an IPv6 address without brackets; write [IPv6]:port`);
    host = colon < 0 ? value : value.slice(0, colon);
    if (!net.isIPv4(host)) why(`${q} is not an IPv4 address or a bracketed IPv6 one (no host names: the device has no DNS resolver)`);
    if (colon >= 0) port = value.slice(colon + 1);
  }
  const n = port === undefined ? k.defaultPort! : /^[0-9]{1,5}$/.test(port) ? Number(port) : 0;
  if (n < 1 || n > 65535) why(`${q} has a bad port; a port is 1..65535`);
  // The WHATWG URL serializer writes IPv6 the RFC 5952 way, as the firmware's formatAddress does.
  return `${net.isIPv4(host!) ? host! : new URL(`http://[${host!}]/`).hostname}:${n}`;
}

function isIpv6(s: string): boolean { return !s.includes("%") && net.isIPv6(s); }

interface SipUriParts { user?: string; password: boolean; host: string; rest: string }

/** The parts of a sip:/sips: URI the checks need (RFC 3261 19.1.1), or undefined. */
function parseSipUri(s: string): SipUriParts | undefined {
  const m = /^sips?:/i.exec(s);
  if (!m || s.length === m[0].length) return undefined;
  const body = s.slice(m[0].length);
  const stop = body.search(/[;?]/) < 0 ? body.length : body.search(/[;?]/);
  const at = body.lastIndexOf("@", stop - 1);
  let user: string | undefined;
  let password = false;
  let i = 0;
  if (at >= 0) {
    const userinfo = body.slice(0, at);
    const colon = userinfo.indexOf(":");
    user = colon < 0 ? userinfo : userinfo.slice(0, colon);
    password = colon >= 0;
    if (user === "") return undefined;
    i = at + 1;
  }
  let hostEnd: number;
  if (body[i] === "[") {
    hostEnd = body.indexOf("]", i);
    if (hostEnd < 0 || hostEnd >= stop) return undefined;
    hostEnd++;
  } else {
    hostEnd = body.indexOf(":", i);
    if (hostEnd < 0 || hostEnd > stop) hostEnd = stop;
  }
  if (hostEnd === i) return undefined;
  const host = body.slice(i, hostEnd);
  if (/[\x00-\x20@>]/.test(host)) return undefined;
  if (hostEnd < stop) {
    if (body[hostEnd] !== ":") return undefined;
    const port = body.slice(hostEnd + 1, stop);
    if (!/^[0-9]{1,5}$/.test(port) || Number(port) === 0 || Number(port) > 65535) return undefined;
  }
  return { user, password, host, rest: body.slice(hostEnd) };
}

function validHost(h: string): boolean {
  if (h.startsWith("[")) return h.endsWith("]") && !h.includes("%") && net.isIPv6(h.slice(1, -1));
  return /^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(h);
}

/** RFC 3261 25.1 user: unreserved, user-unreserved (less ';' and '?') and %HH escapes. */
function validUser(u: string): boolean {
  return /^(?:[A-Za-z0-9\-_.!~*'()&=+$,/]|%[0-9A-Fa-f]{2})+$/.test(u);
}
