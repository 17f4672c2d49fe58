/**
 * The hybrid head router: when a layer's attention or Mamba-2 head counts do not divide by the TP
 * size t (e.g. 8 attention and 24 Mamba-2 heads on t = 3 or 5), choose how many heads of each
 * kind every rank holds so that the slowest rank is as fast as possible, by a per-head cost model:
 * FLOPs per operation class (projections, attention scores, the SSD scan, the conv) and bytes moved
 * at the run's batch and sequence length, each divided by a measured throughput of the backend
 * ({@link CALIBRATION}). The routed split is still the same function as one rank: heads stay
 * contiguous ranges and only their counts change (see `tensorParallelLayout`).
 */
import { falconH1Dims } from '@falcon/checkpoint';
import type { HybridConfig, LayerHeads } from '../../config.js';
import type { HeadSplit } from './layout.js';
import { evenSplit } from './layout.js';

/** Throughputs of one backend (operations or bytes per second). */
export interface BackendCalibration {
  /** FLOP/s of dense matrix products (the projections). */
  matmul: number;
  /** FLOP/s of the attention kernel (scores and values). */
  attention: number;
  /** FLOP/s of the SSD chunk scan. */
  ssd: number;
  /** FLOP/s of the depthwise causal conv and element-wise work. */
  elementwise: number;
  /** Bytes/s of memory traffic (weights and activations read/written once per pass). */
  bytes: number;
}

/**
 * Throughputs per backend. `cpu`: measured by `benchmarks/router/run.ts` (tfjs cpu backend, one
 * thread, CPU time of forward + backward of each op class at the benchmark's shapes, as forward
 * FLOP/s; `benchmarks/results/router-cpu-1024.md`); `webgpu` and `cuda` are order-of-magnitude
 * estimates until the benchmark runs there (pass a measured table as `calibration`).
 */
export const CALIBRATION: Record<string, BackendCalibration> = {
  cpu: { matmul: 9.8e8, attention: 1.24e9, ssd: 1.6e8, elementwise: 1.2e8, bytes: 2.9e8 },
  webgpu: { matmul: 2e11, attention: 5e10, ssd: 2e10, elementwise: 1e10, bytes: 2e11 },
  cuda: { matmul: 2e13, attention: 5e12, ssd: 2e12, elementwise: 5e11, bytes: 2e12 },
};

/** Modelled seconds per head of each kind in one layer. */
export interface HeadCosts {
  /** One attention (query) head, its share of the KV head included. */
  attention: number;
  /** One Mamba-2 head, its share of the group's B/C included. */
  mamba: number;
}

/** Options of {@link headCosts}. */
export interface HeadCostOptions {
  /** Sequence length of the run. */
  seqlen: number;
  /** Sequences per step on each rank (default 1). */
  batch?: number;
  /** Throughputs (default {@link CALIBRATION}.cpu). */
  calibration?: BackendCalibration;
}

/**
 * Modelled time of one head of each kind of layer i (forward; the backward scales both alike).
 * @param config - the model
 * @param i - the layer
 */
export function headCosts(config: HybridConfig, i: number, opts: HeadCostOptions): HeadCosts {
  const b = config.base;
  const heads = config.layers[i];
  const cal = opts.calibration ?? CALIBRATION.cpu;
  const T = (opts.batch ?? 1) * opts.seqlen;
  const l = opts.seqlen;
  const d = b.hidden_size;
  const hd = falconH1Dims(b).head_dim;
  const ratio = heads.kvHeads > 0 ? heads.attentionHeads / heads.kvHeads : 1;
  const attnMatmul = 2 * T * d * hd * (2 + 2 / ratio);
  const attnScores = 2 * T * l * hd;
  const attnBytes = 4 * (d * hd * (2 + 2 / ratio) + T * hd * (4 + 2 / ratio));
  const p = b.mamba_d_head;
  const n = b.mamba_d_state;
  const k = b.mamba_d_conv;
  const Q = Math.min(b.mamba_chunk_size, l);
  const hpg = heads.mambaHeads > 0 ? heads.mambaHeads / b.mamba_n_groups : 1;
  const mambaMatmul = 2 * T * d * (3 * p + 1 + (2 * n) / hpg);
  const mambaSsd = 2 * T * Q * (p + n / hpg) + 4 * T * n * p;
  const mambaElem = 2 * T * (p + (2 * n) / hpg) * k + 10 * T * p;
  const mambaBytes = 4 * (d * (3 * p + 1) + T * p * 8);
  return {
    attention: attnMatmul / cal.matmul + attnScores / cal.attention + attnBytes / cal.bytes,
    mamba: mambaMatmul / cal.matmul + mambaSsd / cal.ssd + mambaElem / cal.elementwise + mambaBytes / cal.bytes,
  };
}

