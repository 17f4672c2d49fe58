/**
 * Where a package's CUDA addon (`falcon_<name>_cuda.node`) is found, in order:
 *
 * 1. the package's own `build/` folder: what `falcon-build-cuda` (or `node tools/build-cuda.mjs`
 *    in the repository) compiles from the package's `csrc/` with nvcc;
 * 2. the prebuilt platform package `@falcon/<name>-<platform>-<arch>-cuda` (e.g.
 *    `@falcon/mamba2-linux-x64-cuda`), an optional dependency of the package that npm installs only
 *    on the platform it was built for (sm_80, sm_90a and PTX for newer GPUs);
 * 3. otherwise an error message naming both places and the command that builds the addon.
 *
 * The `$FALCON_<NAME>_CUDA_ADDON` / `$FALCON_CUDA_ADDON_DIR` / `$FALCON_CUDA_ADDON` overrides are
 * read by the callers before this lookup. Synchronous, and nothing is loaded at import: Node's
 * modules are taken through `process.getBuiltinModule`, so browser bundles never touch them.
 */

/** Platforms the release command publishes prebuilt addons for (`<platform>-<arch>`). */
export const PREBUILT_CUDA_PLATFORMS: readonly string[] = ['linux-x64'];

/** The result of {@link findCudaAddon}. */
export interface CudaAddonLookup {
  /** The addon file found; when none was found, the package's own `build/` path. */
  path: string;
  /** Whether `path` exists. */
  found: boolean;
  /** Where it came from: the package's `build/`, or the platform package. */
  source?: 'build' | 'platform-package';
  /** When not found: what is missing and how to get it, in one line. */
  message?: string;
}

interface NodeBits {
  platform: string;
  arch: string;
  fs: { existsSync(p: string): boolean };
  url: { fileURLToPath(u: string): string };
  path: { dirname(p: string): string; join(...p: string[]): string };
  module: { createRequire(from: string): { resolve(id: string): string } };
}

function node(): NodeBits {
  const proc = (globalThis as { process?: { platform: string; arch: string; getBuiltinModule?: (n: string) => unknown } }).process;
  if (!proc?.getBuiltinModule) throw new Error('CUDA addons need Node.js 20.16 or newer (process.getBuiltinModule)');
  const get = proc.getBuiltinModule;
  return {
    platform: proc.platform,
    arch: proc.arch,
    fs: get('node:fs') as NodeBits['fs'],
    url: get('node:url') as NodeBits['url'],
    path: get('node:path') as NodeBits['path'],
    module: get('node:module') as NodeBits['module'],
  };
}

/**
 * The platform package that carries a package's prebuilt addon.
 * @param name - the package's short name, e.g. `'mamba2'`
 * @param platform - `<process.platform>-<process.arch>`, this machine's by default
 * @returns e.g. `'@falcon/mamba2-linux-x64-cuda'`
 */
export function cudaAddonPackage(name: string, platform?: string): string {
  const p = platform ?? `${node().platform}-${node().arch}`;
  return `@falcon/${name}-${p}-cuda`;
}

/**
 * Look for a package's addon: its own `build/`, then its platform package (see the module comment).
 * @param name - the package's short name (`'mamba2'` → `falcon_mamba2_cuda.node`)
 * @param ownUrl - file URL of the addon in the package's `build/` folder; the platform package is
 *   resolved from there, as the package itself would `require` it
 */
export function findCudaAddon(name: string, ownUrl: string): CudaAddonLookup {
  const n = node();
  const own = n.url.fileURLToPath(ownUrl);
  if (n.fs.existsSync(own)) return { path: own, found: true, source: 'build' };
  const platform = `${n.platform}-${n.arch}`;
  const pkg = cudaAddonPackage(name, platform);
  const file = `falcon_${name}_cuda.node`;
  let pkgDir: string | undefined;
  try {
    pkgDir = n.path.dirname(n.module.createRequire(own).resolve(`${pkg}/package.json`));
  } catch {
    pkgDir = undefined;
  }
  if (pkgDir) {
    const prebuilt = n.path.join(pkgDir, file);
    if (n.fs.existsSync(prebuilt)) return { path: prebuilt, found: true, source: 'platform-package' };
  }
  const prebuiltNote = pkgDir
    ? `the prebuilt package ${pkg} is installed (${pkgDir}) but holds no ${file}`
    : PREBUILT_CUDA_PLATFORMS.includes(platform)
      ? `the prebuilt package ${pkg} is not installed (npm installs it with @falcon/${name} unless optional dependencies are omitted)`
      : `no prebuilt addon exists for ${platform} (only for ${PREBUILT_CUDA_PLATFORMS.join(', ')})`;
  return {
    path: own,
    found: false,
    message:
      `the CUDA addon of @falcon/${name} was not found: the addon is not built in the package (${own} is missing) and ${prebuiltNote}; ` +
      `build it from source with 'npx falcon-build-cuda' (needs nvcc, CUDA 12+; in the repository: 'node tools/build-cuda.mjs')`,
  };
}

/**
 * The addon file of a package ({@link findCudaAddon}), or an error saying what is missing.
 * @throws Error naming the package's `build/` path, its platform package and the build command
 */
export function cudaAddonFile(name: string, ownUrl: string): string {
  const r = findCudaAddon(name, ownUrl);
  if (!r.found) throw new Error(r.message);
  return r.path;
}
