#!/usr/bin/env bash
# The multi-GPU device run of issue #18 (run ON a machine of 2–8 GPUs from the repo root, .device/
# carried; prepare it here with tools/device/prepare-multigpu.sh), in one call:
#   (a) bus bandwidth of all-reduce / all-gather / reduce-scatter, 1 MiB … 1 GiB, ours
#       (benchmarks/parallel/collectives_bw.ts through the project's launcher) then torch.distributed's
#       (tools/device/torch_collectives_bw.py under torchrun), on N GPUs first, then 2, 4 (those below N);
#   (b) the killed-rank check on N GPUs (benchmarks/parallel/killed_rank.ts): one rank SIGKILLed in a
#       collective, the survivors must fail naming it within the timeout, the launcher must exit non-zero;
#   (c) if time is left, data-parallel training tokens/s per GPU at the 0.5B shapes on 1 and N GPUs
#       (benchmarks/parallel/dp_train.ts; $DP_ARGS are passed on, e.g. '--precision bf16').
# N is the GPU count nvidia-smi reports. NCCL_NVLS_ENABLE=0 (NVLink multicast off, as the machine
# requires), and every NCCL_* variable the machine sets, are kept in every process started here (the
# launchers pass their environment on; nothing is unset). Each part runs under its own timeout, all
# of it under TOTAL_S seconds (default 580; BW_S, default 300, for part a; KILL_S, default 75, for b).
# Results: $OUT/log, $OUT/multigpu.json (every part's JSON, by name) and $OUT/multigpu.md (the tables).
# Exit 0 only if every part ran and passed (results correct, the killed-rank check passed).
set -uo pipefail
cd "$(dirname "$0")/../.."
source tools/device/common.sh
TOTAL_S=${TOTAL_S:-580}
BW_S=${BW_S:-300}
KILL_S=${KILL_S:-75}
device_start
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
export PYTHONUNBUFFERED=1 FALCON_COMMIT="$(cat "$D/commit" 2>/dev/null || echo unknown)"
echo "== environment kept for every process"
env | grep -E '^(NCCL_|TORCH_SYMM_MEM|NVSHMEM_|CUDA_VISIBLE)' | sort
NGPU=$(nvidia-smi --query-gpu=index --format=csv,noheader | wc -l)
echo "GPUs: $NGPU"
[ "$NGPU" -ge 2 ] || { echo "this runner needs at least 2 GPUs, nvidia-smi reports $NGPU"; exit 3; }
nvidia-smi topo -m 2>/dev/null | head -$((NGPU + 2)) || true

device_build
echo "== build the NCCL addon (sm_90a)"
/tmp/node packages/parallel/scripts/build-native.mjs --nccl-only --arch sm_90a || { echo "NCCL ADDON BUILD FAILED"; exit 4; }
export FALCON_PARALLEL_NCCL_ADDON=$PWD/packages/parallel/build/falcon_parallel_nccl.node
if [ -z "${FALCON_NCCL:-}" ] && ! ldconfig -p 2>/dev/null | grep -q 'libnccl\.so\.2'; then
  lib=$(python3 -c 'import nvidia.nccl, os; print(os.path.join(list(nvidia.nccl.__path__)[0], "lib", "libnccl.so.2"))' 2>/dev/null)
  [ -f "$lib" ] && export FALCON_NCCL=$lib && echo "libnccl: $lib (the nvidia-nccl wheel)"
fi
echo "libnccl for ours: ${FALCON_NCCL:-$(ldconfig -p 2>/dev/null | grep -m1 'libnccl\.so\.2' | sed 's/.*=> //')} (torch: its own)"

W=/tmp/falcon-multigpu
rm -rf "$W" && mkdir -p "$W/bw" "$W/parts"
declare -a SUMMARY=()
rc=0
# part NAME LIMIT_S CMD...: runs CMD under min(LIMIT_S, what TOTAL_S leaves) seconds, records its exit
part() {
  local name=$1 limit=$2
  shift 2
  local left=$((TOTAL_S - SECONDS - 20))
  [ "$limit" -gt "$left" ] && limit=$left
  if [ "$limit" -lt 20 ]; then
    echo "== $name: skipped (elapsed ${SECONDS} s of ${TOTAL_S})"
    SUMMARY+=("| $name | skipped (time) |")
    rc=1
    return 1
  fi
  echo "== $name (limit ${limit} s, elapsed ${SECONDS} s)"
  timeout -k 15 "$limit" "$@"
  local e=$?
  echo "== $name: exit $e"
  SUMMARY+=("| $name | exit $e$([ $e -eq 124 ] && echo ' (timed out)') |")
  [ $e -eq 0 ] || rc=1
  return $e
}

# (a) N first (the figure that matters), then the smaller powers of two
sizes="$NGPU"
for n in 2 4 8; do [ "$n" -lt "$NGPU" ] && sizes="$sizes $n"; done
bw_end=$((SECONDS + BW_S))
for n in $sizes; do
  part "ours nccl bandwidth, $n GPUs" $(((bw_end - SECONDS) / 2)) \
    /tmp/node "$D/collectives-bw.mjs" --nproc-per-node "$n" --backend nccl --out "$W/bw" --name "ours-nccl-$n"
  part "torch nccl bandwidth, $n GPUs" $((bw_end - SECONDS)) \
    python3 -m torch.distributed.run --standalone --nproc-per-node "$n" "$D/torch_collectives_bw.py" --out "$W/bw/torch-nccl-$n.json"
done

# (b) the killed-rank check on every GPU
part "killed rank, $NGPU GPUs" "$KILL_S" \
  /tmp/node "$D/killed-rank.mjs" --nproc-per-node "$NGPU" --backend nccl --timeout-ms 10000 --out "$W/parts"

# (c) data-parallel training on 1 and N GPUs, with what is left
# shellcheck disable=SC2086
part "dp training, 1 GPU" $(((TOTAL_S - SECONDS) / 2)) /tmp/node "$D/dp-train.mjs" --nproc-per-node 1 --out "$W/parts" ${DP_ARGS:-} &&
  part "dp training, $NGPU GPUs" $((TOTAL_S - SECONDS)) /tmp/node "$D/dp-train.mjs" --nproc-per-node "$NGPU" --out "$W/parts" ${DP_ARGS:-}

echo "== merge"
/tmp/node "$D/merge-multigpu.mjs" --out "$OUT" --title "Multi-GPU run: $NGPU × $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1), commit $FALCON_COMMIT" "$W/bw" "$W/parts" || rc=1
echo "== summary"
echo "| part | result |"
echo "| --- | --- |"
printf '%s\n' "${SUMMARY[@]}"
echo "== exit $rc (elapsed ${SECONDS} s)"
exit $rc
