/**
 * Self-test cases for the cuda backend's bf16 matrix products (`matmulPrecision` 'bf16'):
 * BatchMatMul and _FusedMatMul, values and gradients, on sizes that are not multiples of 8,
 * transposes and broadcast batches, against a float64 host reference computed from the
 * bf16-rounded inputs; int32 products staying exact; and 'bf16' differing from 'f32' by bf16's
 * rounding, so that a product that silently stays TF32 or f32 fails.
 *
 * Tolerance of the reference cases, 1e-5·√K relative (K: the length of the sums behind an output):
 * a product of two bf16 values is exact in float32 (8 + 8 significant bits ≤ 24), so only the
 * float32 accumulation differs from the float64 reference, ~2⁻²⁴·√K typically and ≤ ~K·2⁻²⁴ with
 * truncating tensor-core adders (both below 1e-5·√K for K ≤ 2·10⁴). Operands not rounded to bf16
 * (TF32 or f32 products) are off by bf16's rounding, ~2·10⁻³, far above 1e-5·√K for these K.
 */
import * as tf from '@tensorflow/tfjs-core';
import { bf16ToF32, f32ToBf16 } from '../../dtype.js';
import { Rng } from '../../random.js';
import type { Case, CaseResult, HostTensor } from './harness.js';
import { intHost, uniformHost, vsCpu, withPrecision } from './harness.js';

const GROUP = 'matmul bf16';

/** The float32 values rounded to bf16 (nearest even), as float64. */
function rounded(h: HostTensor): Float64Array {
  return Float64Array.from(bf16ToF32(f32ToBf16(h.values as Float32Array)));
}

/** Flat index into batch shape `inner` (right-aligned, size-1 dims broadcast) of flat index `q` of batch shape `outer`. */
function batchIndex(q: number, outer: number[], inner: number[]): number {
  let idx = 0,
    stride = 1;
  for (let d = 1; d <= inner.length; d++) {
    const od = outer[outer.length - d];
    const coord = Math.floor(q / outer.slice(outer.length - d + 1).reduce((x, y) => x * y, 1)) % od;
    idx += (inner[inner.length - d] === 1 ? 0 : coord) * stride;
    stride *= inner[inner.length - d];
  }
  return idx;
}

interface Reference {
  y: Float64Array;
  da: Float64Array;
  db: Float64Array;
  dbias: Float64Array;
  /** Lengths of the sums behind y, da, db, dbias. */
  k: [number, number, number, number];
}

/**
 * float64 `y = op(a)·op(b) + bias` (before any activation) and, for the cotangent of y, the
 * gradients of a and b (summed over their broadcast batch dims) from `w` (the cotangent as the
 * products see it, bf16-rounded) and of the bias ([n]) from `wBias` (the cotangent as summed: the
 * bias gradient is a float32 sum, not a product, so nothing rounds it).
 */
function reference(a: Float64Array, sa: number[], b: Float64Array, sb: number[], ta: boolean, tb: boolean, w: Float64Array, wBias: ArrayLike<number>, bias?: Float64Array): Reference {
  const m = ta ? sa[sa.length - 1] : sa[sa.length - 2];
  const k = ta ? sa[sa.length - 2] : sa[sa.length - 1];
  const n = tb ? sb[sb.length - 2] : sb[sb.length - 1];
  const ba = sa.slice(0, -2),
    bb = sb.slice(0, -2);
  const out = tf.backend_util.assertAndGetBroadcastShape(ba, bb);
  const nq = out.reduce((x, y) => x * y, 1);
  const y = new Float64Array(nq * m * n),
    da = new Float64Array(a.length),
    db = new Float64Array(b.length),
    dbias = new Float64Array(n);
  const ai = (i: number, p: number) => (ta ? p * m + i : i * k + p);
  const bi = (p: number, j: number) => (tb ? j * k + p : p * n + j);
  for (let q = 0; q < nq; q++) {
    const oa = batchIndex(q, out, ba) * m * k,
      ob = batchIndex(q, out, bb) * k * n,
      oy = q * m * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = bias ? bias[j] : 0;
        const g = w[oy + i * n + j];
        dbias[j] += wBias[oy + i * n + j];
        for (let p = 0; p < k; p++) {
          s += a[oa + ai(i, p)] * b[ob + bi(p, j)];
          da[oa + ai(i, p)] += g * b[ob + bi(p, j)];
          db[ob + bi(p, j)] += a[oa + ai(i, p)] * g;
        }
        y[oy + i * n + j] = s;
      }
    }
  }
  const size = (s: number[]) => s.reduce((x, z) => x * z, 1);
  return { y, da, db, dbias, k: [k, (n * nq) / size(ba), (m * nq) / size(bb), m * nq] };
}

/** ‖got − want‖ / ‖want‖. */
function relErr(got: ArrayLike<number>, want: Float64Array): number {
  let num = 0,
    den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i] - want[i]) ** 2;
    den += want[i] ** 2;
  }
  return den > 0 ? Math.sqrt(num / den) : Math.sqrt(num);
}

