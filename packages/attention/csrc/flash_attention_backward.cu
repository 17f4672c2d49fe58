// Flash attention backward (FlashAttention-2 style, float32 on CUDA cores). With s_ij as in the
// forward (q pre-scaled), P_ij = exp(s_ij − lse_i) over the visible keys (recomputed from q, k and
// the forward's lse; a row with lse = −∞ sees no key and contributes nothing), and
//   Δ_i = Σ_d dout_i·out_i − dlse_i                        (pre-pass, one warp per row)
//   dS_ij = P_ij · (dout_i·v_j − Δ_i)
//   dv_j = Σ_i P_ij·dout_i,  dk_j = Σ_i dS_ij·q_i·scale,  dq_i = scale · Σ_j dS_ij·k_j
// dk and dv of a KV head sum the G = H / HK query heads of its group.
//
// dk/dv kernel: one block per (key tile, batch·query head) keeps K and V of its tile in shared
// memory and dk, dv in registers, and walks the query tiles whose key ranges reach the tile
// (ranges are monotone in the query index, so a tile is skipped from its first and last rows):
// Sᵀ = K·Qᵀ and dPᵀ = V·dOᵀ (4×4 per thread), P and dS through shared memory, dv += Pᵀ·dO,
// dk += dSᵀ·Q. With G > 1 each query head writes its own partial dk/dv to scratch
// [B, LK, H, D] and a last pass sums the group in a fixed order; no atomics anywhere.
// dq kernel (a separate pass instead of atomics, so results are deterministic): one block per
// (query tile, batch·head) walks its key tiles as the forward does, recomputing S and dP, and
// accumulates dq = dS·K in registers. Rows of dk/dv beyond LK (a cache's unused rows) are zeroed.
// Scratch: Δ [B, H, L], plus 2·B·LK·H·D floats when G > 1. With p.bf16 (head dims ≤ 128) the kernels
// of flash_attention_bf16_backward.cu replace the dk/dv and dq kernels (same partial sums).
#include "attention.cuh"

