#!/usr/bin/env bash
# The whole-model CUDA runner (run ON the GPU machine, from the repo root, with .device/ carried,
# prepared by tools/device/prepare-model.sh): unpacks Node, builds the addon for sm_90a, runs
# transformers' FalconH1ForCausalLM at the 0.5B shapes in PyTorch (torch-model.json), then the
# bundled tools/device/model-cuda.ts (parity, tiny-preset training cuda vs cpu, throughput;
# model-cuda.json). Everything printed also goes to $OUT/log.
# Environment: MODEL_LAYERS (default 4,36), TORCH_LAYERS (default 36,4), TOTAL_S (default 440), SKIP_TORCH=1.
set -uo pipefail
cd "$(dirname "$0")/../.."
TOTAL_S=${TOTAL_S:-440}
source tools/device/common.sh
device_start
device_build

if [ "${SKIP_TORCH:-0}" != 1 ]; then
  echo "== pytorch FalconH1ForCausalLM (layers ${TORCH_LAYERS:-36,4})"
  PYTHONUNBUFFERED=1 timeout 150 python3 "$D/torch_model_bench.py" "${TORCH_LAYERS:-36,4}" 2048 > "$OUT/torch-model.json" || echo "(pytorch benchmark failed or timed out)"
  cat "$OUT/torch-model.json"
fi

echo "== ours on cuda (elapsed ${SECONDS} s)"
budget=$((TOTAL_S - SECONDS - ${TRAIN_RESERVE_S:-170}))
[ "$budget" -lt 60 ] && budget=60
echo "throughput budget ${budget} s"
timeout $((TOTAL_S - SECONDS)) /tmp/node "$D/model-cuda.mjs" --out "$OUT" --fixtures "$D/fixtures" --corpus "$D/corpus.txt" \
  --layers "${MODEL_LAYERS:-4,36}" --budget "$budget" --order parity,throughput,train "$@"
rc=$?
echo "== exit $rc (elapsed ${SECONDS} s)"
exit $rc
