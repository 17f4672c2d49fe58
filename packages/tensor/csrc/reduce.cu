// Reduction kernels of the @falcon/tensor CUDA addon: sum, prod, max, min, all, any, argmax/argmin
// over the middle axis of an [outer, R, inner] view, and cumulative sum/prod along it.
// A reduction is computed by one warp per output when inner == 1 (lanes read consecutive
// elements) and one thread per output otherwise (neighbouring threads read neighbouring
// elements); when there are too few outputs to fill the device, R is split into chunks whose
// partial results (scratch from the caching allocator) are reduced by a second pass.
#include <cfloat>
#include <climits>

#include "kernels.h"

namespace falcon {
namespace {

template <typename T>
struct Red;

template <>
struct Red<float> {
  __device__ static float identity(int op) {
    switch (op) {
      case kProd: case kAll: return 1.f;
      case kMax: return -INFINITY;
      case kMin: return INFINITY;
      default: return 0.f;
    }
  }
  __device__ static float combine(int op, float a, float b) {
    switch (op) {
      case kSum: return a + b;
      case kProd: return a * b;
      case kMax: return (isnan(a) || isnan(b)) ? NAN : fmaxf(a, b);
      case kMin: return (isnan(a) || isnan(b)) ? NAN : fminf(a, b);
      case kAll: return (a != 0.f && b != 0.f) ? 1.f : 0.f;
      default: return (a != 0.f || b != 0.f) ? 1.f : 0.f;
    }
  }
};

template <>
struct Red<int32_t> {
  __device__ static int32_t identity(int op) {
    switch (op) {
      case kProd: case kAll: return 1;
      case kMax: return INT_MIN;
      case kMin: return INT_MAX;
      default: return 0;
    }
  }
  __device__ static int32_t combine(int op, int32_t a, int32_t b) {
    switch (op) {
      case kSum: return a + b;
      case kProd: return a * b;
      case kMax: return a > b ? a : b;
      case kMin: return a < b ? a : b;
      case kAll: return (a && b) ? 1 : 0;
      default: return (a || b) ? 1 : 0;
    }
  }
};

template <>
struct Red<uint8_t> {
  __device__ static uint8_t identity(int op) { return (op == kAll || op == kProd || op == kMin) ? 1 : 0; }
  __device__ static uint8_t combine(int op, uint8_t a, uint8_t b) {
    switch (op) {
      case kAll: case kMin: case kProd: return (a && b) ? 1 : 0;
      default: return (a || b) ? 1 : 0;
    }
  }
};

template <typename T>
__device__ __forceinline__ T shfl(T v, int delta) {
  return __shfl_down_sync(0xffffffffu, v, delta);
}
template <>
__device__ __forceinline__ uint8_t shfl<uint8_t>(uint8_t v, int delta) {
  return (uint8_t)__shfl_down_sync(0xffffffffu, (int)v, delta);
}

// Output (o, c, i) reduces x[o, r, i] for r in [c·len, min(R, (c+1)·len)) into y[(o·chunks + c)·inner + i].
template <typename T>
__global__ void reduceWarpKernel(int op, const T* __restrict__ x, T* __restrict__ y, int64_t outer, int64_t r, int64_t chunks,
                                 int64_t len) {
  // inner == 1: one warp per output.
  int lane = threadIdx.x & 31;
  int64_t warp = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5;
  int64_t warps = ((int64_t)gridDim.x * blockDim.x) >> 5;
  int64_t outputs = outer * chunks;
  for (int64_t w = warp; w < outputs; w += warps) {
    int64_t o = w / chunks, c = w % chunks;
    int64_t lo = c * len, hi = lo + len < r ? lo + len : r;
    const T* row = x + o * r;
    T acc = Red<T>::identity(op);
    for (int64_t k = lo + lane; k < hi; k += 32) acc = Red<T>::combine(op, acc, row[k]);
    for (int d = 16; d > 0; d >>= 1) acc = Red<T>::combine(op, acc, shfl(acc, d));
    if (lane == 0) y[w] = acc;
  }
}

template <typename T>
__global__ void reduceThreadKernel(int op, const T* __restrict__ x, T* __restrict__ y, int64_t outer, int64_t r, int64_t inner,
                                   int64_t chunks, int64_t len) {
  // inner > 1: one thread per output.
  int64_t outputs = outer * chunks * inner;
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < outputs; t += (int64_t)gridDim.x * blockDim.x) {
    int64_t i = t % inner, oc = t / inner;
    int64_t o = oc / chunks, c = oc % chunks;
    int64_t lo = c * len, hi = lo + len < r ? lo + len : r;
    const T* base = x + o * r * inner + i;
    T acc = Red<T>::identity(op);
    for (int64_t k = lo; k < hi; ++k) acc = Red<T>::combine(op, acc, base[k * inner]);
    y[t] = acc;
  }
}

template <typename T>
void reduceAs(int op, const T* x, T* y, int64_t outer, int64_t r, int64_t inner) {
  cudaStream_t s = ctx().stream;
  const int64_t target = (int64_t)ctx().sms * 2048;  // threads that fill the device
  const int64_t perOutput = inner == 1 ? 32 : 1;
  int64_t outputs = outer * inner;
  int64_t chunks = 1;
  if (outputs * perOutput < target && r > 256) {
    chunks = (target + outputs * perOutput - 1) / (outputs * perOutput);
    int64_t maxChunks = (r + 63) / 64;  // at least 64 elements per chunk
    if (chunks > maxChunks) chunks = maxChunks;
    if (chunks > 4096) chunks = 4096;
  }
  int64_t len = (r + chunks - 1) / chunks;
  T* partial = y;
  if (chunks > 1) partial = (T*)cacheAlloc((size_t)(outer * chunks * inner) * sizeof(T));
  int64_t threads = outer * chunks * inner * perOutput;
  if (inner == 1) reduceWarpKernel<T><<<gridFor(threads), 256, 0, s>>>(op, x, partial, outer, r, chunks, len);
  else reduceThreadKernel<T><<<gridFor(threads), 256, 0, s>>>(op, x, partial, outer, r, inner, chunks, len);
  checkLaunch("reduceKernel");
  if (chunks > 1) {
    // Products and sums of the partials combine with the same op (all/any/max/min too).
    reduceAs<T>(op, partial, y, outer, chunks, inner);
    cacheFree(partial);  // stream-ordered: the next user of this block runs after the second pass
  }
}

template <typename T>
__device__ __forceinline__ bool better(bool isMax, T v, int32_t i, T bv, int32_t bi) {
  if (isMax ? (v > bv) : (v < bv)) return true;
  return v == bv && i < bi;
}

template <typename T>
__global__ void argWarpKernel(bool isMax, const T* __restrict__ x, int32_t* __restrict__ y, int64_t outer, int64_t r) {
  int lane = threadIdx.x & 31;
  int64_t warp = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5;
  int64_t warps = ((int64_t)gridDim.x * blockDim.x) >> 5;
  for (int64_t o = warp; o < outer; o += warps) {
    const T* row = x + o * r;
    T bv = row[0];
    int32_t bi = 0;
    for (int64_t k = lane; k < r; k += 32) {
      if (better(isMax, row[k], (int32_t)k, bv, bi)) {
        bv = row[k];
        bi = (int32_t)k;
      }
    }
    for (int d = 16; d > 0; d >>= 1) {
      T v = __shfl_down_sync(0xffffffffu, bv, d);
      int32_t i = __shfl_down_sync(0xffffffffu, bi, d);
      if (better(isMax, v, i, bv, bi)) {
        bv = v;
        bi = i;
      }
    }
    if (lane == 0) y[o] = bi;
  }
}

template <typename T>
__global__ void argThreadKernel(bool isMax, const T* __restrict__ x, int32_t* __restrict__ y, int64_t outer, int64_t r,
                                int64_t inner) {
  int64_t outputs = outer * inner;
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < outputs; t += (int64_t)gridDim.x * blockDim.x) {
    int64_t i = t % inner, o = t / inner;
    const T* base = x + o * r * inner + i;
    T bv = base[0];
    int32_t bi = 0;
    for (int64_t k = 1; k < r; ++k) {
      T v = base[k * inner];
      if (isMax ? (v > bv) : (v < bv)) {
        bv = v;
        bi = (int32_t)k;
      }
    }
    y[t] = bi;
  }
}

