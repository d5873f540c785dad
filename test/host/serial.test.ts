// Serial numbers: the format, the check character's guarantees (every single substitution and
// every adjacent transposition of a sample of serials, exhaustively), the uniformity of the
// random body (chi-square), normalising what people type, and the prefixes of the manifests.

import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { listBoards, type BoardManifest } from "../../host-tools/boards.ts";
import {
  AVOIDED_CHECK_SYMBOLS,
  CHECK_SYMBOLS,
  CROCKFORD,
  SERIAL_LENGTH,
  SerialError,
  checkSerial,
  checkSymbol,
  groupSerial,
  isSerial,
  makeSerial,
  normaliseSerial,
  serialPrefix,
  serialUri,
} from "../../host-tools/provision/serial.ts";

/** The check symbol computed another way: the whole value as a BigInt, mod 37. */
function bigCheck(digits: string): string {
  let v = 0n;
  for (const c of digits) v = v * 32n + BigInt(CROCKFORD.indexOf(c));
  return CHECK_SYMBOLS[Number(v % 37n)];
}

function refused(text: string, pattern: RegExp): void {
  assert.throws(() => checkSerial(text), (e: unknown) => {
    assert.ok(e instanceof SerialError, `expected a SerialError for ${text}, got ${String(e)}`);
    assert.ok(!e.message.includes("\n"));
    assert.match(e.message, pattern);
    return true;
  });
}

/** Chi-square statistic of observed counts against a uniform expectation. */
function chiSquare(counts: number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((s, n) => s + (n - expected) ** 2 / expected, 0);
}

// Critical values at p = 1e-6 (scipy.stats.chi2.isf): a false alarm once in a million runs.
const CHI2_31_DF = 83.64;
const CHI2_33_DF = 86.81;
const CHI2_1023_DF = 1252.58;

test("a serial is prefix + 12 body characters + Crockford's check symbol, 16 characters", () => {
  for (let i = 0; i < 1000; i++) {
    const s = makeSerial("TSM");
    assert.equal(s.length, SERIAL_LENGTH);
    assert.match(s, /^TSM[0-9A-HJKMNP-TV-Z]{12}[0-9A-HJKMNP-TV-Z*~$=U]$/);
    assert.equal(s.at(-1), bigCheck(s.slice(0, -1)));
    assert.equal(checkSerial(s), s);
  }
});

test("the check symbol matches Crockford's definition on known values", () => {
  // 1234 = 1*32^2 + 6*32 + 18 ("16J"); 1234 mod 37 = 13 -> "D".
  assert.equal(checkSymbol("16J"), "D");
  assert.equal(checkSymbol("0"), "0");
  assert.equal(checkSymbol("10"), "*"); // 32 -> the first extra symbol
  assert.equal(checkSymbol("14"), "U"); // 36 -> the last
  assert.equal(checkSymbol("15"), "0"); // 37 -> 0
  // A fixed body: the bytes 0..11 give body 0123456789AB.
  assert.ok(!AVOIDED_CHECK_SYMBOLS.includes(bigCheck("TSM0123456789AB")));
  const fixed = makeSerial("TSM", (n) => Uint8Array.from({ length: n }, (_, i) => i));
  assert.equal(fixed, "TSM0123456789AB" + bigCheck("TSM0123456789AB"));
});

test("every single-character substitution of 300 random serials is caught", () => {
  let tried = 0;
  for (let n = 0; n < 300; n++) {
    const s = makeSerial(n % 2 === 0 ? "TSM" : "TH7");
    for (let i = 0; i < s.length; i++) {
      const alphabet = i === s.length - 1 ? CHECK_SYMBOLS : CROCKFORD;
      for (const c of alphabet) {
        if (c === s[i]) continue;
        const typo = s.slice(0, i) + c + s.slice(i + 1);
        assert.equal(isSerial(typo), false, `${s} -> ${typo} was accepted`);
        tried++;
      }
    }
  }
  assert.equal(tried, 300 * (15 * 31 + 36));
});

test("every adjacent transposition of 2000 random serials is caught, the check character included", () => {
  let tried = 0;
  for (let n = 0; n < 2000; n++) {
    const s = makeSerial("TS3");
    for (let i = 0; i + 1 < s.length; i++) {
      if (s[i] === s[i + 1]) continue;
      const swapped = s.slice(0, i) + s[i + 1] + s[i] + s.slice(i + 2);
      assert.equal(isSerial(swapped), false, `${s} -> ${swapped} was accepted`);
      tried++;
    }
  }
  assert.ok(tried > 2000 * 14);
});

test("the check character names the expected one", () => {
  const s = makeSerial("TSM");
  const wrong = CHECK_SYMBOLS[(CHECK_SYMBOLS.indexOf(s.at(-1)!) + 1) % 37];
  const escape = (c: string) => c.replace(/[*$]/g, "\\$&");
  refused(s.slice(0, -1) + wrong, new RegExp(`check character is ${escape(wrong)}, expected ${escape(s.at(-1)!)}`));
  refused(s.slice(0, -1).toLowerCase() + wrong, new RegExp(`check character is ${escape(wrong)}, expected ${escape(s.at(-1)!)}`));
});

