// The configs, data and helpers the pipeline tests share (the in-process tests and the worker processes).
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { hybridConfig, TokenBatches } from '../../src/index.js';
import type { BitNetLayers, HybridConfig, TrainOptions } from '../../src/index.js';

/** A small Falcon-H1 with 4 layers (PP4 gets one each); attention and Mamba-2 heads in every layer. */
export const BASE = {
  model_type: 'falcon_h1', vocab_size: 40, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 4,
  num_attention_heads: 2, num_key_value_heads: 1, head_dim: 16, mamba_d_ssm: 32, mamba_n_heads: 4, mamba_d_head: 8,
  mamba_d_state: 8, mamba_chunk_size: 8, mamba_rms_norm: true, tie_word_embeddings: true, initializer_range: 0.1,
  embedding_multiplier: 1.5, lm_head_multiplier: 0.8, ssm_multipliers: [1.1, 0.9, 1, 1, 1.2],
};

/** The variants the tests run. */
export interface Variant {
  tied?: boolean;
  groups?: number;
  bitnet?: boolean;
}

/** The config of a variant. */
export function config(v: Variant = {}): HybridConfig {
  const bitnet: Partial<BitNetLayers> = v.bitnet ? { attention: true, mamba: true, mlp: true, outProj: true } : {};
  return hybridConfig({ ...BASE, tie_word_embeddings: v.tied ?? true, mamba_n_groups: v.groups ?? 1 }, { bitnet });
}

/** A repetitive stream the model learns quickly. */
export const TOKENS = Int32Array.from({ length: 600 }, (_, i) => 3 + ((i * 7) % 11) + (i % 3));
/** The global batch: 4 sequences of 12 tokens (4 microbatches of one row, or 2 of two). */
export const batches = () => new TokenBatches(TOKENS, 4, 12, 5);
/** The multi-step runs: clipping active, μP multipliers, warm-up and decay. */
export const OPTIONS: TrainOptions = { steps: 20, lr: 1e-2, warmupSteps: 3, clip: 0.5, lrMultipliers: { embed_tokens: 2 } };
/** The model seed. */
export const SEED = 3;

/** max |a − b| / max(max |b|, floor): one relative error per tensor. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-6): number {
  if (a.length !== b.length) return Infinity;
  let d = 0;
  let s = floor;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return d / s;
}

/** A tensor's values as a plain array (for JSON). */
export const values = (t: Tensor): number[] => Array.from(t.dataSync());

/** Dispose a record of tensors. */
export const disposeAll = (r: Record<string, Tensor>) => tf.dispose(Object.values(r));
