// tincan ports: serial ports with their USB ids and the board each one matches.

import { listPorts, formatUsbId } from "../link/ports.ts";
import { printJson } from "./common.ts";

export async function portsCommand(opts: { json?: boolean }): Promise<void> {
  const ports = await listPorts();
  if (opts.json) return printJson(ports);
  if (ports.length === 0) {
    process.stdout.write("no serial ports found (a simulated board's console is a socket:// URL: see 'tincan sim')\n");
    return;
  }
  for (const p of ports) {
    const boards = p.boards.map((b) => `${b.id} (${b.role})`).join(", ") || "no known board";
    process.stdout.write(`${p.path.padEnd(16)} ${formatUsbId(p.vid, p.pid).padEnd(10)} ${(p.manufacturer ?? "").padEnd(24)} ${boards}\n`);
  }
}
