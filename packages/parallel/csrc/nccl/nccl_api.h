// The few NCCL types and functions the @falcon/parallel NCCL addon calls, declared here (values as in
// NCCL 2.x's nccl.h) and resolved from libnccl.so.2 with dlopen at run time, as the tensor package's
// cuda backend does with cuBLASLt: building needs no NCCL headers, and a machine without NCCL gets a
// clear error when the nccl backend is asked for.
#pragma once
#include <cuda_runtime.h>
#include <dlfcn.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace falcon {
namespace nccl {

typedef struct ncclComm* ncclComm_t;
typedef struct {
  char internal[128];
} ncclUniqueId;
typedef enum { ncclSuccess = 0, ncclUnhandledCudaError = 1, ncclSystemError = 2, ncclInternalError = 3, ncclInvalidArgument = 4, ncclInvalidUsage = 5, ncclRemoteError = 6, ncclInProgress = 7 } ncclResult_t;
typedef enum { ncclInt32 = 2, ncclFloat32 = 7 } ncclDataType_t;
typedef enum { ncclSum = 0, ncclProd = 1, ncclMax = 2, ncclMin = 3, ncclAvg = 4 } ncclRedOp_t;

/** The resolved entry points. */
struct Api {
  ncclResult_t (*GetVersion)(int*);
  ncclResult_t (*GetUniqueId)(ncclUniqueId*);
  ncclResult_t (*CommInitRank)(ncclComm_t*, int, ncclUniqueId, int);
  ncclResult_t (*CommDestroy)(ncclComm_t);
  ncclResult_t (*CommAbort)(ncclComm_t);
  ncclResult_t (*CommGetAsyncError)(ncclComm_t, ncclResult_t*);
  const char* (*GetErrorString)(ncclResult_t);
  ncclResult_t (*AllReduce)(const void*, void*, size_t, ncclDataType_t, ncclRedOp_t, ncclComm_t, cudaStream_t);
  ncclResult_t (*AllGather)(const void*, void*, size_t, ncclDataType_t, ncclComm_t, cudaStream_t);
  ncclResult_t (*ReduceScatter)(const void*, void*, size_t, ncclDataType_t, ncclRedOp_t, ncclComm_t, cudaStream_t);
  ncclResult_t (*Broadcast)(const void*, void*, size_t, ncclDataType_t, int, ncclComm_t, cudaStream_t);
  ncclResult_t (*Send)(const void*, size_t, ncclDataType_t, int, ncclComm_t, cudaStream_t);
  ncclResult_t (*Recv)(void*, size_t, ncclDataType_t, int, ncclComm_t, cudaStream_t);
  ncclResult_t (*GroupStart)();
  ncclResult_t (*GroupEnd)();
};

/** Loads libnccl.so.2 once ($FALCON_NCCL names another file); throws naming what is missing. */
inline const Api& api() {
  static Api a{};
  static std::string error;
  static bool tried = false;
  if (!tried) {
    tried = true;
    const char* env = std::getenv("FALCON_NCCL");
    const char* names[] = {env, "libnccl.so.2", "libnccl.so"};
    void* h = nullptr;
    std::string last;
    for (const char* n : names) {
      if (!n) continue;
      h = dlopen(n, RTLD_NOW | RTLD_LOCAL);
      if (h) break;
      if (last.empty()) last = dlerror();
    }
    if (!h) {
      error = "NCCL is not available: libnccl.so.2 could not be loaded (" + last + "); install NCCL (e.g. the nvidia-nccl-cu12/cu13 wheel or libnccl2) or set $FALCON_NCCL to the library";
    } else {
      auto sym = [&](const char* name) -> void* {
        void* p = dlsym(h, name);
        if (!p && error.empty()) error = std::string("NCCL library lacks ") + name;
        return p;
      };
#define FALCON_NCCL_SYM(field, name) a.field = reinterpret_cast<decltype(a.field)>(sym(name))
      FALCON_NCCL_SYM(GetVersion, "ncclGetVersion");
      FALCON_NCCL_SYM(GetUniqueId, "ncclGetUniqueId");
      FALCON_NCCL_SYM(CommInitRank, "ncclCommInitRank");
      FALCON_NCCL_SYM(CommDestroy, "ncclCommDestroy");
      FALCON_NCCL_SYM(CommAbort, "ncclCommAbort");
      FALCON_NCCL_SYM(CommGetAsyncError, "ncclCommGetAsyncError");
      FALCON_NCCL_SYM(GetErrorString, "ncclGetErrorString");
      FALCON_NCCL_SYM(AllReduce, "ncclAllReduce");
      FALCON_NCCL_SYM(AllGather, "ncclAllGather");
      FALCON_NCCL_SYM(ReduceScatter, "ncclReduceScatter");
      FALCON_NCCL_SYM(Broadcast, "ncclBroadcast");
      FALCON_NCCL_SYM(Send, "ncclSend");
      FALCON_NCCL_SYM(Recv, "ncclRecv");
      FALCON_NCCL_SYM(GroupStart, "ncclGroupStart");
      FALCON_NCCL_SYM(GroupEnd, "ncclGroupEnd");
#undef FALCON_NCCL_SYM
    }
  }
  if (!error.empty()) throw std::runtime_error(error);
  return a;
}

/** Throws "<what> failed: <NCCL's text>" unless r is ncclSuccess. */
inline void check(ncclResult_t r, const char* what) {
  if (r != ncclSuccess) throw std::runtime_error(std::string(what) + " failed: " + api().GetErrorString(r) + " (ncclResult " + std::to_string((int)r) + ")");
}

}  // namespace nccl
}  // namespace falcon