template <typename T>
__global__ void cumulativeKernel(bool isProd, const T* __restrict__ x, T* __restrict__ y, int64_t outer, int64_t r, int64_t inner,
                                 bool exclusive, bool reverse) {
  int64_t lines = outer * inner;
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < lines; t += (int64_t)gridDim.x * blockDim.x) {
    int64_t i = t % inner, o = t / inner;
    const T* xb = x + o * r * inner + i;
    T* yb = y + o * r * inner + i;
    T acc = isProd ? T(1) : T(0);
    for (int64_t j = 0; j < r; ++j) {
      int64_t k = reverse ? r - 1 - j : j;
      T v = xb[k * inner];
      if (exclusive) {
        yb[k * inner] = acc;
        acc = isProd ? acc * v : acc + v;
      } else {
        acc = isProd ? acc * v : acc + v;
        yb[k * inner] = acc;
      }
    }
  }
}

}  // namespace

void launchReduce(int op, int dtIn, int dtOut, const void* x, void* y, int64_t outer, int64_t r, int64_t inner) {
  if (outer * inner <= 0) return;
  if (op < 0 || op >= kReduceCount) throw std::runtime_error("reduce: unknown op");
  if (dtIn != dtOut) throw std::runtime_error("reduce: input and output dtypes must match");
  if (r == 0) {
    // Reducing over nothing gives the identity (0 for sum, 1 for prod, ∓inf for max/min).
    double v = (op == kProd || op == kAll) ? 1.0 : op == kMax ? -INFINITY : op == kMin ? INFINITY : 0.0;
    if (dtIn == I32 && op == kMax) v = INT_MIN;
    if (dtIn == I32 && op == kMin) v = INT_MAX;
    launchFill(dtIn, y, outer * inner, v);
    return;
  }
  if (dtIn == F32) reduceAs<float>(op, (const float*)x, (float*)y, outer, r, inner);
  else if (dtIn == I32) reduceAs<int32_t>(op, (const int32_t*)x, (int32_t*)y, outer, r, inner);
  else reduceAs<uint8_t>(op, (const uint8_t*)x, (uint8_t*)y, outer, r, inner);
}

