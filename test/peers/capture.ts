// Live packet capture on loopback with tshark, and what the call benchmarks read from it:
// the SIP messages (frame times, method/status, CSeq, Call-ID), the RTP/SRTP packets (frame
// times, SSRC, sequence, timestamp, bytes on the wire), the call set-up time (first INVITE to
// the ACK of its 2xx) and the bit rate of each media stream. Frame times are tshark's
// frame.time_epoch: seconds since the Unix epoch, the clock Date.now() reads.
//
// Needs tshark (Debian package tshark) and permission to capture on lo (root here).

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

/** Why tshark cannot capture here, or undefined when it can. */
export function tsharkUnavailable(): string | undefined {
  const v = spawnSync("tshark", ["--version"], { encoding: "utf8" });
  if (v.error !== undefined) return "tshark is not installed: install the Debian package tshark";
  const d = spawnSync("tshark", ["-D"], { encoding: "utf8" });
  if (!/\blo\b/.test(d.stdout ?? "")) return `tshark cannot capture on lo: ${(d.stderr ?? "").trim().split("\n")[0]}`;
  return undefined;
}

export interface Capture {
  readonly file: string;
  /** Stops capturing and waits until the file is complete. */
  stop(): Promise<void>;
}

/** Starts capturing on lo into `file` (pcapng) with a BPF `filter`; resolves once tshark captures. */
export async function startCapture(file: string, filter = "udp or tcp", iface = "lo"): Promise<Capture> {
  const child: ChildProcess = spawn("tshark", ["-q", "-i", iface, "-f", filter, "-w", file], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  let exited = false;
  const exitedP = new Promise<void>((resolve) => child.once("exit", () => { exited = true; resolve(); }));
  child.once("error", () => {});
  child.stderr?.on("data", (d: Buffer) => { stderr += d.toString("utf8"); });
  const deadline = Date.now() + 10000;
  while (!/Capturing on/.test(stderr)) {
    if (exited || Date.now() > deadline) {
      if (!exited) child.kill("SIGKILL");
      throw new Error(`tshark did not start capturing on ${iface}: ${stderr.trim() || "no output"}`);
    }
    await sleep(20);
  }
  // "Capturing on" is printed as dumpcap opens the interface; give the kernel filter a moment.
  await sleep(200);
  const onExit = () => child.kill("SIGKILL");
  process.once("exit", onExit);
  return {
    file,
    async stop() {
      process.removeListener("exit", onExit);
      if (exited) return;
      await sleep(100); // the last packets are still on their way through dumpcap
      child.kill("SIGINT");
      await Promise.race([exitedP, sleep(5000)]);
      if (!exited) {
        child.kill("SIGKILL");
        await exitedP;
      }
    },
  };
}

/** Runs tshark on a capture file with `fields`, one tab-separated row a packet. */
export function tsharkFields(file: string, fields: readonly string[], opts: { filter?: string; decodeAs?: string[]; prefs?: string[] } = {}): string[][] {
  if (!fs.existsSync(file)) throw new Error(`capture file ${file} is missing`);
  const args = ["-r", file, "-n", "-T", "fields", "-E", "separator=\t", "-E", "occurrence=f"];
  for (const d of opts.decodeAs ?? []) args.push("-d", d);
  for (const p of opts.prefs ?? []) args.push("-o", p);
  if (opts.filter !== undefined) args.push("-Y", opts.filter);
  for (const f of fields) args.push("-e", f);
  const r = spawnSync("tshark", args, { encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.error !== undefined) throw new Error(`cannot run tshark: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`tshark -r ${file} failed: ${(r.stderr ?? "").trim().split("\n").slice(0, 3).join(" | ")}`);
  return r.stdout.split("\n").filter((l) => l.length > 0).map((l) => l.split("\t"));
}

export interface SipPacket {
  time: number;
  src: string;
  dst: string;
  /** Request method, or undefined for a response. */
  method?: string;
  status?: number;
  cseq: number;
  cseqMethod: string;
  callId: string;
}

/** Decode-as arguments making tshark read SIP on these UDP/TCP ports (it knows only 5060 unaided). */
export function sipDecodeAs(ports: number[]): string[] {
  return ports.flatMap((p) => [`udp.port==${p},sip`, `tcp.port==${p},sip`]);
}

export function readSip(file: string, sipPorts: number[]): SipPacket[] {
  const fields = ["frame.time_epoch", "ip.src", "udp.srcport", "tcp.srcport", "ip.dst", "udp.dstport", "tcp.dstport",
    "sip.Method", "sip.Status-Code", "sip.CSeq.seq", "sip.CSeq.method", "sip.Call-ID"] as const;
  return tsharkFields(file, fields, { filter: "sip", decodeAs: sipDecodeAs(sipPorts) }).map((r) => ({
    time: Number(r[0]),
    src: `${r[1]}:${r[2] || r[3]}`,
    dst: `${r[4]}:${r[5] || r[6]}`,
    method: r[7] || undefined,
    status: r[8] ? Number(r[8]) : undefined,
    cseq: Number(r[9]),
    cseqMethod: r[10],
    callId: r[11],
  }));
}

export interface CallSetup { callId: string; inviteTime: number; okTime: number; ackTime: number; setupMs: number }

/**
 * Set-up time of each call (Call-ID, in order of first INVITE) as the caller's side of the
 * wire sees it: from the call's first INVITE to the first ACK for its 2xx (same Call-ID and
 * CSeq number as the 200 OK to INVITE). Through a proxy the first INVITE is the caller's (a
 * 407 challenge and the re-sent INVITE fall inside), and the first such ACK is the caller's too.
 * Calls that never got a 2xx and its ACK are left out.
 */
export function callSetups(sip: SipPacket[]): CallSetup[] {
  const out: CallSetup[] = [];
  const seen = new Set<string>();
  for (const invite of sip) {
    if (invite.method !== "INVITE" || seen.has(invite.callId)) continue;
    seen.add(invite.callId);
    const ok = sip.find((p) => p.callId === invite.callId && p.status !== undefined && p.status >= 200 && p.status < 300 && p.cseqMethod === "INVITE");
    if (ok === undefined) continue;
    const ack = sip.find((p) => p.callId === invite.callId && p.method === "ACK" && p.cseq === ok.cseq && p.time >= ok.time);
    if (ack === undefined) continue;
    out.push({ callId: invite.callId, inviteTime: invite.time, okTime: ok.time, ackTime: ack.time, setupMs: (ack.time - invite.time) * 1000 });
  }
  return out;
}

export interface RtpPacket {
  time: number;
  src: string;
  dst: string;
  ssrc: number;
  seq: number;
  timestamp: number;
  payloadType: number;
  /** IP datagram length (header included): what the network carries, less the link header. */
  ipBytes: number;
  /** UDP payload: RTP header, payload and, for SRTP, the auth tag. */
  udpPayloadBytes: number;
  srtp: boolean;
}

/**
 * The RTP/SRTP packets. tshark learns the media ports from the SDP of SIP it can decode (so
 * name the SIP ports); with `heuristic` it also takes anything that looks like RTP.
 */
/**
 * The media ports the SDP in the capture names (m= lines), decoded as RTP. tshark learns them
 * from the SDP too, but when ICE's STUN reaches a port before the first RTP packet, its STUN
 * dissector claims that conversation and the RTP after it goes undecoded.
 */
function sdpMediaDecodeAs(file: string, sipPorts: number[]): string[] {
  const ports = new Set<number>();
  for (const r of tsharkFields(file, ["sdp.media.port"], { filter: "sdp", decodeAs: sipDecodeAs(sipPorts) })) {
    for (const p of r[0].split(",")) if (Number(p) > 0) ports.add(Number(p));
  }
  return [...ports].map((p) => `udp.port==${p},rtp`);
}

export function readRtp(file: string, sipPorts: number[], heuristic = false): RtpPacket[] {
  const fields = ["frame.time_epoch", "ip.src", "ipv6.src", "udp.srcport", "ip.dst", "ipv6.dst", "udp.dstport",
    "rtp.ssrc", "rtp.seq", "rtp.timestamp", "rtp.p_type", "ip.len", "ipv6.plen", "udp.length", "srtp.auth_tag", "frame.protocols"] as const;
  const prefs = heuristic ? ["rtp.heuristic_rtp:TRUE"] : [];
  // Version 2 only: ICE's STUN shares the media port and tshark, told the port is RTP, reads it as RTP version 0.
  return tsharkFields(file, fields, { filter: "rtp and not rtcp and rtp.version == 2", decodeAs: [...sipDecodeAs(sipPorts), ...sdpMediaDecodeAs(file, sipPorts)], prefs }).map((r) => ({
    time: Number(r[0]),
    src: `${r[1] || r[2]}:${r[3]}`,
    dst: `${r[4] || r[5]}:${r[6]}`,
    ssrc: Number(r[7]),
    seq: Number(r[8]),
    timestamp: Number(r[9]),
    payloadType: Number(r[10]),
    ipBytes: r[11] ? Number(r[11]) : Number(r[12]) + 40,
    udpPayloadBytes: Number(r[13]) - 8,
    srtp: r[14] !== "" || /srtp/.test(r[15]),
  }));
}

export interface StreamStats {
  ssrc: number;
  src: string;
  dst: string;
  packets: number;
  firstTime: number;
  lastTime: number;
  /** Mean packet spacing, ms. */
  intervalMs: number;
  ipBytesPerPacket: number;
  /** IP-level bit rate: every packet but the first, over the span from the first to the last. */
  ipKbps: number;
  /** The same counting only the UDP payload (RTP header + payload + SRTP tag). */
  udpPayloadKbps: number;
  srtp: boolean;
}

/** Per-SSRC statistics, in order of first appearance. */
export function rtpStreams(packets: RtpPacket[]): StreamStats[] {
  const bySsrc = new Map<number, RtpPacket[]>();
  for (const p of packets) {
    const list = bySsrc.get(p.ssrc) ?? [];
    list.push(p);
    bySsrc.set(p.ssrc, list);
  }
  return [...bySsrc.values()].map((list) => {
    const first = list[0];
    const last = list[list.length - 1];
    const span = last.time - first.time;
    const rest = list.slice(1);
    const ipBits = rest.reduce((s, p) => s + p.ipBytes * 8, 0);
    const udpBits = rest.reduce((s, p) => s + p.udpPayloadBytes * 8, 0);
    return {
      ssrc: first.ssrc, src: first.src, dst: first.dst, packets: list.length, firstTime: first.time, lastTime: last.time,
      intervalMs: list.length > 1 ? (span * 1000) / (list.length - 1) : NaN,
      ipBytesPerPacket: list.reduce((s, p) => s + p.ipBytes, 0) / list.length,
      ipKbps: span > 0 ? ipBits / span / 1000 : NaN,
      udpPayloadKbps: span > 0 ? udpBits / span / 1000 : NaN,
      srtp: list.every((p) => p.srtp),
    };
  });
}
