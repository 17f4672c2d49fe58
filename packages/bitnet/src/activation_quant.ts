/**
 * `activationQuant`: BitNet b1.58 per-token absmax quantisation of activations to 8 bits, for
 * quantisation-aware training. Forward: `s_x = 127 / max(max|x|, 1e-5)` over the last dimension,
 * `y = clip(round(x·s_x), −128, 127) / s_x`; backward: the straight-through estimator, dx = dy
 * (as transformers' `ActQuant`). Kernels: cpu, webgpu and cuda (csrc/activation_quant.cu: a warp or
 * a block per token), the cuda one bit-exact with the cpu kernel.
 */
import { defineOp, tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { activationQuantWebgpu } from './kernels/webgpu/activation_quant.js';
import { activationQuantCpu } from './kernels/cpu/activation_quant.js';
import { activationQuantCuda } from './kernels/cuda/activation_quant.js';

/** Kernel name of {@link activationQuant}. */
export const ACTIVATION_QUANT_OP = 'FalconActivationQuant';

/**
 * Check the input of the activation quantisers. @param fn - public name, for the message
 * @param x - activations `[..., d]`
 * @internal
 */
export function validateActivations(fn: string, x: Tensor, absMax?: Tensor): void {
  if (x.dtype !== 'float32') throw new Error(`${fn}: argument 'x' must be float32, got ${x.dtype}`);
  if (x.rank < 1) throw new Error(`${fn}: argument 'x' must have rank ≥ 1 ([..., features]), got a scalar`);
  if (x.shape[x.rank - 1] === 0) throw new Error(`${fn}: argument 'x' has an empty last dimension (shape [${x.shape.join(', ')}]); each token needs at least one feature`);
  if (absMax) {
    const want = [...x.shape.slice(0, -1), 1];
    if (absMax.dtype !== 'float32' || !tf.util.arraysEqual(absMax.shape, want)) {
      throw new Error(`${fn}: argument 'absMax' must be float32 [${want.join(', ')}] (one value per token), got ${absMax.dtype} [${absMax.shape.join(', ')}]`);
    }
  }
}

const op = defineOp<'x', 'absMax', Record<string, never>, 'y' | 'scale'>({
  name: ACTIVATION_QUANT_OP,
  inputs: ['x'],
  optionalInputs: ['absMax'],
  outputs: ['y', 'scale'],
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
