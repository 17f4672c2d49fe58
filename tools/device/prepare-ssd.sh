#!/usr/bin/env bash
# Prepares .device/ for tools/device/run-ssd.sh (run here): what prepare-profile.sh puts there (incl.
# the model runner) plus a bundle of benchmarks/cuda/ssd_forms.ts, and — when the fetched
# state-spaces/mamba mirror is given as $MAMBA_GIT (a git directory, from the search tool's fetch) —
# a PYTHONPATH site in .device/site with its python package mamba_ssm (the Triton SSD; __init__.py
# reduced to the version, as the anchors' README says) and anchor_ssd.py from $FALCON_ANCHORS (the anchor scripts' folder). Nothing fetched is committed.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/device/bundle.sh
D=.device
bash tools/device/prepare-profile.sh
device_bundle benchmarks/cuda/ssd_forms.ts "$D/ssd-forms.mjs"
if [ -n "${MAMBA_GIT:-}" ]; then
  rm -rf "$D/site" && mkdir -p "$D/site"
  git --git-dir="$MAMBA_GIT" archive HEAD mamba_ssm | tar -x -C "$D/site"
  grep '^__version__' "$D/site/mamba_ssm/__init__.py" > "$D/site/mamba_ssm/__init__.py.v" && mv "$D/site/mamba_ssm/__init__.py.v" "$D/site/mamba_ssm/__init__.py"
  cp "${FALCON_ANCHORS:?set FALCON_ANCHORS to the anchor scripts folder}/anchor_ssd.py" "$D/"
fi
du -sh "$D" | awk '{print "prepared .device: " $1}'
