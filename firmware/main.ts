// The firmware's exports (boards/ABI.md): the only file that talks to the board, through
// hal.ts. It owns the buffers the runtime fills, and wires the sans-IO cores to the HAL.

import * as hal from "./hal";
import { Console } from "./console/console";
import { SystemCommands, DeviceInfo, CMD_HELLO, CMD_STATS } from "./console/system";
import { FrameLoop } from "./audio/loop";
import { Heartbeat } from "./system/heartbeat";
import { BootStatus, BOOT_INFO_BYTES } from "./system/boot";
import { LineBuffer } from "./lib/text";
import { addressOf } from "./lib/bytes";
import { FIRMWARE_VERSION, ABI_VERSION } from "./version";
import { Config, ConfigStore, LOAD_BAD_VALUES } from "./config/config";
import { ConfigCommands } from "./config/commands";
import { Intercom } from "./call/intercom";
import { CallCommands } from "./call/commands";
import { FactoryCommands, FactoryPort } from "./factory/commands";
import { SipOutbox } from "./sip/outbox";
import { CONN_WANTED, CONN_CONNECTING, CONN_OPEN, CONN_STALE } from "./sip/connections";
import { FlowKeepalive } from "./sip/flow-keepalive";
import { REG_OFF } from "./sip/registration";

const UART_RX_CAPACITY: i32 = 512;
const TCP_RX_CAPACITY: i32 = 2048;
// on_tcp events (boards/ABI.md)
const TCP_DATA: i32 = 0;
const TCP_CONNECTED: i32 = 1;
const TCP_ACCEPTED: i32 = 2;
const TCP_CLOSED: i32 = 3;
// Larger than the biggest SIP message the agent keeps (4 KiB), so a bigger one is answered 513.
const UDP_RX_CAPACITY: i32 = 8192;
const AUDIO_CAPACITY: i32 = 960; // 60 ms at 16 kHz: the longest frame any board asks for
const SOCKADDR_BYTES: i32 = 20;

// Logical pins (boards/*.json "io"), the same on every board.
const PIN_STATUS_LED: i32 = 1;
const PIN_CALL_BUTTON: i32 = 2;
const PIN_DOOR_RELAY: i32 = 0;
const FAMILY_IPV4: i32 = 4;
const ERR_IO: i32 = -7; // boards/ABI.md error codes
const ERR_BUSY: i32 = -5;

// Audio format the firmware runs at; the board's manifest must list it.
const SAMPLE_RATE: i32 = 16000;
const FRAME_SAMPLES: i32 = 320;

const LOG_ERROR: i32 = 0;
const LOG_WARN: i32 = 1;
const LOG_INFO: i32 = 2;

const uartRx = new StaticArray<u8>(UART_RX_CAPACITY);
const udpRx = new StaticArray<u8>(UDP_RX_CAPACITY);
const udpRxAddress = new StaticArray<u8>(SOCKADDR_BYTES);
const tcpRx = new StaticArray<u8>(TCP_RX_CAPACITY);
const tcpPeer = new StaticArray<u8>(SOCKADDR_BYTES);
const crlf = new StaticArray<u8>(2);
const netAddress = new StaticArray<u8>(SOCKADDR_BYTES);
// How often the address is looked at: a handoff is noticed within this (issue 8: gap < 1 s).
const ADDRESS_POLL_US: i64 = 200_000;
const capture = new StaticArray<i16>(AUDIO_CAPACITY);
const playout = new StaticArray<i16>(AUDIO_CAPACITY);

