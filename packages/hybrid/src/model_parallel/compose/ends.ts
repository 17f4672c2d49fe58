/**
 * The embeddings and the loss of a pipeline stage under TP × CP: vocab-parallel embedding of this
 * rank's CP chunks (reduce-scattered along the sequence under SP), and on the last stage the final
 * RMSNorm, this rank's vocabulary slice of the lm_head and the vocab-parallel cross-entropy (the
 * full logits never exist). Under CP each rank's loss is its share of the microbatch's mean (its
 * tokens' cross-entropy summed, over the microbatch's labelled tokens), so the shares summed over
 * the CP group give the one-rank loss.
 */
import { contextParallelLayout, enterTensorParallel, splitSequence, takeShard, vocabParallelCrossEntropy, vocabParallelEmbedding } from '@falcon/parallel';
import type { ProcessGroup, ShardPlan } from '@falcon/parallel';
import { rmsNorm, tf } from '@falcon/tensor';
import type { Scalar, Tensor, Variable } from '@falcon/tensor';
import type { HybridConfig } from '../../config.js';
import { IGNORE_INDEX } from '../../loss.js';
import { topWeights } from '../../model.js';
import type { PipelineStageEnds, StageRoles } from '../pipeline/stage.js';
import type { TensorParallelLayout } from '../tensor_parallel/layout.js';

const EMBED = 'model.embed_tokens.weight';
const NORM = 'model.final_layernorm.weight';
const HEAD = 'lm_head.weight';

/** The groups and the TP layout the ends run with. */
export interface ComposedEndsContext {
  /** This rank's TP layout (vocabulary range, plan of the top weights, SP). */
  layout: TensorParallelLayout;
  /** The TP group. */
  tp: ProcessGroup;
  /** The CP group (size 1: none). */
  cp: ProcessGroup;
}

/** `[rows, seqlen]` → this rank's two CP chunks `[rows, seqlen / c]` (the tensor itself at c = 1). */
function mine(t: Tensor, cp: ProcessGroup): Tensor {
  return cp.size === 1 ? t : splitSequence(t, contextParallelLayout(t.shape[1] as number, cp.size, cp.rank));
}

/**
 * The ends of a stage with these roles: the top weights it holds (those of the one-rank model for
 * `seed`, cut by the layout: embeddings and lm_head by vocabulary rows, the final norm whole).
 */
export function composedStageEnds(config: HybridConfig, seed: number, roles: StageRoles, c: ComposedEndsContext): PipelineStageEnds {
  const keep = new Set<string>();
  if (roles.first) keep.add(EMBED);
  if (roles.last) {
    keep.add(NORM);
    keep.add(config.base.tie_word_embeddings ? EMBED : HEAD);
  }
  const top = topWeights(config, seed);
  const weights: Record<string, Variable> = {};
  for (const [k, v] of Object.entries(top)) {
    if (keep.has(k)) weights[k] = tf.variable(tf.tidy(() => takeShard(v, c.layout.plan[k])), true);
    v.dispose();
  }
  const base = config.base;
  const opts = { group: c.tp, sequenceParallel: c.layout.sequenceParallel };
  const vocabStart = c.layout.vocab[0];
  return {
    weights,
    embed: (ids) => tf.tidy(() => tf.mul(vocabParallelEmbedding(mine(ids, c.cp), weights[EMBED], { ...opts, vocabStart }), base.embedding_multiplier)),
    loss: (hidden, labels) =>
      tf.tidy(() => {
        const [rows, seqlen] = labels.shape as [number, number];
        // next[t] = labels[t + 1] over the whole sequence; the last position has none
        const next = tf.concat([tf.slice(tf.cast(labels, 'int32'), [0, 1], [rows, seqlen - 1]), tf.fill([rows, 1], IGNORE_INDEX, 'int32')], 1);
        const total = tf.maximum(tf.sum(tf.cast(tf.notEqual(next, IGNORE_INDEX), 'float32')), 1);
        const targets = tf.reshape(mine(next, c.cp), [-1]);
        const h = enterTensorParallel(rmsNorm(hidden, weights[NORM], base.rms_norm_eps), opts);
        const d = base.hidden_size;
        const logits = tf.mul(tf.matMul(tf.reshape(h, [-1, d]), weights[HEAD] ?? weights[EMBED], false, true), base.lm_head_multiplier);
        const per = vocabParallelCrossEntropy(logits, targets, { vocabStart, group: c.tp, ignoreIndex: IGNORE_INDEX });
        return tf.div(tf.sum(per), total) as Scalar;
      }),
    shardPlan: (): ShardPlan => Object.fromEntries(Object.keys(weights).map((k) => [k, c.layout.plan[k]])),
  };
}
