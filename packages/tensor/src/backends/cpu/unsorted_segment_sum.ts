/**
 * A linear-time cpu kernel for tfjs's `UnsortedSegmentSum` (the gradient of `gather`, hence of every
 * embedding lookup), replacing tfjs-backend-cpu's, which compares every segment id with every
 * segment number (O(numSegments · n)): a 32k-token vocabulary made embedding gradients take seconds.
 * Semantics are tfjs's: out[s, ...] = Σ_{i: ids[i] = s} x[i, ...]; ids outside [0, numSegments) are dropped.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

/** Register the kernel for the cpu backend (idempotent). @internal */
export function registerFastUnsortedSegmentSum(): void {
  if (tf.getKernel('UnsortedSegmentSum', 'cpu')) tf.unregisterKernel('UnsortedSegmentSum', 'cpu');
  tf.registerKernel({
    kernelName: 'UnsortedSegmentSum',
    backendName: 'cpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      const numSegments = (attrs as { numSegments: number }).numSegments;
      const b = backend as tf.KernelBackend;
      const xv = b.readSync(x.dataId) as Float32Array | Int32Array;
      const ids = b.readSync(segmentIds.dataId) as Int32Array | Float32Array;
      const n = ids.length;
      const inner = n === 0 ? 0 : xv.length / n;
      const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
      const out = x.dtype === 'int32' ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
      for (let i = 0; i < n; i++) {
        const s = ids[i];
        if (s < 0 || s >= numSegments) continue;
        const o = s * inner;
        const src = i * inner;
        for (let j = 0; j < inner; j++) out[o + j] += xv[src + j];
      }
      return { dataId: b.write(out, outShape, x.dtype), shape: outShape, dtype: x.dtype };
    },
  });
}