const boot = new BootStatus();
const device = new DeviceInfo(boot);
const console = new Console();
// Counts the frames (the boot self-check wants audio running); the call core makes the sound.
const audio = new FrameLoop(AUDIO_CAPACITY);
const heartbeat = new Heartbeat();
const line = new LineBuffer(160);
const config = new Config();
const intercom = new Intercom(config);
const factory = new FactoryCommands(new HalFactoryPort());
// The registrar flow on UDP: STUN keepalives (RFC 5626 4.4.2) hold the NAT's mapping open.
const flowKeepalive = new FlowKeepalive(intercom.ua.stack.outbox, intercom.entropy, intercom.call.nat.transport.agent.reader, intercom.call.nat.transport.agent.writer);
let lastNowUs: i64 = 0;
let udpDatagrams: u32 = 0;
let sipSocket: i32 = -1;
let sipListener: i32 = -1;
let mediaSocket: i32 = -1;
let addressesKnown = false;
let nextAddressPollUs: i64 = 0;

export function tincan_abi_version(): i32 { return ABI_VERSION; }

export function init(): i32 {
  store<u8>(addressOf(crlf), 0x0d);
  store<u8>(addressOf(crlf) + 1, 0x0a);
  const now = hal.clock_us();
  lastNowUs = now;
  device.bootUs = now;
  const n = hal.board_id(addressOf(device.boardId), device.boardId.length);
  device.boardIdLength = n > 0 ? n : 0;

  const commands = new SystemCommands(device, console, audio);
  console.register(CMD_HELLO, commands);
  console.register(CMD_STATS, commands);

  line.clear().text("tincan firmware ").text(FIRMWARE_VERSION).text(" abi ").int(ABI_VERSION)
    .text(" board ").bytes(addressOf(device.boardId), device.boardIdLength);
  log(LOG_INFO);
  boot.load(hal.boot_info(addressOf(boot.raw), BOOT_INFO_BYTES), now);
  if (boot.known) {
    line.clear().text("image ").bytes(boot.version.address, boot.version.length).text(" in ").text(boot.slot == 0 ? "app_a" : "app_b")
      .text(boot.testing ? ", test boot: confirming after the self-check" : "");
    log(LOG_INFO);
  }
  loadConfig();
  new ConfigCommands(config, new NvsConfigStore()).register(console);
  new CallCommands(intercom).register(console);
  if (factory.load() < 0) { line.clear().text("identity: ").bytes(factory.bootReason.address, factory.bootReason.length); log(LOG_WARN); }
  factory.register(console);
  refillEntropy();
  openSockets();

  const audioStatus = hal.audio_configure(SAMPLE_RATE, FRAME_SAMPLES);
  if (audioStatus < 0) {
    line.clear().text("audio front end refused 16000 Hz / 320 samples: error ").int(audioStatus);
    log(LOG_ERROR);
    return audioStatus;
  }
  heartbeat.start(now);
  return 0;
}

export function tick(nowUs: i64): i64 {
  lastNowUs = nowUs;
  if (!addressesKnown) learnAddresses();
  else if (nowUs >= nextAddressPollUs) pollAddress(nowUs);
  refillEntropy();
  intercom.tick(nowUs);
  keepFlow(nowUs);
  flushNetwork();
  heartbeat.tick(nowUs);
  if (heartbeat.changed) hal.gpio_write(PIN_STATUS_LED, heartbeat.level);
  if (boot.due(nowUs, audio.frames)) confirmBoot(nowUs);
  flushUart();
  let next = earliest(heartbeat.timeout(), boot.deadline());
  next = earliest(next, intercom.timeout());
  next = earliest(next, flowKeepalive.timeout());
  if (!addressesKnown && sipSocket >= 0) next = earliest(next, nowUs + 10_000); // the HAL is still binding
  if (addressesKnown) next = earliest(next, nextAddressPollUs);
  return next;
}

export function on_uart(len: i32): void {
  if (len < 0 || len > UART_RX_CAPACITY) return;
  console.handle(addressOf(uartRx), len, hal.clock_us());
  flushUart();
}

