// The client side of RFC 2217: a socket link whose data is Telnet-escaped and whose setBaud and
// setSignals become COM-PORT-OPTION commands the server acknowledges (host-tools/link/rfc2217.ts).
import type net from 'node:net';
import { LinkError, socketLink, type Link, type Listeners } from './transport.ts';
import {
  CONTROL, CPO, DO, DONT, OPT_BINARY, OPT_COM_PORT, OPT_SGA, PARITY, SERVER_OFFSET, TelnetDecoder, WILL, WONT,
  comPortCommand, escapeData, negotiation, u32be,
} from './rfc2217.ts';

const ACK_TIMEOUT_MS = 2000;

interface Rfc2217Options {
  baud: number;
  parity: 'none' | 'even';
  listeners: Listeners;
}

export async function rfc2217Link(url: string, sock: net.Socket, opts: Rfc2217Options): Promise<Link> {
  const l = opts.listeners;
  const decoder = new TelnetDecoder();
  const waiting = new Map<number, Array<() => void>>();
  const agreed = new Set<string>();
  const raw = (bytes: Uint8Array) => { if (!sock.destroyed) sock.write(bytes); };

  const onBytes = (chunk: Buffer) => {
    for (const ev of decoder.push(chunk)) {
      if (ev.kind === 'data') l.emitData(ev.bytes);
      else if (ev.kind === 'negotiate') answer(ev.verb, ev.option);
      else if (ev.option === OPT_COM_PORT && ev.payload.length > 0) {
        const queue = waiting.get(ev.payload[0] - SERVER_OFFSET);
        queue?.shift()?.();
      }
    }
  };
  // Agree to what a serial link needs (binary both ways, no go-ahead, the COM port option); refuse the rest.
  const answer = (verb: number, option: number) => {
    const key = `${verb}:${option}`;
    if (agreed.has(key)) return;
    agreed.add(key);
    const ok = option === OPT_BINARY || option === OPT_SGA || option === OPT_COM_PORT;
    if (verb === WILL) raw(negotiation(ok ? DO : DONT, option));
    else if (verb === DO) raw(negotiation(ok ? WILL : WONT, option));
  };

  const link = socketLink(url, sock, l, onBytes);
  // A server that hangs up at once says why in plain text (the simulator: "this port is busy").
  let said = '';
  const stopListening = l.onData((b) => { said = (said + Buffer.from(b).toString('latin1')).slice(-200); });
  const rejectors = new Set<(e: LinkError) => void>();
  l.onClose(() => {
    const why = said.trim().replace(/^tincan sim: /, '') || 'the server closed the connection';
    for (const r of rejectors) r(new LinkError(`cannot use ${url}: ${why}`, 'CLOSED'));
  });
  const command = (sub: number, value: Uint8Array, what: string): Promise<void> => {
    if (link.closed) return Promise.reject(new LinkError(`cannot ${what} on ${url}: the link is closed`, 'CLOSED'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const q = waiting.get(sub);
        const i = q?.indexOf(done) ?? -1;
        if (i >= 0) q!.splice(i, 1);
        reject(new LinkError(`cannot ${what} on ${url}: the RFC 2217 server did not acknowledge within ${ACK_TIMEOUT_MS} ms`, 'ETIMEDOUT'));
      }, ACK_TIMEOUT_MS);
      const fail = (e: LinkError) => { clearTimeout(timer); rejectors.delete(fail); reject(e); };
      rejectors.add(fail);
      const done = () => { clearTimeout(timer); rejectors.delete(fail); resolve(); };
      if (!waiting.has(sub)) waiting.set(sub, []);
      waiting.get(sub)!.push(done);
      raw(comPortCommand(sub, value));
    });
  };

  raw(negotiation(WILL, OPT_COM_PORT));
  raw(negotiation(WILL, OPT_BINARY));
  raw(negotiation(DO, OPT_BINARY));
  await command(CPO.SET_BAUDRATE, u32be(opts.baud), `set ${opts.baud} baud`);
  await command(CPO.SET_DATASIZE, Uint8Array.of(8), 'set 8 data bits');
  await command(CPO.SET_PARITY, Uint8Array.of(PARITY[opts.parity]), `set ${opts.parity} parity`);
  await command(CPO.SET_STOPSIZE, Uint8Array.of(1), 'set 1 stop bit');
  stopListening();

  return {
    ...link,
    get closed() { return link.closed; },
    write: (bytes) => link.write(escapeData(bytes)),
    async setSignals(signals) {
      if (signals.dtr !== undefined) await command(CPO.SET_CONTROL, Uint8Array.of(signals.dtr ? CONTROL.DTR_ON : CONTROL.DTR_OFF), 'set DTR');
      if (signals.rts !== undefined) await command(CPO.SET_CONTROL, Uint8Array.of(signals.rts ? CONTROL.RTS_ON : CONTROL.RTS_OFF), 'set RTS');
    },
    setBaud: (baud) => command(CPO.SET_BAUDRATE, u32be(baud), `set ${baud} baud`),
  };
}
