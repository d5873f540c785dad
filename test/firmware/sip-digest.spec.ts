// Digest authentication (firmware/sip/digest.ts). Expected responses: RFC 7616 3.9.1 (MD5 and
// SHA-256, "Mufasa" / "Circle of Life") and RFC 2617 3.5 ("Circle Of Life"). The SIP responses
// (REGISTER, nc=2, -sess, no qop, escaped fields) were computed with Node 20's crypto.createHash
// from the RFC 7616 formulas before writing this spec; the same script reproduced the RFC values.
import {
  DigestChallenge, DigestClient, DIGEST_OK, DIGEST_NOT_DIGEST, DIGEST_MALFORMED, DIGEST_MISSING_REALM,
  DIGEST_MISSING_NONCE, DIGEST_UNSUPPORTED_ALGORITHM, DIGEST_UNSUPPORTED_QOP, DIGEST_FIELD_TOO_LONG, DIGEST_NO_ROOM,
  DIGEST_NO_CHALLENGE, DIGEST_NO_CREDENTIALS, DIGEST_BAD_CNONCE, ALG_MD5, ALG_MD5_SESS, ALG_SHA256, ALG_SHA256_SESS,
  MAX_REALM, MAX_NONCE, MAX_OPAQUE, MAX_AUTH_ATTEMPTS,
} from "../../firmware/sip/digest";

const IN = memory.data(2048);    // the header value, as in a received message
const OUT = memory.data(1024);   // the credentials written
const ARG = memory.data(512);    // uri, cnonce, credentials

const ch = new DigestChallenge();

function put(at: usize, s: string): i32 {
  for (let i = 0; i < s.length; i++) store<u8>(at + <usize>i, <u8>s.charCodeAt(i));
  return s.length;
}

function text(at: usize, n: i32): string {
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(load<u8>(at + <usize>i));
  return s;
}

function parse(s: string): i32 { return ch.parse(IN, put(IN, s)); }
function realm(): string { return text(ch.realmPtr, ch.realmLen); }
function nonce(): string { return text(ch.noncePtr, ch.nonceLen); }

function client(user: string, pass: string): DigestClient {
  const c = new DigestClient();
  const u = put(ARG, user);
  const p = put(ARG + 256, pass);
  expect(c.setCredentials(ARG, u, ARG + 256, p)).toBe(DIGEST_OK);
  return c;
}

/** respondWithCnonce() with uri and cnonce as text; the header text, or the error code as text. */
function answer(c: DigestClient, method: string, uri: string, cnonce: string): string {
  const u = put(ARG, uri);
  const k = put(ARG + 256, cnonce);
  const n = c.respondWithCnonce(ch, method, ARG, u, ARG + 256, k, OUT, 1024);
  return n < 0 ? "error " + n.toString() : text(OUT, n);
}

function repeat(c: string, n: i32): string { let s = ""; for (let i = 0; i < n; i++) s += c; return s; }

const RFC7616_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
const RFC7616_OPAQUE = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";
const RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
function rfc7616(algorithm: string): string {
  return "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=" + algorithm +
    ", nonce=\"" + RFC7616_NONCE + "\", opaque=\"" + RFC7616_OPAQUE + "\"";
}
const KAMAILIO = "Digest realm=\"tincan.test\", nonce=\"Z0sQaGVsbG8td29ybGQtbm9uY2U=\", qop=\"auth\"";
const SIP_NONCE = "Z0sQaGVsbG8td29ybGQtbm9uY2U=";

