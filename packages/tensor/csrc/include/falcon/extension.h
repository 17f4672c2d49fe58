// The CUDA extension interface of @falcon/tensor: what a package's own addon
// (packages/<pkg>/csrc/, built by tools/build-cuda.mjs with this folder on the include path) needs
// to run kernels on the tensors of the `cuda` backend. The backend owns all device memory and the
// one stream; an extension kernel receives the stream and one struct of named parameters (device
// pointers, sizes, flags: the contract of <falcon/params.h>; the TypeScript side is `cudaKernel`
// and `nativeKernel` in @falcon/tensor's op/cuda/) and only queues kernels on that stream.
// Extensions never allocate: scratch space is a backend tensor passed in like any output.
//
//   #include <falcon/extension.h>
//   struct MyOpParams {
//     const float* x; float* y; int64_t n;
//     FALCON_PARAMS(x, y, n)
//   };
//   void myOp(cudaStream_t stream, const MyOpParams& p) { launchMyOp(stream, p.x, p.y, p.n); }
//   FALCON_EXTENSION_MODULE(falcon_mypkg_cuda, { falcon::ext::bind(env, exports, "myOp", myOp); })
#pragma once
#include <falcon/params.h>  // first: it sets the Node-API options before <napi.h>
#include <cuda_runtime.h>
#include <napi.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace falcon {
namespace ext {

/** Throws std::runtime_error naming the call and CUDA's error text (Node-API turns it into a JS Error). */
inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    throw std::runtime_error(std::string("CUDA error in ") + what + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
  }
}

/** After a launch: reports a bad launch configuration at once (execution errors surface at the next sync). */
inline void checkLaunch(const char* kernel) { check(cudaGetLastError(), kernel); }

/** Number of SMs of the current device (queried once per process). */
inline int smCount() {
  static int sms = 0;
  if (sms == 0) {
    int dev = 0;
    check(cudaGetDevice(&dev), "cudaGetDevice");
    check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev), "cudaDeviceGetAttribute");
  }
  return sms;
}

/** Blocks for a grid-stride loop over n items: enough to fill the device, never more than needed. */
inline unsigned gridFor(int64_t n, int block = 256) {
  int64_t blocks = (n + block - 1) / block;
  int64_t cap = (int64_t)smCount() * 32;
  if (blocks > cap) blocks = cap;
  if (blocks < 1) blocks = 1;
  return (unsigned)blocks;
}

/**
 * `init(device)`: makes `device` current for this addon's runtime (each addon links its own static
 * CUDA runtime; all share the device's primary context, so pointers and the stream are valid here).
 */
inline Napi::Value Init(const Napi::CallbackInfo& info) {
  if (info.Length() != 1 || !info[0].IsNumber()) throw std::runtime_error("init: expects (device: number)");
  check(cudaSetDevice(info[0].As<Napi::Number>().Int32Value()), "cudaSetDevice");
  return info.Env().Undefined();
}

}  // namespace ext
}  // namespace falcon

/** The module: `init` is always exported; `body` binds the package's functions (`falcon::ext::bind`) on `exports`. */
#define FALCON_EXTENSION_MODULE(modname, body)                                   \
  static Napi::Object FalconExtensionInit(Napi::Env env, Napi::Object exports) { \
    exports.Set("init", Napi::Function::New(env, ::falcon::ext::Init));         \
    body return exports;                                                         \
  }                                                                              \
  NODE_API_MODULE(modname, FalconExtensionInit)
