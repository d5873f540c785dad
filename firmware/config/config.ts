// The device configuration (docs/config.md), sans-IO. It holds every key's value in fixed
// storage, checks new values, and encodes/decodes the stored form; main.ts moves that form
// to and from the board's non-volatile store. Changes are transactions: begin(), stage()
// each key, commit(store). Nothing changes unless every value is good and the store took the
// new form, so a `set` of several keys is all or nothing, across power cuts too.
//
// Stored form: the whole configuration in ONE nvs key, because hal.nvs_write is atomic per
// key and a multi-key set must not be half-applied by a power cut. Only explicit values are
// stored (absent = default), as canonical text parsed by the same validator as console input:
//   0 u8 format (1) | 1 u8 reserved (0) | 2 u16 BE records length N
//   4 records: id u8, length u8, text | 4+N u32 BE CRC-32 of bytes 0..4+N

import { LineBuffer } from "../lib/text";
import { SipUri, URI_OK } from "../sip/uri";
import { crc32 } from "../crypto/crc32";
import { readU16BE, readU32BE, writeU16BE, writeU32BE, writeAscii } from "../lib/bytes";
import { parseHostPort, SOCKADDR_BYTES } from "../lib/inet";
import { ConfigValues, parseValue, setDefault, VALUE_OK } from "./values";
import {
  KEYS, KEY_COUNT, keyById, SIP_KEYS_MASK, NAT_KEYS_MASK, PTIME_MS, CODEC_IDS, SUITE_IDS, Transport, AutoAnswer, SrtpPolicy, OnOff,
  KEY_SIP_ACCOUNT, KEY_SIP_REGISTRAR, KEY_SIP_USERNAME, KEY_SIP_PASSWORD, KEY_SIP_TRANSPORT, KEY_SIP_EXPIRES, KEY_SIP_PORT,
  KEY_SIP_KEEPALIVE_S, KEY_CALL_AUTO_ANSWER, KEY_CALL_ANSWER_AFTER, KEY_CALL_TARGET, KEY_DOOR_CODE, KEY_DOOR_PULSE_MS,
  KEY_MEDIA_CODECS, KEY_MEDIA_SRTP, KEY_MEDIA_SUITES, KEY_MEDIA_PTIME, KEY_MEDIA_JITTER_MS,
  KEY_NAT_ICE, KEY_NAT_STUN_SERVER, KEY_NAT_TURN_SERVER, KEY_NAT_TURN_USERNAME, KEY_NAT_TURN_PASSWORD,
  KEY_NAT_KEEPALIVE_S, KEY_NAT_CONSENT_S,
} from "./keys";

export const CONFIG_NVS_KEY: string = "config";
export const STORED_FORMAT: u8 = 1;
export const BLOB_CAPACITY: i32 = 1024;
const HEADER_BYTES: i32 = 4;
const CRC_BYTES: i32 = 4;
const NVS_ERR_NOT_FOUND: i32 = -3; // boards/ABI.md ERR_NOT_FOUND

// load() results: >= 0 the configuration is usable as loaded; < 0 it was not (counted in loadErrors).
export const LOAD_OK: i32 = 1;          // the stored configuration is in force
export const LOAD_EMPTY: i32 = 0;       // nothing stored yet: defaults
export const LOAD_READ_FAILED: i32 = -1; // the store could not be read: defaults
export const LOAD_CORRUPT: i32 = -2;    // bad length or CRC: defaults
export const LOAD_FORMAT: i32 = -3;     // a format version this firmware does not know: defaults
export const LOAD_BAD_VALUES: i32 = -4; // some stored values were refused: those keys are defaults

// commit() results.
export const COMMIT_UNCHANGED: i32 = 0; // nothing differed: nothing written
export const COMMIT_SAVED: i32 = 1;
export const COMMIT_STORE_FAILED: i32 = -5; // the store refused the write: nothing changed

/** Where the stored form goes; main.ts implements it with hal.nvs_write. */
export abstract class ConfigStore {
  /** Writes blob[0..length) atomically; >= 0 on success or a negative ABI error. */
  abstract save(blob: usize, length: i32): i32;
}

