// The tiny Falcon-H1 configs and the layouts the tensor-parallel tests run (shared by the workers
// and the test): n_groups 1 and 2, gated norm on and off, BitNet layers on and off, every bias,
// μP multipliers ≠ 1, sizes that do not divide by 3.
import { hybridConfig } from '../../src/index.js';
import type { HybridConfig, HeadSplit } from '../../src/index.js';

const common = {
  model_type: 'falcon_h1', vocab_size: 29, hidden_size: 16, intermediate_size: 20, num_hidden_layers: 2, head_dim: 4,
  mamba_d_head: 4, mamba_d_state: 4, mamba_chunk_size: 4, initializer_range: 0.2, embedding_multiplier: 1.5,
  lm_head_multiplier: 0.7, attention_in_multiplier: 0.9, attention_out_multiplier: 1.1, ssm_in_multiplier: 1.2,
  ssm_out_multiplier: 0.8, key_multiplier: 1.3, mlp_multipliers: [1.1, 0.9], ssm_multipliers: [1.1, 0.9, 1.2, 0.8, 1.05],
};

/** n_groups 1 (groups replicated under TP), gated norm (its sums of squares all-reduced), 1 KV head (replicated). */
export function groups1(bitnet: boolean): HybridConfig {
  return hybridConfig(
    { ...common, num_attention_heads: 4, num_key_value_heads: 1, mamba_n_heads: 6, mamba_d_ssm: 24, mamba_n_groups: 1, mamba_rms_norm: true, mamba_norm_before_gate: false, tie_word_embeddings: true },
    { bitnet: bitnet ? { attention: true, mamba: true, mlp: true, outProj: true } : {} },
  );
}

/** n_groups 2, SiLU gate (no norm), 2 KV heads, every bias on, untied lm_head. */
export function groups2(bitnet: boolean, rmsNorm = false): HybridConfig {
  return hybridConfig(
    {
      ...common, num_attention_heads: 6, num_key_value_heads: 2, mamba_n_heads: 6, mamba_d_ssm: 24, mamba_n_groups: 2, mamba_rms_norm: rmsNorm,
      tie_word_embeddings: false, attention_bias: true, mlp_bias: true, mamba_proj_bias: true, projectors_bias: true,
    },
    { bitnet: bitnet ? { attention: true, mamba: true, mlp: true, outProj: true } : {} },
  );
}

/** One case: a config, SP on/off, the head split (undefined: even; 'route': the router's), a padding mask. */
export interface TpCase {
  name: string;
  config: () => HybridConfig;
  sp: boolean;
  splits?: 'route' | HeadSplit[];
  mask?: boolean;
}

const awkward3: HeadSplit[] = [
  { attention: [1, 2, 1], mamba: [1, 3, 2] },
  { attention: [2, 1, 1], mamba: [2, 1, 3] },
];
const awkward3b: HeadSplit[] = [
  { attention: [1, 4, 1], mamba: [4, 1, 1] },
  { attention: [3, 1, 2], mamba: [1, 2, 3] },
];

/** The cases of each TP size. */
export const CASES: Record<number, TpCase[]> = {
  2: [
    { name: 'groups1', config: () => groups1(false), sp: false },
    { name: 'groups1 SP', config: () => groups1(false), sp: true },
    { name: 'groups2 mask', config: () => groups2(false), sp: false, mask: true },
    { name: 'groups2 SP', config: () => groups2(false), sp: true },
    { name: 'groups2 norm SP', config: () => groups2(false, true), sp: true },
    { name: 'groups1 bitnet', config: () => groups1(true), sp: false },
    { name: 'groups1 bitnet SP', config: () => groups1(true), sp: true },
    { name: 'groups2 bitnet SP', config: () => groups2(true), sp: true },
  ],
  3: [
    { name: 'groups1 router', config: () => groups1(false), sp: false, splits: 'route' },
    { name: 'groups2 router SP', config: () => groups2(false, true), sp: true, splits: 'route' },
    { name: 'groups1 uneven SP', config: () => groups1(false), sp: true, splits: awkward3 },
    { name: 'groups2 norm uneven', config: () => groups2(false, true), sp: false, splits: awkward3b },
    { name: 'groups1 bitnet router', config: () => groups1(true), sp: false, splits: 'route' },
    { name: 'groups2 bitnet uneven SP', config: () => groups2(true, true), sp: true, splits: awkward3b },
  ],
};

/** Batch and sequence length (12: divisible by 2 and 3 for SP). */
export const BATCH = 2;
export const SEQLEN = 12;

/** Generation with the hybrid cache (no SP): per TP size, the configs and head splits. */
export const GENERATION: Record<number, Array<{ name: string; config: () => HybridConfig; splits?: HeadSplit[]; mask?: boolean }>> = {
  2: [
    { name: 'groups1 generate', config: () => groups1(false) },
    { name: 'groups2 bitnet generate (left padding)', config: () => groups2(true, true), mask: true },
  ],
  3: [
    { name: 'groups1 uneven generate', config: () => groups1(false), splits: awkward3 },
    { name: 'groups2 norm uneven generate (left padding)', config: () => groups2(false, true), splits: awkward3b, mask: true },
  ],
};
