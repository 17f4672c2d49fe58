// The cases the CUDA device runner (tools/device/op-tests.ts) checks: each op's cuda kernel
// (forward and backward) against its cpu kernel on seeded inputs of awkward sizes.
//
// flashAttention: batch 1–2, seqlen 1, 7, 9, 13 and 16 (the split-KV path, ≤ 16 queries), 17, 67, 130,
// 200 (the tiled path), key lengths equal, longer (bottom-right causal alignment) and shorter
// (rows that see no key: lse −∞, mapped to 0 so that the relative error stays finite), heads 4:4,
// 4:2, 3:1, 8:2, head dims 8, 16, 33, 64, 80, 128 (64 × 64 tiles), 200 and 256 (32 × 32 tiles),
// 264 (the reference fallback), causal on/off, ALiBi, sliding windows (left, both sides), key
// padding masks as float32, int32 and bool (a fully masked batch row included), packed sequences
// (with an empty one), a custom scale; gradients of q, k and v through the backward op (which
// also gets the lse gradient). decodeAttention: caches with 1 to 2048 rows in use out of a larger
// capacity (rows beyond the length hold garbage and must get zero gradient), 1, 3 and 24 new
// tokens (24 takes the tiled path), masks, ALiBi, a window; gradients of q and both caches.
// applyRope: default, partial rotary dim, linear scaling with an attention scaling ≠ 1, positions
// [seqlen] and [batch, seqlen], a head dim of 1030 (frequencies passed in two chunks); its
// gradient is the inverse rotation (the op again). alibiBias with its slope gradient. Plus the
// Falcon-H1-0.5B attention shape: batch 1, seqlen 2048, 8 query / 2 KV heads of 64, causal,
// forward and backward, and one decode step against a 2048-token cache.
//
// The tiled-path configurations also run with the backend's matmulPrecision 'bf16', which takes
// the bf16 tensor-core kernels for head dims ≤ 128 (plus the 0.5B shape and a d128 GQA case).
//
// Tolerances. The cpu attention kernels accumulate in float64 and round once; the cuda kernels
// work in float32 with a different summation order (tiles of 64 keys, online-softmax rescaling,
// expf): each output is a convex combination of ≤ 2048 value rows, so its error is a few float32
// ulps times √(terms), ≲ 2e-6 relative; forward 1e-5. Gradients go through dS = P∘(dP − Δ),
// where dP − Δ cancels (Δ is the P-weighted mean of dP), and dk/dv sum over up to 2048 queries × 4
// heads: ≲ 2e-5 relative; 1e-4. Seen on the H200: ≤ 4.4e-7 forward, ≤ 1.8e-6 gradients. A wrong
// mask, head mapping or missing tile is an O(1e-2..1) error.
// RoPE: cos/sin of the same float32 angle (CUDA's sincosf, ≤ 2 ulp) times x, 1 rounding: 2e-6.
// ALiBi: the same float32 product, bit-exact; its slope gradient is a float32 sum of ≤ 10⁴ terms: 1e-5.
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import type { OpCase } from '@falcon/tensor/testing';
import { randomTensor } from '@falcon/tensor/testing';
import { alibiBias, applyRopeOp, decodeAttentionOp, flashAttention, flashAttentionBackwardOp, kvCacheWrite, ropeFrequencies } from '../../src/index.js';

const FWD_TOL = 1e-5;
const GRAD_TOL = 1e-4;
// bf16 tensor cores round q·scale, k, v and dO to 8-bit mantissas when staged and P, dS when
// repacked (relative 2⁻⁹ ≈ 2e-3 each), accumulating in float32: a score of size |s| ≲ 4 moves by
// ~|s|·3e-3, so P and out move by ~3e-3 (norm-wise relative); the gradients chain two more rounded
// products and the cancelling dP − Δ: ~5e-3. Accepted: 1e-2 forward, 2e-2 gradients. A wrong
// mask, tile, fragment layout or head mapping is an O(1e-1..1) error.
const BF16_FWD_TOL = 1e-2;
const BF16_GRAD_TOL = 2e-2;

