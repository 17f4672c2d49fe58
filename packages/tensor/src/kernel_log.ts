/**
 * `recordKernels`: the names of the tfjs kernels a synchronous function dispatches, in order, as
 * the engine runs them (registered kernels only: a `customGrad` scope is not a kernel, the kernels
 * it runs are), for counting the host dispatches of a step (issue 17: host cost per kernel).
 */
import { tf } from './tf.js';

type KernelEngine = { runKernelFunc: (params: { kernelName?: string }) => unknown };

/** What {@link recordKernels} returns. */
export interface KernelLog<T> {
  /** `f`'s result. */
  result: T;
  /** The kernel names in dispatch order. */
  kernels: string[];
}

/**
 * Run `f` and record every registered kernel the tfjs engine dispatches meanwhile (nested
 * recordings see the same kernels; `mark` can split a log into parts: it returns the current count).
 * @param f - synchronous work; receives `mark()`, the number of kernels recorded so far
 * @returns f's result and the kernel names
 */
export function recordKernels<T>(f: (mark: () => number) => T): KernelLog<T> {
  const engine = tf.engine() as unknown as KernelEngine;
  const kernels: string[] = [];
  const own = Object.prototype.hasOwnProperty.call(engine, 'runKernelFunc');
  const inner = engine.runKernelFunc;
  engine.runKernelFunc = function (this: KernelEngine, params) {
    if (params.kernelName !== undefined) kernels.push(params.kernelName);
    return inner.call(this, params);
  };
  try {
    return { result: f(() => kernels.length), kernels };
  } finally {
    if (own) engine.runKernelFunc = inner;
    else delete (engine as Partial<KernelEngine>).runKernelFunc;
  }
}
