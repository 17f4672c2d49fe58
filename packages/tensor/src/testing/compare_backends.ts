/**
 * Backend comparison of an op: the same seeded inputs on a reference backend (cpu) and a target
 * backend (e.g. cuda), the outputs and the gradients of `Σ output·dy` (random `dy`) with respect
 * to chosen inputs compared by {@link relativeError}. The CUDA device runner runs every package's
 * cases through it (`tools/device/op-tests.ts`); the cases live in each package's `test/cuda/`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../random.js';
import { relativeError } from './relative_error.js';

/** One op on one set of input shapes. */
export interface OpCase {
  /** The op and its sizes, e.g. `'ssdChunkScan b2 l67 h3 p5 n7 chunk16'`. */
  name: string;
  /** Builds the inputs on the active backend; must be seeded (the same values on every backend). */
  inputs: () => Record<string, tf.Tensor>;
  /** Runs the op on the inputs; returns its outputs by name. */
  run: (inputs: Record<string, tf.Tensor>) => Record<string, tf.Tensor>;
  /** Inputs to differentiate through the op's registered gradient (its backward kernels). */
  grads?: string[];
  /** Largest relative error accepted for each float32 output (int32 outputs must be equal). */
  tol: number;
  /** Largest relative error accepted for each gradient (default `tol`). */
  gradTol?: number;
  /**
   * The target backend's matrix-product precision while the case runs (a backend with a
   * `matmulPrecision` property, i.e. `cuda`; default: as the runner set it), e.g. `'bf16'` to test
   * the tensor-core paths of a kernel against the float64-accumulating cpu reference.
   */
  precision?: 'tf32' | 'bf16' | 'f32';
}

/** What {@link compareBackends} found. */
export interface OpCaseResult {
  /** The case's name. */
  name: string;
  /** Relative error of each output. */
  outputs: Record<string, number>;
  /** Relative error of each gradient. */
  grads: Record<string, number>;
  /** Every error within its tolerance. */
  ok: boolean;
  /** Milliseconds on the target backend (forward + backward, first call, synchronised). */
  targetMs: number;
  /** The target's error message when it threw. */
  error?: string;
}

interface Run {
  outputs: Record<string, Float32Array | Int32Array | Uint8Array>;
  grads: Record<string, Float32Array>;
}

/** Runs `f` with the active backend's `matmulPrecision` set to `precision` (when both exist). */
async function withPrecision<T>(precision: OpCase['precision'], f: () => Promise<T>): Promise<T> {
  const b = tf.backend() as unknown as { matmulPrecision?: string };
  if (!precision || b.matmulPrecision === undefined) return f();
  const before = b.matmulPrecision;
  b.matmulPrecision = precision;
  try {
    return await f();
  } finally {
    b.matmulPrecision = before;
  }
}

async function runOn(backend: string, c: OpCase): Promise<Run> {
  await tf.setBackend(backend);
  return withPrecision(c.precision, () => runCase(c));
}

async function runCase(c: OpCase): Promise<Run> {
  const outputs: Run['outputs'] = {};
  const grads: Run['grads'] = {};
  const xs = c.inputs();
  try {
    const ys = c.run(xs);
    for (const [k, y] of Object.entries(ys)) outputs[k] = (await y.data()) as Float32Array | Int32Array | Uint8Array;
    const names = c.grads ?? [];
    if (names.length) {
      const rng = new Rng(7);
      const dys: Record<string, tf.Tensor> = {};
      for (const [k, y] of Object.entries(ys)) {
        if (y.dtype !== 'float32') continue;
        const v = new Float32Array(y.size);
        for (let i = 0; i < v.length; i++) v[i] = rng.normal();
        dys[k] = tf.tensor(v, y.shape, 'float32');
      }
      const f = (...args: tf.Tensor[]): tf.Tensor => {
        const ins = { ...xs };
        names.forEach((n, i) => (ins[n] = args[i]));
        const out = c.run(ins);
        let total = tf.scalar(0);
        for (const [k, dy] of Object.entries(dys)) total = tf.add(total, tf.sum(tf.mul(out[k], dy)));
        return total;
      };
      const gs = tf.grads(f)(names.map((n) => xs[n]));
      for (let i = 0; i < names.length; i++) grads[names[i]] = (await gs[i].data()) as Float32Array;
      tf.dispose([gs, Object.values(dys)]);
    }
    tf.dispose(Object.values(ys));
  } finally {
    tf.dispose(Object.values(xs));
  }
  return { outputs, grads };
}

/**
 * Runs `c` on `reference` and on `target` and compares outputs and gradients.
 *
 * @param c - the case
 * @param reference - the backend taken as truth (default `'cpu'`)
 * @param target - the backend under test (default `'cuda'`)
 * @returns the errors; `error` holds the message if the target (or the reference) threw
 */
export async function compareBackends(c: OpCase, reference = 'cpu', target = 'cuda'): Promise<OpCaseResult> {
  const res: OpCaseResult = { name: c.name, outputs: {}, grads: {}, ok: false, targetMs: 0 };
  try {
    const want = await runOn(reference, c);
    const t0 = performance.now();
    const got = await runOn(target, c);
    res.targetMs = performance.now() - t0;
    let ok = true;
    for (const [k, w] of Object.entries(want.outputs)) {
      const g = got.outputs[k];
      if (!g) throw new Error(`output '${k}' missing on ${target}`);
      const exact = !(w instanceof Float32Array);
      const e = exact ? (w.every((v, i) => v === g[i]) && w.length === g.length ? 0 : 1) : relativeError(g, w);
      res.outputs[k] = e;
      if (!(e <= (exact ? 0 : c.tol))) ok = false;
    }
    for (const [k, w] of Object.entries(want.grads)) {
      const e = relativeError(got.grads[k], w);
      res.grads[k] = e;
      if (!(e <= (c.gradTol ?? c.tol))) ok = false;
    }
    res.ok = ok;
  } catch (e) {
    res.error = (e as Error).message;
  }
  await tf.setBackend(reference);
  return res;
}

/**
 * Checks that a case is well formed by running it on `backend` against itself: it must build its
 * inputs, run, produce outputs, give a gradient for each name in `grads` and pass its own
 * tolerances. Used by each package's CI test of its CUDA cases (which run on a GPU only).
 *
 * @param c - the case
 * @param backend - where to run it (default `'cpu'`)
 * @returns a description of what is wrong, or `undefined` when nothing is
 */
export async function checkOpCase(c: OpCase, backend = 'cpu'): Promise<string | undefined> {
  const r = await compareBackends(c, backend, backend);
  if (r.error) return `threw: ${r.error}`;
  if (!Object.keys(r.outputs).length) return 'returned no outputs';
  const want = (c.grads ?? []).join(',');
  const got = Object.keys(r.grads).join(',');
  if (want !== got) return `gradients [${got}], expected [${want}]`;
  if (!r.ok) return `fails its own tolerances against itself: ${JSON.stringify(r)}`;
  return undefined;
}
