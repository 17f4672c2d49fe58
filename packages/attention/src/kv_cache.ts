/**
 * `KVCache`: the keys and values of past tokens for decoding, in preallocated buffers
 * `[batch, capacity, nKvHeads, headDim]` plus a length. On the cpu backend `append` writes the new
 * rows in place into the host arrays behind the cache tensors (O(new tokens) work, no copy of the
 * cache); on other backends it rebuilds the buffers with tensor ops. Overflow is a clear error.
 */
import { tf } from '@falcon/tensor';
import type { Tensor, Tensor2D, Tensor4D } from '@falcon/tensor';
import { check, checkTensor, dims } from './validate.js';

/** Sizes of a {@link KVCache}. */
export interface KVCacheOptions {
  /** `batch` */
  batch: number;
  /** Maximum number of tokens the cache holds. */
  capacity: number;
  /** `nKvHeads` */
  nKvHeads: number;
  /** `headDim` */
  headDim: number;
}

const FN = 'KVCache';

/**
 * A preallocated key/value cache for one attention layer. The tensors it exposes are kept (not
 * disposed by `tf.tidy`); call {@link KVCache.dispose} when done. On the cpu backend they are
 * updated in place by {@link KVCache.append}: a gradient taken through an earlier
 * `decodeAttention` call sees the appended rows only beyond its own length, which it ignores.
 */
export class KVCache {
  /** `batch` */
  readonly batch: number;
  /** Maximum number of tokens. */
  readonly capacity: number;
  /** `nKvHeads` */
  readonly nKvHeads: number;
  /** `headDim` */
  readonly headDim: number;
  private len = 0;
  private masked = false;
  private k: Tensor4D;
  private v: Tensor4D;
  private mask: Tensor2D;
  private readonly host?: { k: Float32Array; v: Float32Array; mask: Float32Array };
  private readonly backendName: string;

  /** Allocate an empty cache of `[batch, capacity, nKvHeads, headDim]` on the active backend. */
  constructor(options: KVCacheOptions) {
    const { batch, capacity, nKvHeads, headDim } = options;
    check(FN).attr('batch').int(batch, { min: 1 });
    check(FN).attr('capacity').int(capacity, { min: 1 });
    check(FN).attr('nKvHeads').int(nKvHeads, { min: 1 });
    check(FN).attr('headDim').int(headDim, { min: 1 });
    this.batch = batch;
    this.capacity = capacity;
    this.nKvHeads = nKvHeads;
    this.headDim = headDim;
    this.backendName = tf.getBackend();
    const shape: [number, number, number, number] = [batch, capacity, nKvHeads, headDim];
    if (this.backendName === 'cpu') {
      const host = { k: new Float32Array(batch * capacity * nKvHeads * headDim), v: new Float32Array(batch * capacity * nKvHeads * headDim), mask: new Float32Array(batch * capacity).fill(1) };
      this.k = tf.keep(tf.tensor4d(host.k, shape));
      this.v = tf.keep(tf.tensor4d(host.v, shape));
      this.mask = tf.keep(tf.tensor2d(host.mask, [batch, capacity]));
      // The cpu backend keeps the array it is given: writing into it updates the tensor in place.
      const backend = tf.backend();
      if (backend.readSync(this.k.dataId) === host.k && backend.readSync(this.v.dataId) === host.v && backend.readSync(this.mask.dataId) === host.mask) this.host = host;
    } else {
      this.k = tf.keep(tf.zeros(shape));
      this.v = tf.keep(tf.zeros(shape));
      this.mask = tf.keep(tf.ones([batch, capacity]));
    }
  }

  /** Number of tokens held. */
  get length(): number {
    return this.len;
  }

  /** Keys `[batch, capacity, nKvHeads, headDim]`; rows at and beyond {@link KVCache.length} are unused. */
  get keys(): Tensor4D {
    return this.k;
  }

  /** Values `[batch, capacity, nKvHeads, headDim]`; rows at and beyond {@link KVCache.length} are unused. */
  get values(): Tensor4D {
    return this.v;
  }

  /** Key padding mask `[batch, capacity]` (1 keep, 0 masked), or undefined while no appended token was masked. */
  get keyPaddingMask(): Tensor2D | undefined {
    return this.masked ? this.mask : undefined;
  }

  /** Whether {@link KVCache.append} writes in place (cpu backend) rather than rebuilding the buffers. */
  get inPlace(): boolean {
    return this.host !== undefined;
  }

