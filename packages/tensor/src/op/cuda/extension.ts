/**
 * CUDA extensions: how a package runs its own CUDA kernels (`packages/<pkg>/csrc/`, built by
 * `tools/build-cuda.mjs` into `packages/<pkg>/build/falcon_<pkg>_cuda.node`) on the tensors of the
 * `cuda` backend. The package declares its addon once with {@link cudaExtension} — the file, and
 * every function with its named parameters (`nativeKernel` / `nativeQuery`, the contract of
 * `native.ts`) — and writes each op's kernel with {@link cudaKernel}: the kernel gets the device
 * pointers of the inputs, allocates its outputs (and scratch) from the backend's caching allocator
 * and calls the addon's functions with named parameters; the kit passes the backend's one stream.
 * The C++ side is `csrc/include/falcon/extension.h` (and `params.h`) of this package.
 *
 * Nothing is loaded at import: the addon is `require`d the first time a kernel runs, so browsers
 * and machines without CUDA never touch it; a missing addon is an error naming the file and the
 * command that builds it, and an addon whose bindings do not match the declarations is an error
 * listing every difference (before any kernel runs).
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { KernelArgs, OpInputs, OpKernel } from '../define_op.js';
import { CudaBackend } from '../../backends/cuda/backend.js';
import type { NativeDeclarations } from './native.js';
import type { NativeAddon } from './signature.js';
import { bindNative, checkSignatures } from './signature.js';
import { cudaAddonFile } from '../../backends/cuda/addon_path.js';

/** What every package addon exports besides its declared functions. */
export interface CudaExtensionAddon {
  /** Makes the device current for the addon's CUDA runtime. */
  init(device: number): void;
}

interface NodeProcess {
  env: Record<string, string | undefined>;
  getBuiltinModule?: (name: string) => unknown;
}

const registry: CudaExtension<NativeDeclarations>[] = [];

/** A package's lazily loaded CUDA addon (see the module comment). */
export class CudaExtension<D extends NativeDeclarations> {
  /** The package's short name, e.g. `'mamba2'` (its addon is `falcon_mamba2_cuda.node`). */
  readonly name: string;
  /** The addon's functions, by export name, with their parameters. */
  readonly declarations: D;
  private readonly defaultUrl: string;
  private addon?: CudaExtensionAddon;
  private bound = new WeakMap<CudaBackend, NativeAddon<D>>();

  /**
   * @param name - the package's folder name under `packages/`
   * @param defaultUrl - file URL of the built addon, relative to the caller's module
   * @param declarations - the addon's functions (see {@link cudaExtension})
   */
  constructor(name: string, defaultUrl: string, declarations: D) {
    this.name = name;
    this.defaultUrl = defaultUrl;
    this.declarations = declarations;
  }

  /**
   * Where the addon is looked for: `$FALCON_<NAME>_CUDA_ADDON`, else
   * `$FALCON_CUDA_ADDON_DIR/falcon_<name>_cuda.node`, else the package's `build/` folder, else its
   * prebuilt platform package (`addon_path.ts`); throws naming both when neither has it.
   */
  path(): string {
    const proc = nodeProcess();
    const env = proc.env;
    const own = env[`FALCON_${this.name.toUpperCase()}_CUDA_ADDON`];
    if (own) return own;
    if (env.FALCON_CUDA_ADDON_DIR) return `${env.FALCON_CUDA_ADDON_DIR.replace(/\/$/, '')}/falcon_${this.name}_cuda.node`;
    return cudaAddonFile(this.name, this.defaultUrl); // own build/, else the platform package, else a clear error
  }

  /** The addon's functions for `backend`: loaded and checked on first use, initialised for its device, bound to its stream. */
  get(backend: CudaBackend): NativeAddon<D> {
    let fns = this.bound.get(backend);
    if (!fns) {
      if (!this.addon) this.addon = this.load(this.path());
      this.addon.init(backend.device);
      fns = bindNative(`@falcon/${this.name}`, this.addon, this.declarations, backend.stream);
      this.bound.set(backend, fns);
    }
    return fns;
  }

  /**
   * Loads the addon at `path` (no device needed) and checks its bindings against the declarations;
   * throws naming every difference. `tools/build-cuda.mjs --check` calls it on a fresh build.
   * @returns the names of the checked functions
   */
  check(path: string = this.path()): string[] {
    this.load(path);
    return Object.keys(this.declarations);
  }