namespace falcon {
namespace attention {
namespace {

template <int DMAX>
constexpr size_t backwardSmemBytes() {
  using T = Cfg<DMAX>;
  // four [rows][LD] tiles, one [BK][BQ + 4] (or [BQ][BK + 4]) tile, keep[BK], lse and Δ [BQ], lo/hi [BQ]
  return sizeof(float) * (2 * (size_t)T::BQ * T::LD + 2 * (size_t)T::BK * T::LD + (size_t)T::BK * (T::BQ + 4) + T::BK + 2 * T::BQ) +
         sizeof(int) * 2 * T::BQ;
}

/** Δ[b,h,i] = Σ_d dout·out − dlse, one warp per (b, i, h) row. */
__global__ void backwardPrepKernel(Problem p, const float* __restrict__ out, const float* __restrict__ dout, const float* __restrict__ dlse,
                                   float* __restrict__ delta) {
  const int64_t rows = (int64_t)p.B * p.L * p.H;
  const int64_t warps = (int64_t)gridDim.x * (blockDim.x >> 5);
  const int lane = threadIdx.x & 31;
  for (int64_t t = (int64_t)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); t < rows; t += warps) {
    const float* o = out + t * p.D;
    const float* g = dout + t * p.D;
    float s = 0.f;
    for (int d = lane; d < p.D; d += 32) s = fmaf(o[d], g[d], s);
    for (int w = 16; w > 0; w >>= 1) s += __shfl_xor_sync(0xffffffffu, s, w);
    const int h = (int)(t % p.H), i = (int)((t / p.H) % p.L), b = (int)(t / ((int64_t)p.H * p.L));
    const int64_t li = ((int64_t)b * p.H + h) * p.L + i;
    if (lane == 0) delta[li] = dlse ? s - dlse[li] : s;
  }
}

template <int DMAX>
__global__ void __launch_bounds__(kThreads) dkvKernel(Problem p, const float* __restrict__ q, const float* __restrict__ k,
                                                      const float* __restrict__ v, const float* __restrict__ dout,
                                                      const float* __restrict__ lse, const float* __restrict__ delta,
                                                      float* __restrict__ dkOut, float* __restrict__ dvOut, int outRows) {
  using T = Cfg<DMAX>;
  constexpr int BQ = T::BQ, BK = T::BK, LD = T::LD, R = T::R, C = T::C, NC = T::NC, LDP = BK + 4;
  extern __shared__ float4 smem4[];
  float* sK = reinterpret_cast<float*>(smem4);  // [BK][LD]
  float* sV = sK + BK * LD;                      // [BK][LD]
  float* sQ = sV + BK * LD;                      // [BQ][LD]  q·scale
  float* sdO = sQ + BQ * LD;                     // [BQ][LD]
  float* sP = sdO + BQ * LD;                     // [BQ][LDP] P, then dS (query-major)
  float* sKeep = sP + BQ * LDP;                  // [BK]
  float* sLse = sKeep + BK;                      // [BQ]
  float* sDel = sLse + BQ;                       // [BQ]
  int* sLo = reinterpret_cast<int*>(sDel + BQ);  // [BQ]
  int* sHi = sLo + BQ;

  const int tid = threadIdx.x, ty = tid >> 4, tx = tid & 15;
  const int BH = p.B * p.H;
  const int j0 = (int)(blockIdx.x / BH) * BK;
  const int b = (int)(blockIdx.x % BH) / p.H, h = (int)(blockIdx.x % BH) % p.H, kh = h / (p.H / p.HK);
  const int D = p.D, D4 = (D + 3) & ~3, nk = min(BK, p.LK - j0), jLast = j0 + nk - 1;
  const int64_t qStride = (int64_t)p.H * D, kStride = (int64_t)p.HK * D;
  loadRows(sK, LD, k + (((int64_t)b * p.kvRows + j0) * p.HK + kh) * D, kStride, BK, nk, D, D4);
  loadRows(sV, LD, v + (((int64_t)b * p.kvRows + j0) * p.HK + kh) * D, kStride, BK, nk, D, D4);
  if (tid < BK) sKeep[tid] = (tid < nk && keyKept(p, b, j0 + tid)) ? 1.f : 0.f;
  const float slope = p.slopes ? p.slopes[h] : 0.f;
  const int shift = p.LK - p.L;

  float dK[R][NC] = {}, dV[R][NC] = {};
  for (int i0 = 0; i0 < p.L; i0 += BQ) {
    const int nq = min(BQ, p.L - i0);
    int lo0, hi0, lo1, hi1;
    rowRange(p, i0, lo0, hi0);
    rowRange(p, i0 + nq - 1, lo1, hi1);
    if (lo0 > jLast || hi1 < j0) continue;  // no row of the tile reaches these keys (block-uniform)
    __syncthreads();                        // the previous tile's reads are done
    const int64_t qo = (((int64_t)b * p.L + i0) * p.H + h) * D;
    loadRows(sQ, LD, q + qo, qStride, BQ, nq, D, D4, p.scale);
    loadRows(sdO, LD, dout + qo, qStride, BQ, nq, D, D4);
    loadRowInfo(p, b, h, i0, BQ, lse, delta, sLo, sHi, sLse, sDel, nullptr);
    __syncthreads();
    float st[R][C] = {}, dpt[R][C] = {};
    mmaNT<R, C>(sK, LD, sQ, LD, D4 / 4, st, ty, tx);
    mmaNT<R, C>(sV, LD, sdO, LD, D4 / 4, dpt, ty, tx);
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const int row = R * ty + r, j = j0 + row;
      const bool kept = sKeep[row] != 0.f;
#pragma unroll
      for (int c = 0; c < C; ++c) {
        const int col = tx + 16 * c;
        const bool ok = kept && j >= sLo[col] && j <= sHi[col];
        const float pv = ok ? expf(st[r][c] - slope * fabsf((float)(i0 + col + shift - j)) - sLse[col]) : 0.f;
        st[r][c] = pv;
        dpt[r][c] = pv * (dpt[r][c] - sDel[col]);
      }
    }
#pragma unroll
    for (int c = 0; c < C; ++c) {
      float col[R];
#pragma unroll
      for (int r = 0; r < R; ++r) col[r] = st[r][c];
      storeR<R>(sP + (tx + 16 * c) * LDP + R * ty, col);
    }
    __syncthreads();
    mmaTN<R, NC>(sP, LDP, sdO, LD, nq, dV, ty, tx);
    __syncthreads();
#pragma unroll
    for (int c = 0; c < C; ++c) {
      float col[R];
#pragma unroll
      for (int r = 0; r < R; ++r) col[r] = dpt[r][c];
      storeR<R>(sP + (tx + 16 * c) * LDP + R * ty, col);
    }
    __syncthreads();
    mmaTN<R, NC>(sP, LDP, sQ, LD, nq, dK, ty, tx);
  }

#pragma unroll
  for (int r = 0; r < R; ++r) {
    const int j = j0 + R * ty + r;
    if (j >= p.LK) continue;
    const int64_t o = (((int64_t)b * outRows + j) * p.H + h) * D;
#pragma unroll
    for (int n = 0; n < NC; ++n) {
      const int d = tx + 16 * n;
      if (d < D) dkOut[o + d] = dK[r][n], dvOut[o + d] = dV[r][n];
    }
  }
}

template <int DMAX>
__global__ void __launch_bounds__(kThreads) dqKernel(Problem p, const float* __restrict__ q, const float* __restrict__ k,
                                                     const float* __restrict__ v, const float* __restrict__ dout,
                                                     const float* __restrict__ lse, const float* __restrict__ delta, float* __restrict__ dq) {
  using T = Cfg<DMAX>;
  constexpr int BQ = T::BQ, BK = T::BK, LD = T::LD, R = T::R, C = T::C, NC = T::NC, LDP = BQ + 4;
  extern __shared__ float4 smem4[];
  float* sQ = reinterpret_cast<float*>(smem4);  // [BQ][LD]  q·scale
  float* sdO = sQ + BQ * LD;                     // [BQ][LD]
  float* sK = sdO + BQ * LD;                     // [BK][LD]
  float* sV = sK + BK * LD;                      // [BK][LD]
  float* sdS = sV + BK * LD;                     // [BK][LDP] dS, key-major
  float* sKeep = sdS + BK * LDP;                 // [BK]
  float* sLse = sKeep + BK;                      // [BQ]
  float* sDel = sLse + BQ;                       // [BQ]
  int* sLo = reinterpret_cast<int*>(sDel + BQ);  // [BQ]
  int* sHi = sLo + BQ;
  __shared__ int sRange[2];

  const int tid = threadIdx.x, ty = tid >> 4, tx = tid & 15;
  const int BH = p.B * p.H, nTiles = (p.L + BQ - 1) / BQ;
  const int i0 = (nTiles - 1 - (int)(blockIdx.x / BH)) * BQ;
  const int b = (int)(blockIdx.x % BH) / p.H, h = (int)(blockIdx.x % BH) % p.H, kh = h / (p.H / p.HK);
  const int D = p.D, D4 = (D + 3) & ~3, nq = min(BQ, p.L - i0);
  const int64_t qStride = (int64_t)p.H * D, kStride = (int64_t)p.HK * D;
  const float* kb = k + ((int64_t)b * p.kvRows * p.HK + kh) * D;
  const float* vb = v + ((int64_t)b * p.kvRows * p.HK + kh) * D;

  if (tid == 0) sRange[0] = INT_MAX, sRange[1] = -1;
  __syncthreads();
  const int64_t qo = (((int64_t)b * p.L + i0) * p.H + h) * D;
  loadRows(sQ, LD, q + qo, qStride, BQ, nq, D, D4, p.scale);
  loadRows(sdO, LD, dout + qo, qStride, BQ, nq, D, D4);
  loadRowInfo(p, b, h, i0, BQ, lse, delta, sLo, sHi, sLse, sDel, sRange);
  __syncthreads();
  const int jStart = sRange[0], jEnd = sRange[1];
  const float slope = p.slopes ? p.slopes[h] : 0.f;
  const int shift = p.LK - p.L;

  float acc[R][NC] = {};
  for (int j0 = jEnd < 0 ? 0 : jStart - jStart % BK; j0 <= jEnd; j0 += BK) {
    const int nk = min(BK, p.LK - j0);
    loadRows(sK, LD, kb + j0 * kStride, kStride, BK, nk, D, D4);
    loadRows(sV, LD, vb + j0 * kStride, kStride, BK, nk, D, D4);
    if (tid < BK) sKeep[tid] = (tid < nk && keyKept(p, b, j0 + tid)) ? 1.f : 0.f;
    __syncthreads();
    float s[R][C] = {}, dp[R][C] = {};
    mmaNT<R, C>(sQ, LD, sK, LD, D4 / 4, s, ty, tx);
    mmaNT<R, C>(sdO, LD, sV, LD, D4 / 4, dp, ty, tx);
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const int row = R * ty + r, lo = sLo[row], hi = sHi[row], pos = i0 + row + shift;
      const float ls = sLse[row], dl = sDel[row];
#pragma unroll
      for (int c = 0; c < C; ++c) {
        const int j = j0 + tx + 16 * c;
        const bool ok = j >= lo && j <= hi && sKeep[tx + 16 * c] != 0.f;
        const float pv = ok ? expf(s[r][c] - slope * fabsf((float)(pos - j)) - ls) : 0.f;
        s[r][c] = pv * (dp[r][c] - dl);
      }
    }
#pragma unroll
    for (int c = 0; c < C; ++c) {
      float col[R];
#pragma unroll
      for (int r = 0; r < R; ++r) col[r] = s[r][c];
      storeR<R>(sdS + (tx + 16 * c) * LDP + R * ty, col);
    }
    __syncthreads();
    mmaTN<R, NC>(sdS, LDP, sK, LD, nk, acc, ty, tx);
    __syncthreads();
  }

#pragma unroll
  for (int r = 0; r < R; ++r) {
    const int i = i0 + R * ty + r;
    if (i >= p.L) continue;
    float* o = dq + (((int64_t)b * p.L + i) * p.H + h) * D;
#pragma unroll
    for (int n = 0; n < NC; ++n) {
      const int d = tx + 16 * n;
      if (d < D) o[d] = acc[r][n] * p.scale;
    }
  }
}

