/**
 * `KVCache`: the keys and values of past tokens for decoding, in preallocated buffers
 * `[batch, capacity, nKvHeads, headDim]` plus a length. `append` writes the new rows in place
 * with {@link kvCacheWrite} (cpu, webgpu and cuda: O(new tokens) work, no copy of the cache); a
 * backend without that kernel rebuilds the buffers with slices and a concat. Overflow is a clear error.
 */
import { tf } from '@falcon/tensor';
import type { Tensor, Tensor2D, Tensor4D } from '@falcon/tensor';
import { kvCacheWrite, kvCacheWriteOp } from './kv_cache_write.js';
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
 * disposed by `tf.tidy`); call {@link KVCache.dispose} when done. They are updated in place by
 * {@link KVCache.append} (a handle taken earlier sees the appended rows, beyond the length it was
 * used with, which decodeAttention ignores); appends are not differentiable.
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
  private readonly backendName: string;
  private readonly writesInPlace: boolean;

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
    this.writesInPlace = (kvCacheWriteOp.backends as readonly string[]).includes(this.backendName);
    // tf.fill runs a kernel: the buffers are the backend's own data (device memory without a host
    // copy on GPU backends), which kvCacheWrite may change in place
    this.k = tf.keep(tf.fill([batch, capacity, nKvHeads, headDim], 0));
    this.v = tf.keep(tf.fill([batch, capacity, nKvHeads, headDim], 0));
    this.mask = tf.keep(tf.fill([batch, capacity], 1));
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

  /** Whether {@link KVCache.append} writes in place (a backend with a {@link kvCacheWrite} kernel) rather than rebuilding the buffers. */
  get inPlace(): boolean {
    return this.writesInPlace;
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
    const maskValues = keyPaddingMask && this.backendName === 'cpu' ? keyPaddingMask.dataSync() : undefined;
    if (keyPaddingMask && (!maskValues || maskValues.some((x) => x === 0))) this.masked = true;
    const len = this.len;
    // the handles stay the same: in place the new rows land in their data; otherwise the buffer is rebuilt
    const write = <T extends Tensor>(buf: T, x: Tensor): T => {
      if (this.writesInPlace) {
        tf.tidy(() => kvCacheWrite(buf, x, len)); // the result is a second handle of buf's data
        return buf;
      }
      const next = tf.tidy(() => {
        const rest = dims(buf).slice(2);
        const parts: Tensor[] = [];
        if (len > 0) parts.push(tf.slice(buf, [0, 0, ...rest.map(() => 0)], [this.batch, len, ...rest]));
        parts.push(x);
        if (len + n < this.capacity) parts.push(tf.slice(buf, [0, len + n, ...rest.map(() => 0)], [this.batch, this.capacity - len - n, ...rest]));
        return tf.keep(parts.length === 1 ? tf.clone(parts[0]) : tf.concat(parts, 1));
      });
      buf.dispose();
      return next as T;
    };
    this.k = write(this.k, k);
    this.v = write(this.v, v);
    // rows at and beyond the length always hold mask 1 (filled so, never written): only a given mask is written
    if (keyPaddingMask) this.mask = tf.tidy(() => write(this.mask, tf.cast(tf.notEqual(keyPaddingMask, 0), 'float32')));
    this.len += n;
  }

  /** Forget every token (the buffers are kept for reuse). */
  reset(): void {
    this.len = 0;
    this.masked = false;
    this.mask.dispose();
    this.mask = tf.keep(tf.fill([this.batch, this.capacity], 1));
  }

  /** Release the buffers. */
  dispose(): void {
    this.k.dispose();
    this.v.dispose();
    this.mask.dispose();
  }
}
