// Backward of the SSD scan (FalconSsdChunkScanBackward), with the recurrence of ssd_scan.cuh.
// Per row (batch b, head i, headdim p) with g_t = dy_t·silu(z_t) (the gradient of y before the
// gate) and u_t = Δ_t·x_t:
//   λ_t = g_t·C_t + d_{t+1}·λ_{t+1}  (λ_{l−1} also gets dFinal): the gradient of the state s_t,
//   dC_t += g_t·s_t,  dB_t += u_t·λ_t  (summed over the group's heads and rows),
//   S1_t = λ_t·B_t:  dx_t = Δ_t·S1_t + D·g_t,  ∂Δ_t ∋ x_t·S1_t,
//   E_t = ∂L/∂(Δ_t·A) = d_t·λ_t·s_{t−1}:  ∂Δ_t ∋ A·E_t,  dA += Δ_t·E_t,  dInit = d_0·λ_0.
// E_t needs s_{t−1} while walking backwards. Instead of storing the states, it follows from the
// identity λ_t·s_t = g_t·(C_t·s_t) + E_{t+1} and s_t = d_t·s_{t−1} + u_t·B_t:
//   E_t = g_t·Y_t + E_{t+1} − u_t·S1_t  with Y_t = C_t·s_t (kept from the forward pass), E_t = 0 at
// a sequence start. The running sum is re-anchored every kQ = 64 positions at its exact value
// E_{c1} = (d_{c1}·λ_{c1})·s_{c1−1}, from the states checkpointed at those positions (memory
// ⌈l/64⌉·b·h·p·n, linear in seqlen), so rounding accumulates over at most 64 steps.
//
// ssdBackwardScanKernel (layout of ssd_scan.cuh, one block per batch, head, row tile and state
// slice): pass A runs the recurrence forwards, writing the checkpoints, Y per slice (scratch) and
// dC; pass B walks the positions backwards carrying λ, writing S1 and E per slice (scratch), dB and
// dInit. Within a tile of positions E is a suffix scan of the maps E ↦ a_t + b_t·E (a warp per row,
// a lane per position), so the sequential part is only λ. dB and dC are summed over the block's rows
// in shared memory (shared atomics, the first lane team of each warp) per tile of positions, then
// added to the outputs with global float atomics (one per block, position and state entry: the
// summation order over row tiles and heads is not fixed, the only non-deterministic sums here).
// ssdBackwardRowsKernel (a warp per (b, t, head)) adds the slices and finishes dx, dz, ddt and the
// per-position terms of dA and dD; ssdBackwardHeadsKernel sums those over (b, t) per head, in a
// fixed order, into dA, dD and ddtBias.
#include "ssd_scan.cuh"

