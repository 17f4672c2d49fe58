// Chunked prefill (prefillPrompt / generate's prefillChunkSize) equals the one-shot prefill on
// every backend under test: the last logits, the KV cache and the Mamba-2 conv/SSM states after the
// prompt, and the greedy continuation, for chunk sizes that do and do not divide the prompt (and
// that do and do not align with Mamba-2's scan chunk of 8), with and without left padding.
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '@falcon/tensor';
import type { Tensor, Tensor2D } from '@falcon/tensor';
import { backendsUnderTest } from '@falcon/tensor/testing';
import { FalconH1ForCausalLM, generate, hybridConfig, prefillPrompt } from '../src/index.js';
import type { LayerCache } from '../src/index.js';

const config = hybridConfig({
  model_type: 'falcon_h1', vocab_size: 37, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
  num_attention_heads: 2, num_key_value_heads: 1, head_dim: 8, mamba_d_ssm: 16, mamba_n_heads: 2, mamba_d_head: 8,
  mamba_d_state: 4, mamba_d_conv: 4, mamba_chunk_size: 8, tie_word_embeddings: false, max_position_embeddings: 64,
  eos_token_id: null, pad_token_id: 0, initializer_range: 0.3,
});
const PLEN = 13;
const NEW = 5;
const CHUNKS = [1, 3, 4, 5, 8, 12, 13, 20];

/** Max |a − b| over two tensors of one shape. */
async function maxDiff(a: Tensor, b: Tensor): Promise<number> {
  expect(a.shape).toEqual(b.shape);
  const [x, y] = [await a.data(), await b.data()];
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(Number(x[i]) - Number(y[i])));
  return m;
}

/** The cache contents to compare: keys and values up to the length in use, conv and SSM states. */
function cacheParts(caches: LayerCache[]): Tensor[] {
  return caches.flatMap((c) => [
    ...(c.kv ? [tf.slice(c.kv.keys, [0, 0, 0, 0], [-1, c.kv.length, -1, -1]), tf.slice(c.kv.values, [0, 0, 0, 0], [-1, c.kv.length, -1, -1])] : []),
    ...(c.mamba ? [c.mamba.convState, c.mamba.ssmState] : []),
  ]);
}

function dispose(r: { logits: Tensor; caches: LayerCache[] }): void {
  r.logits.dispose();
  for (const c of r.caches) {
    c.kv?.dispose();
    if (c.mamba) tf.dispose([c.mamba.convState, c.mamba.ssmState]);
  }
}

describe.each(backendsUnderTest())('%s', (backend) => {
  let model: FalconH1ForCausalLM;
  let ids: Tensor2D;
  let mask: Tensor2D;
  beforeAll(async () => {
    await initBackend(backend);
    model = new FalconH1ForCausalLM(config, 3);
    const rows = Array.from({ length: 3 }, (_, r) => Array.from({ length: PLEN }, (_, j) => 1 + ((r * 11 + j * 7) % 36)));
    ids = tf.tensor2d(rows, [3, PLEN], 'int32') as Tensor2D;
    // row 1 left-padded by 2, row 2 by 9 (more than most chunks: whole chunks of padding)
    mask = tf.tensor2d(rows.map((_, r) => Array.from({ length: PLEN }, (_, j) => (j >= [0, 2, 9][r] ? 1 : 0))), [3, PLEN], 'int32') as Tensor2D;
  });

  for (const padded of [false, true]) {
    it.each(CHUNKS)(`prefillPrompt in chunks of %i equals the one-shot prefill (logits, KV cache, conv/SSM states)${padded ? ', left-padded' : ''}`, async (chunkSize) => {
      const m = padded ? mask : undefined;
      const one = prefillPrompt(model, ids, PLEN + NEW, { mask: m });
      const before = tf.memory().numTensors;
      const chunked = prefillPrompt(model, ids, PLEN + NEW, { mask: m, chunkSize });
      // float32: the chunks take other summation orders (scan chunks, attention tiles) than one pass; ~1e-6 seen
      expect(await maxDiff(chunked.logits, one.logits)).toBeLessThan(1e-5);
      const [a, b] = [cacheParts(chunked.caches), cacheParts(one.caches)];
      expect(a.length).toBe(b.length);
      for (let i = 0; i < a.length; i++) expect(await maxDiff(a[i], b[i])).toBeLessThan(1e-5); // as above
      dispose(one);
      dispose(chunked);
      tf.dispose([...a, ...b].filter((t) => !t.isDisposed));
      expect(tf.memory().numTensors).toBeLessThanOrEqual(before); // nothing left behind by the chunks
    });

    it.each([3, 5, 8])(`generate with prefillChunkSize %i gives the one-shot greedy tokens${padded ? ', left-padded' : ''}`, async (prefillChunkSize) => {
      const attentionMask = padded ? mask : undefined;
      const one = await generate(model, ids, { maxNewTokens: NEW, attentionMask });
      const chunked = await generate(model, ids, { maxNewTokens: NEW, attentionMask, prefillChunkSize });
      expect(await chunked.array()).toEqual(await one.array());
      tf.dispose([one, chunked]);
    });
  }

  it('rejects a prefillChunkSize that is not a positive integer, before any work', async () => {
    const before = tf.memory().numTensors;
    await expect(generate(model, ids, { maxNewTokens: 2, prefillChunkSize: 0 })).rejects.toThrow(/prefillChunkSize must be a positive integer, got 0/);
    await expect(generate(model, ids, { maxNewTokens: 2, prefillChunkSize: 2.5 })).rejects.toThrow(/prefillChunkSize must be a positive integer, got 2.5/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
