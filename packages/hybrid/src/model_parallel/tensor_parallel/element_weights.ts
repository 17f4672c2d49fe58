/**
 * How much each element of a TP rank's pieces counts in a global sum over the one-rank tensors
 * (the gradient norm for clipping): an element held by k ranks counts 1/k on each.
 */
import { sumInOrder, tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import type { HybridConfig } from '../../config.js';
import { tensorParallelLayout } from './layout.js';
import type { TensorParallelLayout } from './layout.js';

/**
 * Per parameter of `layout.plan`: undefined (every element held once), a number (replicated on k
 * ranks: 1/k), or a vector of 1/multiplicity per index of this rank's piece along the shard axis.
 * @param config - the model config
 * @param layout - this rank's layout
 */
export function tensorParallelElementWeights(config: HybridConfig, layout: TensorParallelLayout): Record<string, number | Tensor | undefined> {
  const all = Array.from({ length: layout.size }, (_, r) => tensorParallelLayout(config, { size: layout.size, rank: r, sequenceParallel: layout.sequenceParallel, splits: layout.splits }));
  const out: Record<string, number | Tensor | undefined> = {};
  for (const [name, spec] of Object.entries(layout.plan)) {
    if (spec.axis === null) {
      out[name] = 1 / all.filter((l) => l.plan[name]).length;
      continue;
    }
    const count = new Array<number>(spec.shape[spec.axis]).fill(0);
    for (const l of all) for (const [a, e] of l.plan[name]?.ranges ?? []) for (let i = a; i < e; i++) count[i]++;
    if (count.every((c) => c === 1)) continue;
    out[name] = tf.keep(tf.tensor1d(spec.ranges.flatMap(([a, e]) => count.slice(a, e).map((c) => 1 / c))));
  }
  return out;
}

/**
 * `Σ w·g²` of this rank's pieces (not reduced over the group), each element weighted by
 * {@link tensorParallelElementWeights}.
 * @param grads - gradients of pieces by HF name (names absent from `grads` are skipped)
 * @returns a scalar
 */
export function weightedSquaredSum(layout: TensorParallelLayout, weights: Record<string, number | Tensor | undefined>, grads: Record<string, Tensor>): Tensor {
  return tf.tidy(() => {
    const parts = Object.keys(layout.plan)
      .filter((name) => grads[name])
      .map((name) => {
        const g2 = tf.square(grads[name]);
        const w = weights[name];
        if (w === undefined) return tf.sum(g2);
        if (typeof w === 'number') return tf.mul(tf.sum(g2), w);
        const axis = layout.plan[name].axis!;
        return tf.sum(tf.mul(g2, tf.reshape(w, grads[name].shape.map((d, i) => (i === axis ? d : 1)))));
      });
    return parts.length ? sumInOrder(parts) : tf.scalar(0);
  });
}
