// Layout kernels of the @falcon/tensor CUDA addon: the general strided copy (transpose, slice,
// strided slice, reverse, pad, tile, broadcast, concat pieces), a shared-memory tiled transpose
// of the last two dims, gather along an axis, its gradient (unsorted segment sum, with atomics)
// and one-hot. Elements are moved as raw 1- or 4-byte words, so float32 and int32 share code.
#include <cstring>

#include "kernels.h"

namespace falcon {
namespace {

template <typename T, bool Small>
__global__ void copyKernel(const T* __restrict__ x, T* __restrict__ y, Copy d, int64_t n, T pad) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t rem = i, off = 0;
    bool inside = true;
    for (int k = d.rank - 1; k >= 0; --k) {
      int64_t c;
      if (Small) {
        uint32_t s = (uint32_t)d.shape[k];
        c = (uint32_t)rem % s;
        rem = (uint32_t)rem / s;
      } else {
        c = rem % d.shape[k];
        rem /= d.shape[k];
      }
      int64_t ic = d.begin[k] + c * d.step[k];
      if (d.mod[k] > 0) {
        ic %= d.mod[k];
        if (ic < 0) ic += d.mod[k];
      }
      if (ic < 0 || ic >= d.limit[k]) inside = false;
      off += ic * d.stride[k];
    }
    y[i] = inside ? x[off] : pad;
  }
}

constexpr int kTile = 32;
constexpr int kRows = 8;

// y[b, c, r] = x[b, r, c]: each block moves one 32×32 tile through shared memory so that both the
// reads and the writes are coalesced; the +1 column avoids shared-memory bank conflicts.
template <typename T>
__global__ void transposeKernel(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int64_t cols) {
  __shared__ T tile[kTile][kTile + 1];
  int64_t b = blockIdx.z;
  const T* xb = x + b * rows * cols;
  T* yb = y + b * rows * cols;
  int64_t c0 = (int64_t)blockIdx.x * kTile, r0 = (int64_t)blockIdx.y * kTile;
  for (int j = threadIdx.y; j < kTile; j += kRows) {
    int64_t r = r0 + j, c = c0 + threadIdx.x;
    if (r < rows && c < cols) tile[j][threadIdx.x] = xb[r * cols + c];
  }
  __syncthreads();
  for (int j = threadIdx.y; j < kTile; j += kRows) {
    int64_t c = c0 + j, r = r0 + threadIdx.x;
    if (r < rows && c < cols) yb[c * rows + r] = tile[threadIdx.x][j];
  }
}

// y[b, o, j, s] = x[b, o, idx[b, j], s]; indices outside [0, dim) give zeros.
template <typename T>
__global__ void gatherKernel(const T* __restrict__ x, const int32_t* __restrict__ idx, T* __restrict__ y, int64_t batch,
                             int64_t outer, int64_t dim, int64_t slice, int64_t nIdx, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t s = i % slice;
    int64_t t = i / slice;
    int64_t j = t % nIdx;
    t /= nIdx;
    int64_t o = t % outer;
    int64_t b = t / outer;
    int64_t k = idx[b * nIdx + j];
    y[i] = (k >= 0 && k < dim) ? x[((b * outer + o) * dim + k) * slice + s] : T(0);
  }
}

template <typename T>
__global__ void segmentSumKernel(const T* __restrict__ x, const int32_t* __restrict__ seg, T* __restrict__ y, int64_t slice,
                                 int64_t numSegments, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t r = i / slice, s = i % slice;
    int64_t k = seg[r];
    if (k >= 0 && k < numSegments) atomicAdd(&y[k * slice + s], x[i]);
  }
}

template <typename T>
__global__ void oneHotKernel(const int32_t* __restrict__ idx, T* __restrict__ y, int64_t depth, int64_t n, T on, T off) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    y[i] = (idx[i / depth] == i % depth) ? on : off;
  }
}

template <typename T>
void copyAs(const void* x, void* y, const Copy& d, int64_t n, T pad) {
  cudaStream_t s = ctx().stream;
  if (n < (int64_t(1) << 31)) copyKernel<T, true><<<gridFor(n), 256, 0, s>>>((const T*)x, (T*)y, d, n, pad);
  else copyKernel<T, false><<<gridFor(n), 256, 0, s>>>((const T*)x, (T*)y, d, n, pad);
  checkLaunch("copyKernel");
}

uint32_t bitsOf(int dt, double v) {
  if (dt == F32) {
    float f = (float)v;
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
  }
  return (uint32_t)(int32_t)v;
}

}  // namespace

