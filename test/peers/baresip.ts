// A real baresip (Debian's baresip-core 1.0.0) as a SIP peer for the call tests, driven over
// its ctrl_tcp module: netstring-framed JSON, one TCP connection that carries command
// responses and the UA's events. What baresip 1.0.0 offers, found by running it:
//   - aufile is only an audio *source* in 1.0.0 (`audio_source aufile,/x.wav`, mono S16LE at
//     the rate `ausrc_srate` names; baresip resamples to the codec's); it ends the call ("end of file" AUDIO_ERROR) when the file runs
//     out, so the source is padded with silence to `minSourceSeconds`; it reads the whole file
//     when the call starts, so a long source lengthens the call set-up.
//   - there is no file player: the sndfile filter records what the decoder puts out (and what
//     goes into the encoder) as snd_path/dump-<time>-dec.wav / -enc.wav, on the main thread as
//     each packet leaves the jitter buffer. No player is configured at all: 1.0.0 logs
//     "start_player failed" and keeps the call, the decoder and the recording going, whereas
//     ALSA's "null" device (the only player without hardware here) never blocks and so spins
//     a core per peer.
//   - the long commands (dial, hangup, accept, sndcode, quit) come from the menu module;
//     `net_interface 127.0.0.1` keeps SDP and Contact on loopback (the default is eth0's address).
//   - media NAT traversal is an account parameter, `;medianat=stun|turn|ice` with
//     `;stunserver=stun:host:port` or `turn:host:port` and `;stunuser=;stunpass=`, and needs its
//     module loaded (stun.so, turn.so, ice.so). ice gathers host and server-reflexive
//     candidates from a stun: server, and a relayed one too from a turn: server (TURN's
//     XOR-MAPPED-ADDRESS doubling as the server-reflexive one).
//   - in a NAT lab namespace (`netns`), ctrl_tcp's 127.0.0.1 is that namespace's: a small node
//     pipe started next to it carries the control stream over its stdio.

