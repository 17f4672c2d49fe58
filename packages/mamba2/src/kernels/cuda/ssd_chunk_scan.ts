/**
 * The `cuda` kernel of `FalconSsdChunkScan` (`csrc/ssd_chunk_scan.cu`): the recurrence position by
 * position, a block per (batch, head, tile of headdim rows, slice of the state), the state rows in
 * registers; with more than one slice the partial outputs go to scratch and a second kernel adds them.
 */
import { cudaKernel } from '@falcon/tensor';
import type { SsdAttrs, SsdChunkScanInputName, SsdChunkScanOptionalName } from '../../ssd_chunk_scan_signature.js';
import { mamba2Cuda } from './addon.js';
import type { Mamba2CudaAddon } from './addon.js';
import { ssdSizes, timeStepArgs } from './ssd_addon.js';

/**
 * The CUDA kernel of `FalconSsdChunkScan`: y `[batch, seqlen, nheads, headdim]` and finalStates
 * `[batch, nheads, headdim, dstate]` (the chunk size is not used: the result does not depend on it).
 * @internal
 */
export const ssdChunkScanCuda = cudaKernel<Mamba2CudaAddon, SsdChunkScanInputName, SsdChunkScanOptionalName, SsdAttrs, 'y' | 'finalStates'>(
  mamba2Cuda,
  (addon, ctx, t, attrs) => {
    const sizes = ssdSizes(t.x.shape, t.B.shape);
    const [b, , h, p, , n] = sizes;
    const y = ctx.output(t.x.shape);
    const finalStates = ctx.output([b, h, p, n]);
    const floats = addon.ssdChunkScanScratch(...sizes);
    const scratch = floats > 0 ? ctx.scratch([floats]) : 0;
    addon.ssdChunkScan(
      ctx.stream, ctx.ptr(t.x), ctx.ptr(t.dt), ctx.ptr(t.A), ctx.ptr(t.B), ctx.ptr(t.C), ctx.ptr(t.D), ctx.ptr(t.z), ctx.ptr(t.dtBias),
      ctx.ptr(t.initialStates), ctx.ptr(t.seqIdx), ctx.ptr(y), ctx.ptr(finalStates), scratch, ...sizes, ...timeStepArgs(attrs),
    );
    return { y, finalStates };
  },
);
