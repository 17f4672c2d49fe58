// CUDA op cases of ssdChunkScan (with its backward op through the gradient) and
// selectiveStateUpdate (whose gradient is the same backward over one position): batch 1–3, seqlen
// 1, 7, 67, 300 (across the backward's 64-position checkpoints) and 2048, nheads 1–24, headdim
// 1–88, dstate 1–300 (teams of 1–32 lanes per state row; one, two and several state slices per
// row; 1, 2, 4 and 8 entries per lane), 1 and 2 groups, chunk sizes 16–256, with and without D, z,
// dtBias, softplus, dtLimit, initialStates, finalStates and seqIdx (boundaries at position 1, at a
// checkpoint, one-position segments, an id that comes back), plus the Falcon-H1-0.5B shapes.
//
// Tolerances. The cpu kernels work in float64 (chunked form) and round once; the cuda kernels run
// the recurrence in float32. y and the states carry ~1e-7 relative rounding (a float32 model of
// the kernels' arithmetic gives 8e-8 at seqlen 2048): tol 1e-5. Gradients: dx, dB, dC, dz, dD and
// dInitialStates are ~1e-7 too; ddt goes through E_t = ∂L/∂(Δ_t·A), which the backward gets from a
// running sum re-anchored every 64 positions (csrc/ssd_chunk_scan_backward.cu): ~1e-6; dA and
// ddtBias are sums of those over batch·seqlen that cancel to a small result, so their relative error
// is larger. Worst seen on the H200: outputs 1.4e-7; dx, dB, dC, dz, dD, dInitialStates 2.4e-7;
// ddt 1.5e-6; ddtBias 1.1e-5; dA 2.5e-5. gradTol 1e-4 keeps a 4× margin; any wrong term (a dropped
// position, head or state entry) is an error ≥ 1e-3.
import { selectiveStateUpdate, ssdChunkScan } from '../../src/index.js';
import { tf } from '@falcon/tensor';
import type { OpCase } from '@falcon/tensor/testing';
import { randomTensor } from '@falcon/tensor/testing';

const TOL = 1e-5;
const GRAD_TOL = 1e-4;

/** Sizes and options of one case. */
interface SsdSpec {
  b: number;
  l: number;
  h: number;
  p: number;
  g: number;
  n: number;
  chunk?: number;
  D?: boolean;
  z?: boolean;
  dtBias?: boolean;
  softplus?: boolean;
  limit?: [number, number];
  init?: boolean;
  final?: boolean;
  seqIdx?: boolean;
}

/**
 * Sequence ids `[b, l]`: boundaries at 1, 2 (a one-position segment), 5 + r, 63, 64 (a checkpoint
 * position), 130 and 200 + r for batch row r, the id going back to an earlier value once.
 */
function seqIds(b: number, l: number): tf.Tensor {
  const v = new Int32Array(b * l);
  for (let r = 0; r < b; r++) {
    const starts = new Set([1, 2, 5 + r, 63, 64, 130, 200 + r]);
    let id = 0;
    for (let t = 0; t < l; t++) {
      if (starts.has(t)) id = t === 63 ? id - 1 : id + 1;
      v[r * l + t] = id;
    }
  }
  return tf.tensor(v, [b, l], 'int32');
}

/** The flags of a spec, for case names. */
function flags(s: Partial<SsdSpec>): string {
  const limit = s.limit ? `limit[${s.limit}]` : '';
  return [s.D && 'D', s.z && 'z', s.dtBias && 'dtBias', s.softplus && 'softplus', limit, s.init && 'init', s.final && 'final', s.seqIdx && 'seqIdx']
    .filter(Boolean)
    .join(' ');
}

/**
 * Seeded inputs. Raw time steps: N(0, 1) under the softplus, else U(0.05, 1) (positive, as callers
 * pass them without softplus); A in [−2, −0.3]; x, B, C, z, D ~ N(0, 1); dtBias ~ U(−1, 1);
 * states ~ N(0, 0.5²). `lead` is `[b, l]` for the scan and `[b]` for a decode step.
 */
function ssdInputs(s: SsdSpec, lead: number[]): Record<string, tf.Tensor> {
  const t: Record<string, tf.Tensor> = {
    x: randomTensor([...lead, s.h, s.p], 21),
    dt: s.softplus ? randomTensor([...lead, s.h], 22) : randomTensor([...lead, s.h], 22, { distribution: 'uniform', min: 0.05, max: 1 }),
    A: randomTensor([s.h], 23, { distribution: 'uniform', min: -2, max: -0.3 }),
    B: randomTensor([...lead, s.g, s.n], 24),
    C: randomTensor([...lead, s.g, s.n], 25),
  };
  if (s.D) t.D = randomTensor([s.h], 26);
  if (s.z) t.z = randomTensor([...lead, s.h, s.p], 27);
  if (s.dtBias) t.dtBias = randomTensor([s.h], 28, { distribution: 'uniform' });
  if (s.init) t.initialStates = randomTensor([s.b, s.h, s.p, s.n], 29, { std: 0.5 });
  if (s.seqIdx) t.seqIdx = seqIds(s.b, s.l);
  return t;
}

