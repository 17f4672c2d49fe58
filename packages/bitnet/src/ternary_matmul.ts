/**
 * `ternaryMatmul`: inference product of int8 activations with a 2-bit packed ternary weight in
 * transformers' layout, `y = x @ Wᵀ` in exact integer arithmetic, without unpacking the weight to
 * floats. The caller applies the scales (see `PackedBitLinear`). Not differentiable (inference only).
 * Kernels: cpu, webgpu and cuda (csrc/ternary_matmul.cu: dp4a over codes decoded in registers).
 */
import { defineOp, opCheck } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { ternaryMatmulWebgpu } from './kernels/webgpu/ternary_matmul.js';
import { ternaryMatmulCpu } from './kernels/cpu/ternary_matmul.js';
import { packedRows, packedWordCount } from './packing.js';
import { ternaryMatmulCuda } from './kernels/cuda/ternary_matmul.js';
import { ternaryMatmulSignature } from './ternary_matmul_signature.js';
import type { TernaryMatmulAttrs, TernaryMatmulInputName, TernaryMatmulOutputName } from './ternary_matmul_signature.js';

export type { TernaryMatmulAttrs } from './ternary_matmul_signature.js';

/** Kernel name of {@link ternaryMatmul}. */
export const TERNARY_MATMUL_OP = ternaryMatmulSignature.name;

/** Largest inFeatures: keeps every partial sum (|x| ≤ 128, |w| ≤ 2 for code 3) exact in the kernels' lanes. */
export const TERNARY_MATMUL_MAX_IN_FEATURES = 65536;

const op = defineOp<TernaryMatmulInputName, never, TernaryMatmulAttrs, TernaryMatmulOutputName>({
  ...ternaryMatmulSignature,
  validate: ({ x, packed }, { outFeatures }) => {
    const c = opCheck('ternaryMatmul');
    c.attr('outFeatures').positiveInt(outFeatures);
    const shape = c.arg('x').tensor(x, { dims: ['...', 'inFeatures'], dtype: 'int32' });
    const k = shape[shape.length - 1];
    if (k === 0 || k > TERNARY_MATMUL_MAX_IN_FEATURES) c.arg('x').fail(`has inFeatures ${k}; it must be in [1, ${TERNARY_MATMUL_MAX_IN_FEATURES}]`);
    if (packed.dtype !== 'int32' || packed.rank !== 1) {
      c.arg('packed').fail(`must be a 1-D int32 tensor of packed words (see packedWeightTensor), got ${packed.dtype} of shape ${c.shape(packed.shape)}`);
    }
    const need = packedWordCount(outFeatures, k);
    if (packed.size !== need) {
      c.arg('packed').fail(`has ${packed.size} words, but outFeatures=${outFeatures}, inFeatures=${k} needs ${need} (${packedRows(outFeatures)}·${k} bytes in 4-byte words)`);
    }
  },
  kernels: {
    cpu: ternaryMatmulCpu,
    webgpu: ternaryMatmulWebgpu,
    cuda: ternaryMatmulCuda,
  },
});

/**
 * Integer matmul of int8 activations with a packed ternary weight.
 *
 * @param x - int32 `[..., inFeatures]` holding int8 values (as {@link activationQuantInt8} returns)
 * @param packed - int32 `[ceil(ceil(outFeatures/4)·inFeatures/4)]`: the transformers-layout bytes
 *   `[ceil(outFeatures/4), inFeatures]` as little-endian words ({@link packedWeightTensor})
 * @param outFeatures - N, rows of the unpacked weight `[N, inFeatures]`
 * @returns int32 `[..., outFeatures]`: `Σ_k x[..., k]·W[n, k]`, exact (a code 3, which no packer
 *   writes, counts as +2, as transformers' `unpack_weights` reads it)
 * @throws if dtypes or ranks are wrong, inFeatures is out of range or `packed` has the wrong length
 */
export function ternaryMatmul(x: Tensor, packed: Tensor, outFeatures: number): Tensor {
  return op({ x, packed }, { outFeatures }).y;
}
