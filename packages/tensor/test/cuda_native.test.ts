// The named native-call contract (src/op/cuda/): a call's object is validated against its
// declaration (missing, extra, misnamed and mistyped fields are errors naming the field), packed in
// declaration order and unpacked with the C++ side's checks; an addon whose exported signatures
// differ from the declarations is rejected when it is loaded, with every difference listed. The
// C++ half of the same checks runs in `node tools/build-cuda.mjs --check` (it loads every built
// addon, compares its signatures with these declarations and sends each binding a malformed call).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tensorNative } from '../src/backends/cuda/addon.js';
import { CudaBackend } from '../src/backends/cuda/backend.js';
import { CudaExtension } from '../src/op/cuda/extension.js';
import { nativeCall, nativeKernel, nativeQuery, packer, unpacker } from '../src/op/cuda/native.js';
import { bindNative, checkSignatures, signatureOf, signatureProblems } from '../src/op/cuda/signature.js';
import { createEmulatedCudaAddon } from '../src/testing/cuda_emulator.js';
import { emulateNative } from '../src/testing/native_contract.js';

const conv = nativeKernel({ x: 'ptr', weight: 'ptr', y: 'ptr', batch: 'i32', rows: 'i64', eps: 'f32', silu: 'bool' });
const good = { x: 4096, weight: 8192, y: 0, batch: 3, rows: 2 ** 40, eps: 1e-5, silu: true };
const strided = nativeCall({ dt: 'i32', shape: 'i64[]', stride: 'i64[]', freq: 'f32[]', n: 'i64' });

describe('named native calls: the per-call validator', () => {
  const pack = packer('@falcon/demo conv', conv);

  it('packs the fields in declaration order (flags as 0/1)', () => {
    expect(Array.from(pack(good))).toEqual([4096, 8192, 0, 3, 2 ** 40, 1e-5, 1]);
  });

  it('packs list fields as their length, the elements after the last field', () => {
    const p = packer('@falcon/demo strided', strided)({ dt: 1, shape: [2, 3], stride: [3, 1], freq: new Float32Array([0.5]), n: 6 });
    expect(Array.from(p)).toEqual([1, 2, 2, 1, 6, 2, 3, 3, 1, 0.5]);
  });

  it('a missing field is an error naming it', () => {
    const { silu: _, ...rest } = good;
    expect(() => pack(rest as never)).toThrow("@falcon/demo conv: missing field 'silu'");
  });

  it('an extra field is an error naming it', () => {
    expect(() => pack({ ...good, stream: 0 } as never)).toThrow("@falcon/demo conv: unknown field 'stream'");
  });

  it('a misnamed field is reported as missing and unknown', () => {
    const { weight, ...rest } = good;
    expect(() => pack({ ...rest, weights: weight } as never)).toThrow("@falcon/demo conv: missing field 'weight'; unknown field 'weights'");
  });

  it('a mistyped field is an error naming the field, its kind and the value', () => {
    expect(() => pack({ ...good, silu: 1 } as never)).toThrow("field 'silu' must be a boolean (got 1)");
    expect(() => pack({ ...good, batch: 2.5 })).toThrow("field 'batch' must be an int32 (got 2.5)");
    expect(() => pack({ ...good, batch: 2 ** 31 })).toThrow("field 'batch' must be an int32");
    expect(() => pack({ ...good, x: -8 })).toThrow("field 'x' must be a device pointer (an integer ≥ 0) (got -8)");
    expect(() => pack({ ...good, rows: NaN })).toThrow("field 'rows' must be an integer (got NaN)");
    expect(() => pack({ ...good, eps: '1e-5' } as never)).toThrow("field 'eps' must be a number (got \"1e-5\")");
    expect(() => packer('s', strided)({ dt: 1, shape: [2, 0.5], stride: [1, 1], freq: [], n: 1 })).toThrow("field 'shape' must be an array of integers");
  });

  it('a non-object is an error', () => {
    expect(() => pack(7 as never)).toThrow('@falcon/demo conv: expects an object of named parameters, got 7');
  });
});

