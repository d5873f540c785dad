// The factory commands (firmware/factory/commands.ts, boards/CONSOLE.md 0x20..0x26) over a fake
// board: a FactoryPort whose "secure element" hands out a fixed public key and signs by echoing
// the digest (r = s = digest), so what was signed can be checked. Its key is fine here: this is
// the spec's stand-in, not the simulator's secure element.
//
// Vectors computed outside the firmware (OpenSSL 3, 2026-12-01):
//   CHALLENGE_DIGEST = SHA-256("tincan-challenge/1" || 0102030405060708 || 000102..0f)
//   DEVICE_CERT / OTHER_CERT: factory-fixtures.ts.

import {
  FactoryCommands, FactoryPort, CMD_IDENTITY, CMD_KEYGEN, CMD_CSR, CMD_WRITE_IDENTITY, CMD_CHALLENGE, CMD_LOCK, CMD_IDENTITY_READ,
  TAG_NONCE, TAG_OFFSET, TAG_CHUNK, TAG_READ_LENGTH, TAG_TOTAL, TAG_DIGEST, TAG_REASON, TAG_STATE, TAG_CHIP_ID, TAG_PUBLIC_KEY,
  TAG_SERIAL, TAG_RECORD_LENGTH, TAG_RECORD_SHA256, TAG_CSR, TAG_SIGNATURE, TAG_RECORD_BYTES,
  STATE_BLANK, STATE_KEYED, STATE_WRITTEN, STATE_LOCKED,
} from "../../firmware/factory/commands";
import { STATUS_OK, STATUS_BAD_REQUEST, STATUS_DENIED, STATUS_INTERNAL } from "../../firmware/console/console";
import { TlvWriter, TlvReader } from "../../firmware/console/tlv";
import { Sha256 } from "../../firmware/crypto/sha256";
import { DerReader, TAG_SEQUENCE } from "../../firmware/factory/der";
import { KEY, DEVICE_CERT, OTHER_CERT, hex, toHex } from "./factory-fixtures";

const CHALLENGE_DIGEST = "407000db59a3aed7e23377fbb866fc50b3e5b7be13532c2fe2ac4faa0a32f550";
const ERR_NOT_FOUND: i32 = -3;
const ERR_IO: i32 = -7;
const ERR_DENIED: i32 = -9;


/** A board in memory: chip id 0102030405060708, one key slot that KEYGEN fills with KEY. */
class FakeBoard extends FactoryPort {
  readonly partition: StaticArray<u8> = new StaticArray<u8>(4000);
  partitionLength: i32 = ERR_NOT_FOUND;
  readError: i32 = 0;
  hasKey: bool = false;
  fuse: bool = false;
  keygens: i32 = 0;
  writes: i32 = 0;
  lastSlot: i32 = -1;
  chipId(out: usize, cap: i32): i32 { return cap < 8 ? -8 : hex("0102030405060708", out); }
  publicKey(slot: i32, out: usize, cap: i32): i32 {
    if (slot != 0 || !this.hasKey) return ERR_NOT_FOUND;
    return cap < 65 ? -8 : hex(KEY, out);
  }
  keygen(slot: i32): i32 {
    if (this.fuse) return ERR_DENIED;
    this.keygens++;
    this.lastSlot = slot;
    this.hasKey = true;
    return 0;
  }
  sign(slot: i32, digest: usize, sig: usize): i32 {
    if (!this.hasKey) return ERR_NOT_FOUND;
    memory.copy(sig, digest, 32);
    memory.copy(sig + 32, digest, 32);
    return 64;
  }
  identityRead(out: usize, cap: i32): i32 {
    if (this.readError < 0) return this.readError;
    if (this.partitionLength < 0) return this.partitionLength;
    memory.copy(out, changetype<usize>(this.partition), <usize>min(cap, this.partitionLength));
    return this.partitionLength;
  }
  identityWrite(p: usize, len: i32): i32 {
    if (this.fuse) return ERR_DENIED;
    memory.copy(changetype<usize>(this.partition), p, <usize>len);
    this.partitionLength = len;
    this.writes++;
    return 0;
  }
  lock(): i32 { this.fuse = true; return 0; }
  locked(): bool { return this.fuse; }
}

