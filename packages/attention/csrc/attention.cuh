// Device helpers shared by the attention kernels: the per-query key range (causal alignment
// bottom-right, sliding windows, packed sequences), the key padding test, the register tiles of
// the 256-thread tiled kernels and the kernel configurations per head dim.
//
// Thread layout of the tiled kernels: 256 threads as 16 (ty) × 16 (tx). A tile product with R·16
// rows and C·16 columns gives thread (ty, tx) rows R·ty … R·ty + R − 1 and columns tx, tx + 16, …,
// tx + 16·(C − 1): the 16 threads that share a row are 16 consecutive lanes of one warp, so row
// maxima and sums are half-warp shuffles.
#pragma once
#include <falcon/extension.h>

#include <climits>
#include <cmath>
#include <string>
#include <type_traits>

#include "attention.h"

namespace falcon {
namespace attention {

constexpr int kThreads = 256;

/**
 * The inclusive range [lo, hi] of keys query i may see (hi < lo: none). Both bounds are
 * non-decreasing in i, which the kernels use to skip whole tiles.
 */
__device__ __forceinline__ void rowRange(const Problem& p, int i, int& lo, int& hi) {
  const int pos = i + p.LK - p.L;  // the query's position among the keys
  int a = 0, z = p.LK - 1;
  if (p.causal && pos < z) z = pos;
  if (p.wl >= 0 && pos - p.wl > a) a = pos - p.wl;
  if (p.wr >= 0 && pos + p.wr < z) z = pos + p.wr;
  if (p.cu) {
    // the query's sequence: the largest s ≤ nCu − 2 with cu[s] ≤ i
    int s0 = 0, s1 = p.nCu - 2;
    while (s0 < s1) {
      const int mid = (s0 + s1 + 1) >> 1;
      if (p.cu[mid] <= i) s0 = mid;
      else s1 = mid - 1;
    }
    a = max(a, p.cu[s0]);
    z = min(z, p.cu[s0 + 1] - 1);
  }
  lo = a;
  hi = z;
}

/** Whether key j of batch row b is kept by the key padding mask. */
__device__ __forceinline__ bool keyKept(const Problem& p, int b, int j) {
  if (!p.mask) return true;
  const int64_t o = (int64_t)b * p.kvRows + j;
  switch (p.maskType) {
    case kMaskF32: return static_cast<const float*>(p.mask)[o] != 0.f;
    case kMaskI32: return static_cast<const int*>(p.mask)[o] != 0;
    default: return static_cast<const unsigned char*>(p.mask)[o] != 0;
  }
}

/** Sum (or max) over the 16 lanes that share a row. */
__device__ __forceinline__ float rowSum16(float v) {
  for (int o = 8; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float rowMax16(float v) {
  for (int o = 8; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

/** R consecutive floats at p (16-byte aligned for R = 4, 8-byte for R = 2). */
template <int R>
__device__ __forceinline__ void loadR(const float* p, float (&a)[R]) {
  if constexpr (R == 4) {
    const float4 t = *reinterpret_cast<const float4*>(p);
    a[0] = t.x, a[1] = t.y, a[2] = t.z, a[3] = t.w;
  } else if constexpr (R == 2) {
    const float2 t = *reinterpret_cast<const float2*>(p);
    a[0] = t.x, a[1] = t.y;
  } else {
#pragma unroll
    for (int r = 0; r < R; ++r) a[r] = p[r];
  }
}
template <int R>
__device__ __forceinline__ void storeR(float* p, const float (&a)[R]) {
  if constexpr (R == 4) {
    *reinterpret_cast<float4*>(p) = make_float4(a[0], a[1], a[2], a[3]);
  } else if constexpr (R == 2) {
    *reinterpret_cast<float2*>(p) = make_float2(a[0], a[1]);
  } else {
#pragma unroll
    for (int r = 0; r < R; ++r) p[r] = a[r];
  }
}

/**
 * acc[r][c] += Σ_{k < 4·K4} A[R·ty + r][k] · B[tx + 16c][k]: both operands row-major in shared
 * memory with row strides lda, ldb (multiples of 4, ≡ 4 mod 32 for conflict-free float4 reads),
 * the contraction zero-padded to a multiple of 4.
 */
template <int R, int C>
__device__ __forceinline__ void mmaNT(const float* A, int lda, const float* B, int ldb, int K4, float (&acc)[R][C], int ty, int tx) {
#pragma unroll 2
  for (int k = 0; k < K4; ++k) {
    float4 a[R], b[C];
#pragma unroll
    for (int r = 0; r < R; ++r) a[r] = reinterpret_cast<const float4*>(A + (R * ty + r) * lda)[k];
#pragma unroll
    for (int c = 0; c < C; ++c) b[c] = reinterpret_cast<const float4*>(B + (tx + 16 * c) * ldb)[k];
#pragma unroll
    for (int r = 0; r < R; ++r) {
#pragma unroll
      for (int c = 0; c < C; ++c) {
        float s = acc[r][c];
        s = fmaf(a[r].x, b[c].x, s);
        s = fmaf(a[r].y, b[c].y, s);
        s = fmaf(a[r].z, b[c].z, s);
        s = fmaf(a[r].w, b[c].w, s);
        acc[r][c] = s;
      }
    }
  }
}

/**
 * acc[r][c] += Σ_{k < K} A[k][R·ty + r] · B[k][tx + 16c]: A stored k-major (row stride lda), B
 * row-major (row stride ldb).
 */
template <int R, int C>
__device__ __forceinline__ void mmaTN(const float* A, int lda, const float* B, int ldb, int K, float (&acc)[R][C], int ty, int tx) {
#pragma unroll 4
  for (int k = 0; k < K; ++k) {
    float a[R], b[C];
    loadR<R>(A + k * lda + R * ty, a);
#pragma unroll
    for (int c = 0; c < C; ++c) b[c] = B[k * ldb + tx + 16 * c];
#pragma unroll
    for (int r = 0; r < R; ++r) {
#pragma unroll
      for (int c = 0; c < C; ++c) acc[r][c] = fmaf(a[r], b[c], acc[r][c]);
    }
  }
}

/**
 * Copy `rows` rows of `D` floats (row i at src + i·stride; rows ≥ nValid read as zeros) into a
 * shared [rows][ld] tile, columns D … D4 − 1 zeroed, each value multiplied by `mul`.
 */
__device__ __forceinline__ void loadRows(float* dst, int ld, const float* src, int64_t stride, int rows, int nValid, int D, int D4,
                                         float mul = 1.f) {
  for (int e = threadIdx.x; e < rows * D4; e += kThreads) {
    const int r = e / D4, d = e - r * D4;
    dst[r * ld + d] = (r < nValid && d < D) ? src[r * stride + d] * mul : 0.f;
  }
}

/** Row data of a query tile: key range (empty when lse = −∞ or past L), lse and Δ. */
__device__ __forceinline__ void loadRowInfo(const Problem& p, int b, int h, int i0, int n, const float* lse, const float* delta, int* sLo,
                                            int* sHi, float* sLse, float* sDel, int* sRange) {
  if (threadIdx.x < n) {
    const int i = i0 + threadIdx.x;
    int lo = 1, hi = 0;
    float ls = 0.f, dl = 0.f;
    if (i < p.L) {
      const int64_t li = ((int64_t)b * p.H + h) * p.L + i;
      ls = lse[li];
      if (ls != -INFINITY) rowRange(p, i, lo, hi), dl = delta[li];
    }
    sLo[threadIdx.x] = lo, sHi[threadIdx.x] = hi, sLse[threadIdx.x] = ls, sDel[threadIdx.x] = dl;
    if (sRange && lo <= hi) atomicMin(&sRange[0], lo), atomicMax(&sRange[1], hi);
  }
}

/** Tile sizes for a head-dim class: DMAX ≤ 128 use 64 × 64 tiles, 256 uses 32 × 32 (shared memory). */
template <int DMAX>
struct Cfg {
  static constexpr int BQ = DMAX > 128 ? 32 : 64;  // query rows per tile
  static constexpr int BK = BQ;                    // keys per tile
  static constexpr int LD = DMAX + 4;              // row stride of [rows][headDim] tiles
  static constexpr int R = BQ / 16;                // rows per thread
  static constexpr int C = BK / 16;                // score columns per thread
  static constexpr int NC = DMAX / 16;             // head-dim columns per thread
};

/** Calls f(std::integral_constant<int, DMAX>{}) with the smallest head-dim class DMAX ≥ D (D ≤ kMaxHeadDim). */
template <typename F>
void dispatchHeadDim(int D, F&& f) {
  if (D <= 32) f(std::integral_constant<int, 32>{});
  else if (D <= 64) f(std::integral_constant<int, 64>{});
  else if (D <= 128) f(std::integral_constant<int, 128>{});
  else if (D <= kMaxHeadDim) f(std::integral_constant<int, 256>{});
  else throw std::runtime_error("attention: head dim " + std::to_string(D) + " exceeds the CUDA kernels' limit of 256");
}

/** Allows `bytes` of dynamic shared memory for `kernel` (a kernel instance always asks the same size). */
template <typename K>
void allowSharedMemory(K kernel, size_t bytes, bool& done) {
  if (done || bytes <= 48 * 1024) return;
  falcon::ext::check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes), "cudaFuncSetAttribute");
  done = true;
}

}  // namespace attention
}  // namespace falcon
