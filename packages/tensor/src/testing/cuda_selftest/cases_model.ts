/**
 * Self-test cases for matrix products (shapes, transposes, batch broadcasting, fused bias and
 * activation, TF32 and exact float32) and for the Falcon-H1-shaped composites: their forward
 * values and their gradients through `tf.grads`, and one AdamW step, against the cpu backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../random.js';
import { composites } from './composites.js';
import type { Case, CaseResult, HostTensor } from './harness.js';
import { checkAgainstCpu, intHost, randomHost, uniformHost, vsCpu, withPrecision } from './harness.js';

function exact(c: Case): Case {
  return { ...c, name: `${c.name} (f32)`, run: () => withPrecision('f32', c.run) };
}

/** The matrix-product cases. */
export function matmulCases(): Case[] {
  const rng = new Rng(777);
  const cases: Case[] = [];
  const mm = (ta: boolean, tb: boolean) => (a: tf.Tensor, b: tf.Tensor) => tf.matMul(a, b, ta, tb);
  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    const sa = ta ? [33, 17] : [17, 33];
    const sb = tb ? [9, 33] : [33, 9];
    cases.push(exact(vsCpu('matmul', `[17,33]·[33,9] transposeA=${ta} transposeB=${tb}`, () => [uniformHost(sa, rng), uniformHost(sb, rng)], mm(ta, tb), 1e-5)));
  }
  cases.push(exact(vsCpu('matmul', 'batched [3,17,33]·[3,33,9]', () => [uniformHost([3, 17, 33], rng), uniformHost([3, 33, 9], rng)], mm(false, false), 1e-5)));
  cases.push(exact(vsCpu('matmul', 'broadcast batch [1,5,8]·[4,8,6]', () => [uniformHost([1, 5, 8], rng), uniformHost([4, 8, 6], rng)], mm(false, false), 1e-5)));
  cases.push(exact(vsCpu('matmul', 'broadcast batch [2,3,5,8]·[8,6], transposeB', () => [uniformHost([2, 3, 5, 8], rng), uniformHost([6, 8], rng)], mm(false, true), 1e-5)));
  // tfjs-backend-cpu maps broadcast batches by modulo, which is wrong for [2,1]×[1,3]; compare with explicit tiles there.
  cases.push(
    exact(
      vsCpu('matmul', 'general broadcast [2,1,4,5]·[1,3,5,2]', () => [uniformHost([2, 1, 4, 5], rng), uniformHost([1, 3, 5, 2], rng)], (a, b) => {
        if (tf.getBackend() === 'cpu') return tf.matMul(tf.tile(a, [1, 3, 1, 1]), tf.tile(b, [2, 1, 1, 1]));
        return tf.matMul(a, b);
      }, 1e-5),
    ),
  );
  cases.push(exact(vsCpu('matmul', 'large odd [300,517]·[517,259]', () => [uniformHost([300, 517], rng), uniformHost([517, 259], rng)], mm(false, false), 1e-5)));
  cases.push(vsCpu('matmul', 'large odd [300,517]·[517,259] (tf32)', () => [uniformHost([300, 517], rng), uniformHost([517, 259], rng)], mm(false, false), 5e-3));
  cases.push(vsCpu('matmul', 'int32 [4,6]·[6,3]', () => [intHost([4, 6], rng, -9, 9), intHost([6, 3], rng, -9, 9)], mm(false, false), 0));
  cases.push(vsCpu('matmul', 'empty: k=0, m=0', () => [uniformHost([3, 0], rng), uniformHost([0, 4], rng), uniformHost([0, 5], rng), uniformHost([5, 2], rng)], (a, b, c, d) => [tf.matMul(a, b), tf.matMul(c, d)], 0));
  cases.push(
    exact(
      vsCpu('matmul', 'fused matMul + bias + relu / leakyrelu', () => [uniformHost([7, 10], rng), uniformHost([10, 6], rng), uniformHost([6], rng)], (a, b, bias) => [
        tf.fused.matMul({ a, b, bias, activation: 'relu' }),
        tf.fused.matMul({ a, b: tf.transpose(b), transposeB: true, bias, activation: 'leakyrelu', leakyreluAlpha: 0.3 }),
      ], 1e-5),
    ),
  );
  return cases;
}