export class Config {
  private readonly active: ConfigValues = new ConfigValues();
  private readonly staged: ConfigValues = new ConfigValues();
  private readonly uri: SipUri = new SipUri();
  private readonly scratch: LineBuffer = new LineBuffer(200);
  private readonly changeVersion: StaticArray<u32> = new StaticArray<u32>(KEY_COUNT);
  private accountUserAt: i32 = 0;
  private accountUserLength: i32 = 0;
  // The server addresses in force as SOCKADDRs (boards/ABI.md), zero when not set.
  private readonly stunServer: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  private readonly turnServer: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  /** The stored form: read into by main.ts at boot, written by commit(). */
  readonly blob: StaticArray<u8> = new StaticArray<u8>(BLOB_CAPACITY);
  readonly nvsKey: StaticArray<u8> = new StaticArray<u8>(CONFIG_NVS_KEY.length);
  /** Why the last stage(), commit() or load() failed: "<key>: <why>" or about the store. */
  readonly reason: LineBuffer = new LineBuffer(200);
  /** Counts changes of effective values since boot; the user agent compares it to notice one. */
  version: u32 = 0;
  loadErrors: u32 = 0;
  saveErrors: u32 = 0;

  constructor() {
    writeAscii(changetype<usize>(this.nvsKey), this.nvsKey.length, CONFIG_NVS_KEY);
    for (let k = 0; k < KEY_COUNT; k++) setDefault(this.active, k, this.uri, this.scratch);
    this.staged.copyFrom(this.active);
    this.derive();
  }

  // ---- the stored form --------------------------------------------------------------------

  get blobAddress(): usize { return changetype<usize>(this.blob); }
  get nvsKeyAddress(): usize { return changetype<usize>(this.nvsKey); }
  get nvsKeyLength(): i32 { return this.nvsKey.length; }

  /** Takes hal.nvs_read's result for blob (the stored length, or an error) and puts it in force.
   *  Bad stored data never stops the boot: it yields defaults and a counted error. */
  load(result: i32): i32 {
    this.begin();
    let status = LOAD_OK;
    if (result == NVS_ERR_NOT_FOUND) status = LOAD_EMPTY;
    else if (result < 0) { this.reason.clear().text("read failed: store error ").int(result); status = LOAD_READ_FAILED; }
    else status = this.decode(result);
    if (status < 0) this.loadErrors++;
    if (status < 0 && status != LOAD_BAD_VALUES) this.stageDefaults();
    this.active.copyFrom(this.staged);
    this.derive();
    return status;
  }

  private decode(n: i32): i32 {
    const b = changetype<usize>(this.blob);
    this.reason.clear();
    if (n > BLOB_CAPACITY) { this.reason.int(n).text(" bytes, more than the ").int(BLOB_CAPACITY).text(" this firmware reads"); return LOAD_CORRUPT; }
    if (n < HEADER_BYTES + CRC_BYTES) { this.reason.text("truncated (").int(n).text(" bytes)"); return LOAD_CORRUPT; }
    if (load<u8>(b) != STORED_FORMAT) { this.reason.text("format ").int(load<u8>(b)).text(", this firmware reads format ").int(STORED_FORMAT); return LOAD_FORMAT; }
    const end = HEADER_BYTES + <i32>readU16BE(b + 2);
    if (end + CRC_BYTES != n) { this.reason.text("records length does not match its size"); return LOAD_CORRUPT; }
    if (crc32(b, end) != readU32BE(b + <usize>end)) { this.reason.text("CRC check failed"); return LOAD_CORRUPT; }
    let refused = 0;
    let i = HEADER_BYTES;
    while (i < end) {
      if (end - i < 2 || end - i - 2 < <i32>load<u8>(b + <usize>(i + 1))) { this.reason.clear().text("truncated record"); return LOAD_CORRUPT; }
      const k = keyById(load<u8>(b + <usize>i));
      const len = <i32>load<u8>(b + <usize>(i + 1));
      // A key this firmware does not know (a newer one's) is skipped.
      if (k >= 0 && parseValue(this.staged, k, b + <usize>(i + 2), len, this.uri, refused == 0 ? this.reason : this.scratch) != VALUE_OK) {
        setDefault(this.staged, k, this.uri, this.scratch);
        refused++;
      }
      i += 2 + len;
    }
    return refused > 0 ? LOAD_BAD_VALUES : LOAD_OK;
  }

  /** Writes the stored form of v into blob; returns its length. */
  private encode(v: ConfigValues): i32 {
    const b = changetype<usize>(this.blob);
    let at = HEADER_BYTES;
    for (let k = 0; k < KEY_COUNT; k++) {
      if (!unchecked(v.explicit[k])) continue;
      const len = v.textLength(k);
      store<u8>(b + <usize>at, unchecked(KEYS[k]).id);
      store<u8>(b + <usize>(at + 1), <u8>len);
      memory.copy(b + <usize>(at + 2), v.textAddress(k), <usize>len);
      at += 2 + len;
    }
    store<u8>(b, STORED_FORMAT);
    store<u8>(b + 1, 0);
    writeU16BE(b + 2, <u32>(at - HEADER_BYTES));
    writeU32BE(b + <usize>at, crc32(b, at));
    return at + CRC_BYTES;
  }

