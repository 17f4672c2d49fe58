// BitLinear (training) and PackedBitLinear (inference): forward and gradients against a composition
// of the references, freeze() in both scale formats, transformers-named tensors in and out,
// tensor-parallel shards that reproduce the whole layer, bad input.
import { initBackend, rmsNormReference, takeWebgpuErrors, tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { backendsUnderTest, expectCloseAsync, randomTensor } from '@falcon/tensor/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BitLinear, PackedBitLinear, packTernary, packedRows } from '../src/index.js';
import { activationQuantReference } from '../src/reference/activation_quant.js';
import { weightQuantReference } from '../src/reference/weight_quant.js';

/** The BitLinear forward from the references: norm → actQuant → weightQuant → matmul → bias. */
function bitLinearRef(layer: BitLinear, x: Tensor, p = layer.namedParameters()): Tensor {
  const k = layer.inFeatures;
  const xn = p['rms_norm.weight'] ? rmsNormReference(x, p['rms_norm.weight'], layer.rmsNormEps) : x;
  const xq = activationQuantReference(xn).y;
  const wq = weightQuantReference(p.weight).y;
  const y = tf.reshape(tf.matMul(tf.reshape(xq, [-1, k]), wq, false, true), [...x.shape.slice(0, -1), layer.outFeatures]);
  return p.bias ? tf.add(y, p.bias) : y;
}

// [in, out, bias, useRmsNorm, leading dims of x]
const CASES: [number, number, boolean, boolean, number[]][] = [
  [7, 13, true, false, [4]],
  [16, 30, false, true, [2, 3]],
  [33, 5, true, true, [1]],
];

// Forward tolerances, from the arithmetic. Both sides compute the same K-term dot products of the
// same quantised values (8-bit activations, ternary weights; the quantiser kernels match their
// references exactly on cpu, to a few ulp on webgpu), in different orders and scalings (the kernel
// sums integers exactly and scales once, acc/(s·s_x); the reference multiplies dequantised floats).
// Any f32 summation order is within γ_K·Σ|terms| of the exact sum (Higham: γ_K = K·u/(1 − K·u),
// u = 2⁻²⁴), so atol = γ_K · max over outputs of (|xq| @ |wq|ᵀ); rtol = 4u for the scalings and the
// bias add (one rounding each). The bound is 1.2e-6 to 5.3e-6 for these cases, 3–10× tighter than
// the former blanket 1e-5 + 1e-5·|y|; measured on cpu: at most 2.4e-7.
const U = 2 ** -24;
async function fwdTol(x: Tensor, w: Tensor, extraTerms = 0): Promise<{ rtol: number; atol: number }> {
  const k = w.shape[1] as number;
  const xq = activationQuantReference(tf.reshape(x, [-1, k])).y;
  const wq = weightQuantReference(w).y;
  const terms = (await tf.max(tf.matMul(tf.abs(xq), tf.abs(wq), false, true)).data())[0]; // read asynchronously: webgpu in Node cannot read synchronously
  const K = k + extraTerms;
  return { rtol: 4 * U, atol: ((K * U) / (1 - K * U)) * terms };
}

describe.each(backendsUnderTest())('BitLinear on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });
  afterEach(async () => {
    expect(await takeWebgpuErrors()).toEqual([]); // a WGSL error makes a kernel return zeros instead of throwing
  });
  const layers: BitLinear[] = [];
  afterAll(() => layers.forEach((l) => l.dispose()));
  const make = (k: number, n: number, bias: boolean, useRmsNorm: boolean, seed: number) => {
    const l = new BitLinear({ inFeatures: k, outFeatures: n, bias, useRmsNorm, seed });
    if (l.rmsNormWeight) l.rmsNormWeight.assign(randomTensor([k], seed + 5, { mean: 1, std: 0.2 }));
    layers.push(l);
    return l;
  };

  it.each(CASES)('in=%i out=%i bias=%s norm=%s: forward and gradients match the references', async (k, n, bias, norm, lead) => {
    const layer = make(k, n, bias, norm, k + n);
    const x = randomTensor([...lead, k], 3, { std: 2 });
    const y = layer.forward(x);
    expect(y.shape).toEqual([...lead, n]);
    const xn = layer.rmsNormWeight ? rmsNormReference(x, layer.rmsNormWeight, layer.rmsNormEps) : x;
    await expectCloseAsync(y, bitLinearRef(layer, x), { ...(await fwdTol(xn, layer.weight)), name: 'forward' });
    const g = randomTensor([...lead, n], 4);
    const params = layer.namedParameters();
    const got = tf.variableGrads(() => tf.sum(tf.mul(layer.forward(x), g)) as tf.Scalar, Object.values(params)).grads;
    const want = tf.variableGrads(() => tf.sum(tf.mul(bitLinearRef(layer, x), g)) as tf.Scalar, Object.values(params)).grads;
    // STE in both; the fused RMSNorm backward vs autodiff of its reference sums in other orders → 1e-5
    for (const [name, v] of Object.entries(params)) await expectCloseAsync(got[v.name], want[v.name], { rtol: 1e-5, atol: 1e-5, name: `d${name}` });
    // and d/dx, the gradient the previous layer receives
    const [dx] = tf.grads((t: Tensor) => tf.sum(tf.mul(layer.forward(t), g)) as tf.Scalar)([x]);
    const [dxRef] = tf.grads((t: Tensor) => tf.sum(tf.mul(bitLinearRef(layer, t), g)) as tf.Scalar)([x]);
    await expectCloseAsync(dx, dxRef, { rtol: 1e-5, atol: 1e-5, name: 'dx' });
  });

  it.each(CASES)('in=%i out=%i bias=%s norm=%s: freeze() gives a packed layer with the same output, in both scale formats', async (k, n, bias, norm, lead) => {
    const layer = make(k, n, bias, norm, 2 * k + n);
    const x = randomTensor([...lead, k], 8, { std: 2 });
    const y = layer.forward(x);
    const tol = await fwdTol(layer.rmsNormWeight ? rmsNormReference(x, layer.rmsNormWeight, layer.rmsNormEps) : x, layer.weight);
    const ref = weightQuantReference(layer.weight);
    const ternary = Array.from(await tf.cast(tf.round(tf.mul(ref.y, ref.scale)), 'int32').data());
    for (const scaleFormat of ['bitlinear', 'offline'] as const) {
      const packed = await layer.freeze({ scaleFormat });
      expect(packed.packed.length).toBe(packedRows(n) * k);
      await expectCloseAsync(packed.forward(x), y, { ...tol, name: `packed ${scaleFormat}` });
      // the packed weight is the ternary weight of the latent weight
      expect(Array.from(packed.ternaryWeight())).toEqual(ternary);
      packed.dispose();
    }
  });

  it('toTensors / fromTensors round-trip under transformers names (F32 and BF16)', async () => {
    const layer = make(16, 30, true, true, 77);
    const packed = await layer.freeze();
    const x = randomTensor([3, 16], 9);
    const t = packed.toTensors();
    expect(Object.keys(t).sort()).toEqual(['bias', 'rms_norm.weight', 'weight', 'weight_scale']);
    expect(t.weight).toMatchObject({ dtype: 'U8', shape: [8, 16] });
    expect(t.weight_scale).toMatchObject({ dtype: 'F32', shape: [1] });
    const back = await PackedBitLinear.fromTensors(t);
    await expectCloseAsync(back.forward(x), packed.forward(x), { rtol: 0, atol: 0, name: 'F32 round trip' }); // same values: exact
    // BF16, as BitNet checkpoints store scales: the scale rounds to 8 bits of mantissa
    const b = await PackedBitLinear.fromTensors(packed.toTensors({ dtype: 'BF16' }));
    expect(Math.abs(b.weightScale / packed.weightScale - 1)).toBeLessThanOrEqual(2 ** -8);
    await expectCloseAsync(b.forward(x), packed.forward(x), { rtol: 1e-2, atol: 1e-2, name: 'BF16 round trip' }); // bf16 relative precision 2^-8
    // the packed weight as an int32 tensor of bytes, as a checkpoint reader returns U8
    const fromInt = await PackedBitLinear.fromTensors({ ...t, weight: tf.tensor2d(Int32Array.from(t.weight.data), [8, 16], 'int32') });
    await expectCloseAsync(fromInt.forward(x), packed.forward(x), { rtol: 0, atol: 0, name: 'int32 weight' });
    [packed, back, b, fromInt].forEach((p) => p.dispose());
  });

  it('column-parallel and row-parallel shards with the global scales reproduce the whole layer', async () => {
    const k = 24;
    const n = 18;
    const full = make(k, n, true, false, 5);
    const x = randomTensor([5, k], 6, { std: 1.5 });
    const meanAbs = () => tf.mean(tf.abs(full.weight)); // what an all-reduce of Σ|W| / count would give
    const supplied = new BitLinear({ inFeatures: k, outFeatures: n, weight: full.weight, weightMeanAbs: meanAbs });
    layers.push(supplied);
    const y = tf.add(supplied.forward(x), full.bias!);
    await expectCloseAsync(y, full.forward(x), { rtol: 1e-5, atol: 1e-5, name: 'supplied mean|W|' }); // the kernel's own mean, to its sum's rounding
    // column-parallel: split out features 11 + 7; each shard's outputs are a slice of the whole
    const cols = [
      [0, 11],
      [11, 7],
    ].map(([b, s]) => {
      const l = new BitLinear({ inFeatures: k, outFeatures: s, weight: tf.slice(full.weight, [b, 0], [s, k]), weightMeanAbs: meanAbs });
      layers.push(l);
      return tf.add(l.forward(x), tf.slice(full.bias!, [b], [s]));
    });
    await expectCloseAsync(tf.concat(cols, 1), y, { rtol: 1e-6, atol: 1e-6, name: 'column-parallel' }); // the same dot products
    // row-parallel: split in features 10 + 14; partial outputs add up to the whole (bias once)
    const absMax = tf.max(tf.abs(x), -1, true); // what an all-reduce max would give
    const rows = [
      [0, 10],
      [10, 14],
    ].map(([b, s]) => {
      const l = new BitLinear({ inFeatures: s, outFeatures: n, weight: tf.slice(full.weight, [0, b], [n, s]), weightMeanAbs: meanAbs, activationAbsMax: () => absMax });
      layers.push(l);
      const xs = tf.slice(x, [0, b], [5, s]);
      return { l, xs, y: l.forward(xs) };
    });
    // two partial sums instead of one: f32 rounding of the split dot products
    await expectCloseAsync(tf.add(tf.add(rows[0].y, rows[1].y), full.bias!), y, { ...(await fwdTol(x, full.weight, 1)), name: 'row-parallel' });
    // and frozen shards keep the global scales
    const frozen = await Promise.all(rows.map((r) => r.l.freeze()));
    await expectCloseAsync(tf.add(tf.add(frozen[0].forward(rows[0].xs), frozen[1].forward(rows[1].xs)), full.bias!), y, { ...(await fwdTol(x, full.weight, 1)), name: 'row-parallel packed' });
    frozen.forEach((f) => f.dispose());
  });

  it('rejects bad input with the argument named', async () => {
    const layer = make(7, 13, false, false, 1);
    expect(() => layer.forward(randomTensor([2, 6], 1))).toThrow(/BitLinear.forward: argument 'x' has shape \[2, 6\], expected \[..., 7\]/);
    expect(() => new BitLinear({ inFeatures: 0, outFeatures: 3 })).toThrow(/BitLinear: argument 'inFeatures' must be a positive integer/);
    expect(() => new BitLinear({ inFeatures: 3, outFeatures: 2, weight: tf.zeros([3, 2]) })).toThrow(/BitLinear: argument 'weight' must be float32 \[2, 3\]/);
    await expect(layer.freeze({ scaleFormat: 'online' as never })).rejects.toThrow(/BitLinear.freeze: option 'scaleFormat' must be 'bitlinear' or 'offline'/);
    const packed = await layer.freeze();
    const t = packed.toTensors();
    expect(() => packed.forward(tf.zeros([2, 7], 'int32'))).toThrow(/PackedBitLinear.forward: argument 'x' must be a float32 tensor/);
    const { weight_scale: _ws, ...noScale } = t;
    await expect(PackedBitLinear.fromTensors(noScale)).rejects.toThrow(/PackedBitLinear.fromTensors: tensor 'weight_scale' is missing/);
    const { weight: _w, ...noWeight } = t;
    await expect(PackedBitLinear.fromTensors(noWeight)).rejects.toThrow(/PackedBitLinear.fromTensors: tensor 'weight' \(the packed ternary weight\) is missing/);
    await expect(PackedBitLinear.fromTensors({ ...t, extra: t.weight })).rejects.toThrow(/PackedBitLinear.fromTensors: unknown tensor 'extra'/);
    await expect(PackedBitLinear.fromTensors(t, { outFeatures: 17 })).rejects.toThrow(/tensor 'weight' has 4 rows, but outFeatures 17 packs into ceil\(17\/4\) = 5/);
    await expect(PackedBitLinear.fromTensors({ ...t, weight: { dtype: 'F32', shape: [4, 7], data: new Float32Array(28) } })).rejects.toThrow(/tensor 'weight' must be U8 data/);
    await expect(PackedBitLinear.fromTensors({ ...t, weight_scale: { dtype: 'F32', shape: [2], data: new Float32Array(2) } })).rejects.toThrow(/tensor 'weight_scale' must hold one value/);
    await expect(PackedBitLinear.fromTensors({ ...t, weight: tf.tensor2d([[256]], [1, 1], 'int32') })).rejects.toThrow(/tensor 'weight' must hold bytes \(0..255\), got 256/);
    const bytes = packTernary(new Array(13 * 7).fill(0), 13, 7);
    expect(() => new PackedBitLinear({ inFeatures: 7, outFeatures: 13, packed: bytes.subarray(1), weightScale: 1 })).toThrow(/PackedBitLinear: argument 'packed' has 27 bytes, expected ceil\(13\/4\)·7 = 28/);
    expect(() => new PackedBitLinear({ inFeatures: 7, outFeatures: 13, packed: bytes, weightScale: NaN })).toThrow(/PackedBitLinear: argument 'weightScale' must be a positive finite number/);
    packed.dispose();
  });
});
