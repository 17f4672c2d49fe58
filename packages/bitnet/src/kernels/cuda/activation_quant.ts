/**
 * `cuda` kernels of {@link activationQuant} (dequantised f32 output) and {@link activationQuantInt8}
 * (int32 output), both csrc/activation_quant.cu: a warp (d ≤ 2048) or a block per token row, max|x|
 * then quantise; bit-exact with the cpu kernel.
 */
import { cudaKernel } from '@falcon/tensor';
import type { CudaKernelContext, Tensor } from '@falcon/tensor';
import type { BitnetCudaAddon, BitnetFunctions } from './addon.js';
import { bitnetCuda, sizeOf } from './addon.js';

type Inputs = { x: Tensor; absMax?: Tensor };
type TensorInfo = ReturnType<CudaKernelContext['output']>;

/** Queues the quantisation of `x` into a new `dtype` tensor; returns it and the scales `[..., 1]`. */
function quantize(addon: BitnetCudaAddon, ctx: CudaKernelContext, { x, absMax }: Inputs, dtype: 'float32' | 'int32'): { out: TensorInfo; scale: TensorInfo } {
  const d = x.shape[x.shape.length - 1];
  const rows = sizeOf(x.shape) / d;
  const out = ctx.output(x.shape, dtype);
  const scale = ctx.output([...x.shape.slice(0, -1), 1]);
  if (rows === 0) return { out, scale }; // nothing to launch
  const p = ctx.ptr(out);
  addon.activationQuant({ x: ctx.ptr(x), absMax: ctx.ptr(absMax), y: dtype === 'float32' ? p : 0, q: dtype === 'int32' ? p : 0, scale: ctx.ptr(scale), rows, d });
  return { out, scale };
}

/** Kernel of activationQuant: inputs `x` `[..., d]` f32, optional `absMax` `[..., 1]`; outputs `y` (f32, shape of x) and `scale` (`[..., 1]`). */
export const activationQuantCuda = cudaKernel<BitnetFunctions, 'x', 'absMax', Record<string, never>, 'y' | 'scale'>(bitnetCuda, (addon, ctx, inputs) => {
  const { out, scale } = quantize(addon, ctx, inputs, 'float32');
  return { y: out, scale };
});

/** Kernel of activationQuantInt8: inputs `x` `[..., d]` f32, optional `absMax` `[..., 1]`; outputs `q` (int32, shape of x) and `scale` (`[..., 1]`). */
export const activationQuantInt8Cuda = cudaKernel<BitnetFunctions, 'x', 'absMax', Record<string, never>, 'q' | 'scale'>(bitnetCuda, (addon, ctx, inputs) => {
  const { out, scale } = quantize(addon, ctx, inputs, 'int32');
  return { q: out, scale };
});
