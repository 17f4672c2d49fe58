// Where a package's CUDA addon is found: its own build/ first, then the prebuilt platform package
// (@falcon/<name>-<platform>-<arch>-cuda, resolved from the package as require would), else an
// error naming both places and the build command. Laid out as npm installs them, in a temp folder.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { cudaAddonFile, cudaAddonPackage, findCudaAddon } from '../src/backends/cuda/addon_path.js';
import { cudaExtension } from '../src/op/cuda/extension.js';

const root = mkdtempSync(join(tmpdir(), 'falcon-addon-path-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const here = `${process.platform}-${process.arch}`;
let n = 0;

/** A fresh project with node_modules/@falcon/<name> (and optionally its platform package). */
function project(opts: { own?: boolean; platform?: 'with-addon' | 'empty' }): { name: string; pkg: string; ownUrl: string; ownFile: string; platformDir: string } {
  const name = `demo${n++}`;
  const pkg = join(root, `p${n}`, 'node_modules', '@falcon', name);
  mkdirSync(join(pkg, 'dist'), { recursive: true });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: `@falcon/${name}`, version: '0.1.0' }));
  const ownFile = join(pkg, 'build', `falcon_${name}_cuda.node`);
  if (opts.own) {
    mkdirSync(join(pkg, 'build'));
    writeFileSync(ownFile, 'own');
  }
  const platformDir = join(root, `p${n}`, 'node_modules', '@falcon', `${name}-${here}-cuda`);
  if (opts.platform) {
    mkdirSync(platformDir, { recursive: true });
    writeFileSync(join(platformDir, 'package.json'), JSON.stringify({ name: `@falcon/${name}-${here}-cuda`, version: '0.1.0', os: [process.platform], cpu: [process.arch] }));
    if (opts.platform === 'with-addon') writeFileSync(join(platformDir, `falcon_${name}_cuda.node`), 'prebuilt');
  }
  return { name, pkg, ownUrl: pathToFileURL(ownFile).href, ownFile, platformDir };
}

describe('findCudaAddon', () => {
  it('names the platform package after the package, platform and arch', () => {
    expect(cudaAddonPackage('mamba2', 'linux-x64')).toBe('@falcon/mamba2-linux-x64-cuda');
    expect(cudaAddonPackage('tensor')).toBe(`@falcon/tensor-${here}-cuda`);
  });

  it("prefers the package's own build/", () => {
    const p = project({ own: true, platform: 'with-addon' });
    expect(findCudaAddon(p.name, p.ownUrl)).toEqual({ path: p.ownFile, found: true, source: 'build' });
  });

  it('falls back to the installed platform package', () => {
    const p = project({ platform: 'with-addon' });
    const r = findCudaAddon(p.name, p.ownUrl);
    expect(r).toEqual({ path: join(p.platformDir, `falcon_${p.name}_cuda.node`), found: true, source: 'platform-package' });
    expect(cudaAddonFile(p.name, p.ownUrl)).toBe(r.path);
  });

  it('without either, says what is missing: the build/ file, the platform package and the build command', () => {
    const p = project({});
    const r = findCudaAddon(p.name, p.ownUrl);
    expect(r.found).toBe(false);
    expect(r.path).toBe(p.ownFile);
    expect(r.message).toContain(`${p.ownFile} is missing`);
    expect(r.message).toContain(here === 'linux-x64' ? `@falcon/${p.name}-linux-x64-cuda is not installed` : `no prebuilt addon exists for ${here}`);
    expect(r.message).toContain('npx falcon-build-cuda');
    expect(r.message).toContain('node tools/build-cuda.mjs');
    expect(() => cudaAddonFile(p.name, p.ownUrl)).toThrow(r.message);
  });

  it('a platform package without the addon file is named as such', () => {
    const p = project({ platform: 'empty' });
    const r = findCudaAddon(p.name, p.ownUrl);
    expect(r.found).toBe(false);
    expect(r.message).toContain(`${p.platformDir}) but holds no falcon_${p.name}_cuda.node`);
  });
});

describe('CudaExtension.path', () => {
  const saved = { dir: process.env.FALCON_CUDA_ADDON_DIR };
  afterEach(() => {
    if (saved.dir === undefined) delete process.env.FALCON_CUDA_ADDON_DIR;
    else process.env.FALCON_CUDA_ADDON_DIR = saved.dir;
  });

  it('finds the addon in the platform package, and the environment overrides still win', () => {
    const p = project({ platform: 'with-addon' });
    delete process.env.FALCON_CUDA_ADDON_DIR;
    const ext = cudaExtension(p.name, p.ownUrl, {});
    expect(ext.path()).toBe(join(p.platformDir, `falcon_${p.name}_cuda.node`));
    process.env[`FALCON_${p.name.toUpperCase()}_CUDA_ADDON`] = '/x/own.node';
    expect(ext.path()).toBe('/x/own.node');
    delete process.env[`FALCON_${p.name.toUpperCase()}_CUDA_ADDON`];
    process.env.FALCON_CUDA_ADDON_DIR = '/x/dir/';
    expect(ext.path()).toBe(`/x/dir/falcon_${p.name}_cuda.node`);
  });

  it('throws the lookup message when the addon is nowhere', () => {
    const p = project({});
    delete process.env.FALCON_CUDA_ADDON_DIR;
    expect(() => cudaExtension(p.name, p.ownUrl, {}).path()).toThrow(/was not found: the addon is not built in the package .*'npx falcon-build-cuda'/);
  });
});
