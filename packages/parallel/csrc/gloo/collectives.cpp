// The collectives of a Gloo group on gloo's own algorithms (see collectives.h).
#include "collectives.h"

#include <gloo/allgather.h>
#include <gloo/allreduce.h>
#include <gloo/alltoall.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/math.h>
#include <gloo/transport/unbound_buffer.h>
#include <gloo/types.h>

#include <cstring>
#include <vector>

namespace falcon {
namespace gloo_pg {

namespace {

template <typename T>
::gloo::AllreduceOptions::Func reduceFunc(ReduceOp op) {
  using F = void (*)(void*, const void*, const void*, size_t);
  switch (op) {
    case ReduceOp::Sum: return static_cast<F>(&::gloo::sum<T>);
    case ReduceOp::Max: return static_cast<F>(&::gloo::max<T>);
    case ReduceOp::Min: return static_cast<F>(&::gloo::min<T>);
    case ReduceOp::Prod: return static_cast<F>(&::gloo::product<T>);
  }
  throw std::runtime_error("unknown reduce op");
}

template <typename T>
void allreduceT(Group& g, const void* in, void* out, size_t n, ReduceOp op) {
  ::gloo::AllreduceOptions o(g.context());
  if (in != out) o.setInput(const_cast<T*>(static_cast<const T*>(in)), n);
  o.setOutput(static_cast<T*>(out), n);
  o.setReduceFunction(reduceFunc<T>(op));
  o.setTag(g.nextTag());
  ::gloo::allreduce(o);
}

/**
 * Ring reduce-scatter on unbound buffers (bandwidth-optimal: each rank sends and receives
 * (size-1)/size of the data). At step s rank r sends block (r-s-1) to r+1 and reduces block
 * (r-s-2), received from r-1, into its copy; after size-1 steps block r holds the full reduction.
 * (gloo's ReduceScatterHalvingDoubling leaves some ranks' results at other offsets.)
 */
template <typename T>
void reduceScatterT(Group& g, const void* in, void* out, size_t n, ReduceOp op) {
  auto ctx = g.context();
  const int size = ctx->size, rank = ctx->rank;
  const size_t total = n * (size_t)size;
  std::vector<T> work(static_cast<const T*>(in), static_cast<const T*>(in) + total);
  std::vector<T> incoming(n);
  auto reduce = reduceFunc<T>(op);
  auto timeout = ctx->getTimeout();
  auto recvBuf = ctx->createUnboundBuffer(incoming.data(), n * sizeof(T));
  const int next = (rank + 1) % size, prev = (rank + size - 1) % size;
  for (int s = 0; s < size - 1; s++) {
    const int sendIdx = ((rank - s - 1) % size + size) % size;
    const int recvIdx = ((rank - s - 2) % size + size) % size;
    const uint64_t slot = ::gloo::Slot::build(0x81, g.nextTag());
    auto sendBuf = ctx->createUnboundBuffer(work.data() + (size_t)sendIdx * n, n * sizeof(T));
    sendBuf->send(next, slot);
    recvBuf->recv(prev, slot);
    recvBuf->waitRecv(timeout);
    T* dst = work.data() + (size_t)recvIdx * n;
    reduce(dst, dst, incoming.data(), n);
    sendBuf->waitSend(timeout);
  }
  std::memcpy(out, work.data() + n * (size_t)rank, n * sizeof(T));
}

size_t elemSize(int dtype) {
  if (dtype != 0 && dtype != 1) throw InputError("unsupported dtype code " + std::to_string(dtype));
  return 4;
}

}  // namespace

void checkSameInput(Group& g, const std::string& op, const char* header128) {
  const int size = g.context()->size;
  std::vector<char> all(128 * (size_t)size);
  ::gloo::AllgatherOptions o(g.context());
  o.setInput(const_cast<char*>(header128), 128);
  o.setOutput(all.data(), all.size());
  o.setTag(g.nextTag());
  ::gloo::allgather(o);
  bool same = true;
  for (int r = 1; r < size; r++) same = same && std::memcmp(all.data(), all.data() + 128 * r, 128) == 0;
  if (same) return;
  std::string msg = "the inputs differ between ranks:";
  const auto& ranks = g.options().globalRanks;
  for (int r = 0; r < size; r++) {
    std::string d(all.data() + 128 * r, strnlen(all.data() + 128 * r, 128));
    msg += (r ? "; rank " : " rank ") + std::to_string(ranks[r]) + " " + d;
  }
  throw InputError(msg);
}

void allreduce(Group& g, int dtype, const void* in, void* out, size_t n, ReduceOp op) {
  elemSize(dtype);
  if (n == 0) return;
  if (g.context()->size == 1) {
    if (in != out) std::memcpy(out, in, n * 4);
    return;
  }
  if (dtype == 0) allreduceT<float>(g, in, out, n, op);
  else allreduceT<int32_t>(g, in, out, n, op);
}

void allgather(Group& g, int dtype, const void* in, void* out, size_t n) {
  size_t es = elemSize(dtype);
  if (n == 0) return;
  const int size = g.context()->size;
  if (size == 1) {
    std::memcpy(out, in, n * es);
    return;
  }
  ::gloo::AllgatherOptions o(g.context());
  o.setInput(const_cast<char*>(static_cast<const char*>(in)), n * es);
  o.setOutput(static_cast<char*>(out), n * es * (size_t)size);
  o.setTag(g.nextTag());
  ::gloo::allgather(o);
}

void reduceScatter(Group& g, int dtype, const void* in, void* out, size_t n, ReduceOp op) {
  elemSize(dtype);
  if (n == 0) return;
  if (g.context()->size == 1) {
    std::memcpy(out, in, n * 4);
    return;
  }
  if (dtype == 0) reduceScatterT<float>(g, in, out, n, op);
  else reduceScatterT<int32_t>(g, in, out, n, op);
}

void broadcast(Group& g, int dtype, const void* in, void* out, size_t n, int root) {
  size_t es = elemSize(dtype);
  if (n == 0) return;
  if (g.context()->rank == root) std::memcpy(out, in, n * es);
  if (g.context()->size == 1) return;
  ::gloo::BroadcastOptions o(g.context());
  o.setOutput(static_cast<char*>(out), n * es);
  o.setRoot(root);
  o.setTag(g.nextTag());
  ::gloo::broadcast(o);
}

void alltoall(Group& g, int dtype, const void* in, void* out, size_t n) {
  size_t es = elemSize(dtype);
  if (n == 0) return;
  const int size = g.context()->size;
  if (size == 1) {
    std::memcpy(out, in, n * es);
    return;
  }
  ::gloo::AlltoallOptions o(g.context());
  o.setInput(const_cast<char*>(static_cast<const char*>(in)), n * es * (size_t)size);
  o.setOutput(static_cast<char*>(out), n * es * (size_t)size);
  o.setTag(g.nextTag());
  ::gloo::alltoall(o);
}

void barrier(Group& g) {
  if (g.context()->size == 1) return;
  ::gloo::BarrierOptions o(g.context());
  o.setTag(g.nextTag());
  ::gloo::barrier(o);
}

}  // namespace gloo_pg
}  // namespace falcon
