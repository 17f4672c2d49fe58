#!/usr/bin/env bash
# The training-step profile (run ON the GPU machine from the repo root, .device/ carried, prepared by
# tools/device/prepare-profile.sh): builds the addons for sm_90a, then benchmarks/cuda/profile-step.ts
# once per argument string given (e.g. '--layers 36 --batch 4 --recompute none,layer' '--seqlen 8192
# --recompute layer'), the i-th writing $OUT/run<i>/profile-step.json. Brings back log and those files.
# Environment: PROFILE_TIMEOUT_S (default 420, for all runs together).
set -uo pipefail
cd "$(dirname "$0")/../.."
source tools/device/common.sh
device_start
device_build
rc=0 i=0
for run in "$@"; do
  i=$((i + 1))
  left=$((${PROFILE_TIMEOUT_S:-420} - SECONDS))
  [ "$left" -lt 20 ] && { echo "== run $i skipped (time)"; rc=1; continue; }
  echo "== run $i: profile-step $run (elapsed ${SECONDS} s)"
  # shellcheck disable=SC2086
  timeout "$left" /tmp/node "$D/profile-step.mjs" --out "$OUT/run$i" $run || { rc=$?; echo "== run $i exit $rc"; }
done
echo "== exit $rc (elapsed ${SECONDS} s)"
exit $rc
