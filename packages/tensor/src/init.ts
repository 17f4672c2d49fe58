/**
 * Seeded initialisers. The numbers are drawn on the host by {@link Rng}, so the same seed gives
 * the same tensor on cpu, webgpu and cuda.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from './random.js';

/** Options shared by the random initialisers. */
export interface InitOptions {
  /** Seed of the stream (default 0). */
  seed?: number;
}

function size(shape: readonly number[]): number {
  for (const d of shape) if (!Number.isInteger(d) || d < 0) throw new Error(`invalid shape [${shape.join(', ')}]: dimensions must be non-negative integers`);
  return shape.reduce((a, b) => a * b, 1);
}

/** Values from N(mean, std²). @param shape - any shape @returns float32 tensor of `shape` */
export function normal(shape: number[], options: InitOptions & { mean?: number; std?: number } = {}): tf.Tensor {
  const { seed = 0, mean = 0, std = 1 } = options;
  const rng = new Rng(seed);
  const v = new Float32Array(size(shape));
  for (let i = 0; i < v.length; i++) v[i] = mean + std * rng.normal();
  return tf.tensor(v, shape, 'float32');
}

/** Values from U[min, max). @param shape - any shape @returns float32 tensor of `shape` */
export function uniform(shape: number[], options: InitOptions & { min?: number; max?: number } = {}): tf.Tensor {
  const { seed = 0, min = 0, max = 1 } = options;
  if (!(max > min)) throw new Error(`uniform: max (${max}) must be greater than min (${min})`);
  const rng = new Rng(seed);
  const v = new Float32Array(size(shape));
  for (let i = 0; i < v.length; i++) v[i] = min + (max - min) * rng.uniform();
  return tf.tensor(v, shape, 'float32');
}

/**
 * Values from N(mean, std²) redrawn until they fall within `bounds` standard deviations of the
 * mean (default 2), as PyTorch's `trunc_normal_` with a = −2σ, b = 2σ.
 * @param shape - any shape @returns float32 tensor of `shape`
 */
export function truncatedNormal(shape: number[], options: InitOptions & { mean?: number; std?: number; bounds?: number } = {}): tf.Tensor {
  const { seed = 0, mean = 0, std = 1, bounds = 2 } = options;
  if (!(bounds > 0)) throw new Error(`truncatedNormal: bounds must be positive, got ${bounds}`);
  const rng = new Rng(seed);
  const v = new Float32Array(size(shape));
  for (let i = 0; i < v.length; i++) {
    let z: number;
    do z = rng.normal();
    while (Math.abs(z) > bounds);
    v[i] = mean + std * z;
  }
  return tf.tensor(v, shape, 'float32');
}

/** A tensor of zeros. @param shape - any shape @returns float32 tensor of `shape` */
export function zeros(shape: number[]): tf.Tensor {
  return tf.zeros(shape, 'float32');
}

/** A tensor of ones. @param shape - any shape @returns float32 tensor of `shape` */
export function ones(shape: number[]): tf.Tensor {
  return tf.ones(shape, 'float32');
}
