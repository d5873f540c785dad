// The bytes of ST's USART bootloader protocol (application note AN3155), shared by the client
// (host-tools/flash/stm32/) and the simulated board's ROM emulator (host-tools/sim/rom/stm32.ts)
// so that both speak from one table. The protocol itself is documented in docs/flash-stm32.md.

/** Sent once after reset so the bootloader can measure the baud (autobaud). */
export const SYNC = 0x7f;
export const ACK = 0x79;
export const NACK = 0x1f;

/** Command codes; each goes on the wire as the code followed by its complement. */
export const CMD = {
  GET: 0x00,
  GET_VERSION: 0x01,
  GET_ID: 0x02,
  READ_MEMORY: 0x11,
  GO: 0x21,
  WRITE_MEMORY: 0x31,
  ERASE: 0x43,
  EXTENDED_ERASE: 0x44,
  WRITE_PROTECT: 0x63,
  WRITE_UNPROTECT: 0x73,
  READOUT_PROTECT: 0x82,
  READOUT_UNPROTECT: 0x92,
  GET_CHECKSUM: 0xa1,
} as const;

/** Extended Erase codes that stand in for a page count (AN3155 "special erase"). */
export const ERASE_SPECIAL = { MASS: 0xffff, BANK1: 0xfffe, BANK2: 0xfffd } as const;

/** READ MEMORY and WRITE MEMORY move at most this many bytes per command. */
export const MAX_BLOCK = 256;

/** XOR of all bytes: the checksum of addresses, write blocks and erase lists. */
export function xorAll(bytes: ArrayLike<number>, seed = 0): number {
  let x = seed;
  for (let i = 0; i < bytes.length; i++) x ^= bytes[i]!;
  return x & 0xff;
}

/** A command on the wire: its code and the code's complement. */
export function commandBytes(code: number): Uint8Array {
  return Uint8Array.of(code, code ^ 0xff);
}

/** A 32-bit address, most significant byte first, and its XOR checksum. */
export function addressBytes(address: number): Uint8Array {
  const out = new Uint8Array(5);
  new DataView(out.buffer).setUint32(0, address >>> 0, false);
  out[4] = xorAll(out.subarray(0, 4));
  return out;
}

export function hex(n: number, digits = 2): string {
  return "0x" + (n >>> 0).toString(16).padStart(digits, "0");
}
