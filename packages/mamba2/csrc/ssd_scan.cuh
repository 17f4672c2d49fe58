// The SSD recurrence on the GPU, shared by ssd_sequential_scan.cu (forward),
// ssd_sequential_scan_backward.cu and selective_state_update.cu (one decode step), and the
// launchers the bindings call.
//
// Layout (row-major, float32): x, z, y, dy `[b, l, h, p]`, dt `[b, l, h]`, A, D, dtBias `[h]`,
// B, C `[b, l, g, n]` (head i reads group i / (h/g)), states `[b, h, p, n]`, seqIdx int32 `[b, l]`.
// Per (batch, head, headdim row p) the recurrence over positions t, on the dstate-long state row s:
//   Δ_t = clamp(softplus?(dt_t + dtBias), [lo, hi]),  d_t = exp(Δ_t·A) (0 where a sequence starts),
//   s_t = d_t·s_{t−1} + Δ_t·x_t·B_t,  y_t = (C_t·s_t + D·x_t)·silu(z_t),  s_{−1} = initialStates.
// A position t ≥ 1 starts a sequence when seqIdx[t] ≠ seqIdx[t − 1]; there d_t = 0, so nothing
// flows across the boundary and the initial state feeds only the first sequence. This is the same
// function as the chunked form of the CPU kernel; the chunk size is not used (the result does not
// depend on it).
//
// Thread layout (Layout below): a block runs the recurrence of `rb` consecutive rows p of one
// (batch, head) over one slice of `w` consecutive state entries; a row is held by a team of `tl`
// lanes (a power of two, teams aligned inside the warp), each lane holding `npl` entries of the
// slice in registers (entry n0 + lane_in_team + tl·j, j < npl). The positions are walked in tiles of
// `k`: B_t and C_t of the slice, Δ_t, d_t and the rows' x_t are staged in shared memory first.
// Inside a tile only the state carries from one step to the next: each lane stores its part of a
// sum over the state (y = C·s) per step in shared memory, and after the tile a thread per
// (position, row) adds the team's parts and writes the result (consecutive rows on consecutive
// threads). With more than one slice (n > w), per-slice partial sums go to scratch and a second
// kernel adds them.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace falcon {
namespace mamba2 {
namespace ssd {

/** Sizes of one SSD problem (l = 1 for a decode step). */
struct Dims {
  int b, l, h, p, g, n;
};

/** Δ = clamp(softplus?(dt + dtBias), [lo, hi]); the clamp only when `clamp` (not the default [0, ∞]). */
struct TimeStep {
  bool softplus;
  bool clamp;
  float lo;
  float hi;
};

/** Inputs of an SSD call (device pointers; D, z, dtBias, init and seqIdx may be null). */
struct Inputs {
  const float* x;
  const float* dt;
  const float* A;
  const float* B;
  const float* C;
  const float* D;
  const float* z;
  const float* dtBias;
  const float* init;
  const int* seqIdx;
};

/** Outputs of the backward (dD, dz, ddtBias, dInit null when their input is absent). */
struct Grads {
  float* dx;
  float* ddt;
  float* dA;
  float* dB;
  float* dC;
  float* dD;
  float* dz;
  float* ddtBias;
  float* dInit;
};

/** Floats of scratch launchForward needs (0: none). */
int64_t forwardScratch(const Dims& d, int sms);
/** y `[b, l, h, p]` and finalStates `[b, h, p, n]`. */
cudaError_t launchForward(cudaStream_t stream, const Inputs& in, float* y, float* finalStates, float* scratch, const Dims& d,
                          const TimeStep& ts, int sms);
/** Floats of scratch launchBackward needs. */
int64_t backwardScratch(const Dims& d, int sms);
/** Every gradient, from dy `[b, l, h, p]` and dFinal `[b, h, p, n]`. */
cudaError_t launchBackward(cudaStream_t stream, const Inputs& in, const float* dy, const float* dFinal, const Grads& out, float* scratch,
                           const Dims& d, const TimeStep& ts, int sms);
/** One decode step from `state` (in.init is ignored): y `[b, h, p]`, newState `[b, h, p, n]` (d.l = 1). */
cudaError_t launchSelectiveStateUpdate(cudaStream_t stream, const float* state, const Inputs& in, float* y, float* newState, const Dims& d,
                                       const TimeStep& ts, int sms);

#ifdef __CUDACC__  // device code and the host-side layout: the .cu files only

constexpr unsigned kFull = 0xffffffffu;
/** Shared-memory budget of a block, in floats (48 KiB: no opt-in needed). */
constexpr int kSmemFloats = 12288;
/** The larger budget a kernel may opt into (112 KiB: two blocks per SM on sm_80 and sm_90). */
constexpr int kSmemFloatsLarge = 28672;

/** How a launch maps rows and state entries onto threads (see the file comment). */
struct Layout {
  int tl;   // lanes per row team (power of two ≤ 32)
  int npl;  // state entries per lane (1, 2, 4 or 8: the kernels' template argument)
  int w;    // slice width tl·npl
  int ns;   // slices ⌈n / w⌉
  int nw;   // warps per block
  int rb;   // rows per block nw·32/tl (so thread = row·tl + lane in team)
  int npt;  // row tiles ⌈p / rb⌉
  int k;    // positions per staged tile (power of two ≤ 32)
};

/**
 * The layout for a kernel with at most `nwMax` warps per block. The slice covers n when it can (up
 * to 256 entries); while the launch would have fewer than 16 warps per SM, the slice is halved
 * (more blocks, more partial sums). `k` is left to the kernel (see tileLength).
 */
inline Layout makeLayout(const Dims& d, int nwMax, int sms) {
  Layout L;
  L.tl = 1;
  while (L.tl < 32 && L.tl < d.n) L.tl <<= 1;
  L.npl = 1;
  while (L.npl < 8 && L.tl * L.npl < d.n) L.npl <<= 1;
  const int64_t target = (int64_t)sms * 16;
  for (;;) {
    L.w = L.tl * L.npl;
    L.ns = (d.n + L.w - 1) / L.w;
    const int rpw = 32 / L.tl;
    int nw = (d.p + rpw - 1) / rpw;
    if (nw > nwMax) nw = nwMax;
    const int rowCap = 128 / rpw > 1 ? 128 / rpw : 1;  // at most 128 rows per block
    if (nw > rowCap) nw = rowCap;
    L.nw = nw;
    L.rb = nw * rpw;
    L.npt = (d.p + L.rb - 1) / L.rb;
    const int64_t warps = (int64_t)d.b * d.h * L.npt * L.ns * L.nw;
    if (L.npl == 1 || warps >= target) break;
    L.npl >>= 1;
  }
  L.k = 32;
  return L;
}

/** The longest tile (power of two ≤ 32) whose `perPos` floats per position fit in `budget` floats. */
inline int tileLength(int perPos, int budget) {
  int k = 32;
  while (k > 1 && k * perPos > budget) k >>= 1;
  return k;
}

/**
 * Sum of the team partials `P[tt][r·tl + j]` (j < tl) of row r, in a rotated order so that the
 * threads reading neighbouring rows hit different banks.
 */
__device__ __forceinline__ float rowSum(const float* P, int r, int tl) {
  const float* pr = P + r * tl;
  float v = 0.f;
  for (int j = 0; j < tl; ++j) v += pr[(j + r) & (tl - 1)];
  return v;
}

/** Δ and dΔ/d(dt) for the raw value v = dt + dtBias (softplus is v itself above 20, as PyTorch). */
__device__ __forceinline__ void timeStep(float v, const TimeStep& ts, float& delta, float& slope) {
  float dv = v, s = 1.f;
  if (ts.softplus) {
    if (v <= 20.f) {
      const float e = expf(v);
      dv = log1pf(e);
      s = e / (1.f + e);
    } else {
      s = 1.f / (1.f + expf(-v));
    }
  }
  if (ts.clamp) {
    if (dv < ts.lo || dv > ts.hi) s = 0.f;
    dv = fminf(fmaxf(dv, ts.lo), ts.hi);
  }
  delta = dv;
  slope = s;
}

/** Sum over the `tl` lanes of a team (every lane of the team gets it); all 32 lanes must call. */
__device__ __forceinline__ float teamSum(float v, int tl) {
  for (int o = tl >> 1; o > 0; o >>= 1) v += __shfl_xor_sync(kFull, v, o);
  return v;
}

/** Sum over the teams of the warp, lane by lane within the team; all 32 lanes must call. */
__device__ __forceinline__ float crossTeamSum(float v, int tl) {
  for (int o = tl; o < 32; o <<= 1) v += __shfl_xor_sync(kFull, v, o);
  return v;
}

/** silu(z) = z·sigmoid(z). */
__device__ __forceinline__ float silu(float z) { return z / (1.f + expf(-z)); }

/** Where a block works: batch, head, group, the row and slice of this thread. */
struct Place {
  int bi, hi, gi;
  int tl;      // lane within the row team
  int r;       // row within the block
  int p0;      // first row of the block
  int pi;      // row p0 + r
  bool rowOk;  // pi < p
  int n0;      // first state entry of the slice
  int si;      // slice
  int64_t row; // (bi·h + hi)·p + pi: the row of a `[b, h, p, n]` state
};

__device__ __forceinline__ Place place(const Dims& d, const Layout& L) {
  Place q;
  q.bi = blockIdx.z;
  q.hi = blockIdx.y;
  q.gi = q.hi / (d.h / d.g);
  const int pt = blockIdx.x % L.npt;
  q.si = blockIdx.x / L.npt;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  q.tl = lane & (L.tl - 1);
  q.r = warp * (32 / L.tl) + lane / L.tl;
  q.p0 = pt * L.rb;
  q.pi = q.p0 + q.r;
  q.rowOk = q.pi < d.p;
  q.n0 = q.si * L.w;
  q.row = ((int64_t)q.bi * d.h + q.hi) * d.p + q.pi;
  return q;
}

/**
 * Calls f(tt, c) for every position tt < k and column c < cols of a tile: `span` lanes per position
 * (the power of two ≥ cols, at most 32) along the columns, the block's warps over the positions. No
 * divisions per element; a warp reads or writes consecutive columns (coalesced along p or n).
 */
template <typename F>
__device__ __forceinline__ void forTile(int k, int cols, F f) {
  int span = 32;
  while (span > 1 && span / 2 >= cols) span >>= 1;
  const int lane = threadIdx.x & 31, per = 32 / span;
  const int stride = (int)(blockDim.x >> 5) * per;
  for (int tt = (int)(threadIdx.x >> 5) * per + lane / span; tt < k; tt += stride)
    for (int c = lane & (span - 1); c < cols; c += span) f(tt, c);
}

/** Stage B_t, C_t of the slice for positions t0 ≤ t < t0 + k into Bs, Cs `[k][w]` (zeros past n; only B when Cs is null). */
__device__ __forceinline__ void stageBC(float* Bs, float* Cs, const Inputs& in, const Dims& d, const Layout& L, const Place& q, int t0, int k) {
  forTile(k, L.w, [&](int tt, int j) {
    const int nn = q.n0 + j;
    float bv = 0.f, cv = 0.f;
    if (nn < d.n) {
      const int64_t o = (((int64_t)q.bi * d.l + t0 + tt) * d.g + q.gi) * d.n + nn;
      bv = in.B[o];
      if (Cs) cv = in.C[o];
    }
    Bs[tt * L.w + j] = bv;
    if (Cs) Cs[tt * L.w + j] = cv;
  });
}

/** Stage Δ_t, d_t (0 at a sequence start) and, when `bn` is given, the sequence-start flag. */
__device__ __forceinline__ void stageTime(float* dl, float* dc, float* bn, const Inputs& in, const Dims& d, const TimeStep& ts, const Place& q,
                                          int t0, int k) {
  const float Ah = in.A[q.hi];
  const float bias = in.dtBias ? in.dtBias[q.hi] : 0.f;
  for (int i = threadIdx.x; i < k; i += blockDim.x) {
    const int t = t0 + i;
    const int64_t bt = (int64_t)q.bi * d.l + t;
    float delta, slope;
    timeStep(in.dt[bt * d.h + q.hi] + bias, ts, delta, slope);
    const bool start = in.seqIdx != nullptr && t > 0 && in.seqIdx[bt] != in.seqIdx[bt - 1];
    dl[i] = delta;
    dc[i] = start ? 0.f : expf(delta * Ah);
    if (bn) bn[i] = start ? 1.f : 0.f;
  }
}

/** Index of (position t, row pp) of the block's batch and head in a `[b, l, h, p]` tensor. */
__device__ __forceinline__ int64_t rowIndex(const Dims& d, const Place& q, int t, int pp) {
  return (((int64_t)q.bi * d.l + t) * d.h + q.hi) * d.p + pp;
}

/** Stage a `[b, l, h, p]` tensor's values of the block's rows into dst `[k][rb]` (zeros past p). */
__device__ __forceinline__ void stageRows(float* dst, const float* src, const Dims& d, const Layout& L, const Place& q, int t0, int k) {
  forTile(k, L.rb, [&](int tt, int r) {
    const int pp = q.p0 + r;
    dst[tt * L.rb + r] = pp < d.p ? src[rowIndex(d, q, t0 + tt, pp)] : 0.f;
  });
}

#endif  // __CUDACC__

}  // namespace ssd
}  // namespace mamba2
}  // namespace falcon
