#!/usr/bin/env node
// Builds every package's CUDA addon: for each packages/<pkg>/csrc holding .cu files, one nvcc
// invocation compiles its .cu and .cpp files into packages/<pkg>/build/falcon_<pkg>_cuda.node
// (static cudart; cuBLASLt is dlopen'ed at run time, so only -ldl is linked). Every package gets
// packages/tensor/csrc/include on its include path (<falcon/extension.h>: the interface of a
// package addon to the tensor package's cuda backend).
//
//   node tools/build-cuda.mjs                 build for sm_80, sm_90a and compute_90 PTX (newer GPUs)
//   node tools/build-cuda.mjs --arch sm_90a   build for one architecture only (faster; the device runner)
//   node tools/build-cuda.mjs --check         compile into a temporary folder, load the result in a
//                                             child Node process and call its probe() (no GPU needed);
//                                             then the named native-call contract: every binding must
//                                             reject malformed calls (before touching the GPU), and
//                                             every addon's exported signatures must match the
//                                             TypeScript declarations (tools/check-native-contract.ts)
//   node tools/build-cuda.mjs --package tensor   only that package
//   node tools/build-cuda.mjs --if-available  exit 0 with a notice when nvcc is not installed
//
// nvcc is found as $NVCC, on the PATH, or in $CUDA_HOME/bin, /usr/local/cuda/bin. Node-API headers
// come from the node-api-headers package (or $FALCON_NODE_API_INCLUDE, or Node's own include/node),
// node-addon-api from its package (or $FALCON_NODE_ADDON_API).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'packages', 'tensor', 'package.json'));

const DEFAULT_GENCODES = ['arch=compute_80,code=sm_80', 'arch=compute_90a,code=sm_90a', 'arch=compute_90,code=compute_90'];

function parseArgs(argv) {
  const o = { check: false, arches: [], packages: [], ifAvailable: false, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--check') o.check = true;
    else if (a === '--if-available') o.ifAvailable = true;
    else if (a === '--verbose' || a === '-v') o.verbose = true;
    else if (a === '--arch') o.arches.push(...argv[++i].split(','));
    else if (a === '--package') o.packages.push(...argv[++i].split(','));
    else if (a === '--help' || a === '-h') {
      console.log(readHeader());
      process.exit(0);
    } else throw new Error(`unknown argument '${a}' (see --help)`);
  }
  return o;
}

function readHeader() {
  return 'usage: node tools/build-cuda.mjs [--check] [--arch sm_90a[,sm_80]] [--package tensor] [--if-available] [--verbose]';
}

/** sm_90a → arch=compute_90a,code=sm_90a; compute_90 → PTX only. */
function gencode(arch) {
  const m = /^(sm|compute)_(\d+[a-z]?)$/.exec(arch);
  if (!m) throw new Error(`--arch: expected sm_NN or compute_NN, got '${arch}'`);
  return m[1] === 'sm' ? `arch=compute_${m[2]},code=sm_${m[2]}` : `arch=compute_${m[2]},code=compute_${m[2]}`;
}

function findNvcc() {
  const candidates = [];
  if (process.env.NVCC) candidates.push(process.env.NVCC);
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir) candidates.push(join(dir, 'nvcc'));
  for (const home of [process.env.CUDA_HOME, process.env.CUDA_PATH, '/usr/local/cuda']) if (home) candidates.push(join(home, 'bin', 'nvcc'));
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

