/**
 * Self-test cases for reductions, layout and indexing kernels: sums/max/min/prod/mean/all/any over
 * many axis sets (including the chunked path for long rows and columns), argmax, cumsum, softmax,
 * transposes (tiled and general), slices, strided slices, concat, stack, split, tile, pad,
 * reverse, gather and its gradient, each against the cpu backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../random.js';
import type { Case } from './harness.js';
import { boolHost, intHost, uniformHost, vsCpu } from './harness.js';

/** The reduction, layout and indexing cases. */
export function layoutCases(): Case[] {
  const rng = new Rng(4321);
  const cases: Case[] = [];
  const axesSets: (number[] | undefined)[] = [undefined, [0], [1], [-1], [0, 2], [1, 2], [0, 1]];
  const reds: [string, (x: tf.Tensor, ax: number[] | undefined, keep: boolean) => tf.Tensor][] = [
    ['sum', (x, a, k) => tf.sum(x, a, k)],
    ['max', (x, a, k) => tf.max(x, a, k)],
    ['min', (x, a, k) => tf.min(x, a, k)],
    ['prod', (x, a, k) => tf.prod(x, a, k)],
    ['mean', (x, a, k) => tf.mean(x, a, k)],
  ];
  for (const [name, f] of reds) {
    for (const ax of axesSets) {
      const keep = ax?.length === 2;
      const lo = name === 'prod' ? 0.8 : -2,
        hi = name === 'prod' ? 1.25 : 2;
      cases.push(vsCpu('reduce', `${name} [5,6,7] axes ${ax ? `[${ax}]` : 'all'}${keep ? ' keepDims' : ''}`, () => [uniformHost([5, 6, 7], rng, lo, hi)], (x) => f(x, ax, keep), 1e-5));
    }
  }
  cases.push(vsCpu('reduce', 'sum int32 and bool', () => [intHost([9, 8], rng, -100, 100), boolHost([9, 8], rng)], (a, b) => [tf.sum(a, 1), tf.sum(b, 0), tf.max(a, 0), tf.min(a)], 0));
  cases.push(vsCpu('reduce', 'all/any', () => [boolHost([4, 5, 6], rng)], (x) => [tf.all(x, 1), tf.any(x, [0, 2]), tf.all(x), tf.any(x, -1, true)], 0));
  cases.push(vsCpu('reduce', 'sum 2^20+3 elements (chunked rows)', () => [uniformHost([(1 << 20) + 3], rng, 0, 1)], (x) => [tf.sum(x), tf.max(x)], 1e-5));
  cases.push(vsCpu('reduce', 'sum [4099,33] axis 0 (chunked columns)', () => [uniformHost([4099, 33], rng)], (x) => [tf.sum(x, 0), tf.max(x, 0)], 1e-5));
  cases.push(vsCpu('reduce', 'mean [3,2049] axis 1 (long rows)', () => [uniformHost([3, 2049], rng)], (x) => tf.mean(x, 1), 1e-5));
  cases.push(vsCpu('reduce', 'sum of empty axis, empty outer', () => [uniformHost([3, 0], rng), uniformHost([0, 4], rng)], (a, b) => [tf.sum(a, 1), tf.sum(b, 1)], 0));
  cases.push(vsCpu('reduce', 'argMax/argMin axes 0,1,2', () => [uniformHost([5, 37, 7], rng)], (x) => [tf.argMax(x, 0), tf.argMax(x, 1), tf.argMin(x, 2), tf.argMin(x, 1)], 0));
  cases.push(vsCpu('reduce', 'argMax int32 with ties', () => [intHost([6, 40], rng, 0, 4)], (x) => [tf.argMax(x, 1), tf.argMin(x, 0)], 0));
  cases.push(vsCpu('scan', 'cumsum axis 1 / exclusive / reverse', () => [uniformHost([3, 17, 4], rng)], (x) => [tf.cumsum(x, 1), tf.cumsum(x, 1, true), tf.cumsum(x, 2, false, true), tf.cumsum(x, 0, true, true)], 1e-5));
  cases.push(vsCpu('scan', 'cumsum int32, cumprod', () => [intHost([5, 6], rng, -3, 4), uniformHost([4, 9], rng, 0.8, 1.2)], (a, b) => [tf.cumsum(a, 1), tf.cumprod(b, 1)], 1e-5));
  for (const cols of [1, 7, 1000, 1025, 5000]) {
    cases.push(vsCpu('softmax', `softmax/logSoftmax [13,${cols}]`, () => [uniformHost([13, cols], rng, -6, 6)], (x) => [tf.softmax(x), tf.logSoftmax(x)], 2e-6));
  }
  cases.push(vsCpu('softmax', 'softmax [2,3,0]', () => [uniformHost([2, 3, 0], rng)], (x) => tf.softmax(x), 0));
  // tfjs-backend-cpu has no LogSoftmax kernel (tf.logSoftmax is a composite there): compare the cuda kernel with it.
  cases.push(
    vsCpu('softmax', 'LogSoftmax kernel', () => [uniformHost([5, 33], rng, -4, 4)], (x) =>
      tf.getBackend() === 'cpu' ? tf.logSoftmax(x) : (tf.engine().runKernel('LogSoftmax', { logits: x }, { axis: -1 }) as tf.Tensor), 2e-6),
  );
  const perms: [number[], number[]][] = [
    [[3, 4, 5, 6], [3, 2, 1, 0]],
    [[3, 4, 5, 6], [0, 2, 1, 3]],
    [[3, 4, 5, 6], [0, 1, 3, 2]],
    [[513, 1027], [1, 0]],
    [[2, 33, 65], [0, 2, 1]],
    [[2, 3, 4, 5, 6, 7], [5, 1, 3, 0, 4, 2]],
    [[0, 3], [1, 0]],
  ];
  for (const [shape, perm] of perms) cases.push(vsCpu('layout', `transpose [${shape}] by [${perm}]`, () => [uniformHost(shape, rng)], (x) => tf.transpose(x, perm), 0));
  cases.push(vsCpu('layout', 'transpose int32 and bool', () => [intHost([5, 7, 3], rng, -9, 9), boolHost([6, 35], rng)], (a, b) => [tf.transpose(a, [2, 0, 1]), tf.transpose(b)], 0));
  cases.push(vsCpu('layout', 'slice', () => [uniformHost([6, 7, 8], rng)], (x) => [tf.slice(x, [1, 2, 3], [4, 3, 5]), tf.slice(x, [0, 6], [-1, 1]), tf.slice(x, [5], [1]), tf.slice(x, [2, 0, 0], [0, 7, 8])], 0));
  cases.push(
    vsCpu('layout', 'stridedSlice (steps, negative steps, masks)', () => [uniformHost([9, 8, 7], rng)], (x) => [
      tf.stridedSlice(x, [1, 0, 2], [8, 8, 7], [2, 3, 1]),
      tf.stridedSlice(x, [8, 7, 6], [0, 0, 0], [-2, -1, -3]),
      tf.stridedSlice(x, [0, 2], [0, 5], [1, 1], 1, 1),
      tf.stridedSlice(x, [3], [4], [1], 0, 0, 0, 0, 1),
      tf.stridedSlice(x, [0, 1, 0], [9, 2, 7], [1, 1, 1], 0, 0, 0, 2),
    ], 0),
  );
  cases.push(
    vsCpu('layout', 'concat axes 0/1/-1 with empty', () => [uniformHost([3, 4, 5], rng), uniformHost([3, 4, 2], rng), uniformHost([3, 0, 5], rng), uniformHost([2, 4, 5], rng)], (a, b, c, d) => [
      tf.concat([a, b], -1),
      tf.concat([a, c, a], 1),
      tf.concat([a, d], 0),
      tf.concat([a], 2),
    ], 0),
  );
  cases.push(vsCpu('layout', 'concat int32/bool', () => [intHost([2, 3], rng, 0, 9), intHost([2, 5], rng, 0, 9), boolHost([1, 3], rng), boolHost([1, 3], rng)], (a, b, c, d) => [tf.concat([a, b], 1), tf.concat([c, d], 0)], 0));
  cases.push(vsCpu('layout', 'stack/unstack', () => [uniformHost([4, 5], rng), uniformHost([4, 5], rng), uniformHost([4, 5], rng)], (a, b, c) => [tf.stack([a, b, c], 1), tf.stack([a, b], -1), ...tf.unstack(a, 1), ...tf.unstack(c)], 0));
  cases.push(vsCpu('layout', 'split', () => [uniformHost([6, 10], rng)], (x) => [...tf.split(x, 2, 0), ...tf.split(x, [3, 0, 7], 1), ...tf.split(x, 5, -1)], 0));
  cases.push(vsCpu('layout', 'tile', () => [uniformHost([2, 3, 1], rng), intHost([3], rng, 0, 9)], (a, b) => [tf.tile(a, [3, 1, 4]), tf.tile(b, [5]), tf.broadcastTo(a, [4, 2, 3, 6])], 0));
  cases.push(vsCpu('layout', 'pad', () => [uniformHost([3, 4, 5], rng)], (x) => [tf.pad(x, [[1, 2], [0, 0], [3, 1]], 0.5), tf.pad(x, [[0, 0], [2, 0], [0, 0]])], 0));
  cases.push(vsCpu('layout', 'reverse', () => [uniformHost([4, 5, 6], rng)], (x) => [tf.reverse(x, 0), tf.reverse(x, [1, 2]), tf.reverse(x)], 0));
  cases.push(
    vsCpu('gather', 'gather axis 0/1, batchDims 1, int32 and bool data', () => [uniformHost([7, 5, 3], rng), intHost([4, 6], rng, 0, 5), intHost([7, 2], rng, 0, 5), boolHost([9, 2], rng)], (x, i, j, bl) => [
      tf.gather(x, tf.slice(i, [0, 0], [4, 3]), 0),
      tf.gather(x, i, 1),
      tf.gather(x, j, 1, 1),
      tf.gather(bl, tf.reshape(tf.slice(i, [0, 0], [1, 6]), [6]), 0),
    ], 0),
  );
  cases.push(vsCpu('gather', 'gather gradient (unsortedSegmentSum)', () => [uniformHost([11, 6], rng), intHost([30], rng, 0, 11)], (x, i) => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, i), tf.range(0, 6))))(x), 1e-5));
  cases.push(vsCpu('gather', 'unsortedSegmentSum float32 and int32', () => [uniformHost([12, 5], rng), intHost([12, 5], rng, -9, 9), intHost([12], rng, 0, 6)], (x, xi, s) => [tf.unsortedSegmentSum(x, s as tf.Tensor1D, 6), tf.cast(tf.unsortedSegmentSum(xi, s as tf.Tensor1D, 7), 'int32')], 1e-6)); // cpu returns float32 for int32 data; cuda keeps int32
  return cases;
}
