/**
 * Reference of {@link ternaryMatmul}: unpack the 2-bit weight to a dense float matrix with tfjs ops
 * (bytes from words, codes from bytes, exactly transformers' `unpack_weights` layout), then a dense
 * matmul. Exact while every partial sum stays below 2^24 (inFeatures ≤ 65536 with int8 inputs) and
 * the backend's int32 floorDiv/mod are exact (cpu; tfjs-backend-webgpu computes int32 arithmetic
 * in f32, which drops low bits of words ≥ 2^24, so there the tests use a host matmul instead).
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { packedRows } from '../packing.js';

/**
 * The dense weight `[outFeatures, inFeatures]` (float32 values code − 1, so −1, 0, 1 for valid codes).
 * @param packed - int32 words `[ceil(rows·in/4)]` @param outFeatures - rows of the weight @param inFeatures - columns
 */
export function unpackWeightReference(packed: Tensor, outFeatures: number, inFeatures: number): Tensor {
  return tf.tidy(() => {
    const rows = packedRows(outFeatures);
    // byte j of each little-endian word: floor(word / 256^j) mod 256 (floor semantics keep negative words right)
    const bytes = tf.stack([0, 1, 2, 3].map((j) => tf.mod(tf.floorDiv(packed, tf.scalar(256 ** j, 'int32')), tf.scalar(256, 'int32'))), 1);
    const grid = tf.reshape(tf.slice(tf.reshape(bytes, [-1]), [0], [rows * inFeatures]), [rows, inFeatures]);
    // code i of each byte (bits 2i, 2i+1) holds weight rows i·rows … i·rows + rows − 1
    const blocks = [0, 1, 2, 3].map((i) => tf.sub(tf.mod(tf.floorDiv(grid, tf.scalar(4 ** i, 'int32')), tf.scalar(4, 'int32')), tf.scalar(1, 'int32')));
    return tf.cast(tf.slice(tf.concat(blocks, 0), [0, 0], [outFeatures, inFeatures]), 'float32');
  });
}

/**
 * @param x - int32 `[..., inFeatures]` (int8 values)
 * @param packed - int32 words `[ceil(ceil(outFeatures/4)·inFeatures/4)]`
 * @returns int32 `[..., outFeatures]`, `x @ Wᵀ`
 */
export function ternaryMatmulReference(x: Tensor, packed: Tensor, outFeatures: number): Tensor {
  return tf.tidy(() => {
    const inFeatures = x.shape[x.rank - 1];
    const w = unpackWeightReference(packed, outFeatures, inFeatures);
    const x2 = tf.reshape(tf.cast(x, 'float32'), [-1, inFeatures]);
    const y = tf.matMul(x2, w, false, true);
    return tf.cast(tf.reshape(y, [...x.shape.slice(0, -1), outFeatures]), 'int32');
  });
}
