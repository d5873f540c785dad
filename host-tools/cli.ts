// The `tincan` command. Each subcommand is a thin file in commands/ over a module.

import { Command, Option } from "commander";
import { boardsCommand } from "./commands/boards.ts";
import { portsCommand } from "./commands/ports.ts";
import { simCommand } from "./commands/sim.ts";
import { helloCommand, monitorCommand } from "./commands/console.ts";
import { callCommand } from "./commands/call.ts";
import { codecEncodeCommand, codecDecodeCommand } from "./commands/codec.ts";
import { keysGenCommand } from "./commands/keys.ts";
import { imageSignCommand, imageVerifyCommand, imageInfoCommand } from "./commands/image.ts";
import { flashCommand } from "./commands/flash.ts";
import { fail } from "./commands/common.ts";
import { addConfigCommands } from "./commands/config.ts";
import { addCaCommands } from "./commands/ca.ts";
import { provisionCommand } from "./commands/provision.ts";
import { addFactoryCommands } from "./commands/factory.ts";

const VERSION = "0.1.0";
const program = new Command("tincan")
  .description("Tincan intercom: flash, provision, simulate and call boards")
  .option("--verbose", "print stack traces with errors")
  .showHelpAfterError("(run with --help for usage)");

// `tincan --version` prints this tool's version; but in `image sign --version X.Y.Z` it is the
// app's, and commander would take root options anywhere on the line: no root --version there.
if (process.argv.slice(2).find((a) => !a.startsWith("-")) !== "image") program.version(VERSION);

const verbose = () => Boolean(program.opts().verbose);
const run = <A extends unknown[]>(fn: (...args: A) => unknown) => async (...args: A) => {
  try {
    await fn(...args);
  } catch (e) {
    fail(e, verbose());
  }
};
const portOption = () => new Option("-p, --port <url>", "board link: a serial device (/dev/ttyUSB0) or socket://host:port").env("TINCAN_PORT");
const baudOption = () => new Option("-b, --baud <n>", "serial baud rate (default: the board's console baud, 115200)");
const boardOption = () => new Option("--board <id>", "the board (boards/*.json): its console baud, and its USB serial port when --port is not given");

program.command("boards").description("list the boards this tool knows (boards/*.json)")
  .option("--json", "machine-readable output")
  .action(run((opts) => boardsCommand(opts)));

program.command("ports").description("list serial ports, their USB VID:PID and the board each matches")
  .option("--json", "machine-readable output")
  .action(run((opts) => portsCommand(opts)));

program.command("sim").description("boot a simulated board; its console is a socket:// link")
  .option("--board <id>", "board manifest", "sim")
  .option("--firmware <file>", "firmware image (default: build/firmware.wasm)")
  .option("--dir <dir>", "board directory: non-volatile store and secure element (default .tincan/sim/<board>)")
  .option("--uart-port <n>", "TCP port of the console link (default: any free port)")
  .option("--address <ipv4>", "the board's IPv4 address, its sockets bind there (default 127.0.0.1); 'any': every interface, reporting the default route's address (inside a network namespace)")
  .option("--audio-in <spec>", "microphone: silence, tone:HZ[:DBFS] or a 16 kHz mono WAV file", "silence")
  .option("--audio-out <file>", "write the speaker to this WAV file")
  .option("--console-baud <n>", "the firmware console's baud on the paced UART (default: the manifest's console.baud)")
  .option("--quiet", "do not print the board log")
  .option("--json", "print the link as JSON")
  .action(run((opts) => simCommand(opts)));

program.command("hello").description("ask a board who it is (console HELLO)")
  .addOption(portOption()).addOption(boardOption()).addOption(baudOption())
  .option("--timeout <ms>", "wait this long for each answer", "1000")
  .option("--json", "machine-readable output")
  .action(run((opts) => helloCommand(opts)));

program.command("monitor").description("show a board's log and talk to its console")
  .addOption(portOption()).addOption(boardOption()).addOption(baudOption())
  .option("--timeout <ms>", "wait this long for each answer", "1000")
  .option("--json", "print log lines as JSON")
  .action(run((opts) => monitorCommand(opts)));

program.command("flash").description("write a signed app image (and the runtime) through the boards' ROM loaders, A/B safe, several boards at once")
  .argument("<image>", "signed app image (tincan image sign)")
  .requiredOption("--board <id>", "the board (boards/*.json): its loader protocol, flash layout and USB ids")
  .addOption(new Option("-p, --port <url>", "a board link, repeat for more boards: serial device or rfc2217://host:port (default: the one port with the board's USB VID:PID)")
    .argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]))
  .addOption(new Option("-b, --baud <n>", "transfer baud rate (default: the board's rom.defaultBaud)"))
  .option("--runtime <file>", "also write the native runtime partition (only the erase units that changed)")
  .option("--key <file.pub>", "check the image's signature against this public key before flashing")
  .option("--no-reset", "the boards are in their loaders already: do not pulse DTR/RTS")
  .option("--no-check-boot", "do not wait for the new image to answer HELLO and confirm itself")
  .option("--json", "machine-readable results")
  .action(run((image: string, opts) => flashCommand(image, { ...opts, verbose: verbose() })));



