// RMSNorm over the last dim (the FalconRmsNorm op and its backward): y = w ⊙ x · r with
// r = (mean(x²) + eps)^(-1/2), per row of `dim` elements. The weight holds `groups · dim`
// values: row i uses the slice (i mod groups) (group-wise RMSNorm; groups = 1 for a plain [dim]).
#include "kernels.h"

namespace falcon {
namespace {

constexpr int kBlock = 256;

// Sum over the block (every thread gets the result). `shared` holds kBlock / 32 floats.
__device__ float blockSum(float v, float* shared) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();  // `shared` may still be read by an earlier call
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = lane < (int)(blockDim.x >> 5) ? shared[lane] : 0.f;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__global__ void rmsNormKernel(const float* __restrict__ x, const float* __restrict__ w, float* __restrict__ y, int64_t rows,
                              int dim, int groups, float eps) {
  __shared__ float shared[kBlock / 32];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const float* xr = x + row * dim;
    const float* wr = w + (row % groups) * dim;
    float ss = 0.f;
    for (int j = threadIdx.x; j < dim; j += blockDim.x) ss += xr[j] * xr[j];
    const float r = rsqrtf(blockSum(ss, shared) / dim + eps);
    for (int j = threadIdx.x; j < dim; j += blockDim.x) y[row * dim + j] = wr[j] * (xr[j] * r);
  }
}

// dx = r·g − x·r³·mean(g ⊙ x) with g = w ⊙ dy; t = dy ⊙ x · r (summed over rows into dw afterwards).
__global__ void rmsNormBackwardKernel(const float* __restrict__ dy, const float* __restrict__ x, const float* __restrict__ w,
                                      float* __restrict__ dx, float* __restrict__ t, int64_t rows, int dim, int groups, float eps) {
  __shared__ float shared[kBlock / 32];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const float* xr = x + row * dim;
    const float* dyr = dy + row * dim;
    const float* wr = w + (row % groups) * dim;
    float ss = 0.f, gx = 0.f;
    for (int j = threadIdx.x; j < dim; j += blockDim.x) {
      ss += xr[j] * xr[j];
      gx += wr[j] * dyr[j] * xr[j];
    }
    ss = blockSum(ss, shared);
    gx = blockSum(gx, shared);
    const float r = rsqrtf(ss / dim + eps);
    const float c = r * r * r * gx / dim;
    for (int j = threadIdx.x; j < dim; j += blockDim.x) {
      dx[row * dim + j] = r * wr[j] * dyr[j] - xr[j] * c;
      t[row * dim + j] = dyr[j] * xr[j] * r;
    }
  }
}

unsigned rowBlocks(int64_t rows) {
  int64_t cap = (int64_t)ctx().sms * 16;
  return (unsigned)(rows < cap ? rows : cap);
}

}  // namespace

void launchRmsNorm(const float* x, const float* w, float* y, int64_t rows, int dim, int groups, float eps) {
  if (rows == 0 || dim == 0) return;
  rmsNormKernel<<<rowBlocks(rows), kBlock, 0, ctx().stream>>>(x, w, y, rows, dim, groups, eps);
  checkLaunch("rmsNormKernel");
}

void launchRmsNormBackward(const float* dy, const float* x, const float* w, float* dx, float* dw, int64_t rows, int dim, int groups,
                           float eps) {
  if (dim == 0) return;
  if (rows == 0) {
    launchFill(F32, dw, (int64_t)groups * dim, 0.0);
    return;
  }
  float* t = (float*)cacheAlloc((size_t)rows * dim * sizeof(float));
  rmsNormBackwardKernel<<<rowBlocks(rows), kBlock, 0, ctx().stream>>>(dy, x, w, dx, t, rows, dim, groups, eps);
  checkLaunch("rmsNormBackwardKernel");
  // dw[g, j] = Σ over the rows of group g of t: t viewed as [rows / groups, groups · dim], summed over axis 0.
  launchReduce(kSum, F32, F32, t, dw, 1, rows / groups, (int64_t)groups * dim);
  cacheFree(t);
}

}  // namespace falcon
