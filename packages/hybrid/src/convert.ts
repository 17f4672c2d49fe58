/**
 * Llama-style Transformer checkpoint → Falcon-H1: attention, MLP, norms and embeddings copied
 * (self_attn → self_attn, mlp → feed_forward, post_attention_layernorm → pre_ff_layernorm,
 * norm → final_layernorm), Mamba-2 heads added and initialised fresh. With `zeroMambaOut` the new
 * Mamba-2 branch starts with a zero output projection, so the converted model reproduces the
 * Llama model's logits exactly (all μP multipliers are 1).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LlamaConfig } from '@falcon/checkpoint';
import { FALCON_H1_MAMBA_CHUNK_SIZE, openCheckpoint, parseConfig, validateCheckpoint } from '@falcon/checkpoint';
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { hybridConfig } from './config.js';
import { FalconH1ForCausalLM } from './model.js';

/** Options of {@link convertFromLlama}. */
export interface ConvertOptions {
  /** Mamba-2 heads per layer (default: the number of attention heads). */
  mambaHeads?: number;
  /** Mamba-2 head dim (default: the attention head dim). */
  mambaHeadDim?: number;
  /** SSM state size (default 64). */
  mambaDState?: number;
  /** Mamba-2 groups (default 1). */
  mambaGroups?: number;
  /** SSD chunk size (default `FALCON_H1_MAMBA_CHUNK_SIZE` of `@falcon/checkpoint`: transformers' 256). */
  mambaChunkSize?: number;
  /** Start with Mamba-2's output projection at zero (default true): the model then equals the Llama model. */
  zeroMambaOut?: boolean;
  /** Seed of the fresh Mamba-2 weights (default 0). */
  seed?: number;
}

const MAP: [RegExp, string][] = [
  [/^model\.layers\.(\d+)\.mlp\./, 'model.layers.$1.feed_forward.'],
  [/^model\.layers\.(\d+)\.post_attention_layernorm\./, 'model.layers.$1.pre_ff_layernorm.'],
  [/^model\.norm\./, 'model.final_layernorm.'],
];

/**
 * Read a Llama checkpoint directory and return the Falcon-H1 model it converts to.
 * @param dir - directory with the Llama `config.json` and `model.safetensors` (or an index)
 * @throws when the source is not a Llama checkpoint or its tensors do not match its config
 */
export async function convertFromLlama(dir: string, options: ConvertOptions = {}): Promise<FalconH1ForCausalLM> {
  const src = parseConfig(await readFile(join(dir, 'config.json'), 'utf8').catch(() => {
    throw new Error(`cannot read ${join(dir, 'config.json')}`);
  }));
  if (src.model_type !== 'llama') throw new Error(`convert: expected a llama checkpoint, ${dir} has model_type '${src.model_type}'`);
  const l = src as LlamaConfig;
  const headDim = l.head_dim ?? l.hidden_size / l.num_attention_heads;
  const mambaHeads = options.mambaHeads ?? l.num_attention_heads;
  const mambaHeadDim = options.mambaHeadDim ?? headDim;
  const config = hybridConfig({
    model_type: 'falcon_h1',
    architectures: ['FalconH1ForCausalLM'],
    vocab_size: l.vocab_size,
    hidden_size: l.hidden_size,
    intermediate_size: l.intermediate_size,
    num_hidden_layers: l.num_hidden_layers,
    num_attention_heads: l.num_attention_heads,
    num_key_value_heads: l.num_key_value_heads,
    head_dim: headDim,
    hidden_act: l.hidden_act,
    rms_norm_eps: l.rms_norm_eps,
    max_position_embeddings: l.max_position_embeddings,
    rope_parameters: l.rope_parameters,
    attention_bias: l.attention_bias,
    mlp_bias: l.mlp_bias,
    tie_word_embeddings: l.tie_word_embeddings,
    initializer_range: l.initializer_range,
    pad_token_id: l.pad_token_id,
    bos_token_id: l.bos_token_id,
    eos_token_id: l.eos_token_id,
    mamba_n_heads: mambaHeads,
    mamba_d_head: mambaHeadDim,
    mamba_d_ssm: mambaHeads * mambaHeadDim,
    mamba_n_groups: options.mambaGroups ?? 1,
    mamba_d_state: options.mambaDState ?? 64,
    mamba_chunk_size: options.mambaChunkSize ?? FALCON_H1_MAMBA_CHUNK_SIZE,
    mamba_rms_norm: true,
  });
  const reader = await openCheckpoint(dir);
  try {
    validateCheckpoint(l, reader.shapes(), { what: `llama checkpoint in ${dir}` });
    const model = new FalconH1ForCausalLM(config, options.seed ?? 0);
    const fresh = model.stateDict();
    const weights: Record<string, Tensor> = {};
    const loaded = await reader.readTensors();
    for (const [name, t] of loaded) {
      if (name.endsWith('rotary_emb.inv_freq')) continue;
      if (l.tie_word_embeddings && name === 'lm_head.weight') continue;
      let to = name;
      for (const [re, rep] of MAP) to = to.replace(re, rep);
      weights[to] = t;
    }
    const created: Tensor[] = [];
    for (const [k, t] of Object.entries(fresh)) {
      if (k in weights) continue;
      if (!k.includes('.mamba.')) throw new Error(`convert: the llama checkpoint has no tensor for '${k}'`);
      if (k.endsWith('mamba.out_proj.weight') && (options.zeroMambaOut ?? true)) {
        const z = tf.zerosLike(t);
        created.push(z);
        weights[k] = z;
      } else {
        const c = tf.clone(t); // a copy: assigning a variable to itself would free its data first
        created.push(c);
        weights[k] = c;
      }
    }
    model.loadStateDict(weights);
    tf.dispose([...loaded.values(), ...created]);
    return model;
  } finally {
    await reader.close();
  }
}