import { type ChildProcess, type SpawnOptions, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { Duplex } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { type Wav, parseWav, wavHeader } from "../../host-tools/sim/wav.ts";
import { allocatePorts, type PortBlock } from "./ports.ts";

export const BARESIP_BIN = "/usr/bin/baresip";
export const BARESIP_MODULES = "/usr/lib/baresip/modules";

export interface BaresipRegistrar {
  /** The registrar/proxy (kamailio) address; the AOR is sip:user@host:port. */
  host: string;
  port: number;
  password: string;
  /** Registration interval, seconds. */
  regintS?: number;
}

/** Media NAT traversal: one of baresip's mnat modules and its server. */
export interface BaresipMediaNat {
  kind: "stun" | "turn" | "ice";
  /** The server as an RFC 7064/7065 URI without user info: stun:host:port or turn:host:port. */
  server: string;
  /** TURN's long-term credentials (turn, or ice with a turn: server). */
  user?: string;
  password?: string;
}

/** Runs baresip inside a network namespace (a NAT lab host). */
export interface BaresipNetns {
  /** Starts a command there, e.g. (c, a, o) => lab.spawn("b1", c, a, o). */
  spawn: (command: string, args: string[], options: SpawnOptions) => ChildProcess;
  /** The namespace's own IPv4 address: SIP, Contact, SDP and media use it. */
  address: string;
}

export interface BaresipOptions {
  user: string;
  /** Name used in logs and errors; defaults to the user. */
  name?: string;
  /** Without it the account is a direct-IP one: sip:user@127.0.0.1:sipPort, no REGISTER. */
  registrar?: BaresipRegistrar;
  transport?: "udp" | "tcp";
  /** Direct-IP accounts only: SIP and media on [::1] instead of 127.0.0.1. */
  ipv6?: boolean;
  /** WAV to send, mono 16-bit, any rate (baresip resamples it to the codec's). Silence when absent. */
  source?: string;
  /** The source is padded with silence to this length (default 20 s): the call ends when it
   *  runs out. baresip loads it whole between the 200 OK and the ACK, ~0.1 ms a second of audio. */
  minSourceSeconds?: number;
  /** Account codec list in baresip's name/rate/channels form, in order of preference. */
  codecs?: string[];
  /** srtp-mand: SDES-SRTP (RTP/SAVP) required; none: plain RTP. */
  mediaenc?: "srtp" | "srtp-mand" | "srtp-mandf" | "none";
  answerMode?: "auto" | "manual";
  ptimeMs?: number;
  /** Jitter buffer depth in frames, [min, max]. */
  jitterBufferFrames?: [number, number];
  rtpTimeoutS?: number;
  /** RTCP on the RTP port (a=rtcp-mux; baresip's rtcp_mux). Default off. */
  rtcpMux?: boolean;
  medianat?: BaresipMediaNat;
  netns?: BaresipNetns;
  /** Extra `key value` lines for config (e.g. { audio_buffer: "20-160" }). */
  extraConfig?: Record<string, string>;
  /** Prefix of the command line (e.g. ["strace", "-o", f, "--"]) for measurements. */
  wrapper?: string[];
  keepDir?: boolean;
}

export interface BaresipEvent {
  type: string;
  class?: string;
  param?: string;
  peeruri?: string;
  accountaor?: string;
  direction?: string;
  id?: string;
  /** Arrival at this process, ms since the Unix epoch (same clock as tshark's frame.time_epoch). */
  at: number;
  raw: Record<string, unknown>;
}

export interface CommandResult { ok: boolean; data: string }

/** Why baresip cannot run here, or undefined when it can. */
export function baresipUnavailable(): string | undefined {
  if (!fs.existsSync(BARESIP_BIN)) return `${BARESIP_BIN} is missing: install the Debian package baresip-core`;
  for (const m of ["ctrl_tcp", "menu", "aufile", "sndfile", "g722", "g711", "srtp", "account"]) {
    if (!fs.existsSync(path.join(BARESIP_MODULES, `${m}.so`))) return `baresip module ${m}.so is missing from ${BARESIP_MODULES}`;
  }
  return undefined;
}

export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

const LOG_LIMIT = 1 << 20;

export class BaresipPeer {
  readonly events: BaresipEvent[] = [];
  private logText = "";
  private ctrl: Duplex | undefined;
  private rx = Buffer.alloc(0);
  private nextToken = 1;
  private readonly pending = new Map<string, (r: CommandResult) => void>();
  private readonly waiters = new Set<() => void>();
  private exited = false;

  constructor(
    readonly name: string,
    readonly dir: string,
    readonly aor: string,
    readonly sipPort: number,
    readonly ctrlPort: number,
    private readonly child: ChildProcess,
    private readonly ports: PortBlock,
    private readonly keepDir: boolean,
  ) {
    const onOutput = (d: Buffer) => { this.logText = (this.logText + d.toString("utf8")).slice(-LOG_LIMIT); };
    child.stdout?.on("data", onOutput);
    child.stderr?.on("data", onOutput);
    child.once("exit", (code, signal) => {
      this.exited = true;
      this.logText += `\n[${name}: baresip exited, code ${code} signal ${signal}]\n`;
      this.wake();
    });
  }

  /** Everything baresip printed (the last MiB). */
  get log(): string { return this.logText; }
  get pid(): number | undefined { return this.child.pid; }
  /** Where the sndfile filter writes its recordings. */
  get recordDir(): string { return path.join(this.dir, "rec"); }

  /** Opens the control stream: `dial` makes one attempt (default: TCP to 127.0.0.1:ctrlPort), retried until timeoutMs. */
  async connect(timeoutMs: number, dial: ControlDialer = () => dialTcp(this.ctrlPort)): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !this.exited) {
      const sock = await dial(deadline - Date.now());
      if (sock !== undefined) {
        this.ctrl = sock;
        sock.on("data", (d: Buffer) => this.onData(d));
        sock.on("error", () => {});
        return;
      }
      await sleep(30);
    }
    throw new Error(`${this.name}: baresip's ctrl_tcp did not accept on 127.0.0.1:${this.ctrlPort}\n${this.log}`);
  }

  private onData(d: Buffer): void {
    this.rx = Buffer.concat([this.rx, d]);
    for (;;) {
      const colon = this.rx.indexOf(0x3a);
      if (colon < 0) break;
      const len = Number(this.rx.subarray(0, colon).toString("latin1"));
      if (!Number.isInteger(len) || len < 0) return this.badControl(`bad netstring: ${JSON.stringify(this.rx.subarray(0, 40).toString())}`);
      if (this.rx.length < colon + 1 + len + 1) break;
      const body = this.rx.subarray(colon + 1, colon + 1 + len).toString("utf8");
      this.rx = this.rx.subarray(colon + 1 + len + 1);
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(body) as Record<string, unknown>;
      } catch {
        return this.badControl(`not JSON: ${JSON.stringify(body.slice(0, 80))}`);
      }
      this.onMessage(message);
    }
  }

  /** The control stream is garbled: say so in the log and drop it (commands then fail). */
  private badControl(why: string): void {
    this.logText += `\n[${this.name}: ctrl_tcp sent ${why}; control connection closed]\n`;
    this.ctrl?.destroy();
    this.ctrl = undefined;
    this.wake();
  }

  private onMessage(m: Record<string, unknown>): void {
    if (m.response === true) {
      const token = String(m.token ?? "");
      const done = this.pending.get(token);
      this.pending.delete(token);
      done?.({ ok: m.ok === true, data: String(m.data ?? "") });
    } else if (m.event === true) {
      const s = (k: string) => (typeof m[k] === "string" ? (m[k] as string) : undefined);
      this.events.push({
        type: String(m.type), class: s("class"), param: s("param"), peeruri: s("peeruri"),
        accountaor: s("accountaor"), direction: s("direction"), id: s("id"), at: epochMs(), raw: m,
      });
    }
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Runs a long command (`dial sip:..`, `hangup`, `sndcode 1`); resolves with baresip's answer. */
  command(command: string, params?: string, timeoutMs = 3000): Promise<CommandResult> {
    const sock = this.ctrl;
    if (sock === undefined || this.exited) return Promise.reject(new Error(`${this.name}: baresip is not running`));
    const token = `t${this.nextToken++}`;
    const json = JSON.stringify(params === undefined ? { command, token } : { command, params, token });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(token);
        reject(new Error(`${this.name}: no answer to '${command}' within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(token, (r) => { clearTimeout(timer); resolve(r); });
      sock.write(`${Buffer.byteLength(json)}:${json},`);
    });
  }

  private async mustSucceed(command: string, params?: string): Promise<void> {
    const r = await this.command(command, params);
    if (!r.ok) throw new Error(`${this.name}: '${command}${params === undefined ? "" : ` ${params}`}' failed: ${r.data.trim()}`);
  }

  dial(uri: string): Promise<void> { return this.mustSucceed("dial", uri); }
  hangup(): Promise<void> { return this.mustSucceed("hangup"); }
  accept(): Promise<void> { return this.mustSucceed("accept"); }

  /** Sends each digit as RFC 4733 telephone-events, one command per digit, `gapMs` apart. */
  async sendDtmf(digits: string, gapMs = 200): Promise<void> {
    if (!/^[0-9*#A-D]+$/.test(digits)) throw new RangeError(`sendDtmf: digits must be 0-9 * # A-D, got '${digits}'`);
    for (const d of digits) {
      await this.mustSucceed("sndcode", d);
      await sleep(gapMs);
    }
  }

  /** Waits for an event of `type` at index >= `from` (so earlier calls' events do not count). */
  async waitForEvent(type: string, timeoutMs = 5000, from = 0, match?: (e: BaresipEvent) => boolean): Promise<BaresipEvent> {
    const find = () => this.events.slice(from).find((e) => e.type === type && (match === undefined || match(e)));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = find();
      if (hit !== undefined) return hit;
      if (this.exited) throw new Error(`${this.name}: baresip exited while waiting for ${type}\n${this.log}`);
      const left = deadline - Date.now();
      if (left <= 0) {
        const seen = this.events.slice(from).map((e) => e.type).join(", ") || "none";
        throw new Error(`${this.name}: no ${type} within ${timeoutMs} ms (events seen: ${seen})\n--- baresip log ---\n${this.log.slice(-4000)}`);
      }
      await new Promise<void>((resolve) => {
        const done = () => { clearTimeout(t); this.waiters.delete(done); resolve(); };
        const t = setTimeout(done, left);
        this.waiters.add(done);
      });
    }
  }

  /** Waits until the account is registered: a REGISTER_OK event, or (when that came before
   *  the control connection) `reginfo` reporting OK. Throws on REGISTER_FAIL or ERR. */
  async waitRegistered(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.events.some((e) => e.type === "REGISTER_OK")) return;
      const failed = this.events.find((e) => e.type === "REGISTER_FAIL");
      if (failed !== undefined) throw new Error(`${this.name}: registration failed: ${failed.param}\n${this.log.slice(-4000)}`);
      const info = (await this.command("reginfo")).data.replace(/\x1b\[[0-9;]*m/g, "");
      if (/\sOK\s/.test(info)) return;
      if (/\sERR\s/.test(info)) throw new Error(`${this.name}: registration failed: ${info.trim()}\n${this.log.slice(-4000)}`);
      if (Date.now() >= deadline) throw new Error(`${this.name}: not registered within ${timeoutMs} ms: ${info.trim()}\n${this.log.slice(-4000)}`);
      await sleep(50);
    }
  }

  /** The newest recording of what this peer decoded ("dec") or encoded ("enc"), once the file
   *  is closed. sndfile names them by the second the call started: a call that starts in the
   *  same second as the one before overwrites its files, so read each call's before the next. */
  async recording(kind: "dec" | "enc" = "dec", timeoutMs = 3000): Promise<Wav & { file: string }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const files = fs.existsSync(this.recordDir) ? fs.readdirSync(this.recordDir).filter((f) => f.endsWith(`-${kind}.wav`)).sort() : [];
      const file = files.length > 0 ? path.join(this.recordDir, files[files.length - 1]) : undefined;
      if (file !== undefined) {
        const bytes = fs.readFileSync(file);
        // libsndfile writes the RIFF and data sizes when it closes the file (at the call's end).
        if (bytes.length >= 44 && bytes.readUInt32LE(40) === bytes.length - 44) return { ...parseWav(bytes, file), file };
        if (Date.now() >= deadline) return { ...parseWav(withSizesFixed(bytes), file), file };
      } else if (Date.now() >= deadline) {
        throw new Error(`${this.name}: no ${kind} recording in ${this.recordDir}\n${this.log.slice(-4000)}`);
      }
      await sleep(50);
    }
  }

  /** Quits baresip (the quit command, then SIGTERM, then SIGKILL) and removes its directory. */
  async stop(): Promise<void> {
    if (!this.exited) {
      const exited = new Promise<void>((resolve) => (this.exited ? resolve() : this.child.once("exit", () => resolve())));
      await this.command("quit", undefined, 500).catch(() => {});
      for (const [signal, waitMs] of [[undefined, 1500], ["SIGTERM", 1000], ["SIGKILL", 2000]] as const) {
        if (signal !== undefined && !this.exited) this.signalAll(signal);
        await Promise.race([exited, sleep(waitMs)]);
        if (this.exited) break;
      }
    }
    this.ctrl?.destroy();
    this.ports.release();
    running.delete(this);
    if (!this.keepDir) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** For the exit hook: no waiting. */
  killNow(): void {
    if (!this.exited) this.signalAll("SIGKILL");
  }

  /** Signals baresip and, when it runs under a wrapper (strace), the wrapper's children first. */
  private signalAll(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    let children: number[] = [];
    try {
      children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter((x) => x !== "").map(Number);
    } catch {
      // gone already, or no /proc: the direct child is all there is
    }
    for (const c of children) {
      try { process.kill(c, signal); } catch { /* already gone */ }
    }
    this.child.kill(signal);
  }
}