void launchArgReduce(bool isMax, int dtIn, const void* x, int32_t* y, int64_t outer, int64_t r, int64_t inner) {
  if (outer * inner <= 0) return;
  if (r <= 0) throw std::runtime_error("argMax/argMin over an empty axis");
  cudaStream_t s = ctx().stream;
  if (inner == 1) {
    if (dtIn == F32) argWarpKernel<float><<<gridFor(outer * 32), 256, 0, s>>>(isMax, (const float*)x, y, outer, r);
    else if (dtIn == I32) argWarpKernel<int32_t><<<gridFor(outer * 32), 256, 0, s>>>(isMax, (const int32_t*)x, y, outer, r);
    else throw std::runtime_error("argMax/argMin: bool is not supported");
  } else {
    if (dtIn == F32) argThreadKernel<float><<<gridFor(outer * inner), 256, 0, s>>>(isMax, (const float*)x, y, outer, r, inner);
    else if (dtIn == I32) argThreadKernel<int32_t><<<gridFor(outer * inner), 256, 0, s>>>(isMax, (const int32_t*)x, y, outer, r, inner);
    else throw std::runtime_error("argMax/argMin: bool is not supported");
  }
  checkLaunch("argReduceKernel");
}

void launchCumulative(bool isProd, int dt, const void* x, void* y, int64_t outer, int64_t r, int64_t inner, bool exclusive,
                      bool reverse) {
  int64_t lines = outer * inner;
  if (lines <= 0 || r <= 0) return;
  cudaStream_t s = ctx().stream;
  if (dt == F32) cumulativeKernel<float><<<gridFor(lines), 256, 0, s>>>(isProd, (const float*)x, (float*)y, outer, r, inner, exclusive, reverse);
  else if (dt == I32) cumulativeKernel<int32_t><<<gridFor(lines), 256, 0, s>>>(isProd, (const int32_t*)x, (int32_t*)y, outer, r, inner, exclusive, reverse);
  else throw std::runtime_error("cumsum/cumprod: bool is not supported");
  checkLaunch("cumulativeKernel");
}

}  // namespace falcon
