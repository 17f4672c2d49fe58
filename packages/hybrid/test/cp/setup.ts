// The tiny Falcon-H1 configs and batches the context-parallel tests share (the worker processes and the tests).
import { hybridConfig } from '../../src/index.js';
import type { HybridConfig } from '../../src/index.js';
import { tf } from '@falcon/tensor';

/**
 * A small Falcon-H1: 2 layers, GQA (4 query / 2 KV heads), 4 Mamba-2 heads with `nGroups` groups,
 * chunk size 4 (so the CP chunks of 6 tokens are not multiples of it), μP multipliers, the gated
 * norm, optionally BitNet layers.
 */
export function cpConfig(nGroups: 1 | 2, bitnet = false): HybridConfig {
  return hybridConfig({
    model_type: 'falcon_h1', vocab_size: 37, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, head_dim: 4, mamba_d_ssm: 16, mamba_n_heads: 4, mamba_d_head: 4,
    mamba_n_groups: nGroups, mamba_d_state: 4, mamba_chunk_size: 4, mamba_rms_norm: true, tie_word_embeddings: false,
    initializer_range: 0.3, embedding_multiplier: 1.3, ssm_multipliers: [1.1, 0.9, 1.2, 0.8, 1.3], key_multiplier: 0.7,
    mamba_conv_bias: true, rope_theta: 1000,
  }, bitnet ? { bitnet: { attention: true, mamba: true, mlp: true, outProj: true } } : {});
}

/** Token ids `[batch, seqlen]` (deterministic), with a few −100 labels. */
export function cpBatch(batch: number, seqlen: number, vocab: number): { ids: tf.Tensor2D; labels: tf.Tensor2D } {
  const ids = Int32Array.from({ length: batch * seqlen }, (_, i) => (i * 7 + 3 + ((i * i) % 5)) % vocab);
  const labels = Int32Array.from(ids, (v, i) => (i % 11 === 5 ? -100 : v));
  return { ids: tf.tensor2d(ids, [batch, seqlen], 'int32'), labels: tf.tensor2d(labels, [batch, seqlen], 'int32') };
}
