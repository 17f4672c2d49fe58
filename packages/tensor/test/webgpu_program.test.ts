// The WebGPU program helper (runWebgpuProgram, webgpuKernel): uniforms of every type arrive with
// the right layout, flat and grid launches, launches wider than 65535 workgroups, tfjs's index
// helpers, int32 data, the pipeline cache, intermediates released, and clear errors for bad programs.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KernelBackend, TensorInfo, WebgpuProgram } from '../src/index.js';
import { defineOp, initBackend, runWebgpuProgram, takeWebgpuErrors, tf, webgpuKernel, wgslWorkgroupReduce } from '../src/index.js';
import { backendsUnderTest, randomTensor } from '../src/testing/index.js';

const onWebgpu = backendsUnderTest().includes('webgpu');

/** Run one program on the active backend and return its output as a tensor. */
function run(program: WebgpuProgram): tf.Tensor {
  const info = runWebgpuProgram(tf.backend(), program);
  return tf.engine().makeTensorFromTensorInfo(info);
}

describe('webgpu program helper on a non-webgpu backend', () => {
  it('is a clear error naming the program and the active backend', async () => {
    await initBackend('cpu');
    expect(() => run({ name: 'Nope', inputs: {}, outputShape: [1], dispatch: 1, shader: 'fn main(index: i32) {}' })).toThrow(
      /webgpu program 'Nope' needs the webgpu backend; the active backend is 'cpu'/,
    );
  });
});

describe('wgslWorkgroupReduce', () => {
  it('emits WG, partial and one function per reduction; rejects a workgroup size that is not a power of two', () => {
    const src = wgslWorkgroupReduce(128, ['sum', 'max']);
    expect(src).toContain('const WG: u32 = 128u;');
    expect(src).toContain('var<workgroup> partial: array<f32, 128>;');
    expect(src).toContain('fn workgroupSum(lid: i32) -> f32');
    expect(src).toContain('fn workgroupMax(lid: i32) -> f32');
    expect(() => wgslWorkgroupReduce(48)).toThrow(/wg must be a power of two, got 48/);
  });
});

