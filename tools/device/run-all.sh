#!/usr/bin/env bash
# Every CUDA test in one command (run ON the GPU machine, from the repo root, with .device/ carried,
# prepared here by tools/device/prepare-model.sh):
#   1. builds every package's addon for sm_90a (nvcc),
#   2. the backend self-test: every tfjs kernel of the cuda backend against the cpu backend (cuda-tests),
#   3. the op tests: every @falcon op's CUDA kernel, forward and backward, against its cpu kernel (op-tests),
#   4. the model on cuda: parity with transformers on every fixture (falcon-h1-tiny included: logits,
#      hidden states, loss, gradients, greedy tokens) and 50 training steps of the `tiny` preset on
#      cuda and cpu, loss by loss (model-cuda, without the throughput part),
# then prints one summary table. Logs and JSON land in $OUT (log, cuda-selftest.json, op-tests.json,
# model-cuda.json, summary.md). Exit 0 only when every part passed.
set -uo pipefail
cd "$(dirname "$0")/../.."
source tools/device/common.sh
device_start
device_build

echo "== 1/3 backend self-test"
timeout 300 /tmp/node "$D/cuda-tests.mjs" --out "$OUT" --no-bench > "$OUT/selftest.log" 2>&1
self=$?
grep -E "^(FAIL|self-test:|kernels traced)" "$OUT/selftest.log"
echo "== 2/3 op tests"
timeout 400 /tmp/node "$D/op-tests.mjs" --out "$OUT"
ops=$?
echo "== 3/3 model on cuda (parity, training)"
timeout 400 /tmp/node "$D/model-cuda.mjs" --out "$OUT" --fixtures "$D/fixtures" --corpus "$D/corpus.txt" --skip throughput --order parity,train
model=$?

word() { [ "$1" = 0 ] && echo pass || echo "FAIL (exit $1)"; }
{
  echo "| part | result |"
  echo "| --- | --- |"
  echo "| backend self-test (tfjs kernels vs cpu) | $(word $self): $(grep -o 'self-test: .*' "$OUT/selftest.log" | head -1) |"
  echo "| op kernels vs cpu (forward + backward) | $(word $ops): $(grep -o 'op tests: .*' "$OUT/log" | head -1) |"
  echo "| model parity with transformers + 50-step training vs cpu | $(word $model) |"
} > "$OUT/summary.md"
echo "== summary"
cat "$OUT/summary.md"
[ $self = 0 ] && [ $ops = 0 ] && [ $model = 0 ]
