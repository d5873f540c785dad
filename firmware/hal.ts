// The one doorway to the board. Every import of module "hal" (boards/ABI.md) is declared
// here and nowhere else; only firmware/main.ts imports this file.

@external("hal", "clock_us") export declare function clock_us(): i64;
@external("hal", "wall_clock_ms") export declare function wall_clock_ms(): i64;
@external("hal", "log") export declare function log(level: i32, ptr: usize, len: i32): void;
@external("hal", "panic") export declare function panic(ptr: usize, len: i32): void;
@external("hal", "random_fill") export declare function random_fill(ptr: usize, len: i32): i32;
@external("hal", "board_id") export declare function board_id(ptr: usize, cap: i32): i32;
@external("hal", "uart_write") export declare function uart_write(ptr: usize, len: i32): i32;
@external("hal", "udp_open") export declare function udp_open(family: i32, localPort: i32): i32;
@external("hal", "udp_local_port") export declare function udp_local_port(handle: i32): i32;
@external("hal", "udp_send") export declare function udp_send(handle: i32, addrPtr: usize, dataPtr: usize, dataLen: i32): i32;
@external("hal", "udp_close") export declare function udp_close(handle: i32): i32;
@external("hal", "net_address") export declare function net_address(family: i32, ptr: usize): i32;
@external("hal", "tcp_listen") export declare function tcp_listen(family: i32, port: i32): i32;
@external("hal", "tcp_connect") export declare function tcp_connect(addrPtr: usize): i32;
@external("hal", "tcp_send") export declare function tcp_send(handle: i32, ptr: usize, len: i32): i32;
@external("hal", "tcp_close") export declare function tcp_close(handle: i32): i32;
@external("hal", "tcp_peer") export declare function tcp_peer(handle: i32, ptr: usize): i32;
@external("hal", "nvs_read") export declare function nvs_read(keyPtr: usize, keyLen: i32, bufPtr: usize, bufCap: i32): i32;
@external("hal", "nvs_write") export declare function nvs_write(keyPtr: usize, keyLen: i32, valPtr: usize, valLen: i32): i32;
@external("hal", "nvs_erase") export declare function nvs_erase(keyPtr: usize, keyLen: i32): i32;
@external("hal", "se_keygen") export declare function se_keygen(slot: i32): i32;
@external("hal", "se_public_key") export declare function se_public_key(slot: i32, outPtr: usize, outCap: i32): i32;
@external("hal", "se_sign") export declare function se_sign(slot: i32, digestPtr: usize, digestLen: i32, sigPtr: usize, sigCap: i32): i32;
@external("hal", "chip_id") export declare function chip_id(ptr: usize, cap: i32): i32;
@external("hal", "identity_read") export declare function identity_read(ptr: usize, cap: i32): i32;
@external("hal", "identity_write") export declare function identity_write(ptr: usize, len: i32): i32;
@external("hal", "device_lock") export declare function device_lock(): i32;
@external("hal", "device_locked") export declare function device_locked(): i32;
@external("hal", "tls_connect") export declare function tls_connect(addrPtr: usize, namePtr: usize, nameLen: i32): i32;
@external("hal", "audio_configure") export declare function audio_configure(sampleRate: i32, frameSamples: i32): i32;
@external("hal", "gpio_write") export declare function gpio_write(id: i32, level: i32): i32;
@external("hal", "gpio_read") export declare function gpio_read(id: i32): i32;
@external("hal", "boot_info") export declare function boot_info(ptr: usize, cap: i32): i32;
@external("hal", "boot_confirm") export declare function boot_confirm(): i32;

// AssemblyScript's abort hook (asconfig "use": abort=firmware/hal/onAbort). It turns the
// compiler's UTF-16 message into a short ASCII reason for hal.panic, without allocating (the
// heap may be what failed), then traps.
const PANIC_CAP: i32 = 160;
const panicText = memory.data(PANIC_CAP);

export function onAbort(message: string | null, file: string | null, line: u32, column: u32): void {
  let n = 0;
  n = appendAscii(n, "abort: ");
  if (message !== null) n = appendAscii(n, message);
  n = appendAscii(n, " at ");
  if (file !== null) n = appendAscii(n, file);
  n = appendAscii(n, ":");
  n = appendDecimal(n, line);
  panic(panicText, n);
  unreachable();
}

function appendAscii(n: i32, s: string): i32 {
  for (let i = 0; i < s.length && n < PANIC_CAP; i++) {
    const c = s.charCodeAt(i);
    store<u8>(panicText + <usize>n, c >= 0x20 && c < 0x7f ? <u8>c : 0x3f);
    n++;
  }
  return n;
}

function appendDecimal(n: i32, v: u32): i32 {
  let digits = 1;
  for (let t = v; t >= 10; t /= 10) digits++;
  if (n + digits > PANIC_CAP) return n;
  for (let i = digits - 1; i >= 0; i--) {
    store<u8>(panicText + <usize>(n + i), <u8>(0x30 + v % 10));
    v /= 10;
  }
  return n + digits;
}
