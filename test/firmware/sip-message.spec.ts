// SIP message parsing (firmware/sip/message.ts): start lines, headers in all their RFC 3261
// forms, bodies by Content-Length, stream framing, and every malformed input refused.
import {
  SipMessage, SIP_OK, SIP_INCOMPLETE, SIP_TOO_LARGE, SIP_BAD_START_LINE, SIP_BAD_HEADER, SIP_TOO_MANY_HEADERS,
  SIP_BAD_CONTENT_LENGTH, SIP_MISSING_HEADER, MAX_HEADERS, MAX_MESSAGE, elementEnd, sipFrameLength,
} from "../../firmware/sip/message";
import { H_VIA, H_FROM, H_TO, H_CALL_ID, H_CSEQ, H_CONTACT, H_CONTENT_LENGTH, H_SUBJECT, H_OTHER, H_CONTENT_TYPE } from "../../firmware/sip/headers";

const buf = new StaticArray<u8>(MAX_MESSAGE + 64);
const msg = new SipMessage();
const base = changetype<usize>(buf);

function put(s: string): i32 {
  for (let i = 0; i < s.length; i++) buf[i] = <u8>s.charCodeAt(i);
  return s.length;
}

function text(offset: i32, len: i32): string {
  let s = "";
  for (let i = 0; i < len; i++) s += String.fromCharCode(load<u8>(base + <usize>(offset + i)));
  return s;
}

function value(h: i32): string { return text(msg.valueAt[h], msg.valueLen[h]); }

const MANDATORY = "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds\r\nTo: <sip:door@192.0.2.2>\r\nFrom: <sip:hall@192.0.2.1>;tag=1928301774\r\nCall-ID: a84b4c76e66710\r\nCSeq: 314159 INVITE\r\n";

describe("SIP start lines", () => {
  it("parses a request: method, Request-URI, version", () => {
    const n = put("INVITE sip:door@192.0.2.2 SIP/2.0\r\n" + MANDATORY + "Content-Length: 0\r\n\r\n");
    expect(msg.parse(base, n, true)).toBe(SIP_OK);
    expect(msg.isRequest).toBe(true);
    expect(msg.isMethod("INVITE")).toBe(true);
    expect(text(msg.uriAt, msg.uriLen)).toBe("sip:door@192.0.2.2");
    expect(msg.count).toBe(6);
    expect(msg.bodyLen).toBe(0);
  });

  it("parses responses, reason phrases with spaces or none", () => {
    let n = put("SIP/2.0 486 Busy Here\r\n" + MANDATORY + "\r\n");
    expect(msg.parse(base, n, true)).toBe(SIP_OK);
    expect(msg.isRequest).toBe(false);
    expect(msg.status).toBe(486);
    expect(text(msg.reasonAt, msg.reasonLen)).toBe("Busy Here");
    n = put("sip/2.0 200 \r\n" + MANDATORY + "\r\n");
    expect(msg.parse(base, n, true)).toBe(SIP_OK, "the version is case-insensitive; the reason may be empty");
    expect(msg.status).toBe(200);
  });

  it("skips CRLFs before the start line (7.5)", () => {
    const n = put("\r\n\r\nOPTIONS sip:door@192.0.2.2 SIP/2.0\r\n" + MANDATORY + "\r\n");
    expect(msg.parse(base, n, true)).toBe(SIP_OK);
    expect(msg.isMethod("OPTIONS")).toBe(true);
  });

  it("refuses bad start lines", () => {
    const bad: string[] = [
      "INVITE sip:a@b SIP/3.0\r\n", "INVITE sip:a@b\r\n", "SIP/2.0 99 Too Low\r\n", "SIP/2.0 700 Too High\r\n",
      "SIP/2.0 20x OK\r\n", "INV@TE sip:a@b SIP/2.0\r\n", "INVITE  SIP/2.0\r\n", "garbage\r\n", "",
    ];
    for (let i = 0; i < bad.length; i++) {
      const n = put(bad[i] + MANDATORY + "\r\n");
      expect(msg.parse(base, n, true)).toBe(SIP_BAD_START_LINE, bad[i]);
    }
  });
});