describe('named native calls: the unpacker (the mirror of falcon::ext::unpack)', () => {
  const unpack = unpacker('@falcon/demo conv', conv);

  it('reads back what the packer wrote (f32 fields rounded to float32)', () => {
    expect(unpack(packer('c', conv)(good))).toEqual({ ...good, eps: Math.fround(1e-5) });
    const s = unpacker('s', strided)(packer('s', strided)({ dt: 1, shape: [2, 3], stride: [3, 1], freq: [0.25], n: 6 }));
    expect(s).toEqual({ dt: 1, shape: [2, 3], stride: [3, 1], freq: new Float32Array([0.25]), n: 6 });
  });

  it('rejects what the C++ side rejects, naming the field', () => {
    expect(() => unpack({ x: 1 })).toThrow('expects its parameters packed into a Float64Array');
    expect(() => unpack(new Float64Array(6))).toThrow('the packed call has 6 values, the declaration 7 fields');
    expect(() => unpack(new Float64Array(8))).toThrow('the packed call has 8 values, its fields and lists 7');
    expect(() => unpack(Float64Array.from([1, 2, 3, 4, 5, 6, 2]))).toThrow("field 'silu' must be a flag (0 or 1) (got 2)");
    expect(() => unpack(Float64Array.from([1.5, 2, 3, 4, 5, 6, 1]))).toThrow("field 'x' must be a device pointer");
    expect(() => unpacker('s', strided)(Float64Array.from([1, 3, 0, 0, 1, 2, 3]))).toThrow("field 'shape' must be a list length within the packed call (got 3)");
  });
});

describe('named native calls: signatures checked at load', () => {
  const decls = { conv, convScratch: nativeQuery({ batch: 'i32', silu: 'bool' }) };
  const impls = { conv: () => undefined, convScratch: ({ batch }: { batch: number }) => batch * 2 };
  const addon = emulateNative('demo', decls, impls as never);

  it('an addon that matches its declarations binds to named calls, the kit passing the stream', () => {
    expect(signatureProblems(addon, decls)).toEqual([]);
    const calls: unknown[][] = [];
    const spy = { ...addon, conv: (...args: unknown[]) => calls.push(args) };
    const fns = bindNative('@falcon/demo', spy, decls, 77);
    fns.conv(good);
    expect(calls[0][0]).toBe(77);
    expect(Array.from(calls[0][1] as Float64Array)).toEqual([4096, 8192, 0, 3, 2 ** 40, 1e-5, 1]);
    expect(fns.convScratch({ batch: 21, silu: false })).toBe(42);
    expect(() => fns.conv({ ...good, extra: 1 } as never)).toThrow("@falcon/demo conv: unknown field 'extra'");
  });

  it('every difference between the C++ signatures and the declarations is listed', () => {
    const ts = {
      conv: nativeKernel({ x: 'ptr', weights: 'ptr', y: 'ptr', batch: 'i64', rows: 'i64', silu: 'bool', eps: 'f32', extra: 'i32' }),
      convScratch: nativeCall({ batch: 'i32', silu: 'bool' }),
      missing: nativeKernel({ x: 'ptr' }),
    };
    expect(signatureProblems(addon, ts)).toEqual([
      "conv: field 'weight' (ptr) of the C++ struct is not in the TypeScript declaration",
      "conv: field 'weights' (ptr) of the TypeScript declaration is not in the C++ struct",
      "conv: field 'extra' (i32) of the TypeScript declaration is not in the C++ struct",
      "conv: field 'batch' is 'i32' in C++ and 'i64' in TypeScript",
      "convScratch: returns 'number' in C++ and 'void' in TypeScript",
      'missing: declared in TypeScript but not exported by the addon',
    ]);
    expect(signatureProblems(addon, { conv })).toEqual(['convScratch: exported by the addon but not declared in TypeScript']);
    const reordered = { conv: nativeKernel({ weight: 'ptr', x: 'ptr', y: 'ptr', batch: 'i32', rows: 'i64', eps: 'f32', silu: 'bool' }), convScratch: decls.convScratch };
    expect(signatureProblems(addon, reordered)).toEqual(['conv: the fields are in another order in C++ (x, weight, y, batch, rows, eps, silu) than in TypeScript (weight, x, y, batch, rows, eps, silu)']);
    const noStream = { conv: nativeCall(conv.fields), convScratch: decls.convScratch };
    expect(signatureProblems(addon, noStream)).toEqual(['conv: the C++ binding takes the stream, the TypeScript declaration does not']);
    expect(() => checkSignatures('the CUDA addon of @falcon/demo', addon, ts)).toThrow(/^the CUDA addon of @falcon\/demo does not match its TypeScript declarations:\n {2}- conv: field 'weight'/);
    expect(signatureProblems({ conv: () => 0 }, decls)[0]).toMatch(/exports no 'falconSignatures'/);
  });

  it('a package addon whose bindings differ is an error when it is loaded, before any kernel runs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'falcon-native-'));
    const file = join(dir, 'falcon_demo_cuda.node.cjs');
    const sigs = { conv: { ...signatureOf(conv), fields: signatureOf(conv).fields.map(([n, k]) => [n === 'eps' ? 'epsilon' : n, k]) } };
    writeFileSync(file, `module.exports = { init() {}, conv() {}, falconSignatures: ${JSON.stringify(sigs)} };`);
    const ext = new CudaExtension('demo', pathToFileURL(file).href, { conv });
    expect(() => ext.check(file)).toThrow(/falcon_demo_cuda\.node\.cjs\) does not match its TypeScript declarations:\n {2}- conv: field 'epsilon' \(f32\) of the C\+\+ struct is not in the TypeScript declaration\n {2}- conv: field 'eps' \(f32\) of the TypeScript declaration/);
    const matching = join(dir, 'falcon_demo2_cuda.node.cjs'); // another file: require caches the first
    writeFileSync(matching, `module.exports = { init() {}, conv() {}, falconSignatures: ${JSON.stringify({ conv: signatureOf(conv) })} };`);
    expect(new CudaExtension('demo2', pathToFileURL(matching).href, { conv }).check(matching)).toEqual(['conv']);
  });
});