const input = memory.data(8192);
const reply = memory.data(4096);
const record = memory.data(8192);
const scratch = memory.data(4096);
const request = new TlvWriter();
const out = new TlvWriter();
const reader = new TlvReader();
const der = new DerReader();

function begin(): void { request.reset(input, 8192); }
function send(h: FactoryCommands, command: u8): u8 {
  out.reset(reply, 2048);
  return h.handle(command, input, request.length, out, 0);
}
function sendEmpty(h: FactoryCommands, command: u8): u8 { begin(); return send(h, command); }

/** Address and length of the reply's TLV `tag` (length -1: absent). */
let fieldLength: i32 = -1;
function field(tag: u8): usize {
  reader.reset(reply, out.length);
  while (reader.next()) if (reader.tag == tag) { fieldLength = reader.valueLength; return reader.value; }
  fieldLength = -1;
  return 0;
}
function fieldHex(tag: u8): string { const p = field(tag); return fieldLength < 0 ? "<none>" : toHex(p, fieldLength); }
function reason(): string { const p = field(TAG_REASON); return fieldLength < 0 ? "<none>" : String.UTF8.decodeUnsafe(p, <usize>fieldLength); }
function state(h: FactoryCommands): u32 { sendEmpty(h, CMD_IDENTITY); return <u32>load<u8>(field(TAG_STATE)); }

/** An IDENTITY record at `record`: the serial, then the certificates given; returns its length. */
function makeRecord(serial: string, cert1: string, cert2: string = "", slot: u8 = 0, serials: i32 = 1): i32 {
  let n = 8;
  for (let k = 0; k < serials; k++) {
    store<u8>(record + <usize>n, 1);
    store<u16>(record + <usize>n + 1, bswap<u16>(<u16>serial.length));
    for (let i = 0; i < serial.length; i++) store<u8>(record + <usize>(n + 3 + i), <u8>serial.charCodeAt(i));
    n += 3 + serial.length;
  }
  const certs = [cert1, cert2];
  for (let k = 0; k < 2; k++) {
    if (certs[k].length == 0) continue;
    store<u8>(record + <usize>n, 2);
    const len = hex(certs[k], record + <usize>n + 3);
    store<u16>(record + <usize>n + 1, bswap<u16>(<u16>len));
    n += 3 + len;
  }
  hex("54434944", record); // TCID
  store<u8>(record + 4, 1);
  store<u8>(record + 5, slot);
  store<u16>(record + 6, bswap<u16>(<u16>(n - 8)));
  return n;
}

/** Sends len bytes of `record` in chunks of `chunk`, the last with total and SHA-256. */
function writeRecord(h: FactoryCommands, len: i32, chunk: i32 = 1024, digestOf: i32 = -1): u8 {
  const digest = memory.data(32);
  Sha256.digest(record, digestOf < 0 ? len : digestOf, digest);
  let status: u8 = STATUS_OK;
  for (let off = 0; off < len && status == STATUS_OK; off += chunk) {
    const n = min(chunk, len - off);
    begin();
    request.u32(TAG_OFFSET, <u32>off);
    request.bytes(TAG_CHUNK, record + <usize>off, n);
    if (off + n == len) { request.u32(TAG_TOTAL, <u32>len); request.bytes(TAG_DIGEST, digest, 32); }
    status = send(h, CMD_WRITE_IDENTITY);
  }
  return status;
}

function nonceRequest(len: i32): void {
  begin();
  for (let i = 0; i < len; i++) store<u8>(scratch + <usize>i, <u8>i);
  request.bytes(TAG_NONCE, scratch, len);
}