/** lse with −∞ (rows that see no key) replaced by 0, so errors and gradients stay finite. */
function finite(lse: Tensor): Tensor {
  return tf.where(tf.isFinite(lse), lse, tf.zerosLike(lse));
}

type MaskDtype = 'float32' | 'int32' | 'bool';

/**
 * A key padding mask `[b, rows]`: the first pad[r] keys of row r masked (pad ≥ rows masks the
 * whole row) and, with `holes`, every 5th key in a pattern that differs per row.
 */
function keyMask(b: number, rows: number, pad: number[], dtype: MaskDtype, holes = true): Tensor {
  const m = new Int32Array(b * rows);
  for (let r = 0; r < b; r++) for (let j = 0; j < rows; j++) m[r * rows + j] = j < pad[r] || (holes && (7 * j + 3 * r) % 5 === 0) ? 0 : 1;
  if (dtype === 'bool') return tf.tensor(Uint8Array.from(m), [b, rows], 'bool');
  return dtype === 'int32' ? tf.tensor(m, [b, rows], 'int32') : tf.tensor(Float32Array.from(m), [b, rows], 'float32');
}

/** One flashAttention configuration. */
interface FlashSpec {
  b: number;
  l: number;
  lk: number;
  h: number;
  hkv: number;
  d: number;
  causal: boolean;
  alibi?: boolean;
  wl?: number;
  wr?: number;
  /** key padding: masked prefix per batch row (plus holes) */
  pad?: number[];
  maskDtype?: MaskDtype;
  cu?: number[];
  scale?: number;
  /** differentiate q, k, v (default true) */
  grads?: boolean;
  /** the bf16 tensor-core kernels (the backend's matmulPrecision 'bf16'); default float32 */
  bf16?: boolean;
  label?: string;
}

function flashCase(s: FlashSpec): OpCase {
  const flags = [
    s.causal ? 'causal' : 'full',
    s.alibi && 'alibi',
    s.wl !== undefined && `wl${s.wl}`,
    s.wr !== undefined && `wr${s.wr}`,
    s.pad && `mask(${s.maskDtype ?? 'float32'} pad ${s.pad})`,
    s.cu && `cu[${s.cu}]`,
    s.scale !== undefined && `scale ${s.scale}`,
    s.bf16 && 'bf16',
  ].filter(Boolean);
  return {
    name: `flashAttention ${s.label ? `${s.label} ` : ''}b${s.b} l${s.l} lk${s.lk} h${s.h}:${s.hkv} d${s.d} ${flags.join(' ')}`,
    inputs: () => {
      const t: Record<string, Tensor> = {
        q: randomTensor([s.b, s.l, s.h, s.d], 1),
        k: randomTensor([s.b, s.lk, s.hkv, s.d], 2),
        v: randomTensor([s.b, s.lk, s.hkv, s.d], 3),
      };
      if (s.alibi) t.alibiSlopes = randomTensor([s.h], 4, { distribution: 'uniform', min: 0.02, max: 0.5 });
      if (s.pad) t.keyPaddingMask = keyMask(s.b, s.lk, s.pad, s.maskDtype ?? 'float32');
      if (s.cu) t.cuSeqlens = tf.tensor1d(s.cu, 'int32');
      return t;
    },
    run: ({ q, k, v, alibiSlopes, keyPaddingMask, cuSeqlens }) => {
      const r = flashAttention(q, k, v, { causal: s.causal, softmaxScale: s.scale, alibiSlopes, windowLeft: s.wl, windowRight: s.wr, keyPaddingMask, cuSeqlens });
      return { out: r.out, lse: finite(r.lse) };
    },
    grads: s.grads === false ? undefined : ['q', 'k', 'v'],
    ...(s.bf16 ? { precision: 'bf16' as const, tol: BF16_FWD_TOL, gradTol: BF16_GRAD_TOL } : { precision: 'f32' as const, tol: FWD_TOL, gradTol: GRAD_TOL }),
  };
}

