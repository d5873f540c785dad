// The shapes every voice codec takes, so the call core and the jitter buffer (later issues)
// drive G.722, PCMU and PCMA alike. Samples are i16 at the codec's own rate; payloads are
// the RTP payload bytes of one frame. Nothing here allocates after construction.

export abstract class AudioEncoder {
  /** Encodes `samples` i16 samples at `pcm` into `out`; returns the payload bytes written. */
  abstract encode(pcm: usize, samples: i32, out: usize): i32;
  abstract reset(): void;
}

export abstract class AudioDecoder {
  /** Decodes a received payload of `bytes` bytes into `out`; returns samples written. The
   *  first good frame after concealed ones is smoothed into the concealment here. */
  abstract decode(payload: usize, bytes: i32, out: usize): i32;
  /** Fills one lost frame of `samples` samples at `out`: the jitter buffer calls this instead
   *  of decode() when a frame's packet did not arrive in time. Returns samples written. */
  abstract conceal(out: usize, samples: i32): i32;
  abstract reset(): void;
}