describe("a blank board", () => {
  it("reports state 0 and its chip id, refuses what needs a key or a record", () => {
    const board = new FakeBoard();
    const h = new FactoryCommands(board);
    expect(h.load()).toBe(0);
    expect(sendEmpty(h, CMD_IDENTITY)).toBe(STATUS_OK);
    expect(<u32>load<u8>(field(TAG_STATE))).toBe(STATE_BLANK);
    expect(fieldHex(TAG_CHIP_ID)).toBe("0102030405060708");
    expect(fieldHex(TAG_PUBLIC_KEY)).toBe("<none>");
    expect(fieldHex(TAG_SERIAL)).toBe("<none>");
    nonceRequest(16);
    expect(send(h, CMD_CSR)).toBe(STATUS_DENIED);
    expect(reason()).toBe("no device key yet: run KEYGEN first");
    nonceRequest(16);
    expect(send(h, CMD_CHALLENGE)).toBe(STATUS_DENIED);
    expect(sendEmpty(h, CMD_LOCK)).toBe(STATUS_DENIED);
    expect(reason()).toBe("no identity record written: a locked blank board could never be provisioned");
    expect(board.fuse).toBe(false);
    begin(); request.u32(TAG_OFFSET, 0); request.u16(TAG_READ_LENGTH, 16);
    expect(send(h, CMD_IDENTITY_READ)).toBe(STATUS_DENIED);
    begin(); request.u8(0x01, 1);
    expect(send(h, CMD_IDENTITY)).toBe(STATUS_BAD_REQUEST, "IDENTITY takes no payload");
  });
});

