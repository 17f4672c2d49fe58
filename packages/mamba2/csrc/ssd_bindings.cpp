// Bindings of ssdChunkScan(+Backward) and selectiveStateUpdate: each reads the stream, the device
// pointers (0 for an absent optional input), the sizes and the time-step attributes, and queues the
// kernels of ssd_chunk_scan.cu, ssd_chunk_scan_backward.cu and selective_state_update.cu. The
// *Scratch functions tell the TypeScript side how many floats of scratch a call needs (it allocates
// them; the addon never allocates).
#include "bindings.h"
#include "ssd_scan.cuh"

namespace falcon {
namespace mamba2 {
namespace {

using ext::Args;

/** x, dt, A, B, C, D, z, dtBias, initialStates, seqIdx from arguments i … i + 9. */
ssd::Inputs inputsAt(const Args& a, size_t i) {
  return ssd::Inputs{a.ptr<const float>(i),     a.ptr<const float>(i + 1), a.ptr<const float>(i + 2), a.ptr<const float>(i + 3),
                     a.ptr<const float>(i + 4), a.ptr<const float>(i + 5), a.ptr<const float>(i + 6), a.ptr<const float>(i + 7),
                     a.ptr<const float>(i + 8), a.ptr<const int>(i + 9)};
}

/** batch, seqlen, nheads, headdim, ngroups, dstate from arguments i … i + 5. */
ssd::Dims dimsAt(const Args& a, size_t i) { return ssd::Dims{a.i32(i), a.i32(i + 1), a.i32(i + 2), a.i32(i + 3), a.i32(i + 4), a.i32(i + 5)}; }

/** softplus, clamp, lo, hi from arguments i … i + 3. */
ssd::TimeStep timeStepAt(const Args& a, size_t i) { return ssd::TimeStep{a.flag(i), a.flag(i + 1), a.f32(i + 2), a.f32(i + 3)}; }

// ssdChunkScanScratch(batch, seqlen, nheads, headdim, ngroups, dstate) → floats
FALCON_EXTENSION_FUNCTION(js_ssdChunkScanScratch) {
  Args a(info);
  return Napi::Number::New(info.Env(), (double)ssd::forwardScratch(dimsAt(a, 0), ext::smCount()));
}

// ssdChunkScan(stream, x, dt, A, B, C, D, z, dtBias, initialStates, seqIdx, y, finalStates, scratch,
//              batch, seqlen, nheads, headdim, ngroups, dstate, softplus, clamp, lo, hi)
FALCON_EXTENSION_FUNCTION(js_ssdChunkScan) {
  Args a(info);
  ext::check(ssd::launchForward(a.stream(0), inputsAt(a, 1), a.ptr<float>(11), a.ptr<float>(12), a.ptr<float>(13), dimsAt(a, 14),
                                timeStepAt(a, 20), ext::smCount()),
             "ssdChunkScan");
  return info.Env().Undefined();
}

// ssdChunkScanBackwardScratch(batch, seqlen, nheads, headdim, ngroups, dstate) → floats
FALCON_EXTENSION_FUNCTION(js_ssdChunkScanBackwardScratch) {
  Args a(info);
  return Napi::Number::New(info.Env(), (double)ssd::backwardScratch(dimsAt(a, 0), ext::smCount()));
}

// ssdChunkScanBackward(stream, x, dt, A, B, C, D, z, dtBias, initialStates, seqIdx, dy, dFinalStates, scratch,
//                      dx, ddt, dA, dB, dC, dD, dz, ddtBias, dInitialStates,
//                      batch, seqlen, nheads, headdim, ngroups, dstate, softplus, clamp, lo, hi)
FALCON_EXTENSION_FUNCTION(js_ssdChunkScanBackward) {
  Args a(info);
  const ssd::Grads g{a.ptr<float>(14), a.ptr<float>(15), a.ptr<float>(16), a.ptr<float>(17), a.ptr<float>(18),
                     a.ptr<float>(19), a.ptr<float>(20), a.ptr<float>(21), a.ptr<float>(22)};
  ext::check(ssd::launchBackward(a.stream(0), inputsAt(a, 1), a.ptr<const float>(11), a.ptr<const float>(12), g, a.ptr<float>(13),
                                 dimsAt(a, 23), timeStepAt(a, 29), ext::smCount()),
             "ssdChunkScanBackward");
  return info.Env().Undefined();
}

// selectiveStateUpdate(stream, state, x, dt, A, B, C, D, z, dtBias, y, newState,
//                      batch, nheads, headdim, ngroups, dstate, softplus, clamp, lo, hi)
FALCON_EXTENSION_FUNCTION(js_selectiveStateUpdate) {
  Args a(info);
  const ssd::Inputs in{a.ptr<const float>(2), a.ptr<const float>(3), a.ptr<const float>(4), a.ptr<const float>(5), a.ptr<const float>(6),
                       a.ptr<const float>(7), a.ptr<const float>(8), a.ptr<const float>(9), nullptr,           nullptr};
  const ssd::Dims d{a.i32(12), 1, a.i32(13), a.i32(14), a.i32(15), a.i32(16)};
  ext::check(ssd::launchSelectiveStateUpdate(a.stream(0), a.ptr<const float>(1), in, a.ptr<float>(10), a.ptr<float>(11), d, timeStepAt(a, 17),
                                             ext::smCount()),
             "selectiveStateUpdate");
  return info.Env().Undefined();
}

}  // namespace

void registerSsd(Napi::Env env, Napi::Object exports) {
  exports.Set("ssdChunkScanScratch", FALCON_FN(js_ssdChunkScanScratch));
  exports.Set("ssdChunkScan", FALCON_FN(js_ssdChunkScan));
  exports.Set("ssdChunkScanBackwardScratch", FALCON_FN(js_ssdChunkScanBackwardScratch));
  exports.Set("ssdChunkScanBackward", FALCON_FN(js_ssdChunkScanBackward));
  exports.Set("selectiveStateUpdate", FALCON_FN(js_selectiveStateUpdate));
}

}  // namespace mamba2
}  // namespace falcon
