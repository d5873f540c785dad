// AES-GCM (firmware/crypto/gcm.ts). Expected values: test cases 1-4 and 13-16 of McGrew and
// Viega, "The Galois/Counter Mode of Operation (GCM)" (the vectors NIST's SP 800-38D validation
// uses), checked against Node 20's crypto; the SRTP-shaped case (160 bytes, 12 bytes of AAD:
// key 00..0f or ff..e0, IV 51753c6580c2726f20718414, AAD 8008000100000064deadbeef, plaintext
// byte i = (i * 31 + 7) & 0xff) was computed with Node 20's crypto (OpenSSL) before writing this.
import { AesGcm, Ghash, Ghash4 } from "../../firmware/crypto/gcm";

const KEY = memory.data(32);
const IV = memory.data(16);
const AAD = memory.data(64);
const DATA = memory.data(256);
const TAG = memory.data(32);

function hex(p: usize, s: string): i32 {
  const n = s.length >> 1;
  for (let i = 0; i < n; i++) store<u8>(p + <usize>i, <u8>I32.parseInt(s.substr(i * 2, 2), 16));
  return n;
}

function toHex(p: usize, n: i32): string {
  let s = "";
  for (let i = 0; i < n; i++) {
    const b = load<u8>(p + <usize>i);
    s += (b < 16 ? "0" : "") + b.toString(16);
  }
  return s;
}

const K3 = "feffe9928665731c6d6a8f9467308308";
const IV3 = "cafebabefacedbaddecaf888";
const P3 = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
  + "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
const A4 = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
const C3 = "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
  + "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985";
const C15 = "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
  + "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad";
const Z12 = "000000000000000000000000";
const Z16 = "00000000000000000000000000000000";
const Z32 = Z16 + Z16;

/** Seals, checks ciphertext and tag, opens the result, checks the plaintext came back. */
function roundTrip(keyHex: string, ivHex: string, aadHex: string, ptHex: string, ctHex: string, tagHex: string): void {
  roundTripWith(false, keyHex, ivHex, aadHex, ptHex, ctHex, tagHex); // Ghash4, the default
  roundTripWith(true, keyHex, ivHex, aadHex, ptHex, ctHex, tagHex);  // constant-time Ghash
}

function roundTripWith(constantTime: bool, keyHex: string, ivHex: string, aadHex: string, ptHex: string, ctHex: string, tagHex: string): void {
  const g = new AesGcm(constantTime);
  expect(g.constantTime).toBe(constantTime);
  expect(g.setKey(KEY, hex(KEY, keyHex))).toBe(true);
  hex(IV, ivHex);
  const aadLen = hex(AAD, aadHex);
  const len = hex(DATA, ptHex);
  expect(g.seal(IV, 12, AAD, aadLen, DATA, len, TAG, 16)).toBe(true);
  expect(toHex(DATA, len)).toBe(ctHex);
  expect(toHex(TAG, 16)).toBe(tagHex);
  expect(g.open(IV, 12, AAD, aadLen, DATA, len, TAG, 16)).toBe(true);
  expect(toHex(DATA, len)).toBe(ptHex);
}

describe("AES-GCM, the GCM specification's test cases", () => {
  it("case 1: AES-128, empty", () => roundTrip(Z16, Z12, "", "", "", "58e2fccefa7e3061367f1d57a4e7455a"));
  it("case 2: AES-128, one zero block", () => roundTrip(Z16, Z12, "", Z16, "0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf"));
  it("case 3: AES-128, 64 bytes", () => roundTrip(K3, IV3, "", P3, C3, "4d5c2af327cd64a62cf35abd2ba6fab4"));
  it("case 4: AES-128, 60 bytes with 20 bytes of AAD", () => roundTrip(K3, IV3, A4, P3.substr(0, 120), C3.substr(0, 120), "5bc94fbc3221a5db94fae95ae7121a47"));
  it("case 13: AES-256, empty", () => roundTrip(Z32, Z12, "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"));
  it("case 14: AES-256, one zero block", () => roundTrip(Z32, Z12, "", Z16, "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"));
  it("case 15: AES-256, 64 bytes", () => roundTrip(K3 + K3, IV3, "", P3, C15, "b094dac5d93471bdec1a502270e3cc6c"));
  it("case 16: AES-256, 60 bytes with 20 bytes of AAD", () => roundTrip(K3 + K3, IV3, A4, P3.substr(0, 120), C15.substr(0, 120), "76fc6ece0f4e1768cddf8853bb2d551b"));
});

