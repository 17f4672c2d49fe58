// CUDA op cases of ssdChunkScan (with its backward op through the gradient) and
// selectiveStateUpdate (whose gradient is the same backward over one position): batch 1–3, seqlen
// 1, 7, 37, 67, 200, 300, 512 (across the backward's 32-position checkpoints) and 2048, nheads
// 1–24, headdim 1–88, dstate 1–300 (teams of 1–32 lanes per state row; one, two and several state
// slices per row; 1, 2, 4 and 8 entries per lane), 1 and 2 groups, chunk sizes 16–256, with and
// without D, z, dtBias, softplus, dtLimit, initialStates, finalStates and seqIdx (boundaries at
// position 1, at a checkpoint, one-position segments, an id that comes back), plus the
// Falcon-H1-0.5B shapes.
//
// "stiff" cases: A in [−8, −1] (A_log up to log 8, as Falcon-H1 initialises it) and raw time steps
// N(1, 1) under the softplus, so Δ·|A| reaches ~10 and d_t = exp(Δ·A) is often 1e-2…1e-4; x, B, C
// ×2 (as μP multipliers scale them; the arithmetic is scale-invariant, so this only mirrors the
// model). There E_t = ∂L/∂(Δ_t·A) = d_t·λ_t·s_{t−1} is tiny next to the terms of running identities
// such as E_t = g_t·Y_t + E_{t+1} − u_t·S1_t: a backward that used such an identity would lose dA,
// ddt and ddtBias to cancellation (errors of 1e-5…2e-4 on these cases), so the backward takes the
// dot product directly and these cases guard it.
//
// Tolerances. The cpu kernels work in float64 (chunked form) and round once; the cuda kernels run
// the recurrence and its adjoint in float32, every gradient term a sum of products without
// cancellation, so outputs and gradients carry ~1e-7 relative rounding (a float32 model of the
// arithmetic gives ≤ 3e-7 for dA, ddt and ddtBias on the stiff cases). Worst seen on the H200:
// outputs 1.5e-7; gradients 4.0e-7 (dA; ddt 1.8e-7, ddtBias 2.5e-7, others ≤ 3.3e-7). tol 1e-5
// for outputs and gradients: a 25× margin, while the cancellation above (dA errors ≥ 7.6e-5 on
// every stiff case) or any wrong term (a dropped position, head or state entry: ≥ 1e-3) fails.
import { selectiveStateUpdate, ssdChunkScan } from '../../src/index.js';
import { tf } from '@falcon/tensor';
import type { OpCase } from '@falcon/tensor/testing';
import { randomTensor } from '@falcon/tensor/testing';
import type { SsdFlags, SsdSizes } from '../helpers.js';

const TOL = 1e-5;

/** Sizes and options of one case (the suite's `SsdSizes` and `SsdFlags`, plus what only these cases vary). */
interface SsdSpec extends SsdSizes, SsdFlags {
  chunk?: number;
  softplus?: boolean;
  limit?: [number, number];
  final?: boolean;
  /** A in [−8, −1], raw dt N(1, 1) (with softplus), x, B, C ×2: see the file comment. */
  stiff?: boolean;
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
  return [s.D && 'D', s.z && 'z', s.dtBias && 'dtBias', s.softplus && 'softplus', limit, s.init && 'init', s.final && 'final', s.seqIdx && 'seqIdx', s.stiff && 'stiff']
    .filter(Boolean)
    .join(' ');
}

/**
 * Seeded inputs. Raw time steps: N(0, 1) under the softplus, else U(0.05, 1) (positive, as callers
 * pass them without softplus); A in [−2, −0.3]; x, B, C, z, D ~ N(0, 1); dtBias ~ U(−1, 1);
 * states ~ N(0, 0.5²). Stiff: raw time steps N(1, 1), A in [−8, −1], x, B, C ~ N(0, 2²). `lead` is
 * `[b, l]` for the scan and `[b]` for a decode step.
 */
function ssdInputs(s: SsdSpec, lead: number[]): Record<string, tf.Tensor> {
  const scale = s.stiff ? 2 : 1;
  const dt = s.softplus
    ? randomTensor([...lead, s.h], 22, { mean: s.stiff ? 1 : 0 })
    : randomTensor([...lead, s.h], 22, { distribution: 'uniform', min: 0.05, max: 1 });
  const t: Record<string, tf.Tensor> = {
    x: randomTensor([...lead, s.h, s.p], 21, { std: scale }),
    dt,
    A: randomTensor([s.h], 23, { distribution: 'uniform', min: s.stiff ? -8 : -2, max: s.stiff ? -1 : -0.3 }),
    B: randomTensor([...lead, s.g, s.n], 24, { std: scale }),
    C: randomTensor([...lead, s.g, s.n], 25, { std: scale }),
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
  };
}

const ALL = { D: true, z: true, dtBias: true, softplus: true, init: true, final: true, seqIdx: true };
const STIFF = { D: true, z: true, dtBias: true, softplus: true, stiff: true };

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
  scanCase({ b: 2, l: 37, h: 8, p: 8, g: 1, n: 16, chunk: 16, ...STIFF }), // the falcon-h1-tiny fixture's mixer (one checkpoint chunk)
  scanCase({ b: 2, l: 200, h: 6, p: 8, g: 1, n: 16, chunk: 16, ...ALL, ...STIFF }),
  scanCase({ b: 1, l: 300, h: 6, p: 24, g: 2, n: 300, chunk: 64, ...STIFF, init: true, final: true }), // ten slices of 32
  scanCase({ b: 1, l: 512, h: 4, p: 64, g: 1, n: 128, chunk: 128, ...STIFF }), // 0.5B heads

  stepCase({ b: 1, h: 1, p: 1, g: 1, n: 1 }),
  stepCase({ b: 2, h: 3, p: 5, g: 1, n: 7, D: true, z: true, dtBias: true, softplus: true, limit: [0.2, 1.5] }),
  stepCase({ b: 3, h: 4, p: 70, g: 2, n: 130, D: true, softplus: true }),
  stepCase({ b: 1, h: 24, p: 64, g: 1, n: 128, D: true, z: true, dtBias: true, softplus: true }), // Falcon-H1-0.5B decode
];
