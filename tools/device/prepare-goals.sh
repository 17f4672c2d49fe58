#!/usr/bin/env bash
# Prepares .device/ for tools/device/run-goals.sh (run here): what prepare-model.sh puts there (the
# self-test, the model runner, the fixtures and corpus) plus bundles of the training-step profile
# (benchmarks/cuda/profile-step.ts), the bf16 checks (tools/device/bf16-checks.ts) and the kernel
# anchors' pair (benchmarks/cuda/kernel_anchors.ts, tools/device/kernel_anchors.py).
# With the fetched mirrors given as git directories (the search tool's fetch), MAMBA_GIT
# (state-spaces/mamba) and CC_GIT (Dao-AILab/causal-conv1d), and $FALCON_ANCHORS (the anchor
# scripts' folder), it also makes the anchors' PYTHONPATH site in .device/site (mamba_ssm with its
# __init__.py reduced to the version; the causal_conv1d package), causal-conv1d's csrc in
# .device/cc-src for the build on the device, and copies the anchor scripts. Nothing fetched is
# committed. Carry [".device", ".anchor-cache"] (the latter: the built extension and Triton cache
# that an earlier call brought back, see run-goals.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/device/bundle.sh
D=.device
bash tools/device/prepare-model.sh
device_bundle benchmarks/cuda/profile-step.ts "$D/profile-step.mjs"
device_bundle tools/device/bf16-checks.ts "$D/bf16-checks.mjs"
device_bundle benchmarks/cuda/kernel_anchors.ts "$D/kernel-anchors.mjs"
cp tools/device/kernel_anchors.py "$D/"
if [ -n "${MAMBA_GIT:-}" ] && [ -n "${CC_GIT:-}" ]; then
  rm -rf "$D/site" "$D/cc-src" && mkdir -p "$D/site" "$D/cc-src" "$D/anchors"
  git --git-dir="$MAMBA_GIT" archive HEAD mamba_ssm | tar -x -C "$D/site"
  grep '^__version__' "$D/site/mamba_ssm/__init__.py" > "$D/site/mamba_ssm/__init__.py.v" && mv "$D/site/mamba_ssm/__init__.py.v" "$D/site/mamba_ssm/__init__.py"
  git --git-dir="$CC_GIT" archive HEAD causal_conv1d | tar -x -C "$D/site"
  git --git-dir="$CC_GIT" archive HEAD csrc | tar -x -C "$D/cc-src"
  for f in anchor_fastpath.py build_causal_conv1d.py; do cp "${FALCON_ANCHORS:?set FALCON_ANCHORS to the anchor scripts folder}/$f" "$D/anchors/"; done
fi
mkdir -p .anchor-cache
du -sh "$D" .anchor-cache | awk '{print "prepared " $2 ": " $1}'
