// One SIP dialog (RFC 3261 12): Call-ID, the two tags inside the From/To values we send, CSeq
// numbers, the remote target and the route set. Values are copied out of the message that made
// the dialog into fixed buffers, since the receive buffer is reused by the next datagram.

import { SipMessage } from "./message";
import { SipWriter } from "./writer";
import { H_CALL_ID, H_CONTACT, H_RECORD_ROUTE, H_FROM, H_TO, H_ROUTE, H_CSEQ } from "./headers";
import { Span, addressUri, findParam, SipUri, CSeq, spansEqual } from "./uri";
import { elementEnd } from "./message";
import { SOCKADDR_BYTES } from "../lib/inet";

const CALL_ID_MAX: i32 = 128;
const VALUE_MAX: i32 = 256;
const ROUTES_MAX: i32 = 8;
const ROUTE_BYTES: i32 = 1024;

class Bytes {
  readonly data: StaticArray<u8>;
  length: i32 = 0;
  constructor(cap: i32) { this.data = new StaticArray<u8>(cap); }
  @inline get address(): usize { return changetype<usize>(this.data); }
  set(p: usize, len: i32): bool {
    if (len < 0 || len > this.data.length) { this.length = 0; return false; }
    memory.copy(this.address, p, <usize>len);
    this.length = len;
    return true;
  }
  append(p: usize, len: i32): bool {
    if (len < 0 || this.length + len > this.data.length) return false;
    memory.copy(this.address + <usize>this.length, p, <usize>len);
    this.length += len;
    return true;
  }
  ascii(s: string): bool {
    if (this.length + s.length > this.data.length) return false;
    for (let i = 0; i < s.length; i++) unchecked(this.data[this.length + i] = <u8>s.charCodeAt(i));
    this.length += s.length;
    return true;
  }
  equals(p: usize, len: i32): bool { return spansEqual(this.address, this.length, p, len); }
}

export { Bytes };

export class Dialog {
  active: bool = false;
  confirmed: bool = false;          // false while early (after a 1xx with a tag) or not yet ACKed
  readonly callId: Bytes = new Bytes(CALL_ID_MAX);
  readonly localValue: Bytes = new Bytes(VALUE_MAX);   // our From (UAC) or To (UAS) value, with our tag
  readonly remoteValue: Bytes = new Bytes(VALUE_MAX);  // the peer's, with its tag
  readonly localTag: Bytes = new Bytes(32);
  readonly remoteTag: Bytes = new Bytes(64);
  readonly remoteTarget: Bytes = new Bytes(VALUE_MAX);
  private readonly routes: Bytes = new Bytes(ROUTE_BYTES);
  private readonly routeAt: StaticArray<i32> = new StaticArray<i32>(ROUTES_MAX);
  private readonly routeLen: StaticArray<i32> = new StaticArray<i32>(ROUTES_MAX);
  routeCount: i32 = 0;
  localCSeq: u32 = 0;
  remoteCSeq: u32 = 0;               // 0: none seen yet
  readonly peer: StaticArray<u8> = new StaticArray<u8>(SOCKADDR_BYTES); // where the dialog's messages came from
  private readonly span: Span = new Span();
  private readonly uri: SipUri = new SipUri();
  private readonly cseq: CSeq = new CSeq();

  clear(): void {
    this.active = false;
    this.confirmed = false;
    this.callId.length = 0;
    this.localValue.length = 0;
    this.remoteValue.length = 0;
    this.localTag.length = 0;
    this.remoteTag.length = 0;
    this.remoteTarget.length = 0;
    this.routes.length = 0;
    this.routeCount = 0;
    this.remoteCSeq = 0;
  }

  /**
   * UAC side (12.1.2): from the 1xx/2xx to our INVITE. The route set is the Record-Route values
   * in reverse order; the remote target the Contact. Our From value and the Call-ID were set when
   * the INVITE was built. False when the response lacks what a dialog needs.
   */
  fromResponse(m: SipMessage): bool {
    const to = m.find(H_TO, 0);
    if (to < 0 || !this.remoteValue.set(m.valuePtr(to), m.valueLen[to])) return false;
    if (!this.readTag(m, to, this.remoteTag)) return false;
    if (!this.readContact(m)) return false;
    this.routeCount = 0;
    this.routes.length = 0;
    // Record-Route values, last first: walk them forward and insert each at the front.
    for (let h = m.find(H_RECORD_ROUTE, 0); h >= 0; h = m.find(H_RECORD_ROUTE, h + 1)) {
      const end = m.valueAt[h] + m.valueLen[h];
      for (let e = m.valueAt[h]; e < end;) {
        const ee = elementEnd(m.base, e, end);
        if (!this.addRoute(m.base, e, ee, true)) return false;
        e = ee + 1;
      }
    }
    this.active = true;
    return true;
  }

