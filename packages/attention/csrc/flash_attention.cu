// Flash attention forward (FlashAttention-2 style, float32 on CUDA cores):
//   out[b,i,h] = Σ_j softmax_j(s_ij) · v[b,j,h/G],   s_ij = scale·q_i·k_j − slope_h·|i + LK − L − j|
// over the keys query i may see (rowRange: causal bottom-right, windows, packed sequences; and the
// key padding mask), lse[b,h,i] = log Σ_j exp(s_ij) (−∞ and out = 0 for a query that sees no key).
//
// One block of 256 threads per (query tile of BQ rows, batch·head); the grid runs the last query
// tiles of every head first (under a causal mask they have the most keys). The block stages q·scale once, then
// walks the key tiles between its rows' lowest and highest visible key: K tile into shared memory,
// S = Q·Kᵀ in registers (4×4 per thread), online softmax per row (running max m and sum l, the
// accumulator rescaled by exp(m_old − m_new)), P into shared memory, V tile into the buffer K used,
// O += P·V in registers. Extra memory: none besides out and lse. Few queries (≤ kSplitMaxQueries
// per batch row, i.e. decoding) take the split-KV kernel of decode_attention.cu instead; with p.bf16
// (the backend's matmulPrecision 'bf16') head dims ≤ 128 take flash_attention_bf16.cu.
#include "attention.cuh"

namespace falcon {
namespace attention {
namespace {

template <int DMAX>
constexpr size_t forwardSmemBytes() {
  using T = Cfg<DMAX>;
  return sizeof(float) * ((size_t)T::BQ * T::LD + (size_t)T::BK * T::LD + (size_t)T::BK * (T::BQ + 4) + T::BK) + sizeof(int) * 2 * T::BQ;
}

template <int DMAX>
__global__ void __launch_bounds__(kThreads) flashForwardKernel(Problem p, const float* __restrict__ q, const float* __restrict__ k,
                                                               const float* __restrict__ v, float* __restrict__ out, float* __restrict__ lse) {
  using T = Cfg<DMAX>;
  constexpr int BQ = T::BQ, BK = T::BK, LD = T::LD, R = T::R, C = T::C, NC = T::NC, LDP = BQ + 4;
  extern __shared__ float4 smem4[];
  float* sQ = reinterpret_cast<float*>(smem4);  // [BQ][LD]   q·scale
  float* sKV = sQ + BQ * LD;                     // [BK][LD]   K tile, then V tile
  float* sP = sKV + BK * LD;                     // [BK][LDP]  probabilities, key-major
  float* sKeep = sP + BK * LDP;                  // [BK]       key padding of the tile
  int* sLo = reinterpret_cast<int*>(sKeep + BK);  // [BQ]      key range of each row
  int* sHi = sLo + BQ;
  __shared__ int sRange[2];

  const int tid = threadIdx.x, ty = tid >> 4, tx = tid & 15;
  const int BH = p.B * p.H, nTiles = (p.L + BQ - 1) / BQ;
  const int i0 = (nTiles - 1 - (int)(blockIdx.x / BH)) * BQ;  // the last query tiles first
  const int b = (int)(blockIdx.x % BH) / p.H, h = (int)(blockIdx.x % BH) % p.H, kh = h / (p.H / p.HK);
  const int D = p.D, D4 = (D + 3) & ~3;
  const int64_t qStride = (int64_t)p.H * D, kStride = (int64_t)p.HK * D;
  const float* kb = k + ((int64_t)b * p.kvRows * p.HK + kh) * D;
  const float* vb = v + ((int64_t)b * p.kvRows * p.HK + kh) * D;

  if (tid == 0) sRange[0] = INT_MAX, sRange[1] = -1;
  __syncthreads();
  loadRows(sQ, LD, q + (((int64_t)b * p.L + i0) * p.H + h) * D, qStride, BQ, p.L - i0, D, D4, p.scale);
  if (tid < BQ) {
    int lo = 1, hi = 0;
    if (i0 + tid < p.L) rowRange(p, i0 + tid, lo, hi);
    sLo[tid] = lo, sHi[tid] = hi;
    if (lo <= hi) atomicMin(&sRange[0], lo), atomicMax(&sRange[1], hi);
  }
  __syncthreads();
  const int jStart = sRange[0], jEnd = sRange[1];
  const float slope = p.slopes ? p.slopes[h] : 0.f;
  const int shift = p.LK - p.L;

  float m[R], l[R], acc[R][NC];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    m[r] = -INFINITY, l[r] = 0.f;
#pragma unroll
    for (int n = 0; n < NC; ++n) acc[r][n] = 0.f;
  }

