// Kernels per cached decode step (issue 17: each kernel costs ~10 µs of host time on a GPU
// backend, so the count bounds the batch-1 decode speed), and the decode step's 2-D form
// (`[batch, d]` through the layers) equal, value for value, to the 3-D layer step it replaces, with
// μP multipliers that are not 1 (so the fused output-multiplier product and every skipped ×1 path are exercised).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, recordKernels, tf } from '@falcon/tensor';
import type { Tensor, Tensor2D } from '@falcon/tensor';
import { backendsUnderTest, registerEmulatedCudaBackend } from '@falcon/tensor/testing';
import { embedTokens, FalconH1ForCausalLM, generate, hybridConfig, prefillPrompt, PRESETS, sampleTokens } from '../src/index.js';
import type { HybridConfig, LayerCache } from '../src/index.js';

const MULTIPLIERS = {
  attention_in_multiplier: 0.7, attention_out_multiplier: 1.3, ssm_out_multiplier: 0.45, ssm_in_multiplier: 1.1,
  embedding_multiplier: 2.5, lm_head_multiplier: 0.3, mlp_multipliers: [0.8, 1.7], key_multiplier: 0.6,
};
const BITNET = { attention: true, mamba: true, mlp: true, outProj: true };

/** Kernels of one greedy step of generateStream's loop (reshape the tokens, model.step, sampleTokens, positions + 1), after a warm-up step. */
async function stepKernels(config: HybridConfig, packed: boolean, batch = 1): Promise<string[]> {
  const model = new FalconH1ForCausalLM(config, 0);
  if (packed) await model.packTernary();
  const prompt = tf.tensor2d(Array.from({ length: batch * 4 }, (_, i) => (i * 13 + 5) % 200), [batch, 4], 'int32');
  const { logits, caches } = prefillPrompt(model, prompt, 8);
  let tokens = sampleTokens(logits, {});
  let pos = tf.fill([batch, 1], 4, 'int32') as Tensor2D;
  const step = () => {
    const ids = tf.reshape(tokens, [batch, 1]) as Tensor2D;
    const l = model.step(ids, pos, caches);
    const next = sampleTokens(l, {});
    const p = tf.add(pos, tf.scalar(1, 'int32')) as Tensor2D;
    tf.dispose([ids, l, tokens, pos]);
    [tokens, pos] = [next, p];
  };
  step();
  const { kernels } = recordKernels(step);
  tf.dispose([prompt, logits, tokens, pos, ...caches.flatMap((c) => [c.kv?.keys, c.kv?.values, c.mamba?.convState, c.mamba?.ssmState])].filter((t): t is Tensor => !!t));
  caches.forEach((c) => c.kv?.dispose());
  model.dispose();
  return kernels;
}

describe('kernels per cached decode step (cpu)', () => {
  beforeAll(() => initBackend('cpu'));

  it('the tiny preset: at most 83 kernels per step (measured 83: 13 outside the layers + 2 × 35; 158 before issue 17)', async () => {
    const kernels = await stepKernels(hybridConfig(PRESETS.tiny), false);
    // the bound is the measured count: a regression (a new reshape, cast or per-step constant) fails here
    expect(kernels.length).toBeLessThanOrEqual(83);
    // measured 18 (60 before): per layer q/k/v into heads, the decode output, Mamba-2's x/B/C into heads and y out of them; the tokens and the embedding rows
    expect(kernels.filter((k) => k === 'Reshape').length).toBeLessThanOrEqual(18);
  });

  it('μP multipliers ≠ 1 and BitNet packed: at most 145 kernels per step (measured 145; 226 before issue 17)', async () => {
    const kernels = await stepKernels(hybridConfig({ ...PRESETS.tiny, ...MULTIPLIERS }, { bitnet: BITNET }), true);
    expect(kernels.length).toBeLessThanOrEqual(145); // the measured count
    // one input quantisation per distinct input: q/k/v share one, gate/up one; in_proj, the fused projection and down their own (5 a layer)
    expect(kernels.filter((k) => k === 'FalconActivationQuantInt8').length).toBe(10);
    // one rescale (Cast, RealDiv) per group: q|k|v, gate|up, and in_proj, the fused projection, down alone (5 a layer, 8 before)
    expect(kernels.filter((k) => k === 'RealDiv').length).toBe(2 * 5 + 1); // + the embedding's NaN poison
  });

  it('the count does not grow with the batch', async () => {
    const config = hybridConfig(PRESETS.tiny);
    expect((await stepKernels(config, false, 3)).length).toBe((await stepKernels(config, false, 1)).length);
  });
});

