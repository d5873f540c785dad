// CRC-32 as zlib computes it (IEEE 802.3 polynomial, reflected, init and final XOR 0xFFFFFFFF).
// Used for the CRC field of console frames (boards/CONSOLE.md).

const TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * CRC-32 of `data` (a string is hashed as UTF-8). Like zlib's `crc32(data, value)`, `value`
 * is the CRC of the bytes before `data`, so `crc32(b, crc32(a)) === crc32(a + b)`.
 * Returns an unsigned 32-bit integer.
 */
export function crc32(data: Uint8Array | string, value = 0): number {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  let c = ~value >>> 0;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