  for (int j0 = jEnd < 0 ? 0 : jStart - jStart % BK; j0 <= jEnd; j0 += BK) {
    const int nk = min(BK, p.LK - j0);
    loadRows(sKV, LD, kb + j0 * kStride, kStride, BK, nk, D, D4);
    if (tid < BK) sKeep[tid] = (tid < nk && keyKept(p, b, j0 + tid)) ? 1.f : 0.f;
    __syncthreads();
    float s[R][C] = {};
    mmaNT<R, C>(sQ, LD, sKV, LD, D4 / 4, s, ty, tx);
    __syncthreads();  // K read by everyone: the buffer takes V
    loadRows(sKV, LD, vb + j0 * kStride, kStride, BK, nk, D, D4);

#pragma unroll
    for (int r = 0; r < R; ++r) {
      const int row = R * ty + r, lo = sLo[row], hi = sHi[row], pos = i0 + row + shift;
      float mx = -INFINITY;
#pragma unroll
      for (int c = 0; c < C; ++c) {
        const int j = j0 + tx + 16 * c;
        const bool ok = j >= lo && j <= hi && sKeep[tx + 16 * c] != 0.f;
        s[r][c] = ok ? s[r][c] - slope * fabsf((float)(pos - j)) : -INFINITY;
        mx = fmaxf(mx, s[r][c]);
      }
      const float mNew = fmaxf(m[r], rowMax16(mx));
      float sum = 0.f;
#pragma unroll
      for (int c = 0; c < C; ++c) {
        s[r][c] = mNew == -INFINITY ? 0.f : expf(s[r][c] - mNew);
        sum += s[r][c];
      }
      const float alpha = mNew == -INFINITY ? 1.f : expf(m[r] - mNew);
      l[r] = l[r] * alpha + rowSum16(sum);
      m[r] = mNew;
#pragma unroll
      for (int n = 0; n < NC; ++n) acc[r][n] *= alpha;
    }
#pragma unroll
    for (int c = 0; c < C; ++c) {
      float col[R];
#pragma unroll
      for (int r = 0; r < R; ++r) col[r] = s[r][c];
      storeR<R>(sP + (tx + 16 * c) * LDP + R * ty, col);
    }
    __syncthreads();
    mmaTN<R, NC>(sP, LDP, sKV, LD, nk, acc, ty, tx);
    __syncthreads();
  }

#pragma unroll
  for (int r = 0; r < R; ++r) {
    const int i = i0 + R * ty + r;
    if (i >= p.L) continue;
    const float inv = l[r] > 0.f ? 1.f / l[r] : 0.f;
    float* o = out + (((int64_t)b * p.L + i) * p.H + h) * D;
#pragma unroll
    for (int n = 0; n < NC; ++n) {
      const int d = tx + 16 * n;
      if (d < D) o[d] = acc[r][n] * inv;
    }
    if (tx == 0) lse[((int64_t)b * p.H + h) * p.L + i] = l[r] > 0.f ? m[r] + logf(l[r]) : -INFINITY;
  }
}

template <int DMAX>
void launchFlashForward(cudaStream_t s, const Problem& p, const float* q, const float* k, const float* v, float* out, float* lse) {
  constexpr size_t smem = forwardSmemBytes<DMAX>();
  static bool allowed = false;
  allowSharedMemory(flashForwardKernel<DMAX>, smem, allowed);
  const unsigned grid = (unsigned)((p.L + Cfg<DMAX>::BQ - 1) / Cfg<DMAX>::BQ) * p.B * p.H;
  flashForwardKernel<DMAX><<<grid, kThreads, smem, s>>>(p, q, k, v, out, lse);
  falcon::ext::checkLaunch("flashForwardKernel");
}

}  // namespace

int64_t forwardScratchFloats(const Problem& p) { return useSplitForward(p) ? splitScratchFloats(p) : 0; }

void attentionForward(cudaStream_t s, const Problem& p, const float* q, const float* k, const float* v, float* out, float* lse,
                      float* scratch) {
  if ((int64_t)p.B * p.L * p.H == 0) return;
  if (useSplitForward(p)) return splitForward(s, p, q, k, v, out, lse, scratch);
  if (useBf16TensorCores(p)) return bf16Forward(s, p, q, k, v, out, lse);
  dispatchHeadDim(p.D, [&](auto dm) { launchFlashForward<decltype(dm)::value>(s, p, q, k, v, out, lse); });
}

}  // namespace attention
}  // namespace falcon
