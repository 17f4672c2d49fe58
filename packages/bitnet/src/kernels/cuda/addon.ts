/**
 * The `@falcon/bitnet` CUDA addon (`csrc/`, built by `tools/build-cuda.mjs` into
 * `build/falcon_bitnet_cuda.node`), loaded on first use by the ops' `cuda` kernels. Every function
 * takes the backend's stream first, then device pointers (0 for an absent optional input) and
 * sizes; it only queues kernels (outputs and scratch are allocated by the caller).
 */
import { cudaExtension } from '@falcon/tensor';
import type { CudaExtensionAddon } from '@falcon/tensor';

/** The functions of `falcon_bitnet_cuda.node` (csrc/addon.cpp). */
export interface BitnetCudaAddon extends CudaExtensionAddon {
  /**
   * Absmean ternary quantisation (csrc/weight_quant.cu): `y` `[n]` f32 and `scale` `[1]` f32 from
   * `w` `[n]` f32; with `meanAbs` 0 the mean|W| is reduced on the device through `scratch`
   * (`partials` float64 slots).
   */
  weightQuant(stream: number, w: number, meanAbs: number, y: number, scale: number, scratch: number, n: number, partials: number): void;
  /**
   * Per-token absmax 8-bit quantisation (csrc/activation_quant.cu) of `x` `[rows, d]` f32 with
   * optional `absMax` `[rows]`: writes `y` (f32, dequantised) or `q` (int32), the other 0, and `scale` `[rows]`.
   */
  activationQuant(stream: number, x: number, absMax: number, y: number, q: number, scale: number, rows: number, d: number): void;
  /**
   * int8 × packed ternary product (csrc/ternary_matmul.cu): `y` `[m, n]` int32 from `x` `[m, k]` int32
   * and the `nWords` packed words; scratch `xq` `[m, ceil(k/4)]` and `rowSum` `[m]` (int32).
   */
  ternaryMatmul(stream: number, x: number, packed: number, y: number, xq: number, rowSum: number, m: number, k: number, n: number, nWords: number): void;
}

/**
 * Elements of a shape (kernels receive TensorInfo-like inputs: shape and dtype, not tensor sizes).
 * @param shape - any shape @returns the product of its dimensions
 */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The addon (src/ and dist/ are both three folders below the package). */
export const bitnetCuda = cudaExtension<BitnetCudaAddon>('bitnet', new URL('../../../build/falcon_bitnet_cuda.node', import.meta.url).href);
