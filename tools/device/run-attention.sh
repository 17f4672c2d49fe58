#!/usr/bin/env bash
# Attention on the GPU in one call (run ON the GPU machine from the repo root, .device/ carried,
# prepared by tools/device/prepare-attention.sh): builds the addons for sm_90a; the op tests of
# flashAttention (cuda vs cpu); PyTorch's SDPA at the benchmark shapes
# (torch-attention.json) and ours (attention-bench.json, in the precisions of $ATTENTION_PRECISIONS,
# default f32,bf16) in the same call; then the training-step
# profile with the arguments given (profile-step.json), e.g. '--layers 36 --recompute none,layer'.
set -uo pipefail
cd "$(dirname "$0")/../.."
source tools/device/common.sh
device_start
device_build
echo "== op tests: flashAttention (elapsed ${SECONDS} s)"
timeout 240 /tmp/node "$D/op-tests.mjs" --out "$OUT/ops" --package attention --filter flashAttention | grep -v '^ok  ' ; ops=${PIPESTATUS[0]}
echo "op tests exit $ops"
echo "== pytorch SDPA (elapsed ${SECONDS} s)"
PYTHONUNBUFFERED=1 timeout 120 python3 "$D/torch_attention_bench.py" > "$OUT/torch-attention.json" || echo "(pytorch benchmark failed)"
echo "== ours (elapsed ${SECONDS} s)"
TORCH_ATTENTION=$OUT/torch-attention.json timeout 150 /tmp/node "$D/attention-bench.mjs" --out "$OUT" --precisions "${ATTENTION_PRECISIONS:-f32,bf16}"
bench=$?
prof=0
if [ -n "${1:-}" ]; then
  echo "== profile-step $1 (elapsed ${SECONDS} s)"
  # shellcheck disable=SC2086
  timeout 200 /tmp/node "$D/profile-step.mjs" --out "$OUT" $1 || prof=$?
fi
echo "== exit ops $ops bench $bench profile $prof (elapsed ${SECONDS} s)"
[ "$ops" = 0 ] && [ "$bench" = 0 ] && [ "$prof" = 0 ]
