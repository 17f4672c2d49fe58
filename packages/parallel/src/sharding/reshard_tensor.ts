/**
 * Re-sharding in memory: a target rank's local tensor assembled from local tensors held under
 * other specs (e.g. a tensor-parallel rank's shard from the shards of another layout), by the plan
 * of {@link planReshard}, copying on the host. Plain encoding only (packed ternary codes are
 * decoded and re-packed by the checkpoint loader, which owns the BitNet packing).
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { copyBox } from './copy_box.js';
import { planReshard } from './reshard.js';
import type { PlanReshardOptions } from './reshard.js';
import { localShape } from './shard_spec.js';
import type { ShardSpec } from './shard_spec.js';

/** A local tensor and the spec it was cut by. */
export interface HeldShard {
  /** The holder's index (e.g. its rank). */
  source: number;
  /** How `tensor` is cut from the full tensor. */
  spec: ShardSpec;
  /** The local tensor, shape {@link localShape}(spec), float32 or int32. */
  tensor: Tensor;
}

/**
 * Assemble the target's local tensor from shards held under other specs.
 * @param name - the tensor's name (for error messages)
 * @param target - the target's spec (plain encoding)
 * @param held - the shards available; each `tensor` of shape {@link localShape}(spec)
 * @param options - `prefer`: the holder to read overlapping elements from first
 * @returns a new tensor of shape {@link localShape}(target), the dtype of the shards
 * @throws Error naming the tensor when a shard's shape or dtype does not fit, a spec is packed, or
 *   part of the target is held by no shard
 */
export async function reshardTensor(name: string, target: ShardSpec, held: readonly HeldShard[], options: PlanReshardOptions = {}): Promise<Tensor> {
  for (const h of [{ spec: target, source: 'target' }, ...held]) {
    if ((h.spec.encoding ?? 'plain') !== 'plain') throw new Error(`reshardTensor(${name}): ${h.source === 'target' ? 'the target' : `source ${h.source}`} is ${h.spec.encoding}-encoded; only plain tensors are re-sharded in memory`);
  }
  const dtypes = new Set(held.map((h) => h.tensor.dtype));
  if (dtypes.size > 1) throw new Error(`reshardTensor(${name}): the shards have different dtypes (${[...dtypes].join(', ')})`);
  for (const h of held) {
    const want = localShape(h.spec);
    if (!tf.util.arraysEqual(h.tensor.shape, want)) throw new Error(`reshardTensor(${name}): source ${h.source}'s tensor has shape [${h.tensor.shape}], its spec gives [${want}]`);
  }
  const pieces = planReshard(name, target, held, options);
  const shape = localShape(target);
  const dtype = held[0]?.tensor.dtype === 'int32' ? 'int32' : 'float32';
  const out = dtype === 'int32' ? new Int32Array(tf.util.sizeFromShape(shape)) : new Float32Array(tf.util.sizeFromShape(shape));
  const bySource = new Map(held.map((h) => [h.source, h]));
  const data = new Map<number, Float32Array | Int32Array>();
  for (const p of pieces) {
    const h = bySource.get(p.source)!;
    if (!data.has(p.source)) data.set(p.source, (await h.tensor.data()) as Float32Array | Int32Array);
    copyBox(data.get(p.source)!, h.tensor.shape, out, shape, p);
  }
  return tf.tensor(out, shape, dtype);
}