export function on_udp(handle: i32, len: i32): void {
  udpDatagrams++;
  if (len <= 0 || len > UDP_RX_CAPACITY) return;
  const now = hal.clock_us();
  refillEntropy();
  if (handle == sipSocket) {
    if (flowKeepalive.receive(addressOf(udpRx), len, addressOf(udpRxAddress), now)) keepFlow(now);
    else intercom.receiveSip(addressOf(udpRx), len, addressOf(udpRxAddress), now);
  }
  else if (handle == mediaSocket) intercom.receiveMedia(addressOf(udpRx), len, addressOf(udpRxAddress), now);
  flushNetwork();
}

export function on_tcp(handle: i32, event: i32, len: i32): void {
  const now = hal.clock_us();
  const conns = intercom.ua.stack.connections;
  if (event == TCP_ACCEPTED) {
    if (hal.tcp_peer(handle, addressOf(tcpPeer)) < 0 || conns.accepted(handle, addressOf(tcpPeer), now) < 0) hal.tcp_close(handle);
    return;
  }
  const i = conns.byHandle(handle);
  if (i < 0) { if (event != TCP_CLOSED) hal.tcp_close(handle); return; }
  if (event == TCP_CLOSED) { intercom.connectionLost(i, 0, now); flushNetwork(); return; }
  if (event == TCP_CONNECTED) { conns.opened(i, now); flushNetwork(); return; }
  if (event != TCP_DATA || len <= 0 || len > TCP_RX_CAPACITY) return;
  refillEntropy();
  if (!conns.received(i, addressOf(tcpRx), len)) { closeConnection(i); return; }
  for (;;) {
    const r = conns.extract(i);
    if (conns.pingSeen) conns.queue(i, addressOf(crlf), 2); // RFC 5626: CRLF pong
    if (r < 0) { closeConnection(i); break; }
    if (r == 0) break;
    const c = conns.at(i);
    intercom.receiveSipStream(c.rxAddress + <usize>conns.messageAt, conns.messageLength, c.peerAddress, i, now);
    conns.consume(i);
  }
  flushNetwork();
}

export function on_audio(samples: i32): void {
  audio.process(addressOf(capture), addressOf(playout), samples);
  if (samples > 0 && samples <= AUDIO_CAPACITY) intercom.frame(addressOf(capture), addressOf(playout), samples, hal.clock_us());
  flushNetwork();
}

export function on_gpio(id: i32, level: i32): void {
  if (id != PIN_CALL_BUTTON) return;
  line.clear().text(level != 0 ? "call button pressed" : "call button released");
  log(LOG_INFO);
  if (level != 0) { intercom.button(hal.clock_us()); flushNetwork(); }
}

export function uart_rx_buffer(): usize { return addressOf(uartRx); }
export function uart_rx_capacity(): i32 { return UART_RX_CAPACITY; }
export function udp_rx_buffer(): usize { return addressOf(udpRx); }
export function udp_rx_capacity(): i32 { return UDP_RX_CAPACITY; }
export function udp_rx_address(): usize { return addressOf(udpRxAddress); }
export function tcp_rx_buffer(): usize { return addressOf(tcpRx); }
export function tcp_rx_capacity(): i32 { return TCP_RX_CAPACITY; }
export function audio_capture_buffer(): usize { return addressOf(capture); }
export function audio_playout_buffer(): usize { return addressOf(playout); }
export function audio_capacity(): i32 { return AUDIO_CAPACITY; }

export function heap_top(): usize {
  // Allocating nothing and freeing it at once returns the current top without moving it.
  const p = heap.alloc(0);
  heap.free(p);
  return p;
}

function log(level: i32): void { hal.log(level, line.address, line.length); }

@inline function earliest(a: i64, b: i64): i64 { return b < 0 ? a : (a < 0 || b < a ? b : a); }

/** The SIP port from the configuration, and an RTP port the board picks. */
function openSockets(): void {
  sipSocket = hal.udp_open(FAMILY_IPV4, config.sipPort);
  sipListener = hal.tcp_listen(FAMILY_IPV4, config.sipPort); // SIP over TCP too (RFC 3261 18)
  mediaSocket = hal.udp_open(FAMILY_IPV4, 0);
  if (sipSocket < 0 || mediaSocket < 0) {
    line.clear().text("cannot open the SIP port ").int(config.sipPort).text(" or an RTP port: error ").int(min(sipSocket, mediaSocket));
    log(LOG_ERROR);
  }
}

