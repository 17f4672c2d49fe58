/**
 * Selective activation recomputation: run a sub-layer without keeping its intermediate activations
 * for the backward pass, and recompute them when the gradient is needed (memory for compute).
 */
import { tf } from '@falcon/tensor';
import type { Tensor, Variable } from '@falcon/tensor';

/** Which sub-layers are recomputed in the backward pass. */
export type RecomputePolicy = 'none' | 'attention' | 'mamba' | 'both';

/**
 * `fn(x)` whose activations are recomputed in the backward instead of stored.
 * @param fn - the sub-layer, a function of `x` and of the variables `vars` (read through its closure)
 * @param x - the sub-layer input
 * @param vars - every variable `fn` reads (their gradients flow through this node)
 * @returns `fn(x)`
 */
export function recomputed(fn: (x: Tensor) => Tensor, x: Tensor, vars: Variable[]): Tensor {
  const f = tf.customGrad((...args: (Tensor | ((t: Tensor[]) => void))[]) => {
    const save = args[args.length - 1] as (t: Tensor[]) => void;
    const input = args[0] as Tensor;
    save([input]);
    const value = fn(input);
    return {
      value,
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
        const [xs] = saved;
        const res = tf.engine().gradients(() => fn(xs), [xs, ...vars], Array.isArray(dy) ? dy[0] : dy, true);
        const all = [xs, ...vars];
        return res.grads.map((g, i) => g ?? tf.zerosLike(all[i]));
      },
    };
  });
  return (f as unknown as (...a: Tensor[]) => Tensor)(x, ...vars);
}
