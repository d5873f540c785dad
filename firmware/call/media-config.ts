// What the offer/answer agreed for one call's media, in the form the media session uses:
// codec, payload types, where to send, which way audio flows, and the SDES keys each way.

import { SOCKADDR_BYTES } from "../lib/inet";

const KEY_BYTES: i32 = 46; // the largest master key + salt (AES-256-GCM: 32 + 12; AES-CM: 16 + 14)

export class MediaConfig {
  codec: i32 = 0;              // CODEC_* (firmware/audio/codecs.ts)
  sendPt: i32 = 9;             // payload type we send with (the peer's number)
  receivePt: i32 = 9;          // payload type we accept (ours)
  sendEventPt: i32 = -1;       // RFC 4733 telephone-event, the peer's number; -1 when not agreed
  receiveEventPt: i32 = -1;
  ptimeMs: i32 = 20;
  send: bool = true;           // we send audio (sendrecv / sendonly)
  receive: bool = true;        // we play what arrives (sendrecv / recvonly)
  suite: i32 = 0;              // SRTP suite (srtp-defs.ts), 0: plain RTP
  keyLength: i32 = 0;
  saltLength: i32 = 0;
  jitterFrames: i32 = 1;       // fixed jitter buffer target, frames
  readonly remote: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  readonly rtcpRemote: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES);
  readonly txKey: StaticArray<u8> = new StaticArray<u8>(KEY_BYTES); // ours: key then salt
  readonly rxKey: StaticArray<u8> = new StaticArray<u8>(KEY_BYTES); // the peer's

  get remoteAddress(): usize { return changetype<usize>(this.remote); }
  get rtcpAddress(): usize { return changetype<usize>(this.rtcpRemote); }
  get txKeyAddress(): usize { return changetype<usize>(this.txKey); }
  get rxKeyAddress(): usize { return changetype<usize>(this.rxKey); }

  /** Forgets the keys (the call is over). */
  wipe(): void {
    memory.fill(changetype<usize>(this.txKey), 0, KEY_BYTES);
    memory.fill(changetype<usize>(this.rxKey), 0, KEY_BYTES);
    this.suite = 0;
  }
}
