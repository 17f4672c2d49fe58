/**
 * The signature of the op `FalconSsdChunkScan` (`ssd_chunk_scan.ts`): its kernel name, inputs,
 * outputs and attributes, imported by the op and by its kernels.
 */
import type { TimeStepAttrs } from './time_step.js';

/** Kernel name, inputs and outputs of `FalconSsdChunkScan`, in order. @internal */
export const ssdChunkScanSignature = {
  name: 'FalconSsdChunkScan',
  /** x `[batch, seqlen, nheads, headdim]`, dt `[batch, seqlen, nheads]`, A `[nheads]`, B and C `[batch, seqlen, ngroups, dstate]` */
  inputs: ['x', 'dt', 'A', 'B', 'C'],
  /** D `[nheads]`, z (shape of x), dtBias `[nheads]`, initialStates `[batch, nheads, headdim, dstate]`, seqIdx int32 `[batch, seqlen]` */
  optionalInputs: ['D', 'z', 'dtBias', 'initialStates', 'seqIdx'],
  /** y (shape of x), finalStates `[batch, nheads, headdim, dstate]` */
  outputs: ['y', 'finalStates'],
} as const;

/** Required inputs of the op. @internal */
export type SsdChunkScanInputName = (typeof ssdChunkScanSignature.inputs)[number];
/** Optional inputs of the op. @internal */
export type SsdChunkScanOptionalName = (typeof ssdChunkScanSignature.optionalInputs)[number];
/** Outputs of the op. @internal */
export type SsdChunkScanOutputName = (typeof ssdChunkScanSignature.outputs)[number];

/** Attributes of the SSD ops. @internal */
export interface SsdAttrs extends TimeStepAttrs {
  /** Chunk length Q of the chunked form. */
  chunkSize: number;
}