/** One attempt at the control stream; undefined when nothing listens yet. */
export type ControlDialer = (timeoutMs: number) => Promise<Duplex | undefined>;

function dialTcp(port: number): Promise<Duplex | undefined> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => resolve(s));
    s.once("error", () => { s.destroy(); resolve(undefined); });
  });
}

// Inside a namespace: connects to 127.0.0.1:argv[1] there (retrying until argv[2] ms have
// passed), says "connected" on stderr, then pipes stdio to it.
const CONTROL_PIPE = `const net = require("node:net"); const until = Date.now() + Number(process.argv[2]);
const go = () => { const s = net.connect(Number(process.argv[1]), "127.0.0.1"); let up = false;
  s.on("connect", () => { up = true; process.stderr.write("connected\\n"); process.stdin.pipe(s); s.pipe(process.stdout); process.stdin.on("end", () => s.end()); });
  s.on("error", (e) => { if (!up && Date.now() < until) setTimeout(go, 30); else { process.stderr.write(e.message); process.exit(1); } });
  s.on("close", () => { if (up) process.exit(0); }); };
go();`;

function dialThroughNamespace(ns: BaresipNetns, port: number): ControlDialer {
  return (timeoutMs) => new Promise((resolve) => {
    const pipe = ns.spawn(process.execPath, ["-e", CONTROL_PIPE, String(port), String(Math.max(100, timeoutMs))], { stdio: ["pipe", "pipe", "pipe"] });
    pipe.once("error", () => resolve(undefined));
    pipe.once("exit", () => resolve(undefined));
    let said = "";
    pipe.stderr!.on("data", (d: Buffer) => {
      said += d.toString("utf8");
      if (said.startsWith("connected\n")) resolve(Duplex.from({ readable: pipe.stdout!, writable: pipe.stdin! }));
    });
  });
}

