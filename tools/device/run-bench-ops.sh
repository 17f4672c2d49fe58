#!/usr/bin/env bash
# The per-op benchmark (run ON the GPU machine, repo root, .device/ carried; prepared by
# tools/device/prepare.sh, which bundles benchmarks/cuda/ops.ts): builds every addon for sm_90a,
# runs tools/device/torch_ops_bench.py (PyTorch) and then ours, same shapes, same machine, same
# run. Writes $OUT/torch-ops.json, ops-bench.json and log. Record here with
# node --import tsx benchmarks/cuda/record-ops.ts <folder the tool copied back>.
set -uo pipefail
cd "$(dirname "$0")/../.."
source tools/device/common.sh
device_start append
if [ "${SKIP_BUILD:-0}" = 1 ]; then device_addons; else device_build; fi
echo "== pytorch"
PYTHONUNBUFFERED=1 timeout 120 python3 tools/device/torch_ops_bench.py > "$OUT/torch-ops.json" || echo "(pytorch benchmark failed)"
cat "$OUT/torch-ops.json"
echo "== ours"
TORCH_OPS=$OUT/torch-ops.json timeout ${BENCH_TIMEOUT:-180} /tmp/node "$D/ops-bench.mjs" --out "$OUT"
echo "== exit $?"
