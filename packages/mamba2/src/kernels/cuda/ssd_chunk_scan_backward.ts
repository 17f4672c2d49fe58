/**
 * The `cuda` kernel of `FalconSsdChunkScanBackward` (`csrc/ssd_sequential_scan_backward.cu`): a forward
 * pass keeping the state every 32 positions, then per chunk of 32 (last to first) the states
 * recomputed from its checkpoint and a backward walk carrying the state gradient, then the
 * per-position and per-head sums. Scratch: the checkpoints, one chunk of states per block and three
 * per-row partial sums.
 */
import { cudaKernel } from '@falcon/tensor';
import type { SsdAttrs } from '../../ssd_chunk_scan_signature.js';
import type { SsdBackwardInputName, SsdBackwardOptionalName, SsdBackwardOutputName } from '../../ssd_chunk_scan_backward_signature.js';
import { mamba2Cuda } from './addon.js';
import type { Mamba2Functions } from './addon.js';
import { ssdSizes, timeStepParams } from './ssd_addon.js';

/**
 * The CUDA kernel of `FalconSsdChunkScanBackward`: dx, ddt, dA, dB, dC with the shapes of their
 * inputs; dD, dz, ddtBias, dInitialStates likewise, or `[0]` when the input is absent.
 * @internal
 */
export const ssdChunkScanBackwardCuda = cudaKernel<Mamba2Functions, SsdBackwardInputName, SsdBackwardOptionalName, SsdAttrs, SsdBackwardOutputName>(
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
    const scratch = ctx.scratch([addon.ssdSequentialScanBackwardScratch(sizes)]);
    addon.ssdSequentialScanBackward({
      x: ctx.ptr(t.x), dt: ctx.ptr(t.dt), A: ctx.ptr(t.A), B: ctx.ptr(t.B), C: ctx.ptr(t.C), D: ctx.ptr(t.D), z: ctx.ptr(t.z), dtBias: ctx.ptr(t.dtBias),
      initialStates: ctx.ptr(t.initialStates), seqIdx: ctx.ptr(t.seqIdx), dy: ctx.ptr(t.dy), dFinalStates: ctx.ptr(t.dFinalStates), scratch,
      dx: ctx.ptr(dx), ddt: ctx.ptr(ddt), dA: ctx.ptr(dA), dB: ctx.ptr(dB), dC: ctx.ptr(dC), dD: ctx.ptr(dD), dz: ctx.ptr(dz), ddtBias: ctx.ptr(ddtBias),
      dInitialStates: ctx.ptr(dInitialStates), ...sizes, ...timeStepParams(attrs),
    });
    return { dx, ddt, dA, dB, dC, dD, dz, ddtBias, dInitialStates };
  },
);
