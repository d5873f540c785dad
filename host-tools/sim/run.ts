// Starts a simulated board for a person or a test: the whole device (flash, fuses, ROM loader,
// bootloader, firmware) with its UART on 127.0.0.1 — socket:// for the console, rfc2217:// for
// flashers that drive DTR/RTS. A bare firmware.wasm is signed with the dev key and installed in
// app_a the way a factory programmer would; a signed image is installed as it is.

import fs from "node:fs";
import path from "node:path";
import { loadBoard } from "../boards.ts";
import { defaultFirmwarePath, packageRoot } from "../paths.ts";
import { startDevice, boardTrustedKey, type SimDevice } from "./device.ts";
import type { SimBoard } from "./board.ts";
import { audioSourceFromSpec, wavSink, discardSink, type AudioSource, type AudioSink } from "./audio.ts";
import { FirmwareError, validateFirmware } from "./validate.ts";
import { IMAGE_MAGIC, buildUnsigned, parseVersion, signImage } from "../flash/image.ts";
import { devSigningKey } from "../flash/keys.ts";
import { ABI_VERSION } from "./abi.ts";

export interface RunningSim {
  device: SimDevice;
  /** The firmware instance now running (it changes when the board resets). */
  readonly board: SimBoard;
  /** socket:// console link. */
  url: string;
  /** rfc2217:// link with DTR/RTS and baud (flashers). */
  flashUrl: string;
  stop(): Promise<void>;
}

export interface StartSimOptions {
  boardId: string;
  firmware?: string;
  dir?: string;
  uartPort?: number;
  audioIn?: string;
  audioOut?: string;
  resetOnCrash?: boolean;
  /** Install the firmware even when the board's slots already hold a bootable image (default: only when they do not). */
  reinstall?: boolean;
  /** Pace the UART at the line rate (default true). */
  paced?: boolean;
  /** The app console's baud (default the manifest's): the factory bench runs it at 921600. */
  consoleBaud?: number;
  /** Log lines from the first boot on. */
  onLog?: (line: string) => void;
  /** The board's IPv4 address (default 127.0.0.1); "any": bind 0.0.0.0 and follow the default route (sim/udp.ts). */
  address4?: string;
  /** Microphone and speaker as objects (tincan call), instead of audioIn / audioOut. */
  audioSource?: AudioSource;
  audioSink?: AudioSink;
}

export function readFirmware(file: string): Uint8Array {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new FirmwareError(`${file}: firmware image not found; build it with 'npm run build' or name one with --firmware`);
    throw new FirmwareError(`${file}: cannot read firmware image (${code ?? (e as Error).message})`);
  }
}

/** A signed image as is; a bare module signed with the dev key, version from package.json. */
export function imageFromFirmware(bytes: Uint8Array, boardId: string, name: string): Uint8Array {
  if (bytes.length >= 4 && new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true) === IMAGE_MAGIC) return bytes;
  validateFirmware(bytes, loadBoard(boardId), name);
  const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot(), "package.json"), "utf8")) as { version: string };
  const unsigned = buildUnsigned(bytes, { board: boardId, abiVersion: ABI_VERSION, version: parseVersion(pkg.version), securityCounter: 0 });
  return signImage(unsigned, devSigningKey().privateKey, name);
}

export async function startSim(opts: StartSimOptions): Promise<RunningSim> {
  const manifest = loadBoard(opts.boardId);
  const firmwarePath = opts.firmware ?? defaultFirmwarePath(manifest.id);
  const dir = opts.dir ?? path.join(".tincan", "sim", manifest.id);
  const rate = manifest.audio.sampleRateHz;
  const image = imageFromFirmware(readFirmware(firmwarePath), manifest.id, firmwarePath);
  const running = await startDevice({
    boardId: manifest.id,
    dir,
    listenPort: opts.uartPort ?? 0,
    trustedKey: boardTrustedKey(dir),
    install: image,
    reinstall: opts.reinstall,
    onLog: opts.onLog,
    paced: opts.paced,
    consoleBaud: opts.consoleBaud,
    audioIn: opts.audioSource ?? audioSourceFromSpec(opts.audioIn ?? "silence", rate),
    audioOut: opts.audioSink ?? (opts.audioOut ? wavSink(opts.audioOut, rate) : discardSink()),
    resetOnCrash: opts.resetOnCrash ?? true,
    address4: opts.address4,
  });
  const { device } = running;
  if (device.mode !== "app" || !device.app) {
    const why = device.haltReason ?? `the board is in ${device.mode} mode`;
    await running.stop();
    throw new FirmwareError(`${firmwarePath}: the board did not boot: ${why}`);
  }
  if (device.app.state === "crashed") {
    const why = device.app.crashReason;
    await running.stop();
    throw new FirmwareError(`${firmwarePath}: the board did not boot: ${why}`);
  }
  return {
    device,
    get board() { return device.app!; },
    url: running.rawUrl,
    flashUrl: running.url,
    stop: () => running.stop(),
  };
}
