// Big-endian (network order) readers and writers over raw linear-memory addresses.
// Callers check lengths first; these never allocate.

@inline export function readU8(p: usize): u32 { return load<u8>(p); }
@inline export function readU16BE(p: usize): u32 { return bswap<u16>(load<u16>(p)); }
@inline export function readU32BE(p: usize): u32 { return bswap<u32>(load<u32>(p)); }
@inline export function readU64BE(p: usize): u64 { return bswap<u64>(load<u64>(p)); }

@inline export function writeU8(p: usize, v: u32): void { store<u8>(p, <u8>v); }
@inline export function writeU16BE(p: usize, v: u32): void { store<u16>(p, bswap<u16>(<u16>v)); }
@inline export function writeU32BE(p: usize, v: u32): void { store<u32>(p, bswap<u32>(v)); }
@inline export function writeU64BE(p: usize, v: u64): void { store<u64>(p, bswap<u64>(v)); }

/** Address of a StaticArray's first element. */
@inline export function addressOf<T>(a: StaticArray<T>): usize { return changetype<usize>(a); }

/** Copies an ASCII string into memory at p, at most cap bytes; returns bytes written. */
export function writeAscii(p: usize, cap: i32, s: string): i32 {
  const n = min(s.length, cap);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    store<u8>(p + <usize>i, c < 0x80 ? <u8>c : 0x3f);
  }
  return n;
}

const HEX_DIGITS = memory.data<u8>([0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66]);

/** Lower-case hex of the len bytes at p, 2 * len bytes at out. */
export function writeHex(out: usize, p: usize, len: i32): void {
  for (let i = 0; i < len; i++) {
    const b = <u32>load<u8>(p + <usize>i);
    store<u8>(out + (<usize>i << 1), load<u8>(HEX_DIGITS + <usize>(b >> 4)));
    store<u8>(out + (<usize>i << 1) + 1, load<u8>(HEX_DIGITS + <usize>(b & 15)));
  }
}
