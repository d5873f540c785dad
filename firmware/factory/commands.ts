// Factory provisioning commands of the console (boards/CONSOLE.md, 0x20 IDENTITY .. 0x26
// IDENTITY_READ): the device side of the station. The board is reached only through a
// FactoryPort (main.ts implements it with the HAL), so this core runs in the specs as it does
// on the board. The private key stays in the secure element: the port can make a key, give its
// public half and sign a digest, nothing else.

import { CommandHandler, Console, STATUS_OK, STATUS_BAD_REQUEST, STATUS_DENIED, STATUS_INTERNAL } from "../console/console";
import { TlvWriter, TlvReader } from "../console/tlv";
import { readU32BE, readU16BE, writeAscii } from "../lib/bytes";
import { LineBuffer } from "../lib/text";
import { Sha256 } from "../crypto/sha256";
import { CsrBuilder, DigestSigner, SIGNATURE_BYTES } from "./csr";
import { IdentityView, IDENTITY_MAX, RECORD_OK } from "./identity";
import { EC_POINT_BYTES } from "./der";

export const CMD_IDENTITY: u8 = 0x20;
export const CMD_KEYGEN: u8 = 0x21;
export const CMD_CSR: u8 = 0x22;
export const CMD_WRITE_IDENTITY: u8 = 0x23;
export const CMD_CHALLENGE: u8 = 0x24;
export const CMD_LOCK: u8 = 0x25;
export const CMD_IDENTITY_READ: u8 = 0x26;

// Request tags
export const TAG_NONCE: u8 = 0x01;
export const TAG_OFFSET: u8 = 0x01;
export const TAG_CHUNK: u8 = 0x02;
export const TAG_READ_LENGTH: u8 = 0x02;
export const TAG_TOTAL: u8 = 0x03;
export const TAG_DIGEST: u8 = 0x04;
// Response tags
export const TAG_REASON: u8 = 0x05;
export const TAG_STATE: u8 = 0x10;
export const TAG_CHIP_ID: u8 = 0x11;
export const TAG_PUBLIC_KEY: u8 = 0x12;
export const TAG_SERIAL: u8 = 0x13;
export const TAG_RECORD_LENGTH: u8 = 0x14;
export const TAG_RECORD_SHA256: u8 = 0x15;
export const TAG_CSR: u8 = 0x20;
export const TAG_SIGNATURE: u8 = 0x21;
export const TAG_RECORD_BYTES: u8 = 0x22;

export const STATE_BLANK: u32 = 0;
export const STATE_KEYED: u32 = 1;
export const STATE_WRITTEN: u32 = 2;
export const STATE_LOCKED: u32 = 3;

/** The secure-element slot this firmware keeps the device key in. */
export const DEVICE_KEY_SLOT: i32 = 0;
export const NONCE_MIN: i32 = 16;
export const NONCE_MAX: i32 = 64;
export const READ_CHUNK_MAX: i32 = 1024;
export const CHIP_ID_MAX: i32 = 16;
export const CHALLENGE_PREFIX = "tincan-challenge/1";

// ABI error codes the port passes through (boards/ABI.md)
const ERR_NOT_FOUND: i32 = -3;
const ERR_DENIED: i32 = -9;

/** What the factory core needs of the board. Results are the ABI's: >= 0, or an error code. */
export abstract class FactoryPort extends DigestSigner {
  abstract chipId(out: usize, cap: i32): i32;
  abstract publicKey(slot: i32, out: usize, cap: i32): i32;
  abstract keygen(slot: i32): i32;
  /** The record's full length (copying at most cap bytes), or ERR_NOT_FOUND. */
  abstract identityRead(out: usize, cap: i32): i32;
  abstract identityWrite(p: usize, len: i32): i32;
  abstract lock(): i32;
  abstract locked(): bool;
}

