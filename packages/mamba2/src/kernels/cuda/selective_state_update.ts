/**
 * The `cuda` kernel of `FalconSelectiveStateUpdate` (`csrc/selective_state_update.cu`): a warp per
 * (batch, head, headdim row) reads the state row once and writes the new one. The gradient of the
 * op is the scan's backward over one position (its own CUDA kernel).
 */
import { cudaKernel } from '@falcon/tensor';
import type { SelectiveStateUpdateInputName, SelectiveStateUpdateOptionalName } from '../../selective_state_update_signature.js';
import type { TimeStepAttrs } from '../../time_step.js';
import { mamba2Cuda } from './addon.js';
import type { Mamba2CudaAddon } from './addon.js';
import { timeStepArgs } from './ssd_addon.js';

/**
 * The CUDA kernel of `FalconSelectiveStateUpdate`: y `[batch, nheads, headdim]` and newState
 * `[batch, nheads, headdim, dstate]` (the input state is not modified).
 * @internal
 */
export const selectiveStateUpdateCuda = cudaKernel<Mamba2CudaAddon, SelectiveStateUpdateInputName, SelectiveStateUpdateOptionalName, TimeStepAttrs, 'y' | 'newState'>(
  mamba2Cuda,
  (addon, ctx, t, attrs) => {
    const [b, h, p, n] = t.state.shape;
    const g = t.B.shape[1] as number;
    const y = ctx.output(t.x.shape);
    const newState = ctx.output(t.state.shape);
    addon.selectiveStateUpdate(
      ctx.stream, ctx.ptr(t.state), ctx.ptr(t.x), ctx.ptr(t.dt), ctx.ptr(t.A), ctx.ptr(t.B), ctx.ptr(t.C), ctx.ptr(t.D), ctx.ptr(t.z),
      ctx.ptr(t.dtBias), ctx.ptr(y), ctx.ptr(newState), b, h, p, g, n, ...timeStepArgs(attrs),
    );
    return { y, newState };
  },
);
