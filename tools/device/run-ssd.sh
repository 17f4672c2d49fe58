#!/usr/bin/env bash
# The SSD forms on the GPU in one call (run ON the GPU machine from the repo root, .device/ carried,
# prepared by tools/device/prepare-ssd.sh): builds the addons for sm_90a; ours in both forms
# (benchmarks/cuda/ssd_forms.ts → ssd-forms.json); the fixture parity of the whole model on cuda
# (model-cuda --order $PARITY_PARTS, default parity,train, the default SSD form); the training-step
# profile once per argument string given (run<i>/profile-step.json), e.g. '--ssd-form matmul
# --recompute layer'; last, in the time left of TOTAL_S (default 590), mamba-ssm's Triton SSD
# (anchor_ssd.py → ssd-anchor.json, when .device/site exists; its Triton compilation takes minutes).
set -uo pipefail
cd "$(dirname "$0")/../.."
source tools/device/common.sh
device_start
device_build
echo "== ours: ssd forms (elapsed ${SECONDS} s)"
timeout 200 /tmp/node "$D/ssd-forms.mjs" --out "$OUT"; forms=$?
echo "== model parity on cuda (elapsed ${SECONDS} s)"
timeout 200 /tmp/node "$D/model-cuda.mjs" --out "$OUT/model" --fixtures "$D/fixtures" --corpus "$D/corpus.txt" --layers 4 --budget 30 --order "${PARITY_PARTS:-parity,train}"; parity=$?
rc=0 i=0
for run in "$@"; do
  i=$((i + 1))
  left=$((${PROFILE_TIMEOUT_S:-400} - SECONDS))
  [ "$left" -lt 30 ] && { echo "== run $i skipped (time)"; rc=1; continue; }
  echo "== run $i: profile-step $run (elapsed ${SECONDS} s)"
  # shellcheck disable=SC2086
  timeout "$left" /tmp/node "$D/profile-step.mjs" --out "$OUT/run$i" $run || { rc=$?; echo "== run $i exit $rc"; }
done
anchor=skipped
if [ -d "$D/site" ]; then
  echo "== mamba-ssm mamba_chunk_scan_combined (elapsed ${SECONDS} s)"
  PYTHONPATH=$PWD/$D/site PYTHONUNBUFFERED=1 timeout $((${TOTAL_S:-590} - SECONDS)) python3 "$D/anchor_ssd.py" "$OUT/ssd-anchor.json"; anchor=$?
fi
echo "== exit anchor $anchor forms $forms parity $parity profile $rc (elapsed ${SECONDS} s)"
[ "$forms" = 0 ] && [ "$parity" = 0 ] && [ "$rc" = 0 ]