export class FactoryCommands extends CommandHandler {
  /** Why load() found the stored identity unusable (for main.ts to log). */
  readonly bootReason: LineBuffer = new LineBuffer(160);
  private readonly chipIdBytes: StaticArray<u8> = new StaticArray<u8>(CHIP_ID_MAX);
  private chipIdLength: i32 = 0;
  private readonly key: StaticArray<u8> = new StaticArray<u8>(EC_POINT_BYTES);
  private hasKey: bool = false;
  // The record in the partition, and the one WRITE_IDENTITY is assembling: separate, so a
  // half-sent record never shows in IDENTITY or IDENTITY_READ.
  private readonly record: StaticArray<u8> = new StaticArray<u8>(IDENTITY_MAX);
  private recordLength: i32 = 0;
  private readonly recordDigest: StaticArray<u8> = new StaticArray<u8>(32);
  private readonly recordView: IdentityView = new IdentityView();
  private recordMatchesKey: bool = false;
  private readonly staging: StaticArray<u8> = new StaticArray<u8>(IDENTITY_MAX);
  private staged: i32 = 0;
  private readonly stagingView: IdentityView = new IdentityView();
  private readonly csr: CsrBuilder = new CsrBuilder();
  private readonly sha: Sha256 = new Sha256();
  private readonly digest: StaticArray<u8> = new StaticArray<u8>(32);
  private readonly signature: StaticArray<u8> = new StaticArray<u8>(SIGNATURE_BYTES);
  private readonly prefix: StaticArray<u8> = new StaticArray<u8>(CHALLENGE_PREFIX.length);
  private readonly reader: TlvReader = new TlvReader();
  private readonly why: LineBuffer = new LineBuffer(160);

  constructor(private port: FactoryPort) {
    super();
    writeAscii(changetype<usize>(this.prefix), this.prefix.length, CHALLENGE_PREFIX);
  }

  register(console: Console): void {
    for (let c = CMD_IDENTITY; c <= CMD_IDENTITY_READ; c++) console.register(c, this);
  }

  /** Reads the chip id, the key and the stored record. 0, or -1 with `bootReason` (the board
   *  still runs: an unusable record counts as none). */
  load(): i32 {
    const why = this.bootReason.clear();
    const n = this.port.chipId(changetype<usize>(this.chipIdBytes), CHIP_ID_MAX);
    this.chipIdLength = n > 0 ? n : 0;
    this.refreshKey();
    this.recordLength = 0;
    const r = this.port.identityRead(changetype<usize>(this.record), IDENTITY_MAX);
    if (n < 0) why.text("chip_id failed: error ").int(n).text("; ");
    if (r == ERR_NOT_FOUND) return n < 0 ? -1 : 0;
    if (r < 0) { why.text("the identity partition cannot be read: error ").int(r); return -1; }
    if (r > IDENTITY_MAX) { why.text("the identity partition holds ").int(r).text(" bytes, more than a record can be"); return -1; }
    if (this.recordView.parse(changetype<usize>(this.record), r) != RECORD_OK) {
      why.text("the stored identity record is unusable: ").bytes(this.recordView.reason.address, this.recordView.reason.length);
      return -1;
    }
    this.adopt(r);
    if (!this.recordMatchesKey) { why.text("the stored identity record is not for the key in the secure element"); return -1; }
    return n < 0 ? -1 : 0;
  }

  get state(): u32 {
    if (this.port.locked()) return STATE_LOCKED;
    if (this.recordLength > 0 && this.recordMatchesKey) return STATE_WRITTEN;
    return this.hasKey ? STATE_KEYED : STATE_BLANK;
  }

  handle(command: u8, payload: usize, payloadLength: i32, out: TlvWriter, nowUs: i64): u8 {
    if (command == CMD_WRITE_IDENTITY) return this.write(payload, payloadLength, out);
    if (command == CMD_IDENTITY_READ) return this.read(payload, payloadLength, out);
    if (command == CMD_CSR || command == CMD_CHALLENGE) {
      if (!this.nonce(payload, payloadLength, out)) return STATUS_BAD_REQUEST;
      if (!this.hasKey) return this.refuse(out, STATUS_DENIED, this.why.clear().text("no device key yet: run KEYGEN first"));
      return command == CMD_CSR ? this.request(out) : this.challenge(out);
    }
    if (payloadLength != 0) return this.refuse(out, STATUS_BAD_REQUEST, this.why.clear().text("this command takes no payload"));
    if (command == CMD_IDENTITY) { this.identity(out); return STATUS_OK; }
    if (command == CMD_KEYGEN) return this.keygen(out);
    return this.lock(out);
  }

