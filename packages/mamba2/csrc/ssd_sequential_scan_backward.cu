// Backward of the SSD scan (FalconSsdChunkScanBackward), with the recurrence of ssd_scan.cuh.
// Per row (batch b, head i, headdim p) with g_t = dy_t·silu(z_t) (the gradient of y before the
// gate) and u_t = Δ_t·x_t:
//   λ_t = g_t·C_t + d_{t+1}·λ_{t+1}  (λ_{l−1} also gets dFinal): the gradient of the state s_t,
//   dC_t += g_t·s_t,  dB_t += u_t·λ_t  (summed over the group's heads and rows),
//   S1_t = λ_t·B_t:  dx_t = Δ_t·S1_t + D·g_t,  ∂Δ_t ∋ x_t·S1_t,
//   E_t = ∂L/∂(Δ_t·A) = d_t·λ_t·s_{t−1}:  ∂Δ_t ∋ A·E_t,  dA += Δ_t·E_t,  dInit = d_0·λ_0.
// E_t is computed directly as that dot product (a sum of products, no cancellation: identities
// such as E_t = g_t·Y_t + E_{t+1} − u_t·S1_t subtract nearly equal terms where Δ·|A| is large, and
// lose dA and ddt to rounding). It needs s_{t−1} while walking backwards: the states are
// checkpointed every kQ = 32 positions (memory ⌈l/32⌉·b·h·p·n, linear in seqlen), and before a
// chunk of 32 positions is walked backwards its states are recomputed forwards from its checkpoint
// into a per-block scratch in global memory (32 positions × the block's rows × its state slice, a
// warp's lanes on consecutive floats; ~25 MB at the 0.5B shape, mostly L2-resident since each
// chunk overwrites the previous one), read back by the same thread on the way back.
//
// ssdBackwardScanKernel (layout of ssd_scan.cuh, one block per batch, head, row tile and state
// slice): pass A runs the bare recurrence forwards and writes the checkpoints; pass B takes the
// chunks from last to first: forwards over the chunk (the states into the scratch, Y_t = C_t·s_t
// per slice into scratch for dz, dC), then backwards carrying λ (S1_t and E_t per slice into
// scratch, dB; dInit at the end). A chunk's inputs (B, C, Δ, d, x, g) are staged in shared memory
// once for both directions; the per-step partial sums go through work tiles of k ≤ 32 positions.
// dB and dC are summed over the block's rows in shared memory (shared atomics, the first lane team
// of each warp) per work tile, then added to the outputs with global float atomics (one per block,
// position and state entry: the summation order over row tiles and heads is not fixed, the only
// non-deterministic sums here).
// ssdBackwardRowsKernel (a warp per (b, t, head)) adds the slices and finishes dx, dz, ddt and the
// per-position terms of dA and dD; ssdBackwardHeadsKernel sums those over (b, t) per head, in a
// fixed order, into dA, dD and ddtBias.
#include "ssd_scan.cuh"

