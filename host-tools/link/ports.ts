// Serial ports on this machine, and which board each one is, by USB VID:PID (boards/*.json).
import { SerialPort } from 'serialport';
import { listBoards, matchUsb } from '../boards.ts';
import type { BoardManifest } from '../boards.ts';

export interface PortBoard {
  id: string;
  role: string;
}

export interface Port {
  path: string;
  vid?: number;
  pid?: number;
  manufacturer?: string;
  serialNumber?: string;
  boards: PortBoard[];
}

/** What serialport's SerialPort.list() reports for one port (the fields used here). */
export interface RawPort {
  path: string;
  vendorId?: string | undefined;
  productId?: string | undefined;
  manufacturer?: string | undefined;
  serialNumber?: string | undefined;
}

export interface PortOptions {
  /** Board manifests to match against; default listBoards(). */
  boards?: BoardManifest[];
  /** The port lister; default SerialPort.list (tests pass their own). */
  list?: () => Promise<RawPort[]>;
}

function usbId(v: string | undefined): number | undefined {
  if (v === undefined || !/^(0x)?[0-9a-f]{1,4}$/i.test(v)) return undefined;
  return parseInt(v.replace(/^0x/i, ''), 16);
}

/** Lists serial ports with their USB identity and the boards (and roles) they match. */
export async function listPorts(opts: PortOptions = {}): Promise<Port[]> {
  let raw: RawPort[];
  try {
    raw = await (opts.list ?? (() => SerialPort.list()))();
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { path?: string; spawnargs?: string[] };
    if (e.code === 'ENOENT' && /udevadm/.test(`${e.path ?? ''} ${e.message}`)) {
      throw new Error('cannot list serial ports: udevadm is missing — install udev (sudo apt-get install udev), or pass --port');
    }
    throw new Error(`cannot list serial ports: ${e.message.split('\n')[0]} — pass --port`);
  }
  const boards = opts.boards ?? listBoards();
  return raw.map((p) => {
    const vid = usbId(p.vendorId);
    const pid = usbId(p.productId);
    const port: Port = { path: p.path, boards: [] };
    if (vid !== undefined) port.vid = vid;
    if (pid !== undefined) port.pid = pid;
    if (p.manufacturer) port.manufacturer = p.manufacturer;
    if (p.serialNumber) port.serialNumber = p.serialNumber;
    if (vid !== undefined && pid !== undefined) {
      port.boards = matchUsb(boards, hex4(vid), hex4(pid)).map((m) => ({ id: m.board.id, role: m.role }));
    }
    return port;
  });
}

const hex4 = (v: number): string => v.toString(16).padStart(4, '0');

/** `303a:1001`, or `no USB id` for a port that is not a USB device. */
export function formatUsbId(vid?: number, pid?: number): string {
  return vid === undefined || pid === undefined ? 'no USB id' : `${hex4(vid)}:${hex4(pid)}`;
}

function describe(p: Port): string {
  const which = p.boards.map((b) => `${b.id} ${b.role}`).join(', ');
  return `${p.path} (${formatUsbId(p.vid, p.pid)}${which ? `, ${which}` : ''})`;
}

/**
 * The one serial port that is a known board (of `boardId`, if given). Throws a one-line
 * error when there is none or more than one, naming what was found.
 */
export async function autodetectPort(boardId?: string, opts: PortOptions = {}): Promise<string> {
  const boards = opts.boards ?? listBoards();
  if (boardId !== undefined && !boards.some((b) => b.id === boardId)) {
    throw new Error(`unknown board '${boardId}' — known boards: ${boards.map((b) => b.id).join(', ') || 'none'}`);
  }
  const ports = await listPorts({ ...opts, boards });
  const matching = ports.filter((p) => p.boards.some((b) => boardId === undefined || b.id === boardId));
  const what = boardId === undefined ? 'a known board' : `board ${boardId}`;
  if (matching.length === 1) return matching[0]!.path;
  if (matching.length === 0) {
    const found = ports.length ? `ports found: ${ports.map(describe).join('; ')}` : 'no serial ports found';
    throw new Error(`no serial port is ${what} (${found}) — connect the board, or pass --port`);
  }
  throw new Error(`several serial ports are ${what}: ${matching.map(describe).join('; ')} — pass --port to choose one`);
}
