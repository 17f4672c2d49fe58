// Bindings of causalConv1d(+Backward) and gatedRmsNorm(+Backward): each takes the stream and one
// params struct (<falcon/params.h>; the TypeScript declarations are in
// src/kernels/cuda/conv_norm_addon.ts) and queues the kernels of causal_conv1d*.cu /
// gated_rms_norm*.cu. Pointers of absent optional inputs are 0 (null). The *Scratch functions tell
// the TypeScript side how many floats of scratch the backward needs (it allocates them; the addon
// never allocates).
#include "bindings.h"
#include "causal_conv1d.cuh"
#include "gated_rms_norm.cuh"

namespace falcon {
namespace mamba2 {
namespace {

struct CausalConv1dParams {
  const float *x, *weight, *bias, *initialState;
  const int* seqIdx;
  float *y, *finalState;
  int batch, seqlen, dim, dconv;
  bool silu;
  FALCON_PARAMS(x, weight, bias, initialState, seqIdx, y, finalState, batch, seqlen, dim, dconv, silu)
};

struct CausalConv1dBackwardScratchParams {
  int batch, seqlen, dim, dconv;
  bool hasBias, silu;
  FALCON_PARAMS(batch, seqlen, dim, dconv, hasBias, silu)
};

struct CausalConv1dBackwardParams {
  const float *x, *weight, *bias, *initialState;
  const int* seqIdx;
  const float *dy, *dFinalState;
  float *scratch, *dx, *dweight, *dbias, *dInitialState;
  int batch, seqlen, dim, dconv;
  bool silu;
  FALCON_PARAMS(x, weight, bias, initialState, seqIdx, dy, dFinalState, scratch, dx, dweight, dbias, dInitialState, batch, seqlen, dim,
                dconv, silu)
};

struct GatedRmsNormParams {
  const float *x, *weight, *z;
  float* y;
  int64_t rows;
  int dim, ngroups;
  float eps;
  bool normBeforeGate;
  FALCON_PARAMS(x, weight, z, y, rows, dim, ngroups, eps, normBeforeGate)
};

struct GatedRmsNormBackwardScratchParams {
  int64_t rows;
  int dim, ngroups;
  FALCON_PARAMS(rows, dim, ngroups)
};

struct GatedRmsNormBackwardParams {
  const float *x, *weight, *z, *dy;
  float *scratch, *dx, *dweight, *dz;
  int64_t rows;
  int dim, ngroups;
  float eps;
  bool normBeforeGate;
  FALCON_PARAMS(x, weight, z, dy, scratch, dx, dweight, dz, rows, dim, ngroups, eps, normBeforeGate)
};

void causalConv1d(cudaStream_t stream, const CausalConv1dParams& p) {
  ext::check(launchCausalConv1d(stream, p.x, p.weight, p.bias, p.initialState, p.seqIdx, p.y, p.finalState, p.batch, p.seqlen, p.dim,
                                p.dconv, p.silu),
             "causalConv1d");
}

double causalConv1dBackwardScratchFloats(const CausalConv1dBackwardScratchParams& p) {
  return (double)causalConv1dBackwardScratch(p.batch, p.seqlen, p.dim, p.dconv, p.hasBias, p.silu);
}

void causalConv1dBackward(cudaStream_t stream, const CausalConv1dBackwardParams& p) {
  ext::check(launchCausalConv1dBackward(stream, p.x, p.weight, p.bias, p.initialState, p.seqIdx, p.dy, p.dFinalState, p.scratch, p.dx,
                                        p.dweight, p.dbias, p.dInitialState, p.batch, p.seqlen, p.dim, p.dconv, p.silu),
             "causalConv1dBackward");
}

void gatedRmsNorm(cudaStream_t stream, const GatedRmsNormParams& p) {
  ext::check(launchGatedRmsNorm(stream, p.x, p.weight, p.z, p.y, p.rows, p.dim, p.ngroups, p.eps, p.normBeforeGate, ext::smCount()),
             "gatedRmsNorm");
}

double gatedRmsNormBackwardScratchFloats(const GatedRmsNormBackwardScratchParams& p) {
  return (double)gatedRmsNormBackwardScratch(p.rows, p.dim, p.ngroups, ext::smCount());
}

void gatedRmsNormBackward(cudaStream_t stream, const GatedRmsNormBackwardParams& p) {
  ext::check(launchGatedRmsNormBackward(stream, p.x, p.weight, p.z, p.dy, p.scratch, p.dx, p.dweight, p.dz, p.rows, p.dim, p.ngroups, p.eps,
                                        p.normBeforeGate, ext::smCount()),
             "gatedRmsNormBackward");
}

}  // namespace

void registerConvNorm(Napi::Env env, Napi::Object exports) {
  ext::bind(env, exports, "causalConv1d", causalConv1d);
  ext::bind(env, exports, "causalConv1dBackward", causalConv1dBackward);
  ext::bind(env, exports, "causalConv1dBackwardScratch", causalConv1dBackwardScratchFloats);
  ext::bind(env, exports, "gatedRmsNorm", gatedRmsNorm);
  ext::bind(env, exports, "gatedRmsNormBackward", gatedRmsNormBackward);
  ext::bind(env, exports, "gatedRmsNormBackwardScratch", gatedRmsNormBackwardScratchFloats);
}

}  // namespace mamba2
}  // namespace falcon
