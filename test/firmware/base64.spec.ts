// Base64 (firmware/lib/base64.ts): the RFC 4648 §10 test vectors both ways, binary round trips,
// and every malformed text refused.
import { base64Encode, base64Decode, base64EncodedLength, BASE64_BAD_INPUT, BASE64_NO_ROOM } from "../../firmware/lib/base64";

const input = new StaticArray<u8>(256);
const output = new StaticArray<u8>(512);
const inp = changetype<usize>(input);
const outp = changetype<usize>(output);

function put(s: string): i32 {
  for (let i = 0; i < s.length; i++) input[i] = <u8>s.charCodeAt(i);
  return s.length;
}

function text(n: i32): string {
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(output[i]);
  return s;
}

function encode(s: string): string {
  const n = base64Encode(inp, put(s), outp, 512);
  return n < 0 ? "error" : text(n);
}

function decode(s: string): string {
  const n = base64Decode(inp, put(s), outp, 512);
  return n < 0 ? "error " + n.toString() : text(n);
}

describe("base64, RFC 4648 §10 vectors", () => {
  it("encodes them", () => {
    expect(encode("")).toBe("");
    expect(encode("f")).toBe("Zg==");
    expect(encode("fo")).toBe("Zm8=");
    expect(encode("foo")).toBe("Zm9v");
    expect(encode("foob")).toBe("Zm9vYg==");
    expect(encode("fooba")).toBe("Zm9vYmE=");
    expect(encode("foobar")).toBe("Zm9vYmFy");
  });

  it("decodes them", () => {
    expect(decode("")).toBe("");
    expect(decode("Zg==")).toBe("f");
    expect(decode("Zm8=")).toBe("fo");
    expect(decode("Zm9v")).toBe("foo");
    expect(decode("Zm9vYg==")).toBe("foob");
    expect(decode("Zm9vYmE=")).toBe("fooba");
    expect(decode("Zm9vYmFy")).toBe("foobar");
  });

  it("round-trips every byte value and every length up to 64", () => {
    for (let len = 0; len <= 64; len++) {
      for (let i = 0; i < len; i++) input[i] = <u8>(i * 37 + len * 11);
      const n = base64Encode(inp, len, outp, 512);
      expect(n).toBe(base64EncodedLength(len));
      const back = new StaticArray<u8>(64);
      expect(base64Decode(outp, n, changetype<usize>(back), 64)).toBe(len);
      for (let i = 0; i < len; i++) expect(back[i]).toBe(input[i]);
    }
    for (let i = 0; i < 255; i++) input[i] = <u8>i;
    const n = base64Encode(inp, 255, outp, 512);
    expect(n).toBe(340);
    expect(output[n - 1]).not.toBe(0x3d, "255 bytes need no padding");
    expect(text(4)).toBe("AAEC");
  });
});

describe("base64 refuses", () => {
  it("lengths that are not a multiple of four", () => {
    expect(decode("Zg=")).toBe("error -1");
    expect(decode("Zg")).toBe("error -1");
    expect(decode("Zm9vY")).toBe("error -1");
  });

  it("characters outside the alphabet, and the URL-safe alphabet", () => {
    expect(decode("Zm9v YmFy")).toBe("error -1");
    expect(decode("Zm9*")).toBe("error -1");
    expect(decode("Zm-_")).toBe("error -1");
    expect(decode("Zm9v\nYmFy")).toBe("error -1");
    expect(decode("+/+/")).not.toBe("error -1");
  });

  it("padding anywhere but the end, or too much of it", () => {
    expect(decode("Zg==Zm9v")).toBe("error -1");
    expect(decode("Z===")).toBe("error -1");
    expect(decode("====")).toBe("error -1");
    expect(decode("Zm=v")).toBe("error -1");
  });

  it("non-zero pad bits (RFC 4648 §3.5), so each value has one text", () => {
    expect(decode("Zh==")).toBe("error -1");
    expect(decode("Zm9=")).toBe("error -1");
    expect(decode("Zg==")).toBe("f");
  });

  it("output that does not fit, without writing past it", () => {
    output[3] = 0xaa;
    expect(base64Decode(inp, put("Zm9vYmFy"), outp, 5)).toBe(BASE64_NO_ROOM);
    expect(base64Encode(inp, put("foo"), outp, 3)).toBe(BASE64_NO_ROOM);
    expect(output[3]).toBe(0xaa);
    expect(base64Encode(inp, -1, outp, 8)).toBe(BASE64_BAD_INPUT);
  });
});
