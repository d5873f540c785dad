// The DER writer and reader of the factory core (firmware/factory/der.ts).
//
// The certificates below were made with OpenSSL 3 outside the firmware (2026-12-01), for the
// P-256 key of RFC 6979 A.2.5 (x = c9afa9d8...0f6721):
//   V3:    DEVICE_CERT of factory-fixtures.ts (has the [0] version)
//   V1:    openssl x509 -req -in v1.csr -key k.pem -set_serial 9 -outform DER              (Version 1: no [0])
//   OTHER: OTHER_CERT of factory-fixtures.ts, for another P-256 key; P384: one for a secp384r1 key.

import {
  DerWriter, DerReader, certificateEcPoint, contextTag, EC_POINT_BYTES,
  TAG_SEQUENCE, TAG_SET, TAG_BIT_STRING, TAG_UTF8_STRING, TAG_INTEGER, OID_PRIME256V1, OID_PRIME256V1_LENGTH,
} from "../../firmware/factory/der";
import { KEY, DEVICE_CERT, OTHER_CERT, hex, toHex } from "./factory-fixtures";

const buf = memory.data(4096);
const src = memory.data(4096);

const OTHER_KEY = "04b14677a91da71515a8b89a7dd1c6dce38dd4a913d48fa8cf0234ef3449d67d0f7ad08bcf29420105689ce364f0df79f2a2ef2c7c41cd78a4a7caee9cc0fe454e";
const V3 = DEVICE_CERT;
const V1 = "308201093081b0020109300a06082a8648ce3d0403023011310f300d06035504030c066465722d7631301e170d3236313230313136323234305a170d3336313132383136323234305a3011310f300d06035504030c066465722d76313059301306072a8648ce3d020106082a8648ce3d0301070342000460fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb67903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299300a06082a8648ce3d04030203480030450220687328ecce69125e2c57af1adbd78d5a75634d19746dc925c8e353c0181f1bd0022100c844ebb2a5c6bb50fdbc318329198e67a2f5da8aa0a63864a4456c0cb86a6fb4";
const OTHER = OTHER_CERT;
const P384 = "308201b030820136a003020102021476cf0ab15cb4c9479dad97f019ebf5347528057d300a06082a8648ce3d040302300f310d300b06035504030c0470333834301e170d3236313230313136323234305a170d3236313230323136323234305a300f310d300b06035504030c04703338343076301006072a8648ce3d020106052b810400220362000411e8a8fe75833d25f1882b3e0a19b3a23782cfebf2d785be0fcc395dda29310b05d2c7b523a239afb4f1d24455fea91a5dd479b7ab45c1e7bde926be9214cccbf4a90f0792f5ae7cf9edbe08e03435b8a406a7d6ca474a78c0f20829fcaf29c1a3533051301d0603551d0e041604143c93654fdd3e0d397ac7afefde660733267273ad301f0603551d230418301680143c93654fdd3e0d397ac7afefde660733267273ad300f0603551d130101ff040530030101ff300a06082a8648ce3d04030203680030650230721931b8c333fbadeda06a760c8af3313a83955b83df2cf3a10fd1c130564b912bc291dc960e4a0d5c12d3c702f4855b023100d2c306e05f49ef2a5b1517b686dd57de00c747c69484b3d07c91dcd49e6c6a3e26ee44887393f1fcded00e49fca28f2f";


const w = new DerWriter();
function written(): string { return toHex(w.address, w.length); }

