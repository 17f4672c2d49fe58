/**
 * The Falcon-H1-0.5B shapes every CUDA model benchmark uses (d 1024, 8/2 attention heads of 64,
 * 24 Mamba-2 heads of 64, state 128, vocab 32784; 521 M parameters at 36 layers), as a
 * transformers `config.json` object.
 * @param layers - num_hidden_layers (36 for the real size; fewer to scale a measurement)
 */
export function falconH1Config05b(layers: number): Record<string, unknown> {
  return {
    model_type: 'falcon_h1',
    architectures: ['FalconH1ForCausalLM'],
    vocab_size: 32784,
    pad_token_id: 0,
    bos_token_id: 1,
    eos_token_id: 11,
    hidden_size: 1024,
    intermediate_size: 2048,
    num_hidden_layers: layers,
    num_attention_heads: 8,
    num_key_value_heads: 2,
    head_dim: 64,
    mamba_d_ssm: 1536,
    mamba_n_heads: 24,
    mamba_d_head: 64,
    mamba_n_groups: 1,
    mamba_d_state: 128,
    mamba_d_conv: 4,
    mamba_chunk_size: 128,
    mamba_rms_norm: false,
    mamba_norm_before_gate: false,
    max_position_embeddings: 131072, // the real 0.5B has 16384; raised so that the long-context rows (32k, 128k) run
    rope_parameters: { rope_type: 'default', rope_theta: 100000000000 },
    tie_word_embeddings: false,
    initializer_range: 0.02,
  };
}
