// Element-wise kernels of the @falcon/tensor CUDA addon: unary math, binary math and comparisons
// with broadcasting through strides, select (where), cast, fill and range. Grid-stride loops;
// the op is a uniform switch inside the kernel. Semantics follow tfjs-backend-cpu (NaN kept by
// clip/relu/max/min, round half to even, sign(0) = 0, float→int truncation with NaN/Inf → 0).
#include <cmath>

#include "kernels.h"

namespace falcon {

#define FALCON_NAME(name) #name,
const char* const kUnaryNames[] = {FALCON_UNARY_OPS(FALCON_NAME)};
const char* const kBinaryNames[] = {FALCON_BINARY_OPS(FALCON_NAME)};
const char* const kReduceNames[] = {FALCON_REDUCE_OPS(FALCON_NAME)};
#undef FALCON_NAME

namespace {

constexpr float kSeluScale = 1.0507009873554804934193349852946f;
constexpr float kSeluScaleAlpha = 1.7580993408473768599402175208123f;

__device__ __forceinline__ float unaryF(int op, float x, float p0, float p1) {
  switch (op) {
    case kNeg: return -x;
    case kAbs: return fabsf(x);
    case kSign: return x > 0.f ? 1.f : (x < 0.f ? -1.f : 0.f);
    case kSquare: return x * x;
    case kSqrt: return sqrtf(x);
    case kRsqrt: return rsqrtf(x);
    case kExp: return expf(x);
    case kExpm1: return expm1f(x);
    case kLog: return logf(x);
    case kLog1p: return log1pf(x);
    case kSigmoid: return 1.f / (1.f + expf(-x));
    case kSoftplus: return x > 20.f ? x : (x < -20.f ? expf(x) : log1pf(expf(x)));
    case kTanh: return tanhf(x);
    case kRelu: return x < 0.f ? 0.f : x;
    case kRelu6: return x < 0.f ? 0.f : (x > 6.f ? 6.f : x);
    case kElu: return x >= 0.f ? x : expm1f(x);
    case kSelu: return x >= 0.f ? kSeluScale * x : kSeluScaleAlpha * expm1f(x);
    case kErf: return erff(x);
    case kRound: return rintf(x);
    case kFloor: return floorf(x);
    case kCeil: return ceilf(x);
    case kReciprocal: return 1.f / x;
    case kSin: return sinf(x);
    case kCos: return cosf(x);
    case kTan: return tanf(x);
    case kAsin: return asinf(x);
    case kAcos: return acosf(x);
    case kAtan: return atanf(x);
    case kSinh: return sinhf(x);
    case kCosh: return coshf(x);
    case kAsinh: return asinhf(x);
    case kAcosh: return acoshf(x);
    case kAtanh: return atanhf(x);
    case kClipByValue: return x > p1 ? p1 : (x < p0 ? p0 : x);
    case kStep: return isnan(x) ? x : (x > 0.f ? 1.f : p0);
    case kLeakyRelu: return x < 0.f ? p0 * x : x;
    default: return nanf("");
  }
}

__device__ __forceinline__ int32_t unaryI(int op, int32_t x, float p0, float p1) {
  switch (op) {
    case kNeg: return -x;
    case kAbs: return x < 0 ? -x : x;
    case kSign: return x > 0 ? 1 : (x < 0 ? -1 : 0);
    case kSquare: return x * x;
    case kRelu: return x < 0 ? 0 : x;
    case kClipByValue: return x > (int32_t)p1 ? (int32_t)p1 : (x < (int32_t)p0 ? (int32_t)p0 : x);
    default: return (int32_t)unaryF(op, (float)x, p0, p1);
  }
}

__device__ __forceinline__ uint8_t predicateF(int op, float x) {
  switch (op) {
    case kIsNan: return isnan(x) ? 1 : 0;
    case kIsInf: return isinf(x) ? 1 : 0;
    case kIsFinite: return isfinite(x) ? 1 : 0;
    case kLogicalNot: return x == 0.f ? 1 : 0;
    default: return 0;
  }
}

template <typename Tin, typename Tout>
__device__ __forceinline__ Tout unaryApply(int op, Tin x, float p0, float p1);
template <>
__device__ __forceinline__ float unaryApply<float, float>(int op, float x, float p0, float p1) { return unaryF(op, x, p0, p1); }
template <>
__device__ __forceinline__ int32_t unaryApply<int32_t, int32_t>(int op, int32_t x, float p0, float p1) { return unaryI(op, x, p0, p1); }
template <>
__device__ __forceinline__ float unaryApply<int32_t, float>(int op, int32_t x, float p0, float p1) { return unaryF(op, (float)x, p0, p1); }
template <>
__device__ __forceinline__ uint8_t unaryApply<float, uint8_t>(int op, float x, float, float) { return predicateF(op, x); }
template <>
__device__ __forceinline__ uint8_t unaryApply<int32_t, uint8_t>(int op, int32_t x, float, float) { return predicateF(op, (float)x); }
template <>
__device__ __forceinline__ uint8_t unaryApply<uint8_t, uint8_t>(int op, uint8_t x, float, float) {
  return op == kLogicalNot ? (x ? 0 : 1) : x;
}

template <typename Tin, typename Tout>
__global__ void unaryKernel(int op, const Tin* __restrict__ x, Tout* __restrict__ y, int64_t n, float p0, float p1) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    y[i] = unaryApply<Tin, Tout>(op, x[i], p0, p1);
  }
}

