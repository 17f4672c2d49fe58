// Mamba2Mixer: against a reference mixer written from transformers' FalconH1Mixer.torch_forward
// with the reference ops (forward and gradients of every parameter and the input), prefill + step
// == forward, pieces with a cache == one pass, the attention mask, parameters and loading, bad input.
import { initBackend, takeWebgpuErrors, tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { backendsUnderTest, randomTensor } from '@falcon/tensor/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { causalConv1dReference, gatedRmsNormReference, Mamba2Mixer, ssdChunkScanReference } from '../src/index.js';
import type { Mamba2MixerOptions } from '../src/index.js';
import { expectNear, weightedSum } from './helpers.js';

// The mixer chains in_proj, conv, scan, norm and out_proj: each stage adds ~1e-7 relative
// float32 discrepancy between the float64 kernels and the float32 references (measured ≤ 3e-7
// overall); 2e-5 for outputs and 5e-5 for gradients (which sum over batch·seqlen) keep ~100×.
const FWD = 2e-5;
const BWD = 5e-5;

// Awkward sizes: d_model 10, 4 heads of 3 in 2 groups, dstate 5, seqlen 13 with chunk 5.
const BASE: Mamba2MixerOptions = {
  dModel: 10,
  nHeads: 4,
  headDim: 3,
  nGroups: 2,
  dState: 5,
  dConv: 4,
  chunkSize: 5,
  rmsNormEps: 1e-5,
  ssmMultipliers: [1.1, 0.9, 1.2, 0.8, 1.05],
  ssmInMultiplier: 1.2,
  initializerRange: 0.3,
};

const CONFIGS: { name: string; opts: Partial<Mamba2MixerOptions> }[] = [
  { name: 'gated RMSNorm with the gate first (the fixture config)', opts: { rmsNorm: true, normBeforeGate: false } },
  { name: 'gated RMSNorm with the norm first, time_step_limit, all biases', opts: { rmsNorm: true, normBeforeGate: true, timeStepLimit: [0.05, 2], projBias: true, outProjBias: true } },
  { name: 'no RMSNorm (y·silu(z)), no conv bias', opts: { rmsNorm: false, convBias: false } },
];

/** Randomise every parameter (biases, A_log, D and dt_bias included) so each one matters. */
function randomise(m: Mamba2Mixer, seed: number): void {
  const shapes = m.parameterShapes();
  const vals: Record<string, Tensor> = {};
  Object.entries(shapes).forEach(([k, s], i) => {
    vals[k] = k === 'A_log' ? randomTensor(s, seed + i, { distribution: 'uniform', min: -1, max: 1 }) : randomTensor(s, seed + i, { std: k.endsWith('weight') && k !== 'norm.weight' ? 0.3 : 0.5, mean: k === 'norm.weight' ? 1 : 0 });
  });
  m.loadWeights(vals);
}

/** transformers' torch_forward, step by step, with the reference ops and the given parameter values. */
function referenceMixer(o: Required<Pick<Mamba2MixerOptions, keyof typeof BASE>> & Mamba2MixerOptions, p: Record<string, Tensor>, u: Tensor, mask?: Tensor): Tensor {
  const [b, l] = u.shape;
  const dSsm = o.nHeads * o.headDim;
  const gn = o.nGroups * o.dState;
  const convDim = dSsm + 2 * gn;
  const m = mask && tf.expandDims(mask, 2);
  let hs = m ? tf.mul(u, m) : u;
  hs = tf.mul(hs, o.ssmInMultiplier);
  let proj = tf.matMul(tf.reshape(hs, [b * l, o.dModel]), p['in_proj.weight'], false, true);
  if (p['in_proj.bias']) proj = tf.add(proj, p['in_proj.bias']);
  const mup = o.ssmMultipliers;
  const sizes = [dSsm, dSsm, gn, gn, o.nHeads];
  proj = tf.concat(tf.split(proj, sizes, 1).map((s, i) => tf.mul(s, mup[i])), 1);
  proj = tf.reshape(proj, [b, l, -1]);
  const [gate, xBC0, dt] = tf.split(proj, [dSsm, convDim, o.nHeads], -1);
  let xBC = causalConv1dReference(xBC0, tf.reshape(p['conv1d.weight'], [convDim, o.dConv]), { bias: p['conv1d.bias'], silu: true }).y as Tensor;
  if (m) xBC = tf.mul(xBC, m);
  const [x, B, C] = tf.split(xBC, [dSsm, gn, gn], -1);
  const A = tf.neg(tf.exp(p.A_log));
  const y = ssdChunkScanReference(tf.reshape(x, [b, l, o.nHeads, o.headDim]), dt, A, tf.reshape(B, [b, l, o.nGroups, o.dState]), tf.reshape(C, [b, l, o.nGroups, o.dState]), {
    D: p.D,
    dtBias: p.dt_bias,
    dtSoftplus: true,
    dtLimit: o.timeStepLimit,
  }).y;
  const y2 = tf.reshape(y, [b, l, dSsm]);
  const scan = o.rmsNorm
    ? gatedRmsNormReference(y2, p['norm.weight'], { z: gate, eps: o.rmsNormEps, ngroups: o.nGroups, normBeforeGate: o.normBeforeGate ?? true })
    : tf.mul(y2, tf.mul(gate, tf.sigmoid(gate)));
  let out = tf.matMul(tf.reshape(scan, [b * l, dSsm]), p['out_proj.weight'], false, true);
  if (p['out_proj.bias']) out = tf.add(out, p['out_proj.bias']);
  return tf.reshape(out, [b, l, o.dModel]);
}

describe.each(backendsUnderTest())('Mamba2Mixer on %s', (backend) => {
  const made: Mamba2Mixer[] = [];
  const mixer = (opts: Partial<Mamba2MixerOptions>, seed = 1) => {
    const m = new Mamba2Mixer({ ...BASE, ...opts, seed });
    randomise(m, seed * 100);
    made.push(m);
    return m;
  };
  beforeAll(async () => {
    await initBackend(backend);
  });
  afterEach(async () => {
    // a WGSL compile or validation error makes a webgpu kernel return zeros instead of throwing
    expect(await takeWebgpuErrors()).toEqual([]);
  });
  afterAll(() => made.forEach((m) => m.dispose()));

  it.each(CONFIGS)('forward and gradients match the reference mixer: $name', async ({ opts }) => {
    const m = mixer(opts);
    const o = { ...BASE, ...opts } as Parameters<typeof referenceMixer>[0];
    {
      const u = randomTensor([2, 13, BASE.dModel], 3);
      const got = m.forward(u).output;
      const params = m.parameters();
      const want = referenceMixer(o, params, u);
      await expectNear(got, want, FWD, 'output');
      // gradients of every parameter and of the input
      const names = Object.keys(params);
      const vg = tf.variableGrads(() => weightedSum([m.forward(u).output], 7));
      const du1 = tf.grads((uu: Tensor) => weightedSum([m.forward(uu).output], 7))([u])[0];
      const all2 = tf.grads((uu: Tensor, ...ps: Tensor[]) => {
        const pp = Object.fromEntries(names.map((k, i) => [k, ps[i]]));
        return weightedSum([referenceMixer(o, pp, uu)], 7);
      })([u, ...names.map((k) => params[k] as Tensor)]);
      await expectNear(du1, all2[0], BWD, 'du');
      for (const [i, k] of names.entries()) await expectNear(vg.grads[params[k].name], all2[i + 1], BWD, `d${k}`);
    }
  });

  it('prefill then step tokens equals forward over the whole sequence (outputs and cache)', async () => {
    const m = mixer({ rmsNorm: true, normBeforeGate: false }, 2);
    {
      const [b, l, cut] = [2, 11, 6];
      const u = randomTensor([b, l, BASE.dModel], 4);
      const whole = m.forward(u, { returnCache: true });
      const pre = m.forward(tf.slice(u, [0, 0, 0], [b, cut, BASE.dModel]), { returnCache: true });
      let cache = pre.cache!;
      const outs: Tensor[] = [pre.output];
      for (let t = cut; t < l; t++) {
        const r = t % 2 ? m.step(tf.slice(u, [0, t, 0], [b, 1, BASE.dModel]), cache) : m.step(tf.reshape(tf.slice(u, [0, t, 0], [b, 1, BASE.dModel]), [b, BASE.dModel]), cache);
        outs.push(t % 2 ? r.output : tf.expandDims(r.output, 1));
        cache = r.cache;
      }
      // kernels in float64 both ways; the step path rounds the state to float32 at every token
      await expectNear(tf.concat(outs, 1), whole.output, 1e-5, 'output');
      // copies of in_proj outputs: exact on cpu; webgpu's matMul rounds a 1-row product differently from a many-row one
      await expectNear(cache.convState, whole.cache!.convState, 1e-6, 'convState');
      await expectNear(cache.ssmState, whole.cache!.ssmState, 1e-5, 'ssmState');
    }
  });

  it('steps from an empty cache equal forward; pieces with a cache equal one pass', async () => {
    const m = mixer({ rmsNorm: false }, 3);
    {
      const [b, l] = [3, 7];
      const u = randomTensor([b, l, BASE.dModel], 5);
      const whole = m.forward(u, { returnCache: true });
      let cache = m.emptyCache(b);
      const outs: Tensor[] = [];
      for (let t = 0; t < l; t++) {
        const r = m.step(tf.slice(u, [0, t, 0], [b, 1, BASE.dModel]), cache);
        outs.push(r.output);
        cache = r.cache;
      }
      await expectNear(tf.concat(outs, 1), whole.output, 1e-5, 'steps'); // as above
      const a = m.forward(tf.slice(u, [0, 0, 0], [b, 2, BASE.dModel]), { returnCache: true });
      const c = m.forward(tf.slice(u, [0, 2, 0], [b, l - 2, BASE.dModel]), { cache: a.cache, returnCache: true });
      await expectNear(tf.concat([a.output, c.output], 1), whole.output, 1e-5, 'pieces');
      await expectNear(c.cache!.ssmState, whole.cache!.ssmState, 1e-5, 'ssmState');
    }
  });

  it('left padding under the attention mask leaves the real tokens as if unpadded; the mask matches the reference', async () => {
    const m = mixer({ rmsNorm: true, normBeforeGate: true }, 4);
    const o = { ...BASE, rmsNorm: true, normBeforeGate: true } as Parameters<typeof referenceMixer>[0];
    {
      const [b, l, pad] = [2, 9, 3];
      const u = randomTensor([b, l, BASE.dModel], 6);
      const maskv = new Float32Array(b * l).fill(1);
      for (let t = 0; t < pad; t++) maskv[t] = 0; // row 0 left-padded by 3
      const mask = tf.tensor(maskv, [b, l]);
      const got = m.forward(u, { attentionMask: mask }).output;
      await expectNear(got, referenceMixer(o, m.parameters(), u, mask), FWD, 'masked output');
      const alone = m.forward(tf.slice(u, [0, pad, 0], [1, l - pad, BASE.dModel])).output;
      await expectNear(tf.slice(got, [0, pad, 0], [1, l - pad, BASE.dModel]), alone, 1e-5, 'real tokens of the padded row');
    }
  });

  it('packed sequences (seqIdx) give each sequence the output it has alone', async () => {
    const m = mixer({ rmsNorm: true, normBeforeGate: false }, 8);
    {
      const [la, lb] = [6, 8];
      const ua = randomTensor([1, la, BASE.dModel], 12);
      const ub = randomTensor([1, lb, BASE.dModel], 13);
      const ids = tf.tensor([...new Array(la).fill(0), ...new Array(lb).fill(1)], [1, la + lb], 'int32');
      const packed = m.forward(tf.concat([ua, ub], 1), { seqIdx: ids }).output;
      const alone = tf.concat([m.forward(ua).output, m.forward(ub).output], 1);
      await expectNear(packed, alone, 1e-5, 'packed output'); // float64 kernels both ways; only summation order differs
    }
  });

  it('forwardPreProjection is forward without out_proj', async () => {
    const m = mixer({ rmsNorm: true, outProjBias: true }, 5);
    {
      const u = randomTensor([2, 5, BASE.dModel], 8);
      const pre = m.forwardPreProjection(u).y;
      expect(pre.shape).toEqual([2, 5, 12]);
      const p = m.parameters();
      const out = tf.add(tf.reshape(tf.matMul(tf.reshape(pre, [10, 12]), p['out_proj.weight'], false, true), [2, 5, BASE.dModel]), p['out_proj.bias']);
      await expectNear(m.forward(u).output, out, 1e-6, 'output'); // the same float32 matMul
      const cache = m.emptyCache(2);
      const s = m.stepPreProjection(tf.slice(u, [0, 0, 0], [2, 1, BASE.dModel]), cache);
      expect(s.y.shape).toEqual([2, 1, 12]);
      await expectNear(s.y, tf.slice(pre, [0, 0, 0], [2, 1, 12]), 1e-5, 'first step');
    }
  });

  it('names its parameters as transformers, as trainable variables an optimizer can update', async () => {
    const m = mixer({ rmsNorm: true, projBias: true, outProjBias: true }, 6);
    expect(m.parameterShapes()).toEqual({
      'in_proj.weight': [12 + 32 + 4, 10],
      'in_proj.bias': [48],
      'conv1d.weight': [32, 1, 4],
      'conv1d.bias': [32],
      dt_bias: [4],
      A_log: [4],
      D: [4],
      'norm.weight': [12],
      'out_proj.weight': [10, 12],
      'out_proj.bias': [10],
    });
    const plain = new Mamba2Mixer({ dModel: 8, nHeads: 2, headDim: 4, dState: 3 });
    made.push(plain);
    expect(Object.keys(plain.parameters()).sort()).toEqual(['A_log', 'D', 'conv1d.bias', 'conv1d.weight', 'dt_bias', 'in_proj.weight', 'out_proj.weight']);
    await expectNear(plain.parameters().A_log, tf.tensor1d([0, Math.log(2)]), 1e-7, 'A_log init = log(1..h)');
    const p = m.parameters();
    expect(Object.values(p).every((v) => v.trainable)).toBe(true);
    const u = randomTensor([1, 4, 10], 9);
    const before = p['in_proj.weight'].clone();
    const loss = () => weightedSum([m.forward(u).output], 1);
    const l0 = (await loss().data())[0];
    tf.train.sgd(0.01).minimize(loss);
    expect((await loss().data())[0]).toBeLessThan(l0);
    expect((await tf.max(tf.abs(tf.sub(before, p['in_proj.weight']))).data())[0]).toBeGreaterThan(0);
  });

  it('rejects bad options, weights and inputs with clear errors', async () => {
    expect(() => new Mamba2Mixer({ ...BASE, nGroups: 3 })).toThrow(/Mamba2Mixer: nHeads \(4\) must be divisible by nGroups \(3\)/);
    expect(() => new Mamba2Mixer({ ...BASE, dSsm: 10 })).toThrow(/Mamba2Mixer: d_ssm \(10\) must equal nHeads·headDim \(4·3 = 12\)/);
    expect(() => new Mamba2Mixer({ ...BASE, chunkSize: 0 })).toThrow(/Mamba2Mixer: chunkSize must be a positive integer, got 0/);
    const m = mixer({}, 7);
    expect(() => m.loadWeights({ 'in_proj.weight': tf.zeros([3, 3]) }, { strict: false })).toThrow(/Mamba2Mixer.loadWeights: parameter 'in_proj.weight' has shape \[3, 3\], expected \[48, 10\]/);
    expect(() => m.loadWeights({ 'mamba.D': tf.zeros([4]) })).toThrow(/Mamba2Mixer.loadWeights: unknown parameter 'mamba.D'/);
    expect(() => m.loadWeights({ D: tf.zeros([4]) })).toThrow(/Mamba2Mixer.loadWeights: missing parameter\(s\): in_proj.weight, conv1d.weight, conv1d.bias, dt_bias, A_log, out_proj.weight/);
    m.loadWeights({ D: tf.fill([4], 2) }, { strict: false });
    await expectNear(m.parameters().D, tf.fill([4], 2), 0, 'loaded D');
    expect(() => m.forward(tf.zeros([2, 3, 9]))).toThrow(/Mamba2Mixer.forward: argument 'u' must have shape \[batch, seqlen, d_model\] = \[\?, \?, 10\], got \[2, 3, 9\]/);
    expect(() => m.forward(tf.zeros([2, 3, 10]), { attentionMask: tf.ones([2, 4]) })).toThrow(/Mamba2Mixer.forward: argument 'attentionMask' must have shape \[batch, seqlen\] = \[2, 3\], got \[2, 4\]/);
    const cache = m.emptyCache(3);
    expect(() => m.step(tf.zeros([2, 10]), cache)).toThrow(/Mamba2Mixer.step: argument 'cache.convState' .*\(batch is 3, expected 2\)/);
    expect(() => m.step(tf.zeros([2, 2, 10]), m.emptyCache(2))).toThrow(/Mamba2Mixer.step: argument 'u' must have shape \[batch, 1, d_model\]/);
  });
});
