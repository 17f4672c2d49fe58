#!/usr/bin/env node
// Builds the CUDA addons of the @falcon packages from their sources with nvcc: for each package
// beside this one (the folders next to @falcon/tensor: packages/* in the repository, or
// node_modules/@falcon/* where the packages are installed) whose csrc/ holds .cu files, one nvcc
// invocation compiles its .cu and .cpp files into <package>/build/falcon_<pkg>_cuda.node (static
// cudart; cuBLASLt is dlopen'ed at run time, so only -ldl is linked). Every package gets
// @falcon/tensor's csrc/include on its include path (<falcon/extension.h>: the interface of a
// package addon to the tensor package's cuda backend). An addon in <package>/build/ is found before
// the prebuilt one of the platform package (src/backends/cuda/addon_path.ts).
//
// Shipped with @falcon/tensor as the `falcon-build-cuda` command (also `falcon build-cuda` of
// @falcon/hybrid); in the repository `node tools/build-cuda.mjs` runs it.
//
//   falcon-build-cuda                   build for sm_80, sm_90a and compute_90 PTX (newer GPUs)
//   falcon-build-cuda --arch sm_90a     build for one architecture only (faster; the device runner)
//   falcon-build-cuda --check           compile into a temporary folder, load the result in a
//                                       child Node process and call its probe() (no GPU needed);
//                                       every binding must reject malformed calls (before touching
//                                       the GPU), and in the repository every addon's signatures
//                                       must match its TypeScript declarations (tools/check-native-contract.ts)
//   falcon-build-cuda --package tensor  only that package
//   falcon-build-cuda --out-dir DIR     write DIR/<pkg>/falcon_<pkg>_cuda.node instead of <package>/build/
//                                       (the release command stages the prebuilt addons this way)
//   falcon-build-cuda --if-available    exit 0 with a notice when nvcc is not installed
//
// nvcc is found as $NVCC, on the PATH, or in $CUDA_HOME/bin, /usr/local/cuda/bin. Node-API headers
// come from the node-api-headers package (or $FALCON_NODE_API_INCLUDE, or Node's own include/node),
// node-addon-api from its package (or $FALCON_NODE_ADDON_API); both are dependencies of @falcon/tensor.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** @falcon/tensor's folder (this script is in its scripts/), and the folder of the packages beside it. */
const tensorDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const packagesDir = dirname(tensorDir);
const require = createRequire(join(tensorDir, 'package.json'));

const DEFAULT_GENCODES = ['arch=compute_80,code=sm_80', 'arch=compute_90a,code=sm_90a', 'arch=compute_90,code=compute_90'];

function parseArgs(argv) {
  const o = { check: false, arches: [], packages: [], ifAvailable: false, verbose: false, outDir: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--check') o.check = true;
    else if (a === '--if-available') o.ifAvailable = true;
    else if (a === '--verbose' || a === '-v') o.verbose = true;
    else if (a === '--arch') o.arches.push(...value(argv, ++i, a).split(','));
    else if (a === '--package') o.packages.push(...value(argv, ++i, a).split(','));
    else if (a === '--out-dir') o.outDir = resolve(value(argv, ++i, a));
    else if (a === '--help' || a === '-h') o.help = true;
    else throw new Error(`unknown argument '${a}' (see --help)`);
  }
  return o;
}

function value(argv, i, flag) {
  if (i >= argv.length || argv[i].startsWith('--')) throw new Error(`${flag} needs a value (see --help)`);
  return argv[i];
}

const USAGE = [
  'usage: falcon-build-cuda [--check] [--arch sm_90a[,sm_80]] [--package tensor[,mamba2]] [--out-dir DIR] [--if-available] [--verbose]',
  '',
  'Builds the CUDA addons of the installed @falcon packages from their csrc/ with nvcc (CUDA 12+) into',
  "each package's build/ folder, where they are found before the prebuilt platform packages.",
  'Default architectures: sm_80, sm_90a and compute_90 PTX.',
].join('\n');

/** sm_90a → arch=compute_90a,code=sm_90a; compute_90 → PTX only. */
/** nvcc's `-gencode` value for `sm_NN` (SASS) or `compute_NN` (PTX). */
export function gencode(arch) {
  const m = /^(sm|compute)_(\d+[a-z]?)$/.exec(arch);
  if (!m) throw new Error(`--arch: expected sm_NN or compute_NN, got '${arch}'`);
  return m[1] === 'sm' ? `arch=compute_${m[2]},code=sm_${m[2]}` : `arch=compute_${m[2]},code=compute_${m[2]}`;
}

