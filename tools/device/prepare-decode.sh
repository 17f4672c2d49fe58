#!/usr/bin/env bash
# Prepares .device/ for the decode/prefill benchmark (run here): everything tools/device/prepare.sh
# puts there, esbuild bundles of benchmarks/cuda/decode.ts and tools/device/bf16-decode-check.ts, and the transformers anchor
# ($FALCON_ANCHORS/anchor_decode.py, the anchor scripts' folder, copied to .device/anchors/ so it travels with .device). Then
# call the device with carry [".device"] (plus the anchor's site folder, see run-decode.sh) and
# `bash tools/device/run-decode.sh [decode.ts args]`.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/device/bundle.sh
D=.device
bash tools/device/prepare.sh
device_bundle benchmarks/cuda/decode.ts "$D/decode.mjs"
device_bundle tools/device/bf16-decode-check.ts "$D/bf16-check.mjs"
mkdir -p "$D/anchors"
if [ -f "${FALCON_ANCHORS:-}/anchor_decode.py" ]; then cp "$FALCON_ANCHORS/anchor_decode.py" "$D/anchors/"; else echo "note: \$FALCON_ANCHORS/anchor_decode.py not found; the anchor will not run"; fi
du -sh "$D" | awk '{print "prepared .device: " $1}'
