// packTernary: a BitNet Falcon-H1 model converted for inference (every BitNet linear a packed 2-bit
// weight with the whole matrix's scale, int8 activations through ternaryMatmul) gives the logits of
// the training form (weights and activations fake-quantised at every call) up to f32 rounding, the
// same greedy tokens, ~1/16 of the float32 bytes for those linears, and refuses training and saving.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packedRows, ternarize } from '@falcon/bitnet';
import { openCheckpoint } from '@falcon/checkpoint';
import { tf } from '@falcon/tensor';
import type { Tensor, Tensor2D } from '@falcon/tensor';
import { randomTensor, relativeError } from '@falcon/tensor/testing';
import { bitnetMatMul, bitnetWeightNames, FalconH1ForCausalLM, hybridConfig, linear, packTernaryWeight, TokenBatches } from '../src/index.js';
import type { BitNetLayers, LayerHeads } from '../src/index.js';
import { Trainer } from '../src/train/trainer.js';

// awkward sizes: q 28, k/v 14 and MLP 42 rows (not multiples of 4: packed rows are padded), biases on
const CONFIG = {
  model_type: 'falcon_h1', vocab_size: 37, hidden_size: 28, intermediate_size: 42, num_hidden_layers: 3,
  num_attention_heads: 2, num_key_value_heads: 1, head_dim: 14, mamba_d_ssm: 28, mamba_n_heads: 2, mamba_d_head: 14,
  mamba_d_state: 6, mamba_chunk_size: 8, mamba_rms_norm: true, tie_word_embeddings: false, initializer_range: 0.1,
  attention_bias: true, mlp_bias: true, projectors_bias: true, mamba_proj_bias: true,
};
// a hybrid layer, a pure attention layer and a pure Mamba-2 layer: the fused o_proj|out_proj has both parts, then one each
const LAYERS: LayerHeads[] = [
  { attentionHeads: 2, kvHeads: 1, mambaHeads: 2 },
  { attentionHeads: 2, kvHeads: 1, mambaHeads: 0 },
  { attentionHeads: 0, kvHeads: 0, mambaHeads: 2 },
];
const ALL: BitNetLayers = { attention: true, mamba: true, mlp: true, outProj: true };
const CASES: [string, Partial<BitNetLayers>][] = [
  ['every module type BitNet', ALL],
  ['only the MLP and the shared output projection BitNet', { mlp: true, outProj: true }],
  ['only attention and Mamba-2 BitNet', { attention: true, mamba: true }],
];
const ids = tf.tensor2d(Array.from({ length: 22 }, (_, i) => 1 + ((i * 7) % 35)), [2, 11], 'int32') as Tensor2D;
const SEEDS = [5, 6, 7, 8];
const model = (bitnet: Partial<BitNetLayers>, seed = 5) => new FalconH1ForCausalLM(hybridConfig(CONFIG, { layers: LAYERS, bitnet }), seed);

/** The BitNet weights of a model by full internal name (before packing). */
function bitnetVariables(m: FalconH1ForCausalLM): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  m.layers.forEach((l, i) => {
    const vars = l.variables();
    for (const n of bitnetWeightNames(m.config.bitnet, { attention: !!l.attention, mamba: !!l.mamba })) out[`model.layers.${i}.${n}`] = vars[n];
  });
  return out;
}

