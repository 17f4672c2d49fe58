// The tiny Falcon-H1 configs and batches the context-parallel tests share (the worker processes and the tests).
import { tf } from '@falcon/tensor';
import { FalconH1ForCausalLM, hybridConfig } from '../../src/index.js';
import type { ContextParallelMambaMode, HybridConfig, RecomputePolicy } from '../../src/index.js';

/** One context-parallel case: the model, the batch and the Mamba-2 mode. */
export interface CpCase {
  nGroups: 1 | 2 | 3;
  bitnet: boolean;
  /** Mamba-2 heads (default 4). */
  mambaHeads?: number;
  seqlen: number;
  batch: number;
  mode: ContextParallelMambaMode;
  seed: number;
  recompute?: RecomputePolicy;
  /** false: each rank returns its own share (summed by the test). */
  reduce?: boolean;
  /** Padding per batch row: a count of leading (left) padding, or `{ right: n }` trailing (default none). */
  pad?: (number | { right: number })[];
  /** Ring attention's overlap of the K/V shifts with compute (default true). */
  overlap?: boolean;
}

/**
 * A small Falcon-H1: 2 layers, GQA (4 query / 2 KV heads), Mamba-2 heads (4 by default) of head
 * dim 4 in `nGroups` groups, chunk size 4 (CP chunks of 3 or 6 tokens are not multiples of it),
 * μP multipliers, the gated norm, untied lm_head, optionally every BitNet layer.
 */
export function cpConfig(nGroups: number, bitnet = false, mambaHeads = 4, extra: object = {}): HybridConfig {
  return hybridConfig(
    {
      model_type: 'falcon_h1', vocab_size: 37, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
      num_attention_heads: 4, num_key_value_heads: 2, head_dim: 4, mamba_d_ssm: 4 * mambaHeads, mamba_n_heads: mambaHeads, mamba_d_head: 4,
      mamba_n_groups: nGroups, mamba_d_state: 4, mamba_chunk_size: 4, mamba_rms_norm: true, tie_word_embeddings: false,
      initializer_range: 0.3, embedding_multiplier: 1.3, ssm_multipliers: [1.1, 0.9, 1.2, 0.8, 1.3], key_multiplier: 0.7,
      mamba_conv_bias: true, rope_theta: 1000, ...extra,
    },
    bitnet ? { bitnet: { attention: true, mamba: true, mlp: true, outProj: true } } : {},
  );
}

/** Token ids `[batch, seqlen]` (deterministic) and labels with a few −100. */
export function cpBatch(batch: number, seqlen: number, vocab: number): { ids: tf.Tensor2D; labels: tf.Tensor2D } {
  const ids = Int32Array.from({ length: batch * seqlen }, (_, i) => (i * 7 + 3 + ((i * i) % 5)) % vocab);
  const labels = Int32Array.from(ids, (v, i) => (i % 11 === 5 ? -100 : v));
  return { ids: tf.tensor2d(ids, [batch, seqlen], 'int32'), labels: tf.tensor2d(labels, [batch, seqlen], 'int32') };
}

/**
 * The model of a case, with slow Mamba-2 decays (A = −0.03·(1…h), dt_bias −1: Δ ≈ 0.3, so the
 * state carries across the whole sequence and the state passed between ranks matters) and a
 * non-zero conv bias (0.5·sin(1…)).
 */
export function cpModel(c: CpCase): FalconH1ForCausalLM {
  const model = new FalconH1ForCausalLM(cpConfig(c.nGroups, c.bitnet, c.mambaHeads), c.seed);
  for (const layer of model.layers) {
    const p = layer.mamba?.parameters();
    if (!p) continue;
    const h = p.A_log.shape[0];
    tf.tidy(() => {
      p.A_log.assign(tf.log(tf.mul(tf.range(1, h + 1), 0.03)));
      p.dt_bias.assign(tf.fill([h], -1));
      // a non-zero conv bias: padding's conv outputs are then non-zero unless masked (as one rank does)
      const bias = p['conv1d.bias'];
      if (bias) bias.assign(tf.mul(tf.sin(tf.range(1, bias.shape[0] + 1)), 0.5));
    });
  }
  return model;
}

/**
 * The padding mask of a case `[batch, seqlen]` (1 real / 0 padding, int32) and the labels with
 * the padding ignored (−100), or nothing without `pad`.
 */
export function cpPadding(c: CpCase, labels: tf.Tensor2D): { mask: tf.Tensor2D; labels: tf.Tensor2D } | undefined {
  if (!c.pad) return undefined;
  if (c.pad.length !== c.batch) throw new Error(`cpPadding: pad has ${c.pad.length} rows, batch is ${c.batch}`);
  const m = new Int32Array(c.batch * c.seqlen);
  c.pad.forEach((p, i) => {
    for (let t = 0; t < c.seqlen; t++) m[i * c.seqlen + t] = (typeof p === 'number' ? t >= p : t < c.seqlen - p.right) ? 1 : 0;
  });
  const lv = labels.dataSync();
  const l = Int32Array.from(lv, (v, i) => (m[i] ? v : -100));
  return { mask: tf.tensor2d(m, [c.batch, c.seqlen], 'int32'), labels: tf.tensor2d(l, [c.batch, c.seqlen], 'int32') };
}
