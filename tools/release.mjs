#!/usr/bin/env node
// The release command: everything a user installs, as npm tarballs, from one run.
//
//   node tools/release.mjs [--out dist-release] [--arch sm_80,sm_90a,compute_90] [--no-build]
//   npm run release:pack
//
// 1. builds every package (`npm run build`: tsc → packages/*/dist, through nx);
// 2. builds the prebuilt CUDA addons with the addon builder (tools/build-cuda.mjs, i.e.
//    @falcon/tensor's falcon-build-cuda) for sm_80, sm_90a and compute_90 PTX, into <out>/addons/;
// 3. stages each package in <out>/stage/<name>/: exactly the files `npm pack` takes from the
//    package, the repository's LICENSE, and, for a package with an addon, an optionalDependencies
//    entry on its platform package (as napi-rs and esbuild publish native code);
// 4. writes the platform packages <out>/stage/<name>-linux-x64-cuda/ (`os`/`cpu`/`libc` fields, so
//    npm installs them only on Linux x64 with glibc; the addon, LICENSE, a README);
// 5. `npm pack`s every staged package into <out>/tarballs/ and writes <out>/tarballs/manifest.json.
//
// <out> is generated (gitignored), never committed. Needs nvcc (CUDA 12+); without it the release
// stops: a release without the prebuilt addons is not a release. tools/test-tarballs.sh installs
// the tarballs into an empty project and runs them.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PLATFORM = { os: 'linux', cpu: 'x64', libc: 'glibc' };
const PLATFORM_TAG = `${PLATFORM.os}-${PLATFORM.cpu}`;
const DEFAULT_ARCHES = 'sm_80,sm_90a,compute_90';

function parseArgs(argv) {
  const o = { out: join(root, 'dist-release'), arch: DEFAULT_ARCHES, build: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length || argv[i + 1].startsWith('--')) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--out') o.out = resolve(value());
    else if (a === '--arch') o.arch = value();
    else if (a === '--no-build') o.build = false;
    else if (a === '--help' || a === '-h') {
      console.log('usage: node tools/release.mjs [--out dist-release] [--arch sm_80,sm_90a,compute_90] [--no-build]');
      process.exit(0);
    } else throw new Error(`unknown argument '${a}' (see --help)`);
  }
  return o;
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
}

function readJson(p) {
  return JSON.parse(readFileSync(p, 'utf8'));
}

function writeJson(p, v) {
  writeFileSync(p, JSON.stringify(v, null, 2) + '\n');
}

/** The packages of the workspace: [{ dir, name (folder), json }], public ones only. */
function workspacePackages() {
  const base = join(root, 'packages');
  return readdirSync(base)
    .sort()
    .filter((d) => existsSync(join(base, d, 'package.json')))
    .map((d) => ({ dir: join(base, d), short: d, json: readJson(join(base, d, 'package.json')) }))
    .filter((p) => !p.json.private);
}

/** The files `npm pack` would take from a package folder (its `files`, package.json, README, LICENSE). */
function packedFiles(dir) {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out)[0].files.map((f) => f.path);
}

