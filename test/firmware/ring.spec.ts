// ByteRing (firmware/lib/ring.ts): the fixed-capacity FIFO behind the console's transmit queue.
import { ByteRing } from "../../firmware/lib/ring";

const src = memory.data(64);

function fillSource(): void {
  for (let i = 0; i < 64; i++) store<u8>(src + <usize>i, <u8>(i + 1)); // 1, 2, 3, ...
}

/** The byte at offset i of the contiguous run peekAddress() points at. */
function peekAt(r: ByteRing, i: i32): u8 { return load<u8>(r.peekAddress() + <usize>i); }

describe("ByteRing: empty and full", () => {
  it("starts empty with its whole capacity free", () => {
    const r = new ByteRing(8);
    expect(r.capacity).toBe(8);
    expect(r.length).toBe(0);
    expect(r.free).toBe(8);
    expect(r.peekLength()).toBe(0);
  });

  it("fills to exactly capacity with push, then refuses another byte", () => {
    fillSource();
    const r = new ByteRing(8);
    expect(r.push(src, 8)).toBe(true);
    expect(r.length).toBe(8);
    expect(r.free).toBe(0);
    expect(r.pushByte(0x55)).toBe(false);
    expect(r.push(src, 1)).toBe(false);
    expect(r.length).toBe(8);
    for (let i = 0; i < 8; i++) expect(peekAt(r, i)).toBe(<u8>(i + 1));
  });

  it("fills with pushByte and refuses the byte past capacity", () => {
    const r = new ByteRing(4);
    expect(r.pushByte(0xa1)).toBe(true);
    expect(r.pushByte(0xa2)).toBe(true);
    expect(r.pushByte(0xa3)).toBe(true);
    expect(r.pushByte(0xa4)).toBe(true);
    expect(r.pushByte(0xa5)).toBe(false);
    expect(r.length).toBe(4);
    expect(peekAt(r, 0)).toBe(0xa1);
    expect(peekAt(r, 3)).toBe(0xa4);
  });

  it("push of zero bytes succeeds and changes nothing", () => {
    const r = new ByteRing(4);
    expect(r.push(src, 0)).toBe(true);
    expect(r.length).toBe(0);
  });
});

describe("ByteRing: all-or-nothing push", () => {
  it("refuses a push larger than the free space and keeps what it held", () => {
    fillSource();
    const r = new ByteRing(8);
    expect(r.push(src, 5)).toBe(true); // 1..5
    expect(r.push(src + 10, 4)).toBe(false); // 4 > 3 free
    expect(r.length).toBe(5);
    expect(r.free).toBe(3);
    expect(r.peekLength()).toBe(5);
    for (let i = 0; i < 5; i++) expect(peekAt(r, i)).toBe(<u8>(i + 1));
    expect(r.push(src + 10, 3)).toBe(true); // exactly the free space: 11, 12, 13
    expect(r.length).toBe(8);
    expect(peekAt(r, 7)).toBe(13);
  });

  it("refuses a negative length", () => {
    const r = new ByteRing(8);
    expect(r.push(src, -1)).toBe(false);
    expect(r.length).toBe(0);
    expect(r.free).toBe(8);
  });
});

