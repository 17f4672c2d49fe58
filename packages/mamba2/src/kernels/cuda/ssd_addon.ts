/**
 * The addon functions of the SSD ops (`csrc/ssd_bindings.cpp`, kernels in
 * `csrc/ssd_sequential_scan*.cu` and `csrc/selective_state_update.cu`) with their named
 * parameters (the contract of `nativeKernel` in @falcon/tensor; the C++ structs list the same
 * fields), and the argument helpers their `cuda` kernels share. The scan kernels of the op
 * `FalconSsdChunkScan` are sequential (position by position), so their names say so and they take
 * no chunk size. Pointers are device pointers (0 for an absent optional input); the kit passes the
 * stream. The addon never allocates: outputs and scratch come from the caller. Sizes are
 * `batch, seqlen, nheads, headdim, ngroups, dstate`; the time step is `softplus, clamp, lo, hi`
 * (`clamp` false for the default limit `[0, ∞]`).
 */
import { nativeKernel, nativeQuery } from '@falcon/tensor';
import type { TimeStepAttrs } from '../../time_step.js';
import { clampsTimeStep } from '../../time_step.js';

const ptr = 'ptr' as const;
const i32 = 'i32' as const;
const sizes = { batch: i32, seqlen: i32, nheads: i32, headdim: i32, ngroups: i32, dstate: i32 };
const timeStep = { softplus: 'bool', clamp: 'bool', lo: 'f32', hi: 'f32' } as const;
const scanInputs = { x: ptr, dt: ptr, A: ptr, B: ptr, C: ptr, D: ptr, z: ptr, dtBias: ptr, initialStates: ptr, seqIdx: ptr };

/** The addon functions of the SSD ops. */
export const ssdFunctions = {
  /** Floats of scratch `ssdSequentialScan` needs (0: none). */
  ssdSequentialScanScratch: nativeQuery(sizes),
  /**
   * The SSD scan (`csrc/ssd_sequential_scan.cu`): y `[batch, seqlen, nheads, headdim]` and
   * finalStates `[batch, nheads, headdim, dstate]` from x, dt, A, B, C, D, z, dtBias,
   * initialStates and int32 seqIdx (shapes as the op `FalconSsdChunkScan`).
   */
  ssdSequentialScan: nativeKernel({ ...scanInputs, y: ptr, finalStates: ptr, scratch: ptr, ...sizes, ...timeStep }),
  /** Floats of scratch `ssdSequentialScanBackward` needs. */
  ssdSequentialScanBackwardScratch: nativeQuery(sizes),
  /**
   * Backward of the scan (`csrc/ssd_sequential_scan_backward.cu`): the gradient of every input
   * from dy `[batch, seqlen, nheads, headdim]` and dFinalStates `[batch, nheads, headdim, dstate]`;
   * dD, dz, ddtBias and dInitialStates are 0 (not written) when their input is absent.
   */
  ssdSequentialScanBackward: nativeKernel({
    ...scanInputs,
    dy: ptr,
    dFinalStates: ptr,
    scratch: ptr,
    dx: ptr,
    ddt: ptr,
    dA: ptr,
    dB: ptr,
    dC: ptr,
    dD: ptr,
    dz: ptr,
    ddtBias: ptr,
    dInitialStates: ptr,
    ...sizes,
    ...timeStep,
  }),
  /**
   * One decode step (`csrc/selective_state_update.cu`): y `[batch, nheads, headdim]` and newState
   * `[batch, nheads, headdim, dstate]` from state, x `[batch, nheads, headdim]`, dt `[batch, nheads]`,
   * A, B, C `[batch, ngroups, dstate]`, D, z, dtBias.
   */
  selectiveStateUpdate: nativeKernel({
    state: ptr,
    x: ptr,
    dt: ptr,
    A: ptr,
    B: ptr,
    C: ptr,
    D: ptr,
    z: ptr,
    dtBias: ptr,
    y: ptr,
    newState: ptr,
    batch: i32,
    nheads: i32,
    headdim: i32,
    ngroups: i32,
    dstate: i32,
    ...timeStep,
  }),
};

/** The sizes of a scan, as its addon functions name them. @internal */
export interface SsdScanSizes {
  batch: number;
  seqlen: number;
  nheads: number;
  headdim: number;
  ngroups: number;
  dstate: number;
}

/**
 * The sizes of a scan from the shapes of x `[batch, seqlen, nheads, headdim]` and B
 * `[batch, seqlen, ngroups, dstate]`.
 * @internal
 */
export function ssdSizes(x: number[], B: number[]): SsdScanSizes {
  return { batch: x[0], seqlen: x[1], nheads: x[2], headdim: x[3], ngroups: B[2], dstate: B[3] };
}

/** The time-step parameters `softplus, clamp, lo, hi` of the addon calls. @internal */
export function timeStepParams(a: TimeStepAttrs): { softplus: boolean; clamp: boolean; lo: number; hi: number } {
  return { softplus: a.dtSoftplus, clamp: clampsTimeStep(a), lo: a.dtLimitMin, hi: a.dtLimitMax };
}
