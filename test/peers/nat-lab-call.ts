// The NAT lab set up for calls (test/interop/nat-call.test.ts, nat-baresip.test.ts): the
// topology of test/peers/netns.ts with kamailio (203.0.113.1:5060, NAT-aware registrar and
// proxy) and coturn (203.0.113.2:3478, STUN and TURN with one static user) in the public
// namespace, and simulated boards in the hosts, configured for that registrar and server and
// registered. Whatever a test adds (a board, a baresip) is stopped before the servers and the
// namespaces go.

import assert from "node:assert/strict";
import fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { type HostName, type Topology, type TopologySpec, buildTopology, netnsUnavailable } from "./netns.ts";
import { kamailioNatUnavailable, startKamailio, type KamailioProxy, type KamailioUser } from "./kamailio.ts";
import { coturnUnavailable, startCoturn, type CoturnServer } from "./coturn.ts";
import { type NsBoard, NS_FIRMWARE, startNsBoard } from "./ns-board.ts";
import { toneFrequency, rmsDbfs } from "../../host-tools/call/analysis.ts";

export const REGISTRAR = "203.0.113.1";
export const TURN_SERVER = "203.0.113.2";
export const STUN_PORT = 3478;
export const TURN_USER = { user: "tincan", password: "relay-secret" };
/** The boards' speaker rate. */
export const SPEAKER_RATE = 16000;

/** Why the lab cannot run here (namespaces, kamailio, coturn, the firmware), or undefined. */
export function natLabCallUnavailable(): string | undefined {
  const firmware = fs.existsSync(NS_FIRMWARE) ? undefined : `${NS_FIRMWARE} is missing: build it with 'npm run build'`;
  return netnsUnavailable() ?? kamailioNatUnavailable() ?? coturnUnavailable() ?? firmware;
}

export interface Stoppable { stop(): Promise<void> }

export interface NatLab {
  lab: Topology;
  k: KamailioProxy;
  turn: CoturnServer;
  users: KamailioUser[];
  /** Stops `part` with the lab (before the servers); returns it. */
  own<T extends Stoppable>(part: T): T;
  stop(): Promise<void>;
}

export interface NatLabOptions {
  /** Capture br0 in the public namespace to this pcapng file, from before the servers start. */
  pcap?: string;
  /** coturn's --Verbose. */
  turnVerbose?: boolean;
}

/** The topology, kamailio and coturn; throws (leaving nothing behind) when one does not come up. */
export async function startNatLab(spec: TopologySpec, users: KamailioUser[], opts: NatLabOptions = {}): Promise<NatLab> {
  const lab = buildTopology(spec);
  const parts: Stoppable[] = [];
  const servers: { k?: KamailioProxy; turn?: CoturnServer } = {};
  const stop = async () => {
    await Promise.all(parts.splice(0).map((p) => p.stop().catch(() => {})));
    await servers.k?.stop();
    await servers.turn?.stop();
    lab.destroy();
  };
  if (opts.pcap !== undefined) { lab.spawn("public", "tshark", ["-i", "br0", "-w", opts.pcap]); await sleep(2000); }
  try {
    servers.k = await startKamailio({ users, listen: REGISTRAR, port: 5060, nat: true, spawn: (c, args, o) => lab.spawn("public", c, args, o) });
    servers.turn = await startCoturn({
      address: TURN_SERVER, port: STUN_PORT, users: [TURN_USER], extraArgs: opts.turnVerbose === true ? ["--Verbose"] : [],
      spawn: (c, args) => lab.spawn("public", c, args),
    });
  } catch (e) {
    await stop();
    throw e;
  }
  return { lab, k: servers.k, turn: servers.turn, users, own: (p) => { parts.push(p); return p; }, stop };
}

export interface LabBoardOptions {
  node: HostName;
  /** One of the lab's users: the board registers as sip:user@REGISTRAR. */
  user: string;
  /** The microphone's tone, Hz (-12 dBFS). */
  toneHz: number;
  autoAnswer?: boolean;
  /** nat.stun_server and nat.turn_server: coturn (default), or none (host candidates only). */
  servers?: boolean;
}

/** A board in `node` with a speaker recording, configured for the lab's registrar and coturn, registered. */
export async function startLabBoard(l: NatLab, o: LabBoardOptions): Promise<NsBoard> {
  const password = l.users.find((u) => u.user === o.user)?.password;
  if (password === undefined) throw new RangeError(`startLabBoard: ${o.user} is not one of the lab's users`);
  const board = l.own(await startNsBoard(l.lab, o.node, { audioIn: `tone:${o.toneHz}:-12`, speaker: true }));
  const server = `${TURN_SERVER}:${STUN_PORT}`;
  const nat = o.servers === false ? [] : [
    { key: "nat.stun_server", value: server }, { key: "nat.turn_server", value: server },
    { key: "nat.turn_username", value: TURN_USER.user }, { key: "nat.turn_password", value: TURN_USER.password },
  ];
  const answer = o.autoAnswer === true ? [{ key: "call.auto_answer", value: "on" }, { key: "call.answer_after", value: "0" }] : [];
  await board.config.set([
    { key: "sip.account", value: `sip:${o.user}@${REGISTRAR}` }, { key: "sip.registrar", value: `sip:${REGISTRAR}:5060` },
    { key: "sip.username", value: o.user }, { key: "sip.password", value: password }, ...nat, ...answer,
  ]);
  await board.call.waitFor((s) => s.registration === "registered", 15_000, `board ${o.node} registering`);
  return board;
}

/** The last `seconds` of a board's speaker carry the far end's tone. */
export function assertHearsTone(x: NsBoard, hz: number, seconds = 1): void {
  const s = x.speaker();
  assert.ok(s.length >= seconds * SPEAKER_RATE, `${x.node}'s speaker recorded ${s.length} samples`);
  const tail = s.subarray(s.length - seconds * SPEAKER_RATE);
  const level = rmsDbfs(tail);
  assert.ok(level > -30, `${x.node} hears something (${level.toFixed(1)} dBFS)`);
  const f = toneFrequency(tail, SPEAKER_RATE);
  assert.ok(Math.abs(f - hz) < 15, `${x.node} hears ${f.toFixed(1)} Hz, the far end's tone is ${hz} Hz`);
}
