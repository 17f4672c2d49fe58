/**
 * The CUDA self-test's harness: seeded host inputs, running one function on the cpu and the cuda
 * backends with the same inputs, and comparing the results (shape, dtype, NaN/Inf positions,
 * ‖cuda − cpu‖ / ‖cpu‖ for floats, exact equality for int32 and bool).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CudaBackend, MatmulPrecision } from '../../backends/cuda/backend.js';
import { Rng } from '../../random.js';
import type { Composite, InputSpec } from './composites.js';

/** A tensor's values on the host. */
export interface HostTensor {
  /** Row-major values. */
  values: Float32Array | Int32Array | Uint8Array;
  /** Shape. */
  shape: number[];
  /** dtype. */
  dtype: 'float32' | 'int32' | 'bool';
}

/** One row of the self-test's report. */
export interface CaseResult {
  /** Kernel family or check group. */
  group: string;
  /** What was checked. */
  name: string;
  /** Whether it passed. */
  ok: boolean;
  /** ‖cuda − cpu‖ / ‖cpu‖ over all outputs (floats), or mismatching elements (ints). */
  err: number;
  /** The tolerance `err` was held to. */
  tol: number;
  /** Failure message or extra information. */
  note?: string;
}

/** Host values drawn for one input spec. */
export function randomHost(spec: InputSpec, rng: Rng): HostTensor {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const dtype = spec.dtype ?? 'float32';
  if (dtype === 'int32') {
    const v = new Int32Array(n);
    for (let i = 0; i < n; i++) v[i] = rng.int(spec.high ?? 10);
    return { values: v, shape: spec.shape, dtype };
  }
  if (dtype === 'bool') {
    const v = new Uint8Array(n);
    for (let i = 0; i < n; i++) v[i] = rng.uniform() < 0.5 ? 1 : 0;
    return { values: v, shape: spec.shape, dtype };
  }
  const v = new Float32Array(n);
  const s = spec.scale ?? 1;
  for (let i = 0; i < n; i++) v[i] = (2 * rng.uniform() - 1) * s;
  return { values: v, shape: spec.shape, dtype };
}

/** Uniform float32 host values in [lo, hi). */
export function uniformHost(shape: number[], rng: Rng, lo = -1, hi = 1): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = lo + (hi - lo) * rng.uniform();
  return { values: v, shape, dtype: 'float32' };
}

/** Integer host values in [lo, hi). */
export function intHost(shape: number[], rng: Rng, lo: number, hi: number): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Int32Array(n);
  for (let i = 0; i < n; i++) v[i] = lo + rng.int(hi - lo);
  return { values: v, shape, dtype: 'int32' };
}

/** Random booleans. */
export function boolHost(shape: number[], rng: Rng): HostTensor {
  return randomHost({ shape, dtype: 'bool' }, rng);
}

/** Tensors (on the active backend) for a composite's inputs, drawn with `seed`. */
export function makeInputs(c: Composite, seed: number): tf.Tensor[] {
  const rng = new Rng(seed);
  return Object.values(c.inputs).map((s) => {
    const h = randomHost(s, rng);
    return tf.tensor(h.values, h.shape, h.dtype);
  });
}

type Fn = (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[];

/** Runs `fn` on `backend` with tensors made from `inputs`; returns its outputs on the host. */
export async function runOn(backend: string, inputs: HostTensor[], fn: Fn): Promise<HostTensor[]> {
  await tf.setBackend(backend);
  const xs = inputs.map((h) => tf.tensor(h.values, h.shape, h.dtype));
  let outs: tf.Tensor[];
  try {
    outs = tf.tidy(() => {
      const r = fn(...xs);
      return Array.isArray(r) ? r : [r];
    });
  } finally {
    tf.dispose(xs);
  }
  const res: HostTensor[] = [];
  for (const o of outs) res.push({ values: (await o.data()) as HostTensor['values'], shape: o.shape, dtype: o.dtype as HostTensor['dtype'] });
  tf.dispose(outs);
  return res;
}

/** Compares outputs; returns the error measure and a failure note, if any. */
export function compare(got: HostTensor[], want: HostTensor[], tol: number): { err: number; note?: string } {
  if (got.length !== want.length) return { err: Infinity, note: `${got.length} outputs, expected ${want.length}` };
  let num = 0,
    den = 0,
    mism = 0;
  for (let o = 0; o < got.length; o++) {
    const g = got[o],
      w = want[o];
    if (g.dtype !== w.dtype) return { err: Infinity, note: `output ${o}: dtype ${g.dtype}, expected ${w.dtype}` };
    if (g.shape.join(',') !== w.shape.join(',')) return { err: Infinity, note: `output ${o}: shape [${g.shape}], expected [${w.shape}]` };
    for (let i = 0; i < w.values.length; i++) {
      const a = g.values[i],
        b = w.values[i];
      if (w.dtype !== 'float32') {
        if (a !== b) mism++;
        continue;
      }
      if (Number.isNaN(b) || !Number.isFinite(b)) {
        if (!Object.is(a, b) && !(Number.isNaN(a) && Number.isNaN(b))) return { err: Infinity, note: `output ${o}[${i}]: ${a}, expected ${b}` };
        continue;
      }
      if (!Number.isFinite(a)) return { err: Infinity, note: `output ${o}[${i}]: ${a}, expected ${b}` };
      num += (a - b) ** 2;
      den += b * b;
    }
  }
  if (mism) return { err: mism, note: `${mism} elements differ` };
  const err = den > 0 ? Math.sqrt(num / den) : Math.sqrt(num);
  return err <= tol ? { err } : { err, note: `error ${err.toExponential(2)} > ${tol}` };
}

/** Runs `fn` on cpu and cuda with the same inputs and compares. */
export async function checkAgainstCpu(group: string, name: string, inputs: HostTensor[], fn: Fn, tol = 1e-5): Promise<CaseResult> {
  let want: HostTensor[];
  try {
    want = await runOn('cpu', inputs, fn);
  } catch (e) {
    return { group, name, ok: false, err: Infinity, tol, note: `cpu failed: ${(e as Error).message}` };
  }
  try {
    const got = await runOn('cuda', inputs, fn);
    const { err, note } = compare(got, want, tol);
    return { group, name, ok: note === undefined, err, tol, note };
  } catch (e) {
    return { group, name, ok: false, err: Infinity, tol, note: `cuda failed: ${(e as Error).message.split('\n')[0]}` };
  }
}

/** A named check that produces one row of the report. */
export interface Case {
  /** Group shown in the report. */
  group: string;
  /** Name shown in the report. */
  name: string;
  /** Runs the check. */
  run: () => Promise<CaseResult>;
}

/** A case comparing `fn` on cpu and cuda. */
export function vsCpu(group: string, name: string, inputs: () => HostTensor[], fn: Fn, tol = 1e-5): Case {
  return { group, name, run: () => checkAgainstCpu(group, name, inputs(), fn, tol) };
}

/** Runs `f` with the cuda backend's matmul precision set to `p` (restored afterwards); just `f` without a cuda backend. */
export async function withPrecision<T>(p: MatmulPrecision, f: () => Promise<T>): Promise<T> {
  const b = tf.findBackend('cuda') as CudaBackend | null;
  if (!b) return f();
  const old = b.matmulPrecision;
  b.matmulPrecision = p;
  try {
    return await f();
  } finally {
    b.matmulPrecision = old;
  }
}