describe("DigestChallenge.parse", () => {
  it("the RFC 7616 challenge: realm, nonce, opaque, algorithm, qop list with auth", () => {
    expect(parse(rfc7616("MD5"))).toBe(DIGEST_OK);
    expect(ch.valid).toBe(true);
    expect(realm()).toBe("http-auth@example.org");
    expect(nonce()).toBe(RFC7616_NONCE);
    expect(text(ch.opaquePtr, ch.opaqueLen)).toBe(RFC7616_OPAQUE);
    expect(ch.hasOpaque).toBe(true);
    expect(ch.algorithm).toBe(ALG_MD5);
    expect(ch.qopAuth).toBe(true);
    expect(ch.stale).toBe(false);
    expect(parse(rfc7616("SHA-256"))).toBe(DIGEST_OK);
    expect(ch.algorithm).toBe(ALG_SHA256);
  });

  it("a kamailio-style challenge; no algorithm means MD5, no opaque", () => {
    expect(parse(KAMAILIO)).toBe(DIGEST_OK);
    expect(realm()).toBe("tincan.test");
    expect(nonce()).toBe(SIP_NONCE);
    expect(ch.algorithm).toBe(ALG_MD5);
    expect(ch.hasOpaque).toBe(false);
    expect(ch.qopAuth).toBe(true);
  });

  it("case-insensitive scheme, names and tokens; quoted algorithm; spaces, tabs, empty elements", () => {
    expect(parse("  DIGEST\tREALM = \"R\" ,, Nonce=\"n\",ALGORITHM=\"sha-256-SESS\" , QOP=AUTH,")).toBe(DIGEST_OK);
    expect(realm()).toBe("R");
    expect(nonce()).toBe("n");
    expect(ch.algorithm).toBe(ALG_SHA256_SESS);
    expect(ch.qopAuth).toBe(true);
    expect(parse("digest realm=r, nonce=abc, algorithm=md5-sess, qop=\"auth-int,auth\"")).toBe(DIGEST_OK);
    expect(realm()).toBe("r");
    expect(ch.algorithm).toBe(ALG_MD5_SESS);
  });

  it("undoes quoted-pair escapes and ignores unknown parameters", () => {
    expect(parse("Digest domain=\"sip:a.test sip:b.test\", realm=\"a\\\"b\\\\c\", x-ext=\"1,2\", charset=UTF-8, nonce=\"n\\x\", userhash=false")).toBe(DIGEST_OK);
    expect(realm()).toBe("a\"b\\c");
    expect(nonce()).toBe("nx");
  });

  it("stale=true in any case or quoted; stale=false", () => {
    expect(parse(KAMAILIO + ", stale=true")).toBe(DIGEST_OK);
    expect(ch.stale).toBe(true);
    expect(parse(KAMAILIO + ", stale=\"TRUE\"")).toBe(DIGEST_OK);
    expect(ch.stale).toBe(true);
    expect(parse(KAMAILIO + ", stale=false")).toBe(DIGEST_OK);
    expect(ch.stale).toBe(false);
  });

  it("stops at a second challenge in the same field", () => {
    expect(parse(KAMAILIO + ", Basic realm=\"other\"")).toBe(DIGEST_OK);
    expect(realm()).toBe("tincan.test");
  });

  it("refuses other schemes, missing fields, unsupported algorithms and qop", () => {
    expect(parse("Basic realm=\"tincan.test\"")).toBe(DIGEST_NOT_DIGEST);
    expect(parse("Digestive realm=\"x\", nonce=\"y\"")).toBe(DIGEST_NOT_DIGEST);
    expect(ch.parse(IN, 0)).toBe(DIGEST_NOT_DIGEST);
    expect(ch.parse(IN, -1)).toBe(DIGEST_NOT_DIGEST);
    expect(parse("Digest")).toBe(DIGEST_MISSING_REALM);
    expect(parse("Digest realm=\"tincan.test\", qop=\"auth\"")).toBe(DIGEST_MISSING_NONCE);
    expect(parse("Digest realm=\"tincan.test\", nonce=\"\"")).toBe(DIGEST_MISSING_NONCE);
    expect(parse("Digest nonce=\"abc\"")).toBe(DIGEST_MISSING_REALM);
    expect(parse(KAMAILIO + ", algorithm=SHA-512-256")).toBe(DIGEST_UNSUPPORTED_ALGORITHM);
    expect(parse(KAMAILIO + ", algorithm=AKAv1-MD5")).toBe(DIGEST_UNSUPPORTED_ALGORITHM);
    expect(parse("Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\"")).toBe(DIGEST_UNSUPPORTED_QOP);
    expect(parse("Digest realm=\"r\", nonce=\"n\", algorithm=MD5-sess")).toBe(DIGEST_UNSUPPORTED_QOP);
    expect(ch.valid).toBe(false);
  });

  it("refuses malformed syntax", () => {
    expect(parse("Digest realm=\"r, nonce=\"n\"")).toBe(DIGEST_MALFORMED); // quote closes late, junk follows
    expect(parse("Digest realm=\"r\" nonce=\"n\"")).toBe(DIGEST_MALFORMED);  // no comma
    expect(parse("Digest realm")).toBe(DIGEST_MALFORMED);
    expect(parse("Digest realm=")).toBe(DIGEST_MALFORMED);
    expect(parse("Digest realm=, nonce=\"n\"")).toBe(DIGEST_MALFORMED);
    expect(parse("Digest =\"r\"")).toBe(DIGEST_MALFORMED);
    expect(parse("Digest,realm=\"r\", nonce=\"n\"")).toBe(DIGEST_MALFORMED);
    expect(parse("Digest realm=\"a\", realm=\"b\", nonce=\"n\"")).toBe(DIGEST_MALFORMED); // duplicate
    expect(parse("Digest realm=\"r\", nonce=\"n\\")).toBe(DIGEST_MALFORMED); // lone backslash at the end
  });

  it("bounds every stored field: at the limit accepted, one past refused", () => {
    expect(parse("Digest realm=\"" + repeat("r", MAX_REALM) + "\", nonce=\"" + repeat("n", MAX_NONCE) + "\", opaque=\"" + repeat("o", MAX_OPAQUE) + "\"")).toBe(DIGEST_OK);
    expect(ch.realmLen).toBe(MAX_REALM);
    expect(ch.nonceLen).toBe(MAX_NONCE);
    expect(ch.opaqueLen).toBe(MAX_OPAQUE);
    expect(parse("Digest realm=\"" + repeat("r", MAX_REALM + 1) + "\", nonce=\"n\"")).toBe(DIGEST_FIELD_TOO_LONG);
    expect(parse("Digest realm=\"r\", nonce=\"" + repeat("n", MAX_NONCE + 1) + "\"")).toBe(DIGEST_FIELD_TOO_LONG);
    expect(parse("Digest realm=\"r\", nonce=\"n\", opaque=" + repeat("o", MAX_OPAQUE + 1))).toBe(DIGEST_FIELD_TOO_LONG);
    // Escapes count once: 128 escaped quotes fit.
    expect(parse("Digest realm=\"" + repeat("\\\"", MAX_REALM) + "\", nonce=\"n\"")).toBe(DIGEST_OK);
    expect(ch.realmLen).toBe(MAX_REALM);
    // An unknown parameter may be of any length.
    expect(parse(KAMAILIO + ", x=\"" + repeat("x", 1000) + "\"")).toBe(DIGEST_OK);
  });

  it("every truncation of a valid header is refused or parses what is there, never reading past len", () => {
    // The rest of the header stays in memory after each cut: a parser reading past len would
    // find the closing quotes and succeed where it must refuse.
    const full = KAMAILIO + ", opaque=\"op\\\"aq\", algorithm=MD5, stale=true";
    const n = put(IN, full);
    const nonceDone = full.indexOf("\", qop") + 1;
    let ok = 0;
    for (let cut = 0; cut < n; cut++) {
      const r = ch.parse(IN, cut);
      expect(r <= 0).toBe(true, "cut at " + cut.toString());
      if (cut < nonceDone) expect(r < 0).toBe(true, "cut at " + cut.toString() + " before the nonce ends");
      // Inside a quoted value (an odd number of unescaped quotes so far): always malformed.
      let quotes = 0;
      for (let i = 0; i < cut; i++) {
        const c = load<u8>(IN + <usize>i);
        if (c == 0x5c) { i++; continue; }
        if (c == 0x22) quotes++;
      }
      if ((quotes & 1) == 1) expect(r).toBe(DIGEST_MALFORMED, "cut at " + cut.toString() + " inside quotes");
      if (r == DIGEST_OK) ok++;
      expect(ch.valid).toBe(r == DIGEST_OK);
    }
    expect(ok > 0).toBe(true);
    expect(ch.parse(IN, n)).toBe(DIGEST_OK);
    expect(text(ch.opaquePtr, ch.opaqueLen)).toBe("op\"aq");
    expect(ch.stale).toBe(true);
  });
});

