/**
 * One TP rank's Mamba-2 heads of a Falcon-H1 layer, before the output projection: its rows of
 * in_proj (z, x, B, C, dt of its heads and groups, with the μP segment multipliers), the causal
 * conv over its channels, the SSD scan of its heads, the gated norm (or SiLU gate). Heads that
 * share a group form a segment; an uneven (routed) split scans each segment on its own.
 */
import { causalConv1d, selectiveStateUpdate, ssdChunkScan } from '@falcon/mamba2';
import type { ProcessGroup } from '@falcon/parallel';
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { gatedNormShard } from './gated_norm_shard.js';
import type { BlockLayout } from './layout.js';

/** Sizes and settings of the mixer (transformers names in the descriptions). */
export interface MambaShardConfig {
  /** `mamba_d_head` p. */
  headDim: number;
  /** `mamba_d_state` n. */
  dState: number;
  /** `mamba_d_conv`. */
  dConv: number;
  /** `mamba_chunk_size`. */
  chunkSize: number;
  /** `ssm_in_multiplier`. */
  inMultiplier: number;
  /** `ssm_multipliers` (z, x, B, C, dt). */
  multipliers: readonly [number, number, number, number, number];
  /** `time_step_limit`. */
  dtLimit: readonly [number, number];
  /** `mamba_rms_norm`. */
  rmsNorm: boolean;
  /** `mamba_norm_before_gate`. */
  normBeforeGate: boolean;
  /** `rms_norm_eps`. */
  eps: number;
}

/** This rank's Mamba-2 parameters (local pieces, transformers names without the prefix). */
export type MambaShardParams = Record<string, Tensor>;

/** The local μP vector `[z, x, B, C, dt]` of this rank's in_proj rows (undefined when all multipliers are 1). */
export function localMup(block: BlockLayout, c: MambaShardConfig): Tensor | undefined {
  if (c.multipliers.every((m) => m === 1)) return undefined;
  const h = block.heads[1] - block.heads[0];
  const g = block.shared[1] - block.shared[0];
  const lens = [h * c.headDim, h * c.headDim, g * c.dState, g * c.dState, h];
  const v: number[] = [];
  lens.forEach((n, i) => v.push(...new Array<number>(n).fill(c.multipliers[i])));
  return tf.tensor1d(v);
}

/** This rank's conv and SSM states: convState `[batch, d_conv − 1, local conv channels]`, ssmState `[batch, localHeads, p, n]`. */
export interface MambaShardCache {
  convState: Tensor;
  ssmState: Tensor;
}

/** zxbcdt of this rank: `(u·mask·ssm_in) @ in_projᵀ (+ bias) · mup`, split into z, xBC, dt. */
function inProjection(u: Tensor, project: (x: Tensor) => Tensor, block: BlockLayout, c: MambaShardConfig, mask?: Tensor): { z: Tensor; xBC: Tensor; dt: Tensor } {
  const [b, l, d] = u.shape;
  const h = block.heads[1] - block.heads[0];
  const gn = (block.shared[1] - block.shared[0]) * c.dState;
  const m = mask && tf.expandDims(tf.cast(mask, 'float32'), 2);
  let x = m ? tf.mul(u, m) : u;
  if (c.inMultiplier !== 1) x = tf.mul(x, c.inMultiplier);
  let zxbcdt = project(tf.reshape(x, [b * l, d]));
  const mup = localMup(block, c);
  if (mup) zxbcdt = tf.mul(zxbcdt, mup);
  const [z, xBC, dt] = tf.split(tf.reshape(zxbcdt, [b, l, -1]), [h * c.headDim, h * c.headDim + 2 * gn, h], -1);
  return { z, xBC, dt };
}

/** The segments of a block's heads, as `[head0, heads, group]` runs scanned together (one run when uniform). */
function scanRuns(block: BlockLayout): Array<[number, number, number, number]> {
  const h = block.heads[1] - block.heads[0];
  const g = block.shared[1] - block.shared[0];
  return block.uniform ? [[0, h, 0, g]] : block.segments.map((s) => [s.heads[0], s.heads[1] - s.heads[0], s.shared, 1]);
}