/** One decodeAttention configuration: `newTokens` queries against the first `len` of `cap` cache rows. */
interface DecodeSpec {
  b: number;
  newTokens: number;
  cap: number;
  len: number;
  h: number;
  hkv: number;
  d: number;
  causal?: boolean;
  alibi?: boolean;
  wl?: number;
  pad?: number[];
  maskDtype?: MaskDtype;
  label?: string;
}

function decodeCase(s: DecodeSpec): OpCase {
  const causal = s.causal ?? true;
  const flags = [causal ? 'causal' : 'full', s.alibi && 'alibi', s.wl !== undefined && `wl${s.wl}`, s.pad && `mask(${s.maskDtype ?? 'float32'} pad ${s.pad})`].filter(Boolean);
  return {
    name: `decodeAttention ${s.label ? `${s.label} ` : ''}b${s.b} new${s.newTokens} len${s.len}/${s.cap} h${s.h}:${s.hkv} d${s.d} ${flags.join(' ')}`,
    inputs: () => {
      const t: Record<string, Tensor> = {
        q: randomTensor([s.b, s.newTokens, s.h, s.d], 5),
        kCache: randomTensor([s.b, s.cap, s.hkv, s.d], 6),
        vCache: randomTensor([s.b, s.cap, s.hkv, s.d], 7),
      };
      if (s.alibi) t.alibiSlopes = randomTensor([s.h], 8, { distribution: 'uniform', min: 0.02, max: 0.5 });
      if (s.pad) t.keyPaddingMask = keyMask(s.b, s.cap, s.pad, s.maskDtype ?? 'float32');
      return t;
    },
    run: ({ q, kCache, vCache, keyPaddingMask, alibiSlopes }) => {
      const r = decodeAttentionOp(
        { q, kCache, vCache, keyPaddingMask, alibiSlopes },
        { scale: s.d ** -0.5, causal, windowLeft: s.wl ?? -1, windowRight: -1, length: s.len },
      );
      return { out: r.out, lse: finite(r.lse) };
    },
    grads: ['q', 'kCache', 'vCache'],
    tol: FWD_TOL,
    gradTol: GRAD_TOL,
  };
}

/** One applyRope configuration. */
interface RopeSpec {
  b: number;
  l: number;
  h: number;
  d: number;
  /** fraction of the head dim that rotates (default 1) */
  partial?: number;
  /** linear frequency scaling factor */
  linear?: number;
  attentionScaling?: number;
  perBatch: boolean;
}

function ropeCase(s: RopeSpec): OpCase {
  const params = s.linear ? { rope_type: 'linear' as const, rope_theta: 10000, factor: s.linear, partial_rotary_factor: s.partial } : { rope_theta: 10000, partial_rotary_factor: s.partial };
  const freqs = ropeFrequencies(params, s.d);
  const attentionScaling = s.attentionScaling ?? freqs.attentionScaling;
  const flags = [`rotary ${freqs.rotaryDim}`, s.linear && `linear ${s.linear}`, attentionScaling !== 1 && `scaling ${attentionScaling}`, s.perBatch ? 'positions [b,l]' : 'positions [l]'].filter(Boolean);
  return {
    name: `applyRope b${s.b} l${s.l} h${s.h} d${s.d} ${flags.join(' ')}`,
    inputs: () => ({
      x: randomTensor([s.b, s.l, s.h, s.d], 9),
      positions: randomTensor(s.perBatch ? [s.b, s.l] : [s.l], 10, { dtype: 'int32', min: 0, max: 5000 }),
    }),
    run: ({ x, positions }) => applyRopeOp({ x, positions }, { invFreq: Array.from(freqs.invFreq), attentionScaling, inverse: false }),
    grads: ['x'],
    tol: 2e-6,
  };
}