type Activation = 'linear' | 'relu' | 'leakyrelu' | 'elu' | 'sigmoid';
const ACT: Record<Activation, (x: number) => number> = {
  linear: (x) => x,
  relu: (x) => Math.max(x, 0),
  leakyrelu: (x) => (x < 0 ? 0.3 * x : x),
  elu: (x) => (x >= 0 ? x : Math.expm1(x)),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
};

interface Spec {
  a: number[];
  b: number[];
  ta: boolean;
  tb: boolean;
  /** _FusedMatMul with a bias [n] and this activation; BatchMatMul when absent. */
  fused?: Activation;
  /** Also check the gradients (BatchMatMul, or a linear fused product). */
  grads: boolean;
}

/** One product under 'bf16' on cuda against the float64 reference of its bf16-rounded inputs. */
function bf16Case(s: Spec, seed: number): Case {
  if (s.grads && s.fused && s.fused !== 'linear') throw new Error(`bf16Case: gradients are checked for linear fused products only, got '${s.fused}'`);
  const kind = s.fused ? `_FusedMatMul +bias ${s.fused}` : 'BatchMatMul';
  const name = `${kind} [${s.a}]·[${s.b}] transposeA=${s.ta} transposeB=${s.tb}${s.grads ? ' +grads' : ''} (bf16) vs float64 of bf16 inputs`;
  return {
    group: GROUP,
    name,
    run: async (): Promise<CaseResult> => {
      const rng = new Rng(seed);
      const ha = uniformHost(s.a, rng),
        hb = uniformHost(s.b, rng);
      const n = s.tb ? s.b[s.b.length - 2] : s.b[s.b.length - 1];
      const hbias = uniformHost([n], rng);
      const yShape = [...tf.backend_util.assertAndGetBroadcastShape(s.a.slice(0, -2), s.b.slice(0, -2)), s.ta ? s.a[s.a.length - 1] : s.a[s.a.length - 2], n];
      const hw = uniformHost(yShape, rng);
      const product = (a: tf.Tensor, b: tf.Tensor, bias: tf.Tensor) =>
        s.fused ? tf.fused.matMul({ a, b, transposeA: s.ta, transposeB: s.tb, bias, activation: s.fused, leakyreluAlpha: 0.3 }) : tf.matMul(a, b, s.ta, s.tb);
      let got: Float32Array[];
      try {
        got = await withPrecision('bf16', async () => {
          await tf.setBackend('cuda');
          const xs = [tf.tensor(ha.values, ha.shape), tf.tensor(hb.values, hb.shape), tf.tensor(hbias.values, hbias.shape), tf.tensor(hw.values, hw.shape)];
          const outs = tf.tidy(() => {
            const [a, b, bias, w] = xs;
            const y = product(a, b, bias);
            if (!s.grads) return [y];
            const loss = (...v: tf.Tensor[]) => tf.sum(tf.mul(product(v[0], v[1], v[2] ?? bias), w));
            return [y, ...tf.grads(loss)(s.fused ? [a, b, bias] : [a, b])];
          });
          const vals = await Promise.all(outs.map((o) => o.data() as Promise<Float32Array>));
          tf.dispose([...xs, ...outs]);
          return vals;
        });
      } catch (e) {
        return { group: GROUP, name, ok: false, err: Infinity, tol: 0, note: `cuda failed: ${(e as Error).message.split('\n')[0]}` };
      }
      const r = reference(rounded(ha), s.a, rounded(hb), s.b, s.ta, s.tb, rounded(hw), hw.values, s.fused ? Float64Array.from(hbias.values) : undefined);
      const act = ACT[s.fused ?? 'linear'];
      const wants = [r.y.map(act), r.da, r.db, r.dbias].slice(0, got.length);
      const errs = wants.map((want, o) => relErr(got[o], want));
      const tols = wants.map((_, o) => 1e-5 * Math.sqrt(r.k[o])); // float32 accumulation of exact bf16 products (see the file's comment)
      const w = errs.reduce((best, e, o) => (e / tols[o] > errs[best] / tols[best] ? o : best), 0);
      const bad = errs.findIndex((e, o) => !(e <= tols[o]));
      const note = bad < 0 ? undefined : `${['y', 'dA', 'dB', 'dBias'][bad]}: error ${errs[bad].toExponential(2)} > ${tols[bad].toExponential(2)}`;
      return { group: GROUP, name, ok: note === undefined, err: errs[w], tol: tols[w], note };
    },
  };
}

/**
 * ‖C_bf16 − C_f32‖ / ‖C_f32‖ of one product of uniform inputs. Rounding both operands to bf16 (8
 * significant bits, nearest even) gives ~2.1e-3 here (~2⁻⁹; host simulation: 2.0–2.1e-3 for
 * K ≥ 61); TF32 (11 bits) gives ≤ 7e-4 even truncating, exact f32 0, bf16 by truncation ~5e-3:
 * the window [1.5e-3, 3e-3] admits only bf16 with round-to-nearest.
 */