const running = new Set<BaresipPeer>();
process.once("exit", () => { for (const p of running) p.killNow(); });

/** A WAV whose header sizes were never written (baresip killed mid-call): sizes from the file length. */
function withSizesFixed(bytes: Buffer): Buffer {
  if (bytes.length < 44) return bytes;
  const out = Buffer.from(bytes);
  out.writeUInt32LE(out.length - 8, 4);
  out.writeUInt32LE(out.length - 44, 40);
  return out;
}

/** Copies the source WAV padded with silence to `minSeconds` (aufile ends the call at the file's end); returns its rate. */
function paddedSource(source: string | undefined, minSeconds: number, out: string): number {
  let samples: Int16Array = new Int16Array(0);
  let rate = 16000;
  if (source !== undefined) {
    const wav = parseWav(fs.readFileSync(source), source);
    samples = wav.samples;
    rate = wav.sampleRate;
  }
  const total = Math.max(samples.length, Math.ceil(minSeconds * rate));
  const pcm = new Int16Array(total);
  pcm.set(samples);
  fs.writeFileSync(out, Buffer.concat([wavHeader(rate, total * 2), Buffer.from(pcm.buffer)]));
  return rate;
}

export function configText(o: Required<Pick<BaresipOptions, "ptimeMs" | "jitterBufferFrames" | "rtpTimeoutS">> & {
  host: string; sipPort: number; ctrlPort: number; rtpFirst: number; rtpLast: number; source: string; sourceRate: number; recordDir: string; extra: Record<string, string>;
  rtcpMux?: boolean; medianat?: BaresipMediaNat["kind"];
}): string {
  const lines: [string, string][] = [
    ["poll_method", "epoll"],
    ["sip_listen", `${hostPort(o.host, o.sipPort)}`],
    ["net_interface", o.host],
    ["call_local_timeout", "120"],
    ["call_max_calls", "4"],
    ["audio_source", `aufile,${o.source}`],
    // aufile needs the file at the source's rate; baresip resamples to whatever codec is agreed.
    ["ausrc_srate", String(o.sourceRate)],
    ["audio_player", "none,none"],
    ["audio_alert", "none,none"],
    ["rtp_ports", `${o.rtpFirst}-${o.rtpLast}`],
    ["rtcp_mux", o.rtcpMux === true ? "yes" : "no"],
    ["jitter_buffer_delay", `${o.jitterBufferFrames[0]}-${o.jitterBufferFrames[1]}`],
    ["rtp_timeout", String(o.rtpTimeoutS)],
    ["module_path", BARESIP_MODULES],
    ...["g722", "g711", "aufile", "sndfile", "srtp", ...(o.medianat === undefined ? [] : [o.medianat])].map((m): [string, string] => ["module", `${m}.so`]),
    ["module_tmp", "account.so"],
    ["module_app", "menu.so"],
    ["module_app", "ctrl_tcp.so"],
    ["ctrl_tcp_listen", `127.0.0.1:${o.ctrlPort}`],
    ["statmode_default", "off"],
    ["snd_path", o.recordDir],
    ...Object.entries(o.extra),
  ];
  return lines.map(([k, v]) => `${k}\t${v}`).join("\n") + "\n";
}

