/**
 * One forward/backward of a batch under TP × CP × PP × DP: {@link composedValueAndGrads}. The
 * stage's pipelined loss and gradients ({@link pipelineValueAndGrads}, its layers tensor- and
 * context-parallel), then the reductions that make them the one-rank ones: the layout's
 * `reduceOverTp` gradients summed over the TP group, the loss shares and the gradients summed over
 * the CP group (each CP rank saw its own tokens), and both averaged over the DP group (each replica
 * its own rows).
 */
import { allReduce, allReduceGradients, allReduceSync, planBuckets, reduceShardGradient, replicated, stageSum, PIPELINE_FREE_TAG } from '@falcon/parallel';
import type { PipelineScheduleKind } from '@falcon/parallel';
import { tf } from '@falcon/tensor';
import type { Scalar, Tensor } from '@falcon/tensor';
import type { RecomputePolicy } from '../../recompute.js';
import { pipelineValueAndGrads } from '../pipeline/step.js';
import type { PipelineBatch } from '../pipeline/step.js';
import { weightedSquaredSum } from '../tensor_parallel/element_weights.js';
import type { ComposedFalconH1 } from './model.js';

/** Options of {@link composedValueAndGrads}. */
export interface ComposedStepOptions {
  /** Microbatches per replica's rows (must divide them). */
  microbatches: number;
  /** `'1f1b'` (default with one chunk) or `'interleaved'`. */
  schedule?: PipelineScheduleKind;
  /** What a stage keeps between a forward and its backward (`'inputs'`: full recomputation). */
  stash?: 'activations' | 'inputs';
  /** Gradient bucket size of the DP all-reduce, MiB (default 25). */
  bucketMb?: number;
  /** `'layer'`: every decoder layer recomputed in the backward; `'attention'`, `'mamba'`, `'both'`: those mixers (default `'none'`). */
  recompute?: RecomputePolicy;
}

/**
 * The residual stream's shape between stages: `[rows / m, seqlen / c (/ t under SP), d]`.
 * @throws naming the problem when the sequence does not split over CP (2c chunks) and SP (t)
 */
export function composedActivationShape(model: ComposedFalconH1, rows: number, seqlen: number, microbatches: number): number[] {
  const c = model.groups.cp.size;
  const t = model.groups.tp.size;
  if (c > 1 && seqlen % (2 * c) !== 0) throw new Error(`composed layout: the sequence length ${seqlen} must be divisible by 2·cp = ${2 * c} (two mirrored chunks per CP rank)`);
  const local = seqlen / c;
  const sp = model.layout.sequenceParallel;
  if (sp && local % t !== 0) throw new Error(`composed layout: with sequence parallelism each CP rank's ${local} positions must be divisible by the TP size ${t}`);
  return [rows / microbatches, sp ? local / t : local, model.config.base.hidden_size];
}

/**
 * This rank's part of the loss and gradients of its replica's rows (every rank calls it, each DP
 * replica with its own rows, the same within a replica).
 * @param model - this rank's part of the model
 * @param batch - this replica's rows (`inputIds` int32 `[rows, seqlen]`, optional `labels` and padding `attentionMask`, whole sequences)
 * @returns on the last stage the mean loss over the whole global batch (the one-rank loss); on every
 *   rank the gradients of its pieces (HF names, shapes of the pieces), the one-rank gradients cut by
 *   {@link ComposedFalconH1.shardPlan}
 */
