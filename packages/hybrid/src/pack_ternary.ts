/**
 * Conversion of a BitNet b1.58 model's float weights to the packed inference form: each BitNet
 * projection weight `[out, in]` becomes a `PackedBitLinear` (2-bit ternary values in transformers'
 * packed layout and the weight scale `s = 1/mean|W|` of the WHOLE matrix, as the training form's
 * `weightQuant` takes it: the fused `[o_proj | out_proj]` and Mamba-2's whole in_proj (z, x, B, C,
 * dt) each have one scale). Used by `FalconH1ForCausalLM.packTernary`.
 */
import { BitLinear } from '@falcon/bitnet';
import type { PackedBitLinear } from '@falcon/bitnet';
import type { Tensor } from '@falcon/tensor';
import type { BitNetLayers } from './config.js';

/** What {@link FalconH1ForCausalLM} methods that need float weights say about a packed model. @internal */
export function packedError(what: string): Error {
  return new Error(
    `${what}: this model was packed for inference by packTernary() (its BitNet weights are 2-bit ternary, the float weights are freed); ` +
      'training, stateDict, loadStateDict and savePretrained need the float weights: use (or reload) the model before packTernary()',
  );
}

/**
 * Internal names (relative to `model.layers.{i}.`) of a layer's weights that the config makes BitNet.
 * @param bitnet - the config's BitNet module types
 * @param has - whether the layer has attention / Mamba-2
 */
export function bitnetWeightNames(bitnet: BitNetLayers, has: { attention: boolean; mamba: boolean }): string[] {
  const names: string[] = [];
  if (bitnet.attention && has.attention) names.push('self_attn.q_proj.weight', 'self_attn.k_proj.weight', 'self_attn.v_proj.weight');
  if (bitnet.mamba && has.mamba) names.push('mamba.in_proj.weight');
  if (bitnet.outProj) names.push('fused_out_proj.weight');
  if (bitnet.mlp) names.push('feed_forward.gate_proj.weight', 'feed_forward.up_proj.weight', 'feed_forward.down_proj.weight');
  return names;
}

/**
 * Pack one float weight as BitNet training quantises it (absmean ternary with the whole matrix's
 * scale). The float weight is left as it is (the caller frees it).
 * @param w - float32 `[out, in]`
 * @returns the packed layer (no bias): `forward(x [tokens, in])` → `[tokens, out]`
 */
export async function packTernaryWeight(w: Tensor): Promise<PackedBitLinear> {
  if (w.rank !== 2 || w.dtype !== 'float32') throw new Error(`packTernaryWeight: the weight must be float32 [out, in], got ${w.dtype} [${w.shape}]`);
  const [outFeatures, inFeatures] = w.shape as [number, number];
  const layer = new BitLinear({ inFeatures, outFeatures, weight: w });
  try {
    return await layer.freeze();
  } finally {
    layer.dispose();
  }
}
