/**
 * The tensors a config implies, by name, shape and the condition that makes each exist: the
 * parameter tables of spec §1 (Falcon-H1) and §8 (Llama), with the biases, `mamba.norm` and
 * `lm_head` switched by `attention_bias`, `mlp_bias`, `mamba_conv_bias`, `mamba_proj_bias`,
 * `projectors_bias`, `mamba_rms_norm` and `tie_word_embeddings`.
 */
import { falconH1Dims } from '../config/falcon_h1.js';
import type { FalconH1Config } from '../config/falcon_h1.js';
import type { LlamaConfig } from '../config/llama.js';
import type { HFConfig } from '../config/parse.js';

export type { CheckpointMismatch } from '../errors.js';

/** A tensor a config may imply. @internal */
export interface ExpectedTensor {
  /** Tensor name. */
  name: string;
  /** Its shape. */
  shape: number[];
  /** The shape in spec notation, e.g. `[H·hd, d]`. */
  formula: string;
  /** Whether this config has it. */
  present: boolean;
  /** The flag that decides, e.g. `attention_bias is false`. */
  why?: string;
}

function flag(name: string, value: boolean): string {
  return `${name} is ${value}`;
}

/** Adds one tensor of a layer: name (after the layer prefix), shape, spec formula, and the flag that decides it. */
type AddTensor = (name: string, shape: number[], formula: string, present?: boolean, why?: string) => void;

/** Sizes shared by the attention and MLP blocks of both architectures. */
interface BlockDims {
  d: number;
  f: number;
  H: number;
  Hkv: number;
  hd: number;
  attentionBias: boolean;
  mlpBias: boolean;
}

/**
 * The tensors of every model: embeddings, the final norm (`finalNorm`), lm_head unless tied, then
 * for each layer what `layer` adds.
 */
function modelTensors(c: HFConfig, finalNorm: string, layer: (add: AddTensor) => void): ExpectedTensor[] {
  const { hidden_size: d, vocab_size: V } = c;
  const out: ExpectedTensor[] = [
    { name: 'model.embed_tokens.weight', shape: [V, d], formula: '[V, d]', present: true },
    { name: finalNorm, shape: [d], formula: '[d]', present: true },
    { name: 'lm_head.weight', shape: [V, d], formula: '[V, d]', present: !c.tie_word_embeddings, why: flag('tie_word_embeddings', c.tie_word_embeddings) },
  ];
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const p = `model.layers.${i}.`;
    layer((name, shape, formula, present = true, why) => out.push({ name: p + name, shape, formula, present, why }));
  }
  return out;
}

/** q/k/v/o projections (and their biases under `attention_bias`). */
function attentionTensors(add: AddTensor, k: BlockDims): void {
  const { d, H, Hkv, hd, attentionBias: ab } = k;
  add('self_attn.q_proj.weight', [H * hd, d], '[H·hd, d]');
  add('self_attn.k_proj.weight', [Hkv * hd, d], '[Hkv·hd, d]');
  add('self_attn.v_proj.weight', [Hkv * hd, d], '[Hkv·hd, d]');
  add('self_attn.o_proj.weight', [d, H * hd], '[d, H·hd]');
  add('self_attn.q_proj.bias', [H * hd], '[H·hd]', ab, flag('attention_bias', ab));
  add('self_attn.k_proj.bias', [Hkv * hd], '[Hkv·hd]', ab, flag('attention_bias', ab));
  add('self_attn.v_proj.bias', [Hkv * hd], '[Hkv·hd]', ab, flag('attention_bias', ab));
  add('self_attn.o_proj.bias', [d], '[d]', ab, flag('attention_bias', ab));
}

