// Context parallelism inside one process: a CP group of one rank (no communication: the ring has
// one step, the halo of the second chunk is the rank's own first chunk, the chunk scan runs over
// its two chunks) must give the one-rank loss and gradients, in both Mamba-2 modes, also with a
// left-padding mask; and the refusals of bad layouts, named before anything runs.
import { describe, expect, it } from 'vitest';
import { ProcessGroup } from '@falcon/parallel';
import { tf } from '@falcon/tensor';
import { contextParallelLoss, contextParallelValueAndGrads, FalconH1ForCausalLM } from '../src/index.js';
import type { ContextParallelMambaMode } from '../src/index.js';
import { cpBatch, cpConfig, cpModel, cpPadding } from './cp/setup.js';

/** A group object of `size` ranks without an engine (this process is rank 0); any collective on it throws. */
const groupOf = (size: number) => new ProcessGroup(`cp-test-${size}`, Array.from({ length: size }, (_, i) => i), 0, 'gloo', 1000);

/** max |a − b| / max(max |b|, 1e-3) over one tensor (the floor: see context_parallel.test.ts). */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let s = 1e-3;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return d / s;
}

describe('context parallelism on a group of one', () => {
  for (const [nGroups, bitnet, seqlen, mode] of [
    [1, false, 12, 'state-passing'],
    [2, true, 10, 'state-passing'],
    [2, false, 6, 'all-to-all'],
  ] as [number, boolean, number, ContextParallelMambaMode][]) {
    it(`nGroups ${nGroups}, bitnet ${bitnet}, seqlen ${seqlen}, ${mode}`, async () => {
      const model = cpModel({ nGroups: nGroups as 1 | 2, bitnet, seqlen, batch: 2, mode, seed: 5 });
      const { ids, labels } = cpBatch(2, seqlen, 37);
      const ref = model.valueAndVariableGrads(ids, { labels });
      const cp = await contextParallelValueAndGrads(model, ids, { group: groupOf(1), labels, mambaMode: mode });
      // float32: the chunked attention merge and the state correction sum in another order (~1e-6 seen)
      expect(Math.abs(cp.loss.dataSync()[0] - ref.loss.dataSync()[0])).toBeLessThan(1e-5 * ref.loss.dataSync()[0]);
      for (const [k, g] of Object.entries(ref.grads)) expect(relErr(cp.grads[k].dataSync(), g.dataSync()), k).toBeLessThan(1e-5);
      model.dispose();
    });
  }
});

describe('context parallelism on a group of one with a padding mask', () => {
  for (const mode of ['state-passing', 'all-to-all'] as ContextParallelMambaMode[]) {
    it(`left padding of 3 and 7 tokens (a whole chunk of padding), ${mode}`, async () => {
      const c = { nGroups: 2 as const, bitnet: false, seqlen: 12, batch: 2, mode, seed: 6, pad: [3, 7] };
      const model = cpModel(c);
      const batch = cpBatch(2, 12, 37);
      const { mask, labels } = cpPadding(c, batch.labels)!;
      const ref = model.valueAndVariableGrads(batch.ids, { labels, attentionMask: mask });
      const cp = await contextParallelValueAndGrads(model, batch.ids, { group: groupOf(1), labels, attentionMask: mask, mambaMode: mode });
      // float32: the chunked attention merge and the state correction sum in another order (~1e-6 seen)
      expect(Math.abs(cp.loss.dataSync()[0] - ref.loss.dataSync()[0])).toBeLessThan(1e-5 * ref.loss.dataSync()[0]);
      for (const [k, g] of Object.entries(ref.grads)) expect(relErr(cp.grads[k].dataSync(), g.dataSync()), k).toBeLessThan(1e-5);
      model.dispose();
    });
  }
});

describe('context parallelism refuses bad layouts', () => {
  const model = new FalconH1ForCausalLM(cpConfig(1), 1);
  const ids = (l: number) => tf.zeros([1, l], 'int32') as tf.Tensor2D;
  it('a sequence length not divisible by 2·cp', () => {
    expect(() => contextParallelLoss(model, ids(10), { group: groupOf(2) })).toThrow(/multiple of 2·cp = 4/);
  });
  it('chunks shorter than the conv halo', () => {
    expect(() => contextParallelLoss(model, ids(4), { group: groupOf(1) })).toThrow(/at least dConv − 1 = 3 tokens/);
  });
  it('all-to-all with mamba heads not divisible by cp', () => {
    expect(() => contextParallelLoss(model, ids(12), { group: groupOf(3), mambaMode: 'all-to-all' })).toThrow(/layer 0 has nheads 4, which must be divisible by the CP size 3/);
  });
  it('a padding mask of another shape than the ids', () => {
    expect(() => contextParallelLoss(model, ids(12), { group: groupOf(1), attentionMask: tf.ones([1, 8], 'int32') as tf.Tensor2D })).toThrow(/attention mask has shape \[1,8\], expected \[1,12\]/);
  });
  it('an unknown mode and dynamic RoPE', () => {
    expect(() => contextParallelLoss(model, ids(12), { group: groupOf(1), mambaMode: 'ring' as never })).toThrow(/mambaMode must be/);
    const dyn = new FalconH1ForCausalLM(cpConfig(1, false, 4, { rope_scaling: { rope_type: 'dynamic', factor: 2 } }), 1);
    expect(() => contextParallelLoss(dyn, ids(12), { group: groupOf(1) })).toThrow(/dynamic RoPE/);
  });
});