  // ---- changes ------------------------------------------------------------------------------

  /** Starts a change from the values in force. */
  begin(): void { this.staged.copyFrom(this.active); }

  /** Checks p[0..len) for key k and stages it; VALUE_OK or a negative code with `reason`. */
  stage(k: i32, p: usize, len: i32): i32 { return parseValue(this.staged, k, p, len, this.uri, this.reason); }

  stageDefault(k: i32): void { setDefault(this.staged, k, this.uri, this.scratch); }

  stageDefaults(): void { for (let k = 0; k < KEY_COUNT; k++) this.stageDefault(k); }

  /** Stores the staged values and puts them in force, or leaves everything as it was. */
  commit(store: ConfigStore): i32 {
    let differs: u32 = 0;
    for (let k = 0; k < KEY_COUNT; k++) if (this.staged.differs(k, this.active)) differs |= 1 << k;
    if (differs == 0) return COMMIT_UNCHANGED;
    const result = store.save(changetype<usize>(this.blob), this.encode(this.staged));
    if (result < 0) {
      this.saveErrors++;
      this.reason.clear().text("the store refused the new configuration (error ").int(result).text("): nothing changed");
      return COMMIT_STORE_FAILED;
    }
    this.version++;
    for (let k = 0; k < KEY_COUNT; k++) if ((differs & (1 << k)) != 0) unchecked(this.changeVersion[k] = this.version);
    this.active.copyFrom(this.staged);
    this.derive();
    return COMMIT_SAVED;
  }

  /** The version at which key k last changed (0: not since boot). */
  changedAt(k: i32): u32 { return k >= 0 && k < KEY_COUNT ? unchecked(this.changeVersion[k]) : 0; }

  /** The version at which any SIP key last changed: a newer one means register again. */
  get sipVersion(): u32 { return this.newestChange(SIP_KEYS_MASK); }

  /** The version at which any nat.* key last changed: a newer one means take the new NAT settings. */
  get natVersion(): u32 { return this.newestChange(NAT_KEYS_MASK); }

  private newestChange(mask: u32): u32 {
    let v: u32 = 0;
    for (let k = 0; k < KEY_COUNT; k++) if ((mask & (1 << k)) != 0) v = max(v, unchecked(this.changeVersion[k]));
    return v;
  }

  private derive(): void {
    this.accountUserAt = 0;
    this.accountUserLength = 0;
    const n = this.active.textLength(KEY_SIP_ACCOUNT);
    if (n > 0 && this.uri.parse(this.active.textAddress(KEY_SIP_ACCOUNT), 0, n) == URI_OK && this.uri.user.present) {
      this.accountUserAt = this.uri.user.at;
      this.accountUserLength = this.uri.user.len;
    }
    this.deriveAddress(KEY_NAT_STUN_SERVER, changetype<usize>(this.stunServer));
    this.deriveAddress(KEY_NAT_TURN_SERVER, changetype<usize>(this.turnServer));
  }

  /** Fills sa from key k's canonical text (valid: it passed parseValue), or zeroes it when empty. */
  private deriveAddress(k: i32, sa: usize): void {
    const n = this.active.textLength(k);
    if (n == 0) memory.fill(sa, 0, <usize>SOCKADDR_BYTES);
    else parseHostPort(this.active.textAddress(k), n, sa, unchecked(KEYS[k]).defaultPort);
  }

  // ---- values in force, for the console -------------------------------------------------------

  isExplicit(k: i32): bool { return unchecked(this.active.explicit[k]); }

  /** The effective text of key k (sip.username defaults to the account's user). */
  valueAddress(k: i32): usize {
    if (k == KEY_SIP_USERNAME && this.active.textLength(k) == 0) return this.active.textAddress(KEY_SIP_ACCOUNT) + <usize>this.accountUserAt;
    return this.active.textAddress(k);
  }
  valueLength(k: i32): i32 {
    if (k == KEY_SIP_USERNAME && this.active.textLength(k) == 0) return this.accountUserLength;
    return this.active.textLength(k);
  }

  // ---- typed values, for the user agent and the call core -------------------------------------

