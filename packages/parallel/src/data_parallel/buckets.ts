/**
 * Gradient buckets of data parallelism (as torch DDP and Megatron's distributed optimizer): the
 * parameters, in reverse order (the order a backward pass produces their gradients), grouped into
 * flat float32 buffers of about `bucketBytes` each, so that one collective moves many small tensors.
 */
import { tf } from '@falcon/tensor';
import type { Tensor, Tensor1D } from '@falcon/tensor';

/** One parameter's place in a bucket. */
export interface BucketEntry {
  /** The parameter's name. */
  name: string;
  /** Its shape. */
  shape: number[];
  /** Its element count. */
  size: number;
  /** Offset of its first element in the bucket's flat buffer. */
  offset: number;
}

/** A group of parameters communicated as one flat buffer. */
export interface Bucket {
  /** Its parameters, in buffer order. */
  entries: BucketEntry[];
  /** Elements of the parameters (the sum of their sizes). */
  numel: number;
  /** The buffer's length: `numel` rounded up to a multiple of `align` (zero padding at the end). */
  padded: number;
}

/**
 * Group parameters into buckets of at least `bucketBytes` (float32) each, the last parameter first;
 * a parameter larger than `bucketBytes` gets a bucket of its own, none is split.
 * @param params - parameter shapes by name, in the model's order
 * @param bucketBytes - target bucket size in bytes (> 0)
 * @param align - pad every bucket's buffer to a multiple of this (the group size for reduce-scatter)
 * @returns the buckets, in communication order
 * @throws when `bucketBytes` or `align` is not positive, or a shape is invalid
 */
export function planBuckets(params: Record<string, readonly number[]>, bucketBytes: number, align = 1): Bucket[] {
  if (!(bucketBytes > 0)) throw new Error(`planBuckets: bucketBytes must be positive, got ${bucketBytes}`);
  if (!(Number.isInteger(align) && align > 0)) throw new Error(`planBuckets: align must be a positive integer, got ${align}`);
  const cap = Math.max(1, Math.floor(bucketBytes / 4));
  const buckets: Bucket[] = [];
  let cur: BucketEntry[] = [];
  let numel = 0;
  const close = () => {
    if (!cur.length) return;
    buckets.push({ entries: cur, numel, padded: Math.ceil(numel / align) * align });
    cur = [];
    numel = 0;
  };
  for (const name of Object.keys(params).reverse()) {
    const shape = [...params[name]];
    if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`planBuckets: parameter '${name}' has an invalid shape [${shape}]`);
    const size = shape.reduce((a, b) => a * b, 1);
    cur.push({ name, shape, size, offset: numel });
    numel += size;
    if (numel >= cap) close();
  }
  close();
  return buckets;
}

/**
 * The bucket's flat buffer from tensors by name (float32 `[bucket.padded]`, zero padding).
 * @param bucket - the layout
 * @param tensors - a tensor of each entry's shape, by name
 * @throws naming a tensor that is missing or has the wrong shape
 */
export function packBucket(bucket: Bucket, tensors: Record<string, Tensor>): Tensor1D {
  for (const e of bucket.entries) {
    const t = tensors[e.name];
    if (!t) throw new Error(`packBucket: no tensor for '${e.name}'`);
    if (!tf.util.arraysEqual(t.shape, e.shape)) throw new Error(`packBucket: '${e.name}' has shape [${t.shape}], expected [${e.shape}]`);
  }
  return tf.tidy(() => {
    const parts = bucket.entries.map((e) => tf.reshape(tf.cast(tensors[e.name], 'float32'), [e.size]));
    if (bucket.padded > bucket.numel) parts.push(tf.zeros([bucket.padded - bucket.numel]));
    return (parts.length === 1 ? parts[0] : tf.concat(parts)) as Tensor1D;
  });
}

/**
 * Split a bucket's flat buffer back into tensors of the entries' shapes.
 * @param bucket - the layout
 * @param flat - float32 `[bucket.padded]`
 * @returns new tensors by name
 */
export function unpackBucket(bucket: Bucket, flat: Tensor): Record<string, Tensor> {
  if (flat.size !== bucket.padded) throw new Error(`unpackBucket: the buffer has ${flat.size} elements, the bucket ${bucket.padded}`);
  const out: Record<string, Tensor> = {};
  tf.tidy(() => {
    for (const e of bucket.entries) out[e.name] = tf.keep(tf.reshape(tf.slice(flat, [e.offset], [e.size]), e.shape));
  });
  return out;
}
