/**
 * `activationQuantInt8`: the inference form of {@link activationQuant}: the same per-token absmax
 * quantisation, returning the int8 values (in an int32 tensor) and the per-token scale, the inputs
 * of {@link ternaryMatmul}. Not differentiable (inference only). Kernels: cpu, webgpu and cuda (the
 * same csrc/activation_quant.cu as activationQuant, writing int32).
 */
import { defineOp } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { validateActivations } from './activation_quant.js';
import type { ActivationQuantOptions } from './activation_quant.js';
import { activationQuantInt8Signature } from './activation_quant_int8_signature.js';
import type {
  ActivationQuantInt8Attrs,
  ActivationQuantInt8InputName,
  ActivationQuantInt8OptionalName,
  ActivationQuantInt8OutputName,
} from './activation_quant_int8_signature.js';
import { activationQuantInt8Webgpu } from './kernels/webgpu/activation_quant.js';
import { activationQuantInt8Cpu } from './kernels/cpu/activation_quant.js';
import { activationQuantInt8Cuda } from './kernels/cuda/activation_quant.js';

/** Kernel name of {@link activationQuantInt8}. */
export const ACTIVATION_QUANT_INT8_OP = activationQuantInt8Signature.name;

const op = defineOp<ActivationQuantInt8InputName, ActivationQuantInt8OptionalName, ActivationQuantInt8Attrs, ActivationQuantInt8OutputName>({
  ...activationQuantInt8Signature,
  validate: ({ x, absMax }) => validateActivations('activationQuantInt8', x, absMax),
  kernels: {
    cpu: activationQuantInt8Cpu,
    webgpu: activationQuantInt8Webgpu,
    cuda: activationQuantInt8Cuda,
  },
});

/**
 * Per-token 8-bit absmax quantisation to integers.
 *
 * @param x - activations `[..., d]`, float32 (d ≥ 1)
 * @returns `q`: int32 tensor of the shape of `x` with values `clip(round(x·s_x), −128, 127)`;
 *   `scale`: `[..., 1]`, `s_x = 127 / max(max|x|, 1e-5)` per token (x ≈ q / s_x)
 * @throws if `x` is not float32, is a scalar or has an empty last dimension, or `absMax` has the wrong shape
 */
export function activationQuantInt8(x: Tensor, options: ActivationQuantOptions = {}): { q: Tensor; scale: Tensor } {
  return op({ x, absMax: options.absMax }, {});
}
