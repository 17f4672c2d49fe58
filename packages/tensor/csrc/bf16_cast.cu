// float32 → bfloat16 rounding for the bf16 matrix products (cublaslt.cpp): round to nearest even,
// NaN kept as a quiet NaN of the same sign, ±Inf kept; the same bits as `f32ToBf16` of
// @falcon/tensor (src/dtype.ts). Written as bit arithmetic so that no rounding mode of the
// intrinsics is relied on. Grid-stride loops.
#include "kernels.h"

namespace falcon {
namespace {

__device__ __forceinline__ uint32_t bf16Bits(float x) {
  uint32_t b = __float_as_uint(x);
  if ((b & 0x7fffffffu) > 0x7f800000u) return ((b >> 16) | 0x0040u) & 0xffffu;  // NaN: quiet, sign kept
  return ((b + 0x7fffu + ((b >> 16) & 1u)) >> 16) & 0xffffu;
}

__global__ void toBf16Kernel(const float* __restrict__ x, uint16_t* __restrict__ y, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    y[i] = (uint16_t)bf16Bits(x[i]);
  }
}

__global__ void roundBf16Kernel(const float* __restrict__ x, float* __restrict__ y, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    y[i] = __uint_as_float(bf16Bits(x[i]) << 16);
  }
}

}  // namespace

void launchToBf16(const float* x, uint16_t* y, int64_t n) {
  if (n <= 0) return;
  toBf16Kernel<<<gridFor(n), 256, 0, ctx().stream>>>(x, y, n);
  checkLaunch("toBf16Kernel");
}

void launchRoundBf16(const float* x, float* y, int64_t n) {
  if (n <= 0) return;
  roundBf16Kernel<<<gridFor(n), 256, 0, ctx().stream>>>(x, y, n);
  checkLaunch("roundBf16Kernel");
}

}  // namespace falcon
