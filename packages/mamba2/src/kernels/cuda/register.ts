/**
 * Stopgap `cuda` kernels for the ops of `@falcon/mamba2`: each one runs the op's tfjs reference
 * (`src/reference/*.ts`), which uses only tfjs kernels the `cuda` backend of `@falcon/tensor`
 * implements. The backward ops have no standalone reference: their kernels differentiate the
 * forward reference with tfjs autodiff (`tf.grads` of `Σ y·dy (+ Σ finalState·dFinalState)`).
 * The SSD reference is the sequential recurrence (one step per position), so these kernels are
 * correct but slow; real CUDA kernels (`.cu`) replace them next. Nothing is registered at import:
 * call {@link registerCudaKernels} once (the device runner `tools/device/model-cuda.ts` does).
 */
import { compositeKernel, tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { causalConv1dOp } from '../../causal_conv1d.js';
import type { CausalConv1dAttrs } from '../../causal_conv1d.js';
import { causalConv1dBackwardOp } from '../../causal_conv1d_backward.js';
import { gatedRmsNormOp } from '../../gated_rms_norm.js';
import type { GatedRmsNormAttrs } from '../../gated_rms_norm.js';
import { gatedRmsNormBackwardOp } from '../../gated_rms_norm_backward.js';
import { causalConv1dReference } from '../../reference/causal_conv1d.js';
import { gatedRmsNormReference } from '../../reference/gated_rms_norm.js';
import { selectiveStateUpdateReference } from '../../reference/selective_state_update.js';
import { ssdChunkScanReference } from '../../reference/ssd_chunk_scan.js';
import { selectiveStateUpdateOp } from '../../selective_state_update.js';
import { ssdChunkScanOp } from '../../ssd_chunk_scan.js';
import type { SsdAttrs } from '../../ssd_chunk_scan.js';
import { ssdChunkScanBackwardOp } from '../../ssd_chunk_scan_backward.js';
import type { TimeStepAttrs, TimeStepOptions } from '../../time_step.js';

/** The public time-step options of the op attributes. */
function timeStepOptions(a: TimeStepAttrs): TimeStepOptions {
  return { dtSoftplus: a.dtSoftplus, dtLimit: [a.dtLimitMin, a.dtLimitMax] };
}

/** An empty `[0]` tensor, the output of a gradient whose input is absent. */
function empty(): Tensor {
  return tf.zeros([0]);
}

/**
 * Gradients of `f` with respect to `xs` for the output gradients `dys`, computed with tfjs
 * autodiff from inside a kernel. tfjs records no tape while a kernel runs (its kernel depth is
 * above 0), so the depth is set to 0 for the duration of `tf.grads` and restored after; the kernel
 * may run inside an outer `tf.grads` backward pass, whose tape the inner one would replace (and
 * clear), so that is saved and restored too.
 */
function gradsInKernel(xs: Tensor[], f: (...xs: Tensor[]) => Tensor[], dys: (Tensor | undefined)[]): Tensor[] {
  const state = (tf.engine() as unknown as { state: { kernelDepth: number; gradientDepth: number; activeTape: unknown } }).state;
  const depth = state.kernelDepth;
  const gradientDepth = state.gradientDepth;
  const tape = state.activeTape;
  state.kernelDepth = 0;
  state.gradientDepth = 0;
  try {
    const g = tf.grads((...args: Tensor[]) => {
      const ys = f(...args);
      let total: Tensor = tf.scalar(0);
      ys.forEach((y, i) => {
        const dy = dys[i];
        if (dy && dy.size > 0) total = tf.add(total, tf.sum(tf.mul(y, dy)));
      });
      return total;
    });
    return g(xs);
  } finally {
    state.kernelDepth = depth;
    state.gradientDepth = gradientDepth;
    state.activeTape = tape;
  }
}

/** Differentiable inputs of the SSD ops, in a fixed order. */
const SSD_GRAD_INPUTS = ['x', 'dt', 'A', 'B', 'C', 'D', 'z', 'dtBias', 'initialStates'] as const;
/** The backward op's output name of each differentiable SSD input. */
const SSD_GRAD_OUTPUTS = { x: 'dx', dt: 'ddt', A: 'dA', B: 'dB', C: 'dC', D: 'dD', z: 'dz', dtBias: 'ddtBias', initialStates: 'dInitialStates' } as const;

/**
 * Register the stopgap `cuda` kernels of `FalconSsdChunkScan(+Backward)`,
 * `FalconSelectiveStateUpdate`, `FalconCausalConv1d(+Backward)` and
 * `FalconGatedRmsNorm(+Backward)` (the references, see this file's header). Idempotent: a later
 * call replaces the kernels.
 */
export function registerCudaKernels(): void {
  ssdChunkScanOp.addKernel(
    'cuda',
    compositeKernel((t, attrs: SsdAttrs) => {
      const r = ssdChunkScanReference(t.x, t.dt, t.A, t.B, t.C, {
        ...timeStepOptions(attrs),
        D: t.D,
        z: t.z,
        dtBias: t.dtBias,
        initialStates: t.initialStates,
        seqIdx: t.seqIdx,
        returnFinalStates: true,
      });
      return { y: r.y, finalStates: r.finalStates! };
    }),
  );

  ssdChunkScanBackwardOp.addKernel(
    'cuda',
    compositeKernel((t, attrs: SsdAttrs) => {
      const given: Record<string, Tensor | undefined> = {};
      for (const k of SSD_GRAD_INPUTS) given[k] = t[k];
      const names = SSD_GRAD_INPUTS.filter((k) => given[k] !== undefined);
      const seqIdx = t.seqIdx;
      const grads = gradsInKernel(
        names.map((k) => given[k]!),
        (...xs) => {
          const v: Record<string, Tensor | undefined> = { ...given };
          names.forEach((k, i) => (v[k] = xs[i]));
          const r = ssdChunkScanReference(v.x!, v.dt!, v.A!, v.B!, v.C!, {
            ...timeStepOptions(attrs),
            D: v.D,
            z: v.z,
            dtBias: v.dtBias,
            initialStates: v.initialStates,
            seqIdx,
            returnFinalStates: true,
          });
          return [r.y, r.finalStates!];
        },
        [t.dy, t.dFinalStates],
      );
      const out = Object.fromEntries(Object.values(SSD_GRAD_OUTPUTS).map((o) => [o, empty()])) as Record<string, Tensor>;
      names.forEach((k, i) => (out[SSD_GRAD_OUTPUTS[k]] = grads[i]));
      return out as Record<(typeof SSD_GRAD_OUTPUTS)[keyof typeof SSD_GRAD_OUTPUTS], Tensor>;
    }),
  );

  selectiveStateUpdateOp.addKernel(
    'cuda',
    compositeKernel((t, attrs: TimeStepAttrs) => {
      const r = selectiveStateUpdateReference(t.state, t.x, t.dt, t.A, t.B, t.C, {
        ...timeStepOptions(attrs),
        D: t.D,
        z: t.z,
        dtBias: t.dtBias,
      });
      return { y: r.y, newState: r.state };
    }),
  );

  causalConv1dOp.addKernel(
    'cuda',
    compositeKernel((t, attrs: CausalConv1dAttrs) => {
      const r = causalConv1dReference(t.x, t.weight, {
        bias: t.bias,
        initialState: t.initialState,
        seqIdx: t.seqIdx,
        silu: attrs.silu,
        returnFinalState: true,
      });
      return { y: r.y, finalState: r.finalState! };
    }),
  );

  causalConv1dBackwardOp.addKernel(
    'cuda',
    compositeKernel((t, attrs: CausalConv1dAttrs) => {
      const bias = t.bias;
      const initialState = t.initialState;
      const seqIdx = t.seqIdx;
      const xs = [t.x, t.weight, ...(bias ? [bias] : []), ...(initialState ? [initialState] : [])];
      const g = gradsInKernel(
        xs,
        (x, weight, ...rest) => {
          const r = causalConv1dReference(x, weight, {
            bias: bias ? rest[0] : undefined,
            initialState: initialState ? rest[bias ? 1 : 0] : undefined,
            seqIdx,
            silu: attrs.silu,
            returnFinalState: true,
          });
          return [r.y, r.finalState!];
        },
        [t.dy, t.dFinalState],
      );
      return {
        dx: g[0],
        dweight: g[1],
        dbias: bias ? g[2] : empty(),
        dInitialState: initialState ? g[bias ? 3 : 2] : empty(),
      };
    }),
  );

  gatedRmsNormOp.addKernel(
    'cuda',
    compositeKernel((t, attrs: GatedRmsNormAttrs) => ({ y: gatedRmsNormReference(t.x, t.weight, { ...attrs, z: t.z }) })),
  );

  gatedRmsNormBackwardOp.addKernel(
    'cuda',
    compositeKernel((t, attrs: GatedRmsNormAttrs) => {
      const z = t.z;
      const g = gradsInKernel(
        z ? [t.x, t.weight, z] : [t.x, t.weight],
        (x, weight, zz) => [gatedRmsNormReference(x, weight, { ...attrs, z: zz })],
        [t.dy],
      );
      return { dx: g[0], dweight: g[1], dz: z ? g[2] : empty() };
    }),
  );
}