describe("DER writer", () => {
  it("writes INTEGERs from r/s bytes in the fewest octets, positive (X.690 8.3)", () => {
    w.reset(buf, 64);
    w.unsignedInteger(src, hex("00007f", src));
    expect(written()).toBe("02017f", "leading zeros dropped");
    w.reset(buf, 64);
    w.unsignedInteger(src, hex("0080", src));
    expect(written()).toBe("02020080", "a zero kept in front of a set top bit");
    w.reset(buf, 64);
    w.unsignedInteger(src, hex("80ff", src));
    expect(written()).toBe("02030080ff", "a zero added in front of a set top bit");
    w.reset(buf, 64);
    w.unsignedInteger(src, hex("000000", src));
    expect(written()).toBe("020100", "zero is one octet");
    w.reset(buf, 64);
    w.unsignedInteger(src, hex("0001", src));
    expect(written()).toBe("020101");
    w.reset(buf, 64);
    w.smallInteger(0); w.smallInteger(127); w.smallInteger(128); w.smallInteger(256);
    expect(written()).toBe("020100" + "02017f" + "02020080" + "02020100");
  });

  it("patches lengths after the content, short and long forms, nested", () => {
    for (let n = 0; n < 3; n++) {
      const size = n == 0 ? 127 : n == 1 ? 128 : 300;
      w.reset(buf, 4096);
      const s = w.begin(TAG_SEQUENCE);
      for (let i = 0; i < size; i++) w.byte(0x55);
      w.end(s);
      const head = n == 0 ? "307f" : n == 1 ? "308180" : "3082012c";
      expect(w.length).toBe(size + head.length / 2);
      expect(toHex(w.address, head.length / 2)).toBe(head);
      expect(load<u8>(w.address + <usize>(head.length / 2))).toBe(0x55, "content moved back to follow the header");
      expect(load<u8>(w.address + <usize>(w.length - 1))).toBe(0x55);
    }
    // SEQUENCE { SET { UTF8String "ab" }, [0] { } } with the inner ones closed first.
    w.reset(buf, 64);
    const outer = w.begin(TAG_SEQUENCE);
    const set = w.begin(TAG_SET);
    w.utf8String(src, hex("6162", src));
    w.end(set);
    const c = w.begin(contextTag(0));
    w.end(c);
    w.end(outer);
    expect(written()).toBe("3008" + "31040c026162" + "a000");
  });

  it("writes OIDs, BIT STRINGs and hex strings", () => {
    w.reset(buf, 64);
    w.oid(OID_PRIME256V1, OID_PRIME256V1_LENGTH);
    w.bitString(src, hex("04aa", src));
    w.hexString(TAG_UTF8_STRING, src, hex("01ab", src));
    expect(written()).toBe("06082a8648ce3d030107" + "03030004aa" + "0c0430316162");
  });

  it("sets overflow instead of writing past its region", () => {
    store<u8>(buf + 10, 0xee);
    w.reset(buf, 10);
    const s = w.begin(TAG_SEQUENCE);
    w.raw(src, 7);
    expect(w.overflow).toBe(true);
    w.end(s);
    w.byte(1);
    expect(w.length).toBeLessThanOrEqual(10);
    expect(load<u8>(buf + 10)).toBe(0xee, "nothing written past the end");
    const large = new StaticArray<u8>(70000);
    w.reset(changetype<usize>(large), 70000);
    const big = w.begin(TAG_SEQUENCE);
    for (let i = 0; i < 65536; i += 4096) w.raw(src, 4096);
    w.end(big);
    expect(w.overflow).toBe(true, "content above 65535 bytes is refused");
  });
});

const r = new DerReader();

describe("DER reader", () => {

  it("reads headers in place and refuses what DER does not allow", () => {
    let n = hex("3003020105", src);
    expect(r.read(src, src + <usize>n)).toBe(true);
    expect(r.tag).toBe(TAG_SEQUENCE);
    expect(r.valueLength).toBe(3);
    expect(r.next).toBe(src + 5);
    expect(r.expect(r.value, r.next, TAG_INTEGER)).toBe(true);
    expect(load<u8>(r.value)).toBe(5);
    n = hex("3004020105", src);
    expect(r.read(src, src + <usize>n)).toBe(false, "length past the end");
    n = hex("30800201050000", src);
    expect(r.read(src, src + <usize>n)).toBe(false, "indefinite length (BER only)");
    n = hex("308103020105", src);
    expect(r.read(src, src + <usize>n)).toBe(false, "long form for a short length");
    n = hex("3082000302010500", src);
    expect(r.read(src, src + <usize>n)).toBe(false, "a leading zero length octet");
    n = hex("1f2201", src);
    expect(r.read(src, src + <usize>n)).toBe(false, "high tag numbers");
    expect(r.read(src, src + 1)).toBe(false, "one byte is no header");
    expect(r.read(src, src)).toBe(false);
  });

  it("finds the subjectPublicKeyInfo point of a v3 and a v1 certificate (OpenSSL's)", () => {
    const key = memory.data(65);
    hex(KEY, key);
    let n = hex(V3, src);
    let p = certificateEcPoint(r, src, n);
    expect(p).not.toBe(0, "v3, with the [0] version");
    expect(memory.compare(p, key, <usize>EC_POINT_BYTES)).toBe(0);
    n = hex(V1, src);
    p = certificateEcPoint(r, src, n);
    expect(p).not.toBe(0, "v1, without the [0] version");
    expect(memory.compare(p, key, <usize>EC_POINT_BYTES)).toBe(0);
    n = hex(OTHER, src);
    p = certificateEcPoint(r, src, n);
    hex(OTHER_KEY, key);
    expect(memory.compare(p, key, <usize>EC_POINT_BYTES)).toBe(0, "another key is that key");
  });

  it("gives 0 for a certificate it cannot use, never reading past it", () => {
    let n = hex(P384, src);
    expect(certificateEcPoint(r, src, n)).toBe(0, "a P-384 key");
    n = hex(V3, src);
    expect(certificateEcPoint(r, src, n - 1)).toBe(0, "cut by one byte");
    expect(certificateEcPoint(r, src, n + 1)).toBe(0, "a trailing byte");
    for (let cut = 0; cut < n; cut += 7) expect(certificateEcPoint(r, src, cut)).toBe(0);
    // Every single-byte change in the header region is caught or yields a point inside the buffer.
    for (let i = 0; i < 40; i++) {
      const saved = load<u8>(src + <usize>i);
      store<u8>(src + <usize>i, saved ^ 0x41);
      const p = certificateEcPoint(r, src, n);
      expect(p == 0 || (p >= src && p + 65 <= src + <usize>n)).toBe(true);
      store<u8>(src + <usize>i, saved);
    }
    n = hex("3003020100", src);
    expect(certificateEcPoint(r, src, n)).toBe(0, "not a certificate");
    expect(TAG_BIT_STRING).toBe(3);
  });
});