describe('named native calls: the tensor addon', () => {
  it('the emulated addon exports the signatures of tensorNative and rejects malformed calls as the C++ one does', () => {
    const addon = createEmulatedCudaAddon();
    expect(signatureProblems(addon, tensorNative)).toEqual([]);
    const raw = addon as unknown as Record<string, (...a: unknown[]) => unknown>;
    expect(() => raw.unary({ op: 0 })).toThrow('unary: expects its parameters packed into a Float64Array');
    expect(() => raw.unary(new Float64Array(3))).toThrow('unary: the packed call has 3 values, the declaration 8 fields');
    expect(() => raw.fill(Float64Array.from([0.5, 0, 0, 0]))).toThrow("fill: field 'dt' must be an int32 (got 0.5)");
  });

  it('CudaBackend.native takes named parameters and rejects a misnamed one before the addon runs', () => {
    const b = new CudaBackend(createEmulatedCudaAddon(), 0, 'f32');
    const y = b.makeOutput([4], 'float32');
    b.native.fill({ dt: 0, y: b.ptr(y), n: 4, value: 2.5 });
    expect(Array.from(b.readSync(y.dataId) as Float32Array)).toEqual([2.5, 2.5, 2.5, 2.5]);
    expect(() => b.native.fill({ dt: 0, out: b.ptr(y), n: 4, value: 1 } as never)).toThrow("@falcon/tensor fill: missing field 'y'; unknown field 'out'");
    expect(Array.from(b.readSync(y.dataId) as Float32Array)).toEqual([2.5, 2.5, 2.5, 2.5]);
  });

  it('a tensor addon whose kernels differ from tensorNative cannot back a CudaBackend', () => {
    const addon = createEmulatedCudaAddon();
    const sigs = { ...addon.falconSignatures, softmax: { ...addon.falconSignatures.softmax, fields: addon.falconSignatures.softmax.fields.filter(([n]) => n !== 'log') } };
    expect(() => new CudaBackend({ ...addon, falconSignatures: sigs }, 0)).toThrow("softmax: field 'log' (bool) of the TypeScript declaration is not in the C++ struct");
  });
});
