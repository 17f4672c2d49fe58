// Softmax and log-softmax over the last dim of a [rows, cols] float32 matrix: one warp per row for
// short rows, one block per row for long ones; max-subtracted, three passes over the row.
#include "kernels.h"

namespace falcon {
namespace {

__device__ __forceinline__ float warpMax(float v) {
  for (int d = 16; d > 0; d >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, d));
  return v;
}
__device__ __forceinline__ float warpSum(float v) {
  for (int d = 16; d > 0; d >>= 1) v += __shfl_xor_sync(0xffffffffu, v, d);
  return v;
}

__global__ void softmaxWarpKernel(const float* __restrict__ x, float* __restrict__ y, int64_t rows, int64_t cols, bool log) {
  int lane = threadIdx.x & 31;
  int64_t warp = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5;
  int64_t warps = ((int64_t)gridDim.x * blockDim.x) >> 5;
  for (int64_t r = warp; r < rows; r += warps) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = -INFINITY;
    for (int64_t k = lane; k < cols; k += 32) m = fmaxf(m, xr[k]);
    m = warpMax(m);
    float s = 0.f;
    for (int64_t k = lane; k < cols; k += 32) s += expf(xr[k] - m);
    s = warpSum(s);
    if (log) {
      float ls = logf(s);
      for (int64_t k = lane; k < cols; k += 32) yr[k] = xr[k] - m - ls;
    } else {
      float inv = 1.f / s;
      for (int64_t k = lane; k < cols; k += 32) yr[k] = expf(xr[k] - m) * inv;
    }
  }
}

__device__ float blockReduce(float v, bool isMax, float* scratch) {
  int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
  v = isMax ? warpMax(v) : warpSum(v);
  __syncthreads();  // scratch may still be read from the previous call
  if (lane == 0) scratch[wid] = v;
  __syncthreads();
  float t = lane < nw ? scratch[lane] : (isMax ? -INFINITY : 0.f);
  return isMax ? warpMax(t) : warpSum(t);
}

__global__ void softmaxBlockKernel(const float* __restrict__ x, float* __restrict__ y, int64_t rows, int64_t cols, bool log) {
  __shared__ float scratch[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = -INFINITY;
    for (int64_t k = threadIdx.x; k < cols; k += blockDim.x) m = fmaxf(m, xr[k]);
    m = blockReduce(m, true, scratch);
    float s = 0.f;
    for (int64_t k = threadIdx.x; k < cols; k += blockDim.x) s += expf(xr[k] - m);
    s = blockReduce(s, false, scratch);
    if (log) {
      float ls = logf(s);
      for (int64_t k = threadIdx.x; k < cols; k += blockDim.x) yr[k] = xr[k] - m - ls;
    } else {
      float inv = 1.f / s;
      for (int64_t k = threadIdx.x; k < cols; k += blockDim.x) yr[k] = expf(xr[k] - m) * inv;
    }
  }
}

}  // namespace

void launchSoftmax(const float* x, float* y, int64_t rows, int64_t cols, bool log) {
  if (rows <= 0 || cols <= 0) return;
  cudaStream_t s = ctx().stream;
  if (cols <= 1024) {
    softmaxWarpKernel<<<gridFor(rows * 32), 256, 0, s>>>(x, y, rows, cols, log);
  } else {
    int64_t blocks = rows < (int64_t)ctx().sms * 16 ? rows : (int64_t)ctx().sms * 16;
    softmaxBlockKernel<<<(unsigned)blocks, 256, 0, s>>>(x, y, rows, cols, log);
  }
  checkLaunch("softmaxKernel");
}

}  // namespace falcon
