// Configuration commands of the console (boards/CONSOLE.md, "Configuration"): GET, SET, UNSET
// and RESET over the Config core. A refused request answers BAD_REQUEST with the key and a
// reason text, and changes nothing; secrets are never written into a response.

import { CommandHandler, Console, STATUS_OK, STATUS_BAD_REQUEST, STATUS_INTERNAL } from "../console/console";
import { TlvWriter, TlvReader } from "../console/tlv";
import { LineBuffer } from "../lib/text";
import { Config, ConfigStore, COMMIT_STORE_FAILED } from "./config";
import { KEYS, KEY_COUNT, keyIndex } from "./keys";
import { VALUE_OK, quote } from "./values";

export const CMD_CONFIG_GET: u8 = 0x40;
export const CMD_CONFIG_SET: u8 = 0x41;
export const CMD_CONFIG_UNSET: u8 = 0x42;
export const CMD_CONFIG_RESET: u8 = 0x43;

export const TAG_KEY: u8 = 0x01;
export const TAG_VALUE: u8 = 0x02;
export const TAG_SECRET_SET: u8 = 0x03;
export const TAG_DEFAULT: u8 = 0x04;
export const TAG_REASON: u8 = 0x05;
export const TAG_VERSION: u8 = 0x10;
export const TAG_LOAD_ERRORS: u8 = 0x11;

export class ConfigCommands extends CommandHandler {
  private readonly reader: TlvReader = new TlvReader();
  private readonly why: LineBuffer = new LineBuffer(120);

  constructor(private config: Config, private store: ConfigStore) { super(); }

  register(console: Console): void {
    console.register(CMD_CONFIG_GET, this);
    console.register(CMD_CONFIG_SET, this);
    console.register(CMD_CONFIG_UNSET, this);
    console.register(CMD_CONFIG_RESET, this);
  }

  handle(command: u8, payload: usize, payloadLength: i32, out: TlvWriter, nowUs: i64): u8 {
    if (command == CMD_CONFIG_GET) return this.get(payload, payloadLength, out);
    if (command == CMD_CONFIG_SET) return this.set(payload, payloadLength, out);
    if (command == CMD_CONFIG_UNSET) return this.unset(payload, payloadLength, out);
    if (payloadLength != 0) return this.refuse(out, -1, this.why.clear().text("RESET takes no payload"));
    this.config.begin();
    this.config.stageDefaults();
    return this.commit(out);
  }

  /** Keys named in the request (none: all), each with its value or, for a secret, whether it is set. */
  private get(payload: usize, len: i32, out: TlvWriter): u8 {
    const r = this.reader;
    let wanted: u32 = 0;
    r.reset(payload, len);
    while (r.next()) {
      if (r.tag != TAG_KEY) continue;
      const k = this.keyOf(out, r.value, r.valueLength, wanted);
      if (k < 0) return STATUS_BAD_REQUEST;
      wanted |= 1 << k;
    }
    if (r.truncated) return this.malformed(out);
    out.u32(TAG_VERSION, this.config.version);
    out.u32(TAG_LOAD_ERRORS, this.config.loadErrors);
    if (wanted == 0) {
      for (let k = 0; k < KEY_COUNT; k++) this.entry(out, k);
      return STATUS_OK;
    }
    r.reset(payload, len); // again, to answer in the order asked
    while (r.next()) if (r.tag == TAG_KEY) this.entry(out, keyIndex(r.value, r.valueLength));
    return STATUS_OK;
  }

  private entry(out: TlvWriter, k: i32): void {
    const spec = unchecked(KEYS[k]);
    const c = this.config;
    out.ascii(TAG_KEY, spec.name);
    if (spec.secret) out.u8(TAG_SECRET_SET, c.valueLength(k) > 0 ? 1 : 0);
    else out.bytes(TAG_VALUE, c.valueAddress(k), c.valueLength(k));
    out.u8(TAG_DEFAULT, c.isExplicit(k) ? 0 : 1);
  }

  /** key/value pairs: every value checked, then all stored at once, or none. */
  private set(payload: usize, len: i32, out: TlvWriter): u8 {
    const r = this.reader;
    const c = this.config;
    let pending = -1;
    let pairs = 0;
    let seen: u32 = 0;
    c.begin();
    r.reset(payload, len);
    while (r.next()) {
      if (r.tag == TAG_KEY) {
        if (pending >= 0) return this.noValue(out, pending);
        pending = this.keyOf(out, r.value, r.valueLength, seen);
        if (pending < 0) return STATUS_BAD_REQUEST;
        seen |= 1 << pending;
      } else if (r.tag == TAG_VALUE) {
        if (pending < 0) return this.refuse(out, -1, this.why.clear().text("a value without a key before it"));
        if (c.stage(pending, r.value, r.valueLength) != VALUE_OK) return this.refuse(out, pending, c.reason);
        pending = -1;
        pairs++;
      }
    }
    if (r.truncated) return this.malformed(out);
    if (pending >= 0) return this.noValue(out, pending);
    if (pairs == 0) return this.refuse(out, -1, this.why.clear().text("SET needs at least one key and value"));
    return this.commit(out);
  }

  /** Keys back to their defaults, all at once. */
  private unset(payload: usize, len: i32, out: TlvWriter): u8 {
    const r = this.reader;
    let seen: u32 = 0;
    this.config.begin();
    r.reset(payload, len);
    while (r.next()) {
      if (r.tag != TAG_KEY) continue;
      const k = this.keyOf(out, r.value, r.valueLength, seen);
      if (k < 0) return STATUS_BAD_REQUEST;
      seen |= 1 << k;
      this.config.stageDefault(k);
    }
    if (r.truncated) return this.malformed(out);
    if (seen == 0) return this.refuse(out, -1, this.why.clear().text("UNSET needs at least one key"));
    return this.commit(out);
  }

  private commit(out: TlvWriter): u8 {
    if (this.config.commit(this.store) == COMMIT_STORE_FAILED) {
      out.bytes(TAG_REASON, this.config.reason.address, this.config.reason.length);
      return STATUS_INTERNAL;
    }
    out.u32(TAG_VERSION, this.config.version);
    return STATUS_OK;
  }

  /** The key named p[0..len), or -1 after writing the refusal (unknown, or named twice). */
  private keyOf(out: TlvWriter, p: usize, len: i32, seen: u32): i32 {
    const k = keyIndex(p, len);
    if (k < 0) {
      this.why.clear().text("unknown key ");
      quote(this.why, p, len);
      this.refuse(out, -1, this.why);
      return -1;
    }
    if ((seen & (1 << k)) != 0) {
      this.refuse(out, k, this.why.clear().text(unchecked(KEYS[k]).name).text(": named twice"));
      return -1;
    }
    return k;
  }

  private noValue(out: TlvWriter, k: i32): u8 {
    return this.refuse(out, k, this.why.clear().text(unchecked(KEYS[k]).name).text(": no value given"));
  }

  private malformed(out: TlvWriter): u8 {
    return this.refuse(out, -1, this.why.clear().text("malformed payload: a TLV runs past its end"));
  }

  private refuse(out: TlvWriter, k: i32, reason: LineBuffer): u8 {
    out.length = 0; // drop anything written before the refusal
    if (k >= 0) out.ascii(TAG_KEY, unchecked(KEYS[k]).name);
    out.bytes(TAG_REASON, reason.address, reason.length);
    return STATUS_BAD_REQUEST;
  }
}
