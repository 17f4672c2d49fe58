// CUDA op cases of causalConv1d and gatedRmsNorm (with their backward ops through the gradient):
// awkward sizes (batch 1–3, seqlen 1–300 around the kernels' 64- and 256-position blocks, channels
// 1, 7, 130 around the 32-channel tiles, dconv 2–5 with 5 taking the generic-width path), every
// optional input (bias, initial state, seqIdx with boundaries at position 1, one-position segments
// and a returning id) and SiLU on/off; gated norm with 1–5 groups, group sizes from 1 to 1030 (warp
// teams up to 512, block teams above; groups of one feature with a large eps, see there), the gate
// before / after the norm or absent, enough rows for a team to handle several, zero rows; plus the
// Falcon-H1-0.5B shapes.
//
// Tolerances: the cpu kernels accumulate in float64 and round once; the cuda kernels work in
// float32. Outputs are sums of ≤ 5 products (conv) or a float32 mean of ≤ 1800 squares (norm):
// ~1e-7 relative. The weight / bias gradients are float32 sums over up to batch·seqlen = 2048
// (conv) or 20 000 (norm) terms in a blocked order (per-thread runs, then fixed trees): a few 1e-7
// relative in the norm of the result (worst seen on the H200: 1.6e-7 conv, 4.1e-7 norm). 1e-5
// leaves a wide margin and still catches any wrong term (a missed tap or row is ≥ 1e-3).
import { causalConv1d, gatedRmsNorm } from '../../src/index.js';
import { tf } from '@falcon/tensor';
import type { OpCase } from '@falcon/tensor/testing';
import { randomTensor } from '@falcon/tensor/testing';

const TOL = 1e-5;

/** Sizes and optional inputs of one conv case. */
interface ConvSpec {
  b: number;
  l: number;
  d: number;
  k: number;
  bias?: boolean;
  silu?: boolean;
  init?: boolean;
  seqIdx?: boolean;
}

/**
 * Sequence ids `[b, l]`: segments of varied lengths (a boundary at position 1, a one-position
 * segment, an id that comes back after another), different per batch row.
 */
function seqIds(b: number, l: number): tf.Tensor {
  const v = new Int32Array(b * l);
  for (let r = 0; r < b; r++) {
    const lens = [1 + r, 1, 3, 2 + r, 7, 1, 40, 5];
    let id = 0;
    let left = lens[0];
    let seg = 0;
    for (let t = 0; t < l; t++) {
      if (left === 0) {
        seg++;
        id = seg % 3 === 2 ? id - 1 : id + 1; // sometimes back to the previous id: still a boundary
        left = lens[seg % lens.length] + (seg >= lens.length ? 60 : 0);
      }
      v[r * l + t] = id;
      left--;
    }
  }
  return tf.tensor(v, [b, l], 'int32');
}

function convCase(s: ConvSpec): OpCase {
  const flags = [s.bias && 'bias', s.silu && 'silu', s.init && 'init', s.seqIdx && 'seqIdx'].filter(Boolean).join(' ');
  const grads = ['x', 'weight', ...(s.bias ? ['bias'] : []), ...(s.init ? ['initialState'] : [])];
  return {
    name: `causalConv1d b${s.b} l${s.l} d${s.d} k${s.k} ${flags}`.trim(),
    inputs: () => {
      const t: Record<string, tf.Tensor> = {
        x: randomTensor([s.b, s.l, s.d], 1),
        weight: randomTensor([s.d, s.k], 2, { std: 0.5 }),
      };
      if (s.bias) t.bias = randomTensor([s.d], 3, { std: 0.5 });
      if (s.init) t.initialState = randomTensor([s.b, s.k - 1, s.d], 4);
      if (s.seqIdx) t.seqIdx = seqIds(s.b, s.l);
      return t;
    },
    run: ({ x, weight, bias, initialState, seqIdx }) => {
      const r = causalConv1d(x, weight, { bias, initialState, seqIdx, silu: s.silu ?? false, returnFinalState: true });
      return { y: r.y, finalState: r.finalState! };
    },
    grads,
    tol: TOL,
  };
}

/** Sizes and options of one gated-norm case. */
interface NormSpec {
  shape: number[];
  ngroups: number;
  z?: boolean;
  normBeforeGate?: boolean;
  eps?: number;
}

