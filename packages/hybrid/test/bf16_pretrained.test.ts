// Falcon-H1-0.5B's real config (fixtures/falcon-h1-0.5b/config.json: μP multipliers, untied,
// vocab 32784, θ 1e11) with num_hidden_layers 2 and everything else real: random BF16 weights
// written by writeRandomPretrained load with fromPretrained and give the same logits and greedy
// tokens as the same weights stored as F32 (bf16 values are exact in float32, so equality is exact).
// Logs the process's memory around the BF16 load against the weights' bytes.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '@falcon/tensor';
import type { Tensor2D } from '@falcon/tensor';
import { FalconH1ForCausalLM, writeRandomPretrained } from '../src/index.js';

const fixture = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures/falcon-h1-0.5b/config.json'), 'utf8')) as Record<string, unknown>;
const config = { ...fixture, num_hidden_layers: 2 };
const root = mkdtempSync(join(tmpdir(), 'falcon-bf16-'));
const MiB = 2 ** 20;

describe('Falcon-H1-0.5B config in bf16 (2 layers)', () => {
  let bf16: FalconH1ForCausalLM;
  let f32: FalconH1ForCausalLM;
  let weightBytes = 0;
  beforeAll(async () => {
    await initBackend('cpu');
    weightBytes = await writeRandomPretrained(join(root, 'bf16'), config, { seed: 5 });
    await writeRandomPretrained(join(root, 'f32'), config, { seed: 5, dtype: 'F32' });
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const tf0 = tf.memory().numBytes;
    bf16 = await FalconH1ForCausalLM.fromPretrained(join(root, 'bf16'));
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().rss);
    console.log(
      `bf16 weights ${(weightBytes / MiB).toFixed(1)} MiB on disk; after the load tfjs holds ${((tf.memory().numBytes - tf0) / MiB).toFixed(1)} MiB (float32); ` +
        `process RSS +${((peak - rss0) / MiB).toFixed(1)} MiB at peak during the load (sampled every 5 ms), ${((peak - rss0) / weightBytes).toFixed(2)}× the bf16 bytes`,
    );
    f32 = await FalconH1ForCausalLM.fromPretrained(join(root, 'f32'));
  }, 240_000);
  afterAll(() => {
    bf16?.dispose();
    f32?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it('writes one BF16 model.safetensors of 2 bytes per weight (plus the header)', () => {
    const size = statSync(join(root, 'bf16', 'model.safetensors')).size;
    expect(size).toBeGreaterThan(weightBytes);
    expect(size).toBeLessThan(weightBytes + MiB); // the JSON header of ~40 tensors is a few KiB
    expect(statSync(join(root, 'f32', 'model.safetensors')).size).toBeGreaterThan(2 * weightBytes);
  });

  it('loads the real multipliers and shapes', () => {
    const b = bf16.config.base;
    expect([b.embedding_multiplier, b.lm_head_multiplier, b.key_multiplier, b.attention_out_multiplier, b.ssm_in_multiplier, b.ssm_out_multiplier]).toEqual([
      5.656854249492381, 0.0390625, 0.39062499999999994, 0.9375, 1.25, 0.23570226039551587,
    ]);
    expect(b.mlp_multipliers).toEqual([0.8838834764831844, 0.5859375]);
    expect(b.ssm_multipliers).toEqual([0.3535533905932738, 0.25, 0.3535533905932738, 0.5, 0.3535533905932738]);
    expect([b.mamba_rms_norm, b.tie_word_embeddings, b.vocab_size, b.num_hidden_layers]).toEqual([false, false, 32784, 2]);
    expect(bf16.stateDictShapes().get('model.layers.1.mamba.in_proj.weight')).toEqual([2 * 1536 + 2 * 128 + 24, 1024]);
  });

  it('the BF16-loaded model equals the F32-loaded one: logits exactly, and greedy tokens', async () => {
    const ids = tf.tensor2d([[1, 4021, 77, 32783, 9, 1200, 5], [3, 3, 18000, 2, 640, 11, 31000]], [2, 7], 'int32') as Tensor2D;
    const [a, b] = [bf16.forward(ids).logits!, f32.forward(ids).logits!];
    expect(a.shape).toEqual([2, 7, 32784]);
    // the same float32 weights and the same kernels: bit-identical
    expect(Array.from(await a.data())).toEqual(Array.from(await b.data()));
    expect(Number(await tf.max(tf.abs(a)).data())).toBeGreaterThan(0);
    const [ga, gb] = [await bf16.generate(ids, { maxNewTokens: 4, eosTokenId: null }), await f32.generate(ids, { maxNewTokens: 4, eosTokenId: null })];
    expect(await ga.array()).toEqual(await gb.array());
    tf.dispose([ids, a, b, ga, gb]);
  });
});
