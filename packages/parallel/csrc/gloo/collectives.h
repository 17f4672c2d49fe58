// The collectives of a Gloo group, run on its FIFO thread (or, for a send/receive, posted there and
// waited for on a thread of its own). Buffers are host memory owned by the caller and kept alive
// until the task completes. `dtype` 0 is float32, 1 is int32.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "group.h"

namespace falcon {
namespace gloo_pg {

enum class ReduceOp { Sum, Max, Min, Prod };

/** Every rank's 128-byte description of its input (shape, dtype, attributes) compared before the op; InputError lists them all when they differ. */
void checkSameInput(Group& g, const std::string& op, const char* header128);

void allreduce(Group& g, int dtype, const void* in, void* out, size_t n, ReduceOp op);
/** out holds size × n elements: rank r's input at r × n. */
void allgather(Group& g, int dtype, const void* in, void* out, size_t n);
/** in holds size × n elements; out (n) gets the reduction of every rank's r-th block. */
void reduceScatter(Group& g, int dtype, const void* in, void* out, size_t n, ReduceOp op);
/** out (n) gets root's in (read on root only). */
void broadcast(Group& g, int dtype, const void* in, void* out, size_t n, int root);
/** in and out hold size × n elements; block r of in goes to rank r, block r of out came from rank r. */
void alltoall(Group& g, int dtype, const void* in, void* out, size_t n);
void barrier(Group& g);

}  // namespace gloo_pg
}  // namespace falcon
