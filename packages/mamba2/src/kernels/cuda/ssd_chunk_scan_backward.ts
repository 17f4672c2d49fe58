/**
 * The `cuda` kernel of `FalconSsdChunkScanBackward` (`csrc/ssd_chunk_scan_backward.cu`): a forward
 * pass keeping the state every 32 positions, then per chunk of 32 (last to first) the states
 * recomputed from its checkpoint and a backward walk carrying the state gradient, then the
 * per-position and per-head sums. Scratch: the checkpoints, one chunk of states per block and three
 * per-row partial sums.
 */
import { cudaKernel } from '@falcon/tensor';
import type { SsdAttrs } from '../../ssd_chunk_scan_signature.js';
import type { SsdBackwardInputName, SsdBackwardOptionalName, SsdBackwardOutputName } from '../../ssd_chunk_scan_backward_signature.js';
import { mamba2Cuda } from './addon.js';
import type { Mamba2CudaAddon } from './addon.js';
import { ssdSizes, timeStepArgs } from './ssd_addon.js';

/**
 * The CUDA kernel of `FalconSsdChunkScanBackward`: dx, ddt, dA, dB, dC with the shapes of their
 * inputs; dD, dz, ddtBias, dInitialStates likewise, or `[0]` when the input is absent.
 * @internal
 */
export const ssdChunkScanBackwardCuda = cudaKernel<Mamba2CudaAddon, SsdBackwardInputName, SsdBackwardOptionalName, SsdAttrs, SsdBackwardOutputName>(
  mamba2Cuda,
  (addon, ctx, t, attrs) => {
    const sizes = ssdSizes(t.x.shape, t.B.shape);
    const like = (input: { shape: number[] } | undefined) => ctx.output(input ? input.shape : [0]);
    const dx = ctx.output(t.x.shape);
    const ddt = ctx.output(t.dt.shape);
    const dA = ctx.output(t.A.shape);
    const dB = ctx.output(t.B.shape);
    const dC = ctx.output(t.C.shape);
    const dD = like(t.D);
    const dz = like(t.z);
    const ddtBias = like(t.dtBias);
    const dInitialStates = like(t.initialStates);
    const scratch = ctx.scratch([addon.ssdChunkScanBackwardScratch(...sizes)]);
    addon.ssdChunkScanBackward(
      ctx.stream, ctx.ptr(t.x), ctx.ptr(t.dt), ctx.ptr(t.A), ctx.ptr(t.B), ctx.ptr(t.C), ctx.ptr(t.D), ctx.ptr(t.z), ctx.ptr(t.dtBias),
      ctx.ptr(t.initialStates), ctx.ptr(t.seqIdx), ctx.ptr(t.dy), ctx.ptr(t.dFinalStates), scratch,
      ctx.ptr(dx), ctx.ptr(ddt), ctx.ptr(dA), ctx.ptr(dB), ctx.ptr(dC), ctx.ptr(dD), ctx.ptr(dz), ctx.ptr(ddtBias), ctx.ptr(dInitialStates),
      ...sizes, ...timeStepArgs(attrs),
    );
    return { dx, ddt, dA, dB, dC, dD, dz, ddtBias, dInitialStates };
  },
);
