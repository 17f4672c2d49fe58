// weightQuant: BitNet b1.58 absmean ternary quantisation of a whole tensor W (n floats, any shape):
//   m = mean|W| (or the given meanAbs), s = f32(1 / max(m, 1e-5)), d = f32(1 / s),
//   y = d where f32(W·s) > 0.5, −d where < −0.5, else f32(W·s)·0 (round half to even, clipped to
//   [−1, 1], times 1/s; NaN stays NaN), scale[0] = s.
// Three launches on the stream, no host read: (1) `partials` blocks sum |W| in float64 over a
// grid-stride slice each into scratch; (2) one block adds the partials in a fixed order and writes s
// (f32(f32(Σ)/n), as the cpu kernel rounds its float64 sum); with meanAbs given, (1) is skipped and
// (2) reads it; (3) the element-wise pass reads s from device memory.
// Bit-exactness with the cpu kernel: every scalar step is the same IEEE operation (f64 division
// rounded to f32; f32 products with __fmul_rn, no contraction). The only difference is the order of
// the float64 sum of |W| (a tree here, sequential on the cpu): both are within ~1e-13 relative of
// the exact sum, so f32(Σ) is the same float unless Σ lies that close to a float32 rounding midpoint.
#include "bitnet.h"

namespace falcon {
namespace bitnet {
namespace {

constexpr int kBlock = 256;

// Sum over the block (thread 0 gets the result), in a fixed order for a fixed block size.
__device__ double blockSum(double v) {
  __shared__ double shared[kBlock / 32];
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = 0.0;
  if (warp == 0) {
    v = lane < (int)(blockDim.x >> 5) ? shared[lane] : 0.0;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  }
  return v;
}

// partials[b] = Σ|w[i]| over the grid-stride slice of block b.
__global__ void __launch_bounds__(kBlock) absSumKernel(const float* __restrict__ w, int64_t n, double* __restrict__ partials) {
  double s = 0.0;
  const int64_t stride = (int64_t)gridDim.x * blockDim.x;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) s += fabs((double)w[i]);
  s = blockSum(s);
  if (threadIdx.x == 0) partials[blockIdx.x] = s;
}

// scale[0] = f32(1 / max(m, 1e-5)) with m = meanAbs[0] or f32(f32(Σ partials) / n). One block.
__global__ void __launch_bounds__(kBlock) scaleKernel(const double* __restrict__ partials, int count, const float* __restrict__ meanAbs,
                                                      int64_t n, float* __restrict__ scale) {
  float m;
  if (meanAbs) {
    m = meanAbs[0];
  } else {
    double s = 0.0;
    for (int i = threadIdx.x; i < count; i += blockDim.x) s += partials[i];
    s = blockSum(s);
    m = (float)((double)(float)s / (double)n);  // as the cpu: the f64 sum rounded to f32, divided in f64, rounded
  }
  if (threadIdx.x == 0) {
    if (m < kEps) m = kEps;  // NaN passes through, as on the cpu
    scale[0] = (float)(1.0 / (double)m);
  }
}

__global__ void __launch_bounds__(kBlock) quantizeKernel(const float* __restrict__ w, const float* __restrict__ scale, float* __restrict__ y,
                                                         int64_t n) {
  const float s = scale[0];
  const float d = (float)(1.0 / (double)s);
  const int64_t stride = (int64_t)gridDim.x * blockDim.x;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
    const float t = __fmul_rn(w[i], s);
    y[i] = t > 0.5f ? d : t < -0.5f ? -d : __fmul_rn(t, 0.f);
  }
}

unsigned gridFor(int64_t n) {
  int64_t blocks = (n + kBlock - 1) / kBlock;
  const int64_t cap = (int64_t)smCount() * 16;
  return (unsigned)(blocks < cap ? (blocks < 1 ? 1 : blocks) : cap);
}

}  // namespace

void launchWeightQuant(cudaStream_t stream, const float* w, const float* meanAbs, float* y, float* scale, double* scratch, int64_t n,
                       int partials) {
  if (n <= 0) return;  // the op rejects an empty weight
  if (!meanAbs) {
    if (partials < 1 || !scratch) throw std::runtime_error("weightQuant: a computed mean|W| needs at least one partial-sum slot of scratch");
    absSumKernel<<<partials, kBlock, 0, stream>>>(w, n, scratch);
    checkLaunch("absSumKernel");
  }
  scaleKernel<<<1, kBlock, 0, stream>>>(scratch, meanAbs ? 0 : partials, meanAbs, n, scale);
  checkLaunch("scaleKernel");
  quantizeKernel<<<gridFor(n), kBlock, 0, stream>>>(w, scale, y, n);
  checkLaunch("quantizeKernel");
}

}  // namespace bitnet
}  // namespace falcon
