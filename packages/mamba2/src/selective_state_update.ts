/**
 * `selectiveStateUpdate`: one decode step of the SSD recurrence on a cached state, declared as the
 * op `FalconSelectiveStateUpdate` (CUDA kernel: `csrc/selective_state_update.cu`). Its gradient is
 * `FalconSsdChunkScanBackward` over a sequence of length 1 starting from the given state.
 */
import { defineOp, tf } from '@falcon/tensor';
import type { Tensor, Tensor3D, Tensor4D } from '@falcon/tensor';
import { selectiveStateUpdateCpu } from './kernels/cpu/selective_state_update.js';
import { selectiveStateUpdateCuda } from './kernels/cuda/selective_state_update.js';
import { selectiveStateUpdateWebgpu } from './kernels/webgpu/selective_state_update.js';
import { validateSsd } from './ssd_chunk_scan.js';
import { ssdChunkScanBackwardOp } from './ssd_chunk_scan_backward.js';
import { selectiveStateUpdateSignature } from './selective_state_update_signature.js';
import type {
  SelectiveStateUpdateAttrs,
  SelectiveStateUpdateInputName,
  SelectiveStateUpdateOptionalName,
  SelectiveStateUpdateOutputName,
} from './selective_state_update_signature.js';
import type { TimeStepOptions } from './time_step.js';
import { timeStepAttrs } from './time_step.js';

/** Options of {@link selectiveStateUpdate}. */
export interface SelectiveStateUpdateOptions extends TimeStepOptions {
  /** Skip connection `D` `[nheads]`. */
  D?: Tensor;
  /** Gate `[batch, nheads, headdim]`: `y *= silu(z)`. */
  z?: Tensor;
  /** Added to dt before the softplus, `[nheads]`. */
  dtBias?: Tensor;
}

/** Result of {@link selectiveStateUpdate}. */
export interface SelectiveStateUpdateResult {
  /** Output of the step `[batch, nheads, headdim]`. */
  y: Tensor3D;
  /** The updated state `[batch, nheads, headdim, dstate]` (the input state is left as it was). */
  state: Tensor4D;
}

const OP = 'selectiveStateUpdate';

/** The op `FalconSelectiveStateUpdate`. @internal */
export const selectiveStateUpdateOp = defineOp<SelectiveStateUpdateInputName, SelectiveStateUpdateOptionalName, SelectiveStateUpdateAttrs, SelectiveStateUpdateOutputName>({
  ...selectiveStateUpdateSignature,
  validate: ({ state, ...rest }) => validateSsd(OP, { ...rest, initialStates: state }, true),
  kernels: { cpu: selectiveStateUpdateCpu, webgpu: selectiveStateUpdateWebgpu, cuda: selectiveStateUpdateCuda },
  grad: ({ dy, inputs, attrs }) => {
    const { state, x, dt, A, B, C, D, z, dtBias } = inputs;
    const seq = (t: Tensor) => tf.expandDims(t, 1);
    const r = ssdChunkScanBackwardOp(
      { x: seq(x), dt: seq(dt), A, B: seq(B), C: seq(C), D, z: z && seq(z), dtBias, initialStates: state, dy: seq(dy.y), dFinalStates: dy.newState },
      { ...attrs, chunkSize: 1 },
    );
    return {
      state: r.dInitialStates,
      x: tf.squeeze(r.dx, [1]),
      dt: tf.squeeze(r.ddt, [1]),
      A: r.dA,
      B: tf.squeeze(r.dB, [1]),
      C: tf.squeeze(r.dC, [1]),
      ...(D ? { D: r.dD } : {}),
      ...(z ? { z: tf.squeeze(r.dz, [1]) } : {}),
      ...(dtBias ? { dtBias: r.ddtBias } : {}),
    };
  },
});

/**
 * One decode step: `Δ = clamp(softplus(dt + dtBias), dtLimit)`, `S ← exp(Δ·A)·S + Δ·x⊗B`,
 * `y = (S·C + D·x)·silu(z)`. Equal to {@link ssdChunkScan} over one position with the state as its
 * initial state. Differentiable with respect to every input.
 *
 * @param state - `[batch, nheads, headdim, dstate]`
 * @param x - `[batch, nheads, headdim]`
 * @param dt - `[batch, nheads]`
 * @param A - `[nheads]`
 * @param B - `[batch, ngroups, dstate]`
 * @param C - `[batch, ngroups, dstate]`
 * @param options - D, z, dtBias, dtSoftplus, dtLimit
 * @returns y `[batch, nheads, headdim]` and the new state `[batch, nheads, headdim, dstate]`
 * @throws Error naming the argument when shapes, dtypes or options are wrong (before any kernel runs)
 */
export function selectiveStateUpdate(
  state: Tensor,
  x: Tensor,
  dt: Tensor,
  A: Tensor,
  B: Tensor,
  C: Tensor,
  options: SelectiveStateUpdateOptions = {},
): SelectiveStateUpdateResult {
  const attrs = timeStepAttrs(OP, options);
  const r = selectiveStateUpdateOp({ state, x, dt, A, B, C, D: options.D, z: options.z, dtBias: options.dtBias }, attrs);
  return { y: r.y as Tensor3D, state: r.newState as Tensor4D };
}
