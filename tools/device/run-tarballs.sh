#!/usr/bin/env bash
# The tarball install test on the GPU machine (run ON it, from the repository root, with
# .device-tarballs/ carried; prepare it here with tools/device/prepare-tarballs.sh):
#   1. unpacks the carried Node and npm; PATH loses every folder holding nvcc (checked: no working
#      nvcc is reachable), and $CUDA_HOME / $NVCC are unset (cuBLASLt still loads from /usr/local/cuda/lib64);
#   2. installs the release tarballs into an empty project, offline, from the carried npm cache;
#   3. there: the prebuilt addons are found in the platform packages and load, initBackend('cuda')
#      starts, ssdChunkScan on cuda equals its reference (tools/tarball-smoke.mjs --backend cuda);
#   4. the installed `falcon train --steps 3` on cuda gives the losses of the same run on cpu
#      (exact f32 products), and `falcon generate` on cuda works;
#   5. prints a summary and writes it to $OUT/tarballs-summary.json. Exit 1 if a check failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
source tools/device/common.sh
D=.device-tarballs
device_start

BIN=/tmp/falcon-tarball-bin
rm -rf "$BIN" /tmp/falcon-npm && mkdir -p "$BIN" /tmp/falcon-npm
tar xzf "$D/npm.tgz" -C /tmp/falcon-npm
ln -sf /tmp/node "$BIN/node"
printf '#!/bin/sh\nexec /tmp/node /tmp/falcon-npm/package/bin/npm-cli.js "$@"\n' > "$BIN/npm"
printf '#!/bin/sh\nexec /tmp/node /tmp/falcon-npm/package/bin/npx-cli.js "$@"\n' > "$BIN/npx"
chmod +x "$BIN/npm" "$BIN/npx"
# PATH without any folder that holds nvcc (/usr/local/cuda/bin, ...); should nvcc sit in /usr/bin or
# /bin, which stay, a stand-in that fails shadows it.
NEWPATH=$BIN
IFS=: read -ra dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  [ -n "$d" ] || continue
  if [ -e "$d/nvcc" ] && [ "$d" != /usr/bin ] && [ "$d" != /bin ]; then echo "PATH: dropped $d (holds nvcc)"; continue; fi
  NEWPATH+=":$d"
done
if [ -e /usr/bin/nvcc ] || [ -e /bin/nvcc ]; then
  printf '#!/bin/sh\necho "nvcc is hidden for the tarball test" >&2\nexit 127\n' > "$BIN/nvcc" && chmod +x "$BIN/nvcc"
  echo "PATH: nvcc in /usr/bin or /bin is shadowed by a stand-in that fails"
fi
export PATH=$NEWPATH
unset CUDA_HOME CUDA_PATH NVCC FALCON_CUDA_ADDON FALCON_CUDA_ADDON_DIR
for v in $(env | grep -o '^FALCON_[A-Z0-9]*_CUDA_ADDON'); do unset "$v"; done

declare -A RESULT
pass() { RESULT[$1]=pass; echo "PASS $1"; }
failc() { RESULT[$1]="fail: $2"; echo "FAIL $1: $2"; }

echo "== 1. toolchain"
if nvcc --version >/dev/null 2>&1; then failc nvcc-hidden "a working nvcc is on PATH: $(command -v nvcc)"; else pass nvcc-hidden; fi
echo "node $(node --version), npm $(npm --version)"

echo "== 2. install the tarballs into an empty project (offline)"
P=/tmp/falcon-tarball-project
rm -rf "$P" && mkdir -p "$P" && cd "$P"
npm init -y >/dev/null
if npm install --offline --cache "$REPO/$D/npm-cache" --no-audit --no-fund --loglevel=error "$REPO/$D"/release/tarballs/falcon-*.tgz; then pass install; else failc install "npm install failed"; fi
ls node_modules/@falcon

echo "== 3. addons, initBackend('cuda'), ssdChunkScan on cuda"
export FALCON_CUDA_MATMUL=f32 # exact f32 products (not TF32), so cuda's results compare with cpu's tightly
cp "$REPO/tools/tarball-smoke.mjs" .
if node tarball-smoke.mjs --backend cuda | tee smoke.jsonl; then pass smoke-cuda; else failc smoke-cuda "see smoke.jsonl"; fi
cp smoke.jsonl "$OUT/tarballs-smoke.jsonl" 2>/dev/null

echo "== 4. the installed falcon CLI on cuda (and on cpu for the losses)"
ARGS=(--steps 3 --batch-size 2 --seqlen 32 --json)
npx falcon train "${ARGS[@]}" --backend cpu --out run-cpu > train-cpu.jsonl 2> train-cpu.err || failc train-cpu "$(tail -1 train-cpu.err)"
if npx falcon train "${ARGS[@]}" --backend cuda --out run-cuda > train-cuda.jsonl 2> train-cuda.err; then pass train-cuda; else failc train-cuda "$(tail -1 train-cuda.err)"; fi
cat train-cpu.jsonl train-cuda.jsonl
# Tolerance: the same float32 arithmetic in another order (cuda reductions, the SSD chunked kernels)
# over 3 steps of a tiny model; measured differences are ~1e-6 relative; 1e-4 catches a wrong kernel.
if node -e '
  const fs = require("fs");
  const read = (f) => fs.readFileSync(f, "utf8").split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)).filter((m) => typeof m.loss === "number");
  const a = read("train-cpu.jsonl"), b = read("train-cuda.jsonl");
  if (a.length !== 3 || b.length !== 3) { console.error(`steps: cpu ${a.length}, cuda ${b.length}`); process.exit(1); }
  const rel = Math.max(...a.map((m, i) => Math.abs(m.loss - b[i].loss) / Math.abs(m.loss)));
  console.log(`losses cpu ${a.map((m) => m.loss).join(", ")} | cuda ${b.map((m) => m.loss).join(", ")} | max relative difference ${rel}`);
  process.exit(rel < 1e-4 ? 0 : 1);
'; then pass losses-cuda-eq-cpu; else failc losses-cuda-eq-cpu "cuda and cpu losses differ (see above)"; fi
if npx falcon generate --model run-cuda --backend cuda --prompt 'The baker' --max-new-tokens 16 --json > gen.json 2> gen.err && node -e 'const j=require("./gen.json"); if (!Array.isArray(j.ids) || j.ids.length < 16) process.exit(1); console.log("generated", JSON.stringify(j.text))'; then pass generate-cuda; else failc generate-cuda "$(tail -1 gen.err)"; fi
if grep -q 'tfjs-node' train-cuda.err gen.err train-cpu.err; then failc no-banner 'the tfjs banner was printed'; else pass no-banner; fi

echo "== 5. summary"
node -e '
  const r = JSON.parse(process.argv[1]);
  const failed = Object.entries(r).filter(([, v]) => v !== "pass");
  console.log(JSON.stringify({ checks: r, passed: Object.keys(r).length - failed.length, failed: failed.length }, null, 2));
' "$(for k in "${!RESULT[@]}"; do printf '%s\t%s\n' "$k" "${RESULT[$k]}"; done | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o={};for(const l of s.trim().split("\n")){const [k,...v]=l.split("\t");o[k]=v.join("\t")}console.log(JSON.stringify(o))})')" | tee "$OUT/tarballs-summary.json"
for v in "${RESULT[@]}"; do [ "$v" = pass ] || { echo "== tarball test on the GPU machine: FAILED"; exit 1; }; done
echo "== tarball test on the GPU machine: all checks pass"
