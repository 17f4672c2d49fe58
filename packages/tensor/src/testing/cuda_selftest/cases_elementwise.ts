/**
 * Self-test cases for the element-wise kernels: every unary op on awkward shapes (odd sizes,
 * scalars, empty tensors, > one block), binary ops under broadcasting, comparisons, logical ops,
 * where, casts and the creation kernels, each against the cpu backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../random.js';
import type { Case, HostTensor } from './harness.js';
import { boolHost, intHost, uniformHost, vsCpu } from './harness.js';

type Unary = (x: tf.Tensor) => tf.Tensor;

/** [name, op, lower bound, upper bound] of the float inputs each unary op is tested on. */
const UNARY: [string, Unary, number, number][] = [
  ['Neg', tf.neg, -3, 3],
  ['Abs', tf.abs, -3, 3],
  ['Sign', tf.sign, -3, 3],
  ['Square', tf.square, -3, 3],
  ['Sqrt', tf.sqrt, 0, 9],
  ['Rsqrt', tf.rsqrt, 0.01, 9],
  ['Exp', tf.exp, -5, 5],
  ['Expm1', tf.expm1, -2, 2],
  ['Log', tf.log, 0.01, 9],
  ['Log1p', tf.log1p, -0.9, 9],
  ['Sigmoid', tf.sigmoid, -8, 8],
  ['Softplus', tf.softplus, -30, 30],
  ['Tanh', tf.tanh, -4, 4],
  ['Relu', tf.relu, -3, 3],
  ['Relu6', tf.relu6, -3, 9],
  ['Elu', tf.elu, -3, 3],
  ['Selu', tf.selu, -3, 3],
  ['Erf', tf.erf, -3, 3],
  ['Round', tf.round, -5, 5],
  ['Floor', tf.floor, -5, 5],
  ['Ceil', tf.ceil, -5, 5],
  ['Reciprocal', tf.reciprocal, 0.1, 5],
  ['Sin', tf.sin, -6, 6],
  ['Cos', tf.cos, -6, 6],
  ['Tan', tf.tan, -1.4, 1.4],
  ['Asin', tf.asin, -0.99, 0.99],
  ['Acos', tf.acos, -0.99, 0.99],
  ['Atan', tf.atan, -5, 5],
  ['Sinh', tf.sinh, -3, 3],
  ['Cosh', tf.cosh, -3, 3],
  ['Asinh', tf.asinh, -3, 3],
  ['Acosh', tf.acosh, 1.01, 5],
  ['Atanh', tf.atanh, -0.99, 0.99],
  ['ClipByValue', (x) => tf.clipByValue(x, -0.5, 0.7), -2, 2],
  ['Step', (x) => tf.step(x, 0.3), -2, 2],
  ['LeakyRelu', (x) => tf.leakyRelu(x, 0.1), -2, 2],
  ['IsNan', (x) => tf.isNaN(tf.div(x, x)), -1, 1],
  ['IsInf', (x) => tf.isInf(tf.div(1, tf.round(x))), -1, 1],
  ['IsFinite', (x) => tf.isFinite(tf.div(1, tf.round(x))), -1, 1],
];

const SHAPES = [[7, 13], [1025], [], [3, 0, 5]];

/** Binary ops on floats: [name, op, lower, upper of a, lower, upper of b]. */
const BINARY: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, number, number, number, number][] = [
  ['Add', tf.add, -3, 3, -3, 3],
  ['Sub', tf.sub, -3, 3, -3, 3],
  ['Multiply', tf.mul, -3, 3, -3, 3],
  ['RealDiv', tf.div, -3, 3, 0.5, 3],
  ['FloorDiv', tf.floorDiv, -9, 9, 0.7, 3],
  ['Mod', tf.mod, -9, 9, 0.7, 3],
  ['Maximum', tf.maximum, -3, 3, -3, 3],
  ['Minimum', tf.minimum, -3, 3, -3, 3],
  ['Pow', tf.pow, 0.1, 3, -2, 2],
  ['SquaredDifference', tf.squaredDifference, -3, 3, -3, 3],
  ['Atan2', tf.atan2, -3, 3, -3, 3],
  ['Prelu', (a, b) => tf.prelu(a, b), -3, 3, 0, 1],
  ['Less', tf.less, -1, 1, -1, 1],
  ['LessEqual', (a, b) => tf.lessEqual(tf.round(a), tf.round(b)), -2, 2, -2, 2],
  ['Greater', tf.greater, -1, 1, -1, 1],
  ['GreaterEqual', (a, b) => tf.greaterEqual(tf.round(a), tf.round(b)), -2, 2, -2, 2],
  ['Equal', (a, b) => tf.equal(tf.round(a), tf.round(b)), -2, 2, -2, 2],
  ['NotEqual', (a, b) => tf.notEqual(tf.round(a), tf.round(b)), -2, 2, -2, 2],
];

/** Shape pairs exercising broadcasting: same, trailing, leading/middle 1s, scalar, empty. */
const PAIRS: [number[], number[]][] = [
  [[5, 7], [5, 7]],
  [[5, 1, 7], [3, 7]],
  [[4, 6], []],
  [[1], [17, 1]],
  [[2, 3, 1, 5], [1, 3, 4, 1]],
  [[2, 0, 3], [3]],
];

