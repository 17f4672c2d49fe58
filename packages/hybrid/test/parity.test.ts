// Parity with transformers' FalconH1ForCausalLM on its fixtures (float32, CPU, eager): logits, every
// hidden state, the loss, every parameter gradient, and greedy generation through the hybrid cache.
import { describe, expect, it } from 'vitest';
import { initBackend, tf } from '@falcon/tensor';
import type { Tensor, Tensor2D } from '@falcon/tensor';
import { relativeError } from '@falcon/tensor/testing';
import { backendsUnderTest } from '@falcon/tensor/testing';
import { FalconH1ForCausalLM } from '../src/index.js';
import { fixtureDir, readFixture } from './fixtures.js';

const FIXTURES = ['falcon-h1-tiny', 'falcon-h1-deep', 'falcon-h1-biases', 'falcon-h1-split-layers', 'falcon-h1-long'];

describe.each(backendsUnderTest())('%s', (backend) => {
  describe.each(FIXTURES)('%s', (name) => {
    it('logits, hidden states, loss and gradients match transformers', async () => {
      await initBackend(backend);
      const model = await FalconH1ForCausalLM.fromPretrained(fixtureDir(name));
      const ref = await readFixture(name, 'reference.safetensors');
      const ids = ref.get('input_ids')! as Tensor2D;
      const out = model.forward(ids, { labels: ids, outputHiddenStates: true });
      // read asynchronously first (webgpu in Node cannot read synchronously; afterwards dataSync returns the copy)
      await Promise.all([out.logits, out.loss!, ...out.hiddenStates!].map((t) => t.data()));
      // float32 throughout; different summation orders (chunked SSD vs transformers' chunked torch path,
      // tiled attention) give relative differences of ~1e-6 per layer.
      expect(relativeError(out.logits, ref.get('logits')!)).toBeLessThan(1e-4);
      expect(out.hiddenStates).toHaveLength(model.config.base.num_hidden_layers + 1);
      out.hiddenStates!.forEach((h, i) => expect(relativeError(h, ref.get(`hidden_states.${i}`)!), `hidden_states.${i}`).toBeLessThan(1e-4));
      expect(Math.abs(out.loss!.dataSync()[0] - ref.get('loss')!.dataSync()[0]) / ref.get('loss')!.dataSync()[0]).toBeLessThan(1e-5);
      const { loss, grads } = model.valueAndGrads(ids, { labels: ids });
      await Promise.all([loss, ...Object.values(grads)].map((t) => t.data()));
      expect(Math.abs(loss.dataSync()[0] - ref.get('loss')!.dataSync()[0])).toBeLessThan(1e-4);
      const names = [...ref.keys()].filter((k) => k.startsWith('grad.')).map((k) => k.slice(5));
      const ours = Object.keys(grads).filter((k) => !(model.config.base.tie_word_embeddings && k === 'lm_head.weight'));
      expect(new Set(ours)).toEqual(new Set(names.filter((k) => !(model.config.base.tie_word_embeddings && k === 'lm_head.weight'))));
      for (const k of ours) {
        const want = ref.get(`grad.${k}`)!;
        // gradients accumulate more rounding (backward of every layer): 1e-3 relative in norm
        expect(relativeError(grads[k], want), `grad ${k}`).toBeLessThan(1e-3);
      }
      tf.dispose([out.logits, out.loss!, ...out.hiddenStates!, loss, ...Object.values(grads), ...ref.values()]);
      model.dispose();
    });

    it('greedy generation through the hybrid cache reproduces transformers', async () => {
      await initBackend(backend);
      const model = await FalconH1ForCausalLM.fromPretrained(fixtureDir(name));
      const gen = await readFixture(name, 'generate.safetensors');
      const prompt = gen.get('prompt')! as Tensor2D;
      const mask = gen.get('prompt_mask') as Tensor2D | undefined;
      const greedy = gen.get('greedy')!;
      const newTokens = greedy.shape[1]! - prompt.shape[1]!;
      const out = await model.generate(prompt, { maxNewTokens: newTokens, attentionMask: mask, eosTokenId: null });
      expect(await out.array()).toEqual(await greedy.array());
      tf.dispose([out, ...gen.values()] as Tensor[]);
      model.dispose();
    });
  });
});
