// FalconCausalConv1d: the depthwise causal convolution of the Mamba-2 mixer,
//   y[b, t, c] = act(bias[c] + Σ_j weight[c, j] · xe[b, t − (k−1−j), c]),  act = SiLU or identity,
// over the taps that cross no sequence boundary (layout and boundaries: causal_conv1d.cuh), and
// finalState[b, r, c] = xe[b, seqlen − (k−1) + r, c] (the last k − 1 rows of [initialState; x]).
//
// Memory-bound: a thread owns one channel and kPos consecutive positions, with the channel's k
// weights in registers (k = 2, 3, 4 compiled; other widths read them from memory). A block is 32
// channels × 8 position lanes, so every load and store of a warp is 32 consecutive floats of a row;
// the k − 1 re-reads of each input by later positions hit L1. The same kernel, given dy, writes
// the backward's da = dy · silu'(pre-activation) instead of y.
#include "causal_conv1d.cuh"

namespace falcon {
namespace mamba2 {
namespace conv {
namespace {

/** Consecutive positions per thread. */
constexpr int kPos = 8;

template <int K, bool GRAD>
__global__ void __launch_bounds__(kTile* kLanes) forwardKernel(Problem p, int posBlocks, bool silu, const float* __restrict__ dy,
                                                                float* __restrict__ out, float* __restrict__ fin) {
  const int c = blockIdx.y * kTile + threadIdx.x;
  if (c >= p.d) return;
  const int64_t b = blockIdx.x / posBlocks;
  const int pb = blockIdx.x % posBlocks;
  Taps<K> w;
  w.load(p.w, c, p.k);
  const int t0 = (pb * kLanes + threadIdx.y) * kPos;
#pragma unroll 2
  for (int i = 0; i < kPos; ++i) {
    const int t = t0 + i;
    if (t >= p.l) break;
    const float a = preact<K>(p, w, b, t, c);
    const int64_t o = (b * p.l + t) * p.d + c;
    if (GRAD) {
      const float sg = sigmoid(a);
      out[o] = dy[o] * sg * (1.f + a * (1.f - sg));
    } else {
      out[o] = silu ? a * sigmoid(a) : a;
    }
  }
  if (!GRAD && fin != nullptr && pb == posBlocks - 1) {
    const int km1 = p.k - 1;
    for (int r = threadIdx.y; r < km1; r += kLanes) fin[(b * km1 + r) * p.d + c] = xe(p, b, p.l - km1 + r, c);
  }
}

template <bool GRAD>
cudaError_t launch(cudaStream_t stream, const Problem& p, int batch, bool silu, const float* dy, float* out, float* fin) {
  if (batch <= 0 || p.l <= 0 || p.d <= 0) return cudaSuccess;
  const int posBlocks = (p.l + kLanes * kPos - 1) / (kLanes * kPos);
  const dim3 grid((unsigned)((int64_t)batch * posBlocks), (unsigned)((p.d + kTile - 1) / kTile));
  const dim3 block(kTile, kLanes);
  switch (p.k) {
    case 2: forwardKernel<2, GRAD><<<grid, block, 0, stream>>>(p, posBlocks, silu, dy, out, fin); break;
    case 3: forwardKernel<3, GRAD><<<grid, block, 0, stream>>>(p, posBlocks, silu, dy, out, fin); break;
    case 4: forwardKernel<4, GRAD><<<grid, block, 0, stream>>>(p, posBlocks, silu, dy, out, fin); break;
    default: forwardKernel<0, GRAD><<<grid, block, 0, stream>>>(p, posBlocks, silu, dy, out, fin); break;
  }
  return cudaGetLastError();
}

}  // namespace

cudaError_t launchForward(cudaStream_t stream, const Problem& p, int batch, bool silu, const float* dy, float* out, float* fin) {
  return dy != nullptr ? launch<true>(stream, p, batch, true, dy, out, nullptr) : launch<false>(stream, p, batch, silu, nullptr, out, fin);
}

}  // namespace conv

cudaError_t launchCausalConv1d(cudaStream_t stream, const float* x, const float* w, const float* bias, const float* init, const int* seq,
                               float* y, float* fin, int batch, int l, int d, int k, bool silu) {
  const conv::Problem p{x, w, bias, init, seq, l, d, k};
  return conv::launchForward(stream, p, batch, silu, nullptr, y, fin);
}

}  // namespace mamba2
}  // namespace falcon
