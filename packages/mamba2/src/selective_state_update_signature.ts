/**
 * The signature of the op `FalconSelectiveStateUpdate` (`selective_state_update.ts`): its kernel
 * name, inputs, outputs and attributes, imported by the op and by its kernels.
 */
import type { TimeStepAttrs } from './time_step.js';

/** Kernel name, inputs and outputs of `FalconSelectiveStateUpdate`, in order. @internal */
export const selectiveStateUpdateSignature = {
  name: 'FalconSelectiveStateUpdate',
  /** state `[batch, nheads, headdim, dstate]`, x `[batch, nheads, headdim]`, dt `[batch, nheads]`, A `[nheads]`, B and C `[batch, ngroups, dstate]` */
  inputs: ['state', 'x', 'dt', 'A', 'B', 'C'],
  /** D `[nheads]`, z (shape of x), dtBias `[nheads]` */
  optionalInputs: ['D', 'z', 'dtBias'],
  /** y (shape of x), newState (shape of state) */
  outputs: ['y', 'newState'],
} as const;

/** Required inputs of the op. @internal */
export type SelectiveStateUpdateInputName = (typeof selectiveStateUpdateSignature.inputs)[number];
/** Optional inputs of the op. @internal */
export type SelectiveStateUpdateOptionalName = (typeof selectiveStateUpdateSignature.optionalInputs)[number];
/** Outputs of the op. @internal */
export type SelectiveStateUpdateOutputName = (typeof selectiveStateUpdateSignature.outputs)[number];
/** Attributes of the op: the time-step attributes. @internal */
export type SelectiveStateUpdateAttrs = TimeStepAttrs;