/** Our address and bound ports, once the HAL knows them (binding may take a moment). */
function learnAddresses(): void {
  if (sipSocket < 0 || mediaSocket < 0) return;
  const sa = addressOf(udpRxAddress); // free between datagrams
  if (hal.net_address(FAMILY_IPV4, sa) < 0) return;
  const sipPort = hal.udp_local_port(sipSocket);
  const mediaPort = hal.udp_local_port(mediaSocket);
  if (sipPort == ERR_IO || mediaPort == ERR_IO) {
    // The port is taken (or the network refused it): say so once, and stop asking.
    line.clear().text("cannot bind the SIP port ").int(config.sipPort).text(" or the RTP port: no calls until restarted");
    log(LOG_ERROR);
    sipSocket = -1;
    return;
  }
  if (sipPort <= 0 || mediaPort <= 0) return;
  intercom.setAddresses(sa, sipPort, mediaPort);
  addressesKnown = true;
  line.clear().text("SIP on port ").int(sipPort).text(", RTP on port ").int(mediaPort);
  log(LOG_INFO);
}

/**
 * Runs the registrar flow's keepalive while we are registered over UDP. A new mapping (the
 * NAT restarted, or we moved) or a flow that stopped answering means register again.
 */
function keepFlow(nowUs: i64): void {
  const reg = intercom.ua.registration;
  const want = addressesKnown && reg.state != REG_OFF && !intercom.ua.stack.reliable ? config.sipKeepaliveSeconds : 0;
  const registrar = changetype<usize>(reg.registrarAddress);
  if (want != flowKeepalive.intervalS || (want > 0 && memory.compare(registrar, changetype<usize>(flowKeepalive.registrar), SOCKADDR_BYTES) != 0)) {
    if (want > 0) flowKeepalive.configure(registrar, want, nowUs);
    else flowKeepalive.stop();
  }
  flowKeepalive.tick(nowUs);
  if (flowKeepalive.mappedChanged || flowKeepalive.flowFailed) {
    flowKeepalive.mappedChanged = false;
    flowKeepalive.flowFailed = false;
    reg.flowLost(nowUs);
  }
}

/** The board's address may change under us (Wi-Fi to cellular, a new lease): follow it. */
function pollAddress(nowUs: i64): void {
  nextAddressPollUs = nowUs + ADDRESS_POLL_US;
  const sa = addressOf(netAddress);
  if (hal.net_address(FAMILY_IPV4, sa) < 0) return; // no address right now: keep the last one
  store<u16>(sa + 2, 0); // the port is not part of it
  if (memory.compare(sa, changetype<usize>(intercom.address), SOCKADDR_BYTES) == 0) return;
  refillEntropy();
  intercom.addressChanged(sa, nowUs);
  flushNetwork();
}

function refillEntropy(): void {
  const pool = intercom.entropy;
  if (!pool.low) return;
  if (hal.random_fill(pool.address, pool.capacity) == pool.capacity) pool.refilled();
}

/** Sends what the SIP agent and the media session queued, and what they logged; drives the relay. */
function flushNetwork(): void {
  drain(intercom.ua.stack.outbox, sipSocket);
  const transport = intercom.call.nat.transport;
  transport.flush(intercom.call.media, hal.clock_us());
  drain(transport.outbox, mediaSocket);
  const q = intercom.log;
  while (q.count > 0) {
    const l = q.peek();
    hal.log(q.peekLevel(), l.address, l.length);
    q.pop();
  }
  const call = intercom.call;
  if (call.relayChanged) {
    call.relayChanged = false;
    hal.gpio_write(PIN_DOOR_RELAY, call.relayOn ? 1 : 0);
    line.clear().text(call.relayOn ? "door code accepted: relay on" : "relay off");
    log(LOG_INFO);
  }
}

