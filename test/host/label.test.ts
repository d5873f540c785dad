// Device labels: the SVG is well-formed XML (xmllint, libxml2), carries the grouped serial as
// text, is 40 x 20 mm, and its QR code decodes back to the serial URI: rendered to PNG by
// librsvg (rsvg-convert) and read by ZBar (zbarimg), neither of which shares code with
// qrcode-generator. The module matrix drawn is also compared with qrcode-generator's own.
// Debian packages: libxml2-utils, librsvg2-bin, zbar-tools.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { loadBoard } from "../../host-tools/boards.ts";
import { LabelError, QUIET_ZONE_MODULES, labelSvg, qrMatrix } from "../../host-tools/provision/label.ts";
import { SerialError, groupSerial, makeSerial } from "../../host-tools/provision/serial.ts";
import { tempDir } from "./helpers.ts";

const sim = loadBoard("sim");
const s3 = loadBoard("tincan-s3");

function have(tool: string): boolean {
  return spawnSync(tool, ["--version"], { stdio: "ignore" }).error === undefined;
}
const missing = ["xmllint", "rsvg-convert", "zbarimg"].filter((t) => !have(t));
const tools = missing.length === 0 ? {} : { skip: `needs ${missing.join(", ")} (Debian libxml2-utils, librsvg2-bin, zbar-tools)` };

function xpath(file: string, expr: string): string {
  return execFileSync("xmllint", ["--xpath", expr, file], { encoding: "utf8" }).replace(/\n$/, "");
}

/** The dark modules drawn in the label's path, as a matrix without the quiet zone. */
function drawnMatrix(svg: string, size: number): boolean[][] {
  const d = /<path fill="#000" d="([^"]*)"/.exec(svg)?.[1];
  assert.ok(d !== undefined, "no module path in the SVG");
  const m = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
  for (const run of d.matchAll(/M(\d+) (\d+)h(\d+)v1h-(\d+)z/g)) {
    const [x, y, w, back] = run.slice(1).map(Number);
    assert.equal(w, back);
    const row = y - QUIET_ZONE_MODULES;
    for (let c = x - QUIET_ZONE_MODULES; c < x - QUIET_ZONE_MODULES + w; c++) {
      assert.ok(row >= 0 && row < size && c >= 0 && c < size, `module ${row},${c} is in the quiet zone`);
      m[row][c] = true;
    }
  }
  assert.equal(d.replace(/M\d+ \d+h\d+v1h-\d+z/g, ""), "", "the path holds only module runs");
  return m;
}

test("the label is well-formed 40 x 20 mm SVG carrying the grouped serial and chip id", tools, () => {
  const dir = tempDir("tincan-label-");
  const serial = makeSerial("TSM");
  const file = path.join(dir, "label.svg");
  fs.writeFileSync(file, labelSvg({ serial, board: sim, chipIdHex: "A1B2C3D4E5F60718" }));
  execFileSync("xmllint", ["--noout", file]);
  const svg = (attr: string) => xpath(file, `string(/*[local-name()="svg"]/@${attr})`);
  assert.equal(svg("width"), "40mm");
  assert.equal(svg("height"), "20mm");
  assert.equal(svg("viewBox"), "0 0 40 20");
  const texts = xpath(file, `//*[local-name()="text"]/text()`).split("\n").filter(Boolean);
  const [model, g1, g2, g3, check] = groupSerial(serial).split("-");
  assert.deepEqual(texts, [sim.name, `${model}-${g1}`, `${g2}-${g3}-${check}`, "chip id", "a1b2c3d4e5f60718"]);
  assert.equal(xpath(file, `string(//*[local-name()="title"])`), `${sim.name} ${groupSerial(serial)}`);
});