  /**
   * Append the keys and values of new tokens.
   * @param k - `[batch, newTokens, nKvHeads, headDim]`
   * @param v - `[batch, newTokens, nKvHeads, headDim]`
   * @param keyPaddingMask - optional `[batch, newTokens]`, 1 keep / 0 masked (left padding)
   * @throws when shapes do not match the cache or the cache would overflow
   */
  append(k: Tensor, v: Tensor, keyPaddingMask?: Tensor): void {
    const fn = `${FN}.append`;
    const c = check(fn);
    if (this.k.isDisposed) c.fail('the cache was disposed');
    if (tf.getBackend() !== this.backendName) c.fail(`the cache lives on backend '${this.backendName}' but the active backend is '${tf.getBackend()}'`);
    checkTensor(c, 'k', k, 'batch, newTokens, nKvHeads, headDim');
    checkTensor(c, 'v', v, 'batch, newTokens, nKvHeads, headDim');
    const n = dims(k)[1];
    const want = [this.batch, n, this.nKvHeads, this.headDim];
    if (!tf.util.arraysEqual(k.shape, want)) c.fail(`k has shape [${k.shape}], expected [${want}] ([batch, newTokens, nKvHeads, headDim])`);
    if (!tf.util.arraysEqual(v.shape, want)) c.fail(`v has shape [${v.shape}], expected [${want}] (like k)`);
    if (keyPaddingMask) {
      checkTensor(c, 'keyPaddingMask', keyPaddingMask, 'batch, newTokens', ['float32', 'int32', 'bool']);
      if (!tf.util.arraysEqual(keyPaddingMask.shape, [this.batch, n])) c.fail(`keyPaddingMask has shape [${keyPaddingMask.shape}], expected [${this.batch},${n}]`);
    }
    if (this.len + n > this.capacity) {
      c.fail(`appending ${n} token(s) to a cache holding ${this.len} of capacity ${this.capacity} would overflow; allocate a larger capacity`);
    }
    // on cpu the mask is read (free) and only a 0 turns masking on; elsewhere any given mask does
    const maskValues = this.host ? keyPaddingMask?.dataSync() : undefined;
    if (keyPaddingMask && (!maskValues || maskValues.some((x) => x === 0))) this.masked = true;
    const row = this.nKvHeads * this.headDim;
    if (this.host) {
      const kd = k.dataSync() as Float32Array;
      const vd = v.dataSync() as Float32Array;
      for (let b = 0; b < this.batch; b++) {
        const dst = (b * this.capacity + this.len) * row;
        this.host.k.set(kd.subarray(b * n * row, (b + 1) * n * row), dst);
        this.host.v.set(vd.subarray(b * n * row, (b + 1) * n * row), dst);
        for (let t = 0; t < n; t++) this.host.mask[b * this.capacity + this.len + t] = maskValues ? (maskValues[b * n + t] !== 0 ? 1 : 0) : 1;
      }
    } else {
      const len = this.len;
      const splice = (buf: Tensor, x: Tensor): Tensor =>
        tf.tidy(() => {
          const rest = dims(buf).slice(2);
          const parts: Tensor[] = [];
          if (len > 0) parts.push(tf.slice(buf, [0, 0, ...rest.map(() => 0)], [this.batch, len, ...rest]));
          parts.push(x);
          if (len + n < this.capacity) parts.push(tf.slice(buf, [0, len + n, ...rest.map(() => 0)], [this.batch, this.capacity - len - n, ...rest]));
          return tf.keep(parts.length === 1 ? tf.clone(parts[0]) : tf.concat(parts, 1));
        });
      const old = [this.k, this.v, this.mask];
      this.k = splice(this.k, k) as Tensor4D;
      this.v = splice(this.v, v) as Tensor4D;
      this.mask = splice(this.mask, keyPaddingMask ? tf.cast(tf.notEqual(keyPaddingMask, 0), 'float32') : tf.ones([this.batch, n])) as Tensor2D;
      old.forEach((t) => t.dispose());
    }
    this.len += n;
  }

  /** Forget every token (the buffers are kept for reuse). */
  reset(): void {
    this.len = 0;
    this.masked = false;
    if (this.host) this.host.mask.fill(1);
    else {
      this.mask.dispose();
      this.mask = tf.keep(tf.ones([this.batch, this.capacity]));
    }
  }

  /** Release the buffers. */
  dispose(): void {
    this.k.dispose();
    this.v.dispose();
    this.mask.dispose();
  }
}
