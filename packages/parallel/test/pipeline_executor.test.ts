// The pipeline executor in one process (the stages as concurrent tasks over memoryTransports): a
// chain of virtual stages y = tanh(x·w_vs) pipelined over microbatches gives the loss and the
// gradient of every w and of the input that one tf.grads over the whole chain gives, under 1F1B
// and interleaving; each stage runs its schedule's order; errors name the stage and microbatch.
import { describe, expect, it } from 'vitest';
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { memoryTransports, pipelineSchedule, runPipeline } from '../src/index.js';
import type { PipelineAction, PipelineStageFunctions } from '../src/index.js';

const SHAPE = [2, 3];

/** Stage functions of chunk(s) of the chain; each backward recomputes its forward from the kept input. */
function chainStage(stage: number, s: number, v: number, w: Tensor[], data: Tensor[], log: PipelineAction[]) {
  const S = s * v;
  const kept = new Map<string, Tensor>();
  const grads = new Map<number, Tensor>();
  let loss = 0;
  const f = (vs: number, x: Tensor) => tf.tanh(tf.mul(x, w[vs]));
  const fns: PipelineStageFunctions = {
    forward(mb, chunk, input) {
      log.push({ kind: 'forward', microbatch: mb, chunk });
      const vs = chunk * s + stage;
      const x = vs === 0 ? data[mb] : input!;
      kept.set(`${mb}:${chunk}`, tf.clone(x));
      const y = f(vs, x);
      if (vs < S - 1) return y;
      loss += tf.sum(y).dataSync()[0];
      y.dispose();
      return undefined;
    },
    backward(mb, chunk, dy) {
      log.push({ kind: 'backward', microbatch: mb, chunk });
      const vs = chunk * s + stage;
      const x = kept.get(`${mb}:${chunk}`)!;
      kept.delete(`${mb}:${chunk}`);
      const g = tf.grads((xx: Tensor, ww: Tensor) => tf.tanh(tf.mul(xx, ww)));
      const [dx, dw] = g([x, w[vs]], dy ?? tf.onesLike(x));
      x.dispose();
      const prev = grads.get(vs);
      grads.set(vs, prev ? tf.add(prev, dw) : dw);
      prev?.dispose();
      return vs > 0 ? dx : (dx.dispose(), undefined);
    },
  };
  return { fns, grads, loss: () => loss };
}

function reference(w: Tensor[], data: Tensor[]) {
  const chain = (x: Tensor, ...ws: Tensor[]) => tf.sum(ws.reduce((h, wi) => tf.tanh(tf.mul(h, wi)), x));
  let loss = 0;
  const dws = w.map((wi) => tf.zerosLike(wi));
  for (const x of data) {
    loss += chain(x, ...w).dataSync()[0];
    const gs = tf.grads((...ws: Tensor[]) => chain(x, ...ws))(w);
    gs.forEach((g, i) => (dws[i] = tf.add(dws[i], g)));
  }
  return { loss, dws };
}

async function pipelined(s: number, v: number, m: number) {
  const w = Array.from({ length: s * v }, (_, i) => tf.randomNormal(SHAPE, 1, 0.3, 'float32', 11 + i));
  const data = Array.from({ length: m }, (_, i) => tf.randomNormal(SHAPE, 0, 1, 'float32', 101 + i));
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
