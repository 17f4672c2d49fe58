/**
 * The `cuda` kernel of `FalconSelectiveStateUpdate` (`csrc/selective_state_update.cu`): a warp per
 * (batch, head, headdim row) reads the state row once and writes the new one. The gradient of the
 * op is the scan's backward over one position (its own CUDA kernel).
 */
import { cudaKernel } from '@falcon/tensor';
import type { SelectiveStateUpdateInputName, SelectiveStateUpdateOptionalName } from '../../selective_state_update_signature.js';
import type { TimeStepAttrs } from '../../time_step.js';
import { mamba2Cuda } from './addon.js';
import type { Mamba2Functions } from './addon.js';
import { timeStepParams } from './ssd_addon.js';

/**
 * The CUDA kernel of `FalconSelectiveStateUpdate`: y `[batch, nheads, headdim]` and newState
 * `[batch, nheads, headdim, dstate]` (the input state is not modified).
 * @internal
 */
export const selectiveStateUpdateCuda = cudaKernel<Mamba2Functions, SelectiveStateUpdateInputName, SelectiveStateUpdateOptionalName, TimeStepAttrs, 'y' | 'newState'>(
  mamba2Cuda,
  (addon, ctx, t, attrs) => {
    const [b, h, p, n] = t.state.shape;
    const g = t.B.shape[1] as number;
    const y = ctx.output(t.x.shape);
    const newState = ctx.output(t.state.shape);
    addon.selectiveStateUpdate({
      state: ctx.ptr(t.state), x: ctx.ptr(t.x), dt: ctx.ptr(t.dt), A: ctx.ptr(t.A), B: ctx.ptr(t.B), C: ctx.ptr(t.C), D: ctx.ptr(t.D), z: ctx.ptr(t.z),
      dtBias: ctx.ptr(t.dtBias), y: ctx.ptr(y), newState: ctx.ptr(newState), batch: b, nheads: h, headdim: p, ngroups: g, dstate: n,
      ...timeStepParams(attrs),
    });
    return { y, newState };
  },
);
