// activationQuant and activationQuantInt8: per-token absmax quantisation of x [rows, d] to 8 bits.
// Per row: mx = max_j |x[row, j]| (NaN ignored, as the cpu kernel's `a > mx` scan) or the given
// absMax[row]; s = f32(127 / max(mx, 1e-5)) (f64 division rounded to f32, as the cpu);
// q = clip(rint(f32(x·s)), −128, 127) (rint: round half to even); y = f32(q / s) or q as int32
// (NaN → 0, as a JS Int32Array store); scale[row] = s.
// Layout: a warp per row for d ≤ kWarpMaxD (8 rows per 256-thread block), else a 256-thread block
// per row; both grid-stride over rows. Two reads of the row (max, then quantise; the second hits L1/L2).
// Bit-exact with the cpu kernel: the max is order-independent, f32(x·s) is __fmul_rn (the f64
// product of two floats is exact, so its f32 rounding is the f32 product), and f32(q / s) is
// __fdiv_rn (rounding the f64 quotient to f32 equals the correctly rounded f32 quotient, since
// 53 ≥ 2·24 + 2).
#include "bitnet.h"

namespace falcon {
namespace bitnet {
namespace {

constexpr int kBlock = 256;
constexpr int kWarpMaxD = 2048;

__device__ __forceinline__ float warpMax(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Max over the block; every thread gets the result.
__device__ float blockMax(float v) {
  __shared__ float shared[kBlock / 32];
  v = warpMax(v);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();  // `shared` may still be read from the previous row
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = lane < (int)(blockDim.x >> 5) ? shared[lane] : 0.f;
  return warpMax(v);
}

__device__ __forceinline__ float rowScale(float mx) {
  const float v = mx < kEps ? kEps : mx;  // NaN passes through
  return (float)(127.0 / (double)v);
}

// Quantises elements j0, j0 + step, … of one row with scale s.
__device__ __forceinline__ void quantizeRow(const float* __restrict__ xr, float* __restrict__ yr, int32_t* __restrict__ qr, int d, float s,
                                            int j0, int step) {
  for (int j = j0; j < d; j += step) {
    float r = rintf(__fmul_rn(xr[j], s));
    r = r > 127.f ? 127.f : r < -128.f ? -128.f : r;  // comparisons, so NaN stays NaN
    if (yr) {
      yr[j] = __fdiv_rn(r, s);
    } else {
      qr[j] = r == r ? (int32_t)r : 0;
    }
  }
}

__global__ void __launch_bounds__(kBlock) warpRowsKernel(const float* __restrict__ x, const float* __restrict__ absMax, float* __restrict__ y,
                                                         int32_t* __restrict__ q, float* __restrict__ scale, int64_t rows, int d) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = (int64_t)gridDim.x * (blockDim.x >> 5);
  for (int64_t row = (int64_t)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); row < rows; row += warps) {
    const float* xr = x + row * d;
    float mx;
    if (absMax) {
      mx = absMax[row];
    } else {
      mx = 0.f;
      for (int j = lane; j < d; j += 32) mx = fmaxf(mx, fabsf(xr[j]));
      mx = warpMax(mx);
    }
    const float s = rowScale(mx);
    if (lane == 0) scale[row] = s;
    quantizeRow(xr, y ? y + row * d : nullptr, q ? q + row * d : nullptr, d, s, lane, 32);
  }
}

__global__ void __launch_bounds__(kBlock) blockRowsKernel(const float* __restrict__ x, const float* __restrict__ absMax, float* __restrict__ y,
                                                          int32_t* __restrict__ q, float* __restrict__ scale, int64_t rows, int d) {
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const float* xr = x + row * d;
    float mx;
    if (absMax) {
      mx = absMax[row];
    } else {
      mx = 0.f;
      for (int j = threadIdx.x; j < d; j += blockDim.x) mx = fmaxf(mx, fabsf(xr[j]));
      mx = blockMax(mx);
    }
    const float s = rowScale(mx);
    if (threadIdx.x == 0) scale[row] = s;
    quantizeRow(xr, y ? y + row * d : nullptr, q ? q + row * d : nullptr, d, s, threadIdx.x, blockDim.x);
  }
}

}  // namespace

void launchActivationQuant(cudaStream_t stream, const float* x, const float* absMax, float* y, int32_t* q, float* scale, int64_t rows,
                           int d) {
  if (rows <= 0 || d <= 0) return;
  const int64_t cap = (int64_t)smCount() * 16;
  if (d <= kWarpMaxD) {
    const int64_t rowsPerBlock = kBlock / 32;
    int64_t blocks = (rows + rowsPerBlock - 1) / rowsPerBlock;
    warpRowsKernel<<<(unsigned)(blocks < cap ? blocks : cap), kBlock, 0, stream>>>(x, absMax, y, q, scale, rows, d);
    checkLaunch("activationQuant warpRowsKernel");
  } else {
    blockRowsKernel<<<(unsigned)(rows < cap ? rows : cap), kBlock, 0, stream>>>(x, absMax, y, q, scale, rows, d);
    checkLaunch("activationQuant blockRowsKernel");
  }
}

}  // namespace bitnet
}  // namespace falcon
