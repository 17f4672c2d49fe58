/**
 * `activationQuant`: BitNet b1.58 per-token absmax quantisation of activations to 8 bits, for
 * quantisation-aware training. Forward: `s_x = 127 / max(max|x|, 1e-5)` over the last dimension,
 * `y = clip(round(x·s_x), −128, 127) / s_x`; backward: the straight-through estimator, dx = dy
 * (as transformers' `ActQuant`). Kernels: cpu, webgpu and cuda (csrc/activation_quant.cu: a warp or
 * a block per token), the cuda one bit-exact with the cpu kernel.
 */
import { defineOp, opCheck, tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { activationQuantSignature } from './activation_quant_signature.js';
import type { ActivationQuantAttrs, ActivationQuantInputName, ActivationQuantOptionalName, ActivationQuantOutputName } from './activation_quant_signature.js';
import { activationQuantWebgpu } from './kernels/webgpu/activation_quant.js';
import { activationQuantCpu } from './kernels/cpu/activation_quant.js';
import { activationQuantCuda } from './kernels/cuda/activation_quant.js';

/** Kernel name of {@link activationQuant}. */
export const ACTIVATION_QUANT_OP = activationQuantSignature.name;

/**
 * Check the input of the activation quantisers. @param fn - public name, for the message
 * @param x - activations `[..., d]`
 * @internal
 */
export function validateActivations(fn: string, x: Tensor, absMax?: Tensor): void {
  const c = opCheck(fn);
  const shape = c.arg('x').tensor(x, { dims: ['...', 'features'] });
  if (shape[shape.length - 1] === 0) c.arg('x').fail(`has an empty last dimension (shape ${c.shape(shape)}); each token needs at least one feature`);
  if (absMax) {
    const want = [...shape.slice(0, -1), 1];
    if (absMax.dtype !== 'float32' || !tf.util.arraysEqual(absMax.shape, want)) {
      c.arg('absMax').fail(`must be float32 ${c.shape(want)} (one value per token), got ${absMax.dtype} ${c.shape(absMax.shape)}`);
    }
  }
}

const op = defineOp<ActivationQuantInputName, ActivationQuantOptionalName, ActivationQuantAttrs, ActivationQuantOutputName>({
  ...activationQuantSignature,
  validate: ({ x, absMax }) => validateActivations('activationQuant', x, absMax),
  kernels: {
    cpu: activationQuantCpu,
    webgpu: activationQuantWebgpu,
    cuda: activationQuantCuda,
  },
  // straight-through estimator: the gradient passes through round and clip unchanged; none reaches absMax
  grad: ({ dy }) => ({ x: dy.y }),
});

/** Options of {@link activationQuant} and {@link activationQuantInt8}. */
export interface ActivationQuantOptions {
  /**
   * max|x| per token `[..., 1]` over the whole feature dimension, when `x` holds a slice of the
   * features (a row-parallel shard: the all-reduced max). Default: max|x| over x's last dimension.
   */
  absMax?: Tensor;
}

/**
 * Per-token 8-bit absmax quantisation with the straight-through estimator.
 *
 * @param x - activations `[..., d]`, float32 (d ≥ 1)
 * @returns `y`: the dequantised activations `xq / s_x`, shape of `x` (its gradient flows to `x`
 *   unchanged); `scale`: `[..., 1]`, `s_x = 127 / max(max|x|, 1e-5)` per token
 * @throws if `x` is not float32, is a scalar or has an empty last dimension, or `absMax` has the wrong shape
 */
export function activationQuant(x: Tensor, options: ActivationQuantOptions = {}): { y: Tensor; scale: Tensor } {
  return op({ x, absMax: options.absMax }, {});
}
