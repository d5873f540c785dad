import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import zlib from 'node:zlib';
import { crc32 } from '../../host-tools/link/crc32.ts';
import { END, ESC, LineSplitter, SlipDecoder, slipEncode } from '../../host-tools/link/slip.ts';
import type { DropReason } from '../../host-tools/link/slip.ts';
import {
  Command, FrameError, Kind, MAX_FRAME, Status, TlvError, TlvWriter, commandName, decodeFrame, decodeHello,
  decodeStats, encodeFrame, encodeHello, encodeStats, readTlvs, statusName,
} from '../../host-tools/link/frame.ts';
import type { Frame, Hello } from '../../host-tools/link/frame.ts';
import { LinkError, openLink, parseLinkUrl } from '../../host-tools/link/transport.ts';
import type { Link } from '../../host-tools/link/transport.ts';
import { ConsoleClient, ConsoleError } from '../../host-tools/link/console.ts';
import { autodetectPort, formatUsbId, listPorts } from '../../host-tools/link/ports.ts';
import type { RawPort } from '../../host-tools/link/ports.ts';
import type { BoardManifest } from '../../host-tools/boards.ts';

// ---- helpers --------------------------------------------------------------------------

/** Deterministic PRNG (xorshift32) so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
}

/** Random bytes, a third of them 0xC0 or 0xDB. */
function randomBytes(next: () => number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    const r = next();
    out[i] = r % 3 === 0 ? (r & 8 ? END : ESC) : (r >>> 8) & 0xff;
  }
  return out;
}

const bytes = (...xs: number[]) => new Uint8Array(xs);
const ascii = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

interface Collected { text: Uint8Array[]; frames: Uint8Array[]; drops: DropReason[] }

function decoder(maxFrame?: number): { d: SlipDecoder; got: Collected } {
  const got: Collected = { text: [], frames: [], drops: [] };
  const d = new SlipDecoder({
    onText: (c) => got.text.push(c),
    onFrame: (f) => got.frames.push(f),
    onDrop: (r) => got.drops.push(r),
  }, maxFrame === undefined ? {} : { maxFrame });
  return { d, got };
}

// ---- CRC-32 -----------------------------------------------------------------------------

describe('crc32', () => {
  test('known vectors', () => {
    assert.equal(crc32('123456789'), 0xcbf43926);
    assert.equal(crc32(''), 0);
    assert.equal(crc32('a'), 0xe8b7be43);
    assert.equal(crc32('The quick brown fox jumps over the lazy dog'), 0x414fa339);
    assert.equal(crc32(bytes(0, 0, 0, 0)), 0x2144df1c);
    assert.equal(crc32(new Uint8Array(32).fill(0xff)), 0xff6cab0b);
  });

  test('continues from a previous value like zlib', () => {
    assert.equal(crc32('6789', crc32('12345')), 0xcbf43926);
  });

  test('agrees with zlib.crc32 on random data', { skip: typeof zlib.crc32 !== 'function' && 'this Node has no zlib.crc32' }, () => {
    const next = rng(7);
    for (let len = 0; len < 300; len += 7) {
      const b = randomBytes(next, len);
      assert.equal(crc32(b), zlib.crc32(b), `length ${len}`);
      assert.equal(crc32(b, 0x12345678), zlib.crc32(b, 0x12345678), `length ${len} seeded`);
    }
  });
});

// ---- SLIP -------------------------------------------------------------------------------

