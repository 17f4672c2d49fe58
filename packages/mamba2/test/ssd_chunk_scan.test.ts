// ssdChunkScan: the chunked CPU kernel against the sequential reference, forward and backward,
// on awkward sizes and every option; chunk-size independence; splitting with states; bad input.
import { initBackend, takeWebgpuErrors, tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { backendsUnderTest } from '@falcon/tensor/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setSsdForm, ssdChunkScan, ssdChunkScanReference } from '../src/index.js';
import type { SsdChunkScanOptions, SsdForm } from '../src/index.js';
import type { SsdCase, SsdFlags, SsdSizes } from './helpers.js';
import { expectNear, ssdCase, ssdOptions, weightedSum } from './helpers.js';

// Forward tolerance: the reference runs the recurrence in float32 (every op rounds at 2^-24 ≈ 6e-8
// relative) over seqlen ≤ 16 steps with sums of ≤ 5 terms; the kernel works in float64 and rounds
// once. The discrepancy is a few float32 roundings, ~1e-7 of the output's scale (measured); 1e-5
// (elementwise relative, and relative to max|y| for elements near zero) keeps a 100× margin and
// still catches any wrong term, which would be O(1) relative.
const FWD = 1e-5;
// Backward tolerance: autodiff of the float32 reference chains twice as many rounded ops (forward
// then backward through every step), and dA/ddtBias sum batch·seqlen·headdim·dstate terms of mixed
// sign (cancellation); measured ~2e-7 of the gradient's scale, so 3e-5.
const BWD = 3e-5;

const FLOAT_INPUTS = ['x', 'dt', 'A', 'B', 'C', 'D', 'z', 'dtBias', 'initialStates'] as const;

interface Config {
  name: string;
  sizes: SsdSizes;
  flags: SsdFlags;
  opts: SsdChunkScanOptions;
}

const CONFIGS: Config[] = [
  {
    name: 'every option, seqlen 13 with chunk 5, ngroups 2 (3 heads per group), batch 2',
    sizes: { b: 2, l: 13, h: 6, p: 3, g: 2, n: 4 },
    flags: { D: true, z: true, dtBias: true, init: true },
    opts: { dtSoftplus: true, chunkSize: 5, returnFinalStates: true },
  },
  {
    name: 'seqlen 3 shorter than one chunk (8), ngroups 1, 2 heads',
    sizes: { b: 1, l: 3, h: 2, p: 5, g: 1, n: 3 },
    flags: { D: true, dtBias: true },
    opts: { dtSoftplus: true, chunkSize: 8, returnFinalStates: true },
  },
  {
    name: 'no optional input, no softplus (raw dt), chunk 4',
    sizes: { b: 2, l: 9, h: 4, p: 2, g: 4, n: 2 },
    flags: {},
    opts: { chunkSize: 4 },
  },
  {
    name: 'dtLimit [0.2, 0.9] with softplus and dtBias, z without D',
    sizes: { b: 2, l: 11, h: 4, p: 3, g: 2, n: 5 },
    flags: { z: true, dtBias: true, init: true },
    opts: { dtSoftplus: true, dtLimit: [0.2, 0.9], chunkSize: 3, returnFinalStates: true },
  },
  {
    name: 'seqIdx (boundaries at 1, 5 (a chunk start) and 10), initial states, chunk 5',
    sizes: { b: 2, l: 14, h: 4, p: 3, g: 2, n: 4 },
    flags: { D: true, z: true, dtBias: true, init: true, seqIdx: true },
    opts: { dtSoftplus: true, chunkSize: 5, returnFinalStates: true },
  },
];

function run(fn: typeof ssdChunkScan, c: SsdCase, opts: SsdChunkScanOptions): Tensor[] {
  const r = fn(c.x, c.dt, c.A, c.B, c.C, { ...ssdOptions(c), ...opts });
  return r.finalStates ? [r.y, r.finalStates] : [r.y];
}

/** The gradients of every float input of `c` (of a weighted sum of the outputs) against autodiff of the reference, within BWD. */
async function expectGradientsMatch(c: SsdCase, opts: SsdChunkScanOptions, seed: number): Promise<void> {
  const names = FLOAT_INPUTS.filter((k) => c[k] !== undefined);
  const loss = (fn: typeof ssdChunkScan) => (...ts: Tensor[]) => {
    const cc: SsdCase = { ...c };
    names.forEach((k, i) => (cc[k] = ts[i]));
    return weightedSum(run(fn, cc, opts), seed);
  };
  const xs = names.map((k) => c[k] as Tensor);
  const got = tf.grads(loss(ssdChunkScan))(xs);
  const want = tf.grads(loss(ssdChunkScanReference))(xs);
  for (const [i, k] of names.entries()) await expectNear(got[i], want[i], BWD, `d${k}`);
}

// Every form: the backend's kernel, the chunked form in matrix products differentiated by
// autodiff, and the kernel forward with that backward recomputed (float32 throughout; the same
// tolerances hold for all).
// On webgpu the matmul form's dt gradient differentiates reverse cumsums over two axis lengths
// (chunkSize and chunk count + 1): it tests @falcon/tensor's corrected webgpu Cumsum as well.
const FORMS = backendsUnderTest().flatMap((backend) => (['kernel', 'matmul', 'recompute'] as const).map((form) => [backend, form] as const));

describe.each(FORMS)('ssdChunkScan on %s, form %s', (backend, form) => {
  let previousForm: SsdForm;
  beforeAll(async () => {
    await initBackend(backend);
    previousForm = setSsdForm(form);
  });
  afterAll(() => {
    setSsdForm(previousForm);
  });
  afterEach(async () => {
    // a WGSL compile or validation error makes a webgpu kernel return zeros instead of throwing
    expect(await takeWebgpuErrors()).toEqual([]);
  });

  it.each(CONFIGS)('forward matches the sequential reference: $name', async ({ sizes, flags, opts }) => {
    {
      const c = ssdCase(11, sizes, flags);
      const got = run(ssdChunkScan, c, opts);
      const want = run(ssdChunkScanReference, c, opts);
      expect(got.length).toBe(want.length);
      await expectNear(got[0], want[0], FWD, 'y');
      if (got[1]) await expectNear(got[1], want[1], FWD, 'finalStates');
    }
  });

  it.each(CONFIGS)('gradients of every input match autodiff of the reference: $name', async ({ sizes, flags, opts }) => {
    await expectGradientsMatch(ssdCase(23, sizes, flags), opts, 5);
  });

  it('gradients of every input without final states, seqIdx and a clamp (the recompute form proper)', async () => {
    const c = ssdCase(29, { b: 2, l: 14, h: 4, p: 3, g: 2, n: 4 }, { D: true, z: true, dtBias: true, init: true, seqIdx: true });
    await expectGradientsMatch(c, { dtSoftplus: true, dtLimit: [0.05, 3], chunkSize: 5 }, 7);
  });

  it('does not depend on chunkSize (1, 4, 7, 16, 256)', async () => {
    {
      const c = ssdCase(31, { b: 2, l: 16, h: 4, p: 3, g: 2, n: 4 }, { D: true, z: true, dtBias: true, init: true, seqIdx: true });
      const base = run(ssdChunkScan, c, { dtSoftplus: true, chunkSize: 1, returnFinalStates: true });
      for (const chunkSize of [4, 7, 16, 256]) {
        const o = run(ssdChunkScan, c, { dtSoftplus: true, chunkSize, returnFinalStates: true });
        // both float64 inside, rounded once to float32: only summation order differs
        await expectNear(o[0], base[0], 1e-5, `y (chunk ${chunkSize})`);
        await expectNear(o[1], base[1], 1e-5, `finalStates (chunk ${chunkSize})`);
      }
    }
  });

  it('splitting the sequence with initial/final states equals one pass, forward and backward', async () => {
    {
      const s = { b: 2, l: 17, h: 4, p: 3, g: 2, n: 4 };
      const c = ssdCase(41, s, { D: true, z: true, dtBias: true, init: true });
      const opts = { dtSoftplus: true, chunkSize: 4, returnFinalStates: true };
      const whole = (x: Tensor, B: Tensor, init: Tensor) => run(ssdChunkScan, { ...c, x, B, initialStates: init }, opts);
      const split = (x: Tensor, B: Tensor, init: Tensor) => {
        const cut = 7;
        const part = (t: Tensor | undefined, from: number, len: number) =>
          t && tf.slice(t, [0, from], [t.shape[0], len]);
        const piece = (from: number, len: number, st: Tensor) =>
          ssdChunkScan(part(x, from, len)!, part(c.dt, from, len)!, c.A, part(B, from, len)!, part(c.C, from, len)!, {
            ...opts,
            D: c.D,
            dtBias: c.dtBias,
            z: part(c.z, from, len),
            initialStates: st,
          });
        const a = piece(0, cut, init);
        const b = piece(cut, s.l - cut, a.finalStates!);
        return [tf.concat([a.y, b.y], 1), b.finalStates!];
      };
      const one = whole(c.x, c.B, c.initialStates!);
      const two = split(c.x, c.B, c.initialStates!);
      await expectNear(two[0], one[0], 1e-5, 'y'); // float64 inside both; the split rounds the carried state to float32 once
      await expectNear(two[1], one[1], 1e-5, 'finalStates');
      const g1 = tf.grads((x: Tensor, B: Tensor, i: Tensor) => weightedSum(whole(x, B, i), 3))([c.x, c.B, c.initialStates!]);
      const g2 = tf.grads((x: Tensor, B: Tensor, i: Tensor) => weightedSum(split(x, B, i), 3))([c.x, c.B, c.initialStates!]);
      for (const [i, n] of ['dx', 'dB', 'dinitialStates'].entries()) await expectNear(g2[i], g1[i], 1e-5, n);
    }
  });

  it('returns no finalStates unless asked, and leaks no tensor', async () => {
    const c = ssdCase(51, { b: 1, l: 5, h: 2, p: 2, g: 1, n: 2 });
    const before = tf.memory().numTensors;
    const r = ssdChunkScan(c.x, c.dt, c.A, c.B, c.C, { chunkSize: 2 });
    expect(r.finalStates).toBeUndefined();
    expect(tf.memory().numTensors).toBe(before + 1);
    await r.y.data(); // (on webgpu, disposing unread outputs then takeWebgpuErrors trips a bug of the backend's queue flush)
    r.y.dispose();
  });

  it('rejects bad input with a clear error before any kernel runs', () => {
    const s = { b: 2, l: 6, h: 4, p: 3, g: 2, n: 5 };
    const c = ssdCase(61, s, { D: true });
    const call = (over: Partial<SsdCase>, opts: SsdChunkScanOptions = {}) => () => {
      const cc = { ...c, ...over };
      ssdChunkScan(cc.x, cc.dt, cc.A, cc.B, cc.C, { ...ssdOptions(cc), ...opts });
    };
    expect(call({ B: tf.zeros([2, 6, 3, 5]), C: tf.zeros([2, 6, 3, 5]) })).toThrow(/ssdChunkScan: nheads \(4\) must be divisible by ngroups \(3\)/);
    expect(call({ C: tf.zeros([2, 6, 2, 4]) })).toThrow(/ssdChunkScan: argument 'C' must have shape \[batch, seqlen, ngroups, dstate\] = \[2, 6, 2, 5\], got \[2, 6, 2, 4\] \(dstate is 4, expected 5\)/);
    expect(call({ dt: tf.zeros([2, 5, 4]) })).toThrow(/ssdChunkScan: argument 'dt' .*\(seqlen is 5, expected 6\)/);
    expect(call({ x: tf.zeros([2, 6, 4]) })).toThrow(/ssdChunkScan: argument 'x' must have rank 4 \[batch, seqlen, nheads, headdim\], got shape \[2, 6, 4\]/);
    expect(call({ A: tf.zeros([4], 'int32') })).toThrow(/ssdChunkScan: argument 'A' must be float32, got int32/);
    expect(call({ D: tf.zeros([3]) })).toThrow(/ssdChunkScan: argument 'D' .*\(nheads is 3, expected 4\)/);
    expect(call({ initialStates: tf.zeros([2, 4, 3, 4]) })).toThrow(/ssdChunkScan: argument 'initialStates' .*\(dstate is 4, expected 5\)/);
    expect(call({ seqIdx: tf.zeros([2, 6]) })).toThrow(/ssdChunkScan: argument 'seqIdx' must be int32, got float32/);
    expect(call({}, { chunkSize: 0 })).toThrow(/ssdChunkScan: chunkSize must be a positive integer, got 0/);
    expect(call({}, { chunkSize: 2.5 })).toThrow(/ssdChunkScan: chunkSize must be a positive integer, got 2.5/);
    expect(call({}, { dtLimit: [1, 0.5] })).toThrow(/ssdChunkScan: dtLimit must be \[min, max\] with 0 <= min <= max, got \[1, 0.5\]/);
  });
});
