// Call commands of the console (boards/CONSOLE.md, "Calls"): dial, answer, hang up, hold,
// send DTMF, and the call status with its statistics, so the PC (tincan call, tests) drives a
// board as a person at the button would.

import { CommandHandler, Console, STATUS_OK, STATUS_BAD_REQUEST, STATUS_BUSY, STATUS_DENIED } from "../console/console";
import { TlvWriter, TlvReader } from "../console/tlv";
import { Intercom } from "./intercom";
import { CALL_IDLE, CALL_ACTIVE, CALL_CALLING } from "./call";

export const CMD_CALL_DIAL: u8 = 0x60;
export const CMD_CALL_ANSWER: u8 = 0x61;
export const CMD_CALL_HANGUP: u8 = 0x62;
export const CMD_CALL_STATUS: u8 = 0x63;
export const CMD_CALL_DTMF: u8 = 0x64;
export const CMD_CALL_HOLD: u8 = 0x65;

const TAG_URI: u8 = 0x01;
const TAG_DIGITS: u8 = 0x01;
const TAG_HOLD: u8 = 0x01;

export class CallCommands extends CommandHandler {
  private readonly reader: TlvReader = new TlvReader();

  constructor(private intercom: Intercom) { super(); }

  register(console: Console): void {
    for (let c = CMD_CALL_DIAL; c <= CMD_CALL_HOLD; c++) console.register(c, this);
  }

  handle(command: u8, payload: usize, payloadLength: i32, out: TlvWriter, nowUs: i64): u8 {
    const ic = this.intercom;
    const inv = ic.ua.call;
    if (command == CMD_CALL_STATUS) { this.status(out, nowUs); return STATUS_OK; }
    if (command == CMD_CALL_DIAL) {
      if (!this.field(payload, payloadLength, TAG_URI)) return STATUS_BAD_REQUEST;
      if (ic.call.state != CALL_IDLE || ic.dialing || !ic.ready) return STATUS_BUSY;
      return ic.dial(this.reader.value, this.reader.valueLength, nowUs) ? STATUS_OK : STATUS_BAD_REQUEST;
    }
    if (command == CMD_CALL_ANSWER) return inv.answer(nowUs) ? STATUS_OK : STATUS_DENIED;
    if (command == CMD_CALL_HANGUP) {
      if (ic.dialing) { ic.cancelDial(); return STATUS_OK; }
      if (ic.call.state == CALL_IDLE) return STATUS_DENIED;
      inv.hangup(nowUs);
      return STATUS_OK;
    }
    if (command == CMD_CALL_HOLD) {
      if (!this.field(payload, payloadLength, TAG_HOLD) || this.reader.valueLength != 1) return STATUS_BAD_REQUEST;
      return inv.hold(load<u8>(this.reader.value) != 0, nowUs) ? STATUS_OK : STATUS_DENIED;
    }
    if (command == CMD_CALL_DTMF) {
      if (!this.field(payload, payloadLength, TAG_DIGITS) || this.reader.valueLength > 32) return STATUS_BAD_REQUEST;
      if (ic.call.state != CALL_ACTIVE) return STATUS_DENIED;
      return ic.call.sendDigitsAscii(this.reader.value, this.reader.valueLength) ? STATUS_OK : STATUS_BAD_REQUEST;
    }
    return STATUS_BAD_REQUEST;
  }

  private field(p: usize, len: i32, tag: u8): bool {
    const r = this.reader;
    r.reset(p, len);
    while (r.next()) if (r.tag == tag) return r.valueLength > 0;
    return false;
  }

