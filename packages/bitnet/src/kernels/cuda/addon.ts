/**
 * The `@falcon/bitnet` CUDA addon (`csrc/`, built by `tools/build-cuda.mjs` into
 * `build/falcon_bitnet_cuda.node`), loaded on first use by the ops' `cuda` kernels, with its
 * functions and their named parameters (checked against the addon's bindings when it is loaded).
 * Every function takes device pointers (0 for an absent optional input) and sizes; the kit passes
 * the backend's stream; it only queues kernels (outputs and scratch are allocated by the caller).
 */
import { cudaExtension, nativeKernel } from '@falcon/tensor';
import type { NativeAddon } from '@falcon/tensor';

const ptr = 'ptr' as const;

/** The functions of `falcon_bitnet_cuda.node` (csrc/addon.cpp), by export name. */
export const bitnetFunctions = {
  /**
   * Absmean ternary quantisation (csrc/weight_quant.cu): `y` `[n]` f32 and `scale` `[1]` f32 from
   * `w` `[n]` f32; with `meanAbs` 0 the mean|W| is reduced on the device through `scratch`
   * (`partials` float64 slots).
   */
  weightQuant: nativeKernel({ w: ptr, meanAbs: ptr, y: ptr, scale: ptr, scratch: ptr, n: 'i64', partials: 'i32' }),
  /**
   * Per-token absmax 8-bit quantisation (csrc/activation_quant.cu) of `x` `[rows, d]` f32 with
   * optional `absMax` `[rows]`: writes `y` (f32, dequantised) or `q` (int32), the other 0, and `scale` `[rows]`.
   */
  activationQuant: nativeKernel({ x: ptr, absMax: ptr, y: ptr, q: ptr, scale: ptr, rows: 'i64', d: 'i32' }),
  /**
   * int8 × packed ternary product (csrc/ternary_matmul.cu): `y` `[m, n]` int32 from `x` `[m, k]` int32
   * and the `nWords` packed words; scratch `xq` `[m, ceil(k/4)]` and `rowSum` `[m]` (int32).
   */
  ternaryMatmul: nativeKernel({ x: ptr, packed: ptr, y: ptr, xq: ptr, rowSum: ptr, m: 'i64', k: 'i32', n: 'i32', nWords: 'i64' }),
};

/** The declarations of the addon's functions (the first type argument of this package's `cudaKernel`s). */
export type BitnetFunctions = typeof bitnetFunctions;

/** The addon's functions as a kernel calls them (named parameters). */
export type BitnetCudaAddon = NativeAddon<BitnetFunctions>;

/**
 * Elements of a shape (kernels receive TensorInfo-like inputs: shape and dtype, not tensor sizes).
 * @param shape - any shape @returns the product of its dimensions
 */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The addon (src/ and dist/ are both three folders below the package). */
export const bitnetCuda = cudaExtension('bitnet', new URL('../../../build/falcon_bitnet_cuda.node', import.meta.url).href, bitnetFunctions);
