#!/usr/bin/env bash
# The per-op benchmark (run ON the GPU machine, repo root, .device/ carried; prepared by
# tools/device/prepare.sh, which bundles benchmarks/cuda/ops.ts): builds every addon for sm_90a,
# runs tools/device/torch_ops_bench.py (PyTorch) and then ours, same shapes, same machine, same
# run. Writes $OUT/torch-ops.json, ops-bench.json and log. Record here with
# node --import tsx benchmarks/cuda/record-ops.ts <folder the tool copied back>.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/falcon-out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/log") 2>&1
D=.device
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv,noheader || true
xz -dc "$D/node.xz" > /tmp/node && chmod +x /tmp/node
git rev-parse --short HEAD 2>/dev/null | sed 's/^/commit /' || true
export FALCON_NODE_API_INCLUDE=$PWD/$D/include/node-api FALCON_NODE_ADDON_API=$PWD/$D/include/node-addon-api
if [ "${SKIP_BUILD:-0}" != 1 ]; then /tmp/node tools/build-cuda.mjs --arch sm_90a || { echo "BUILD FAILED"; exit 4; }; fi
source tools/device/addon-env.sh
echo "== pytorch"
PYTHONUNBUFFERED=1 timeout 120 python3 tools/device/torch_ops_bench.py > "$OUT/torch-ops.json" || echo "(pytorch benchmark failed)"
cat "$OUT/torch-ops.json"
echo "== ours"
TORCH_OPS=$OUT/torch-ops.json timeout ${BENCH_TIMEOUT:-180} /tmp/node "$D/ops-bench.mjs" --out "$OUT"
echo "== exit $?"
