/**
 * Built-in model presets (`falcon train --config <name>`): small Falcon-H1 configurations with the
 * byte-level tokenizer's vocabulary (259), sized to train on a CPU in minutes.
 */

/** config.json objects of the presets, by name. */
export const PRESETS: Record<string, Record<string, unknown>> = {
  /** ~0.4 M parameters: trains on 2 CPU cores in a few minutes. */
  tiny: {
    model_type: 'falcon_h1',
    architectures: ['FalconH1ForCausalLM'],
    vocab_size: 259,
    pad_token_id: 0,
    bos_token_id: 1,
    eos_token_id: 2,
    hidden_size: 96,
    intermediate_size: 256,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 24,
    mamba_d_ssm: 96,
    mamba_n_heads: 4,
    mamba_d_head: 24,
    mamba_n_groups: 1,
    mamba_d_state: 16,
    mamba_d_conv: 4,
    mamba_chunk_size: 32,
    mamba_rms_norm: true,
    mamba_norm_before_gate: false,
    max_position_embeddings: 512,
    rope_parameters: { rope_type: 'default', rope_theta: 10000 },
    tie_word_embeddings: true,
    initializer_range: 0.05,
  },
  /** ~3 M parameters: a larger CPU/GPU smoke-test model. */
  small: {
    model_type: 'falcon_h1',
    architectures: ['FalconH1ForCausalLM'],
    vocab_size: 259,
    pad_token_id: 0,
    bos_token_id: 1,
    eos_token_id: 2,
    hidden_size: 256,
    intermediate_size: 768,
    num_hidden_layers: 4,
    num_attention_heads: 8,
    num_key_value_heads: 2,
    head_dim: 32,
    mamba_d_ssm: 256,
    mamba_n_heads: 8,
    mamba_d_head: 32,
    mamba_n_groups: 1,
    mamba_d_state: 32,
    mamba_d_conv: 4,
    mamba_chunk_size: 64,
    mamba_rms_norm: true,
    max_position_embeddings: 2048,
    rope_parameters: { rope_type: 'default', rope_theta: 10000 },
    tie_word_embeddings: true,
    initializer_range: 0.04,
  },
};