test("bad text: wrong length, not Crockford base32", () => {
  const s = makeSerial("TSM");
  refused(s.slice(0, -1), /wrong length \(15 characters/);
  refused(s + "0", /wrong length \(17 characters/);
  refused("", /wrong length/);
  refused("TSMU" + s.slice(4), /not Crockford base32 \("U" at position 4\)/);
  refused(s.slice(0, 15) + "#", /not Crockford base32 \(check character "#"\)/);
  refused("TSM" + "é".repeat(12) + "0", /not Crockford base32/);
  refused("x".repeat(10_000), /wrong length/);
});

test("normalising: lower case, hyphens, spaces, I and L read as 1, O read as 0", () => {
  // Find serials with 1s and 0s in the body so the look-alikes have something to stand for.
  for (let n = 0; n < 200; n++) {
    const s = makeSerial("TSM");
    assert.equal(checkSerial(s.toLowerCase()), s);
    assert.equal(checkSerial(groupSerial(s)), s);
    assert.equal(checkSerial(` ${groupSerial(s).toLowerCase()} `), s);
    const lookalike = s.slice(0, 3) + s.slice(3).replace(/1/g, () => (n % 2 === 0 ? "I" : "l")).replace(/0/g, "o");
    assert.equal(checkSerial(lookalike), s);
  }
  assert.equal(normaliseSerial("tsm-iLoO-0000"), "TSM11000000");
  assert.match(groupSerial(makeSerial("TSM")), /^TSM-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-.$/);
  const s = makeSerial("TSM");
  assert.equal(serialUri(s.toLowerCase()), `urn:tincan:device:${s}`);
});

test("the body is uniform: chi-square per position, over all positions, and over adjacent pairs (100k serials)", () => {
  const N = 100_000;
  const perPosition = Array.from({ length: 12 }, () => new Array<number>(32).fill(0));
  const pairs = new Array<number>(1024).fill(0);
  for (let n = 0; n < N; n++) {
    const s = makeSerial("TSM");
    for (let i = 0; i < 12; i++) perPosition[i][CROCKFORD.indexOf(s[3 + i])]++;
    pairs[CROCKFORD.indexOf(s[3 + (n % 11)]) * 32 + CROCKFORD.indexOf(s[4 + (n % 11)])]++;
  }
  for (const [i, counts] of perPosition.entries()) {
    const x2 = chiSquare(counts);
    assert.ok(x2 < CHI2_31_DF, `body position ${i}: chi-square ${x2.toFixed(1)} over 31 degrees of freedom`);
  }
  const checks = new Map<string, number>();
  for (let n = 0; n < N; n++) {
    const c = makeSerial("TS3").at(-1)!;
    checks.set(c, (checks.get(c) ?? 0) + 1);
  }
  assert.deepEqual([...checks.keys()].sort(), [...CHECK_SYMBOLS].filter((c) => !AVOIDED_CHECK_SYMBOLS.includes(c)).sort(), "never *, ~ or $; every other symbol");
  assert.ok(chiSquare([...checks.values()]) < CHI2_33_DF, `check symbols: chi-square ${chiSquare([...checks.values()]).toFixed(1)} over 33 degrees of freedom`);
  const all = new Array<number>(32).fill(0);
  for (const counts of perPosition) counts.forEach((c, v) => (all[v] += c));
  assert.ok(chiSquare(all) < CHI2_31_DF, `all positions: chi-square ${chiSquare(all).toFixed(1)}`);
  assert.ok(chiSquare(pairs) < CHI2_1023_DF, `adjacent pairs: chi-square ${chiSquare(pairs).toFixed(1)}`);
});

test("the uniformity test can fail: a biased random source is caught", () => {
  // Bytes mod 48, then masked to 5 bits: 0..15 come twice as often as 16..31.
  const biased = (n: number) => Uint8Array.from(crypto.randomBytes(n), (b) => b % 48);
  const counts = new Array<number>(32).fill(0);
  for (let n = 0; n < 20_000; n++) counts[CROCKFORD.indexOf(makeSerial("TSM", biased)[3])]++;
  assert.ok(chiSquare(counts) > CHI2_31_DF);
});

test("makeSerial refuses a bad prefix and a short random source", () => {
  for (const p of ["TS", "TSMX", "tsm", "TSU", "TIL", "T-M"]) {
    assert.throws(() => makeSerial(p), (e: unknown) => e instanceof SerialError && /serial prefix .* is not 3 Crockford/.test(e.message));
  }
  assert.throws(() => makeSerial("TSM", () => new Uint8Array(4)), /random source gave 4 bytes, not 12/);
  // A stuck source whose one body has an avoided check symbol is caught, not looped on for ever.
  const stuck = [...Array(256).keys()].map((b) => new Uint8Array(12).fill(b)).find((body) => AVOIDED_CHECK_SYMBOLS.includes(bigCheck("TSM" + [...body].map((b) => CROCKFORD[b & 31]).join(""))));
  assert.ok(stuck !== undefined);
  assert.throws(() => makeSerial("TSM", () => stuck), /64 bodies in a row whose check symbol is one of \*~\$/);
});

test("prefixes come from the board manifests, one per board, all different", () => {
  const boards = listBoards();
  const prefixes = new Map(boards.map((b) => [b.id, serialPrefix(b)]));
  assert.equal(prefixes.get("sim"), "TSM");
  assert.equal(prefixes.get("tincan-s3"), "TS3");
  assert.equal(prefixes.get("tincan-h7"), "TH7");
  assert.equal(new Set(prefixes.values()).size, boards.length);
  const bare = { ...boards[0], serialPrefix: undefined } as BoardManifest;
  assert.throws(() => serialPrefix(bare), /has no "serialPrefix" in its manifest/);
  assert.throws(() => serialPrefix({ ...boards[0], serialPrefix: "OOO" }), /serial prefix "OOO"/);
});