describe.each(backendsUnderTest())('%s: the 2-D decode step', (backend) => {
  beforeAll(() => initBackend(backend));

  it.each([
    ['float', false],
    ['BitNet packed', true],
  ] as const)('%s: each layer on [batch, d] equals the 3-D layer step (output and caches, exactly)', async (_, packed) => {
    const config = hybridConfig({ ...PRESETS.tiny, ...MULTIPLIERS }, packed ? { bitnet: BITNET } : {});
    const model = new FalconH1ForCausalLM(config, 3);
    if (packed) await model.packTernary();
    const [batch, d] = [3, config.base.hidden_size];
    const prompt = tf.tensor2d(Array.from({ length: batch * 5 }, (_, i) => (i * 37 + 11) % 250), [batch, 5], 'int32');
    // two identical caches: one for each form
    const a = prefillPrompt(model, prompt, 9);
    const b = prefillPrompt(model, prompt, 9);
    const positions = tf.tensor2d([[5], [5], [5]], [batch, 1], 'int32');
    let x = tf.randomNormal([batch, d], 0, 1, 'float32', 7);
    for (const [i, layer] of model.layers.entries()) {
      const r3 = layer.forward(tf.reshape(x, [batch, 1, d]), { positions, cache: a.caches[i] });
      const r2 = layer.forward(x, { positions, cache: b.caches[i] });
      expect(r2.y.shape).toEqual([batch, d]);
      // the same kernels on the same values in the same order: equal to the bit
      expect(Array.from(await r2.y.data())).toEqual(Array.from(await r3.y.data()));
      const [c3, c2] = [r3.cache as LayerCache, r2.cache as LayerCache];
      for (const k of ['convState', 'ssmState'] as const) expect(Array.from(await c2.mamba![k].data())).toEqual(Array.from(await c3.mamba![k].data()));
      expect(Array.from(await b.caches[i].kv!.keys.data())).toEqual(Array.from(await a.caches[i].kv!.keys.data()));
      expect(Array.from(await b.caches[i].kv!.values.data())).toEqual(Array.from(await a.caches[i].kv!.values.data()));
      tf.dispose([x, r3.y, c3.mamba!.convState, c3.mamba!.ssmState, c2.mamba!.convState, c2.mamba!.ssmState]);
      x = r2.y;
    }
    tf.dispose([x, positions, prompt, a.logits, b.logits, ...[...a.caches, ...b.caches].flatMap((c) => [c.mamba!.convState, c.mamba!.ssmState])]);
    [...a.caches, ...b.caches].forEach((c) => c.kv!.dispose());
    model.dispose();
  });

  it('μP ≠ 1, packed: a generation leaves no tensor behind (the step constants are made with the model)', async () => {
    const model = new FalconH1ForCausalLM(hybridConfig({ ...PRESETS.tiny, ...MULTIPLIERS, eos_token_id: null }, { bitnet: BITNET }), 2);
    await model.packTernary();
    const prompt = tf.tensor2d([[5, 6, 7, 8]], [1, 4], 'int32') as Tensor2D;
    const before = tf.memory().numTensors;
    const out = await generate(model, prompt, { maxNewTokens: 4 });
    expect(out.shape).toEqual([1, 8]);
    out.dispose();
    expect(tf.memory().numTensors).toBe(before);
    prompt.dispose();
    model.dispose();
  });

  it('a 2-D decode step refuses a padding mask', () => {
    const model = new FalconH1ForCausalLM(hybridConfig(PRESETS.tiny), 0);
    const prompt = tf.tensor2d([[3, 4]], [1, 2], 'int32');
    const { logits, caches } = prefillPrompt(model, prompt, 4);
    const x = tf.zeros([1, model.config.base.hidden_size]);
    expect(() => model.layers[0].forward(x, { positions: tf.tensor2d([[2]], [1, 1], 'int32'), cache: caches[0], mask: tf.ones([1, 1]) })).toThrow(/2-D decode step .* takes no padding mask/);
    tf.dispose([prompt, logits, x, ...caches.flatMap((c) => [c.mamba!.convState, c.mamba!.ssmState])]);
    caches.forEach((c) => c.kv!.dispose());
    model.dispose();
  });

  it('an out-of-range id in a decode step gives NaN logits for its sequence only', async () => {
    const model = new FalconH1ForCausalLM(hybridConfig(PRESETS.tiny), 0);
    const v = model.config.base.vocab_size;
    const prompt = tf.tensor2d([[3, 4], [5, 6], [7, 8]], [3, 2], 'int32');
    const { logits, caches } = prefillPrompt(model, prompt, 4);
    const ids = tf.tensor2d([[v], [-1], [9]], [3, 1], 'int32');
    const out = model.step(ids, tf.tensor2d([[2], [2], [2]], [3, 1], 'int32'), caches);
    const rows = (await out.array()) as number[][];
    expect(rows[0].every(Number.isNaN)).toBe(true);
    expect(rows[1].every(Number.isNaN)).toBe(true);
    expect(rows[2].every(Number.isFinite)).toBe(true);
    tf.dispose([prompt, logits, ids, out, ...caches.flatMap((c) => [c.mamba!.convState, c.mamba!.ssmState])]);
    caches.forEach((c) => c.kv!.dispose());
    model.dispose();
  });
});