describe("the factory flow", () => {
  it("keys, requests, writes, reads back, answers challenges and locks for ever", () => {
    const board = new FakeBoard();
    const h = new FactoryCommands(board);
    h.load();
    expect(sendEmpty(h, CMD_KEYGEN)).toBe(STATUS_OK);
    expect(board.lastSlot).toBe(0);
    expect(fieldHex(TAG_PUBLIC_KEY)).toBe(KEY);
    expect(state(h)).toBe(STATE_KEYED);
    expect(fieldHex(TAG_PUBLIC_KEY)).toBe(KEY);

    // CSR: nonce sizes
    nonceRequest(15);
    expect(send(h, CMD_CSR)).toBe(STATUS_BAD_REQUEST);
    expect(reason()).toBe("the nonce is 15 bytes, not 16..64");
    nonceRequest(65);
    expect(send(h, CMD_CSR)).toBe(STATUS_BAD_REQUEST);
    begin();
    expect(send(h, CMD_CSR)).toBe(STATUS_BAD_REQUEST);
    expect(reason()).toBe("the request needs 0x01 nonce");
    nonceRequest(16);
    expect(send(h, CMD_CSR)).toBe(STATUS_OK);
    const csr = field(TAG_CSR);
    expect(der.expect(csr, csr + <usize>fieldLength, TAG_SEQUENCE)).toBe(true);
    expect(der.next).toBe(csr + <usize>fieldLength);

    // CHALLENGE signs SHA-256(prefix || chip id || nonce)
    nonceRequest(16);
    expect(send(h, CMD_CHALLENGE)).toBe(STATUS_OK);
    expect(fieldHex(TAG_SIGNATURE)).toBe(CHALLENGE_DIGEST + CHALLENGE_DIGEST);

    // WRITE_IDENTITY in three chunks
    const len = makeRecord("TSM0123456789ABX", DEVICE_CERT, OTHER_CERT);
    expect(writeRecord(h, len, 300)).toBe(STATUS_OK);
    expect(board.writes).toBe(1);
    expect(board.partitionLength).toBe(len);
    expect(memory.compare(changetype<usize>(board.partition), record, <usize>len)).toBe(0);
    expect(state(h)).toBe(STATE_WRITTEN);
    expect(String.UTF8.decodeUnsafe(field(TAG_SERIAL), <usize>fieldLength)).toBe("TSM0123456789ABX");
    expect(bswap<u32>(load<u32>(field(TAG_RECORD_LENGTH)))).toBe(<u32>len);
    const digest = memory.data(32);
    Sha256.digest(record, len, digest);
    expect(fieldHex(TAG_RECORD_SHA256)).toBe(toHex(digest, 32));

    // IDENTITY_READ
    begin(); request.u32(TAG_OFFSET, 0); request.u16(TAG_READ_LENGTH, 1024);
    expect(send(h, CMD_IDENTITY_READ)).toBe(STATUS_OK);
    const bytes = field(TAG_RECORD_BYTES);
    expect(fieldLength).toBe(len, "the whole record (under 1024 bytes)");
    expect(memory.compare(bytes, record, <usize>len)).toBe(0);
    begin(); request.u32(TAG_OFFSET, <u32>(len - 10)); request.u16(TAG_READ_LENGTH, 100);
    expect(send(h, CMD_IDENTITY_READ)).toBe(STATUS_OK);
    expect(memory.compare(field(TAG_RECORD_BYTES), record + <usize>(len - 10), 10)).toBe(0);
    expect(fieldLength).toBe(10, "what is left");
    begin(); request.u32(TAG_OFFSET, <u32>len); request.u16(TAG_READ_LENGTH, 100);
    expect(send(h, CMD_IDENTITY_READ)).toBe(STATUS_OK);
    field(TAG_RECORD_BYTES);
    expect(fieldLength).toBe(0, "nothing at the end");
    begin(); request.u32(TAG_OFFSET, <u32>(len + 1)); request.u16(TAG_READ_LENGTH, 1);
    expect(send(h, CMD_IDENTITY_READ)).toBe(STATUS_BAD_REQUEST);
    begin(); request.u32(TAG_OFFSET, 0); request.u16(TAG_READ_LENGTH, 1025);
    expect(send(h, CMD_IDENTITY_READ)).toBe(STATUS_BAD_REQUEST);
    begin(); request.u32(TAG_OFFSET, 0);
    expect(send(h, CMD_IDENTITY_READ)).toBe(STATUS_BAD_REQUEST);

    // LOCK, then no more keys or records, ever; CSR and CHALLENGE still answer
    expect(sendEmpty(h, CMD_LOCK)).toBe(STATUS_OK);
    expect(<u32>load<u8>(field(TAG_STATE))).toBe(STATE_LOCKED);
    expect(board.fuse).toBe(true);
    expect(state(h)).toBe(STATE_LOCKED);
    expect(sendEmpty(h, CMD_KEYGEN)).toBe(STATUS_DENIED);
    expect(reason()).toBe("the board is locked: its key can never change");
    expect(board.keygens).toBe(1);
    expect(writeRecord(h, len)).toBe(STATUS_DENIED);
    expect(board.writes).toBe(1);
    expect(sendEmpty(h, CMD_LOCK)).toBe(STATUS_OK, "LOCK again is harmless");
    nonceRequest(32);
    expect(send(h, CMD_CHALLENGE)).toBe(STATUS_OK);
    nonceRequest(16);
    expect(send(h, CMD_CSR)).toBe(STATUS_OK);

    // A reboot: the same state from the board alone
    const again = new FactoryCommands(board);
    expect(again.load()).toBe(0);
    expect(state(again)).toBe(STATE_LOCKED);
    expect(String.UTF8.decodeUnsafe(field(TAG_SERIAL), <usize>fieldLength)).toBe("TSM0123456789ABX");
  });
});

