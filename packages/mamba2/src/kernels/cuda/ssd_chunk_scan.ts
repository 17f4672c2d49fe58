/**
 * The `cuda` kernel of `FalconSsdChunkScan` (`csrc/ssd_sequential_scan.cu`): the recurrence position by
 * position, a block per (batch, head, tile of headdim rows, slice of the state), the state rows in
 * registers; with more than one slice the partial outputs go to scratch and a second kernel adds them.
 */
import { cudaKernel } from '@falcon/tensor';
import type { SsdAttrs, SsdChunkScanInputName, SsdChunkScanOptionalName } from '../../ssd_chunk_scan_signature.js';
import { mamba2Cuda } from './addon.js';
import type { Mamba2Functions } from './addon.js';
import { ssdSizes, timeStepParams } from './ssd_addon.js';

/**
 * The CUDA kernel of `FalconSsdChunkScan`: y `[batch, seqlen, nheads, headdim]` and finalStates
 * `[batch, nheads, headdim, dstate]` (the chunk size is not used: the result does not depend on it).
 * @internal
 */
export const ssdChunkScanCuda = cudaKernel<Mamba2Functions, SsdChunkScanInputName, SsdChunkScanOptionalName, SsdAttrs, 'y' | 'finalStates'>(
  mamba2Cuda,
  (addon, ctx, t, attrs) => {
    const sizes = ssdSizes(t.x.shape, t.B.shape);
    const y = ctx.output(t.x.shape);
    const finalStates = ctx.output([sizes.batch, sizes.nheads, sizes.headdim, sizes.dstate]);
    const floats = addon.ssdSequentialScanScratch(sizes);
    const scratch = floats > 0 ? ctx.scratch([floats]) : 0;
    addon.ssdSequentialScan({
      x: ctx.ptr(t.x), dt: ctx.ptr(t.dt), A: ctx.ptr(t.A), B: ctx.ptr(t.B), C: ctx.ptr(t.C), D: ctx.ptr(t.D), z: ctx.ptr(t.z), dtBias: ctx.ptr(t.dtBias),
      initialStates: ctx.ptr(t.initialStates), seqIdx: ctx.ptr(t.seqIdx), y: ctx.ptr(y), finalStates: ctx.ptr(finalStates), scratch,
      ...sizes, ...timeStepParams(attrs),
    });
    return { y, finalStates };
  },
);
