// The firmware's own version, reported by HELLO. test/host checks it matches package.json.
export const FIRMWARE_VERSION = "0.1.0";
export const ABI_VERSION: i32 = 5;
