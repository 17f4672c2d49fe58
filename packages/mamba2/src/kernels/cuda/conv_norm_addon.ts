/**
 * The addon functions of the causal convolution and gated RMSNorm ops
 * (`csrc/conv_norm_bindings.cpp`) with their named parameters (the contract of `nativeKernel` in
 * @falcon/tensor; the C++ structs list the same fields). Pointers are device pointers (0 for an
 * absent optional input); the kit passes the stream. The addon never allocates: outputs and
 * scratch come from the caller.
 */
import { nativeKernel, nativeQuery } from '@falcon/tensor';

const ptr = 'ptr' as const;
const i32 = 'i32' as const;
const convSizes = { batch: i32, seqlen: i32, dim: i32, dconv: i32 };

/** The addon functions of the causal convolution and gated RMSNorm ops. */
export const convNormFunctions = {
  /**
   * Depthwise causal convolution (`csrc/causal_conv1d.cu`): y `[batch, seqlen, dim]` and
   * finalState `[batch, dconv − 1, dim]` from x `[batch, seqlen, dim]`, weight `[dim, dconv]`,
   * bias `[dim]`, initialState `[batch, dconv − 1, dim]` and int32 seqIdx `[batch, seqlen]`.
   */
  causalConv1d: nativeKernel({ x: ptr, weight: ptr, bias: ptr, initialState: ptr, seqIdx: ptr, y: ptr, finalState: ptr, ...convSizes, silu: 'bool' }),
  /** Floats of scratch `causalConv1dBackward` needs. */
  causalConv1dBackwardScratch: nativeQuery({ ...convSizes, hasBias: 'bool', silu: 'bool' }),
  /**
   * Backward of the convolution (`csrc/causal_conv1d_backward.cu`): dx `[batch, seqlen, dim]`,
   * dweight `[dim, dconv]`, dbias `[dim]` (when bias), dInitialState `[batch, dconv − 1, dim]`
   * (when initialState) from dy and dFinalState.
   */
  causalConv1dBackward: nativeKernel({
    x: ptr,
    weight: ptr,
    bias: ptr,
    initialState: ptr,
    seqIdx: ptr,
    dy: ptr,
    dFinalState: ptr,
    scratch: ptr,
    dx: ptr,
    dweight: ptr,
    dbias: ptr,
    dInitialState: ptr,
    ...convSizes,
    silu: 'bool',
  }),
  /** Group-wise gated RMSNorm (`csrc/gated_rms_norm.cu`): y `[rows, dim]` from x, z `[rows, dim]` and weight `[dim]`. */
  gatedRmsNorm: nativeKernel({ x: ptr, weight: ptr, z: ptr, y: ptr, rows: 'i64', dim: i32, ngroups: i32, eps: 'f32', normBeforeGate: 'bool' }),
  /** Floats of scratch `gatedRmsNormBackward` needs. */
  gatedRmsNormBackwardScratch: nativeQuery({ rows: 'i64', dim: i32, ngroups: i32 }),
  /**
   * Backward of the gated RMSNorm (`csrc/gated_rms_norm_backward.cu`): dx, dz `[rows, dim]` (dz
   * when z) and dweight `[dim]` from dy `[rows, dim]`.
   */
  gatedRmsNormBackward: nativeKernel({
    x: ptr,
    weight: ptr,
    z: ptr,
    dy: ptr,
    scratch: ptr,
    dx: ptr,
    dweight: ptr,
    dz: ptr,
    rows: 'i64',
    dim: i32,
    ngroups: i32,
    eps: 'f32',
    normBeforeGate: 'bool',
  }),
};
