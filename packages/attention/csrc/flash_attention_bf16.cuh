// Register tiles of the bf16 tensor-core attention kernels (flash_attention_bf16.cu,
// flash_attention_bf16_backward.cu): 4 warps per block, tiles of 64 queries × 64 keys, each warp
// owning 16 rows of a product. Products are `mma.sync.m16n8k16` with bf16 operands and float32
// accumulators, in the fragment layouts of the PTX ISA (g = lane / 4, t = lane % 4):
//   A 16×16 (4 × b32): {row g, cols 2t..2t+1}, {row g+8, same}, {row g, cols 2t+8..}, {row g+8, cols 2t+8..}
//   B 16×8  (2 × b32): {k 2t..2t+1, col g}, {k 2t+8.., col g}
//   C 16×8  (4 × f32): {row g, cols 2t, 2t+1}, {row g+8, cols 2t, 2t+1}
// so the accumulators of two adjacent 8-column tiles are, packed to bf16, the A fragment of the
// next product over those 16 columns (P·V without leaving registers). Operands sit in shared memory
// as bf16 [rows][DMAX + 8] (16-byte padding: the 32-bit fragment loads of a warp hit 32 different
// banks); a B operand whose k runs along a row of the source (V in P·V, Q and dO in the backward)
// is staged transposed, [DMAX][64 + 8], so that its fragments are 32-bit loads too.
#pragma once
#include <cuda_bf16.h>

#include <cstdint>

#include "attention.cuh"

namespace falcon {
namespace attention {
namespace bf16 {

constexpr int kWarps = 4;
constexpr int kThreadsBf16 = 32 * kWarps;
constexpr int BQ = 64;      // queries per tile
constexpr int BK = 64;      // keys per tile
constexpr int LDT = 64 + 8; // row stride (bf16) of transposed [DMAX][64] tiles

/** Row stride (bf16) of [rows][DMAX] tiles. */
template <int DMAX>
__host__ __device__ constexpr int ldRows() { return DMAX + 8; }

/** c += a·b on the tensor cores (m16n8k16, bf16 in, float32 accumulate). */
__device__ __forceinline__ void mma(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

/** Two floats as packed bf16 (lo in the low half). */
__device__ __forceinline__ uint32_t pack(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&v);
}

__device__ __forceinline__ uint32_t word(const __nv_bfloat16* p) { return *reinterpret_cast<const uint32_t*>(p); }

/** The A fragment of rows r0..r0+15, columns k0..k0+15 of a row-major bf16 tile (ld elements). */
__device__ __forceinline__ void loadA(uint32_t (&a)[4], const __nv_bfloat16* s, int ld, int r0, int k0, int lane) {
  const int g = lane >> 2, t = lane & 3;
  const __nv_bfloat16* p = s + (r0 + g) * ld + k0 + 2 * t;
  a[0] = word(p);
  a[1] = word(p + 8 * ld);
  a[2] = word(p + 8);
  a[3] = word(p + 8 * ld + 8);
}

/** The B fragment k0..k0+15 × n0..n0+7 of a tile stored n-major: element (k, n) at s[n·ld + k]. */
__device__ __forceinline__ void loadB(uint32_t (&b)[2], const __nv_bfloat16* s, int ld, int n0, int k0, int lane) {
  const int g = lane >> 2, t = lane & 3;
  const __nv_bfloat16* p = s + (n0 + g) * ld + k0 + 2 * t;
  b[0] = word(p);
  b[1] = word(p + 8);
}

/** The A fragment of 16 columns (two 8-column accumulator tiles lo, hi) of a 16-row result. */
__device__ __forceinline__ void accToA(uint32_t (&a)[4], const float (&lo)[4], const float (&hi)[4]) {
  a[0] = pack(lo[0], lo[1]);
  a[1] = pack(lo[2], lo[3]);
  a[2] = pack(hi[0], hi[1]);
  a[3] = pack(hi[2], hi[3]);
}

/**
 * Stage `rows` rows of D floats (row i at src + i·stride; rows ≥ nValid and columns ≥ D as zeros)
 * as bf16, times `mul`: row-major into dst [rows][ld] and/or transposed into dstT [DMAX][ldT]
 * (either may be null).
 */
template <int DMAX>
__device__ __forceinline__ void stage(__nv_bfloat16* dst, int ld, __nv_bfloat16* dstT, int ldT, const float* src, int64_t stride, int rows,
                                      int nValid, int D, float mul = 1.f) {
  for (int e = threadIdx.x; e < rows * DMAX; e += kThreadsBf16) {
    const int r = e / DMAX, d = e - r * DMAX;
    const __nv_bfloat16 v = __float2bfloat16_rn((r < nValid && d < D) ? src[r * stride + d] * mul : 0.f);
    if (dst) dst[r * ld + d] = v;
    if (dstT) dstT[d * ldT + r] = v;
  }
}

/** Calls f(std::integral_constant<int, DMAX>{}) with the class DMAX ∈ {64, 128} of head dim D ≤ 128. */
template <typename F>
void dispatchHeadDimBf16(int D, F&& f) {
  if (D <= 64) f(std::integral_constant<int, 64>{});
  else f(std::integral_constant<int, 128>{});
}

}  // namespace bf16
}  // namespace attention
}  // namespace falcon
