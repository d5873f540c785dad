// DER (X.690 10) for the factory commands: a writer into a fixed region, enough for a PKCS#10
// request, and a bounds-checked reader, enough to find a certificate's public key. Neither
// allocates; both work on raw addresses.

import { writeHex } from "../lib/bytes";

export const TAG_INTEGER: u8 = 0x02;
export const TAG_BIT_STRING: u8 = 0x03;
export const TAG_OCTET_STRING: u8 = 0x04;
export const TAG_NULL: u8 = 0x05;
export const TAG_OID: u8 = 0x06;
export const TAG_UTF8_STRING: u8 = 0x0c;
export const TAG_PRINTABLE_STRING: u8 = 0x13;
export const TAG_SEQUENCE: u8 = 0x30;
export const TAG_SET: u8 = 0x31;
/** [n] constructed, context-specific (EXPLICIT tags, PKCS#10 attributes). */
@inline export function contextTag(n: u8): u8 { return 0xa0 | n; }

// Content octets of the object identifiers the factory code writes or checks.
export const OID_COMMON_NAME = memory.data<u8>([0x55, 0x04, 0x03]); // 2.5.4.3
export const OID_COMMON_NAME_LENGTH: i32 = 3;
export const OID_EC_PUBLIC_KEY = memory.data<u8>([0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]); // 1.2.840.10045.2.1
export const OID_EC_PUBLIC_KEY_LENGTH: i32 = 7;
export const OID_PRIME256V1 = memory.data<u8>([0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]); // 1.2.840.10045.3.1.7
export const OID_PRIME256V1_LENGTH: i32 = 8;
export const OID_ECDSA_SHA256 = memory.data<u8>([0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]); // 1.2.840.10045.4.3.2
export const OID_ECDSA_SHA256_LENGTH: i32 = 8;
export const OID_CHALLENGE_PASSWORD = memory.data<u8>([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x07]); // 1.2.840.113549.1.9.7
export const OID_CHALLENGE_PASSWORD_LENGTH: i32 = 9;

/** The longest content the writer's reserved length (0x82 hi lo) can say. */
const CONTENT_MAX: i32 = 0xffff;
// Constructed elements reserve the long form and shrink it in end(): tag + 0x82 + 2 bytes.
const RESERVED_HEADER: i32 = 4;
/** DER into [base, base + cap). Sets `overflow` instead of writing past the end; then the
 *  output is unusable and every later call does nothing. */
export class DerWriter {
  private base: usize = 0;
  private cap: i32 = 0;
  length: i32 = 0;
  overflow: bool = false;

  reset(base: usize, cap: i32): void {
    this.base = base; this.cap = cap; this.length = 0; this.overflow = false;
  }

  get address(): usize { return this.base; }

  /** Room for n more bytes: their address, or 0 (and overflow). */
  private take(n: i32): usize {
    if (this.overflow || n < 0 || n > this.cap - this.length) { this.overflow = true; return 0; }
    const p = this.base + <usize>this.length;
    this.length += n;
    return p;
  }

  byte(b: u32): void { const p = this.take(1); if (p != 0) store<u8>(p, <u8>b); }

  raw(src: usize, len: i32): void { const p = this.take(len); if (p != 0) memory.copy(p, src, <usize>len); }

  /** Tag and minimal definite length (X.690 10.1). */
  header(tag: u8, len: i32): void {
    if (len < 0 || len > CONTENT_MAX) { this.overflow = true; return; }
    this.byte(tag);
    if (len < 0x80) this.byte(len);
    else if (len < 0x100) { this.byte(0x81); this.byte(len); }
    else { this.byte(0x82); this.byte(len >> 8); this.byte(len & 0xff); }
  }

  /** Opens an element whose length is known only at its end(): SEQUENCE, SET, [n], or a BIT
   *  STRING wrapping DER. Returns the mark end() needs. */
  begin(tag: u8): i32 {
    const mark = this.length;
    const p = this.take(RESERVED_HEADER);
    if (p != 0) store<u8>(p, tag);
    return mark;
  }

  /** Closes the element opened at mark: writes its length in the fewest bytes, moving the
   *  content back over the unused ones. Marks of enclosing elements stay valid. */
  end(mark: i32): void {
    if (this.overflow) return;
    const start = mark + RESERVED_HEADER;
    const n = this.length - start;
    if (n > CONTENT_MAX) { this.overflow = true; return; }
    const at = this.base + <usize>mark + 1;
    let lengthBytes = 1;
    if (n < 0x80) store<u8>(at, <u8>n);
    else if (n < 0x100) { store<u8>(at, 0x81); store<u8>(at + 1, <u8>n); lengthBytes = 2; }
    else { store<u8>(at, 0x82); store<u8>(at + 1, <u8>(n >> 8)); store<u8>(at + 2, <u8>n); lengthBytes = 3; }
    memory.copy(at + <usize>lengthBytes, this.base + <usize>start, <usize>n);
    this.length -= 3 - lengthBytes;
  }

  primitive(tag: u8, src: usize, len: i32): void { this.header(tag, len); this.raw(src, len); }

  oid(content: usize, len: i32): void { this.primitive(TAG_OID, content, len); }

  /** A non-negative INTEGER from a big-endian magnitude (ECDSA's r and s): leading zero bytes
   *  dropped, one 0x00 put back when the top bit is set, so the value stays positive. */
  unsignedInteger(src: usize, len: i32): void {
    let i = 0;
    while (i < len - 1 && load<u8>(src + <usize>i) == 0) i++;
    const n = len - i;
    if (n <= 0) { this.header(TAG_INTEGER, 1); this.byte(0); return; }
    const pad = (load<u8>(src + <usize>i) & 0x80) != 0 ? 1 : 0;
    this.header(TAG_INTEGER, n + pad);
    if (pad != 0) this.byte(0);
    this.raw(src + <usize>i, n);
  }

