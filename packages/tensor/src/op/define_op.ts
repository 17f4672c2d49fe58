/**
 * `defineOp`: the one way an `@falcon` package declares an op. An op has a name, required and
 * optional tensor inputs, attributes, named outputs, one kernel per backend and a gradient.
 * defineOp registers the kernels and the gradient with tfjs (so tfjs autodiff and optimizers see
 * the op like any built-in) and returns the typed function users call.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from '../backends/types.js';
import { BACKEND_NAMES } from '../backends/types.js';

/** Tensors given to a kernel or a validator: required inputs always present, optional ones maybe. */
export type OpInputs<I extends string, O extends string> = { [K in I]: tf.Tensor } & { [K in O]?: tf.Tensor };

/** What a kernel receives. */
export interface KernelArgs<I extends string, O extends string, A> {
  /** The op's inputs (absent optional inputs are `undefined`). */
  inputs: OpInputs<I, O>;
  /** The op's attributes, as given by the caller. */
  attrs: A;
  /** The tfjs backend running the kernel. */
  backend: tf.KernelBackend;
}

/** A kernel: computes every declared output, keyed by output name. */
export type OpKernel<I extends string, O extends string, A, Out extends string> = (
  args: KernelArgs<I, O, A>,
) => Record<Out, tf.TensorInfo>;

/** What a gradient function receives. */
export interface GradArgs<I extends string, O extends string, A, Out extends string> {
  /** Gradient of the loss with respect to each output (zeros where an output was unused). */
  dy: Record<Out, tf.Tensor>;
  /** The op's inputs, as in the forward call. */
  inputs: OpInputs<I, O>;
  /** The op's outputs of the forward call. */
  outputs: Record<Out, tf.Tensor>;
  /** The op's attributes. */
  attrs: A;
}

/** A gradient: returns the gradient of every differentiable input (missing ones are taken as zero). */
export type OpGrad<I extends string, O extends string, A, Out extends string> = (
  args: GradArgs<I, O, A, Out>,
) => Partial<Record<I | O, tf.Tensor>>;

/** The declaration of an op. */
export interface OpSpec<I extends string, O extends string, A, Out extends string> {
  /** Unique kernel name, e.g. `'FalconSsdChunkScan'`. */
  name: string;
  /** Required tensor inputs, in order. */
  inputs: readonly I[];
  /** Optional tensor inputs. */
  optionalInputs?: readonly O[];
  /** Output names, in order. */
  outputs: readonly Out[];
  /** Checks shapes, dtypes and attributes; throws a clear error before any kernel runs. */
  validate?: (inputs: OpInputs<I, O>, attrs: A) => void;
  /** One kernel per backend. */
  kernels: Partial<Record<BackendName, OpKernel<I, O, A, Out>>>;
  /** The gradient (itself built from ops with kernels); without it the op is not differentiable. */
  grad?: OpGrad<I, O, A, Out>;
}

/** The function defineOp returns: runs the op on the active backend. */
export interface Op<I extends string, O extends string, A, Out extends string> {
  (inputs: OpInputs<I, O>, attrs: A): Record<Out, tf.Tensor>;
  /** The op's kernel name. */
  readonly opName: string;
  /** The backends this op has kernels for. */
  readonly backends: readonly BackendName[];
  /** Add (or replace) the kernel of one backend, e.g. from a package's CUDA addon loader. */
  addKernel(backend: BackendName, kernel: OpKernel<I, O, A, Out>): void;
}

/**
 * Placeholders stand for absent optional inputs inside tfjs (whose kernels take fixed inputs). They are
 * recognised by data id, which the clones tfjs saves for the gradient share with the original.
 */
const placeholders = new WeakSet<object>();

/** Thrown when an op is called on a backend it has no kernel for. */
export class MissingKernelError extends Error {
  /**
   * @param op - the op's name
   * @param backend - the active backend
   * @param available - the backends the op has kernels for
   */
  constructor(
    readonly op: string,
    readonly backend: string,
    readonly available: readonly string[],
  ) {
    super(`op '${op}' has no kernel for backend '${backend}' (it has kernels for: ${available.join(', ') || 'none'})`);
    this.name = 'MissingKernelError';
  }
}

/**
 * Declare an op once and get the typed function that runs it.
 *
 * @example
 * ```ts
 * const square = defineOp({
 *   name: 'MySquare', inputs: ['x'], outputs: ['y'],
 *   kernels: { cpu: compositeKernel(({ x }) => ({ y: tf.square(x) })) },
 *   grad: ({ dy, inputs }) => ({ x: tf.mul(dy.y, tf.mul(2, inputs.x)) }),
 * });
 * const { y } = square({ x }, {});
 * ```
 */
