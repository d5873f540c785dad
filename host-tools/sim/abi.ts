// The firmware ABI as the simulator implements it. boards/ABI.md is the contract; a test
// (test/host/abi.test.ts) parses its tables and checks them against these ones.

export const ABI_VERSION = 5;
// v4 added exports (on_tcp and its buffer) the runtime calls, so older modules no longer fit;
// v5 added imports only.
export const SUPPORTED_ABI_VERSIONS = [4, 5];

export type AbiType = "i32" | "i64";
export interface AbiFunction { params: AbiType[]; results: AbiType[] }

const f = (params: AbiType[], results: AbiType[] = []): AbiFunction => ({ params, results });
const I = "i32" as const;
const L = "i64" as const;

/** Every import of module "hal". */
export const HAL_IMPORTS: Record<string, AbiFunction> = {
  clock_us: f([], [L]),
  wall_clock_ms: f([], [L]),
  log: f([I, I, I]),
  panic: f([I, I]),
  random_fill: f([I, I], [I]),
  board_id: f([I, I], [I]),
  uart_write: f([I, I], [I]),
  udp_open: f([I, I], [I]),
  udp_local_port: f([I], [I]),
  udp_send: f([I, I, I, I], [I]),
  udp_close: f([I], [I]),
  net_address: f([I, I], [I]),
  tcp_listen: f([I, I], [I]),
  tcp_connect: f([I], [I]),
  tcp_send: f([I, I, I], [I]),
  tcp_close: f([I], [I]),
  tcp_peer: f([I, I], [I]),
  nvs_read: f([I, I, I, I], [I]),
  nvs_write: f([I, I, I, I], [I]),
  nvs_erase: f([I, I], [I]),
  se_keygen: f([I], [I]),
  se_public_key: f([I, I, I], [I]),
  se_sign: f([I, I, I, I, I], [I]),
  chip_id: f([I, I], [I]),
  identity_read: f([I, I], [I]),
  identity_write: f([I, I], [I]),
  device_lock: f([], [I]),
  device_locked: f([], [I]),
  tls_connect: f([I, I, I], [I]),
  audio_configure: f([I, I], [I]),
  gpio_write: f([I, I], [I]),
  gpio_read: f([I], [I]),
  boot_info: f([I, I], [I]),
  boot_confirm: f([], [I]),
};

export const BOOT_INFO_BYTES = 16;

/** Every function the runtime calls (besides the `memory` export). All are required. */
export const FIRMWARE_EXPORTS: Record<string, AbiFunction> = {
  tincan_abi_version: f([], [I]),
  init: f([], [I]),
  tick: f([L], [L]),
  on_uart: f([I]),
  on_udp: f([I, I]),
  on_tcp: f([I, I, I]),
  on_audio: f([I]),
  on_gpio: f([I, I]),
  uart_rx_buffer: f([], [I]),
  uart_rx_capacity: f([], [I]),
  udp_rx_buffer: f([], [I]),
  udp_rx_capacity: f([], [I]),
  udp_rx_address: f([], [I]),
  tcp_rx_buffer: f([], [I]),
  tcp_rx_capacity: f([], [I]),
  audio_capture_buffer: f([], [I]),
  audio_playout_buffer: f([], [I]),
  audio_capacity: f([], [I]),
  heap_top: f([], [I]),
};

export const ERR = {
  OK: 0,
  INVALID: -1,
  BOUNDS: -2,
  NOT_FOUND: -3,
  NO_SPACE: -4,
  BUSY: -5,
  UNSUPPORTED: -6,
  IO: -7,
  TOO_SMALL: -8,
  DENIED: -9,
} as const;

export const SOCKADDR_BYTES = 20;
export const NVS_KEY_MAX = 15;
export const NVS_VALUE_MAX = 4000;
// The IDENTITY record (boards/ABI.md): what identity_write accepts at most.
export const IDENTITY_MAX = 4000;
export const SE_SLOTS = 4;
export const LOG_LEVEL_LETTERS = ["E", "W", "I", "D", "V"];

export function formatAbiSig(fn: AbiFunction): string {
  return `(${fn.params.join(", ")}) -> (${fn.results.join(", ")})`;
}