  private load(path: string): CudaExtensionAddon {
    const proc = nodeProcess();
    const fs = proc.getBuiltinModule!('node:fs') as { existsSync(p: string): boolean };
    if (!fs.existsSync(path)) {
      throw new Error(`the CUDA addon of @falcon/${this.name} is not built (${path} is missing); build it with 'node tools/build-cuda.mjs' (needs nvcc, CUDA 12+)`);
    }
    const mod = proc.getBuiltinModule!('node:module') as { createRequire(from: string): (id: string) => unknown };
    let addon: CudaExtensionAddon;
    try {
      addon = mod.createRequire(this.defaultUrl)(path) as CudaExtensionAddon;
    } catch (e) {
      throw new Error(`the CUDA addon of @falcon/${this.name} (${path}) could not be loaded: ${(e as Error).message.split('\n')[0]}`);
    }
    checkSignatures(`the CUDA addon of @falcon/${this.name} (${path})`, addon, this.declarations);
    return addon;
  }
}

function nodeProcess(): NodeProcess {
  const proc = (globalThis as { process?: NodeProcess }).process;
  if (!proc?.getBuiltinModule) throw new Error('CUDA extensions need Node.js 20.16 or newer (process.getBuiltinModule)');
  return proc;
}

/**
 * Declares a package's CUDA addon and its functions. Every call registers the extension, so that
 * {@link cudaExtensions} lists the addons of the packages imported so far.
 *
 * @example
 * ```ts
 * // packages/mamba2/src/kernels/cuda/addon.ts (src/ and dist/ are both three folders below the package)
 * export const mamba2Cuda = cudaExtension('mamba2', new URL('../../../build/falcon_mamba2_cuda.node', import.meta.url).href, {
 *   causalConv1d: nativeKernel({ x: 'ptr', weight: 'ptr', y: 'ptr', batch: 'i32', silu: 'bool' }),
 * });
 * ```
 * @param name - the package's folder name (`'mamba2'` → `falcon_mamba2_cuda.node`)
 * @param defaultUrl - file URL of the addon in the package's `build/` folder
 * @param declarations - the addon's functions by export name (`nativeKernel`, `nativeQuery`)
 */
export function cudaExtension<D extends NativeDeclarations>(name: string, defaultUrl: string, declarations: D): CudaExtension<D> {
  const ext = new CudaExtension<D>(name, defaultUrl, declarations);
  registry.push(ext as unknown as CudaExtension<NativeDeclarations>);
  return ext;
}

/** The CUDA extensions declared by the packages imported so far, in declaration order. */
export function cudaExtensions(): readonly CudaExtension<NativeDeclarations>[] {
  return registry;
}

/** What a {@link cudaKernel} body receives besides the addon's functions, inputs and attributes. */
export interface CudaKernelContext {
  /** The backend running the kernel. */
  backend: CudaBackend;
  /** Device pointer of a tensor (uploading pending host data first); 0 for an absent input. */
  ptr(t: tf.TensorInfo | undefined): number;
  /** A new output tensor (uninitialised device memory) of `shape` (float32 unless given). */
  output(shape: number[], dtype?: tf.DataType): tf.TensorInfo;
  /** Scratch device memory for the kernel: a pointer, released when the kernel returns (stream order keeps that safe). */
  scratch(shape: number[], dtype?: tf.DataType): number;
}

/**
 * A `cuda` kernel for {@link defineOp} over a package's addon. `fn` calls the addon's functions by
 * name with their named parameters (`addon.causalConv1d({ x: ctx.ptr(t.x), … })`; the stream is
 * added by the kit). If `fn` throws, every output and scratch tensor it made is released before
 * the error propagates.
 *
 * @param ext - the package's addon (from {@link cudaExtension})
 * @param fn - queues the addon's kernels and returns the outputs, keyed by output name
 */
export function cudaKernel<D extends NativeDeclarations, I extends string, O extends string, A, Out extends string>(
  ext: CudaExtension<D>,
  fn: (addon: NativeAddon<D>, ctx: CudaKernelContext, inputs: OpInputs<I, O>, attrs: A) => Record<Out, tf.TensorInfo>,
): OpKernel<I, O, A, Out> {
  return ({ inputs, attrs, backend }: KernelArgs<I, O, A>) => {
    if (!(backend instanceof CudaBackend)) throw new Error(`a cuda kernel of @falcon/${ext.name} ran on backend '${backend.constructor.name}'`);
    const addon = ext.get(backend);
    const made: tf.TensorInfo[] = [];
    const scratch: tf.TensorInfo[] = [];
    const ctx: CudaKernelContext = {
      backend,
      ptr: (t) => (t ? backend.ptr(t) : 0),
      output: (shape, dtype = 'float32') => {
        const t = backend.makeOutput(shape, dtype);
        made.push(t);
        return t;
      },
      scratch: (shape, dtype = 'float32') => {
        const t = backend.makeOutput(shape, dtype);
        scratch.push(t);
        return backend.ptr(t);
      },
    };
    try {
      return fn(addon, ctx, inputs, attrs);
    } catch (e) {
      for (const t of made) backend.disposeData(t.dataId, true);
      throw e;
    } finally {
      for (const t of scratch) backend.disposeData(t.dataId, true);
    }
  };
}