function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

export function accountLine(o: BaresipOptions, sipPort: number): string {
  const tcp = o.transport === "tcp" ? ";transport=tcp" : "";
  const host = o.registrar === undefined ? hostPort(o.ipv6 === true ? "::1" : "127.0.0.1", sipPort) : hostPort(o.registrar.host, o.registrar.port);
  const params = [
    `<sip:${o.user}@${host}${tcp}>`,
    o.registrar === undefined ? "regint=0" : `auth_pass=${o.registrar.password};regint=${o.registrar.regintS ?? 600}`,
    `answermode=${o.answerMode ?? "auto"}`,
    `audio_codecs=${(o.codecs ?? ["G722/16000/1"]).join(",")}`,
    `ptime=${o.ptimeMs ?? 20}`,
  ];
  if ((o.mediaenc ?? "srtp-mand") !== "none") params.push(`mediaenc=${o.mediaenc ?? "srtp-mand"}`);
  const nat = o.medianat;
  if (nat !== undefined) {
    params.push(`medianat=${nat.kind}`, `stunserver=${nat.server}`);
    if (nat.user !== undefined) params.push(`stunuser=${nat.user}`);
    if (nat.password !== undefined) params.push(`stunpass=${nat.password}`);
  }
  return params.join(";") + "\n";
}

