/**
 * `webgpuKernel`: turns "which WGSL program computes each output" into an {@link OpKernel} for
 * `defineOp`'s `kernels.webgpu`. An op with several outputs runs one program per output; programs
 * that compute intermediates (per-row statistics...) are run with `run` and released automatically.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { KernelArgs, OpKernel } from '../define_op.js';
import type { WebgpuProgram } from './program.js';
import { runWebgpuProgram } from './program.js';

/** What the function given to {@link webgpuKernel} receives: the kernel's arguments and `run`. */
export interface WebgpuKernelArgs<I extends string, O extends string, A> extends KernelArgs<I, O, A> {
  /**
   * Run a program now and return its output, e.g. an intermediate that the output programs read.
   * Outputs of `run` are released when the kernel returns, unless returned as one of the op's outputs.
   */
  run(program: WebgpuProgram): tf.TensorInfo;
}

/**
 * A WebGPU kernel for {@link defineOp}: `plan` maps the inputs and attributes to one
 * {@link WebgpuProgram} per output (run in the order of the returned object), or to a tensor
 * already computed with `run` (e.g. a `run` output relabelled with another shape of the same
 * size: `{ ...t, shape: x.shape }`). Each output must be its own tensor.
 *
 * @example
 * ```ts
 * const scaleWebgpu = webgpuKernel<'x', never, { alpha: number }, 'y'>(({ inputs: { x }, attrs }) => {
 *   const n = tf.util.sizeFromShape(x.shape);
 *   return {
 *     y: {
 *       name: 'MyScale',
 *       inputs: { x },
 *       outputShape: x.shape,
 *       workgroupSize: [64],
 *       dispatch: Math.ceil(n / 64),
 *       uniforms: { alpha: { type: 'f32', value: attrs.alpha } },
 *       shader: `fn main(index: i32) {
 *         if (index < uniforms.size) { setOutputAtIndex(index, uniforms.alpha * x[index]); }
 *       }`,
 *     },
 *   };
 * });
 * ```
 * @param plan - maps the kernel's arguments (and `run`) to each output's program or tensor
 * @returns the kernel
 */
export function webgpuKernel<I extends string, O extends string, A, Out extends string>(
  plan: (args: WebgpuKernelArgs<I, O, A>) => Record<Out, WebgpuProgram | tf.TensorInfo>,
): OpKernel<I, O, A, Out> {
  return (args: KernelArgs<I, O, A>) => {
    const { backend } = args;
    const intermediates: tf.TensorInfo[] = [];
    const outputs: Record<string, tf.TensorInfo> = {};
    try {
      const run = (program: WebgpuProgram) => {
        const t = runWebgpuProgram(backend, program);
        intermediates.push(t);
        return t;
      };
      const planned = plan({ ...args, run }) as Record<string, WebgpuProgram | tf.TensorInfo>;
      for (const [name, p] of Object.entries(planned)) {
        outputs[name] = 'dataId' in p ? p : runWebgpuProgram(backend, p);
      }
      const ids = Object.values(outputs).map((t) => t.dataId);
      if (new Set(ids).size !== ids.length) throw new Error('webgpuKernel: two outputs share one tensor; give each output its own');
    } catch (e) {
      for (const id of new Set([...Object.values(outputs), ...intermediates].map((t) => t.dataId))) backend.disposeData(id);
      throw e;
    }
    const kept = new Set(Object.values(outputs).map((t) => t.dataId));
    for (const t of intermediates) if (!kept.has(t.dataId)) backend.disposeData(t.dataId);
    return outputs as Record<Out, tf.TensorInfo>;
  };
}