describe("SIP headers", () => {
  it("knows compact forms and is case-insensitive about names", () => {
    const n = put("INVITE sip:door@192.0.2.2 SIP/2.0\r\nv: SIP/2.0/UDP 192.0.2.1\r\nt: <sip:door@192.0.2.2>\r\nF: <sip:hall@192.0.2.1>;tag=1\r\ni: abc\r\ncSeQ: 1 INVITE\r\nm: <sip:hall@192.0.2.1>\r\nc: application/sdp\r\nX-Custom: 1\r\nl: 4\r\n\r\nv=0\r\n");
    expect(msg.parse(base, n, true)).toBe(SIP_OK);
    expect(msg.ids[0]).toBe(H_VIA);
    expect(msg.ids[1]).toBe(H_TO);
    expect(msg.ids[2]).toBe(H_FROM);
    expect(msg.ids[3]).toBe(H_CALL_ID);
    expect(msg.ids[4]).toBe(H_CSEQ);
    expect(msg.ids[5]).toBe(H_CONTACT);
    expect(msg.ids[6]).toBe(H_CONTENT_TYPE);
    expect(msg.ids[7]).toBe(H_OTHER);
    expect(msg.ids[8]).toBe(H_CONTENT_LENGTH);
    expect(msg.bodyLen).toBe(4, "a UDP body is cut to Content-Length");
    expect(text(msg.bodyAt, msg.bodyLen)).toBe("v=0\r");
  });

  it("trims whitespace around the colon and the value, and unfolds folded lines in place", () => {
    const n = put("MESSAGE sip:door@192.0.2.2 SIP/2.0\r\n" + MANDATORY + "Subject   :   I know you're there,\r\n      pick up the phone   \r\n\tand talk to me!\r\n\r\n");
    expect(msg.parse(base, n, true)).toBe(SIP_OK);
    const h = msg.find(H_SUBJECT, 0);
    expect(h).toBe(5);
    expect(value(h)).toBe("I know you're there,        pick up the phone     \tand talk to me!");
  });

  it("splits comma-separated values, not inside quotes or angle brackets", () => {
    const n = put("REGISTER sip:192.0.2.2 SIP/2.0\r\n" + MANDATORY + "Contact: \"Mr. Watson, Jr.\" <sip:watson@192.0.2.3>, <sip:a@192.0.2.4;x=\"1,2\">;q=0.7,sip:b@192.0.2.5\r\n\r\n");
    expect(msg.parse(base, n, true)).toBe(SIP_OK);
    const h = msg.find(H_CONTACT, 0);
    const start = msg.valueAt[h];
    const end = start + msg.valueLen[h];
    const e1 = elementEnd(base, start, end);
    expect(text(start, e1 - start)).toBe("\"Mr. Watson, Jr.\" <sip:watson@192.0.2.3>");
    const e2 = elementEnd(base, e1 + 1, end);
    expect(text(e1 + 1, e2 - e1 - 1)).toBe(" <sip:a@192.0.2.4;x=\"1,2\">;q=0.7");
    const e3 = elementEnd(base, e2 + 1, end);
    expect(e3).toBe(end);
    expect(text(e2 + 1, e3 - e2 - 1)).toBe("sip:b@192.0.2.5");
  });

  it("refuses headers without a colon, with a bad name, a fold before any header, or too many", () => {
    let n = put("INVITE sip:a@b SIP/2.0\r\n" + MANDATORY + "NoColonHere\r\n\r\n");
    expect(msg.parse(base, n, true)).toBe(SIP_BAD_HEADER);
    n = put("INVITE sip:a@b SIP/2.0\r\n" + MANDATORY + "Bad Name: x\r\n\r\n");
    expect(msg.parse(base, n, true)).toBe(SIP_BAD_HEADER);
    n = put("INVITE sip:a@b SIP/2.0\r\n  folded: first\r\n" + MANDATORY + "\r\n");
    expect(msg.parse(base, n, true)).toBe(SIP_BAD_HEADER);
    n = put("INVITE sip:a@b SIP/2.0\r\n" + MANDATORY);
    expect(msg.parse(base, n, true)).toBe(SIP_BAD_HEADER, "no empty line after the headers");
    let many = "INVITE sip:a@b SIP/2.0\r\n" + MANDATORY;
    for (let i = 0; i < MAX_HEADERS; i++) many += "X-H: " + i.toString() + "\r\n";
    n = put(many + "\r\n");
    expect(msg.parse(base, n, true)).toBe(SIP_TOO_MANY_HEADERS);
  });

  it("refuses a message without one of Via, From, To, Call-ID, CSeq", () => {
    const lines = MANDATORY.split("\r\n");
    for (let skip = 0; skip < 5; skip++) {
      let s = "BYE sip:a@b SIP/2.0\r\n";
      for (let i = 0; i < 5; i++) if (i != skip) s += lines[i] + "\r\n";
      const n = put(s + "\r\n");
      expect(msg.parse(base, n, true)).toBe(SIP_MISSING_HEADER, lines[skip]);
    }
  });
});

