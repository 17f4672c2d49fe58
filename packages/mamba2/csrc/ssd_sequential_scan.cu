// Forward of the SSD scan (the op FalconSsdChunkScan), sequential, so the chunk size is not used:
// the recurrence of ssd_scan.cuh run position by position, a block per (batch, head, tile of rows,
// state slice), the state in registers.
// Per step and row: s ← d_t·s + (Δ_t·x_t)·B_t on the lane's entries and the lane's part of C_t·s
// into shared memory; after each tile of positions the parts are added per (position, row). One
// slice (n ≤ 256, unless split for parallelism) writes y = (C·s + D·x)·silu(z) at once; several
// write their partial C·s to scratch `[ns, b, l, h, p]` and ssdCombineKernel adds them, the skip
// connection and the gate. The final state is the registers after the last position. Up to 8
// warps per block (the staged B, C tile is shared by its rows); shared memory above 48 KiB is
// opted into per launch.
#include "ssd_scan.cuh"

namespace falcon {
namespace mamba2 {
namespace ssd {
namespace {

/** Shared floats per staged position: B, C (w each), the lanes' partial sums (one per thread), x, z (rb each), Δ, d. */
__host__ __device__ inline int forwardFloatsPerPos(const Layout& L) { return 2 * L.w + L.nw * 32 + 2 * L.rb + 2; }

struct ForwardArgs {
  Inputs in;
  float* y;
  float* fin;
  float* part;  // [ns][b·l·h·p] when ns > 1
  Dims d;
  TimeStep ts;
  Layout L;
};

Layout forwardLayout(const Dims& d, int sms) {
  Layout L = makeLayout(d, 8, sms);
  L.k = tileLength(forwardFloatsPerPos(L), kSmemFloatsLarge);
  return L;
}

/** (C·s + D·x)·silu(z) from C·s, x, z (when `gate`) and D. */
__device__ __forceinline__ float finish(float cs, float xv, float zv, float Dh, bool gate) {
  const float v = fmaf(Dh, xv, cs);
  return gate ? v * silu(zv) : v;
}

template <int NPL>
__global__ void __launch_bounds__(512) ssdForwardKernel(const ForwardArgs a) {
  const Dims& d = a.d;
  const Layout& L = a.L;
  const Place q = place(d, L);
  const int bd = blockDim.x;
  extern __shared__ float sm[];
  float* Bs = sm;                 // [k][w]
  float* Cs = Bs + L.k * L.w;     // [k][w]
  float* P = Cs + L.k * L.w;      // [k][bd]: each lane's part of C_t·s_t
  float* xs = P + L.k * bd;       // [k][rb]
  float* zs = xs + L.k * L.rb;    // [k][rb]
  float* dl = zs + L.k * L.rb;    // [k]
  float* dc = dl + L.k;           // [k]
  const int64_t total = (int64_t)d.b * d.l * d.h * d.p;
  const float Dh = a.in.D ? a.in.D[q.hi] : 0.f;
  const bool gate = a.in.z != nullptr;

  float s[NPL];
#pragma unroll
  for (int j = 0; j < NPL; ++j) {
    const int nn = q.n0 + q.tl + j * L.tl;
    s[j] = (a.in.init && q.rowOk && nn < d.n) ? a.in.init[q.row * d.n + nn] : 0.f;
  }
  for (int t0 = 0; t0 < d.l; t0 += L.k) {
    const int k = min(L.k, d.l - t0);
    __syncthreads();  // the previous tile is consumed
    stageBC(Bs, Cs, a.in, d, L, q, t0, k);
    stageTime(dl, dc, nullptr, a.in, d, a.ts, q, t0, k);
    stageRows(xs, a.in.x, d, L, q, t0, k);
    if (gate && L.ns == 1) stageRows(zs, a.in.z, d, L, q, t0, k);
    __syncthreads();
    // the recurrence: only s carries from one step to the next
#pragma unroll 4
    for (int tt = 0; tt < k; ++tt) {
      const float dec = dc[tt];
      const float u = dl[tt] * xs[tt * L.rb + q.r];
      const float* Bt = Bs + tt * L.w + q.tl;
      const float* Ct = Cs + tt * L.w + q.tl;
      float acc = 0.f;
#pragma unroll
      for (int j = 0; j < NPL; ++j) {
        s[j] = fmaf(dec, s[j], u * Bt[j * L.tl]);
        acc = fmaf(Ct[j * L.tl], s[j], acc);
      }
      P[tt * bd + threadIdx.x] = acc;
    }
    __syncthreads();
    // the tile's outputs: a thread per (position, row), consecutive rows on consecutive lanes
    forTile(k, L.rb, [&](int tt, int r) {
      const int pp = q.p0 + r;
      if (pp >= d.p) return;
      const float cs = rowSum(P + tt * bd, r, L.tl);
      const int64_t o = rowIndex(d, q, t0 + tt, pp);
      const int i = tt * L.rb + r;
      if (L.ns == 1) {
        a.y[o] = finish(cs, xs[i], gate ? zs[i] : 0.f, Dh, gate);
      } else {
        a.part[q.si * total + o] = cs;
      }
    });
  }
#pragma unroll
  for (int j = 0; j < NPL; ++j) {
    const int nn = q.n0 + q.tl + j * L.tl;
    if (q.rowOk && nn < d.n) a.fin[q.row * d.n + nn] = s[j];
  }
}

/** y = (Σ_slices part + D·x)·silu(z), element-wise over `[b, l, h, p]`. */
__global__ void ssdCombineKernel(const float* __restrict__ part, int ns, const Inputs in, float* __restrict__ y, int64_t total, int h, int p) {
  for (int64_t o = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; o < total; o += (int64_t)gridDim.x * blockDim.x) {
    float v = 0.f;
    for (int si = 0; si < ns; ++si) v += part[si * total + o];
    const int hi = (int)((o / p) % h);
    y[o] = finish(v, in.x[o], in.z ? in.z[o] : 0.f, in.D ? in.D[hi] : 0.f, in.z != nullptr);
  }
}

}  // namespace

int64_t forwardScratch(const Dims& d, int sms) {
  const Layout L = forwardLayout(d, sms);
  return L.ns > 1 ? (int64_t)L.ns * d.b * d.l * d.h * d.p : 0;
}

cudaError_t launchForward(cudaStream_t stream, const Inputs& in, float* y, float* finalStates, float* scratch, const Dims& d,
                          const TimeStep& ts, int sms) {
  if (d.b == 0 || d.l == 0 || d.h == 0 || d.p == 0 || d.n == 0) return cudaSuccess;
  const ForwardArgs a{in, y, finalStates, scratch, d, ts, forwardLayout(d, sms)};
  const Layout& L = a.L;
  const dim3 grid(L.npt * L.ns, d.h, d.b);
  const int threads = L.nw * 32;
  const size_t smem = sizeof(float) * (size_t)L.k * forwardFloatsPerPos(L);
  auto kernel = L.npl == 1 ? ssdForwardKernel<1> : L.npl == 2 ? ssdForwardKernel<2> : L.npl == 4 ? ssdForwardKernel<4> : ssdForwardKernel<8>;
  if (smem > 48 * 1024) {
    const cudaError_t err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    if (err != cudaSuccess) return err;
  }
  kernel<<<grid, threads, smem, stream>>>(a);
  if (L.ns > 1) {
    const int64_t total = (int64_t)d.b * d.l * d.h * d.p;
    int64_t blocks = (total + 255) / 256;
    if (blocks > (int64_t)sms * 8) blocks = (int64_t)sms * 8;
    ssdCombineKernel<<<(unsigned)blocks, 256, 0, stream>>>(scratch, L.ns, in, y, total, d.h, d.p);
  }
  return cudaGetLastError();
}

}  // namespace ssd
}  // namespace mamba2
}  // namespace falcon
