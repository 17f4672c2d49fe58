/**
 * One TP rank's Mamba-2 heads of a Falcon-H1 layer, before the output projection: its rows of
 * in_proj (z, x, B, C, dt of its heads and groups, with the μP segment multipliers), the causal
 * conv over its channels, the SSD scan of its heads, the gated norm (or SiLU gate). Heads that
 * share a group form a segment; an uneven (routed) split scans each segment on its own.
 */
import { causalConv1d, ssdChunkScan } from '@falcon/mamba2';
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

/**
 * @param u - `[batch, seqlen, d]` normed input inside the TP region
 * @param project - `(x [tokens, d]) → [tokens, local in_proj rows]` (bias included)
 * @param p - conv1d.weight/bias, dt_bias, A_log, D, norm.weight (local)
 * @param block - this rank's Mamba-2 layout (at least one head)
 * @param group - the TP group (needed only by a gated norm whose groups span ranks)
 * @returns `[batch, seqlen, localHeads·p]`
 */
export function mambaShard(u: Tensor, project: (x: Tensor) => Tensor, p: MambaShardParams, block: BlockLayout, c: MambaShardConfig, group: ProcessGroup | undefined, mask?: Tensor): Tensor {
  return tf.tidy(() => {
    const [b, l, d] = u.shape;
    const h = block.heads[1] - block.heads[0];
    const g = block.shared[1] - block.shared[0];
    const dSsm = h * c.headDim;
    const m = mask && tf.expandDims(tf.cast(mask, 'float32'), 2);
    let x = m ? tf.mul(u, m) : u;
    if (c.inMultiplier !== 1) x = tf.mul(x, c.inMultiplier);
    let zxbcdt = project(tf.reshape(x, [b * l, d]));
    const mup = localMup(block, c);
    if (mup) zxbcdt = tf.mul(zxbcdt, mup);
    zxbcdt = tf.reshape(zxbcdt, [b, l, -1]);
    const gn = g * c.dState;
    const [z, xBC, dt] = tf.split(zxbcdt, [dSsm, dSsm + 2 * gn, h], -1);
    const conv = causalConv1d(xBC, tf.reshape(p['conv1d.weight'], [dSsm + 2 * gn, c.dConv]), { bias: p['conv1d.bias'], silu: true });
    const xbc = m ? tf.mul(conv.y, m) : conv.y;
    const [xs, B, C] = tf.split(xbc, [dSsm, gn, gn], -1);
    const A = tf.neg(tf.exp(p.A_log));
    const X = tf.reshape(xs, [b, l, h, c.headDim]);
    const Bg = tf.reshape(B, [b, l, g, c.dState]);
    const Cg = tf.reshape(C, [b, l, g, c.dState]);
    const scan = (x4: Tensor, dt3: Tensor, a: Tensor, b4: Tensor, c4: Tensor, D: Tensor, bias: Tensor) =>
      ssdChunkScan(x4, dt3, a, b4, c4, { D, dtBias: bias, dtSoftplus: true, dtLimit: c.dtLimit, chunkSize: c.chunkSize }).y;
    let y: Tensor;
    if (block.uniform) {
      y = scan(X, dt, A, Bg, Cg, p.D, p.dt_bias);
    } else {
      y = tf.concat(
        block.segments.map((s) => {
          const [h0, h1] = s.heads;
          const n = h1 - h0;
          const grp = (t: Tensor) => tf.slice(t, [0, 0, s.shared, 0], [b, l, 1, c.dState]);
          return scan(tf.slice(X, [0, 0, h0, 0], [b, l, n, c.headDim]), tf.slice(dt, [0, 0, h0], [b, l, n]), tf.slice(A, [h0], [n]), grp(Bg), grp(Cg), tf.slice(p.D, [h0], [n]), tf.slice(p.dt_bias, [h0], [n]));
        }),
        2,
      );
    }
    const y3 = tf.reshape(y, [b, l, dSsm]);
    if (c.rmsNorm) return gatedNormShard(y3, z, p['norm.weight'], block, { headDim: c.headDim, eps: c.eps, normBeforeGate: c.normBeforeGate }, group);
    return tf.mul(y3, tf.mul(z, tf.sigmoid(z)));
  });
}
