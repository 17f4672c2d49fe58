// ALiBi bias (the FalconAlibiBias op): bias[h, i, j] = −slope_h · |i + LK − L − j| (queries aligned
// to the end of the keys), [H, L, LK] row-major; a grid-stride loop, one thread per element.
#include "attention.cuh"

namespace falcon {
namespace attention {
namespace {

__global__ void alibiBiasKernel(const float* __restrict__ slopes, float* __restrict__ bias, int H, int L, int LK) {
  const int64_t n = (int64_t)H * L * LK;
  for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
    const int j = (int)(e % LK);
    const int64_t hi = e / LK;
    const int i = (int)(hi % L), h = (int)(hi / L);
    bias[e] = -slopes[h] * fabsf((float)(i + LK - L - j));
  }
}

}  // namespace

void alibiBias(cudaStream_t s, const float* slopes, float* bias, int H, int L, int LK) {
  const int64_t n = (int64_t)H * L * LK;
  if (n == 0) return;
  alibiBiasKernel<<<falcon::ext::gridFor(n), 256, 0, s>>>(slopes, bias, H, L, LK);
  falcon::ext::checkLaunch("alibiBiasKernel");
}

}  // namespace attention
}  // namespace falcon
