// A streaming zlib (RFC 1950) / deflate (RFC 1951) decoder for the ESP loader emulator's
// FLASH_DEFL_DATA: the host sends one compressed stream cut into blocks at arbitrary byte
// boundaries, and the chip writes what each block decompresses to before the next arrives.
// node:zlib has no synchronous streaming inflate (inflateSync wants the whole stream, so it
// would re-inflate everything on every block), hence this small decoder in the style of zlib's
// puff.c. It is written as a generator that yields whenever it runs out of input, so the
// decoder's position (mid-block, mid-match) survives between push() calls without an explicit
// state machine.

export class InflateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InflateError";
  }
}

const MAXBITS = 15;
const WINDOW = 32768;

/** Canonical Huffman code: count of codes per length, and symbols ordered by code. */
interface Huffman {
  count: Uint16Array;
  symbol: Uint16Array;
}

const LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEN_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
/** Order in which the code-length code lengths are sent (RFC 1951 3.2.7). */
const CLEN_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** Builds a code from per-symbol lengths; over-subscribed sets are invalid, incomplete ones allowed. */
function huffman(lengths: ArrayLike<number>, n: number): Huffman {
  const count = new Uint16Array(MAXBITS + 1);
  for (let s = 0; s < n; s++) count[lengths[s]]++;
  let left = 1;
  for (let len = 1; len <= MAXBITS; len++) {
    left = (left << 1) - count[len];
    if (left < 0) throw new InflateError("over-subscribed Huffman code");
  }
  const offs = new Uint16Array(MAXBITS + 1);
  for (let len = 1; len < MAXBITS; len++) offs[len + 1] = offs[len] + count[len];
  const symbol = new Uint16Array(n);
  for (let s = 0; s < n; s++) if (lengths[s] !== 0) symbol[offs[lengths[s]]++] = s;
  count[0] = 0;
  return { count, symbol };
}

const FIXED = (() => {
  const l = new Uint8Array(288);
  l.fill(8, 0, 144);
  l.fill(9, 144, 256);
  l.fill(7, 256, 280);
  l.fill(8, 280, 288);
  return { lit: huffman(l, 288), dist: huffman(new Uint8Array(30).fill(5), 30) };
})();

/** Bytes produced by one push(), grown as needed. */
class Output {
  buf = new Uint8Array(1 << 16);
  length = 0;
  put(b: number): void {
    if (this.length === this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.length++] = b;
  }
  take(): Uint8Array {
    const out = this.buf.slice(0, this.length);
    this.length = 0;
    return out;
  }
}

export class StreamingInflater {
  /** True once the final block and the Adler-32 trailer have been read and checked. */
  done = false;
  /** Bytes of output so far. */
  totalOut = 0;
  /** Input bytes that arrived after the end of the stream (ignored). */
  trailing = 0;
  private input: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private bitBuf = 0;
  private bitCnt = 0;
  private readonly window = new Uint8Array(WINDOW);
  private readonly out = new Output();
  private adlerA = 1;
  private adlerB = 0;
  /** The Adler-32 the stream's trailer gives, once read. */
  private expectedAdler = 0;
  private failed: InflateError | undefined;
  private readonly run: Generator<void, void, void>;

  constructor() {
    this.run = this.decode();
    this.run.next(); // runs up to the first need for input
  }

  /**
   * Feeds the next piece of the compressed stream; returns what it decompressed to.
   * Throws InflateError on a corrupt stream (and on every push after one).
   */
  push(chunk: Uint8Array): Uint8Array {
    if (this.failed) throw this.failed;
    if (this.done) {
      this.trailing += chunk.length;
      return new Uint8Array(0);
    }
    this.input = chunk;
    this.pos = 0;
    try {
      this.run.next();
    } catch (err) {
      this.failed = err instanceof InflateError ? err : new InflateError(String(err));
      throw this.failed;
    }
    if (this.done) this.trailing += this.input.length - this.pos;
    const produced = this.out.take();
    this.adler(produced);
    this.totalOut += produced.length;
    if (this.done && ((this.adlerB << 16) | this.adlerA) >>> 0 !== this.expectedAdler) {
      this.failed = new InflateError("Adler-32 of the decompressed data does not match the stream's trailer");
      throw this.failed;
    }
    return produced;
  }

  private adler(bytes: Uint8Array): void {
    let a = this.adlerA;
    let b = this.adlerB;
    for (let i = 0; i < bytes.length; ) {
      const end = Math.min(bytes.length, i + 5552); // largest run before the sums can overflow 2^32
      for (; i < end; i++) {
        a += bytes[i];
        b += a;
      }
      a %= 65521;
      b %= 65521;
    }
    this.adlerA = a;
    this.adlerB = b;
  }

  /** Makes at least n (<= 24) bits available, or returns false when the input runs out first. */
  private need(n: number): boolean {
    while (this.bitCnt < n) {
      if (this.pos >= this.input.length) return false;
      this.bitBuf |= this.input[this.pos++] << this.bitCnt;
      this.bitCnt += 8;
    }
    return true;
  }

  private take(n: number): number {
    const v = this.bitBuf & ((1 << n) - 1);
    this.bitBuf >>>= n;
    this.bitCnt -= n;
    return v;
  }

