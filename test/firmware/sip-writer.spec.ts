// SipWriter (firmware/sip/writer.ts): what it writes parses back; overflow never half-writes.
import { SipWriter } from "../../firmware/sip/writer";
import { SipMessage, SIP_OK } from "../../firmware/sip/message";
import { H_VIA, H_FROM, H_TO, H_CALL_ID, H_CSEQ, H_MAX_FORWARDS, H_CONTENT_TYPE, H_CONTENT_LENGTH } from "../../firmware/sip/headers";

const body = new StaticArray<u8>(4);
body[0] = 0x76; body[1] = 0x3d; body[2] = 0x30; body[3] = 0x0a; // "v=0\n"

function text(w: SipWriter): string {
  let s = "";
  for (let i = 0; i < w.length; i++) s += String.fromCharCode(w.data[i]);
  return s;
}

function mandatory(w: SipWriter): SipWriter {
  return w.header(H_VIA, "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1").header(H_FROM, "<sip:hall@192.0.2.1>;tag=9")
    .header(H_TO, "<sip:door@192.0.2.2>").header(H_CALL_ID, "c1").headerDecimal(H_CSEQ, 1);
}

describe("SipWriter", () => {
  it("writes a request with Content-Length and body, byte for byte", () => {
    const w = new SipWriter(1024);
    mandatory(w.request("INVITE", "sip:door@192.0.2.2")).headerDecimal(H_MAX_FORWARDS, 70).header(H_CONTENT_TYPE, "application/sdp");
    const n = w.finish(changetype<usize>(body), 4);
    expect(n).toBe(w.length);
    expect(text(w)).toBe("INVITE sip:door@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\nFrom: <sip:hall@192.0.2.1>;tag=9\r\nTo: <sip:door@192.0.2.2>\r\nCall-ID: c1\r\nCSeq: 1\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n");
  });

  it("what it writes parses back, as a datagram and on a stream", () => {
    const w = new SipWriter(1024);
    mandatory(w.status(180, "Ringing"));
    const n = w.finish(changetype<usize>(body), 4);
    const m = new SipMessage();
    expect(m.parse(w.address, n, true)).toBe(SIP_OK);
    expect(m.status).toBe(180);
    expect(m.bodyLen).toBe(4);
    expect(m.parse(w.address, n, false)).toBe(SIP_OK);
    expect(m.find(H_CONTENT_LENGTH, 0)).toBe(5);
  });

  it("sets overflow instead of writing past its buffer, and refuses impossible status codes", () => {
    const w = new SipWriter(64);
    mandatory(w.request("INVITE", "sip:door@192.0.2.2"));
    expect(w.overflow).toBe(true);
    expect(w.finish(changetype<usize>(body), 4)).toBe(-1);
    expect(w.length <= 64).toBe(true);
    w.status(99, "No");
    expect(w.overflow).toBe(true);
    w.status(200, "OK");
    expect(w.overflow).toBe(false, "reset by the next start line");
  });

  it("writes numbers: zero, negative, large", () => {
    const w = new SipWriter(64);
    w.reset().decimal(0).byte(0x20).decimal(-42).byte(0x20).decimal(4294967296);
    expect(text(w)).toBe("0 -42 4294967296");
  });
});