  /** A small non-negative INTEGER (a version number). */
  smallInteger(v: u32): void {
    if (v < 0x80) { this.header(TAG_INTEGER, 1); this.byte(v); return; }
    let n = 1;
    for (let t = v >> 8; t != 0; t >>= 8) n++;
    const pad = ((v >> ((n - 1) * 8)) & 0x80) != 0 ? 1 : 0;
    this.header(TAG_INTEGER, n + pad);
    if (pad != 0) this.byte(0);
    for (let k = n - 1; k >= 0; k--) this.byte((v >> (k * 8)) & 0xff);
  }

  utf8String(src: usize, len: i32): void { this.primitive(TAG_UTF8_STRING, src, len); }

  printableString(src: usize, len: i32): void { this.primitive(TAG_PRINTABLE_STRING, src, len); }

  /** A string of the lower-case hex of len bytes at src (digits are valid UTF8String and
   *  PrintableString characters alike). */
  hexString(tag: u8, src: usize, len: i32): void {
    this.header(tag, 2 * len);
    const p = this.take(2 * len);
    if (p != 0) writeHex(p, src, len);
  }

  /** A BIT STRING of whole bytes (no unused bits). */
  bitString(src: usize, len: i32): void {
    this.header(TAG_BIT_STRING, len + 1);
    this.byte(0);
    this.raw(src, len);
  }

  null(): void { this.header(TAG_NULL, 0); }
}

/** One element header read in place: `read()` fills tag, value, valueLength, next. */
export class DerReader {
  tag: u32 = 0;
  value: usize = 0;
  valueLength: i32 = 0;
  /** The first byte after the element. */
  next: usize = 0;

  /** Reads the element at p, which must end at or before end. False on anything malformed:
   *  a high tag number, an indefinite or non-minimal length, a length past end. */
  read(p: usize, end: usize): bool {
    if (p >= end || end - p < 2) return false;
    const avail = end - p;
    const tag = <u32>load<u8>(p);
    if ((tag & 0x1f) == 0x1f) return false;
    let len = <u32>load<u8>(p + 1);
    let head: usize = 2;
    if (len >= 0x80) {
      const k = <usize>(len & 0x7f);
      if (k == 0 || k > 3 || avail < 2 + k) return false; // 0: indefinite (BER only)
      len = 0;
      for (let i: usize = 0; i < k; i++) len = (len << 8) | <u32>load<u8>(p + 2 + i);
      if (len < 0x80 || load<u8>(p + 2) == 0) return false; // DER: the shortest form
      head += k;
    }
    if (<usize>len > avail - head) return false;
    this.tag = tag;
    this.value = p + head;
    this.valueLength = <i32>len;
    this.next = p + head + <usize>len;
    return true;
  }

  /** Reads the element at p and checks its tag. */
  expect(p: usize, end: usize, tag: u32): bool { return this.read(p, end) && this.tag == tag; }

  /** True when the element just read is the OID with these content octets. */
  isOid(content: usize, len: i32): bool {
    return this.tag == TAG_OID && this.valueLength == len && memory.compare(this.value, content, <usize>len) == 0;
  }
}

export const EC_POINT_BYTES: i32 = 65;

/**
 * The uncompressed P-256 point of an X.509 certificate's subjectPublicKeyInfo (RFC 5280 4.1):
 * Certificate -> tbsCertificate -> [0] version (optional), serialNumber, signature, issuer,
 * validity, subject, subjectPublicKeyInfo. Its address inside cert, or 0 when the DER is
 * malformed, does not exactly fill len, or the key is not id-ecPublicKey on prime256v1.
 */
export function certificateEcPoint(r: DerReader, cert: usize, len: i32): usize {
  const end = cert + <usize>len;
  if (len <= 0 || !r.expect(cert, end, TAG_SEQUENCE) || r.next != end) return 0;
  if (!r.expect(r.value, r.next, TAG_SEQUENCE)) return 0;
  const tbsEnd = r.next;
  let p = r.value;
  if (!r.read(p, tbsEnd)) return 0;
  if (r.tag == <u32>contextTag(0)) { p = r.next; if (!r.read(p, tbsEnd)) return 0; }
  // serialNumber, signature, issuer, validity, subject
  if (r.tag != TAG_INTEGER) return 0;
  p = r.next;
  for (let i = 0; i < 4; i++) {
    if (!r.expect(p, tbsEnd, TAG_SEQUENCE)) return 0;
    p = r.next;
  }
  if (!r.expect(p, tbsEnd, TAG_SEQUENCE)) return 0;
  const spkiEnd = r.next;
  if (!r.expect(r.value, spkiEnd, TAG_SEQUENCE)) return 0;
  const algorithmEnd = r.next;
  const keyAt = r.next;
  if (!r.read(r.value, algorithmEnd) || !r.isOid(OID_EC_PUBLIC_KEY, OID_EC_PUBLIC_KEY_LENGTH)) return 0;
  if (!r.read(r.next, algorithmEnd) || !r.isOid(OID_PRIME256V1, OID_PRIME256V1_LENGTH) || r.next != algorithmEnd) return 0;
  if (!r.expect(keyAt, spkiEnd, TAG_BIT_STRING) || r.next != spkiEnd) return 0;
  if (r.valueLength != EC_POINT_BYTES + 1 || load<u8>(r.value) != 0 || load<u8>(r.value + 1) != 0x04) return 0;
  return r.value + 1;
}
