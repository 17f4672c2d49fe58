// A toy pipeline for the executor tests (in one process and over Gloo): virtual stage vs computes
// y = tanh(x ⊙ w_vs) on [2, 3]; the loss is the sum of the last output over the microbatches. Each
// backward recomputes its forward from the kept input (as the Falcon-H1 stage does).
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import type { PipelineAction, PipelineStageFunctions } from '../../src/index.js';

/** The activation shape. */
export const SHAPE = [2, 3];

/** Stage functions of chunk(s) of the chain; each backward recomputes its forward from the kept input. */
export function chainStage(stage: number, s: number, v: number, w: Tensor[], data: Tensor[], log: PipelineAction[]) {
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

/** The loss and the gradient of every w by one tf.grads over the whole chain, microbatch by microbatch. */
export function reference(w: Tensor[], data: Tensor[]) {
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

/** The weights (seeded) and data of a chain of s·v virtual stages and m microbatches. */
export function chainInputs(s: number, v: number, m: number) {
  const w = Array.from({ length: s * v }, (_, i) => tf.randomNormal(SHAPE, 1, 0.3, 'float32', 11 + i));
  const data = Array.from({ length: m }, (_, i) => tf.randomNormal(SHAPE, 0, 1, 'float32', 101 + i));
  return { w, data };
}
