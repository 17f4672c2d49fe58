// Split-KV attention forward for few queries (decoding: decodeAttention, and flashAttention with
// ≤ kSplitMaxQueries queries per batch row). Same math as flash_attention.cu; the keys are read in
// place from the first LK rows of a [B, kvRows, HK, D] cache.
//
// Query rows are indexed like lse, row = (b·H + h)·L + i. The key axis is cut into nSplits chunks
// (enough blocks to fill the GPU twice over). Pass 1, one block of 4 warps per (row, chunk): each
// warp takes every 4th key of the chunk; the lanes hold q·scale and the partial output split over
// the head dim (lane + 32c), the score is a warp all-reduce, and the warp keeps a running max m,
// sum l and output o (online softmax); the 4 warps are merged in shared memory and the block writes
// (m, l, o) of its chunk to scratch [rows, nSplits] (+ [rows, nSplits, D]). Pass 2, one warp per
// row: M = max m_s, l = Σ l_s·e^{m_s−M}, out = Σ o_s·e^{m_s−M} / l, lse = M + log l (−∞ and
// out = 0 when no key is visible). Scratch: rows · nSplits · (D + 2) floats, linear in LK.
#include "attention.cuh"

namespace falcon {
namespace attention {
namespace {

constexpr int kSplitWarps = 4;

struct SplitPlan {
  int nSplits, chunk;
};

SplitPlan splitPlan(const Problem& p) {
  const int64_t rows = (int64_t)p.B * p.H * p.L;
  const int64_t target = 2 * (int64_t)falcon::ext::smCount();
  int64_t n = (target + rows - 1) / rows;
  n = std::min<int64_t>(n, (p.LK + 31) / 32);
  n = std::max<int64_t>(n, 1);
  const int chunk = (int)((p.LK + n - 1) / n);
  return {(p.LK + chunk - 1) / chunk, chunk};
}

__device__ __forceinline__ float warpSum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warpMax(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

template <int NDC>
__global__ void __launch_bounds__(kSplitWarps * 32) splitKvKernel(Problem p, const float* __restrict__ q, const float* __restrict__ k,
                                                                  const float* __restrict__ v, float* __restrict__ partO,
                                                                  float* __restrict__ partM, float* __restrict__ partL, int chunk) {
  __shared__ float sM[kSplitWarps], sL[kSplitWarps];
  __shared__ float sO[kSplitWarps][NDC * 32];
  const int64_t row = blockIdx.x;
  const int split = blockIdx.y, nSplits = gridDim.y;
  const int i = (int)(row % p.L), bh = (int)(row / p.L), b = bh / p.H, h = bh % p.H, kh = h / (p.H / p.HK);
  const int D = p.D, lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  int lo, hi;
  rowRange(p, i, lo, hi);
  lo = max(lo, split * chunk);
  hi = min(hi, split * chunk + chunk - 1);

  const float* qr = q + (((int64_t)b * p.L + i) * p.H + h) * D;
  float qv[NDC], o[NDC];
#pragma unroll
  for (int c = 0; c < NDC; ++c) {
    const int d = lane + 32 * c;
    qv[c] = d < D ? qr[d] * p.scale : 0.f;
    o[c] = 0.f;
  }
  const float slope = p.slopes ? p.slopes[h] : 0.f;
  const int pos = i + p.LK - p.L;
  const int64_t kStride = (int64_t)p.HK * D;
  const float* kb = k + ((int64_t)b * p.kvRows * p.HK + kh) * D;
  const float* vb = v + ((int64_t)b * p.kvRows * p.HK + kh) * D;
  float m = -INFINITY, l = 0.f;
  for (int j = lo + warp; j <= hi; j += kSplitWarps) {
    if (!keyKept(p, b, j)) continue;
    const float* kr = kb + j * kStride;
    float dot = 0.f;
#pragma unroll
    for (int c = 0; c < NDC; ++c) {
      const int d = lane + 32 * c;
      if (d < D) dot = fmaf(qv[c], kr[d], dot);
    }
    const float x = warpSum(dot) - slope * fabsf((float)(pos - j));
    const float mNew = fmaxf(m, x);
    const float alpha = expf(m - mNew), e = expf(x - mNew);
    l = l * alpha + e;
    m = mNew;
    const float* vr = vb + j * kStride;
#pragma unroll
    for (int c = 0; c < NDC; ++c) {
      const int d = lane + 32 * c;
      if (d < D) o[c] = fmaf(e, vr[d], o[c] * alpha);
    }
  }
  if (lane == 0) sM[warp] = m, sL[warp] = l;
#pragma unroll
  for (int c = 0; c < NDC; ++c) sO[warp][lane + 32 * c] = o[c];
  __syncthreads();
  float M = -INFINITY, wt[kSplitWarps];
#pragma unroll
  for (int w = 0; w < kSplitWarps; ++w) M = fmaxf(M, sM[w]);
#pragma unroll
  for (int w = 0; w < kSplitWarps; ++w) wt[w] = sM[w] == -INFINITY ? 0.f : expf(sM[w] - M);
  const int64_t slot = row * nSplits + split;
  for (int d = threadIdx.x; d < D; d += kSplitWarps * 32) {
    float t = 0.f;
#pragma unroll
    for (int w = 0; w < kSplitWarps; ++w) t = fmaf(sO[w][d], wt[w], t);
    partO[slot * D + d] = t;
  }
  if (threadIdx.x == 0) {
    float t = 0.f;
#pragma unroll
    for (int w = 0; w < kSplitWarps; ++w) t = fmaf(sL[w], wt[w], t);
    partM[slot] = M;
    partL[slot] = t;
  }
}

__global__ void splitCombineKernel(Problem p, const float* __restrict__ partO, const float* __restrict__ partM,
                                   const float* __restrict__ partL, int nSplits, float* __restrict__ out, float* __restrict__ lse) {
  const int64_t rows = (int64_t)p.B * p.H * p.L;
  const int lane = threadIdx.x & 31, D = p.D;
  const int64_t warps = (int64_t)gridDim.x * (blockDim.x >> 5);
  for (int64_t row = (int64_t)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); row < rows; row += warps) {
    const float* pm = partM + row * nSplits;
    const float* pl = partL + row * nSplits;
    float M = -INFINITY;
    for (int s = lane; s < nSplits; s += 32) M = fmaxf(M, pm[s]);
    M = warpMax(M);
    float L = 0.f;
    for (int s = lane; s < nSplits; s += 32)
      if (pm[s] != -INFINITY) L += pl[s] * expf(pm[s] - M);
    L = warpSum(L);
    const int i = (int)(row % p.L), bh = (int)(row / p.L), b = bh / p.H, h = bh % p.H;
    float* o = out + (((int64_t)b * p.L + i) * p.H + h) * D;
    const float inv = L > 0.f ? 1.f / L : 0.f;
    for (int d = lane; d < D; d += 32) {
      float t = 0.f;
      for (int s = 0; s < nSplits; ++s)
        if (pm[s] != -INFINITY) t = fmaf(partO[(row * nSplits + s) * D + d], expf(pm[s] - M), t);
      o[d] = t * inv;
    }
    if (lane == 0) lse[row] = L > 0.f ? M + logf(L) : -INFINITY;
  }
}

}  // namespace

bool useSplitForward(const Problem& p) { return p.L <= kSplitMaxQueries; }

int64_t splitScratchFloats(const Problem& p) {
  const SplitPlan plan = splitPlan(p);
  return (int64_t)p.B * p.H * p.L * plan.nSplits * (p.D + 2);
}

void splitForward(cudaStream_t s, const Problem& p, const float* q, const float* k, const float* v, float* out, float* lse,
                  float* scratch) {
  const SplitPlan plan = splitPlan(p);
  const int64_t rows = (int64_t)p.B * p.H * p.L, slots = rows * plan.nSplits;
  float* partO = scratch;
  float* partM = partO + slots * p.D;
  float* partL = partM + slots;
  const dim3 grid((unsigned)rows, plan.nSplits);
  dispatchHeadDim(p.D, [&](auto dm) {
    constexpr int NDC = decltype(dm)::value / 32;
    splitKvKernel<NDC><<<grid, kSplitWarps * 32, 0, s>>>(p, q, k, v, partO, partM, partL, plan.chunk);
  });
  falcon::ext::checkLaunch("splitKvKernel");
  splitCombineKernel<<<falcon::ext::gridFor(rows * 32, 256), 256, 0, s>>>(p, partO, partM, partL, plan.nSplits, out, lse);
  falcon::ext::checkLaunch("splitCombineKernel");
}

}  // namespace attention
}  // namespace falcon