describe('slip', () => {
  test('encodes END and ESC as escapes, framed by END', () => {
    assert.deepEqual(slipEncode(bytes(0x01, 0xc0, 0xdb, 0x02)), bytes(0xc0, 0x01, 0xdb, 0xdc, 0xdb, 0xdd, 0x02, 0xc0));
    assert.deepEqual(slipEncode(bytes()), bytes(0xc0, 0xc0));
  });

  test('round trips random payloads containing 0xC0 and 0xDB', () => {
    const next = rng(42);
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 300; i++) frames.push(randomBytes(next, 1 + (next() % 2057)));
    const { d, got } = decoder();
    for (const f of frames) {
      const enc = slipEncode(f);
      assert.equal(enc.subarray(1, -1).indexOf(END), -1, 'no raw END inside an encoded frame');
      d.push(enc);
    }
    assert.equal(got.frames.length, frames.length);
    frames.forEach((f, i) => assert.deepEqual(got.frames[i], f, `frame ${i}`));
    assert.deepEqual(got.text, []);
    assert.deepEqual(got.drops, []);
  });

  test('separates text and frames at every chunk boundary', () => {
    const f1 = bytes(0x01, 0xc0, 0x02, 0xdb, 0x03);
    const f2 = bytes(0xdb, 0xdb, 0xc0);
    const stream = concat(ascii('I (1) boot\r\n'), slipEncode(f1), ascii('W (2) x'), slipEncode(f2), slipEncode(f1), ascii('y\r\n'));
    const wantText = 'I (1) boot\r\nW (2) xy\r\n';
    const check = (chunks: Uint8Array[], what: string) => {
      const { d, got } = decoder();
      for (const c of chunks) d.push(c);
      assert.equal(text(concat(...got.text)), wantText, what);
      assert.deepEqual(got.frames, [f1, f2, f1], what);
      assert.deepEqual(got.drops, [], what);
      assert.equal(d.counters.textBytes, wantText.length, what);
    };
    for (let i = 0; i <= stream.length; i++) {
      for (let j = i; j <= stream.length; j++) {
        check([stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)], `split at ${i}, ${j}`);
      }
    }
    check([...stream].map((b) => bytes(b)), 'byte at a time');
  });

  test('skips empty frames, and END END starts a frame', () => {
    const { d, got } = decoder();
    d.push(concat(ascii('a'), bytes(END, END, END, 0x05, END), ascii('b'), bytes(END, END), slipEncode(bytes(0x06))));
    assert.deepEqual(got.frames, [bytes(0x05), bytes(0x06)]);
    assert.equal(text(concat(...got.text)), 'ab');
    assert.equal(d.counters.emptyFrames, 4); // END END END, END END, and the END that opens 0x06
  });

  test('drops an oversize frame, counts it and resyncs at the next END', () => {
    const { d, got } = decoder(16);
    d.push(slipEncode(new Uint8Array(16).fill(1)));
    assert.equal(got.frames.length, 1, 'exactly maxFrame bytes is accepted');
    const big = slipEncode(new Uint8Array(17).fill(0xc0)); // escaped: 34 wire bytes, 17 decoded
    d.push(concat(big.subarray(0, 20)));
    assert.deepEqual(got.drops, [], 'not yet past the limit');
    d.push(concat(big.subarray(20), ascii('log\n'), slipEncode(bytes(9, 9))));
    assert.deepEqual(got.drops, ['oversize']);
    assert.equal(d.counters.oversize, 1);
    assert.deepEqual(got.frames.slice(1), [bytes(9, 9)]);
    assert.equal(text(concat(...got.text)), 'log\n', 'text after the dropped frame is text again');
  });

  test('default limit is 2057 decoded bytes', () => {
    const { d, got } = decoder();
    d.push(slipEncode(new Uint8Array(2057)));
    d.push(slipEncode(new Uint8Array(2058)));
    assert.equal(got.frames.length, 1);
    assert.deepEqual(got.drops, ['oversize']);
  });

  test('bad escapes make the frame malformed and are counted', () => {
    const { d, got } = decoder();
    d.push(bytes(END, 0x01, ESC, 0x41, 0x02, END));
    d.push(bytes(END, 0x03, ESC, END)); // ends inside an escape
    d.push(concat(ascii('t'), slipEncode(bytes(0x04))));
    assert.deepEqual(got.drops, ['malformed', 'malformed']);
    assert.equal(d.counters.malformed, 2);
    assert.deepEqual(got.frames, [bytes(0x04)]);
    assert.equal(text(concat(...got.text)), 't');
  });

  test('LineSplitter splits on LF, strips CR, keeps UTF-8 split across chunks', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    const all = ascii('I (1) héllo\r\nW (2) ünï\r\r\n\npartial');
    for (const b of all) s.push(bytes(b));
    assert.deepEqual(lines, ['I (1) héllo', 'W (2) ünï', '']);
    s.flush();
    assert.deepEqual(lines, ['I (1) héllo', 'W (2) ünï', '', 'partial']);
    s.flush();
    assert.equal(lines.length, 4, 'nothing left to flush');
  });
});

