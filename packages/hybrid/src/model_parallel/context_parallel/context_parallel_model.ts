/**
 * Falcon-H1 under context parallelism (CP = c): every rank of the CP group holds every parameter
 * and two mirrored chunks of each sequence (rank r: chunks r and 2c−1−r of 2c); attention runs as
 * ring attention, Mamba-2 by state passing (or all-to-all over heads), everything else is per
 * token. Each rank's loss is its share of the global mean (its tokens' cross-entropy summed, over
 * the global token count), so the losses and the gradients summed over the group are the one-rank
 * ones.
 *
 * A padding mask `[batch, seqlen]` (left or right padding, the same on every rank) is applied as
 * on one rank: RoPE positions count the real tokens before each one (over the whole sequence, then
 * split like the tokens), ring attention masks padded keys (the mask blocks go round the ring
 * with the K/V blocks), and the Mamba-2 mixer zeroes the padding's inputs and conv outputs.
 */
import type { ProcessGroup } from '@falcon/parallel';
import { allReduce, contextParallelLayout, contextParallelPositions, splitSequence } from '@falcon/parallel';
import { linearCrossEntropy, rmsNorm, tf } from '@falcon/tensor';
import type { Scalar, Tensor, Tensor2D } from '@falcon/tensor';
import { checkInputIds, checkTokenIds } from '../../checks.js';
import { IGNORE_INDEX } from '../../loss.js';
import { positionIds } from '../../model.js';
import type { FalconH1ForCausalLM } from '../../model.js';
import type { RecomputePolicy } from '../../recompute.js';
import { allToAllScan } from './all_to_all_scan.js';
import { ringAttention } from './ring_attention.js';
import { statePassingScan } from './state_passing.js';

/** How Mamba-2 runs under context parallelism. */
export type ContextParallelMambaMode = 'state-passing' | 'all-to-all';

/** Options of the context-parallel forward and loss. */
export interface ContextParallelOptions {
  /** The CP group (e.g. `initializeModelParallel(...).cp`). */
  group: ProcessGroup;
  /** Mamba-2's mode (default `'state-passing'`; `'all-to-all'` needs mamba heads divisible by c). */
  mambaMode?: ContextParallelMambaMode;
  /** Sub-layers recomputed in the backward (default none). */
  recompute?: RecomputePolicy;
  /** Tokens per chunk of the chunked loss (default: 2²⁴ / vocab_size). */
  lossChunkSize?: number;
  /** Padding mask of the whole sequences `[batch, seqlen]`, 1 real token / 0 padding (int32, float32 or bool; default none). */
  attentionMask?: Tensor2D;
  /** Ring attention overlaps each K/V shift with the compute of the current block (default true; the results are the same bit for bit). */
  overlap?: boolean;
}

/**
 * The model over this rank's part of the sequences, up to the final norm.
 * @param inputIds - int32 `[batch, seqlen]`, the whole sequences (the same on every rank of the group; seqlen divisible by 2c)
 * @param opts - the CP group, Mamba-2 mode, `attentionMask` `[batch, seqlen]` (the same on every rank), recompute, overlap
 * @returns this rank's final hidden states `[batch, 2·seqlen/2c, d]` (its two chunks, in local order)
 */
export function contextParallelHidden(model: FalconH1ForCausalLM, inputIds: Tensor2D, opts: ContextParallelOptions): Tensor {
  const base = model.config.base;
  const mask = opts.attentionMask;
  checkInputIds('contextParallel', inputIds, base, mask);
  const [batch, seqlen] = inputIds.shape;
  const { group } = opts;
  const layout = contextParallelLayout(seqlen, group.size, group.rank);
  const rope = base.rope_parameters as { rope_type?: string } | null | undefined;
  if (rope?.rope_type === 'dynamic') throw new Error('contextParallel: dynamic RoPE scales with the longest position of the call, which a rank cannot see; use another rope_type');
  const mode = opts.mambaMode ?? 'state-passing';
  if (mode !== 'state-passing' && mode !== 'all-to-all') throw new Error(`contextParallel: mambaMode must be 'state-passing' or 'all-to-all', got '${String(mode)}'`);
  for (const layer of model.layers) {
    const m = layer.mamba;
    if (!m) continue;
    if (mode === 'all-to-all' && m.nHeads % group.size !== 0) throw new RangeError(`contextParallel (all-to-all mode): layer ${layer.index} has nheads ${m.nHeads}, which must be divisible by the CP size ${group.size}; use the state-passing mode`);
    if (mode === 'state-passing' && layout.chunkLength < m.dConv - 1) {
      throw new RangeError(`contextParallel (state passing): each chunk (${layout.chunkLength} tokens = seqlen ${seqlen} / 2·cp ${2 * group.size}) must hold at least dConv − 1 = ${m.dConv - 1} tokens for the conv halo`);
    }
  }
  const local = tf.tidy(() => splitSequence(inputIds, layout));
  checkTokenIds('contextParallel', local.dataSync(), base.vocab_size);
  return tf.tidy(() => {
    const positions = mask ? splitSequence(positionIds(batch, seqlen, mask), layout) : tf.tile(tf.expandDims(tf.tensor1d(contextParallelPositions(layout), 'int32'), 0), [batch, 1]);
    const localMask = mask && splitSequence(mask, layout);
    let x = tf.mul(tf.gather(model.top['model.embed_tokens.weight'], local), base.embedding_multiplier);
    local.dispose();
    for (const layer of model.layers) {
      const scale = layer.attention?.softmaxScale;
      x = layer.forward(x, {
        positions,
        mask: localMask,
        recompute: opts.recompute,
        attend: (q, k, v) => ringAttention(q, k, v, { group, seqlen, softmaxScale: scale, overlap: opts.overlap, keyPaddingMask: localMask }),
        mambaCore: (xBC, dt, mixer) => (mode === 'all-to-all' ? allToAllScan : statePassingScan)(xBC, dt, mixer, group, seqlen, localMask),
      }).y;
    }
    return rmsNorm(x, model.top['model.final_layernorm.weight'], base.rms_norm_eps);
  });
}

