// The cases the CUDA device runner (tools/device/op-tests.ts) checks: each op's cuda kernel
// (forward, and the straight-through gradients) against its cpu kernel on seeded inputs of awkward
// sizes: rows 1, 3, 17, 300, 2048; features 1, 5, 33, 1024, 4097; outFeatures not a multiple of 4;
// computed and given scales; rounding ties; random packed words (code 3 included); the GEMV
// (≤ 8 tokens), tiled and split-K paths of ternaryMatmul; a Falcon-H1-0.5B-sized product.
//
// Tolerances. int32 outputs (activationQuantInt8's q, ternaryMatmul's y) are compared exactly by the
// runner. activationQuant(Int8) is bit-exact (max|x| does not depend on the order; every other step
// is the same IEEE operation as on the cpu): tol 0. weightQuant with a given meanAbs: tol 0. With a
// computed mean|W| the only difference is the order of the float64 sum Σ|W| (a tree on the GPU,
// sequential on the cpu), both within ~1e-13 relative of the exact sum: f32(Σ) is the same float
// unless Σ lies that close to a float32 rounding midpoint; if it did, s and 1/s would move by at most
// 2 ulp (2.4e-7 relative) and a weight exactly at |W·s| = 0.5 could change its ternary value, hence
// tol 2.4e-7 (expected and seen: 0). The gradients are the straight-through dy itself: gradTol 0.
import { Rng, tf } from '@falcon/tensor';
import type { OpCase } from '@falcon/tensor/testing';
import { activationQuant, activationQuantInt8, packedWeightTensor, packTernary, packedWordCount, ternaryMatmul, weightQuant } from '../../src/index.js';

/** Seeded float32 values. */
function floats(shape: number[], seed: number, gen: (rng: Rng) => number): tf.Tensor {
  const rng = new Rng(seed);
  const v = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < v.length; i++) v[i] = gen(rng);
  return tf.tensor(v, shape, 'float32');
}

const normal = (std: number) => (rng: Rng) => std * rng.normal();
/** Half-integers k + 0.5 in [−lim, lim]: with a scale of exactly 1, every value is a rounding tie. */
const halves = (lim: number) => (rng: Rng) => rng.int(2 * lim) - lim + 0.5;

// ---- weightQuant ----------------------------------------------------------------------------

function weightQuantCase(name: string, shape: number[], gen: (rng: Rng) => number, meanAbs?: { shape: number[]; value: number }): OpCase {
  return {
    name: `weightQuant w[${shape}] ${name}${meanAbs ? ` meanAbs[${meanAbs.shape}]=${meanAbs.value}` : ''}`,
    inputs: (): Record<string, tf.Tensor> => {
      const w = floats(shape, 11 + shape.length * 7 + shape[0], gen);
      return meanAbs ? { w, meanAbs: tf.fill(meanAbs.shape, meanAbs.value) } : { w };
    },
    run: ({ w, meanAbs: m }) => weightQuant(w, { meanAbs: m }),
    grads: ['w'],
    tol: meanAbs ? 0 : 2.4e-7,
    gradTol: 0,
  };
}

const weightQuantCases: OpCase[] = [
  weightQuantCase('normal', [1], normal(0.02)),
  weightQuantCase('normal', [3, 5], normal(0.02)),
  weightQuantCase('normal', [17, 33], normal(1)),
  weightQuantCase('normal', [300, 4097], normal(0.02)),
  weightQuantCase('normal', [2, 3, 7, 5], normal(3)),
  weightQuantCase('tiny (scale clamp)', [5, 33], normal(1e-7)),
  weightQuantCase('normal', [5, 33], normal(0.02), { shape: [], value: 0.015 }),
  weightQuantCase('normal', [17, 1], normal(0.02), { shape: [1], value: 0.02 }),
  weightQuantCase('ties', [300, 33], halves(3), { shape: [1], value: 1 }), // s = 1: W·s = ±0.5, ±1.5, …
  weightQuantCase('clamp', [3, 5], normal(0.02), { shape: [], value: 0 }), // meanAbs below 1e-5
  weightQuantCase('0.5B', [2048, 1024], normal(0.02)),
];

// ---- activationQuant / activationQuantInt8 ---------------------------------------------------

type AbsMax = 'computed' | 'given' | 'small' | 'unit' | 'zero';

function activationInputs(shape: number[], gen: (rng: Rng) => number, absMax: AbsMax, seed: number): () => Record<string, tf.Tensor> {
  return (): Record<string, tf.Tensor> => {
    const x = floats(shape, seed, gen);
    if (absMax === 'computed') return { x };
    const rows = shape.slice(0, -1);
    const m = tf.tidy(() => {
      const am = tf.max(tf.abs(x), -1, true);
      // 'given': the true max ×1.5 (a wider shard); 'small': ×0.3, so x·s exceeds ±127 and clips;
      // 'unit': 127, so s = 1 exactly; 'zero': below 1e-5, so the clamp applies
      return absMax === 'given' ? tf.mul(am, 1.5) : absMax === 'small' ? tf.mul(am, 0.3) : tf.fill([...rows, 1], absMax === 'unit' ? 127 : 0);
    });
    return { x, absMax: m };
  };
}

function activationQuantCase(shape: number[], gen: (rng: Rng) => number, absMax: AbsMax = 'computed', label = ''): OpCase {
  return {
    name: `activationQuant x[${shape}] ${absMax}${label}`,
    inputs: activationInputs(shape, gen, absMax, 23 + shape.reduce((a, b) => a + b, 0)),
    run: ({ x, absMax: m }) => activationQuant(x, { absMax: m }),
    grads: ['x'],
    tol: 0,
    gradTol: 0,
  };
}

