/**
 * CUDA extensions: how a package runs its own CUDA kernels (`packages/<pkg>/csrc/`, built by
 * `tools/build-cuda.mjs` into `packages/<pkg>/build/falcon_<pkg>_cuda.node`) on the tensors of the
 * `cuda` backend. The package declares its addon once with {@link cudaExtension} and writes each
 * op's kernel with {@link cudaKernel}: the kernel gets the device pointers of the inputs, allocates
 * its outputs (and scratch) from the backend's caching allocator and queues the addon's kernels on
 * the backend's one stream. The C++ side is `csrc/include/falcon/extension.h` of this package.
 *
 * Nothing is loaded at import: the addon is `require`d the first time a kernel runs, so browsers
 * and machines without CUDA never touch it; a missing addon is an error naming the file and the
 * command that builds it.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { KernelArgs, OpInputs, OpKernel } from '../../define_op.js';
import { cudaAddonFile } from './addon_path.js';
import { CudaBackend } from './backend.js';

/** What every package addon exports besides its kernels. */
export interface CudaExtensionAddon {
  /** Makes the device current for the addon's CUDA runtime. */
  init(device: number): void;
}

interface NodeProcess {
  env: Record<string, string | undefined>;
  getBuiltinModule?: (name: string) => unknown;
}

/** A package's lazily loaded CUDA addon (see the module comment). */
export class CudaExtension<T extends CudaExtensionAddon> {
  /** The package's short name, e.g. `'mamba2'` (its addon is `falcon_mamba2_cuda.node`). */
  readonly name: string;
  private readonly defaultUrl: string;
  private addon?: T;
  private initialised = new WeakSet<CudaBackend>();

  /**
   * @param name - the package's folder name under `packages/`
   * @param defaultUrl - file URL of the built addon, relative to the caller's module
   */
  constructor(name: string, defaultUrl: string) {
    this.name = name;
    this.defaultUrl = defaultUrl;
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

  /** The addon, loaded on first use and initialised for `backend`'s device. */
  get(backend: CudaBackend): T {
    if (!this.addon) this.addon = this.load();
    if (!this.initialised.has(backend)) {
      this.addon.init(backend.device);
      this.initialised.add(backend);
    }
    return this.addon;
  }

  private load(): T {
    const proc = nodeProcess();
    const path = this.path();
    const fs = proc.getBuiltinModule!('node:fs') as { existsSync(p: string): boolean };
    if (!fs.existsSync(path)) {
      throw new Error(`the CUDA addon of @falcon/${this.name} is not built (${path} is missing); build it with 'node tools/build-cuda.mjs' (needs nvcc, CUDA 12+)`);
    }
    const mod = proc.getBuiltinModule!('node:module') as { createRequire(from: string): (id: string) => unknown };
    try {
      return mod.createRequire(this.defaultUrl)(path) as T;
    } catch (e) {
      throw new Error(`the CUDA addon of @falcon/${this.name} (${path}) could not be loaded: ${(e as Error).message.split('\n')[0]}`);
    }
  }
}

function nodeProcess(): NodeProcess {
  const proc = (globalThis as { process?: NodeProcess }).process;
  if (!proc?.getBuiltinModule) throw new Error('CUDA extensions need Node.js 20.16 or newer (process.getBuiltinModule)');
  return proc;
}

/**
 * Declares a package's CUDA addon.
 *
 * @example
 * ```ts
 * // packages/mamba2/src/kernels/cuda/addon.ts (src/ and dist/ are both three folders below the package)
 * export const mamba2Cuda = cudaExtension<Mamba2CudaAddon>('mamba2', new URL('../../../build/falcon_mamba2_cuda.node', import.meta.url).href);
 * ```
 * @param name - the package's folder name (`'mamba2'` → `falcon_mamba2_cuda.node`)
 * @param defaultUrl - file URL of the addon in the package's `build/` folder
 */
export function cudaExtension<T extends CudaExtensionAddon>(name: string, defaultUrl: string): CudaExtension<T> {
  return new CudaExtension<T>(name, defaultUrl);
}

/** What a {@link cudaKernel} body receives besides the addon, inputs and attributes. */
export interface CudaKernelContext {
  /** The backend running the kernel. */
  backend: CudaBackend;
  /** The backend's stream (pass it as the first argument of every addon call). */
  stream: number;
  /** Device pointer of a tensor (uploading pending host data first); 0 for an absent input. */
  ptr(t: tf.TensorInfo | undefined): number;
  /** A new output tensor (uninitialised device memory) of `shape` (float32 unless given). */
  output(shape: number[], dtype?: tf.DataType): tf.TensorInfo;
  /** Scratch device memory for the kernel: a pointer, released when the kernel returns (stream order keeps that safe). */
  scratch(shape: number[], dtype?: tf.DataType): number;
}

/**
 * A `cuda` kernel for {@link defineOp} over a package's addon. If `fn` throws, every output and
 * scratch tensor it made is released before the error propagates.
 *
 * @param ext - the package's addon (from {@link cudaExtension})
 * @param fn - queues the addon's kernels and returns the outputs, keyed by output name
 */
export function cudaKernel<T extends CudaExtensionAddon, I extends string, O extends string, A, Out extends string>(
  ext: CudaExtension<T>,
  fn: (addon: T, ctx: CudaKernelContext, inputs: OpInputs<I, O>, attrs: A) => Record<Out, tf.TensorInfo>,
): OpKernel<I, O, A, Out> {
  return ({ inputs, attrs, backend }: KernelArgs<I, O, A>) => {
    if (!(backend instanceof CudaBackend)) throw new Error(`a cuda kernel of @falcon/${ext.name} ran on backend '${backend.constructor.name}'`);
    const addon = ext.get(backend);
    const made: tf.TensorInfo[] = [];
    const scratch: tf.TensorInfo[] = [];
    const ctx: CudaKernelContext = {
      backend,
      stream: backend.stream,
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