namespace falcon {
namespace mamba2 {
namespace ssd {
namespace {

/** Positions between checkpoints (a multiple of every tile length). */
constexpr int kQ = 64;

struct BackwardArgs {
  Inputs in;
  const float* dy;
  const float* dFinal;
  float* dB;
  float* dC;
  float* dInit;
  float* ck;   // [nc + 1][b·h·p·n]: the state before positions 0, 64, 128, …, and the final state
  float* ys;   // [ns][b·l·h·p]: C_t·s_t per slice
  float* s1;   // [ns][b·l·h·p]: λ_t·B_t per slice
  float* e;    // [ns][b·l·h·p]: E_t per slice
  Dims d;
  TimeStep ts;
  Layout L;
  int nc;
};

/**
 * Shared floats per staged position: B, C and the dB/dC sums (w each), the lanes' partial sums
 * (one per thread), x, g, Y and S1 (rb each), Δ, d and the sequence-start flag.
 */
__host__ __device__ inline int backwardFloatsPerPos(const Layout& L) { return 3 * L.w + L.nw * 32 + 4 * L.rb + 3; }

Layout backwardLayout(const Dims& d, int sms) {
  Layout L = makeLayout(d, 16, sms);
  L.k = tileLength(backwardFloatsPerPos(L), kSmemFloatsLarge - L.rb);
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
  float* Bs = sm;                  // [k][w]
  float* Cs = Bs + L.k * L.w;      // [k][w]
  float* red = Cs + L.k * L.w;     // [k][w]: the block's part of dC (pass A) / dB (pass B)
  float* P = red + L.k * L.w;      // [k][bd]: each lane's part of C_t·s_t (A) / λ_t·B_t (B)
  float* xs = P + L.k * bd;        // [k][rb]
  float* gs = xs + L.k * L.rb;     // [k][rb]
  float* yS = gs + L.k * L.rb;     // [k][rb]: Y_t of the slice (pass B)
  float* s1S = yS + L.k * L.rb;    // [k][rb]: S1_t of the slice (pass B)
  float* dl = s1S + L.k * L.rb;    // [k]
  float* dc = dl + L.k;            // [k]
  float* bn = dc + L.k;            // [k]
  float* Er = bn + L.k;            // [rb]: E after the current tile, per row (set to the anchor at each chunk end)
  const int64_t total = (int64_t)d.b * d.l * d.h * d.p;
  const int64_t states = (int64_t)d.b * d.h * d.p * d.n;
  const bool lead = (threadIdx.x & 31) < L.tl;  // the first team of the warp adds the warp's sums
  // the lane's state entries: n0 + tl + j·tl, those below n (and in a real row) are used
  const int nl = q.n0 + q.tl;
  auto NN = [&](int j) { return nl + j * L.tl; };
  auto OK = [&](int j) { return q.rowOk && nl + j * L.tl < d.n; };

  // pass A: forwards; checkpoints, Y_t and dC
  float s[NPL];
#pragma unroll
  for (int j = 0; j < NPL; ++j) s[j] = (a.in.init && OK(j)) ? a.in.init[q.row * d.n + NN(j)] : 0.f;
  for (int t0 = 0; t0 < d.l; t0 += L.k) {
    const int k = min(L.k, d.l - t0);
    __syncthreads();
    stageBC(Bs, Cs, a.in, d, L, q, t0, k);
    stageTime(dl, dc, nullptr, a.in, d, a.ts, q, t0, k);
    stageRows(xs, a.in.x, d, L, q, t0, k);
    stageGate(gs, a.dy, a.in.z, d, L, q, t0, k);
    for (int i = threadIdx.x; i < k * L.w; i += bd) red[i] = 0.f;
    __syncthreads();
    for (int tt = 0; tt < k; ++tt) {
      const int t = t0 + tt;
      if (t % kQ == 0) {
        float* c = a.ck + (int64_t)(t / kQ) * states + q.row * d.n;
#pragma unroll
        for (int j = 0; j < NPL; ++j)
          if (OK(j)) c[NN(j)] = s[j];
      }
      const float dec = dc[tt];
      const float u = dl[tt] * xs[tt * L.rb + q.r];
      const float g = gs[tt * L.rb + q.r];
      const float* Bt = Bs + tt * L.w + q.tl;
      const float* Ct = Cs + tt * L.w + q.tl;
      float acc = 0.f;
#pragma unroll
      for (int j = 0; j < NPL; ++j) {
        s[j] = fmaf(dec, s[j], u * Bt[j * L.tl]);
        acc = fmaf(Ct[j * L.tl], s[j], acc);
      }
      P[tt * bd + threadIdx.x] = acc;
#pragma unroll
      for (int j = 0; j < NPL; ++j) addRows(red, tt * L.w + q.tl + j * L.tl, g * s[j], L.tl, lead);
    }
    __syncthreads();
    forTile(k, L.rb, [&](int tt, int r) {
      if (q.p0 + r < d.p) a.ys[q.si * total + rowIndex(d, q, t0 + tt, q.p0 + r)] = rowSum(P + tt * bd, r, L.tl);
    });
    flush(a.dC, red, d, L, q, t0, k);
  }
  {
    float* c = a.ck + (int64_t)a.nc * states + q.row * d.n;
#pragma unroll
    for (int j = 0; j < NPL; ++j)
      if (OK(j)) c[NN(j)] = s[j];
  }

  // pass B: backwards; λ (held in s as the carry d_{t+1}·λ_{t+1}), S1_t, E_t, dB, dInit.
#pragma unroll
  for (int j = 0; j < NPL; ++j) s[j] = OK(j) ? a.dFinal[q.row * d.n + NN(j)] : 0.f;
  for (int c = a.nc - 1; c >= 0; --c) {
    const int c0 = c * kQ, c1 = min(c0 + kQ, d.l);
    {
      const float* st = a.ck + (int64_t)(c + 1) * states + q.row * d.n;
      float e0 = 0.f;
#pragma unroll
      for (int j = 0; j < NPL; ++j)
        if (OK(j)) e0 = fmaf(s[j], st[NN(j)], e0);
      e0 = teamSum(e0, L.tl);
      __syncthreads();  // the previous tile's reads of Er are done
      if (q.tl == 0) Er[q.r] = e0;
    }
    for (int t0 = c0 + ((c1 - 1 - c0) / L.k) * L.k; t0 >= c0; t0 -= L.k) {
      const int k = min(L.k, c1 - t0);
      __syncthreads();
      stageBC(Bs, Cs, a.in, d, L, q, t0, k);
      stageTime(dl, dc, bn, a.in, d, a.ts, q, t0, k);
      stageRows(xs, a.in.x, d, L, q, t0, k);
      stageGate(gs, a.dy, a.in.z, d, L, q, t0, k);
      stageRows(yS, a.ys + q.si * total, d, L, q, t0, k);
      for (int i = threadIdx.x; i < k * L.w; i += bd) red[i] = 0.f;
      __syncthreads();
      for (int tt = k - 1; tt >= 0; --tt) {
        const float dec = dc[tt];
        const float u = dl[tt] * xs[tt * L.rb + q.r];
        const float g = gs[tt * L.rb + q.r];
        const float* Bt = Bs + tt * L.w + q.tl;
        const float* Ct = Cs + tt * L.w + q.tl;
        float acc = 0.f;
#pragma unroll
        for (int j = 0; j < NPL; ++j) {
          const float lam = fmaf(g, Ct[j * L.tl], s[j]);
          acc = fmaf(lam, Bt[j * L.tl], acc);
          addRows(red, tt * L.w + q.tl + j * L.tl, u * lam, L.tl, lead);
          s[j] = dec * lam;
        }
        P[tt * bd + threadIdx.x] = acc;
      }
      __syncthreads();
      forTile(k, L.rb, [&](int tt, int r) { s1S[tt * L.rb + r] = rowSum(P + tt * bd, r, L.tl); });
      flush(a.dB, red, d, L, q, t0, k);
      __syncthreads();
      // E_t = g_t·Y_t + E_{t+1} − u_t·S1_t (0 at a sequence start): per row, a suffix scan over the
      // tile's positions (a warp per row, a lane per position) of the maps E ↦ a_t + b_t·E, from
      // the row's E after the tile (Er[r]); Er[r] then becomes the E of the tile's first position
      for (int r = threadIdx.x >> 5; r < L.rb; r += bd >> 5) {
        const int lane = threadIdx.x & 31;
        float av = 0.f, bv = 1.f, S1 = 0.f;
        if (lane < k) {
          const int i = lane * L.rb + r;
          S1 = s1S[i];
          const bool start = bn[lane] != 0.f;
          av = start ? 0.f : fmaf(-dl[lane] * xs[i], S1, gs[i] * yS[i]);
          bv = start ? 0.f : 1.f;
        }
        for (int o = 1; o < 32; o <<= 1) {
          const float a2 = __shfl_down_sync(kFull, av, o);
          const float b2 = __shfl_down_sync(kFull, bv, o);
          if (lane + o < 32) {
            av = fmaf(bv, a2, av);
            bv *= b2;
          }
        }
        const float E = fmaf(bv, Er[r], av);
        if (lane < k && q.p0 + r < d.p) {
          const int64_t o = q.si * total + rowIndex(d, q, t0 + lane, q.p0 + r);
          a.s1[o] = S1;
          a.e[o] = E;
        }
        const float E0 = __shfl_sync(kFull, E, 0);
        __syncwarp();
        if (lane == 0) Er[r] = E0;
      }
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

int64_t backwardScratch(const Dims& d, int sms) {
  const Layout L = backwardLayout(d, sms);
  const int64_t nc = (d.l + kQ - 1) / kQ;
  const int64_t total = (int64_t)d.b * d.l * d.h * d.p;
  return (nc + 1) * d.b * d.h * d.p * d.n + 3 * L.ns * total + 2 * (int64_t)d.b * d.l * d.h;
}

cudaError_t launchBackward(cudaStream_t stream, const Inputs& in, const float* dy, const float* dFinal, const Grads& out, float* scratch,
                           const Dims& d, const TimeStep& ts, int sms) {
  if (d.b == 0 || d.l == 0 || d.h == 0 || d.p == 0 || d.n == 0) return cudaSuccess;
  const Layout L = backwardLayout(d, sms);
  const int nc = (d.l + kQ - 1) / kQ;
  const int64_t total = (int64_t)d.b * d.l * d.h * d.p;
  const int64_t bth = (int64_t)d.b * d.l * d.h;
  float* ck = scratch;
  float* ys = ck + (int64_t)(nc + 1) * d.b * d.h * d.p * d.n;
  float* s1 = ys + L.ns * total;
  float* e = s1 + L.ns * total;
  float* partA = e + L.ns * total;
  float* partD = partA + bth;
  const size_t bc = sizeof(float) * (size_t)d.b * d.l * d.g * d.n;
  cudaError_t err = cudaMemsetAsync(out.dB, 0, bc, stream);
  if (err == cudaSuccess) err = cudaMemsetAsync(out.dC, 0, bc, stream);
  if (err != cudaSuccess) return err;

  const BackwardArgs a{in, dy, dFinal, out.dB, out.dC, out.dInit, ck, ys, s1, e, d, ts, L, nc};
  const dim3 grid(L.npt * L.ns, d.h, d.b);
  const int threads = L.nw * 32;
  const size_t smem = sizeof(float) * ((size_t)L.k * backwardFloatsPerPos(L) + L.rb);
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