const NAT_SERVER = /^(stun|turn):[A-Za-z0-9.-]+:\d{1,5}$/;

/** A media NAT setting baresip can take: a plain server URI, plain credentials, its module installed. */
function checkMediaNat(nat: BaresipMediaNat | undefined): void {
  if (nat === undefined) return;
  if (!["stun", "turn", "ice"].includes(nat.kind)) throw new RangeError(`startBaresip: medianat must be stun, turn or ice, got '${String(nat.kind)}'`);
  if (!NAT_SERVER.test(nat.server)) throw new RangeError(`startBaresip: medianat server '${nat.server}' is not stun:host:port or turn:host:port`);
  if (nat.kind === "turn" && !nat.server.startsWith("turn:")) throw new RangeError("startBaresip: medianat=turn needs a turn: server");
  if ((nat.user === undefined) !== (nat.password === undefined)) throw new RangeError("startBaresip: medianat needs both user and password, or neither");
  for (const v of [nat.user, nat.password]) if (v !== undefined && !/^[A-Za-z0-9._~-]+$/.test(v)) throw new RangeError("startBaresip: the STUN/TURN user and password must be plain characters");
  if (!fs.existsSync(path.join(BARESIP_MODULES, `${nat.kind}.so`))) throw new Error(`baresip module ${nat.kind}.so is missing from ${BARESIP_MODULES}`);
}

