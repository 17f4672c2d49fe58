#!/usr/bin/env bash
# Prepares .device/ for tools/device/run-goals.sh (run here): what prepare-model.sh puts there (the
# self-test, the model runner, the fixtures and corpus) plus bundles of the training-step profile
# (benchmarks/cuda/profile-step.ts) and the bf16 checks (tools/device/bf16-checks.ts).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/device/bundle.sh
D=.device
bash tools/device/prepare-model.sh
device_bundle benchmarks/cuda/profile-step.ts "$D/profile-step.mjs"
device_bundle tools/device/bf16-checks.ts "$D/bf16-checks.mjs"
du -sh "$D" | awk '{print "prepared .device: " $1}'
