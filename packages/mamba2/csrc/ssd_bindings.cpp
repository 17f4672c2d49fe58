// Bindings of the SSD functions: ssdSequentialScan(+Backward) (the kernels of the op
// FalconSsdChunkScan, which scan position by position and so ignore the chunk size) and
// selectiveStateUpdate. Each takes the stream and one params struct (<falcon/params.h>; the
// TypeScript declarations are in src/kernels/cuda/ssd_addon.ts) and queues the kernels of
// ssd_sequential_scan.cu, ssd_sequential_scan_backward.cu and selective_state_update.cu. The
// *Scratch functions tell the TypeScript side how many floats of scratch a call needs (it
// allocates them; the addon never allocates). Pointers of absent optional inputs are 0 (null).
#include "bindings.h"
#include "ssd_scan.cuh"

namespace falcon {
namespace mamba2 {
namespace {

/** Sizes of a scan: x `[batch, seqlen, nheads, headdim]`, B `[batch, seqlen, ngroups, dstate]`. */
struct SsdSizesParams {
  int batch, seqlen, nheads, headdim, ngroups, dstate;
  FALCON_PARAMS(batch, seqlen, nheads, headdim, ngroups, dstate)
};

struct SsdScanParams {
  const float *x, *dt, *A, *B, *C, *D, *z, *dtBias, *initialStates;
  const int* seqIdx;
  float *y, *finalStates, *scratch;
  int batch, seqlen, nheads, headdim, ngroups, dstate;
  bool softplus, clamp;
  float lo, hi;
  FALCON_PARAMS(x, dt, A, B, C, D, z, dtBias, initialStates, seqIdx, y, finalStates, scratch, batch, seqlen, nheads, headdim, ngroups,
                dstate, softplus, clamp, lo, hi)
};

struct SsdScanBackwardParams {
  const float *x, *dt, *A, *B, *C, *D, *z, *dtBias, *initialStates;
  const int* seqIdx;
  const float *dy, *dFinalStates;
  float* scratch;
  float *dx, *ddt, *dA, *dB, *dC, *dD, *dz, *ddtBias, *dInitialStates;
  int batch, seqlen, nheads, headdim, ngroups, dstate;
  bool softplus, clamp;
  float lo, hi;
  FALCON_PARAMS(x, dt, A, B, C, D, z, dtBias, initialStates, seqIdx, dy, dFinalStates, scratch, dx, ddt, dA, dB, dC, dD, dz, ddtBias,
                dInitialStates, batch, seqlen, nheads, headdim, ngroups, dstate, softplus, clamp, lo, hi)
};

struct SelectiveStateUpdateParams {
  const float *state, *x, *dt, *A, *B, *C, *D, *z, *dtBias;
  float *y, *newState;
  int batch, nheads, headdim, ngroups, dstate;
  bool softplus, clamp;
  float lo, hi;
  FALCON_PARAMS(state, x, dt, A, B, C, D, z, dtBias, y, newState, batch, nheads, headdim, ngroups, dstate, softplus, clamp, lo, hi)
};

template <class P>
ssd::Dims dimsOf(const P& p) {
  return ssd::Dims{p.batch, p.seqlen, p.nheads, p.headdim, p.ngroups, p.dstate};
}

template <class P>
ssd::Inputs inputsOf(const P& p) {
  return ssd::Inputs{p.x, p.dt, p.A, p.B, p.C, p.D, p.z, p.dtBias, p.initialStates, p.seqIdx};
}

template <class P>
ssd::TimeStep timeStepOf(const P& p) {
  return ssd::TimeStep{p.softplus, p.clamp, p.lo, p.hi};
}

double ssdSequentialScanScratch(const SsdSizesParams& p) { return (double)ssd::forwardScratch(dimsOf(p), ext::smCount()); }

void ssdSequentialScan(cudaStream_t stream, const SsdScanParams& p) {
  ext::check(ssd::launchForward(stream, inputsOf(p), p.y, p.finalStates, p.scratch, dimsOf(p), timeStepOf(p), ext::smCount()),
             "ssdSequentialScan");
}

double ssdSequentialScanBackwardScratch(const SsdSizesParams& p) { return (double)ssd::backwardScratch(dimsOf(p), ext::smCount()); }

void ssdSequentialScanBackward(cudaStream_t stream, const SsdScanBackwardParams& p) {
  const ssd::Grads g{p.dx, p.ddt, p.dA, p.dB, p.dC, p.dD, p.dz, p.ddtBias, p.dInitialStates};
  ext::check(ssd::launchBackward(stream, inputsOf(p), p.dy, p.dFinalStates, g, p.scratch, dimsOf(p), timeStepOf(p), ext::smCount()),
             "ssdSequentialScanBackward");
}

// One decode step: seqlen 1, no initial states or seqIdx (the state is its own input).
void selectiveStateUpdate(cudaStream_t stream, const SelectiveStateUpdateParams& p) {
  const ssd::Inputs in{p.x, p.dt, p.A, p.B, p.C, p.D, p.z, p.dtBias, nullptr, nullptr};
  const ssd::Dims d{p.batch, 1, p.nheads, p.headdim, p.ngroups, p.dstate};
  ext::check(ssd::launchSelectiveStateUpdate(stream, p.state, in, p.y, p.newState, d, timeStepOf(p), ext::smCount()), "selectiveStateUpdate");
}

}  // namespace

void registerSsd(Napi::Env env, Napi::Object exports) {
  ext::bind(env, exports, "ssdSequentialScanScratch", ssdSequentialScanScratch);
  ext::bind(env, exports, "ssdSequentialScan", ssdSequentialScan);
  ext::bind(env, exports, "ssdSequentialScanBackwardScratch", ssdSequentialScanBackwardScratch);
  ext::bind(env, exports, "ssdSequentialScanBackward", ssdSequentialScanBackward);
  ext::bind(env, exports, "selectiveStateUpdate", selectiveStateUpdate);
}

}  // namespace mamba2
}  // namespace falcon
