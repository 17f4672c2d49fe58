#!/usr/bin/env node
// Static checks that the repository stands alone and its packages are publishable (CI, .ci/run):
//   1. no tracked file reads or points to anything beside the repository (the sibling shared/
//      folder the project started from): tests, tools, nx inputs and docs use in-repo copies, and
//      the README links the project's own docs/design.md and docs/math.md;
//   2. LICENSE is the Apache License 2.0, and every package.json declares it, with the one
//      project `repository` (its own `directory`), `homepage`, `bugs` and `engines`;
//   3. every package has a README.md, and `files` packs everything it uses at run time: each
//      `new URL('…', import.meta.url)` in src/ points into a packed folder (the CUDA addons in
//      build/ excepted: they come from the platform packages or `falcon build-cuda`), csrc/ is
//      packed where there are CUDA sources;
//   4. webgpu (Dawn, ~130 MB) is not installed with any package: an optional peer of @falcon/tensor.
// Prints every problem found and exits 1 if there is any.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const REPO_URL = 'https://github.com/falcon-ts/falcon';
const problems = [];
const problem = (s) => problems.push(s);

// 1. Nothing beside the repository. The pattern is assembled so that this file does not match itself.
const sibling = new RegExp(['\\.\\.', 'shared'].join('/') + '|' + ['shared', '(fixtures|DESIGN|DEVICE|spec|anchors)'].join('/'));
const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' }).split('\0').filter(Boolean);
for (const f of tracked) {
  if (/\.(safetensors|bin|png|jpg|node|tgz)$/.test(f) || f === 'package-lock.json') continue;
  const p = join(root, f);
  if (!existsSync(p) || statSync(p).size > 2_000_000) continue;
  const lines = readFileSync(p, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (sibling.test(line)) problem(`${f}:${i + 1} refers to a folder outside the repository: ${line.trim().slice(0, 120)}`);
  });
}

// The project's own design and math pages, linked from the README.
for (const page of ['docs/design.md', 'docs/math.md']) {
  if (!existsSync(join(root, page))) problem(`${page} is missing (the project's own design and math pages)`);
  else if (!readFileSync(join(root, 'README.md'), 'utf8').includes(`(${page})`)) problem(`README.md does not link ${page}`);
}

// 2. Licence and metadata.
const license = existsSync(join(root, 'LICENSE')) ? readFileSync(join(root, 'LICENSE'), 'utf8') : '';
if (!/Apache License\s+Version 2\.0, January 2004/.test(license) || !license.includes('END OF TERMS AND CONDITIONS')) {
  problem('LICENSE is missing or is not the Apache License 2.0 text');
}
const pkgs = readdirSync(join(root, 'packages')).filter((d) => existsSync(join(root, 'packages', d, 'package.json')));
for (const d of pkgs) {
  const dir = join(root, 'packages', d);
  const j = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const at = `packages/${d}/package.json`;
  if (j.license !== 'Apache-2.0') problem(`${at}: license is ${JSON.stringify(j.license)}, not Apache-2.0`);
  const repo = j.repository;
  if (!repo || repo.type !== 'git' || repo.url !== `git+${REPO_URL}.git` || repo.directory !== `packages/${d}`) {
    problem(`${at}: repository must be {"type":"git","url":"git+${REPO_URL}.git","directory":"packages/${d}"}`);
  }
  if (typeof j.homepage !== 'string' || !j.homepage.startsWith(REPO_URL)) problem(`${at}: homepage must point into ${REPO_URL}`);
  if (!j.bugs?.url?.startsWith(REPO_URL)) problem(`${at}: bugs.url must point into ${REPO_URL}`);
  if (!j.engines?.node) problem(`${at}: engines.node is missing`);

  // 3. README, and the packed files cover what the code uses at run time.
  if (!existsSync(join(dir, 'README.md'))) problem(`packages/${d} has no README.md`);
  const files = (j.files ?? []).map((f) => f.replace(/^\.\//, '').replace(/\/$/, ''));
  const packed = (rel) => files.some((f) => rel === f || rel.startsWith(f + '/'));
  const walk = (sub) =>
    readdirSync(join(dir, sub), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(sub, e.name)) : e.name.endsWith('.ts') ? [join(sub, e.name)] : []));
  for (const src of existsSync(join(dir, 'src')) ? walk('src') : []) {
    const text = readFileSync(join(dir, src), 'utf8');
    for (const m of text.matchAll(/new URL\(\s*'([^']+)'\s*,\s*import\.meta\.url\s*\)/g)) {
      // dist/ mirrors src/, so the target is the same relative to the package either way.
      const target = posix.normalize(posix.join(posix.dirname(src.split('\\').join('/')), m[1]));
      if (target.startsWith('..')) {
        problem(`packages/${d}/${src}: '${m[1]}' points outside the package`);
        continue;
      }
      const first = target.split('/')[0];
      if (first === 'build' && /falcon_\w+_cuda\.node$/.test(target)) continue;
      if (!packed(target)) problem(`packages/${d}/${src} uses ${target} at run time, which the package's "files" (${files.join(', ')}) do not pack`);
      if (!target.endsWith('/') && !existsSync(join(dir, target)) && first !== 'dist' && first !== 'build') problem(`packages/${d}/${src} uses ${target}, which does not exist`);
    }
  }
  const csrc = join(dir, 'csrc');
  if (existsSync(csrc) && readdirSync(csrc).some((f) => f.endsWith('.cu')) && !packed('csrc')) {
    problem(`${at}: csrc/ holds CUDA sources but "files" does not pack it (falcon build-cuda needs it)`);
  }

  // 4. No Dawn in a default install.
  for (const field of ['dependencies', 'optionalDependencies']) {
    if (j[field]?.webgpu) problem(`${at}: webgpu is in ${field} (it must not be installed by default: an optional peer dependency)`);
  }
  if (d === 'tensor' && !(j.peerDependencies?.webgpu && j.peerDependenciesMeta?.webgpu?.optional)) {
    problem(`${at}: webgpu must be an optional peer dependency (peerDependenciesMeta.webgpu.optional)`);
  }
}

if (problems.length) {
  console.error(`check-repo: ${problems.length} problem(s):`);
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}
console.log(`check-repo: ok (${tracked.length} tracked files, ${pkgs.length} packages; nothing outside the repository is read)`);