/** nvcc: $NVCC, on the PATH, in $CUDA_HOME/bin, $CUDA_PATH/bin or /usr/local/cuda/bin; undefined when absent. */
export function findNvcc() {
  const candidates = [];
  if (process.env.NVCC) candidates.push(process.env.NVCC);
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir) candidates.push(join(dir, 'nvcc'));
  for (const home of [process.env.CUDA_HOME, process.env.CUDA_PATH, '/usr/local/cuda']) if (home) candidates.push(join(home, 'bin', 'nvcc'));
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

/** The Node-API headers' folder ($FALCON_NODE_API_INCLUDE, the node-api-headers package, or Node's own include/node). */
export function nodeApiInclude() {
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

/** node-addon-api's folder ($FALCON_NODE_ADDON_API or the node-addon-api package). */
export function nodeAddonApiInclude() {
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
  const base = packagesDir;
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
    join(tensorDir, 'csrc', 'include'),
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
 * In the repository (where tools/check-native-contract.ts exists): compares the signatures every
 * built addon exports with the TypeScript declarations of its package, run through tsx with the
 * packages' sources. An installed package has no sources to compare with and skips it.
 */
function contractCheck(built) {
  const repo = resolve(packagesDir, '..');
  const script = join(repo, 'tools', 'check-native-contract.ts');
  if (!existsSync(script)) return;
  let tsx;
  try {
    tsx = createRequire(join(repo, 'package.json')).resolve('tsx');
  } catch {
    throw new Error("--check compares the addons' signatures with the TypeScript declarations through tsx, which is not installed (npm install)");
  }
  const args = ['--import', pathToFileURL(tsx).href, script, ...built.map(({ name, file }) => `${name}=${file}`)];
  const r = spawnSync(process.execPath, args, { cwd: repo, encoding: 'utf8' });
  process.stdout.write(r.stdout ?? '');
  process.stderr.write(r.stderr ?? '');
  if (r.status !== 0) throw new Error('the addons do not match their TypeScript declarations (see above)');
}

/**
 * Runs the build with command-line arguments (see the header); returns the exit code.
 * @param {string[]} argv - e.g. ['--arch', 'sm_90a', '--package', 'mamba2']
 * @returns {number}
 */
export function runBuildCuda(argv) {
  try {
    return main(argv);
  } catch (e) {
    console.error(`build-cuda: ${e.message}`);
    return 1;
  }
}

function main(argv) {
  const opts = parseArgs(argv);
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  const nvcc = findNvcc();
  if (!nvcc) {
    const msg = 'nvcc (the CUDA compiler) was not found on PATH, in $NVCC, $CUDA_HOME/bin or /usr/local/cuda/bin: the CUDA addons are not built (the cpu and webgpu backends work without them)';
    if (opts.ifAvailable) {
      console.log(msg);
      return 0;
    }
    console.error(msg);
    return 1;
  }
  const gencodes = opts.arches.length ? opts.arches.map(gencode) : DEFAULT_GENCODES;
  const pkgs = findPackages(opts.packages);
  const unknown = opts.packages.filter((p) => !pkgs.some((k) => k.name === p));
  if (unknown.length) throw new Error(`--package: no package with CUDA sources named ${unknown.join(', ')} in ${packagesDir}`);
  if (!pkgs.length) {
    console.log(`no package has CUDA sources (${packagesDir}/*/csrc/*.cu)`);
    return 0;
  }
  const tmp = opts.check ? mkdtempSync(join(tmpdir(), 'falcon-cuda-check-')) : undefined;
  const shown = (p) => p.replace(process.cwd() + '/', '');
  const built = [];
  try {
    for (const pkg of pkgs) {
      const outDir = tmp ?? (opts.outDir ? join(opts.outDir, pkg.name) : join(pkg.dir, 'build'));
      mkdirSync(outDir, { recursive: true });
      const out = join(outDir, `falcon_${pkg.name}_cuda.node`);
      const secs = build(nvcc, pkg, out, gencodes, opts.verbose);
      console.log(`${pkg.name}: ${pkg.sources.length} sources → ${tmp ? '(check) ' : ''}${shown(out)} in ${secs.toFixed(1)} s`);
      if (opts.check) console.log(`${pkg.name}: loads; probe → ${loadCheck(out, pkg.name)}`);
      built.push({ name: pkg.name, file: out });
    }
    if (opts.check) contractCheck(built);
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
  return 0;
}

// Run as a command (directly, or through the falcon-build-cuda bin link): build with its arguments.
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = runBuildCuda(process.argv.slice(2));
}