/** tincan call and its alias tincan demo (what npm start runs) share their options. */
function callOptions(c: Command): Command {
  return c
  .option("--board <id>", "board manifest of the simulated boards", "sim")
  .option("--seconds <n>", "talk this long (less if the audio ends first)", "5")
  .option("--audio-a <src>", "board A's microphone: a 16 kHz WAV, tone:HZ[:DBFS] or speech", "speech")
  .option("--audio-b <src>", "board B's microphone", "tone:1000:-12")
  .option("--to <uri>", "call this SIP URI with board A instead of starting board B")
  .option("--codec <list>", "media.codecs for both boards, e.g. g722 or pcmu")
  .option("--srtp <policy>", "media.srtp: mandatory, preferred or off")
  .option("--suites <list>", "media.suites, e.g. AEAD_AES_128_GCM")
  .option("--dtmf <digits>", "DTMF board A sends once connected")
  .option("--door-code <digits>", "board B's door.code (the relay pulses when A sends it)")
  .option("--out <dir>", "board directories and the speaker recordings", ".tincan/call")
  .option("--json", "machine-readable report");
}

callOptions(program.command("call").description("a call between two simulated boards on loopback (or board A and --to URI), with a report"))
  .action(run((opts) => callCommand({ ...opts, verbose: verbose() })));
callOptions(program.command("demo").description("what npm start runs: tincan call with its defaults"))
  .action(run((opts) => callCommand({ ...opts, verbose: verbose() })));

const codec = program.command("codec").description("encode and decode audio with the firmware's own codecs");
const codecOptions = (c: Command) => c
  .requiredOption("--codec <name>", "g722, pcmu or pcma")
  .option("--mode <n>", "G.722 mode: 1 = 64 kbit/s, 2 = 56, 3 = 48", "1")
  .option("--json", "machine-readable summary");
codecOptions(codec.command("encode").description("PCM (WAV, or raw s16le) -> codec bytes").argument("<in>").argument("<out>"))
  .action(run((input: string, output: string, opts) => codecEncodeCommand(input, output, opts)));
codecOptions(codec.command("decode").description("codec bytes -> PCM (WAV if OUT ends in .wav, else raw s16le)").argument("<in>").argument("<out>"))
  .action(run((input: string, output: string, opts) => codecDecodeCommand(input, output, opts)));

const keys = program.command("keys").description("image signing keys (Ed25519)");
keys.command("gen").description("a new signing key: FILE (private, mode 0600, never printed) and FILE.pub")
  .requiredOption("--out <file>", "the private key file")
  .option("--force", "replace an existing key")
  .option("--json", "machine-readable output")
  .action(run((opts) => keysGenCommand(opts)));

const image = program.command("image").description("signed app images (docs/image.md)");
image.command("sign").description("check a firmware module against a board, wrap and sign it as an app image")
  .argument("<in>", "the firmware module (.wasm)").argument("<out>", "the signed image to write")
  .requiredOption("--key <file>", "the private signing key (tincan keys gen)")
  .requiredOption("--board <id>", "the board the image is for")
  .requiredOption("--version <x.y.z>", "the app version, X.Y.Z or X.Y.Z+BUILD")
  .option("--security-counter <n>", "monotonic counter: boards refuse images below theirs", "0")
  .option("--abi <n>", "the ABI version the module was built against (default: this tool's)")
  .option("--json", "machine-readable output")
  .action(run((input: string, output: string, opts) => imageSignCommand(input, output, opts)));
image.command("verify").description("check an image as a board does at boot: structure, hash, signature, board, ABI, counter")
  .argument("<img>")
  .requiredOption("--key <file>", "the trusted public key (FILE.pub, or the private key)")
  .option("--board <id>", "refuse an image for another board")
  .option("--min-counter <n>", "refuse an image whose security counter is below this (a downgrade)")
  .option("--abi <n>", "the ABI version the runtime speaks (default: this tool's)")
  .option("--json", "machine-readable output")
  .action(run((file: string, opts) => imageVerifyCommand(file, opts)));
image.command("info").description("show an image's header and signer (no key needed, nothing verified)")
  .argument("<img>")
  .option("--json", "machine-readable output")
  .action(run((file: string, opts) => imageInfoCommand(file, opts)));

addConfigCommands(program.command("config").description("read and change a board's configuration (docs/config.md)"), { run, portOption, boardOption, baudOption });

addCaCommands(program.command("ca").description("the factory CA: root, intermediate, device and server certificates, CRLs (docs/ca.md)"), { run });

program.command("provision").description("the factory station: key, CSR, serial, certificate, identity, challenge and lock, several boards at once (docs/provisioning.md)")
  .requiredOption("--board <id>", "the board (boards/*.json): its serial prefix, console baud and USB ids")
  .addOption(new Option("-p, --port <url>", "a board's link, repeat for boards in parallel: serial device or socket://host:port (default: the one port with the board's USB VID:PID)")
    .argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]))
  .addOption(baudOption())
  .requiredOption("--ca <dir>", "the factory CA (tincan ca init); its passphrase from TINCAN_CA_PASSPHRASE or a prompt")
  .requiredOption("--db <file>", "the factory database (SQLite; made on first use)")
  .option("--station <name>", "this station's name in the database and audit log (default: the host name)")
  .option("--labels <dir>", "write a label (SVG: serial as text and QR code) per provisioned board here")
  .option("--reissue", "revoke a board's certificate and issue a new one (a board not locked yet, or one marked failed)")
  .option("--timeout <ms>", "wait this long for each console answer", "3000")
  .option("--json", "machine-readable output")
  .action(run((opts) => provisionCommand(opts)));

addFactoryCommands(program.command("factory").description("the factory database: verify the audit chain, export the signed manifest, report (docs/provisioning.md)"), { run });

program.parseAsync(process.argv).catch((e) => fail(e, verbose()));