  private identity(out: TlvWriter): void {
    out.u8(TAG_STATE, this.state);
    out.bytes(TAG_CHIP_ID, changetype<usize>(this.chipIdBytes), this.chipIdLength);
    if (this.hasKey) out.bytes(TAG_PUBLIC_KEY, changetype<usize>(this.key), EC_POINT_BYTES);
    if (this.recordLength == 0) return;
    out.bytes(TAG_SERIAL, this.recordView.serial, this.recordView.serialLength);
    out.u32(TAG_RECORD_LENGTH, <u32>this.recordLength);
    out.bytes(TAG_RECORD_SHA256, changetype<usize>(this.recordDigest), 32);
  }

  private keygen(out: TlvWriter): u8 {
    if (this.port.locked()) return this.refuse(out, STATUS_DENIED, this.why.clear().text("the board is locked: its key can never change"));
    const r = this.port.keygen(DEVICE_KEY_SLOT);
    this.refreshKey();
    if (this.recordLength > 0) this.recordMatchesKey = this.hasKey && this.recordView.matchesKey(changetype<usize>(this.key));
    if (r == ERR_DENIED) return this.refuse(out, STATUS_DENIED, this.why.clear().text("the secure element refused to make a key (locked)"));
    if (r < 0 || !this.hasKey) return this.refuse(out, STATUS_INTERNAL, this.why.clear().text("the secure element failed to make a key: error ").int(r));
    out.bytes(TAG_PUBLIC_KEY, changetype<usize>(this.key), EC_POINT_BYTES);
    return STATUS_OK;
  }

  private request(out: TlvWriter): u8 {
    const c = this.csr;
    const n = c.build(changetype<usize>(this.chipIdBytes), this.chipIdLength, changetype<usize>(this.key),
      this.reader.value, this.reader.valueLength, this.port, DEVICE_KEY_SLOT);
    if (n < 0) return this.refuse(out, STATUS_INTERNAL, this.why.clear().text("the certificate request could not be signed: error ").int(n));
    out.bytes(TAG_CSR, c.address, n);
    return STATUS_OK;
  }

  /** r‖s over SHA-256("tincan-challenge/1" ‖ chip id ‖ nonce). */
  private challenge(out: TlvWriter): u8 {
    const s = this.sha;
    const digest = changetype<usize>(this.digest);
    const sig = changetype<usize>(this.signature);
    s.reset();
    s.update(changetype<usize>(this.prefix), this.prefix.length);
    s.update(changetype<usize>(this.chipIdBytes), this.chipIdLength);
    s.update(this.reader.value, this.reader.valueLength);
    s.finish(digest);
    const r = this.port.sign(DEVICE_KEY_SLOT, digest, sig);
    if (r != SIGNATURE_BYTES) return this.refuse(out, STATUS_INTERNAL, this.why.clear().text("the secure element failed to sign: error ").int(r));
    out.bytes(TAG_SIGNATURE, sig, SIGNATURE_BYTES);
    return STATUS_OK;
  }

  private lock(out: TlvWriter): u8 {
    if (!this.port.locked()) {
      if (this.recordLength == 0) return this.refuse(out, STATUS_DENIED, this.why.clear().text("no identity record written: a locked blank board could never be provisioned"));
      if (!this.recordMatchesKey) return this.refuse(out, STATUS_DENIED, this.why.clear().text("the identity record is not for the current key: write a new record first"));
      const r = this.port.lock();
      if (r < 0 || !this.port.locked()) return this.refuse(out, STATUS_INTERNAL, this.why.clear().text("the lock fuse did not burn: error ").int(r));
    }
    out.u8(TAG_STATE, STATE_LOCKED);
    return STATUS_OK;
  }