void launchCopy(int dt, const void* x, void* y, const Copy& d, int64_t n, double padValue) {
  if (n <= 0) return;
  if (dtypeBytes(dt) == 4) copyAs<uint32_t>(x, y, d, n, bitsOf(dt, padValue));
  else copyAs<uint8_t>(x, y, d, n, (uint8_t)(padValue != 0));
}

void launchTranspose2d(int dt, const void* x, void* y, int64_t batch, int64_t rows, int64_t cols) {
  if (batch * rows * cols <= 0) return;
  if ((rows + kTile - 1) / kTile > 65535) {
    // Too many tiles for one grid dimension: the general strided copy does the same permutation.
    Copy d;
    d.rank = 3;
    int64_t shape[3] = {batch, cols, rows}, stride[3] = {rows * cols, 1, cols};
    for (int k = 0; k < 3; ++k) {
      d.shape[k] = shape[k];
      d.begin[k] = 0;
      d.step[k] = 1;
      d.mod[k] = 0;
      d.limit[k] = shape[k];
      d.stride[k] = stride[k];
    }
    launchCopy(dt, x, y, d, batch * rows * cols, 0);
    return;
  }
  dim3 block(kTile, kRows);
  cudaStream_t s = ctx().stream;
  int64_t elem = dtypeBytes(dt), plane = rows * cols * elem;
  for (int64_t b0 = 0; b0 < batch; b0 += 65535) {
    int64_t nb = batch - b0 < 65535 ? batch - b0 : 65535;
    dim3 grid((unsigned)((cols + kTile - 1) / kTile), (unsigned)((rows + kTile - 1) / kTile), (unsigned)nb);
    const char* xs = (const char*)x + b0 * plane;
    char* ys = (char*)y + b0 * plane;
    if (elem == 4) transposeKernel<uint32_t><<<grid, block, 0, s>>>((const uint32_t*)xs, (uint32_t*)ys, rows, cols);
    else transposeKernel<uint8_t><<<grid, block, 0, s>>>((const uint8_t*)xs, (uint8_t*)ys, rows, cols);
    checkLaunch("transposeKernel");
  }
}

void launchGather(int dt, const void* x, const int32_t* idx, void* y, int64_t batch, int64_t outer, int64_t dim, int64_t slice,
                  int64_t nIdx) {
  int64_t n = batch * outer * nIdx * slice;
  if (n <= 0) return;
  cudaStream_t s = ctx().stream;
  if (dtypeBytes(dt) == 4) {
    gatherKernel<uint32_t><<<gridFor(n), 256, 0, s>>>((const uint32_t*)x, idx, (uint32_t*)y, batch, outer, dim, slice, nIdx, n);
  } else {
    gatherKernel<uint8_t><<<gridFor(n), 256, 0, s>>>((const uint8_t*)x, idx, (uint8_t*)y, batch, outer, dim, slice, nIdx, n);
  }
  checkLaunch("gatherKernel");
}

void launchSegmentSum(int dt, const void* x, const int32_t* seg, void* y, int64_t rows, int64_t slice, int64_t numSegments) {
  int64_t total = numSegments * slice;
  if (total <= 0) return;
  FALCON_CUDA_CHECK(cudaMemsetAsync(y, 0, (size_t)total * dtypeBytes(dt), ctx().stream));
  int64_t n = rows * slice;
  if (n <= 0) return;
  cudaStream_t s = ctx().stream;
  if (dt == F32) segmentSumKernel<float><<<gridFor(n), 256, 0, s>>>((const float*)x, seg, (float*)y, slice, numSegments, n);
  else if (dt == I32) segmentSumKernel<int32_t><<<gridFor(n), 256, 0, s>>>((const int32_t*)x, seg, (int32_t*)y, slice, numSegments, n);
  else throw std::runtime_error("unsortedSegmentSum: bool is not supported");
  checkLaunch("segmentSumKernel");
}

void launchOneHot(int dt, const int32_t* idx, void* y, int64_t n, int64_t depth, double on, double off) {
  int64_t total = n * depth;
  if (total <= 0) return;
  cudaStream_t s = ctx().stream;
  if (dt == F32) oneHotKernel<float><<<gridFor(total), 256, 0, s>>>(idx, (float*)y, depth, total, (float)on, (float)off);
  else if (dt == I32) oneHotKernel<int32_t><<<gridFor(total), 256, 0, s>>>(idx, (int32_t*)y, depth, total, (int32_t)on, (int32_t)off);
  else oneHotKernel<uint8_t><<<gridFor(total), 256, 0, s>>>(idx, (uint8_t*)y, depth, total, on != 0, off != 0);
  checkLaunch("oneHotKernel");
}

}  // namespace falcon