function patternHex(n: i32): string {
  let s = "";
  for (let i = 0; i < n; i++) { const b = (i * 31 + 7) & 0xff; s += (b < 16 ? "0" : "") + b.toString(16); }
  return s;
}

describe("AES-GCM, SRTP shape (RFC 7714: 12-byte IV, RTP header as AAD)", () => {
  it("AES-128: 160 bytes, 12 bytes of AAD (Node/OpenSSL reference)", () => {
    let key = ""; for (let i = 0; i < 16; i++) key += "0" + i.toString(16);
    roundTrip(key, "51753c6580c2726f20718414", "8008000100000064deadbeef", patternHex(160),
      "b20acaab11f73fe920d09b2f8b8a9b61691167f717c89e9fc4c5f9465b3f0c36a2f86be98ec2ab9dc50d7ec5579bd083"
      + "ce86f4c6c3d59c69adf2a860cb5e14238aea43f34847dc73fb5b95a1eeae4731ba1736fe879e076d433aef05a55edd2c"
      + "2e22036c3c1b40fb8c03a466fa8b248f7defe370086823eae77466f70b4ae265e95b22084e38f70d648d3d8932d2855e"
      + "b70349097500fe38ab9dc818667fcf47", "b333660159c516262813ab37a65fd711");
  });
  it("AES-256: 160 bytes, 12 bytes of AAD (Node/OpenSSL reference)", () => {
    let key = ""; for (let i = 0; i < 32; i++) { const b = 255 - i; key += b.toString(16); }
    roundTrip(key, "51753c6580c2726f20718414", "8008000100000064deadbeef", patternHex(160),
      "19d80caf48d522a2a7dc1dd96c51a258f390598979a9a3c24c1b708c105d6ce257027cbdcf53ca37ddf0699019f3727b"
      + "0aa73a158f2fc1bccc4682bca0d80c81b67ef945a4bf679618dc68dc869d603069d4a813d11c149f0f592acda29c661d"
      + "526ce61bf304116b9a63a76465857fdb5367c3ac02402924f6ff73fe3332be922518a4ac4df596bb4bec2292709ab03a"
      + "cf4538e0fa3ab639e374e10f679a8a88", "e0b684ac636db5ab40f3c732c107a616");
  });
});

/** Case 4 sealed into DATA/TAG with g; returns the data length. */
function sealCase4(g: AesGcm): i32 {
  g.setKey(KEY, hex(KEY, K3));
  hex(IV, IV3);
  hex(AAD, A4);
  const len = hex(DATA, P3.substr(0, 120));
  g.seal(IV, 12, AAD, 20, DATA, len, TAG, 16);
  return len;
}