function gateOut(y3: Tensor, z: Tensor, p: MambaShardParams, block: BlockLayout, c: MambaShardConfig, group: ProcessGroup | undefined): Tensor {
  if (c.rmsNorm) return gatedNormShard(y3, z, p['norm.weight'], block, { headDim: c.headDim, eps: c.eps, normBeforeGate: c.normBeforeGate }, group);
  return tf.mul(y3, tf.mul(z, tf.sigmoid(z)));
}

/**
 * @param u - `[batch, seqlen, d]` normed input inside the TP region
 * @param project - `(x [tokens, d]) → [tokens, local in_proj rows]` (bias included)
 * @param p - conv1d.weight/bias, dt_bias, A_log, D, norm.weight (local)
 * @param block - this rank's Mamba-2 layout (at least one head)
 * @param group - the TP group (needed only by a gated norm whose groups span ranks)
 * @returns `[batch, seqlen, localHeads·p]`
 */
export function mambaShard(u: Tensor, project: (x: Tensor) => Tensor, p: MambaShardParams, block: BlockLayout, c: MambaShardConfig, group: ProcessGroup | undefined, mask?: Tensor): Tensor {
  return mambaShardPrefill(u, project, p, block, c, group, mask, false).y;
}

/**
 * The conv + SSD of this rank's heads done elsewhere (context parallelism: state passing across
 * the CP group): conv input xBC `[batch, seqlen, local conv channels]`, raw dt
 * `[batch, seqlen, localHeads]` and the padding mask of these positions `[batch, seqlen]` when
 * there is one (the conv outputs of padding to be zeroed) → the SSD output
 * `[batch, seqlen, localHeads, p]` (D term included).
 */
export type MambaShardCore = (xBC: Tensor, dt: Tensor, p: MambaShardParams, block: BlockLayout, mask?: Tensor) => Tensor;

/**
 * {@link mambaShard}, also returning this rank's conv and SSM states after the last position when asked (prefill).
 * @param core - replaces the conv and the scan (given the mask and the block, whose segments map heads to groups; no cache)
 * @returns y `[batch, seqlen, localHeads·p]` and the cache
 */
export function mambaShardPrefill(u: Tensor, project: (x: Tensor) => Tensor, p: MambaShardParams, block: BlockLayout, c: MambaShardConfig, group: ProcessGroup | undefined, mask: Tensor | undefined, returnCache: boolean, core?: MambaShardCore): { y: Tensor; cache?: MambaShardCache } {
  return tf.tidy(() => {
    const [b, l] = u.shape;
    const h = block.heads[1] - block.heads[0];
    const g = block.shared[1] - block.shared[0];
    const dSsm = h * c.headDim;
    const gn = g * c.dState;
    const { z, xBC, dt } = inProjection(u, project, block, c, mask);
    if (core) {
      if (returnCache) throw new Error('mambaShard: an outside core (context parallelism) runs without caches');
      return { y: gateOut(tf.reshape(core(xBC, dt, p, block, mask), [b, l, dSsm]), z, p, block, c, group) };
    }
    const conv = causalConv1d(xBC, tf.reshape(p['conv1d.weight'], [dSsm + 2 * gn, c.dConv]), { bias: p['conv1d.bias'], silu: true, returnFinalState: returnCache });
    const m = mask && tf.expandDims(tf.cast(mask, 'float32'), 2);
    const xbc = m ? tf.mul(conv.y, m) : conv.y;
    const [xs, B, C] = tf.split(xbc, [dSsm, gn, gn], -1);
    const A = tf.neg(tf.exp(p.A_log));
    const X = tf.reshape(xs, [b, l, h, c.headDim]);
    const Bg = tf.reshape(B, [b, l, g, c.dState]);
    const Cg = tf.reshape(C, [b, l, g, c.dState]);
    const runs = scanRuns(block).map(([h0, n, g0, ng]) => {
      const grp = (t: Tensor) => (ng === g ? t : tf.slice(t, [0, 0, g0, 0], [b, l, ng, c.dState]));
      const heads = <T extends Tensor>(t: T, axis: number): Tensor => (n === h ? t : tf.slice(t, t.shape.map((_, i) => (i === axis ? h0 : 0)), t.shape.map((s, i) => (i === axis ? n : s))));
      return ssdChunkScan(heads(X, 2), heads(dt, 2), heads(A, 0), grp(Bg), grp(Cg), { D: heads(p.D, 0), dtBias: heads(p.dt_bias, 0), dtSoftplus: true, dtLimit: c.dtLimit, chunkSize: c.chunkSize, returnFinalStates: returnCache });
    });
    const y = runs.length === 1 ? runs[0].y : tf.concat(runs.map((r) => r.y), 2);
    const out = gateOut(tf.reshape(y, [b, l, dSsm]), z, p, block, c, group);
    if (!returnCache) return { y: out };
    const ssmState = runs.length === 1 ? runs[0].finalStates! : tf.concat(runs.map((r) => r.finalStates!), 1);
    return { y: out, cache: { convState: conv.finalState!, ssmState } };
  });
}

