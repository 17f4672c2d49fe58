// Byte-for-byte and output agreement with transformers' BitNet integration: a fixture made by
// tools/fixtures/make_bitnet.py (pack_weights, unpack_weights, packed BitLinear, AutoBitLinear,
// WeightQuant, ActQuant on seeded f32 weights of awkward shapes). Fails, with how to make it, while
// the fixture is missing.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { initBackend, takeWebgpuErrors, tf } from '@falcon/tensor';
import { backendsUnderTest, expectCloseAsync } from '@falcon/tensor/testing';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { activationQuant, BitLinear, PackedBitLinear, packTernary, ternarize, unpackTernary, weightQuant } from '../src/index.js';
import type { RawTensorData } from '../src/index.js';
import { readSafetensors } from './helpers.js';
import type { StTensor } from './helpers.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/bitnet.safetensors', import.meta.url));
const META = fileURLToPath(new URL('./fixtures/meta.json', import.meta.url));
const HOW_TO =
  `the transformers BitNet fixture is missing (${FIXTURE} and meta.json). Make it where torch and transformers are installed ` +
  `(the device machine): 'python3 tools/fixtures/make_bitnet.py OUT_DIR', then copy OUT_DIR/bitnet.safetensors and OUT_DIR/meta.json ` +
  `into packages/bitnet/test/fixtures/ and commit them`;

interface Case {
  out_features: number;
  in_features: number;
  bias: boolean;
  use_rms_norm: boolean;
  bitlinear_state_dict: string[];
  autobitlinear_error?: string;
}

const present = existsSync(FIXTURE) && existsSync(META);
const meta = present ? (JSON.parse(readFileSync(META, 'utf8')) as { transformers: string; cases: Case[] }) : { transformers: '', cases: [] };
const fx: Record<string, StTensor> = present ? readSafetensors(FIXTURE) : {};
const get = (name: string): StTensor => {
  const t = fx[name];
  if (!t) throw new Error(`fixture ${FIXTURE} has no tensor '${name}' (made by an older make_bitnet.py? regenerate it)`);
  return t;
};
const tensor = (name: string) => tf.tensor(get(name).data as Float32Array, get(name).shape, 'float32');
const raw = (name: string): RawTensorData => ({ dtype: 'F32', shape: get(name).shape, data: get(name).data as Float32Array });