function nvccVersion() {
  try {
    const v = execFileSync(process.env.NVCC ?? 'nvcc', ['--version'], { encoding: 'utf8' });
    return /release (\d+\.\d+)/.exec(v)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function platformReadme(pkg, arches, cuda) {
  return [
    `# ${pkg.json.name}-${PLATFORM_TAG}-cuda`,
    '',
    `The prebuilt CUDA addon of [\`${pkg.json.name}\`](https://www.npmjs.com/package/${pkg.json.name}) for Linux x64 (glibc):`,
    `\`falcon_${pkg.short}_cuda.node\`, built with CUDA ${cuda} for ${arches.join(', ')} (PTX runs on newer GPUs),`,
    'with the CUDA runtime linked statically; it needs an NVIDIA driver for that CUDA version or newer.',
    '',
    `Do not install it yourself: npm installs it with \`${pkg.json.name}\` (an optional dependency that only`,
    'Linux x64 accepts), and the package finds it after its own `build/` folder. To build the addon',
    'from source instead (another GPU architecture or CUDA toolkit): `npx falcon-build-cuda`.',
    '',
  ].join('\n');
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const arches = opts.arch.split(',');
  const t0 = Date.now();
  rmSync(opts.out, { recursive: true, force: true });
  const addons = join(opts.out, 'addons');
  const stage = join(opts.out, 'stage');
  const tarballs = join(opts.out, 'tarballs');
  for (const d of [addons, stage, tarballs]) mkdirSync(d, { recursive: true });

  if (opts.build) {
    console.log('== release: build the packages (npm run build)');
    run('npm', ['run', 'build', '--silent']);
  }
  console.log(`== release: build the CUDA addons (${arches.join(', ')})`);
  run(process.execPath, [join(root, 'tools', 'build-cuda.mjs'), '--arch', opts.arch, '--out-dir', addons]);

  const cuda = nvccVersion();
  const commit = gitCommit();
  const license = join(root, 'LICENSE');
  const staged = [];
  for (const pkg of workspacePackages()) {
    if (!existsSync(join(pkg.dir, 'dist'))) throw new Error(`${pkg.json.name} is not built (${pkg.dir}/dist is missing): run without --no-build`);
    const dest = join(stage, pkg.short);
    for (const f of packedFiles(pkg.dir)) {
      mkdirSync(dirname(join(dest, f)), { recursive: true });
      copyFileSync(join(pkg.dir, f), join(dest, f));
    }
    copyFileSync(license, join(dest, 'LICENSE'));
    const json = { ...pkg.json };
    const addon = join(addons, pkg.short, `falcon_${pkg.short}_cuda.node`);
    if (existsSync(addon)) {
      const platformName = `${pkg.json.name}-${PLATFORM_TAG}-cuda`;
      json.optionalDependencies = { ...json.optionalDependencies, [platformName]: pkg.json.version };
      const pdir = join(stage, `${pkg.short}-${PLATFORM_TAG}-cuda`);
      mkdirSync(pdir, { recursive: true });
      cpSync(addon, join(pdir, `falcon_${pkg.short}_cuda.node`));
      copyFileSync(license, join(pdir, 'LICENSE'));
      writeFileSync(join(pdir, 'README.md'), platformReadme(pkg, arches, cuda));
      writeJson(join(pdir, 'package.json'), {
        name: platformName,
        version: pkg.json.version,
        description: `Prebuilt CUDA addon of ${pkg.json.name} for Linux x64 (${arches.join(', ')})`,
        license: pkg.json.license,
        repository: pkg.json.repository,
        homepage: pkg.json.homepage,
        os: [PLATFORM.os],
        cpu: [PLATFORM.cpu],
        libc: [PLATFORM.libc],
        engines: pkg.json.engines,
        files: [`falcon_${pkg.short}_cuda.node`, 'README.md', 'LICENSE'],
        falcon: { addon: `falcon_${pkg.short}_cuda.node`, cudaArchitectures: arches, cuda, commit },
      });
      staged.push(pdir);
    }
    writeJson(join(dest, 'package.json'), json);
    staged.push(dest);
  }

  console.log('== release: npm pack');
  const manifest = [];
  for (const dir of staged) {
    const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tarballs], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const [info] = JSON.parse(out);
    const size = statSync(join(tarballs, info.filename)).size;
    manifest.push({ name: info.name, version: info.version, file: info.filename, bytes: size, files: info.entryCount });
    console.log(`${info.filename.padEnd(44)} ${(size / 1024).toFixed(0).padStart(7)} KiB  ${info.entryCount} files`);
  }
  writeJson(join(tarballs, 'manifest.json'), { commit, cuda, cudaArchitectures: arches, platform: PLATFORM_TAG, packages: manifest });
  console.log(`== release: ${manifest.length} tarballs in ${tarballs.replace(root + '/', '')} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
}

try {
  main();
} catch (e) {
  console.error(`release: ${e.message}`);
  process.exit(1);
}