/** The modelled time of every rank of a split. */
export function rankCosts(split: HeadSplit, costs: HeadCosts): number[] {
  return split.attention.map((a, r) => a * costs.attention + split.mamba[r] * costs.mamba);
}

/** Slowest rank over the mean of a split's modelled times (1: perfectly balanced). */
export function imbalance(split: HeadSplit, costs: HeadCosts): number {
  const c = rankCosts(split, costs);
  const mean = c.reduce((a, x) => a + x, 0) / c.length;
  return mean > 0 ? Math.max(...c) / mean : 1;
}

/** The naive split: each kind evenly, the remainders on the first ranks. */
export function naiveSplit(heads: LayerHeads, t: number): HeadSplit {
  return { attention: evenSplit(heads.attentionHeads, t), mamba: evenSplit(heads.mambaHeads, t) };
}

/**
 * A split of one layer's heads over t ranks that minimises the slowest rank's modelled time: every
 * rank first gets one head of each kind the layer has, the rest go one by one (the costlier kind
 * first) to the rank that would finish earliest, then single moves and swaps between the slowest
 * and the fastest rank are made while they lower the maximum. Never worse than the naive split.
 * @param heads - the layer's head counts (each kind it has at least t heads)
 * @param t - TP size
 * @param costs - per-head costs ({@link headCosts})
 */
export function routeHeads(heads: LayerHeads, t: number, costs: HeadCosts): HeadSplit {
  const H = heads.attentionHeads;
  const h = heads.mambaHeads;
  if ((H > 0 && H < t) || (h > 0 && h < t)) throw new Error(`routeHeads: TP size ${t} needs at least ${t} heads of each kind (the layer has ${H} attention, ${h} Mamba-2)`);
  const a = new Array<number>(t).fill(H > 0 ? 1 : 0);
  const m = new Array<number>(t).fill(h > 0 ? 1 : 0);
  const load = () => a.map((x, r) => x * costs.attention + m[r] * costs.mamba);
  const kinds: Array<['a' | 'm', number, number]> = [
    ['a', H - (H > 0 ? t : 0), costs.attention],
    ['m', h - (h > 0 ? t : 0), costs.mamba],
  ];
  kinds.sort((x, y) => y[2] - x[2]);
  for (const [kind, left, c] of kinds) {
    for (let i = 0; i < left; i++) {
      const ld = load();
      let best = 0;
      for (let r = 1; r < t; r++) if (ld[r] + c < ld[best] + c - 1e-15) best = r;
      (kind === 'a' ? a : m)[best]++;
    }
  }
  const max = () => Math.max(...load());
  const minA = H > 0 ? 1 : 0;
  const minM = h > 0 ? 1 : 0;
  for (let iter = 0; iter < 4 * (H + h); iter++) {
    const ld = load();
    const hi = ld.indexOf(Math.max(...ld));
    const lo = ld.indexOf(Math.min(...ld));
    const before = max();
    const tries: Array<[number, number]> = [
      [-1, 0], [0, -1], [-1, 1], [1, -1], [-2, 1], [1, -2], [-1, 2], [2, -1],
    ];
    let improved = false;
    for (const [da, dm] of tries) {
      if (a[hi] + da < minA || m[hi] + dm < minM || a[lo] - da < minA || m[lo] - dm < minM) continue;
      a[hi] += da; m[hi] += dm; a[lo] -= da; m[lo] -= dm;
      if (max() < before - 1e-12 * before) {
        improved = true;
        break;
      }
      a[hi] -= da; m[hi] -= dm; a[lo] += da; m[lo] += dm;
    }
    if (!improved) break;
  }
  const routed = { attention: a, mamba: m };
  const naive = naiveSplit(heads, t);
  const naiveOk = naive.attention.every((x) => x >= minA) && naive.mamba.every((x) => x >= minM);
  return naiveOk && Math.max(...rankCosts(naive, costs)) <= Math.max(...rankCosts(routed, costs)) ? naive : routed;
}

/**
 * The routed split of every layer of a model.
 * @param config - the model
 * @param t - TP size
 */
export function routeModel(config: HybridConfig, t: number, opts: HeadCostOptions): HeadSplit[] {
  return config.layers.map((heads, i) => routeHeads(heads, t, headCosts(config, i, opts)));
}
