// The audio frame loop. For now a loopback: the speaker plays what the microphone heard,
// one frame late by construction (the runtime plays the frame it gets back). Later issues put
// the echo canceller, codec and jitter buffer here. Nothing here allocates.

export class FrameLoop {
  frames: u64 = 0;
  rejected: u32 = 0; // frames whose length did not fit the buffers

  constructor(readonly capacity: i32) {}

  /** Processes one frame of `samples` i16 samples from `capture` into `playout`. */
  process(capture: usize, playout: usize, samples: i32): void {
    if (samples <= 0 || samples > this.capacity) {
      this.rejected++;
      memory.fill(playout, 0, <usize>this.capacity << 1);
      return;
    }
    memory.copy(playout, capture, <usize>samples << 1);
    this.frames++;
  }
}
