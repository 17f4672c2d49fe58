# Sourced by every device runner (tools/device/run-*.sh), from the repository root on the GPU
# machine, with .device/ carried (tools/device/prepare.sh).
#   device_start [append]  $OUT (default /tmp/falcon-out), everything printed also to $OUT/log
#                          (appended to with `append`), the machine, the carried Node at /tmp/node, the commit
#                          recorded in .device/commit by prepare.sh
#   device_build [args]    the addons for sm_90a (tools/build-cuda.mjs args, e.g. --package tensor,mamba2),
#                          exit 4 if nvcc fails; then device_addons
#   device_addons          points the cuda backend and every package's CUDA extension at the built
#                          addons (bundles cannot find them relative to themselves)
D=.device

device_start() {
  OUT=${OUT:-/tmp/falcon-out}
  mkdir -p "$OUT"
  if [ "${1:-}" = append ]; then exec > >(tee -a "$OUT/log") 2>&1; else exec > >(tee "$OUT/log") 2>&1; fi
  echo "== machine"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem,temperature.gpu --format=csv,noheader || true
  nvcc --version 2>/dev/null | tail -1
  xz -dc "$D/node.xz" > /tmp/node && chmod +x /tmp/node
  /tmp/node --version
  # the commit prepare.sh recorded (the tree here may be no git repository, or another one's)
  if [ -s "$D/commit" ]; then echo "commit $(cat "$D/commit")"; else echo "commit unknown ($D/commit missing: run tools/device/prepare.sh)"; fi
}

device_addons() {
  export FALCON_CUDA_ADDON=$PWD/packages/tensor/build/falcon_tensor_cuda.node
  local addon pkg
  for addon in packages/*/build/falcon_*_cuda.node; do
    pkg=$(basename "$(dirname "$(dirname "$addon")")")
    [ "$pkg" = tensor ] || export "FALCON_${pkg^^}_CUDA_ADDON=$PWD/$addon"
  done
}

device_build() {
  echo "== build (sm_90a)"
  export FALCON_NODE_API_INCLUDE=$PWD/$D/include/node-api FALCON_NODE_ADDON_API=$PWD/$D/include/node-addon-api
  /tmp/node tools/build-cuda.mjs --arch sm_90a "$@" || { echo "BUILD FAILED"; exit 4; }
  device_addons
}