describe("WRITE_IDENTITY checks", () => {
  it("refuses records that fail a check, with the reason, and writes nothing", () => {
    const board = new FakeBoard();
    const h = new FactoryCommands(board);
    h.load();
    let len = makeRecord("TSM0123456789ABX", DEVICE_CERT);
    expect(writeRecord(h, len)).toBe(STATUS_BAD_REQUEST, "no key yet");
    expect(reason()).toBe("no device key yet: run KEYGEN first");
    sendEmpty(h, CMD_KEYGEN);

    len = makeRecord("TSM0123456789ABX", OTHER_CERT, DEVICE_CERT);
    expect(writeRecord(h, len)).toBe(STATUS_BAD_REQUEST);
    expect(reason()).toBe("the device certificate is for another key than the one in slot 0");
    len = makeRecord("TSM0123456789ABX", DEVICE_CERT, "", 0, 2);
    expect(writeRecord(h, len)).toBe(STATUS_BAD_REQUEST);
    expect(reason()).toBe("the record holds 2 serial numbers, not exactly one");
    len = makeRecord("TSM0123456789ABX", DEVICE_CERT, "", 0, 0);
    expect(writeRecord(h, len)).toBe(STATUS_BAD_REQUEST);
    len = makeRecord("TSM 0123", DEVICE_CERT);
    expect(writeRecord(h, len)).toBe(STATUS_BAD_REQUEST);
    expect(reason()).toBe("the serial is not 1..64 printable ASCII characters");
    len = makeRecord("TSM0123456789ABX", "");
    expect(writeRecord(h, len)).toBe(STATUS_BAD_REQUEST);
    expect(reason()).toBe("the record holds no certificate");
    len = makeRecord("TSM0123456789ABX", DEVICE_CERT, "", 1);
    expect(writeRecord(h, len)).toBe(STATUS_BAD_REQUEST);
    expect(reason()).toBe("the record names key slot 1; this firmware keeps the device key in slot 0");
    len = makeRecord("TSM0123456789ABX", DEVICE_CERT);
    store<u8>(record, 0x55);
    expect(writeRecord(h, len)).toBe(STATUS_BAD_REQUEST);
    expect(reason()).toBe("no TCID magic: not an identity record");
    len = makeRecord("TSM0123456789ABX", DEVICE_CERT);
    store<u8>(record + 7, load<u8>(record + 7) + 1);
    expect(writeRecord(h, len)).toBe(STATUS_BAD_REQUEST, "header length disagrees");
    len = makeRecord("TSM0123456789ABX", DEVICE_CERT);
    store<u8>(record + 30, 0x31); // the certificate's tag: a SET, not a SEQUENCE
    expect(writeRecord(h, len)).toBe(STATUS_BAD_REQUEST);
    expect(reason()).toBe("certificate at 27 is not one DER SEQUENCE");
    len = makeRecord("TSM0123456789ABX", DEVICE_CERT);
    expect(writeRecord(h, len, 1024, len - 1)).toBe(STATUS_BAD_REQUEST);
    expect(reason()).toBe("SHA-256 mismatch: the record was damaged on the way");
    expect(board.writes).toBe(0, "nothing refused reached the partition");
    expect(state(h)).toBe(STATE_KEYED);
  });

  it("takes chunks in order only, answers a retried chunk again, refuses too much", () => {
    const board = new FakeBoard();
    const h = new FactoryCommands(board);
    h.load();
    sendEmpty(h, CMD_KEYGEN);
    const len = makeRecord("TSM0123456789ABX", DEVICE_CERT, OTHER_CERT);
    begin(); request.u32(TAG_OFFSET, 100); request.bytes(TAG_CHUNK, record + 100, 100);
    expect(send(h, CMD_WRITE_IDENTITY)).toBe(STATUS_BAD_REQUEST);
    expect(reason()).toBe("chunk at offset 100, expected 0 (chunks go in order, the first at offset 0)");
    begin(); request.u32(TAG_OFFSET, 0); request.bytes(TAG_CHUNK, record, 100);
    expect(send(h, CMD_WRITE_IDENTITY)).toBe(STATUS_OK);
    expect(send(h, CMD_WRITE_IDENTITY)).toBe(STATUS_OK, "the same first chunk again starts over");
    begin(); request.u32(TAG_OFFSET, 100); request.bytes(TAG_CHUNK, record + 100, 100);
    expect(send(h, CMD_WRITE_IDENTITY)).toBe(STATUS_OK);
    expect(send(h, CMD_WRITE_IDENTITY)).toBe(STATUS_OK, "a retry whose response was lost");
    begin(); request.u32(TAG_OFFSET, 100); request.bytes(TAG_CHUNK, scratch, 100);
    expect(send(h, CMD_WRITE_IDENTITY)).toBe(STATUS_BAD_REQUEST, "other bytes at an old offset");
    const digest = memory.data(32);
    Sha256.digest(record, len, digest);
    begin(); request.u32(TAG_OFFSET, 200); request.bytes(TAG_CHUNK, record + 200, len - 200); request.u32(TAG_TOTAL, <u32>len);
    expect(send(h, CMD_WRITE_IDENTITY)).toBe(STATUS_BAD_REQUEST);
    expect(reason()).toBe("the last chunk carries both 0x03 total length and 0x04 SHA-256");
    begin(); request.u32(TAG_OFFSET, 200); request.bytes(TAG_CHUNK, record + 200, len - 200); request.u32(TAG_TOTAL, <u32>(len + 1)); request.bytes(TAG_DIGEST, digest, 32);
    expect(send(h, CMD_WRITE_IDENTITY)).toBe(STATUS_BAD_REQUEST, "a total that is not what was sent");
    expect(board.writes).toBe(0);
    expect(writeRecord(h, len, 200)).toBe(STATUS_OK);
    expect(board.writes).toBe(1);
    // The last chunk again (its OK was lost): already written, OK, no second write.
    begin(); request.u32(TAG_OFFSET, 200); request.bytes(TAG_CHUNK, record + 200, len - 200); request.u32(TAG_TOTAL, <u32>len); request.bytes(TAG_DIGEST, digest, 32);
    expect(send(h, CMD_WRITE_IDENTITY)).toBe(STATUS_OK);
    expect(board.writes).toBe(1);
    // More than IDENTITY_MAX
    begin(); request.u32(TAG_OFFSET, 0); request.bytes(TAG_CHUNK, record, 2000);
    expect(send(h, CMD_WRITE_IDENTITY)).toBe(STATUS_OK);
    begin(); request.u32(TAG_OFFSET, 2000); request.bytes(TAG_CHUNK, record, 2001);
    expect(send(h, CMD_WRITE_IDENTITY)).toBe(STATUS_BAD_REQUEST);
    expect(reason()).toBe("the record would be more than 4000 bytes");
    begin(); request.bytes(TAG_CHUNK, record, 10);
    expect(send(h, CMD_WRITE_IDENTITY)).toBe(STATUS_BAD_REQUEST, "no offset");
    begin(); request.u16(TAG_OFFSET, 0); request.bytes(TAG_CHUNK, record, 10);
    expect(send(h, CMD_WRITE_IDENTITY)).toBe(STATUS_BAD_REQUEST, "an offset of the wrong size");
    // KEYGEN again (the fake makes the same key): the record still fits it.
    sendEmpty(h, CMD_KEYGEN);
    expect(state(h)).toBe(STATE_WRITTEN);
  });
});

