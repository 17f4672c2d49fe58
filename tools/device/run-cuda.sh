#!/usr/bin/env bash
# The CUDA device runner (run ON the GPU machine, from the repo root, with .device/ carried):
# unpacks Node, builds every package's addon for sm_90a with nvcc, runs PyTorch's matmul
# benchmark, then the bundled self-test and benchmark (tools/device/cuda-tests.ts). Everything it
# prints also goes to $OUT/log; results go to $OUT/cuda-selftest.json, cuda-table.md, torch-bench.json.
set -uo pipefail
cd "$(dirname "$0")/../.."
source tools/device/common.sh
device_start
device_build

if [ "${FALCON_SANITIZE:-0}" = 1 ]; then
  echo "== build check for every default target (sm_80, sm_90a, compute_90 PTX)"
  /tmp/node tools/build-cuda.mjs --check || echo "BUILD CHECK FAILED"
  # compute-sanitizer over the self-test: memcheck on every case, racecheck on the kernels that use shared memory.
  CS=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  sanitize() { # tool, log name, extra runner arguments...
    local tool=$1 name=$2
    shift 2
    timeout 300 "$CS" --tool "$tool" --print-limit 20 --error-exitcode 9 \
      /tmp/node "$D/cuda-tests.mjs" --out "/tmp/falcon-$name" --no-bench "$@" > "/tmp/$name.log" 2>&1
    local rc=$?
    grep -E "^=========|^self-test:|^FAIL" "/tmp/$name.log" | grep -v "^=*$" | tail -12
    echo "$name exit $rc"
  }
  echo "== compute-sanitizer memcheck (whole self-test, no benchmark)"
  sanitize memcheck memcheck
  echo "== compute-sanitizer racecheck (softmax, tiled transpose)"
  sanitize racecheck racecheck-softmax --filter softmax
  sanitize racecheck racecheck-transpose --filter "transpose ["
  echo "== compute-sanitizer synccheck (softmax)"
  sanitize synccheck synccheck --filter softmax
fi

echo "== pytorch reference"
PYTHONUNBUFFERED=1 timeout 120 python3 "$D/torch_bench.py" > "$OUT/torch-bench.json" || echo "(pytorch benchmark failed)"
cat "$OUT/torch-bench.json"

echo "== self-test and benchmark"
TORCH_BENCH=$OUT/torch-bench.json timeout ${FALCON_TEST_TIMEOUT:-420} /tmp/node "$D/cuda-tests.mjs" --out "$OUT" "$@"
rc=$?
echo "== exit $rc"
exit $rc
