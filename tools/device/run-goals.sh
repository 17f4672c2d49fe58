#!/usr/bin/env bash
# The speed issue's goal rows in one call (run ON the GPU machine from the repo root, .device/ and
# .anchor-cache/ carried, prepared by tools/device/prepare-goals.sh): builds the addons for sm_90a;
# then, each when asked for by the environment,
#   GOALS_CASES='filter'   the backend self-test cases whose name matches (cuda-tests --filter, no benchmark),
#   GOALS_BF16=1           the bf16 checks (tools/device/bf16-checks.ts → bf16-checks.json),
#   GOALS_KERNELS=1        the kernel anchors: causal-conv1d's kernel and torch._int_mm
#                          (kernel_anchors.py → torch-kernels.json) beside ours (kernel-anchors.json),
# the training-step benchmark once per argument string given (benchmarks/cuda/profile-step.ts,
# run<i>/profile-step.json), each in a fresh process, and last, with GOALS_FASTPATH=BUDGET_S,
# transformers' fast path (anchor_fastpath.py full → anchor-fastpath.json) in the same call, all
# within TOTAL_S (default 580) seconds.
# The anchors need .device/site (prepare-goals.sh with the mirrors). causal-conv1d's extension is
# restored from .anchor-cache/cc.so.xz when an earlier call brought it back, or built here with
# GOALS_BUILD_CC=1 (about 7 minutes, beside our own build) and returned as $OUT/cc.so.xz; the
# Triton cache likewise (.anchor-cache/triton.txz ↔ $OUT/triton.txz). Keep both under
# .anchor-cache/ here. With .device/ (42 MiB) the two (26 MiB) pass one call's 64 MiB: carry
# .device in one call and .anchor-cache in the next, right after it on the same warm machine
# (ignored folders already there are kept).
set -uo pipefail
cd "$(dirname "$0")/../.."
source tools/device/common.sh
device_start
SITE=$PWD/$D/site
anchors=0  # 1 once causal-conv1d's extension is in the site (restored, or built with GOALS_BUILD_CC=1)
cc_built=0
if [ -d "$SITE/causal_conv1d" ]; then
  export TRITON_CACHE_DIR=/tmp/triton-cache
  mkdir -p "$TRITON_CACHE_DIR"
  [ -s .anchor-cache/triton.txz ] && tar -xJf .anchor-cache/triton.txz -C "$TRITON_CACHE_DIR"
  if [ -s .anchor-cache/cc.so.xz ]; then
    xz -dc .anchor-cache/cc.so.xz > "$SITE/causal_conv1d_cuda.so" && echo "== causal-conv1d extension restored" && anchors=1
  elif [ "${GOALS_BUILD_CC:-0}" = 1 ]; then
    echo "== building causal-conv1d (sm_90) in the background"
    (MAX_JOBS=10 TORCH_CUDA_ARCH_LIST=9.0 python3 "$D/anchors/build_causal_conv1d.py" "$D/cc-src" "$SITE" > /tmp/cc-build.log 2>&1; echo "cc build exit $?" >> /tmp/cc-build.log) &
    cc_pid=$!
    cc_built=1
  fi
fi
device_build
if [ $cc_built = 1 ]; then
  wait $cc_pid
  tail -3 /tmp/cc-build.log
  [ -s "$SITE/causal_conv1d_cuda.so" ] && anchors=1 && xz -6 -T8 -c "$SITE/causal_conv1d_cuda.so" > "$OUT/cc.so.xz"
fi
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
if [ "${GOALS_KERNELS:-0}" = 1 ]; then
  echo "== kernel anchors (elapsed ${SECONDS} s)"
  if [ -d "$SITE" ]; then PYTHONPATH="$SITE" timeout 120 python3 "$D/kernel_anchors.py" "$OUT/torch-kernels.json" || echo "== kernel anchors (python) exit $?"; fi
  TORCH_KERNELS="$OUT/torch-kernels.json" timeout 120 /tmp/node "$D/kernel-anchors.mjs" --out "$OUT" || { echo "== kernel anchors exit $?"; rc=1; }
fi
i=0
for run in "$@"; do
  i=$((i + 1))
  left=$((${TOTAL_S:-580} - SECONDS - ${GOALS_FASTPATH:-0}))
  [ "$left" -lt 30 ] && { echo "== run $i skipped (time)"; rc=1; continue; }
  echo "== run $i: profile-step $run (elapsed ${SECONDS} s)"
  # shellcheck disable=SC2086
  timeout "$left" /tmp/node "$D/profile-step.mjs" --out "$OUT/run$i" $run || { c=$?; echo "== run $i exit $c"; rc=1; }
done
if [ -n "${GOALS_FASTPATH:-}" ] && [ $anchors = 1 ]; then
  budget=$((${TOTAL_S:-580} - SECONDS - 25))
  echo "== transformers fast path, budget ${budget} s (elapsed ${SECONDS} s)"
  PYTHONPATH="$SITE" PYTHONUNBUFFERED=1 timeout $((budget + 15)) python3 "$D/anchors/anchor_fastpath.py" "$OUT/anchor-fastpath.json" "$budget" full | tail -12 || echo "== fast path exit $?"
fi
if [ $anchors = 1 ] && [ "${GOALS_SAVE_TRITON:-0}" = 1 ]; then tar -cJf "$OUT/triton.txz" -C "$TRITON_CACHE_DIR" . && du -h "$OUT/triton.txz"; fi
echo "== exit $rc (elapsed ${SECONDS} s)"
exit $rc
