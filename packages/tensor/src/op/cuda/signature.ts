/**
 * The load-time half of the named native-call contract (see `native.ts`): an addon exports the
 * signature of every binding (`falconSignatures`, written by `falcon::ext::bind` from the C++
 * params structs), {@link checkSignatures} compares them with the TypeScript declarations field by
 * field, and {@link bindNative} turns a checked addon into typed functions that take named
 * parameters (validated and packed per call, the stream added by the kit).
 */
import type { NativeDeclarations, NativeFields, NativeFunction, NativeKind, NativeParams, NativeReturn } from './native.js';
import { packer } from './native.js';

/** A binding's signature as an addon exports it in `falconSignatures[name]`. */
export interface NativeSignature {
  /** Whether it takes the backend's stream before the parameters. */
  stream: boolean;
  /** What it returns. */
  returns: NativeReturn;
  /** The params struct's fields in order: [name, kind]. */
  fields: [string, NativeKind][];
}

/** The signatures of every binding of an addon, by export name. */
export type NativeSignatures = Record<string, NativeSignature>;

/** What an addon that follows the contract exports: its bindings and their signatures. */
export interface NativeExports {
  /** The signature of every binding (see {@link NativeSignature}). */
  falconSignatures: NativeSignatures;
}

/** The typed functions of a checked addon: each takes its named parameters (and returns a number for a query). */
export type NativeAddon<D extends NativeDeclarations> = {
  [K in keyof D]: D[K] extends NativeFunction<infer F, infer R> ? (params: NativeParams<F>) => R extends 'number' ? number : void : never;
};

/** The signature a declaration stands for (what the C++ side must export for it). */
export function signatureOf(fn: NativeFunction): NativeSignature {
  return { stream: fn.stream, returns: fn.returns, fields: Object.entries(fn.fields) };
}

function fieldProblems(name: string, cpp: [string, NativeKind][], ts: NativeFields): string[] {
  const out: string[] = [];
  const tsList = Object.entries(ts);
  const cppMap = new Map(cpp);
  const tsMap = new Map(tsList);
  for (const [f, k] of cpp) if (!tsMap.has(f)) out.push(`${name}: field '${f}' (${k}) of the C++ struct is not in the TypeScript declaration`);
  for (const [f, k] of tsList) if (!cppMap.has(f)) out.push(`${name}: field '${f}' (${k}) of the TypeScript declaration is not in the C++ struct`);
  for (const [f, k] of tsList) {
    const c = cppMap.get(f);
    if (c !== undefined && c !== k) out.push(`${name}: field '${f}' is '${c}' in C++ and '${k}' in TypeScript`);
  }
  if (!out.length && cpp.some(([f], i) => tsList[i][0] !== f)) {
    out.push(`${name}: the fields are in another order in C++ (${cpp.map(([f]) => f).join(', ')}) than in TypeScript (${tsList.map(([f]) => f).join(', ')})`);
  }
  return out;
}

/**
 * Every difference between an addon's exported signatures and the TypeScript declarations:
 * functions declared on one side only, a stream or return kind that differs, fields missing,
 * extra, of another kind or in another order. Empty when they match.
 * @param addon - the loaded addon (its `falconSignatures` and functions)
 * @param decls - the declarations, by export name
 */
export function signatureProblems(addon: unknown, decls: NativeDeclarations): string[] {
  const a = addon as Partial<NativeExports> & Record<string, unknown>;
  if (!a || typeof a.falconSignatures !== 'object' || a.falconSignatures === null) {
    return ["it exports no 'falconSignatures' (built before the named native-call contract? rebuild it with 'node tools/build-cuda.mjs')"];
  }
  const sigs = a.falconSignatures;
  const out: string[] = [];
  for (const name of Object.keys(sigs)) if (!(name in decls)) out.push(`${name}: exported by the addon but not declared in TypeScript`);
  for (const [name, fn] of Object.entries(decls)) {
    const sig = sigs[name];
    if (!sig) {
      out.push(`${name}: declared in TypeScript but not exported by the addon`);
      continue;
    }
    if (typeof a[name] !== 'function') out.push(`${name}: its signature is exported but the function is not`);
    if (sig.stream !== fn.stream) out.push(`${name}: the C++ binding ${sig.stream ? 'takes' : 'does not take'} the stream, the TypeScript declaration ${fn.stream ? 'does' : 'does not'}`);
    if (sig.returns !== fn.returns) out.push(`${name}: returns '${sig.returns}' in C++ and '${fn.returns}' in TypeScript`);
    out.push(...fieldProblems(name, sig.fields, fn.fields));
  }
  return out;
}

/**
 * Throws unless the addon's signatures match the declarations ({@link signatureProblems}); the
 * error lists every difference.
 * @param label - names the addon in the error, e.g. `'the CUDA addon of @falcon/mamba2 (path)'`
 */
export function checkSignatures(label: string, addon: unknown, decls: NativeDeclarations): void {
  const problems = signatureProblems(addon, decls);
  if (problems.length) throw new Error(`${label} does not match its TypeScript declarations:\n  - ${problems.join('\n  - ')}`);
}

/**
 * The typed functions of an addon (checked first with {@link checkSignatures}): each validates
 * and packs its named parameters and calls the binding, with `stream` first for kernels that take it.
 * @param label - names the addon in errors (`'@falcon/mamba2'`); a call's errors read `'<label> <function>: …'`
 * @param addon - the loaded addon
 * @param decls - the declarations, by export name
 * @param stream - the backend's stream, for the declarations with `stream: true`
 */
export function bindNative<D extends NativeDeclarations>(label: string, addon: unknown, decls: D, stream = 0): NativeAddon<D> {
  checkSignatures(label, addon, decls);
  const a = addon as Record<string, (...args: unknown[]) => unknown>;
  const out: Record<string, (p: never) => unknown> = {};
  for (const [name, fn] of Object.entries(decls)) {
    const raw = a[name];
    const pack = packer(`${label} ${name}`, fn);
    out[name] = fn.stream ? (p) => raw(stream, pack(p)) : (p) => raw(pack(p));
  }
  return out as unknown as NativeAddon<D>;
}