function activationQuantInt8Case(shape: number[], gen: (rng: Rng) => number, absMax: AbsMax = 'computed', label = ''): OpCase {
  return {
    name: `activationQuantInt8 x[${shape}] ${absMax}${label}`,
    inputs: activationInputs(shape, gen, absMax, 29 + shape.reduce((a, b) => a + b, 0)),
    run: ({ x, absMax: m }) => activationQuantInt8(x, { absMax: m }),
    tol: 0,
  };
}

const activationCases: OpCase[] = [
  activationQuantCase([1, 1], normal(1)),
  activationQuantCase([3, 5], normal(1)),
  activationQuantCase([17, 33], normal(2)),
  activationQuantCase([300, 4097], normal(1)), // a block per row
  activationQuantCase([5], normal(1)), // rank 1: one token
  activationQuantCase([2, 3, 1024], normal(1), 'given'),
  activationQuantCase([17, 4097], normal(1), 'small'),
  activationQuantCase([300, 33], normal(1), 'small'),
  activationQuantCase([17, 33], halves(140), 'unit', ' ties'), // x·s = x: every value a tie, some beyond ±127
  activationQuantCase([3, 5], normal(1e-7), 'computed', ' tiny'),
  activationQuantCase([3, 5], normal(1), 'zero'),
  activationQuantCase([0, 8], normal(1)),
  activationQuantCase([2048, 1024], normal(1), 'computed', ' 0.5B'),
  activationQuantInt8Case([1, 1], normal(1)),
  activationQuantInt8Case([3, 5], normal(1)),
  activationQuantInt8Case([17, 33], normal(1), 'given'),
  activationQuantInt8Case([300, 4097], normal(1)),
  activationQuantInt8Case([17, 4097], normal(1), 'small'),
  activationQuantInt8Case([17, 33], halves(140), 'unit', ' ties'),
  activationQuantInt8Case([2, 3, 5], normal(1), 'zero'),
  activationQuantInt8Case([0, 8], normal(1)),
  activationQuantInt8Case([2048, 1024], normal(1), 'computed', ' 0.5B'),
];

// ---- ternaryMatmul ---------------------------------------------------------------------------

/** 'ternary': packed from random {−1, 0, 1}; 'raw': random words (code 3 = +2 and nonzero unused slots included); 'extreme': x ∈ {−128, 127}, all weights +1. */
type Weights = 'ternary' | 'raw' | 'extreme';

function ternaryMatmulCase(lead: number[], k: number, n: number, weights: Weights = 'ternary', label = ''): OpCase {
  const seed = 31 + k * 7 + n * 3 + lead.reduce((a, b) => a + b, 0);
  return {
    name: `ternaryMatmul x[${[...lead, k]}] N=${n} ${weights}${label}`,
    inputs: () => {
      const rng = new Rng(seed);
      const count = lead.reduce((a, b) => a * b, 1) * k;
      const xv = new Int32Array(count);
      for (let i = 0; i < count; i++) xv[i] = weights === 'extreme' ? (rng.uniform() < 0.5 ? -128 : 127) : rng.int(256) - 128;
      const x = tf.tensor(xv, [...lead, k], 'int32');
      if (weights === 'raw') {
        const words = new Int32Array(packedWordCount(n, k));
        for (let i = 0; i < words.length; i++) words[i] = rng.nextU32() | 0;
        return { x, packed: tf.tensor1d(words, 'int32') };
      }
      const w = new Int8Array(n * k);
      for (let i = 0; i < w.length; i++) w[i] = weights === 'extreme' ? 1 : rng.int(3) - 1;
      return { x, packed: packedWeightTensor(packTernary(w, n, k)) };
    },
    run: ({ x, packed }) => ({ y: ternaryMatmul(x, packed, n) }),
    tol: 0, // int32: exact
  };
}

const ternaryMatmulCases: OpCase[] = [
  // GEMV path (≤ 8 tokens): 1, 2, 3 (4-token warps), 5, 6 and 8 (8-token warps)
  ternaryMatmulCase([1], 1, 1),
  ternaryMatmulCase([1], 5, 13),
  ternaryMatmulCase([2], 33, 30, 'raw'),
  ternaryMatmulCase([3], 4097, 17),
  ternaryMatmulCase([5], 64, 5, 'raw'),
  ternaryMatmulCase([2, 3], 260, 9, 'raw'),
  ternaryMatmulCase([8], 1024, 2048),
  ternaryMatmulCase([1], 1024, 2048, 'ternary', ' 0.5B decode'),
  ternaryMatmulCase([1], 4097, 9, 'extreme'),
  // tiled path: 9 and 17 tokens (one partial tile), batch 16, 300 (split K), awkward K and N
  ternaryMatmulCase([9], 1025, 7, 'raw'),
  ternaryMatmulCase([2, 8], 1024, 2048, 'ternary', ' (batch 16)'),
  ternaryMatmulCase([17], 33, 5),
  ternaryMatmulCase([17], 4097, 30, 'raw'),
  ternaryMatmulCase([300], 33, 17, 'raw'),
  ternaryMatmulCase([3, 100], 1025, 301),
  ternaryMatmulCase([100], 4097, 30, 'extreme'),
  ternaryMatmulCase([257], 1024, 2048, 'raw'),
  ternaryMatmulCase([0], 7, 5),
  ternaryMatmulCase([2048], 1024, 2048, 'ternary', ' 0.5B'),
];

/** This package's CUDA op cases. */
export const cudaCases: OpCase[] = [...weightQuantCases, ...activationCases, ...ternaryMatmulCases];
