// Bindings of ssdChunkScan(+Backward) and selectiveStateUpdate.
#include "bindings.h"

namespace falcon {
namespace mamba2 {

void registerSsd(Napi::Env env, Napi::Object exports) {
  (void)env;
  (void)exports;
}

}  // namespace mamba2
}  // namespace falcon
