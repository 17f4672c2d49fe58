// The caching allocators of the @falcon/tensor CUDA addon (see allocator.h): size rounding, the
// free lists, the out-of-memory retry after emptying the cache, and the statistics memory() shows.
#include "allocator.h"

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "common.h"
#include "kernels.h"

namespace falcon {

size_t roundBlockSize(size_t bytes) {
  if (bytes == 0) return 0;
  const size_t kSmall = size_t(1) << 20;
  if (bytes <= kSmall) return (bytes + 511) & ~size_t(511);
  size_t p = kSmall;
  while (p < bytes) p <<= 1;
  size_t step = p / 8;
  return (bytes + step - 1) / step * step;
}

void* CachingAllocator::allocate(size_t bytes) {
  if (bytes == 0) return nullptr;
  size_t size = roundBlockSize(bytes);
  void* p = nullptr;
  auto it = free_.find(size);
  if (it != free_.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
    if (it->second.empty()) free_.erase(it);
    stats_.cached -= size;
    stats_.cachedBlocks -= 1;
    stats_.cacheHits += 1;
  } else {
    p = rawAlloc_(size);
    if (!p && stats_.cached > 0) {
      stats_.oomRetries += 1;
      emptyCache();
      p = rawAlloc_(size);
    }
    if (!p) {
      throw std::runtime_error("out of memory: could not allocate " + std::to_string(size) + " bytes (" +
                               std::to_string(stats_.inUse) + " bytes in use by tensors, cache emptied)");
    }
    stats_.driverAllocs += 1;
  }
  live_[p] = Live{size, bytes};
  stats_.inUse += size;
  stats_.requested += bytes;
  stats_.liveBlocks += 1;
  if (stats_.inUse > stats_.peakInUse) stats_.peakInUse = stats_.inUse;
  return p;
}

void CachingAllocator::release(void* p) {
  if (!p) return;
  auto it = live_.find(p);
  if (it == live_.end()) throw std::runtime_error("free of a pointer the allocator did not hand out");
  Live l = it->second;
  live_.erase(it);
  stats_.inUse -= l.size;
  stats_.requested -= l.requested;
  stats_.liveBlocks -= 1;
  free_[l.size].push_back(p);
  stats_.cached += l.size;
  stats_.cachedBlocks += 1;
}

void CachingAllocator::emptyCache() {
  for (auto& kv : free_) {
    for (void* p : kv.second) {
      rawFree_(p);
      stats_.driverFrees += 1;
    }
  }
  free_.clear();
  stats_.cached = 0;
  stats_.cachedBlocks = 0;
}

size_t CachingAllocator::blockSize(void* p) const {
  auto it = live_.find(p);
  return it == live_.end() ? 0 : it->second.size;
}

namespace {
void* deviceRawAlloc(size_t bytes) {
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, bytes);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // clear the error so that the retry and later calls are not affected
    return nullptr;
  }
  check(e, "cudaMalloc");
  return p;
}
void deviceRawFree(void* p) {
  // cudaFree waits for the device to finish using the block.
  check(cudaFree(p), "cudaFree");
}
void* hostRawAlloc(size_t bytes) {
  void* p = nullptr;
  cudaError_t e = cudaHostAlloc(&p, bytes, cudaHostAllocDefault);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    return nullptr;
  }
  check(e, "cudaHostAlloc");
  return p;
}
void hostRawFree(void* p) { check(cudaFreeHost(p), "cudaFreeHost"); }
}  // namespace

CachingAllocator& deviceAllocator() {
  static CachingAllocator a(deviceRawAlloc, deviceRawFree);
  return a;
}
CachingAllocator& hostAllocator() {
  static CachingAllocator a(hostRawAlloc, hostRawFree);
  return a;
}

void* cacheAlloc(size_t bytes) { return deviceAllocator().allocate(bytes); }
void cacheFree(void* p) { deviceAllocator().release(p); }

}  // namespace falcon