/** The backward op called directly with kvLength 0 (no key takes part): every gradient is zero. */
const emptyBackwardCase: OpCase = {
  name: 'flashAttentionBackward b1 l5 kvLength 0/9 h2:1 d16',
  inputs: () => ({
    q: randomTensor([1, 5, 2, 16], 12),
    k: randomTensor([1, 9, 1, 16], 13),
    v: randomTensor([1, 9, 1, 16], 14),
    out: randomTensor([1, 5, 2, 16], 15),
    lse: randomTensor([1, 2, 5], 16),
    dout: randomTensor([1, 5, 2, 16], 17),
    dlse: randomTensor([1, 2, 5], 18),
  }),
  run: ({ q, k, v, out, lse, dout, dlse }) =>
    flashAttentionBackwardOp({ q, k, v, out, lse, dout, dlse }, { scale: 0.25, causal: true, windowLeft: -1, windowRight: -1, kvLength: 0 }),
  tol: 0,
};

/** kvCacheWrite: `n` new rows at `offset` of a `[b, cap, hkv, d]` cache (the rest must stay as it was). */
function cacheWriteCase(b: number, cap: number, hkv: number, d: number, n: number, offset: number): OpCase {
  return {
    name: `kvCacheWrite b${b} cap${cap} h${hkv} d${d} rows ${offset}…${offset + n - 1}`,
    inputs: () => ({ cache: randomTensor([b, cap, hkv, d], 19), x: randomTensor([b, n, hkv, d], 20) }),
    // a copy: the op writes into its input's buffer, and the runner disposes the inputs itself
    run: ({ cache, x }) => ({ y: kvCacheWrite(tf.clone(cache), x, offset) }),
    tol: 0, // a copy of float32 values: bit-exact
  };
}

function alibiCase(h: number, l: number, lk: number): OpCase {
  return {
    name: `alibiBias h${h} l${l} lk${lk}`,
    inputs: () => ({ slopes: randomTensor([h], 11, { distribution: 'uniform', min: 0.01, max: 0.7 }) }),
    run: ({ slopes }) => ({ bias: alibiBias(slopes, l, lk) }),
    grads: ['slopes'],
    tol: 1e-6,
    gradTol: 1e-5,
  };
}

/** The tiled-path configurations (more than 16 queries, head dims ≤ 128), run in both precisions. */
const TILED: FlashSpec[] = [
  { b: 1, l: 17, lk: 300, h: 3, hkv: 1, d: 80, causal: true },
  { b: 2, l: 67, lk: 67, h: 4, hkv: 2, d: 64, causal: true },
  { b: 1, l: 200, lk: 200, h: 3, hkv: 1, d: 80, causal: false },
  { b: 2, l: 67, lk: 130, h: 4, hkv: 4, d: 128, causal: true },
  { b: 1, l: 130, lk: 67, h: 4, hkv: 2, d: 64, causal: true }, // lk < l: the first 63 rows see no key
  { b: 2, l: 67, lk: 67, h: 4, hkv: 2, d: 33, causal: true, alibi: true },
  { b: 1, l: 200, lk: 200, h: 4, hkv: 2, d: 64, causal: true, wl: 37 },
  { b: 1, l: 100, lk: 120, h: 2, hkv: 1, d: 16, causal: false, wl: 20, wr: 5, alibi: true },
  { b: 2, l: 67, lk: 67, h: 4, hkv: 2, d: 64, causal: true, pad: [0, 13] },
  { b: 2, l: 67, lk: 90, h: 3, hkv: 1, d: 33, causal: false, pad: [5, 90], maskDtype: 'int32' }, // batch row 1 fully masked
  { b: 2, l: 40, lk: 40, h: 4, hkv: 4, d: 8, causal: true, pad: [3, 0], maskDtype: 'bool' },
  { b: 2, l: 200, lk: 200, h: 4, hkv: 2, d: 64, causal: true, cu: [0, 50, 50, 133, 200] },
  { b: 1, l: 67, lk: 67, h: 3, hkv: 1, d: 33, causal: false, cu: [0, 7, 67], alibi: true, pad: [2] },
  { b: 1, l: 67, lk: 67, h: 4, hkv: 4, d: 33, causal: true, scale: 0.3 },
];

