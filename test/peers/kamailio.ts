// A real SIP registrar + proxy (Debian's kamailio 5.6.3) for the call tests: REGISTER needs
// digest authentication (401, WWW-Authenticate), so do requests from its own users out of
// dialog (407, Proxy-Authenticate); INVITEs are record-routed and forwarded to the callee's
// registered contact, in-dialog requests loose-routed, unknown users get 404.
//
// Passwords are plain text in the generated script: a route picks $var(pw) by the
// Authorization's user name ($au) and pv_auth_check() verifies the digest against it, so no
// database (auth_db / db_text) is needed. Locations live in memory (usrloc db_mode 0).
// Runs in the foreground (-DD), logging to stderr (-E), with its own pid file and working dir.
//
// With `tls` it also listens for SIP over TLS (Debian's kamailio-tls-modules) and requires a
// client certificate that chains to `ca` and is in no CRL of `crl` (kamailio 5.6 wants a CRL
// from every CA in the chain): the handshake refuses anything else. A TLS client is then
// authorised with no password when its certificate's SAN URI is urn:tincan:device:<user>, the
// user of the AOR it registers (REGISTER: To) or calls from (From); otherwise 403 and a
// "TLS REFUSED" line. Boards behind NAT do not listen for TLS: their registered flow is reused
// for requests to them (nathelper: the REGISTER's source as the contact's received address,
// Contact aliases for dialogs).
//
// With `nat` it is the registrar of phones behind NATs, the usual nathelper way: every reply
// goes back to the request's source (force_rport); a request whose Via does not match its
// source (nat_uac_test 19) is from behind a NAT: its REGISTER's source is stored as the
// binding's received address (fix_nated_register; `locations()` shows it), other first-hop
// requests and the replies of NAT'd callees get a Contact alias (set_contact_alias) that
// in-dialog requests are routed by (handle_ruri_alias). The stun module answers STUN Binding
// requests on the SIP port (RFC 5626 4.4.2 keepalives), and OPTIONS to the server itself get
// 200. `listen` and `spawn` put it on a NAT lab address: lab.spawn("public", ...).