/**
 * This rank's share of the causal LM loss: the cross-entropy of its tokens against the next
 * token (labels shifted over the whole sequence first, −100 ignored) summed, over the number of
 * labelled tokens of the whole batch. The shares of the group add up to the one-rank mean loss.
 * @param model - the model (the same weights on every rank of the group)
 * @param inputIds - int32 `[batch, seqlen]` (whole sequences)
 * @param opts - the context-parallel options and `labels`: int32 `[batch, seqlen]` (default inputIds)
 * @returns a scalar
 */
export function contextParallelLoss(model: FalconH1ForCausalLM, inputIds: Tensor2D, opts: ContextParallelOptions & { labels?: Tensor2D }): Scalar {
  const [batch, seqlen] = inputIds.shape;
  const labels = opts.labels ?? inputIds;
  if (labels.shape[0] !== batch || labels.shape[1] !== seqlen) throw new Error(`contextParallelLoss: labels have shape [${labels.shape}], expected [${batch}, ${seqlen}] (like the input ids)`);
  const layout = contextParallelLayout(seqlen, opts.group.size, opts.group.rank);
  // next[t] = labels[t + 1]; the last position has none
  const lv = labels.dataSync();
  const next = new Int32Array(batch * seqlen).fill(IGNORE_INDEX);
  let total = 0;
  for (let i = 0; i < batch; i++) {
    for (let t = 0; t + 1 < seqlen; t++) {
      const v = lv[i * seqlen + t + 1];
      next[i * seqlen + t] = v;
      if (v !== IGNORE_INDEX) total++;
    }
  }
  const mine = tf.tidy(() => tf.reshape(splitSequence(tf.tensor2d(next, [batch, seqlen], 'int32'), layout), [-1]));
  const count = Array.from(mine.dataSync()).filter((v) => v !== IGNORE_INDEX).length;
  const hidden = contextParallelHidden(model, inputIds, opts);
  const w = model.top['lm_head.weight'] ?? model.top['model.embed_tokens.weight'];
  const loss = tf.tidy(() => {
    const h = tf.reshape(hidden, [-1, hidden.shape[2] as number]);
    const mean = linearCrossEntropy(h, w, mine, { scale: model.config.base.lm_head_multiplier, chunkSize: opts.lossChunkSize, ignoreIndex: IGNORE_INDEX });
    return tf.mul(mean, count / Math.max(total, 1)) as Scalar;
  });
  tf.dispose([hidden, mine]);
  return loss;
}

/**
 * The loss and the gradients of a CP step: this rank's loss share differentiated, the loss and
 * every gradient summed over the CP group (equal to the one-rank `valueAndVariableGrads`).
 * With `reduce: false` this rank's share and its own gradients are returned as they are (to sum
 * them over a larger group, e.g. Megatron's `dpCp`, in one all-reduce).
 * @param inputIds - int32 `[batch, seqlen]` (whole sequences, the same on every rank of the group)
 * @returns the global mean loss and the gradient of every variable, by internal name (as `model.variables()`)
 */
export async function contextParallelValueAndGrads(
  model: FalconH1ForCausalLM,
  inputIds: Tensor2D,
  opts: ContextParallelOptions & { labels?: Tensor2D; reduce?: boolean },
): Promise<{ loss: Scalar; grads: Record<string, Tensor> }> {
  const vars = model.variables();
  const names = new Map(Object.entries(vars).map(([k, v]) => [v.name, k]));
  const { value, grads } = tf.variableGrads(() => contextParallelLoss(model, inputIds, opts), Object.values(vars));
  const local: Record<string, Tensor> = {};
  for (const [vname, g] of Object.entries(grads)) local[names.get(vname)!] = g;
  for (const [k, v] of Object.entries(vars)) if (!local[k]) local[k] = tf.zerosLike(v);
  const { group } = opts;
  if (group.size === 1 || opts.reduce === false) return { loss: value, grads: local };
  // one flat all-reduce for the loss and every gradient
  const keys = Object.keys(local);
  const flat = tf.tidy(() => tf.concat([tf.reshape(value, [1]), ...keys.map((k) => tf.reshape(local[k], [-1]))]));
  const summed = await allReduce(flat, { group }).wait();
  tf.dispose([flat, value, ...Object.values(local)]);
  const out: Record<string, Tensor> = {};
  let offset = 1;
  for (const k of keys) {
    const shape = [...vars[k].shape] as number[];
    const size = shape.reduce((a, b) => a * b, 1);
    out[k] = tf.tidy(() => tf.reshape(tf.slice(summed, [offset], [size]), shape));
    offset += size;
  }
  const loss = tf.tidy(() => tf.reshape(tf.slice(summed, [0], [1]), []) as Scalar);
  summed.dispose();
  return { loss, grads: out };
}
