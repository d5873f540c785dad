// The simulated board's implementation of every "hal" import (boards/ABI.md). Each import
// checks its pointers against linear memory and answers an error code instead of trapping.

import crypto from "node:crypto";
import { ERR, HAL_IMPORTS, SOCKADDR_BYTES, NVS_KEY_MAX, NVS_VALUE_MAX, IDENTITY_MAX } from "./abi.ts";
import type { NvsStore } from "./nvs.ts";
import type { SecureElement } from "./secure-element.ts";
import type { Otp } from "./otp.ts";
import type { IdentityStore } from "./identity.ts";
import { encodeSockaddr, type UdpTable } from "./udp.ts";
import type { TcpTable } from "./tcp.ts";
import { TLS_NAME_MAX, type TlsClient } from "./tls.ts";

/** What the imports need from the board that hosts them. */
export interface HalContext {
  memory(): WebAssembly.Memory;
  nowUs(): number;
  wallClockMs(): number;
  boardId: string;
  nvs: NvsStore;
  se: SecureElement;
  /** Fuses: chip id and provisioning lock. */
  otp: Otp;
  /** The identity partition. */
  identity: IdentityStore;
  udp: UdpTable;
  tcp: TcpTable;
  /** tls_connect: TLS over a TCP-table connection, with the board's identity. */
  tls: TlsClient;
  log(level: number, text: Uint8Array): void;
  panic(reason: string): void;
  uartWrite(bytes: Uint8Array): number;
  audioConfigure(sampleRate: number, frameSamples: number): number;
  gpioWrite(id: number, level: number): number;
  gpioRead(id: number): number;
  /** The BOOT_INFO structure of this boot, or undefined when no bootloader chose the module. */
  bootInfo(): Uint8Array | undefined;
  /** Confirms a test boot; an ERR code. */
  bootConfirm(): number;
}

