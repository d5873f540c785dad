// Constant-time helpers for secrets: comparing MACs and tags, and erasing key material.

/**
 * True when the len bytes at a and b are equal. Reads every byte whatever it finds, with no
 * branch on the data: the time depends on len only, never on where the first difference is.
 * len <= 0 compares nothing and is true; callers checking a tag must check its length first.
 */
export function ctEqual(a: usize, b: usize, len: i32): bool {
  let diff: u32 = 0;
  let i = 0;
  for (; i + 4 <= len; i += 4) diff |= load<u32>(a + <usize>i) ^ load<u32>(b + <usize>i);
  for (; i < len; i++) diff |= <u32>(load<u8>(a + <usize>i) ^ load<u8>(b + <usize>i));
  return diff == 0;
}

/**
 * Overwrites len bytes at p with zeros (keys, pads, keystream left in scratch buffers).
 * memory.fill is one bulk-memory instruction on linear memory: neither binaryen nor the
 * runtime's compiler may drop it as a dead store, since linear memory stays observable.
 */
export function wipe(p: usize, len: i32): void {
  if (len > 0) memory.fill(p, 0, <usize>len);
}
