// Bindings of causalConv1d(+Backward) and gatedRmsNorm(+Backward): each reads the stream, the
// device pointers (0 for an absent optional input) and the sizes, and queues the kernels of
// causal_conv1d*.cu / gated_rms_norm*.cu. The *Scratch functions tell the TypeScript side how many
// floats of scratch the backward needs (it allocates them; the addon never allocates).
#include "bindings.h"
#include "causal_conv1d.cuh"
#include "gated_rms_norm.cuh"

namespace falcon {
namespace mamba2 {
namespace {

using ext::Args;

// causalConv1d(stream, x, weight, bias, initialState, seqIdx, y, finalState, batch, seqlen, dim, dconv, silu)
FALCON_EXTENSION_FUNCTION(js_causalConv1d) {
  Args a(info);
  ext::check(launchCausalConv1d(a.stream(0), a.ptr<const float>(1), a.ptr<const float>(2), a.ptr<const float>(3), a.ptr<const float>(4),
                                a.ptr<const int>(5), a.ptr<float>(6), a.ptr<float>(7), a.i32(8), a.i32(9), a.i32(10), a.i32(11), a.flag(12)),
             "causalConv1d");
  return info.Env().Undefined();
}

// causalConv1dBackwardScratch(batch, seqlen, dim, dconv, hasBias, silu) → floats
FALCON_EXTENSION_FUNCTION(js_causalConv1dBackwardScratch) {
  Args a(info);
  return Napi::Number::New(info.Env(), (double)causalConv1dBackwardScratch(a.i32(0), a.i32(1), a.i32(2), a.i32(3), a.flag(4), a.flag(5)));
}

// causalConv1dBackward(stream, x, weight, bias, initialState, seqIdx, dy, dFinalState, scratch,
//                      dx, dweight, dbias, dInitialState, batch, seqlen, dim, dconv, silu)
FALCON_EXTENSION_FUNCTION(js_causalConv1dBackward) {
  Args a(info);
  ext::check(launchCausalConv1dBackward(a.stream(0), a.ptr<const float>(1), a.ptr<const float>(2), a.ptr<const float>(3),
                                        a.ptr<const float>(4), a.ptr<const int>(5), a.ptr<const float>(6), a.ptr<const float>(7),
                                        a.ptr<float>(8), a.ptr<float>(9), a.ptr<float>(10), a.ptr<float>(11), a.ptr<float>(12), a.i32(13),
                                        a.i32(14), a.i32(15), a.i32(16), a.flag(17)),
             "causalConv1dBackward");
  return info.Env().Undefined();
}

// gatedRmsNorm(stream, x, weight, z, y, rows, dim, ngroups, eps, normBeforeGate)
FALCON_EXTENSION_FUNCTION(js_gatedRmsNorm) {
  Args a(info);
  ext::check(launchGatedRmsNorm(a.stream(0), a.ptr<const float>(1), a.ptr<const float>(2), a.ptr<const float>(3), a.ptr<float>(4), a.i64(5),
                                a.i32(6), a.i32(7), a.f32(8), a.flag(9), ext::smCount()),
             "gatedRmsNorm");
  return info.Env().Undefined();
}

// gatedRmsNormBackwardScratch(rows, dim, ngroups) → floats
FALCON_EXTENSION_FUNCTION(js_gatedRmsNormBackwardScratch) {
  Args a(info);
  return Napi::Number::New(info.Env(), (double)gatedRmsNormBackwardScratch(a.i64(0), a.i32(1), a.i32(2), ext::smCount()));
}

// gatedRmsNormBackward(stream, x, weight, z, dy, scratch, dx, dweight, dz, rows, dim, ngroups, eps, normBeforeGate)
FALCON_EXTENSION_FUNCTION(js_gatedRmsNormBackward) {
  Args a(info);
  ext::check(launchGatedRmsNormBackward(a.stream(0), a.ptr<const float>(1), a.ptr<const float>(2), a.ptr<const float>(3),
                                        a.ptr<const float>(4), a.ptr<float>(5), a.ptr<float>(6), a.ptr<float>(7), a.ptr<float>(8), a.i64(9),
                                        a.i32(10), a.i32(11), a.f32(12), a.flag(13), ext::smCount()),
             "gatedRmsNormBackward");
  return info.Env().Undefined();
}

}  // namespace

void registerConvNorm(Napi::Env env, Napi::Object exports) {
  exports.Set("causalConv1d", FALCON_FN(js_causalConv1d));
  exports.Set("causalConv1dBackward", FALCON_FN(js_causalConv1dBackward));
  exports.Set("causalConv1dBackwardScratch", FALCON_FN(js_causalConv1dBackwardScratch));
  exports.Set("gatedRmsNorm", FALCON_FN(js_gatedRmsNorm));
  exports.Set("gatedRmsNormBackward", FALCON_FN(js_gatedRmsNormBackward));
  exports.Set("gatedRmsNormBackwardScratch", FALCON_FN(js_gatedRmsNormBackwardScratch));
}

}  // namespace mamba2
}  // namespace falcon
