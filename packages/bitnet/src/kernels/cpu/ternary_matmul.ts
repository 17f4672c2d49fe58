/**
 * CPU kernel of {@link ternaryMatmul}: int8 activations times 2-bit packed ternary weights, read in
 * place (2 bits per weight), never unpacked.
 *
 * A packed byte at column k holds the codes of four weight rows (r, r+R, r+2R, r+3R) for the same
 * input x[k]. Per input column and token the kernel builds a 16-entry table indexed by a nibble
 * (two codes): `T[c0 | c1<<2] = (c0−1)·x[k] + (c1−1)·x[k]·2^26`, so one lookup adds the products
 * of two rows into one f64 accumulator holding two integer lanes (|lane| ≤ 2·128·K ≤ 2^24 < 2^25,
 * so both lanes stay exact and separable). Per byte and token: two lookups and two adds.
 * Columns are processed in blocks whose tables stay in L1; the weight is streamed once per block
 * and token tile. When K is a multiple of 4 the weight is read as 32-bit words (four bytes per
 * load) and, from 4 tokens on, four tokens share each word (tiles of 4 tokens).
 */
import { hostKernel } from '@falcon/tensor';
import type { TernaryMatmulAttrs, TernaryMatmulInputName, TernaryMatmulOutputName } from '../../ternary_matmul_signature.js';

/** Lane multiplier of the two-lane f64 accumulators. */
const LANE = 2 ** 26;
/** Input columns per block for byte reads and single tokens (16 · 8 bytes of table per column → 32 KiB). */
const BLOCK = 256;
/** Input columns per block for 4-token tiles (four 8 KiB tables). */
const BLOCK4 = 64;

/** Fill `table[off …]` with the 16-entry tables of columns x[xo … xo+kn). */
function buildTables(table: Float64Array, off: number, x: Int32Array, xo: number, kn: number): void {
  for (let k = 0; k < kn; k++) {
    const a = x[xo + k];
    const b = a * LANE;
    const t = off + k * 16;
    // entry c0 | c1<<2 = (c0 − 1)·a + (c1 − 1)·b, for codes c ∈ {0, 1, 2, 3}
    for (let c1 = 0; c1 < 4; c1++) {
      const hb = (c1 - 1) * b;
      table[t + 4 * c1] = hb - a;
      table[t + 4 * c1 + 1] = hb;
      table[t + 4 * c1 + 2] = hb + a;
      table[t + 4 * c1 + 3] = hb + 2 * a;
    }
  }
}

/** Split the lanes of token m's accumulators (`acc[stride·r + lane]`) into y[m, ·]: acc = low + high·2^26, |low| < 2^25. */
function store(y: Int32Array, acc: Float64Array, stride: number, lane: number, m: number, n: number, rows: number): void {
  const yo = m * n;
  for (let r = 0; r < rows; r++) {
    const lo = acc[stride * r + lane];
    const hi = acc[stride * r + lane + 1];
    const h1 = Math.round(lo / LANE);
    const h3 = Math.round(hi / LANE);
    y[yo + r] = lo - h1 * LANE;
    if (r + rows < n) y[yo + r + rows] = h1;
    if (r + 2 * rows < n) y[yo + r + 2 * rows] = hi - h3 * LANE;
    if (r + 3 * rows < n) y[yo + r + 3 * rows] = h3;
  }
}

/** One token, byte reads (any K). acc: [rows, 2]. */
function tokenBytes(x: Int32Array, m: number, k: number, bytes: Uint8Array, rows: number, table: Float64Array, acc: Float64Array): void {
  acc.fill(0);
  for (let k0 = 0; k0 < k; k0 += BLOCK) {
    const kn = Math.min(BLOCK, k - k0);
    buildTables(table, 0, x, m * k + k0, kn);
    const tn = kn * 16;
    for (let r = 0; r < rows; r++) {
      let p = r * k + k0;
      let lo = acc[2 * r];
      let hi = acc[2 * r + 1];
      for (let t = 0; t < tn; t += 16) {
        const byte = bytes[p++];
        lo += table[t + (byte & 15)];
        hi += table[t + (byte >> 4)];
      }
      acc[2 * r] = lo;
      acc[2 * r + 1] = hi;
    }
  }
}

