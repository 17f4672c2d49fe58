/**
 * `HybridConfig`: a Falcon-H1 `config.json` (transformers' `falcon_h1`) plus what Megatron's hybrid
 * configuration allows beyond it: per-layer attention / Mamba-2 head counts (a layer may be pure
 * attention or pure Mamba-2) and BitNet b1.58 linear layers per module type.
 */
import type { FalconH1Config } from '@falcon/checkpoint';
import { falconH1Dims, parseConfig } from '@falcon/checkpoint';
import { checkModelSize } from './checks.js';

/** Head counts of one layer. */
export interface LayerHeads {
  /** Query heads H of the layer (0: no attention). */
  attentionHeads: number;
  /** Key/value heads Hkv (divides attentionHeads; 0 when attentionHeads is 0). */
  kvHeads: number;
  /** Mamba-2 heads h (0: no Mamba-2; divisible by `mamba_n_groups`). */
  mambaHeads: number;
}

/** Which linear layers are BitNet b1.58 ternary layers, per module type. */
export interface BitNetLayers {
  /** Attention's q/k/v projections. */
  attention: boolean;
  /** Mamba-2's in_proj. */
  mamba: boolean;
  /** The MLP's gate/up/down projections. */
  mlp: boolean;
  /** The shared output projection of attention and Mamba-2. */
  outProj: boolean;
}

/** A Falcon-H1 model's configuration. */
export interface HybridConfig {
  /** The transformers config (every field, defaults resolved). */
  base: FalconH1Config;
  /** Per-layer head counts, one entry per layer. */
  layers: LayerHeads[];
  /** BitNet layers (default none). */
  bitnet: BitNetLayers;
}

/** Extra `config.json` fields this library writes when a model goes beyond transformers' Falcon-H1. */
export const EXTRA_FIELDS = { layers: 'falcon_layer_heads', bitnet: 'falcon_bitnet' } as const;

/**
 * Build a {@link HybridConfig} from a `config.json` object or text (model_type `falcon_h1`), reading
 * the optional `falcon_layer_heads` and `falcon_bitnet` fields this library adds.
 * @param json - the parsed JSON or its text
 * @param overrides - per-layer heads / bitnet settings that replace the file's; `source` names the file in errors
 * @throws on an invalid config (unknown model_type, heads that do not divide, a model too large for this machine, ...)
 */
export function hybridConfig(json: string | object, overrides: { layers?: LayerHeads[]; bitnet?: Partial<BitNetLayers>; source?: string } = {}): HybridConfig {
  const base = parseConfig(json, { source: overrides.source });
  const obj = (typeof json === 'string' ? JSON.parse(json.replace(/\bNaN\b|-?\bInfinity\b/g, 'null')) : json) as Record<string, unknown>;
  if (base.model_type !== 'falcon_h1') throw new Error(`HybridConfig: model_type must be 'falcon_h1', got '${base.model_type}'`);
  checkModelSize(base, overrides.source ?? 'config');
  const fileLayers = obj[EXTRA_FIELDS.layers] as LayerHeads[] | undefined;
  const layers =
    overrides.layers ??
    fileLayers ??
    Array.from({ length: base.num_hidden_layers }, () => ({
      attentionHeads: base.num_attention_heads,
      kvHeads: base.num_key_value_heads,
      mambaHeads: base.mamba_n_heads,
    }));
  const fileBitnet = (obj[EXTRA_FIELDS.bitnet] ?? {}) as Partial<BitNetLayers>;
  const bitnet: BitNetLayers = { attention: false, mamba: false, mlp: false, outProj: false, ...fileBitnet, ...overrides.bitnet };
  const config = { base, layers, bitnet };
  validateHybridConfig(config);
  return config;
}

/**
 * Check a {@link HybridConfig}; throws one error listing every problem.
 * @param c - the config to check
 */
export function validateHybridConfig(c: HybridConfig): void {
  const problems: string[] = [];
  const b = c.base;
  if (c.layers.length !== b.num_hidden_layers) problems.push(`${c.layers.length} per-layer head entries for ${b.num_hidden_layers} layers`);
  c.layers.forEach((l, i) => {
    for (const k of ['attentionHeads', 'kvHeads', 'mambaHeads'] as const) {
      if (!Number.isInteger(l[k]) || l[k] < 0) problems.push(`layer ${i}: ${k} must be a non-negative integer, got ${l[k]}`);
    }
    if (l.attentionHeads === 0 && l.mambaHeads === 0) problems.push(`layer ${i} has neither attention nor Mamba-2 heads`);
    if (l.attentionHeads > 0 && (l.kvHeads === 0 || l.attentionHeads % l.kvHeads !== 0)) {
      problems.push(`layer ${i}: attention heads (${l.attentionHeads}) must be a multiple of KV heads (${l.kvHeads})`);
    }
    if (l.mambaHeads > 0 && l.mambaHeads % b.mamba_n_groups !== 0) {
      problems.push(`layer ${i}: Mamba-2 heads (${l.mambaHeads}) must be divisible by mamba_n_groups (${b.mamba_n_groups})`);
    }
  });
  if (problems.length) throw new Error(`invalid Falcon-H1 config: ${problems.join('; ')}`);
}

/** Whether every layer has the head counts of the transformers config (so transformers can load it). */
export function isUniform(c: HybridConfig): boolean {
  const b = c.base;
  return c.layers.every((l) => l.attentionHeads === b.num_attention_heads && l.kvHeads === b.num_key_value_heads && l.mambaHeads === b.mamba_n_heads);
}

/** Sizes of layer `i`: attention head dim, attention width H·hd, Mamba width d_ssm. */
export function layerDims(c: HybridConfig, i: number): { headDim: number; attnWidth: number; dSsm: number } {
  const dims = falconH1Dims(c.base);
  const l = c.layers[i];
  return { headDim: dims.head_dim, attnWidth: l.attentionHeads * dims.head_dim, dSsm: l.mambaHeads * dims.mamba_d_head };
}