/** This package's CUDA op cases. */
export const cudaCases: OpCase[] = [
  // split-KV path (≤ 16 queries)
  flashCase({ b: 1, l: 1, lk: 1, h: 4, hkv: 4, d: 8, causal: true }),
  flashCase({ b: 2, l: 7, lk: 7, h: 4, hkv: 2, d: 33, causal: true }),
  flashCase({ b: 2, l: 1, lk: 200, h: 4, hkv: 2, d: 64, causal: true, alibi: true }),
  flashCase({ b: 1, l: 16, lk: 300, h: 3, hkv: 1, d: 80, causal: false, pad: [20], maskDtype: 'int32' }),
  flashCase({ b: 1, l: 7, lk: 3, h: 2, hkv: 1, d: 16, causal: true }), // rows that see no key
  flashCase({ b: 2, l: 13, lk: 13, h: 2, hkv: 1, d: 64, causal: true, cu: [0, 4, 4, 13] }),
  flashCase({ b: 1, l: 9, lk: 40, h: 4, hkv: 2, d: 128, causal: false, wl: 5, wr: 3, alibi: true }),
  // tiled path, float32 CUDA cores (flash_attention.cu) and bf16 tensor cores (flash_attention_bf16*.cu)
  ...TILED.map((spec) => flashCase(spec)),
  ...TILED.map((spec) => flashCase({ ...spec, bf16: true })),
  flashCase({ b: 1, l: 40, lk: 50, h: 2, hkv: 1, d: 256, causal: true }),
  flashCase({ b: 1, l: 33, lk: 33, h: 2, hkv: 2, d: 200, causal: false, wl: 9 }),
  flashCase({ b: 1, l: 5, lk: 6, h: 2, hkv: 1, d: 264, causal: true }), // head dim > 256: the reference fallback
  flashCase({ label: '0.5B', b: 1, l: 2048, lk: 2048, h: 8, hkv: 2, d: 64, causal: true }),
  flashCase({ label: '0.5B', b: 1, l: 2048, lk: 2048, h: 8, hkv: 2, d: 64, causal: true, bf16: true }),
  flashCase({ b: 2, l: 130, lk: 130, h: 16, hkv: 4, d: 128, causal: true, bf16: true }),
  emptyBackwardCase,

  decodeCase({ b: 2, newTokens: 1, cap: 100, len: 37, h: 4, hkv: 2, d: 64, pad: [0, 5], maskDtype: 'int32' }),
  decodeCase({ b: 1, newTokens: 1, cap: 8, len: 1, h: 4, hkv: 1, d: 33 }),
  decodeCase({ b: 1, newTokens: 3, cap: 256, len: 200, h: 8, hkv: 2, d: 128, alibi: true, wl: 50 }),
  decodeCase({ b: 2, newTokens: 24, cap: 128, len: 90, h: 4, hkv: 1, d: 80, pad: [4, 0], maskDtype: 'bool' }),
  decodeCase({ b: 1, newTokens: 2, cap: 70, len: 70, h: 2, hkv: 2, d: 16, causal: false }),
  decodeCase({ label: '0.5B', b: 1, newTokens: 1, cap: 2048, len: 2048, h: 8, hkv: 2, d: 64 }),

  ropeCase({ b: 2, l: 7, h: 4, d: 64, perBatch: false }),
  ropeCase({ b: 2, l: 67, h: 3, d: 80, partial: 0.5, perBatch: true }),
  ropeCase({ b: 1, l: 33, h: 2, d: 64, linear: 2, attentionScaling: 1.25, perBatch: true }),
  ropeCase({ b: 1, l: 1, h: 1, d: 2, perBatch: false }),
  ropeCase({ b: 1, l: 3, h: 2, d: 1030, perBatch: false }),
  ropeCase({ b: 1, l: 2048, h: 8, d: 64, perBatch: false }),

  cacheWriteCase(2, 100, 2, 64, 1, 37),
  cacheWriteCase(1, 2048, 2, 64, 128, 0),
  cacheWriteCase(3, 9, 1, 33, 4, 5),

  alibiCase(4, 7, 7),
  alibiCase(3, 67, 130),
  alibiCase(8, 130, 67),
];