export function halImports(ctx: HalContext): Record<string, (...args: never[]) => number | bigint | void> {
  /** A view of linear memory, or undefined when (ptr, len) reaches outside it. */
  const view = (ptr: number, len: number): Uint8Array | undefined => {
    const buf = ctx.memory().buffer;
    const p = ptr >>> 0;
    if (len < 0 || p + len > buf.byteLength) return undefined;
    return new Uint8Array(buf, p, len);
  };
  const key = (ptr: number, len: number): string | number => {
    if (len < 1 || len > NVS_KEY_MAX) return ERR.INVALID;
    const k = view(ptr, len);
    return k ? Buffer.from(k).toString("latin1") : ERR.BOUNDS;
  };
  const copyOut = (bytes: Uint8Array, ptr: number, cap: number): number => {
    if (bytes.length > cap) return ERR.TOO_SMALL;
    const out = view(ptr, bytes.length);
    if (!out) return ERR.BOUNDS;
    out.set(bytes);
    return bytes.length;
  };

  const imports = {
    clock_us: (): bigint => BigInt(Math.floor(ctx.nowUs())),
    wall_clock_ms: (): bigint => BigInt(Math.floor(ctx.wallClockMs())),
    log: (level: number, ptr: number, len: number): void => {
      const text = view(ptr, Math.min(Math.max(len, 0), 1024));
      ctx.log(level, text ? Uint8Array.from(text) : Buffer.from(`<log line out of bounds: ptr ${ptr >>> 0}, len ${len}>`));
    },
    panic: (ptr: number, len: number): void => {
      const text = view(ptr, Math.min(Math.max(len, 0), 1024));
      ctx.panic(text ? Buffer.from(text).toString("utf8") : "panic (reason out of bounds)");
    },
    random_fill: (ptr: number, len: number): number => {
      const out = view(ptr, len);
      if (!out) return ERR.BOUNDS;
      crypto.randomFillSync(out);
      return len;
    },
    board_id: (ptr: number, cap: number): number => copyOut(Buffer.from(ctx.boardId, "ascii"), ptr, cap),
    uart_write: (ptr: number, len: number): number => {
      if (len === 0) return 0;
      const bytes = view(ptr, len);
      if (!bytes) return ERR.BOUNDS;
      return ctx.uartWrite(Uint8Array.from(bytes));
    },
    udp_open: (family: number, port: number): number => ctx.udp.open(family, port),
    udp_local_port: (handle: number): number => ctx.udp.localPort(handle),
    udp_send: (handle: number, addrPtr: number, dataPtr: number, dataLen: number): number => {
      const addr = view(addrPtr, SOCKADDR_BYTES);
      const data = view(dataPtr, dataLen);
      if (!addr || !data) return ERR.BOUNDS;
      return ctx.udp.send(handle, addr, data);
    },
    udp_close: (handle: number): number => ctx.udp.close(handle),
    tcp_listen: (family: number, port: number): number => ctx.tcp.listen(family, port),
    tcp_connect: (addrPtr: number): number => {
      const addr = view(addrPtr, SOCKADDR_BYTES);
      return addr ? ctx.tcp.connect(addr) : ERR.BOUNDS;
    },
    tcp_send: (handle: number, ptr: number, len: number): number => {
      if (len === 0) return 0;
      const data = view(ptr, len);
      return data ? ctx.tcp.send(handle, data) : ERR.BOUNDS;
    },
    tcp_close: (handle: number): number => ctx.tcp.close(handle),
    tcp_peer: (handle: number, ptr: number): number => {
      const out = view(ptr, SOCKADDR_BYTES);
      if (!out) return ERR.BOUNDS;
      const p = ctx.tcp.peer(handle);
      if (!p) return ERR.NOT_FOUND;
      encodeSockaddr(out, p.family, p.address, p.port);
      return ERR.OK;
    },
    tls_connect: (addrPtr: number, namePtr: number, nameLen: number): number => {
      if (nameLen < 0 || nameLen > TLS_NAME_MAX) return ERR.INVALID;
      const addr = view(addrPtr, SOCKADDR_BYTES);
      const name = view(namePtr, nameLen);
      return addr && name ? ctx.tls.connect(Uint8Array.from(addr), Uint8Array.from(name)) : ERR.BOUNDS;
    },
    net_address: (family: number, ptr: number): number => {
      if (family !== 4 && family !== 6) return ERR.INVALID;
      const out = view(ptr, SOCKADDR_BYTES);
      if (!out) return ERR.BOUNDS;
      const address = ctx.udp.address(family);
      if (!address) return ERR.NOT_FOUND;
      encodeSockaddr(out, family, address, 0);
      return ERR.OK;
    },
    nvs_read: (keyPtr: number, keyLen: number, bufPtr: number, bufCap: number): number => {
      const k = key(keyPtr, keyLen);
      if (typeof k === "number") return k;
      const value = ctx.nvs.read(k);
      if (!value) return ERR.NOT_FOUND;
      const out = view(bufPtr, Math.min(Math.max(bufCap, 0), value.length));
      if (!out || bufCap < 0) return ERR.BOUNDS;
      out.set(value.subarray(0, out.length));
      return value.length;
    },
    nvs_write: (keyPtr: number, keyLen: number, valPtr: number, valLen: number): number => {
      const k = key(keyPtr, keyLen);
      if (typeof k === "number") return k;
      if (valLen < 0 || valLen > NVS_VALUE_MAX) return ERR.INVALID;
      const value = view(valPtr, valLen);
      if (!value) return ERR.BOUNDS;
      return ctx.nvs.write(k, value);
    },
    nvs_erase: (keyPtr: number, keyLen: number): number => {
      const k = key(keyPtr, keyLen);
      return typeof k === "number" ? k : ctx.nvs.erase(k);
    },
    se_keygen: (slot: number): number => ctx.se.keygen(slot),
    se_public_key: (slot: number, outPtr: number, outCap: number): number => {
      const pub = ctx.se.publicKey(slot);
      return typeof pub === "number" ? pub : copyOut(pub, outPtr, outCap);
    },
    se_sign: (slot: number, digestPtr: number, digestLen: number, sigPtr: number, sigCap: number): number => {
      if (digestLen !== 32) return ERR.INVALID;
      const digest = view(digestPtr, digestLen);
      if (!digest) return ERR.BOUNDS;
      const sig = ctx.se.sign(slot, Uint8Array.from(digest));
      return typeof sig === "number" ? sig : copyOut(sig, sigPtr, sigCap);
    },
    chip_id: (ptr: number, cap: number): number => copyOut(ctx.otp.chipId, ptr, cap),
    identity_read: (ptr: number, cap: number): number => {
      const record = ctx.identity.read();
      if (typeof record === "number") return record;
      const out = view(ptr, Math.min(Math.max(cap, 0), record.length));
      if (!out || cap < 0) return ERR.BOUNDS;
      out.set(record.subarray(0, out.length));
      return record.length;
    },
    identity_write: (ptr: number, len: number): number => {
      if (ctx.otp.locked) return ERR.DENIED;
      if (len < 0) return ERR.INVALID;
      if (len > IDENTITY_MAX) return ERR.NO_SPACE;
      const record = view(ptr, len);
      return record ? ctx.identity.write(Uint8Array.from(record)) : ERR.BOUNDS;
    },
    device_lock: (): number => (ctx.otp.lock() ? ERR.OK : ERR.IO),
    device_locked: (): number => (ctx.otp.locked ? 1 : 0),
    audio_configure: (rate: number, samples: number): number => ctx.audioConfigure(rate, samples),
    gpio_write: (id: number, level: number): number => ctx.gpioWrite(id, level),
    gpio_read: (id: number): number => ctx.gpioRead(id),
    boot_info: (ptr: number, cap: number): number => {
      const info = ctx.bootInfo();
      if (!info) return ERR.NOT_FOUND;
      return copyOut(info, ptr, cap);
    },
    boot_confirm: (): number => ctx.bootConfirm(),
  };
  // The table above and the ABI's must name the same imports; a mismatch is a simulator bug.
  for (const name of Object.keys(HAL_IMPORTS)) if (!(name in imports)) throw new Error(`simulator lacks hal.${name}`);
  return imports;
}
