/** The addon functions of the causal convolution and gated RMSNorm ops (csrc/conv_norm_bindings.cpp). Pointers are device pointers; the first argument is the stream. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ConvNormCudaAddon {}