export async function startBaresip(opts: BaresipOptions): Promise<BaresipPeer> {
  const missing = baresipUnavailable();
  if (missing !== undefined) throw new Error(missing);
  if (!/^[A-Za-z0-9._~-]+$/.test(opts.user)) throw new RangeError(`startBaresip: user '${opts.user}' must be plain characters`);
  const password = opts.registrar?.password;
  if (password !== undefined && (!/^[\x21-\x7e]+$/.test(password) || /[;"<>]/.test(password))) {
    throw new RangeError("startBaresip: the password must be printable ASCII without ; \" < >");
  }
  checkMediaNat(opts.medianat);
  if (opts.netns !== undefined && !net.isIPv4(opts.netns.address)) throw new RangeError(`startBaresip: netns.address '${opts.netns.address}' is not an IPv4 literal`);
  if (opts.netns !== undefined && opts.ipv6 === true) throw new RangeError("startBaresip: netns and ipv6 do not go together (the NAT lab is IPv4)");
  const name = opts.name ?? opts.user;
  // One block: SIP (baresip also opens TLS on the next port), ctrl_tcp, then RTP/RTCP pairs.
  const ports = await allocatePorts(14, 2);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tincan-baresip-${name}-`));
  let peer: BaresipPeer | undefined;
  try {
    const sipPort = ports.first;
    const ctrlPort = ports.first + 2;
    const source = path.join(dir, "source.wav");
    const sourceRate = paddedSource(opts.source, opts.minSourceSeconds ?? 20, source);
    fs.mkdirSync(path.join(dir, "rec"));
    const host = opts.netns?.address ?? (opts.ipv6 === true ? "::1" : "127.0.0.1");
    if (opts.ipv6 === true && opts.registrar !== undefined) throw new RangeError("startBaresip: ipv6 is for direct-IP accounts (the kamailio harness listens on 127.0.0.1)");
    fs.writeFileSync(path.join(dir, "config"), configText({
      host, sipPort, ctrlPort, rtpFirst: ports.first + 4, rtpLast: ports.first + ports.count - 1, source, sourceRate,
      recordDir: path.join(dir, "rec"), ptimeMs: opts.ptimeMs ?? 20, jitterBufferFrames: opts.jitterBufferFrames ?? [5, 10],
      rtpTimeoutS: opts.rtpTimeoutS ?? 10, extra: opts.extraConfig ?? {}, rtcpMux: opts.rtcpMux, medianat: opts.medianat?.kind,
    }));
    fs.writeFileSync(path.join(dir, "accounts"), accountLine(opts, sipPort));
    // In a namespace IPv4 only: the lab has no IPv6, and an IPv4 account should not look for it.
    const family = opts.ipv6 === true ? ["-6"] : opts.netns !== undefined ? ["-4"] : [];
    const argv = [...(opts.wrapper ?? []), BARESIP_BIN, ...family, "-f", dir];
    const start = opts.netns?.spawn ?? spawn;
    const child = start(argv[0], argv.slice(1), { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    child.once("error", () => {}); // a missing wrapper shows as an exit with the log
    const aor = `sip:${opts.user}@${opts.registrar === undefined ? hostPort(host, sipPort) : hostPort(opts.registrar.host, opts.registrar.port)}`;
    peer = new BaresipPeer(name, dir, aor, sipPort, ctrlPort, child, ports, opts.keepDir ?? false);
    running.add(peer);
    await peer.connect(5000, opts.netns === undefined ? undefined : dialThroughNamespace(opts.netns, ctrlPort));
    return peer;
  } catch (e) {
    if (peer !== undefined) await peer.stop();
    else {
      ports.release();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    throw e;
  }
}

/** baresip's version line, for reports. */
export function baresipVersion(): string {
  const r = spawnSync(BARESIP_BIN, ["-h"], { encoding: "utf8" });
  return /baresip v[0-9.]+/.exec((r.stdout ?? "") + (r.stderr ?? ""))?.[0] ?? "baresip (unknown version)";
}