/** One token, 32-bit word reads (K % 4 = 0). acc: [rows, 2]. */
function tokenWords(x: Int32Array, m: number, k: number, words: Uint32Array, rows: number, table: Float64Array, acc: Float64Array): void {
  acc.fill(0);
  const kw = k >> 2;
  for (let k0 = 0; k0 < k; k0 += BLOCK) {
    const kn = Math.min(BLOCK, k - k0);
    buildTables(table, 0, x, m * k + k0, kn);
    const tn = kn * 16;
    for (let r = 0; r < rows; r++) {
      let p = r * kw + (k0 >> 2);
      let lo = acc[2 * r];
      let hi = acc[2 * r + 1];
      for (let t = 0; t < tn; t += 64) {
        const w = words[p++];
        lo += table[t + (w & 15)];
        hi += table[t + ((w >>> 4) & 15)];
        lo += table[t + 16 + ((w >>> 8) & 15)];
        hi += table[t + 16 + ((w >>> 12) & 15)];
        lo += table[t + 32 + ((w >>> 16) & 15)];
        hi += table[t + 32 + ((w >>> 20) & 15)];
        lo += table[t + 48 + ((w >>> 24) & 15)];
        hi += table[t + 48 + (w >>> 28)];
      }
      acc[2 * r] = lo;
      acc[2 * r + 1] = hi;
    }
  }
}

/** Four tokens m … m+3, 32-bit word reads (K % 4 = 0): each byte is decoded once for 4 tokens. acc: [rows, 8]. */
function quadWords(x: Int32Array, m: number, k: number, words: Uint32Array, rows: number, table: Float64Array, acc: Float64Array): void {
  acc.fill(0);
  const ts = BLOCK4 * 16;
  for (let k0 = 0; k0 < k; k0 += BLOCK4) {
    const kn = Math.min(BLOCK4, k - k0);
    for (let q = 0; q < 4; q++) buildTables(table, q * ts, x, (m + q) * k + k0, kn);
    const tn = kn * 16;
    for (let r = 0; r < rows; r++) {
      const p = r * (k >> 2) + (k0 >> 2);
      const o = 8 * r;
      let a0 = acc[o];
      let b0 = acc[o + 1];
      let a1 = acc[o + 2];
      let b1 = acc[o + 3];
      let a2 = acc[o + 4];
      let b2 = acc[o + 5];
      let a3 = acc[o + 6];
      let b3 = acc[o + 7];
      for (let t = 0; t < tn; t += 16) {
        // byte (t/16) of the block: word t/64, bits 8·((t/16) mod 4)
        const w = words[p + (t >> 6)] >>> ((t >> 1) & 24);
        const l = t + (w & 15);
        const h = t + ((w >>> 4) & 15);
        a0 += table[l];
        b0 += table[h];
        a1 += table[ts + l];
        b1 += table[ts + h];
        a2 += table[2 * ts + l];
        b2 += table[2 * ts + h];
        a3 += table[3 * ts + l];
        b3 += table[3 * ts + h];
      }
      acc[o] = a0;
      acc[o + 1] = b0;
      acc[o + 2] = a1;
      acc[o + 3] = b1;
      acc[o + 4] = a2;
      acc[o + 5] = b2;
      acc[o + 6] = a3;
      acc[o + 7] = b3;
    }
  }
}

/** Host kernel: inputs `x` int32 `[..., K]`, `packed` int32 words; attr `outFeatures`; output `y` int32 `[..., N]`. */
export const ternaryMatmulCpu = hostKernel<TernaryMatmulInputName, never, TernaryMatmulAttrs, TernaryMatmulOutputName>(({ x, packed }, { outFeatures: n }) => {
  const k = x.shape[x.shape.length - 1];
  const count = x.values.length / k;
  const rows = Math.ceil(n / 4);
  const xv = x.values as Int32Array;
  const w32 = packed.values as Int32Array;
  const y = new Int32Array(count * n);
  let m = 0;
  if (k % 4 === 0) {
    const words = new Uint32Array(w32.buffer, w32.byteOffset, (rows * k) >> 2);
    if (count >= 4) {
      const table = new Float64Array(4 * BLOCK4 * 16);
      const acc = new Float64Array(8 * rows);
      for (; m + 4 <= count; m += 4) {
        quadWords(xv, m, k, words, rows, table, acc);
        for (let q = 0; q < 4; q++) store(y, acc, 8, 2 * q, m + q, n, rows);
      }
    }
    const table = new Float64Array(BLOCK * 16);
    const acc = new Float64Array(2 * rows);
    for (; m < count; m++) {
      tokenWords(xv, m, k, words, rows, table, acc);
      store(y, acc, 2, 0, m, n, rows);
    }
  } else {
    const bytes = new Uint8Array(w32.buffer, w32.byteOffset, rows * k);
    const table = new Float64Array(BLOCK * 16);
    const acc = new Float64Array(2 * rows);
    for (; m < count; m++) {
      tokenBytes(xv, m, k, bytes, rows, table, acc);
      store(y, acc, 2, 0, m, n, rows);
    }
  }
  return { y: { values: y, shape: [...x.shape.slice(0, -1), n], dtype: 'int32' } };
});
