// The IDENTITY record (boards/ABI.md), checked in place: what WRITE_IDENTITY accepts and what
// the board reads back at boot. parse() checks the structure; matchesKey() the one fact only
// the device can check, that the first certificate is for the key in its secure element.

import { readU16BE } from "../lib/bytes";
import { LineBuffer } from "../lib/text";
import { DerReader, TAG_SEQUENCE, certificateEcPoint, EC_POINT_BYTES } from "./der";

export const IDENTITY_MAX: i32 = 4000;
export const IDENTITY_VERSION: u8 = 1;
export const IDENTITY_SLOTS: i32 = 4;
const HEADER: i32 = 8;
const MAGIC: u32 = 0x54434944; // "TCID"
const ENTRY_SERIAL: u8 = 0x01;
const ENTRY_CERTIFICATE: u8 = 0x02;
const ENTRY_TRUST_ANCHOR: u8 = 0x03;
const SERIAL_MAX: i32 = 64;

export const RECORD_OK: i32 = 0;
export const RECORD_MALFORMED: i32 = -1;

/** A parsed record: offsets into the bytes parse() was given (valid while they stay put). */
export class IdentityView {
  /** Why the last parse() or matchesKey() failed. */
  readonly reason: LineBuffer = new LineBuffer(100);
  private readonly der: DerReader = new DerReader();
  slot: i32 = 0;
  serial: usize = 0;
  serialLength: i32 = 0;
  certificates: i32 = 0;
  deviceCertificate: usize = 0;
  deviceCertificateLength: i32 = 0;

  /** Checks len bytes at p: RECORD_OK, or RECORD_MALFORMED with `reason`. */
  parse(p: usize, len: i32): i32 {
    const why = this.reason.clear();
    this.serialLength = 0;
    this.certificates = 0;
    if (len < HEADER || len > IDENTITY_MAX) return this.fail(why.text("the record is ").int(len).text(" bytes, not 8..").int(IDENTITY_MAX));
    if (bswap<u32>(load<u32>(p)) != MAGIC) return this.fail(why.text("no TCID magic: not an identity record"));
    if (load<u8>(p + 4) != IDENTITY_VERSION) return this.fail(why.text("record format ").int(load<u8>(p + 4)).text(" is not 1"));
    this.slot = <i32>load<u8>(p + 5);
    if (this.slot >= IDENTITY_SLOTS) return this.fail(why.text("key slot ").int(this.slot).text(" is not 0..3"));
    const n = <i32>readU16BE(p + 6);
    if (HEADER + n != len) return this.fail(why.text("the header says ").int(n).text(" bytes of entries, the record has ").int(len - HEADER));
    let serials = 0;
    let at = HEADER;
    while (at < len) {
      if (len - at < 3) return this.fail(why.text("entry at ").int(at).text(" is cut short"));
      const type = load<u8>(p + <usize>at);
      const size = <i32>readU16BE(p + <usize>at + 1);
      const value = p + <usize>at + 3;
      if (size > len - at - 3) return this.fail(why.text("entry ").int(type).text(" at ").int(at).text(" runs past the end"));
      if (type == ENTRY_SERIAL) {
        serials++;
        if (!printable(value, size)) return this.fail(why.text("the serial is not 1..64 printable ASCII characters"));
        this.serial = value;
        this.serialLength = size;
      } else if (type == ENTRY_CERTIFICATE || type == ENTRY_TRUST_ANCHOR) {
        // Each one whole DER SEQUENCE: a truncated chain is refused here, not at the TLS handshake.
        if (!this.der.expect(value, value + <usize>size, TAG_SEQUENCE) || this.der.next != value + <usize>size) {
          return this.fail(why.text(type == ENTRY_CERTIFICATE ? "certificate " : "trust anchor ").text("at ").int(at).text(" is not one DER SEQUENCE"));
        }
        if (type == ENTRY_CERTIFICATE && this.certificates++ == 0) {
          this.deviceCertificate = value;
          this.deviceCertificateLength = size;
        }
      } // other types: later formats' entries, skipped
      at += 3 + size;
    }
    if (serials != 1) return this.fail(why.text("the record holds ").int(serials).text(" serial numbers, not exactly one"));
    if (this.certificates == 0) return this.fail(why.text("the record holds no certificate"));
    if (certificateEcPoint(this.der, this.deviceCertificate, this.deviceCertificateLength) == 0) {
      return this.fail(why.text("the device certificate has no P-256 public key that can be read"));
    }
    return RECORD_OK;
  }

  /** After a successful parse(): whether the device certificate is for the 65-byte point at key. */
  matchesKey(key: usize): bool {
    const point = certificateEcPoint(this.der, this.deviceCertificate, this.deviceCertificateLength);
    if (point != 0 && memory.compare(point, key, <usize>EC_POINT_BYTES) == 0) return true;
    this.reason.clear().text("the device certificate is for another key than the one in slot ").int(this.slot);
    return false;
  }

  private fail(_why: LineBuffer): i32 {
    this.serialLength = 0;
    this.certificates = 0;
    return RECORD_MALFORMED;
  }
}

function printable(p: usize, len: i32): bool {
  if (len < 1 || len > SERIAL_MAX) return false;
  for (let i = 0; i < len; i++) {
    const c = load<u8>(p + <usize>i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}