/** dk[b,j,kh] = Σ_g part[b,j,kh·G + g] (and dv) for j < LK: the group sum of the per-head partials. */
__global__ void groupSumKernel(Problem p, const float* __restrict__ pk, const float* __restrict__ pv, float* __restrict__ dk,
                               float* __restrict__ dv) {
  const int G = p.H / p.HK;
  const int64_t n = (int64_t)p.B * p.LK * p.HK * p.D;
  for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
    const int d = (int)(e % p.D);
    const int64_t t = e / p.D;
    const int kh = (int)(t % p.HK);
    const int64_t bj = t / p.HK;  // b·LK + j
    const int64_t src = (bj * p.H + (int64_t)kh * G) * p.D + d;
    float sk = 0.f, sv = 0.f;
    for (int g = 0; g < G; ++g) sk += pk[src + (int64_t)g * p.D], sv += pv[src + (int64_t)g * p.D];
    const int64_t b = bj / p.LK, j = bj % p.LK;
    const int64_t dst = ((b * p.kvRows + j) * p.HK + kh) * p.D + d;
    dk[dst] = sk;
    dv[dst] = sv;
  }
}

template <int DMAX>
void launchBackward(cudaStream_t s, const Problem& p, const float* q, const float* k, const float* v, const float* dout,
                    const float* lse, const float* delta, float* dq, float* dkOut, float* dvOut, int outRows) {
  using T = Cfg<DMAX>;
  constexpr size_t smem = backwardSmemBytes<DMAX>();
  static bool allowedDkv = false, allowedDq = false;
  allowSharedMemory(dkvKernel<DMAX>, smem, allowedDkv);
  allowSharedMemory(dqKernel<DMAX>, smem, allowedDq);
  const unsigned BH = (unsigned)(p.B * p.H);
  dkvKernel<DMAX><<<(unsigned)((p.LK + T::BK - 1) / T::BK) * BH, kThreads, smem, s>>>(p, q, k, v, dout, lse, delta, dkOut, dvOut, outRows);
  falcon::ext::checkLaunch("dkvKernel");
  dqKernel<DMAX><<<(unsigned)((p.L + T::BQ - 1) / T::BQ) * BH, kThreads, smem, s>>>(p, q, k, v, dout, lse, delta, dq);
  falcon::ext::checkLaunch("dqKernel");
}

}  // namespace

