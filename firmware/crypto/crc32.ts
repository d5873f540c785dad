// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, init/final XOR 0xFFFFFFFF): the one
// zlib, PNG and Ethernet use, so every host has a reference. Table built once at start-up.

const TABLE = new StaticArray<u32>(256);
for (let n: u32 = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  unchecked(TABLE[n] = c);
}

/** Continues a CRC over len bytes at p; start with crc = 0. */
export function crc32Update(crc: u32, p: usize, len: i32): u32 {
  let c = ~crc;
  for (let i = 0; i < len; i++) {
    c = unchecked(TABLE[(c ^ load<u8>(p + <usize>i)) & 0xff]) ^ (c >>> 8);
  }
  return ~c;
}

export function crc32(p: usize, len: i32): u32 { return crc32Update(0, p, len); }
