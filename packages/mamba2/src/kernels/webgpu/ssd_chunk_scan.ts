/**
 * The SSD chunked scan on WebGPU: the shared programs of `ssd_programs.ts` (Δ, chunk-local
 * cumulative sums, C·Bᵀ per chunk, chunk states, the inter-chunk recurrence), then y and the final
 * states.
 */
import { webgpuKernel } from '@falcon/tensor';
import type { SsdAttrs, SsdChunkScanInputName, SsdChunkScanOptionalName, SsdChunkScanOutputName } from '../../ssd_chunk_scan_signature.js';
import type { SsdTensors } from './ssd_programs.js';
import { ssdDims, ssdFinalProgram, ssdForwardParts, ssdGateProgram, ssdYPreProgram } from './ssd_programs.js';

/** WebGPU kernel of `FalconSsdChunkScan`. @internal */
export const ssdChunkScanWebgpu = webgpuKernel<SsdChunkScanInputName, SsdChunkScanOptionalName, SsdAttrs, SsdChunkScanOutputName>(({ inputs, attrs, run }) => {
  const t: SsdTensors = { ...inputs, init: inputs.initialStates };
  const d = ssdDims(t, attrs.chunkSize);
  const parts = ssdForwardParts(t, d, attrs, run);
  const ypre = run(ssdYPreProgram(t, d, attrs, parts));
  return { y: ssdGateProgram(t, d, attrs, ypre), finalStates: ssdFinalProgram(d, attrs, parts) };
});
