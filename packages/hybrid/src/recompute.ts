/**
 * Selective activation recomputation: run a sub-layer without keeping its intermediate activations
 * for the backward pass, and recompute them when the gradient is needed (memory for compute).
 */
import { isolatedGradients, tf } from '@falcon/tensor';
import type { Tensor, Variable } from '@falcon/tensor';

/**
 * Which sub-layers are recomputed in the backward pass: `'attention'`, `'mamba'` or `'both'` mixers
 * (selective), or `'layer'`: the whole decoder layer (only each layer's input is kept; memory for
 * about one more forward).
 */
export type RecomputePolicy = 'none' | 'attention' | 'mamba' | 'both' | 'layer';

/**
 * `fn(x, consts)` whose activations are recomputed in the backward instead of stored.
 * @param fn - the sub-layer, a function of `x`, of constant tensors (positions, masks) and of the
 *   variables `vars` (read through its closure)
 * @param x - the sub-layer input (differentiated)
 * @param vars - every variable `fn` reads (their gradients flow through this node)
 * @param consts - other tensors `fn` needs (not differentiated; kept alive until the backward)
 * @returns `fn(x, consts)`
 */
export function recomputed(fn: (x: Tensor, consts: (Tensor | undefined)[]) => Tensor, x: Tensor, vars: Variable[], consts: (Tensor | undefined)[] = []): Tensor {
  const present = consts.filter((c): c is Tensor => c !== undefined);
  const rebuild = (saved: Tensor[]) => {
    let j = 0;
    return consts.map((c) => (c === undefined ? undefined : saved[j++]));
  };
  const f = tf.customGrad((...args: (Tensor | ((t: Tensor[]) => void))[]) => {
    const save = args[args.length - 1] as (t: Tensor[]) => void;
    const input = args[0] as Tensor;
    save([input, ...present]);
    const value = fn(input, consts);
    return {
      value,
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
        const [xs, ...cs] = saved;
        const all = [xs, ...vars];
        // a gradient inside a backward pass, on a tape of its own
        const res = isolatedGradients(() => fn(xs, rebuild(cs)), all, Array.isArray(dy) ? dy[0] : dy);
        res.value.dispose();
        return res.grads.map((g, i) => g ?? tf.zerosLike(all[i]));
      },
    };
  });
  return (f as unknown as (...a: Tensor[]) => Tensor)(x, ...vars);
}
