// A small quantisation-aware training run: a two-layer BitLinear MLP (input RMSNorms, ternary
// weights, 8-bit activations) learns a toy classification task and ends close to its
// full-precision twin (same architecture, same initial parameters, plain f32 matmuls).
import { initBackend, rmsNorm, tf } from '@falcon/tensor';
import type { Tensor, Variable } from '@falcon/tensor';
import { backendsUnderTest, randomTensor } from '@falcon/tensor/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { BitLinear } from '../src/index.js';

const D_IN = 16;
const HIDDEN = 32;
const CLASSES = 8;
const SAMPLES = 256;
const NOISE = 1.5;
const STEPS = 150;

const rms = (x: Tensor, g: Tensor) => rmsNorm(x, g, 1e-6);

// A model-level test: 300 optimizer steps take over 2 minutes on SwiftShader's WebGPU, so it runs
// on the other backends under test (cpu when only webgpu is listed); the kernels and gradients it
// uses are tested on webgpu by the op and BitLinear suites.
const QAT_BACKENDS = backendsUnderTest().filter((b) => b !== 'webgpu');

describe.each(QAT_BACKENDS.length > 0 ? QAT_BACKENDS : (['cpu'] as const))('quantisation-aware training on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  it('a BitLinear MLP reaches a loss and held-out accuracy close to its full-precision twin', async () => {
    // 8 Gaussian clusters in 16 dimensions (centres N(0, 1), noise σ = 1.5): train and held-out sets
    const centres = randomTensor([CLASSES, D_IN], 2);
    const labels = tf.tensor1d(Array.from({ length: SAMPLES }, (_, i) => i % CLASSES), 'int32');
    const data = (seed: number) => ({ x: tf.add(tf.gather(centres, labels), tf.mul(NOISE, randomTensor([SAMPLES, D_IN], seed))), y: tf.oneHot(labels, CLASSES) });
    const train = data(1);
    const test = data(99);
    const l1 = new BitLinear({ inFeatures: D_IN, outFeatures: HIDDEN, bias: true, useRmsNorm: true, seed: 10 });
    const l2 = new BitLinear({ inFeatures: HIDDEN, outFeatures: CLASSES, bias: true, useRmsNorm: true, seed: 20 });
    const bitVars = [...l1.parameters(), ...l2.parameters()];
    const twinVars = bitVars.map((v) => tf.variable(v.clone(), true)); // the twin starts from the same parameters
    const [w1, b1, g1, w2, b2, g2] = twinVars;
    const fp = (t: Tensor) => tf.add(tf.matMul(rms(tf.relu(tf.add(tf.matMul(rms(t, g1), w1, false, true), b1)), g2), w2, false, true), b2);
    const bit = (t: Tensor) => l2.forward(tf.relu(l1.forward(t)));
    const read = async (t: Tensor) => (await t.data())[0];
    const run = async (f: (t: Tensor) => Tensor, vars: Variable[]) => {
      const opt = tf.train.adam(0.01);
      const loss = () => tf.losses.softmaxCrossEntropy(train.y, f(train.x)) as tf.Scalar;
      const initial = await read(loss());
      for (let s = 0; s < STEPS; s++) tf.tidy(() => void opt.minimize(loss, false, vars));
      opt.dispose();
      const final = await read(loss());
      const accuracy = await read(tf.mean(tf.cast(tf.equal(tf.argMax(f(test.x), -1), labels), 'float32')));
      return { initial, final, accuracy };
    };
    const f = await run(fp, twinVars);
    const b = await run(bit, bitVars);
    console.log(
      `QAT: full precision loss ${f.initial.toFixed(3)} → ${f.final.toFixed(4)}, held-out accuracy ${f.accuracy.toFixed(3)}; ` +
        `BitLinear loss ${b.initial.toFixed(3)} → ${b.final.toFixed(4)}, held-out accuracy ${b.accuracy.toFixed(3)}`,
    );
    // recorded on cpu: full precision loss 2.237 → 0.0051, held-out accuracy 0.758;
    //                  BitLinear      loss 2.176 → 0.0711, held-out accuracy 0.738 (chance: 0.125)
    expect(b.final).toBeLessThan(0.05 * b.initial); // trained: loss down more than 20× (31× here; twin 440×)
    expect(b.final).toBeLessThan(f.final + 0.1); // close to the twin: within 0.1 nats (5% of ln 8)
    expect(Math.abs(b.accuracy - f.accuracy)).toBeLessThan(0.06); // held-out accuracy within 6 points
    // the frozen (packed) model predicts the same classes as the trained one
    const p1 = await l1.freeze();
    const p2 = await l2.freeze();
    const same = await read(tf.mean(tf.cast(tf.equal(tf.argMax(p2.forward(tf.relu(p1.forward(test.x))), -1), tf.argMax(bit(test.x), -1)), 'float32')));
    expect(same).toBeGreaterThan(0.99); // f32 rounding may flip a near-tie at most
    [l1, l2, p1, p2].forEach((l) => l.dispose());
    twinVars.forEach((v) => v.dispose());
  });
});
