/**
 * `FalconSsdChunkScanBackward`: the gradient of the SSD scan as an op of its own, with a CPU
 * kernel that runs the adjoint recurrence backwards in time from state checkpoints (memory linear
 * in seqlen), and a CUDA kernel that does the same position by position (`csrc/ssd_chunk_scan_backward.cu`).
 * Used by the gradients of `ssdChunkScan` and `selectiveStateUpdate`.
 */
import { defineOp } from '@falcon/tensor';
import { ssdChunkScanBackwardCpu } from './kernels/cpu/ssd_chunk_scan_backward.js';
import { ssdChunkScanBackwardCuda } from './kernels/cuda/ssd_chunk_scan_backward.js';
import { ssdChunkScanBackwardWebgpu } from './kernels/webgpu/ssd_chunk_scan_backward.js';
import type { SsdAttrs, SsdChunkScanInputName, SsdChunkScanOptionalName } from './ssd_chunk_scan.js';

/** Required inputs of the backward op: the forward's plus the output gradients. @internal */
export type SsdBackwardInputName = SsdChunkScanInputName | 'dy' | 'dFinalStates';
/** Optional inputs of the backward op. @internal */
export type SsdBackwardOptionalName = SsdChunkScanOptionalName;
/** Outputs: the gradient of every input (empty `[0]` tensors for absent optional inputs). @internal */
export type SsdBackwardOutputName = 'dx' | 'ddt' | 'dA' | 'dB' | 'dC' | 'dD' | 'dz' | 'ddtBias' | 'dInitialStates';

/**
 * The op: inputs as `FalconSsdChunkScan` plus `dy` `[batch, seqlen, nheads, headdim]` and
 * `dFinalStates` `[batch, nheads, headdim, dstate]`.
 * @internal
 */
export const ssdChunkScanBackwardOp = defineOp<SsdBackwardInputName, SsdBackwardOptionalName, SsdAttrs, SsdBackwardOutputName>({
  name: 'FalconSsdChunkScanBackward',
  inputs: ['x', 'dt', 'A', 'B', 'C', 'dy', 'dFinalStates'],
  optionalInputs: ['D', 'z', 'dtBias', 'initialStates', 'seqIdx'],
  outputs: ['dx', 'ddt', 'dA', 'dB', 'dC', 'dD', 'dz', 'ddtBias', 'dInitialStates'],
  kernels: { cpu: ssdChunkScanBackwardCpu, webgpu: ssdChunkScanBackwardWebgpu, cuda: ssdChunkScanBackwardCuda },
});