__device__ __forceinline__ float binaryF(int op, float a, float b) {
  switch (op) {
    case kAdd: return a + b;
    case kSub: return a - b;
    case kMultiply: return a * b;
    case kRealDiv: return a / b;
    case kFloorDiv: return floorf(a / b);
    case kMod: {
      float r = fmodf(a, b);
      return (r != 0.f && ((r < 0.f) != (b < 0.f))) ? r + b : r;
    }
    case kMaximum: return (isnan(a) || isnan(b)) ? nanf("") : fmaxf(a, b);
    case kMinimum: return (isnan(a) || isnan(b)) ? nanf("") : fminf(a, b);
    case kPow: return powf(a, b);
    case kSquaredDifference: return (a - b) * (a - b);
    case kAtan2: return atan2f(a, b);
    case kPrelu: return a < 0.f ? a * b : a;
    case kEluGrad: return b >= 0.f ? a : a * (b + 1.f);  // a = dy, b = y
    default: return nanf("");
  }
}

__device__ __forceinline__ int32_t binaryI(int op, int32_t a, int32_t b) {
  switch (op) {
    case kAdd: return a + b;
    case kSub: return a - b;
    case kMultiply: return a * b;
    case kRealDiv: return b == 0 ? 0 : a / b;
    case kFloorDiv: {
      if (b == 0) return 0;
      int32_t q = a / b;
      return (q * b != a && ((a < 0) != (b < 0))) ? q - 1 : q;
    }
    case kMod: {
      if (b == 0) return 0;
      int32_t r = a % b;
      return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
    }
    case kMaximum: return a > b ? a : b;
    case kMinimum: return a < b ? a : b;
    case kPow: {
      if (b < 0) return (int32_t)powf((float)a, (float)b);
      int32_t r = 1, base = a;
      for (int32_t e = b; e > 0; e >>= 1) {
        if (e & 1) r *= base;
        base *= base;
      }
      return r;
    }
    case kSquaredDifference: return (a - b) * (a - b);
    case kPrelu: return a < 0 ? a * b : a;
    default: return 0;
  }
}

template <typename T>
__device__ __forceinline__ uint8_t compare(int op, T a, T b) {
  switch (op) {
    case kLess: return a < b;
    case kLessEqual: return a <= b;
    case kGreater: return a > b;
    case kGreaterEqual: return a >= b;
    case kEqual: return a == b;
    case kNotEqual: return a != b;
    case kLogicalAnd: return (a != T(0)) && (b != T(0));
    case kLogicalOr: return (a != T(0)) || (b != T(0));
    case kLogicalXor: return (a != T(0)) != (b != T(0));
    default: return 0;
  }
}

template <typename T, typename Tout>
struct BinaryApply;
template <>
struct BinaryApply<float, float> {
  __device__ static float f(int op, float a, float b) { return binaryF(op, a, b); }
};
template <>
struct BinaryApply<int32_t, int32_t> {
  __device__ static int32_t f(int op, int32_t a, int32_t b) { return binaryI(op, a, b); }
};
template <>
struct BinaryApply<int32_t, float> {
  __device__ static float f(int op, int32_t a, int32_t b) { return binaryF(op, (float)a, (float)b); }
};
template <typename T>
struct BinaryApply<T, uint8_t> {
  __device__ static uint8_t f(int op, T a, T b) { return compare<T>(op, a, b); }
};

// Offsets of output element i in each of the first N inputs.
template <int N>
__device__ __forceinline__ void offsets(const Broadcast& d, int64_t i, int64_t* off) {
#pragma unroll
  for (int j = 0; j < N; ++j) off[j] = 0;
  for (int k = d.rank - 1; k >= 0; --k) {
    int64_t s = d.shape[k];
    int64_t c = i % s;
    i /= s;
#pragma unroll
    for (int j = 0; j < N; ++j) off[j] += c * d.stride[j][k];
  }
}
// The same with 32-bit arithmetic when every index fits.
template <int N>
__device__ __forceinline__ void offsets32(const Broadcast& d, uint32_t i, int64_t* off) {
  uint32_t o[N];
#pragma unroll
  for (int j = 0; j < N; ++j) o[j] = 0;
  for (int k = d.rank - 1; k >= 0; --k) {
    uint32_t s = (uint32_t)d.shape[k];
    uint32_t c = i % s;
    i /= s;
#pragma unroll
    for (int j = 0; j < N; ++j) o[j] += c * (uint32_t)d.stride[j][k];
  }
#pragma unroll
  for (int j = 0; j < N; ++j) off[j] = o[j];
}