export function defineOp<I extends string, O extends string = never, A extends object = Record<string, never>, Out extends string = 'y'>(
  spec: OpSpec<I, O, A, Out>,
): Op<I, O, A, Out> {
  const optional = spec.optionalInputs ?? [];
  const allInputs: readonly string[] = [...spec.inputs, ...optional];
  const kernelBackends = new Set<BackendName>();

  const unwrap = (named: Record<string, tf.Tensor>): OpInputs<I, O> => {
    const out: Record<string, tf.Tensor | undefined> = {};
    for (const k of allInputs) out[k] = placeholders.has(named[k].dataId) ? undefined : named[k];
    return out as OpInputs<I, O>;
  };

  const addKernel = (backend: BackendName, kernel: OpKernel<I, O, A, Out>) => {
    if (!BACKEND_NAMES.includes(backend)) throw new Error(`defineOp(${spec.name}): unknown backend '${backend}'`);
    if (tf.getKernel(spec.name, backend)) tf.unregisterKernel(spec.name, backend);
    tf.registerKernel({
      kernelName: spec.name,
      backendName: backend,
      kernelFunc: ({ inputs, attrs, backend: b }) => {
        const res = kernel({ inputs: unwrap(inputs as Record<string, tf.Tensor>), attrs: attrs as unknown as A, backend: b as tf.KernelBackend });
        return spec.outputs.map((o) => {
          if (!res[o]) throw new Error(`op '${spec.name}': the ${backend} kernel did not return output '${o}'`);
          return res[o];
        });
      },
    });
    kernelBackends.add(backend);
  };
  for (const [b, k] of Object.entries(spec.kernels) as [BackendName, OpKernel<I, O, A, Out>][]) addKernel(b, k);

  if (spec.grad) {
    const grad = spec.grad;
    if (tf.getGradient(spec.name)) tf.unregisterGradient(spec.name);
    tf.registerGradient({
      kernelName: spec.name,
      inputsToSave: [...allInputs],
      outputsToSave: spec.outputs.map(() => true),
      gradFunc: (dys, saved, attrs) => {
        const dyList = Array.isArray(dys) ? dys : [dys];
        const dy = Object.fromEntries(spec.outputs.map((o, i) => [o, dyList[i]])) as Record<Out, tf.Tensor>;
        const savedInputs = Object.fromEntries(allInputs.map((k, i) => [k, saved[i]])) as Record<string, tf.Tensor>;
        const outputs = Object.fromEntries(spec.outputs.map((o, i) => [o, saved[allInputs.length + i]])) as Record<Out, tf.Tensor>;
        const inputs = unwrap(savedInputs);
        const grads = grad({ dy, inputs, outputs, attrs: attrs as unknown as A }) as Record<string, tf.Tensor | undefined>;
        const result: Record<string, () => tf.Tensor> = {};
        for (const k of allInputs) {
          const x = savedInputs[k];
          const g = grads[k];
          if (g && !tf.util.arraysEqual(g.shape, x.shape)) {
            throw new Error(`op '${spec.name}': gradient of '${k}' has shape [${g.shape}], expected [${x.shape}]`);
          }
          result[k] = () => g ?? tf.zeros(x.shape, 'float32');
        }
        return result;
      },
    });
  }

  const run = (inputs: OpInputs<I, O>, attrs: A): Record<Out, tf.Tensor> => {
    const given = inputs as Record<string, tf.Tensor | undefined>;
    for (const k of spec.inputs) {
      if (!(given[k] instanceof tf.Tensor)) throw new Error(`op '${spec.name}': input '${k}' is required and must be a tensor`);
    }
    for (const k of optional) {
      if (given[k] !== undefined && !(given[k] instanceof tf.Tensor)) throw new Error(`op '${spec.name}': input '${k}' must be a tensor or undefined`);
    }
    for (const k of Object.keys(given)) {
      if (!allInputs.includes(k) && given[k] !== undefined) throw new Error(`op '${spec.name}': unknown input '${k}' (inputs: ${allInputs.join(', ')})`);
    }
    spec.validate?.(inputs, attrs);
    const backend = tf.getBackend();
    if (!tf.getKernel(spec.name, backend)) throw new MissingKernelError(spec.name, backend, [...kernelBackends]);
    const outs = tf.tidy(() => {
      const named: Record<string, tf.Tensor> = {};
      for (const k of allInputs) {
        let t = given[k];
        if (t === undefined) {
          t = tf.zeros([0]);
          placeholders.add(t.dataId);
        }
        named[k] = t;
      }
      const r = tf.engine().runKernel(spec.name, named, attrs as unknown as tf.NamedAttrMap);
      return (Array.isArray(r) ? r : [r]) as tf.Tensor[];
    });
    return Object.fromEntries(spec.outputs.map((o, i) => [o, outs[i]])) as Record<Out, tf.Tensor>;
  };

  return Object.assign(run, {
    opName: spec.name,
    get backends() {
      return [...kernelBackends];
    },
    addKernel,
  }) as Op<I, O, A, Out>;
}
