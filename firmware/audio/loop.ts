// The audio frame loop. Until calls arrive (a later issue puts the echo canceller, the jitter
// buffer and RTP here) it is a loopback: the speaker plays what the microphone heard, through
// an encoder and decoder when it has them, so the board runs its real codec in its real frame
// loop. Nothing here allocates after construction.

import { AudioEncoder, AudioDecoder } from "./codec";

export class FrameLoop {
  frames: u64 = 0;
  rejected: u32 = 0; // frames whose length did not fit the buffers or the codec
  private readonly payload: StaticArray<u8>;

  constructor(readonly capacity: i32, private encoder: AudioEncoder | null = null, private decoder: AudioDecoder | null = null) {
    // A payload is never larger than its frame in samples (G.711: 1 byte, G.722: 1/2 byte each).
    this.payload = new StaticArray<u8>(encoder !== null ? capacity : 0);
  }

  /** Processes one frame of `samples` i16 samples from `capture` into `playout`. */
  process(capture: usize, playout: usize, samples: i32): void {
    if (samples <= 0 || samples > this.capacity) { this.reject(playout); return; }
    const encoder = this.encoder;
    const decoder = this.decoder;
    if (encoder !== null && decoder !== null) {
      const payload = changetype<usize>(this.payload);
      const bytes = encoder.encode(capture, samples, payload);
      if (bytes <= 0 || decoder.decode(payload, bytes, playout) != samples) { this.reject(playout); return; }
    } else {
      memory.copy(playout, capture, <usize>samples << 1);
    }
    this.frames++;
  }

  private reject(playout: usize): void {
    this.rejected++;
    memory.fill(playout, 0, <usize>this.capacity << 1);
  }
}
