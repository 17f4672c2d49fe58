// The Node-API binding of @falcon/parallel's NCCL addon (build/falcon_parallel_nccl.node, built by
// scripts/build-native.mjs --nccl with nvcc). Every collective is queued on the stream it is given
// (the cuda backend's one stream, see @falcon/tensor's CudaBackend) on device pointers given as
// numbers, and returns at once: no host synchronisation.
//   probe() -> { nccl: "2.x.y" | null, error?: string }   (never throws: CI has no NCCL)
//   init(device)                      make the device current (shared primary context with the backend)
//   uniqueId() -> Uint8Array(128)     initRank(id, nranks, rank) -> comm
//   allReduce(comm, stream, send, recv, count, dtype, op)   allGather(comm, stream, send, recv, sendCount, dtype)
//   reduceScatter(comm, stream, send, recv, recvCount, dtype, op)   broadcast(comm, stream, send, recv, count, dtype, root)
//   send(comm, stream, ptr, count, dtype, peer)   recv(comm, stream, ptr, count, dtype, peer)
//   allToAll(comm, stream, send, recv, countPerRank, dtype, nranks)   asyncError(comm) -> string | null
//   destroy(comm)   abort(comm)
//   eventRecord(stream) -> event   eventDone(event) -> bool   eventDestroy(event)   (the watchdog's progress marks)
// dtype: 0 float32, 1 int32; op: 'sum' | 'max' | 'min' | 'prod'.
#include <falcon/extension.h>

#include <cstring>

#include "args.h"
#include "nccl_api.h"

using namespace falcon::nccl;

namespace {

ncclComm_t comm(const Napi::Value& v) {
  if (!v.IsExternal()) throw std::runtime_error("argument 0 must be an NCCL communicator (from initRank)");
  auto* c = v.As<Napi::External<ncclComm>>().Data();
  if (!c) throw std::runtime_error("the NCCL communicator was destroyed");
  return c;
}

ncclDataType_t dtype(const falcon::nccl::Args& a, size_t i) {
  int d = a.i32(i);
  if (d == 0) return ncclFloat32;
  if (d == 1) return ncclInt32;
  throw std::runtime_error("dtype must be 0 (float32) or 1 (int32)");
}

ncclRedOp_t redop(const Napi::Value& v) {
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s == "sum") return ncclSum;
  if (s == "max") return ncclMax;
  if (s == "min") return ncclMin;
  if (s == "prod") return ncclProd;
  throw std::runtime_error("unknown reduce op '" + s + "'");
}

FALCON_NCCL_FUNCTION(Probe) {
  auto o = Napi::Object::New(info.Env());
  try {
    int v = 0;
    check(api().GetVersion(&v), "ncclGetVersion");
    // NCCL ≥ 2.9 encodes major*10000 + minor*100 + patch.
    o.Set("nccl", Napi::String::New(info.Env(), std::to_string(v / 10000) + "." + std::to_string((v / 100) % 100) + "." + std::to_string(v % 100)));
  } catch (const std::exception& e) {
    o.Set("nccl", info.Env().Null());
    o.Set("error", Napi::String::New(info.Env(), e.what()));
  }
  return o;
}

FALCON_NCCL_FUNCTION(UniqueId) {
  ncclUniqueId id;
  check(api().GetUniqueId(&id), "ncclGetUniqueId");
  auto buf = Napi::Uint8Array::New(info.Env(), sizeof(id.internal));
  std::memcpy(buf.Data(), id.internal, sizeof(id.internal));
  return buf;
}

FALCON_NCCL_FUNCTION(InitRank) {
  falcon::nccl::Args a(info);
  auto idv = info[0].As<Napi::Uint8Array>();
  if (idv.ByteLength() != sizeof(ncclUniqueId)) throw std::runtime_error("initRank: the unique id must be 128 bytes");
  ncclUniqueId id;
  std::memcpy(id.internal, idv.Data(), sizeof(id.internal));
  ncclComm_t c = nullptr;
  check(api().CommInitRank(&c, a.i32(1), id, a.i32(2)), "ncclCommInitRank");
  return Napi::External<ncclComm>::New(info.Env(), c);
}

FALCON_NCCL_FUNCTION(AllReduce) {
  falcon::nccl::Args a(info);
  check(api().AllReduce(a.ptr<const void>(2), a.ptr<void>(3), (size_t)a.i64(4), dtype(a, 5), redop(info[6]), comm(info[0]), a.stream(1)), "ncclAllReduce");
  return info.Env().Undefined();
}

FALCON_NCCL_FUNCTION(AllGather) {
  falcon::nccl::Args a(info);
  check(api().AllGather(a.ptr<const void>(2), a.ptr<void>(3), (size_t)a.i64(4), dtype(a, 5), comm(info[0]), a.stream(1)), "ncclAllGather");
  return info.Env().Undefined();
}

FALCON_NCCL_FUNCTION(ReduceScatter) {
  falcon::nccl::Args a(info);
  check(api().ReduceScatter(a.ptr<const void>(2), a.ptr<void>(3), (size_t)a.i64(4), dtype(a, 5), redop(info[6]), comm(info[0]), a.stream(1)), "ncclReduceScatter");
  return info.Env().Undefined();
}

