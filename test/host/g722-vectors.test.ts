// ITU-T G.722 Appendix II conformance: the sub-band coders with the QMFs by-passed, every
// leg, every mode, against the ITU's own test sequences (../shared/vectors/g722/README.md).

import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { WasmCodec } from "../../host-tools/codec/wasm-codec.ts";
import { root } from "./helpers.ts";

const vectors = path.join(root, "..", "shared", "vectors", "g722");
const words = (name: string): Int16Array => {
  const b = fs.readFileSync(path.join(vectors, name));
  return new Int16Array(b.buffer, b.byteOffset, b.length >> 1);
};
const isReset = (w: number) => (w & 1) === 1;

for (const [input, expected] of [["bt1c1.xmt", "bt2r1.cod"], ["bt1c2.xmt", "bt2r2.cod"]]) {
  test(`encoder: ${input} -> ${expected}`, () => {
    const x = words(input);
    const cod = words(expected);
    assert.equal(x.length, cod.length);
    const codec = new WasmCodec();
    codec.openEncoder("g722", 1);
    let checked = 0;
    let mismatches = 0;
    let first = -1;
    for (let i = 0; i < x.length; i++) {
      if (isReset(x[i])) { codec.openEncoder("g722", 1); continue; }
      const sample = x[i] >> 1;
      const code = codec.encodeSubbands(sample, sample);
      if (code !== ((cod[i] >> 8) & 0xff)) { mismatches++; if (first < 0) first = i; }
      checked++;
    }
    assert.ok(checked > 700, `${checked} codes checked`);
    assert.equal(mismatches, 0, `${mismatches} of ${checked} codes differ, first at word ${first}`);
  });
}

const decoderLegs: [string, number][] = [["bt2r1.cod", 1], ["bt2r2.cod", 2], ["bt1d3.cod", 3]];
for (const [codFile, n] of decoderLegs) {
  for (const mode of [1, 2, 3]) {
    test(`decoder mode ${mode}: ${codFile} -> bt3l${n}.rc${mode}, bt3h${n}.rc0`, () => {
      const cod = words(codFile);
      const low = words(`bt3l${n}.rc${mode}`);
      const high = words(`bt3h${n}.rc0`);
      assert.equal(low.length, cod.length);
      const codec = new WasmCodec();
      codec.openDecoder("g722", mode);
      let checked = 0;
      let mismatches = 0;
      let first = "";
      for (let i = 0; i < cod.length; i++) {
        if (isReset(cod[i])) { codec.openDecoder("g722", mode); continue; }
        const [rl, rh] = codec.decodeSubbands((cod[i] >> 8) & 0xff);
        const okLow = ((rl << 1) & 0xffff) === (low[i] & 0xfffe);
        const okHigh = ((rh << 1) & 0xffff) === (high[i] & 0xfffe);
        if (!okLow || !okHigh) {
          mismatches++;
          if (!first) first = `word ${i}: low ${rl << 1} vs ${low[i] & ~1}, high ${rh << 1} vs ${high[i] & ~1}`;
        }
        checked++;
      }
      assert.ok(checked > 700, `${checked} samples checked`);
      assert.equal(mismatches, 0, `${mismatches} of ${checked} differ; first ${first}`);
    });
  }
}