describe("boot", () => {
  it("reads the partition, and runs on when it is unreadable or not for its key", () => {
    const board = new FakeBoard();
    board.hasKey = true;
    const len = makeRecord("TSM0123456789ABX", DEVICE_CERT);
    board.identityWrite(record, len);
    const h = new FactoryCommands(board);
    expect(h.load()).toBe(0);
    expect(state(h)).toBe(STATE_WRITTEN);

    board.readError = ERR_IO;
    const broken = new FactoryCommands(board);
    expect(broken.load()).toBe(-1);
    expect(String.UTF8.decodeUnsafe(broken.bootReason.address, <usize>broken.bootReason.length)).toBe("the identity partition cannot be read: error -7");
    expect(state(broken)).toBe(STATE_KEYED);
    board.readError = 0;

    const other = makeRecord("TSM0123456789ABX", OTHER_CERT);
    board.identityWrite(record, other);
    const stale = new FactoryCommands(board);
    expect(stale.load()).toBe(-1);
    expect(state(stale)).toBe(STATE_KEYED, "a record for another key is not an identity");
    expect(fieldHex(TAG_SERIAL)).not.toBe("<none>", "IDENTITY still shows what is written");
    expect(sendEmpty(stale, CMD_LOCK)).toBe(STATUS_DENIED);
    expect(reason()).toBe("the identity record is not for the current key: write a new record first");
    expect(STATUS_INTERNAL).toBe(5);
  });
});