describe('packTernary', () => {
  it('a packed weight gives the fake-quantised product up to f32 rounding (awkward sizes, a zero token, bias)', async () => {
    for (const [lead, out, inF, seed] of [[[3, 5], 13, 27, 1], [[2], 1, 1, 2], [[7], 42, 28, 3], [[2, 3], 6, 65, 4]] as [number[], number, number, number][]) {
      const w = randomTensor([out, inF], seed);
      const bias = randomTensor([out], seed + 10);
      const tokens = lead.reduce((a, b) => a * b);
      // the first token all zeros (its absmax clamps to 1e-5), the others normal × 3
      const x = tf.tidy(() => tf.reshape(tokens === 1 ? tf.zeros([1, inF]) : tf.concat([tf.zeros([1, inF]), tf.mul(randomTensor([tokens - 1, inF], seed + 20), 3)]), [...lead, inF]));
      const p = await packTernaryWeight(w);
      const want = linear(x, w, bias, true);
      const got = linear(x, p, bias, true);
      expect(got.shape).toEqual([...lead, out]);
      // exact int products, rescaled once (packed) against a K-term f32 sum of rescaled terms (fake): ≤ ~K·2⁻²⁴ ≈ 4e-6, measured ~1e-7
      expect(relativeError(got, want)).toBeLessThan(1e-6);
      const flat = tf.reshape(x, [-1, inF]);
      const [m1, m2] = [bitnetMatMul(flat, p), bitnetMatMul(flat, w)];
      expect(relativeError(m1, m2)).toBeLessThan(1e-6); // the same
      tf.dispose([w, bias, x, want, got, flat, m1, m2]);
      p.dispose();
    }
    const bad = tf.zeros([2, 3, 4]);
    await expect(packTernaryWeight(bad)).rejects.toThrow(/float32 \[out, in\]/);
    bad.dispose();
  });

  for (const [name, bitnet] of CASES) {
    it(`${name}: logits equal the fake-quantised model's, greedy tokens are identical`, async () => {
      const errors: number[] = [];
      for (const seed of SEEDS) {
        const fake = model(bitnet, seed);
        const packed = model(bitnet, seed);
        expect(await packed.packTernary()).toBe(packed);
        expect(packed.isPacked).toBe(true);
        const want = fake.forward(ids).logits;
        const got = packed.forward(ids).logits;
        errors.push(relativeError(got, want));
        const prompt = tf.slice(ids, [0, 0], [2, 5]) as Tensor2D;
        // whole prompt, then chunked prefill with a left-padded row (the cached multi-token path)
        const mask = tf.tensor2d([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]], [2, 5], 'int32') as Tensor2D;
        for (const opts of [{ maxNewTokens: 12, eosTokenId: null }, { maxNewTokens: 6, eosTokenId: null, prefillChunkSize: 2, attentionMask: mask }]) {
          const [g, f] = [await packed.generate(prompt, opts), await fake.generate(prompt, opts)];
          expect(g.arraySync()).toEqual(f.arraySync());
          tf.dispose([g, f]);
        }
        tf.dispose([want, got, prompt, mask]);
        fake.dispose();
        packed.dispose();
      }
      // Each packed product is the fake-quantised one up to f32 rounding (≈1e-7 relative, next test), so the
      // logits agree to ~1e-7 (measured 0.8–1.5e-7 through 3 layers) → 1e-5. But an activation that lands
      // within that rounding of a quantisation boundary (x·s_x ≈ k + ½) rounds the other way in one model,
      // moving one int8 input by 1 (a change ≈ 1/(127·√K) ≈ 1e-3 of that product): measured once in the
      // 12 model/seed pairs here (2.1e-3 in the logits) → at most one pair per case above 1e-5, all < 5e-3.
      expect(errors.filter((e) => e < 1e-5).length, `errors ${errors}`).toBeGreaterThanOrEqual(SEEDS.length - 1);
      expect(Math.max(...errors), `errors ${errors}`).toBeLessThan(5e-3);
    });
  }

  it('packs each BitNet matrix whole (the training form\'s ternary values and scale) and frees its float weight: ~1/16 of the bytes', async () => {
    const m = model(ALL);
    const vars = bitnetVariables(m);
    const copies = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, tf.clone(v)]));
    const floatBytes = Object.values(vars).reduce((s, v) => s + 4 * v.size, 0);
    const before = tf.memory().numBytes;
    await m.packTernary();
    const after = tf.memory().numBytes;
    let packedBytes = 0;
    let groupBytes = 0; // the per-column scales of q|k|v and gate|up (one rescale per group in the decode step)
    m.layers.forEach((l, i) => {
      const packed = l.packedWeights();
      for (const group of [['self_attn.q_proj.weight', 'self_attn.k_proj.weight', 'self_attn.v_proj.weight'], ['feed_forward.gate_proj.weight', 'feed_forward.up_proj.weight']]) {
        if (group.every((n) => packed[n])) groupBytes += 4 * group.reduce((s, n) => s + packed[n].outFeatures, 0);
      }
      expect(Object.keys(packed).sort()).toEqual(bitnetWeightNames(ALL, { attention: !!l.attention, mamba: !!l.mamba }).sort());
      for (const [n, p] of Object.entries(packed)) {
        const w = copies[`model.layers.${i}.${n}`];
        expect(vars[`model.layers.${i}.${n}`].isDisposed).toBe(true);
        expect([p.outFeatures, p.inFeatures]).toEqual(w.shape);
        const { ternary, scale } = ternarize(w);
        expect(p.weightScale).toBe(scale.dataSync()[0]); // the same f32 value as the training form's weightQuant
        expect(Array.from(p.ternaryWeight())).toEqual(Array.from(ternary.dataSync()));
        tf.dispose([ternary, scale]);
        packedBytes += 4 * Math.ceil((packedRows(p.outFeatures) * p.inFeatures) / 4) + 4; // int32 words + the f32 scale
      }
    });
    // the fused projection of layer 0 has one scale, that of [o_proj | out_proj], not o_proj's own
    const fused = copies['model.layers.0.fused_out_proj.weight'];
    const oProj = tf.slice(fused, [0, 0], [-1, 28]);
    expect(m.layers[0].packedWeights()['fused_out_proj.weight'].weightScale).not.toBe(ternarize(oProj).scale.dataSync()[0]);
    // the float weights are freed and the packed ones (and the groups' scale vectors) take their place, byte for byte
    expect(groupBytes).toBeGreaterThan(0);
    expect(after).toBe(before - floatBytes + packedBytes + groupBytes);
    // 2 bits per weight (1/16 of f32), plus rows padded to a multiple of 4 (k/v's 14 rows take 16) and one scale each
    expect(packedBytes / floatBytes).toBeGreaterThan(1 / 16);
    expect(packedBytes / floatBytes).toBeLessThan(1.1 / 16); // measured 1.049/16
    tf.dispose([...Object.values(copies), oProj]);
    m.dispose();
  });

  it('only some module types BitNet: the others keep their float weights', async () => {
    const m = model({ mlp: true, outProj: true });
    const attn = m.layers[0].attention!.parameters()['q_proj.weight'];
    const inProj = m.layers[0].mamba!.parameters()['in_proj.weight'];
    await m.packTernary();
    expect(Object.keys(m.layers[0].packedWeights()).sort()).toEqual(['feed_forward.down_proj.weight', 'feed_forward.gate_proj.weight', 'feed_forward.up_proj.weight', 'fused_out_proj.weight']);
    expect(attn.isDisposed).toBe(false);
    expect(inProj.isDisposed).toBe(false);
    m.dispose();
  });

  it('refuses training and saving once packed, packing twice, and packing a model without BitNet layers', async () => {
    const m = model(ALL);
    await m.packTernary();
    const packedMsg = /packed for inference by packTernary\(\)/;
    expect(() => m.valueAndGrads(ids)).toThrow(packedMsg);
    expect(() => m.valueAndVariableGrads(ids)).toThrow(packedMsg);
    expect(() => m.variables()).toThrow(packedMsg);
    expect(() => m.forward(ids, { recompute: 'layer' })).toThrow(packedMsg);
    tf.tidy(() => {
      expect(() => m.layers[0].forward(tf.zeros([1, 2, 28]), { positions: tf.zeros([1, 2], 'int32'), recompute: 'attention' })).toThrow(packedMsg);
    });
    expect(() => m.stateDict()).toThrow(packedMsg);
    expect(() => m.loadStateDict({})).toThrow(packedMsg);
    const dir = mkdtempSync(join(tmpdir(), 'falcon-packed-'));
    const t = new Trainer(m, new TokenBatches(Int32Array.from({ length: 100 }, (_, i) => i % 30), 2, 8, 1), { steps: 2, lr: 1e-3 }, dir);
    await expect(t.run()).rejects.toThrow(packedMsg);
    await expect(m.packTernary()).rejects.toThrow(/already packed/);
    const plain = model({});
    await expect(plain.packTernary()).rejects.toThrow(/no BitNet layers/);
    plain.dispose();
    m.dispose();
  });

  it('savePretrained writes packed BitLinear tensors (U8 weight, weight_scale) and fromPretrained reads the packed model back', async () => {
    for (const [bitnet, onTensor] of [[ALL, undefined], [{ mlp: true, outProj: true }, () => {}]] as const) {
      const m = model(bitnet);
      await m.packTernary();
      const dir = mkdtempSync(join(tmpdir(), 'falcon-packed-'));
      await m.savePretrained(dir, { onTensor });
      const file = await openCheckpoint(dir);
      // layer 0's o_proj [28, 28] and out_proj [28, 28]: 7 packed rows each, the fused matrix's one scale
      for (const n of ['self_attn.o_proj', 'mamba.out_proj']) {
        expect(file.info(`model.layers.0.${n}.weight`)).toMatchObject({ dtype: 'U8', shape: [7, 28] });
        expect(file.info(`model.layers.0.${n}.weight_scale`)).toMatchObject({ dtype: 'F32', shape: [1] });
      }
      const scales = await file.readTensors(['model.layers.0.self_attn.o_proj.weight_scale', 'model.layers.0.mamba.out_proj.weight_scale']);
      const fusedScale = m.layers[0].packedWeights()['fused_out_proj.weight'].weightScale;
      for (const t of scales.values()) expect(t.dataSync()[0]).toBe(fusedScale);
      tf.dispose([...scales.values()]);
      // q/k/v of the 2 attention layers, in_proj of the 2 Mamba-2 layers, o_proj/out_proj: 2 + 1 + 1, the MLP: 3 per layer
      expect(file.names.filter((n) => n.endsWith('weight_scale')).length).toBe(bitnet === ALL ? 6 + 2 + 4 + 9 : 4 + 9);
      await file.close();
      const back = await FalconH1ForCausalLM.fromPretrained(dir);
      expect(back.isPacked).toBe(true);
      m.layers.forEach((l, i) => {
        const [a, b] = [l.packedWeights(), back.layers[i].packedWeights()];
        expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
        for (const k of Object.keys(a)) {
          expect(b[k].weightScale).toBe(a[k].weightScale);
          expect(Array.from(b[k].packed)).toEqual(Array.from(a[k].packed));
        }
      });
      const [la, lb] = [m.forward(ids).logits, back.forward(ids).logits];
      expect(relativeError(lb, la)).toBe(0); // the same weights, the same ops
      tf.dispose([la, lb]);
      back.dispose();
      m.dispose();
    }
  });

  it('fromPretrained with packTernary: a float BitNet checkpoint loaded packed', async () => {
    const m = model({ mlp: true, outProj: true });
    const dir = mkdtempSync(join(tmpdir(), 'falcon-packed-'));
    await m.savePretrained(dir);
    const loaded = await FalconH1ForCausalLM.fromPretrained(dir, { packTernary: true });
    expect(loaded.isPacked).toBe(true);
    expect(Object.keys(loaded.layers[1].packedWeights()).sort()).toEqual(['feed_forward.down_proj.weight', 'feed_forward.gate_proj.weight', 'feed_forward.up_proj.weight', 'fused_out_proj.weight']);
    await m.packTernary();
    const [a, b] = [m.forward(ids).logits, loaded.forward(ids).logits];
    expect(relativeError(b, a)).toBe(0); // the same float weights, packed the same way
    await expect(FalconH1ForCausalLM.fromPretrained(dir, { packTernary: true, bitnet: { mlp: false, outProj: false } })).rejects.toThrow(/no BitNet layers/);
    tf.dispose([a, b]);
    loaded.dispose();
    m.dispose();
  });

  it('a packed checkpoint must fit the config: BitNet flags, one scale for o_proj|out_proj', async () => {
    const m = model(ALL);
    await m.packTernary();
    const dir = mkdtempSync(join(tmpdir(), 'falcon-packed-'));
    await m.savePretrained(dir);
    await expect(FalconH1ForCausalLM.fromPretrained(dir, { bitnet: { mlp: false } })).rejects.toThrow(/'feed_forward\.up_proj\.weight' is packed, but the config does not make it a BitNet weight/);
    // o_proj and out_proj packed with scales of their own (not one fused matrix) are refused
    const fresh = model(ALL);
    const [o, out] = await Promise.all([packTernaryWeight(randomTensor([28, 28], 1)), packTernaryWeight(randomTensor([28, 28], 2))]);
    const others = Object.fromEntries(Object.entries(fresh.stateDict()).filter(([k]) => !/^model\.layers\.0\.(self_attn\.o_proj|mamba\.out_proj)\.weight$/.test(k)));
    expect(() => fresh.loadPackedStateDict(others, { 'model.layers.0.self_attn.o_proj.weight': o, 'model.layers.0.mamba.out_proj.weight': out })).toThrow(/one BitNet matrix with one scale/);
    // a checkpoint packed in part: every BitNet weight of every layer must be packed
    const up = await packTernaryWeight(randomTensor([42, 28], 3));
    const floats = fresh.stateDict();
    const { ['model.layers.0.feed_forward.up_proj.weight']: _, ...rest } = floats;
    expect(() => fresh.loadPackedStateDict(rest, { 'model.layers.0.feed_forward.up_proj.weight': up })).toThrow(/layer 2: 'feed_forward\.gate_proj\.weight' is not packed, but the config makes it BitNet/);
    tf.dispose(Object.entries(floats).filter(([k]) => /o_proj|out_proj/.test(k)).map(([, t]) => t));
    up.dispose();
    expect(fresh.isPacked).toBe(false);
    tf.dispose(Object.entries(fresh.stateDict()).filter(([k]) => /o_proj|out_proj/.test(k)).map(([, t]) => t));
    [o, out].forEach((p) => p.dispose());
    fresh.dispose();
    m.dispose();
  });

  it('a packed model frees every tensor on dispose', async () => {
    const n = tf.memory().numTensors;
    const m = model(ALL);
    await m.packTernary();
    tf.dispose(m.forward(ids).logits);
    m.dispose();
    expect(tf.memory().numTensors).toBe(n);
  });
});
