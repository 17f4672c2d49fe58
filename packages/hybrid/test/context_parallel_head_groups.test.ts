// The context-parallel Mamba-2 cores with heads spread over their groups unevenly (a routed
// tensor-parallel rank's view: `SsdMixerTerms.headGroups`), on a CP group of one (no
// communication: the rank's two chunks are the whole sequence, the second chunk's initial state and
// its correction `exp(cum)·(C·S_init)` come from the first): both modes give the conv + SSD of each
// run of heads scanned with its own group's B and C, forward and every gradient; a bad map is
// refused by name, and so is an all-to-all split the CP size does not divide in the composed model.
import { describe, expect, it } from 'vitest';
import { causalConv1d, ssdChunkScan } from '@falcon/mamba2';
import { ProcessGroup } from '@falcon/parallel';
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { allToAllScan, ComposedFalconH1, statePassingScan } from '../src/index.js';
import type { SsdMixerTerms } from '../src/index.js';
import { groups2 } from './tp/cases.js';

/** A group object of `size` ranks without an engine (this process is `rank`); any collective on it throws. */
const groupOf = (size: number, rank = 0, name = `hg-test-${size}`) => new ProcessGroup(name, Array.from({ length: size }, (_, i) => i), rank, 'gloo', 1000);

/** max |a − b| / max(max |b|, 1e-3) over one tensor (the floor keeps near-zero gradients from dominating). */
function relErr(a: Tensor, b: Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  let d = 0;
  let s = 1e-3;
  for (let i = 0; i < y.length; i++) {
    d = Math.max(d, Math.abs(x[i] - y[i]));
    s = Math.max(s, Math.abs(y[i]));
  }
  return d / s;
}

const P = 3; // head dim
const N = 4; // state dim
const K = 4; // conv width
const Q = 4; // SSD chunk size (does not divide the chunk length 5)

/** The runs `[head0, heads, group]` of a non-decreasing head-to-group map. */
function runsOf(map: number[]): Array<[number, number, number]> {
  const runs: Array<[number, number, number]> = [];
  map.forEach((j, i) => (runs.length && runs[runs.length - 1][2] === j ? runs[runs.length - 1][1]++ : runs.push([i, 1, j])));
  return runs;
}

/** Reference: the conv over the whole sequence, then each run of heads scanned with its one group (as the tensor-parallel shard does). */
function reference(xBC: Tensor, dt: Tensor, W: Tensor, bias: Tensor, dtBias: Tensor, aLog: Tensor, D: Tensor, map: number[], g: number): Tensor {
  const [b, l] = xBC.shape;
  const h = map.length;
  const conv = causalConv1d(xBC, W, { bias, silu: true }).y;
  const [x, B, C] = tf.split(conv, [h * P, g * N, g * N], -1);
  const X = tf.reshape(x, [b, l, h, P]);
  const Bg = tf.reshape(B, [b, l, g, N]);
  const Cg = tf.reshape(C, [b, l, g, N]);
  const A = tf.neg(tf.exp(aLog));
  const ys = runsOf(map).map(([h0, n, j]) => {
    const heads = (t: Tensor, axis: number) => tf.slice(t, t.shape.map((_, i) => (i === axis ? h0 : 0)), t.shape.map((s, i) => (i === axis ? n : s)));
    const grp = (t: Tensor) => tf.slice(t, [0, 0, j, 0], [b, l, 1, N]);
    return ssdChunkScan(heads(X, 2), heads(dt, 2), heads(A, 0), grp(Bg), grp(Cg), { D: heads(D, 0), dtBias: heads(dtBias, 0), dtSoftplus: true, chunkSize: Q }).y;
  });
  return ys.length === 1 ? ys[0] : tf.concat(ys, 2);
}

/** The mixer terms of `map` over g groups with these parameters. */
function terms(map: number[] | undefined, h: number, g: number, params: Record<string, Tensor>): SsdMixerTerms {
  const dSsm = h * P;
  return { nHeads: h, headDim: P, nGroups: g, dState: N, dConv: K, dSsm, convDim: dSsm + 2 * g * N, chunkSize: Q, timeStepLimit: [0, Infinity], parameters: () => params, headGroups: map };
}