function drain(o: SipOutbox, socket: i32): void {
  const conns = intercom.ua.stack.connections;
  while (o.length > 0) {
    const c = o.peekConnection();
    if (c >= 0) conns.queue(c, o.peekData(), o.peekLength());
    else if (socket >= 0) hal.udp_send(socket, o.peekAddress(), o.peekData(), o.peekLength());
    o.pop();
  }
  flushConnections();
}

/** Opens the TCP and TLS connections the SIP stack asked for and sends what they hold. */
function flushConnections(): void {
  const conns = intercom.ua.stack.connections;
  for (let i = 0; i < conns.table.length; i++) {
    const c = conns.at(i);
    if (c.state == CONN_STALE) { closeConnection(i); continue; }
    if (c.state == CONN_WANTED) {
      const h = c.secure ? hal.tls_connect(c.peerAddress, c.nameAddress, c.nameLength) : hal.tcp_connect(c.peerAddress);
      if (h < 0) { intercom.connectionLost(i, h, hal.clock_us()); continue; }
      c.handle = h;
      c.state = CONN_CONNECTING;
    }
    while (c.state == CONN_OPEN && c.txFill > 0) {
      const n = hal.tcp_send(c.handle, c.txAddress, c.txFill);
      if (n <= 0) { if (n != ERR_BUSY) closeConnection(i); break; }
      conns.sent(i, n);
    }
  }
}

function closeConnection(i: i32): void {
  hal.tcp_close(intercom.ua.stack.connections.at(i).handle);
  intercom.connectionLost(i, 0, hal.clock_us());
}

/** The configuration lives in one nvs key, written whole (nvs_write is atomic per key). */
class NvsConfigStore extends ConfigStore {
  save(blob: usize, length: i32): i32 { return hal.nvs_write(config.nvsKeyAddress, config.nvsKeyLength, blob, length); }
}

/** The factory core's view of the board: chip id, secure element, identity partition, lock fuse. */
class HalFactoryPort extends FactoryPort {
  chipId(out: usize, cap: i32): i32 { return hal.chip_id(out, cap); }
  publicKey(slot: i32, out: usize, cap: i32): i32 { return hal.se_public_key(slot, out, cap); }
  keygen(slot: i32): i32 { return hal.se_keygen(slot); }
  sign(slot: i32, digest: usize, sig: usize): i32 { return hal.se_sign(slot, digest, 32, sig, 64); }
  identityRead(out: usize, cap: i32): i32 { return hal.identity_read(out, cap); }
  identityWrite(p: usize, len: i32): i32 { return hal.identity_write(p, len); }
  lock(): i32 { return hal.device_lock(); }
  locked(): bool { return hal.device_locked() == 1; }
}

/** Puts the stored configuration in force; bad stored data means defaults and a warning. */
function loadConfig(): void {
  const read = hal.nvs_read(config.nvsKeyAddress, config.nvsKeyLength, config.blobAddress, config.blob.length);
  const status = config.load(read);
  if (status >= 0) return;
  line.clear().text("stored configuration: ").bytes(config.reason.address, config.reason.length)
    .text(status == LOAD_BAD_VALUES ? "; that key is back to its default" : "; every key is back to its default");
  log(LOG_WARN);
}

function confirmBoot(nowUs: i64): void {
  const result = hal.boot_confirm();
  boot.confirmed(result, nowUs);
  if (result >= 0) line.clear().text("self-check passed: image confirmed");
  else line.clear().text("boot_confirm failed: error ").int(result).text("; retrying");
  log(result >= 0 ? LOG_INFO : LOG_WARN);
}

/** Drains the console's transmit ring into the UART as far as the UART accepts. */
function flushUart(): void {
  while (console.tx.length > 0) {
    const accepted = hal.uart_write(console.tx.peekAddress(), console.tx.peekLength());
    if (accepted <= 0) return;
    console.tx.consume(accepted);
  }
}
