// The pipeline executor in one process (the stages as concurrent tasks over memoryTransports): a
// chain of virtual stages y = tanh(x·w_vs) pipelined over microbatches gives the loss and the
// gradient of every w and of the input that one tf.grads over the whole chain gives, under 1F1B
// and interleaving; each stage runs its schedule's order; errors name the stage and microbatch.
import { describe, expect, it } from 'vitest';
import { tf } from '@falcon/tensor';
import { memoryTransports, pipelineSchedule, runPipeline } from '../src/index.js';
import type { PipelineAction, PipelineStageFunctions } from '../src/index.js';
import { chainInputs, chainStage, reference, SHAPE } from './helpers/pipeline_chain.js';

async function pipelined(s: number, v: number, m: number) {
  const { w, data } = chainInputs(s, v, m);
  const transports = memoryTransports(s);
  const logs: PipelineAction[][] = Array.from({ length: s }, () => []);
  const stages = Array.from({ length: s }, (_, r) => chainStage(r, s, v, w, data, logs[r]));
  await Promise.all(stages.map((st, r) => runPipeline(st.fns, { stages: s, microbatches: m, chunks: v, stage: r, shape: SHAPE, transport: transports[r] })));
  return { w, data, logs, stages };
}

describe('runPipeline (in one process)', () => {
  for (const [s, v, m] of [[2, 1, 4], [4, 1, 4], [3, 1, 2], [2, 2, 4], [1, 2, 3], [4, 2, 8]] as const) {
    it(`PP${s}${v > 1 ? ` × ${v} chunks` : ''}, ${m} microbatches: the loss and every gradient of the unpipelined chain, in schedule order`, async () => {
      const { w, data, logs, stages } = await pipelined(s, v, m);
      const ref = reference(w, data);
      const last = stages[(s * v - 1) % s];
      // the same float32 operations in the same order per microbatch; the sums over microbatches in the same order too
      expect(last.loss()).toBeCloseTo(ref.loss, 4);
      for (let vs = 0; vs < s * v; vs++) {
        const got = stages[vs % s].grads.get(vs)!;
        // float32, the same products in another association (tf.grads of the chain vs per-stage grads): ~1e-7 relative
        expect(tf.max(tf.abs(tf.sub(got, ref.dws[vs]))).dataSync()[0]).toBeLessThan(1e-5 * tf.max(tf.abs(ref.dws[vs])).dataSync()[0]);
      }
      logs.forEach((log, r) => expect(log).toEqual(pipelineSchedule(v > 1 ? 'interleaved' : '1f1b', { stages: s, microbatches: m, chunks: v }, r)));
    });
  }

  it('a forward of the wrong shape is an error naming the stage and the microbatch', async () => {
    const transports = memoryTransports(2);
    const fns: PipelineStageFunctions = { forward: (mb) => (mb === 1 ? tf.zeros([2, 4]) : tf.zeros(SHAPE)), backward: () => tf.zeros(SHAPE) };
    await expect(runPipeline(fns, { stages: 2, microbatches: 2, stage: 0, shape: SHAPE, transport: transports[0] })).rejects.toThrow(
      /pipeline stage 0 \(virtual stage 0 of 2\), forward of microbatch 1: the output is \[2,4\], the pipeline's activations are \[2,3\]/,
    );
  });

  it('an error in a pass names it', async () => {
    const transports = memoryTransports(1);
    const fns: PipelineStageFunctions = {
      forward: () => undefined,
      backward: (mb) => {
        throw new Error(`boom ${mb}`);
      },
    };
    await expect(runPipeline(fns, { stages: 1, microbatches: 2, stage: 0, shape: SHAPE, transport: transports[0] })).rejects.toThrow(/pipeline stage 0 \(virtual stage 0 of 1\), backward of microbatch 0: boom 0/);
  });
});
