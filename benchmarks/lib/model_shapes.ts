/**
 * The model shapes the CUDA training benchmarks compare, as transformers `config.json` objects plus
 * per-layer head counts, by name:
 * - `0.5b`: Falcon-H1-0.5B (see {@link falconH1Config05b});
 * - `0.5b-attention`: the same size with every head attention — the 24 Mamba-2 heads of 64 become
 *   attention heads of 64 (32 query heads, 8 key/value heads: the 0.5B's 4:1 grouping), so the
 *   mixer width (2,048) and the shared output projection are the 0.5B's (the benchmark prints
 *   each model's parameter count);
 * - `1.5b-deep`: Falcon-H1-1.5B-Deep's shapes as transformers documents them (66 layers, d 1280,
 *   6/2 attention heads of 128, 24 Mamba-2 heads of 64, state 256, vocab 65537), intermediate size
 *   3,072 assumed.
 */
import type { LayerHeads } from '@falcon/hybrid';
import { falconH1Config05b } from './shapes_05b.js';

/** The names {@link modelShape} knows. */
export const MODEL_SHAPES = ['0.5b', '0.5b-attention', '1.5b-deep'] as const;
/** One of {@link MODEL_SHAPES}. */
export type ModelShapeName = (typeof MODEL_SHAPES)[number];

/**
 * A benchmark model's config and its per-layer heads (undefined: the config's own).
 * @param name - one of {@link MODEL_SHAPES}
 * @param layers - num_hidden_layers (the full depth when undefined: 36, or 66 for 1.5b-deep)
 */
export function modelShape(name: string, layers?: number): { config: Record<string, unknown>; layers?: LayerHeads[] } {
  switch (name) {
    case '0.5b':
      return { config: falconH1Config05b(layers ?? 36) };
    case '0.5b-attention': {
      const n = layers ?? 36;
      return { config: falconH1Config05b(n), layers: Array.from({ length: n }, () => ({ attentionHeads: 32, kvHeads: 8, mambaHeads: 0 })) };
    }
    case '1.5b-deep':
      return {
        config: {
          ...falconH1Config05b(layers ?? 66),
          vocab_size: 65537,
          hidden_size: 1280,
          intermediate_size: 3072,
          num_attention_heads: 6,
          num_key_value_heads: 2,
          head_dim: 128,
          mamba_d_ssm: 1536,
          mamba_n_heads: 24,
          mamba_d_head: 64,
          mamba_d_state: 256,
        },
      };
    default:
      throw new Error(`unknown model shape '${name}' (known: ${MODEL_SHAPES.join(', ')})`);
  }
}
