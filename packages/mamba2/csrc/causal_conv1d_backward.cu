// FalconCausalConv1dBackward (layout and sequence boundaries: causal_conv1d.cuh). With
// da = dy · silu'(pre-activation) (or dy without SiLU) and valid(s → t) the boundary rule:
//   dxe[s] = Σ_{dd < k, s+dd < l, valid} weight[c, k−1−dd] · da[s + dd] + dFinalState[s + k−1 − l]
//            (the transposed conv; s ∈ [−(k−1), l): s ≥ 0 is dx, s < 0 is dInitialState[k−1+s];
//             the dFinalState term only where 0 ≤ s + k−1 − l),
//   dweight[c, j] = Σ_{b, t, valid} da[b, t, c] · xe[b, t − (k−1−j), c],   dbias[c] = Σ_{b, t} da[b, t, c].
//
// Three steps on the stream: (1) with SiLU, the forward kernel recomputes the pre-activation and
// writes da into scratch; (2) dxKernel, a thread per (channel, kPos consecutive s), weights in
// registers, reads the ≤ k da values of later positions (L1 hits); (3) a block per (32 channels,
// 256 positions of one batch row), 8 lanes × 32 consecutive positions: for dconv 2–4
// dwKernelFixed does every tap and the bias per thread (x in a register window, da and x read
// once), other widths dwKernel a block per tap (blockIdx.z); the lanes are summed in shared memory
// into a per-block partial, and dwReduceKernel sums the partials over blocks in a fixed order:
// deterministic, no atomics. Scratch: partials [batch · ⌈l/256⌉, k + hasBias, d], then da
// [b, l, d] (silu only).
#include "causal_conv1d.cuh"