FALCON_NCCL_FUNCTION(Broadcast) {
  falcon::nccl::Args a(info);
  check(api().Broadcast(a.ptr<const void>(2), a.ptr<void>(3), (size_t)a.i64(4), dtype(a, 5), a.i32(6), comm(info[0]), a.stream(1)), "ncclBroadcast");
  return info.Env().Undefined();
}

FALCON_NCCL_FUNCTION(Send) {
  falcon::nccl::Args a(info);
  check(api().Send(a.ptr<const void>(2), (size_t)a.i64(3), dtype(a, 4), a.i32(5), comm(info[0]), a.stream(1)), "ncclSend");
  return info.Env().Undefined();
}

FALCON_NCCL_FUNCTION(Recv) {
  falcon::nccl::Args a(info);
  check(api().Recv(a.ptr<void>(2), (size_t)a.i64(3), dtype(a, 4), a.i32(5), comm(info[0]), a.stream(1)), "ncclRecv");
  return info.Env().Undefined();
}

FALCON_NCCL_FUNCTION(AllToAll) {
  falcon::nccl::Args a(info);
  const auto& n = api();
  ncclComm_t c = comm(info[0]);
  cudaStream_t s = a.stream(1);
  auto* in = a.ptr<const char>(2);
  auto* out = a.ptr<char>(3);
  size_t count = (size_t)a.i64(4);
  ncclDataType_t dt = dtype(a, 5);
  int nranks = a.i32(6);
  size_t bytes = count * 4;
  check(n.GroupStart(), "ncclGroupStart");
  try {
    for (int r = 0; r < nranks; r++) {
      check(n.Send(in + r * bytes, count, dt, r, c, s), "ncclSend (allToAll)");
      check(n.Recv(out + r * bytes, count, dt, r, c, s), "ncclRecv (allToAll)");
    }
  } catch (...) {
    n.GroupEnd();
    throw;
  }
  check(n.GroupEnd(), "ncclGroupEnd (allToAll)");
  return info.Env().Undefined();
}

FALCON_NCCL_FUNCTION(AsyncError) {
  ncclResult_t r = ncclSuccess;
  check(api().CommGetAsyncError(comm(info[0]), &r), "ncclCommGetAsyncError");
  if (r == ncclSuccess || r == ncclInProgress) return info.Env().Null();
  return Napi::String::New(info.Env(), api().GetErrorString(r));
}

FALCON_NCCL_FUNCTION(EventRecord) {
  falcon::nccl::Args a(info);
  cudaEvent_t ev;
  falcon::ext::check(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming), "cudaEventCreateWithFlags");
  falcon::ext::check(cudaEventRecord(ev, a.stream(0)), "cudaEventRecord");
  return Napi::External<CUevent_st>::New(info.Env(), ev);
}

FALCON_NCCL_FUNCTION(EventDone) {
  auto ev = info[0].As<Napi::External<CUevent_st>>().Data();
  cudaError_t e = cudaEventQuery(ev);
  if (e == cudaErrorNotReady) return Napi::Boolean::New(info.Env(), false);
  falcon::ext::check(e, "cudaEventQuery");
  return Napi::Boolean::New(info.Env(), true);
}

FALCON_NCCL_FUNCTION(EventDestroy) {
  falcon::ext::check(cudaEventDestroy(info[0].As<Napi::External<CUevent_st>>().Data()), "cudaEventDestroy");
  return info.Env().Undefined();
}

FALCON_NCCL_FUNCTION(Destroy) {
  check(api().CommDestroy(comm(info[0])), "ncclCommDestroy");
  return info.Env().Undefined();
}

FALCON_NCCL_FUNCTION(Abort) {
  check(api().CommAbort(comm(info[0])), "ncclCommAbort");
  return info.Env().Undefined();
}

}  // namespace

FALCON_EXTENSION_MODULE(falcon_parallel_nccl, {
  exports.Set("probe", Napi::Function::New(env, Probe));
  exports.Set("uniqueId", Napi::Function::New(env, UniqueId));
  exports.Set("initRank", Napi::Function::New(env, InitRank));
  exports.Set("allReduce", Napi::Function::New(env, AllReduce));
  exports.Set("allGather", Napi::Function::New(env, AllGather));
  exports.Set("reduceScatter", Napi::Function::New(env, ReduceScatter));
  exports.Set("broadcast", Napi::Function::New(env, Broadcast));
  exports.Set("send", Napi::Function::New(env, Send));
  exports.Set("recv", Napi::Function::New(env, Recv));
  exports.Set("allToAll", Napi::Function::New(env, AllToAll));
  exports.Set("asyncError", Napi::Function::New(env, AsyncError));
  exports.Set("destroy", Napi::Function::New(env, Destroy));
  exports.Set("abort", Napi::Function::New(env, Abort));
  exports.Set("eventRecord", Napi::Function::New(env, EventRecord));
  exports.Set("eventDone", Napi::Function::New(env, EventDone));
  exports.Set("eventDestroy", Napi::Function::New(env, EventDestroy));
})