test("the QR code decodes back to the serial URI (rsvg-convert + zbarimg), 20 serials on two boards", tools, () => {
  const dir = tempDir("tincan-label-");
  for (let i = 0; i < 20; i++) {
    const board = i % 2 === 0 ? sim : s3;
    const serial = makeSerial(board.serialPrefix!);
    const svgFile = path.join(dir, `${i}.svg`);
    const pngFile = path.join(dir, `${i}.png`);
    fs.writeFileSync(svgFile, labelSvg({ serial: serial.toLowerCase(), board }));
    // 203 dpi, a thermal label printer's resolution: 4 dots a module.
    execFileSync("rsvg-convert", ["--dpi-x", "203", "--dpi-y", "203", "--background-color", "white", "-o", pngFile, svgFile]);
    const out = execFileSync("zbarimg", ["--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", pngFile], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    assert.equal(out.trim(), `urn:tincan:device:${serial}`);
  }
});

test("the decoder can fail: a label with its QR modules cleared reads as nothing", tools, () => {
  const dir = tempDir("tincan-label-");
  const svg = labelSvg({ serial: makeSerial("TSM"), board: sim }).replace(/<path fill="#000" d="[^"]*"/, '<path fill="#000" d=""');
  fs.writeFileSync(path.join(dir, "blank.svg"), svg);
  execFileSync("rsvg-convert", ["--dpi-x", "203", "--dpi-y", "203", "-b", "white", "-o", path.join(dir, "blank.png"), path.join(dir, "blank.svg")]);
  const r = spawnSync("zbarimg", ["--quiet", "--raw", path.join(dir, "blank.png")], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  assert.notEqual(r.status, 0);
  assert.equal(r.stdout, "");
});

/** ISO/IEC 18004 format information (EC level, mask) read from beside the top-left finder. */
function formatInfo(m: boolean[][]): { ec: "L" | "M" | "Q" | "H"; mask: number } | undefined {
  const cells: [number, number][] = [[8, 0], [8, 1], [8, 2], [8, 3], [8, 4], [8, 5], [8, 7], [8, 8], [7, 8], [5, 8], [4, 8], [3, 8], [2, 8], [1, 8], [0, 8]];
  const read = cells.reduce((v, [r, c]) => (v << 1) | (m[r][c] ? 1 : 0), 0);
  for (let data = 0; data < 32; data++) {
    let rem = data << 10;
    for (let bit = 14; bit >= 10; bit--) if (rem & (1 << bit)) rem ^= 0x537 << (bit - 10);
    if ((((data << 10) | rem) ^ 0x5412) === read) return { ec: (["M", "L", "H", "Q"] as const)[data >> 3], mask: data & 7 };
  }
  return undefined;
}

test("the drawn modules are qrcode-generator's matrix, version 3-M, inside a 4-module quiet zone that fits the label", () => {
  for (let i = 0; i < 50; i++) {
    const serial = makeSerial("TSM");
    const svg = labelSvg({ serial, board: sim });
    const expected = qrMatrix(`urn:tincan:device:${serial}`);
    assert.equal(expected.length, 29); // version 3: 34 bytes fit 3-M (42), not 2-M (26)
    const drawn = drawnMatrix(svg, expected.length);
    assert.deepEqual(drawn, expected);
    assert.equal(formatInfo(drawn)?.ec, "M");
    const g = /<g id="qr" transform="translate\(([\d.]+) ([\d.]+)\) scale\(([\d.]+)\)"/.exec(svg);
    assert.ok(g !== null);
    const [x, y, module] = g.slice(1).map(Number);
    const side = (29 + 2 * QUIET_ZONE_MODULES) * module;
    assert.equal(module, 0.5);
    assert.ok(x >= 0 && y >= 0 && x + side <= 20 && y + side <= 20, `QR at ${x},${y} size ${side} mm`);
  }
});

test("bad input is refused with a one-line error", () => {
  const serial = makeSerial("TSM");
  assert.throws(() => labelSvg({ serial, board: s3 }), (e: unknown) => e instanceof LabelError && /does not carry board tincan-s3's prefix TS3/.test(e.message));
  assert.throws(() => labelSvg({ serial: serial.slice(0, -1) + (serial.endsWith("0") ? "1" : "0"), board: sim }), SerialError);
  assert.throws(() => labelSvg({ serial, board: sim, chipIdHex: "abc" }), /chip id "abc" is not 6..16 bytes of hex/);
  assert.throws(() => labelSvg({ serial, board: { ...sim, serialPrefix: undefined } }), /has no "serialPrefix"/);
  assert.equal(labelSvg({ serial, board: "sim" }), labelSvg({ serial, board: sim }), "a board id loads the manifest");
  const escaped = labelSvg({ serial, board: { ...sim, name: `A & <B> "C"` } });
  assert.ok(escaped.includes("A &amp; &lt;B&gt; &quot;C&quot;"));
});
