// Per-call statistics: what the call report and the console's call status show. Counters are
// updated on the packet paths (integers only); the E-model's MOS is computed on demand, once
// per report (f64, never per frame).

import { EModel, codecIe, codecBpl, mosFromR } from "../media/quality";

export class CallStats {
  startedUs: i64 = 0;
  endedUs: i64 = -1;
  packetsSent: u32 = 0;
  bytesSent: u64 = 0;
  packetsReceived: u32 = 0;
  bytesReceived: u64 = 0;
  rtcpSent: u32 = 0;
  rtcpReceived: u32 = 0;
  framesPlayed: u32 = 0;
  framesConcealed: u32 = 0;
  srtpDropped: u32 = 0;        // failed authentication or replay: never played
  malformedDropped: u32 = 0;
  wrongTypeDropped: u32 = 0;   // a payload type that was not agreed
  otherDropped: u32 = 0;       // STUN, DTLS and the like on the media port
  sendErrors: u32 = 0;
  remoteByes: u32 = 0;
  remoteFractionLost: u32 = 0; // what the peer reports of our stream (x 256)
  remoteCumulativeLost: i32 = 0;
  remoteJitter: u32 = 0;
  rttUs: i64 = -1;             // the latest round trip from RTCP
  rttSamples: u32 = 0;
  private readonly model: EModel = new EModel();

  reset(now: i64): void {
    this.startedUs = now;
    this.endedUs = -1;
    this.packetsSent = 0; this.bytesSent = 0; this.packetsReceived = 0; this.bytesReceived = 0;
    this.rtcpSent = 0; this.rtcpReceived = 0; this.framesPlayed = 0; this.framesConcealed = 0;
    this.srtpDropped = 0; this.malformedDropped = 0; this.wrongTypeDropped = 0; this.otherDropped = 0;
    this.sendErrors = 0; this.remoteByes = 0; this.remoteFractionLost = 0; this.remoteCumulativeLost = 0;
    this.remoteJitter = 0; this.rttUs = -1; this.rttSamples = 0;
  }

  addRtt(us: i64): void { this.rttUs = us; this.rttSamples++; }

  /** Listening MOS x 100 from the E-model (G.107) for what we received: loss as concealed
   *  frames, delay as half the round trip plus the buffering `bufferMs`. */
  mosX100(codec: i32, bufferMs: i32): i32 {
    const frames = this.framesPlayed + this.framesConcealed;
    const loss = frames > 0 ? <f64>this.framesConcealed * 100.0 / <f64>frames : 0.0;
    const delay = (this.rttUs > 0 ? <f64>this.rttUs / 2000.0 : 0.0) + <f64>bufferMs + 20.0;
    const r = this.model.compute(codecIe(codec), codecBpl(codec, true), loss, 1.0, delay);
    return <i32>Math.round(mosFromR(r) * 100.0);
  }
}