/** The element-wise cases. */
export function elementwiseCases(): Case[] {
  const rng = new Rng(1234);
  const cases: Case[] = [];
  for (const [name, op, lo, hi] of UNARY) {
    for (const shape of SHAPES) {
      cases.push(vsCpu('unary', `${name} [${shape}]`, () => [uniformHost(shape, rng, lo, hi)], op, 2e-6));
    }
  }
  for (const [name, op] of [['Neg', tf.neg], ['Abs', tf.abs], ['Sign', tf.sign], ['Square', tf.square], ['Relu', tf.relu]] as [string, Unary][]) {
    cases.push(vsCpu('unary', `${name} int32 [9,5]`, () => [intHost([9, 5], rng, -20, 20)], op, 0));
  }
  cases.push(vsCpu('unary', 'ClipByValue int32', () => [intHost([33], rng, -20, 20)], (x) => tf.clipByValue(x, -3, 5), 0));
  cases.push(vsCpu('unary', 'LogicalNot bool', () => [boolHost([7, 3], rng)], tf.logicalNot, 0));
  for (const [name, op, alo, ahi, blo, bhi] of BINARY) {
    for (const [sa, sb] of PAIRS) {
      cases.push(vsCpu('binary', `${name} [${sa}]·[${sb}]`, () => [uniformHost(sa, rng, alo, ahi), uniformHost(sb, rng, blo, bhi)], op, 2e-6));
    }
  }
  const INT: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
    ['Add', tf.add],
    ['Sub', tf.sub],
    ['Multiply', tf.mul],
    ['FloorDiv', tf.floorDiv],
    ['Mod', tf.mod],
    ['Maximum', tf.maximum],
    ['Minimum', tf.minimum],
    ['Less', tf.less],
    ['Equal', tf.equal],
  ];
  for (const [name, op] of INT) {
    cases.push(vsCpu('binary', `${name} int32 [6,1,4]·[5,1]`, () => [intHost([6, 1, 4], rng, -30, 30), intHost([5, 1], rng, 1, 9)], op, 0));
  }
  cases.push(vsCpu('binary', 'Pow int32', () => [intHost([20], rng, -4, 5), intHost([20], rng, 0, 5)], tf.pow, 0));
  for (const [name, op] of [['LogicalAnd', tf.logicalAnd], ['LogicalOr', tf.logicalOr], ['LogicalXor', tf.logicalXor]] as [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][]) {
    cases.push(vsCpu('binary', `${name} [4,1,3]·[5,3]`, () => [boolHost([4, 1, 3], rng), boolHost([5, 3], rng)], op, 0));
  }
  cases.push(vsCpu('binary', 'AddN x4', () => [0, 1, 2, 3].map(() => uniformHost([3, 11], rng)), (...xs) => tf.addN(xs), 1e-6));
  cases.push(vsCpu('binary', 'EluGrad via grad(elu)', () => [uniformHost([40], rng, -2, 2)], (x) => tf.grad((t: tf.Tensor) => tf.sum(tf.elu(t)))(x), 2e-6));
  const where = (c: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => tf.where(tf.cast(c, 'bool'), a, b);
  cases.push(vsCpu('select', 'where same shape', () => [boolHost([6, 7], rng), uniformHost([6, 7], rng), uniformHost([6, 7], rng)], where, 0));
  cases.push(vsCpu('select', 'where broadcast [7]·[5,7]·[]', () => [boolHost([7], rng), uniformHost([5, 7], rng), uniformHost([], rng)], where, 0));
  cases.push(vsCpu('select', 'where int32 [3,1]·[3,4]', () => [boolHost([3, 1], rng), intHost([3, 4], rng, -5, 5), intHost([3, 4], rng, -5, 5)], where, 0));
  const cast = (to: 'float32' | 'int32' | 'bool') => (x: tf.Tensor) => tf.cast(x, to);
  const castIn: [string, () => HostTensor][] = [
    ['float32', () => uniformHost([5, 9], rng, -4, 4)],
    ['int32', () => intHost([5, 9], rng, -4, 4)],
    ['bool', () => boolHost([5, 9], rng)],
  ];
  for (const [from, gen] of castIn) {
    for (const to of ['float32', 'int32', 'bool'] as const) cases.push(vsCpu('cast', `${from}→${to}`, () => [gen()], cast(to), 0));
  }
  cases.push(vsCpu('creation', 'fill/zerosLike/onesLike', () => [intHost([4, 3], rng, 0, 5)], (x) => [tf.fill([3, 5], 2.5), tf.zerosLike(x), tf.onesLike(x), tf.fill([2], 7, 'int32')], 0));
  cases.push(vsCpu('creation', 'range float/int/descending/empty', () => [], () => [tf.range(0, 17, 1), tf.range(-3, 40, 7, 'int32'), tf.range(5, -4, -1.5), tf.range(3, 3)], 1e-6));
  cases.push(vsCpu('creation', 'oneHot depth 11 (with out-of-range)', () => [intHost([4, 5], rng, -2, 13)], (i) => [tf.oneHot(i, 11), tf.oneHot(i, 11, 2, -1, 'float32')], 0));
  cases.push(vsCpu('creation', 'reshape/expandDims/squeeze/clone', () => [uniformHost([2, 3, 4], rng)], (x) => [tf.reshape(x, [4, -1]), tf.expandDims(x, 1), tf.squeeze(tf.expandDims(x, -1)), tf.clone(x)], 0));
  return cases;
}