// ---- frames and TLV ------------------------------------------------------------------

describe('frame', () => {
  test('encodes header, payload and big-endian CRC', () => {
    const f = encodeFrame({ kind: Kind.REQUEST, command: Command.HELLO, id: 0x1234, status: 0, payload: bytes(0xaa) });
    // CRC of the first six bytes, from zlib.crc32: 0xA88FC318
    assert.deepEqual(f, bytes(0x01, 0x01, 0x12, 0x34, 0x00, 0xaa, 0xa8, 0x8f, 0xc3, 0x18));
    assert.deepEqual(decodeFrame(f), { kind: 1, command: 1, id: 0x1234, status: 0, payload: bytes(0xaa) });
  });

  test('round trips empty and largest payloads', () => {
    for (const n of [0, 1, 2048]) {
      const fr: Frame = { kind: Kind.RESPONSE, command: 0x7f, id: 0xffff, status: Status.BUSY, payload: new Uint8Array(n).fill(0xc0) };
      const enc = encodeFrame(fr);
      assert.equal(enc.length, 9 + n);
      assert.deepEqual(decodeFrame(enc), fr);
    }
  });

  test('rejects short, long and corrupt frames', () => {
    const good = encodeFrame({ kind: 2, command: 1, id: 1, status: 0, payload: bytes() });
    assert.throws(() => decodeFrame(good.subarray(0, 8)), (e: unknown) => e instanceof FrameError && e.reason === 'short');
    assert.throws(() => decodeFrame(new Uint8Array(MAX_FRAME + 1)), (e: unknown) => e instanceof FrameError && e.reason === 'long');
    for (let i = 0; i < good.length; i++) {
      const bad = good.slice();
      bad[i]! ^= 0x10;
      assert.throws(() => decodeFrame(bad), (e: unknown) => e instanceof FrameError && e.reason === 'crc', `flipped byte ${i}`);
    }
  });

  test('refuses to encode out-of-range fields', () => {
    assert.throws(() => encodeFrame({ kind: 1, command: 1, id: 0x10000, status: 0, payload: bytes() }), RangeError);
    assert.throws(() => encodeFrame({ kind: 1, command: 256, id: 0, status: 0, payload: bytes() }), RangeError);
    assert.throws(() => encodeFrame({ kind: 1, command: 1, id: 0, status: 0, payload: new Uint8Array(2049) }), RangeError);
  });

  test('status and command names', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5].map(statusName), ['OK', 'UNKNOWN_COMMAND', 'BAD_REQUEST', 'BUSY', 'DENIED', 'INTERNAL']);
    assert.equal(statusName(9), 'status 9');
    assert.equal(commandName(0x01), 'HELLO');
    assert.equal(commandName(0x02), 'STATS');
    assert.equal(commandName(0x2a), 'command 0x2A');
  });

  test('TLV writer layout and reader', () => {
    const p = new TlvWriter().u8(1, 7).u16(2, 0x0102).u32(3, 0xdeadbeef).u64(4, 2n ** 40n + 5n).string(5, 'é').bytes(6, bytes()).finish();
    assert.deepEqual(p, bytes(
      1, 0, 1, 7,
      2, 0, 2, 1, 2,
      3, 0, 4, 0xde, 0xad, 0xbe, 0xef,
      4, 0, 8, 0, 0, 1, 0, 0, 0, 0, 5,
      5, 0, 2, 0xc3, 0xa9,
      6, 0, 0,
    ));
    const t = readTlvs(p);
    assert.deepEqual(t.map((x) => x.tag), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(t[4]!.value, bytes(0xc3, 0xa9));
    assert.deepEqual(readTlvs(bytes()), []);
  });

  test('truncated TLVs are clear errors', () => {
    assert.throws(() => readTlvs(bytes(1, 0)), (e: unknown) => e instanceof TlvError && /truncated TLV at offset 0/.test(e.message));
    assert.throws(() => readTlvs(bytes(1, 0, 1, 7, 2, 0, 3, 1, 2)), (e: unknown) => e instanceof TlvError && /truncated TLV 0x02 at offset 4: length 3, only 2/.test(e.message));
    const hello = encodeHello(sampleHello);
    assert.throws(() => decodeHello(hello.subarray(0, hello.length - 1)), TlvError);
  });

  test('decodes HELLO from hand-built bytes, skipping unknown tags', () => {
    const p = bytes(
      0x01, 0, 5, ...ascii('0.1.0'),
      0x7e, 0, 3, 9, 9, 9, // unknown tag
      0x02, 0, 2, 0, 1,
      0x03, 0, 4, ...ascii('sim1'),
      0x04, 0, 8, 0, 0, 0, 0, 0, 0, 0x30, 0x39,
      0x05, 0, 2, 0x08, 0x00,
    );
    assert.deepEqual(decodeHello(p), { firmwareVersion: '0.1.0', abiVersion: 1, boardId: 'sim1', uptimeMs: 12345, maxPayload: 2048 });
    assert.deepEqual(decodeHello(encodeHello(sampleHello)), sampleHello);
  });

  test('HELLO with a missing field or a wrong width is an error', () => {
    const noBoard = new TlvWriter().string(1, '0.1.0').u16(2, 1).u64(4, 1).u16(5, 2048).finish();
    assert.throws(() => decodeHello(noBoard), /HELLO response lacks field boardId \(tag 0x03\)/);
    const wide = new TlvWriter().string(1, '0.1.0').u32(2, 1).string(3, 'b').u64(4, 1).u16(5, 2048).finish();
    assert.throws(() => decodeHello(wide), /abiVersion \(tag 0x02\) is 4 bytes, expected 2/);
  });

  test('decodes STATS', () => {
    const s = { framesAccepted: 1, crcErrors: 2, oversize: 3, malformed: 4, unknownCommands: 5, strayBytes: 6, audioFrames: 0xffffffff };
    const p = encodeStats(s);
    assert.equal(p.length, 7 * 7);
    assert.deepEqual(readTlvs(p).map((t) => t.tag), [1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(decodeStats(concat(bytes(0x42, 0, 1, 0), p)), s);
  });
});

const sampleHello: Hello = { firmwareVersion: '0.1.0', abiVersion: 1, boardId: 'tincan-sim', uptimeMs: 2 ** 40, maxPayload: 2048 };

// ---- transport URLs -----------------------------------------------------------------

describe('link urls', () => {
  test('parses socket URLs and device paths', () => {
    assert.deepEqual(parseLinkUrl('socket://127.0.0.1:5555'), { kind: 'socket', host: '127.0.0.1', port: 5555 });
    assert.deepEqual(parseLinkUrl('socket://localhost:1'), { kind: 'socket', host: 'localhost', port: 1 });
    assert.deepEqual(parseLinkUrl('socket://[::1]:65535'), { kind: 'socket', host: '::1', port: 65535 });
    assert.deepEqual(parseLinkUrl('/dev/ttyUSB0'), { kind: 'serial', path: '/dev/ttyUSB0' });
    assert.deepEqual(parseLinkUrl('COM3'), { kind: 'serial', path: 'COM3' });
    assert.deepEqual(parseLinkUrl('rfc2217://127.0.0.1:4000'), { kind: 'rfc2217', host: '127.0.0.1', port: 4000 });
  });

  test('rejects bad URLs with a one-line reason', () => {
    const cases: [string, RegExp][] = [
      ['socket://:5555', /host is missing/],
      ['socket://127.0.0.1', /port is missing/],
      ['socket://127.0.0.1:0', /outside 1\.\.65535/],
      ['socket://127.0.0.1:65536', /outside 1\.\.65535/],
      ['socket://127.0.0.1:55x', /bad link URL/],
      ['telnet://h:1', /unsupported link URL/],
      ['rfc2217://h', /port is missing/],
      ['ttyUSB0', /bad link URL 'ttyUSB0'/],
    ];
    for (const [url, re] of cases) {
      assert.throws(() => parseLinkUrl(url), (e: unknown) => e instanceof LinkError && re.test(e.message) && !e.message.includes('\n'), url);
    }
  });

  test('a missing serial device names the path and the fix', async () => {
    await assert.rejects(openLink('/dev/ttyTINCAN-none', {}), {
      message: "cannot open /dev/ttyTINCAN-none: no such device — run 'tincan ports' to list serial ports",
    });
  });

  test('connection refused is one clear line', async () => {
    const port = await freePort();
    const url = `socket://127.0.0.1:${port}`;
    const want = `cannot connect to ${url}: connection refused — is the board (tincan sim) running?`;
    await assert.rejects(openLink(url, {}), { message: want });
    await assert.rejects(ConsoleClient.open(url, {}), { message: want });
  });
});

// ---- console client over socket:// ----------------------------------------------------

/** Device double: decodes request frames and lets `answer` write back raw bytes. */
type Answer = (req: Frame, sock: net.Socket, n: number) => void;

async function device(answer: Answer): Promise<{ url: string; requests: Frame[]; close: () => Promise<void> }> {
  const requests: Frame[] = [];
  const socks = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    socks.add(sock);
    sock.on('close', () => socks.delete(sock));
    sock.on('error', () => {});
    const d = new SlipDecoder({ onFrame: (b) => { const f = decodeFrame(b); requests.push(f); answer(f, sock, requests.length); } });
    sock.on('data', (c) => d.push(c));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `socket://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((r) => { for (const s of socks) s.destroy(); server.close(() => r()); }),
  };
}

function respond(sock: net.Socket, req: Frame, payload: Uint8Array, status: number = Status.OK, id = req.id): void {
  sock.write(slipEncode(encodeFrame({ kind: Kind.RESPONSE, command: req.command, id, status, payload })));
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('ConsoleClient over socket://', () => {
  test('HELLO between log lines; logs as lines; events', async () => {
    const dev = await device((req, sock) => {
      sock.write(ascii('I (10) console: got a req'));
      sock.write(ascii('uest\r\n'));
      sock.write(slipEncode(encodeFrame({ kind: Kind.EVENT, command: 0x60, id: 0, status: 0, payload: bytes(1, 2) })));
      respond(sock, req, encodeHello(sampleHello));
      sock.write(ascii('W (11) done\r\n'));
    });
    const c = await ConsoleClient.open(dev.url, {});
    const lines: string[] = [];
    const events: { command: number; payload: Uint8Array }[] = [];
    c.onLog((l) => lines.push(l));
    c.onEvent((e) => events.push(e));
    try {
      assert.deepEqual(await c.hello(), sampleHello);
      assert.equal(dev.requests.length, 1);
      assert.deepEqual({ ...dev.requests[0]!, id: 0 }, { kind: Kind.REQUEST, command: Command.HELLO, id: 0, status: 0, payload: bytes() });
      await until(() => lines.length === 2);
      assert.deepEqual(lines, ['I (10) console: got a request', 'W (11) done']);
      assert.deepEqual(events, [{ command: 0x60, payload: bytes(1, 2) }]);
    } finally {
      await c.close();
      await dev.close();
    }
  });

  test('ignores responses with unknown ids and matches concurrent requests by id', async () => {
    const dev = await device((req, sock) => {
      respond(sock, req, bytes(), Status.OK, (req.id + 1000) & 0xffff); // stray id
      // answer in reverse order of arrival: the STATS (2nd) before the HELLO (1st)
      setTimeout(() => respond(sock, req, bytes(req.command)), req.command === Command.HELLO ? 60 : 0);
    });
    const c = await ConsoleClient.open(dev.url, {});
    try {
      const [a, b] = await Promise.all([c.request(Command.HELLO), c.request(Command.STATS)]);
      assert.deepEqual(a, { status: 0, payload: bytes(1) });
      assert.deepEqual(b, { status: 0, payload: bytes(2) });
      assert.equal(c.counters.unknownIds, 2);
      assert.equal(dev.requests[1]!.id, (dev.requests[0]!.id + 1) & 0xffff);
    } finally {
      await c.close();
      await dev.close();
    }
  });

  test('retries after a timeout with a new id, then succeeds', async () => {
    const dev = await device((req, sock, n) => { if (n === 3) respond(sock, req, encodeHello(sampleHello)); });
    const c = await ConsoleClient.open(dev.url, {});
    try {
      const t0 = Date.now();
      assert.deepEqual(await c.hello({ timeoutMs: 80, retries: 2 }), sampleHello);
      assert.ok(Date.now() - t0 >= 150, 'waited for two timeouts');
      assert.equal(dev.requests.length, 3);
      assert.equal(new Set(dev.requests.map((r) => r.id)).size, 3, 'each attempt has its own id');
    } finally {
      await c.close();
      await dev.close();
    }
  });

  test('gives up after retries+1 attempts with a timeout error', async () => {
    const dev = await device(() => {});
    const c = await ConsoleClient.open(dev.url, {});
    try {
      const t0 = Date.now();
      await assert.rejects(c.request(Command.STATS, bytes(), { timeoutMs: 50, retries: 3 }), (e: unknown) =>
        e instanceof ConsoleError && e.code === 'TIMEOUT' && e.message.includes(`no response from ${dev.url} to STATS after 4 attempt(s) of 50 ms`));
      const took = Date.now() - t0;
      assert.ok(took >= 190 && took < 1000, `took ${took} ms`);
      assert.equal(dev.requests.length, 4);
    } finally {
      await c.close();
      await dev.close();
    }
  });

  test('a late response to an earlier attempt is accepted', async () => {
    const dev = await device((req, sock, n) => { if (n === 1) setTimeout(() => respond(sock, req, bytes(7)), 250); });
    const c = await ConsoleClient.open(dev.url, {});
    try {
      const r = await c.request(0x10, bytes(), { timeoutMs: 200, retries: 2 });
      assert.deepEqual(r, { status: 0, payload: bytes(7) });
      assert.equal(dev.requests.length, 2);
    } finally {
      await c.close();
      await dev.close();
    }
  });

  test('a status other than OK is an error naming it', async () => {
    const dev = await device((req, sock) => respond(sock, req, bytes(), Status.BUSY));
    const c = await ConsoleClient.open(dev.url, {});
    try {
      await assert.rejects(c.hello(), (e: unknown) => e instanceof ConsoleError && e.status === Status.BUSY && /answered HELLO with BUSY/.test(e.message));
      await assert.rejects(c.stats(), /answered STATS with BUSY/);
    } finally {
      await c.close();
      await dev.close();
    }
  });

  test('a connection closed mid-request rejects the request promptly, and later ones too', async () => {
    const dev = await device((_req, sock) => { sock.write(ascii('I (5) bye\r\n')); setTimeout(() => sock.destroy(), 20); });
    const c = await ConsoleClient.open(dev.url, {});
    try {
      const t0 = Date.now();
      const p1 = c.hello({ timeoutMs: 3000, retries: 2 });
      const p2 = c.stats({ timeoutMs: 3000, retries: 2 });
      await assert.rejects(p1, (e: unknown) => e instanceof ConsoleError && e.code === 'CLOSED' &&
        e.message.startsWith(`HELLO got no response: lost connection to ${dev.url}`) && !e.message.includes('\n'));
      await assert.rejects(p2, /STATS got no response: lost connection/);
      assert.ok(Date.now() - t0 < 1000, 'rejected well before the timeout');
      await assert.rejects(c.hello(), /cannot send HELLO: lost connection to/);
      assert.equal(c.link.closed, true);
    } finally {
      await c.close();
      await dev.close();
    }
  });

  test('close() rejects pending requests', async () => {
    const dev = await device(() => {});
    const c = await ConsoleClient.open(dev.url, {});
    const p = assert.rejects(c.hello({ timeoutMs: 5000 }), /HELLO got no response: the console on socket:\/\/.* was closed/);
    await c.close();
    await p;
    await dev.close();
  });
});

// ---- request ids, over an in-memory link ------------------------------------------------

/** A Link double that answers every request at once with an empty OK response. */
function echoLink(): Link & { ids: number[] } {
  const data = new Set<(c: Uint8Array) => void>();
  const ids: number[] = [];
  const dec = new SlipDecoder({
    onFrame: (b) => {
      const f = decodeFrame(b);
      ids.push(f.id);
      const resp = slipEncode(encodeFrame({ kind: Kind.RESPONSE, command: f.command, id: f.id, status: 0, payload: bytes() }));
      queueMicrotask(() => { for (const cb of data) cb(resp); });
    },
  });
  return {
    url: 'mem://echo', closed: false, ids,
    write: async (b) => dec.push(b),
    onData: (cb) => { data.add(cb); return () => data.delete(cb); },
    onClose: () => () => {},
    setSignals: async () => {},
    setBaud: async () => {},
    close: async () => {},
  };
}

test('request ids increment from 1 and wrap after 0xFFFF to 1', async () => {
  const link = echoLink();
  const c = new ConsoleClient(link);
  for (let i = 0; i < 0xffff + 3; i++) await c.request(Command.HELLO);
  assert.deepEqual(link.ids.slice(0, 3), [1, 2, 3]);
  assert.deepEqual(link.ids.slice(0xfffe), [0xffff, 1, 2, 3]);
  assert.equal(link.ids.includes(0), false);
});

async function until(cond: () => boolean, ms = 1000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

// ---- ports (serialport's list and the manifests are injected) ---------------------------

const fakeBoards = [
  { id: 'board-a', usb: [{ vid: '303a', pid: '1001', role: 'usb-serial-jtag', description: '' }, { vid: '10C4', pid: 'EA60', role: 'uart-bridge', description: '' }] },
  { id: 'board-b', usb: [{ vid: '0483', pid: '5740', role: 'cdc-acm', description: '' }] },
] as unknown as BoardManifest[];

const lister = (ports: RawPort[]) => async () => ports;

describe('ports', () => {
  test('lists ports with USB ids and matching boards', async () => {
    const ports = await listPorts({
      boards: fakeBoards,
      list: lister([
        { path: '/dev/ttyACM0', vendorId: '303A', productId: '1001', manufacturer: 'Espressif', serialNumber: 'AB:CD' },
        { path: '/dev/ttyUSB0', vendorId: '10c4', productId: 'ea60' },
        { path: '/dev/ttyS0' },
      ]),
    });
    assert.deepEqual(ports, [
      { path: '/dev/ttyACM0', vid: 0x303a, pid: 0x1001, manufacturer: 'Espressif', serialNumber: 'AB:CD', boards: [{ id: 'board-a', role: 'usb-serial-jtag' }] },
      { path: '/dev/ttyUSB0', vid: 0x10c4, pid: 0xea60, boards: [{ id: 'board-a', role: 'uart-bridge' }] },
      { path: '/dev/ttyS0', boards: [] },
    ]);
    assert.equal(formatUsbId(0x303a, 0x1001), '303a:1001');
    assert.equal(formatUsbId(undefined, undefined), 'no USB id');
  });

  test('a missing udevadm is a one-line error saying to install udev', async () => {
    const list = async (): Promise<RawPort[]> => { throw Object.assign(new Error('spawn udevadm ENOENT'), { code: 'ENOENT', path: 'udevadm' }); };
    await assert.rejects(listPorts({ boards: fakeBoards, list }), (e: unknown) => e instanceof Error && /udevadm is missing — install udev/.test(e.message) && !e.message.includes('\n'));
  });

  test('autodetect picks the single matching port', async () => {
    const list = lister([{ path: '/dev/ttyS0' }, { path: '/dev/ttyACM3', vendorId: '0483', productId: '5740' }, { path: '/dev/ttyUSB1', vendorId: '10c4', productId: 'ea60' }]);
    assert.equal(await autodetectPort('board-b', { boards: fakeBoards, list }), '/dev/ttyACM3');
    assert.equal(await autodetectPort('board-a', { boards: fakeBoards, list }), '/dev/ttyUSB1');
  });

  test('autodetect refuses none, several, or an unknown board, naming what it found', async () => {
    const list = lister([{ path: '/dev/ttyACM0', vendorId: '303a', productId: '1001' }, { path: '/dev/ttyUSB0', vendorId: '10c4', productId: 'ea60' }]);
    await assert.rejects(autodetectPort(undefined, { boards: fakeBoards, list }),
      { message: 'several serial ports are a known board: /dev/ttyACM0 (303a:1001, board-a usb-serial-jtag); /dev/ttyUSB0 (10c4:ea60, board-a uart-bridge) — pass --port to choose one' });
    await assert.rejects(autodetectPort('board-b', { boards: fakeBoards, list }),
      /^Error: no serial port is board board-b \(ports found: \/dev\/ttyACM0 .*\) — connect the board, or pass --port$/);
    await assert.rejects(autodetectPort('board-b', { boards: fakeBoards, list: lister([]) }), /no serial ports found/);
    await assert.rejects(autodetectPort('board-z', { boards: fakeBoards, list }), /unknown board 'board-z' — known boards: board-a, board-b/);
  });
});
