/**
 * `placeShard`: the inverse of `takeShard` — a rank's tensor put back at its place in a
 * full-shaped tensor of zeros (what un-sharding and the reduction of replicated gradients start from).
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import type { ShardSpec } from './shard_spec.js';
import { localShape } from './shard_spec.js';

/**
 * The full-shaped tensor holding `local` at the places `spec` cuts it from, zeros elsewhere
 * (a range that occurs twice in the spec gets the sum of its two pieces).
 * @param local - the rank's tensor, shape {@link localShape}(spec)
 * @param spec - the rank's spec (plain encoding)
 * @returns a new tensor of shape `spec.shape`
 */
export function placeShard(local: Tensor, spec: ShardSpec): Tensor {
  const want = localShape(spec);
  if (!tf.util.arraysEqual(local.shape, want)) throw new Error(`placeShard: tensor has shape [${local.shape}], the spec expects [${want}]`);
  const axis = spec.axis;
  if (axis === null) return tf.clone(local);
  return tf.tidy(() => {
    let offset = 0;
    const pieces = spec.ranges.map(([s, e]) => {
      const begin = local.shape.map((_, i) => (i === axis ? offset : 0));
      const size = local.shape.map((d, i) => (i === axis ? e - s : d));
      offset += e - s;
      const pad = spec.shape.map((d, i): [number, number] => (i === axis ? [s, d - e] : [0, 0]));
      return tf.pad(tf.slice(local, begin, size), pad);
    });
    return pieces.length === 1 ? pieces[0] : tf.addN(pieces);
  });
}
