// The model, data and options the data-parallel tests share (the worker processes and the test itself).
import { hybridConfig, TokenBatches } from '../../src/index.js';
import type { TrainOptions } from '../../src/index.js';

/** A small Falcon-H1 (2 layers, attention + Mamba-2 heads), small enough for several processes on 2 cores. */
export const CONFIG = hybridConfig({
  model_type: 'falcon_h1', vocab_size: 40, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2,
  num_attention_heads: 2, num_key_value_heads: 1, head_dim: 16, mamba_d_ssm: 32, mamba_n_heads: 2, mamba_d_head: 16,
  mamba_d_state: 8, mamba_chunk_size: 8, mamba_rms_norm: true, tie_word_embeddings: true, initializer_range: 0.1,
  embedding_multiplier: 1.5, ssm_multipliers: [1.1, 0.9, 1, 1, 1.2],
});
/** A repetitive stream the model learns quickly. */
export const TOKENS = Int32Array.from({ length: 600 }, (_, i) => 3 + ((i * 7) % 11) + (i % 3));
/** The global batch: 4 sequences of 12 tokens (2 per rank under DP=2). */
export const batches = () => new TokenBatches(TOKENS, 4, 12, 5);
/** One step with clipping active (lr high, clip low) and μP multipliers, so every path is exercised. */
export const STEP_OPTIONS: TrainOptions = { steps: 10, lr: 2e-2, warmupSteps: 0, clip: 0.5, lrMultipliers: { embed_tokens: 2 } };
/** The multi-step runs. */
export const OPTIONS: TrainOptions = { steps: 8, lr: 1e-2, warmupSteps: 2, saveEvery: 100, accumulate: 2 };
