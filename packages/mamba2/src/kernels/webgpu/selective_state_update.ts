/**
 * The decode step on WebGPU: the scan's programs over one position (x, dt, B, C and z viewed with
 * a seqlen axis of 1, the state as the initial state).
 */
import { webgpuKernel } from '@falcon/tensor';
import type { TensorInfo } from '@falcon/tensor';
import type { SelectiveStateUpdateAttrs, SelectiveStateUpdateInputName, SelectiveStateUpdateOptionalName, SelectiveStateUpdateOutputName } from '../../selective_state_update_signature.js';
import type { SsdTensors } from './ssd_programs.js';
import { ssdDims, ssdFinalProgram, ssdForwardParts, ssdGateProgram, ssdYPreProgram } from './ssd_programs.js';

/** View `[batch, ...rest]` as `[batch, 1, ...rest]` (same buffer). @internal */
export function withSeqAxis(t: TensorInfo): TensorInfo {
  return { ...t, shape: [t.shape[0], 1, ...t.shape.slice(1)] };
}

/** WebGPU kernel of `FalconSelectiveStateUpdate`. @internal */
export const selectiveStateUpdateWebgpu = webgpuKernel<SelectiveStateUpdateInputName, SelectiveStateUpdateOptionalName, SelectiveStateUpdateAttrs, SelectiveStateUpdateOutputName>(
  ({ inputs: { state, x, dt, A, B, C, D, z, dtBias }, attrs, run }) => {
    const t: SsdTensors = { x: withSeqAxis(x), dt: withSeqAxis(dt), A, B: withSeqAxis(B), C: withSeqAxis(C), D, z: z && withSeqAxis(z), dtBias, init: state };
    const a = { ...attrs, chunkSize: 1 };
    const d = ssdDims(t, 1);
    const parts = ssdForwardParts(t, d, a, run);
    const y = run(ssdGateProgram(t, d, a, run(ssdYPreProgram(t, d, a, parts))));
    return { y: { ...y, shape: x.shape }, newState: ssdFinalProgram(d, a, parts) };
  },
);
