// Shared device helpers of the depthwise causal convolution kernels (causal_conv1d.cu,
// causal_conv1d_backward.cu) and the launchers the bindings call.
//
// Layout: x, y, dy, dx `[batch, seqlen, dim]` (dim contiguous), weight `[dim, dconv]`, bias `[dim]`,
// initial / final state `[batch, dconv − 1, dim]`, seqIdx int32 `[batch, seqlen]`.
// With k = dconv, the extended sequence xe = [initialState (or zeros); x] is indexed by s ∈ [−(k−1), seqlen):
// xe(s) = x[s] for s ≥ 0, initialState[k − 1 + s] for s < 0. Output t reads tap j at s = t − (k−1−j).
// A position u ≥ 1 is a sequence boundary when seqIdx[u] ≠ seqIdx[u − 1]; a tap s → t is used only
// when no boundary lies in (s, t] (so the initial state feeds only position 0's sequence).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace falcon {
namespace mamba2 {
namespace conv {

#ifdef __CUDACC__  // device code: the .cu files only (the bindings see the launchers)
/** Channels per block (threadIdx.x: one warp reads 32 consecutive floats of a row). */
constexpr int kTile = 32;
/** Position lanes per block (threadIdx.y). */
constexpr int kLanes = 8;

/** One convolution problem (device pointers; bias, init and seq may be null). */
struct Problem {
  const float* x;
  const float* w;
  const float* bias;
  const float* init;
  const int* seq;
  int l;
  int d;
  int k;
};

/** xe(s) of batch b, channel c (zeros before position 0 without an initial state). */
__device__ __forceinline__ float xe(const Problem& p, int64_t b, int s, int c) {
  if (s >= 0) return p.x[(b * p.l + s) * p.d + c];
  return p.init ? p.init[(b * (p.k - 1) + (p.k - 1) + s) * p.d + c] : 0.f;
}

/** Whether a sequence starts at position u of batch b. */
__device__ __forceinline__ bool boundary(const Problem& p, int64_t b, int u) {
  return p.seq != nullptr && u >= 1 && p.seq[b * p.l + u] != p.seq[b * p.l + u - 1];
}

/** The k weights of one channel: in registers when k is a template constant K, else read from memory. */
template <int K>
struct Taps {
  float v[K];
  __device__ __forceinline__ void load(const float* w, int c, int) {
#pragma unroll
    for (int j = 0; j < K; ++j) v[j] = w[(int64_t)c * K + j];
  }
  __device__ __forceinline__ float operator[](int j) const { return v[j]; }
};
template <>
struct Taps<0> {
  const float* v;
  __device__ __forceinline__ void load(const float* w, int c, int k) { v = w + (int64_t)c * k; }
  __device__ __forceinline__ float operator[](int j) const { return v[j]; }
};

/** Pre-activation of output (b, t, c): bias + Σ over the valid taps, nearest first. */
template <int K>
__device__ __forceinline__ float preact(const Problem& p, const Taps<K>& w, int64_t b, int t, int c) {
  const int k = K > 0 ? K : p.k;
  float acc = p.bias ? p.bias[c] : 0.f;
#pragma unroll
  for (int dd = 0; dd < k; ++dd) {  // tap j = k − 1 − dd reads s = t − dd
    if (dd > 0 && boundary(p, b, t - dd + 1)) break;
    acc += w[k - 1 - dd] * xe(p, b, t - dd, c);
  }
  return acc;
}

__device__ __forceinline__ float sigmoid(float a) { return 1.f / (1.f + expf(-a)); }

/**
 * The forward (dy null): y = act(preact), finalState = the last k − 1 rows of xe (fin may be null).
 * With dy: out = da = dy · act'(preact) (the backward's first step; needs silu).
 */
cudaError_t launchForward(cudaStream_t stream, const Problem& p, int batch, bool silu, const float* dy, float* out, float* fin);
#endif  // __CUDACC__

}  // namespace conv

/** FalconCausalConv1d: y `[b, l, d]` and finalState `[b, k − 1, d]` (see the header comment for the layout). */
cudaError_t launchCausalConv1d(cudaStream_t stream, const float* x, const float* w, const float* bias, const float* init, const int* seq,
                               float* y, float* fin, int batch, int l, int d, int k, bool silu);

/** Floats of scratch the backward needs (the dweight / dbias partials, plus da `[b, l, d]` with silu). */
int64_t causalConv1dBackwardScratch(int batch, int l, int d, int k, bool hasBias, bool silu);

/**
 * FalconCausalConv1dBackward: dx `[b, l, d]`, dweight `[d, k]`, dbias `[d]` (when bias), dInit
 * `[b, k − 1, d]` (when init), from dy and dFin `[b, k − 1, d]` (null: zeros).
 */
cudaError_t launchCausalConv1dBackward(cudaStream_t stream, const float* x, const float* w, const float* bias, const float* init, const int* seq,
                                       const float* dy, const float* dFin, float* scratch, float* dx, float* dw, float* dbias, float* dInit,
                                       int batch, int l, int d, int k, bool silu);

}  // namespace mamba2
}  // namespace falcon