import { type ChildProcess, type SpawnOptions, spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { allocatePorts, type PortBlock } from "./ports.ts";

export const KAMAILIO_BIN = "/usr/sbin/kamailio";
export const KAMAILIO_MODULES = "/usr/lib/x86_64-linux-gnu/kamailio/modules";
const MODULES = ["tm", "sl", "rr", "pv", "maxfwd", "textops", "siputils", "xlog", "sanity", "usrloc", "registrar", "auth"];
const TLS_MODULES = ["tls", "nathelper"];
const NAT_MODULES = ["nathelper", "stun", "ctl", "kex"]; // kex: the branch flags (setbflag)
export const KAMCMD_BIN = "/usr/sbin/kamcmd";
const NAT_BRANCH_FLAG = 7; // a binding registered from behind a NAT (usrloc keeps it, lookup restores it)

/** Starts a command the way the caller wants (inside a network namespace, say); default: child_process.spawn. */
export type KamailioSpawn = (command: string, args: string[], options: SpawnOptions) => ChildProcess;

/** One binding of the location table. */
export interface KamailioLocation {
  aor: string;
  contact: string;
  /** Where the REGISTER came from (a NAT's public address), when kamailio saw it differ. */
  received?: string;
}

export interface KamailioUser { user: string; password: string }

/** PEM files for the TLS listener. */
export interface KamailioTls {
  /** The server's certificate (then any intermediates) and its key. */
  certificate: string;
  key: string;
  /** The roots a client certificate must chain to. */
  ca: string;
  /** One CRL from each CA in the client chains (root and intermediate). */
  crl: string;
}

export interface KamailioOptions {
  users: KamailioUser[];
  /** Digest realm; defaults to "tincan.test". */
  realm?: string;
  /** Listen port on `listen` (UDP, and TCP when `tcp`); allocated when absent. */
  port?: number;
  /** Listen address, an IPv4 literal (default 127.0.0.1). */
  listen?: string;
  /** A registrar/proxy for phones behind NATs (see the top of this file). */
  nat?: boolean;
  /** How to start kamailio, e.g. (c, a, o) => lab.spawn("public", c, a, o). */
  spawn?: KamailioSpawn;
  tcp?: boolean;
  /** SIP over TLS with client certificates, on port + 1. */
  tls?: KamailioTls;
  /** Challenge with qop=auth (default) or without qop (RFC 2069 style). */
  qop?: boolean;
  /** Kamailio's debug level (default 2: notices, and the script's xlog lines). */
  debugLevel?: number;
  keepDir?: boolean;
}

export interface KamailioProxy {
  readonly port: number;
  /** The TLS listener's port (with `tls`). */
  readonly tlsPort?: number;
  readonly host: string;
  readonly realm: string;
  readonly dir: string;
  /** What kamailio logged (the last MiB). */
  readonly log: string;
  /** Waits for a log line matching `pattern` (e.g. the script's "REGISTERED alice"). */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** The location table (kamcmd ul.dump; with `nat` only, which loads the ctl module). */
  locations(): KamailioLocation[];
  stop(): Promise<void>;
}

/** Why kamailio cannot run here, or undefined when it can. */
export function kamailioUnavailable(): string | undefined {
  if (!fs.existsSync(KAMAILIO_BIN)) return `${KAMAILIO_BIN} is missing: install the Debian package kamailio`;
  for (const m of MODULES) if (!fs.existsSync(path.join(KAMAILIO_MODULES, `${m}.so`))) return `kamailio module ${m}.so is missing from ${KAMAILIO_MODULES}`;
  return undefined;
}

/** Why the NAT-aware kamailio cannot run here (its modules, kamcmd), or undefined. */
export function kamailioNatUnavailable(): string | undefined {
  const base = kamailioUnavailable();
  if (base !== undefined) return base;
  for (const m of NAT_MODULES) if (!fs.existsSync(path.join(KAMAILIO_MODULES, `${m}.so`))) return `kamailio module ${m}.so is missing from ${KAMAILIO_MODULES}`;
  if (!fs.existsSync(KAMCMD_BIN)) return `${KAMCMD_BIN} is missing: install the Debian package kamailio`;
  return undefined;
}

/** Why kamailio's TLS cannot run here (the tls module is a package of its own), or undefined. */
export function kamailioTlsUnavailable(): string | undefined {
  const base = kamailioUnavailable();
  if (base !== undefined) return base;
  for (const m of TLS_MODULES) if (!fs.existsSync(path.join(KAMAILIO_MODULES, `${m}.so`))) return `kamailio module ${m}.so is missing from ${KAMAILIO_MODULES}: install the Debian package kamailio-tls-modules`;
  return undefined;
}

const SAFE = /^[A-Za-z0-9._~!$&'()*+,=:@%-]+$/;

/** The script. Exported so a test can read what the proxy does. */
export function kamailioConfig(o: {
  port: number; users: KamailioUser[]; realm: string; tcp: boolean; qop: boolean; debugLevel: number; tls?: KamailioTls & { port: number };
  listen?: string; nat?: boolean; ctlSocket?: string;
}): string {
  const listen = o.listen ?? "127.0.0.1";
  if (!net.isIPv4(listen)) throw new RangeError(`kamailio: listen address '${listen}' is not an IPv4 literal`);
  const nat = o.nat ?? false;
  if (nat && (o.ctlSocket === undefined || !/^[A-Za-z0-9._/+-]+$/.test(o.ctlSocket))) throw new RangeError("kamailio: a NAT registrar needs a control socket path of plain characters");
  for (const u of o.users) {
    if (!/^[A-Za-z0-9._~-]+$/.test(u.user)) throw new RangeError(`kamailio: user '${u.user}' must be plain characters`);
    if (!SAFE.test(u.password) || u.password.includes("$")) throw new RangeError(`kamailio: the password of ${u.user} has characters the script cannot hold`);
  }
  if (!SAFE.test(o.realm) || o.realm.includes("$")) throw new RangeError(`kamailio: realm '${o.realm}' has characters the script cannot hold`);
  const tls = o.tls;
  if (tls) for (const f of [tls.certificate, tls.key, tls.ca, tls.crl]) if (!/^[A-Za-z0-9._/+-]+$/.test(f)) throw new RangeError(`kamailio: the TLS file name '${f}' has characters the script cannot hold`);
  const modules = [...new Set([...MODULES, ...(tls ? TLS_MODULES : []), ...(nat ? NAT_MODULES : [])])];
  const aliases = tls !== undefined || nat;
  const flags = o.qop ? "1" : "0";
  const passwords = o.users.map((u) => `\tif ($au == "${u.user}") $var(pw) = "${u.password}";`).join("\n");
  return `#!KAMAILIO
# Generated by test/peers/kamailio.ts for one test run.
debug=${o.debugLevel}
log_stderror=yes
children=2
auto_aliases=no
listen=udp:${listen}:${o.port}
${o.tcp ? `listen=tcp:${listen}:${o.port}` : tls ? "" : "disable_tcp=yes"}
alias="${listen}:${o.port}"${tls ? `
enable_tls=yes
listen=tls:${listen}:${tls.port}
alias="${listen}:${tls.port}"` : ""}
tcp_children=2
mpath="${KAMAILIO_MODULES}/"

# tm before sl: sl then finds tm, and send_reply() answers statefully where a transaction exists.
${modules.map((m) => `loadmodule "${m}.so"`).join("\n")}

modparam("usrloc", "db_mode", 0)
modparam("registrar", "max_expires", 3600)
modparam("rr", "enable_full_lr", 1)
modparam("auth", "nonce_expire", 300)
${tls ? `
# The handshake checks the chain to the factory root and both CRLs; a client without a
# certificate, or with one that fails, never gets to the script.
modparam("tls", "tls_method", "TLSv1.2+")
modparam("tls", "certificate", "${tls.certificate}")
modparam("tls", "private_key", "${tls.key}")
modparam("tls", "ca_list", "${tls.ca}")
modparam("tls", "crl", "${tls.crl}")
modparam("tls", "verify_certificate", 1)
modparam("tls", "require_certificate", 1)
modparam("tls", "verify_depth", 3)
# the verification's findings (revoked, unknown issuer) at notice level, in the log
modparam("tls", "tls_log", 1)
` : ""}${aliases ? `
modparam("nathelper", "received_avp", "$avp(RECEIVED)")
modparam("registrar", "received_avp", "$avp(RECEIVED)")` : ""}${nat ? `
modparam("usrloc", "nat_bflag", ${NAT_BRANCH_FLAG})
# A callee that sends nothing back in 4 s is not there (its NAT forgot it): 408 then, not after tm's 30 s.
modparam("tm", "fr_timer", 4000)
modparam("ctl", "binrpc", "unix:${o.ctlSocket}")` : ""}

request_route {
\tif (!mf_process_maxfwd_header("10")) {
\t\tsl_send_reply("483", "Too Many Hops");
\t\texit;
\t}
\tif (!sanity_check()) {
\t\txlog("L_NOTICE", "INSANE $rm from $si:$sp\\n");
\t\texit;
\t}${nat ? `
\tforce_rport();
\t# Via not where the request came from (address 2, port 16) or a private Contact (1): a NAT
\tif (nat_uac_test("19")) {
\t\tif (is_method("REGISTER")) {
\t\t\tfix_nated_register();
\t\t\tsetbflag(${NAT_BRANCH_FLAG});
\t\t} else if (is_first_hop()) set_contact_alias();
\t}
\tif (is_method("OPTIONS") && uri == myself && $rU == $null) {
\t\tsl_send_reply("200", "Keepalive");
\t\texit;
\t}` : ""}
\tif (has_totag()) {
\t\troute(IN_DIALOG);
\t\texit;
\t}
\tif (is_method("CANCEL")) {
\t\tif (t_check_trans()) route(RELAY);
\t\texit;
\t}
\tif (!is_method("ACK")) t_check_trans();
\tif (is_method("REGISTER")) {
${tls ? `\t\tif (proto == TLS) {
\t\t\troute(DEVICE);
\t\t\t# the board does not listen for TLS: reach it over this flow
\t\t\tfix_nated_register();
\t\t} else route(AUTH);` : "\t\troute(AUTH);"}
\t\tif (!save("location")) sl_reply_error();
\t\txlog("L_NOTICE", "REGISTERED $tU expires=$hdr(Expires) contact=$ct${nat ? " from=$si:$sp" : ""}\\n");
\t\texit;
\t}
${tls ? "\tif (proto == TLS) route(DEVICE);\n\telse if (from_uri == myself) route(AUTH);" : "\tif (from_uri == myself) route(AUTH);"}
\telse if (uri != myself) {
\t\tsl_send_reply("403", "Not relaying");
\t\texit;
\t}
\tif (is_method("INVITE|SUBSCRIBE")) record_route();${tls ? `
\tif (proto == TLS && is_method("INVITE")) add_contact_alias();` : ""}
\tif (uri == myself) {
\t\tif (!lookup("location")) {
\t\t\txlog("L_NOTICE", "NOT FOUND $rU\\n");
\t\t\tsl_send_reply("404", "Not Found");
\t\t\texit;
\t\t}
\t}
\txlog("L_NOTICE", "FORWARD $rm from $fU to $ru\\n");
\troute(RELAY);
}

route[AUTH] {
\tif (!has_credentials("${o.realm}")) {
\t\txlog("L_NOTICE", "CHALLENGE $rm from $fU\\n");
\t\tauth_challenge("${o.realm}", "${flags}");
\t\texit;
\t}
\t$var(pw) = "-";
${passwords}
\t# the last "1": the digest user must be the To user (REGISTER) or the From user (others)
\t$var(rc) = pv_auth_check("${o.realm}", "$var(pw)", "0", "1");
\tif ($var(rc) == -8) {
\t\tsl_send_reply("403", "Credentials are not yours");
\t\texit;
\t}
\tif ($var(rc) == -2) {
\t\txlog("L_NOTICE", "WRONG PASSWORD $rm from $au\\n");
\t\tsl_send_reply("403", "Wrong password");
\t\texit;
\t}
\tif ($var(rc) < 0) {
\t\txlog("L_NOTICE", "STALE $rm from $fU (rc $var(rc)): challenging again\\n");
\t\tauth_challenge("${o.realm}", "${flags}");
\t\texit;
\t}
\tconsume_credentials();
}

route[IN_DIALOG] {
\tif (loose_route()) {${aliases ? `
\t\tif ($ru =~ ";alias=") handle_ruri_alias();` : ""}
\t\txlog("L_NOTICE", "IN-DIALOG $rm from $fU to $ru\\n");
\t\troute(RELAY);
\t\texit;
\t}
\tif (is_method("ACK")) {
\t\tif (t_check_trans()) route(RELAY);
\t\texit;
\t}
\tsl_send_reply("404", "Not here");
}

${tls ? `route[DEVICE] {
\t# The certificate chained to the root and is revoked nowhere (the handshake saw to that);
\t# it must also be the certificate of this account's device.
\tif (is_method("REGISTER")) { $var(user) = $tU; } else { $var(user) = $fU; }
\t$var(want) = "urn:tincan:device:" + $var(user);
\tif ($tls_peer_verified != 1) {
\t\txlog("L_NOTICE", "TLS REFUSED $rm from $si:$sp: certificate not verified\\n");
\t\tsl_send_reply("403", "Certificate not verified");
\t\texit;
\t}
\tif ($tls_peer_san_uri != $var(want)) {
\t\txlog("L_NOTICE", "TLS REFUSED $rm from $si:$sp: certificate of $tls_peer_subject_cn ($tls_peer_san_uri) is not for $var(user)\\n");
\t\tsl_send_reply("403", "Certificate is not for this account");
\t\texit;
\t}
\txlog("L_NOTICE", "TLS DEVICE $rm from $var(user): certificate of $tls_peer_subject_cn\\n");
}

onreply_route {
\t# replies from a board over its TLS flow: its Contact must lead back to that flow
\tif (proto == TLS && is_method("INVITE") && is_present_hf("Contact")) add_contact_alias();
}

` : ""}${nat ? `onreply_route[NAT_REPLY] {
\t# a callee behind a NAT: its Contact must lead back through the flow it registered
\tif (proto == UDP && isbflagset(${NAT_BRANCH_FLAG}) && is_present_hf("Contact")) set_contact_alias();
}

` : ""}route[RELAY] {${nat ? `
\tif (is_method("INVITE")) t_on_reply("NAT_REPLY");` : ""}
\tif (!t_relay()) sl_reply_error();
\texit;
}
`;
}

const LOG_LIMIT = 1 << 20;
const running = new Set<ChildProcess>();
process.once("exit", () => { for (const c of running) c.kill("SIGKILL"); });

export async function startKamailio(opts: KamailioOptions): Promise<KamailioProxy> {
  const missing = kamailioUnavailable();
  if (missing !== undefined) throw new Error(missing);
  if (opts.tls) {
    const why = kamailioTlsUnavailable();
    if (why !== undefined) throw new Error(why);
  }
  const block: PortBlock | undefined = opts.port === undefined ? await allocatePorts(opts.tls ? 2 : 1) : undefined;
  const port = opts.port ?? block!.first;
  const realm = opts.realm ?? "tincan.test";
  const listen = opts.listen ?? "127.0.0.1";
  const nat = opts.nat ?? false;
  if (nat) {
    const why = kamailioNatUnavailable();
    if (why !== undefined) { block?.release(); throw new Error(why); }
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tincan-kamailio-"));
  // A path socket (not an abstract one) reaches kamcmd from any network namespace.
  const ctlSocket = path.join(dir, "ctl.sock");
  let script: string;
  try {
    script = kamailioConfig({ port, users: opts.users, realm, tcp: opts.tcp ?? false, qop: opts.qop ?? true, debugLevel: opts.debugLevel ?? 2, tls: opts.tls ? { ...opts.tls, port: port + 1 } : undefined, listen, nat, ctlSocket });
  } catch (e) {
    block?.release();
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const cfg = path.join(dir, "kamailio.cfg");
  fs.writeFileSync(cfg, script);
  const start = opts.spawn ?? spawn;
  const child = start(KAMAILIO_BIN, ["-f", cfg, "-DD", "-E", "-P", path.join(dir, "kamailio.pid"), "-w", dir, "-Y", dir, "-m", "32", "-M", "8"], {
    cwd: dir, stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let log = "";
  let exited = false;
  const waiters = new Set<() => void>();
  const onOutput = (d: Buffer) => {
    log = (log + d.toString("utf8")).slice(-LOG_LIMIT);
    for (const w of [...waiters]) w();
  };
  child.stdout?.on("data", onOutput);
  child.stderr?.on("data", onOutput);
  child.once("error", () => {});
  const exitedP = new Promise<void>((resolve) => child.once("exit", (code, signal) => {
    exited = true;
    running.delete(child);
    onOutput(Buffer.from(`\n[kamailio exited, code ${code} signal ${signal}]\n`));
    resolve();
  }));

  const waitForLog = async (pattern: RegExp, timeoutMs = 5000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = log.split("\n").find((l) => pattern.test(l));
      if (line !== undefined) return line;
      if (exited) throw new Error(`kamailio exited while waiting for ${pattern}\n${log.slice(-4000)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`kamailio: no log line matching ${pattern} within ${timeoutMs} ms\n${log.slice(-4000)}`);
      await new Promise<void>((resolve) => {
        const done = () => { clearTimeout(t); waiters.delete(done); resolve(); };
        const t = setTimeout(done, left);
        waiters.add(done);
      });
    }
  };

  const stop = async () => {
    if (!exited) {
      child.kill("SIGTERM");
      await Promise.race([exitedP, sleep(3000)]);
      if (!exited) {
        child.kill("SIGKILL");
        await Promise.race([exitedP, sleep(2000)]);
      }
    }
    block?.release();
    if (!(opts.keepDir ?? false)) fs.rmSync(dir, { recursive: true, force: true });
  };

  const locations = (): KamailioLocation[] => {
    if (!nat) throw new Error("kamailio: locations() needs a proxy started with nat: true (the ctl module)");
    try {
      return parseLocations(execFileSync(KAMCMD_BIN, ["-s", `unix:${ctlSocket}`, "ul.dump"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 5000 }));
    } catch (e) {
      throw new Error(`kamcmd ul.dump failed: ${(e as { stderr?: string }).stderr?.trim() || (e as Error).message}`);
    }
  };

  try {
    // Kamailio prints nothing when it is ready; the main process's listening socket shows it.
    await waitUntilListening(child.pid, listen, port, () => exited, 5000);
  } catch (e) {
    await stop();
    throw new Error(`kamailio did not start on udp:${listen}:${port}: ${(e as Error).message}\n${log.slice(-4000)}`);
  }
  return { port, tlsPort: opts.tls ? port + 1 : undefined, host: listen, realm, dir, get log() { return log; }, waitForLog, locations, stop };
}

/** The bindings in `kamcmd ul.dump`'s text: each Contact's Address and Received under its AOR. */
export function parseLocations(dump: string): KamailioLocation[] {
  const out: KamailioLocation[] = [];
  let aor = "";
  for (const line of dump.split("\n")) {
    const m = /^\s*(AoR|AOR|Address|Received):\s*(.*?)\s*$/.exec(line);
    if (!m) continue;
    if (m[1] === "AoR" || m[1] === "AOR") aor = m[2]!;
    else if (m[1] === "Address") out.push({ aor, contact: m[2]! });
    else if (out.length > 0 && m[2] !== "" && m[2] !== "[not set]") out[out.length - 1]!.received = m[2];
  }
  return out;
}

/**
 * Polls the UDP socket table of kamailio's own network namespace (/proc/PID/net/udp: the
 * process may run in a namespace of the NAT lab) for a socket bound to address:port.
 */
async function waitUntilListening(pid: number | undefined, address: string, port: number, gone: () => boolean, timeoutMs: number): Promise<void> {
  // The table prints the address as the 32-bit number in host (little-endian) byte order.
  const hex = address.split(".").map((b) => Number(b).toString(16).toUpperCase().padStart(2, "0")).reverse().join("");
  const needle = `${hex}:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  const table = pid === undefined ? "/proc/net/udp" : `/proc/${pid}/net/udp`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gone()) throw new Error("it exited");
    let sockets = "";
    try { sockets = fs.readFileSync(table, "utf8"); } catch { /* the process is still starting, or gone */ }
    if (sockets.includes(needle)) {
      await sleep(100); // the children that read the socket fork just after it is bound
      return;
    }
    await sleep(25);
  }
  throw new Error(`not listening after ${timeoutMs} ms`);
}
