// The CUDA extension interface of @falcon/tensor: what a package's own addon
// (packages/<pkg>/csrc/, built by tools/build-cuda.mjs with this folder on the include path) needs
// to run kernels on the tensors of the `cuda` backend. The backend owns all device memory and the
// one stream; an extension function receives the stream and device pointers as JavaScript numbers
// (the TypeScript side: `cudaKernel` in @falcon/tensor) and only queues kernels on that stream.
// Extensions never allocate: scratch space is a backend tensor passed in like any output.
//
//   #include <falcon/extension.h>
//   FALCON_EXTENSION_FUNCTION(myOp) {          // myOp(stream, x, y, n)
//     falcon::ext::Args a(info);
//     launchMyOp(a.stream(0), a.ptr<const float>(1), a.ptr<float>(2), a.i64(3));
//     return info.Env().Undefined();
//   }
//   FALCON_EXTENSION_MODULE(falcon_mypkg_cuda, { exports.Set("myOp", FALCON_FN(myOp)); })
#pragma once
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#ifndef NAPI_CPP_EXCEPTIONS
#define NAPI_CPP_EXCEPTIONS
#endif
#ifndef NODE_ADDON_API_CPP_EXCEPTIONS_ALL
#define NODE_ADDON_API_CPP_EXCEPTIONS_ALL
#endif
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

/** Typed access to a binding's arguments; every mismatch is an Error naming the argument. */
class Args {
 public:
  explicit Args(const Napi::CallbackInfo& info) : info_(info) {}
  double num(size_t i) const {
    if (i >= info_.Length() || !info_[i].IsNumber()) throw std::runtime_error("argument " + std::to_string(i) + " must be a number");
    return info_[i].As<Napi::Number>().DoubleValue();
  }
  int64_t i64(size_t i) const { return (int64_t)num(i); }
  int i32(size_t i) const { return (int)num(i); }
  float f32(size_t i) const { return (float)num(i); }
  bool flag(size_t i) const { return i < info_.Length() && info_[i].ToBoolean().Value(); }
  /** A device pointer (0 → nullptr: an absent optional input). */
  template <typename T>
  T* ptr(size_t i) const {
    return reinterpret_cast<T*>((uintptr_t)num(i));
  }
  /** The backend's stream, as `CudaBackend.stream` gives it. */
  cudaStream_t stream(size_t i) const { return reinterpret_cast<cudaStream_t>((uintptr_t)num(i)); }

 private:
  const Napi::CallbackInfo& info_;
};

/**
 * `init(device)`: makes `device` current for this addon's runtime (each addon links its own static
 * CUDA runtime; all share the device's primary context, so pointers and the stream are valid here).
 */
inline Napi::Value Init(const Napi::CallbackInfo& info) {
  Args a(info);
  check(cudaSetDevice(a.i32(0)), "cudaSetDevice");
  return info.Env().Undefined();
}

}  // namespace ext
}  // namespace falcon

/** Declares a binding `Napi::Value name(const Napi::CallbackInfo& info)`. */
#define FALCON_EXTENSION_FUNCTION(name) static Napi::Value name(const Napi::CallbackInfo& info)
/** A Napi::Function of a binding, for `exports.Set`. */
#define FALCON_FN(name) Napi::Function::New(env, name)
/** The module: `init` is always exported; `body` adds the package's functions to `exports`. */
#define FALCON_EXTENSION_MODULE(modname, body)                                   \
  static Napi::Object FalconExtensionInit(Napi::Env env, Napi::Object exports) { \
    exports.Set("init", Napi::Function::New(env, ::falcon::ext::Init));         \
    body return exports;                                                         \
  }                                                                              \
  NODE_API_MODULE(modname, FalconExtensionInit)
