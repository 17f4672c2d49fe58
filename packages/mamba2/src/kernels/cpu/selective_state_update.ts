/**
 * The decode step on the CPU: a scan of length 1 from the given state, run by the chunked-scan
 * host code (`ssd_chunk_scan.ts`) with the seqlen axis left out of x, dt, B, C and y.
 */
import { hostKernel } from '@falcon/tensor';
import type { SelectiveStateUpdateAttrs, SelectiveStateUpdateInputName, SelectiveStateUpdateOptionalName, SelectiveStateUpdateOutputName } from '../../selective_state_update_signature.js';
import { ssdChunkScanHost } from './ssd_chunk_scan.js';
import { ssdProblem } from './ssd_problem.js';

/** The CPU kernel of `FalconSelectiveStateUpdate`. @internal */
export const selectiveStateUpdateCpu = hostKernel<SelectiveStateUpdateInputName, SelectiveStateUpdateOptionalName, SelectiveStateUpdateAttrs, SelectiveStateUpdateOutputName>(
  (t, attrs) => {
    const pr = ssdProblem({ ...t, init: t.state }, true);
    const r = ssdChunkScanHost(pr, { ...attrs, chunkSize: 1 });
    return {
      y: { values: r.y, shape: t.x.shape, dtype: 'float32' },
      newState: { values: r.finalStates, shape: t.state.shape, dtype: 'float32' },
    };
  },
);