function normCase(s: NormSpec): OpCase {
  const dim = s.shape[s.shape.length - 1];
  const eps = s.eps ?? 1e-5;
  const gate = s.z ? (s.normBeforeGate ? 'z after' : 'z before') : 'no z';
  return {
    name: `gatedRmsNorm x[${s.shape}] groups ${s.ngroups} ${gate} eps ${eps}`,
    inputs: () => {
      const t: Record<string, tf.Tensor> = {
        x: randomTensor(s.shape, 11),
        weight: randomTensor([dim], 12, { mean: 1, std: 0.2 }),
      };
      if (s.z) t.z = randomTensor(s.shape, 13, { std: 1.5 });
      return t;
    },
    run: ({ x, weight, z }) => ({ y: gatedRmsNorm(x, weight, { z, eps, ngroups: s.ngroups, normBeforeGate: s.normBeforeGate ?? true }) }),
    grads: ['x', 'weight', ...(s.z ? ['z'] : [])],
    tol: TOL,
  };
}

/** The CUDA op cases of causalConv1d and gatedRmsNorm. */
export const convNormCases: OpCase[] = [
  convCase({ b: 1, l: 1, d: 1, k: 2 }),
  convCase({ b: 2, l: 1, d: 7, k: 4, bias: true, silu: true, init: true }),
  convCase({ b: 3, l: 2, d: 7, k: 4, init: true }), // seqlen < dconv − 1: the final state keeps part of the initial state
  convCase({ b: 2, l: 5, d: 7, k: 3, bias: true, silu: true, init: true }),
  convCase({ b: 1, l: 5, d: 130, k: 2, bias: true, init: true, seqIdx: true }),
  convCase({ b: 3, l: 67, d: 130, k: 4, bias: true, silu: true, init: true, seqIdx: true }),
  convCase({ b: 2, l: 300, d: 7, k: 4, silu: true, seqIdx: true }),
  convCase({ b: 1, l: 300, d: 130, k: 4, bias: true, silu: true, init: true }),
  convCase({ b: 2, l: 67, d: 33, k: 5, bias: true, silu: true, init: true, seqIdx: true }), // generic width
  convCase({ b: 1, l: 2048, d: 1792, k: 4, bias: true, silu: true }), // Falcon-H1-0.5B: d_ssm + 2·n_groups·d_state
  convCase({ b: 1, l: 2048, d: 1792, k: 4, bias: true, silu: true, init: true, seqIdx: true }),

  normCase({ shape: [3, 7], ngroups: 1, z: true, normBeforeGate: true }),
  // Groups of one feature: y = x·w/sqrt(x² + eps), so dx = dy·w·eps/(x² + eps)^(3/2) is what is left of
  // r·(dy·w)·(1 − x²r²) after cancellation; in float32 that residual is only well-conditioned when eps
  // is not small against x² (with eps 1e-6 it is rounding noise, on any float32 implementation).
  normCase({ shape: [1, 1], ngroups: 1, eps: 0.5 }),
  normCase({ shape: [3, 5], ngroups: 5, z: true, normBeforeGate: false, eps: 0.25 }),
  normCase({ shape: [2, 5, 12], ngroups: 3, z: true, normBeforeGate: false }),
  normCase({ shape: [1, 67, 130], ngroups: 2, z: true, normBeforeGate: true }),
  normCase({ shape: [2, 300, 130], ngroups: 1 }),
  normCase({ shape: [5, 1030], ngroups: 1, z: true, normBeforeGate: false }), // block teams
  normCase({ shape: [3, 1, 1800], ngroups: 3, z: true, normBeforeGate: true }), // block teams, groups of 600
  normCase({ shape: [20000, 9], ngroups: 3, z: true, normBeforeGate: false }), // several rows per warp team
  normCase({ shape: [0, 8], ngroups: 2, z: true }),
  normCase({ shape: [1, 2048, 1536], ngroups: 1, z: true, normBeforeGate: false, eps: 1e-6 }), // Falcon-H1-0.5B mixer norm
  normCase({ shape: [1, 2048, 1536], ngroups: 1, z: true, normBeforeGate: true, eps: 1e-6 }),
];
