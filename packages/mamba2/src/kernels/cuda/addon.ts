/**
 * The `@falcon/mamba2` CUDA addon (`csrc/`, built by `tools/build-cuda.mjs` into
 * `build/falcon_mamba2_cuda.node`), loaded on first use by the ops' `cuda` kernels, with every
 * function it exports and their named parameters (checked against the addon's bindings when it is
 * loaded).
 */
import { cudaExtension } from '@falcon/tensor';
import type { NativeAddon } from '@falcon/tensor';
import { convNormFunctions } from './conv_norm_addon.js';
import { ssdFunctions } from './ssd_addon.js';

/** Every function of the addon, by export name. */
export const mamba2Functions = { ...ssdFunctions, ...convNormFunctions };

/** The declarations of the addon's functions (the first type argument of this package's `cudaKernel`s). */
export type Mamba2Functions = typeof mamba2Functions;

/** The addon's functions as a kernel calls them (named parameters; the kit passes the stream). */
export type Mamba2CudaAddon = NativeAddon<typeof mamba2Functions>;

/** The addon (src/ and dist/ are both three folders below the package). */
export const mamba2Cuda = cudaExtension('mamba2', new URL('../../../build/falcon_mamba2_cuda.node', import.meta.url).href, mamba2Functions);