function differsFromF32Case(): Case {
  const name = "BatchMatMul [2,129,517]·[517,259]: 'bf16' differs from 'f32' by bf16's rounding (not TF32, not f32)";
  return {
    group: GROUP,
    name,
    run: async (): Promise<CaseResult> => {
      const rng = new Rng(4242);
      const ha = uniformHost([2, 129, 517], rng),
        hb = uniformHost([517, 259], rng);
      const lo = 1.5e-3,
        hi = 3e-3;
      try {
        await tf.setBackend('cuda');
        const run = (p: 'bf16' | 'f32') =>
          withPrecision(p, async () => {
            const a = tf.tensor(ha.values, ha.shape),
              b = tf.tensor(hb.values, hb.shape);
            const c = tf.matMul(a, b);
            const v = (await c.data()) as Float32Array;
            tf.dispose([a, b, c]);
            return v;
          });
        const f32 = await run('f32');
        const bf16 = await run('bf16');
        const err = relErr(bf16, Float64Array.from(f32));
        const ok = err >= lo && err <= hi;
        return { group: GROUP, name, ok, err, tol: hi, note: ok ? undefined : `relative difference ${err.toExponential(2)} outside [${lo}, ${hi}]` };
      } catch (e) {
        return { group: GROUP, name, ok: false, err: Infinity, tol: hi, note: `cuda failed: ${(e as Error).message.split('\n')[0]}` };
      }
    },
  };
}

/** The bf16 product cases. */
export function bf16MatmulCases(): Case[] {
  const specs: Spec[] = [
    { a: [37, 61], b: [61, 23], ta: false, tb: false, grads: true },
    { a: [61, 37], b: [61, 23], ta: true, tb: false, grads: true },
    { a: [13, 129], b: [7, 129], ta: false, tb: true, grads: true },
    { a: [3, 5], b: [11, 3], ta: true, tb: true, grads: true },
    { a: [1, 1031], b: [1031, 9], ta: false, tb: false, grads: true },
    { a: [300, 517], b: [517, 259], ta: false, tb: false, grads: false },
    { a: [3, 17, 33], b: [3, 33, 9], ta: false, tb: false, grads: true },
    // Broadcast batches: values only (tfjs's BatchMatMul gradient does not sum over broadcast batch dims).
    { a: [1, 5, 9], b: [4, 9, 6], ta: false, tb: false, grads: false },
    { a: [2, 3, 5, 9], b: [7, 9], ta: false, tb: true, grads: false },
    { a: [2, 1, 4, 5], b: [1, 3, 5, 2], ta: false, tb: false, grads: false },
    { a: [2, 1, 45, 19], b: [3, 45, 21], ta: true, tb: false, grads: false },
    { a: [2, 3, 45, 19], b: [2, 3, 45, 21], ta: true, tb: false, grads: true },
    { a: [7, 10], b: [10, 6], ta: false, tb: false, fused: 'relu', grads: false },
    { a: [7, 10], b: [6, 10], ta: false, tb: true, fused: 'leakyrelu', grads: false },
    { a: [2, 19, 31], b: [19, 13], ta: true, tb: false, fused: 'elu', grads: false },
    { a: [9, 70], b: [70, 5], ta: false, tb: false, fused: 'sigmoid', grads: false },
    { a: [13, 29], b: [29, 11], ta: false, tb: false, fused: 'linear', grads: true },
    { a: [3, 29, 13], b: [3, 11, 29], ta: true, tb: true, fused: 'linear', grads: true }, // tfjs's fused gradient does not sum over broadcast batches
  ];
  const cases = specs.map((s, i) => bf16Case(s, 900 + i));
  // int32 products stay exact under 'bf16' (values up to 1000 are not all bf16 numbers: above 256 bf16 has gaps).
  const int = vsCpu(GROUP, 'int32 [5,7]·[7,3] under bf16 stays exact', () => {
    const rng = new Rng(77);
    return [intHost([5, 7], rng, -1000, 1000), intHost([7, 3], rng, -1000, 1000)];
  }, (a, b) => tf.matMul(a, b), 0);
  cases.push({ ...int, run: () => withPrecision('bf16', int.run) });
  // Non-finite operands survive the rounding: NaN, +Inf and −Inf rows as in f32 (b > 0: no Inf·0, no Inf − Inf).
  const nonFinite = vsCpu(GROUP, 'NaN, +Inf, −Inf operands under bf16 give the rows f32 gives', () => {
    const rng = new Rng(78);
    const a = uniformHost([5, 6], rng);
    [a.values[0], a.values[7], a.values[14]] = [NaN, Infinity, -Infinity];
    return [a, uniformHost([6, 4], rng, 0.5, 1)];
  }, (a, b) => tf.matMul(a, b), 1e-2); // finite rows: bf16 rounding of both operands, ~2e-3 relative from cpu's f32
  cases.push({ ...nonFinite, run: () => withPrecision('bf16', nonFinite.run) });
  cases.push(differsFromF32Case());
  return cases;
}
