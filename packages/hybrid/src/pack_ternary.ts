/**
 * Conversion of a BitNet b1.58 model's float weights to the packed inference form: each BitNet
 * projection weight `[out, in]` becomes a `PackedBitLinear` (2-bit ternary values in transformers'
 * packed layout and the weight scale `s = 1/mean|W|` of the WHOLE matrix, as the training form's
 * `weightQuant` takes it: the fused `[o_proj | out_proj]` and Mamba-2's whole in_proj (z, x, B, C,
 * dt) each have one scale). Used by `FalconH1ForCausalLM.packTernary`.
 */
import { BitLinear, PackedBitLinear, packedRows } from '@falcon/bitnet';
import type { RawTensorData } from '@falcon/bitnet';
import type { Tensor } from '@falcon/tensor';
import type { BitNetLayers } from './config.js';

/** What {@link FalconH1ForCausalLM} methods that need float weights say about a packed model. @internal */
export function packedError(what: string): Error {
  return new Error(
    `${what}: this model was packed for inference by packTernary() (its BitNet weights are 2-bit ternary, the float weights are freed); ` +
      'training, stateDict and loadStateDict need the float weights: use (or reload) the model before packTernary()',
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

/**
 * The packed bytes of input columns `[start, start + width)` of a packed weight: the packed weight
 * of that column slice (the 2-bit packing runs along the output rows, so columns stay separate).
 * @param p - packed `[out, in]` @returns bytes `[ceil(out/4), width]`
 */
export function packedColumns(p: PackedBitLinear, start: number, width: number): Uint8Array {
  const rows = packedRows(p.outFeatures);
  const out = new Uint8Array(rows * width);
  for (let r = 0; r < rows; r++) out.set(p.packed.subarray(r * p.inFeatures + start, r * p.inFeatures + start + width), r * width);
  return out;
}

/**
 * A packed weight's tensors under transformers' packed `BitLinear` names: `${base}.weight` (U8
 * `[ceil(out/4), in]`) and `${base}.weight_scale` (F32 `[1]`, the multiplier `s = 1/mean|W|`).
 * @param base - e.g. `model.layers.0.feed_forward.up_proj`
 * @param columns - a column slice `[start, width]` (a part of the fused output projection; default all)
 */
export function packedTensors(base: string, p: PackedBitLinear, columns: [number, number] = [0, p.inFeatures]): Record<string, RawTensorData> {
  const [start, width] = columns;
  return {
    [`${base}.weight`]: { dtype: 'U8', shape: [packedRows(p.outFeatures), width], data: packedColumns(p, start, width) },
    [`${base}.weight_scale`]: { dtype: 'F32', shape: [1], data: new Float32Array([p.weightScale]) },
  };
}

/**
 * Stack packed weights of the same rows along their input columns (o_proj | out_proj into the fused
 * projection). The fused weight has one scale, so theirs must be equal (as {@link packedTensors} writes them).
 * @param parts - `[name, packed]` in column order (named in errors) @param where - for errors
 * @returns one packed weight `[out, Σ in]`
 */
export function concatPackedColumns(parts: [string, PackedBitLinear][], where: string): PackedBitLinear {
  const [first] = parts;
  for (const [name, p] of parts) {
    if (p.outFeatures !== first[1].outFeatures) throw new Error(`${where}: packed '${name}' has ${p.outFeatures} rows, '${first[0]}' ${first[1].outFeatures}`);
    if (p.weightScale !== first[1].weightScale) {
      throw new Error(`${where}: packed '${name}' has weight_scale ${p.weightScale} but '${first[0]}' has ${first[1].weightScale}; the fused o_proj|out_proj projection is one BitNet matrix with one scale`);
    }
  }
  if (parts.length === 1) return first[1];
  const rows = packedRows(first[1].outFeatures);
  const inF = parts.reduce((s, [, p]) => s + p.inFeatures, 0);
  const bytes = new Uint8Array(rows * inF);
  for (let r = 0; r < rows; r++) {
    let col = 0;
    for (const [, p] of parts) {
      bytes.set(p.packed.subarray(r * p.inFeatures, (r + 1) * p.inFeatures), r * inF + col);
      col += p.inFeatures;
    }
  }
  return new PackedBitLinear({ inFeatures: inF, outFeatures: first[1].outFeatures, packed: bytes, weightScale: first[1].weightScale });
}
