// RFC 2217 (Telnet COM Port Control): a serial port's data plus its line settings (baud,
// parity, DTR, RTS) over one TCP connection, as pyserial's rfc2217:// and ser2net serve it.
// This is the sans-IO codec both sides use: the client link (transport.ts) and the simulated
// board's UART server. Data bytes 0xFF travel doubled (IAC IAC); options are negotiated with
// WILL/DO; COM-PORT-OPTION (44) subnegotiations carry the settings, the server answering each
// with the same subcommand + 100.

export const IAC = 255, SB = 250, SE = 240, WILL = 251, WONT = 252, DO = 253, DONT = 254;
export const OPT_BINARY = 0, OPT_SGA = 3, OPT_COM_PORT = 44;

export const CPO = { SET_BAUDRATE: 1, SET_DATASIZE: 2, SET_PARITY: 3, SET_STOPSIZE: 4, SET_CONTROL: 5, PURGE_DATA: 12 } as const;
/** SERVER answers: the client's subcommand + 100. */
export const SERVER_OFFSET = 100;
export const PARITY = { none: 1, odd: 2, even: 3 } as const;
export const CONTROL = { DTR_ON: 8, DTR_OFF: 9, RTS_ON: 11, RTS_OFF: 12 } as const;

export type TelnetEvent =
  | { kind: "data"; bytes: Uint8Array }
  | { kind: "negotiate"; verb: number; option: number }
  | { kind: "subneg"; option: number; payload: Uint8Array };

const MAX_SUBNEG = 64;

/** Splits a received Telnet stream into data, negotiations and subnegotiations. */
export class TelnetDecoder {
  private state: "data" | "iac" | "verb" | "sb" | "sb-data" | "sb-iac" = "data";
  private verb = 0;
  private sbOption = 0;
  private sb: number[] = [];
  /** Subnegotiations longer than any COM-PORT-OPTION needs: dropped. */
  oversize = 0;

  push(chunk: Uint8Array): TelnetEvent[] {
    const events: TelnetEvent[] = [];
    let data: number[] = [];
    const flush = () => {
      if (data.length) events.push({ kind: "data", bytes: Uint8Array.from(data) });
      data = [];
    };
    for (const b of chunk) {
      switch (this.state) {
        case "data":
          if (b === IAC) this.state = "iac";
          else data.push(b);
          break;
        case "iac":
          if (b === IAC) { data.push(IAC); this.state = "data"; }
          else if (b === SB) this.state = "sb";
          else if (b === WILL || b === WONT || b === DO || b === DONT) { this.verb = b; this.state = "verb"; }
          else this.state = "data"; // NOP, GA and the like carry nothing for a serial port
          break;
        case "verb":
          flush();
          events.push({ kind: "negotiate", verb: this.verb, option: b });
          this.state = "data";
          break;
        case "sb":
          this.sbOption = b;
          this.sb = [];
          this.state = "sb-data";
          break;
        case "sb-data":
          if (b === IAC) this.state = "sb-iac";
          else if (this.sb.length < MAX_SUBNEG) this.sb.push(b);
          else this.sb.push(-1);
          break;
        case "sb-iac":
          if (b === IAC) { this.sb.push(IAC); this.state = "sb-data"; }
          else if (b === SE) {
            flush();
            if (this.sb.length > MAX_SUBNEG) this.oversize++;
            else events.push({ kind: "subneg", option: this.sbOption, payload: Uint8Array.from(this.sb) });
            this.state = "data";
          } else this.state = "data"; // a broken subnegotiation: forget it
          break;
      }
    }
    flush();
    return events;
  }
}

/** Data bytes with every 0xFF doubled. */
export function escapeData(bytes: Uint8Array): Uint8Array {
  let n = 0;
  for (const b of bytes) if (b === IAC) n++;
  if (n === 0) return bytes;
  const out = new Uint8Array(bytes.length + n);
  let j = 0;
  for (const b of bytes) {
    out[j++] = b;
    if (b === IAC) out[j++] = IAC;
  }
  return out;
}

export function negotiation(verb: number, option: number): Uint8Array {
  return Uint8Array.of(IAC, verb, option);
}

/** A COM-PORT-OPTION subnegotiation, payload escaped. */
export function comPortCommand(subcommand: number, value: Uint8Array): Uint8Array {
  return Uint8Array.of(IAC, SB, OPT_COM_PORT, ...escapeData(Uint8Array.of(subcommand, ...value)), IAC, SE);
}

export function u32be(n: number): Uint8Array {
  return Uint8Array.of((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
}

export function readU32be(b: Uint8Array, at = 0): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}
