#!/usr/bin/env bash
# The speed issue's goal rows in one call (run ON the GPU machine from the repo root, .device/
# carried, prepared by tools/device/prepare-goals.sh): builds the addons for sm_90a; then, each when
# asked for by the environment,
#   GOALS_CASES='filter'   the backend self-test cases whose name matches (cuda-tests --filter, no benchmark),
#   GOALS_BF16=1           the bf16 checks (tools/device/bf16-checks.ts → bf16-checks.json),
# and the training-step benchmark once per argument string given (benchmarks/cuda/profile-step.ts,
# run<i>/profile-step.json), each in a fresh process, within TOTAL_S (default 580) seconds in all.
set -uo pipefail
cd "$(dirname "$0")/../.."
source tools/device/common.sh
device_start
device_build
rc=0
if [ -n "${GOALS_CASES:-}" ]; then
  echo "== self-test cases matching '$GOALS_CASES' (elapsed ${SECONDS} s)"
  timeout 200 /tmp/node "$D/cuda-tests.mjs" --out "$OUT/cases" --no-bench --filter "$GOALS_CASES" | grep -v "^ok " | tail -40; c=${PIPESTATUS[0]}
  echo "== cases exit $c"; [ "$c" = 0 ] || rc=1
fi
if [ "${GOALS_BF16:-0}" = 1 ]; then
  echo "== bf16 checks (elapsed ${SECONDS} s)"
  timeout 240 /tmp/node "$D/bf16-checks.mjs" --out "$OUT" --fixtures "$D/fixtures" --corpus "$D/corpus.txt"; c=$?
  echo "== bf16 checks exit $c"; [ "$c" = 0 ] || rc=1
fi
i=0
for run in "$@"; do
  i=$((i + 1))
  left=$((${TOTAL_S:-580} - SECONDS))
  [ "$left" -lt 30 ] && { echo "== run $i skipped (time)"; rc=1; continue; }
  echo "== run $i: profile-step $run (elapsed ${SECONDS} s)"
  # shellcheck disable=SC2086
  timeout "$left" /tmp/node "$D/profile-step.mjs" --out "$OUT/run$i" $run || { c=$?; echo "== run $i exit $c"; rc=1; }
done
echo "== exit $rc (elapsed ${SECONDS} s)"
exit $rc
