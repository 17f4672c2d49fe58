/**
 * The `@falcon/mamba2` CUDA addon (`csrc/`, built by `tools/build-cuda.mjs` into
 * `build/falcon_mamba2_cuda.node`), loaded on first use by the ops' `cuda` kernels.
 */
import { cudaExtension } from '@falcon/tensor';
import type { CudaExtensionAddon } from '@falcon/tensor';
import type { ConvNormCudaAddon } from './conv_norm_addon.js';
import type { SsdCudaAddon } from './ssd_addon.js';

/** Every function of the addon. */
export type Mamba2CudaAddon = CudaExtensionAddon & SsdCudaAddon & ConvNormCudaAddon;

/** The addon (src/ and dist/ are both three folders below the package). */
export const mamba2Cuda = cudaExtension<Mamba2CudaAddon>('mamba2', new URL('../../../build/falcon_mamba2_cuda.node', import.meta.url).href);