export async function composedValueAndGrads(model: ComposedFalconH1, batch: PipelineBatch, options: ComposedStepOptions): Promise<{ loss?: Scalar; grads: Record<string, Tensor> }> {
  const { tp, cp, dp } = model.groups;
  const [rows, seqlen] = batch.inputIds.shape;
  if (!Number.isInteger(options.microbatches) || options.microbatches < 1 || rows % options.microbatches !== 0) throw new Error(`composed layout: the ${rows} rows do not split into ${options.microbatches} microbatches`);
  const activationShape = composedActivationShape(model, rows, seqlen, options.microbatches);
  const out = await pipelineValueAndGrads(model.stage, batch, { microbatches: options.microbatches, transport: model.transport, schedule: options.schedule, stash: options.stash, recompute: options.recompute, activationShape });
  let { loss } = out;
  let grads = out.grads;
  // TP: pieces that saw only part of the computation (replicated KV heads and groups, SP norms)
  const { layout } = model;
  for (const name of layout.reduceOverTp) {
    if (!model.stageNames.has(name)) continue;
    const held = name in grads;
    const local = held ? grads[name] : tf.zeros(layout.shapes[name]);
    const summed = reduceShardGradient(local, layout.plan[name] ?? replicated(layout.shapes[name]), { group: tp });
    local.dispose();
    if (held) grads[name] = summed;
    else summed.dispose();
  }
  // CP: each rank's loss share and gradients of its tokens, summed (one flat all-reduce)
  if (cp.size > 1) {
    const keys = Object.keys(grads);
    const flat = tf.tidy(() => tf.concat([...(loss ? [tf.reshape(loss, [1])] : []), ...keys.map((k) => tf.reshape(grads[k], [-1]))]));
    const summed = await allReduce(flat, { group: cp }).wait();
    tf.dispose([flat, ...(loss ? [loss] : []), ...Object.values(grads)]);
    let offset = loss ? 1 : 0;
    const next: Record<string, Tensor> = {};
    for (const k of keys) {
      const shape = [...model.stage.variables()[k].shape];
      const size = shape.reduce((a, b) => a * b, 1);
      next[k] = tf.tidy(() => tf.reshape(tf.slice(summed, [offset], [size]), shape));
      offset += size;
    }
    if (loss) loss = tf.tidy(() => tf.reshape(tf.slice(summed, [0], [1]), []) as Scalar);
    summed.dispose();
    grads = next;
  }
  // DP: the replicas' means averaged
  if (dp.size > 1) {
    const shapes = Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, g.shape]));
    const local = grads;
    grads = await allReduceGradients(local, planBuckets(shapes, (options.bucketMb ?? 25) * 2 ** 20), dp);
    tf.dispose(Object.values(local));
    if (loss) {
      const one = tf.reshape(loss, [1]);
      const sum = await allReduce(one, { group: dp }).wait();
      tf.dispose([one, loss]);
      loss = tf.tidy(() => tf.div(tf.reshape(sum, []), dp.size) as Scalar);
      sum.dispose();
    }
  }
  return { ...(loss ? { loss } : {}), grads };
}

const NORM_TAG = PIPELINE_FREE_TAG + 11; // and + 12

/**
 * The global gradient norm of the one-rank model from every rank's pieces: each element counted
 * once over the TP group (an element held by k TP ranks 1/k on each), summed over the TP group and
 * the stages (the tied copy of the embeddings on the last stage left out); CP and DP ranks hold the
 * same reduced gradients. Every rank calls it.
 * @param grads - from {@link composedValueAndGrads}
 * @returns a scalar, the same on every rank
 */
export async function composedGradNorm(model: ComposedFalconH1, grads: Record<string, Tensor>): Promise<Scalar> {
  const weights = model.elementWeights;
  const counted = model.stage.holdsTiedCopy ? Object.fromEntries(Object.entries(grads).filter(([k]) => k !== 'model.embed_tokens.weight')) : grads;
  const local = tf.tidy(() => tf.reshape(weightedSquaredSum(model.layout, weights, counted), [1]));
  const overTp = model.groups.tp.size > 1 ? tf.tidy(() => allReduceSync(local, { group: model.groups.tp })) : tf.clone(local);
  const total = await stageSum(model.transport, { stage: model.stage.stage, stages: model.stage.stages }, overTp, NORM_TAG);
  tf.dispose([local, overTp]);
  const norm = tf.tidy(() => tf.sqrt(tf.reshape(total, [])) as Scalar);
  total.dispose();
  return norm;
}