function nodeApiInclude() {
  if (process.env.FALCON_NODE_API_INCLUDE) return process.env.FALCON_NODE_API_INCLUDE;
  try {
    const dir = join(dirname(require.resolve('node-api-headers/package.json')), 'include');
    if (existsSync(join(dir, 'node_api.h'))) return dir;
  } catch {
    // not installed: fall back to Node's own headers
  }
  for (const dir of [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node', '/usr/local/include/node']) {
    if (existsSync(join(dir, 'node_api.h'))) return dir;
  }
  throw new Error("Node-API headers not found: install the 'node-api-headers' package (npm install) or set FALCON_NODE_API_INCLUDE");
}

function nodeAddonApiInclude() {
  if (process.env.FALCON_NODE_ADDON_API) return process.env.FALCON_NODE_ADDON_API;
  try {
    return dirname(require.resolve('node-addon-api/package.json'));
  } catch {
    throw new Error("node-addon-api not found: install it (npm install) or set FALCON_NODE_ADDON_API to its folder");
  }
}

/** Packages with CUDA sources: [{ name, dir, sources }]. */
function findPackages(only) {
  const pkgs = [];
  const base = join(root, 'packages');
  for (const name of readdirSync(base).sort()) {
    const csrc = join(base, name, 'csrc');
    if (!existsSync(csrc)) continue;
    const files = readdirSync(csrc).sort();
    if (!files.some((f) => f.endsWith('.cu'))) continue;
    if (only.length && !only.includes(name)) continue;
    pkgs.push({ name, dir: join(base, name), sources: files.filter((f) => f.endsWith('.cu') || f.endsWith('.cpp')).map((f) => join(csrc, f)) });
  }
  return pkgs;
}

function build(nvcc, pkg, outFile, gencodes, verbose) {
  const args = [
    '-O3',
    '-std=c++17',
    '-shared',
    '-Xcompiler',
    '-fPIC,-fvisibility=hidden',
    '-cudart',
    'static',
    '--threads',
    '0',
    ...gencodes.flatMap((g) => ['-gencode', g]),
    '-I',
    join(pkg.dir, 'csrc'),
    '-I',
    join(root, 'packages', 'tensor', 'csrc', 'include'),
    '-I',
    nodeApiInclude(),
    '-I',
    nodeAddonApiInclude(),
    ...pkg.sources,
    '-ldl',
    '-o',
    outFile,
  ];
  if (verbose) console.log([nvcc, ...args].join(' '));
  const t0 = Date.now();
  const r = spawnSync(nvcc, args, { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`nvcc failed for package '${pkg.name}' (exit ${r.status ?? r.signal})`);
  return (Date.now() - t0) / 1000;
}

// Sent to every binding of a built addon (in a child process): a call without its parameters, a
// plain object instead of the packed Float64Array, a packed call one value short, and one with a
// non-integer in its first integer-like field must each be rejected with the contract's error
// (<falcon/params.h>: checked before the binding looks at the device).
const MALFORMED_CALLS = `
  const sigs = a.falconSignatures;
  if (!sigs || typeof sigs !== 'object') { console.error('missing export: falconSignatures'); process.exit(1); }
  const bad = [];
  for (const [name, sig] of Object.entries(sigs)) {
    const call = (p) => (sig.stream ? a[name](0, p) : a[name](p));
    const rejects = (f, re, what) => {
      try { f(); bad.push(name + ': ' + what + ' was accepted'); } catch (e) { if (!re.test(e.message)) bad.push(name + ': ' + what + ' gave ' + JSON.stringify(e.message)); }
    };
    rejects(() => a[name](), /^[A-Za-z0-9]+: expects \\(/, 'a call without arguments');
    rejects(() => call({}), /expects its parameters packed into a Float64Array/, 'a plain object');
    rejects(() => call(new Float64Array(sig.fields.length - 1)), /the packed call has \\d+ values, the declaration \\d+ fields/, 'a call one value short');
    const i = sig.fields.findIndex(([, k]) => k !== 'f32' && k !== 'f64');
    if (i >= 0) {
      const p = new Float64Array(sig.fields.length);
      p[i] = 0.5;
      rejects(() => call(p), new RegExp("^" + name + ": field '" + sig.fields[i][0] + "' must be "), "0.5 in field '" + sig.fields[i][0] + "'");
    }
  }
  if (bad.length) { console.error('bindings that do not enforce the named native-call contract:\\n  ' + bad.join('\\n  ')); process.exit(1); }
  const rejected = Object.keys(sigs).length;
`;

/** Loads the built addon in a child process (a bad binary must not take this one down), probes it and sends its bindings malformed calls. */
function loadCheck(file, pkgName) {
  if (pkgName !== 'tensor') {
    // A package addon (include/falcon/extension.h): init plus its kernel functions.
    const ext = `
      const a = require(process.argv[1]);
      if (typeof a.init !== 'function') { console.error('missing export: init'); process.exit(1); }
      ${MALFORMED_CALLS}
      console.log(JSON.stringify({ exports: Object.keys(a).sort(), malformedCallsRejectedBy: rejected }));
    `;
    return execFileSync(process.execPath, ['-e', ext, file], { encoding: 'utf8' }).trim();
  }
  const script = `
    const a = require(process.argv[1]);
    const need = ['probe', 'init', 'stream', 'alloc', 'free', 'matmul'];
    const missing = need.filter((k) => typeof a[k] !== 'function');
    if (missing.length) { console.error('missing exports: ' + missing.join(', ')); process.exit(1); }
    const p = a.probe();
    ${MALFORMED_CALLS}
    console.log(JSON.stringify({ exports: Object.keys(a).length, deviceCount: p.deviceCount, error: p.error, cublasLt: p.cublasLt.loaded ? p.cublasLt.path : 'not found', malformedCallsRejectedBy: rejected }));
  `;
  return execFileSync(process.execPath, ['-e', script, file], { encoding: 'utf8' }).trim();
}

/**
 * Compares the signatures every built addon exports with the TypeScript declarations of its
 * package (tools/check-native-contract.ts, run through tsx with the packages' sources).
 */
function contractCheck(built) {
  let tsx;
  try {
    tsx = createRequire(join(root, 'package.json')).resolve('tsx');
  } catch {
    throw new Error("--check compares the addons' signatures with the TypeScript declarations through tsx, which is not installed (npm install)");
  }
  const args = ['--import', pathToFileURL(tsx).href, join(root, 'tools', 'check-native-contract.ts'), ...built.map(({ name, file }) => `${name}=${file}`)];
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
  process.stdout.write(r.stdout ?? '');
  process.stderr.write(r.stderr ?? '');
  if (r.status !== 0) throw new Error('the addons do not match their TypeScript declarations (see above)');
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const nvcc = findNvcc();
  if (!nvcc) {
    const msg = 'nvcc (the CUDA compiler) was not found on PATH, in $NVCC, $CUDA_HOME/bin or /usr/local/cuda/bin: the CUDA addons are not built (the cpu and webgpu backends work without them)';
    if (opts.ifAvailable) {
      console.log(msg);
      return;
    }
    console.error(msg);
    process.exit(1);
  }
  const gencodes = opts.arches.length ? opts.arches.map(gencode) : DEFAULT_GENCODES;
  const pkgs = findPackages(opts.packages);
  if (!pkgs.length) {
    console.log('no package has CUDA sources (packages/*/csrc/*.cu)');
    return;
  }
  const tmp = opts.check ? mkdtempSync(join(tmpdir(), 'falcon-cuda-check-')) : undefined;
  const built = [];
  try {
    for (const pkg of pkgs) {
      const outDir = tmp ?? join(pkg.dir, 'build');
      mkdirSync(outDir, { recursive: true });
      const out = join(outDir, `falcon_${pkg.name}_cuda.node`);
      const secs = build(nvcc, pkg, out, gencodes, opts.verbose);
      console.log(`${pkg.name}: ${pkg.sources.length} sources → ${tmp ? '(check) ' : ''}${out.replace(root + '/', '')} in ${secs.toFixed(1)} s`);
      if (opts.check) console.log(`${pkg.name}: loads; probe → ${loadCheck(out, pkg.name)}`);
      built.push({ name: pkg.name, file: out });
    }
    if (opts.check) contractCheck(built);
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

try {
  main();
} catch (e) {
  console.error(`build-cuda: ${e.message}`);
  process.exit(1);
}