  /** The next Huffman symbol, or -1 when more input is needed to finish it (nothing consumed). */
  private symbol(h: Huffman): number {
    this.need(MAXBITS);
    let code = 0;
    let first = 0;
    let index = 0;
    for (let len = 1; len <= MAXBITS; len++) {
      if (len > this.bitCnt) return -1;
      code |= (this.bitBuf >>> (len - 1)) & 1;
      const count = h.count[len];
      if (code - count < first) {
        this.take(len);
        return h.symbol[index + (code - first)];
      }
      index += count;
      first = (first + count) << 1;
      code <<= 1;
    }
    throw new InflateError("invalid Huffman code");
  }

  private emit(b: number): void {
    this.window[(this.totalOut + this.out.length) & (WINDOW - 1)] = b;
    this.out.put(b);
  }

  private *bits(n: number): Generator<void, number, void> {
    while (!this.need(n)) yield;
    return this.take(n);
  }

  private *decode(): Generator<void, void, void> {
    const cmf = yield* this.bits(8);
    const flg = yield* this.bits(8);
    if ((cmf & 0x0f) !== 8 || cmf >> 4 > 7) throw new InflateError("not a zlib stream (compression method is not deflate)");
    if (((cmf << 8) | flg) % 31 !== 0) throw new InflateError("not a zlib stream (header check bits are wrong)");
    if (flg & 0x20) throw new InflateError("zlib stream wants a preset dictionary");
    let last = 0;
    do {
      last = yield* this.bits(1);
      const type = yield* this.bits(2);
      if (type === 0) yield* this.stored();
      else if (type === 1) yield* this.codes(FIXED.lit, FIXED.dist);
      else if (type === 2) {
        const { lit, dist } = yield* this.dynamicTables();
        yield* this.codes(lit, dist);
      } else throw new InflateError("invalid deflate block type 3");
    } while (!last);
    this.take(this.bitCnt & 7); // the trailer starts on a byte boundary
    let adler = 0;
    for (let i = 0; i < 4; i++) adler = (adler << 8) | (yield* this.bits(8));
    this.expectedAdler = adler >>> 0;
    this.done = true;
  }

  private *stored(): Generator<void, void, void> {
    this.take(this.bitCnt & 7);
    const len = yield* this.bits(16);
    const nlen = yield* this.bits(16);
    if ((len ^ 0xffff) !== nlen) throw new InflateError("stored block length does not match its complement");
    let left = len;
    while (left > 0 && this.bitCnt >= 8) {
      this.emit(this.take(8));
      left--;
    }
    while (left > 0) {
      while (this.pos >= this.input.length) yield;
      const n = Math.min(left, this.input.length - this.pos);
      for (let i = 0; i < n; i++) this.emit(this.input[this.pos + i]);
      this.pos += n;
      left -= n;
    }
  }

  private *dynamicTables(): Generator<void, { lit: Huffman; dist: Huffman }, void> {
    const nlen = (yield* this.bits(5)) + 257;
    const ndist = (yield* this.bits(5)) + 1;
    const ncode = (yield* this.bits(4)) + 4;
    if (nlen > 286 || ndist > 30) throw new InflateError("too many length or distance codes");
    const lengths = new Uint8Array(320);
    for (let i = 0; i < ncode; i++) lengths[CLEN_ORDER[i]] = yield* this.bits(3);
    const lencode = huffman(lengths, 19);
    lengths.fill(0);
    for (let i = 0; i < nlen + ndist; ) {
      let sym = this.symbol(lencode);
      while (sym < 0) {
        yield;
        sym = this.symbol(lencode);
      }
      if (sym < 16) {
        lengths[i++] = sym;
        continue;
      }
      let value = 0;
      let times: number;
      if (sym === 16) {
        if (i === 0) throw new InflateError("repeat of a code length with no previous length");
        value = lengths[i - 1];
        times = 3 + (yield* this.bits(2));
      } else if (sym === 17) times = 3 + (yield* this.bits(3));
      else times = 11 + (yield* this.bits(7));
      if (i + times > nlen + ndist) throw new InflateError("code lengths repeat past the end of the table");
      while (times--) lengths[i++] = value;
    }
    if (lengths[256] === 0) throw new InflateError("no end-of-block code");
    return { lit: huffman(lengths.subarray(0, nlen), nlen), dist: huffman(lengths.subarray(nlen, nlen + ndist), ndist) };
  }

  private *codes(lit: Huffman, dist: Huffman): Generator<void, void, void> {
    for (;;) {
      let sym = this.symbol(lit);
      while (sym < 0) {
        yield;
        sym = this.symbol(lit);
      }
      if (sym < 256) {
        this.emit(sym);
        continue;
      }
      if (sym === 256) return;
      sym -= 257;
      if (sym >= 29) throw new InflateError("invalid length code");
      const len = LEN_BASE[sym] + (yield* this.bits(LEN_EXTRA[sym]));
      let dsym = this.symbol(dist);
      while (dsym < 0) {
        yield;
        dsym = this.symbol(dist);
      }
      if (dsym >= 30) throw new InflateError("invalid distance code");
      const d = DIST_BASE[dsym] + (yield* this.bits(DIST_EXTRA[dsym]));
      const produced = this.totalOut + this.out.length;
      if (d > produced) throw new InflateError("distance points before the start of the output");
      for (let k = 0; k < len; k++) this.emit(this.window[(produced + k - d) & (WINDOW - 1)]);
    }
  }
}
