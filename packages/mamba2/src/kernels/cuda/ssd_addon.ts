/**
 * The addon functions of the SSD ops (`csrc/ssd_bindings.cpp`, kernels in `csrc/ssd_*.cu` and
 * `csrc/selective_state_update.cu`), and the argument helpers their `cuda` kernels share.
 * Pointers are device pointers (0 for an absent optional input); the first argument of every
 * kernel call is the stream. The addon never allocates: outputs and scratch come from the caller.
 * Sizes are `batch, seqlen, nheads, headdim, ngroups, dstate`; the time step is
 * `softplus, clamp, lo, hi` (`clamp` false for the default limit `[0, ∞]`).
 */
import type { TimeStepAttrs } from '../../time_step.js';
import { clampsTimeStep } from '../../time_step.js';

/** The addon functions of the SSD ops. */
export interface SsdCudaAddon {
  /** Floats of scratch {@link SsdCudaAddon.ssdChunkScan} needs (0: none). */
  ssdChunkScanScratch(batch: number, seqlen: number, nheads: number, headdim: number, ngroups: number, dstate: number): number;
  /**
   * The SSD scan (`csrc/ssd_chunk_scan.cu`): y `[batch, seqlen, nheads, headdim]` and finalStates
   * `[batch, nheads, headdim, dstate]` from x, dt, A, B, C, D, z, dtBias, initialStates and int32
   * seqIdx (shapes as the op `FalconSsdChunkScan`).
   */
  ssdChunkScan(
    stream: number, x: number, dt: number, A: number, B: number, C: number, D: number, z: number, dtBias: number,
    initialStates: number, seqIdx: number, y: number, finalStates: number, scratch: number,
    batch: number, seqlen: number, nheads: number, headdim: number, ngroups: number, dstate: number,
    softplus: boolean, clamp: boolean, lo: number, hi: number,
  ): void;
  /** Floats of scratch {@link SsdCudaAddon.ssdChunkScanBackward} needs. */
  ssdChunkScanBackwardScratch(batch: number, seqlen: number, nheads: number, headdim: number, ngroups: number, dstate: number): number;
  /**
   * Backward of the scan (`csrc/ssd_chunk_scan_backward.cu`): the gradient of every input from dy
   * `[batch, seqlen, nheads, headdim]` and dFinalStates `[batch, nheads, headdim, dstate]`; dD, dz,
   * ddtBias and dInitialStates are 0 (not written) when their input is absent.
   */
  ssdChunkScanBackward(
    stream: number, x: number, dt: number, A: number, B: number, C: number, D: number, z: number, dtBias: number,
    initialStates: number, seqIdx: number, dy: number, dFinalStates: number, scratch: number,
    dx: number, ddt: number, dA: number, dB: number, dC: number, dD: number, dz: number, ddtBias: number, dInitialStates: number,
    batch: number, seqlen: number, nheads: number, headdim: number, ngroups: number, dstate: number,
    softplus: boolean, clamp: boolean, lo: number, hi: number,
  ): void;
  /**
   * One decode step (`csrc/selective_state_update.cu`): y `[batch, nheads, headdim]` and newState
   * `[batch, nheads, headdim, dstate]` from state, x `[batch, nheads, headdim]`, dt `[batch, nheads]`,
   * A, B, C `[batch, ngroups, dstate]`, D, z, dtBias.
   */
  selectiveStateUpdate(
    stream: number, state: number, x: number, dt: number, A: number, B: number, C: number, D: number, z: number, dtBias: number,
    y: number, newState: number, batch: number, nheads: number, headdim: number, ngroups: number, dstate: number,
    softplus: boolean, clamp: boolean, lo: number, hi: number,
  ): void;
}

/**
 * `batch, seqlen, nheads, headdim, ngroups, dstate` of a scan from the shapes of x
 * `[batch, seqlen, nheads, headdim]` and B `[batch, seqlen, ngroups, dstate]`.
 * @internal
 */
export function ssdSizes(x: number[], B: number[]): [number, number, number, number, number, number] {
  return [x[0], x[1], x[2], x[3], B[2], B[3]];
}

/** The time-step arguments `softplus, clamp, lo, hi` of the addon calls. @internal */
export function timeStepArgs(a: TimeStepAttrs): [boolean, boolean, number, number] {
  return [a.dtSoftplus, clampsTimeStep(a), a.dtLimitMin, a.dtLimitMax];
}