  private status(out: TlvWriter, now: i64): void {
    const ic = this.intercom;
    const call = ic.call;
    const m = call.media;
    const st = m.stats;
    const inv = ic.ua.call;
    out.u8(0x01, <u32>(ic.dialing ? CALL_CALLING : call.state));
    out.u8(0x02, <u32>m.config.codec);
    out.u8(0x03, <u32>m.config.suite);
    out.u32(0x04, st.packetsSent);
    out.u32(0x05, st.packetsReceived);
    out.u32(0x06, st.framesConcealed);
    out.u32(0x07, st.framesPlayed);
    out.u32(0x08, m.received.jitter);
    out.u32(0x09, st.rttUs < 0 ? 0xffffffff : <u32>st.rttUs);
    const bufferMs = <i32>(m.jitter.delayUs / 1000);
    out.u16(0x0a, <u32>st.mosX100(m.config.codec, bufferMs));
    out.u32(0x0b, inv.setupDoneUs >= 0 && inv.setupStartUs >= 0 ? <u32>(inv.setupDoneUs - inv.setupStartUs) : 0xffffffff);
    out.u8(0x0c, <u32>call.lastEndReason);
    out.u16(0x0d, <u32>call.lastEndStatus);
    out.u8(0x0e, <u32>ic.ua.registration.state);
    out.u64(0x0f, st.bytesSent);
    out.u64(0x10, st.bytesReceived);
    out.u32(0x11, st.srtpDropped);
    out.u32(0x12, call.door.opens);
    out.u8(0x13, st.remoteFractionLost);
    out.u32(0x14, <u32>m.jitter.delayUs);
    out.u32(0x15, ic.ua.stack.transactions.retransmissions);
    out.u8(0x16, <u32>m.jitter.targetFrames);
    out.u32(0x17, <u32>st.remoteCumulativeLost);
    out.u32(0x18, m.dtmfIn.digits);
    out.u32(0x19, st.rtcpSent);
    out.u32(0x1a, st.rtcpReceived);
    out.u8(0x1b, ic.ready ? 1 : 0);
    this.natStatus(out);
  }

  /** ICE and TURN for the call (boards/CONSOLE.md 0x1c..0x29). */
  private natStatus(out: TlvWriter): void {
    const nat = this.intercom.call.nat;
    const t = nat.transport;
    const a = t.agent;
    const g = t.gatherer;
    out.u8(0x1c, nat.active ? <u32>a.state : 0);
    out.u8(0x1d, a.pathKnown ? <u32>a.selectedLocalType : 0xff);
    out.u8(0x1e, a.pathKnown ? <u32>a.selectedRemoteType : 0xff);
    out.u32(0x1f, a.connectedAt >= 0 && a.startedAt >= 0 ? <u32>(a.connectedAt - a.startedAt) : 0xffffffff);
    out.u32(0x20, a.checksSent);
    out.u32(0x21, a.consentChecks);
    out.u64(0x22, a.stunBytesSent);
    out.u32(0x23, t.mediaHeld);
    out.u32(0x24, t.relayedOut);
    out.u32(0x25, t.relayedIn);
    out.u8(0x26, (g.done ? 1 : 0) | (g.srflxKnown ? 2 : 0) | (g.relayKnown ? 4 : 0));
    out.u32(0x27, g.finishedAt >= 0 && g.startedAt >= 0 ? <u32>(g.finishedAt - g.startedAt) : 0xffffffff);
    out.u32(0x28, nat.restarts);
    out.u32(0x29, a.keepalivesSent);
    out.u32(0x2a, a.requestsReceived);
    out.u32(0x2b, a.unauthenticated);
    out.u32(0x2c, a.dropped);
    out.u32(0x2d, a.roleConflicts);
    const inv = this.intercom.ua.call;
    // Offer (our INVITE, or theirs) to the nominated pair: what a caller waits for before audio.
    out.u64(0x2f, a.consentBytes);
    out.u8(0x30, <u32>t.turn.state);
    out.u16(0x31, <u32>t.turn.error);
    out.u32(0x2e, a.connectedAt >= 0 && inv.setupStartUs >= 0 && a.connectedAt >= inv.setupStartUs ? <u32>(a.connectedAt - inv.setupStartUs) : 0xffffffff);
  }
}
