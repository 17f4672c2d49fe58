#!/usr/bin/env bash
# Every GPU check of the project in one device call (run ON the GPU machine from the repo root, with
# .device/ carried, prepared by tools/device/prepare-session.sh):
#   1. run-all.sh: the addons, the backend self-test, every op's CUDA kernel against cpu, model
#      parity with transformers and 50 training steps cuda vs cpu;
#   2. run-nccl.sh: the NCCL addon and the whole process-group API at world size 1 on cuda tensors;
#   3. DP=1 through NCCL against the plain trainer on cuda (ZeRO 0 and 1).
# Brings back (at most 8 files): log, summary.md, op-tests.json, model-cuda.json, cuda-selftest.json,
# nccl-tests.json, dp1.jsonl. Exit 0 only when every part passed. SKIP_ALL=1 only builds the addons
# in part 1 (for a rerun of parts 2 and 3 at a commit whose part 1 passed).
set -uo pipefail
cd "$(dirname "$0")/../.."
FINAL=${OUT:-/tmp/falcon-out}
mkdir -p "$FINAL"
echo "project commit $(cat .device/commit 2>/dev/null || echo unknown)" | tee "$FINAL/log"
if [ "${SKIP_ALL:-0}" = 1 ]; then
  OUT=/tmp/session/all bash -c 'source tools/device/common.sh; device_start; device_build' > /tmp/session-all.log 2>&1; all=0
else
  OUT=/tmp/session/all bash tools/device/run-all.sh > /tmp/session-all.log 2>&1
  all=$?
fi
cat /tmp/session-all.log >> "$FINAL/log"
OUT=/tmp/session/nccl bash tools/device/run-nccl.sh > /tmp/session-nccl.log 2>&1
nccl=$?
cat /tmp/session-nccl.log >> "$FINAL/log"
echo "== DP=1 (NCCL) vs the plain trainer on cuda" | tee -a "$FINAL/log"
source tools/device/common.sh
device_addons  # the addons run-all.sh built
export FALCON_PARALLEL_NCCL_ADDON=$PWD/packages/parallel/build/falcon_parallel_nccl.node
/tmp/node .device/dp1-vs-plain.mjs cuda 4 > "$FINAL/dp1.jsonl" 2>> "$FINAL/log"
dp1=$?
cat "$FINAL/dp1.jsonl" >> "$FINAL/log"
for f in summary.md op-tests.json model-cuda.json cuda-selftest.json; do cp "/tmp/session/all/$f" "$FINAL/" 2>/dev/null; done
cp /tmp/session/nccl/nccl-tests.json "$FINAL/" 2>/dev/null
word() { [ "$1" = 0 ] && echo pass || echo "FAIL (exit $1)"; }
{
  echo "| part | result |"
  echo "| --- | --- |"
  tail -n +3 "$FINAL/summary.md" 2>/dev/null
  echo "| NCCL process-group API at world size 1 (nccl-tests) | $(word $nccl): $(grep -o 'nccl-tests: .*' /tmp/session-nccl.log | head -1) |"
  echo "| DP=1 through NCCL vs plain trainer on cuda | $(word $dp1) |"
} > "$FINAL/session.md"
cat "$FINAL/session.md" | tee -a "$FINAL/log"
[ $all = 0 ] && [ $nccl = 0 ] && [ $dp1 = 0 ]