describe("AES-GCM, forgeries and refusals", () => {
  it("a flipped bit anywhere in the tag, the ciphertext or the AAD fails open and leaves data untouched", () => {
    const g = new AesGcm();
    const len = sealCase4(g);
    const sealed = toHex(DATA, len);
    const regions: StaticArray<usize> = [TAG, DATA, AAD];
    const sizes: StaticArray<i32> = [16, len, 20];
    for (let r = 0; r < 3; r++) {
      const base = regions[r];
      for (let i = 0; i < sizes[r]; i += 3) {
        for (let bit = 0; bit < 8; bit += 7) {
          store<u8>(base + <usize>i, <u8>(<i32>load<u8>(base + <usize>i) ^ (1 << bit)));
          const ok = g.open(IV, 12, AAD, 20, DATA, len, TAG, 16);
          expect(ok).toBe(false, "region " + r.toString() + " byte " + i.toString() + " bit " + bit.toString());
          store<u8>(base + <usize>i, <u8>(<i32>load<u8>(base + <usize>i) ^ (1 << bit)));
          expect(toHex(DATA, len)).toBe(sealed);
        }
      }
    }
    // and unflipped it still opens
    expect(g.open(IV, 12, AAD, 20, DATA, len, TAG, 16)).toBe(true);
    expect(toHex(DATA, len)).toBe(P3.substr(0, 120));
  });

  it("a wrong IV, a wrong AAD length or a wrong data length fails open", () => {
    const g = new AesGcm();
    const len = sealCase4(g);
    store<u8>(IV + 11, load<u8>(IV + 11) ^ 1);
    expect(g.open(IV, 12, AAD, 20, DATA, len, TAG, 16)).toBe(false);
    store<u8>(IV + 11, load<u8>(IV + 11) ^ 1);
    expect(g.open(IV, 12, AAD, 19, DATA, len, TAG, 16)).toBe(false);
    expect(g.open(IV, 12, AAD, 20, DATA, len - 1, TAG, 16)).toBe(false);
    expect(toHex(DATA, len)).toBe(C3.substr(0, 120));
  });

  it("truncated tags are the tag's first bytes, and are checked", () => {
    const g = new AesGcm();
    const len = sealCase4(g);
    hex(DATA, P3.substr(0, 120));
    memory.fill(TAG, 0xee, 32);
    expect(g.seal(IV, 12, AAD, 20, DATA, len, TAG, 8)).toBe(true);
    expect(toHex(TAG, 9)).toBe("5bc94fbc3221a5dbee"); // 8 bytes written, no more
    store<u8>(TAG + 7, load<u8>(TAG + 7) ^ 0x80);
    expect(g.open(IV, 12, AAD, 20, DATA, len, TAG, 8)).toBe(false);
    store<u8>(TAG + 7, load<u8>(TAG + 7) ^ 0x80);
    expect(g.open(IV, 12, AAD, 20, DATA, len, TAG, 8)).toBe(true);
    expect(toHex(DATA, len)).toBe(P3.substr(0, 120));
    hex(DATA, P3.substr(0, 120));
    expect(g.seal(IV, 12, AAD, 20, DATA, len, TAG, 12)).toBe(true);
    expect(toHex(TAG, 12)).toBe("5bc94fbc3221a5db94fae95a");
  });

  it("refuses IVs other than 12 bytes, tags outside 8..16, negative lengths and no key: nothing written", () => {
    const g = new AesGcm();
    hex(IV, IV3);
    hex(DATA, P3);
    memory.fill(TAG, 0xee, 32);
    expect(g.seal(IV, 12, AAD, 0, DATA, 64, TAG, 16)).toBe(false); // no key yet
    expect(g.open(IV, 12, AAD, 0, DATA, 64, TAG, 16)).toBe(false);
    expect(g.setKey(KEY, 24)).toBe(false);
    expect(g.keyLength).toBe(0);
    expect(g.setKey(KEY, hex(KEY, K3))).toBe(true);
    expect(g.keyLength).toBe(16);
    const ivLens: StaticArray<i32> = [0, 8, 11, 13, 16, -12];
    for (let i = 0; i < ivLens.length; i++) {
      expect(g.seal(IV, ivLens[i], AAD, 0, DATA, 64, TAG, 16)).toBe(false);
      expect(g.open(IV, ivLens[i], AAD, 0, DATA, 64, TAG, 16)).toBe(false);
    }
    const tagLens: StaticArray<i32> = [0, 4, 7, 17, 32, -16];
    for (let i = 0; i < tagLens.length; i++) {
      expect(g.seal(IV, 12, AAD, 0, DATA, 64, TAG, tagLens[i])).toBe(false);
      expect(g.open(IV, 12, AAD, 0, DATA, 64, TAG, tagLens[i])).toBe(false);
    }
    expect(g.seal(IV, 12, AAD, -1, DATA, 64, TAG, 16)).toBe(false);
    expect(g.seal(IV, 12, AAD, 0, DATA, -1, TAG, 16)).toBe(false);
    expect(g.open(IV, 12, AAD, -1, DATA, 64, TAG, 16)).toBe(false);
    expect(toHex(DATA, 64)).toBe(P3);
    expect(toHex(TAG, 16)).toBe("eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee");
    // the same object still works for a valid request
    expect(g.seal(IV, 12, AAD, 0, DATA, 64, TAG, 16)).toBe(true);
    expect(toHex(TAG, 16)).toBe("4d5c2af327cd64a62cf35abd2ba6fab4");
  });

  it("a refused setKey keeps the key in use", () => {
    const g = new AesGcm();
    g.setKey(KEY, hex(KEY, K3));
    expect(g.setKey(KEY, 20)).toBe(false);
    hex(IV, IV3);
    hex(DATA, P3);
    g.seal(IV, 12, AAD, 0, DATA, 64, TAG, 16);
    expect(toHex(TAG, 16)).toBe("4d5c2af327cd64a62cf35abd2ba6fab4");
  });
});