namespace falcon {
namespace mamba2 {
namespace conv {
namespace {

/** Consecutive extended positions per thread of dxKernel. */
constexpr int kPos = 8;
/** Positions per block of dwKernel (kLanes lanes × kChunk / kLanes consecutive positions). */
constexpr int kChunk = 256;

template <int K>
__global__ void __launch_bounds__(kTile* kLanes) dxKernel(Problem p, const float* __restrict__ da, const float* __restrict__ dFin, int sLo,
                                                           int posBlocks, float* __restrict__ dx, float* __restrict__ dInit) {
  const int c = blockIdx.y * kTile + threadIdx.x;
  if (c >= p.d) return;
  const int64_t b = blockIdx.x / posBlocks;
  const int pb = blockIdx.x % posBlocks;
  const int k = K > 0 ? K : p.k;
  const int km1 = k - 1;
  Taps<K> w;
  w.load(p.w, c, k);
  const int s0 = sLo + (pb * kLanes + threadIdx.y) * kPos;
  for (int i = 0; i < kPos; ++i) {
    const int s = s0 + i;
    if (s >= p.l) break;
    float acc = 0.f;
#pragma unroll
    for (int dd = 0; dd < k; ++dd) {  // output t = s + dd used tap j = k − 1 − dd
      const int t = s + dd;
      if (t >= p.l || (dd > 0 && boundary(p, b, t))) break;
      if (t >= 0) acc += w[km1 - dd] * da[(b * p.l + t) * p.d + c];
    }
    const int r = s + km1 - p.l;
    if (dFin != nullptr && r >= 0) acc += dFin[(b * km1 + r) * p.d + c];
    if (s >= 0) dx[(b * p.l + s) * p.d + c] = acc;
    else dInit[(b * km1 + km1 + s) * p.d + c] = acc;
  }
}

// Block (x: 32 channels, y: 8 lanes); blockIdx.x = (batch, chunk), blockIdx.y = channel tile,
// blockIdx.z = tap j (j = k: the bias). partial[(blockIdx.x · taps + j) · d + c].
__global__ void __launch_bounds__(kTile* kLanes) dwKernel(Problem p, const float* __restrict__ da, int chunks, int taps,
                                                           float* __restrict__ partial) {
  __shared__ float sh[kLanes][kTile + 1];
  const int c = blockIdx.y * kTile + threadIdx.x;
  const int64_t b = blockIdx.x / chunks;
  const int j = blockIdx.z;
  const int dd = p.k - 1 - j;  // lag of tap j (negative for the bias)
  const int t0 = (blockIdx.x % chunks) * kChunk + threadIdx.y * (kChunk / kLanes);
  const int t1 = min(t0 + kChunk / kLanes, p.l);
  float acc = 0.f;
  if (c < p.d) {
    for (int t = t0; t < t1; ++t) {
      const float g = da[(b * p.l + t) * p.d + c];
      if (dd < 0) {
        acc += g;
        continue;
      }
      bool ok = true;
      for (int u = t - dd + 1; u <= t; ++u) ok = ok && !boundary(p, b, u);
      if (ok) acc += g * xe(p, b, t - dd, c);
    }
  }
  sh[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && c < p.d) {
    float sum = 0.f;
#pragma unroll
    for (int y = 0; y < kLanes; ++y) sum += sh[y][threadIdx.x];
    partial[((int64_t)blockIdx.x * taps + j) * p.d + c] = sum;
  }
}

// dwKernel for a width K known at compile time: one thread does every tap and the bias of its
// channel and positions (da and x read once), xe(t − dd) in a register window, the start of the
// current sequence tracked along the positions; grid.z = 1.
template <int K>
__global__ void __launch_bounds__(kTile* kLanes) dwKernelFixed(Problem p, const float* __restrict__ da, int chunks, int taps,
                                                                float* __restrict__ partial) {
  __shared__ float sh[kLanes][kTile + 1];
  const int c = blockIdx.y * kTile + threadIdx.x;
  const int64_t b = blockIdx.x / chunks;
  const int t0 = (blockIdx.x % chunks) * kChunk + threadIdx.y * (kChunk / kLanes);
  const int t1 = min(t0 + kChunk / kLanes, p.l);
  float acc[K + 1];
#pragma unroll
  for (int i = 0; i <= K; ++i) acc[i] = 0.f;
  if (c < p.d && t0 < t1) {
    float xw[K];  // xw[dd] = xe(t − dd) once shifted for position t (the window of t0 − 1 before the loop)
    int start = -0x40000000;  // latest sequence start ≤ t (none: taps reach into the initial state)
#pragma unroll
    for (int dd = 0; dd + 1 < K; ++dd) xw[dd] = xe(p, b, t0 - 1 - dd, c);
#pragma unroll
    for (int dd = 2; dd < K; ++dd)  // starts in (t0 − (K−1), t0): the earlier ones cut no tap of t ≥ t0
      if (boundary(p, b, t0 - dd + 1)) start = max(start, t0 - dd + 1);
    for (int t = t0; t < t1; ++t) {
#pragma unroll
      for (int dd = K - 1; dd > 0; --dd) xw[dd] = xw[dd - 1];
      xw[0] = p.x[(b * p.l + t) * p.d + c];
      if (boundary(p, b, t)) start = t;
      const float g = da[(b * p.l + t) * p.d + c];
      acc[K] += g;
#pragma unroll
      for (int dd = 0; dd < K; ++dd)
        if (t - dd >= start) acc[dd] += g * xw[dd];
    }
  }
#pragma unroll
  for (int i = 0; i < K + 1; ++i) {
    const int j = i < K ? K - 1 - i : K;  // lag dd = i is tap K − 1 − i; i = K is the bias
    if (j >= taps) break;
    __syncthreads();  // sh is still read by the previous tap
    sh[threadIdx.y][threadIdx.x] = acc[i];
    __syncthreads();
    if (threadIdx.y == 0 && c < p.d) {
      float sum = 0.f;
#pragma unroll
      for (int y = 0; y < kLanes; ++y) sum += sh[y][threadIdx.x];
      partial[((int64_t)blockIdx.x * taps + j) * p.d + c] = sum;
    }
  }
}

// Column (j, c) of the partials summed over the `parts` blocks: 32 columns × 8 lanes per block.
__global__ void __launch_bounds__(kTile* kLanes) dwReduceKernel(const float* __restrict__ partial, int parts, int taps, int k, int d,
                                                                 float* __restrict__ dw, float* __restrict__ dbias) {
  __shared__ float sh[kLanes][kTile + 1];
  const int64_t col = (int64_t)blockIdx.x * kTile + threadIdx.x;  // j · d + c
  const int64_t cols = (int64_t)taps * d;
  float acc = 0.f;
  if (col < cols)
    for (int q = threadIdx.y; q < parts; q += kLanes) acc += partial[(int64_t)q * cols + col];
  sh[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && col < cols) {
    float sum = 0.f;
#pragma unroll
    for (int y = 0; y < kLanes; ++y) sum += sh[y][threadIdx.x];
    const int j = (int)(col / d), c = (int)(col % d);
    if (j < k) dw[(int64_t)c * k + j] = sum;
    else dbias[c] = sum;
  }
}

int chunksPerRow(int l) { return (l + kChunk - 1) / kChunk; }

}  // namespace
}  // namespace conv

int64_t causalConv1dBackwardScratch(int batch, int l, int d, int k, bool hasBias, bool silu) {
  const int64_t partials = (int64_t)batch * conv::chunksPerRow(l) * (k + (hasBias ? 1 : 0)) * d;
  return partials + (silu ? (int64_t)batch * l * d : 0);
}

cudaError_t launchCausalConv1dBackward(cudaStream_t stream, const float* x, const float* w, const float* bias, const float* init, const int* seq,
                                       const float* dy, const float* dFin, float* scratch, float* dx, float* dw, float* dbias, float* dInit,
                                       int batch, int l, int d, int k, bool silu) {
  using namespace conv;
  if (batch <= 0 || l <= 0 || d <= 0) return cudaSuccess;
  const Problem p{x, w, bias, init, seq, l, d, k};
  const int taps = k + (bias != nullptr ? 1 : 0);
  const int chunks = chunksPerRow(l);
  float* partial = scratch;
  const float* da = dy;
  if (silu) {
    float* g = scratch + (int64_t)batch * chunks * taps * d;
    cudaError_t e = launchForward(stream, p, batch, true, dy, g, nullptr);
    if (e != cudaSuccess) return e;
    da = g;
  }
  const dim3 block(kTile, kLanes);
  const unsigned tiles = (unsigned)((d + kTile - 1) / kTile);
  // dx and dInit: extended positions from −(k−1) when there is an initial state
  const int sLo = init != nullptr ? -(k - 1) : 0;
  const int posBlocks = (l - sLo + kLanes * kPos - 1) / (kLanes * kPos);
  const dim3 gridDx((unsigned)((int64_t)batch * posBlocks), tiles);
  switch (k) {
    case 2: dxKernel<2><<<gridDx, block, 0, stream>>>(p, da, dFin, sLo, posBlocks, dx, dInit); break;
    case 3: dxKernel<3><<<gridDx, block, 0, stream>>>(p, da, dFin, sLo, posBlocks, dx, dInit); break;
    case 4: dxKernel<4><<<gridDx, block, 0, stream>>>(p, da, dFin, sLo, posBlocks, dx, dInit); break;
    default: dxKernel<0><<<gridDx, block, 0, stream>>>(p, da, dFin, sLo, posBlocks, dx, dInit); break;
  }
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) return e;
  const int parts = batch * chunks;
  switch (k) {
    case 2: dwKernelFixed<2><<<dim3((unsigned)parts, tiles), block, 0, stream>>>(p, da, chunks, taps, partial); break;
    case 3: dwKernelFixed<3><<<dim3((unsigned)parts, tiles), block, 0, stream>>>(p, da, chunks, taps, partial); break;
    case 4: dwKernelFixed<4><<<dim3((unsigned)parts, tiles), block, 0, stream>>>(p, da, chunks, taps, partial); break;
    default: dwKernel<<<dim3((unsigned)parts, tiles, (unsigned)taps), block, 0, stream>>>(p, da, chunks, taps, partial); break;
  }
  if ((e = cudaGetLastError()) != cudaSuccess) return e;
  const unsigned colBlocks = (unsigned)(((int64_t)taps * d + kTile - 1) / kTile);
  dwReduceKernel<<<colBlocks, block, 0, stream>>>(partial, parts, taps, k, d, dw, dbias);
  return cudaGetLastError();
}

}  // namespace mamba2
}  // namespace falcon
