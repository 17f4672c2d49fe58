/**
 * The addon functions of the causal convolution and gated RMSNorm ops (`csrc/conv_norm_bindings.cpp`).
 * Pointers are device pointers (0 for an absent optional input); the first argument of every
 * kernel call is the stream. The addon never allocates: outputs and scratch come from the caller.
 */
export interface ConvNormCudaAddon {
  /**
   * Depthwise causal convolution (`csrc/causal_conv1d.cu`): y `[batch, seqlen, dim]` and
   * finalState `[batch, dconv − 1, dim]` from x `[batch, seqlen, dim]`, weight `[dim, dconv]`,
   * bias `[dim]`, initialState `[batch, dconv − 1, dim]` and int32 seqIdx `[batch, seqlen]`.
   */
  causalConv1d(
    stream: number, x: number, weight: number, bias: number, initialState: number, seqIdx: number,
    y: number, finalState: number, batch: number, seqlen: number, dim: number, dconv: number, silu: boolean,
  ): void;
  /** Floats of scratch {@link ConvNormCudaAddon.causalConv1dBackward} needs. */
  causalConv1dBackwardScratch(batch: number, seqlen: number, dim: number, dconv: number, hasBias: boolean, silu: boolean): number;
  /**
   * Backward of the convolution (`csrc/causal_conv1d_backward.cu`): dx `[batch, seqlen, dim]`,
   * dweight `[dim, dconv]`, dbias `[dim]` (when bias), dInitialState `[batch, dconv − 1, dim]`
   * (when initialState) from dy and dFinalState.
   */
  causalConv1dBackward(
    stream: number, x: number, weight: number, bias: number, initialState: number, seqIdx: number,
    dy: number, dFinalState: number, scratch: number, dx: number, dweight: number, dbias: number, dInitialState: number,
    batch: number, seqlen: number, dim: number, dconv: number, silu: boolean,
  ): void;
  /** Group-wise gated RMSNorm (`csrc/gated_rms_norm.cu`): y `[rows, dim]` from x, z `[rows, dim]` and weight `[dim]`. */
  gatedRmsNorm(
    stream: number, x: number, weight: number, z: number, y: number,
    rows: number, dim: number, ngroups: number, eps: number, normBeforeGate: boolean,
  ): void;
  /** Floats of scratch {@link ConvNormCudaAddon.gatedRmsNormBackward} needs. */
  gatedRmsNormBackwardScratch(rows: number, dim: number, ngroups: number): number;
  /**
   * Backward of the gated RMSNorm (`csrc/gated_rms_norm_backward.cu`): dx, dz `[rows, dim]` (dz
   * when z) and dweight `[dim]` from dy `[rows, dim]`.
   */
  gatedRmsNormBackward(
    stream: number, x: number, weight: number, z: number, dy: number, scratch: number,
    dx: number, dweight: number, dz: number, rows: number, dim: number, ngroups: number, eps: number, normBeforeGate: boolean,
  ): void;
}