template <typename T, typename Tout, bool Small>
__global__ void binaryKernel(int op, const T* __restrict__ a, const T* __restrict__ b, Tout* __restrict__ y, Broadcast d,
                             int64_t n, int mode) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t off[2] = {i, i};
    if (mode != 0) {
      if (Small) offsets32<2>(d, (uint32_t)i, off);
      else offsets<2>(d, i, off);
    }
    y[i] = BinaryApply<T, Tout>::f(op, a[off[0]], b[off[1]]);
  }
}

template <typename T, bool Small>
__global__ void selectKernel(const uint8_t* __restrict__ c, const T* __restrict__ t, const T* __restrict__ e, T* __restrict__ y,
                             Broadcast d, int64_t n, int mode) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t off[3] = {i, i, i};
    if (mode != 0) {
      if (Small) offsets32<3>(d, (uint32_t)i, off);
      else offsets<3>(d, i, off);
    }
    y[i] = c[off[0]] ? t[off[1]] : e[off[2]];
  }
}

template <typename Tin, typename Tout>
__device__ __forceinline__ Tout castOne(Tin x) {
  return (Tout)x;
}
template <>
__device__ __forceinline__ int32_t castOne<float, int32_t>(float x) {
  if (!isfinite(x)) return 0;
  return (int32_t)(uint32_t)(uint64_t)(int64_t)truncf(x);
}
template <>
__device__ __forceinline__ uint8_t castOne<float, uint8_t>(float x) { return x != 0.f; }
template <>
__device__ __forceinline__ uint8_t castOne<int32_t, uint8_t>(int32_t x) { return x != 0; }

template <typename Tin, typename Tout>
__global__ void castKernel(const Tin* __restrict__ x, Tout* __restrict__ y, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    y[i] = castOne<Tin, Tout>(x[i]);
  }
}

template <typename T>
__global__ void fillKernel(T* __restrict__ y, int64_t n, T v) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) y[i] = v;
}

template <typename T>
__global__ void rangeKernel(T* __restrict__ y, int64_t n, double start, double step) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    y[i] = (T)(start + (double)i * step);
  }
}

template <typename T, typename Tout>
void binaryAs(int op, const void* a, const void* b, void* y, const Broadcast& d, int64_t n, int mode) {
  cudaStream_t s = ctx().stream;
  if (n < (int64_t(1) << 31)) {
    binaryKernel<T, Tout, true><<<gridFor(n), 256, 0, s>>>(op, (const T*)a, (const T*)b, (Tout*)y, d, n, mode);
  } else {
    binaryKernel<T, Tout, false><<<gridFor(n), 256, 0, s>>>(op, (const T*)a, (const T*)b, (Tout*)y, d, n, mode);
  }
  checkLaunch("binaryKernel");
}

template <typename T>
void selectAs(const uint8_t* c, const void* t, const void* e, void* y, const Broadcast& d, int64_t n, int mode) {
  cudaStream_t s = ctx().stream;
  if (n < (int64_t(1) << 31)) {
    selectKernel<T, true><<<gridFor(n), 256, 0, s>>>(c, (const T*)t, (const T*)e, (T*)y, d, n, mode);
  } else {
    selectKernel<T, false><<<gridFor(n), 256, 0, s>>>(c, (const T*)t, (const T*)e, (T*)y, d, n, mode);
  }
  checkLaunch("selectKernel");
}

template <typename Tin>
void castFrom(int dtOut, const void* x, void* y, int64_t n) {
  cudaStream_t s = ctx().stream;
  if (dtOut == F32) castKernel<Tin, float><<<gridFor(n), 256, 0, s>>>((const Tin*)x, (float*)y, n);
  else if (dtOut == I32) castKernel<Tin, int32_t><<<gridFor(n), 256, 0, s>>>((const Tin*)x, (int32_t*)y, n);
  else castKernel<Tin, uint8_t><<<gridFor(n), 256, 0, s>>>((const Tin*)x, (uint8_t*)y, n);
  checkLaunch("castKernel");
}

}  // namespace