  /** UAS side (12.1.1): from the INVITE; our tag goes into the To value we answer with. */
  fromRequest(m: SipMessage, localTag: usize, localTagLen: i32, src: usize): bool {
    this.clear();
    const callId = m.find(H_CALL_ID, 0);
    const from = m.find(H_FROM, 0);
    const to = m.find(H_TO, 0);
    if (callId < 0 || from < 0 || to < 0) return false;
    if (!this.callId.set(m.valuePtr(callId), m.valueLen[callId])) return false;
    if (!this.remoteValue.set(m.valuePtr(from), m.valueLen[from])) return false;
    if (!this.readTag(m, from, this.remoteTag)) return false;
    if (!this.localValue.set(m.valuePtr(to), m.valueLen[to])) return false;
    if (!this.localValue.ascii(";tag=") || !this.localValue.append(localTag, localTagLen) || !this.localTag.set(localTag, localTagLen)) return false;
    if (!this.readContact(m)) return false;
    for (let h = m.find(H_RECORD_ROUTE, 0); h >= 0; h = m.find(H_RECORD_ROUTE, h + 1)) {
      const end = m.valueAt[h] + m.valueLen[h];
      for (let e = m.valueAt[h]; e < end;) {
        const ee = elementEnd(m.base, e, end);
        if (!this.addRoute(m.base, e, ee, false)) return false;
        e = ee + 1;
      }
    }
    const cs = m.find(H_CSEQ, 0);
    if (cs >= 0 && this.cseq.parse(m.base, m.valueAt[cs], m.valueAt[cs] + m.valueLen[cs]) == 0) this.remoteCSeq = this.cseq.number;
    memory.copy(changetype<usize>(this.peer), src, <usize>SOCKADDR_BYTES);
    this.active = true;
    return true;
  }

  /** Does this in-dialog request or response belong to us (Call-ID and both tags, 12.2.2)? */
  matches(m: SipMessage, isRequest: bool): bool {
    if (!this.active) return false;
    const callId = m.find(H_CALL_ID, 0);
    if (callId < 0 || !this.callId.equals(m.valuePtr(callId), m.valueLen[callId])) return false;
    // In a request the peer's tag is in From and ours in To; in a response the other way round.
    const remote = m.find(isRequest ? H_FROM : H_TO, 0);
    const local = m.find(isRequest ? H_TO : H_FROM, 0);
    if (remote < 0 || local < 0) return false;
    if (!this.tagIs(m, local, this.localTag)) return false;
    return this.remoteTag.length == 0 || this.tagIs(m, remote, this.remoteTag);
  }

  /** Writes Route headers (the route set) of an in-dialog request; loose routing (16.12) assumed. */
  writeRoutes(w: SipWriter): void {
    for (let i = 0; i < this.routeCount; i++) w.headerBytes(H_ROUTE, this.routes.address + <usize>this.routeAt[i], this.routeLen[i]);
  }

  /**
   * The SOCKADDR of the next hop of an in-dialog request (8.1.2): the first route if it is an IP
   * literal, else the remote target, else where the dialog's messages came from.
   */
  nextHop(sa: usize): void {
    if (this.routeCount > 0) {
      const r = this.routes.address;
      if (addressUri(r, this.routeAt[0], this.routeAt[0] + this.routeLen[0], this.span) >= 0
        && this.uri.parse(r, this.span.at, this.span.len) == 0 && this.uri.destination(r, sa)) return;
    }
    if (this.uri.parse(this.remoteTarget.address, 0, this.remoteTarget.length) == 0 && this.uri.destination(this.remoteTarget.address, sa)) return;
    memory.copy(sa, changetype<usize>(this.peer), <usize>SOCKADDR_BYTES);
  }

  private readTag(m: SipMessage, h: i32, into: Bytes): bool {
    const end = m.valueAt[h] + m.valueLen[h];
    const pe = addressUri(m.base, m.valueAt[h], end, this.span);
    if (pe < 0) return false;
    if (!findParam(m.base, pe, end, "tag", this.span)) { into.length = 0; return true; }
    return into.set(m.base + <usize>this.span.at, this.span.len);
  }

  private tagIs(m: SipMessage, h: i32, tag: Bytes): bool {
    const end = m.valueAt[h] + m.valueLen[h];
    const pe = addressUri(m.base, m.valueAt[h], end, this.span);
    if (pe < 0) return false;
    if (!findParam(m.base, pe, end, "tag", this.span)) return tag.length == 0;
    return tag.equals(m.base + <usize>this.span.at, this.span.len);
  }

  /** A target refresh (12.2.2: re-INVITE): the new Contact becomes the remote target. */
  refreshTarget(m: SipMessage): bool { return this.readContact(m); }

  private readContact(m: SipMessage): bool {
    const c = m.find(H_CONTACT, 0);
    if (c < 0) return this.remoteTarget.length > 0; // a re-INVITE's 2xx may keep the old target
    const end = m.valueAt[c] + m.valueLen[c];
    if (addressUri(m.base, m.valueAt[c], elementEnd(m.base, m.valueAt[c], end), this.span) < 0) return false;
    // The target becomes a Request-URI: it must be a SIP URI, not just bytes between < and >.
    if (this.uri.parse(m.base, this.span.at, this.span.len) != 0) return false;
    return this.remoteTarget.set(m.base + <usize>this.span.at, this.span.len);
  }

  private addRoute(p: usize, from: i32, to: i32, atFront: bool): bool {
    while (from < to && (load<u8>(p + <usize>from) == 0x20 || load<u8>(p + <usize>from) == 0x09)) from++;
    while (to > from && (load<u8>(p + <usize>(to - 1)) == 0x20 || load<u8>(p + <usize>(to - 1)) == 0x09)) to--;
    if (to <= from || this.routeCount == ROUTES_MAX) return false;
    const at = this.routes.length;
    if (!this.routes.append(p + <usize>from, to - from)) return false;
    if (atFront) {
      for (let i = this.routeCount; i > 0; i--) { this.routeAt[i] = this.routeAt[i - 1]; this.routeLen[i] = this.routeLen[i - 1]; }
      this.routeAt[0] = at;
      this.routeLen[0] = to - from;
    } else {
      this.routeAt[this.routeCount] = at;
      this.routeLen[this.routeCount] = to - from;
    }
    this.routeCount++;
    return true;
  }
}
