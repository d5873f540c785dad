// The device label: a 40 x 20 mm SVG with the serial as a QR code (the serial URI, the same as
// the certificate's SAN) and as text in groups a person can read out. Sizes are in millimetres
// (viewBox units = mm); a QR module is 0.5 mm, 4 dots of a 203 dpi thermal printer.

import qrcode from "qrcode-generator";
import { loadBoard, type BoardManifest } from "../boards.ts";
import { checkSerial, groupSerial, serialPrefix, serialUri } from "./serial.ts";

export const LABEL_WIDTH_MM = 40;
export const LABEL_HEIGHT_MM = 20;
/** The white border ISO/IEC 18004 asks for around the symbol, in modules. */
export const QUIET_ZONE_MODULES = 4;
const MARGIN_MM = 0.75;
const PREFERRED_MODULE_MM = 0.5;
/** Monospace glyphs are about 0.6 em wide; used to keep each line inside its column. */
const MONO_ADVANCE_EM = 0.6;

export class LabelError extends Error {
  constructor(message: string) {
    super(message.replace(/\s*[\r\n]+\s*/g, " "));
    this.name = "LabelError";
  }
}

export interface LabelInput {
  serial: string;
  /** The board's manifest, or its id (boards/<id>.json is loaded). */
  board: BoardManifest | string;
  /** The chip id in hex, printed small under the serial when given. */
  chipIdHex?: string;
}

/** The QR code's modules (true = dark) for this text: error correction M, smallest version, byte mode. */
export function qrMatrix(text: string): boolean[][] {
  const qr = qrcode(0, "M");
  qr.addData(text, "Byte");
  qr.make();
  const n = qr.getModuleCount();
  return Array.from({ length: n }, (_, row) => Array.from({ length: n }, (_, col) => qr.isDark(row, col)));
}

function xml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const mm = (v: number): string => String(Math.round(v * 1000) / 1000);

/** Dark modules as one path in module units: a rectangle per horizontal run, quiet zone added. */
function modulesPath(matrix: boolean[][]): string {
  const parts: string[] = [];
  for (const [row, cells] of matrix.entries()) {
    let col = 0;
    while (col < cells.length) {
      if (!cells[col]) {
        col++;
        continue;
      }
      const start = col;
      while (col < cells.length && cells[col]) col++;
      parts.push(`M${start + QUIET_ZONE_MODULES} ${row + QUIET_ZONE_MODULES}h${col - start}v1h-${col - start}z`);
    }
  }
  return parts.join("");
}

interface Line {
  text: string;
  y: number;
  size: number;
  mono: boolean;
  bold?: boolean;
}

/** One line of text; squeezed to the column when its natural width would overflow it. */
function textLine(x: number, width: number, line: Line): string {
  const natural = line.text.length * MONO_ADVANCE_EM * line.size;
  const fit = natural > width ? ` textLength="${mm(width)}" lengthAdjust="spacingAndGlyphs"` : "";
  const family = line.mono ? "DejaVu Sans Mono, Menlo, Consolas, monospace" : "DejaVu Sans, Helvetica, Arial, sans-serif";
  const weight = line.bold ? ` font-weight="bold"` : "";
  return `<text x="${mm(x)}" y="${mm(line.y)}" font-family="${family}" font-size="${mm(line.size)}"${weight}${fit}>${xml(line.text)}</text>`;
}

/** The label as an SVG document. The serial must be valid and carry the board's own prefix. */
export function labelSvg(input: LabelInput): string {
  const serial = checkSerial(input.serial);
  const board = typeof input.board === "string" ? loadBoard(input.board) : input.board;
  const prefix = serialPrefix(board);
  if (!serial.startsWith(prefix))
    throw new LabelError(`serial ${serial} does not carry board ${board.id}'s prefix ${prefix}: wrong board for this label?`);
  const chip = input.chipIdHex?.toLowerCase();
  if (chip !== undefined && !/^(?:[0-9a-f]{2}){6,16}$/.test(chip))
    throw new LabelError(`chip id ${JSON.stringify(input.chipIdHex)} is not 6..16 bytes of hex`);

  const matrix = qrMatrix(serialUri(serial));
  const modules = matrix.length + 2 * QUIET_ZONE_MODULES;
  const room = LABEL_HEIGHT_MM - 2 * MARGIN_MM;
  const moduleMm = Math.min(PREFERRED_MODULE_MM, room / modules);
  const qrMm = modules * moduleMm;
  const qrY = (LABEL_HEIGHT_MM - qrMm) / 2;

  const textX = MARGIN_MM + qrMm + 0.5;
  const textWidth = LABEL_WIDTH_MM - MARGIN_MM - textX;
  const [model, g1, g2, g3, check] = groupSerial(serial).split("-");
  const lines: Line[] = [
    { text: board.name, y: 3.2, size: 1.6, mono: false },
    { text: `${model}-${g1}`, y: 7.4, size: 2.8, mono: true, bold: true },
    { text: `${g2}-${g3}-${check}`, y: 10.8, size: 2.8, mono: true, bold: true },
  ];
  if (chip !== undefined) {
    lines.push({ text: "chip id", y: 13.9, size: 1.3, mono: false });
    lines.push({ text: chip.slice(0, 16), y: 15.9, size: 1.5, mono: true });
    if (chip.length > 16) lines.push({ text: chip.slice(16), y: 17.9, size: 1.5, mono: true });
  }

  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${LABEL_WIDTH_MM}mm" height="${LABEL_HEIGHT_MM}mm" viewBox="0 0 ${LABEL_WIDTH_MM} ${LABEL_HEIGHT_MM}">`,
    `<title>${xml(`${board.name} ${groupSerial(serial)}`)}</title>`,
    `<rect width="${LABEL_WIDTH_MM}" height="${LABEL_HEIGHT_MM}" fill="#fff"/>`,
    `<g id="qr" transform="translate(${mm(MARGIN_MM)} ${mm(qrY)}) scale(${mm(moduleMm)})" shape-rendering="crispEdges">`,
    `<rect width="${modules}" height="${modules}" fill="#fff"/>`,
    `<path fill="#000" d="${modulesPath(matrix)}"/>`,
    `</g>`,
    `<g id="text" fill="#000">`,
    ...lines.map((l) => textLine(textX, textWidth, l)),
    `</g>`,
    `</svg>`,
    ``,
  ].join("\n");
}
