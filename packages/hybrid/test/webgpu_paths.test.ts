// Every model path on each backend under test (FALCON_TEST_BACKENDS; webgpu in Node has no
// synchronous reads): forward with the loss, valueAndGrads, greedy and sampled generation, and
// training steps through the Trainer, each equal to the same computed on cpu.
import { describe, expect, it } from 'vitest';
import { initBackend, tf } from '@falcon/tensor';
import type { Tensor2D } from '@falcon/tensor';
import { backendsUnderTest, relativeError } from '@falcon/tensor/testing';
import { FalconH1ForCausalLM, hybridConfig, TokenBatches } from '../src/index.js';
import { Trainer } from '../src/train/trainer.js';

const CONFIG = hybridConfig({
  model_type: 'falcon_h1', vocab_size: 40, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
  num_attention_heads: 2, num_key_value_heads: 1, head_dim: 8, mamba_d_ssm: 16, mamba_n_heads: 2, mamba_d_head: 8,
  mamba_d_state: 4, mamba_chunk_size: 4, tie_word_embeddings: false, initializer_range: 0.1, max_position_embeddings: 64, eos_token_id: null,
});
const TOKENS = Int32Array.from({ length: 200 }, (_, i) => 3 + ((i * 7) % 11) + (i % 3));

interface Paths {
  loss: number;
  grads: Record<string, Float32Array>;
  greedy: number[][];
  sampled: number[][];
}

/** Run every path on the active backend and read the results back (asynchronously). */
async function runPaths(): Promise<Paths> {
  const model = new FalconH1ForCausalLM(CONFIG, 1); // seeded host initialisation: the same weights on every backend
  const ids = tf.tensor2d(Array.from(TOKENS.subarray(0, 22)), [2, 11], 'int32') as Tensor2D;
  const out = model.forward(ids, { labels: ids });
  const loss = (await out.loss!.data())[0];
  const vg = model.valueAndGrads(ids);
  const grads: Record<string, Float32Array> = {};
  for (const [k, g] of Object.entries(vg.grads)) grads[k] = (await g.data()) as Float32Array;
  tf.dispose([out.logits, out.loss!, vg.loss, ...Object.values(vg.grads)]);
  // a left-padded batch through the hybrid cache
  const prompt = tf.tensor2d([[0, 0, 5, 6, 7], [9, 3, 4, 8, 2]], [2, 5], 'int32') as Tensor2D;
  const attentionMask = tf.tensor2d([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]], [2, 5], 'int32') as Tensor2D;
  const greedy = (await (await model.generate(prompt, { maxNewTokens: 10, attentionMask })).array()) as number[][];
  const sampled = (await (await model.generate(prompt, { maxNewTokens: 10, attentionMask, doSample: true, temperature: 0.8, topK: 8, topP: 0.9, seed: 5 })).array()) as number[][];
  model.dispose();
  return { loss, grads, greedy, sampled };
}

/** Three Trainer steps (fused AdamW, device-side clipping) on the active backend: their metrics. */
async function trainSteps(): Promise<{ loss: number; gradNorm: number }[]> {
  const model = new FalconH1ForCausalLM(CONFIG, 1);
  const trainer = new Trainer(model, new TokenBatches(TOKENS, 2, 12, 5), { steps: 3, lr: 1e-2, warmupSteps: 1 }, '');
  const out: { loss: number; gradNorm: number }[] = [];
  for (let s = 0; s < 3; s++) out.push(await trainer.trainStep());
  model.dispose();
  return out;
}

describe.each(backendsUnderTest())('%s', (backend) => {
  it('forward, gradients and generation equal cpu', async () => {
    await initBackend('cpu');
    const want = await runPaths();
    await initBackend(backend);
    const got = await runPaths();
    // float32 on both; different kernels (tiled WGSL vs host loops) round differently: ~1e-6 relative per op
    expect(Math.abs(got.loss - want.loss) / want.loss).toBeLessThan(1e-5);
    for (const k of Object.keys(want.grads)) expect(relativeError(got.grads[k], want.grads[k]), `grad ${k}`).toBeLessThan(1e-3);
    // greedy: token for token (the random model's top logits are far apart compared with the rounding)
    expect(got.greedy).toEqual(want.greedy);
    // sampling draws the same uniforms in the same order; a draw lands within rounding of a CDF edge with probability ~1e-6
    expect(got.sampled).toEqual(want.sampled);
  });

  it('training steps equal cpu', async () => {
    await initBackend('cpu');
    const want = await trainSteps();
    await initBackend(backend);
    const got = await trainSteps();
    // three AdamW steps: the rounding differences grow through the updates, 1e-4 relative
    got.forEach((m, i) => {
      expect(Math.abs(m.gradNorm - want[i].gradNorm) / want[i].gradNorm, `gradient norm of step ${i + 1}`).toBeLessThan(1e-4);
      expect(Math.abs(m.loss - want[i].loss) / want[i].loss, `loss of step ${i + 1}`).toBeLessThan(1e-4);
    });
    expect(got[2].loss).toBeLessThan(got[0].loss);
  });
});
