/**
 * Kernel tracing: runs the Falcon-H1-shaped composites forward and through `tf.grads`, then an
 * AdamW step (tf.train.adam, decoupled weight decay, global-norm clipping), on the active backend,
 * recording every kernel name the tfjs engine dispatches and in which phase.
 */
import * as tf from '@tensorflow/tfjs-core';
import { composites } from './composites.js';
import { makeInputs } from './harness.js';

/** The phase a kernel was first seen in. */
export type TracePhase = 'forward' | 'backward' | 'optimizer';

/** Kernel name → phases it ran in. */
export type KernelTrace = Map<string, Set<TracePhase>>;

/** Traces the kernels the composites and an AdamW step dispatch (on the active backend). */
export function traceKernels(): KernelTrace {
  const seen: KernelTrace = new Map();
  let phase: TracePhase = 'forward';
  const engine = tf.engine() as unknown as { runKernel: (name: string, inputs: unknown, attrs: unknown) => unknown };
  const original = engine.runKernel;
  engine.runKernel = function (name, inputs, attrs) {
    if (!seen.has(name)) seen.set(name, new Set());
    seen.get(name)!.add(phase);
    return original.call(this, name, inputs, attrs);
  };
  try {
    for (const c of composites()) {
      const xs = makeInputs(c, 1);
      phase = 'forward';
      tf.dispose(tf.tidy(() => c.fn(...xs)));
      phase = 'backward';
      const diff = Object.values(c.inputs)
        .map((s, i) => ((s.dtype ?? 'float32') === 'float32' && s.grad !== false ? i : -1))
        .filter((i) => i >= 0);
      tf.dispose(tf.tidy(() => tf.grads((...g: tf.Tensor[]) => c.fn(...xs.map((x, i) => (diff.includes(i) ? g[diff.indexOf(i)] : x))))(diff.map((i) => xs[i]))));
      tf.dispose(xs);
    }
    phase = 'optimizer';
    const w = tf.variable(tf.randomNormal([5, 3]), true);
    const opt = tf.train.adam(1e-2, 0.9, 0.95, 1e-8);
    for (let step = 0; step < 2; step++) {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => tf.sum(tf.square(w)) as tf.Scalar, [w]);
        const norm = tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))));
        const scale = tf.minimum(1, tf.div(1.0, tf.add(norm, 1e-6)));
        const clipped = Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.mul(g, scale)]));
        w.assign(tf.mul(w, 1 - 1e-2 * 0.1));
        opt.applyGradients(clipped as never);
      });
    }
    opt.dispose();
    w.dispose();
  } finally {
    engine.runKernel = original;
  }
  return seen;
}
