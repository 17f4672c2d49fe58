/**
 * `causalConv1d`: the depthwise causal convolution of the Mamba-2 mixer over the sequence
 * (kernel size `d_conv`), with optional bias and SiLU, declared as the op `FalconCausalConv1d`.
 * It takes the state left by an earlier piece of the sequence and returns the one it leaves, so a
 * long sequence can be processed in pieces (and one token at a time when decoding). Kernels: cpu,
 * webgpu and cuda (`csrc/causal_conv1d.cu`).
 */
import { defineOp } from '@falcon/tensor';
import type { Tensor, Tensor3D } from '@falcon/tensor';
import { causalConv1dBackwardOp } from './causal_conv1d_backward.js';
import { causalConv1dCpu } from './kernels/cpu/causal_conv1d.js';
import { causalConv1dCuda } from './kernels/cuda/causal_conv1d.js';
import { causalConv1dWebgpu } from './kernels/webgpu/causal_conv1d.js';
import { causalConv1dSignature } from './causal_conv1d_signature.js';
import type { CausalConv1dAttrs, CausalConv1dInputName, CausalConv1dOptionalName, CausalConv1dOutputName } from './causal_conv1d_signature.js';
import { check } from './validate.js';

/** Options of {@link causalConv1d}. */
export interface CausalConv1dOptions {
  /** Bias `[dim]`, added before the activation. */
  bias?: Tensor;
  /** Apply SiLU to the output (default false). */
  silu?: boolean;
  /** The last `dconv − 1` inputs before this piece, `[batch, dconv − 1, dim]` (default zeros). */
  initialState?: Tensor;
  /** Return the last `dconv − 1` inputs (of the initial state followed by x) as finalState (default false). */
  returnFinalState?: boolean;
  /** Packed sequences: int32 `[batch, seqlen]` sequence ids; no tap crosses a change of id (the initial state belongs to position 0's sequence). */
  seqIdx?: Tensor;
}

/** Result of {@link causalConv1d}. */
export interface CausalConv1dResult {
  /** Output `[batch, seqlen, dim]`. */
  y: Tensor3D;
  /** The conv state after this piece, `[batch, dconv − 1, dim]` (when asked for). */
  finalState?: Tensor3D;
}

const OP = 'causalConv1d';

/** The op `FalconCausalConv1d`. @internal */
export const causalConv1dOp = defineOp<CausalConv1dInputName, CausalConv1dOptionalName, CausalConv1dAttrs, CausalConv1dOutputName>({
  ...causalConv1dSignature,
  validate: ({ x, weight, bias, initialState, seqIdx }) => {
    const c = check(OP);
    const [b, l, d] = c.arg('x').tensor(x, { dims: ['batch', 'seqlen', 'dim'], nonEmpty: true });
    const k = c.arg('weight').tensor(weight, { dims: ['dim', 'dconv'], shape: [d] })[1];
    c.require(k >= 2, () => `dconv (weight.shape[1]) must be at least 2, got ${k}`);
    c.arg('bias').tensor(bias, { dims: ['dim'], shape: [d], optional: true });
    c.arg('initialState').tensor(initialState, { dims: ['batch', 'dconv - 1', 'dim'], shape: [b, k - 1, d], optional: true });
    c.arg('seqIdx').tensor(seqIdx, { dims: ['batch', 'seqlen'], shape: [b, l], dtype: 'int32', optional: true });
  },
  kernels: { cpu: causalConv1dCpu, webgpu: causalConv1dWebgpu, cuda: causalConv1dCuda },
  grad: ({ dy, inputs, attrs }) => {
    const r = causalConv1dBackwardOp({ ...inputs, dy: dy.y, dFinalState: dy.finalState }, attrs);
    return {
      x: r.dx,
      weight: r.dweight,
      ...(inputs.bias ? { bias: r.dbias } : {}),
      ...(inputs.initialState ? { initialState: r.dInitialState } : {}),
    };
  },
});

/**
 * Depthwise causal convolution over the sequence, as PyTorch's `Conv1d(groups=dim,
 * padding=dconv−1)` cut to the first seqlen outputs:
 * `y[b, t, c] = act(bias[c] + Σ_j weight[c, j] · xe[b, t + j, c])`, where `xe` is the initial
 * state (zeros by default) followed by x. Differentiable with respect to x, weight, bias and the
 * initial state.
 *
 * @param x - `[batch, seqlen, dim]`
 * @param weight - `[dim, dconv]` (transformers' `conv1d.weight` `[dim, 1, dconv]` without its middle axis)
 * @param options - bias, silu, initialState, returnFinalState, seqIdx
 * @returns y `[batch, seqlen, dim]` and, when asked, finalState `[batch, dconv − 1, dim]`
 * @throws Error naming the argument when shapes or dtypes are wrong (before any kernel runs)
 */
export function causalConv1d(x: Tensor, weight: Tensor, options: CausalConv1dOptions = {}): CausalConv1dResult {
  const { bias, initialState, seqIdx, silu = false, returnFinalState = false } = options;
  const r = causalConv1dOp({ x, weight, bias, initialState, seqIdx }, { silu });
  if (!returnFinalState) {
    r.finalState.dispose();
    return { y: r.y as Tensor3D };
  }
  return { y: r.y as Tensor3D, finalState: r.finalState as Tensor3D };
}