describe("SIP bodies and framing", () => {
  it("datagram: no Content-Length takes the rest; a longer Content-Length than the rest is refused", () => {
    let n = put("MESSAGE sip:a@b SIP/2.0\r\n" + MANDATORY + "\r\nhello");
    expect(msg.parse(base, n, true)).toBe(SIP_OK);
    expect(text(msg.bodyAt, msg.bodyLen)).toBe("hello");
    n = put("MESSAGE sip:a@b SIP/2.0\r\n" + MANDATORY + "Content-Length: 6\r\n\r\nhello");
    expect(msg.parse(base, n, true)).toBe(SIP_BAD_CONTENT_LENGTH);
    n = put("MESSAGE sip:a@b SIP/2.0\r\n" + MANDATORY + "Content-Length: five\r\n\r\nhello");
    expect(msg.parse(base, n, true)).toBe(SIP_BAD_CONTENT_LENGTH);
    n = put("MESSAGE sip:a@b SIP/2.0\r\n" + MANDATORY + "Content-Length: 5\r\nl: 4\r\n\r\nhello");
    expect(msg.parse(base, n, true)).toBe(SIP_BAD_CONTENT_LENGTH, "two lengths that disagree");
  });

  it("stream: Content-Length is required and exact", () => {
    let n = put("MESSAGE sip:a@b SIP/2.0\r\n" + MANDATORY + "\r\nhello");
    expect(msg.parse(base, n, false)).toBe(SIP_BAD_CONTENT_LENGTH);
    n = put("MESSAGE sip:a@b SIP/2.0\r\n" + MANDATORY + "Content-Length: 5\r\n\r\nhello");
    expect(msg.parse(base, n, false)).toBe(SIP_OK);
  });

  it("frames messages on a stream: incomplete, whole, two back to back, keepalive CRLFs first", () => {
    const one = "MESSAGE sip:a@b SIP/2.0\r\n" + MANDATORY + "Content-Length: 5\r\n\r\nhello";
    let n = put(one.substring(0, 40));
    expect(sipFrameLength(base, n)).toBe(SIP_INCOMPLETE);
    n = put(one.substring(0, one.length - 1));
    expect(sipFrameLength(base, n)).toBe(SIP_INCOMPLETE, "one body byte short");
    n = put(one + one);
    expect(sipFrameLength(base, n)).toBe(one.length);
    n = put("\r\n\r\n" + one);
    expect(sipFrameLength(base, n)).toBe(one.length + 4);
    n = put("MESSAGE sip:a@b SIP/2.0\r\n" + MANDATORY + "\r\n");
    expect(sipFrameLength(base, n)).toBe(SIP_BAD_CONTENT_LENGTH);
    n = put("MESSAGE sip:a@b SIP/2.0\r\n" + MANDATORY + "l: 99999\r\n\r\n");
    expect(sipFrameLength(base, n)).toBe(SIP_BAD_CONTENT_LENGTH, "beyond any message we take");
  });

  it("refuses a message larger than MAX_MESSAGE", () => {
    expect(msg.parse(base, MAX_MESSAGE + 1, true)).toBe(SIP_TOO_LARGE);
    for (let i = 0; i < MAX_MESSAGE + 10; i++) buf[i] = 0x41;
    expect(sipFrameLength(base, MAX_MESSAGE + 10)).toBe(SIP_TOO_LARGE);
  });

  it("never traps on random bytes or on any truncation of a valid message", () => {
    const valid = "INVITE sip:door@192.0.2.2 SIP/2.0\r\n" + MANDATORY + "Content-Length: 3\r\n\r\nabc";
    for (let cut = 0; cut <= valid.length; cut++) {
      put(valid);
      const r = msg.parse(base, cut, true);
      expect(r <= SIP_OK).toBe(true);
      sipFrameLength(base, cut);
    }
    let seed: u32 = 12345;
    for (let round = 0; round < 200; round++) {
      const n = <i32>(seed % 600);
      for (let i = 0; i < n; i++) {
        seed = seed * 1103515245 + 12345;
        const r = (seed >> 16) & 0xff;
        buf[i] = r < 40 ? 13 : r < 80 ? 10 : r < 100 ? 58 : r < 120 ? 32 : <u8>r;
      }
      msg.parse(base, n, (round & 1) == 0);
      sipFrameLength(base, n);
    }
    expect(true).toBe(true);
  });
});
