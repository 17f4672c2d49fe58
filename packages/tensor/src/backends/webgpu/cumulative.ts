/**
 * Corrected webgpu kernels for tfjs's `Cumsum` and `Cumprod` with `reverse: true`.
 *
 * The tfjs bug (tfjs-backend-webgpu 4.22, `cum_webgpu.ts`): `CumProgram` writes the length of the
 * scanned axis into its WGSL as a constant only when `reverse` is set (`end + pow2 < length`, or
 * `end != length − 1` for the exclusive shift), but its shader key is
 * `cum_<op>_<exclusive>_<reverse>` plus the ranks and dtypes, not that length. The backend caches
 * compiled pipelines by that key, so once one reverse cumulative sum (or product) has run, every
 * later one of the same rank and dtype whose scanned axis (moved last) has another length reuses
 * the first one's shader: e.g. `cumsum(x [3, 5], 1, false, true)` after `cumsum(y [2, 3], 1,
 * false, true)` stops the scan at 3 and returns wrong sums. The forward scan's WGSL
 * (`end >= pow2`, `end != 0`) does not depend on the length, so it is right at every shape.
 *
 * This bit every gradient of a forward `cumsum` (its gradient is the reverse cumsum of dy), e.g.
 * the dt gradient of the matmul SSD form, which differentiates cumsums over two axis lengths.
 * The fix: a reverse scan runs as reverse → forward scan → reverse (tfjs's `Reverse` kernel takes
 * its axes and shape as uniforms, so its shader is right at every shape).
 */
import * as tf from '@tensorflow/tfjs-core';

/** The attributes of tfjs's Cumsum and Cumprod kernels. */
interface CumAttrs {
  axis: number;
  exclusive: boolean;
  reverse: boolean;
}

/** The kernel functions this file registered (so that registering twice wraps tfjs's kernels once). */
const ours = new WeakSet<tf.KernelFunc>();

/** `kernel` (tfjs's webgpu Cumsum or Cumprod) with a reverse scan computed through forward scans. */
function forwardOnly(kernel: tf.KernelFunc): tf.KernelFunc {
  const fixed: tf.KernelFunc = (args) => {
    const { axis, exclusive, reverse } = args.attrs as unknown as CumAttrs;
    if (!reverse) return kernel(args);
    const backend = args.backend as tf.KernelBackend;
    const flip = (x: tf.TensorInfo) => {
      const reverseKernel = tf.getKernel(tf.Reverse, 'webgpu');
      if (!reverseKernel) throw new Error("webgpu: tfjs's Reverse kernel is not registered (needed by the corrected reverse Cumsum/Cumprod)");
      return reverseKernel.kernelFunc({ inputs: { x }, backend, attrs: { dims: [axis] } }) as tf.TensorInfo;
    };
    const x = flip(args.inputs.x as tf.TensorInfo);
    const scanned = kernel({ ...args, inputs: { x }, attrs: { axis, exclusive, reverse: false } }) as tf.TensorInfo;
    backend.disposeData(x.dataId);
    const out = flip(scanned);
    backend.disposeData(scanned.dataId);
    return out;
  };
  ours.add(fixed);
  return fixed;
}

/**
 * Replace the webgpu `Cumsum` and `Cumprod` kernels of tfjs-backend-webgpu (registered when it is
 * imported) by the corrected ones of this file. Idempotent. @internal
 */
export function registerWebgpuCumulativeFix(): void {
  for (const kernelName of [tf.Cumsum, tf.Cumprod]) {
    const k = tf.getKernel(kernelName, 'webgpu');
    if (!k || ours.has(k.kernelFunc)) continue;
    tf.unregisterKernel(kernelName, 'webgpu');
    tf.registerKernel({ ...k, kernelFunc: forwardOnly(k.kernelFunc) });
  }
}
