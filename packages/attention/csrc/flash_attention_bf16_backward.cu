// Flash attention backward on bf16 tensor cores (matmulPrecision 'bf16'; the function and the
// notation of flash_attention_backward.cu, whose pre-pass computes Δ), head dims ≤ 128, in the
// register form of flash_attention_bf16.cuh. Operands are rounded to bf16 when staged (q·scale, k,
// v, dO) or repacked (P, dS); everything accumulates in float32.
//
// dk/dv kernel: one block of 4 warps per (key tile of 64, batch·query head), each warp owning 16
// keys, walks the query tiles that reach the tile (skipped from the tile's first and last rows;
// ranges are monotone): Sᵀ = K·(q·scale)ᵀ and dPᵀ = V·dOᵀ (16 keys × 64 queries per warp),
// Pᵀ = exp(Sᵀ − lse) over the visible pairs and dSᵀ = Pᵀ·(dPᵀ − Δ) on the registers, then
// dv += Pᵀ·dO and dk += dSᵀ·(q·scale) with Pᵀ and dSᵀ repacked as A operands and dO, q·scale staged
// transposed; dk and dv stay in registers and are written once per query head (the caller sums a
// group's heads, as for the float32 kernels; no atomics). The key tiles run first to last.
// dq kernel: one block per (query tile, batch·head), each warp owning 16 queries, walks the key
// tiles as the forward does: S, dP, then dS on the registers and dq += dS·K (K staged
// transposed); dq = scale·Σ is written once.
// Shared memory, bf16: K, V, q·scale, dO [64][DMAX + 8] plus (q·scale)ᵀ, dOᵀ [DMAX][72] for dk/dv
// (55 KB at DMAX 64, 107 KB at 128), or q·scale, dO, K, V plus Kᵀ for dq. Scores of tiles inside
// every row's key range, without padding mask or ALiBi, skip the per-element visibility test.
#include "flash_attention_bf16.cuh"

