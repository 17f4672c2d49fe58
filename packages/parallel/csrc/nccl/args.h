// Positional argument access for the NCCL addon's bindings (csrc/nccl/addon.cpp). Unlike the op
// packages' kernels (named parameters through <falcon/params.h>), these bindings take a
// communicator handle (a Napi::External) and strings beside numbers, so each reads its few
// arguments by position, each checked for its type.
#pragma once
#include <napi.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace falcon {
namespace nccl {

class Args {
 public:
  explicit Args(const Napi::CallbackInfo& info) : info_(info) {}
  double num(size_t i) const {
    if (i >= info_.Length() || !info_[i].IsNumber()) throw std::runtime_error("argument " + std::to_string(i) + " must be a number");
    return info_[i].As<Napi::Number>().DoubleValue();
  }
  int64_t i64(size_t i) const {
    double v = num(i);
    if (v != (double)(int64_t)v) throw std::runtime_error("argument " + std::to_string(i) + " must be an integer");
    return (int64_t)v;
  }
  int i32(size_t i) const { return (int)i64(i); }
  /** A device pointer (0 → nullptr). */
  template <typename T>
  T* ptr(size_t i) const {
    return reinterpret_cast<T*>((uintptr_t)i64(i));
  }
  /** The backend's stream, as `CudaBackend.stream` gives it. */
  cudaStream_t stream(size_t i) const { return reinterpret_cast<cudaStream_t>((uintptr_t)i64(i)); }

 private:
  const Napi::CallbackInfo& info_;
};

}  // namespace nccl
}  // namespace falcon

/** A binding: `static Napi::Value name(const Napi::CallbackInfo& info)`. */
#define FALCON_NCCL_FUNCTION(name) static Napi::Value name(const Napi::CallbackInfo& info)
