/**
 * Mamba-2's gated RMSNorm over heads split across TP ranks. Each norm group is the features of one
 * Mamba-2 group; when a group's heads span ranks, each rank holds part of its features, so the
 * sums of squares are all-reduced over the TP group (differentiably: the backward all-reduces
 * their gradient) before each rank normalises its own features.
 */
import { gatedRmsNorm } from '@falcon/mamba2';
import { allReduceInRegion } from '@falcon/parallel';
import type { ProcessGroup } from '@falcon/parallel';
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import type { BlockLayout } from './layout.js';

/** Settings of the norm. */
export interface GatedNormShardConfig {
  /** Mamba head dim p. */
  headDim: number;
  /** `rms_norm_eps`. */
  eps: number;
  /** `mamba_norm_before_gate`. */
  normBeforeGate: boolean;
}

/**
 * @param y - `[batch, seqlen, localHeads·p]` the scan output of this rank's heads (may have 0 features)
 * @param z - the gate, same shape
 * @param weight - this rank's norm weight `[localHeads·p]` (undefined when it has no heads)
 * @param block - this rank's Mamba-2 layout (when `block.split`, every rank of the group must call)
 * @returns same shape as y
 */
export function gatedNormShard(y: Tensor, z: Tensor, weight: Tensor | undefined, block: BlockLayout, c: GatedNormShardConfig, group: ProcessGroup | undefined): Tensor {
  const nLocal = block.shared[1] - block.shared[0];
  if (!block.split) {
    // every local group is whole: the plain kernel over this rank's groups
    return gatedRmsNorm(y, weight!, { z, eps: c.eps, ngroups: nLocal, normBeforeGate: c.normBeforeGate });
  }
  if (!group) throw new Error('gatedNormShard: a norm group spans TP ranks, so the TP group is needed');
  return tf.tidy(() => {
    const [b, l] = y.shape;
    const g = block.total.shared;
    const width = (block.total.heads / g) * c.headDim;
    const silu = (t: Tensor) => tf.mul(t, tf.sigmoid(t));
    const u = c.normBeforeGate ? y : tf.mul(y, silu(z));
    const feat = (s: [number, number]) => tf.slice(u, [0, 0, s[0] * c.headDim], [b, l, (s[1] - s[0]) * c.headDim]);
    const partial = block.segments.map((s) => tf.sum(tf.square(feat(s.heads)), -1));
    const columns = Array.from({ length: g }, (_, j) => {
      const k = j - block.shared[0];
      return k >= 0 && k < nLocal ? partial[k] : tf.zeros([b, l]);
    });
    const total = allReduceInRegion(tf.stack(columns, -1), { group });
    if (!weight || block.segments.length === 0) return tf.zerosLike(y);
    const normed = tf.concat(
      block.segments.map((s) => {
        const inv = tf.rsqrt(tf.add(tf.div(tf.slice(total, [0, 0, block.shared[0] + s.shared], [b, l, 1]), width), c.eps));
        return tf.mul(feat(s.heads), inv);
      }),
      -1,
    );
    const out = tf.mul(normed, weight);
    return c.normBeforeGate ? tf.mul(out, silu(z)) : out;
  });
}