describe.each(backendsUnderTest())('transformers BitNet fixture on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });
  afterEach(async () => {
    expect(await takeWebgpuErrors()).toEqual([]); // a WGSL error makes a kernel return zeros instead of throwing
  });

  it('is present', () => {
    if (!present) throw new Error(HOW_TO);
    expect(meta.cases.length).toBeGreaterThan(0);
  });

  describe.each(meta.cases.map((c, i) => [i, c] as const))('case %i', (i, c) => {
    const p = `case${i}.`;
    const n = c.out_features;
    const k = c.in_features;

    it(`[${n}, ${k}]: pack_weights bytes equal ours, byte for byte, and unpack to the same ternary weight`, async () => {
      const packed = get(p + 'packed').data as Uint8Array;
      const ternary = get(p + 'ternary').data;
      expect(Array.from(packTernary(ternary, n, k))).toEqual(Array.from(packed));
      expect(Array.from(unpackTernary(packed, n, k))).toEqual(Array.from(ternary));
      // from the float weight: our ternarize gives the same ternary values, so the same bytes
      const ours = ternarize(tensor(p + 'weight'));
      expect(Array.from(packTernary(await ours.ternary.data(), n, k))).toEqual(Array.from(packed));
      // weight_scale: f32 sum of |W| in another order than torch's (≲ log2(n)·2^-24) → 2e-6
      await expectCloseAsync(ours.scale, get(p + 'weight_scale').data as Float32Array, { rtol: 2e-6, atol: 0, name: 'weight_scale' });
    });

    it(`[${n}, ${k}]: the packed BitLinear output equals transformers' for the same input`, async () => {
      const tensors: Record<string, RawTensorData> = {
        weight: { dtype: 'U8', shape: get(p + 'packed').shape, data: get(p + 'packed').data as Uint8Array },
        weight_scale: raw(p + 'weight_scale'),
      };
      if (c.bias) tensors.bias = raw(p + 'bias');
      if (c.use_rms_norm) tensors['rms_norm.weight'] = raw(p + 'rms_norm_weight');
      // our names are transformers' names (the fixture's BitLinear was built with 4·ceil(n/4) outputs)
      expect(c.bitlinear_state_dict.filter((key) => key !== 'weight' && key !== 'weight_scale' && key !== 'bias')).toEqual(c.use_rms_norm ? ['rms_norm.weight'] : []);
      const layer = await PackedBitLinear.fromTensors(tensors, { outFeatures: n });
      // integer matmul exact; s_x, the scale product and the division are the same f32 operations;
      // only an RMSNorm rsqrt ulp could differ → 1e-5 relative
      await expectCloseAsync(layer.forward(tensor(p + 'input')), tensor(p + 'output'), { rtol: 1e-5, atol: 1e-6, name: `case ${i} BitLinear` });
      layer.dispose();
    });

    it(`[${n}, ${k}]: AutoBitLinear online (= our BitLinear) and offline (= PackedBitLinear 'offline') outputs match`, async () => {
      if (c.autobitlinear_error) {
        console.warn(`transformers ${meta.transformers}: AutoBitLinear could not be built: ${c.autobitlinear_error}`);
        return;
      }
      const x = tensor(p + 'input');
      const train = new BitLinear({ inFeatures: k, outFeatures: n, bias: c.bias, useRmsNorm: c.use_rms_norm, weight: tensor(p + 'weight') });
      if (c.bias) train.bias!.assign(tensor(p + 'bias'));
      if (c.use_rms_norm) train.rmsNormWeight!.assign(tensor(p + 'rms_norm_weight'));
      // the same quantised values; f32 matmul summation order differs → 1e-5 relative
      await expectCloseAsync(train.forward(x), tensor(p + 'auto_online_output'), { rtol: 1e-5, atol: 1e-6, name: `case ${i} AutoBitLinear online` });
      const s = (get(p + 'weight_scale').data as Float32Array)[0];
      const offline = new PackedBitLinear({
        inFeatures: k,
        outFeatures: n,
        packed: get(p + 'packed').data as Uint8Array,
        weightScale: Math.fround(1 / s),
        bias: c.bias ? (get(p + 'bias').data as Float32Array).map((b) => b * s) : undefined,
        rmsNormWeight: c.use_rms_norm ? (get(p + 'rms_norm_weight').data as Float32Array) : undefined,
        scaleFormat: 'offline',
      });
      // (xq/s_x)@Wqᵀ in torch vs (xq@Wqᵀ)/s_x here: f32 rounding only
      await expectCloseAsync(offline.forward(x), tensor(p + 'auto_offline_output'), { rtol: 1e-5, atol: 1e-6, name: `case ${i} AutoBitLinear offline` });
      train.dispose();
      offline.dispose();
    });
  });

  it.runIf(present)('WeightQuant and ActQuant outputs match ours on zero rows, outliers and ties', async () => {
    // ActQuant: max, 127/max, x·s, round, q/s are single f32 operations in both → exact on the
    // cpu; WGSL division may be 2.5 ulp off → 6e-7 on webgpu
    await expectCloseAsync(activationQuant(tensor('act.input')).y, tensor('act.output'), { rtol: backend === 'cpu' ? 0 : 6e-7, atol: 0, name: 'ActQuant' });
    // WeightQuant: mean|W| summed in another order → scale and outputs within 2e-6
    await expectCloseAsync(weightQuant(tensor('wq.input')).y, tensor('wq.output'), { rtol: 2e-6, atol: 0, name: 'WeightQuant' });
  });
});