namespace falcon {
namespace attention {
namespace {

using namespace bf16;

template <int DMAX>
constexpr size_t bf16BackwardSmemBytes() {
  return sizeof(__nv_bfloat16) * (4 * (size_t)BQ * ldRows<DMAX>() + 2 * (size_t)DMAX * LDT) + sizeof(float) * (BK + 2 * BQ) +
         sizeof(int) * 2 * BQ;
}

/** Shared-memory tiles of both kernels (the dq kernel uses one transposed tile, for K). */
template <int DMAX>
struct Tiles {
  __nv_bfloat16 *sK, *sV, *sQ, *sdO, *sT0, *sT1;
  float *sKeep, *sLse, *sDel;
  int *sLo, *sHi;
  __device__ explicit Tiles(unsigned char* smem) {
    constexpr int LD = ldRows<DMAX>();
    sK = reinterpret_cast<__nv_bfloat16*>(smem);  // [BK][LD]
    sV = sK + BK * LD;                              // [BK][LD]
    sQ = sV + BK * LD;                              // [BQ][LD]    q·scale
    sdO = sQ + BQ * LD;                             // [BQ][LD]
    sT0 = sdO + BQ * LD;                            // [DMAX][LDT] (q·scale)ᵀ, or Kᵀ in the dq kernel
    sT1 = sT0 + DMAX * LDT;                         // [DMAX][LDT] dOᵀ
    sKeep = reinterpret_cast<float*>(sT1 + DMAX * LDT);
    sLse = sKeep + BK;
    sDel = sLse + BQ;
    sLo = reinterpret_cast<int*>(sDel + BQ);
    sHi = sLo + BQ;
  }
};

template <int DMAX>
__global__ void __launch_bounds__(kThreadsBf16) bf16DkvKernel(Problem p, const float* __restrict__ q, const float* __restrict__ k,
                                                              const float* __restrict__ v, const float* __restrict__ dout,
                                                              const float* __restrict__ lse, const float* __restrict__ delta,
                                                              float* __restrict__ dkOut, float* __restrict__ dvOut, int outRows) {
  constexpr int LD = ldRows<DMAX>(), KS = DMAX / 16, NO = DMAX / 8, NS = BQ / 8;
  extern __shared__ __align__(16) unsigned char smemBytes[];
  const Tiles<DMAX> t(smemBytes);
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, tq = lane & 3;
  const int BH = p.B * p.H;
  const int j0 = (int)(blockIdx.x / BH) * BK;
  const int b = (int)(blockIdx.x % BH) / p.H, h = (int)(blockIdx.x % BH) % p.H, kh = h / (p.H / p.HK);
  const int D = p.D, nk = min(BK, p.LK - j0), jLast = j0 + nk - 1;
  const int64_t qStride = (int64_t)p.H * D, kStride = (int64_t)p.HK * D;
  const int64_t kvo = (((int64_t)b * p.kvRows + j0) * p.HK + kh) * D;
  stage<DMAX>(t.sK, LD, nullptr, 0, k + kvo, kStride, BK, nk, D);
  stage<DMAX>(t.sV, LD, nullptr, 0, v + kvo, kStride, BK, nk, D);
  if (tid < BK) t.sKeep[tid] = (tid < nk && keyKept(p, b, j0 + tid)) ? 1.f : 0.f;
  const int r0 = warp * 16;  // the warp's keys r0 … r0 + 15 of the tile; this lane's: r0 + g, r0 + g + 8

  float dK[NO][4], dV[NO][4];
#pragma unroll
  for (int n = 0; n < NO; ++n)
#pragma unroll
    for (int e = 0; e < 4; ++e) dK[n][e] = dV[n][e] = 0.f;

  {
    const float slope = p.slopes ? p.slopes[h] : 0.f;
    for (int i0 = 0; i0 < p.L; i0 += BQ) {
      const int nq = min(BQ, p.L - i0);
      int lo0, hi0, lo1, hi1;
      rowRange(p, i0, lo0, hi0);
      rowRange(p, i0 + nq - 1, lo1, hi1);
      if (lo0 > jLast || hi1 < j0) continue;  // no row of the tile reaches these keys (block-uniform)
      __syncthreads();                        // the previous tile's reads are done
      const int64_t qo = (((int64_t)b * p.L + i0) * p.H + h) * D;
      stage<DMAX>(t.sQ, LD, t.sT0, LDT, q + qo, qStride, BQ, nq, D, p.scale);
      stage<DMAX>(t.sdO, LD, t.sT1, LDT, dout + qo, qStride, BQ, nq, D);
      loadRowInfo(p, b, h, i0, BQ, lse, delta, t.sLo, t.sHi, t.sLse, t.sDel, nullptr);
      // every query of the tile sees every key of it (each thread checks the row it wrote), without mask or ALiBi
      const bool interior = __syncthreads_and(tid >= BQ || (nk == BK && !p.mask && slope == 0.f && t.sLo[tid] <= j0 && t.sHi[tid] >= jLast));

      float st[NS][4], dpt[NS][4];
#pragma unroll
      for (int n = 0; n < NS; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e) st[n][e] = dpt[n][e] = 0.f;
#pragma unroll
      for (int kk = 0; kk < KS; ++kk) {
        uint32_t ka[4], va[4];
        loadA(ka, t.sK, LD, r0, kk * 16, lane);
        loadA(va, t.sV, LD, r0, kk * 16, lane);
#pragma unroll
        for (int n = 0; n < NS; ++n) {
          uint32_t qb[2], ob[2];
          loadB(qb, t.sQ, LD, n * 8, kk * 16, lane);
          loadB(ob, t.sdO, LD, n * 8, kk * 16, lane);
          mma(st[n], ka, qb);
          mma(dpt[n], va, ob);
        }
      }
#pragma unroll
      for (int n = 0; n < NS; ++n) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int key = r0 + g + 8 * (e >> 1), col = n * 8 + 2 * tq + (e & 1), j = j0 + key, i = i0 + col;
          const bool ok = interior || (t.sKeep[key] != 0.f && j >= t.sLo[col] && j <= t.sHi[col]);
          const float pv = ok ? __expf(st[n][e] - (interior ? 0.f : slope * fabsf((float)(i + p.LK - p.L - j))) - t.sLse[col]) : 0.f;
          st[n][e] = pv;
          dpt[n][e] = pv * (dpt[n][e] - t.sDel[col]);
        }
      }
#pragma unroll
      for (int kk = 0; kk < BQ / 16; ++kk) {
        uint32_t pa[4], da[4];
        accToA(pa, st[2 * kk], st[2 * kk + 1]);
        accToA(da, dpt[2 * kk], dpt[2 * kk + 1]);
#pragma unroll
        for (int n = 0; n < NO; ++n) {
          uint32_t ob[2], qb[2];
          loadB(ob, t.sT1, LDT, n * 8, kk * 16, lane);
          loadB(qb, t.sT0, LDT, n * 8, kk * 16, lane);
          mma(dV[n], pa, ob);
          mma(dK[n], da, qb);
        }
      }
    }
  }
#pragma unroll
  for (int rr = 0; rr < 2; ++rr) {
    const int key = r0 + g + 8 * rr;
    if (key >= nk) continue;
    const int64_t o = (((int64_t)b * outRows + j0 + key) * p.H + h) * D;
    float* dkr = dkOut + o;
    float* dvr = dvOut + o;
#pragma unroll
    for (int n = 0; n < NO; ++n) {
      const int c = n * 8 + 2 * tq;
      if (c < D) dkr[c] = dK[n][2 * rr], dvr[c] = dV[n][2 * rr];
      if (c + 1 < D) dkr[c + 1] = dK[n][2 * rr + 1], dvr[c + 1] = dV[n][2 * rr + 1];
    }
  }
}

template <int DMAX>
__global__ void __launch_bounds__(kThreadsBf16) bf16DqKernel(Problem p, const float* __restrict__ q, const float* __restrict__ k,
                                                             const float* __restrict__ v, const float* __restrict__ dout,
                                                             const float* __restrict__ lse, const float* __restrict__ delta,
                                                             float* __restrict__ dq) {
  constexpr int LD = ldRows<DMAX>(), KS = DMAX / 16, NO = DMAX / 8, NS = BK / 8;
  extern __shared__ __align__(16) unsigned char smemBytes[];
  const Tiles<DMAX> t(smemBytes);
  __shared__ int sRange[2];
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, tq = lane & 3;
  const int BH = p.B * p.H, nTiles = (p.L + BQ - 1) / BQ;
  const int i0 = (nTiles - 1 - (int)(blockIdx.x / BH)) * BQ;
  const int b = (int)(blockIdx.x % BH) / p.H, h = (int)(blockIdx.x % BH) % p.H, kh = h / (p.H / p.HK);
  const int D = p.D, nq = min(BQ, p.L - i0);
  const int64_t qStride = (int64_t)p.H * D, kStride = (int64_t)p.HK * D;
  const int64_t qo = (((int64_t)b * p.L + i0) * p.H + h) * D;
  const float* kb = k + ((int64_t)b * p.kvRows * p.HK + kh) * D;
  const float* vb = v + ((int64_t)b * p.kvRows * p.HK + kh) * D;
  if (tid == 0) sRange[0] = INT_MAX, sRange[1] = -1;
  __syncthreads();
  stage<DMAX>(t.sQ, LD, nullptr, 0, q + qo, qStride, BQ, nq, D, p.scale);
  stage<DMAX>(t.sdO, LD, nullptr, 0, dout + qo, qStride, BQ, nq, D);
  loadRowInfo(p, b, h, i0, BQ, lse, delta, t.sLo, t.sHi, t.sLse, t.sDel, sRange);
  __syncthreads();
  const int jStart = sRange[0], jEnd = sRange[1];
  const float slope = p.slopes ? p.slopes[h] : 0.f;
  const int r0 = warp * 16;  // the warp's queries; this lane's rows r0 + g and r0 + g + 8
  int lo[2], hi[2];
  float ls[2], del[2];
#pragma unroll
  for (int rr = 0; rr < 2; ++rr) {
    const int r = r0 + g + 8 * rr;
    lo[rr] = t.sLo[r], hi[rr] = t.sHi[r], ls[rr] = t.sLse[r], del[rr] = t.sDel[r];
  }
  uint32_t qa[KS][4], oa[KS][4];
#pragma unroll
  for (int kk = 0; kk < KS; ++kk) loadA(qa[kk], t.sQ, LD, r0, kk * 16, lane), loadA(oa[kk], t.sdO, LD, r0, kk * 16, lane);
  float dQ[NO][4];
#pragma unroll
  for (int n = 0; n < NO; ++n) dQ[n][0] = dQ[n][1] = dQ[n][2] = dQ[n][3] = 0.f;

  for (int j0 = jEnd < 0 ? 0 : jStart - jStart % BK; j0 <= jEnd; j0 += BK) {
    const int nk = min(BK, p.LK - j0);
    __syncthreads();  // the previous tile's K and V are read
    stage<DMAX>(t.sK, LD, t.sT0, LDT, kb + j0 * kStride, kStride, BK, nk, D);
    stage<DMAX>(t.sV, LD, nullptr, 0, vb + j0 * kStride, kStride, BK, nk, D);
    if (tid < BK) t.sKeep[tid] = (tid < nk && keyKept(p, b, j0 + tid)) ? 1.f : 0.f;
    __syncthreads();
    const int jLast = j0 + BK - 1;
    const bool interior = __all_sync(0xffffffffu, nk == BK && !p.mask && slope == 0.f && lo[0] <= j0 && hi[0] >= jLast && lo[1] <= j0 &&
                                                      hi[1] >= jLast);
    float s[NS][4], dp[NS][4];
#pragma unroll
    for (int n = 0; n < NS; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) s[n][e] = dp[n][e] = 0.f;
#pragma unroll
    for (int kk = 0; kk < KS; ++kk) {
#pragma unroll
      for (int n = 0; n < NS; ++n) {
        uint32_t kf[2], vf[2];
        loadB(kf, t.sK, LD, n * 8, kk * 16, lane);
        loadB(vf, t.sV, LD, n * 8, kk * 16, lane);
        mma(s[n], qa[kk], kf);
        mma(dp[n], oa[kk], vf);
      }
    }
#pragma unroll
    for (int n = 0; n < NS; ++n) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int rr = e >> 1, c = n * 8 + 2 * tq + (e & 1), j = j0 + c, i = i0 + r0 + g + 8 * rr;
        const bool ok = interior || (j >= lo[rr] && j <= hi[rr] && t.sKeep[c] != 0.f);
        const float pv = ok ? __expf(s[n][e] - (interior ? 0.f : slope * fabsf((float)(i + p.LK - p.L - j))) - ls[rr]) : 0.f;
        dp[n][e] = pv * (dp[n][e] - del[rr]);
      }
    }
#pragma unroll
    for (int kk = 0; kk < BK / 16; ++kk) {
      uint32_t da[4];
      accToA(da, dp[2 * kk], dp[2 * kk + 1]);
#pragma unroll
      for (int n = 0; n < NO; ++n) {
        uint32_t kf[2];
        loadB(kf, t.sT0, LDT, n * 8, kk * 16, lane);
        mma(dQ[n], da, kf);
      }
    }
  }
