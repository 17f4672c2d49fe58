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

#include "nccl_api.h"

using namespace falcon::nccl;

namespace {

ncclComm_t comm(const Napi::Value& v) {
  if (!v.IsExternal()) throw std::runtime_error("argument 0 must be an NCCL communicator (from initRank)");
  auto* c = v.As<Napi::External<ncclComm>>().Data();
  if (!c) throw std::runtime_error("the NCCL communicator was destroyed");
  return c;
}

ncclDataType_t dtype(const falcon::ext::Args& a, size_t i) {
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

FALCON_EXTENSION_FUNCTION(Probe) {
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

FALCON_EXTENSION_FUNCTION(UniqueId) {
  ncclUniqueId id;
  check(api().GetUniqueId(&id), "ncclGetUniqueId");
  auto buf = Napi::Uint8Array::New(info.Env(), sizeof(id.internal));
  std::memcpy(buf.Data(), id.internal, sizeof(id.internal));
  return buf;
}

FALCON_EXTENSION_FUNCTION(InitRank) {
  falcon::ext::Args a(info);
  auto idv = info[0].As<Napi::Uint8Array>();
  if (idv.ByteLength() != sizeof(ncclUniqueId)) throw std::runtime_error("initRank: the unique id must be 128 bytes");
  ncclUniqueId id;
  std::memcpy(id.internal, idv.Data(), sizeof(id.internal));
  ncclComm_t c = nullptr;
  check(api().CommInitRank(&c, a.i32(1), id, a.i32(2)), "ncclCommInitRank");
  return Napi::External<ncclComm>::New(info.Env(), c);
}

FALCON_EXTENSION_FUNCTION(AllReduce) {
  falcon::ext::Args a(info);
  check(api().AllReduce(a.ptr<const void>(2), a.ptr<void>(3), (size_t)a.i64(4), dtype(a, 5), redop(info[6]), comm(info[0]), a.stream(1)), "ncclAllReduce");
  return info.Env().Undefined();
}

FALCON_EXTENSION_FUNCTION(AllGather) {
  falcon::ext::Args a(info);
  check(api().AllGather(a.ptr<const void>(2), a.ptr<void>(3), (size_t)a.i64(4), dtype(a, 5), comm(info[0]), a.stream(1)), "ncclAllGather");
  return info.Env().Undefined();
}

FALCON_EXTENSION_FUNCTION(ReduceScatter) {
  falcon::ext::Args a(info);
  check(api().ReduceScatter(a.ptr<const void>(2), a.ptr<void>(3), (size_t)a.i64(4), dtype(a, 5), redop(info[6]), comm(info[0]), a.stream(1)), "ncclReduceScatter");
  return info.Env().Undefined();
}

FALCON_EXTENSION_FUNCTION(Broadcast) {
  falcon::ext::Args a(info);
  check(api().Broadcast(a.ptr<const void>(2), a.ptr<void>(3), (size_t)a.i64(4), dtype(a, 5), a.i32(6), comm(info[0]), a.stream(1)), "ncclBroadcast");
  return info.Env().Undefined();
}

FALCON_EXTENSION_FUNCTION(Send) {
  falcon::ext::Args a(info);
  check(api().Send(a.ptr<const void>(2), (size_t)a.i64(3), dtype(a, 4), a.i32(5), comm(info[0]), a.stream(1)), "ncclSend");
  return info.Env().Undefined();
}

FALCON_EXTENSION_FUNCTION(Recv) {
  falcon::ext::Args a(info);
  check(api().Recv(a.ptr<void>(2), (size_t)a.i64(3), dtype(a, 4), a.i32(5), comm(info[0]), a.stream(1)), "ncclRecv");
  return info.Env().Undefined();
}

FALCON_EXTENSION_FUNCTION(AllToAll) {
  falcon::ext::Args a(info);
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

FALCON_EXTENSION_FUNCTION(AsyncError) {
  ncclResult_t r = ncclSuccess;
  check(api().CommGetAsyncError(comm(info[0]), &r), "ncclCommGetAsyncError");
  if (r == ncclSuccess || r == ncclInProgress) return info.Env().Null();
  return Napi::String::New(info.Env(), api().GetErrorString(r));
}

FALCON_EXTENSION_FUNCTION(EventRecord) {
  falcon::ext::Args a(info);
  cudaEvent_t ev;
  falcon::ext::check(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming), "cudaEventCreateWithFlags");
  falcon::ext::check(cudaEventRecord(ev, a.stream(0)), "cudaEventRecord");
  return Napi::External<CUevent_st>::New(info.Env(), ev);
}

FALCON_EXTENSION_FUNCTION(EventDone) {
  auto ev = info[0].As<Napi::External<CUevent_st>>().Data();
  cudaError_t e = cudaEventQuery(ev);
  if (e == cudaErrorNotReady) return Napi::Boolean::New(info.Env(), false);
  falcon::ext::check(e, "cudaEventQuery");
  return Napi::Boolean::New(info.Env(), true);
}

FALCON_EXTENSION_FUNCTION(EventDestroy) {
  falcon::ext::check(cudaEventDestroy(info[0].As<Napi::External<CUevent_st>>().Data()), "cudaEventDestroy");
  return info.Env().Undefined();
}

FALCON_EXTENSION_FUNCTION(Destroy) {
  check(api().CommDestroy(comm(info[0])), "ncclCommDestroy");
  return info.Env().Undefined();
}

FALCON_EXTENSION_FUNCTION(Abort) {
  check(api().CommAbort(comm(info[0])), "ncclCommAbort");
  return info.Env().Undefined();
}

}  // namespace

FALCON_EXTENSION_MODULE(falcon_parallel_nccl, {
  exports.Set("probe", FALCON_FN(Probe));
  exports.Set("uniqueId", FALCON_FN(UniqueId));
  exports.Set("initRank", FALCON_FN(InitRank));
  exports.Set("allReduce", FALCON_FN(AllReduce));
  exports.Set("allGather", FALCON_FN(AllGather));
  exports.Set("reduceScatter", FALCON_FN(ReduceScatter));
  exports.Set("broadcast", FALCON_FN(Broadcast));
  exports.Set("send", FALCON_FN(Send));
  exports.Set("recv", FALCON_FN(Recv));
  exports.Set("allToAll", FALCON_FN(AllToAll));
  exports.Set("asyncError", FALCON_FN(AsyncError));
  exports.Set("destroy", FALCON_FN(Destroy));
  exports.Set("abort", FALCON_FN(Abort));
  exports.Set("eventRecord", FALCON_FN(EventRecord));
  exports.Set("eventDone", FALCON_FN(EventDone));
  exports.Set("eventDestroy", FALCON_FN(EventDestroy));
})
