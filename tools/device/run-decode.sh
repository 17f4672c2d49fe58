#!/usr/bin/env bash
# The decode/prefill benchmark and the bf16 0.5B check (run ON the GPU machine from the repo root,
# .device/ carried, prepared by tools/device/prepare-decode.sh). Builds the addons for sm_90a, then
# by the first argument (one device call each: together they may pass the 10-minute limit):
#   bench [decode.ts args]  benchmarks/cuda/decode.ts (default: 0.5B shapes, batches 1, 8, 64,
#                           prefill 2048 and 32768, ternary rows) -> $OUT/decode-cuda.json, .md
#   bf16 [check args]       tools/device/bf16-decode-check.ts: the real 0.5B config, random BF16
#                           weights, load + generate, memory vs the weights' bytes -> $OUT/bf16-check.json
#   anchor                  only when ANCHOR_SITE names the prepared site folder (mamba_ssm +
#                           causal_conv1d with its built extension, see the anchors' README;
#                           carried): transformers' generate on the fast path -> $OUT/anchor-decode.json
# Environment: STEP_TIMEOUT_S (default 480), ANCHOR_BUDGET_S (default 300), ANCHOR_SITE.
# Record afterwards: copy decode-cuda.json/.md (machine, date, commit inside) into benchmarks/results/.
set -uo pipefail
cd "$(dirname "$0")/../.."
source tools/device/common.sh
what=${1:-bench}
[ $# -gt 0 ] && shift
device_start
rc=0
case "$what" in
  bench)
    device_build
    echo "== decode benchmark $* (elapsed ${SECONDS} s)"
    timeout "${STEP_TIMEOUT_S:-480}" /tmp/node "$D/decode.mjs" --backend cuda --out "$OUT" "$@" || { rc=$?; echo "== decode exit $rc"; }
    ;;
  bf16)
    device_build
    echo "== bf16 0.5B check $* (elapsed ${SECONDS} s)"
    timeout "${STEP_TIMEOUT_S:-480}" /tmp/node "$D/bf16-check.mjs" --backend cuda --out "$OUT" "$@" || { rc=$?; echo "== bf16 check exit $rc"; }
    ;;
  anchor)
    if [ -z "${ANCHOR_SITE:-}" ]; then
      echo "== anchor skipped (ANCHOR_SITE unset)"
    elif [ ! -d "$ANCHOR_SITE" ] || [ ! -f "$D/anchors/anchor_decode.py" ]; then
      echo "== anchor skipped: ANCHOR_SITE=$ANCHOR_SITE is not a folder, or $D/anchors/anchor_decode.py is missing"; rc=2
    else
      echo "== anchor: transformers generate on the fast path (elapsed ${SECONDS} s)"
      PYTHONPATH="$ANCHOR_SITE${PYTHONPATH:+:$PYTHONPATH}" timeout $(( ${ANCHOR_BUDGET_S:-300} + 120 )) \
        python3 "$D/anchors/anchor_decode.py" "$OUT/anchor-decode.json" "${ANCHOR_BUDGET_S:-300}" || { rc=$?; echo "== anchor exit $rc"; }
    fi
    ;;
  *) echo "usage: run-decode.sh bench|bf16|anchor [args]"; exit 2 ;;
esac
echo "== exit $rc (elapsed ${SECONDS} s)"
exit $rc
