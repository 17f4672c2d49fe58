#!/usr/bin/env node
// Builds @falcon/parallel's native addons into packages/parallel/build/:
//   falcon_parallel_gloo.node  csrc/gloo/*.cpp with g++ against Debian's libgloo-dev (/usr/include/gloo,
//                              libgloo.so); skipped with a notice when libgloo-dev is not installed, so a
//                              machine without it still installs (the gloo backend then says what is missing)
//   falcon_parallel_nccl.node  csrc/nccl/*.cpp with nvcc (static CUDA runtime; libnccl.so.2 is dlopen'ed at
//                              run time, so no NCCL headers or library are needed to build), only with --nccl
//
//   node scripts/build-native.mjs              the Gloo addon if libgloo-dev is installed (no-op when up to date)
//   node scripts/build-native.mjs --nccl       also the NCCL addon (needs nvcc: $NVCC, PATH, $CUDA_HOME, /usr/local/cuda)
//   node scripts/build-native.mjs --nccl-only  only the NCCL addon
//   node scripts/build-native.mjs --check      build into a temporary folder and load each addon in a child
//                                              Node process (probe()); fails if a requested build fails
//   node scripts/build-native.mjs --require-gloo   fail (exit 1) instead of skipping when libgloo-dev is missing
//   --arch sm_90a   (NCCL) the one GPU architecture to build for (default sm_80,sm_90a,compute_90)
//   --force         rebuild even when up to date
//
// Gloo's location can be overridden with $GLOO_INCLUDE (the folder holding gloo/) and $GLOO_LIB (holding libgloo.so).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findNvcc, gencode, nodeAddonApiInclude, nodeApiInclude } from '@falcon/tensor/build-cuda';

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (f) => args.includes(f);
const argValue = (f) => (args.includes(f) ? args[args.indexOf(f) + 1] : undefined);

function glooPaths() {
  const incs = [process.env.GLOO_INCLUDE, '/usr/include', '/usr/local/include'].filter(Boolean);
  const libs = [process.env.GLOO_LIB, '/usr/lib', '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/local/lib'].filter(Boolean);
  const inc = incs.find((d) => existsSync(join(d, 'gloo', 'config.h')));
  const lib = libs.find((d) => existsSync(join(d, 'libgloo.so')));
  return inc && lib ? { inc, lib } : undefined;
}

function sources(dir) {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpp'))
    .sort()
    .map((f) => join(dir, f));
}

/** Newest modification time of the inputs (sources and headers of csrc/<which> and csrc/common). */
function newestInput(which) {
  let t = 0;
  for (const d of [join(pkg, 'csrc', which), join(pkg, 'csrc', 'common')]) {
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d)) t = Math.max(t, statSync(join(d, f)).mtimeMs);
  }
  return Math.max(t, statSync(fileURLToPath(import.meta.url)).mtimeMs);
}

function upToDate(out, which) {
  return !flag('--force') && existsSync(out) && statSync(out).mtimeMs >= newestInput(which);
}

/**
 * Runs the compiler with its `-o` pointed at a temporary name beside `out`, then renames it into
 * place: two suites that build at the same time (parallel's and hybrid's test setups) never load
 * a half-written addon.
 */
function run(cmd, argv, what, out) {
  const t0 = Date.now();
  const tmp = `${out}.${process.pid}.tmp`;
  const r = spawnSync(cmd, argv.map((a) => (a === out ? tmp : a)), { stdio: 'inherit' });
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(`${what} failed (exit ${r.status ?? r.signal}): ${cmd} ${argv.join(' ')}`);
  }
  renameSync(tmp, out);
  console.log(`built ${what} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

function buildGloo(outDir) {
  const out = join(outDir, 'falcon_parallel_gloo.node');
  const g = glooPaths();
  if (!g) {
    const msg = '@falcon/parallel: libgloo-dev is not installed (no /usr/include/gloo/config.h or libgloo.so): the Gloo addon is not built and the gloo backend is unavailable (apt-get install libgloo-dev, then npm run build:native -w @falcon/parallel)';
    if (flag('--require-gloo')) throw new Error(msg);
    console.warn(msg);
    return undefined;
  }
  if (upToDate(out, 'gloo')) return out;
  mkdirSync(outDir, { recursive: true });
  const cxx = process.env.CXX || 'g++';
  run(
    cxx,
    ['-O2', '-std=c++17', '-shared', '-fPIC', '-fvisibility=hidden', '-pthread', '-I', join(pkg, 'csrc'), ...(g.inc === '/usr/include' ? [] : ['-I', g.inc]), '-I', nodeApiInclude(), '-I', nodeAddonApiInclude(), ...sources(join(pkg, 'csrc', 'gloo')), '-L', g.lib, `-Wl,-rpath,${g.lib}`, '-lgloo', '-o', out],
    'the Gloo addon (falcon_parallel_gloo.node)',
    out,
  );
  return out;
}

function gencodes() {
  const arches = (argValue('--arch') ?? 'sm_80,sm_90a,compute_90').split(',');
  return arches.flatMap((a) => ['-gencode', gencode(a)]);
}

function buildNccl(outDir) {
  const out = join(outDir, 'falcon_parallel_nccl.node');
  const nvcc = findNvcc();
  if (!nvcc) throw new Error('nvcc not found ($NVCC, PATH, $CUDA_HOME/bin, /usr/local/cuda/bin): the NCCL addon needs the CUDA toolkit to build');
  if (upToDate(out, 'nccl')) return out;
  mkdirSync(outDir, { recursive: true });
  const tensorInclude = join(pkg, '..', 'tensor', 'csrc', 'include');
  run(
    nvcc,
    ['-O2', '-std=c++17', '-shared', '-Xcompiler', '-fPIC,-fvisibility=hidden', '-cudart', 'static', ...gencodes(), '-x', 'cu', '-I', join(pkg, 'csrc'), '-I', tensorInclude, '-I', nodeApiInclude(), '-I', nodeAddonApiInclude(), ...sources(join(pkg, 'csrc', 'nccl')), '-ldl', '-o', out],
    'the NCCL addon (falcon_parallel_nccl.node)',
    out,
  );
  return out;
}

function loadCheck(file) {
  const code = `const a = require(process.argv[1]); console.log(JSON.stringify(a.probe()));`;
  const outp = execFileSync(process.execPath, ['-e', code, file], { encoding: 'utf8' }).trim();
  console.log(`loaded ${file}: ${outp}`);
}

function main() {
  const check = flag('--check');
  const outDir = check ? mkdtempSync(join(tmpdir(), 'falcon-parallel-')) : join(pkg, 'build');
  try {
    const built = [];
    if (!flag('--nccl-only')) built.push(buildGloo(outDir));
    if (flag('--nccl') || flag('--nccl-only')) built.push(buildNccl(outDir));
    if (check) for (const f of built) if (f) loadCheck(f);
  } finally {
    if (check) rmSync(outDir, { recursive: true, force: true });
  }
}

try {
  main();
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