/**
 * One decoding step of this rank's heads from its cache (the given cache is left as it was).
 * @param u - `[batch, 1, d]`
 * @returns y `[batch, 1, localHeads·p]` and the new cache
 */
export function mambaShardStep(u: Tensor, project: (x: Tensor) => Tensor, p: MambaShardParams, block: BlockLayout, c: MambaShardConfig, group: ProcessGroup | undefined, cache: MambaShardCache): { y: Tensor; cache: MambaShardCache } {
  return tf.tidy(() => {
    const b = u.shape[0];
    const h = block.heads[1] - block.heads[0];
    const g = block.shared[1] - block.shared[0];
    const dSsm = h * c.headDim;
    const gn = g * c.dState;
    const { z, xBC, dt } = inProjection(u, project, block, c);
    const conv = causalConv1d(xBC, tf.reshape(p['conv1d.weight'], [dSsm + 2 * gn, c.dConv]), { bias: p['conv1d.bias'], silu: true, initialState: cache.convState, returnFinalState: true });
    const [xs, B, C] = tf.split(tf.reshape(conv.y, [b, dSsm + 2 * gn]), [dSsm, gn, gn], -1);
    const X = tf.reshape(xs, [b, h, c.headDim]);
    const Bg = tf.reshape(B, [b, g, c.dState]);
    const Cg = tf.reshape(C, [b, g, c.dState]);
    const dt2 = tf.reshape(dt, [b, h]);
    const A = tf.neg(tf.exp(p.A_log));
    const runs = scanRuns(block).map(([h0, n, g0, ng]) => {
      const cut = (t: Tensor, axis: number, s0: number, len: number, full: number) => (len === full ? t : tf.slice(t, t.shape.map((_, i) => (i === axis ? s0 : 0)), t.shape.map((s, i) => (i === axis ? len : s))));
      return selectiveStateUpdate(cut(cache.ssmState, 1, h0, n, h), cut(X, 1, h0, n, h), cut(dt2, 1, h0, n, h), cut(A, 0, h0, n, h), cut(Bg, 1, g0, ng, g), cut(Cg, 1, g0, ng, g), {
        D: cut(p.D, 0, h0, n, h),
        dtBias: cut(p.dt_bias, 0, h0, n, h),
        dtSoftplus: true,
        dtLimit: c.dtLimit,
      });
    });
    const y = runs.length === 1 ? runs[0].y : tf.concat(runs.map((r) => r.y), 1);
    const state = runs.length === 1 ? runs[0].state : tf.concat(runs.map((r) => r.state), 1);
    const out = gateOut(tf.reshape(y, [b, 1, dSsm]), z, p, block, c, group);
    return { y: out, cache: { convState: conv.finalState!, ssmState: state } };
  });
}
