// The caching allocators of the @falcon/tensor CUDA addon: device memory for tensors (freed
// blocks are kept in size-binned free lists and handed out again, as PyTorch's allocator does,
// instead of going back to the driver) and pinned host memory for asynchronous reads.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <unordered_map>
#include <vector>

namespace falcon {

// Counters of one caching allocator, in bytes unless named otherwise.
struct AllocatorStats {
  uint64_t inUse = 0;         // rounded sizes of the blocks handed out and not yet freed
  uint64_t requested = 0;     // sizes asked for by those blocks' owners
  uint64_t cached = 0;        // blocks in the free lists, kept from the driver
  uint64_t peakInUse = 0;     // the most inUse has been
  uint64_t liveBlocks = 0;    // blocks handed out
  uint64_t cachedBlocks = 0;  // blocks in the free lists
  uint64_t driverAllocs = 0;  // cudaMalloc / cudaHostAlloc calls
  uint64_t driverFrees = 0;   // cudaFree / cudaFreeHost calls
  uint64_t cacheHits = 0;     // allocations served from a free list
  uint64_t oomRetries = 0;    // times the cache was emptied to retry a failed allocation
};

// The block size a request of `bytes` is rounded to: multiples of 512 bytes up to 1 MiB, then
// steps of an eighth of the next power of two (at most 12.5% more than asked for).
size_t roundBlockSize(size_t bytes);

// A caching allocator over a driver's allocate/free pair. Single-threaded: the addon calls it
// from the JavaScript thread only. Blocks are reused for requests of the same rounded size; all
// device work runs on one stream, so a block freed here may be handed out again at once (its
// next user's work is queued after its last user's).
class CachingAllocator {
 public:
  using RawAlloc = void* (*)(size_t bytes);  // nullptr when out of memory
  using RawFree = void (*)(void* p);
  CachingAllocator(RawAlloc a, RawFree f) : rawAlloc_(a), rawFree_(f) {}
  // Never returns nullptr for bytes > 0: throws std::runtime_error when the driver has no memory
  // even after the cache was emptied.
  void* allocate(size_t bytes);
  // Gives a block back to the cache. Unknown pointers throw.
  void release(void* p);
  // Returns every cached block to the driver.
  void emptyCache();
  const AllocatorStats& stats() const { return stats_; }
  // Starts the peak over: peakInUse = inUse (benchmarks measure one phase's peak).
  void resetPeak() { stats_.peakInUse = stats_.inUse; }
  // Size of a live block (0 if unknown).
  size_t blockSize(void* p) const;

 private:
  RawAlloc rawAlloc_;
  RawFree rawFree_;
  std::map<size_t, std::vector<void*>> free_;
  struct Live {
    size_t size;
    size_t requested;
  };
  std::unordered_map<void*, Live> live_;
  AllocatorStats stats_;
};

// The process-wide allocators (created by the first use; the device one after init()).
CachingAllocator& deviceAllocator();
CachingAllocator& hostAllocator();

}  // namespace falcon