describe("ByteRing: wrap-around", () => {
  it("keeps bytes in order across the wrap; peek gives the contiguous run to the end first", () => {
    fillSource(); // src[i] = i + 1
    const r = new ByteRing(8);
    const base = r.peekAddress(); // head is 0: the start of the storage
    expect(r.push(src, 6)).toBe(true); // slots 0..5 = 1..6
    r.consume(5); // head = 5, holds [6]
    expect(r.length).toBe(1);
    expect(r.peekAddress()).toBe(base + 5);
    expect(r.peekLength()).toBe(1);
    expect(peekAt(r, 0)).toBe(6);

    expect(r.push(src + 6, 7)).toBe(true); // 7..13: slots 6, 7, then 0..4
    expect(r.length).toBe(8);
    expect(r.free).toBe(0);
    // contiguous run: slots 5..7
    expect(r.peekAddress()).toBe(base + 5);
    expect(r.peekLength()).toBe(3);
    expect(peekAt(r, 0)).toBe(6);
    expect(peekAt(r, 1)).toBe(7);
    expect(peekAt(r, 2)).toBe(8);

    r.consume(3); // head wraps to 0
    expect(r.peekAddress()).toBe(base);
    expect(r.peekLength()).toBe(5);
    expect(r.length).toBe(5);
    for (let i = 0; i < 5; i++) expect(peekAt(r, i)).toBe(<u8>(9 + i));
  });

  it("pushByte wraps the tail too", () => {
    const r = new ByteRing(4);
    const base = r.peekAddress();
    r.pushByte(1); r.pushByte(2); r.pushByte(3);
    r.consume(2); // head 2, holds [3]
    expect(r.pushByte(4)).toBe(true); // slot 3
    expect(r.pushByte(5)).toBe(true); // slot 0
    expect(r.pushByte(6)).toBe(true); // slot 1
    expect(r.pushByte(7)).toBe(false);
    expect(r.peekAddress()).toBe(base + 2);
    expect(r.peekLength()).toBe(2);
    expect(peekAt(r, 0)).toBe(3);
    expect(peekAt(r, 1)).toBe(4);
    expect(load<u8>(base)).toBe(5);
    expect(load<u8>(base + 1)).toBe(6);
  });

  it("drains in order through many wraps (1000 pushes of 3, consumes of 3)", () => {
    const r = new ByteRing(7); // 7 is coprime with 3: the wrap point moves every round
    let next: u8 = 0;
    let expected: u8 = 0;
    const chunk = memory.data(3);
    for (let round = 0; round < 1000; round++) {
      for (let k = 0; k < 3; k++) store<u8>(chunk + <usize>k, next++);
      expect(r.push(chunk, 3)).toBe(true);
      let taken = 0;
      while (taken < 3) {
        const n = min(r.peekLength(), 3 - taken);
        for (let k = 0; k < n; k++) {
          expect(peekAt(r, k)).toBe(expected);
          expected++;
        }
        r.consume(n);
        taken += n;
      }
      expect(r.length).toBe(0);
    }
    expect(expected).toBe(<u8>(3000 & 0xff));
  });
});

describe("ByteRing: consume and clear", () => {
  it("consume of more than the length empties it and resets the head to the start", () => {
    fillSource();
    const r = new ByteRing(8);
    const base = r.peekAddress();
    r.push(src, 5);
    r.consume(3);
    expect(r.peekAddress()).toBe(base + 3);
    r.consume(100);
    expect(r.length).toBe(0);
    expect(r.free).toBe(8);
    expect(r.peekAddress()).toBe(base);
    expect(r.peekLength()).toBe(0);
    // the whole capacity is contiguous again
    expect(r.push(src, 8)).toBe(true);
    expect(r.peekLength()).toBe(8);
  });

  it("consume of 0 or a negative count changes nothing", () => {
    fillSource();
    const r = new ByteRing(8);
    r.push(src, 4);
    r.consume(0);
    r.consume(-3);
    expect(r.length).toBe(4);
    expect(peekAt(r, 0)).toBe(1);
  });

  it("clear empties a wrapped ring and makes the whole capacity free", () => {
    fillSource();
    const r = new ByteRing(8);
    const base = r.peekAddress();
    r.push(src, 6);
    r.consume(4);
    r.push(src, 5); // wrapped
    r.clear();
    expect(r.length).toBe(0);
    expect(r.free).toBe(8);
    expect(r.peekAddress()).toBe(base);
    expect(r.peekLength()).toBe(0);
    expect(r.push(src + 20, 8)).toBe(true);
    expect(peekAt(r, 0)).toBe(21);
    expect(peekAt(r, 7)).toBe(28);
  });
});