  /** One chunk of a record; the last one (with total and digest) checks and stores it. */
  private write(payload: usize, len: i32, out: TlvWriter): u8 {
    const why = this.why.clear();
    if (this.port.locked()) return this.refuse(out, STATUS_DENIED, why.text("the board is locked: its identity can never change"));
    const r = this.reader;
    let offset: i32 = -1, chunk: usize = 0, chunkLength: i32 = -1, total: i32 = -1, digest: usize = 0;
    r.reset(payload, len);
    while (r.next()) {
      if (r.tag == TAG_OFFSET && r.valueLength == 4) offset = <i32>min<u32>(readU32BE(r.value), 0x7fffffff);
      else if (r.tag == TAG_CHUNK) { chunk = r.value; chunkLength = r.valueLength; }
      else if (r.tag == TAG_TOTAL && r.valueLength == 4) total = <i32>min<u32>(readU32BE(r.value), 0x7fffffff);
      else if (r.tag == TAG_DIGEST && r.valueLength == 32) digest = r.value;
      else if (r.tag == TAG_OFFSET || r.tag == TAG_TOTAL || r.tag == TAG_DIGEST) return this.refuse(out, STATUS_BAD_REQUEST, why.text("a field of the wrong size (offset and total are u32, the digest 32 bytes)"));
    }
    if (r.truncated) return this.refuse(out, STATUS_BAD_REQUEST, why.text("malformed payload: a TLV runs past its end"));
    if (offset < 0 || chunkLength < 0) return this.refuse(out, STATUS_BAD_REQUEST, why.text("WRITE_IDENTITY needs 0x01 offset and 0x02 bytes"));
    const last = total >= 0 || digest != 0;
    if (last && (total < 0 || digest == 0)) return this.refuse(out, STATUS_BAD_REQUEST, why.text("the last chunk carries both 0x03 total length and 0x04 SHA-256"));
    const stage = changetype<usize>(this.staging);

    if (offset == 0) this.staged = 0; // a new record starts
    if (offset != this.staged) {
      // A retry whose first response was lost: the same chunk again, or the record already written.
      if (!last && offset + chunkLength == this.staged && memory.compare(stage + <usize>offset, chunk, <usize>chunkLength) == 0) return STATUS_OK;
      if (last && this.staged == 0 && total == this.recordLength && memory.compare(digest, changetype<usize>(this.recordDigest), 32) == 0) return STATUS_OK;
      return this.refuse(out, STATUS_BAD_REQUEST, why.text("chunk at offset ").int(offset).text(", expected ").int(this.staged).text(" (chunks go in order, the first at offset 0)"));
    }
    if (chunkLength > IDENTITY_MAX - offset) {
      this.staged = 0;
      return this.refuse(out, STATUS_BAD_REQUEST, why.text("the record would be more than ").int(IDENTITY_MAX).text(" bytes"));
    }
    memory.copy(stage + <usize>offset, chunk, <usize>chunkLength);
    this.staged = offset + chunkLength;
    if (!last) return STATUS_OK;

    const size = this.staged;
    this.staged = 0; // whatever follows, the next record starts at offset 0
    if (total != size) return this.refuse(out, STATUS_BAD_REQUEST, why.text("the chunks hold ").int(size).text(" bytes, the last one says ").int(total));
    Sha256.digest(stage, size, changetype<usize>(this.digest));
    if (memory.compare(changetype<usize>(this.digest), digest, 32) != 0) return this.refuse(out, STATUS_BAD_REQUEST, why.text("SHA-256 mismatch: the record was damaged on the way"));
    const v = this.stagingView;
    if (v.parse(stage, size) != RECORD_OK) return this.refuse(out, STATUS_BAD_REQUEST, v.reason);
    if (v.slot != DEVICE_KEY_SLOT) return this.refuse(out, STATUS_BAD_REQUEST, why.text("the record names key slot ").int(v.slot).text("; this firmware keeps the device key in slot ").int(DEVICE_KEY_SLOT));
    if (!this.hasKey) return this.refuse(out, STATUS_BAD_REQUEST, why.text("no device key yet: run KEYGEN first"));
    if (!v.matchesKey(changetype<usize>(this.key))) return this.refuse(out, STATUS_BAD_REQUEST, v.reason);
    const w = this.port.identityWrite(stage, size);
    if (w == ERR_DENIED) return this.refuse(out, STATUS_DENIED, why.text("the identity partition is locked"));
    if (w < 0) return this.refuse(out, STATUS_INTERNAL, why.text("identity_write failed: error ").int(w));
    memory.copy(changetype<usize>(this.record), stage, <usize>size);
    this.recordView.parse(changetype<usize>(this.record), size);
    this.adopt(size);
    return STATUS_OK;
  }