// The embedding and the greedy choice of the decode step use only tfjs kernels (int32 Maximum/Minimum/
// Equal, bool → float32 Cast, RealDiv, GatherV2 of [batch, 1] ids, ArgMax): on the cuda backend's
// TypeScript layer over the emulated addon they equal cpu.
describe('cuda (the emulated addon, or the device when a cuda backend is registered): the decode step embedding and argMax', () => {
  let previous = 'cpu';
  let emulated = false;
  beforeAll(async () => {
    await initBackend('cpu');
    previous = tf.getBackend();
    emulated = !tf.findBackendFactory('cuda');
    if (emulated) registerEmulatedCudaBackend('f32');
    await tf.setBackend('cuda');
  });
  afterAll(async () => {
    await tf.setBackend(previous);
    if (emulated) tf.removeBackend('cuda');
  });

  it('embedTokens (flat and 3-D) and sampleTokens equal cpu, NaN rows for out-of-range ids', async () => {
    const config = hybridConfig({ ...PRESETS.tiny, embedding_multiplier: 2.5 });
    const [v, d] = [config.base.vocab_size, config.base.hidden_size];
    const ids = [[v], [-1], [9], [v - 1], [0]];
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      const table = tf.tensor2d(Float32Array.from({ length: v * d }, (_, i) => Math.sin(i * 0.37)), [v, d]);
      const t = tf.tensor2d(ids, [5, 1], 'int32');
      const flat = embedTokens(t, table, config, { flat: true });
      const full = embedTokens(t, table, config);
      const pick = sampleTokens(tf.slice(flat, [2, 0], [3, -1]) as Tensor2D, {});
      const out = { flat: Array.from(await flat.data()), shape: flat.shape, full: Array.from(await full.data()), fullShape: full.shape, pick: Array.from(await pick.data()), dtype: pick.dtype };
      tf.dispose([table, t, flat, full, pick]);
      return out;
    };
    const cuda = await run('cuda');
    const cpu = await run('cpu');
    expect(cuda).toEqual(cpu); // the same gather, compare, divide and product: equal to the bit (NaN equals NaN here)
    expect(cpu.shape).toEqual([5, d]);
    expect(cpu.fullShape).toEqual([5, 1, d]);
    expect(cpu.flat.slice(0, 2 * d).every(Number.isNaN)).toBe(true);
    expect(cpu.flat.slice(2 * d).every(Number.isFinite)).toBe(true);
    expect(cpu.dtype).toBe('int32');
  });
});
