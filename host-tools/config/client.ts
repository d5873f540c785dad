// The configuration commands of the device console (boards/CONSOLE.md, "Configuration") over a
// ConsoleClient: TLV payloads in, typed results out, refusals as ConfigRefusedError.

import type { ConsoleClient, RequestOptions } from "../link/console.ts";
import { Status, TlvWriter, readTlvs, statusName } from "../link/frame.ts";

export const ConfigCommand = { GET: 0x40, SET: 0x41, UNSET: 0x42, RESET: 0x43 } as const;
export const ConfigTag = { KEY: 0x01, VALUE: 0x02, SECRET_SET: 0x03, DEFAULT: 0x04, REASON: 0x05, VERSION: 0x10, LOAD_ERRORS: 0x11 } as const;

const COMMAND_NAMES: Record<number, string> = { 0x40: "CONFIG_GET", 0x41: "CONFIG_SET", 0x42: "CONFIG_UNSET", 0x43: "CONFIG_RESET" };

export interface ConfigEntry {
  key: string;
  /** The value in force; absent for a secret. */
  value?: string;
  /** Secrets only: whether one is set. */
  set?: boolean;
  secret: boolean;
  /** Not set by anyone: the default is in force. */
  default: boolean;
}

export interface ConfigListing {
  /** Changes since the board booted. */
  version: number;
  /** Times the board found its stored configuration (or a value in it) unusable at boot. */
  loadErrors: number;
  entries: ConfigEntry[];
}

/** The board answered, and refused. */
export class ConfigRefusedError extends Error {
  constructor(message: string, readonly status: number, readonly key?: string) {
    super(message);
    this.name = "ConfigRefusedError";
  }
}

const utf8 = new TextDecoder("utf-8");
const u32 = (v: Uint8Array): number => (v.length === 4 ? new DataView(v.buffer, v.byteOffset, 4).getUint32(0) : NaN);

export function encodeKeys(keys: readonly string[]): Uint8Array {
  const w = new TlvWriter();
  for (const k of keys) w.string(ConfigTag.KEY, k);
  return w.finish();
}

export function encodePairs(pairs: readonly { key: string; value: string }[]): Uint8Array {
  const w = new TlvWriter();
  for (const { key, value } of pairs) w.string(ConfigTag.KEY, key).string(ConfigTag.VALUE, value);
  return w.finish();
}

export function decodeListing(payload: Uint8Array): ConfigListing {
  const listing: ConfigListing = { version: NaN, loadErrors: NaN, entries: [] };
  let entry: ConfigEntry | undefined;
  for (const { tag, value } of readTlvs(payload)) {
    if (tag === ConfigTag.VERSION) listing.version = u32(value);
    else if (tag === ConfigTag.LOAD_ERRORS) listing.loadErrors = u32(value);
    else if (tag === ConfigTag.KEY) listing.entries.push(entry = { key: utf8.decode(value), secret: false, default: false });
    else if (!entry) continue; // a value before any key: nothing to attach it to
    else if (tag === ConfigTag.VALUE) entry.value = utf8.decode(value);
    else if (tag === ConfigTag.SECRET_SET) { entry.secret = true; entry.set = value[0] === 1; }
    else if (tag === ConfigTag.DEFAULT) entry.default = value[0] === 1;
  }
  return listing;
}

export class ConfigClient {
  constructor(readonly console: ConsoleClient, readonly opts: RequestOptions = {}) {}

  /** The named keys in that order, or all of them. */
  async get(keys: readonly string[] = []): Promise<ConfigListing> {
    return decodeListing(await this.call(ConfigCommand.GET, encodeKeys(keys)));
  }

  /** Sets every pair or none; resolves with the board's configuration version. */
  async set(pairs: readonly { key: string; value: string }[]): Promise<number> {
    return decodeListing(await this.call(ConfigCommand.SET, encodePairs(pairs))).version;
  }

  async unset(keys: readonly string[]): Promise<number> {
    return decodeListing(await this.call(ConfigCommand.UNSET, encodeKeys(keys))).version;
  }

  async reset(): Promise<number> {
    return decodeListing(await this.call(ConfigCommand.RESET, new Uint8Array(0))).version;
  }

  /** One request; a refusal becomes ConfigRefusedError with the board's reason. A request the
   *  console retries after a lost response is harmless: every command is idempotent. */
  async call(command: number, payload: Uint8Array): Promise<Uint8Array> {
    const r = await this.console.request(command, payload, this.opts);
    if (r.status === Status.OK) return r.payload;
    const name = COMMAND_NAMES[command] ?? `command 0x${command.toString(16)}`;
    let reason: string | undefined;
    let key: string | undefined;
    try {
      for (const { tag, value } of readTlvs(r.payload)) {
        if (tag === ConfigTag.REASON) reason = utf8.decode(value);
        else if (tag === ConfigTag.KEY) key = utf8.decode(value);
      }
    } catch { /* a refusal without a readable reason */ }
    if (r.status === Status.UNKNOWN_COMMAND) reason = `the firmware on ${this.console.link.url} has no configuration commands (${name}); update it`;
    throw new ConfigRefusedError(reason ?? `${this.console.link.url} answered ${name} with ${statusName(r.status)}`, r.status, key);
  }
}
