/**
 * Test helpers of the named native-call contract (`op/cuda/native.ts`): {@link emulateNative}
 * turns TypeScript implementations of declared functions into an addon that behaves like the C++
 * bindings (it exports their signatures and reads every packed call through `unpacker`, the mirror
 * of `falcon::ext::unpack`), and {@link cudaAddonContractProblems} loads a built addon and lists
 * how its bindings differ from their declarations (`tools/build-cuda.mjs --check` runs it).
 */
import { tensorNative } from '../backends/cuda/addon.js';
import { cudaExtensions } from '../op/cuda/extension.js';
import type { NativeDeclarations } from '../op/cuda/native.js';
import { unpacker } from '../op/cuda/native.js';
import type { NativeAddon, NativeSignatures } from '../op/cuda/signature.js';
import { signatureOf, signatureProblems } from '../op/cuda/signature.js';

/**
 * An addon made of TypeScript implementations: for each declaration a binding that takes
 * `(stream, packed)` or `(packed)` as the C++ one does, unpacks with the C++ side's checks and
 * calls the implementation; and `falconSignatures`.
 * @param label - names the addon in errors
 * @param decls - the declarations
 * @param impls - an implementation per declaration, taking its named parameters
 */
export function emulateNative<D extends NativeDeclarations>(label: string, decls: D, impls: NativeAddon<D>): Record<string, (...args: unknown[]) => unknown> & { falconSignatures: NativeSignatures } {
  const out: Record<string, (...args: unknown[]) => unknown> = {};
  const falconSignatures: NativeSignatures = {};
  for (const [name, fn] of Object.entries(decls)) {
    const unpack = unpacker(`${label} ${name}`, fn);
    const impl = (impls as Record<string, (p: unknown) => unknown>)[name];
    const arity = fn.stream ? 2 : 1;
    out[name] = (...args: unknown[]) => {
      if (args.length !== arity) throw new Error(`${label} ${name}: expects ${fn.stream ? '(stream, packed params)' : '(packed params)'}, got ${args.length} argument(s)`);
      if (fn.stream && (typeof args[0] !== 'number' || !Number.isSafeInteger(args[0]) || args[0] < 0)) throw new Error(`${label} ${name}: argument 0 must be the backend's stream (a number)`);
      return impl(unpack(args[arity - 1]));
    };
    falconSignatures[name] = signatureOf(fn);
  }
  return Object.assign(out, { falconSignatures });
}

/**
 * Loads the built addon of package `pkg` from `path` (no GPU needed) and lists how its bindings
 * differ from their TypeScript declarations: `tensorNative` for `'tensor'`, the declarations of the
 * package's `cudaExtension` otherwise (its package must have been imported).
 * @returns the differences (empty: the contract holds) and the names of the checked functions
 */
export function cudaAddonContractProblems(pkg: string, path: string): { problems: string[]; functions: string[] } {
  const decls = pkg === 'tensor' ? tensorNative : cudaExtensions().find((e) => e.name === pkg)?.declarations;
  if (!decls) throw new Error(`no CUDA extension of @falcon/${pkg} is declared (import the package first)`);
  const proc = (globalThis as { process?: { getBuiltinModule?: (name: string) => unknown } }).process;
  const mod = proc?.getBuiltinModule?.('node:module') as { createRequire(from: string): (id: string) => unknown } | undefined;
  if (!mod) throw new Error('cudaAddonContractProblems needs Node.js 20.16 or newer (process.getBuiltinModule)');
  const addon = mod.createRequire(import.meta.url)(path);
  return { problems: signatureProblems(addon, decls), functions: Object.keys(decls) };
}