/** The differentiable inputs present in a spec. */
function gradNames(s: SsdSpec, state: string): string[] {
  return ['x', 'dt', 'A', 'B', 'C', ...(s.D ? ['D'] : []), ...(s.z ? ['z'] : []), ...(s.dtBias ? ['dtBias'] : []), ...(s.init ? [state] : [])];
}

function scanCase(s: SsdSpec): OpCase {
  const chunkSize = s.chunk ?? 64;
  return {
    name: `ssdChunkScan b${s.b} l${s.l} h${s.h} p${s.p} g${s.g} n${s.n} chunk${chunkSize} ${flags(s)}`.trim(),
    inputs: () => ssdInputs(s, [s.b, s.l]),
    run: ({ x, dt, A, B, C, D, z, dtBias, initialStates, seqIdx }) => {
      const r = ssdChunkScan(x, dt, A, B, C, {
        D, z, dtBias, initialStates, seqIdx, chunkSize, dtSoftplus: s.softplus ?? false, dtLimit: s.limit, returnFinalStates: s.final ?? false,
      });
      const out: Record<string, tf.Tensor> = { y: r.y };
      if (r.finalStates) out.finalStates = r.finalStates;
      return out;
    },
    grads: gradNames(s, 'initialStates'),
    tol: TOL,
    gradTol: GRAD_TOL,
  };
}

function stepCase(s: Omit<SsdSpec, 'l' | 'init' | 'final' | 'seqIdx' | 'chunk'>): OpCase {
  const spec: SsdSpec = { ...s, l: 1, init: true };
  return {
    name: `selectiveStateUpdate b${s.b} h${s.h} p${s.p} g${s.g} n${s.n} ${flags(s)}`.trim(),
    inputs: () => {
      const { initialStates, ...rest } = ssdInputs(spec, [s.b]);
      return { state: initialStates, ...rest };
    },
    run: ({ state, x, dt, A, B, C, D, z, dtBias }) => {
      const r = selectiveStateUpdate(state, x, dt, A, B, C, { D, z, dtBias, dtSoftplus: s.softplus ?? false, dtLimit: s.limit });
      return { y: r.y, state: r.state };
    },
    grads: gradNames(spec, 'state'),
    tol: TOL,
    gradTol: GRAD_TOL,
  };
}

const ALL = { D: true, z: true, dtBias: true, softplus: true, init: true, final: true, seqIdx: true };

/** The CUDA op cases of ssdChunkScan and selectiveStateUpdate. */
export const ssdCases: OpCase[] = [
  scanCase({ b: 1, l: 1, h: 1, p: 1, g: 1, n: 1, chunk: 16 }),
  scanCase({ b: 2, l: 1, h: 3, p: 5, g: 1, n: 7, chunk: 16, ...ALL }),
  scanCase({ b: 2, l: 7, h: 3, p: 5, g: 1, n: 7, chunk: 16, ...ALL, limit: [0.2, 1.5] }),
  scanCase({ b: 3, l: 67, h: 4, p: 5, g: 2, n: 7, chunk: 16, D: true, softplus: true, limit: [0.2, 1.5], final: true, seqIdx: true }),
  scanCase({ b: 2, l: 67, h: 2, p: 1, g: 2, n: 2, chunk: 16, z: true, final: true }), // headdim 1, teams of 2 lanes
  scanCase({ b: 1, l: 67, h: 2, p: 70, g: 1, n: 33, chunk: 64, z: true, init: true, final: true }), // two slices, one entry in the second
  scanCase({ b: 1, l: 300, h: 1, p: 64, g: 1, n: 16, chunk: 256, D: true }), // raw dt (no softplus)
  scanCase({ b: 2, l: 300, h: 5, p: 3, g: 1, n: 130, chunk: 256, ...ALL }),
  scanCase({ b: 2, l: 300, h: 5, p: 3, g: 1, n: 130, chunk: 16, ...ALL }), // same, another chunk size
  scanCase({ b: 3, l: 67, h: 5, p: 70, g: 1, n: 130, chunk: 64, ...ALL, seqIdx: false }), // 4 entries per lane
  scanCase({ b: 1, l: 67, h: 24, p: 88, g: 2, n: 300, chunk: 64, D: true, dtBias: true, softplus: true, final: true, seqIdx: true }), // 8 per lane, 2 slices
  scanCase({ b: 1, l: 2048, h: 24, p: 64, g: 1, n: 128, chunk: 128, D: true, z: true, dtBias: true, softplus: true, final: true }), // Falcon-H1-0.5B

  stepCase({ b: 1, h: 1, p: 1, g: 1, n: 1 }),
  stepCase({ b: 2, h: 3, p: 5, g: 1, n: 7, D: true, z: true, dtBias: true, softplus: true, limit: [0.2, 1.5] }),
  stepCase({ b: 3, h: 4, p: 70, g: 2, n: 130, D: true, softplus: true }),
  stepCase({ b: 1, h: 24, p: 64, g: 1, n: 128, D: true, z: true, dtBias: true, softplus: true }), // Falcon-H1-0.5B decode
];
