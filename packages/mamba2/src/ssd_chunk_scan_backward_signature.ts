/**
 * The signature of the op `FalconSsdChunkScanBackward` (`ssd_chunk_scan_backward.ts`): its kernel
 * name, inputs, outputs and attributes, imported by the op and by its kernels.
 */
import type { SsdAttrs, SsdChunkScanOptionalName } from './ssd_chunk_scan_signature.js';
import { ssdChunkScanSignature } from './ssd_chunk_scan_signature.js';

/** Kernel name, inputs and outputs of `FalconSsdChunkScanBackward`, in order. @internal */
export const ssdChunkScanBackwardSignature = {
  name: 'FalconSsdChunkScanBackward',
  /** the forward's plus dy `[batch, seqlen, nheads, headdim]` and dFinalStates `[batch, nheads, headdim, dstate]` */
  inputs: [...ssdChunkScanSignature.inputs, 'dy', 'dFinalStates'],
  /** the forward's */
  optionalInputs: ssdChunkScanSignature.optionalInputs,
  /** the gradient of every input (empty `[0]` tensors for absent optional inputs) */
  outputs: ['dx', 'ddt', 'dA', 'dB', 'dC', 'dD', 'dz', 'ddtBias', 'dInitialStates'],
} as const;

/** Required inputs of the backward op: the forward's plus the output gradients. @internal */
export type SsdBackwardInputName = (typeof ssdChunkScanBackwardSignature.inputs)[number];
/** Optional inputs of the backward op. @internal */
export type SsdBackwardOptionalName = SsdChunkScanOptionalName;
/** Outputs: the gradient of every input (empty `[0]` tensors for absent optional inputs). @internal */
export type SsdBackwardOutputName = (typeof ssdChunkScanBackwardSignature.outputs)[number];
/** Attributes: the forward's. @internal */
export type SsdBackwardAttrs = SsdAttrs;
