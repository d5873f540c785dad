// tincan config keys|get|set|unset|reset: a board's configuration over its console
// (host-tools/config/, docs/config.md). Values are checked here before anything is sent, and
// again by the board, which has the last word; secrets are never printed.

import type { Command, Option } from "commander";
import { ConsoleClient } from "../link/console.ts";
import { autodetectPort } from "../link/ports.ts";
import { loadBoard } from "../boards.ts";
import { ConfigClient, type ConfigListing } from "../config/client.ts";
import { CONFIG_KEYS, ConfigValueError, checkValue, requireKey } from "../config/keys.ts";
import { printJson, UsageError } from "./common.ts";
import { promptHidden } from "../terminal.ts";

export interface ConfigOptions { port?: string; board?: string; baud?: string; timeout?: string; json?: boolean }

interface Helpers {
  run: <A extends unknown[]>(fn: (...args: A) => unknown) => (...args: A) => Promise<void>;
  portOption: () => Option;
  boardOption: () => Option;
  baudOption: () => Option;
}

/** Adds the subcommands under `tincan config`. */
export function addConfigCommands(config: Command, h: Helpers): void {
  const linked = (c: Command) => c.addOption(h.portOption()).addOption(h.boardOption()).addOption(h.baudOption())
    .option("--timeout <ms>", "wait this long for each answer", "1000")
    .option("--json", "machine-readable output");
  config.command("keys").description("list the configuration keys, their defaults and meaning (no board needed)")
    .option("--json", "machine-readable output")
    .action(h.run((opts: ConfigOptions) => configKeysCommand(opts)));
  linked(config.command("get").description("show keys and their values (all keys when none is named); secrets show only whether they are set")
    .argument("[keys...]", "key names, e.g. sip.account media.codecs"))
    .action(h.run((keys: string[], opts: ConfigOptions) => configGetCommand(keys, opts)));
  linked(config.command("set").description("set key=value pairs, all or none; a secret key named without '=' reads its value from stdin")
    .argument("<key=value...>", "e.g. sip.account=sip:door@example.org sip.transport=tcp"))
    .action(h.run((pairs: string[], opts: ConfigOptions) => configSetCommand(pairs, opts)));
  linked(config.command("unset").description("restore keys to their defaults").argument("<keys...>"))
    .action(h.run((keys: string[], opts: ConfigOptions) => configUnsetCommand(keys, opts)));
  linked(config.command("reset").description("restore every key to its default"))
    .action(h.run((opts: ConfigOptions) => configResetCommand(opts)));
}

export function configKeysCommand(opts: ConfigOptions): void {
  if (opts.json) { printJson(CONFIG_KEYS); return; }
  const width = Math.max(...CONFIG_KEYS.map((k) => k.name.length));
  for (const k of CONFIG_KEYS) {
    const dflt = k.secret ? "" : ` (default: ${k.default === "" ? "empty" : k.default})`;
    process.stdout.write(`${k.name.padEnd(width)}  ${k.about}${dflt}\n`);
  }
}

export async function configGetCommand(keys: string[], opts: ConfigOptions): Promise<void> {
  for (const k of keys) checked(() => requireKey(k));
  const listing = await withBoard(opts, (c) => c.get(keys));
  if (opts.json) { printJson(listingJson(listing)); return; }
  if (listing.loadErrors > 0) process.stderr.write("warning: the board could not use (part of) its stored configuration at boot and fell back to defaults; see its log\n");
  for (const e of listing.entries) {
    const note = e.default ? "  # default" : "";
    if (e.secret) process.stdout.write(`${e.key}  # secret, ${e.set ? "set" : "not set"}${e.default ? ", default" : ""}\n`);
    else process.stdout.write(`${e.key}=${e.value ?? ""}${note}\n`);
  }
}

export async function configSetCommand(args: string[], opts: ConfigOptions): Promise<void> {
  const pairs: { key: string; value: string }[] = [];
  let fromStdin: string | undefined;
  for (const arg of args) {
    const eq = arg.indexOf("=");
    const name = eq < 0 ? arg : arg.slice(0, eq);
    const key = checked(() => requireKey(name));
    if (pairs.some((p) => p.key === name)) throw new UsageError(`${name}: named twice`);
    if (eq < 0 && !key.secret) throw new UsageError(`${arg}: write key=value (only a secret key may take its value from stdin)`);
    if (eq < 0 && fromStdin !== undefined) throw new UsageError(`${name}: only one secret can be read from stdin (${fromStdin} is)`);
    if (eq < 0) fromStdin = name;
    pairs.push({ key: name, value: eq < 0 ? "" : arg.slice(eq + 1) });
  }
  if (fromStdin !== undefined) pairs.find((p) => p.key === fromStdin)!.value = await readSecret(fromStdin);
  for (const p of pairs) p.value = checked(() => checkValue(requireKey(p.key), p.value));
  const version = await withBoard(opts, (c) => c.set(pairs));
  report(opts, version, `stored ${pairs.map((p) => p.key).join(", ")}`);
}

export async function configUnsetCommand(keys: string[], opts: ConfigOptions): Promise<void> {
  for (const k of keys) checked(() => requireKey(k));
  if (new Set(keys).size !== keys.length) throw new UsageError("a key is named twice");
  const version = await withBoard(opts, (c) => c.unset(keys));
  report(opts, version, `${keys.join(", ")} back to ${keys.length === 1 ? "its default" : "their defaults"}`);
}

export async function configResetCommand(opts: ConfigOptions): Promise<void> {
  const version = await withBoard(opts, (c) => c.reset());
  report(opts, version, "every key back to its default");
}

function report(opts: ConfigOptions, version: number, what: string): void {
  if (opts.json) printJson({ version });
  else process.stdout.write(`${what} (configuration version ${version})\n`);
}

function listingJson(l: ConfigListing): unknown {
  const keys: Record<string, unknown> = {};
  for (const e of l.entries) keys[e.key] = e.secret ? { secret: true, set: e.set, default: e.default } : { value: e.value, default: e.default };
  return { version: l.version, loadErrors: l.loadErrors, keys };
}

/** Host-side refusals are usage errors: nothing was sent. */
function checked<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ConfigValueError) throw new UsageError(`${e.message}; nothing was changed`);
    throw e;
  }
}

async function withBoard<T>(opts: ConfigOptions, fn: (c: ConfigClient) => Promise<T>): Promise<T> {
  const timeoutMs = opts.timeout === undefined ? 1000 : Number(opts.timeout);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new UsageError(`--timeout ${opts.timeout}: milliseconds, a positive number`);
  let baud = opts.baud === undefined ? undefined : Number(opts.baud);
  if (baud !== undefined && (!Number.isInteger(baud) || baud <= 0)) throw new UsageError(`--baud ${opts.baud}: a baud rate is a positive integer`);
  const board = opts.board === undefined ? undefined : loadBoard(opts.board);
  if (baud === undefined && board) baud = board.console.baud;
  if (!opts.port && !board) throw new UsageError("no --port given: name the board's link (--port socket://127.0.0.1:5555, --port /dev/ttyUSB0), or --board to find its USB serial port");
  const url = opts.port ?? await autodetectPort(board!.id);
  const client = await ConsoleClient.open(url, { baud });
  try {
    return await fn(new ConfigClient(client, { timeoutMs }));
  } finally {
    await client.close();
  }
}

/** A secret from stdin: the first line when piped; typed without echo on a terminal. */
async function readSecret(name: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8").split(/\r?\n/)[0]!;
  }
  return promptHidden(`${name}: `, () => new UsageError("interrupted"));
}
