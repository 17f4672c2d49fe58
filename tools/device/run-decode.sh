#!/usr/bin/env bash
# The decode/prefill benchmark (run ON the GPU machine from the repo root, .device/ carried, prepared
# by tools/device/prepare-decode.sh): builds the addons for sm_90a, runs benchmarks/cuda/decode.ts
# with the arguments given (default: the 0.5B shapes, batches 1, 8, 64, prefill 2048 and 32768,
# ternary rows), writing $OUT/decode-cuda.json and decode-cuda.md; then, only when ANCHOR_SITE names
# the prepared site folder (mamba_ssm + causal_conv1d with its built extension, see
# ../shared/anchors/README.md; carried), transformers' anchor into $OUT/anchor-decode.json.
# Environment: DECODE_TIMEOUT_S (default 420, the benchmark), ANCHOR_BUDGET_S (default 240),
# ANCHOR_SITE (unset: no anchor). Record afterwards: copy the two decode-cuda files into
# benchmarks/results/ (they hold machine, date and commit).
set -uo pipefail
cd "$(dirname "$0")/../.."
source tools/device/common.sh
device_start
device_build
rc=0
echo "== decode benchmark $* (elapsed ${SECONDS} s)"
timeout "${DECODE_TIMEOUT_S:-420}" /tmp/node "$D/decode.mjs" --backend cuda --out "$OUT" "$@" || { rc=$?; echo "== decode exit $rc"; }
if [ -n "${ANCHOR_SITE:-}" ]; then
  if [ -d "$ANCHOR_SITE" ] && [ -f "$D/anchors/anchor_decode.py" ]; then
    echo "== anchor: transformers generate on the fast path (elapsed ${SECONDS} s)"
    PYTHONPATH="$ANCHOR_SITE${PYTHONPATH:+:$PYTHONPATH}" timeout $(( ${ANCHOR_BUDGET_S:-240} + 60 )) \
      python3 "$D/anchors/anchor_decode.py" "$OUT/anchor-decode.json" "${ANCHOR_BUDGET_S:-240}" || { a=$?; echo "== anchor exit $a"; [ "$rc" = 0 ] && rc=$a; }
  else
    echo "== anchor skipped: ANCHOR_SITE=$ANCHOR_SITE is not a folder, or $D/anchors/anchor_decode.py is missing"
  fi
else
  echo "== anchor skipped (ANCHOR_SITE unset)"
fi
echo "== exit $rc (elapsed ${SECONDS} s)"
exit $rc