void launchUnary(int op, int dtIn, int dtOut, const void* x, void* y, int64_t n, float p0, float p1) {
  if (n <= 0) return;
  if (op < 0 || op >= kUnaryCount) throw std::runtime_error("unary: unknown op");
  cudaStream_t s = ctx().stream;
  unsigned g = gridFor(n);
  if (dtIn == F32 && dtOut == F32) unaryKernel<float, float><<<g, 256, 0, s>>>(op, (const float*)x, (float*)y, n, p0, p1);
  else if (dtIn == I32 && dtOut == I32) unaryKernel<int32_t, int32_t><<<g, 256, 0, s>>>(op, (const int32_t*)x, (int32_t*)y, n, p0, p1);
  else if (dtIn == I32 && dtOut == F32) unaryKernel<int32_t, float><<<g, 256, 0, s>>>(op, (const int32_t*)x, (float*)y, n, p0, p1);
  else if (dtIn == F32 && dtOut == U8) unaryKernel<float, uint8_t><<<g, 256, 0, s>>>(op, (const float*)x, (uint8_t*)y, n, p0, p1);
  else if (dtIn == I32 && dtOut == U8) unaryKernel<int32_t, uint8_t><<<g, 256, 0, s>>>(op, (const int32_t*)x, (uint8_t*)y, n, p0, p1);
  else if (dtIn == U8 && dtOut == U8) unaryKernel<uint8_t, uint8_t><<<g, 256, 0, s>>>(op, (const uint8_t*)x, (uint8_t*)y, n, p0, p1);
  else throw std::runtime_error("unary: unsupported dtype combination");
  checkLaunch("unaryKernel");
}

void launchBinary(int op, int dtIn, int dtOut, const void* a, const void* b, void* y, const Broadcast& d, int64_t n, int mode) {
  if (n <= 0) return;
  if (op < 0 || op >= kBinaryCount) throw std::runtime_error("binary: unknown op");
  if (dtIn == F32 && dtOut == F32) binaryAs<float, float>(op, a, b, y, d, n, mode);
  else if (dtIn == I32 && dtOut == I32) binaryAs<int32_t, int32_t>(op, a, b, y, d, n, mode);
  else if (dtIn == I32 && dtOut == F32) binaryAs<int32_t, float>(op, a, b, y, d, n, mode);
  else if (dtIn == F32 && dtOut == U8) binaryAs<float, uint8_t>(op, a, b, y, d, n, mode);
  else if (dtIn == I32 && dtOut == U8) binaryAs<int32_t, uint8_t>(op, a, b, y, d, n, mode);
  else if (dtIn == U8 && dtOut == U8) binaryAs<uint8_t, uint8_t>(op, a, b, y, d, n, mode);
  else throw std::runtime_error("binary: unsupported dtype combination");
}

void launchSelect(int dt, const uint8_t* cond, const void* t, const void* e, void* y, const Broadcast& d, int64_t n, int mode) {
  if (n <= 0) return;
  if (dtypeBytes(dt) == 4) selectAs<uint32_t>(cond, t, e, y, d, n, mode);
  else selectAs<uint8_t>(cond, t, e, y, d, n, mode);
}

void launchCast(int dtIn, int dtOut, const void* x, void* y, int64_t n) {
  if (n <= 0) return;
  if (dtIn == dtOut) {
    FALCON_CUDA_CHECK(cudaMemcpyAsync(y, x, (size_t)n * dtypeBytes(dtIn), cudaMemcpyDeviceToDevice, ctx().stream));
    return;
  }
  if (dtIn == F32) castFrom<float>(dtOut, x, y, n);
  else if (dtIn == I32) castFrom<int32_t>(dtOut, x, y, n);
  else castFrom<uint8_t>(dtOut, x, y, n);
}

void launchFill(int dt, void* y, int64_t n, double value) {
  if (n <= 0) return;
  cudaStream_t s = ctx().stream;
  if (dt == F32) fillKernel<float><<<gridFor(n), 256, 0, s>>>((float*)y, n, (float)value);
  else if (dt == I32) fillKernel<int32_t><<<gridFor(n), 256, 0, s>>>((int32_t*)y, n, (int32_t)value);
  else fillKernel<uint8_t><<<gridFor(n), 256, 0, s>>>((uint8_t*)y, n, value != 0 ? 1 : 0);
  checkLaunch("fillKernel");
}

void launchRange(int dt, void* y, int64_t n, double start, double step) {
  if (n <= 0) return;
  cudaStream_t s = ctx().stream;
  if (dt == F32) rangeKernel<float><<<gridFor(n), 256, 0, s>>>((float*)y, n, start, step);
  else rangeKernel<int32_t><<<gridFor(n), 256, 0, s>>>((int32_t*)y, n, start, step);
  checkLaunch("rangeKernel");
}

}  // namespace falcon
