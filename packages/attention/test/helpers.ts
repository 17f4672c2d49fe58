// Shared test inputs for the attention suites: seeded q/k/v, masks, and a loss that uses both
// outputs of an attention op (so the backward sees dout and dlse).
import { takeWebgpuErrors, tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { randomTensor } from '@falcon/tensor/testing';

/** One attention configuration under test. */
export interface Case {
  name: string;
  b: number;
  l: number;
  lk: number;
  H: number;
  Hkv: number;
  d: number;
  causal: boolean;
  alibi?: boolean;
  windowLeft?: number;
  windowRight?: number;
  /** left padding per batch row (number of masked keys at the start); a value ≥ lk masks the whole row */
  leftPad?: number[];
  cu?: number[];
  /** also compare gradients (default true) */
  grad?: boolean;
}

/** Seeded q, k, v and the optional tensors of a case. */
export function inputs(c: Case, seed = 1) {
  const q = randomTensor([c.b, c.l, c.H, c.d], seed);
  const k = randomTensor([c.b, c.lk, c.Hkv, c.d], seed + 1);
  const v = randomTensor([c.b, c.lk, c.Hkv, c.d], seed + 2);
  const alibiSlopes = c.alibi ? randomTensor([c.H], seed + 3, { distribution: 'uniform', min: 0.05, max: 0.6 }) : undefined;
  let keyPaddingMask: Tensor | undefined;
  if (c.leftPad) {
    const m = new Float32Array(c.b * c.lk);
    for (let b = 0; b < c.b; b++) for (let j = 0; j < c.lk; j++) m[b * c.lk + j] = j < c.leftPad[b] ? 0 : 1;
    keyPaddingMask = tf.tensor2d(m, [c.b, c.lk]);
  }
  const cuSeqlens = c.cu ? tf.tensor1d(c.cu, 'int32') : undefined;
  return { q, k, v, alibiSlopes, keyPaddingMask, cuSeqlens };
}

/** Σ out·W + Σ lse·Wl over rows with a finite lse: exercises both output gradients. */
export function lossWeights(c: Case, seed = 11) {
  return { w: randomTensor([c.b, c.l, c.H, c.d], seed), wl: randomTensor([c.b, c.H, c.l], seed + 1) };
}

/** The loss of {@link lossWeights} for an attention result. */
export function attentionLoss(r: { out: Tensor; lse: Tensor }, w: Tensor, wl: Tensor): tf.Scalar {
  const finiteLse = tf.where(tf.isFinite(r.lse), r.lse, tf.zerosLike(r.lse));
  return tf.add(tf.sum(tf.mul(r.out, w)), tf.sum(tf.mul(finiteLse, wl))) as tf.Scalar;
}

/**
 * Make small metadata tensors (masks, cuSeqlens) readable synchronously by the reference: webgpu
 * drops host copies once a kernel has used a tensor, and `await data()` brings them back.
 */
export async function hostReady(...ts: (Tensor | undefined)[]): Promise<void> {
  await Promise.all(ts.map((t) => t?.data()));
}

/**
 * The WebGPU errors since the last call, after flushing: tfjs batches GPU work in an open compute
 * pass and a read ends and submits it properly. (`takeWebgpuErrors` alone submits the batch
 * without ending the pass, which itself invalidates the command buffer when work is pending.)
 */
export async function webgpuErrors(): Promise<string[]> {
  const t = tf.fill([1], 0);
  await t.data();
  t.dispose();
  return takeWebgpuErrors();
}
