// @ts-nocheck: AssemblyScript, compiled by asc (the test); tsconfig.json takes in test/interop/**.
// Test entry for test/interop/turn-coturn.test.ts: the firmware's TURN client
// (firmware/net/turn.ts), built alone with test/interop/turn.asconfig.json and driven from Node,
// which owns the real UDP sockets and the clock. Not firmware: it may allocate freely. Several
// clients (by index) can share one socket, to show coturn's view of one 5-tuple.
import { TurnClient } from "../../firmware/net/turn";
import { EntropyPool } from "../../firmware/sip/entropy";

const BUFFER_BYTES: i32 = 65536;
const buffer = new StaticArray<u8>(BUFFER_BYTES);   // datagrams in, payloads out
const output = new StaticArray<u8>(BUFFER_BYTES);   // wrap()'s output
const address = new StaticArray<u8>(20);            // a SOCKADDR argument
const text = new StaticArray<u8>(512);              // user, password
const pool = new EntropyPool(1024);
const clients = new Array<TurnClient>();

export function bufferPtr(): usize { return changetype<usize>(buffer); }
export function outputPtr(): usize { return changetype<usize>(output); }
export function addressPtr(): usize { return changetype<usize>(address); }
export function textPtr(): usize { return changetype<usize>(text); }
export function bufferBytes(): i32 { return BUFFER_BYTES; }
/** Node writes pool bytes of fresh randomness at entropyPtr(), then calls refilled(). */
export function entropyPtr(): usize { return pool.address; }
export function entropyBytes(): i32 { return pool.capacity; }
export function refilled(): void { pool.refilled(); }
export function entropyLow(): bool { return pool.low; }

/** A new client with room for `peers` peers; its index. */
export function create(peers: i32): i32 { clients.push(new TurnClient(pool, peers)); return clients.length - 1; }

/** Server at addressPtr(); user (userLen bytes) then password at textPtr(). */
export function configure(c: i32, userLen: i32, passwordLen: i32): i32 {
  const t = changetype<usize>(text);
  return clients[c].configure(changetype<usize>(address), t, userLen, t + <usize>userLen, passwordLen);
}
export function allocate(c: i32, now: f64): i32 { return clients[c].allocate(<i64>now); }
export function release(c: i32, now: f64): void { clients[c].release(<i64>now); }
export function permit(c: i32, now: f64): i32 { return clients[c].permit(changetype<usize>(address), <i64>now); }
export function bind(c: i32, now: f64): i32 { return clients[c].bind(changetype<usize>(address), <i64>now); }
/** len payload bytes at bufferPtr() for the peer at addressPtr() -> outputPtr(). */
export function wrap(c: i32, len: i32): i32 { return clients[c].wrap(changetype<usize>(buffer), len, changetype<usize>(address), changetype<usize>(output), BUFFER_BYTES); }
/** The datagram (len bytes at bufferPtr()) from the source at addressPtr(). */
export function unwrap(c: i32, len: i32, now: f64): i32 { return clients[c].unwrap(changetype<usize>(buffer), len, changetype<usize>(address), <i64>now); }
export function tick(c: i32, now: f64): void { clients[c].tick(<i64>now); }
export function timeout(c: i32): f64 { return <f64>clients[c].timeout(); }

export function state(c: i32): i32 { return clients[c].state; }
export function error(c: i32): i32 { return clients[c].error; }
export function lifetime(c: i32): u32 { return clients[c].lifetime; }
export function hasMapped(c: i32): bool { return clients[c].hasMapped; }
export function relayed(c: i32): usize { return clients[c].relayed; }
export function mapped(c: i32): usize { return clients[c].mapped; }
export function server(c: i32): usize { return clients[c].server; }
export function peer(c: i32): usize { return clients[c].peer; }
export function length(c: i32): i32 { return clients[c].length; }
export function dropped(c: i32): u32 { return clients[c].dropped; }
export function dropsOf(c: i32, code: i32): u32 { return clients[c].dropsOf(code); }
export function refreshes(c: i32): u32 { return clients[c].refreshes; }
export function staleNonces(c: i32): u32 { return clients[c].staleNonces; }
export function redirects(c: i32): u32 { return clients[c].redirects; }
export function retransmissions(c: i32): u32 { return clients[c].stun.retransmissions; }
export function unmatched(c: i32): u32 { return clients[c].stun.unmatched; }

/** The client's outbox, oldest first: what Node sends to the server. */
export function outCount(c: i32): i32 { return clients[c].outbox.length; }
export function outData(c: i32): usize { return clients[c].outbox.peekData(); }
export function outLength(c: i32): i32 { return clients[c].outbox.peekLength(); }
export function outAddress(c: i32): usize { return clients[c].outbox.peekAddress(); }
export function outPop(c: i32): void { clients[c].outbox.pop(); }
