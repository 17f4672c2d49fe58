// Tensor-core tiles of the TF32 attention kernels (flash_attention_tc.cu, flash_attention_tc_backward.cu):
// 128 threads = 4 warps per block, tiles of 64 queries × 64 keys, each warp owning 16 rows of a
// tile; products through WMMA m16n16k8 with TF32 inputs (10-bit mantissa, rounded from the float32
// tiles in shared memory) and float32 accumulation. Tiles are float32 [rows][DMAX + 4] in shared
// memory, head dims zero-padded to the class DMAX (64 or 128). WMMA needs 32-byte aligned tile
// pointers: every tile offset below is a multiple of 8 floats (row strides are multiples of 4 and
// sub-tiles start at rows that are multiples of 8).
#pragma once
#include <mma.h>

#include "attention.cuh"

namespace falcon {
namespace attention {
namespace tc {

using namespace nvcuda;

constexpr int kWarps = 4;
constexpr int kThreadsTc = 32 * kWarps;
constexpr int BQ = 64;       // queries per tile
constexpr int BK = 64;       // keys per tile
constexpr int LDS = BK + 4;  // row stride of [BQ][BK] score tiles

using FragA = wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major>;
using FragAt = wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::col_major>;
using FragB = wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major>;
using FragBt = wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::col_major>;
using FragC = wmma::fragment<wmma::accumulator, 16, 16, 8, float>;

/** Rounds a loaded fragment's floats to TF32 (what the tensor cores read). */
template <class F>
__device__ __forceinline__ void toTf32(F& f) {
#pragma unroll
  for (int i = 0; i < f.num_elements; ++i) f.x[i] = wmma::__float_to_tf32(f.x[i]);
}

template <int N>
__device__ __forceinline__ void zero(FragC (&acc)[N]) {
#pragma unroll
  for (int n = 0; n < N; ++n) wmma::fill_fragment(acc[n], 0.f);
}

/** acc[n] += A·Bᵀ: A [16][K] row-major (lda), B [N·16][K] row-major (ldb): the 16 × N·16 block A·Bᵀ. */
template <int N>
__device__ __forceinline__ void mmaABt(FragC (&acc)[N], const float* a, int lda, const float* b, int ldb, int K) {
  for (int k = 0; k < K; k += 8) {
    FragA fa;
    wmma::load_matrix_sync(fa, a + k, lda);
    toTf32(fa);
#pragma unroll
    for (int n = 0; n < N; ++n) {
      FragBt fb;
      wmma::load_matrix_sync(fb, b + n * 16 * ldb + k, ldb);
      toTf32(fb);
      wmma::mma_sync(acc[n], fa, fb, acc[n]);
    }
  }
}

/** acc[n] += A·B: A [16][K] row-major (lda), B [K][N·16] row-major (ldb). */
template <int N>
__device__ __forceinline__ void mmaAB(FragC (&acc)[N], const float* a, int lda, const float* b, int ldb, int K) {
  for (int k = 0; k < K; k += 8) {
    FragA fa;
    wmma::load_matrix_sync(fa, a + k, lda);
    toTf32(fa);
#pragma unroll
    for (int n = 0; n < N; ++n) {
      FragB fb;
      wmma::load_matrix_sync(fb, b + k * ldb + n * 16, ldb);
      toTf32(fb);
      wmma::mma_sync(acc[n], fa, fb, acc[n]);
    }
  }
}

/** acc[n] += Aᵀ·B: A [K][16] row-major (lda; its transpose is the 16 × K operand), B [K][N·16] row-major (ldb). */
template <int N>
__device__ __forceinline__ void mmaAtB(FragC (&acc)[N], const float* a, int lda, const float* b, int ldb, int K) {
  for (int k = 0; k < K; k += 8) {
    FragAt fa;
    wmma::load_matrix_sync(fa, a + k * lda, lda);
    toTf32(fa);
#pragma unroll
    for (int n = 0; n < N; ++n) {
      FragB fb;
      wmma::load_matrix_sync(fb, b + k * ldb + n * 16, ldb);
      toTf32(fb);
      wmma::mma_sync(acc[n], fa, fb, acc[n]);
    }
  }
}

/** Stores the 16 × N·16 accumulators row-major at dst (ld). */
template <int N>
__device__ __forceinline__ void store(float* dst, int ld, const FragC (&acc)[N]) {
#pragma unroll
  for (int n = 0; n < N; ++n) wmma::store_matrix_sync(dst + n * 16, acc[n], ld, wmma::mem_row_major);
}

/** Calls f(std::integral_constant<int, DMAX>{}) with the class DMAX ∈ {64, 128} of head dim D ≤ 128. */
template <typename F>
void dispatchHeadDimTc(int D, F&& f) {
  if (D <= 64) f(std::integral_constant<int, 64>{});
  else f(std::integral_constant<int, 128>{});
}

}  // namespace tc
}  // namespace attention
}  // namespace falcon