#pragma unroll
  for (int rr = 0; rr < 2; ++rr) {
    const int r = r0 + g + 8 * rr;
    if (r >= nq) continue;
    float* dqr = dq + qo + (int64_t)r * qStride;
#pragma unroll
    for (int n = 0; n < NO; ++n) {
      const int c = n * 8 + 2 * tq;
      if (c < D) dqr[c] = p.scale * dQ[n][2 * rr];
      if (c + 1 < D) dqr[c + 1] = p.scale * dQ[n][2 * rr + 1];
    }
  }
}

template <int DMAX>
void launchBf16Backward(cudaStream_t s, const Problem& p, const float* q, const float* k, const float* v, const float* dout,
                        const float* lse, const float* delta, float* dq, float* dkOut, float* dvOut, int outRows) {
  constexpr size_t smem = bf16BackwardSmemBytes<DMAX>();
  static bool allowedDkv = false, allowedDq = false;
  allowSharedMemory(bf16DkvKernel<DMAX>, smem, allowedDkv);
  allowSharedMemory(bf16DqKernel<DMAX>, smem, allowedDq);
  bf16DkvKernel<DMAX><<<(unsigned)((p.LK + BK - 1) / BK) * p.B * p.H, kThreadsBf16, smem, s>>>(p, q, k, v, dout, lse, delta, dkOut, dvOut, outRows);
  falcon::ext::checkLaunch("bf16DkvKernel");
  bf16DqKernel<DMAX><<<(unsigned)((p.L + BQ - 1) / BQ) * p.B * p.H, kThreadsBf16, smem, s>>>(p, q, k, v, dout, lse, delta, dq);
  falcon::ext::checkLaunch("bf16DqKernel");
}

}  // namespace

void bf16Backward(cudaStream_t s, const Problem& p, const float* q, const float* k, const float* v, const float* dout, const float* lse,
                  const float* delta, float* dq, float* dkOut, float* dvOut, int outRows) {
  dispatchHeadDimBf16(p.D, [&](auto dm) { launchBf16Backward<decltype(dm)::value>(s, p, q, k, v, dout, lse, delta, dq, dkOut, dvOut, outRows); });
}

}  // namespace attention
}  // namespace falcon