describe.runIf(onWebgpu)('webgpu program helper', () => {
  beforeAll(async () => {
    await initBackend('webgpu');
  });
  afterEach(async () => {
    expect(await takeWebgpuErrors()).toEqual([]);
  });

  it('passes uniforms of every type with WGSL layout (vec3 aligned to 16, scalars packed after it)', async () => {
    const y = run({
      name: 'TestUniforms',
      inputs: {},
      outputShape: [16],
      workgroupSize: [1],
      dispatch: 1,
      uniforms: {
        a: { type: 'f32', value: 1.5 },
        b: { type: 'vec3<f32>', value: [2.5, -3, 4] },
        c: { type: 'i32', value: -7 },
        d: { type: 'vec2<u32>', value: [8, 4294967295] },
        e: { type: 'vec4<i32>', value: [9, -10, 11, 12] },
        f: { type: 'u32', value: 13 },
        g: { type: 'vec2<f32>', value: [0.25, 1e30] },
      },
      shader: `fn main(index: i32) {
        setOutputAtIndex(0, uniforms.a);
        setOutputAtIndex(1, uniforms.b.x); setOutputAtIndex(2, uniforms.b.y); setOutputAtIndex(3, uniforms.b.z);
        setOutputAtIndex(4, f32(uniforms.c));
        setOutputAtIndex(5, f32(uniforms.d.x)); setOutputAtIndex(6, f32(uniforms.d.y == 4294967295u));
        setOutputAtIndex(7, f32(uniforms.e.x)); setOutputAtIndex(8, f32(uniforms.e.y));
        setOutputAtIndex(9, f32(uniforms.e.z)); setOutputAtIndex(10, f32(uniforms.e.w));
        setOutputAtIndex(11, f32(uniforms.f));
        setOutputAtIndex(12, uniforms.g.x); setOutputAtIndex(13, uniforms.g.y);
        setOutputAtIndex(14, f32(uniforms.size)); setOutputAtIndex(15, f32(isinf(uniforms.INFINITY)));
      }`,
    });
    expect(Array.from(await y.data())).toEqual([1.5, 2.5, -3, 4, -7, 8, 1, 9, -10, 11, 12, 13, 0.25, Math.fround(1e30), 16, 1]);
  });

  it('wgslWorkgroupReduce: a sum and a max of each row, one reduction after the other in one kernel', async () => {
    const rows = 5;
    const dim = 300; // longer than the workgroup: each invocation reduces a strided slice first
    const x = randomTensor([rows, dim], 3);
    const y = run({
      name: 'TestWorkgroupReduce',
      inputs: { x },
      outputShape: [rows, 64], // one slot per invocation: every invocation writes (total, max, then zeros)
      workgroupSize: [64],
      dispatch: rows * 64,
      uniforms: { rows: { type: 'i32', value: rows }, dim: { type: 'i32', value: dim } },
      shader: `${wgslWorkgroupReduce(64, ['sum', 'max'])}
      fn main(index: i32) {
        let row = index / 64;
        let lid = i32(localId.x);
        var s = 0.0;
        var m = -3.0e38;
        for (var j = lid; j < uniforms.dim; j = j + 64) { let v = x[row * uniforms.dim + j]; s = s + v; m = max(m, v); }
        partial[lid] = s;
        let total = workgroupSum(lid);
        partial[lid] = m;
        let top = workgroupMax(lid);
        setOutputAtIndex(index, select(select(0.0, top, lid == 1), total, lid == 0));
      }`,
    });
    const v = await y.data();
    const xv = await x.data();
    for (let r = 0; r < rows; r++) {
      const row = Array.from(xv.subarray(r * dim, (r + 1) * dim));
      expect(v[64 * r]).toBeCloseTo(row.reduce((a, b) => a + b, 0), 3); // float32 sums of 300 N(0,1) terms
      expect(v[64 * r + 1]).toBe(Math.max(...row));
    }
  });

  it('a flat launch wider than 65535 workgroups reaches every element (tfjs folds it into 2-D)', async () => {
    const n = 70_001;
    const y = run({
      name: 'TestWideLaunch',
      inputs: {},
      outputShape: [n],
      workgroupSize: [1],
      dispatch: n,
      shader: 'fn main(index: i32) { if (index < uniforms.size) { setOutputAtIndex(index, f32(index)); } }',
    });
    const v = await y.data();
    let bad = 0;
    for (let i = 0; i < n; i++) if (v[i] !== i) bad++;
    expect(bad).toBe(0);
  });

  it('a grid launch calls main() and gives workgroupId/localId/globalId; get<Name>(coords) reads inputs', async () => {
    // y[i, j] = x[j, i] (transpose) with a 2-D grid of 8×8 workgroups, on awkward sizes.
    const x = randomTensor([13, 29], 1);
    const y = run({
      name: 'TestTranspose',
      inputs: { x },
      outputShape: [29, 13],
      workgroupSize: [8, 8],
      dispatch: [Math.ceil(13 / 8), Math.ceil(29 / 8), 1],
      shader: `fn main() {
        let i = i32(globalId.y);
        let j = i32(globalId.x);
        if (i < uniforms.outShape.x && j < uniforms.outShape.y) { setOutputAtCoords(i, j, getX(j, i)); }
      }`,
    });
    expect(Array.from(await y.data())).toEqual(Array.from(await tf.transpose(x).data()));
  });

  it('int32 inputs and outputs, views of another shape, and getCoordsFromIndex', async () => {
    const x = tf.range(0, 24, 1, 'int32');
    // y[d0, d1, d2] = 100·d0 + 10·d1 + d2 + 2·x[d0, d1, d2], x seen as [2, 3, 4]; x[i] is an i32, getX() an f32
    // (tfjs's get<Name> helpers always convert to f32).
    const y = run({
      name: 'TestInt',
      inputs: { x: { ...x, shape: [2, 3, 4] } as TensorInfo },
      outputShape: [2, 3, 4],
      outputDtype: 'int32',
      dispatch: 1,
      workgroupSize: [32],
      shader: `fn main(index: i32) {
        if (index < uniforms.size) {
          let c = getCoordsFromIndex(index);
          setOutputAtIndexI32(index, 100 * c.x + 10 * c.y + c.z + x[index] + i32(getX(c.x, c.y, c.z)));
        }
      }`,
    });
    expect(y.dtype).toBe('int32');
    const want: number[] = [];
    for (let a = 0; a < 2; a++) for (let b = 0; b < 3; b++) for (let c = 0; c < 4; c++) want.push(100 * a + 10 * b + c + 2 * (a * 12 + b * 4 + c));
    expect(Array.from(await y.data())).toEqual(want);
  });

  it('compiles a program once per cache key: sizes are uniforms, so one pipeline serves every size', async () => {
    const cache = (tf.backend() as unknown as { pipelineCache: Record<string, unknown> }).pipelineCache;
    const count = () => Object.keys(cache).filter((k) => k.startsWith('TestCache|')).length;
    const program = (n: number, scale: number): WebgpuProgram => ({
      name: 'TestCache',
      inputs: {},
      outputShape: [n],
      dispatch: Math.ceil(n / 64),
      uniforms: { scale: { type: 'f32', value: scale } },
      shader: () => 'fn main(index: i32) { if (index < uniforms.size) { setOutputAtIndex(index, uniforms.scale); } }',
      cacheKey: 'v1',
    });
    await run(program(5, 1)).data();
    await run(program(500, 2)).data();
    expect(Array.from(await run(program(3, 3)).data())).toEqual([3, 3, 3]);
    expect(count()).toBe(1);
    await run({ ...program(3, 3), workgroupSize: [32] }).data(); // tfjs adds the workgroup size to the key
    expect(count()).toBe(2);
  });

  it('webgpuKernel: several outputs, an intermediate released, relabelled outputs; no leak', async () => {
    // minMaxRows: for x [rows, n], the per-row min and max (two programs), through an intermediate copy.
    const op = defineOp<'x', never, Record<string, never>, 'min' | 'max'>({
      name: 'TestMinMaxRows',
      inputs: ['x'],
      outputs: ['min', 'max'],
      kernels: {
        webgpu: webgpuKernel(({ inputs: { x }, run: runNow }) => {
          const [rows, n] = x.shape;
          const copy = runNow({
            name: 'TestCopy',
            inputs: { x },
            outputShape: [rows * n],
            dispatch: Math.ceil((rows * n) / 64),
            shader: 'fn main(index: i32) { if (index < uniforms.size) { setOutputAtIndex(index, x[index]); } }',
          });
          const reduce = (name: string, pick: string): WebgpuProgram => ({
            name,
            inputs: { c: copy },
            outputShape: [rows],
            dispatch: Math.ceil(rows / 64),
            uniforms: { n: { type: 'i32', value: n } },
            shader: `fn main(index: i32) {
              if (index < uniforms.size) {
                var v = c[index * uniforms.n];
                for (var j = 1; j < uniforms.n; j++) { v = ${pick}(v, c[index * uniforms.n + j]); }
                setOutputAtIndex(index, v);
              }
            }`,
          });
          const max = runNow(reduce('TestMax', 'max'));
          return { min: reduce('TestMin', 'min'), max: { ...max, shape: [rows, 1] } };
        }),
      },
    });
    const backend = tf.backend() as KernelBackend & { numDataIds(): number };
    const x = randomTensor([7, 11], 3);
    const ids = backend.numDataIds();
    const { min, max } = op({ x }, {});
    expect(max.shape).toEqual([7, 1]);
    const [got, gotMax] = [Array.from(await min.data()), Array.from(await max.data())];
    expect(backend.numDataIds()).toBe(ids + 2); // the two outputs; the copy was released
    expect(got).toEqual(Array.from(await tf.min(x, 1).data()));
    expect(gotMax).toEqual(Array.from(await tf.max(x, 1).data()));
    const after = backend.numDataIds();
    min.dispose();
    max.dispose();
    expect(backend.numDataIds()).toBe(after - 2);
  });

  it('rejects bad programs before running them, naming the program and the problem', () => {
    const ok: WebgpuProgram = { name: 'Bad', inputs: {}, outputShape: [4], dispatch: 1, shader: 'fn main(index: i32) {}' };
    expect(() => run({ ...ok, shader: 'fn main() {}' })).toThrow(/webgpu program 'Bad': the shader must define fn main\(index: i32\) \(dispatch is a number\)/);
    expect(() => run({ ...ok, dispatch: [1, 1, 1] })).toThrow(/the shader must define fn main\(\) \(dispatch is a grid\)/);
    expect(() => run({ ...ok, workgroupSize: [1024] })).toThrow(/webgpu program 'Bad': workgroupSize\[0\] 1024 exceeds this device's limit/);
    expect(() => run({ ...ok, workgroupSize: [16, 16, 2] })).toThrow(/workgroup size \(x·y·z\) 512 exceeds this device's limit/);
    expect(() => run({ ...ok, dispatch: [70000, 1, 1] })).toThrow(/dispatch\[0\] 70000 exceeds this device's limit 65535/);
    expect(() => run({ ...ok, dispatch: 0 })).toThrow(/dispatch \(workgroups\) must be a positive integer, got 0/);
    expect(() => run({ ...ok, uniforms: { size: { type: 'i32', value: 1 } } })).toThrow(/uniform 'size': the name is taken by tfjs's own uniforms/);
    expect(() => run({ ...ok, inputs: { x: tf.ones([2]) }, uniforms: { xShape: { type: 'i32', value: 1 } } })).toThrow(/uniform 'xShape': the name is taken/);
    expect(() => run({ ...ok, uniforms: { n: { type: 'i64' as 'i32', value: 1 } } })).toThrow(/uniform 'n': unsupported type 'i64'/);
    expect(() => run({ ...ok, uniforms: { n: { type: 'vec3<f32>', value: [1, 2] } } })).toThrow(/uniform 'n': type vec3<f32> needs 3 value\(s\), got 2/);
    expect(() => run({ ...ok, uniforms: { n: { type: 'i32', value: 1.5 } } })).toThrow(/uniform 'n': 1.5 is not an i32/);
    expect(() => run({ ...ok, uniforms: { n: { type: 'u32', value: -1 } } })).toThrow(/uniform 'n': -1 is not a u32/);
    expect(() => run({ ...ok, inputs: { result: tf.ones([2]) } })).toThrow(/input name 'result' is not usable in WGSL/);
    expect(() => run({ ...ok, inputs: { x: tf.complex([1], [2]) } })).toThrow(/input 'x' has dtype complex64/);
    expect(() => run({ ...ok, inputs: { x: tf.zeros([0, 3]) } })).toThrow(/input 'x' is empty \(shape \[0,3\]\); WebGPU cannot bind an empty buffer/);
    expect(() => run({ ...ok, outputShape: [1, 1, 1, 1, 1, 1, 1] })).toThrow(/output rank 7 > 6/);
  });

  it('a WGSL compile error is reported by takeWebgpuErrors with the program name', async () => {
    const y = run({ name: 'TestBrokenShader', inputs: {}, outputShape: [4], dispatch: 1, shader: 'fn main(index: i32) { setOutputAtIndex(index, notDeclared); }' });
    await y.data();
    const errors = await takeWebgpuErrors();
    expect(errors.join('\n')).toMatch(/notDeclared/);
    expect(errors.join('\n')).toMatch(/TestBrokenShader/);
  });
});
