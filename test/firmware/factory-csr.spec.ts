// The PKCS#10 request of the factory core (firmware/factory/csr.ts), against a request OpenSSL 3
// encoded on its own (`openssl asn1parse -genconf`, 2026-12-01) from a description of the same
// fields: CN=0102030405060708, the P-256 key of RFC 6979 A.2.5, challengePassword
// 000102030405060708090a0b0c0d0e0f (PrintableString), ecdsa-with-SHA256, and a made-up
// signature r = 00 00 7f 11.., s = 80 22.. (so the INTEGER rules show). `openssl req -text`
// reads it back as those fields. The host test (test/host/factory-device.test.ts) checks real
// signatures with `openssl req -verify`.

import { CsrBuilder, DigestSigner, CSR_CAPACITY, CSR_TOO_LONG } from "../../firmware/factory/csr";
import { DerReader, TAG_SEQUENCE } from "../../firmware/factory/der";
import { KEY, hex, toHex } from "./factory-fixtures";

const chip = memory.data(16);
const key = memory.data(65);
const nonce = memory.data(64);

const EXPECTED = "308201053081ae020100301b3119301706035504030c10303130323033303430353036303730383059301306072a8648ce3d020106082a8648ce3d0301070342000460fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb67903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299a031302f06092a864886f70d010907312213203030303130323033303430353036303730383039306130623063306430653066300a06082a8648ce3d0403020346003043021e7f11111111111111111111111111111111111111111111111111111111110221008022222222222222222222222222222222222222222222222222222222222222";
// SHA-256 of the certificationRequestInfo (bytes 4..180 of EXPECTED), by `openssl dgst -sha256`.
const INFO_SHA256 = "6c069711c276c44173de859e87a819a8e204339225c5678bca426854aac456b8";


/** The hex of an ASCII string's bytes. */
function asciiHex(text: string): string {
  const b = memory.data(256);
  for (let i = 0; i < text.length; i++) store<u8>(b + <usize>i, <u8>text.charCodeAt(i));
  return toHex(b, text.length);
}

/** Signs with a fixed r‖s and remembers what it was asked to sign. */
class FixedSigner extends DigestSigner {
  readonly seen: StaticArray<u8> = new StaticArray<u8>(32);
  readonly sig: StaticArray<u8> = new StaticArray<u8>(64);
  calls: i32 = 0;
  slot: i32 = -1;
  fail: i32 = 0;
  sign(slot: i32, digest: usize, sig: usize): i32 {
    this.calls++;
    this.slot = slot;
    memory.copy(changetype<usize>(this.seen), digest, 32);
    if (this.fail < 0) return this.fail;
    memory.copy(sig, changetype<usize>(this.sig), 64);
    return 64;
  }
}

const signer = new FixedSigner();
const csr = new CsrBuilder();
const reader = new DerReader();

describe("PKCS#10 request", () => {
  it("is byte for byte the request OpenSSL encodes from the same fields", () => {
    hex("0102030405060708", chip);
    hex(KEY, key);
    for (let i = 0; i < 16; i++) store<u8>(nonce + <usize>i, <u8>i);
    const s = changetype<usize>(signer.sig);
    hex("00007f" + "11".repeat(29), s);
    hex("80" + "22".repeat(31), s + 32);
    const n = csr.build(chip, 8, key, nonce, 16, signer, 2);
    expect(n).toBe(EXPECTED.length / 2);
    expect(csr.length).toBe(n);
    expect(toHex(csr.address, n)).toBe(EXPECTED);
    expect(signer.calls).toBe(1);
    expect(signer.slot).toBe(2, "the slot it was told");
    expect(toHex(changetype<usize>(signer.seen), 32)).toBe(INFO_SHA256, "the signer gets SHA-256 of certificationRequestInfo");
  });

  it("fits the largest request: a 16-byte chip id and a 64-byte nonce, as one DER SEQUENCE", () => {
    for (let i = 0; i < 16; i++) store<u8>(chip + <usize>i, <u8>(0xf0 + i));
    for (let i = 0; i < 64; i++) store<u8>(nonce + <usize>i, <u8>(255 - i));
    const s = changetype<usize>(signer.sig);
    for (let i = 0; i < 64; i++) store<u8>(s + <usize>i, 0xff); // the longest INTEGERs (33 bytes)
    const n = csr.build(chip, 16, key, nonce, 64, signer, 0);
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThanOrEqual(CSR_CAPACITY);
    expect(reader.expect(csr.address, csr.address + <usize>n, TAG_SEQUENCE)).toBe(true);
    expect(reader.next).toBe(csr.address + <usize>n, "the outer length covers exactly the request");
    // The CN is the chip id in lower-case hex, the challengePassword the nonce in hex.
    const h = toHex(csr.address, n);
    expect(h.includes("0c20" + asciiHex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"))).toBe(true, "CN: UTF8String of 32 hex digits");
    expect(h.includes("138180" + asciiHex("fffefdfcfbfaf9f8"))).toBe(true, "challengePassword: PrintableString of 128 hex digits");
  });

  it("passes the signer's error on and leaves no request", () => {
    signer.fail = -9;
    expect(csr.build(chip, 8, key, nonce, 16, signer, 0)).toBe(-9);
    expect(csr.length).toBe(0);
    signer.fail = 0;
  });

  it("refuses what would not fit rather than writing past its buffer", () => {
    const big = new StaticArray<u8>(400);
    expect(csr.build(chip, 8, key, changetype<usize>(big), 400, signer, 0)).toBe(CSR_TOO_LONG);
    expect(csr.length).toBe(0);
  });
});