describe("DigestClient.respond", () => {
  it("RFC 7616 3.9.1, MD5: the whole credentials value", () => {
    expect(parse(rfc7616("MD5"))).toBe(DIGEST_OK);
    const c = client("Mufasa", "Circle of Life");
    expect(answer(c, "GET", "/dir/index.html", RFC7616_CNONCE)).toBe(
      "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", nonce=\"" + RFC7616_NONCE +
      "\", uri=\"/dir/index.html\", response=\"8ca523f5e9506fed4657c9700eebdbec\", algorithm=MD5, cnonce=\"" +
      RFC7616_CNONCE + "\", opaque=\"" + RFC7616_OPAQUE + "\", qop=auth, nc=00000001");
  });

  it("RFC 7616 3.9.1, SHA-256", () => {
    expect(parse(rfc7616("SHA-256"))).toBe(DIGEST_OK);
    const c = client("Mufasa", "Circle of Life");
    const s = answer(c, "GET", "/dir/index.html", RFC7616_CNONCE);
    expect(s.includes("response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\", algorithm=SHA-256,")).toBe(true, s);
  });

  it("RFC 2617 3.5", () => {
    expect(parse("Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"")).toBe(DIGEST_OK);
    const s = answer(client("Mufasa", "Circle Of Life"), "GET", "/dir/index.html", "0a4f113b");
    expect(s.includes("response=\"6629fae49393a05397450978507c4ef1\"")).toBe(true, s);
    expect(s.includes("cnonce=\"0a4f113b\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\", qop=auth, nc=00000001")).toBe(true, s);
  });

  it("without qop: the RFC 2069 response, no cnonce, qop or nc", () => {
    expect(parse("Digest realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"")).toBe(DIGEST_OK);
    expect(answer(client("Mufasa", "CircleOfLife"), "GET", "/dir/index.html", "unused")).toBe(
      "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", response=\"1949323746fe6a43ef61f9606e7febea\", algorithm=MD5, opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
  });

  it("a SIP REGISTER with random cnonce bytes (hex-encoded); nc counts per nonce", () => {
    expect(parse(KAMAILIO)).toBe(DIGEST_OK);
    const c = client("door", "s3cr3t");
    const random = ARG + 300;
    for (let i = 0; i < 12; i++) store<u8>(random + <usize>i, <u8>i);
    const u = put(ARG, "sip:tincan.test");
    let n = c.respond(ch, "REGISTER", ARG, u, random, 12, OUT, 1024);
    expect(text(OUT, n)).toBe("Digest username=\"door\", realm=\"tincan.test\", nonce=\"" + SIP_NONCE +
      "\", uri=\"sip:tincan.test\", response=\"8dcddae3ff7e9e924728cdbb47052ad1\", algorithm=MD5, cnonce=\"000102030405060708090a0b\", qop=auth, nc=00000001");
    expect(c.nonceCount).toBe(1);
    n = c.respond(ch, "REGISTER", ARG, u, random, 12, OUT, 1024);
    expect(text(OUT, n).includes("response=\"e58c13c34b0fc6ebade99bc66093bb31\"")).toBe(true);
    expect(text(OUT, n).endsWith("nc=00000002")).toBe(true);
    expect(parse("Digest realm=\"tincan.test\", nonce=\"fresh\", qop=auth")).toBe(DIGEST_OK);
    n = c.respond(ch, "REGISTER", ARG, u, random, 12, OUT, 1024);
    expect(text(OUT, n).endsWith("nc=00000001")).toBe(true, "a new nonce starts over");
    expect(c.respond(ch, "REGISTER", ARG, u, random, 0, OUT, 1024)).toBe(DIGEST_BAD_CNONCE);
    expect(c.respond(ch, "REGISTER", ARG, u, random, 33, OUT, 1024)).toBe(DIGEST_BAD_CNONCE);
  });

  it("MD5-sess, SHA-256 and SHA-256-sess for SIP", () => {
    const cn = "000102030405060708090a0b";
    const c = client("door", "s3cr3t");
    expect(parse(KAMAILIO + ", algorithm=MD5-sess")).toBe(DIGEST_OK);
    let s = answer(c, "REGISTER", "sip:tincan.test", cn);
    expect(s.includes("response=\"6a0775911647b03894128c549ba58f58\", algorithm=MD5-sess,")).toBe(true, s);
    expect(parse(KAMAILIO + ", algorithm=SHA-256")).toBe(DIGEST_OK);
    c.newRequest();
    s = answer(new DigestClient(), "REGISTER", "sip:tincan.test", cn);
    expect(s).toBe("error " + DIGEST_NO_CREDENTIALS.toString());
    s = answer(client("door", "s3cr3t"), "REGISTER", "sip:tincan.test", cn);
    expect(s.includes("response=\"f250f045284cc42c9a0c45dd1a60b5912698a1aa3629d44b1324c856de169c85\", algorithm=SHA-256,")).toBe(true, s);
    expect(parse(KAMAILIO + ", algorithm=SHA-256-sess")).toBe(DIGEST_OK);
    s = answer(client("door", "s3cr3t"), "REGISTER", "sip:tincan.test", cn);
    expect(s.includes("response=\"240fdbb875f9bb5cd22d835684b9702b5cdecb406db5f94ed9327696865666c7\", algorithm=SHA-256-sess,")).toBe(true, s);
  });

  it("escapes '\"' and '\\' in quoted values, hashing the unescaped text", () => {
    expect(parse("Digest realm=\"r\\\"1\", nonce=\"n\\\"x\", qop=auth")).toBe(DIGEST_OK);
    const s = answer(client("a\"b\\c", "p"), "INVITE", "sip:bob@tincan.test", "000102030405060708090a0b");
    expect(s).toBe("Digest username=\"a\\\"b\\\\c\", realm=\"r\\\"1\", nonce=\"n\\\"x\", uri=\"sip:bob@tincan.test\", response=\"38fd654297625f3739f70a87aff60232\", algorithm=MD5, cnonce=\"000102030405060708090a0b\", qop=auth, nc=00000001");
    // What it writes parses back as the same realm and nonce.
    const back = new DigestChallenge();
    expect(back.parse(IN, put(IN, s))).toBe(DIGEST_OK);
    expect(text(back.realmPtr, back.realmLen)).toBe("r\"1");
    expect(text(back.noncePtr, back.nonceLen)).toBe("n\"x");
  });

  it("a buffer too small at any size: DIGEST_NO_ROOM, nothing past cap, nc not spent", () => {
    expect(parse(rfc7616("MD5"))).toBe(DIGEST_OK);
    const c = client("Mufasa", "Circle of Life");
    const u = put(ARG, "/dir/index.html");
    const k = put(ARG + 256, RFC7616_CNONCE);
    const full = c.respondWithCnonce(ch, "GET", ARG, u, ARG + 256, k, OUT, 1024);
    expect(full > 0).toBe(true);
    c.newRequest();
    // Same nonce again: 00000002 from now on, however many times it does not fit.
    for (let cap = 0; cap < full; cap++) {
      store<u8>(OUT + <usize>cap, 0xee);
      expect(c.respondWithCnonce(ch, "GET", ARG, u, ARG + 256, k, OUT, cap)).toBe(DIGEST_NO_ROOM);
      expect(load<u8>(OUT + <usize>cap)).toBe(0xee, "cap " + cap.toString());
    }
    expect(c.nonceCount).toBe(1);
    const n = c.respondWithCnonce(ch, "GET", ARG, u, ARG + 256, k, OUT, full);
    expect(text(OUT, n).endsWith("nc=00000002")).toBe(true);
  });

  it("refuses an unparsed challenge, bad cnonces and oversize credentials", () => {
    const c = client("door", "s3cr3t");
    expect(parse("Basic realm=\"x\"")).toBe(DIGEST_NOT_DIGEST);
    expect(answer(c, "REGISTER", "sip:tincan.test", "abc")).toBe("error " + DIGEST_NO_CHALLENGE.toString());
    expect(parse(KAMAILIO)).toBe(DIGEST_OK);
    expect(answer(c, "REGISTER", "sip:tincan.test", "")).toBe("error " + DIGEST_BAD_CNONCE.toString());
    expect(answer(c, "REGISTER", "sip:tincan.test", repeat("c", 65))).toBe("error " + DIGEST_BAD_CNONCE.toString());
    expect(c.setCredentials(ARG, 129, ARG, 4)).toBe(DIGEST_FIELD_TOO_LONG);
    expect(c.setCredentials(ARG, 0, ARG, 4)).toBe(DIGEST_FIELD_TOO_LONG);
    expect(answer(c, "REGISTER", "sip:tincan.test", "abc")).toBe("error " + DIGEST_NO_CREDENTIALS.toString());
  });
});

function send(c: DigestClient): void { expect(answer(c, "REGISTER", "sip:tincan.test", "abc").startsWith("Digest ")).toBe(true); }

describe("DigestClient.shouldRetry", () => {
  it("answers a first challenge; gives up when the same realm rejects the answer", () => {
    const c = client("door", "wrong");
    expect(parse(KAMAILIO)).toBe(DIGEST_OK);
    expect(c.shouldRetry(ch)).toBe(true);
    send(c);
    expect(parse("Digest realm=\"tincan.test\", nonce=\"another\", qop=auth")).toBe(DIGEST_OK);
    expect(c.shouldRetry(ch)).toBe(false, "credentials rejected: no loop");
    c.newRequest();
    expect(c.shouldRetry(ch)).toBe(true, "the next request may try again");
  });

  it("a stale nonce earns exactly one more answer", () => {
    const c = client("door", "s3cr3t");
    expect(parse(KAMAILIO)).toBe(DIGEST_OK);
    expect(c.shouldRetry(ch)).toBe(true);
    send(c);
    expect(parse("Digest realm=\"tincan.test\", nonce=\"newer\", qop=auth, stale=true")).toBe(DIGEST_OK);
    expect(c.shouldRetry(ch)).toBe(true);
    send(c);
    expect(c.shouldRetry(ch)).toBe(false, "stale again: give up");
  });

  it("another realm (a proxy, then the registrar) is answered too, within MAX_AUTH_ATTEMPTS", () => {
    const c = client("door", "s3cr3t");
    for (let i = 0; i < MAX_AUTH_ATTEMPTS; i++) {
      expect(parse("Digest realm=\"hop" + i.toString() + "\", nonce=\"n\"")).toBe(DIGEST_OK);
      expect(c.shouldRetry(ch)).toBe(true, "hop " + i.toString());
      send(c);
    }
    expect(parse("Digest realm=\"hop9\", nonce=\"n\"")).toBe(DIGEST_OK);
    expect(c.shouldRetry(ch)).toBe(false);
  });

  it("never for an unparsed challenge or without credentials", () => {
    expect(parse("Digest realm=\"r\"")).toBe(DIGEST_MISSING_NONCE);
    expect(client("door", "s3cr3t").shouldRetry(ch)).toBe(false);
    expect(parse(KAMAILIO)).toBe(DIGEST_OK);
    expect(new DigestClient().shouldRetry(ch)).toBe(false);
  });
});

function probe(): usize {
  const p = heap.alloc(16);
  heap.free(p);
  return p;
}

describe("allocation", () => {
  it("parse, respond and shouldRetry allocate nothing: 2,000 rounds", () => {
    const c = client("door", "s3cr3t");
    const h = put(IN, KAMAILIO + ", opaque=\"o\", algorithm=SHA-256-sess");
    const u = put(ARG, "sip:tincan.test");
    const random = ARG + 300;
    const before = probe();
    let bad = 0;
    for (let i = 0; i < 2000; i++) {
      store<u8>(random, <u8>i);
      if (ch.parse(IN, h) != DIGEST_OK) bad++;
      if (!c.shouldRetry(ch)) c.newRequest();
      if (c.respond(ch, "REGISTER", ARG, u, random, 12, OUT, 1024) <= 0) bad++;
    }
    expect(probe()).toBe(before);
    expect(bad).toBe(0);
    expect(c.nonceCount).toBe(2000);
  });
});
