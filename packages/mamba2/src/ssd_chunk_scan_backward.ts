/**
 * `FalconSsdChunkScanBackward`: the gradient of the SSD scan as an op of its own, with a CPU
 * kernel that runs the adjoint recurrence backwards in time from state checkpoints (memory linear
 * in seqlen), and a CUDA kernel that does the same position by position (`csrc/ssd_sequential_scan_backward.cu`).
 * Used by the gradients of `ssdChunkScan` and `selectiveStateUpdate`.
 */
import { defineOp } from '@falcon/tensor';
import { ssdChunkScanBackwardCpu } from './kernels/cpu/ssd_chunk_scan_backward.js';
import { ssdChunkScanBackwardCuda } from './kernels/cuda/ssd_chunk_scan_backward.js';
import { ssdChunkScanBackwardWebgpu } from './kernels/webgpu/ssd_chunk_scan_backward.js';
import { ssdChunkScanBackwardSignature } from './ssd_chunk_scan_backward_signature.js';
import type { SsdBackwardAttrs, SsdBackwardInputName, SsdBackwardOptionalName, SsdBackwardOutputName } from './ssd_chunk_scan_backward_signature.js';

/**
 * The op: inputs as `FalconSsdChunkScan` plus `dy` `[batch, seqlen, nheads, headdim]` and
 * `dFinalStates` `[batch, nheads, headdim, dstate]`.
 * @internal
 */
export const ssdChunkScanBackwardOp = defineOp<SsdBackwardInputName, SsdBackwardOptionalName, SsdBackwardAttrs, SsdBackwardOutputName>({
  ...ssdChunkScanBackwardSignature,
  kernels: { cpu: ssdChunkScanBackwardCpu, webgpu: ssdChunkScanBackwardWebgpu, cuda: ssdChunkScanBackwardCuda },
});