/** The SwiGLU MLP under `prefix` (`feed_forward.` or `mlp.`), biases under `mlp_bias`. */
function mlpTensors(add: AddTensor, prefix: string, k: BlockDims): void {
  const { d, f, mlpBias: mb } = k;
  add(`${prefix}gate_proj.weight`, [f, d], '[f, d]');
  add(`${prefix}up_proj.weight`, [f, d], '[f, d]');
  add(`${prefix}down_proj.weight`, [d, f], '[d, f]');
  add(`${prefix}gate_proj.bias`, [f], '[f]', mb, flag('mlp_bias', mb));
  add(`${prefix}up_proj.bias`, [f], '[f]', mb, flag('mlp_bias', mb));
  add(`${prefix}down_proj.bias`, [d], '[d]', mb, flag('mlp_bias', mb));
}

function falconH1Tensors(c: FalconH1Config): ExpectedTensor[] {
  const k = falconH1Dims(c);
  const b: BlockDims = {
    d: c.hidden_size,
    f: c.intermediate_size,
    H: k.num_attention_heads,
    Hkv: k.num_key_value_heads,
    hd: k.head_dim,
    attentionBias: c.attention_bias,
    mlpBias: c.mlp_bias,
  };
  const d = b.d;
  return modelTensors(c, 'model.final_layernorm.weight', (add) => {
    add('input_layernorm.weight', [d], '[d]');
    add('pre_ff_layernorm.weight', [d], '[d]');
    attentionTensors(add, b);
    add('mamba.in_proj.weight', [k.in_proj_dim, d], '[d_ssm + conv_dim + h, d]');
    add('mamba.in_proj.bias', [k.in_proj_dim], '[d_ssm + conv_dim + h]', c.mamba_proj_bias, flag('mamba_proj_bias', c.mamba_proj_bias));
    add('mamba.conv1d.weight', [k.conv_dim, 1, c.mamba_d_conv], '[conv_dim, 1, k]');
    add('mamba.conv1d.bias', [k.conv_dim], '[conv_dim]', c.mamba_conv_bias, flag('mamba_conv_bias', c.mamba_conv_bias));
    add('mamba.dt_bias', [k.mamba_n_heads], '[h]');
    add('mamba.A_log', [k.mamba_n_heads], '[h]');
    add('mamba.D', [k.mamba_n_heads], '[h]');
    add('mamba.norm.weight', [k.d_ssm], '[d_ssm]', c.mamba_rms_norm, flag('mamba_rms_norm', c.mamba_rms_norm));
    add('mamba.out_proj.weight', [d, k.d_ssm], '[d, d_ssm]');
    add('mamba.out_proj.bias', [d], '[d]', c.projectors_bias, flag('projectors_bias', c.projectors_bias));
    mlpTensors(add, 'feed_forward.', b);
  });
}

function llamaTensors(c: LlamaConfig): ExpectedTensor[] {
  const b: BlockDims = {
    d: c.hidden_size,
    f: c.intermediate_size,
    H: c.num_attention_heads,
    Hkv: c.num_key_value_heads,
    hd: c.head_dim,
    attentionBias: c.attention_bias,
    mlpBias: c.mlp_bias,
  };
  return modelTensors(c, 'model.norm.weight', (add) => {
    add('input_layernorm.weight', [b.d], '[d]');
    add('post_attention_layernorm.weight', [b.d], '[d]');
    attentionTensors(add, b);
    mlpTensors(add, 'mlp.', b);
  });
}

/** Every tensor a config may imply, with whether this config has it. @internal */
export function candidateTensors(config: HFConfig): ExpectedTensor[] {
  return config.model_type === 'falcon_h1' ? falconH1Tensors(config) : llamaTensors(config);
}

/**
 * The tensors a checkpoint of this config must hold: name → shape, in the spec's layout
 * (e.g. `model.layers.{i}.mamba.in_proj.weight` → `[d_ssm + conv_dim + h, d]`).
 * @param config - a parsed Falcon-H1 or Llama config
 */
export function expectedTensorShapes(config: HFConfig): Map<string, number[]> {
  return new Map(
    candidateTensors(config)
      .filter((t) => t.present)
      .map((t) => [t.name, t.shape]),
  );
}