describe('context-parallel Mamba-2 cores with an uneven head-to-group map (group of one)', () => {
  // 5 heads over 2 groups 2 + 3 (each head's B/C gathered); 4 heads over 3 groups 1 + 2 + 1; 2 heads
  // both of group 1 of 2 (a slice of one group, not the first)
  const maps: Array<[number[], number]> = [
    [[0, 0, 1, 1, 1], 2],
    [[0, 1, 1, 2], 3],
    [[1, 1], 2],
  ];
  for (const mode of ['state-passing', 'all-to-all'] as const) {
    for (const [map, g] of maps) {
      it(`${mode}: heads → groups [${map}] of ${g}, loss and every gradient equal the per-run scan`, () => {
        const h = map.length;
        const b = 2;
        const l = 10; // two chunks of 5 on the one rank
        const convDim = h * P + 2 * g * N;
        const u = (shape: number[], seed: number, lo = -1, hi = 1) => tf.randomUniform(shape, lo, hi, 'float32', seed);
        const args = [u([b, l, convDim], 1), u([b, l, h], 2), u([convDim, K], 3, -0.5, 0.5), u([convDim], 4, -0.3, 0.3), u([h], 5, -1, 0.5), u([h], 6, -1, 1), u([h], 7)];
        const R = u([b, l, h, P], 8);
        const core = (xs: Tensor[]) => {
          const [xBC, dt, W, bias, dtBias, aLog, D] = xs;
          const params = { 'conv1d.weight': tf.reshape(W, [convDim, 1, K]), 'conv1d.bias': bias, dt_bias: dtBias, A_log: aLog, D };
          const scan = mode === 'all-to-all' ? allToAllScan : statePassingScan;
          return scan(xBC, dt, terms(map, h, g, params), groupOf(1), l);
        };
        const ref = (xs: Tensor[]) => reference(xs[0], xs[1], xs[2], xs[3], xs[4], xs[5], xs[6], map, g);
        const loss = (f: (xs: Tensor[]) => Tensor) => (...xs: Tensor[]) => tf.sum(tf.mul(f(xs), R));
        tf.tidy(() => {
          const got = core(args);
          const want = ref(args);
          expect(got.shape).toEqual([b, l, h, P]);
          // float32: the state correction and the per-head B/C sum in another order than one scan (~1e-7 seen)
          expect(relErr(got, want)).toBeLessThan(1e-5);
          const gGot = tf.grads(loss(core))(args);
          const gWant = tf.grads(loss(ref))(args);
          // same float32 re-association in the backward (~1e-6 seen); names: xBC, dt, conv weight, conv bias, dt_bias, A_log, D
          gWant.forEach((w, i) => expect(relErr(gGot[i], w), ['xBC', 'dt', 'conv1d.weight', 'conv1d.bias', 'dt_bias', 'A_log', 'D'][i]).toBeLessThan(1e-5));
        });
        tf.dispose([...args, R]);
      });
    }
  }

  it('the even map is the default, and a bad map is refused by name', () => {
    const h = 4;
    const g = 2;
    const convDim = h * P + 2 * g * N;
    const params = { 'conv1d.weight': tf.zeros([convDim, 1, K]), dt_bias: tf.zeros([h]), A_log: tf.zeros([h]), D: tf.zeros([h]) };
    const xBC = tf.zeros([1, 8, convDim]);
    const dt = tf.zeros([1, 8, h]);
    // the default and the explicit even map give the same outputs
    const a = statePassingScan(xBC, dt, terms(undefined, h, g, params), groupOf(1), 8);
    const e = statePassingScan(xBC, dt, terms([0, 0, 1, 1], h, g, params), groupOf(1), 8);
    expect(relErr(a, e)).toBe(0);
    expect(() => statePassingScan(xBC, dt, terms([0, 1, 1], h, g, params), groupOf(1), 8)).toThrow(/state passing.*head-to-group map \[0,1,1\] must give each of the 4 heads a group in \[0, 2\)/);
    expect(() => allToAllScan(xBC, dt, terms([0, 1, 2, 2], h, g, params), groupOf(1), 8)).toThrow(/all-to-all mode.*must give each of the 4 heads a group in \[0, 2\)/);
    tf.dispose([a, e, xBC, dt, ...Object.values(params)]);
  });
});

describe('the composed model under CP with a routed split', () => {
  // TP2 × CP2 on rank 0 (groups without an engine: the refusals come before any collective)
  const groups = () => ({ tp: groupOf(2, 0, 'tp'), cp: groupOf(2, 0, 'cp'), pp: groupOf(1, 0, 'pp'), dp: groupOf(1, 0, 'dp') });
  const split = [
    { attention: [3, 3], mamba: [1, 5] },
    { attention: [3, 3], mamba: [2, 4] },
  ];
  it('refuses the all-to-all mode when a TP rank holds a head count the CP size does not divide', () => {
    expect(() => new ComposedFalconH1(groups2(false, true), groups(), { splits: split, mambaMode: 'all-to-all' })).toThrow(/all-to-all mode\): layer 0 puts 1 Mamba-2 heads on TP rank 0, which must be divisible by the CP size 2; use the state-passing mode/);
  });
  it('refuses an unknown Mamba-2 mode', () => {
    expect(() => new ComposedFalconH1(groups2(false, true), groups(), { splits: split, mambaMode: 'ring' as never })).toThrow(/mambaMode must be 'state-passing' or 'all-to-all', got 'ring'/);
  });
});
