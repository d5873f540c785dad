// SIP header names the user agent acts on (RFC 3261 section 20, compact forms from section 7.3.3
// and the IANA registry). Matching is case-insensitive on bytes; no strings are built.

export const H_OTHER: i32 = 0;
export const H_VIA: i32 = 1;
export const H_FROM: i32 = 2;
export const H_TO: i32 = 3;
export const H_CALL_ID: i32 = 4;
export const H_CSEQ: i32 = 5;
export const H_CONTACT: i32 = 6;
export const H_CONTENT_LENGTH: i32 = 7;
export const H_CONTENT_TYPE: i32 = 8;
export const H_MAX_FORWARDS: i32 = 9;
export const H_ROUTE: i32 = 10;
export const H_RECORD_ROUTE: i32 = 11;
export const H_WWW_AUTHENTICATE: i32 = 12;
export const H_PROXY_AUTHENTICATE: i32 = 13;
export const H_AUTHORIZATION: i32 = 14;
export const H_PROXY_AUTHORIZATION: i32 = 15;
export const H_EXPIRES: i32 = 16;
export const H_CALL_INFO: i32 = 17;
export const H_ALERT_INFO: i32 = 18;
export const H_SUPPORTED: i32 = 19;
export const H_ALLOW: i32 = 20;
export const H_CONTENT_ENCODING: i32 = 21;
export const H_SUBJECT: i32 = 22;
export const H_EVENT: i32 = 23;
export const H_USER_AGENT: i32 = 24;
export const H_REQUIRE: i32 = 25;

// Full names (lowercase) by id; index 0 unused.
const NAMES: StaticArray<string> = [
  "", "via", "from", "to", "call-id", "cseq", "contact", "content-length", "content-type",
  "max-forwards", "route", "record-route", "www-authenticate", "proxy-authenticate",
  "authorization", "proxy-authorization", "expires", "call-info", "alert-info", "supported",
  "allow", "content-encoding", "subject", "event", "user-agent", "require",
];

/** The compact form's id (RFC 3261 7.3.3 and later registrations), or H_OTHER. */
function compact(c: u32): i32 {
  switch (c) {
    case 0x76: return H_VIA; // v
    case 0x66: return H_FROM; // f
    case 0x74: return H_TO; // t
    case 0x69: return H_CALL_ID; // i
    case 0x6d: return H_CONTACT; // m
    case 0x6c: return H_CONTENT_LENGTH; // l
    case 0x63: return H_CONTENT_TYPE; // c
    case 0x6b: return H_SUPPORTED; // k
    case 0x65: return H_CONTENT_ENCODING; // e
    case 0x73: return H_SUBJECT; // s
    case 0x6f: return H_EVENT; // o
    default: return H_OTHER;
  }
}

@inline function lower(c: u32): u32 { return c >= 0x41 && c <= 0x5a ? c | 0x20 : c; }

/** Id of the header name at p (len bytes), case-insensitive. */
export function headerId(p: usize, len: i32): i32 {
  if (len == 1) return compact(lower(load<u8>(p)));
  for (let id = 1; id < NAMES.length; id++) {
    const name = unchecked(NAMES[id]);
    if (name.length != len) continue;
    let same = true;
    for (let i = 0; i < len; i++) {
      if (lower(load<u8>(p + <usize>i)) != <u32>name.charCodeAt(i)) { same = false; break; }
    }
    if (same) return id;
  }
  return H_OTHER;
}

/** The canonical name to write for a header id. */
export function headerName(id: i32): string {
  switch (id) {
    case H_VIA: return "Via";
    case H_FROM: return "From";
    case H_TO: return "To";
    case H_CALL_ID: return "Call-ID";
    case H_CSEQ: return "CSeq";
    case H_CONTACT: return "Contact";
    case H_CONTENT_LENGTH: return "Content-Length";
    case H_CONTENT_TYPE: return "Content-Type";
    case H_MAX_FORWARDS: return "Max-Forwards";
    case H_ROUTE: return "Route";
    case H_RECORD_ROUTE: return "Record-Route";
    case H_WWW_AUTHENTICATE: return "WWW-Authenticate";
    case H_PROXY_AUTHENTICATE: return "Proxy-Authenticate";
    case H_AUTHORIZATION: return "Authorization";
    case H_PROXY_AUTHORIZATION: return "Proxy-Authorization";
    case H_EXPIRES: return "Expires";
    case H_CALL_INFO: return "Call-Info";
    case H_ALERT_INFO: return "Alert-Info";
    case H_SUPPORTED: return "Supported";
    case H_ALLOW: return "Allow";
    case H_CONTENT_ENCODING: return "Content-Encoding";
    case H_SUBJECT: return "Subject";
    case H_EVENT: return "Event";
    case H_USER_AGENT: return "User-Agent";
    case H_REQUIRE: return "Require";
    default: return "";
  }
}