namespace falcon {
namespace mamba2 {
namespace ssd {
namespace {

/** Positions between checkpoints: the chunk recomputed at a time (a multiple of every tile length). */
constexpr int kQ = 32;

struct BackwardArgs {
  Inputs in;
  const float* dy;
  const float* dFinal;
  float* dB;
  float* dC;
  float* dInit;
  float* ck;   // [nc][b·h·p·n]: the state before positions 0, 32, 64, …
  float* st;   // [blocks][kc][npl][threads]: the states s_{t−1} of the chunk being walked, per block
  float* ys;   // [ns][b·l·h·p]: C_t·s_t per slice
  float* s1;   // [ns][b·l·h·p]: λ_t·B_t per slice
  float* e;    // [ns][b·l·h·p]: E_t per slice
  Dims d;
  TimeStep ts;
  Layout L;
  int nc;      // chunks ⌈l / kQ⌉
  int kc;      // positions per chunk min(kQ, l)
};

/** Shared floats per position of the staged chunk: B and C (w each), x and g (rb each), Δ and d. */
__host__ __device__ inline int chunkFloatsPerPos(const Layout& L) { return 2 * L.w + 2 * L.rb + 2; }
/** Shared floats per position of a work tile: the dB/dC sums (w) and the lanes' parts of two dot products (one each per thread). */
__host__ __device__ inline int tileFloatsPerPos(const Layout& L) { return L.w + 2 * L.nw * 32; }

/** The layout; `k` is the work tile, which always fits next to a staged chunk (k ≥ 8). */
Layout backwardLayout(const Dims& d, int sms) {
  Layout L = makeLayout(d, 16, sms);
  L.k = tileLength(tileFloatsPerPos(L), kSmemFloatsLarge - kQ * chunkFloatsPerPos(L));
  return L;
}

/** Stage g_t = dy_t·silu(z_t) of the block's rows into gs `[k][rb]`. */
__device__ __forceinline__ void stageGate(float* gs, const float* dy, const float* z, const Dims& d, const Layout& L, const Place& q, int t0,
                                          int k) {
  forTile(k, L.rb, [&](int tt, int r) {
    const int pp = q.p0 + r;
    float v = 0.f;
    if (pp < d.p) {
      const int64_t o = rowIndex(d, q, t0 + tt, pp);
      v = z ? dy[o] * silu(z[o]) : dy[o];
    }
    gs[tt * L.rb + r] = v;
  });
}

/** Add the block's sums red `[k][w]` to out `[b, l, g, n]` (global atomics; after a barrier). */
__device__ __forceinline__ void flush(float* out, const float* red, const Dims& d, const Layout& L, const Place& q, int t0, int k) {
  forTile(k, L.w, [&](int tt, int j) {
    const int nn = q.n0 + j;
    if (nn < d.n) atomicAdd(&out[(((int64_t)q.bi * d.l + t0 + tt) * d.g + q.gi) * d.n + nn], red[tt * L.w + j]);
  });
}

/** Add v (one value per lane: its state entry) over the rows of the warp into red[e] (shared atomics, first team only). */
__device__ __forceinline__ void addRows(float* red, int e, float v, int tl, bool lead) {
  v = crossTeamSum(v, tl);
  if (lead) atomicAdd(&red[e], v);
}

template <int NPL>
__global__ void __launch_bounds__(512, 2) ssdBackwardScanKernel(const BackwardArgs a) {
  const Dims& d = a.d;
  const Layout& L = a.L;
  const Place q = place(d, L);
  const int bd = blockDim.x;
  extern __shared__ float sm[];
  // the staged chunk (positions c0 + tc, tc < kQ) ...
  float* Bs = sm;                  // [kQ][w]
  float* Cs = Bs + kQ * L.w;       // [kQ][w]
  float* xs = Cs + kQ * L.w;       // [kQ][rb]
  float* gs = xs + kQ * L.rb;      // [kQ][rb]
  float* dl = gs + kQ * L.rb;      // [kQ]
  float* dc = dl + kQ;             // [kQ]
  // ... and a work tile (positions t0 + tt, tt < k)
  float* red = dc + kQ;            // [k][w]: the block's part of dC (forwards) / dB (backwards)
  float* P = red + L.k * L.w;      // [k][bd]: each lane's part of C_t·s_t (forwards) / λ_t·B_t (backwards)
  float* PE = P + L.k * bd;        // [k][bd]: each lane's part of λ_t·s_{t−1} (backwards)
  const int64_t total = (int64_t)d.b * d.l * d.h * d.p;
  const int64_t states = (int64_t)d.b * d.h * d.p * d.n;
  const bool lead = (threadIdx.x & 31) < L.tl;  // the first team of the warp adds the warp's sums
  // the lane's state entries: n0 + tl + j·tl, those below n (and in a real row) are used
  const int nl = q.n0 + q.tl;
  auto NN = [&](int j) { return nl + j * L.tl; };
  auto OK = [&](int j) { return q.rowOk && nl + j * L.tl < d.n; };
  // the thread's states in the block's scratch: position tc of the chunk, entry j at st[(tc·NPL + j)·bd]
  const int64_t blk = ((int64_t)blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
  float* st = a.st + blk * a.kc * NPL * bd + threadIdx.x;
  // stage positions c0 … c1 − 1 (after a barrier): B, Δ, d, x, and with `all` C and g
  auto stage = [&](int c0, int c1, bool all) {
    stageBC(Bs, all ? Cs : nullptr, a.in, d, L, q, c0, c1 - c0);
    stageTime(dl, dc, nullptr, a.in, d, a.ts, q, c0, c1 - c0);
    stageRows(xs, a.in.x, d, L, q, c0, c1 - c0);
    if (all) stageGate(gs, a.dy, a.in.z, d, L, q, c0, c1 - c0);
  };

  // pass A: forwards; the checkpoints (every chunk but the last is full: kQ positions)
  float s[NPL];  // the state (pass A), then the carry d_{t+1}·λ_{t+1} (pass B)
#pragma unroll
  for (int j = 0; j < NPL; ++j) s[j] = (a.in.init && OK(j)) ? a.in.init[q.row * d.n + NN(j)] : 0.f;
  for (int c = 0;; ++c) {
    float* ckc = a.ck + (int64_t)c * states + q.row * d.n;
#pragma unroll
    for (int j = 0; j < NPL; ++j)
      if (OK(j)) ckc[NN(j)] = s[j];
    if (c == a.nc - 1) break;
    __syncthreads();
    stage(c * kQ, (c + 1) * kQ, false);
    __syncthreads();
    for (int tc = 0; tc < kQ; ++tc) {
      const float dec = dc[tc];
      const float u = dl[tc] * xs[tc * L.rb + q.r];
      const float* Bt = Bs + tc * L.w + q.tl;
#pragma unroll
      for (int j = 0; j < NPL; ++j) s[j] = fmaf(dec, s[j], u * Bt[j * L.tl]);
    }
  }

  // pass B: the chunks from last to first, each staged once
#pragma unroll
  for (int j = 0; j < NPL; ++j) s[j] = OK(j) ? a.dFinal[q.row * d.n + NN(j)] : 0.f;
  for (int c = a.nc - 1; c >= 0; --c) {
    const int c0 = c * kQ, c1 = min(c0 + kQ, d.l);
    __syncthreads();
    stage(c0, c1, true);
    // forwards from the checkpoint: s_{t−1} into the scratch, Y_t and dC
    float f[NPL];
    {
      const float* ckc = a.ck + (int64_t)c * states + q.row * d.n;
#pragma unroll
      for (int j = 0; j < NPL; ++j) f[j] = OK(j) ? ckc[NN(j)] : 0.f;
    }
    for (int t0 = c0; t0 < c1; t0 += L.k) {
      const int k = min(L.k, c1 - t0);
      __syncthreads();  // the staging, or the previous tile's sums, are done
      for (int i = threadIdx.x; i < k * L.w; i += bd) red[i] = 0.f;
      __syncthreads();
      for (int tt = 0; tt < k; ++tt) {
        const int tc = t0 - c0 + tt;
        float* sp = st + (int64_t)tc * NPL * bd;
        const float dec = dc[tc];
        const float u = dl[tc] * xs[tc * L.rb + q.r];
        const float g = gs[tc * L.rb + q.r];
        const float* Bt = Bs + tc * L.w + q.tl;
        const float* Ct = Cs + tc * L.w + q.tl;
        float acc = 0.f;
#pragma unroll
        for (int j = 0; j < NPL; ++j) {
          sp[j * bd] = f[j];
          f[j] = fmaf(dec, f[j], u * Bt[j * L.tl]);
          acc = fmaf(Ct[j * L.tl], f[j], acc);
        }
        P[tt * bd + threadIdx.x] = acc;
#pragma unroll
        for (int j = 0; j < NPL; ++j) addRows(red, tt * L.w + q.tl + j * L.tl, g * f[j], L.tl, lead);
      }
      __syncthreads();
      forTile(k, L.rb, [&](int tt, int r) {
        if (q.p0 + r < d.p) a.ys[q.si * total + rowIndex(d, q, t0 + tt, q.p0 + r)] = rowSum(P + tt * bd, r, L.tl);
      });
      flush(a.dC, red, d, L, q, t0, k);
    }
    // backwards: λ (in s), S1_t, E_t = d_t·λ_t·s_{t−1}, dB
    for (int t0 = c0 + ((c1 - 1 - c0) / L.k) * L.k; t0 >= c0; t0 -= L.k) {
      const int k = min(L.k, c1 - t0);
      __syncthreads();
      for (int i = threadIdx.x; i < k * L.w; i += bd) red[i] = 0.f;
      __syncthreads();
      float nx[NPL];  // s_{t−1} of the next step, loaded one step ahead
#pragma unroll
      for (int j = 0; j < NPL; ++j) nx[j] = st[((int64_t)(t0 + k - 1 - c0) * NPL + j) * bd];
      for (int tt = k - 1; tt >= 0; --tt) {
        const int tc = t0 - c0 + tt;
        float sv[NPL];
#pragma unroll
        for (int j = 0; j < NPL; ++j) sv[j] = nx[j];
        if (tt > 0) {
#pragma unroll
          for (int j = 0; j < NPL; ++j) nx[j] = st[((int64_t)(tc - 1) * NPL + j) * bd];
        }
        const float dec = dc[tc];
        const float u = dl[tc] * xs[tc * L.rb + q.r];
        const float g = gs[tc * L.rb + q.r];
        const float* Bt = Bs + tc * L.w + q.tl;
        const float* Ct = Cs + tc * L.w + q.tl;
        float acc = 0.f, ea = 0.f;
#pragma unroll
        for (int j = 0; j < NPL; ++j) {
          const float lam = fmaf(g, Ct[j * L.tl], s[j]);
          acc = fmaf(lam, Bt[j * L.tl], acc);
          ea = fmaf(lam, sv[j], ea);
          addRows(red, tt * L.w + q.tl + j * L.tl, u * lam, L.tl, lead);
          s[j] = dec * lam;
        }
        P[tt * bd + threadIdx.x] = acc;
        PE[tt * bd + threadIdx.x] = ea;
      }
      __syncthreads();
      forTile(k, L.rb, [&](int tt, int r) {
        if (q.p0 + r < d.p) {
          const int64_t o = q.si * total + rowIndex(d, q, t0 + tt, q.p0 + r);
          a.s1[o] = rowSum(P + tt * bd, r, L.tl);
          a.e[o] = dc[t0 - c0 + tt] * rowSum(PE + tt * bd, r, L.tl);
        }
      });
      flush(a.dB, red, d, L, q, t0, k);
    }
  }
  if (a.dInit) {
#pragma unroll
    for (int j = 0; j < NPL; ++j)
      if (OK(j)) a.dInit[q.row * d.n + NN(j)] = s[j];
  }
}

struct RowsArgs {
  Inputs in;
  const float* dy;
  const float* ys;
  const float* s1;
  const float* e;
  Grads out;
  float* partA;  // [b·l·h]: Δ_t·Σ_p E_t
  float* partD;  // [b·l·h]: Σ_p g_t·x_t
  Dims d;
  TimeStep ts;
  int ns;
};

/** A warp per (b, t, head): the slices added, dx, dz, ddt and the (b, t) terms of dA and dD. */
__global__ void ssdBackwardRowsKernel(const RowsArgs a) {
  const Dims& d = a.d;
  const int lane = threadIdx.x & 31;
  const int64_t total = (int64_t)d.b * d.l * d.h * d.p;
  const int64_t nbth = (int64_t)d.b * d.l * d.h;
  const int64_t warps = (int64_t)gridDim.x * (blockDim.x >> 5);
  for (int64_t bth = blockIdx.x * (int64_t)(blockDim.x >> 5) + (threadIdx.x >> 5); bth < nbth; bth += warps) {
    const int hi = (int)(bth % d.h);
    float delta, slope;
    timeStep(a.in.dt[bth] + (a.in.dtBias ? a.in.dtBias[hi] : 0.f), a.ts, delta, slope);
    const float Dh = a.in.D ? a.in.D[hi] : 0.f;
    float sx = 0.f, se = 0.f, sgx = 0.f;
    for (int pi = lane; pi < d.p; pi += 32) {
      const int64_t o = bth * d.p + pi;
      float S1 = 0.f, E = 0.f, Y = 0.f;
      for (int si = 0; si < a.ns; ++si) {
        S1 += a.s1[si * total + o];
        E += a.e[si * total + o];
        Y += a.ys[si * total + o];
      }
      const float xv = a.in.x[o];
      float gv = a.dy[o];
      if (a.in.z) {
        const float zv = a.in.z[o];
        const float sg = 1.f / (1.f + expf(-zv));
        a.out.dz[o] = gv * fmaf(Dh, xv, Y) * sg * fmaf(zv, 1.f - sg, 1.f);
        gv *= zv * sg;
      }
      a.out.dx[o] = fmaf(delta, S1, Dh * gv);
      sx = fmaf(xv, S1, sx);
      se += E;
      sgx = fmaf(gv, xv, sgx);
    }
    for (int off = 16; off > 0; off >>= 1) {
      sx += __shfl_xor_sync(kFull, sx, off);
      se += __shfl_xor_sync(kFull, se, off);
      sgx += __shfl_xor_sync(kFull, sgx, off);
    }
    if (lane == 0) {
      a.out.ddt[bth] = fmaf(a.in.A[hi], se, sx) * slope;
      a.partA[bth] = delta * se;
      a.partD[bth] = sgx;
    }
  }
}

/** A block per head: dA, dD and ddtBias summed over (b, t) in a fixed order (in double). */
__global__ void ssdBackwardHeadsKernel(const float* __restrict__ partA, const float* __restrict__ partD, const float* __restrict__ ddt,
                                       float* dA, float* dD, float* ddtBias, int64_t bl, int h) {
  __shared__ double sh[3][32];
  const int hi = blockIdx.x;
  double va = 0, vd = 0, vb = 0;
  for (int64_t i = threadIdx.x; i < bl; i += blockDim.x) {
    va += partA[i * h + hi];
    vd += partD[i * h + hi];
    vb += ddt[i * h + hi];
  }
  for (int off = 16; off > 0; off >>= 1) {
    va += __shfl_xor_sync(kFull, va, off);
    vd += __shfl_xor_sync(kFull, vd, off);
    vb += __shfl_xor_sync(kFull, vb, off);
  }
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  if (lane == 0) {
    sh[0][warp] = va;
    sh[1][warp] = vd;
    sh[2][warp] = vb;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    double ta = 0, td = 0, tb = 0;
    for (int w = 0; w < nw; ++w) {
      ta += sh[0][w];
      td += sh[1][w];
      tb += sh[2][w];
    }
    dA[hi] = (float)ta;
    if (dD) dD[hi] = (float)td;
    if (ddtBias) ddtBias[hi] = (float)tb;
  }
}

}  // namespace

/** Floats of the per-block state scratch: blocks × min(kQ, l) positions × npl entries × threads. */
int64_t stateScratch(const Dims& d, const Layout& L) {
  const int64_t blocks = (int64_t)L.npt * L.ns * d.h * d.b;
  return blocks * (d.l < kQ ? d.l : kQ) * L.npl * L.nw * 32;
}

int64_t backwardScratch(const Dims& d, int sms) {
  const Layout L = backwardLayout(d, sms);
  const int64_t nc = (d.l + kQ - 1) / kQ;
  const int64_t total = (int64_t)d.b * d.l * d.h * d.p;
  return nc * d.b * d.h * d.p * d.n + stateScratch(d, L) + 3 * L.ns * total + 2 * (int64_t)d.b * d.l * d.h;
}

cudaError_t launchBackward(cudaStream_t stream, const Inputs& in, const float* dy, const float* dFinal, const Grads& out, float* scratch,
                           const Dims& d, const TimeStep& ts, int sms) {
  if (d.b == 0 || d.l == 0 || d.h == 0 || d.p == 0 || d.n == 0) return cudaSuccess;
  const Layout L = backwardLayout(d, sms);
  const int nc = (d.l + kQ - 1) / kQ;
  const int64_t total = (int64_t)d.b * d.l * d.h * d.p;
  const int64_t bth = (int64_t)d.b * d.l * d.h;
  float* ck = scratch;
  float* st = ck + (int64_t)nc * d.b * d.h * d.p * d.n;
  float* ys = st + stateScratch(d, L);
  float* s1 = ys + L.ns * total;
  float* e = s1 + L.ns * total;
  float* partA = e + L.ns * total;
  float* partD = partA + bth;
  const size_t bc = sizeof(float) * (size_t)d.b * d.l * d.g * d.n;
  cudaError_t err = cudaMemsetAsync(out.dB, 0, bc, stream);
  if (err == cudaSuccess) err = cudaMemsetAsync(out.dC, 0, bc, stream);
  if (err != cudaSuccess) return err;

  const BackwardArgs a{in, dy, dFinal, out.dB, out.dC, out.dInit, ck, st, ys, s1, e, d, ts, L, nc, d.l < kQ ? d.l : kQ};
  const dim3 grid(L.npt * L.ns, d.h, d.b);
  const int threads = L.nw * 32;
  const size_t smem = sizeof(float) * ((size_t)kQ * chunkFloatsPerPos(L) + (size_t)L.k * tileFloatsPerPos(L));
  auto kernel = L.npl == 1 ? ssdBackwardScanKernel<1> : L.npl == 2 ? ssdBackwardScanKernel<2> : L.npl == 4 ? ssdBackwardScanKernel<4> : ssdBackwardScanKernel<8>;
  if (smem > 48 * 1024) err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
  if (err != cudaSuccess) return err;
  kernel<<<grid, threads, smem, stream>>>(a);
  err = cudaGetLastError();
  if (err != cudaSuccess) return err;

  const RowsArgs r{in, dy, ys, s1, e, out, partA, partD, d, ts, L.ns};
  int64_t blocks = (bth + 7) / 8;
  if (blocks > (int64_t)sms * 16) blocks = (int64_t)sms * 16;
  ssdBackwardRowsKernel<<<(unsigned)blocks, 256, 0, stream>>>(r);
  ssdBackwardHeadsKernel<<<d.h, 256, 0, stream>>>(partA, partD, out.ddt, out.dA, out.dD, out.ddtBias, (int64_t)d.b * d.l, d.h);
  return cudaGetLastError();
}

}  // namespace ssd
}  // namespace mamba2
}  // namespace falcon