int64_t backwardScratchFloats(const Problem& p) {
  const int64_t parts = p.H > p.HK ? 2 * (int64_t)p.B * p.LK * p.H * p.D : 0;
  return (int64_t)p.B * p.H * p.L + parts;
}

void attentionBackward(cudaStream_t s, const Problem& p, const float* q, const float* k, const float* v, const float* out,
                       const float* dout, const float* lse, const float* dlse, float* dq, float* dk, float* dv, float* scratch) {
  if ((int64_t)p.B * p.L * p.H * p.D == 0) return;
  const size_t kvBytes = sizeof(float) * (size_t)p.B * p.kvRows * p.HK * p.D;
  if (p.LK < p.kvRows) {
    falcon::ext::check(cudaMemsetAsync(dk, 0, kvBytes, s), "cudaMemsetAsync");
    falcon::ext::check(cudaMemsetAsync(dv, 0, kvBytes, s), "cudaMemsetAsync");
  }
  if (p.LK == 0) {  // kvLength 0: no key takes part
    falcon::ext::check(cudaMemsetAsync(dq, 0, sizeof(float) * (size_t)p.B * p.L * p.H * p.D, s), "cudaMemsetAsync");
    return;
  }
  float* delta = scratch;
  const int64_t rows = (int64_t)p.B * p.L * p.H;
  backwardPrepKernel<<<falcon::ext::gridFor(rows * 32, 256), 256, 0, s>>>(p, out, dout, dlse, delta);
  falcon::ext::checkLaunch("backwardPrepKernel");
  const bool grouped = p.H > p.HK;
  float* pk = grouped ? delta + (int64_t)p.B * p.H * p.L : dk;
  float* pv = grouped ? pk + (int64_t)p.B * p.LK * p.H * p.D : dv;
  const int outRows = grouped ? p.LK : p.kvRows;
  if (useBf16TensorCores(p)) bf16Backward(s, p, q, k, v, dout, lse, delta, dq, pk, pv, outRows);
  else dispatchHeadDim(p.D, [&](auto dm) { launchBackward<decltype(dm)::value>(s, p, q, k, v, dout, lse, delta, dq, pk, pv, outRows); });
  if (grouped) {
    groupSumKernel<<<falcon::ext::gridFor((int64_t)p.B * p.LK * p.HK * p.D), 256, 0, s>>>(p, pk, pv, dk, dv);
    falcon::ext::checkLaunch("groupSumKernel");
  }
}

}  // namespace attention
}  // namespace falcon
