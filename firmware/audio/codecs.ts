// The codec registry the SDP layer negotiates from (RFC 3551 static payload types). The RTP
// clock of G.722 is 8000 Hz although it samples at 16 kHz: RFC 3551 keeps the clock of the
// original (erroneous) assignment, so its timestamps advance by half the sample count.

export const CODEC_G722: i32 = 0;
export const CODEC_PCMU: i32 = 1;
export const CODEC_PCMA: i32 = 2;

export class CodecInfo {
  constructor(
    readonly id: i32,
    readonly name: string,          // the SDP encoding name (a=rtpmap)
    readonly payloadType: i32,      // static RTP payload type
    readonly clockRate: i32,        // RTP timestamp clock, Hz
    readonly sampleRate: i32,       // audio sample rate, Hz
    readonly bytesPer10ms: i32,     // payload bytes per 10 ms of audio
    readonly bitrate: i32,          // bit/s
  ) {}

  /** RTP timestamp units per audio sample, as a ratio: clockRate / sampleRate. */
  timestampStep(samples: i32): i32 { return <i32>((<i64>samples * this.clockRate) / this.sampleRate); }

  /** Payload bytes of a frame of `ms` milliseconds. */
  frameBytes(ms: i32): i32 { return (this.bytesPer10ms * ms) / 10; }
}

export const CODECS: StaticArray<CodecInfo> = [
  new CodecInfo(CODEC_G722, "G722", 9, 8000, 16000, 80, 64000),
  new CodecInfo(CODEC_PCMU, "PCMU", 0, 8000, 8000, 80, 64000),
  new CodecInfo(CODEC_PCMA, "PCMA", 8, 8000, 8000, 80, 64000),
];

/** The codec with a given static payload type, or null. */
export function codecByPayloadType(pt: i32): CodecInfo | null {
  for (let i = 0; i < CODECS.length; i++) if (unchecked(CODECS[i]).payloadType == pt) return unchecked(CODECS[i]);
  return null;
}