function compositeCase(index: number, tol: number, precision: 'tf32' | 'f32'): Case {
  const c = composites()[index];
  const name = `${c.name} forward+grads${precision === 'tf32' ? ' (tf32)' : ''}`;
  return {
    group: 'grads',
    name,
    run: () =>
      withPrecision(precision, () => {
        const rng = new Rng(99 + index);
        const specs = Object.values(c.inputs);
        const inputs = specs.map((s) => randomHost(s, rng));
        const diff = specs.map((s, i) => ((s.dtype ?? 'float32') === 'float32' && s.grad !== false ? i : -1)).filter((i) => i >= 0);
        const fn = (...xs: tf.Tensor[]) => {
          const f = (...g: tf.Tensor[]) => c.fn(...xs.map((x, i) => (diff.includes(i) ? g[diff.indexOf(i)] : x)));
          const { value, grads } = tf.valueAndGrads(f)(diff.map((i) => xs[i]));
          return [value, ...grads];
        };
        return checkAgainstCpu('grads', name, inputs, fn, tol);
      }),
  };
}

/** One AdamW step (tf.train.adam + decoupled decay) on a small linear model, on both backends. */
function adamwCase(): Case {
  const name = 'AdamW: 3 steps of tf.train.adam + weight decay';
  return {
    group: 'grads',
    name,
    run: () =>
      withPrecision('f32', async () => {
        const rng = new Rng(5);
        const init: HostTensor[] = [uniformHost([6, 4], rng), uniformHost([9, 6], rng), uniformHost([9, 4], rng)];
        const fn = (w0: tf.Tensor, x: tf.Tensor, y: tf.Tensor) => {
          const w = tf.variable(w0.clone(), true);
          const opt = tf.train.adam(0.05, 0.9, 0.95, 1e-8);
          for (let s = 0; s < 3; s++) {
            tf.tidy(() => {
              const { grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(tf.matMul(x, w), y))) as tf.Scalar, [w]);
              w.assign(tf.mul(w, 1 - 0.05 * 0.1));
              opt.applyGradients(grads as never);
            });
          }
          const out = w.clone();
          opt.dispose();
          w.dispose();
          return out;
        };
        return checkAgainstCpu('grads', name, init, fn, 1e-5);
      }),
  };
}

/** The composites (forward and gradients) and the AdamW step. */
export function modelCases(): Case[] {
  const n = composites().length;
  const cases: Case[] = [];
  for (let i = 0; i < n; i++) cases.push(compositeCase(i, 1e-4, 'f32'));
  for (let i = 0; i < n; i++) cases.push(compositeCase(i, 2e-2, 'tf32'));
  cases.push(adamwCase());
  return cases;
}

/** ‖C − C64‖ / ‖C64‖ of an [n,n]·[n,n] product against a float64 host reference, in each precision. */
export async function matmulPrecisionErrors(n = 512): Promise<CaseResult[]> {
  const rng = new Rng(31337);
  const a = uniformHost([n, n], rng),
    b = uniformHost([n, n], rng);
  const ref = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a.values[i * n + k];
      for (let j = 0; j < n; j++) ref[i * n + j] += aik * b.values[k * n + j];
    }
  }
  const out: CaseResult[] = [];
  // bf16: both operands rounded to 8 significant bits, ~2.1e-3 for uniform inputs (≈ 2⁻⁹; 3e-3 leaves margin).
  for (const [p, tol] of [['tf32', 2e-3], ['bf16', 3e-3], ['f32', 1e-5]] as const) {
    const got = await withPrecision(p, async () => {
      await tf.setBackend('cuda');
      const ta = tf.tensor(a.values, a.shape),
        tb = tf.tensor(b.values, b.shape);
      const c = tf.matMul(ta, tb);
      const v = await c.data();
      tf.dispose([ta, tb, c]);
      return v;
    });
    let num = 0,
      den = 0;
    for (let i = 0; i < ref.length; i++) {
      num += (got[i] - ref[i]) ** 2;
      den += ref[i] ** 2;
    }
    const err = Math.sqrt(num / den);
    out.push({ group: 'matmul', name: `[${n}]³ vs float64 reference, ${p}`, ok: err <= tol, err, tol });
  }
  return out;
}