  get accountAddress(): usize { return this.valueAddress(KEY_SIP_ACCOUNT); }
  get accountLength(): i32 { return this.valueLength(KEY_SIP_ACCOUNT); }       // 0: not configured
  get registrarAddress(): usize { return this.valueAddress(KEY_SIP_REGISTRAR); }
  get registrarLength(): i32 { return this.valueLength(KEY_SIP_REGISTRAR); }   // 0: no registration
  get usernameAddress(): usize { return this.valueAddress(KEY_SIP_USERNAME); }
  get usernameLength(): i32 { return this.valueLength(KEY_SIP_USERNAME); }
  get passwordAddress(): usize { return this.valueAddress(KEY_SIP_PASSWORD); }
  get passwordLength(): i32 { return this.valueLength(KEY_SIP_PASSWORD); }     // 0: none
  get transport(): Transport { return <Transport>this.number(KEY_SIP_TRANSPORT); }
  get expiresSeconds(): i32 { return this.number(KEY_SIP_EXPIRES); }
  get sipPort(): i32 { return this.number(KEY_SIP_PORT); }
  get autoAnswer(): AutoAnswer { return <AutoAnswer>this.number(KEY_CALL_AUTO_ANSWER); }
  get answerAfterSeconds(): i32 { return this.number(KEY_CALL_ANSWER_AFTER); }
  get targetAddress(): usize { return this.valueAddress(KEY_CALL_TARGET); }
  get targetLength(): i32 { return this.valueLength(KEY_CALL_TARGET); }         // 0: the button dials nothing
  get doorCodeAddress(): usize { return this.valueAddress(KEY_DOOR_CODE); }
  get doorCodeLength(): i32 { return this.valueLength(KEY_DOOR_CODE); }
  get doorEnabled(): bool { return this.valueLength(KEY_DOOR_CODE) > 0; }
  get doorPulseMs(): i32 { return this.number(KEY_DOOR_PULSE_MS); }
  get srtpPolicy(): SrtpPolicy { return <SrtpPolicy>this.number(KEY_MEDIA_SRTP); }
  get ptimeMs(): i32 { return unchecked(PTIME_MS[this.number(KEY_MEDIA_PTIME)]); }
  get jitterTargetMs(): i32 { return this.number(KEY_MEDIA_JITTER_MS); }       // 0: automatic
  get sipKeepaliveSeconds(): i32 { return this.number(KEY_SIP_KEEPALIVE_S); }  // 0: off

  // NAT traversal (docs/config.md "nat.*"). The server SOCKADDRs stay at the same address for
  // the life of the Config; their contents change when a new value is put in force.
  get iceEnabled(): bool { return this.number(KEY_NAT_ICE) == OnOff.On; }
  get stunServerSet(): bool { return this.active.textLength(KEY_NAT_STUN_SERVER) > 0; }
  get stunServerAddress(): usize { return changetype<usize>(this.stunServer); }
  get turnServerSet(): bool { return this.active.textLength(KEY_NAT_TURN_SERVER) > 0; }
  get turnServerAddress(): usize { return changetype<usize>(this.turnServer); }
  get turnUsernameAddress(): usize { return this.valueAddress(KEY_NAT_TURN_USERNAME); }
  get turnUsernameLength(): i32 { return this.valueLength(KEY_NAT_TURN_USERNAME); }
  get turnPasswordAddress(): usize { return this.valueAddress(KEY_NAT_TURN_PASSWORD); }
  get turnPasswordLength(): i32 { return this.valueLength(KEY_NAT_TURN_PASSWORD); }
  get natKeepaliveSeconds(): i32 { return this.number(KEY_NAT_KEEPALIVE_S); }  // 0: off
  get consentIntervalSeconds(): i32 { return this.number(KEY_NAT_CONSENT_S); }

  /** The codecs in order of preference: codec(i) is a CODEC_* id of audio/codecs.ts. */
  get codecCount(): i32 { return this.number(KEY_MEDIA_CODECS); }
  codec(i: i32): i32 { return i >= 0 && i < this.codecCount ? unchecked(CODEC_IDS[this.active.item(KEY_MEDIA_CODECS, i)]) : -1; }

  /** The SRTP suites in order of preference: suite(i) is an id of media/srtp-defs.ts. */
  get suiteCount(): i32 { return this.number(KEY_MEDIA_SUITES); }
  suite(i: i32): i32 { return i >= 0 && i < this.suiteCount ? unchecked(SUITE_IDS[this.active.item(KEY_MEDIA_SUITES, i)]) : -1; }

  @inline private number(k: i32): i32 { return unchecked(this.active.number[k]); }
}