  private read(payload: usize, len: i32, out: TlvWriter): u8 {
    const why = this.why.clear();
    const r = this.reader;
    let offset: i32 = -1, length: i32 = -1;
    r.reset(payload, len);
    while (r.next()) {
      if (r.tag == TAG_OFFSET && r.valueLength == 4) offset = <i32>min<u32>(readU32BE(r.value), 0x7fffffff);
      else if (r.tag == TAG_READ_LENGTH && r.valueLength == 2) length = <i32>readU16BE(r.value);
    }
    if (r.truncated || offset < 0 || length < 0) return this.refuse(out, STATUS_BAD_REQUEST, why.text("IDENTITY_READ needs 0x01 offset (u32) and 0x02 length (u16)"));
    if (length > READ_CHUNK_MAX) return this.refuse(out, STATUS_BAD_REQUEST, why.text("at most ").int(READ_CHUNK_MAX).text(" bytes per read"));
    if (this.recordLength == 0) return this.refuse(out, STATUS_DENIED, why.text("no identity record written"));
    if (offset > this.recordLength) return this.refuse(out, STATUS_BAD_REQUEST, why.text("offset ").int(offset).text(" is past the record's ").int(this.recordLength).text(" bytes"));
    out.bytes(TAG_RECORD_BYTES, changetype<usize>(this.record) + <usize>offset, min(length, this.recordLength - offset));
    return STATUS_OK;
  }

  /** The request's 0x01 nonce (16..64 bytes), left in the reader; false after the refusal. */
  private nonce(payload: usize, len: i32, out: TlvWriter): bool {
    const r = this.reader;
    r.reset(payload, len);
    while (r.next()) {
      if (r.tag != TAG_NONCE) continue;
      if (r.valueLength >= NONCE_MIN && r.valueLength <= NONCE_MAX) return true;
      this.refuse(out, STATUS_BAD_REQUEST, this.why.clear().text("the nonce is ").int(r.valueLength).text(" bytes, not ").int(NONCE_MIN).text("..").int(NONCE_MAX));
      return false;
    }
    this.refuse(out, STATUS_BAD_REQUEST, this.why.clear().text(r.truncated ? "malformed payload: a TLV runs past its end" : "the request needs 0x01 nonce"));
    return false;
  }

  private refreshKey(): void {
    this.hasKey = this.port.publicKey(DEVICE_KEY_SLOT, changetype<usize>(this.key), EC_POINT_BYTES) == EC_POINT_BYTES
      && load<u8>(changetype<usize>(this.key)) == 0x04;
  }

  /** The record now in `record` (already parsed into recordView) is the partition's. */
  private adopt(size: i32): void {
    this.recordLength = size;
    Sha256.digest(changetype<usize>(this.record), size, changetype<usize>(this.recordDigest));
    this.recordMatchesKey = this.hasKey && this.recordView.slot == DEVICE_KEY_SLOT && this.recordView.matchesKey(changetype<usize>(this.key));
  }

  private refuse(out: TlvWriter, status: u8, reason: LineBuffer): u8 {
    out.length = 0; // drop anything written before the refusal
    out.bytes(TAG_REASON, reason.address, reason.length);
    return status;
  }
}
