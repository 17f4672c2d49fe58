// 2-bit packing in transformers' layout: the documented example, round trips for every shape
// (out not a multiple of 4 included), zeroed padding slots, words ↔ bytes, bad input.
import { describe, expect, it } from 'vitest';
import {
  packedBytesToWords,
  packedRows,
  packedWeightTensor,
  packedWordCount,
  packedWordsToBytes,
  packTernary,
  unpackTernary,
} from '../src/index.js';
import { randomTernary } from './helpers.js';

describe('packTernary / unpackTernary', () => {
  it('matches the layout example of transformers unpack_weights', () => {
    // bytes [[0b10100001, 0b00011000], [0b10010000, 0b00001010]] unpack to this [8, 2] weight
    const weight = [0, -1, -1, 1, -1, 1, -1, 1, 1, 0, 0, -1, 1, -1, 1, -1];
    const packed = packTernary(weight, 8, 2);
    expect(Array.from(packed)).toEqual([0b10100001, 0b00011000, 0b10010000, 0b00001010]);
    expect(Array.from(unpackTernary(packed, 8, 2))).toEqual(weight);
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 30, 33])('round-trips out=%i for in = 1, 5, 16', (out) => {
    for (const inF of [1, 5, 16]) {
      const w = randomTernary(out * inF, out * 31 + inF);
      const packed = packTernary(w, out, inF);
      expect(packed.length).toBe(packedRows(out) * inF);
      expect(Array.from(unpackTernary(packed, out, inF))).toEqual(Array.from(w));
      // row r sits in byte row r mod rows at bit offset 2·floor(r / rows)
      const rows = packedRows(out);
      for (let r = 0; r < out; r++) {
        for (let k = 0; k < inF; k++) {
          expect(((packed[(r % rows) * inF + k] >> (2 * Math.floor(r / rows))) & 3) - 1).toBe(w[r * inF + k]);
        }
      }
      // slots past the last row stay 0, as pack_weights leaves them
      for (let r = out; r < 4 * rows; r++) {
        for (let k = 0; k < inF; k++) expect((packed[(r % rows) * inF + k] >> (2 * Math.floor(r / rows))) & 3).toBe(0);
      }
    }
  });

  it('turns bytes into little-endian words and back (zero-padded)', async () => {
    const bytes = packTernary(randomTernary(13 * 7, 5), 13, 7); // 28 bytes
    const odd = packTernary(randomTernary(5 * 3, 6), 5, 3); // 6 bytes → 2 words
    expect(packedWordCount(13, 7)).toBe(7);
    expect(packedWordCount(5, 3)).toBe(2);
    for (const b of [bytes, odd]) {
      const words = packedBytesToWords(b);
      expect(words.length).toBe(Math.ceil(b.length / 4));
      expect(words[0]).toBe(b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24));
      expect(Array.from(packedWordsToBytes(words, b.length))).toEqual(Array.from(b));
      const t = packedWeightTensor(b);
      expect(t.dtype).toBe('int32');
      expect(Array.from(await t.data())).toEqual(Array.from(words));
      t.dispose();
    }
  });

  it('rejects non-ternary values, wrong lengths and code 3 with the argument named', () => {
    expect(() => packTernary([0, 1, 2, -1], 2, 2)).toThrow(/packTernary: argument 'values' is not ternary: value 2 at \[1, 0\]/);
    expect(() => packTernary([0, 0.5], 1, 2)).toThrow(/packTernary: argument 'values' is not ternary: value 0.5 at \[0, 1\]/);
    expect(() => packTernary([0, NaN], 1, 2)).toThrow(/not ternary: value NaN/);
    expect(() => packTernary([0, 1, 1], 2, 2)).toThrow(/packTernary: argument 'values' has 3 elements, expected outFeatures·inFeatures = 2·2 = 4/);
    expect(() => packTernary([0], 0, 1)).toThrow(/packTernary: argument 'outFeatures' must be a positive integer/);
    expect(() => unpackTernary(new Uint8Array(5), 13, 2)).toThrow(/unpackTernary: argument 'packed' has 5 bytes, expected ceil\(outFeatures\/4\)·inFeatures = 4·2 = 8/);
    expect(() => unpackTernary(new Uint8Array([0b11]), 1, 1)).toThrow(/unpackTernary: argument 'packed' holds code 3 \(not a ternary value\) for weight \[0, 0\]/);
    expect(() => packedWordsToBytes(new Int32Array(1), 5)).toThrow(/packedWordsToBytes: argument 'byteLength' \(5\) exceeds the 4 bytes/);
  });
});