// The two GHASH paths against each other: the table-free Ghash (constant time) and Shoup's
// 4-bit tables (Ghash4, AesGcm's default), on pseudo-random keys and messages.
let rng: u32 = 0x9e3779b9;
function next(): u32 { rng ^= rng << 13; rng ^= rng >>> 17; rng ^= rng << 5; return rng; }
function fill(p: usize, n: i32): void { for (let i = 0; i < n; i++) store<u8>(p + <usize>i, <u8>next()); }

const BIG = memory.data(1024, 16);
const BIG2 = memory.data(1024, 16);
const TAG2 = memory.data(16);

describe("GHASH: the 4-bit tables agree with the constant-time path", () => {
  it("the default AesGcm uses the tables; AesGcm(true) the constant-time GHASH", () => {
    expect(new AesGcm().constantTime).toBe(false);
    expect(new AesGcm(true).constantTime).toBe(true);
  });

  it("1,000 random messages (keys, H, lengths 0..600): Ghash and Ghash4 give the same hash", () => {
    const a = new Ghash(), b = new Ghash4();
    for (let n = 0; n < 1000; n++) {
      fill(KEY, 16);
      if (n == 0) memory.fill(KEY, 0, 16);          // H = 0
      if (n == 1) { memory.fill(KEY, 0, 16); store<u8>(KEY, 0x80); } // H = 1 (x^0)
      if (n == 2) memory.fill(KEY, 0xff, 16);
      a.setKey(KEY); b.setKey(KEY);
      const len = <i32>(next() % 601), aadLen = <i32>(next() % 40);
      fill(BIG, len); fill(AAD, aadLen);
      a.update(AAD, aadLen); a.update(BIG, len); a.lengths(aadLen, len);
      b.update(AAD, aadLen); b.update(BIG, len); b.lengths(aadLen, len);
      expect(b.yh).toBe(a.yh, "message " + n.toString());
      expect(b.yl).toBe(a.yl, "message " + n.toString());
    }
    b.clear();
    b.update(BIG, 16);
    expect(b.yh | b.yl).toBe(0); // a cleared table multiplies by 0
  });

  it("1,000 random packets: AesGcm with either GHASH seals and opens the same bytes", () => {
    const t = new AesGcm(), c = new AesGcm(true);
    for (let n = 0; n < 1000; n++) {
      const keyLen = (n & 1) ? 32 : 16;
      fill(KEY, keyLen); fill(IV, 12);
      expect(t.setKey(KEY, keyLen)).toBe(true);
      expect(c.setKey(KEY, keyLen)).toBe(true);
      const len = <i32>(next() % 400), aadLen = <i32>(next() % 64);
      fill(BIG, len); fill(AAD, aadLen);
      memory.copy(BIG2, BIG, <usize>len);
      expect(t.seal(IV, 12, AAD, aadLen, BIG, len, TAG, 16)).toBe(true);
      expect(c.seal(IV, 12, AAD, aadLen, BIG2, len, TAG2, 16)).toBe(true);
      expect(toHex(TAG, 16)).toBe(toHex(TAG2, 16), "packet " + n.toString());
      expect(memory.compare(BIG, BIG2, <usize>len)).toBe(0);
      expect(c.open(IV, 12, AAD, aadLen, BIG, len, TAG, 16)).toBe(true);
      expect(t.open(IV, 12, AAD, aadLen, BIG2, len, TAG2, 16)).toBe(true);
      expect(memory.compare(BIG, BIG2, <usize>len)).toBe(0);
    }
  });
});
