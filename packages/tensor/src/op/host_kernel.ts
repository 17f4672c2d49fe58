/**
 * Helpers that turn plain functions into kernels for {@link defineOp}:
 * - {@link compositeKernel}: a kernel written with tfjs ops (runs on any backend; references use it),
 * - {@link hostKernel}: a kernel over typed arrays on the host (fast CPU kernels use it).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelArgs, OpInputs, OpKernel } from './define_op.js';

/**
 * A kernel computed with tfjs ops. Ops called inside a kernel are not recorded for autodiff;
 * intermediate tensors are disposed.
 *
 * @param fn - maps the inputs (tensors) and attributes to the outputs
 */
export function compositeKernel<I extends string, O extends string, A, Out extends string>(
  fn: (inputs: OpInputs<I, O>, attrs: A) => Record<Out, tf.Tensor>,
): OpKernel<I, O, A, Out> {
  return ({ inputs, attrs }: KernelArgs<I, O, A>) => tf.tidy(() => fn(inputs, attrs));
}

/** A tensor's data on the host. */
export interface HostTensor {
  /** Row-major values. */
  values: Float32Array | Int32Array | Uint8Array;
  /** The tensor's shape. */
  shape: number[];
  /** The tensor's tfjs dtype. */
  dtype: tf.DataType;
}

/** The inputs of a host kernel: required inputs present, optional ones maybe. */
export type HostInputs<I extends string, O extends string> = { [K in I]: HostTensor } & { [K in O]?: HostTensor };

/**
 * A kernel over typed arrays on the host: reads every input synchronously from the backend and
 * uploads the outputs. On the cpu backend no copy is made for reading.
 *
 * @param fn - maps host inputs and attributes to host outputs (new arrays; inputs must not be modified)
 */
export function hostKernel<I extends string, O extends string, A, Out extends string>(
  fn: (inputs: HostInputs<I, O>, attrs: A) => Record<Out, HostTensor>,
): OpKernel<I, O, A, Out> {
  return ({ inputs, attrs, backend }: KernelArgs<I, O, A>) => {
    const host: Record<string, HostTensor | undefined> = {};
    for (const [k, t] of Object.entries(inputs) as [string, tf.Tensor | undefined][]) {
      host[k] = t && { values: backend.readSync(t.dataId) as HostTensor['values'], shape: t.shape, dtype: t.dtype };
    }
    const out = fn(host as HostInputs<I, O>, attrs);
    const res: Record<string, tf.TensorInfo> = {};
    for (const [k, o] of Object.entries(out) as [string, HostTensor][]) {
      res[k] = { dataId: backend.write(o.values as tf.TypedArray, o.shape, o.dtype), shape: o.shape, dtype: o.dtype };
    }
    return res as Record<Out, tf.TensorInfo>;
  };
}
